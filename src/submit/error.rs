//! pisubmit's one error type, and the exit code each kind maps to.

use std::fmt;

#[derive(Debug)]
pub enum SubmitError {
    /// A bad command line (exit 2).
    Usage(String),
    /// A worker could not be reached or refused us (exit 2).
    Connect(String),
    /// The job ran and failed, or no worker was left to run it (exit 1).
    Job(String),
    /// SIGINT or SIGTERM: stopped on request (exit 130, as shells expect).
    Interrupted,
    /// A check found problems (exit 1): the report still goes to stdout,
    /// and the summary to stderr.
    Findings { report: String, summary: String },
}

impl SubmitError {
    pub fn exit_code(&self) -> u8 {
        match self {
            SubmitError::Job(_) | SubmitError::Findings { .. } => 1,
            SubmitError::Interrupted => 130,
            SubmitError::Usage(_) | SubmitError::Connect(_) => 2,
        }
    }
}

impl fmt::Display for SubmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitError::Usage(m) | SubmitError::Connect(m) | SubmitError::Job(m) => f.write_str(m),
            SubmitError::Interrupted => f.write_str("interrupted; the workers cancel what they were running"),
            SubmitError::Findings { summary, .. } => f.write_str(summary),
        }
    }
}

impl std::error::Error for SubmitError {}
