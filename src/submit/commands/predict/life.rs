//! `pisubmit bench --predict life ...`: Life's forecast. Life runs in
//! lockstep rounds on whole strips, so its sample is a Life run of its
//! own: a band of the board (every column, up to `SAMPLE_ROWS` rows from
//! the middle) on all the threads of the first host, its generations grown
//! until its rounds take about `SAMPLE_TARGET` / 2, then run three times,
//! the median kept. From that run's own report (the driver's rounds, its
//! depth, its start) come a row's time, the depth and a row's start, and
//! from its final board the board's bytes as gathered; `life_model` does
//! the rest.

use super::life_model::{predict_life, LifeCost};
use super::model::Prediction;
use super::render::Forecast;
use super::seen::{see, Scratch};
use crate::jobs::exec_stdout;
use crate::life::Board;
use crate::submit::cli::predict::PredictOpts;
use crate::submit::cli::Global;
use crate::submit::cluster::connect::{connect, Reach};
use crate::submit::cluster::engine::Unwatched;
use crate::submit::cluster::hosts::HostSpec;
use crate::submit::error::SubmitError;
use crate::submit::plans::life::driver::{self, DriverOpts, Outcome, Snapshots};
use crate::submit::plans::life::packed_strip::packs;
use crate::submit::plans::life::{initial_board, Checkpoint, LifeOpts, Start};
use crate::submit::report::json::Json;
use crate::units::human_bytes;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// Most rows in the sample's band: a strip of 8 hosts of an 8192-row board,
/// so the ghost margins weigh in the sample as they do in the run.
const SAMPLE_ROWS: u32 = 1024;
/// How long the band's rounds should take: long enough to run a
/// 1000-generation job's band whole on an emulated Pi, so the sample sees
/// the board thin out as the run will (a random board's early
/// generations, denser, take longer).
const SAMPLE_TARGET: f64 = 3.0;
/// Most growing runs before the band is taken as it is.
const SAMPLE_STEPS: usize = 8;

/// What the band's run measured.
struct Band {
    host: String,
    threads: usize,
    rows: u32,
    generations: u64,
    wall: Duration,
    out: Outcome,
    /// The band's bytes as gathered, and as raw rows.
    gathered: usize,
    raw: usize,
}

pub fn run(global: &Global, opts: &LifeOpts, told: &PredictOpts) -> Result<String, SubmitError> {
    if opts.generations == 0 {
        return Err(SubmitError::Usage("bench --predict life: give --generations N (at least 1)".into()));
    }
    let (board, edges) = initial_board(opts)?;
    let scratch = Scratch::new()?;
    let seen = see(global, told, &scratch)?;
    let first = seen.first();
    eprintln!("pisubmit: bench --predict: running a band of the board on every thread of {}", first.spec);
    // A link given by hand is another cluster's: not loopback, so its
    // workers would pack the board they send back.
    let packed = told.link.is_some();
    let band = sample_band(global, &first.spec, first.threads, opts, &board, edges, packed)?;
    let (cluster, rtt_source, max_hosts) = seen.cluster(told, band.threads);
    // A host given by hand: its cores as the measured ones, scaled.
    let speed = told.core_speed.unwrap_or(1.0) * cluster.cores_per_host as f64 / band.threads.max(1) as f64;
    let cost = life_cost(opts, &board, &band, speed);
    let predictions: Vec<Prediction> = (1..=max_hosts).map(|n| predict_life(&cost, &cluster, n)).collect();
    let title = format!("life {}x{}, {} generations", board.width(), board.height(), opts.generations);
    let forecast = Forecast {
        title,
        cluster,
        sources: (seen.link_source, rtt_source),
        core_speed: told.core_speed.unwrap_or(1.0),
        max_hosts,
        predictions: &predictions,
    };
    Ok(if global.json {
        forecast.json("life", details_json(&band, &cost)).render() + "\n"
    } else {
        forecast.text(
            &details(&band, &cost),
            "(wall time of the run, as `life` reports it in wall_ms; connecting is not in it)",
        )
    })
}

/// Runs the band, growing its generations until its kernel time reaches
/// half of `SAMPLE_TARGET` (or the band runs every generation), then twice
/// more at that size, keeping the run whose rounds took the median time.
fn sample_band(
    global: &Global,
    host: &HostSpec,
    threads: usize,
    opts: &LifeOpts,
    board: &Board,
    edges: crate::life::Edges,
    packed: bool,
) -> Result<Band, SubmitError> {
    let rows = board.height().min(SAMPLE_ROWS);
    let from = (board.height() - rows) / 2;
    let band = Board::from_words(board.width(), rows, board.rows(from, from + rows).to_vec())
        .ok_or_else(|| SubmitError::Job("bench --predict life: cannot cut a band of the board".into()))?;
    let raw = band.words().len() * 8;
    let mut generations = opts.generations.min(32);
    for step in 0..SAMPLE_STEPS {
        let first = run_band(global, host, opts, &band, edges, generations, packed)?;
        let kernel = first.1.round_time.as_secs_f64();
        let last = step + 1 == SAMPLE_STEPS || generations >= opts.generations;
        if kernel >= SAMPLE_TARGET / 2.0 || last {
            let mut runs = vec![first];
            for _ in 0..2 {
                runs.push(run_band(global, host, opts, &band, edges, generations, packed)?);
            }
            runs.sort_by_key(|(_, out, _, _)| out.round_time);
            let (wall, out, last, packed) = runs.swap_remove(1);
            let gathered = gathered_bytes(&last, packed);
            return Ok(Band { host: host.to_string(), threads, rows, generations, wall, out, gathered, raw });
        }
        let grow = (SAMPLE_TARGET / kernel.max(1e-3)).clamp(2.0, 100.0);
        generations = ((generations as f64 * grow).ceil() as u64).min(opts.generations);
    }
    unreachable!("the last step returns")
}

/// One run of `band` for `generations` on `host` (all its threads): the
/// driver's wall time (as `life` reports it), its outcome, its final board
/// and whether that board comes back packed over the link it ran on (or
/// the given one: `packed`).
fn run_band(
    global: &Global,
    host: &HostSpec,
    opts: &LifeOpts,
    band: &Board,
    edges: crate::life::Edges,
    generations: u64,
    packed: bool,
) -> Result<(Duration, Outcome, Board, bool), SubmitError> {
    let reach = Reach { hosts: vec![host.clone()], hosts_file: None, ..global.reach(Instant::now()) };
    let mut engine = connect(&reach, Box::new(Unwatched))?;
    let loopback = engine.ready_links().first().is_some_and(|&l| engine.link_is_loopback(l));
    let driver_opts = DriverOpts {
        edges,
        generations,
        exchange_every: opts.exchange_every,
        checkpoint: Checkpoint::Off,
        every: None,
        deadline: global.timeout.map(|t| Instant::now() + t),
        borders: opts.borders,
        random: match opts.start {
            Start::Random { density, seed } => Some((density, seed)),
            Start::File(_) => None,
        },
    };
    let started = Instant::now();
    let (last, out) = driver::run(&mut engine, (0, band.clone()), &driver_opts, &mut Quiet)?;
    let wall = started.elapsed();
    Ok((wall, out, last, packs(loopback && !packed)))
}

/// The bytes `board` takes through the head's link: as `packed_strip`
/// asks for them (raw over loopback, LZ4-packed elsewhere), packed in
/// chunks as a worker packs them.
fn gathered_bytes(board: &Board, packed: bool) -> usize {
    let raw: Vec<u8> = board.words().iter().flat_map(|w| w.to_le_bytes()).collect();
    if !packed {
        return raw.len();
    }
    let mut out = Vec::new();
    for chunk in raw.chunks(1 << 20) {
        exec_stdout::pack_into(&mut out, chunk);
    }
    out.len()
}

/// The whole run's cost from the band's. A row's time is the band's
/// rounds over the rows they computed, ghost margins included: where a
/// round's kernel ends and its overhead begins is blurred on a host held to
/// a CPU quota (a kernel that used up the quota's slice finishes its answer
/// in the next), so the band's own round overhead counts as work, and only
/// what the band could not see is added per round (its neighbours'
/// borders and the round trip). The depth is the band's.
fn life_cost(opts: &LifeOpts, board: &Board, band: &Band, speed: f64) -> LifeCost {
    let out = &band.out;
    let rows = f64::from(band.rows);
    let gens = band.generations as f64;
    let depth = f64::from(out.depth.max(1)).min(rows);
    let row_seconds = out.round_time.as_secs_f64() / (gens * (rows + depth)) / speed;
    let start = band.wall.saturating_sub(out.round_time).saturating_sub(out.snapshot_time);
    let height = f64::from(board.height());
    let raw_board = board.words().len() as f64 * 8.0;
    LifeCost {
        width: f64::from(board.width()),
        height,
        generations: opts.generations as f64,
        row_seconds,
        depth,
        start_row_seconds: start.as_secs_f64() / rows / speed,
        load_bytes: if matches!(opts.start, Start::File(_)) { raw_board } else { 0.0 },
        board_bytes: raw_board * band.gathered as f64 / band.raw.max(1) as f64,
        checkpoint: opts.checkpoint,
    }
}

/// The band's snapshots go nowhere.
struct Quiet;

impl Snapshots for Quiet {
    fn frame(&mut self, _generation: u64, _board: &Board) -> Result<(), SubmitError> {
        Ok(())
    }
    fn note(&mut self, line: &str) {
        eprintln!("pisubmit: bench --predict: {line}");
    }
}

fn details(band: &Band, cost: &LifeCost) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "  sample: {} rows x {} for {} generations on {} thread(s) of {} took {:.3} s: {:.2} µs a row-generation \
         on a host, depth {}",
        band.rows,
        cost.width,
        band.generations,
        band.threads,
        band.host,
        band.wall.as_secs_f64(),
        cost.row_seconds * 1e6,
        band.out.depth
    );
    let _ = writeln!(
        out,
        "  the board as gathered: {} ({} of {} raw, at each checkpoint and the end)",
        human_bytes(cost.board_bytes as u64),
        if band.gathered == band.raw { "not packed" } else { "packed" },
        human_bytes((cost.width * cost.height / 8.0) as u64),
    );
    out
}

fn details_json(band: &Band, cost: &LifeCost) -> Vec<(&'static str, Json)> {
    vec![
        (
            "sample",
            Json::obj(vec![
                ("host", Json::Str(band.host.clone())),
                ("rows", Json::Int(i128::from(band.rows))),
                ("generations", Json::Int(i128::from(band.generations))),
                ("wall_s", Json::Float(band.wall.as_secs_f64())),
                ("depth", Json::Int(i128::from(band.out.depth))),
            ]),
        ),
        (
            "job_cost",
            Json::obj(vec![
                ("row_seconds", Json::Float(cost.row_seconds)),
                ("start_row_seconds", Json::Float(cost.start_row_seconds)),
                ("depth", Json::Float(cost.depth)),
                ("board_bytes", Json::Float(cost.board_bytes)),
                ("load_bytes", Json::Float(cost.load_bytes)),
            ]),
        ),
    ]
}
