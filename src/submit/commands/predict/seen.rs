//! What `bench --predict` sees of the cluster before any sample (the
//! hosts that answer, their round trip, the head's link), and the scratch
//! folder samples write to. Every job's forecast starts here.

use super::inputs::Source;
use super::measure;
use super::model::Cluster;
use crate::submit::cli::predict::{PredictOpts, MAX_PREDICTED_HOSTS};
use crate::submit::cli::Global;
use crate::submit::commands::bench::{hosts_up, Up};
use crate::submit::error::SubmitError;
use std::path::PathBuf;
use std::time::Duration;

/// The cluster as far as pisubmit can see it before any sample: the
/// hosts that answer, the first with threads, the median round trip, and
/// the head link (measured, or as given).
pub struct Seen {
    up: Vec<Up>,
    first: usize,
    pub rtt: f64,
    pub link: f64,
    pub link_source: Source,
}

pub fn see(global: &Global, told: &PredictOpts, scratch: &Scratch) -> Result<Seen, SubmitError> {
    let up = hosts_up(global)?;
    let mut rtts: Vec<Duration> = up.iter().filter_map(|u| u.rtt).collect();
    rtts.sort();
    let rtt = rtts.get(rtts.len() / 2).map_or(0.0, Duration::as_secs_f64);
    let first = up.iter().position(|u| u.threads > 0).unwrap_or(0);
    // The link the sample runs over, measured first. A given link stands
    // in for it (the sample then leans on the busy counters).
    let (link, link_source) = match told.link {
        Some(rate) => (rate, Source::Given),
        None => {
            eprintln!("pisubmit: bench --predict: measuring the head link (32 MiB to every host at once)");
            let hosts = up.iter().map(|u| u.spec.clone()).collect();
            (measure::link_rate(global, hosts, rtt, &scratch.0)?, Source::Measured)
        }
    };
    Ok(Seen { up, first, rtt, link, link_source })
}

impl Seen {
    pub fn first(&self) -> &Up {
        &self.up[self.first]
    }

    /// The cluster to predict: what was seen, or what the user said.
    pub fn cluster(&self, told: &PredictOpts, threads: usize) -> (Cluster, Source, usize) {
        let (rtt, rtt_source) = told.rtt.map_or((self.rtt, Source::Measured), |r| (r.as_secs_f64(), Source::Given));
        let cores_per_host = told.cores_per_host.unwrap_or(threads.max(1));
        let max_hosts = told.hosts_count.unwrap_or(self.up.len()).clamp(1, MAX_PREDICTED_HOSTS);
        (Cluster { cores_per_host, link: self.link, rtt }, rtt_source, max_hosts)
    }
}

/// A folder for what samples write, removed when dropped.
pub struct Scratch(pub PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Scratch {
    /// A new folder of our own in the temporary directory: never one that
    /// was there (another user's, or a link planted in a shared /tmp).
    pub fn new() -> Result<Scratch, SubmitError> {
        use std::os::unix::fs::DirBuilderExt;
        let base = std::env::temp_dir();
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let cannot = |e: std::io::Error| {
            SubmitError::Usage(format!("bench --predict: cannot make a folder in {}: {e}", base.display()))
        };
        for attempt in 0..16u32 {
            let dir = base.join(format!("pisubmit-predict-{}-{nanos:x}-{attempt}", std::process::id()));
            match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => return Ok(Scratch(dir)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(cannot(e)),
            }
        }
        Err(cannot(std::io::Error::new(std::io::ErrorKind::AlreadyExists, "16 names taken")))
    }
}
