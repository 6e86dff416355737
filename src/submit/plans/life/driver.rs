//! Runs a Game of Life board on the workers in lockstep rounds.
//!
//! Over 600 lines because the lockstep loop, its recovery from a lost worker and the checkpoints it hands to disk are one state machine; splitting it is left for later.
//!
//! The board is cut into strips of whole rows, one per worker, sized in
//! proportion to its threads. Each worker keeps its strip for the whole run
//! (a `life` job) and splits it over its cores. A round is: the head sends
//! every strip its ghost rows (the neighbours' borders, `depth` deep), each
//! worker runs up to `depth` generations, and answers with its own borders.
//! Borders go worker to worker when every worker can (protocol 1.5,
//! `peers.rs`): the head sends each strip its neighbours' addresses and
//! fresh tokens, and the rounds' Steps then carry no rows, so the head's
//! one link no longer carries every border of every round. Otherwise, or
//! with `--borders head`, or when a worker cannot reach its neighbour, the
//! borders go through the head, which holds every connection already.
//!
//! The head keeps a checkpoint: the whole board at some generation. A
//! worker lost mid-run ends the *epoch*: the others are cancelled, the
//! checkpoint is cut again over the workers that remain, and the run goes
//! on from there. Life is deterministic, so the final board is the same.

use super::bad_part::BadPart;
use super::packed_strip;
use super::partition::partition;
use super::peers::{self, Borders};
use super::runs::{RunStart, StripRun};
use super::Checkpoint;
use crate::jobs::life::{self as wire, Params};
use crate::jobs::life_link::PEER_LINK_FAILED;
use crate::jobs::JobKind;
use crate::life::board::words_per_row;
use crate::life::{Board, Edges};
use crate::protocol::message::SUBMIT_HAS_INPUT;
use crate::protocol::{ErrorCode, ErrorMessage, FrameType, Submit, WireReader, WireWrite};
use crate::submit::cluster::engine::rounds::SessionEvent;
use crate::submit::cluster::engine::Engine;
use crate::submit::error::SubmitError;
use mio::Events;
use std::time::{Duration, Instant};

/// Deepest ghost zone: beyond this the redundant margin work outweighs
/// any round trip we have seen.
const MAX_DEPTH: u32 = 256;
/// Ghost depth of the first rounds, before the cost has been measured.
const FIRST_DEPTH: u32 = 4;
/// Rows per `Load` frame: about 4 MiB, and within the worker's frame limit.
const LOAD_CHUNK_BYTES: usize = 4 << 20;
const TICK: Duration = Duration::from_millis(100);
/// After a link between workers fails: how long to watch for the loss of
/// a worker that would explain it (a killed worker's neighbours notice at
/// once, as the head does).
const PEER_FAILURE_GRACE: Duration = Duration::from_millis(500);
/// Failures of links between workers after they had worked, before the
/// rest of the run relays borders through the head.
const MAX_PEER_FAILURES: u32 = 3;

pub struct DriverOpts {
    pub edges: Edges,
    pub generations: u64,
    /// Fixed generations per exchange; None: chosen from measurements.
    pub exchange_every: Option<u32>,
    pub checkpoint: Checkpoint,
    /// Call `Snapshots::frame` at every multiple of this many generations.
    pub every: Option<u64>,
    pub deadline: Option<Instant>,
    /// `--borders`; None: directly between workers when all can.
    pub borders: Option<Borders>,
    /// The board at generation 0 is `--random DENSITY --seed S`: workers
    /// of protocol 1.5 fill their own strips rather than take them through
    /// the head's link.
    pub random: Option<(f64, u64)>,
}

/// Receives the whole board at chosen generations (frames, --show).
pub trait Snapshots {
    fn frame(&mut self, generation: u64, board: &Board) -> Result<(), SubmitError>;
    /// A line for people (recoveries); stderr.
    fn note(&mut self, line: &str);
    /// The run reached `generation` (after each round).
    fn progress(&mut self, _generation: u64) {}
    /// The head took a checkpoint: `board` is the board at `generation`.
    fn checkpoint(&mut self, _generation: u64, _board: &Board) -> Result<(), SubmitError> {
        Ok(())
    }
    /// The strips ran from their last checkpoint to here, or were lost.
    fn strips_ran(&mut self, _runs: &[StripRun]) -> Result<(), SubmitError> {
        Ok(())
    }
}

/// A worker lost mid-run, and where the run went on from.
#[derive(Clone, Debug)]
pub struct Recovery {
    pub host: String,
    pub why: String,
    pub lost_at: u64,
    pub resumed_from: u64,
    pub hosts_left: usize,
}

/// One strip of the last epoch, for the report.
#[derive(Clone, Debug)]
pub struct StripReport {
    pub host: String,
    pub threads: usize,
    pub first_row: u32,
    pub rows: u32,
}

#[derive(Default)]
pub struct Outcome {
    pub rounds: u64,
    /// The ghost depth (generations per exchange) of the last round.
    pub depth: u32,
    /// Why that depth: "chosen", "--exchange-every", or capped by strips.
    pub depth_reason: String,
    /// Time in rounds, and in the slowest strip's kernel in each round:
    /// the difference is the exchange's cost.
    pub round_time: Duration,
    pub compute_time: Duration,
    /// Snapshots taken (checkpoints, frames, the final board) and their time.
    pub snapshots: u64,
    pub snapshot_time: Duration,
    pub recoveries: Vec<Recovery>,
    pub strips: Vec<StripReport>,
    /// Measured round trip and kernel time per row, used to choose depth.
    pub measured: Option<(Duration, f64)>,
    /// How the last epoch's borders travelled: "peers" or "head".
    pub borders: &'static str,
}

/// How an epoch ended early.
enum Stop {
    Lost {
        link: usize,
        why: String,
        generation: u64,
    },
    /// A link between two workers failed (`link`'s strip reported it).
    PeersFailed {
        link: usize,
        why: String,
        generation: u64,
    },
    Fatal(SubmitError),
}

impl From<SubmitError> for Stop {
    fn from(e: SubmitError) -> Stop {
        Stop::Fatal(e)
    }
}

struct Strip {
    link: usize,
    job_id: u32,
    first: u32,
    rows: u32,
    /// The strip's own top and bottom rows from its last round (`ret`
    /// rows each): its neighbours' next ghost rows.
    top: Vec<u64>,
    bottom: Vec<u64>,
    /// This round's answer has come.
    answered: bool,
    /// Its `Peers` op has been taken.
    peers_ready: bool,
    /// Its rows have all come (loaded, or filled by the worker).
    loaded: bool,
    /// Rows each border of this round's answer must have.
    ret: u32,
    /// Rows of the snapshot under way received.
    snapshot_rows: u32,
    result: Option<(u64, u64)>,
    compute_ns: u64,
    row_updates: u64,
    /// Where this strip's run since the last checkpoint began.
    run: RunStart,
}

/// Runs `start` (the board at a generation: 0, or a resumed checkpoint's)
/// to `opts.generations`.
pub fn run(
    engine: &mut Engine,
    start: (u64, Board),
    opts: &DriverOpts,
    snaps: &mut dyn Snapshots,
) -> Result<(Board, Outcome), SubmitError> {
    let mut out = Outcome::default();
    let mut checkpoint = start;
    let mut events = Events::with_capacity(256);
    let mut chosen: Option<u32> = opts.exchange_every;
    let (mut peers_allowed, mut peer_failures) = (opts.borders != Some(Borders::Head), 0);
    loop {
        let mut epoch = Epoch::new(engine, &mut events, opts, &mut out);
        epoch.peers_allowed = peers_allowed;
        match epoch.run(&mut checkpoint, &mut chosen, snaps) {
            Ok(board) => return Ok((board, out)),
            Err(Stop::Fatal(e)) => {
                epoch.cancel_all();
                return Err(e);
            }
            Err(Stop::PeersFailed { link, why, generation }) => {
                let lost = epoch.lost_runs(link, &why, generation, checkpoint.0);
                let worked = epoch.peer_rounds > 0;
                epoch.cancel_all();
                snaps.strips_ran(&lost)?;
                peer_failures += 1;
                let host = epoch.engine.link_name(link);
                let then = if !worked || peer_failures >= MAX_PEER_FAILURES {
                    peers_allowed = false;
                    "relaying borders through the head for the rest of the run"
                } else {
                    "trying again"
                };
                snaps.note(&format!(
                    "life: worker {host} could not swap borders with its neighbour at generation {generation} \
                     ({why}); {then}, from the checkpoint at generation {}",
                    checkpoint.0
                ));
            }
            Err(Stop::Lost { link, why, generation }) => {
                let host = epoch.engine.link_name(link);
                let lost = epoch.lost_runs(link, &why, generation, checkpoint.0);
                epoch.cancel_all();
                snaps.strips_ran(&lost)?;
                if opts.checkpoint == Checkpoint::Off {
                    return Err(SubmitError::Job(format!(
                        "worker {host} was lost at generation {generation} ({why}); checkpoints are off \
                         (--checkpoint-every off), so its part of the board cannot be rebuilt: stopping \
                         rather than printing a wrong board"
                    )));
                }
                let hosts_left = epoch.engine.ready_links().len();
                let r = Recovery { host, why, lost_at: generation, resumed_from: checkpoint.0, hosts_left };
                snaps.note(&format!(
                    "life: worker {} lost at generation {} ({}); resuming from the checkpoint at generation {} \
                     on {} hosts",
                    r.host, r.lost_at, r.why, r.resumed_from, r.hosts_left
                ));
                out.recoveries.push(r);
            }
        }
    }
}

struct Epoch<'a> {
    engine: &'a mut Engine,
    events: &'a mut Events,
    opts: &'a DriverOpts,
    out: &'a mut Outcome,
    strips: Vec<Strip>,
    width: u32,
    height: u32,
    words: usize,
    /// The board a snapshot is being gathered into.
    gathering: Option<Board>,
    /// Whether this epoch may, and does, swap borders between workers.
    peers_allowed: bool,
    peers: bool,
    /// The workers fill their strips of the random board at generation 0.
    fill: Option<(f64, u64)>,
    /// Rounds started in this epoch, and those whose ghost rows came from
    /// the neighbours.
    rounds: u64,
    peer_rounds: u64,
}

impl<'a> Epoch<'a> {
    fn new(engine: &'a mut Engine, events: &'a mut Events, opts: &'a DriverOpts, out: &'a mut Outcome) -> Epoch<'a> {
        Epoch {
            engine,
            events,
            opts,
            out,
            strips: Vec::new(),
            width: 0,
            height: 0,
            words: 0,
            gathering: None,
            peers_allowed: false,
            peers: false,
            fill: None,
            rounds: 0,
            peer_rounds: 0,
        }
    }

    fn run(
        &mut self,
        checkpoint: &mut (u64, Board),
        chosen: &mut Option<u32>,
        snaps: &mut dyn Snapshots,
    ) -> Result<Board, Stop> {
        let (mut generation, ref board) = (checkpoint.0, checkpoint.1.clone());
        self.width = board.width();
        self.height = board.height();
        self.words = words_per_row(self.width);
        let hosts: Vec<(usize, usize)> =
            self.engine.ready_links().into_iter().map(|l| (l, self.engine.link_threads(l))).collect();
        if hosts.is_empty() {
            return Err(Stop::Fatal(SubmitError::Job(format!(
                "no worker left to run the board (at generation {generation})"
            ))));
        }
        let plan = partition(self.height, &hosts);
        let cap = plan.iter().map(|p| p.2).min().unwrap_or(1).min(MAX_DEPTH);
        let links: Vec<usize> = plan.iter().map(|p| p.0).collect();
        let old = peers::unable(self.engine, &links);
        if !old.is_empty() && self.peers_allowed && self.opts.borders == Some(Borders::Peers) {
            snaps.note(&format!(
                "life: {} run piworker before protocol 1.5; relaying borders through the head",
                old.join(", ")
            ));
        }
        self.peers = self.peers_allowed && old.is_empty();
        self.fill = self.opts.random.filter(|_| old.is_empty() && generation == 0);
        self.out.borders = if self.peers { Borders::Peers.name() } else { Borders::Head.name() };
        self.out.strips = plan
            .iter()
            .map(|&(link, first, rows)| StripReport {
                host: self.engine.link_name(link),
                threads: self.engine.link_threads(link),
                first_row: first,
                rows,
            })
            .collect();
        // Until the depth is chosen, strips send back `cap` rows, so any
        // depth up to it can follow.
        let mut depth = chosen.map_or(FIRST_DEPTH, |d| d).clamp(1, cap);
        // While the depth may still change, strips send back `cap` rows so
        // that any depth up to it can follow.
        let mut measured_rounds = 0;
        let settled = |measured: u32| self.opts.exchange_every.is_some() || measured >= 2;
        self.start_jobs(&plan, board, generation, depth, cap)?;
        if self.peers {
            self.introduce(&links, cap)?;
        }
        while self.strips.iter().any(|s| !s.loaded || (self.peers && !s.peers_ready)) {
            self.pump(generation)?;
        }
        let mut last_checkpoint = Instant::now();
        while generation < self.opts.generations {
            let stop_at = self.next_stop(generation);
            let steps = depth.min((stop_at - generation) as u32);
            let started = Instant::now();
            let ret = if settled(measured_rounds) { depth } else { cap };
            self.round(steps, depth, ret, generation)?;
            let wall = started.elapsed();
            let slowest = self.strips.iter().map(|s| s.compute_ns).max().unwrap_or(0);
            self.out.rounds += 1;
            self.out.round_time += wall;
            self.out.compute_time += Duration::from_nanos(slowest);
            generation += u64::from(steps);
            snaps.progress(generation);
            if !settled(measured_rounds) {
                // Round 1 includes loading the strips: measure round 2 too.
                measured_rounds += 1;
                let overhead = wall.saturating_sub(Duration::from_nanos(slowest));
                let per_row = self
                    .strips
                    .iter()
                    .filter(|s| s.row_updates > 0)
                    .map(|s| s.compute_ns as f64 / s.row_updates as f64)
                    .fold(0.0, f64::max);
                if per_row > 0.0 {
                    // Each exchange costs a round trip; each generation of
                    // depth K costs about K extra rows per band side. The
                    // sum per generation, rtt/K + K*row, is least at
                    // K = sqrt(rtt/row).
                    let k = (overhead.as_nanos() as f64 / per_row).sqrt().round() as u32;
                    *chosen = Some(k.clamp(1, MAX_DEPTH));
                    self.out.measured = Some((overhead, per_row));
                }
                if let Some(k) = *chosen {
                    depth = k.clamp(1, cap);
                }
            }
            let checkpoint_due = match self.opts.checkpoint {
                Checkpoint::Every(t) => last_checkpoint.elapsed() >= t,
                Checkpoint::Generations(n) => n > 0 && generation % n == 0,
                Checkpoint::Off => false,
            };
            let frame_due = self.opts.every.is_some_and(|n| generation % n == 0);
            if checkpoint_due || frame_due || generation == self.opts.generations {
                let board = self.snapshot(generation)?;
                if frame_due && generation != self.opts.generations {
                    snaps.frame(generation, &board)?;
                }
                if self.opts.checkpoint != Checkpoint::Off || generation == self.opts.generations {
                    // Logged before the checkpoint can reach the disk,
                    // so that a resumed run's log has no gap.
                    self.end_runs(generation, &board, snaps)?;
                    snaps.checkpoint(generation, &board)?;
                    *checkpoint = (generation, board);
                    last_checkpoint = Instant::now();
                }
            }
        }
        self.out.depth = depth;
        self.out.depth_reason = match (self.opts.exchange_every, chosen) {
            (Some(k), _) if k > cap => format!("--exchange-every {k}, capped by the thinnest strip"),
            (Some(_), _) => "--exchange-every".into(),
            (None, Some(k)) if *k > cap => "measured, capped by the thinnest strip".into(),
            (None, _) => "measured".into(),
        };
        let board = if checkpoint.0 == generation { checkpoint.1.clone() } else { self.snapshot(generation)? };
        self.finish(generation, &board)?;
        self.end_runs(generation, &board, snaps)?;
        Ok(board)
    }

    /// Ends every strip's run at `generation` (a checkpoint, or the end)
    /// and starts the next.
    fn end_runs(&mut self, generation: u64, board: &Board, snaps: &mut dyn Snapshots) -> Result<(), Stop> {
        let mut runs = Vec::new();
        for s in &mut self.strips {
            if s.run.generation >= generation {
                continue;
            }
            let population = board.rows(s.first, s.first + s.rows).iter().map(|w| u64::from(w.count_ones())).sum();
            runs.push(strip_run(self.engine.link_name(s.link), s, generation, None, Some(population)));
            s.run = RunStart::new(generation);
        }
        snaps.strips_ran(&runs)?;
        Ok(())
    }

    /// The runs lost with `link`'s worker at `generation`: the whole epoch
    /// goes back to the checkpoint at `back_to`.
    fn lost_runs(&self, link: usize, why: &str, generation: u64, back_to: u64) -> Vec<StripRun> {
        let host = self.engine.link_name(link);
        self.strips
            .iter()
            .map(|s| {
                let failed = if s.link == link {
                    format!("worker lost at generation {generation}: {why}")
                } else {
                    format!("cancelled: {host} was lost at generation {generation}; going back to {back_to}")
                };
                strip_run(self.engine.link_name(s.link), s, generation, Some(failed), None)
            })
            .collect()
    }

    /// The next generation that must be a round's end: the last one, a
    /// frame, or a checkpoint counted in generations.
    fn next_stop(&self, generation: u64) -> u64 {
        let next_multiple = |n: u64| (generation / n + 1) * n;
        let mut stop = self.opts.generations;
        if let Some(n) = self.opts.every {
            stop = stop.min(next_multiple(n));
        }
        if let Checkpoint::Generations(n) = self.opts.checkpoint {
            if n > 0 {
                stop = stop.min(next_multiple(n));
            }
        }
        stop
    }

    fn start_jobs(
        &mut self,
        plan: &[(usize, u32, u32)],
        board: &Board,
        generation: u64,
        depth: u32,
        ret: u32,
    ) -> Result<(), Stop> {
        let n = plan.len();
        for (i, &(link, first, rows)) in plan.iter().enumerate() {
            let wrap = self.opts.edges == Edges::Wrap;
            let params = Params {
                width: self.width,
                rows,
                margin: depth,
                wrap_x: wrap,
                dead_top: !wrap && i == 0,
                dead_bottom: !wrap && i + 1 == n,
                peers: self.peers,
                generation,
            };
            let job_id = self.engine.next_job_id(link);
            let submit = Submit { kind: JobKind::Life.to_u8(), flags: SUBMIT_HAS_INPUT, params: params.encode() };
            let frame = submit.encode(job_id);
            self.engine.send(link, FrameType::Submit, job_id, &frame.payload);
            let row_bytes = self.words * 8;
            let limit = LOAD_CHUNK_BYTES.min(self.engine.link_max_frame(link).saturating_sub(64));
            let per_chunk = (limit / row_bytes).max(1) as u32;
            let (mut at, mut sent) = (0, frame.payload.len() as u64);
            if let Some((density, seed)) = self.fill {
                // The worker makes the rows; the head has them already.
                let mut payload = vec![wire::OP_FILL];
                payload.put_f64(density);
                payload.put_u64(seed);
                payload.put_u32(first);
                self.engine.send(link, FrameType::Data, job_id, &payload);
                sent += payload.len() as u64;
                at = rows;
            }
            while at < rows {
                let count = per_chunk.min(rows - at);
                let mut payload = Vec::with_capacity(5 + count as usize * row_bytes);
                payload.put_u8(wire::OP_LOAD);
                payload.put_u32(at);
                wire::put_rows(&mut payload, board.rows(first + at, first + at + count));
                self.engine.send(link, FrameType::Data, job_id, &payload);
                sent += payload.len() as u64;
                at += count;
            }
            let top = board.rows(first, first + ret).to_vec();
            let bottom = board.rows(first + rows - ret, first + rows).to_vec();
            let strip = Strip {
                link,
                job_id,
                first,
                rows,
                top,
                bottom,
                answered: false,
                peers_ready: false,
                loaded: self.fill.is_none(),
                ret,
                snapshot_rows: 0,
                result: None,
                compute_ns: 0,
                row_updates: 0,
                run: RunStart { sent, ..RunStart::new(generation) },
            };
            self.strips.push(strip);
        }
        Ok(())
    }

    /// Tells every strip its neighbours (`max_rows`: the deepest borders
    /// a round sends). The caller waits until all have registered their
    /// feeds, so that no strip's rows reach a neighbour that does not know
    /// them yet.
    fn introduce(&mut self, links: &[usize], max_rows: u32) -> Result<(), Stop> {
        let ops = peers::peer_ops(self.engine, links, self.opts.edges, max_rows)?;
        for (s, op) in self.strips.iter_mut().zip(ops) {
            s.run.sent += op.len() as u64;
            self.engine.send(s.link, FrameType::Data, s.job_id, &op);
        }
        Ok(())
    }

    /// One round: ghost rows out (or, between workers that swap them, only
    /// the command), `steps` generations, borders (or only numbers) back.
    fn round(&mut self, steps: u32, depth: u32, ret: u32, generation: u64) -> Result<(), Stop> {
        let n = self.strips.len();
        let (words, d) = (self.words, depth as usize);
        // The epoch's first round takes its ghost rows from the head's
        // board; from then on, with peers, from the neighbours.
        let from_peers = self.peers && self.rounds > 0;
        self.rounds += 1;
        for i in 0..n {
            let wrap = self.opts.edges == Edges::Wrap;
            let mut payload = Vec::new();
            payload.put_u8(if from_peers { wire::OP_PEER_STEP } else { wire::OP_STEP });
            payload.put_u32(steps);
            payload.put_u32(depth);
            payload.put_u32(ret);
            if from_peers {
                // Nothing more: the rows come from the neighbours.
            } else if wrap || i > 0 {
                let above = &self.strips[(i + n - 1) % n].bottom;
                wire::put_rows(&mut payload, &above[above.len() - d * words..]);
            }
            if !from_peers && (wrap || i + 1 < n) {
                let below = &self.strips[(i + 1) % n].top;
                wire::put_rows(&mut payload, &below[..d * words]);
            }
            self.strips[i].answered = false;
            // A strip with peers sends its borders to them, not here.
            self.strips[i].ret = if self.peers { 0 } else { ret };
            self.strips[i].run.sent += payload.len() as u64;
            let (link, job) = (self.strips[i].link, self.strips[i].job_id);
            self.engine.send(link, FrameType::Data, job, &payload);
        }
        while self.strips.iter().any(|s| !s.answered) {
            self.pump(generation)?;
        }
        self.peer_rounds += u64::from(from_peers);
        Ok(())
    }

    /// Gathers every strip into a board at `generation`.
    fn snapshot(&mut self, generation: u64) -> Result<Board, Stop> {
        let started = Instant::now();
        for s in &mut self.strips {
            s.snapshot_rows = 0;
        }
        self.gathering = Some(Board::new(self.width, self.height));
        for i in 0..self.strips.len() {
            let (link, job) = (self.strips[i].link, self.strips[i].job_id);
            let op = packed_strip::snapshot_op(self.engine, link);
            self.engine.send(link, FrameType::Data, job, &op);
        }
        while self.strips.iter().any(|s| s.snapshot_rows < s.rows) {
            self.pump(generation)?;
        }
        let board = self.gathering.take().unwrap_or_else(|| Board::new(self.width, self.height));
        self.out.snapshots += 1;
        self.out.snapshot_time += started.elapsed();
        Ok(board)
    }

    /// Ends the jobs and checks their final counts against the board.
    fn finish(&mut self, generation: u64, board: &Board) -> Result<(), Stop> {
        for s in &self.strips {
            self.engine.send(s.link, FrameType::EndInput, s.job_id, &[]);
        }
        while self.strips.iter().any(|s| s.result.is_none()) {
            self.pump(generation)?;
        }
        let population: u64 = self.strips.iter().filter_map(|s| s.result).map(|r| r.1).sum();
        if self.strips.iter().any(|s| s.result.is_some_and(|r| r.0 != generation)) || population != board.population() {
            return Err(Stop::Fatal(SubmitError::Job(format!(
                "internal error: the workers' final counts (population {population}) disagree with the \
                 gathered board (population {}, generation {generation})",
                board.population()
            ))));
        }
        Ok(())
    }

    /// Cancels this epoch's jobs on the workers still connected.
    fn cancel_all(&mut self) {
        for s in &self.strips {
            if s.result.is_none() {
                self.engine.send(s.link, FrameType::Cancel, s.job_id, &[]);
            }
        }
        // One short wait lets the cancels leave; answers are ignored.
        let _ = self.engine.wait(self.events, Duration::from_millis(1));
    }

    /// A link between workers failed: if a worker of the run is lost
    /// meanwhile (its neighbours noticed first), that loss is the reason.
    fn explain_peer_failure(&mut self, failed: Stop, generation: u64) -> Stop {
        let until = Instant::now() + PEER_FAILURE_GRACE;
        while Instant::now() < until {
            let events = match self.engine.wait(self.events, Duration::from_millis(20)) {
                Ok(events) => events,
                Err(e) => return Stop::Fatal(e),
            };
            if let Some(stop) = self.lost_in(&events, generation) {
                return stop;
            }
        }
        let ready = self.engine.ready_links();
        match self.strips.iter().find(|s| !ready.contains(&s.link)) {
            Some(s) => Stop::Lost { link: s.link, why: "connection lost".into(), generation },
            None => failed,
        }
    }

    /// The loss of one of this epoch's workers among `events`.
    fn lost_in(&self, events: &[SessionEvent], generation: u64) -> Option<Stop> {
        events.iter().find_map(|ev| match ev {
            SessionEvent::Lost(link, why) if self.strips.iter().any(|s| s.link == *link) => {
                Some(Stop::Lost { link: *link, why: why.clone(), generation })
            }
            _ => None,
        })
    }

    /// Waits for and applies what the workers sent.
    fn pump(&mut self, generation: u64) -> Result<(), Stop> {
        if self.opts.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(Stop::Fatal(SubmitError::Job(format!("--timeout reached at generation {generation}"))));
        }
        let events = self.engine.wait(self.events, TICK)?;
        // A loss first: the frames beside it may be its neighbours saying
        // that their links to it broke, which it explains.
        if let Some(stop) = self.lost_in(&events, generation) {
            return Err(stop);
        }
        for ev in events {
            match ev {
                SessionEvent::Lost(..) => {}
                SessionEvent::Frame(link, frame) => {
                    let job = frame.header.job_id;
                    let Some(i) = self.strips.iter().position(|s| s.link == link && s.job_id == job) else {
                        continue; // a cancelled epoch's job, or a stray Pong
                    };
                    self.strips[i].run.received += frame.payload.len() as u64;
                    self.on_frame(i, frame.header.frame_type, &frame.payload, generation)?;
                }
            }
        }
        Ok(())
    }

    fn on_frame(&mut self, i: usize, ft: FrameType, payload: &[u8], generation: u64) -> Result<(), Stop> {
        let host = self.engine.link_name(self.strips[i].link);
        let bad = |what: String| Stop::Fatal(SubmitError::Job(format!("worker {host}: {what}")));
        match ft {
            FrameType::Partial => {
                let mut r = WireReader::new(payload);
                let op = r.u8("life.part").map_err(|e| bad(e.to_string()))?;
                match op {
                    wire::PART_BORDERS => self.on_borders(i, &mut r).map_err(|e| bad(format!("bad borders: {e}"))),
                    wire::PART_STRIP => self.on_strip(i, &mut r).map_err(|e| bad(format!("bad strip: {e}"))),
                    wire::PART_STRIP_PACKED => {
                        let room = self.strips[i].rows.saturating_sub(self.strips[i].snapshot_rows);
                        packed_strip::read(&mut r, self.words * 8, room)
                            .and_then(|(first, rows)| self.put_strip_rows(i, first, &rows))
                            .map_err(|e| bad(format!("bad strip: {e}")))
                    }
                    wire::PART_PEERS_READY => {
                        self.strips[i].peers_ready = true;
                        Ok(())
                    }
                    wire::PART_FILLED => {
                        self.strips[i].loaded = true;
                        Ok(())
                    }
                    other => Err(bad(format!("unknown life partial {other}"))),
                }
            }
            FrameType::Result => {
                let r = wire::decode_result(payload).map_err(|e| bad(e.message))?;
                self.strips[i].result = Some(r);
                Ok(())
            }
            FrameType::Error => {
                let (code, msg) = match ErrorMessage::decode(payload) {
                    Ok(m) => (Some(m.code), m.message),
                    Err(e) => (None, e.to_string()),
                };
                if matches!(code, Some(ErrorCode::ShuttingDown | ErrorCode::Cancelled)) {
                    // The worker is going away: as good as a lost connection.
                    let link = self.strips[i].link;
                    self.engine.drop_link(link, msg.clone());
                    return Err(Stop::Lost { link, why: msg, generation });
                }
                if self.peers && msg.contains(PEER_LINK_FAILED) {
                    let (link, why) = (self.strips[i].link, msg);
                    return Err(self.explain_peer_failure(Stop::PeersFailed { link, why, generation }, generation));
                }
                if code == Some(ErrorCode::UnknownJobKind) {
                    return Err(bad(format!("runs a piworker without the life job ({msg}); upgrade it")));
                }
                Err(bad(format!("the life job failed: {msg}")))
            }
            _ => Ok(()),
        }
    }

    fn on_borders(&mut self, i: usize, r: &mut WireReader) -> Result<(), BadPart> {
        let _generation = r.u64("generation")?;
        let _population = r.u64("population")?;
        let nanos = r.u64("compute_ns")?;
        let updates = r.u64("row_updates")?;
        let row_bytes = self.words * 8;
        let s = &mut self.strips[i];
        // The rows are the two borders this head asked for; what follows them
        // is a later minor's fields (docs/PROTOCOL.md, Versions).
        let want = 2 * s.ret as usize * row_bytes;
        if r.remaining() < want {
            return Err(BadPart::ShortBorders { bytes: r.remaining(), rows: s.ret });
        }
        let rest = r.take(want, "rows")?;
        r.skip_later_fields();
        let half = rest.len() / 2;
        s.top = to_words(&rest[..half]);
        s.bottom = to_words(&rest[half..]);
        s.compute_ns = nanos;
        s.row_updates = updates;
        s.answered = true;
        Ok(())
    }

    fn on_strip(&mut self, i: usize, r: &mut WireReader) -> Result<(), BadPart> {
        let _generation = r.u64("generation")?;
        let first = r.u32("first_row")?;
        let rest = r.take(r.remaining(), "rows")?;
        self.put_strip_rows(i, first, rest)
    }

    /// A snapshot's rows of strip `i` from its row `first` on.
    fn put_strip_rows(&mut self, i: usize, first: u32, rest: &[u8]) -> Result<(), BadPart> {
        let row_bytes = self.words * 8;
        let s = &mut self.strips[i];
        let count = (rest.len() / row_bytes) as u32;
        if rest.len() % row_bytes != 0 || first != s.snapshot_rows || first + count > s.rows {
            return Err(BadPart::Discontinuous { first, end: first + count, sent: s.snapshot_rows });
        }
        if let Some(board) = self.gathering.as_mut() {
            board.put_rows(s.first + first, &to_words(rest));
        }
        s.snapshot_rows += count;
        Ok(())
    }
}

/// A strip's run from its `RunStart` to `to`, for the job log.
fn strip_run(host: String, s: &Strip, to: u64, failed: Option<String>, population: Option<u64>) -> StripRun {
    StripRun {
        host,
        first_row: s.first,
        rows: s.rows,
        from: s.run.generation,
        to,
        started: s.run.wall,
        runtime: s.run.at.elapsed(),
        sent: s.run.sent,
        received: s.run.received,
        failed,
        population,
    }
}

fn to_words(bytes: &[u8]) -> Vec<u64> {
    bytes.chunks_exact(8).map(|b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])).collect()
}
