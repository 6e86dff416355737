//! `primes`: the primes in [a, b] by a segmented sieve of Eratosthenes
//! (seed 004 counted the primes below 10^9 with 33 processes).
//!
//! A worker cuts [a, b] into segments at fixed multiples of `SEGMENT` and
//! hands them to its compute threads in any order; when the primes
//! themselves are asked for, segments are put back in order before they
//! stream out as `Partial` frames, ascending, so a reader can write them
//! straight to a file: as gaps (`prime_gaps`, about a byte a prime) to a
//! client whose Hello announced minor 4 or later, as u64 each to older ones.

use super::context::WorkerContext;
use super::error::JobError;
use super::memory::{tasks_cost, times, Need, Reservation};
use super::prime_gaps;
use super::running::{expect_output, PartialSink, RunningJob, Task, TaskOutput};
use super::sieve;
use crate::protocol::versions::reads_prime_gaps;
use crate::protocol::{WireReader, WireWrite};
use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};

/// Largest allowed b: keeps the base primes (up to √b = 2^20) tiny.
pub const MAX_B: u64 = 1 << 40;
/// Numbers per worker task: a few milliseconds of sieving, so a cancel or a
/// disconnect frees the cores quickly and threads share the work evenly.
pub const SEGMENT: u64 = 1 << 21;
/// Primes per streamed `Partial` frame: 256 KiB of payload as u64s, about
/// 32 KiB as gaps.
pub const PRIMES_PER_PARTIAL: usize = 32 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    pub a: u64,
    pub b: u64,
    /// Stream the primes themselves, not only their count and largest.
    pub list: bool,
}

impl Params {
    pub fn encode(&self) -> Vec<u8> {
        let mut p = Vec::with_capacity(17);
        p.put_u64(self.a);
        p.put_u64(self.b);
        p.put_u8(u8::from(self.list));
        p
    }

    pub fn decode(payload: &[u8]) -> Result<Params, JobError> {
        let mut r = WireReader::new(payload);
        let p = Params { a: r.u64("primes.a")?, b: r.u64("primes.b")?, list: r.u8("primes.list")? != 0 };
        r.finish("primes params")?;
        p.validate()?;
        Ok(p)
    }

    pub fn validate(&self) -> Result<(), JobError> {
        if self.b < self.a {
            return Err(JobError::bad_params(format!("primes: b ({}) is less than a ({})", self.b, self.a)));
        }
        if self.b > MAX_B {
            return Err(JobError::bad_params(format!("primes: b ({}) exceeds the limit 2^40 ({MAX_B})", self.b)));
        }
        Ok(())
    }
}

/// Count and largest prime of a range; merging keeps both exact.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub count: u64,
    /// 0 when the range holds no prime.
    pub max: u64,
}

impl Summary {
    pub fn merge(&mut self, other: Summary) {
        self.count = self.count.saturating_add(other.count);
        self.max = self.max.max(other.max);
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16);
        out.put_u64(self.count);
        out.put_u64(self.max);
        out
    }

    pub fn decode(payload: &[u8]) -> Result<Summary, JobError> {
        let mut r = WireReader::new(payload);
        let s = Summary { count: r.u64("primes.count")?, max: r.u64("primes.max")? };
        r.skip_later_fields();
        Ok(s)
    }
}

/// Decodes a streamed `Partial` payload, in either form: gaps
/// (`prime_gaps`, from a 1.4 or later worker) or ascending u64 primes.
pub fn decode_partial(payload: &[u8]) -> Result<Vec<u64>, JobError> {
    if prime_gaps::is_gaps(payload) {
        let mut primes = Vec::new();
        prime_gaps::decode(payload, |p| primes.push(p))?;
        return Ok(primes);
    }
    if payload.len() % 8 != 0 {
        return Err(JobError::failed(format!(
            "primes: partial of {} bytes is not a whole number of u64",
            payload.len()
        )));
    }
    Ok(payload.chunks_exact(8).map(|c| u64::from_be_bytes(c.try_into().unwrap_or([0; 8]))).collect())
}

pub fn isqrt(n: u64) -> u64 {
    let mut r = (n as f64).sqrt() as u64;
    while r > 0 && r.checked_mul(r).is_none_or(|sq| sq > n) {
        r -= 1;
    }
    while (r + 1).checked_mul(r + 1).is_some_and(|sq| sq <= n) {
        r += 1;
    }
    r
}

/// All primes up to and including `limit` (simple sieve).
pub fn base_primes(limit: u64) -> Vec<u32> {
    let limit = limit as usize;
    if limit < 2 {
        return Vec::new();
    }
    let mut composite = vec![false; limit + 1];
    let mut out = Vec::new();
    for n in 2..=limit {
        if !composite[n] {
            out.push(n as u32);
            let mut m = n * n;
            while m <= limit {
                composite[m] = true;
                m += n;
            }
        }
    }
    out
}

/// Calls `emit` with each prime in [lo, hi], ascending. `base` must hold
/// every prime up to √hi. Returns early (incomplete) when `cancel` is set.
pub fn sieve_range(lo: u64, hi: u64, base: &[u32], cancel: &AtomicBool, mut emit: impl FnMut(u64)) {
    if lo <= 2 && 2 <= hi {
        emit(2);
    }
    sieve::odd_blocks(lo, hi, base, cancel, |j0, words| sieve::block_primes(j0, words).for_each(&mut emit));
}

/// Count and largest prime in [lo, hi], optionally collecting them. Only
/// counting takes a popcount per 64 numbers instead of visiting each prime.
pub fn primes_in(lo: u64, hi: u64, base: &[u32], cancel: &AtomicBool, list: Option<&mut Vec<u64>>) -> Summary {
    let mut summary = Summary::default();
    if let Some(list) = list {
        sieve_range(lo, hi, base, cancel, |p| {
            summary.count += 1;
            summary.max = p;
            list.push(p);
        });
        return summary;
    }
    if lo <= 2 && 2 <= hi {
        summary = Summary { count: 1, max: 2 };
    }
    sieve::odd_blocks(lo, hi, base, cancel, |j0, words| {
        let (count, largest) = sieve::block_count(j0, words);
        summary.count += count;
        summary.max = largest.unwrap_or(summary.max);
    });
    summary
}

struct SegmentDone {
    index: u64,
    summary: Summary,
    /// The segment's Partial payloads, encoded by the compute thread.
    partials: Vec<Vec<u8>>,
}

struct Running {
    params: Params,
    /// Stream the primes as gaps: the client reads them (its Hello's minor).
    gaps: bool,
    summary: Summary,
    /// Segments finished ahead of the next one to stream, by index.
    waiting: BTreeMap<u64, Vec<Vec<u8>>>,
    next_to_stream: u64,
    _memory: Reservation,
}

/// Most primes in any `SEGMENT` consecutive numbers: 2y/ln y for y =
/// 2^21 (Montgomery and Vaughan's Brun-Titchmarsh bound), rounded up.
const SEGMENT_PRIMES_BOUND: u64 = 288_200;
/// Segments whose lists one thread may hold at once: the one it sieves,
/// those the pool keeps undelivered (two per thread) and one waiting to
/// stream in order.
const SEGMENTS_HELD_PER_THREAD: u64 = 4;
/// A thread's sieve block (`sieve::WORDS` words).
const BLOCK_BYTES: u64 = 128 << 10;

/// What a primes job allocates: the base primes up to √b (a byte per
/// number to sieve them, 4 bytes per prime), each thread's block and its
/// 8-byte place per base prime, a task per segment and, when listing, the
/// segments' lists (8 bytes per prime, in a Vec that grows by doubling).
/// A thread's sieved list is encoded into partials before it is handed
/// on (at most 8 bytes a prime, exactly sized; about 1 as gaps), so the
/// four lists' room per thread also holds the list being encoded, its
/// partials and those of the three segments held after it.
pub fn memory_need(p: &Params, threads: usize) -> Need {
    let root = isqrt(p.b);
    let base_primes = root / 2 + 1;
    let base = (root + 1).saturating_add(times(base_primes, 4));
    let per_thread = BLOCK_BYTES.saturating_add(times(base_primes, 8));
    let segments = p.b / SEGMENT - p.a / SEGMENT + 1;
    let mut bytes = base.saturating_add(times(per_thread, threads as u64)).saturating_add(tasks_cost(segments));
    if p.list {
        let list = SEGMENT_PRIMES_BOUND.next_power_of_two() * 8;
        let held = times(threads as u64, SEGMENTS_HELD_PER_THREAD).min(segments);
        bytes = bytes.saturating_add(times(list, held)).saturating_add(PRIMES_PER_PARTIAL as u64 * 8);
    }
    let why = "base primes to its square root, a task per 2^21 numbers, lists of the segments in flight";
    Need::new(format!("primes in {}..={}", p.a, p.b), bytes, why)
}

pub(super) fn start(payload: &[u8], ctx: WorkerContext) -> Result<Box<dyn RunningJob>, JobError> {
    let params = Params::decode(payload)?;
    let _memory = ctx.memory.reserve(memory_need(&params, ctx.threads))?;
    let (waiting, gaps) = (BTreeMap::new(), reads_prime_gaps(ctx.client_minor));
    Ok(Box::new(Running { params, gaps, summary: Summary::default(), waiting, next_to_stream: 0, _memory }))
}

impl RunningJob for Running {
    fn take_tasks(&mut self) -> Vec<Task> {
        let Params { a, b, list } = self.params;
        let gaps = self.gaps;
        // The first task to need the base primes computes them; the others wait.
        let base: Arc<OnceLock<Vec<u32>>> = Arc::new(OnceLock::new());
        let (first, last) = (a / SEGMENT, b / SEGMENT);
        self.next_to_stream = first;
        (first..=last)
            .map(|index| {
                let base = Arc::clone(&base);
                let lo = a.max(index * SEGMENT);
                let hi = b.min(index * SEGMENT + SEGMENT - 1);
                Box::new(move |cancel: &AtomicBool| {
                    let base = base.get_or_init(|| base_primes(isqrt(b)));
                    let mut primes = Vec::new();
                    let summary = primes_in(lo, hi, base, cancel, list.then_some(&mut primes));
                    // Encoded here, on a compute thread, not on the event loop.
                    let partials = encode_partials(&primes, gaps);
                    Box::new(SegmentDone { index, summary, partials }) as TaskOutput
                }) as Task
            })
            .collect()
    }

    fn task_done(&mut self, output: TaskOutput, sink: &mut dyn PartialSink) -> Result<(), JobError> {
        let done = expect_output::<SegmentDone>(output, "primes")?;
        self.summary.merge(done.summary);
        if self.params.list {
            self.waiting.insert(done.index, done.partials);
            while let Some(partials) = self.waiting.remove(&self.next_to_stream) {
                partials.iter().for_each(|p| sink.partial(p));
                self.next_to_stream += 1;
            }
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<Vec<u8>, JobError> {
        Ok(self.summary.encode())
    }
}

/// `primes` as Partial payloads of at most `PRIMES_PER_PARTIAL` primes,
/// each whole (a gaps partial starts from a prime in full).
fn encode_partials(primes: &[u64], gaps: bool) -> Vec<Vec<u8>> {
    let encode = |chunk: &[u64]| {
        let mut payload = Vec::with_capacity(chunk.len() * if gaps { 2 } else { 8 });
        if gaps {
            prime_gaps::encode(chunk, &mut payload);
        } else {
            chunk.iter().for_each(|p| payload.put_u64(*p));
        }
        payload
    };
    primes.chunks(PRIMES_PER_PARTIAL).map(encode).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::kind::JobKind;
    use crate::jobs::needs_exactly::assert_needs_exactly;

    #[test]
    fn memory_of_the_largest_listed_range() {
        let p = Params { a: 0, b: MAX_B, list: true };
        let base_primes = (1 << 19) + 1; // odd numbers to √2^40, a bound on the primes
        let base = (1 << 20) + 1 + 4 * base_primes;
        let per_thread = (128 << 10) + 8 * base_primes;
        let tasks = (64 << 10) + ((1 << 19) + 1) * 160;
        let lists = 2 * 4 * (4 << 20) + 32 * 1024 * 8;
        let need = base + 2 * per_thread + tasks + lists;
        assert_eq!(need, 129_564_853);
        assert_needs_exactly(JobKind::Primes, start, &p.encode(), 2, need);
        let counted = Params { list: false, ..p };
        assert_needs_exactly(JobKind::Primes, start, &counted.encode(), 2, base + 2 * per_thread + tasks);
    }

    fn count(lo: u64, hi: u64) -> Summary {
        primes_in(lo, hi, &base_primes(isqrt(hi)), &AtomicBool::new(false), None)
    }

    #[test]
    fn known_prime_counts() {
        assert_eq!(count(1, 10), Summary { count: 4, max: 7 });
        assert_eq!(count(1, 1_000_000), Summary { count: 78_498, max: 999_983 });
        assert_eq!(count(1, 100_000_000).count, 5_761_455);
        assert_eq!(count(0, 1), Summary { count: 0, max: 0 });
        assert_eq!(count(2, 2), Summary { count: 1, max: 2 });
        assert_eq!(count(24, 28), Summary { count: 0, max: 0 });
    }

    #[test]
    fn segments_agree_with_a_plain_sieve() {
        let plain: Vec<u64> = base_primes(300_000).into_iter().map(u64::from).filter(|&p| p >= 1000).collect();
        let mut listed = Vec::new();
        let base = base_primes(isqrt(300_000));
        for (lo, hi) in [(1000, 4999), (5000, 5000), (5001, 299_999), (300_000, 300_000)] {
            primes_in(lo, hi, &base, &AtomicBool::new(false), Some(&mut listed));
        }
        assert_eq!(listed, plain);
    }

    #[test]
    fn isqrt_is_exact() {
        for n in [0u64, 1, 3, 4, 15, 16, 17, 1 << 40, (1 << 40) - 1, u64::MAX] {
            let r = isqrt(n);
            assert!(r * r <= n && (r + 1).checked_mul(r + 1).is_none_or(|s| s > n), "{n}");
        }
    }

    #[test]
    fn bad_ranges_are_refused() {
        let p = Params { a: 10, b: 5, list: false };
        assert_eq!(Params::decode(&p.encode()).unwrap_err().message, "primes: b (5) is less than a (10)");
        let p = Params { a: 0, b: MAX_B + 1, list: false };
        assert!(Params::decode(&p.encode()).unwrap_err().message.contains("exceeds the limit"));
    }
}
