//! `ExecEnv`: what a worker lends exec jobs, kept apart from the exec kind
//! so that `WorkerContext` can hold it without using the kind.

use super::child::Limits;
use super::jobdir::JobDirs;
use std::sync::Arc;

/// What the worker lends exec jobs: where programs are, the most time and
/// memory a piece may have, and how to wake the event loop when a
/// program's output is ready.
pub struct ExecEnv {
    pub dirs: JobDirs,
    pub max: Limits,
    pub wake: Arc<dyn Fn() + Send + Sync>,
}
