//! Why a checkpoint file could not be written, read or used: each names
//! the file and what was wrong with it.

use std::fmt;
use std::path::PathBuf;

#[derive(Debug)]
pub enum CheckpointError {
    /// The disk refused: `doing` says what we were doing.
    Io { path: PathBuf, doing: &'static str, error: std::io::Error },
    /// Not a checkpoint, or a truncated or corrupted one.
    Bad { path: PathBuf, why: String },
    /// A checkpoint of another command.
    Differs { path: PathBuf, what: String },
    /// The checkpoint is past the generations asked for.
    Past { path: PathBuf, generation: u64, generations: u64 },
    /// A new run would overwrite an earlier run's checkpoint.
    Exists { path: PathBuf },
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckpointError::Io { path, doing, error } => {
                write!(f, "--checkpoint {}: cannot {doing}: {error}", path.display())
            }
            CheckpointError::Bad { path, why } => write!(f, "--checkpoint {}: {why}", path.display()),
            CheckpointError::Differs { path, what } => write!(
                f,
                "--checkpoint {}: it is a checkpoint of a different life command ({what}); \
                 give that command, or remove the file to start again",
                path.display()
            ),
            CheckpointError::Past { path, generation, generations } => write!(
                f,
                "--checkpoint {}: it is at generation {generation}, past --generations {generations}",
                path.display()
            ),
            CheckpointError::Exists { path } => write!(
                f,
                "--checkpoint {}: the file exists (an earlier run's checkpoint?); give --resume to go on \
                 from it, or remove it to start again",
                path.display()
            ),
        }
    }
}

impl std::error::Error for CheckpointError {}
