//! The closed set of job kinds a worker will run.
//!
//! Each kind lives in its own file: its typed parameters (encode, decode,
//! validate), its pure kernel, how a worker runs it (`RunningJob`), and its
//! result encoding with the merge the head uses to combine pieces. Adding a
//! kind is its own file, a variant of `JobKind` and a row in `KINDS` (in
//! kind.rs), and an arm in `start` here. What the kinds share lives in leaf
//! files beside them (error, running, context, tasks), re-exported here, so
//! that no kind uses this file that dispatches to it.
//!
//! The wire carries typed binary fields only: there is no kind that takes a
//! string to evaluate or a command to run (the lesson of CVE-2004-2687).

pub mod child;
pub mod context;
pub mod echo;
pub mod error;
pub mod exact_sum;
pub mod exec;
pub mod exec_env;
pub mod exec_stdout;
pub mod jobdir;
pub mod joblist;
pub mod kind;
pub mod life;
pub mod life_ghosts;
pub mod life_link;
pub mod life_peers;
pub mod life_rows;
pub mod life_swap;
pub mod loopsum;
pub mod memory;
#[cfg(test)]
pub(crate) mod needs_exactly;
pub mod pi;
pub mod powers;
pub mod prime_gaps;
pub mod primes;
pub mod reduce;
pub mod running;
pub mod sieve;
pub mod spin;
pub mod tasks;

pub use context::WorkerContext;
pub use error::JobError;
pub use kind::{Input, JobKind};
pub use running::{PartialSink, RunningJob, Task, TaskOutput};
pub use tasks::{task_count, MAX_TASKS, TASK_WORK};

use crate::protocol::ErrorCode;

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
        JobKind::LifeGhosts => life_ghosts::start(params, ctx)?,
    })
}

fn known_kinds() -> String {
    JobKind::ALL.iter().map(|k| format!("{} ({})", k.name(), k.to_u8())).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_kind_is_named() {
        let err = start(99, &[], false, WorkerContext::new(1)).err().unwrap();
        assert_eq!(err.code, ErrorCode::UnknownJobKind);
        assert!(err.message.starts_with("unknown job kind 99; this worker runs loopsum (1)"));
    }
}
