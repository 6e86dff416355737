//! A check for each kind's tests: its memory need is exactly what its job
//! reserves. Test-only; the kind's own `start` is passed in, so that no kind
//! has to go through the registry that dispatches to it.

use super::context::WorkerContext;
use super::error::JobError;
use super::kind::JobKind;
use super::memory::MemoryBudget;
use super::running::RunningJob;
use crate::protocol::frame::human_bytes;
use crate::protocol::ErrorCode;

/// A kind's own `start(params, ctx)`.
pub(crate) type Start = fn(&[u8], WorkerContext) -> Result<Box<dyn RunningJob>, JobError>;

/// The job of `kind`, started by its own `start`, starts with a per-job
/// budget of exactly `need` bytes and is refused, naming the flag, with one
/// byte less.
pub(crate) fn assert_needs_exactly(kind: JobKind, start: Start, params: &[u8], threads: usize, need: u64) {
    let start_with = |per_job| {
        let ctx = WorkerContext::with_budget(threads, MemoryBudget::new(per_job, u64::MAX));
        start(params, ctx).map(drop)
    };
    if let Err(e) = start_with(need) {
        panic!("{} refused at a budget of exactly its need ({need}): {}", kind.name(), e.message);
    }
    let err = start_with(need - 1).expect_err("accepted one byte under its need");
    assert_eq!(err.code, ErrorCode::BadParams, "{}", err.message);
    assert!(err.message.ends_with(&format!("; --max-job-memory is {}", human_bytes(need - 1))), "{}", err.message);
}
