//! The closed set of job kinds a worker will run.
//!
//! Each kind lives in its own file: its typed parameters (encode, decode,
//! validate), its pure kernel, how a worker runs it (`RunningJob`), and its
//! result encoding with the merge the head uses to combine pieces. Adding a
//! kind is its own file, a variant of `JobKind`, a row in `KINDS` and an
//! arm in `start`.
//!
//! The wire carries typed binary fields only: there is no kind that takes a
//! string to evaluate or a command to run (the lesson of CVE-2004-2687).

pub mod child;
pub mod echo;
pub mod exact_sum;
pub mod exec;
pub mod jobdir;
pub mod joblist;
pub mod life;
pub mod loopsum;
pub mod memory;
pub mod pi;
pub mod powers;
pub mod primes;
pub mod reduce;
pub mod sieve;
pub mod spin;

use crate::protocol::{ErrorCode, WireError};
use std::any::Any;
use std::fmt;
use std::rc::Rc;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobKind {
    Loopsum,
    Pi,
    Primes,
    Powers,
    Reduce,
    Echo,
    Spin,
    Life,
    Exec,
    JobList,
}

/// Whether a kind takes an input stream after its Submit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    None,
    Optional,
    Required,
}

/// One row of the registry: everything about a kind but its code.
struct KindInfo {
    kind: JobKind,
    /// Its number on the wire (docs/PROTOCOL.md); never reused.
    code: u8,
    name: &'static str,
    input: Input,
}

/// The one list of job kinds. A new kind is a row here, a variant above,
/// an arm in `start`, and its own file.
const KINDS: [KindInfo; 10] = [
    KindInfo { kind: JobKind::Loopsum, code: 1, name: "loopsum", input: Input::None },
    KindInfo { kind: JobKind::Pi, code: 2, name: "pi", input: Input::None },
    KindInfo { kind: JobKind::Primes, code: 3, name: "primes", input: Input::None },
    KindInfo { kind: JobKind::Powers, code: 4, name: "powers", input: Input::None },
    KindInfo { kind: JobKind::Reduce, code: 5, name: "reduce", input: Input::Required },
    KindInfo { kind: JobKind::Echo, code: 6, name: "echo", input: Input::Optional },
    KindInfo { kind: JobKind::Spin, code: 7, name: "spin", input: Input::None },
    KindInfo { kind: JobKind::Life, code: 8, name: "life", input: Input::Required },
    KindInfo { kind: JobKind::Exec, code: 9, name: "exec", input: Input::Optional },
    KindInfo { kind: JobKind::JobList, code: 10, name: "jobs", input: Input::None },
];

impl JobKind {
    fn info(self) -> &'static KindInfo {
        // Every variant has a row: `every_kind_has_one_row` checks it.
        KINDS.iter().find(|k| k.kind == self).unwrap_or(&KINDS[0])
    }

    /// Every kind, in the order of their codes.
    pub const ALL: [JobKind; KINDS.len()] = {
        let mut all = [JobKind::Loopsum; KINDS.len()];
        let mut i = 0;
        while i < KINDS.len() {
            all[i] = KINDS[i].kind;
            i += 1;
        }
        all
    };

    pub fn to_u8(self) -> u8 {
        self.info().code
    }

    pub fn from_u8(v: u8) -> Option<JobKind> {
        KINDS.iter().find(|k| k.code == v).map(|k| k.kind)
    }

    pub fn name(self) -> &'static str {
        self.info().name
    }

    pub fn input(self) -> Input {
        self.info().input
    }

    /// Whether a failure may be the host's rather than the job's (a job
    /// program missing a tool or a file on one Pi): then the head runs the
    /// piece elsewhere before giving up. Built-in kinds fail the same way
    /// everywhere, so their failures end the job at once.
    pub fn may_fail_by_host(self) -> bool {
        matches!(self, JobKind::Exec)
    }
}

/// Why a job could not start or did not finish, with the code the worker
/// sends back in its `Error` frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobError {
    pub code: ErrorCode,
    pub message: String,
}

impl JobError {
    pub fn bad_params(message: impl Into<String>) -> JobError {
        JobError { code: ErrorCode::BadParams, message: message.into() }
    }

    pub fn failed(message: impl Into<String>) -> JobError {
        JobError { code: ErrorCode::JobFailed, message: message.into() }
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<WireError> for JobError {
    fn from(e: WireError) -> JobError {
        JobError::bad_params(e.to_string())
    }
}

/// What a compute task hands back to the job that made it. Each kind
/// downcasts to its own type; nothing else looks inside.
pub type TaskOutput = Box<dyn Any + Send>;

/// A unit of work for one compute thread. It polls `cancel` often enough to
/// stop within milliseconds; what it returns after a cancel is discarded.
pub type Task = Box<dyn FnOnce(&AtomicBool) -> TaskOutput + Send>;

/// Where a running job puts the partial results it streams before its final
/// result (the worker wraps each call in one `Partial` frame).
pub trait PartialSink {
    fn partial(&mut self, payload: &[u8]);
}

/// A job being run by a worker. The event loop owns it and calls it from the
/// loop thread only; the heavy lifting happens in the `Task`s it hands out.
pub trait RunningJob {
    /// Compute tasks to run on the pool, taken once, right after the start.
    fn take_tasks(&mut self) -> Vec<Task> {
        Vec::new()
    }

    /// Tasks made after the start: asked for after every input chunk and
    /// every finished task, so a job that keeps state between rounds (life)
    /// can hand out the next round's work.
    fn more_tasks(&mut self) -> Vec<Task> {
        Vec::new()
    }

    /// One task finished. Called in no particular order.
    fn task_done(&mut self, _output: TaskOutput, _sink: &mut dyn PartialSink) -> Result<(), JobError> {
        Ok(())
    }

    /// A chunk of the job's input stream arrived.
    fn input(&mut self, _data: &[u8], _sink: &mut dyn PartialSink) -> Result<(), JobError> {
        Err(JobError::bad_params("this job kind takes no input stream"))
    }

    /// Whether the job streams output on its own (an exec job's program):
    /// then the connection calls `poll_output` whenever the loop wakes.
    fn streams(&self) -> bool {
        false
    }

    /// Hands on what the job's tasks produced so far.
    fn poll_output(&mut self, _sink: &mut dyn PartialSink) -> Result<(), JobError> {
        Ok(())
    }

    /// The input stream ended.
    fn end_input(&mut self, _sink: &mut dyn PartialSink) -> Result<(), JobError> {
        Ok(())
    }

    /// All tasks are done and the input (if any) has ended: the final result.
    fn finish(self: Box<Self>) -> Result<Vec<u8>, JobError>;
}

/// What a worker knows that a job needs to plan itself.
#[derive(Clone)]
pub struct WorkerContext {
    /// Compute threads, so that a job is split over all of them.
    pub threads: usize,
    /// Job programs and their limits; None where none may run.
    pub exec: Option<Arc<exec::ExecEnv>>,
    /// What a job may allocate, and what the running jobs hold.
    pub memory: Rc<memory::MemoryBudget>,
}

impl WorkerContext {
    /// A context with no job programs and the budget a worker would get on
    /// a machine of unknown memory (tests, fuzzing).
    pub fn new(threads: usize) -> WorkerContext {
        let (per_job, per_worker) = memory::MemoryBudget::defaults(None, usize::BITS);
        WorkerContext::with_budget(threads, memory::MemoryBudget::new(per_job, per_worker))
    }

    /// A context with no job programs and the given budget.
    pub fn with_budget(threads: usize, memory: Rc<memory::MemoryBudget>) -> WorkerContext {
        WorkerContext { threads, exec: None, memory }
    }
}

/// Decodes and validates a submission and starts the job: the registry.
pub fn start(kind: u8, params: &[u8], has_input: bool, ctx: WorkerContext) -> Result<Box<dyn RunningJob>, JobError> {
    let Some(kind) = JobKind::from_u8(kind) else {
        return Err(JobError {
            code: ErrorCode::UnknownJobKind,
            message: format!("unknown job kind {kind}; this worker runs {}", known_kinds()),
        });
    };
    match (kind.input(), has_input) {
        (Input::None, true) => return Err(JobError::bad_params(format!("{} takes no input stream", kind.name()))),
        (Input::Required, false) => return Err(JobError::bad_params(format!("{} needs an input stream", kind.name()))),
        _ => {}
    }
    Ok(match kind {
        JobKind::Loopsum => loopsum::start(params, ctx)?,
        JobKind::Pi => pi::start(params, ctx)?,
        JobKind::Primes => primes::start(params, ctx)?,
        JobKind::Powers => powers::start(params, ctx)?,
        JobKind::Reduce => reduce::start(params, ctx)?,
        JobKind::Echo => echo::start(params, ctx)?,
        JobKind::Spin => spin::start(params, ctx)?,
        JobKind::Life => life::start(params, ctx)?,
        JobKind::Exec => exec::start(params, has_input, ctx)?,
        JobKind::JobList => joblist::start(params, ctx)?,
    })
}

fn known_kinds() -> String {
    JobKind::ALL.iter().map(|k| format!("{} ({})", k.name(), k.to_u8())).collect::<Vec<_>>().join(", ")
}

/// Work per compute task, in inner-loop iterations: about 10 ms on a Pi 4,
/// so tasks of different jobs interleave and a cancel takes effect quickly.
pub const TASK_WORK: u64 = 1 << 24;

/// Most tasks one job is cut into: their closures and queue places are
/// memory the client chose (2^40 darts would be 2^16 times more tasks);
/// past this the tasks get larger, and still poll their cancel flag often.
pub const MAX_TASKS: u64 = 1 << 16;

/// How many tasks to cut `work` units into: at least one per thread, and
/// enough that none is much larger than `TASK_WORK` until `MAX_TASKS`.
pub fn task_count(work: u64, threads: usize) -> usize {
    (work.div_ceil(TASK_WORK).min(MAX_TASKS) as usize).max(threads).max(1)
}

/// Downcasts a task's output to the type its own kind put in.
pub(crate) fn expect_output<T: 'static>(output: TaskOutput, kind: &str) -> Result<T, JobError> {
    output
        .downcast::<T>()
        .map(|b| *b)
        .map_err(|_| JobError::failed(format!("internal error: {kind} task returned a foreign result")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_row() {
        let variants = [
            JobKind::Loopsum,
            JobKind::Pi,
            JobKind::Primes,
            JobKind::Powers,
            JobKind::Reduce,
            JobKind::Echo,
            JobKind::Spin,
            JobKind::Life,
            JobKind::Exec,
            JobKind::JobList,
        ];
        for kind in variants {
            assert_eq!(KINDS.iter().filter(|k| k.kind == kind).count(), 1, "{kind:?}");
            assert_eq!(JobKind::from_u8(kind.to_u8()), Some(kind));
        }
        assert_eq!(KINDS.len(), variants.len());
        let mut codes: Vec<u8> = KINDS.iter().map(|k| k.code).collect();
        codes.dedup();
        assert_eq!(codes.len(), KINDS.len(), "codes are unique and in order");
    }

    #[test]
    fn unknown_kind_is_named() {
        let err = start(99, &[], false, WorkerContext::new(1)).err().unwrap();
        assert_eq!(err.code, ErrorCode::UnknownJobKind);
        assert!(err.message.starts_with("unknown job kind 99; this worker runs loopsum (1)"));
    }
}
