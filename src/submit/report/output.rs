//! Writing streamed results in piece order, whatever order the pieces
//! finish in, to a file or to stdout.
//!
//! A file is written as `FILE.partial` and renamed to FILE only when every
//! piece has arrived, so a failed run never leaves a file that looks
//! complete. Only pieces that finish ahead of their turn are held in
//! memory; the head's memory does not grow with the output's size.

use crate::submit::cluster::engine::{GatherError, Landed};
use crate::submit::error::SubmitError;
use crate::submit::report::joblog::OutputResume;
use crate::xxh3::Xxh3;
use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Why ordered output could not be written, or a piece not rendered.
#[derive(Debug)]
pub enum OutputError {
    /// A piece's payload that cannot be rendered: a bad answer from a worker.
    BadPayload(String),
    Open {
        path: PathBuf,
        error: io::Error,
    },
    Create {
        path: PathBuf,
        error: io::Error,
    },
    /// `name` is the file being written, or "the output" for a stream.
    Write {
        name: String,
        error: io::Error,
    },
    /// The run ended before every piece was written.
    Incomplete {
        written: usize,
        pieces: usize,
    },
    Rename {
        from: PathBuf,
        to: PathBuf,
        error: io::Error,
    },
    /// The job log's written pieces are not the first ones in order.
    NotInOrder {
        path: PathBuf,
    },
}

impl fmt::Display for OutputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutputError::BadPayload(why) => f.write_str(why),
            OutputError::Open { path, error } => write!(f, "cannot open {}: {error}", path.display()),
            OutputError::Create { path, error } => write!(f, "cannot create {}: {error}", path.display()),
            OutputError::Write { name, error } => write!(f, "writing {name}: {error}"),
            OutputError::Incomplete { written, pieces } => {
                write!(f, "output incomplete: {written} of {pieces} pieces written")
            }
            OutputError::Rename { from, to, error } => {
                write!(f, "cannot rename {} to {}: {error}", from.display(), to.display())
            }
            OutputError::NotInOrder { path } => {
                write!(f, "resuming {}: the job log's written pieces are not the first ones in order", path.display())
            }
        }
    }
}

impl std::error::Error for OutputError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OutputError::BadPayload(_) | OutputError::Incomplete { .. } | OutputError::NotInOrder { .. } => None,
            OutputError::Open { error, .. }
            | OutputError::Create { error, .. }
            | OutputError::Write { error, .. }
            | OutputError::Rename { error, .. } => Some(error),
        }
    }
}

/// A payload that cannot be rendered is the worker's fault; anything else
/// is ours to report as an output that cannot be kept.
impl From<OutputError> for GatherError {
    fn from(e: OutputError) -> GatherError {
        match e {
            OutputError::BadPayload(why) => GatherError::BadAnswer(why),
            e => GatherError::CannotKeep(Box::new(e)),
        }
    }
}

/// Output that cannot be written fails the job (exit 1): the callers of
/// the file writer mapped it to `SubmitError::Job`.
impl From<OutputError> for SubmitError {
    fn from(e: OutputError) -> SubmitError {
        SubmitError::Job(e.to_string())
    }
}

/// Turns a piece's raw partial payload into file bytes.
pub trait Format {
    fn render(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), OutputError>;
    /// Bytes a file starts with, before any piece, given the pieces'
    /// bytes (a .npy header): written first with 0, rewritten with the
    /// real length once the file is whole, so always the same length.
    fn header(&self, _data_len: u64) -> Vec<u8> {
        Vec::new()
    }
}

/// Bytes as they came (a job program's stdout).
pub struct Raw;

impl Format for Raw {
    fn render(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), OutputError> {
        out.extend_from_slice(payload);
        Ok(())
    }
}

struct Held {
    data: Vec<u8>,
    done: bool,
}

/// Where the ordered output goes.
enum Dest {
    /// FILE.partial, renamed to FILE once `pieces` pieces are in.
    File { path: PathBuf, temp: PathBuf, pieces: usize },
    /// A stream (stdout) of pieces whose number may not be known.
    Stream,
}

pub struct OrderedWriter<F: Format> {
    dest: Dest,
    out: BufWriter<Box<dyn Write>>,
    format: F,
    /// The piece whose output goes straight out.
    next: usize,
    held: BTreeMap<usize, Held>,
    scratch: Vec<u8>,
    /// Set for a job log: where each piece's bytes land.
    track: Option<Box<Track>>,
    /// Bytes in the file so far, header included.
    file_len: u64,
}

/// Where each piece's output lands in a file, for a job log.
struct Track {
    /// Bytes in the file so far.
    written: u64,
    /// Where the piece being written started, and its hash so far.
    piece_start: u64,
    hash: Xxh3,
    landed: Vec<Landed>,
}

/// The name of the file a writer to `path` writes before renaming it.
pub fn partial_path(path: &Path) -> PathBuf {
    let mut temp = path.to_path_buf().into_os_string();
    temp.push(".partial");
    PathBuf::from(temp)
}

/// The file a resumed writer to `path` goes on from: the partial one, or
/// the finished one when a complete run already renamed it.
pub fn file_to_resume(path: &Path) -> PathBuf {
    let temp = partial_path(path);
    if !temp.exists() && path.is_file() {
        path.to_path_buf()
    } else {
        temp
    }
}

/// The partial file of a resumed writer to `path`, cut to the `offset`
/// bytes a job log vouches for and positioned there. A finished file goes
/// back to being partial until the resumed run ends.
pub fn reopen_partial(path: &Path, offset: u64) -> Result<(PathBuf, File), OutputError> {
    let temp = partial_path(path);
    if !temp.exists() && path.is_file() {
        std::fs::rename(path, &temp).map_err(|error| OutputError::Rename {
            from: path.to_path_buf(),
            to: temp.clone(),
            error,
        })?;
    }
    let open = || {
        if offset == 0 {
            // Nothing to keep: a new file, not one cut to nothing. ext4
            // (auto_da_alloc) writes back a file truncated to zero bytes
            // when it is closed, and waits for it: 0.12 s on the 480 MiB
            // of primes to 10^9 (docs/PERFORMANCE.md).
            match std::fs::remove_file(&temp) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => return File::create(&temp),
            }
        }
        let mut file = File::options().write(true).open(&temp)?;
        if file.metadata()?.len() != offset {
            file.set_len(offset)?;
        }
        file.seek(SeekFrom::Start(offset))?;
        Ok::<_, io::Error>(file)
    };
    let file = open().map_err(|error| OutputError::Open { path: temp.clone(), error })?;
    Ok((temp, file))
}

impl<F: Format> OrderedWriter<F> {
    /// Writes to `path`: a regular file (or a new one) by way of
    /// `FILE.partial`; anything else (/dev/null, a FIFO) directly, since
    /// renaming over it would replace the device or pipe with a file.
    pub fn create(path: PathBuf, pieces: usize, format: F) -> Result<OrderedWriter<F>, OutputError> {
        if std::fs::metadata(&path).is_ok_and(|m| !m.is_file()) {
            let out = std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(|error| OutputError::Open { path: path.clone(), error })?;
            if !format.header(0).is_empty() {
                let why = "a .npy file's header gets the count at the end: write it to a regular file";
                return Err(OutputError::Open { path, error: io::Error::other(why) });
            }
            return Ok(OrderedWriter::stream(Box::new(out), format));
        }
        let temp = partial_path(&path);
        let file = File::create(&temp).map_err(|error| OutputError::Create { path: temp.clone(), error })?;
        OrderedWriter::new(Dest::File { path, temp, pieces }, Box::new(file), format).with_header(0)
    }

    /// Starts a file (after `kept` bytes a resumed log vouches for) with
    /// the format's header, if it has one.
    fn with_header(mut self, kept: u64) -> Result<OrderedWriter<F>, OutputError> {
        let header = self.format.header(0);
        // A file that kept pieces has its header (patched at the end).
        if kept < header.len() as u64 {
            let name = self.name();
            self.out.write_all(&header).map_err(|error| OutputError::Write { name, error })?;
        }
        self.file_len = kept.max(header.len() as u64);
        Ok(self)
    }

    /// Like `create`, but for a job log: reports where each piece lands
    /// (`landed`); not synced, as without a log. With `at`, goes on
    /// from a resumed log: the file is cut after the pieces `at` found
    /// whole, which must be the first ones, and they are not written again.
    pub fn tracked(
        path: PathBuf,
        pieces: usize,
        format: F,
        at: Option<&OutputResume>,
    ) -> Result<OrderedWriter<F>, OutputError> {
        // A device or a pipe is written again from the start: it cannot be
        // cut back to where the log says its bytes end.
        // (`file_to_resume` finds no file for it, so every piece runs again.)
        let not_a_file = std::fs::metadata(&path).is_ok_and(|m| !m.is_file());
        let at = match at {
            Some(at) if !not_a_file => at,
            _ => {
                let mut w = OrderedWriter::create(path.clone(), pieces, format)?;
                w.track = Some(Box::new(Track::new(w.file_len)));
                return Ok(w);
            }
        };
        if at.pieces.iter().enumerate().any(|(i, &p)| i != p) {
            return Err(OutputError::NotInOrder { path });
        }
        let (temp, file) = reopen_partial(&path, at.offset)?;
        let mut w =
            OrderedWriter::new(Dest::File { path, temp, pieces }, Box::new(file), format).with_header(at.offset)?;
        w.next = at.pieces.len();
        w.track = Some(Box::new(Track::new(w.file_len)));
        Ok(w)
    }

    /// The pieces whose bytes reached the file since the last call.
    pub fn landed(&mut self, into: &mut Vec<Landed>) {
        if let Some(t) = &mut self.track {
            into.append(&mut t.landed);
        }
    }

    /// Writes to `out` as pieces come in turn, flushing after each piece.
    pub fn stream(out: Box<dyn Write>, format: F) -> OrderedWriter<F> {
        OrderedWriter::new(Dest::Stream, out, format)
    }

    /// A stream that reports where each piece lands (`landed`), for a job
    /// log that records a piece only once it is out.
    pub fn tracked_stream(out: Box<dyn Write>, format: F) -> OrderedWriter<F> {
        let mut w = OrderedWriter::stream(out, format);
        w.track = Some(Box::new(Track::new(0)));
        w
    }

    /// For a file whose number of pieces was not known when it was opened
    /// (a farm fed from stdin): how many pieces it holds when whole.
    pub fn set_pieces(&mut self, count: usize) {
        if let Dest::File { pieces, .. } = &mut self.dest {
            *pieces = count;
        }
    }

    /// Piece `piece` was written by an earlier run (a resumed job log):
    /// its turn passes without output.
    pub fn written_before(&mut self, piece: usize) -> Result<(), OutputError> {
        if piece < self.next {
            return Ok(());
        }
        self.piece_done(piece)
    }

    fn new(dest: Dest, out: Box<dyn Write>, format: F) -> OrderedWriter<F> {
        let out = BufWriter::with_capacity(1 << 20, out);
        OrderedWriter {
            dest,
            out,
            format,
            next: 0,
            held: BTreeMap::new(),
            scratch: Vec::new(),
            track: None,
            file_len: 0,
        }
    }

    fn name(&self) -> String {
        match &self.dest {
            Dest::File { temp, .. } => temp.display().to_string(),
            Dest::Stream => "the output".into(),
        }
    }

    pub fn write(&mut self, piece: usize, payload: &[u8]) -> Result<(), OutputError> {
        if piece == self.next {
            self.emit(payload)
        } else {
            self.held.entry(piece).or_insert(Held { data: Vec::new(), done: false }).data.extend_from_slice(payload);
            Ok(())
        }
    }

    pub fn piece_done(&mut self, piece: usize) -> Result<(), OutputError> {
        if piece != self.next {
            self.held.entry(piece).or_insert(Held { data: Vec::new(), done: false }).done = true;
            return Ok(());
        }
        self.landed_next()?;
        // Catch up with pieces that finished (or started) ahead of their turn.
        while let Some(held) = self.held.remove(&self.next) {
            self.emit(&held.data)?;
            if !held.done {
                break; // still streaming: its next partials go straight out
            }
            self.landed_next()?;
        }
        // A reader of a stream (a pipe to the next command) sees each piece
        // as soon as it is in order.
        if let Dest::Stream = self.dest {
            self.out.flush().map_err(|error| OutputError::Write { name: self.name(), error })?;
        }
        Ok(())
    }

    fn emit(&mut self, payload: &[u8]) -> Result<(), OutputError> {
        self.scratch.clear();
        self.format.render(payload, &mut self.scratch)?;
        let name = self.name();
        self.out.write_all(&self.scratch).map_err(|error| OutputError::Write { name, error })?;
        self.file_len += self.scratch.len() as u64;
        if let Some(t) = &mut self.track {
            t.written += self.scratch.len() as u64;
            // Hashed here, while the bytes are in the cache: a thread of
            // its own for it cost the primes below 10^9 more than it saved
            // (handing each buffer over and back; docs/PERFORMANCE.md).
            t.hash.update(&self.scratch);
        }
        Ok(())
    }

    /// Piece `next` is all written: a tracked file gets its bytes now (a
    /// job log line will say they are there). It is not synced piece by
    /// piece: a resume hashes every logged piece's bytes in the file, so a
    /// piece a power cut lost runs again; syncing here cost primes
    /// --output nearly half its time (docs/PERFORMANCE.md).
    fn landed_next(&mut self) -> Result<(), OutputError> {
        let piece = self.next;
        self.next += 1;
        let Some(t) = &mut self.track else { return Ok(()) };
        let hash = t.hash.digest();
        t.hash.reset();
        t.landed.push(Landed { piece, start: t.piece_start, len: t.written - t.piece_start, hash });
        t.piece_start = t.written;
        let name = self.name();
        self.out.flush().map_err(|error| OutputError::Write { name, error })
    }

    /// All pieces are in: flush, and move a file into place. Returns the
    /// file's path (None for a stream).
    pub fn finish(mut self) -> Result<Option<PathBuf>, OutputError> {
        self.out.flush().map_err(|error| OutputError::Write { name: self.name(), error })?;
        match self.dest {
            Dest::Stream => Ok(None),
            Dest::File { path, temp, pieces } => {
                if self.next != pieces {
                    return Err(OutputError::Incomplete { written: self.next, pieces });
                }
                let header = self.format.header(0);
                if !header.is_empty() {
                    let header = self.format.header(self.file_len - header.len() as u64);
                    let write = |error| OutputError::Write { name: temp.display().to_string(), error };
                    let file = File::options().write(true).open(&temp).map_err(write)?;
                    std::os::unix::fs::FileExt::write_all_at(&file, &header, 0).map_err(write)?;
                }
                // Not synced first, as without a log: a resume hashes the
                // finished file's pieces too, so a power cut costs re-runs,
                // never wrong bytes.
                if let Err(error) = std::fs::rename(&temp, &path) {
                    return Err(OutputError::Rename { from: temp, to: path, error });
                }
                Ok(Some(path))
            }
        }
    }
}

impl Track {
    fn new(written: u64) -> Track {
        Track { written, piece_start: written, hash: Xxh3::new(), landed: Vec::new() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A piece's lines, as `Raw` writes them.
    fn payload(v: &[u64]) -> Vec<u8> {
        v.iter().map(|p| format!("{p}\n")).collect::<String>().into_bytes()
    }

    #[test]
    fn out_of_order_pieces_land_in_order() {
        let dir = std::env::temp_dir().join(format!("piworker-ow-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("primes.txt");
        let mut w = OrderedWriter::create(path.clone(), 3, Raw).unwrap();
        w.write(2, &payload(&[11, 13])).unwrap();
        w.piece_done(2).unwrap();
        w.write(1, &payload(&[5])).unwrap();
        w.write(0, &payload(&[2, 3])).unwrap();
        w.piece_done(0).unwrap();
        w.write(1, &payload(&[7])).unwrap();
        assert!(!path.exists(), "nothing final before the end");
        w.piece_done(1).unwrap();
        assert_eq!(w.finish().unwrap(), Some(path.clone()));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "2\n3\n5\n7\n11\n13\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_device_is_written_to_not_replaced() {
        use std::os::unix::fs::FileTypeExt;
        let null = PathBuf::from("/dev/null");
        let mut w = OrderedWriter::create(null.clone(), 1, Raw).unwrap();
        w.write(0, &payload(&[2])).unwrap();
        w.piece_done(0).unwrap();
        assert_eq!(w.finish().unwrap(), None, "streamed, not renamed into place");
        assert!(std::fs::metadata(&null).unwrap().file_type().is_char_device(), "/dev/null is still a device");
    }
}
