//! How each job is cut into pieces for the workers, and how the pieces'
//! answers are put back together.
//!
//! The cut is canonical: piece sizes depend only on the job, never on the
//! hosts, and every merge is exact (integer counts, `ExactSum`, output in
//! piece order). So the answer is the same bits with 1 host or 40, and
//! after any number of re-run pieces. This module must not touch sockets:
//! `engine` does that.

pub mod exec;
pub mod farm;
pub mod life;

use crate::jobs::exact_sum::ExactSum;
use crate::jobs::{echo, loopsum, pi, powers, primes, reduce, JobKind};
use crate::submit::cluster::engine::{Cores, Gatherer, InputOpener, InputStream, Piece};
use crate::submit::error::SubmitError;
use crate::submit::report::json::Json;
use crate::submit::report::output::{OrderedWriter, PrimeText};
use crate::submit::report::run::Answer;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

/// What the user asked for, already checked.
#[derive(Clone, Debug)]
pub enum JobSpec {
    Loopsum(loopsum::Params),
    Pi {
        samples: u64,
        seed: u64,
    },
    Primes {
        a: u64,
        b: u64,
        output: Option<PathBuf>,
    },
    Powers {
        nums: Vec<f64>,
        exps: Vec<f64>,
    },
    Reduce {
        op: reduce::Op,
        dtype: reduce::DType,
        input: PathBuf,
    },
    Echo {
        bytes: u64,
    },
    Ping,
    /// Tasks from stdin, one per line, run as cores come free.
    Farm {
        ordered: bool,
    },
}

impl JobSpec {
    pub fn name(&self) -> &'static str {
        match self {
            JobSpec::Loopsum(_) => "loopsum",
            JobSpec::Pi { .. } => "pi",
            JobSpec::Primes { .. } => "primes",
            JobSpec::Powers { .. } => "powers",
            JobSpec::Reduce { .. } => "reduce",
            JobSpec::Echo { .. } => "echo",
            JobSpec::Ping => "ping",
            JobSpec::Farm { .. } => "farm",
        }
    }
}

/// A gatherer that can also say what the whole job's answer is.
pub trait Plan: Gatherer {
    fn finish(self: Box<Self>) -> Result<Answer, SubmitError>;
}

/// Work in one piece, in inner-loop iterations (loopsum) or darts (pi):
/// tens of milliseconds on a Pi 4's four cores, so pieces spread over many
/// workers and a lost one costs little to re-run.
const PIECE_WORK: u64 = 1 << 26;
/// Numbers per primes piece when only counting.
const PRIMES_PIECE: u64 = 1 << 24;
/// Pieces are cut smaller when there would be fewer than this many per
/// host, so that every host of a large cluster gets some (with 240 hosts,
/// 10^9 darts were 15 pieces: 225 hosts sat idle) and the fastest ones can
/// take more than their share.
const PIECES_PER_HOST: u64 = 4;
/// ...but not below this much work, where a piece's round trip would
/// start to cost more than its computing.
const MIN_PIECE_WORK: u64 = 1 << 20;

/// The size of the pieces that cut `total` units of work for `hosts`
/// hosts: `usual`, or smaller to give every host `PIECES_PER_HOST`, but not
/// below `floor`. The answers are exact sums and counts, so the cut never
/// changes them.
fn piece_size(total: u64, usual: u64, floor: u64, hosts: usize) -> u64 {
    let wanted = PIECES_PER_HOST.saturating_mul(hosts.max(1) as u64);
    usual.min(total.div_ceil(wanted).max(floor)).max(1)
}

/// The pieces and the gatherer for `spec`, cut for `hosts` hosts.
pub fn build(spec: &JobSpec, hosts: usize) -> Result<(Vec<Piece>, Box<dyn Plan>), SubmitError> {
    match spec {
        JobSpec::Loopsum(p) => Ok(plan_loopsum(*p, hosts)),
        JobSpec::Pi { samples, seed } => Ok(plan_pi(*samples, *seed, hosts)),
        JobSpec::Primes { a, b, output } => plan_primes(*a, *b, output.clone(), hosts),
        JobSpec::Powers { nums, exps } => Ok(plan_powers(nums, exps)),
        JobSpec::Reduce { op, dtype, input } => plan_reduce(*op, *dtype, input),
        JobSpec::Echo { bytes } => Ok(plan_echo(*bytes)),
        JobSpec::Ping | JobSpec::Farm { .. } => {
            Err(SubmitError::Usage(format!("{} is not a job to split", spec.name())))
        }
    }
}

/// `[lo, hi)` cut into pieces of `size` (the last may be shorter), at
/// multiples of `size` from `lo`: the same cut whoever runs it.
fn grains(lo: u64, hi: u64, size: u64) -> Vec<(u64, u64)> {
    let size = size.max(1);
    let mut out = Vec::new();
    let mut start = lo;
    while start < hi {
        let end = start.saturating_add(size).min(hi);
        out.push((start, end));
        start = end;
    }
    out
}

fn piece(kind: JobKind, params: Vec<u8>, label: String) -> Piece {
    Piece { kind, params, input: None, cores: Cores::All, label }
}

/// An f64 that holds an integer prints as one in JSON.
pub fn number(v: f64) -> Json {
    if v.fract() == 0.0 && v.abs() < 9.007_199_254_740_992e15 {
        Json::Int(v as i128)
    } else {
        Json::Float(v)
    }
}

fn bad_result(e: impl std::fmt::Display) -> String {
    format!("unreadable result: {e}")
}

// ---- loopsum ----

struct LoopsumPlan {
    total: ExactSum,
}

fn plan_loopsum(p: loopsum::Params, hosts: usize) -> (Vec<Piece>, Box<dyn Plan>) {
    let shift = |t: i64| (t + loopsum::MAX_INDEX) as u64;
    let u_len = p.u_len.max(1) as u64;
    let rows = shift(p.t1).saturating_sub(shift(p.t0));
    let rows_per_piece = piece_size(rows, (PIECE_WORK / u_len).max(1), (MIN_PIECE_WORK / u_len).max(1), hosts);
    let pieces = grains(shift(p.t0), shift(p.t1), rows_per_piece)
        .into_iter()
        .map(|(a, b)| {
            let (t0, t1) = (a as i64 - loopsum::MAX_INDEX, b as i64 - loopsum::MAX_INDEX);
            let params = loopsum::Params { t0, t1, ..p };
            piece(JobKind::Loopsum, params.encode(), format!("rows {t0}..{t1}"))
        })
        .collect();
    (pieces, Box::new(LoopsumPlan { total: ExactSum::new() }))
}

impl Gatherer for LoopsumPlan {
    fn partial(&mut self, _: usize, _: &[u8]) -> Result<(), String> {
        Err("loopsum sends no partial results".into())
    }
    fn result(&mut self, _: usize, payload: &[u8]) -> Result<(), String> {
        self.total.merge(&loopsum::decode_result(payload).map_err(bad_result)?);
        Ok(())
    }
}

impl Plan for LoopsumPlan {
    fn finish(self: Box<Self>) -> Result<Answer, SubmitError> {
        let v = self.total.value();
        Ok(Answer { result: number(v), extra: vec![], text: format!("{v}") })
    }
}

// ---- pi ----

struct PiPlan {
    counts: pi::Counts,
}

fn plan_pi(samples: u64, seed: u64, hosts: usize) -> (Vec<Piece>, Box<dyn Plan>) {
    let pieces = grains(0, samples, piece_size(samples, PIECE_WORK, MIN_PIECE_WORK, hosts))
        .into_iter()
        .map(|(i0, i1)| piece(JobKind::Pi, pi::Params { seed, i0, i1 }.encode(), format!("darts {i0}..{i1}")))
        .collect();
    (pieces, Box::new(PiPlan { counts: pi::Counts::default() }))
}

impl Gatherer for PiPlan {
    fn partial(&mut self, _: usize, _: &[u8]) -> Result<(), String> {
        Err("pi sends no partial results".into())
    }
    fn result(&mut self, _: usize, payload: &[u8]) -> Result<(), String> {
        self.counts.merge(pi::Counts::decode(payload).map_err(bad_result)?);
        Ok(())
    }
}

impl Plan for PiPlan {
    fn finish(self: Box<Self>) -> Result<Answer, SubmitError> {
        let c = self.counts;
        let est = c.estimate();
        Ok(Answer {
            result: Json::Float(est),
            extra: vec![("inside", Json::Int(c.inside.into())), ("samples", Json::Int(c.samples.into()))],
            text: format!(
                "{est} ({} of {} darts inside; error {:+.2e})",
                c.inside,
                c.samples,
                est - std::f64::consts::PI
            ),
        })
    }
}

// ---- primes ----

/// Numbers per piece when the primes are written out: about 100,000
/// primes (under 1 MiB) near 10^9, so the pieces held for their turn stay
/// small.
const PRIMES_OUTPUT_PIECE: u64 = 1 << 21;
/// Output pieces that may run ahead of the first unwritten one: with the
/// size above, the head holds at most about 64 MiB of primes.
const OUTPUT_LOOKAHEAD: usize = 64;

struct PrimesPlan {
    summary: primes::Summary,
    writer: Option<OrderedWriter<PrimeText>>,
}

fn plan_primes(
    a: u64,
    b: u64,
    output: Option<PathBuf>,
    hosts: usize,
) -> Result<(Vec<Piece>, Box<dyn Plan>), SubmitError> {
    let list = output.is_some();
    primes::Params { a, b, list }.validate().map_err(|e| SubmitError::Usage(e.message))?;
    // Whole worker segments, so that no piece sieves a part of one.
    let counting = piece_size(b - a + 1, PRIMES_PIECE, primes::SEGMENT, hosts).next_multiple_of(primes::SEGMENT);
    let size = if list { PRIMES_OUTPUT_PIECE } else { counting };
    // Cut at multiples of `size` from 0, so that [a, b] and any range with
    // the same ends give the same pieces on the same number of hosts.
    let mut ranges = Vec::new();
    let mut lo = a;
    while lo <= b {
        let hi = (lo / size + 1).saturating_mul(size).min(b.saturating_add(1));
        ranges.push((lo, hi));
        lo = hi;
    }
    let writer = match output {
        Some(path) => Some(OrderedWriter::create(path, ranges.len(), PrimeText).map_err(SubmitError::Job)?),
        None => None,
    };
    let pieces = ranges
        .into_iter()
        .map(|(lo, hi)| {
            let params = primes::Params { a: lo, b: hi - 1, list }.encode();
            piece(JobKind::Primes, params, format!("numbers {lo}..={}", hi - 1))
        })
        .collect();
    Ok((pieces, Box::new(PrimesPlan { summary: primes::Summary::default(), writer })))
}

impl Gatherer for PrimesPlan {
    fn lookahead(&self) -> Option<usize> {
        self.writer.as_ref().map(|_| OUTPUT_LOOKAHEAD)
    }
    fn partial(&mut self, piece: usize, payload: &[u8]) -> Result<(), String> {
        let writer = self.writer.as_mut().ok_or("primes sent a list nobody asked for")?;
        writer.write(piece, payload)
    }
    fn result(&mut self, piece: usize, payload: &[u8]) -> Result<(), String> {
        self.summary.merge(primes::Summary::decode(payload).map_err(bad_result)?);
        if let Some(w) = self.writer.as_mut() {
            w.piece_done(piece)?;
        }
        Ok(())
    }
}

impl Plan for PrimesPlan {
    fn finish(self: Box<Self>) -> Result<Answer, SubmitError> {
        let s = self.summary;
        let mut text =
            format!("{} primes, largest {}", s.count, if s.count == 0 { "none".into() } else { s.max.to_string() });
        let mut extra = vec![("max", if s.count == 0 { Json::Null } else { Json::Int(s.max.into()) })];
        if let Some(path) = self.writer.map(OrderedWriter::finish).transpose().map_err(SubmitError::Job)?.flatten() {
            text.push_str(&format!(", written to {}", path.display()));
            extra.push(("output", Json::Str(path.display().to_string())));
        }
        Ok(Answer { result: Json::Int(s.count.into()), extra, text })
    }
}

// ---- powers ----

struct PowersPlan {
    rows: Vec<Option<Vec<Vec<f64>>>>,
    exps: Vec<f64>,
}

fn plan_powers(nums: &[f64], exps: &[f64]) -> (Vec<Piece>, Box<dyn Plan>) {
    // About 64 Ki results per piece, always within a worker's per-job limit.
    let per_piece = ((1usize << 16) / nums.len().max(1)).clamp(1, powers::MAX_VALUES / nums.len().max(1));
    let ranges = grains(0, exps.len() as u64, per_piece as u64);
    let pieces: Vec<Piece> = ranges
        .iter()
        .map(|&(a, b)| {
            let params = powers::Params { nums: nums.to_vec(), exps: exps[a as usize..b as usize].to_vec() };
            piece(JobKind::Powers, params.encode(), format!("exponents #{a}..#{b}"))
        })
        .collect();
    let rows = vec![None; pieces.len()];
    (pieces, Box::new(PowersPlan { rows, exps: exps.to_vec() }))
}

impl Gatherer for PowersPlan {
    fn partial(&mut self, _: usize, _: &[u8]) -> Result<(), String> {
        Err("powers sends no partial results".into())
    }
    fn result(&mut self, piece: usize, payload: &[u8]) -> Result<(), String> {
        self.rows[piece] = Some(powers::decode_rows(payload).map_err(bad_result)?);
        Ok(())
    }
}

impl Plan for PowersPlan {
    fn finish(self: Box<Self>) -> Result<Answer, SubmitError> {
        let rows: Vec<Vec<f64>> = self.rows.into_iter().flatten().flatten().collect();
        let mut text = String::new();
        for (p, row) in self.exps.iter().zip(&rows) {
            let cells: Vec<String> = row.iter().map(|v| v.to_string()).collect();
            text.push_str(&format!("\n  ^{p}: {}", cells.join(" ")));
        }
        let result = Json::Array(rows.iter().map(|r| Json::Array(r.iter().map(|v| number(*v)).collect())).collect());
        Ok(Answer { result, extra: vec![], text })
    }
}

// ---- reduce ----

/// Bytes of input per piece: large enough that per-piece overhead does not
/// show, small enough that a lost piece is quick to send again.
const REDUCE_PIECE: u64 = 4 << 20;

struct ReducePlan {
    outcome: reduce::Outcome,
    op: reduce::Op,
}

fn plan_reduce(
    op: reduce::Op,
    dtype: reduce::DType,
    input: &PathBuf,
) -> Result<(Vec<Piece>, Box<dyn Plan>), SubmitError> {
    let file = File::open(input).map_err(|e| SubmitError::Usage(format!("--input {}: {e}", input.display())))?;
    let size = file.metadata().map_err(|e| SubmitError::Usage(format!("--input {}: {e}", input.display())))?.len();
    let width = dtype.width().unwrap_or(1) as u64;
    if dtype.width().is_some() && size % width != 0 {
        return Err(SubmitError::Usage(format!(
            "--input {}: {size} bytes is not a whole number of 8-byte {} values",
            input.display(),
            dtype.name()
        )));
    }
    let piece_size = REDUCE_PIECE.div_ceil(width) * width;
    let mut cuts = vec![0u64];
    let mut nominal = piece_size;
    while nominal < size {
        let cut = match dtype.width() {
            Some(_) => nominal,
            None => line_start_at_or_after(&file, nominal)
                .map_err(|e| SubmitError::Usage(format!("--input {}: {e}", input.display())))?,
        };
        if cut > *cuts.last().unwrap_or(&0) && cut < size {
            cuts.push(cut);
        }
        nominal += piece_size;
    }
    cuts.push(size);
    let params = reduce::Params { op, dtype };
    let pieces = cuts
        .windows(2)
        .map(|w| {
            let (start, end) = (w[0], w[1]);
            let path = input.clone();
            let open: InputOpener = Box::new(move || {
                let file = File::open(&path)?;
                Ok(Box::new(FileRange { file, pos: start, end }) as Box<dyn InputStream>)
            });
            Piece {
                kind: JobKind::Reduce,
                params: params.encode(),
                input: Some(open),
                cores: Cores::All,
                label: format!("bytes {start}..{end} of {}", input.display()),
            }
        })
        .collect();
    Ok((pieces, Box::new(ReducePlan { outcome: reduce::Outcome::empty(params), op })))
}

/// Where the line that contains or follows byte `pos` starts, so that text
/// pieces hold whole lines.
fn line_start_at_or_after(file: &File, pos: u64) -> io::Result<u64> {
    let mut buf = [0u8; 4096];
    let mut at = pos - 1;
    loop {
        let n = file.read_at(&mut buf, at)?;
        if n == 0 {
            return Ok(at);
        }
        if let Some(i) = buf[..n].iter().position(|&b| b == b'\n') {
            return Ok(at + i as u64 + 1);
        }
        at += n as u64;
    }
}

/// Streams bytes [pos, end) of a file.
struct FileRange {
    file: File,
    pos: u64,
    end: u64,
}

impl InputStream for FileRange {
    fn read_chunk(&mut self, buf: &mut [u8]) -> io::Result<(usize, bool)> {
        let want = (self.end - self.pos).min(buf.len() as u64) as usize;
        let mut filled = 0;
        while filled < want {
            let n = self.file.read_at(&mut buf[filled..want], self.pos + filled as u64)?;
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the input file shrank while being read"));
            }
            filled += n;
        }
        self.pos += want as u64;
        Ok((want, self.pos < self.end))
    }
}

impl Gatherer for ReducePlan {
    fn partial(&mut self, _: usize, _: &[u8]) -> Result<(), String> {
        Err("reduce sends no partial results".into())
    }
    fn result(&mut self, _: usize, payload: &[u8]) -> Result<(), String> {
        let piece = reduce::Outcome::decode(payload).map_err(bad_result)?;
        self.outcome.merge(&piece).map_err(|e| e.message)
    }
}

impl Plan for ReducePlan {
    fn finish(self: Box<Self>) -> Result<Answer, SubmitError> {
        use reduce::Value;
        let o = self.outcome;
        let result = match &o.value {
            Value::Count => Json::Int(o.count.into()),
            Value::SumF64(s) => number(s.value()),
            Value::SumI64(s) => Json::Int(*s),
            Value::SumText { ints, all_ints: true, .. } => Json::Int(*ints),
            Value::SumText { floats, .. } => number(floats.value()),
            Value::MinF64(m) | Value::MaxF64(m) => m.map_or(Json::Null, number),
            Value::MinI64(m) | Value::MaxI64(m) => m.map_or(Json::Null, |v| Json::Int(v.into())),
        };
        let text = format!("{} = {} over {} values", self.op.name(), o.display_value(), o.count);
        Ok(Answer { result, extra: vec![("count", Json::Int(o.count.into()))], text })
    }
}

// ---- echo ----

/// Bytes per echo piece.
const ECHO_PIECE: u64 = 1 << 20;

struct EchoPlan {
    /// Per piece: its first byte's offset in the stream, and bytes seen back.
    pieces: Vec<(u64, u64)>,
    total: u64,
}

fn plan_echo(bytes: u64) -> (Vec<Piece>, Box<dyn Plan>) {
    let ranges = if bytes == 0 { vec![(0, 0)] } else { grains(0, bytes, ECHO_PIECE) };
    let pieces = ranges
        .iter()
        .map(|&(start, end)| {
            // The empty echo carries no input at all: the protocol's floor.
            let input: Option<InputOpener> = (end > start).then(|| {
                Box::new(move || Ok(Box::new(Pattern { pos: start, end }) as Box<dyn InputStream>)) as InputOpener
            });
            Piece {
                kind: JobKind::Echo,
                params: Vec::new(),
                input,
                cores: Cores::All,
                label: format!("bytes {start}..{end}"),
            }
        })
        .collect();
    let state = ranges.iter().map(|&(start, _)| (start, 0)).collect();
    (pieces, Box::new(EchoPlan { pieces: state, total: bytes }))
}

/// The test stream `echo` sends: `echo::pattern_byte` at each offset.
struct Pattern {
    pos: u64,
    end: u64,
}

impl InputStream for Pattern {
    fn read_chunk(&mut self, buf: &mut [u8]) -> io::Result<(usize, bool)> {
        let n = (self.end - self.pos).min(buf.len() as u64) as usize;
        for (offset, b) in (self.pos..).zip(&mut buf[..n]) {
            *b = echo::pattern_byte(offset);
        }
        self.pos += n as u64;
        Ok((n, self.pos < self.end))
    }
}

impl Gatherer for EchoPlan {
    fn partial(&mut self, piece: usize, payload: &[u8]) -> Result<(), String> {
        let (start, seen) = &mut self.pieces[piece];
        let at = *start + *seen;
        if let Some(i) = payload.iter().enumerate().position(|(i, &b)| b != echo::pattern_byte(at + i as u64)) {
            return Err(format!("echoed byte at offset {} differs from what was sent", at + i as u64));
        }
        *seen += payload.len() as u64;
        Ok(())
    }
    fn result(&mut self, piece: usize, payload: &[u8]) -> Result<(), String> {
        let n = echo::decode_result(payload).map_err(bad_result)?;
        if n != self.pieces[piece].1 {
            return Err(format!("worker counted {n} bytes but echoed {}", self.pieces[piece].1));
        }
        Ok(())
    }
}

impl Plan for EchoPlan {
    fn finish(self: Box<Self>) -> Result<Answer, SubmitError> {
        let back: u64 = self.pieces.iter().map(|p| p.1).sum();
        if back != self.total {
            return Err(SubmitError::Job(format!("sent {} bytes but {back} came back", self.total)));
        }
        Ok(Answer {
            result: Json::Int(back.into()),
            extra: vec![],
            text: format!("{back} bytes sent and returned intact"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pi_ranges(samples: u64, hosts: usize) -> Vec<(u64, u64)> {
        let (pieces, _) = plan_pi(samples, 1, hosts);
        pieces.iter().map(|p| pi::Params::decode(&p.params).map(|q| (q.i0, q.i1)).expect("pi params")).collect()
    }

    #[test]
    fn a_large_cluster_gets_smaller_pieces_and_every_host_some() {
        // One host: the usual 2^26 darts a piece.
        assert_eq!(pi_ranges(1_000_000_000, 1).len(), 15);
        // 240 hosts: about four pieces each (the floor of 2^20 darts cuts
        // it to 954), the same darts, no gap or overlap.
        let ranges = pi_ranges(1_000_000_000, 240);
        assert!(ranges.len() >= 3 * 240, "{} pieces", ranges.len());
        assert_eq!(ranges.first().map(|r| r.0), Some(0));
        assert_eq!(ranges.last().map(|r| r.1), Some(1_000_000_000));
        assert!(ranges.windows(2).all(|w| w[0].1 == w[1].0));
        // Never below the floor, however many hosts.
        assert!(pi_ranges(10_000_000, 10_000).iter().all(|(a, b)| b - a >= MIN_PIECE_WORK || *b == 10_000_000));
        assert_eq!(piece_size(0, PIECE_WORK, MIN_PIECE_WORK, 0), MIN_PIECE_WORK);
    }

    #[test]
    fn primes_pieces_stay_whole_segments() {
        let (pieces, _) = plan_primes(1, 1_000_000_000, None, 240).expect("a plan");
        assert!(pieces.len() >= 240, "{} pieces", pieces.len());
        for piece in &pieces {
            let p = primes::Params::decode(&piece.params).expect("primes params");
            assert!(p.a == 1 || p.a % primes::SEGMENT == 0, "{} starts inside a segment", p.a);
        }
        let (one_host, _) = plan_primes(1, 1_000_000_000, None, 1).expect("a plan");
        assert_eq!(one_host.len() as u64, 1_000_000_000u64.div_ceil(PRIMES_PIECE));
    }
}
