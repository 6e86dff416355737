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
//!   `2 Step` steps u32, ghost rows above then below (margin rows each,
//!   none for a dead edge); `3 Snapshot`.
//! - worker to head, one per `Partial`: `1 Borders` generation u64,
//!   population u64, top margin rows, bottom margin rows; `2 Strip`
//!   generation u64, first_row u32, rows.
//! - result: generation u64, population u64.

use super::{expect_output, JobError, PartialSink, RunningJob, Task, TaskOutput, WorkerContext};
use crate::life::board::{last_word_mask, words_per_row};
use crate::life::kernel::{advance, FixedSides, Geometry, Scratch};
use crate::protocol::{WireReader, WireWrite};
use std::cell::RefCell;
use std::sync::atomic::AtomicBool;

/// Widest board a worker takes: 16 Mi cells, a 2 MiB row.
pub const MAX_WIDTH: u32 = 1 << 24;
/// Largest strip a worker holds: 4 GiB of cells (512 MiB packed).
pub const MAX_STRIP_CELLS: u64 = 1 << 32;
/// Rows per `Strip` partial: about 4 MiB, whatever the width.
const STRIP_CHUNK_BYTES: usize = 4 << 20;

pub const OP_LOAD: u8 = 1;
pub const OP_STEP: u8 = 2;
pub const OP_SNAPSHOT: u8 = 3;
pub const PART_BORDERS: u8 = 1;
pub const PART_STRIP: u8 = 2;

const FLAG_WRAP_X: u8 = 1;
const FLAG_DEAD_TOP: u8 = 2;
const FLAG_DEAD_BOTTOM: u8 = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    pub width: u32,
    pub rows: u32,
    /// Ghost rows per side, and the most generations one step may run.
    pub margin: u32,
    pub wrap_x: bool,
    pub dead_top: bool,
    pub dead_bottom: bool,
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
            | flag(self.dead_bottom, FLAG_DEAD_BOTTOM);
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
        if flags & !(FLAG_WRAP_X | FLAG_DEAD_TOP | FLAG_DEAD_BOTTOM) != 0 {
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
            generation,
        })
    }
}

/// Appends packed rows as little-endian words.
pub fn put_rows(out: &mut Vec<u8>, rows: &[u64]) {
    out.reserve(rows.len() * 8);
    for w in rows {
        out.extend_from_slice(&w.to_le_bytes());
    }
}

/// Reads packed rows written by `put_rows`, clearing bits past the width.
pub fn get_rows(bytes: &[u8], width: u32, into: &mut [u64]) -> Result<(), JobError> {
    let words = words_per_row(width);
    if bytes.len() != into.len() * 8 {
        return Err(JobError::bad_params(format!("life: expected {} row bytes, got {}", into.len() * 8, bytes.len())));
    }
    for (w, b) in into.iter_mut().zip(bytes.chunks_exact(8)) {
        *w = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
    }
    let mask = last_word_mask(width);
    for row in into.chunks_mut(words) {
        row[words - 1] &= mask;
    }
    Ok(())
}

/// One thread's share of the strip: its own rows between two margins.
struct Band {
    /// margin_top + own + margin_bottom rows.
    rows: Vec<u64>,
    margin_top: usize,
    own: usize,
    margin_bottom: usize,
}

impl Band {
    fn own_rows(&self, words: usize) -> &[u64] {
        &self.rows[self.margin_top * words..(self.margin_top + self.own) * words]
    }
}

struct Running {
    p: Params,
    geom: Geometry,
    /// None while a task holds the band.
    bands: Vec<Option<Band>>,
    /// Rows loaded so far; rounds start once all have come.
    loaded: u32,
    generation: u64,
    /// The round under way: its steps, bands still out, population so far.
    round: Option<(u32, usize, u64)>,
    pending: Vec<Task>,
}

pub(super) fn start(payload: &[u8], ctx: WorkerContext) -> Result<Box<dyn RunningJob>, JobError> {
    let p = Params::decode(payload)?;
    let geom = Geometry { width: p.width, words: words_per_row(p.width), wrap_x: p.wrap_x };
    let words = geom.words;
    // Every band keeps at least a margin's worth of rows, so the margins of
    // a band come from its two neighbours only.
    let parts = (ctx.threads.max(1) as u32).min(p.rows / p.margin).max(1);
    let bands = super::split_range(0, u64::from(p.rows), parts as usize)
        .into_iter()
        .enumerate()
        .map(|(i, (a, b))| {
            let margin_top = if i == 0 && p.dead_top { 0 } else { p.margin as usize };
            let last = b == u64::from(p.rows);
            let margin_bottom = if last && p.dead_bottom { 0 } else { p.margin as usize };
            let own = (b - a) as usize;
            Some(Band { rows: vec![0; (margin_top + own + margin_bottom) * words], margin_top, own, margin_bottom })
        })
        .collect();
    Ok(Box::new(Running { p, geom, bands, loaded: 0, generation: p.generation, round: None, pending: Vec::new() }))
}

thread_local! {
    /// Each compute thread's kernel buffers, reused round after round.
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// What a band's task hands back.
struct BandDone {
    index: usize,
    band: Band,
    population: u64,
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

    fn step(&mut self, r: &mut WireReader) -> Result<(), JobError> {
        let steps = r.u32("life.step.steps")?;
        if self.loaded != self.p.rows {
            return Err(JobError::bad_params(format!(
                "life: step before the strip is loaded ({} of {} rows)",
                self.loaded, self.p.rows
            )));
        }
        let _ = self.bands()?;
        if steps == 0 || steps > self.p.margin {
            return Err(JobError::bad_params(format!(
                "life: step of {steps} generations; the margin allows 1..={}",
                self.p.margin
            )));
        }
        let (words, m) = (self.geom.words, self.p.margin as usize);
        let ghost = |r: &mut WireReader, dead: bool, what| -> Result<Vec<u64>, JobError> {
            let mut rows = vec![0; if dead { 0 } else { m * words }];
            get_rows(r.take(rows.len() * 8, what)?, self.p.width, &mut rows)?;
            Ok(rows)
        };
        let above = ghost(r, self.p.dead_top, "life.step.above")?;
        let below = ghost(r, self.p.dead_bottom, "life.step.below")?;
        r.finish("life step")?;
        // Margins: the strip's come from the head, the others from the
        // neighbouring band's own rows.
        let n = self.bands.len();
        let mut tops = Vec::with_capacity(n);
        let mut bottoms = Vec::with_capacity(n);
        for i in 0..n {
            let rows_of = |j: usize| self.bands[j].as_ref().map(|b| b.own_rows(words)).unwrap_or(&[]);
            tops.push(if i == 0 { above.clone() } else { rows_of(i - 1)[rows_of(i - 1).len() - m * words..].to_vec() });
            bottoms.push(if i + 1 == n { below.clone() } else { rows_of(i + 1)[..m * words].to_vec() });
        }
        let cancel_gens = steps;
        for (i, (top, bottom)) in tops.into_iter().zip(bottoms).enumerate() {
            let Some(mut band) = self.bands[i].take() else { continue };
            band.rows[..band.margin_top * words].copy_from_slice(&top[..band.margin_top * words]);
            let start = (band.margin_top + band.own) * words;
            band.rows[start..].copy_from_slice(&bottom[..band.margin_bottom * words]);
            let geom = self.geom;
            self.pending.push(Box::new(move |cancel: &AtomicBool| {
                let fixed = FixedSides { top: band.margin_top == 0, bottom: band.margin_bottom == 0 };
                SCRATCH.with(|s| advance(&mut band.rows, &geom, cancel_gens, fixed, &mut s.borrow_mut(), Some(cancel)));
                let population = band.own_rows(geom.words).iter().map(|w| u64::from(w.count_ones())).sum();
                Box::new(BandDone { index: i, band, population }) as TaskOutput
            }));
        }
        self.round = Some((steps, n, 0));
        Ok(())
    }

    fn snapshot(&self, sink: &mut dyn PartialSink) -> Result<(), JobError> {
        let words = self.geom.words;
        let per_chunk = (STRIP_CHUNK_BYTES / (words * 8)).max(1);
        let mut first = 0u32;
        for band in self.bands()? {
            for rows in band.own_rows(words).chunks(per_chunk * words) {
                let mut out = Vec::with_capacity(13 + rows.len() * 8);
                out.put_u8(PART_STRIP);
                out.put_u64(self.generation);
                out.put_u32(first);
                put_rows(&mut out, rows);
                sink.partial(&out);
                first += (rows.len() / words) as u32;
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
                r.finish("life snapshot")?;
                self.snapshot(sink)
            }
            op => Err(JobError::bad_params(format!("life: unknown op {op}"))),
        }
    }

    fn more_tasks(&mut self) -> Vec<Task> {
        std::mem::take(&mut self.pending)
    }

    fn task_done(&mut self, output: TaskOutput, sink: &mut dyn PartialSink) -> Result<(), JobError> {
        let done: BandDone = expect_output(output, "life")?;
        let Some((steps, left, population)) = self.round.as_mut() else {
            return Err(JobError::failed("internal error: life band came back outside a round"));
        };
        *left -= 1;
        *population += done.population;
        self.bands[done.index] = Some(done.band);
        if *left > 0 {
            return Ok(());
        }
        let (steps, population) = (*steps, *population);
        self.round = None;
        self.generation += u64::from(steps);
        let (words, m) = (self.geom.words, self.p.margin as usize);
        let bands: Vec<&Band> = self.bands()?.collect();
        let top = &bands[0].own_rows(words)[..m * words];
        let last = bands[bands.len() - 1].own_rows(words);
        let bottom = &last[last.len() - m * words..];
        let mut out = Vec::with_capacity(17 + 2 * m * words * 8);
        out.put_u8(PART_BORDERS);
        out.put_u64(self.generation);
        out.put_u64(population);
        put_rows(&mut out, top);
        put_rows(&mut out, bottom);
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
    r.finish("life result")?;
    Ok((g, p))
}
