//! Reading a job log back: its header (the command it logged) and its
//! lines. A last line without its newline was being written when the head
//! died: it is dropped, and rewritten by the resumed run. Anything else
//! that cannot be read is an error naming the line.

use super::error::JoblogError;
use super::header::Header;
use super::line::{Entry, COLUMNS};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

pub const MAGIC: &str = "# pisubmit joblog 1";

/// What a job log says about itself; its lines went to `read_log`'s
/// caller one by one, so that resuming a log of millions of pieces does
/// not hold them all at once.
pub struct Log {
    pub header: Header,
    /// Bytes up to the end of the last whole line: the resumed run
    /// appends from here.
    pub whole_len: u64,
    /// Whether the column header is there: a head killed while writing
    /// it leaves a log that must be started again, not appended to.
    pub columns: bool,
}

/// A log's whole lines, numbered from 1; a last line without its newline
/// ends them.
struct Lines {
    reader: BufReader<File>,
    buf: Vec<u8>,
    number: usize,
    whole_len: u64,
}

/// What `Lines::next` found.
enum Next<'a> {
    /// A whole line's number and bytes, without its newline.
    Line(usize, &'a [u8]),
    /// The torn last line's bytes (none at the end of the file).
    Torn(&'a [u8]),
}

impl Lines {
    fn next(&mut self) -> std::io::Result<Next<'_>> {
        self.buf.clear();
        let n = self.reader.read_until(b'\n', &mut self.buf)?;
        if n == 0 || self.buf.last() != Some(&b'\n') {
            return Ok(Next::Torn(&self.buf));
        }
        self.number += 1;
        self.whole_len += n as u64;
        Ok(Next::Line(self.number, &self.buf[..n - 1]))
    }
}

/// None when there is no log yet (no file, or an empty one: the head died
/// before writing its first line). The header goes to `accept` first (a log
/// of another command is refused for that, whatever its lines hold); then
/// each logged line to `each` with its line number, in the file's order.
pub fn read_log(
    path: &Path,
    accept: impl FnOnce(&Header) -> Result<(), JoblogError>,
    mut each: impl FnMut(usize, Entry) -> Result<(), JoblogError>,
) -> Result<Option<Log>, JoblogError> {
    let io = |doing: &'static str| move |error| JoblogError::Io { path: path.into(), doing, error };
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(JoblogError::Io { path: path.into(), doing: "read it", error }),
    };
    let mut lines = Lines { reader: BufReader::with_capacity(1 << 16, file), buf: Vec::new(), number: 0, whole_len: 0 };
    let bad = |line: usize, why: String| JoblogError::BadLine { path: path.into(), line, why };
    let text = |line: usize, bytes: &[u8]| -> Result<String, JoblogError> {
        String::from_utf8(bytes.to_vec()).map_err(|_| bad(line, "not UTF-8 text".into()))
    };
    // The first line, whole or torn, says whose file this is.
    let first = match lines.next().map_err(io("read it"))? {
        Next::Line(_, line) => line,
        Next::Torn([]) => return Ok(None),
        Next::Torn(torn) => torn,
    };
    let first_line = String::from_utf8_lossy(&first[..first.len().min(200)]).into_owned();
    if first_line != MAGIC {
        if let Some(version) = first_line.strip_prefix("# pisubmit joblog ") {
            return Err(bad(1, format!("a job log of version {version}; this pisubmit reads version 1")));
        }
        return Err(JoblogError::Foreign { path: path.into(), first_line });
    }
    let mut meta = Vec::new();
    let mut columns = false;
    if lines.number == 1 {
        while let Next::Line(number, line) = lines.next().map_err(io("read it"))? {
            let line = text(number, line)?;
            if let Some(rest) = line.strip_prefix("# ") {
                meta.push((number, rest.to_string()));
                continue;
            }
            if line != COLUMNS.join("\t") {
                return Err(bad(
                    number,
                    format!("expected the column header ({}...), found {line:?}", COLUMNS[..3].join(" ")),
                ));
            }
            columns = true;
            break;
        }
    }
    let meta: Vec<(usize, &str)> = meta.iter().map(|(n, l)| (*n, l.as_str())).collect();
    let header = Header::parse(&meta).map_err(|(line, why)| bad(line, why))?;
    accept(&header)?;
    if columns {
        let mut last_seq = None;
        while let Next::Line(number, line) = lines.next().map_err(io("read it"))? {
            let line = std::str::from_utf8(line).map_err(|_| bad(number, "not UTF-8 text".into()))?;
            let entry = Entry::parse(line).map_err(|why| bad(number, why))?;
            if let Some(last) = last_seq.filter(|&last| entry.seq <= last) {
                return Err(bad(number, format!("Seq {} does not follow {last}", entry.seq)));
            }
            last_seq = Some(entry.seq);
            each(number, entry)?;
        }
    }
    Ok(Some(Log { header, whole_len: lines.whole_len, columns }))
}
