//! `JobError`: why a job could not start or did not finish, as every kind
//! reports it and the worker sends it back.

use crate::protocol::{ErrorCode, WireError};
use std::fmt;

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
