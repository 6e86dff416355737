//! The hosts file: read with a size cap, and watched for changes while a job runs.

use super::error::HostsError;
use super::list::parse_hosts_file;
use super::spec::HostSpec;
use std::collections::hash_map::DefaultHasher;
use std::hash::Hasher;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Hosts files larger than this are refused (a typo such as `@/dev/zero`).
pub const MAX_HOSTS_FILE_BYTES: u64 = 16 << 20;

/// A hosts file watched while a job runs.
///
/// [`HostsFile::changed`] reads the whole file on every call (it is small;
/// call it about once a second) and compares its length and a hash of its
/// bytes with the last read. The modification time alone is not enough (a
/// rewrite within the same second, or on a file system with coarse times,
/// keeps it) and not needed (a `touch` that changes nothing is no change).
/// Editors that save in place may be caught half-way through a write; the
/// next call sees the finished file.
#[derive(Debug)]
pub struct HostsFile {
    path: PathBuf,
    last: Seen,
}

/// What the last read found: the contents' length and hash, or the error.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Contents { len: u64, hash: u64 },
    Unreadable(String),
}

impl HostsFile {
    /// Reads and parses the file once; fails as [`super::parse_hosts`] would.
    pub fn open(path: impl AsRef<Path>) -> Result<(HostsFile, Vec<HostSpec>), HostsError> {
        let path = path.as_ref().to_path_buf();
        let bytes = read_hosts_file(&path)?;
        let hosts = parse_bytes(&bytes, &path)?;
        let last = contents_seen(&bytes);
        Ok((HostsFile { path, last }, hosts))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `None` while the file's contents are those of the last call (or of
    /// `open`); otherwise the new list, or why the file cannot be used now
    /// (unreadable, removed, or invalid): an error is returned once, and
    /// then again only when the file changes again. After an error, the
    /// file's return (even with its old contents) gives `Some(Ok(list))`.
    pub fn changed(&mut self) -> Option<Result<Vec<HostSpec>, HostsError>> {
        let read = read_hosts_file(&self.path);
        let seen = match &read {
            Ok(bytes) => contents_seen(bytes),
            Err(e) => Seen::Unreadable(e.to_string()),
        };
        if seen == self.last {
            return None;
        }
        self.last = seen;
        Some(read.and_then(|bytes| parse_bytes(&bytes, &self.path)))
    }
}

fn contents_seen(bytes: &[u8]) -> Seen {
    let mut hasher = DefaultHasher::new();
    hasher.write(bytes);
    Seen::Contents { len: bytes.len() as u64, hash: hasher.finish() }
}

pub(super) fn read_hosts_file(path: &Path) -> Result<Vec<u8>, HostsError> {
    let cannot = |error| HostsError::Unreadable { path: path.to_path_buf(), error };
    let mut bytes = Vec::new();
    std::fs::File::open(path).and_then(|f| f.take(MAX_HOSTS_FILE_BYTES + 1).read_to_end(&mut bytes)).map_err(cannot)?;
    if bytes.len() as u64 > MAX_HOSTS_FILE_BYTES {
        return Err(HostsError::TooLarge { path: path.to_path_buf(), limit: MAX_HOSTS_FILE_BYTES });
    }
    Ok(bytes)
}

pub(super) fn hosts_text<'a>(bytes: &'a [u8], path: &Path) -> Result<&'a str, HostsError> {
    std::str::from_utf8(bytes).map_err(|error| HostsError::NotText { path: path.to_path_buf(), error })
}

fn parse_bytes(bytes: &[u8], path: &Path) -> Result<Vec<HostSpec>, HostsError> {
    parse_hosts_file(hosts_text(bytes, path)?, &path.display().to_string())
}
