//! Why a gatherer refuses a piece's answer. The engine fails the job with
//! it, naming the worker and the piece.

use std::fmt;

#[derive(Debug)]
pub enum GatherError {
    /// The worker's answer is not what this job sends: unreadable, or at
    /// odds with what was asked.
    BadAnswer(String),
    /// The answer is good but cannot be kept: an output that cannot be
    /// written.
    CannotKeep(Box<dyn std::error::Error + Send + Sync>),
}

impl fmt::Display for GatherError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GatherError::BadAnswer(why) => f.write_str(why),
            GatherError::CannotKeep(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for GatherError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            GatherError::BadAnswer(_) => None,
            GatherError::CannotKeep(e) => Some(e.as_ref()),
        }
    }
}
