//! The head half of `pisubmit life`: the lockstep driver of the strips
//! and when it checkpoints the board.

pub mod driver;

use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Checkpoint {
    /// Whenever this much time has passed since the last one.
    Every(Duration),
    /// Every this many generations.
    Generations(u64),
    Off,
}
