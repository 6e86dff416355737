//! Reading a job log back: its header (the command it logged) and its
//! lines. A last line without its newline was being written when the head
//! died: it is dropped, and rewritten by the resumed run. Anything else
//! that cannot be read is an error naming the line.

use super::error::JoblogError;
use super::header::Header;
use super::line::{Entry, COLUMNS};
use std::path::Path;

pub const MAGIC: &str = "# pisubmit joblog 1";

/// A job log as read.
pub struct Log {
    pub header: Header,
    /// (line number, entry), in the file's order.
    pub entries: Vec<(usize, Entry)>,
    /// Bytes up to the end of the last whole line: the resumed run
    /// appends from here.
    pub whole_len: u64,
    /// Whether the column header is there: a head killed while writing
    /// it leaves a log that must be started again, not appended to.
    pub columns: bool,
}

/// None when there is no log yet (no file, or an empty one: the head died
/// before writing its first line).
pub fn read_log(path: &Path) -> Result<Option<Log>, JoblogError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(JoblogError::Io { path: path.into(), doing: "read it", error }),
    };
    if bytes.is_empty() {
        return Ok(None);
    }
    let bad = |line: usize, why: String| JoblogError::BadLine { path: path.into(), line, why };
    // Only whole lines count; a torn tail is dropped.
    let whole_len = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let first_end = bytes.iter().position(|&b| b == b'\n').unwrap_or(bytes.len()).min(200);
    let first_line = String::from_utf8_lossy(&bytes[..first_end]).into_owned();
    if first_line != MAGIC {
        if let Some(version) = first_line.strip_prefix("# pisubmit joblog ") {
            return Err(bad(1, format!("a job log of version {version}; this pisubmit reads version 1")));
        }
        return Err(JoblogError::Foreign { path: path.into(), first_line });
    }
    let text = std::str::from_utf8(&bytes[..whole_len]).map_err(|e| {
        let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        bad(line, "not UTF-8 text".into())
    })?;
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l)).skip(1);
    let mut meta = Vec::new();
    let mut columns_seen = false;
    for (number, line) in lines.by_ref() {
        if let Some(rest) = line.strip_prefix("# ") {
            meta.push((number, rest));
            continue;
        }
        if line != COLUMNS.join("\t") {
            return Err(bad(
                number,
                format!("expected the column header ({}...), found {line:?}", COLUMNS[..3].join(" ")),
            ));
        }
        columns_seen = true;
        break;
    }
    let header = Header::parse(&meta).map_err(|(line, why)| bad(line, why))?;
    if !columns_seen {
        // Killed while writing the header: nothing was logged yet.
        return Ok(Some(Log { header, entries: Vec::new(), whole_len: whole_len as u64, columns: false }));
    }
    let mut entries: Vec<(usize, Entry)> = Vec::new();
    for (number, line) in lines {
        let entry = Entry::parse(line).map_err(|why| bad(number, why))?;
        if let Some((_, last)) = entries.last() {
            if entry.seq <= last.seq {
                return Err(bad(number, format!("Seq {} does not follow {}", entry.seq, last.seq)));
            }
        }
        entries.push((number, entry));
    }
    Ok(Some(Log { header, entries, whole_len: whole_len as u64, columns: true }))
}
