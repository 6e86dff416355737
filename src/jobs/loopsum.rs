//! `loopsum`: the sum of t*u*c over t in [t0, t1) and u in [0, L).
//!
//! Seed 000's nested loop (its instance: t in [0, 4001), L = 4001, c = 1.0,
//! total 64032004000000). Each row's inner sum runs in the seed's order; the
//! rows are then added exactly (`ExactSum`), so the total is the same bits
//! however the rows were split over hosts and threads.

use super::context::WorkerContext;
use super::error::JobError;
use super::exact_sum::ExactSum;
use super::memory::{tasks_cost, Need, Reservation};
use super::running::{expect_output, PartialSink, RunningJob, Task, TaskOutput};
use super::tasks::task_count;
use crate::protocol::{WireReader, WireWrite};
use crate::ranges::split;
use std::sync::atomic::{AtomicBool, Ordering};

/// |t| and L stay below this so that t*u fits in an i64 without overflow.
pub const MAX_INDEX: i64 = 1 << 31;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Params {
    pub t0: i64,
    pub t1: i64,
    pub u_len: i64,
    pub c: f64,
}

impl Params {
    pub fn encode(&self) -> Vec<u8> {
        let mut p = Vec::with_capacity(32);
        p.put_i64(self.t0);
        p.put_i64(self.t1);
        p.put_i64(self.u_len);
        p.put_f64(self.c);
        p
    }

    pub fn decode(payload: &[u8]) -> Result<Params, JobError> {
        let mut r = WireReader::new(payload);
        let p = Params {
            t0: r.i64("loopsum.t0")?,
            t1: r.i64("loopsum.t1")?,
            u_len: r.i64("loopsum.u_len")?,
            c: r.f64("loopsum.c")?,
        };
        r.finish("loopsum params")?;
        p.validate()?;
        Ok(p)
    }

    pub fn validate(&self) -> Result<(), JobError> {
        if self.t1 < self.t0 {
            return Err(JobError::bad_params(format!("loopsum: t1 ({}) is less than t0 ({})", self.t1, self.t0)));
        }
        // unsigned_abs: `abs` of i64::MIN overflows (found by fuzzing).
        if self.t0.unsigned_abs() > MAX_INDEX as u64 || self.t1.unsigned_abs() > MAX_INDEX as u64 {
            return Err(JobError::bad_params(format!(
                "loopsum: t range {}..{} exceeds ±2^31 (t*u must fit in 64 bits)",
                self.t0, self.t1
            )));
        }
        if !(0..=MAX_INDEX).contains(&self.u_len) {
            return Err(JobError::bad_params(format!("loopsum: L ({}) must be in 0..=2^31", self.u_len)));
        }
        if !self.c.is_finite() {
            return Err(JobError::bad_params(format!("loopsum: c ({}) must be finite", self.c)));
        }
        Ok(())
    }
}

/// One row: the sum over u in [0, L) of t*u*c, in the seed's order.
pub fn row_sum(t: i64, u_len: i64, c: f64) -> f64 {
    row_sum_unless_cancelled(t, u_len, c, &AtomicBool::new(false)).unwrap_or(f64::NAN)
}

/// How many terms of a row are added between two looks at the cancel
/// flag: a row can be 2^31 terms, seconds on a Pi and minutes under qemu,
/// and a cancelled job must give its core back at once.
const TERMS_BETWEEN_CANCEL_CHECKS: i64 = 1 << 20;

/// `row_sum`, or None if `cancel` was set before the row was done. The
/// terms are added in the same order; only the flag is read between blocks.
fn row_sum_unless_cancelled(t: i64, u_len: i64, c: f64, cancel: &AtomicBool) -> Option<f64> {
    let mut sum = 0.0;
    let mut u = 0;
    while u < u_len {
        if cancel.load(Ordering::Relaxed) {
            return None;
        }
        let end = u_len.min(u + TERMS_BETWEEN_CANCEL_CHECKS);
        for u in u..end {
            sum += (t * u) as f64 * c;
        }
        u = end;
    }
    Some(sum)
}

/// Rows [t0, t1) folded exactly into `acc`; stops early if `cancel` is set.
pub fn sum_rows(t0: i64, t1: i64, u_len: i64, c: f64, acc: &mut ExactSum, cancel: &AtomicBool) {
    for t in t0..t1 {
        match row_sum_unless_cancelled(t, u_len, c, cancel) {
            Some(row) => acc.add(row),
            None => return,
        }
    }
}

pub fn encode_result(sum: &ExactSum) -> Vec<u8> {
    let mut out = Vec::new();
    sum.write_to(&mut out);
    out
}

pub fn decode_result(payload: &[u8]) -> Result<ExactSum, JobError> {
    let mut r = WireReader::new(payload);
    let sum = ExactSum::read_from(&mut r)?;
    r.skip_later_fields();
    Ok(sum)
}

struct Running {
    params: Params,
    threads: usize,
    total: ExactSum,
    _memory: Reservation,
}

/// How many tasks a job is cut into.
fn tasks(p: &Params, threads: usize) -> usize {
    let work = (p.t1 - p.t0) as u64 * p.u_len.max(1) as u64;
    task_count(work, threads)
}

/// What a loopsum job allocates: its tasks (rows are summed, not stored).
pub fn memory_need(p: &Params, threads: usize) -> Need {
    let subject = format!("loopsum of t in {}..{}, L = {}", p.t0, p.t1, p.u_len);
    Need::new(subject, tasks_cost(tasks(p, threads) as u64), "its tasks")
}

pub(super) fn start(payload: &[u8], ctx: WorkerContext) -> Result<Box<dyn RunningJob>, JobError> {
    let params = Params::decode(payload)?;
    let _memory = ctx.memory.reserve(memory_need(&params, ctx.threads))?;
    Ok(Box::new(Running { params, threads: ctx.threads, total: ExactSum::new(), _memory }))
}

impl RunningJob for Running {
    fn take_tasks(&mut self) -> Vec<Task> {
        let Params { t0, t1, u_len, c } = self.params;
        // Offsetting by MAX_INDEX maps the signed rows onto u64 for splitting.
        let shift = |t: i64| (t + MAX_INDEX) as u64;
        split(shift(t0), shift(t1), tasks(&self.params, self.threads) as u64)
            .into_iter()
            .map(|(a, b)| {
                let (a, b) = (a as i64 - MAX_INDEX, b as i64 - MAX_INDEX);
                Box::new(move |cancel: &AtomicBool| {
                    let mut acc = ExactSum::new();
                    sum_rows(a, b, u_len, c, &mut acc, cancel);
                    Box::new(acc) as TaskOutput
                }) as Task
            })
            .collect()
    }

    fn task_done(&mut self, output: TaskOutput, _sink: &mut dyn PartialSink) -> Result<(), JobError> {
        self.total.merge(&expect_output::<ExactSum>(output, "loopsum")?);
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<Vec<u8>, JobError> {
        Ok(encode_result(&self.total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::kind::JobKind;
    use crate::jobs::needs_exactly::assert_needs_exactly;
    use crate::jobs::tasks::MAX_TASKS;

    #[test]
    fn memory_is_its_tasks_and_the_largest_range_fits_in_2_to_the_16() {
        let seed = Params { t0: 0, t1: 4001, u_len: 4001, c: 1.0 };
        // 4001^2 iterations are one task's work: one task per thread.
        assert_eq!(memory_need(&seed, 2).bytes, (64 << 10) + 2 * 160);
        assert_needs_exactly(JobKind::Loopsum, start, &seed.encode(), 2, (64 << 10) + 2 * 160);
        let widest = Params { t0: -MAX_INDEX, t1: MAX_INDEX, u_len: MAX_INDEX, c: 1.0 };
        assert_eq!(memory_need(&widest, 2).bytes, (64 << 10) + MAX_TASKS * 160);
        assert_needs_exactly(JobKind::Loopsum, start, &widest.encode(), 2, (64 << 10) + MAX_TASKS * 160);
    }

    fn total(t0: i64, t1: i64, l: i64, c: f64) -> f64 {
        let mut acc = ExactSum::new();
        sum_rows(t0, t1, l, c, &mut acc, &AtomicBool::new(false));
        acc.value()
    }

    #[test]
    fn seed_000_instance() {
        assert_eq!(total(0, 4001, 4001, 1.0), 64_032_004_000_000.0);
    }

    #[test]
    fn matches_the_closed_form() {
        // sum t * sum u * c, exact while it stays below 2^53.
        for (t0, t1, l, c) in [(0i64, 100i64, 37i64, 0.5f64), (-50, 20, 9, 3.0), (7, 7, 100, 1.0), (3, 9, 0, 1.0)] {
            let st: i64 = (t0..t1).sum();
            let su: i64 = (0..l).sum();
            assert_eq!(total(t0, t1, l, c), st as f64 * su as f64 * c, "{t0}..{t1} L={l} c={c}");
        }
    }

    #[test]
    fn bad_ranges_are_refused_with_the_values() {
        let p = Params { t0: 5, t1: 2, u_len: 10, c: 1.0 };
        assert_eq!(Params::decode(&p.encode()).unwrap_err().message, "loopsum: t1 (2) is less than t0 (5)");
        let p = Params { t0: 0, t1: 1, u_len: -1, c: 1.0 };
        assert!(Params::decode(&p.encode()).unwrap_err().message.contains("L (-1)"));
        assert!(Params::decode(&[1, 2, 3]).unwrap_err().message.contains("loopsum.t0"));
        let p = Params { t0: i64::MIN, t1: 4001, u_len: 4001, c: 1.0 };
        assert!(Params::decode(&p.encode()).unwrap_err().message.contains("exceeds ±2^31"));
    }

    #[test]
    fn a_long_row_stops_when_cancelled_inside_it() {
        // One row of 2^31 terms takes seconds; the flag is set by another
        // thread while the row runs, and the task must stop within a block.
        let cancel = std::sync::Arc::new(AtomicBool::new(false));
        let flag = cancel.clone();
        let setter = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            flag.store(true, Ordering::Relaxed);
        });
        let mut acc = ExactSum::new();
        sum_rows(1, 2, MAX_INDEX, 1.0, &mut acc, &cancel);
        setter.join().unwrap();
        assert_eq!(acc.value(), 0.0, "a cancelled row adds nothing");
    }

    #[test]
    fn blocks_keep_the_seed_order() {
        // Rows longer than one block sum to what the plain loop gives.
        let u_len = 3 * TERMS_BETWEEN_CANCEL_CHECKS + 17;
        let mut plain = 0.0;
        for u in 0..u_len {
            plain += (7 * u) as f64 * 0.3;
        }
        assert_eq!(row_sum(7, u_len, 0.3).to_bits(), plain.to_bits());
    }

    #[test]
    fn a_cancelled_task_stops() {
        let mut acc = ExactSum::new();
        sum_rows(0, 1 << 30, 1 << 30, 1.0, &mut acc, &AtomicBool::new(true));
        assert_eq!(acc.value(), 0.0);
    }
}
