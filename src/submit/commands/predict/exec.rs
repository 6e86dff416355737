//! `bench --predict exec PROG --range A..B`: a job program's forecast.
//! The sample is the program itself on a slice of the range from its
//! middle, as one piece on one core of the first worker, grown until it
//! runs for about half a second, then the same slice cut into one piece a
//! thread on all of them (how many cores the threads are worth, as for the
//! other jobs). What it prints comes back: the two runs tell the bytes a
//! piece prints whatever its size (a header, a fixed block) from those in
//! proportion to its units, and a piece of one unit the time every piece
//! costs whatever its size (the program's start, its fixed output: the
//! job pays it once a piece, the slice once). Each piece runs on one core,
//! so the model is the farm's (`farm::one_core`), with the cut `exec`
//! makes for N hosts.

use super::farm::one_core;
use super::measure::run_pieces;
use super::model::{JobCost, Prediction};
use super::render::Forecast;
use super::seen::{see, Scratch};
use crate::submit::cli::predict::PredictOpts;
use crate::submit::cli::Global;
use crate::submit::cluster::hosts::HostSpec;
use crate::submit::error::SubmitError;
use crate::submit::plans::exec::{ExecOpts, Mode};
use crate::submit::report::json::Json;
use crate::units::human_bytes;
use std::fmt::Write as _;

/// How long the one-core sample should run: longer than the other jobs'
/// half second, as a program's start (a shell, its tools) is in every
/// piece, and on an emulated Pi's quota samples of 0.4 s came out up to
/// 45 % apart.
const SAMPLE_TARGET: f64 = 2.0;
/// Most growing samples.
const SAMPLE_STEPS: usize = 12;

/// A slice of the range run once: its wall time less the round trip, and
/// the bytes each way. Not less the bytes' time at the link's rate too, as
/// the other jobs' samples are: a piece's few tens of KB of output pass a
/// shaped link in its burst, far faster than its rate, and taking them
/// off at the rate made two threads look worth 1.5 cores where they were
/// worth one (the forecast 31 % short on lab-100).
struct Timed {
    seconds: f64,
    to_workers: f64,
    from_workers: f64,
}

fn timed(
    global: &Global,
    host: HostSpec,
    opts: &ExecOpts,
    (start, end): (i64, i64),
    parts: u64,
    rtt: f64,
) -> Result<Timed, SubmitError> {
    let slice = ExecOpts { mode: Mode::Range { start, end, pieces: Some(parts) }, output: None, ..opts.clone() };
    let (wall, moved) = run_pieces(global, vec![host], slice.pieces_in(parts)?)?;
    let (to, from) = (moved.bytes_to_workers as f64, moved.bytes_from_workers as f64);
    Ok(Timed { seconds: (wall.as_secs_f64() - rtt).max(1e-6), to_workers: to, from_workers: from })
}

pub fn run(global: &Global, opts: &ExecOpts, told: &PredictOpts) -> Result<String, SubmitError> {
    let Mode::Range { start, end, pieces } = opts.mode else {
        return Err(SubmitError::Usage(
            "bench --predict exec: forecasts a job over --range A..B; time a --lines or stdin job on a smaller \
             file with `pisubmit exec` itself"
                .into(),
        ));
    };
    // The parser refuses an empty range.
    let units = end.saturating_sub(start).max(1) as f64;
    let scratch = Scratch::new()?;
    let seen = see(global, told, &scratch)?;
    let first = seen.first();
    let threads = first.threads.max(1);
    let at = seen.rtt;
    let single = HostSpec { threads: Some(1), ..first.spec.clone() };
    eprintln!(
        "pisubmit: bench --predict exec: timing {} on a slice of the range, one core of {}",
        opts.name, first.spec
    );
    // Slices from the middle, growing until one runs for SAMPLE_TARGET.
    let middle = |k: f64| {
        let k = (k.round() as i64).clamp(1, end - start);
        let from = start + (end - start - k) / 2;
        (from, from + k)
    };
    let mut k = (units / 1000.0).max(1.0);
    let (slice, one) = 'grow: {
        for step in 0..SAMPLE_STEPS {
            let slice = middle(k);
            let t = timed(global, single.clone(), opts, slice, 1, at)?;
            let whole = (slice.1 - slice.0) as f64 >= units;
            if t.seconds >= SAMPLE_TARGET / 2.0 || whole || step + 1 == SAMPLE_STEPS {
                // Once more, keeping the faster: other work only slows it.
                let again = timed(global, single.clone(), opts, slice, 1, at)?;
                break 'grow (slice, if again.seconds < t.seconds { again } else { t });
            }
            k = (k * (SAMPLE_TARGET / t.seconds).min(100.0)).min(units);
        }
        unreachable!("the last step breaks")
    };
    // What every piece costs whatever its units (starting the program, its
    // fixed output): a piece of one unit, the faster of two.
    let unit = middle(1.0);
    let piece = timed(global, single.clone(), opts, unit, 1, at)?.seconds;
    let piece = piece.min(timed(global, single.clone(), opts, unit, 1, at)?.seconds).min(one.seconds);
    let all = timed(global, first.spec.clone(), opts, slice, threads as u64, at)?;
    let share = (slice.1 - slice.0) as f64 / units;
    let cores_worth = (one.seconds / all.seconds).clamp(1.0, threads as f64);
    // Bytes back: `fixed` per piece, the rest in proportion to units.
    let fixed = if threads > 1 { ((all.from_workers - one.from_workers) / (threads - 1) as f64).max(0.0) } else { 0.0 };
    let per_unit = (one.from_workers - fixed).max(0.0) / (slice.1 - slice.0) as f64;
    let (cluster, rtt_source, max_hosts) = seen.cluster(told, threads);
    let measured_host = told.cores_per_host.is_none() && told.core_speed.is_none();
    let scaling = if measured_host { cores_worth / cluster.cores_per_host as f64 } else { 1.0 };
    let speed = told.core_speed.unwrap_or(1.0) * scaling;
    let unit_seconds = (one.seconds - piece).max(0.0) / (slice.1 - slice.0) as f64;
    let core_seconds = |parts: f64| (unit_seconds * units + piece * parts) / speed;
    let predictions: Vec<Prediction> = (1..=max_hosts)
        .map(|n| {
            let parts = pieces.unwrap_or((n * cluster.cores_per_host) as u64 * 4).max(1) as f64;
            let cost = JobCost {
                core_seconds: core_seconds(parts),
                bytes_to_workers: one.to_workers * parts,
                bytes_from_workers: fixed * parts + per_unit * units,
                head_seconds: 0.0,
            };
            one_core(&cost, &cluster, n, parts as usize)
        })
        .collect();
    let forecast = Forecast {
        title: format!("exec {}, {} units", opts.name, units),
        cluster,
        sources: (seen.link_source, rtt_source),
        core_speed: told.core_speed.unwrap_or(1.0),
        max_hosts,
        predictions: &predictions,
    };
    if global.json {
        let details = vec![
            (
                "sample",
                Json::obj(vec![
                    ("host", Json::Str(first.spec.to_string())),
                    ("share", Json::Float(share)),
                    ("one_core_s", Json::Float(one.seconds)),
                    ("piece_s", Json::Float(piece)),
                    ("cores_worth", Json::Float(cores_worth)),
                    ("bytes_per_piece", Json::Float(fixed)),
                    ("bytes_per_unit", Json::Float(per_unit)),
                ]),
            ),
            ("core_seconds", Json::Float(core_seconds(predictions[0].pieces as f64))),
        ];
        return Ok(forecast.json("exec", details).render() + "\n");
    }
    let mut details = String::new();
    let _ = writeln!(
        details,
        "  sample: units {}..{} ({:.3}% of the job) on one core of {} took {:.3} s, a piece of one unit {:.3} s: \
         {:.2} core-seconds for the job on one host; its {} threads were worth {:.2} cores",
        slice.0,
        slice.1,
        100.0 * share,
        first.spec,
        one.seconds,
        piece,
        core_seconds(predictions[0].pieces as f64),
        threads,
        cores_worth
    );
    let _ = writeln!(
        details,
        "  printed: {} a piece and {:.1} bytes a unit (as they cross the link)",
        human_bytes(fixed as u64),
        per_unit
    );
    Ok(forecast.text(&details, "(wall time from the first piece sent to the last output; connecting is not in it)"))
}
