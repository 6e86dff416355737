//! `pi`: Monte Carlo darts at the unit square, counting those inside the
//! quarter circle (seed 001).
//!
//! Dart number i of stream `seed` is a pure function of (seed, i): a
//! splitmix64 step at counter i. No generator state is carried, so any split
//! of the indices over hosts and threads throws exactly the same darts, and
//! the count is identical. The test is in integers (x, y are 32-bit, inside
//! when x² + y² < 2⁶⁴), so no rounding can differ between machines.

use super::context::WorkerContext;
use super::error::JobError;
use super::memory::{tasks_cost, Need, Reservation};
use super::running::{expect_output, PartialSink, RunningJob, Task, TaskOutput};
use super::tasks::task_count;
use crate::protocol::{WireReader, WireWrite};
use crate::ranges::split;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    pub seed: u64,
    pub i0: u64,
    pub i1: u64,
}

impl Params {
    pub fn encode(&self) -> Vec<u8> {
        let mut p = Vec::with_capacity(24);
        p.put_u64(self.seed);
        p.put_u64(self.i0);
        p.put_u64(self.i1);
        p
    }

    pub fn decode(payload: &[u8]) -> Result<Params, JobError> {
        let mut r = WireReader::new(payload);
        let p = Params { seed: r.u64("pi.seed")?, i0: r.u64("pi.i0")?, i1: r.u64("pi.i1")? };
        r.finish("pi params")?;
        if p.i1 <= p.i0 {
            return Err(JobError::bad_params(format!("pi: zero samples (sample range {}..{} is empty)", p.i0, p.i1)));
        }
        Ok(p)
    }
}

/// The counts a piece of darts produced. Merging is addition.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub inside: u64,
    pub samples: u64,
}

impl Counts {
    pub fn merge(&mut self, other: Counts) {
        // Saturating: the counts come from peers, and a wrap would hide a lie.
        self.inside = self.inside.saturating_add(other.inside);
        self.samples = self.samples.saturating_add(other.samples);
    }

    pub fn estimate(&self) -> f64 {
        4.0 * self.inside as f64 / self.samples as f64
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16);
        out.put_u64(self.inside);
        out.put_u64(self.samples);
        out
    }

    pub fn decode(payload: &[u8]) -> Result<Counts, JobError> {
        let mut r = WireReader::new(payload);
        let c = Counts { inside: r.u64("pi.inside")?, samples: r.u64("pi.samples")? };
        r.skip_later_fields();
        Ok(c)
    }
}

fn splitmix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Dart i of stream `seed`: (x, y) in [0, 2^32)².
pub fn dart(seed: u64, i: u64) -> (u64, u64) {
    let r = splitmix64(seed.wrapping_add(i.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
    (r >> 32, r & 0xffff_ffff)
}

pub fn is_inside(x: u64, y: u64) -> bool {
    (x * x).checked_add(y * y).is_some()
}

/// Darts [i0, i1) of stream `seed`; polls `cancel` every 64Ki darts.
pub fn count_inside(seed: u64, i0: u64, i1: u64, cancel: &AtomicBool) -> Counts {
    const BLOCK: u64 = 1 << 16;
    let mut inside = 0;
    let mut i = i0;
    while i < i1 {
        if cancel.load(Ordering::Relaxed) {
            break;
        }
        let end = i1.min(i.saturating_add(BLOCK));
        inside += (i..end)
            .filter(|&k| {
                let (x, y) = dart(seed, k);
                is_inside(x, y)
            })
            .count() as u64;
        i = end;
    }
    Counts { inside, samples: i - i0 }
}

struct Running {
    params: Params,
    threads: usize,
    counts: Counts,
    _memory: Reservation,
}

/// What a pi job allocates: its tasks (darts are counted, not stored).
pub fn memory_need(p: &Params, threads: usize) -> Need {
    let tasks = task_count(p.i1 - p.i0, threads) as u64;
    Need::new(format!("pi of darts {}..{}", p.i0, p.i1), tasks_cost(tasks), "its tasks")
}

pub(super) fn start(payload: &[u8], ctx: WorkerContext) -> Result<Box<dyn RunningJob>, JobError> {
    let params = Params::decode(payload)?;
    let _memory = ctx.memory.reserve(memory_need(&params, ctx.threads))?;
    Ok(Box::new(Running { params, threads: ctx.threads, counts: Counts::default(), _memory }))
}

impl RunningJob for Running {
    fn take_tasks(&mut self) -> Vec<Task> {
        let seed = self.params.seed;
        let work = self.params.i1 - self.params.i0;
        split(self.params.i0, self.params.i1, task_count(work, self.threads) as u64)
            .into_iter()
            .map(|(a, b)| {
                Box::new(move |cancel: &AtomicBool| Box::new(count_inside(seed, a, b, cancel)) as TaskOutput) as Task
            })
            .collect()
    }

    fn task_done(&mut self, output: TaskOutput, _sink: &mut dyn PartialSink) -> Result<(), JobError> {
        self.counts.merge(expect_output::<Counts>(output, "pi")?);
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<Vec<u8>, JobError> {
        Ok(self.counts.encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::kind::JobKind;
    use crate::jobs::needs_exactly::assert_needs_exactly;
    use crate::jobs::tasks::MAX_TASKS;

    #[test]
    fn memory_is_its_tasks_even_for_every_dart_there_is() {
        let small = Params { seed: 1, i0: 0, i1: 1000 };
        assert_needs_exactly(JobKind::Pi, start, &small.encode(), 4, (64 << 10) + 4 * 160);
        let all = Params { seed: 1, i0: 0, i1: u64::MAX };
        assert_needs_exactly(JobKind::Pi, start, &all.encode(), 4, (64 << 10) + MAX_TASKS * 160);
    }

    #[test]
    fn estimate_is_close_and_split_invariant() {
        let no = AtomicBool::new(false);
        let whole = count_inside(42, 0, 1_000_000, &no);
        assert_eq!(whole.samples, 1_000_000);
        // Standard error of the estimate at 1e6 darts is about 0.0016.
        assert!((whole.estimate() - std::f64::consts::PI).abs() < 0.01, "{}", whole.estimate());
        let mut parts = Counts::default();
        for (a, b) in split(0, 1_000_000, 7) {
            parts.merge(count_inside(42, a, b, &no));
        }
        assert_eq!(parts, whole);
        assert_ne!(count_inside(43, 0, 1_000_000, &no), whole, "another seed throws other darts");
    }

    #[test]
    fn the_circle_edge_is_exact() {
        assert!(is_inside(0, u32::MAX as u64));
        assert!(!is_inside(u32::MAX as u64, u32::MAX as u64));
        assert!(is_inside(3_037_000_499, 3_037_000_499)); // 2·3037000499² < 2^64
        assert!(!is_inside(3_037_000_500, 3_037_000_500));
    }

    #[test]
    fn zero_samples_are_refused() {
        let p = Params { seed: 1, i0: 10, i1: 10 };
        assert!(Params::decode(&p.encode()).unwrap_err().message.contains("zero samples"));
    }
}
