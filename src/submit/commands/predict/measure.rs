//! What `bench --predict` measures with pisubmit itself: a sample of the
//! job on one core of one worker (its compute time, its bytes each way,
//! the head's own share), the head link's rate (a file of zeros streamed to every worker at once, a
//! reduce: one way, as most jobs that wait on the link are), and how many
//! pieces the job is cut into for each host count.

use super::model::JobCost;
use super::sample::{harmless, scaled, units};
use crate::jobs::reduce::Op;
use crate::submit::cli::Global;
use crate::submit::cluster::connect::{connect, Reach};
use crate::submit::cluster::engine::{
    GatherError, Gatherer, Landed, Piece, PieceList, PieceRecord, Replayed, Unwatched,
};
use crate::submit::cluster::hosts::HostSpec;
use crate::submit::cluster::survey::survey;
use crate::submit::error::SubmitError;
use crate::submit::plans::values::Dtype;
use crate::submit::plans::{self, JobSpec, Output};
use std::path::Path;
use std::time::{Duration, Instant};

/// Bytes the link probe streams to the workers.
pub const PROBE_BYTES: u64 = 32 << 20;
/// How long the timed sample should compute: long enough that a round
/// trip and the clock's noise are small beside it.
const SAMPLE_TARGET: f64 = 0.5;
/// Most samples run before giving up on timing the job.
const SAMPLE_STEPS: usize = 12;

/// The job's sample: what it took and what that means for the whole job.
pub struct Sample {
    pub host: String,
    /// The sample's share of the job's work.
    pub share: f64,
    pub wall: Duration,
    /// The whole job on one core of that host.
    pub cost: JobCost,
    /// How many of the host's cores the sample got when it ran on all of
    /// them (its one-core time over its all-cores time, 1 to `threads`):
    /// a Pi's four cores share its memory bus, and an emulated Pi's
    /// threads share one cgroup's quota, so cores x one core's speed can
    /// promise more than a host gives.
    pub cores_worth: f64,
}

/// Runs growing samples of `job` on one core of `host` until one computes
/// for about `SAMPLE_TARGET` (or is the whole job), then that one again,
/// keeping the faster, and once on all the host's `threads`. A sample's compute time is its wall time less a
/// round trip and the time its bytes take through `link` (the link it ran
/// over), but never less than what the worker's busy counters grew by
/// (its status, asked before and after): so bytes waiting on a slow link
/// are not taken for computing, and a core that is held back between
/// tasks (a cgroup quota) still is.
pub fn sample_job(
    global: &Global,
    host: &HostSpec,
    threads: usize,
    job: &JobSpec,
    (rtt, link): (f64, f64),
    scratch: &Path,
) -> Result<Sample, SubmitError> {
    let one_core = HostSpec { threads: Some(1), ..host.clone() };
    let (total, first) = units(job)?;
    let mut share = (first / total.max(1.0)).min(1.0);
    // Each step grows the sample up to a hundredfold: a few steps reach
    // any job's whole; the bound only guards against a job that stays
    // instant at every size.
    for _ in 0..SAMPLE_STEPS {
        let (spec, got) = scaled(job, share, scratch)?;
        let (wall, busy, moved) = timed_sample(global, host, &one_core, &spec, (rtt, link))?;
        // The wall time, not the busy time, says whether the sample was
        // long enough to time: busy counters tick in milliseconds.
        let long = wall.as_secs_f64() - rtt >= SAMPLE_TARGET / 2.0;
        if got >= 1.0 || long || busy >= SAMPLE_TARGET / 2.0 {
            // Once more, keeping the faster: other work on a shared
            // machine only ever slows a sample down.
            let (_, again, _) = timed_sample(global, host, &one_core, &spec, (rtt, link))?;
            let one = busy.min(again);
            let (all_wall, _, all_moved) = timed_sample(global, host, host, &spec, (rtt, link))?;
            let all_wire = all_moved.bytes_to_workers.max(all_moved.bytes_from_workers) as f64 / link;
            let all = (all_wall.as_secs_f64() - rtt - all_wire).max(1e-6);
            let cores_worth = (one / all).clamp(1.0, threads.max(1) as f64);
            let per = |x: f64| x / got;
            let cost = JobCost {
                core_seconds: per(one),
                bytes_to_workers: per(moved.bytes_to_workers as f64),
                bytes_from_workers: per(moved.bytes_from_workers as f64),
                head_seconds: per(moved.head.as_secs_f64()),
            };
            return Ok(Sample { host: host.to_string(), share: got, wall, cost, cores_worth });
        }
        // Aim at the target, growing at most a hundredfold a step.
        let took = (wall.as_secs_f64() - rtt).max(busy).max(1e-3);
        share = (got * (SAMPLE_TARGET / took).min(100.0)).min(1.0);
    }
    Err(SubmitError::Job(format!(
        "bench --predict: {SAMPLE_STEPS} growing samples of the job on {host} all took under a millisecond"
    )))
}

/// One run of a sample on `one_core` of `host`: its wall time, its
/// compute seconds (as `sample_job` says), and what it moved.
fn timed_sample(
    global: &Global,
    host: &HostSpec,
    one_core: &HostSpec,
    spec: &JobSpec,
    (rtt, link): (f64, f64),
) -> Result<(Duration, f64, Moved), SubmitError> {
    let before = busy_ms(global, host)?;
    let (wall, moved) = run_metered(global, vec![one_core.clone()], spec)?;
    let busy = match (before, busy_ms(global, host)?) {
        (Some(b), Some(a)) if a >= b => (a - b) as f64 / 1e3,
        _ => 0.0,
    };
    let on_the_wire = moved.bytes_to_workers.max(moved.bytes_from_workers) as f64 / link;
    Ok((wall, busy.max(wall.as_secs_f64() - rtt - on_the_wire), moved))
}

/// The milliseconds `host`'s compute threads have been busy, all added
/// up; None from a worker whose status lacks them.
fn busy_ms(global: &Global, host: &HostSpec) -> Result<Option<u64>, SubmitError> {
    let key = global.reach(Instant::now()).key()?;
    let answers = survey(std::slice::from_ref(host), key, global.connect_timeout)?;
    Ok(answers
        .first()
        .and_then(|h| h.status())
        .filter(|s| !s.core_busy_ms.is_empty())
        .map(|s| s.core_busy_ms.iter().sum()))
}

/// The head link's rate in bytes per second, one way: `PROBE_BYTES` of
/// zeros summed by every host at once (a reduce: the bytes go out, a
/// number comes back).
pub fn link_rate(global: &Global, hosts: Vec<HostSpec>, rtt: f64, scratch: &Path) -> Result<f64, SubmitError> {
    let input = scratch.join("probe.i64");
    let zeros = std::fs::File::create(&input).and_then(|f| f.set_len(PROBE_BYTES));
    zeros.map_err(|e| SubmitError::Usage(format!("bench --predict: cannot write {}: {e}", input.display())))?;
    let probe = JobSpec::Reduce { op: Op::Sum, dtype: Some(Dtype::I64), input };
    let (wall, _) = run_metered(global, hosts, &probe)?;
    Ok(PROBE_BYTES as f64 / (wall.as_secs_f64() - rtt).max(1e-6))
}

/// The pieces `job` is cut into for 1, 2, ... `max_hosts` hosts.
pub fn piece_counts(job: &JobSpec, max_hosts: usize, scratch: &Path) -> Result<Vec<usize>, SubmitError> {
    let job = harmless(job, scratch);
    (1..=max_hosts).map(|n| Ok(plans::build(&job, n, Output::Plain)?.0.len())).collect()
}

/// Runs `job` on `hosts` through its own plan (so the head's gathering
/// and writing is in the time) and measures it.
fn run_metered(global: &Global, hosts: Vec<HostSpec>, job: &JobSpec) -> Result<(Duration, Moved), SubmitError> {
    let (pieces, plan) = plans::build(job, hosts.len(), Output::Plain)?;
    let reach = Reach { hosts, hosts_file: None, ..global.reach(Instant::now()) };
    let mut engine = connect(&reach, Box::new(Unwatched))?;
    let mut metered = Metered { plan, bytes_to_workers: 0, bytes_from_workers: 0, head: Duration::ZERO };
    let started = Instant::now();
    engine.run(&mut PieceList::new(pieces), &mut metered)?;
    let wall = started.elapsed();
    let Metered { plan, bytes_to_workers, bytes_from_workers, mut head } = metered;
    let finishing = Instant::now();
    plan.finish()?;
    head += finishing.elapsed();
    Ok((wall, Moved { bytes_to_workers, bytes_from_workers, head }))
}

/// Runs `pieces` on `hosts`, their answers dropped: the wall time and
/// the bytes they moved each way (for samples that are not a `JobSpec`:
/// a farm's tasks, a job program's range).
pub fn run_pieces(
    global: &Global,
    hosts: Vec<HostSpec>,
    pieces: Vec<Piece>,
) -> Result<(Duration, Counted), SubmitError> {
    let reach = Reach { hosts, hosts_file: None, ..global.reach(Instant::now()) };
    let mut engine = connect(&reach, Box::new(Unwatched))?;
    let mut counted = Counted::default();
    let started = Instant::now();
    engine.run(&mut PieceList::new(pieces), &mut counted)?;
    Ok((started.elapsed(), counted))
}

/// Bytes the pieces moved, their answers dropped.
#[derive(Default)]
pub struct Counted {
    pub bytes_to_workers: u64,
    pub bytes_from_workers: u64,
}

impl Gatherer for Counted {
    fn partial(&mut self, _piece: usize, _payload: &[u8]) -> Result<(), GatherError> {
        Ok(())
    }
    fn result(&mut self, _piece: usize, _payload: &[u8]) -> Result<(), GatherError> {
        Ok(())
    }
    fn finished(&mut self, _piece: usize, record: &PieceRecord<'_>) -> Result<(), GatherError> {
        self.bytes_to_workers += record.bytes_in;
        self.bytes_from_workers += record.bytes_out;
        Ok(())
    }
}

/// What a metered run moved, and the head's own time.
struct Moved {
    bytes_to_workers: u64,
    bytes_from_workers: u64,
    head: Duration,
}

/// A plan's gatherer, timed, with the bytes each piece moved.
struct Metered {
    plan: Box<dyn plans::plan::Plan>,
    bytes_to_workers: u64,
    bytes_from_workers: u64,
    /// Time spent in the plan: the head's own work.
    head: Duration,
}

impl Metered {
    fn timed<T>(&mut self, f: impl FnOnce(&mut dyn plans::plan::Plan) -> T) -> T {
        let started = Instant::now();
        let out = f(self.plan.as_mut());
        self.head += started.elapsed();
        out
    }
}

impl Gatherer for Metered {
    fn partial(&mut self, piece: usize, payload: &[u8]) -> Result<(), GatherError> {
        self.timed(|p| p.partial(piece, payload))
    }
    fn result(&mut self, piece: usize, payload: &[u8]) -> Result<(), GatherError> {
        self.timed(|p| p.result(piece, payload))
    }
    fn lookahead(&self) -> Option<usize> {
        self.plan.lookahead()
    }
    fn finished(&mut self, piece: usize, record: &PieceRecord<'_>) -> Result<(), GatherError> {
        self.bytes_to_workers += record.bytes_in;
        self.bytes_from_workers += record.bytes_out;
        self.timed(|p| p.finished(piece, record))
    }
    fn replay(&mut self, piece: usize, logged: &Replayed<'_>) -> Result<(), GatherError> {
        self.timed(|p| p.replay(piece, logged))
    }
    fn landed(&mut self, into: &mut Vec<Landed>) {
        self.plan.landed(into)
    }
    fn writes_output(&self) -> bool {
        self.plan.writes_output()
    }
    fn caught_up(&mut self) -> Result<(), GatherError> {
        self.timed(|p| p.caught_up())
    }
}
