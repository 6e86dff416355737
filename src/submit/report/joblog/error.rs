//! Why a job log cannot be written, read or resumed: each names the file,
//! and the line when one line is at fault.

use std::fmt;
use std::io;
use std::path::PathBuf;

#[derive(Debug)]
pub enum JoblogError {
    /// Opening, reading, writing or syncing the file failed.
    Io { path: PathBuf, doing: &'static str, error: io::Error },
    /// Not a pisubmit job log at all.
    Foreign { path: PathBuf, first_line: String },
    /// One line that cannot be read.
    BadLine { path: PathBuf, line: usize, why: String },
    /// The log is of another command.
    Differs { path: PathBuf, what: String },
    /// A log is there and --resume was not given.
    Exists { path: PathBuf },
    /// --resume met a piece the log records as failed.
    FailedPiece { path: PathBuf, line: usize, label: String, why: String },
    /// The output file does not hold what the log says was written.
    Output { path: PathBuf, why: String },
}

impl fmt::Display for JoblogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoblogError::Io { path, doing, error } => write!(f, "--joblog {}: cannot {doing}: {error}", path.display()),
            JoblogError::Foreign { path, first_line } => write!(
                f,
                "--joblog {}: not a pisubmit job log (its first line is {first_line:?}, not \"# pisubmit joblog 1\"); \
                 give another file name",
                path.display()
            ),
            JoblogError::BadLine { path, line, why } => write!(f, "--joblog {} line {line}: {why}", path.display()),
            JoblogError::Differs { path, what } => write!(
                f,
                "--joblog {} is the log of a different command ({what}); resume it with the same command, \
                 or give another file",
                path.display()
            ),
            JoblogError::Exists { path } => write!(
                f,
                "--joblog {} already exists: add --resume to continue it, or remove it to start again",
                path.display()
            ),
            JoblogError::FailedPiece { path, line, label, why } => write!(
                f,
                "--joblog {} line {line}: {label} failed in the logged run ({why}); --resume-failed runs it again",
                path.display()
            ),
            JoblogError::Output { path, why } => write!(f, "resuming {}: {why}", path.display()),
        }
    }
}

impl std::error::Error for JoblogError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            JoblogError::Io { error, .. } => Some(error),
            _ => None,
        }
    }
}
