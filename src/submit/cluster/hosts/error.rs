//! What can be wrong with a host list, a host in it, or a hosts file.

use crate::submit::error::SubmitError;
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::str::Utf8Error;

#[derive(Debug)]
pub enum HostsError {
    /// What is wrong with one host or range as written.
    Host(String),
    /// An item of a `--hosts` list, and what is wrong with it.
    Item {
        item: String,
        error: Box<HostsError>,
    },
    /// A line of a hosts file (counted from 1), and what is wrong with it.
    Line {
        path: String,
        line: usize,
        text: String,
        error: Box<HostsError>,
    },
    /// A list that names no host.
    EmptyList,
    /// A hosts file that names no host.
    EmptyFile {
        path: String,
    },
    Unreadable {
        path: PathBuf,
        error: io::Error,
    },
    /// Larger than `limit` bytes: a typo such as `@/dev/zero`.
    TooLarge {
        limit: u64,
        path: PathBuf,
    },
    NotText {
        path: PathBuf,
        error: Utf8Error,
    },
}

impl fmt::Display for HostsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostsError::Host(why) => f.write_str(why),
            HostsError::Item { item, error } => write!(f, "host {item:?}: {error}"),
            HostsError::Line { path, line, text, error } => write!(f, "{path}:{line}: {text:?}: {error}"),
            HostsError::EmptyList => f.write_str("the host list is empty"),
            HostsError::EmptyFile { path } => write!(f, "{path}: no hosts in the file"),
            HostsError::Unreadable { path, error } => write!(f, "cannot read hosts file {}: {error}", path.display()),
            HostsError::TooLarge { path, limit } => {
                write!(f, "hosts file {} is larger than {} MiB", path.display(), limit >> 20)
            }
            HostsError::NotText { path, error } => {
                write!(f, "hosts file {} is not UTF-8 text: {error}", path.display())
            }
        }
    }
}

impl std::error::Error for HostsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HostsError::Item { error, .. } | HostsError::Line { error, .. } => Some(error.as_ref()),
            HostsError::Unreadable { error, .. } => Some(error),
            HostsError::NotText { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// A host list comes from the command line or a file the user named: a
/// bad one is a usage error (exit 2).
impl From<HostsError> for SubmitError {
    fn from(e: HostsError) -> SubmitError {
        SubmitError::Usage(e.to_string())
    }
}
