//! Memory a job may take, counted before it is taken.
//!
//! Every allocation whose size a client chooses (a life strip, a powers
//! table, a primes list, the tasks a job is cut into) is priced by its
//! kind's cost function and reserved here before anything is allocated:
//! against the per-job budget (`--max-job-memory`) and against what is left
//! of the per-worker budget (`--max-memory`) after the running jobs'
//! reservations. A `Reservation` lives in the running job and gives its
//! bytes back when the job is dropped, whichever way it ends (finish,
//! error, cancel, disconnect, shutdown).
//!
//! This module knows nothing of sockets or of the kinds: it only counts.

use super::error::JobError;
use crate::protocol::frame::human_bytes;
use std::borrow::Cow;
use std::cell::Cell;
use std::rc::Rc;

/// What a job's heap costs the worker, beside its tasks and buffers: one
/// task (its boxed closure, its place in the job's list and in the pool's
/// queue) and the job's own state. Generous on purpose: a count that is
/// too low is the bug this module exists to prevent.
pub const TASK_BYTES: u64 = 160;
/// A job's fixed cost: its state, its slot, small buffers.
pub const JOB_BASE_BYTES: u64 = 64 << 10;

/// On a 32-bit build the whole process lives in about 3 GiB of address
/// space (less what the libraries, stacks and heap fragments take), so no
/// default lets jobs take more than this share of it.
const ADDRESS_SPACE_SHARE_32BIT: u64 = 1 << 30;
/// Share of the machine's memory the running jobs may take by default: the
/// rest is the system's, the page cache's and the worker's own buffers'.
const MEMORY_SHARE_DIVISOR: u64 = 2;
/// A job may take this share of the worker budget by default, so that a few
/// big jobs can run side by side.
const JOB_SHARE_DIVISOR: u64 = 4;
/// Used when the machine's memory cannot be read: a 1 GiB Pi's share.
const FALLBACK_MEMORY: u64 = 1 << 30;
/// The smallest budget a flag may set: below it not even an empty job fits.
pub const MIN_BUDGET: u64 = 1 << 20;

/// What a job will allocate, and how to say so to the person who asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Need {
    /// What is being paid for: "life strip of 2 x 270598144". Borrowed
    /// where it is fixed, so that an echo job's start allocates nothing
    /// for it (tests/steady_alloc.rs counts).
    pub subject: Cow<'static, str>,
    pub bytes: u64,
    /// Why it costs that much, for people who counted only cells.
    pub why: &'static str,
}

impl Need {
    pub fn new(subject: impl Into<Cow<'static, str>>, bytes: u64, why: &'static str) -> Need {
        Need { subject: subject.into(), bytes, why }
    }

    fn describe(&self) -> String {
        let why = if self.why.is_empty() { String::new() } else { format!(" ({})", self.why) };
        format!("{} needs {}{why}", self.subject, human_bytes(self.bytes))
    }
}

/// The two limits and what the running jobs hold of the second.
#[derive(Debug)]
pub struct MemoryBudget {
    per_job: u64,
    per_worker: u64,
    /// Only the event loop's thread starts and drops jobs, so a plain
    /// cell is enough (and costs an empty job nothing measurable).
    held: Cell<u64>,
}

impl MemoryBudget {
    pub fn new(per_job: u64, per_worker: u64) -> Rc<MemoryBudget> {
        Rc::new(MemoryBudget { per_job, per_worker, held: Cell::new(0) })
    }

    /// The budget a worker gets without flags on a machine of
    /// `mem_total` bytes (None: unknown) and `pointer_bits`-bit addresses.
    pub fn defaults(mem_total: Option<u64>, pointer_bits: u32) -> (u64, u64) {
        let mut worker = mem_total.unwrap_or(FALLBACK_MEMORY) / MEMORY_SHARE_DIVISOR;
        if pointer_bits <= 32 {
            worker = worker.min(ADDRESS_SPACE_SHARE_32BIT);
        }
        let worker = worker.max(MIN_BUDGET);
        ((worker / JOB_SHARE_DIVISOR).max(MIN_BUDGET), worker)
    }

    pub fn per_job(&self) -> u64 {
        self.per_job
    }

    pub fn per_worker(&self) -> u64 {
        self.per_worker
    }

    /// Bytes the running jobs hold now.
    pub fn held(&self) -> u64 {
        self.held.get()
    }

    /// Takes `need` out of the budget, or says which limit it is over.
    pub fn reserve(self: &Rc<Self>, need: Need) -> Result<Reservation, JobError> {
        let mut reservation = Reservation { budget: Rc::clone(self), bytes: 0 };
        reservation.resize(need)?;
        Ok(reservation)
    }

    /// Moves the worker's count from `old` to `new` bytes, if it fits.
    fn swap(&self, old: u64, need: &Need) -> Result<(), JobError> {
        if need.bytes > self.per_job {
            return Err(JobError::bad_params(format!(
                "{}; --max-job-memory is {}",
                need.describe(),
                human_bytes(self.per_job)
            )));
        }
        let others = self.held.get().saturating_sub(old);
        if others.saturating_add(need.bytes) > self.per_worker {
            return Err(JobError::failed(format!(
                "{}; running jobs hold {} of --max-memory {}: try again when they finish",
                need.describe(),
                human_bytes(others),
                human_bytes(self.per_worker)
            )));
        }
        self.held.set(others + need.bytes);
        Ok(())
    }
}

/// Bytes one job holds of the worker budget, given back on drop.
#[derive(Debug)]
pub struct Reservation {
    budget: Rc<MemoryBudget>,
    bytes: u64,
}

impl Reservation {
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Makes the reservation `need.bytes` (a life step with deeper ghost
    /// rows costs more); on refusal the old reservation stands.
    pub fn resize(&mut self, need: Need) -> Result<(), JobError> {
        self.budget.swap(self.bytes, &need)?;
        self.bytes = need.bytes;
        Ok(())
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        // Never below zero, even if the count were ever wrong.
        self.budget.held.set(self.budget.held.get().saturating_sub(self.bytes));
    }
}

/// `a * b` in bytes, saturating: a cost that overflows is over any budget.
pub fn times(a: u64, b: u64) -> u64 {
    a.saturating_mul(b)
}

/// The cost of `tasks` tasks plus the job's fixed cost.
pub fn tasks_cost(tasks: u64) -> u64 {
    JOB_BASE_BYTES.saturating_add(times(tasks, TASK_BYTES))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn need(bytes: u64) -> Need {
        Need::new("test job", bytes, "")
    }

    #[test]
    fn per_job_limit_is_inclusive_and_named() {
        let budget = MemoryBudget::new(1000, 10_000);
        assert!(budget.reserve(need(1000)).is_ok());
        let err = budget.reserve(need(1001)).unwrap_err();
        assert_eq!(err.message, "test job needs 1001 bytes; --max-job-memory is 1000 bytes");
        assert_eq!(budget.held(), 0, "refused and dropped reservations hold nothing");
    }

    #[test]
    fn worker_budget_is_the_sum_of_running_jobs() {
        let budget = MemoryBudget::new(600, 1000);
        let first = budget.reserve(need(600)).unwrap();
        let err = budget.reserve(need(401)).unwrap_err();
        assert!(err.message.contains("running jobs hold 600 bytes of --max-memory 1000 bytes"), "{}", err.message);
        let second = budget.reserve(need(400)).unwrap();
        assert_eq!(budget.held(), 1000);
        drop(first);
        assert_eq!(budget.held(), 400);
        let third = budget.reserve(need(600)).unwrap();
        drop((second, third));
        assert_eq!(budget.held(), 0);
    }

    #[test]
    fn a_resize_that_does_not_fit_keeps_the_old_reservation() {
        let budget = MemoryBudget::new(800, 1000);
        let mut r = budget.reserve(need(100)).unwrap();
        let _other = budget.reserve(need(500)).unwrap();
        assert!(r.resize(need(501)).is_err());
        assert_eq!((r.bytes(), budget.held()), (100, 600));
        r.resize(need(500)).unwrap();
        assert_eq!(budget.held(), 1000);
        r.resize(need(50)).unwrap();
        assert_eq!(budget.held(), 550);
    }

    #[test]
    fn defaults_follow_memory_and_address_space() {
        // A 1 GiB Pi: half for jobs, a quarter of that per job.
        assert_eq!(MemoryBudget::defaults(Some(1 << 30), 64), (128 << 20, 512 << 20));
        // 8 GiB: 4 GiB on 64-bit, but a 32-bit build stays within its address space.
        assert_eq!(MemoryBudget::defaults(Some(8 << 30), 64), (1 << 30, 4 << 30));
        assert_eq!(MemoryBudget::defaults(Some(8 << 30), 32), (256 << 20, 1 << 30));
        assert_eq!(MemoryBudget::defaults(None, 64), (128 << 20, 512 << 20));
        assert_eq!(MemoryBudget::defaults(Some(1 << 20), 64), (MIN_BUDGET, MIN_BUDGET));
    }
}
