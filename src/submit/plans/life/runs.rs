//! A strip's run between two checkpoints (or from the last one to the
//! end, or to a lost worker): the piece `--joblog` logs for life. One line
//! per strip per checkpoint keeps the log small however many generations
//! the run has.

use std::time::{Duration, Instant, SystemTime};

#[derive(Clone, Debug)]
pub struct StripRun {
    pub host: String,
    pub first_row: u32,
    pub rows: u32,
    /// Generations `from..to`.
    pub from: u64,
    pub to: u64,
    pub started: SystemTime,
    pub runtime: Duration,
    /// Payload bytes sent to the strip's worker and received from it.
    pub sent: u64,
    pub received: u64,
    /// None: done; Some: why its generations were lost (the run went back
    /// to the checkpoint).
    pub failed: Option<String>,
    /// Live cells of the strip at `to` (when the run ended at a snapshot).
    pub population: Option<u64>,
}

/// Where a strip's current run began, and its traffic since.
#[derive(Clone, Copy, Debug)]
pub struct RunStart {
    pub generation: u64,
    pub wall: SystemTime,
    pub at: Instant,
    pub sent: u64,
    pub received: u64,
}

impl RunStart {
    pub fn new(generation: u64) -> RunStart {
        RunStart { generation, wall: SystemTime::now(), at: Instant::now(), sent: 0, received: 0 }
    }
}
