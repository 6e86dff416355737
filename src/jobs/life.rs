//! `life`: a strip of a Game of Life board that stays on the worker between
//! rounds. The head loads the strip once, then asks for rounds: each `Step`
//! brings K-deep ghost rows from the strips above and below, the worker runs
//! up to K generations on all its threads, and answers with its own top and
//! bottom K rows for its neighbours. `Snapshot` sends the strip back (for a
//! checkpoint, a frame, or the final board).
//!
//! Inside the worker the strip is cut into bands, one per thread, each
//! stored with its own K-row margins, so a round copies only the margins
//! between bands: the bands themselves move into the tasks and back.
//!
//! The wire (all integers big-endian, packed rows little-endian u64 words):
//! - params: width u32, rows u32, margin u32, flags u8 (1 wrap left/right,
//!   2 the strip's top is the board's dead edge, 4 likewise its bottom),
//!   generation u64.
//! - head to worker, one op per `Data` frame: `1 Load` first_row u32, rows;
//!   `2 Step` steps u32, depth u32, ret u32, ghost rows above then below
//!   (depth rows each, none for a dead edge); `3 Snapshot`; with flag 8
//!   (protocol 1.5) also `4 Peers` (`life_swap.rs`) and `5 PeerStep` steps
//!   u32, depth u32, ret u32, whose ghost rows come from the neighbours.
//! - worker to head, one per `Partial`: `1 Borders` generation u64,
//!   population u64, compute_ns u64 and row_updates u64 of the slowest
//!   band, then its top `ret` rows and bottom `ret` rows (none once the
//!   strip has peers: they went to the neighbours); `2 Strip`
//!   generation u64, first_row u32, rows; `3 PeersReady` (empty).
//! - (1.5) `6 Fill` density f64, seed u64, first_row u32 instead of Loads:
//!   the strip is the rows of a `--random` board from its first row
//!   (`life::random`), made on the bands' threads; answered by `4 Filled`.
//! - (1.7) `3 Snapshot` may carry a flags byte, 1: the head reads packed
//!   strips. The strip then comes as `5 PackedStrip` generation u64,
//!   first_row u32, rows u32, then the rows packed as exec's stdout is
//!   (`exec_stdout`: tag 0 and the raw bytes, or tag 1, a u32 size and an
//!   LZ4 block). A board some generations on is mostly dead cells, which
//!   LZ4 shrinks about 2x; the final gather crosses the head's one link.
//! - result: generation u64, population u64.

use super::context::WorkerContext;
use super::error::JobError;
use super::exec_stdout;
pub use super::life_rows::{get_rows, put_rows};
use super::life_swap::{inbox_bytes, StripPeers, StripShape};
use super::memory::{times, Need, Reservation, JOB_BASE_BYTES};
use super::running::{expect_output, PartialSink, RunningJob, Task, TaskOutput};
use crate::life::board::words_per_row;
use crate::life::kernel::{advance, FixedSides, Geometry, Scratch};
use crate::protocol::{WireReader, WireWrite};
use std::cell::RefCell;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// Widest board a worker takes: 16 Mi cells, a 2 MiB row.
pub const MAX_WIDTH: u32 = 1 << 24;
/// Largest strip a worker holds: 4 GiB of cells (512 MiB packed).
pub const MAX_STRIP_CELLS: u64 = 1 << 32;
/// Rows per `Strip` partial: about 4 MiB, whatever the width.
const STRIP_CHUNK_BYTES: usize = 4 << 20;

pub const OP_LOAD: u8 = 1;
pub const OP_STEP: u8 = 2;
pub const OP_SNAPSHOT: u8 = 3;
pub const OP_PEERS: u8 = 4;
pub const OP_PEER_STEP: u8 = 5;
pub const OP_FILL: u8 = 6;
pub const PART_BORDERS: u8 = 1;
pub const PART_STRIP: u8 = 2;
pub const PART_PEERS_READY: u8 = 3;
pub const PART_FILLED: u8 = 4;
pub const PART_STRIP_PACKED: u8 = 5;
/// Snapshot's flags byte (1.7): answer with `PART_STRIP_PACKED`.
pub const SNAPSHOT_PACKED: u8 = 1;

const FLAG_WRAP_X: u8 = 1;
const FLAG_DEAD_TOP: u8 = 2;
const FLAG_DEAD_BOTTOM: u8 = 4;
const FLAG_PEERS: u8 = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    pub width: u32,
    pub rows: u32,
    /// Ghost rows per side to start with (a step may change it).
    pub margin: u32,
    pub wrap_x: bool,
    pub dead_top: bool,
    pub dead_bottom: bool,
    /// Borders may swap with the neighbours directly (protocol 1.5).
    pub peers: bool,
    pub generation: u64,
}

impl Params {
    pub fn encode(&self) -> Vec<u8> {
        let mut p = Vec::with_capacity(21);
        p.put_u32(self.width);
        p.put_u32(self.rows);
        p.put_u32(self.margin);
        let flag = |on: bool, bit: u8| if on { bit } else { 0 };
        let flags = flag(self.wrap_x, FLAG_WRAP_X)
            | flag(self.dead_top, FLAG_DEAD_TOP)
            | flag(self.dead_bottom, FLAG_DEAD_BOTTOM)
            | flag(self.peers, FLAG_PEERS);
        p.put_u8(flags);
        p.put_u64(self.generation);
        p
    }

    pub fn decode(payload: &[u8]) -> Result<Params, JobError> {
        let mut r = WireReader::new(payload);
        let (width, rows, margin) = (r.u32("life.width")?, r.u32("life.rows")?, r.u32("life.margin")?);
        let flags = r.u8("life.flags")?;
        let generation = r.u64("life.generation")?;
        r.finish("life params")?;
        if flags & !(FLAG_WRAP_X | FLAG_DEAD_TOP | FLAG_DEAD_BOTTOM | FLAG_PEERS) != 0 {
            return Err(JobError::bad_params(format!("life: unknown flags {flags:#04x}")));
        }
        if width == 0 || width > MAX_WIDTH {
            return Err(JobError::bad_params(format!("life: width {width} is not in 1..={MAX_WIDTH}")));
        }
        if rows == 0 || u64::from(rows) * u64::from(width) > MAX_STRIP_CELLS {
            return Err(JobError::bad_params(format!(
                "life: a strip of {rows} rows of {width} cells is empty or larger than {MAX_STRIP_CELLS} cells"
            )));
        }
        if margin == 0 || margin > rows {
            return Err(JobError::bad_params(format!("life: margin {margin} is not in 1..={rows} (the strip's rows)")));
        }
        Ok(Params {
            width,
            rows,
            margin,
            wrap_x: flags & FLAG_WRAP_X != 0,
            dead_top: flags & FLAG_DEAD_TOP != 0,
            dead_bottom: flags & FLAG_DEAD_BOTTOM != 0,
            peers: flags & FLAG_PEERS != 0,
            generation,
        })
    }
}

/// One thread's share of the strip: its own rows between two margins.
struct Band {
    /// margin_top + own + margin_bottom rows.
    rows: Vec<u64>,
    /// Strip row of the band's first own row.
    start: usize,
    margin_top: usize,
    own: usize,
    margin_bottom: usize,
    /// The buffer's top (bottom) is the board's dead edge: cells past it
    /// stay dead, so that side is not a ghost zone.
    fixed: FixedSides,
}

impl Band {
    fn own_rows(&self, words: usize) -> &[u64] {
        &self.rows[self.margin_top * words..(self.margin_top + self.own) * words]
    }
}

/// The round under way.
struct Round {
    steps: u32,
    /// Rows of each border to send back when it ends.
    ret: u32,
    bands_out: usize,
    population: u64,
    /// The slowest band so far: its kernel time and row updates.
    slowest: (u64, u64),
}

struct Running {
    p: Params,
    geom: Geometry,
    /// Ghost rows each band keeps per side (but none on a dead edge).
    margin: usize,
    /// None while a task holds the band.
    bands: Vec<Option<Band>>,
    /// Rows loaded so far; rounds start once all have come.
    loaded: u32,
    generation: u64,
    round: Option<Round>,
    pending: Vec<Task>,
    /// What the strip holds of the worker's memory budget; a step with
    /// deeper ghost rows resizes it first.
    memory: Reservation,
    /// Its neighbours, once `Peers` has come; the inbox of their rows is
    /// part of the reservation.
    peers: Option<StripPeers>,
    inbox_bytes: u64,
    /// A `PeerStep` (steps, depth, ret) waiting for its ghost rows.
    waiting: Option<(u32, u32, u32)>,
    /// Bands still being filled by a `Fill`.
    filling: usize,
    ctx: WorkerContext,
}

/// A snapshot chunk's memory: raw, a chunk and a row; packed, a chunk of
/// half as many rows and the LZ4 block it may grow into, after the header.
fn snapshot_need(row: u64) -> u64 {
    let raw = STRIP_CHUNK_BYTES as u64 + row;
    let half = (STRIP_CHUNK_BYTES / 2) as u64;
    let packed = half.max(row) + PACKED_STRIP_HEAD as u64 + exec_stdout::packed_bound(half.max(row) as usize) as u64;
    raw.max(packed)
}

/// PackedStrip's header: the part byte, generation, first row, rows.
const PACKED_STRIP_HEAD: usize = 1 + 8 + 4 + 4;

/// What a strip of `p.rows` rows costs with `margin` ghost rows per side,
/// cut into bands for `threads` threads. A row is whole 64-bit words
/// however narrow the board, and each band keeps its own margins; a
/// thread's kernel keeps a second buffer the size of its band (and seven
/// rows of sums and zeros); a step brings the head's ghost rows and copies every
/// band's margins; a snapshot sends chunks of about 4 MiB.
pub fn memory_need(p: &Params, margin: u32, threads: usize) -> Need {
    let row = words_per_row(p.width) as u64 * 8;
    let parts = (threads.max(1) as u64).min(u64::from(p.rows));
    let margins = times(2 * u64::from(margin), parts);
    let bands = times(u64::from(p.rows).saturating_add(margins), row);
    let kernel = bands.saturating_add(times(7 * parts, row));
    let step = times(margins.saturating_add(2 * u64::from(margin)), row);
    let snapshot = snapshot_need(row);
    let bytes = [bands, kernel, step, snapshot].into_iter().fold(JOB_BASE_BYTES, u64::saturating_add);
    let why = "64-bit words per row, plus margins and per-thread bands";
    Need::new(format!("life strip of {} x {} with {margin} ghost rows", p.width, p.rows), bytes, why)
}

pub(super) fn start(payload: &[u8], ctx: WorkerContext) -> Result<Box<dyn RunningJob>, JobError> {
    let p = Params::decode(payload)?;
    let geom = Geometry { width: p.width, words: words_per_row(p.width), wrap_x: p.wrap_x };
    let parts = ctx.threads.max(1).min(p.rows as usize);
    let memory = ctx.memory.reserve(memory_need(&p, p.margin, parts))?;
    let margin = p.margin as usize;
    let bands = crate::ranges::split(0, u64::from(p.rows), parts as u64)
        .into_iter()
        .map(|(a, b)| Some(Band::new(&p, a as usize, (b - a) as usize, margin, geom.words)))
        .collect();
    Ok(Box::new(Running {
        p,
        geom,
        margin,
        bands,
        loaded: 0,
        generation: p.generation,
        round: None,
        pending: Vec::new(),
        memory,
        peers: None,
        inbox_bytes: 0,
        waiting: None,
        filling: 0,
        ctx,
    }))
}

impl Band {
    /// An empty band of `own` rows from strip row `start`, with `margin`
    /// ghost rows per side; but a margin stops at the board's dead edge,
    /// which then bounds the buffer (rows past it are never alive).
    fn new(p: &Params, start: usize, own: usize, margin: usize, words: usize) -> Band {
        let rows_below = p.rows as usize - start - own;
        let (margin_top, fixed_top) = if p.dead_top && start <= margin { (start, true) } else { (margin, false) };
        let (margin_bottom, fixed_bottom) =
            if p.dead_bottom && rows_below <= margin { (rows_below, true) } else { (margin, false) };
        Band {
            rows: vec![0; (margin_top + own + margin_bottom) * words],
            start,
            margin_top,
            own,
            margin_bottom,
            fixed: FixedSides { top: fixed_top, bottom: fixed_bottom },
        }
    }
}

thread_local! {
    /// Each compute thread's kernel buffers, reused round after round.
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// What a band's `Fill` task hands back.
struct BandFilled {
    index: usize,
    band: Band,
}

/// What a band's task hands back.
struct BandDone {
    index: usize,
    band: Band,
    population: u64,
    nanos: u64,
    row_updates: u64,
}

impl Running {
    fn bands(&self) -> Result<impl Iterator<Item = &Band>, JobError> {
        if self.round.is_some() || self.bands.iter().any(Option::is_none) {
            return Err(JobError::bad_params("life: a round is still running"));
        }
        Ok(self.bands.iter().flatten())
    }

    fn load(&mut self, r: &mut WireReader) -> Result<(), JobError> {
        let first = r.u32("life.load.first_row")?;
        let bytes = r.take(r.remaining(), "life.load.rows")?;
        let words = self.geom.words;
        if first != self.loaded || bytes.len() % (words * 8) != 0 {
            return Err(JobError::bad_params(format!(
                "life: load of {} bytes at row {first} does not continue the {} rows loaded with whole rows",
                bytes.len(),
                self.loaded
            )));
        }
        let count = (bytes.len() / (words * 8)) as u32;
        if u64::from(first) + u64::from(count) > u64::from(self.p.rows) {
            return Err(JobError::bad_params(format!("life: load past the strip's {} rows", self.p.rows)));
        }
        // Scatter the rows over the bands they belong to.
        let (mut row, mut at) = (first as usize, 0usize);
        let mut band_start = 0usize;
        for band in self.bands.iter_mut().flatten() {
            let band_end = band_start + band.own;
            while row < band_end && at < bytes.len() {
                let dst = (band.margin_top + row - band_start) * words;
                get_rows(&bytes[at..at + words * 8], self.p.width, &mut band.rows[dst..dst + words])?;
                row += 1;
                at += words * 8;
            }
            band_start = band_end;
        }
        self.loaded += count;
        Ok(())
    }

    /// What the strip costs with `margin` ghost rows, and its inbox.
    fn need(&self, margin: u32) -> Need {
        let mut need = memory_need(&self.p, margin, self.bands.len());
        need.bytes = need.bytes.saturating_add(self.inbox_bytes);
        need
    }

    /// `Fill`: the strip's rows of a `--random` board, one task a band.
    fn fill(&mut self, r: &mut WireReader) -> Result<(), JobError> {
        let density = r.f64("life.fill.density")?;
        let seed = r.u64("life.fill.seed")?;
        let first_row = r.u32("life.fill.first_row")?;
        r.finish("life fill")?;
        let rows = self.p.rows;
        if self.loaded != 0 || self.filling != 0 || !(0.0..=1.0).contains(&density) {
            return Err(JobError::bad_params(format!(
                "life: fill with density {density} after {} rows were loaded: need a density in 0..=1, \
                 before any Load or Fill",
                self.loaded
            )));
        }
        if first_row.checked_add(rows).is_none() {
            return Err(JobError::bad_params(format!("life: fill from row {first_row} runs past row 2^32")));
        }
        let (width, words) = (self.p.width, self.geom.words);
        let _ = self.bands()?;
        for index in 0..self.bands.len() {
            let Some(mut band) = self.bands[index].take() else { continue };
            self.pending.push(Box::new(move |_: &AtomicBool| {
                let own = band.margin_top * words..(band.margin_top + band.own) * words;
                let first = first_row + band.start as u32;
                crate::life::random::fill_rows(&mut band.rows[own], width, first, band.own as u32, density, seed);
                Box::new(BandFilled { index, band }) as TaskOutput
            }));
            self.filling += 1;
        }
        Ok(())
    }

    fn band_filled(&mut self, done: BandFilled, sink: &mut dyn PartialSink) {
        self.bands[done.index] = Some(done.band);
        self.filling -= 1;
        if self.filling == 0 {
            self.loaded = self.p.rows;
            sink.partial(&[PART_FILLED]);
        }
    }

    /// `Peers`: registers the strip's feeds and dials its neighbours.
    fn peers(&mut self, r: &mut WireReader, sink: &mut dyn PartialSink) -> Result<(), JobError> {
        if !self.p.peers || self.peers.is_some() {
            return Err(JobError::bad_params("life: peers for a strip without flag 8, or a second time"));
        }
        let shape = StripShape {
            width: self.p.width,
            rows: self.p.rows,
            generation: self.generation,
            dead_top: self.p.dead_top,
            dead_bottom: self.p.dead_bottom,
        };
        let peers = StripPeers::open(r, &self.ctx.peers, &shape)?;
        // Dropping `peers` on a refusal unregisters it and closes its links.
        self.inbox_bytes = inbox_bytes(self.p.width, peers.max_rows());
        self.memory.resize(self.need(self.margin as u32))?;
        self.peers = Some(peers);
        sink.partial(&[PART_PEERS_READY]);
        Ok(())
    }

    /// `PeerStep`: a step whose ghost rows come from the neighbours; it
    /// starts when they have (`start_waiting`).
    fn peer_step(&mut self, r: &mut WireReader) -> Result<(), JobError> {
        let (steps, depth, ret) = self.step_header(r)?;
        r.finish("life peer step")?;
        if self.peers.is_none() || self.waiting.is_some() {
            return Err(JobError::bad_params("life: a peer step before peers, or while one waits"));
        }
        self.waiting = Some((steps, depth, ret));
        self.start_waiting()
    }

    /// Starts the waiting round if its ghost rows have come; reports a
    /// link to a neighbour that failed. Only a strip that waits for rows
    /// (here) or sends them (at a round's end) reports one: after the last
    /// round a neighbour's strip may end before this one, and the feed that
    /// then fails was needed by nobody.
    fn start_waiting(&mut self) -> Result<(), JobError> {
        let (Some(peers), Some((steps, depth, ret))) = (self.peers.as_mut(), self.waiting) else {
            return Ok(());
        };
        if let Some(why) = peers.failure() {
            return Err(JobError::failed(why));
        }
        if !peers.ready(self.generation) {
            return Ok(());
        }
        self.waiting = None;
        let (above, below) = peers.take(self.generation, depth as usize)?;
        self.start_round(steps, depth, ret, above, below);
        Ok(())
    }

    fn step(&mut self, r: &mut WireReader) -> Result<(), JobError> {
        let (steps, depth, ret) = self.step_header(r)?;
        let (words, d) = (self.geom.words, depth as usize);
        // The bytes are taken before the rows are allocated, so a depth
        // the frame does not carry allocates nothing.
        let ghost = |r: &mut WireReader, dead: bool, what| -> Result<Vec<u64>, JobError> {
            let len = if dead { 0 } else { d * words };
            let bytes = r.take(len * 8, what)?;
            let mut rows = vec![0; len];
            get_rows(bytes, self.p.width, &mut rows)?;
            Ok(rows)
        };
        let above = ghost(r, self.p.dead_top, "life.step.above")?;
        let below = ghost(r, self.p.dead_bottom, "life.step.below")?;
        r.finish("life step")?;
        self.start_round(steps, depth, ret, above, below);
        Ok(())
    }

    /// A step's numbers, checked, with the memory for its depth reserved.
    fn step_header(&mut self, r: &mut WireReader) -> Result<(u32, u32, u32), JobError> {
        let steps = r.u32("life.step.steps")?;
        let depth = r.u32("life.step.depth")?;
        let ret = r.u32("life.step.ret")?;
        let rows = self.p.rows;
        if self.loaded != rows {
            let msg = format!("life: step before the strip is loaded ({} of {rows} rows)", self.loaded);
            return Err(JobError::bad_params(msg));
        }
        let _ = self.bands()?;
        if depth == 0 || depth > rows || steps == 0 || steps > depth || ret == 0 || ret > rows {
            return Err(JobError::bad_params(format!(
                "life: step of {steps} generations with {depth} ghost rows, returning {ret}: \
                 need 1 <= steps <= depth <= {rows} (the strip's rows) and 1 <= ret <= {rows}"
            )));
        }
        if depth as usize != self.margin {
            self.memory.resize(self.need(depth))?;
        }
        Ok((steps, depth, ret))
    }

    /// Copies the ghost rows into the bands' margins and hands out a task
    /// per band.
    fn start_round(&mut self, steps: u32, depth: u32, ret: u32, above: Vec<u64>, below: Vec<u64>) {
        let (words, d) = (self.geom.words, depth as usize);
        if d != self.margin {
            self.remargin(d);
        }
        // Each band's margins are the strip's rows just outside it, where
        // rows past the strip are the head's ghost rows.
        let starts = self.band_starts();
        let margins: Vec<(Vec<u64>, Vec<u64>)> = (0..self.bands.len())
            .map(|i| {
                let Some(band) = self.bands[i].as_ref() else { return (Vec::new(), Vec::new()) };
                let start = starts[i] as isize;
                let end = start + band.own as isize;
                let take = |from: isize, count: usize| {
                    let mut out = Vec::with_capacity(count * words);
                    for row in from..from + count as isize {
                        out.extend_from_slice(self.strip_row(row, &starts, &above, &below));
                    }
                    out
                };
                (take(start - band.margin_top as isize, band.margin_top), take(end, band.margin_bottom))
            })
            .collect();
        let n = self.bands.len();
        for (i, (top, bottom)) in margins.into_iter().enumerate() {
            let Some(mut band) = self.bands[i].take() else { continue };
            band.rows[..top.len()].copy_from_slice(&top);
            let start = (band.margin_top + band.own) * words;
            band.rows[start..].copy_from_slice(&bottom);
            let geom = self.geom;
            self.pending.push(Box::new(move |cancel: &AtomicBool| {
                let fixed = band.fixed;
                let started = Instant::now();
                let row_updates =
                    SCRATCH.with(|s| advance(&mut band.rows, &geom, steps, fixed, &mut s.borrow_mut(), Some(cancel)));
                let nanos = started.elapsed().as_nanos() as u64;
                let population = band.own_rows(geom.words).iter().map(|w| u64::from(w.count_ones())).sum();
                Box::new(BandDone { index: i, band, population, nanos, row_updates }) as TaskOutput
            }));
        }
        self.round = Some(Round { steps, ret, bands_out: n, population: 0, slowest: (0, 0) });
    }

    /// The strip row each band starts at.
    fn band_starts(&self) -> Vec<usize> {
        let mut at = 0;
        self.bands
            .iter()
            .map(|b| {
                let start = at;
                at += b.as_ref().map_or(0, |b| b.own);
                start
            })
            .collect()
    }

    /// Strip row `row`, where rows before 0 are `above` and rows past the
    /// strip are `below` (the head's ghost rows, `depth` each). Only called
    /// between rounds, when every band is home.
    fn strip_row<'a>(&'a self, row: isize, starts: &[usize], above: &'a [u64], below: &'a [u64]) -> &'a [u64] {
        let words = self.geom.words;
        let rows = self.p.rows as isize;
        if row < 0 {
            let at = above.len() / words - row.unsigned_abs();
            return &above[at * words..(at + 1) * words];
        }
        if row >= rows {
            let at = (row - rows) as usize;
            return &below[at * words..(at + 1) * words];
        }
        let i = starts.partition_point(|&s| s <= row as usize) - 1;
        match self.bands[i].as_ref() {
            Some(band) => {
                let at = band.margin_top + row as usize - starts[i];
                &band.rows[at * words..(at + 1) * words]
            }
            None => &[],
        }
    }

    /// Rebuilds every band's buffer with `margin` ghost rows per side.
    fn remargin(&mut self, margin: usize) {
        let words = self.geom.words;
        for slot in self.bands.iter_mut() {
            let Some(band) = slot.as_mut() else { continue };
            let mut new = Band::new(&self.p, band.start, band.own, margin, words);
            let at = new.margin_top * words;
            new.rows[at..at + band.own * words].copy_from_slice(band.own_rows(words));
            *band = new;
        }
        self.margin = margin;
    }

    /// Strip rows `[from, from + count)` gathered from the bands.
    fn strip_rows(&self, from: usize, count: usize) -> Vec<u64> {
        let starts = self.band_starts();
        let mut out = Vec::with_capacity(count * self.geom.words);
        for row in from..from + count {
            out.extend_from_slice(self.strip_row(row as isize, &starts, &[], &[]));
        }
        out
    }

    fn snapshot(&self, packed: bool, sink: &mut dyn PartialSink) -> Result<(), JobError> {
        let words = self.geom.words;
        // Packed, a chunk has half the rows: it and its LZ4 block together
        // take what one raw chunk did (`snapshot_need`).
        let chunk_bytes = if packed { STRIP_CHUNK_BYTES / 2 } else { STRIP_CHUNK_BYTES };
        let per_chunk = (chunk_bytes / (words * 8)).max(1);
        let mut first = 0u32;
        // Packed: the rows as bytes first, in one buffer for every chunk.
        let mut raw = Vec::new();
        for band in self.bands()? {
            for rows in band.own_rows(words).chunks(per_chunk * words) {
                let count = (rows.len() / words) as u32;
                let mut out = Vec::with_capacity(PACKED_STRIP_HEAD + exec_stdout::packed_bound(rows.len() * 8));
                out.put_u8(if packed { PART_STRIP_PACKED } else { PART_STRIP });
                out.put_u64(self.generation);
                out.put_u32(first);
                if packed {
                    out.put_u32(count);
                    raw.clear();
                    put_rows(&mut raw, rows);
                    exec_stdout::pack_into(&mut out, &raw);
                } else {
                    put_rows(&mut out, rows);
                }
                sink.partial(&out);
                first += count;
            }
        }
        Ok(())
    }

    fn population(&self) -> u64 {
        let words = self.geom.words;
        self.bands.iter().flatten().flat_map(|b| b.own_rows(words)).map(|w| u64::from(w.count_ones())).sum()
    }
}

impl RunningJob for Running {
    fn input(&mut self, data: &[u8], sink: &mut dyn PartialSink) -> Result<(), JobError> {
        let mut r = WireReader::new(data);
        match r.u8("life.op")? {
            OP_LOAD => self.load(&mut r),
            OP_STEP => self.step(&mut r),
            OP_SNAPSHOT => {
                // No flags byte from a head before 1.7.
                let flags = if r.remaining() > 0 { r.u8("life.snapshot.flags")? } else { 0 };
                r.finish("life snapshot")?;
                if flags & !SNAPSHOT_PACKED != 0 {
                    return Err(JobError::bad_params(format!("life: unknown snapshot flags {flags:#x}")));
                }
                self.snapshot(flags & SNAPSHOT_PACKED != 0, sink)
            }
            OP_PEERS => self.peers(&mut r, sink),
            OP_PEER_STEP => self.peer_step(&mut r),
            OP_FILL => self.fill(&mut r),
            op => Err(JobError::bad_params(format!("life: unknown op {op}"))),
        }
    }

    fn more_tasks(&mut self) -> Vec<Task> {
        std::mem::take(&mut self.pending)
    }

    /// A strip with peers is polled whenever the loop wakes: a feed may
    /// have brought the rows its round waits for, or a link failed.
    fn streams(&self) -> bool {
        self.p.peers
    }

    fn poll_output(&mut self, _sink: &mut dyn PartialSink) -> Result<(), JobError> {
        self.start_waiting()
    }

    fn task_done(&mut self, output: TaskOutput, sink: &mut dyn PartialSink) -> Result<(), JobError> {
        let output = match output.downcast::<BandFilled>() {
            Ok(filled) => {
                self.band_filled(*filled, sink);
                return Ok(());
            }
            Err(other) => other,
        };
        let done: BandDone = expect_output(output, "life")?;
        let Some(round) = self.round.as_mut() else {
            return Err(JobError::failed("internal error: life band came back outside a round"));
        };
        round.bands_out -= 1;
        round.population += done.population;
        if done.nanos > round.slowest.0 {
            round.slowest = (done.nanos, done.row_updates);
        }
        self.bands[done.index] = Some(done.band);
        if round.bands_out > 0 {
            return Ok(());
        }
        let Some(round) = self.round.take() else { return Ok(()) };
        self.generation += u64::from(round.steps);
        let ret = round.ret as usize;
        let rows = self.p.rows as usize;
        let (top, bottom) = (self.strip_rows(0, ret), self.strip_rows(rows - ret, ret));
        let mut out = Vec::with_capacity(33 + (top.len() + bottom.len()) * 8);
        out.put_u8(PART_BORDERS);
        out.put_u64(self.generation);
        out.put_u64(round.population);
        out.put_u64(round.slowest.0);
        out.put_u64(round.slowest.1);
        match self.peers.as_mut() {
            // The neighbours get the borders; the head only the numbers.
            Some(peers) => {
                if let Some(why) = peers.failure() {
                    return Err(JobError::failed(why));
                }
                peers.send(self.generation, &top, &bottom);
            }
            None => {
                put_rows(&mut out, &top);
                put_rows(&mut out, &bottom);
            }
        }
        sink.partial(&out);
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<Vec<u8>, JobError> {
        let mut out = Vec::with_capacity(16);
        out.put_u64(self.generation);
        out.put_u64(self.population());
        Ok(out)
    }
}

/// The final result: (generation, population).
pub fn decode_result(payload: &[u8]) -> Result<(u64, u64), JobError> {
    let mut r = WireReader::new(payload);
    let g = r.u64("life.generation")?;
    let p = r.u64("life.population")?;
    r.skip_later_fields();
    Ok((g, p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::kind::JobKind;
    use crate::jobs::memory::MemoryBudget;
    use crate::jobs::needs_exactly::assert_needs_exactly;
    use std::rc::Rc;

    fn strip(width: u32, rows: u32, margin: u32) -> Params {
        Params { width, rows, margin, wrap_x: false, dead_top: false, dead_bottom: false, peers: false, generation: 0 }
    }

    #[test]
    fn memory_counts_words_per_row_margins_and_bands_not_cells() {
        // 64 cells a row is one word; two bands of 50 rows, each with 2
        // ghost rows a side; the kernel's copy of each band and 7 rows of
        // sums per thread; the head's 2 + 2 ghost rows and the 8 margin rows
        // copied at a step; a packed snapshot's 2 MiB chunk, its 17-byte
        // header and the LZ4 block it may become (5 + 20 bytes and 110 %),
        // more than a raw 4 MiB chunk plus a row.
        let (bands, kernel, step) = ((100 + 8) * 8, (100 + 8) * 8 + 7 * 2 * 8, (8 + 4) * 8);
        let snapshot = (2 << 20) + 17 + 5 + 20 + (2 << 20) * 110 / 100;
        assert!(snapshot > (4 << 20) + 8);
        let need = (64 << 10) + bands + kernel + step + snapshot;
        assert_eq!(need, 4_471_533);
        assert_needs_exactly(JobKind::Life, start, &strip(64, 100, 2).encode(), 2, need);
        // Two cells a row still cost a whole word: the same as 64.
        assert_needs_exactly(JobKind::Life, start, &strip(2, 100, 2).encode(), 2, need);
    }

    #[test]
    fn the_23_byte_submit_that_aborted_a_32_bit_pi_is_refused_before_allocating() {
        let p = strip(2, 270_598_144, 67_641_344);
        let ctx = WorkerContext::with_budget(4, MemoryBudget::new(256 << 20, 1 << 30));
        let err = start(&p.encode(), ctx).err().expect("refused");
        assert_eq!(
            err.message,
            "life strip of 2 x 270598144 with 67641344 ghost rows needs 17.1 GiB \
             (64-bit words per row, plus margins and per-thread bands); --max-job-memory is 256 MiB"
        );
    }

    #[test]
    fn a_step_with_deeper_ghost_rows_reserves_them_first() {
        let p = strip(64, 4, 1);
        let budget = MemoryBudget::new(memory_need(&p, 1, 1).bytes, u64::MAX);
        let mut job = start(&p.encode(), WorkerContext::with_budget(1, Rc::clone(&budget))).expect("fits");
        let mut sink = Sink(Vec::new());
        let mut load = vec![OP_LOAD];
        load.put_u32(0);
        put_rows(&mut load, &[1, 2, 3, 4]);
        job.input(&load, &mut sink).expect("load");
        let step = |depth: u32| {
            let mut s = vec![OP_STEP];
            s.put_u32(1);
            s.put_u32(depth);
            s.put_u32(1);
            put_rows(&mut s, &vec![0; 2 * depth as usize]);
            s
        };
        let err = job.input(&step(2), &mut sink).expect_err("a deeper margin is over the budget");
        assert!(err.message.contains("with 2 ghost rows needs") && err.message.contains("--max-job-memory"), "{err}");
        assert_eq!(budget.held(), memory_need(&p, 1, 1).bytes, "the old reservation stands");
        job.input(&step(1), &mut sink).expect("the reserved depth still runs");
        drop(job);
        assert_eq!(budget.held(), 0);
    }
    #[test]
    fn a_snapshot_packs_when_asked_and_refuses_flags_it_does_not_know() {
        let p = strip(64, 4, 1);
        let mut job = start(&p.encode(), WorkerContext::new(1)).expect("fits");
        let mut sink = Sink(Vec::new());
        let mut load = vec![OP_LOAD];
        load.put_u32(0);
        put_rows(&mut load, &[1, 0, 0, 8]);
        job.input(&load, &mut sink).expect("load");
        job.input(&[OP_SNAPSHOT], &mut sink).expect("a 1.6 head's snapshot");
        job.input(&[OP_SNAPSHOT, SNAPSHOT_PACKED], &mut sink).expect("a 1.7 head's snapshot");
        let [raw, packed] = &sink.0[..] else { panic!("two partials: {:?}", sink.0) };
        assert_eq!(raw[0], PART_STRIP);
        assert_eq!(&raw[13..], &packed_rows(&[1, 0, 0, 8])[..]);
        assert_eq!(packed[0], PART_STRIP_PACKED);
        let mut r = WireReader::new(&packed[1..]);
        assert_eq!((r.u64("g").unwrap(), r.u32("f").unwrap(), r.u32("n").unwrap()), (0, 0, 4));
        let mut rows = Vec::new();
        exec_stdout::unpack(r.take(r.remaining(), "rows").unwrap(), 32, &mut rows).expect("unpacks");
        assert_eq!(rows, packed_rows(&[1, 0, 0, 8]));
        let err = job.input(&[OP_SNAPSHOT, 2], &mut sink).expect_err("an unknown flag");
        assert!(err.message.contains("unknown snapshot flags 0x2"), "{err}");
    }

    fn packed_rows(words: &[u64]) -> Vec<u8> {
        let mut out = Vec::new();
        put_rows(&mut out, words);
        out
    }

    use crate::life::kernel::run_board;
    use crate::life::{Board, Edges};

    struct Sink(Vec<Vec<u8>>);
    impl PartialSink for Sink {
        fn partial(&mut self, payload: &[u8]) {
            self.0.push(payload.to_vec());
        }
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self, below: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % below.max(1)
        }
    }

    /// Runs every task the job hands out, on this thread.
    fn drain(job: &mut Box<dyn RunningJob>, sink: &mut Sink) {
        let cancel = AtomicBool::new(false);
        loop {
            let tasks = job.more_tasks();
            if tasks.is_empty() {
                return;
            }
            for t in tasks {
                job.task_done(t(&cancel), sink).expect("band");
            }
        }
    }

    fn rows_of(board: &Board, from: u32, count: u32) -> Vec<u64> {
        board.rows(from, from + count).to_vec()
    }

    /// A lone strip that is the whole board, driven as the head drives it
    /// (its own borders are its ghosts on a torus), with the depth changing
    /// between steps and any thread count: the board equals the kernel's.
    #[test]
    fn a_whole_board_strip_matches_the_kernel_at_any_depth_and_thread_count() {
        let mut rng = Rng(0x1234_5678);
        for case in 0..200 {
            let (w, h) = (1 + rng.next(140) as u32, 1 + rng.next(40) as u32);
            let edges = if rng.next(2) == 0 { Edges::Wrap } else { Edges::Dead };
            let dead = edges == Edges::Dead;
            let threads = 1 + rng.next(5) as usize;
            let mut board = Board::new(w, h);
            for y in 0..h {
                for x in 0..w {
                    board.set(x, y, rng.next(3) == 0);
                }
            }
            let start = board.clone();
            let margin = 1 + rng.next(u64::from(h)) as u32;
            let p = Params {
                width: w,
                rows: h,
                margin,
                wrap_x: !dead,
                dead_top: dead,
                dead_bottom: dead,
                peers: false,
                generation: 0,
            };
            let mut job = start_job(&p, threads);
            let mut sink = Sink(Vec::new());
            let mut load = vec![OP_LOAD];
            load.put_u32(0);
            put_rows(&mut load, board.words());
            job.input(&load, &mut sink).expect("load");
            let mut gens = 0u64;
            for _ in 0..1 + rng.next(6) {
                let depth = 1 + rng.next(u64::from(h)) as u32;
                let steps = 1 + rng.next(u64::from(depth)) as u32;
                let mut step = vec![OP_STEP];
                step.put_u32(steps);
                step.put_u32(depth);
                step.put_u32(h);
                if !dead {
                    put_rows(&mut step, &rows_of(&board, h - depth, depth));
                    put_rows(&mut step, &rows_of(&board, 0, depth));
                }
                job.input(&step, &mut sink).unwrap_or_else(|e| panic!("case {case}: {e}"));
                drain(&mut job, &mut sink);
                gens += u64::from(steps);
                // The borders (all h rows each) are the strip itself.
                let borders = sink.0.pop().expect("borders");
                let mut r = WireReader::new(&borders);
                assert_eq!(r.u8("op").unwrap(), PART_BORDERS);
                assert_eq!(r.u64("g").unwrap(), gens);
                let _ = (r.u64("p").unwrap(), r.u64("ns").unwrap(), r.u64("rows").unwrap());
                let half = r.remaining() / 2;
                let mut words = vec![0; half / 8];
                get_rows(r.take(half, "top").unwrap(), w, &mut words).unwrap();
                board = Board::from_words(w, h, words).unwrap();
                let want = run_board(&start, edges, gens, 1);
                assert_eq!(board, want, "case {case}: {w}x{h} {edges:?}, {threads} threads, depth {depth}, gen {gens}");
            }
            job.input(&[OP_SNAPSHOT], &mut sink).expect("snapshot");
            let rows: usize = sink.0.iter().map(|p| (p.len() - 13) / (8 * words_per_row(w))).sum();
            assert_eq!(rows, h as usize, "snapshot sends every row once");
        }
    }

    fn start_job(p: &Params, threads: usize) -> Box<dyn RunningJob> {
        match start(&p.encode(), WorkerContext::new(threads)) {
            Ok(job) => job,
            Err(e) => panic!("start: {e}"),
        }
    }

    /// A strip filled by the worker is the board's rows from its first row
    /// (as the head fills the whole board), whatever its bands.
    #[test]
    fn a_filled_strip_is_the_random_boards_rows() {
        for threads in [1, 3] {
            let p = Params { peers: false, ..strip(70, 8, 2) };
            let mut job = start_job(&p, threads);
            let mut sink = Sink(Vec::new());
            let mut fill = vec![OP_FILL];
            fill.put_f64(0.4);
            fill.put_u64(9);
            fill.put_u32(5);
            job.input(&fill, &mut sink).expect("fill");
            drain(&mut job, &mut sink);
            assert_eq!(sink.0.pop().expect("filled"), vec![PART_FILLED]);
            assert!(job.input(&fill, &mut sink).is_err(), "a second fill");
            job.input(&[OP_SNAPSHOT], &mut sink).expect("snapshot");
            let got: Vec<u8> = sink.0.iter().flat_map(|part| part[13..].to_vec()).collect();
            let mut want = vec![0u64; 2 * 13];
            crate::life::random::fill_rows(&mut want, 70, 0, 13, 0.4, 9);
            let mut bytes = Vec::new();
            put_rows(&mut bytes, &want[10..]);
            assert_eq!(got, bytes, "{threads} threads");
        }
    }

    /// Peers and PeerStep on a strip without flag 8, a PeerStep before
    /// Peers, sides that do not match the edges, a fill with a bad
    /// density: errors, not panics.
    #[test]
    fn bad_peer_and_fill_ops_are_errors() {
        use crate::jobs::life_swap::{encode_peers, SideSpec};
        let mut sink = Sink(Vec::new());
        let side = SideSpec { receive: [1; 16], address: "127.0.0.1:1".into(), send: [2; 16] };
        let peers = |up: &SideSpec, down: &SideSpec| [vec![OP_PEERS], encode_peers(2, up, down)].concat();
        let mut plain = start_job(&strip(64, 4, 1), 1);
        assert!(plain.input(&peers(&SideSpec::DEAD, &SideSpec::DEAD), &mut sink).is_err(), "no flag 8");
        let flagged = Params { peers: true, dead_top: true, dead_bottom: true, ..strip(64, 4, 1) };
        let mut job = start_job(&flagged, 1);
        let mut step = vec![OP_PEER_STEP];
        step.put_u32(1);
        step.put_u32(1);
        step.put_u32(1);
        let mut load = vec![OP_LOAD];
        load.put_u32(0);
        put_rows(&mut load, &[1, 2, 3, 4]);
        job.input(&load, &mut sink).expect("load");
        assert!(job.input(&step, &mut sink).is_err(), "a peer step before peers");
        let err = job.input(&peers(&side, &SideSpec::DEAD), &mut sink).expect_err("a neighbour on a dead edge");
        assert!(err.message.contains("upper side of peers must be empty"), "{err}");
        let mut fill = vec![OP_FILL];
        fill.put_f64(1.5);
        fill.put_u64(1);
        fill.put_u32(0);
        assert!(start_job(&strip(64, 4, 1), 1).input(&fill, &mut sink).is_err(), "density 1.5");
        // Both edges dead: no neighbour, so a peer step runs at once.
        job.input(&peers(&SideSpec::DEAD, &SideSpec::DEAD), &mut sink).expect("peers");
        assert_eq!(sink.0.pop().expect("ready"), vec![PART_PEERS_READY]);
        job.input(&step, &mut sink).expect("peer step");
        drain(&mut job, &mut sink);
        let borders = sink.0.pop().expect("borders");
        assert_eq!(borders.len(), 33, "numbers only: the rows went to the neighbours");
    }

    /// Ops out of order, short, oversized or with bad numbers: an error
    /// each, never a panic.
    #[test]
    fn bad_ops_are_errors_not_panics() {
        let p = Params {
            width: 70,
            rows: 8,
            margin: 2,
            wrap_x: true,
            dead_top: false,
            dead_bottom: false,
            peers: false,
            generation: 0,
        };
        let mut job = start_job(&p, 2);
        let mut sink = Sink(Vec::new());
        let step = |steps: u32, depth: u32, ret: u32, rows: usize| {
            let mut s = vec![OP_STEP];
            s.put_u32(steps);
            s.put_u32(depth);
            s.put_u32(ret);
            s.extend(std::iter::repeat_n(0u8, rows * 16));
            s
        };
        assert!(job.input(&step(1, 2, 2, 4), &mut sink).is_err(), "step before load");
        let mut load = vec![OP_LOAD];
        load.put_u32(3);
        load.extend([0u8; 16]);
        assert!(job.input(&load, &mut sink).is_err(), "load out of order");
        let mut load = vec![OP_LOAD];
        load.put_u32(0);
        load.extend([0u8; 15]);
        assert!(job.input(&load, &mut sink).is_err(), "part of a row");
        let mut load = vec![OP_LOAD];
        load.put_u32(0);
        load.extend(vec![0xffu8; 16 * 9]);
        assert!(job.input(&load, &mut sink).is_err(), "more rows than the strip");
        let mut load = vec![OP_LOAD];
        load.put_u32(0);
        load.extend(vec![0xffu8; 16 * 8]);
        job.input(&load, &mut sink).expect("whole strip");
        for bad in [
            step(0, 2, 2, 4),
            step(3, 2, 2, 4),
            step(1, 9, 2, 18),
            step(1, 2, 0, 4),
            step(1, 2, 9, 4),
            step(1, 2, 2, 3),
        ] {
            assert!(job.input(&bad, &mut sink).is_err());
        }
        assert!(job.input(&[9], &mut sink).is_err(), "unknown op");
        assert!(job.input(&[], &mut sink).is_err(), "empty op");
        assert!(Params::decode(&[0; 3]).is_err());
        let zero_margin = Params { margin: 0, ..p };
        assert!(Params::decode(&zero_margin.encode()).is_err());
    }
}
