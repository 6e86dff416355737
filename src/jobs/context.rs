//! `WorkerContext`: what a worker lends a job to plan itself (its threads,
//! job programs, memory budget).

use super::exec_env::ExecEnv;
use super::life_peers::PeerHub;
use super::memory;
use crate::protocol::frame::PROTOCOL_MINOR;
use std::rc::Rc;
use std::sync::Arc;

/// What a worker knows that a job needs to plan itself.
#[derive(Clone)]
pub struct WorkerContext {
    /// Compute threads, so that a job is split over all of them.
    pub threads: usize,
    /// Job programs and their limits; None where none may run.
    pub exec: Option<Arc<ExecEnv>>,
    /// What a job may allocate, and what the running jobs hold.
    pub memory: Rc<memory::MemoryBudget>,
    /// The protocol minor the client's Hello announced: which encodings
    /// its partials may use (`protocol::versions`).
    pub client_minor: u8,
    /// The worker's life strips and the border feeds between them.
    pub peers: Rc<PeerHub>,
    /// Whether exec's stdout goes packed (`exec_stdout`): the client
    /// asked (`SUBMIT_PACKED_STDOUT`) and its minor reads it.
    pub packed_stdout: bool,
}

impl WorkerContext {
    /// A context with no job programs and the budget a worker would get on
    /// a machine of unknown memory (tests, fuzzing).
    pub fn new(threads: usize) -> WorkerContext {
        let (per_job, per_worker) = memory::MemoryBudget::defaults(None, usize::BITS);
        WorkerContext::with_budget(threads, memory::MemoryBudget::new(per_job, per_worker))
    }

    /// A context with no job programs and the given budget, for a client
    /// of this minor.
    pub fn with_budget(threads: usize, memory: Rc<memory::MemoryBudget>) -> WorkerContext {
        WorkerContext {
            threads,
            exec: None,
            memory,
            client_minor: PROTOCOL_MINOR,
            peers: PeerHub::isolated(),
            packed_stdout: false,
        }
    }
}
