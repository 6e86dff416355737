//! `pisubmit bench`: a scaling study. The same job runs on growing numbers
//! of cores across the cluster; the table gives wall time, speed-up and
//! efficiency, and `--svg` draws the speed-up against the ideal line.
//!
//! Cores are taken host by host in host-list order (a host's cores are
//! all used before the next host's), as `mpirun` places ranks by slot, so
//! the curve shows scaling within a Pi first and then across the network.
//! Every run must give the same answer, or the study stops.

use crate::submit::cli::tools::BenchOpts;
use crate::submit::cli::Global;
use crate::submit::cluster::connect::{connect, Reach};
use crate::submit::cluster::engine::PieceList;
use crate::submit::cluster::hosts::HostSpec;
use crate::submit::cluster::survey::survey;
use crate::submit::error::SubmitError;
use crate::submit::plans::{self, JobSpec};
use crate::submit::report::chart::{speedup_svg, ScalingPoint};
use crate::submit::report::json::Json;
use crate::submit::report::progress::Bars;
use std::fmt::Write;
use std::time::{Duration, Instant};

/// One row of the table.
struct Row {
    cores: usize,
    hosts: usize,
    /// Wall time of each repeat, sorted.
    times: Vec<Duration>,
}

impl Row {
    fn median(&self) -> Duration {
        self.times[self.times.len() / 2]
    }
}

/// A host that answered the survey: the threads bench may use on it and
/// the round trip of its status request.
pub struct Up {
    pub spec: HostSpec,
    pub threads: usize,
    pub rtt: Option<Duration>,
}

/// The hosts that answer, in host-list order; the others are named on
/// stderr and left out. An error if none answers.
pub fn hosts_up(global: &Global) -> Result<Vec<Up>, SubmitError> {
    let mut up = Vec::new();
    let key = global.reach(Instant::now()).key()?;
    for h in survey(&global.hosts, key, global.connect_timeout)? {
        let Some(s) = h.status() else {
            let why = h.outcome.as_ref().err().map_or("", |f| f.why());
            eprintln!("pisubmit: bench: leaving out {} ({why})", h.spec);
            continue;
        };
        let threads = h.spec.threads.map_or(s.threads, |t| t.min(s.threads)) as usize;
        up.push(Up { spec: h.spec.clone(), threads, rtt: h.rtt });
    }
    if up.iter().all(|u| u.threads == 0) {
        return Err(SubmitError::Connect("bench: no worker answered".into()));
    }
    Ok(up)
}

pub fn run(global: &Global, opts: &BenchOpts, job: &JobSpec) -> Result<String, SubmitError> {
    let offered: Vec<(HostSpec, usize)> = hosts_up(global)?.into_iter().map(|u| (u.spec, u.threads)).collect();
    let total: usize = offered.iter().map(|(_, t)| t).sum();
    let cores = if opts.cores.is_empty() { default_cores(total) } else { opts.cores.clone() };
    if let Some(too_many) = cores.iter().find(|&&c| c > total) {
        return Err(SubmitError::Usage(format!(
            "--cores {too_many}: the cluster has {total} threads up ({} hosts)",
            offered.len()
        )));
    }
    let mut rows = Vec::new();
    let mut first_answer: Option<String> = None;
    for &n in &cores {
        let hosts = take_cores(&offered, n);
        let mut times = Vec::with_capacity(opts.repeat);
        for _ in 0..opts.repeat {
            let (wall, answer) = time_once(global, job, hosts.clone())?;
            match &first_answer {
                None => first_answer = Some(answer),
                Some(a) if *a != answer => {
                    return Err(SubmitError::Job(format!(
                        "bench: on {n} cores the answer was {answer}, on {} cores it was {a}",
                        cores[0]
                    )))
                }
                Some(_) => {}
            }
            times.push(wall);
        }
        times.sort();
        let row = Row { cores: n, hosts: hosts.len(), times };
        eprintln!("pisubmit: bench: {n} cores: {:.3} s", row.median().as_secs_f64());
        rows.push(row);
    }
    let title = format!("{} on {} hosts: speed-up", describe(job), offered.len());
    if let Some(path) = &opts.svg {
        let points: Vec<ScalingPoint> =
            rows.iter().map(|r| ScalingPoint { cores: r.cores, wall_secs: r.median().as_secs_f64() }).collect();
        std::fs::write(path, speedup_svg(&title, &points))
            .map_err(|e| SubmitError::Usage(format!("--svg {}: cannot write: {e}", path.display())))?;
    }
    let answer = first_answer.unwrap_or_default();
    Ok(if global.json { to_json(job, &rows, &answer).render() + "\n" } else { to_text(&title, &rows, &answer) })
}

/// 1, 2, 4, ... and the total.
fn default_cores(total: usize) -> Vec<usize> {
    let mut c: Vec<usize> =
        std::iter::successors(Some(1usize), |n| n.checked_mul(2)).take_while(|&n| n < total).collect();
    c.push(total);
    c
}

/// The first `n` cores, host by host.
fn take_cores(offered: &[(HostSpec, usize)], n: usize) -> Vec<HostSpec> {
    let mut left = n;
    let mut hosts = Vec::new();
    for (spec, threads) in offered {
        if left == 0 {
            break;
        }
        let take = left.min(*threads);
        let mut spec = spec.clone();
        spec.threads = Some(take.min(u16::MAX as usize) as u16);
        hosts.push(spec);
        left -= take;
    }
    hosts
}

/// Runs the job once; its wall time (connected workers to answer) and the
/// answer as text, to compare between runs.
fn time_once(global: &Global, job: &JobSpec, hosts: Vec<HostSpec>) -> Result<(Duration, String), SubmitError> {
    let (pieces, mut plan) = plans::build(job, hosts.len(), plans::Output::Plain)?;
    let reach = Reach { hosts, hosts_file: None, ..global.reach(Instant::now()) };
    let mut engine = connect(&reach, Box::new(Bars::new(true)))?;
    let started = Instant::now();
    engine.run(&mut PieceList::new(pieces), plan.as_mut())?;
    let wall = started.elapsed();
    let answer = plan.finish()?;
    Ok((wall, answer.result.render()))
}

pub fn describe(job: &JobSpec) -> String {
    match job {
        JobSpec::Pi { samples, .. } => format!("pi, {samples} darts"),
        JobSpec::Primes { a, b, .. } => format!("primes in [{a}, {b}]"),
        JobSpec::Loopsum(p) => format!("loopsum {}..{} x {}", p.t0, p.t1, p.u_len),
        other => other.name().to_string(),
    }
}

fn to_text(title: &str, rows: &[Row], answer: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{title}; answer {answer} on every run");
    let _ = writeln!(
        out,
        "{:>6} {:>6} {:>11} {:>19} {:>9} {:>11}",
        "cores", "hosts", "wall (s)", "min..max (s)", "speed-up", "efficiency"
    );
    let Some(base) = rows.first() else { return out };
    let base_work = base.median().as_secs_f64() * base.cores as f64;
    for r in rows {
        let t = r.median().as_secs_f64();
        let speedup = base_work / t;
        let (lo, hi) = (r.times[0].as_secs_f64(), r.times[r.times.len() - 1].as_secs_f64());
        let _ = writeln!(
            out,
            "{:>6} {:>6} {:>11.3} {:>19} {:>9.2} {:>10.0}%",
            r.cores,
            r.hosts,
            t,
            format!("{lo:.3}..{hi:.3}"),
            speedup,
            100.0 * speedup / r.cores as f64
        );
    }
    let _ = writeln!(out, "(median of {} runs each; speed-up against {} core(s))", base.times.len(), base.cores);
    out
}

fn to_json(job: &JobSpec, rows: &[Row], answer: &str) -> Json {
    let base_work = rows.first().map_or(0.0, |b| b.median().as_secs_f64() * b.cores as f64);
    let list = rows
        .iter()
        .map(|r| {
            let t = r.median().as_secs_f64();
            Json::obj(vec![
                ("cores", Json::Int(r.cores as i128)),
                ("hosts", Json::Int(r.hosts as i128)),
                ("wall_s", Json::Float(t)),
                ("runs_s", Json::Array(r.times.iter().map(|d| Json::Float(d.as_secs_f64())).collect())),
                ("speedup", Json::Float(base_work / t)),
                ("efficiency", Json::Float(base_work / t / r.cores as f64)),
            ])
        })
        .collect();
    Json::obj(vec![
        ("job", Json::Str(job.name().into())),
        ("answer", Json::Str(answer.into())),
        ("rows", Json::Array(list)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(host: &str) -> HostSpec {
        HostSpec { host: host.into(), port: 1, threads: None }
    }

    #[test]
    fn cores_fill_one_host_before_the_next() {
        let offered = vec![(spec("a"), 4), (spec("b"), 4), (spec("c"), 2)];
        let t = |n| take_cores(&offered, n).iter().map(|h| (h.host.clone(), h.threads.unwrap())).collect::<Vec<_>>();
        assert_eq!(t(1), vec![("a".into(), 1)]);
        assert_eq!(t(4), vec![("a".into(), 4)]);
        assert_eq!(t(6), vec![("a".into(), 4), ("b".into(), 2)]);
        assert_eq!(t(10), vec![("a".into(), 4), ("b".into(), 4), ("c".into(), 2)]);
    }

    #[test]
    fn default_core_counts_double_up_to_the_total() {
        assert_eq!(default_cores(1), vec![1]);
        assert_eq!(default_cores(8), vec![1, 2, 4, 8]);
        assert_eq!(default_cores(6), vec![1, 2, 4, 6]);
    }
}
