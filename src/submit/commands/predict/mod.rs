//! `pisubmit bench --predict`: "how long will N of my Pis take for this
//! job, and is one more worth it?" Measures what the model needs with
//! pisubmit itself (a sample of the job on one core, a stream of zeros for
//! the head link, the status round trip, the cores of the first host), takes what
//! the user says instead where given, and prints the model's forecast for
//! every host count up to the cluster's (or `--hosts-count`).
//!
//! `model` is the formula, `sample` cuts the job down, `measure` runs it,
//! `inputs` holds what the forecast rests on, `render` prints the table and
//! the JSON.

mod inputs;
mod measure;
pub mod model;
mod render;
mod sample;

use crate::submit::cli::predict::PredictOpts;
use crate::submit::cli::Global;
use crate::submit::commands::bench::hosts_up;
use crate::submit::error::SubmitError;
use crate::submit::plans::JobSpec;
use inputs::{Inputs, Source};
use model::{predict, Cluster, JobCost, Prediction};
use std::path::PathBuf;
use std::time::Duration;

pub fn run(global: &Global, job: &JobSpec, told: &PredictOpts) -> Result<String, SubmitError> {
    let up = hosts_up(global)?;
    let mut rtts: Vec<Duration> = up.iter().filter_map(|u| u.rtt).collect();
    rtts.sort();
    let measured_rtt = rtts.get(rtts.len() / 2).map_or(0.0, Duration::as_secs_f64);
    let first = up.iter().find(|u| u.threads > 0).unwrap_or(&up[0]);
    let scratch = Scratch::new()?;
    // The link the sample runs over, measured first. A given link stands
    // in for it (the sample then leans on the busy counters).
    let (link, link_source) = match told.link {
        Some(rate) => (rate, Source::Given),
        None => {
            eprintln!("pisubmit: bench --predict: measuring the head link (32 MiB to every host at once)");
            let hosts = up.iter().map(|u| u.spec.clone()).collect();
            (measure::link_rate(global, hosts, measured_rtt, &scratch.0)?, Source::Measured)
        }
    };
    eprintln!("pisubmit: bench --predict: timing a sample of the job on one core of {}", first.spec);
    let sample = measure::sample_job(global, &first.spec, first.threads, job, (measured_rtt, link), &scratch.0)?;
    let (rtt, rtt_source) = told.rtt.map_or((measured_rtt, Source::Measured), |r| (r.as_secs_f64(), Source::Given));
    let cores_per_host = told.cores_per_host.unwrap_or(first.threads.max(1));
    let max_hosts = told.hosts_count.unwrap_or(up.len()).clamp(1, crate::submit::cli::predict::MAX_PREDICTED_HOSTS);
    let core_speed = told.core_speed.unwrap_or(1.0);
    let cluster = Cluster { cores_per_host, link, rtt };
    // A host measured here counts as the cores' worth its threads gave the
    // sample; cores or speeds given by hand describe another cluster.
    let measured_host = told.cores_per_host.is_none() && told.core_speed.is_none();
    let scaling = if measured_host { sample.cores_worth / cores_per_host as f64 } else { 1.0 };
    if measured_host && scaling < 0.95 {
        eprintln!(
            "pisubmit: bench --predict: {} threads of {} ran the sample {:.2} times faster than one: counted as {:.2} cores",
            cores_per_host, first.spec, sample.cores_worth, sample.cores_worth
        );
    }
    let cost = JobCost { core_seconds: sample.cost.core_seconds / core_speed / scaling, ..sample.cost };
    let pieces = measure::piece_counts(job, max_hosts, &scratch.0)?;
    let predictions: Vec<Prediction> =
        pieces.iter().enumerate().map(|(i, &p)| predict(&cost, &cluster, i + 1, p)).collect();
    let inputs = Inputs { sample, core_speed, cluster, link_source, rtt_source, max_hosts };
    Ok(if global.json {
        render::json(job, &inputs, &cost, &predictions).render() + "\n"
    } else {
        render::text(job, &inputs, &cost, &predictions)
    })
}

/// A folder for what samples write, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    /// A new folder of our own in the temporary directory: never one that
    /// was there (another user's, or a link planted in a shared /tmp).
    fn new() -> Result<Scratch, SubmitError> {
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

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
