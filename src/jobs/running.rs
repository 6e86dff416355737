//! What every kind implements to run on a worker: `RunningJob`, the compute
//! `Task`s it hands out, what they return, and where partial results go.

use super::error::JobError;
use std::any::Any;
use std::sync::atomic::AtomicBool;

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

/// Downcasts a task's output to the type its own kind put in.
pub(crate) fn expect_output<T: 'static>(output: TaskOutput, kind: &str) -> Result<T, JobError> {
    output
        .downcast::<T>()
        .map(|b| *b)
        .map_err(|_| JobError::failed(format!("internal error: {kind} task returned a foreign result")))
}
