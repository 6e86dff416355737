//! `bench --predict farm spin < tasks.txt`: a task farm's forecast. The
//! tasks (`MILLISECONDS [TEXT]` lines, read whole from stdin) say their
//! own time: `spin` holds one core for that long by the clock, on any
//! host. What a task costs beyond that (its round trip, the head's and the
//! worker's handling, a quota's latency) is timed on a sample: the first
//! tasks, a few per thread, on every thread of the first host. Each task
//! is a piece on one core of a host, its line goes out and comes back, and
//! the model is the general one with every core a host of its own
//! (`one_core`).

use super::model::{predict, Cluster, JobCost, Prediction};
use super::render::Forecast;
use super::seen::{see, Scratch};
use crate::jobs::{spin, JobKind};
use crate::submit::cli::predict::PredictOpts;
use crate::submit::cli::Global;
use crate::submit::cluster::engine::{Cores, Piece};
use crate::submit::cluster::hosts::HostSpec;
use crate::submit::error::SubmitError;
use crate::submit::plans::farm::parse_task;
use crate::submit::report::json::Json;
use crate::submit::report::stdio;
use crate::units::human_bytes;
use std::io::BufRead;

/// Bytes a task's frames carry beside its line, each way (headers, the
/// spin's milliseconds): small beside any line, counted all the same.
const FRAME_BYTES: f64 = 32.0;

/// Tasks per thread in the sample, and the most kept for it.
const SAMPLE_PER_THREAD: usize = 4;
const SAMPLE_MOST: usize = 1024;

/// The tasks on stdin.
struct Tasks {
    count: usize,
    seconds: f64,
    line_bytes: f64,
    skipped: usize,
    /// The first ones, for the sample.
    first: Vec<spin::Params>,
}

fn read_tasks(keep: usize) -> Result<Tasks, SubmitError> {
    let mut tasks = Tasks { count: 0, seconds: 0.0, line_bytes: 0.0, skipped: 0, first: Vec::new() };
    for (i, line) in stdio::input().lines().enumerate() {
        let line = line.map_err(|e| SubmitError::Usage(format!("bench --predict farm: stdin line {}: {e}", i + 1)))?;
        if line.trim().is_empty() {
            continue;
        }
        match parse_task(&line) {
            Ok(task) => {
                tasks.count += 1;
                tasks.seconds += f64::from(task.millis) / 1e3;
                tasks.line_bytes += line.len() as f64 + 1.0;
                if tasks.first.len() < keep {
                    tasks.first.push(task);
                }
            }
            Err(e) => {
                eprintln!("pisubmit: bench --predict farm: stdin line {}: {e}; skipped", i + 1);
                tasks.skipped += 1;
            }
        }
    }
    if tasks.count == 0 {
        return Err(SubmitError::Usage(
            "bench --predict farm: no task on stdin: pipe in the task lines you would give `pisubmit farm` \
             (MILLISECONDS [TEXT] a line)"
                .into(),
        ));
    }
    Ok(tasks)
}

/// `predict` for pieces that take one core each: N hosts of C cores run
/// like N x C hosts of one (the head's link is shared all the same).
pub fn one_core(job: &JobCost, cluster: &Cluster, hosts: usize, pieces: usize) -> Prediction {
    let cores = Cluster { cores_per_host: 1, ..*cluster };
    Prediction { hosts, ..predict(job, &cores, hosts * cluster.cores_per_host.max(1), pieces) }
}

/// Runs `sample` on every thread of `host`: the seconds each task took
/// beyond its own time, on average.
fn overhead_per_task(
    global: &Global,
    host: &HostSpec,
    threads: usize,
    sample: &[spin::Params],
) -> Result<f64, SubmitError> {
    let pieces: Vec<Piece> = sample
        .iter()
        .enumerate()
        .map(|(i, task)| Piece {
            kind: JobKind::Spin,
            params: task.encode(),
            input: None,
            cores: Cores::One,
            label: format!("sample task {}", i + 1),
        })
        .collect();
    let (wall, _) = super::measure::run_pieces(global, vec![host.clone()], pieces)?;
    let wall = wall.as_secs_f64();
    // The tasks' own time on `threads` cores (or the longest, if longer).
    let declared: f64 = sample.iter().map(|t| f64::from(t.millis) / 1e3).sum();
    let longest = sample.iter().map(|t| f64::from(t.millis) / 1e3).fold(0.0, f64::max);
    let ideal = (declared / threads.max(1) as f64).max(longest);
    Ok((wall - ideal).max(0.0) * threads.max(1) as f64 / sample.len().max(1) as f64)
}

pub fn run(global: &Global, told: &PredictOpts) -> Result<String, SubmitError> {
    // The tasks first: no input is an error before any worker is asked.
    let tasks = read_tasks(SAMPLE_MOST)?;
    let scratch = Scratch::new()?;
    let seen = see(global, told, &scratch)?;
    let first = seen.first();
    let sample = &tasks.first[..tasks.first.len().min(SAMPLE_PER_THREAD * first.threads.max(1))];
    eprintln!(
        "pisubmit: bench --predict farm: running the first {} tasks on every thread of {}",
        sample.len(),
        first.spec
    );
    let overhead = overhead_per_task(global, &first.spec, first.threads, sample)?;
    let (cluster, rtt_source, max_hosts) = seen.cluster(told, first.threads);
    let framed = tasks.line_bytes + tasks.count as f64 * FRAME_BYTES;
    let core_seconds = tasks.seconds + tasks.count as f64 * overhead;
    let cost = JobCost { core_seconds, bytes_to_workers: framed, bytes_from_workers: framed, head_seconds: 0.0 };
    let predictions: Vec<Prediction> = (1..=max_hosts).map(|n| one_core(&cost, &cluster, n, tasks.count)).collect();
    let forecast = Forecast {
        title: format!("farm of {} tasks", tasks.count),
        cluster,
        sources: (seen.link_source, rtt_source),
        core_speed: 1.0,
        max_hosts,
        predictions: &predictions,
    };
    if global.json {
        let details = vec![(
            "tasks",
            Json::obj(vec![
                ("count", Json::Int(tasks.count as i128)),
                ("skipped", Json::Int(tasks.skipped as i128)),
                ("seconds", Json::Float(tasks.seconds)),
                ("line_bytes", Json::Float(tasks.line_bytes)),
                ("overhead_s", Json::Float(overhead)),
                ("sampled", Json::Int(sample.len() as i128)),
            ]),
        )];
        return Ok(forecast.json("farm", details).render() + "\n");
    }
    let details = format!(
        "  tasks: {} of {:.3} s in all, and {:.2} ms a task beyond its own time (the first {} on {}), {} of lines \
         each way{}\n",
        tasks.count,
        tasks.seconds,
        overhead * 1e3,
        sample.len(),
        first.spec,
        human_bytes(tasks.line_bytes as u64),
        if tasks.skipped > 0 { format!("; {} lines skipped", tasks.skipped) } else { String::new() }
    );
    Ok(forecast.text(&details, "(wall time from the first task sent to the last answer; connecting is not in it)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_core_pieces_fill_every_core() {
        // 48 tasks of 0.4 s on hosts of 2 cores: 24 rounds on one host,
        // 3 on 8, and 6 on 5 (10 cores: 48 = 4 x 10 + 8).
        let job = JobCost { core_seconds: 19.2, bytes_to_workers: 0.0, bytes_from_workers: 0.0, head_seconds: 0.0 };
        let c = Cluster { cores_per_host: 2, link: 1e9, rtt: 0.0 };
        assert!((one_core(&job, &c, 1, 48).compute - 9.6).abs() < 1e-9);
        assert!((one_core(&job, &c, 8, 48).compute - 1.2).abs() < 1e-9);
        assert!((one_core(&job, &c, 5, 48).compute - 2.0).abs() < 1e-9);
        assert_eq!(one_core(&job, &c, 5, 48).hosts, 5);
    }
}
