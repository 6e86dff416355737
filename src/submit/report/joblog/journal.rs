//! Writing a job log: the header first (so that a read-only or full disk
//! fails the job before any worker is bothered), then one line per piece
//! as it finishes, handed to a writer thread (`flusher`) that writes them
//! every few milliseconds and makes them durable with fsync at most once a
//! second.

use super::error::JoblogError;
use super::flusher::{Failure, Flusher};
use super::header::Header;
use super::line::{set_record_seq, Entry, Span, COLUMNS};
use super::read::{read_log, MAGIC};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Which logged pieces a run skips.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resume {
    /// Start a new log (refused if one is there).
    No,
    /// Skip the pieces logged as done; stop at one logged as failed.
    Done,
    /// Skip the pieces logged as done; run the failed ones again.
    Failed,
}

/// What --joblog, --resume and --resume-failed asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct JoblogOpts {
    pub path: PathBuf,
    pub resume: Resume,
}

/// An open job log, appended to as pieces finish.
pub struct Journal {
    flusher: Flusher,
    path: PathBuf,
    line: Vec<u8>,
    seq: u64,
}

/// A job log opened for a run: where it goes on, and what an earlier run
/// already did.
pub struct Session {
    pub journal: Journal,
    pub header: Header,
    /// Pieces done in the logged run, by piece number.
    pub done: BTreeMap<usize, Done>,
}

/// What a resumed run needs of a piece an earlier run finished: a small
/// part of its line (a resumed log of 200,000 pieces held 148 MiB with the
/// whole lines, docs/PERFORMANCE.md).
#[derive(Clone, Debug, PartialEq)]
pub struct Done {
    /// The log line that says so.
    pub line: usize,
    /// The hash of the piece's kind and parameters: the same piece?
    pub params: u64,
    pub output: Option<Span>,
    pub result: Box<[u8]>,
}

impl Done {
    pub fn new(line: usize, entry: Entry) -> Done {
        Done { line, params: entry.params, output: entry.output, result: entry.result.into_boxed_slice() }
    }
}

impl Session {
    pub fn path(&self) -> &Path {
        &self.journal.path
    }

    /// What the pieces are cut for: the logged run's when resuming.
    pub fn cut(&self) -> u64 {
        self.header.cut
    }
}

fn io<'p>(path: &'p Path, doing: &'static str) -> impl FnOnce(std::io::Error) -> JoblogError + 'p {
    move |error| JoblogError::Io { path: path.into(), doing, error }
}

/// Opens the log at `path` for the command `now` describes: a new log, or
/// (resuming) the one there, checked against `now` and continued.
pub fn open(path: &Path, resume: Resume, now: Header) -> Result<Session, JoblogError> {
    let is_log_file = std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() > 0);
    if resume == Resume::No {
        if is_log_file {
            return Err(JoblogError::Exists { path: path.into() });
        }
        return create(path, now);
    }
    let mut done: BTreeMap<usize, Done> = BTreeMap::new();
    let mut failed: BTreeMap<usize, (usize, Entry)> = BTreeMap::new();
    let mut last_seq = 0;
    let differs = |logged: &Header| match logged.difference(&now) {
        Some(what) => Err(JoblogError::Differs { path: path.into(), what }),
        None => Ok(()),
    };
    let read = read_log(path, differs, |line, entry| {
        last_seq = entry.seq;
        if entry.failed.is_some() {
            failed.insert(entry.piece, (line, entry));
            return Ok(());
        }
        failed.remove(&entry.piece);
        // A piece whose output the file had lost ran again (see
        // `verify_output`): its later line is the one that counts.
        let rewritten = |d: &Done| d.output.is_some() && entry.output.is_some();
        if let Some(first) = done.get(&entry.piece).filter(|d| !rewritten(d)) {
            return Err(JoblogError::BadLine {
                path: path.into(),
                line,
                why: format!("piece {} is logged as done twice (also on line {})", entry.piece, first.line),
            });
        }
        done.insert(entry.piece, Done::new(line, entry));
        Ok(())
    });
    let Some(log) = read? else {
        eprintln!("pisubmit: --resume: no job log at {} yet; starting from the first piece", path.display());
        return create(path, now);
    };
    if !log.columns {
        // Killed before the column header was whole: nothing was logged,
        // and lines appended without it would make a log no run can read.
        return create(path, now);
    }
    if resume == Resume::Done {
        if let Some((line, entry)) = failed.into_values().next() {
            return Err(JoblogError::FailedPiece {
                path: path.into(),
                line,
                label: entry.label,
                why: entry.failed.unwrap_or_default(),
            });
        }
    }
    let mut file = OpenOptions::new().write(true).open(path).map_err(io(path, "open it for writing"))?;
    // Drop a torn last line: the resumed run writes it again.
    file.set_len(log.whole_len).map_err(io(path, "cut off its torn last line"))?;
    file.seek(SeekFrom::End(0)).map_err(io(path, "seek to its end"))?;
    let journal = Journal::new(file, path, last_seq);
    Ok(Session { journal, header: log.header, done })
}

fn create(path: &Path, header: Header) -> Result<Session, JoblogError> {
    let mut file = File::create(path).map_err(io(path, "create it"))?;
    let text = format!("{MAGIC}\n{}{}\n", header.format(), COLUMNS.join("\t"));
    // A full or read-only disk shows here, before the job starts. The
    // writer thread syncs the header with the first lines, within a second:
    // syncing it here cost every logged job 13 ms before its first piece,
    // and a log lost with its header is one a resume starts afresh from.
    file.write_all(text.as_bytes()).map_err(io(path, "write its header"))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // The new file's name is durable too (best effort: not every
        // file system lets a directory be synced).
        let _ = File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(Session { journal: Journal::new(file, path, 0), header, done: BTreeMap::new() })
}

impl Journal {
    fn new(file: File, path: &Path, seq: u64) -> Journal {
        Journal { flusher: Flusher::new(file), path: path.into(), line: Vec::new(), seq }
    }

    /// Appends `entry` with the next sequence number. A failure to write
    /// shows here on the next line after it, or at `sync`.
    pub fn write(&mut self, entry: &mut Entry) -> Result<(), JoblogError> {
        self.seq += 1;
        entry.seq = self.seq;
        self.line.clear();
        entry.encode(&mut self.line);
        self.flusher.append(&self.line).map_err(|f| self.failed(f))
    }

    /// Appends a record `Fields::encode` made, with the next sequence
    /// number: the event loop's way, with nothing copied on the way.
    pub fn write_record(&mut self, record: &mut [u8]) -> Result<(), JoblogError> {
        self.seq += 1;
        set_record_seq(record, self.seq);
        self.flusher.append(record).map_err(|f| self.failed(f))
    }

    /// Writes the lines handed over if the writer thread has left them
    /// waiting too long (it runs only on a CPU nothing else wants): the
    /// event loop calls this before it waits.
    pub fn keep_up(&mut self) -> Result<(), JoblogError> {
        self.flusher.keep_up().map_err(|f| self.failed(f))
    }

    /// Writes every line handed over and syncs the log.
    pub fn sync(&mut self) -> Result<(), JoblogError> {
        self.flusher.write_now(true).map_err(|f| self.failed(f))
    }

    /// Writes every line handed over, now, without waiting for the disk:
    /// for lines that must be in the file before something that depends
    /// on them (Life's checkpoint, which a resume goes on from instead of
    /// running the logged strips again).
    pub fn flush(&mut self) -> Result<(), JoblogError> {
        self.flusher.write_now(false).map_err(|f| self.failed(f))
    }

    fn failed(&self, failure: Failure) -> JoblogError {
        JoblogError::Io { path: self.path.clone(), doing: failure.doing, error: failure.error() }
    }
}
