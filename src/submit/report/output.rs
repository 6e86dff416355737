//! Writing streamed results in piece order, whatever order the pieces
//! finish in, to a file or to stdout.
//!
//! A file is written as `FILE.partial` and renamed to FILE only when every
//! piece has arrived, so a failed run never leaves a file that looks
//! complete. Only pieces that finish ahead of their turn are held in
//! memory; the head's memory does not grow with the output's size.

use crate::submit::cluster::engine::GatherError;
use crate::submit::error::SubmitError;
use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

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
        }
    }
}

impl std::error::Error for OutputError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OutputError::BadPayload(_) | OutputError::Incomplete { .. } => None,
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
}

/// Bytes as they came (a job program's stdout).
pub struct Raw;

impl Format for Raw {
    fn render(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), OutputError> {
        out.extend_from_slice(payload);
        Ok(())
    }
}

/// Primes as decimal text, one per line.
pub struct PrimeText;

impl Format for PrimeText {
    fn render(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), OutputError> {
        if payload.len() % 8 != 0 {
            return Err(OutputError::BadPayload(format!(
                "a primes partial of {} bytes is not whole u64 values",
                payload.len()
            )));
        }
        let mut digits = [0u8; 20];
        for chunk in payload.chunks_exact(8) {
            let mut n =
                u64::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7]]);
            let mut i = digits.len();
            loop {
                i -= 1;
                digits[i] = b'0' + (n % 10) as u8;
                n /= 10;
                if n == 0 {
                    break;
                }
            }
            out.extend_from_slice(&digits[i..]);
            out.push(b'\n');
        }
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
            return Ok(OrderedWriter::stream(Box::new(out), format));
        }
        let mut temp = path.clone().into_os_string();
        temp.push(".partial");
        let temp = PathBuf::from(temp);
        let file = File::create(&temp).map_err(|error| OutputError::Create { path: temp.clone(), error })?;
        let out: Box<dyn Write> = Box::new(file);
        Ok(OrderedWriter::new(Dest::File { path, temp, pieces }, out, format))
    }

    /// Writes to `out` as pieces come in turn, flushing after each piece.
    pub fn stream(out: Box<dyn Write>, format: F) -> OrderedWriter<F> {
        OrderedWriter::new(Dest::Stream, out, format)
    }

    fn new(dest: Dest, out: Box<dyn Write>, format: F) -> OrderedWriter<F> {
        let out = BufWriter::with_capacity(1 << 20, out);
        OrderedWriter { dest, out, format, next: 0, held: BTreeMap::new(), scratch: Vec::new() }
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
        self.next += 1;
        // Catch up with pieces that finished (or started) ahead of their turn.
        while let Some(held) = self.held.remove(&self.next) {
            self.emit(&held.data)?;
            if !held.done {
                break; // still streaming: its next partials go straight out
            }
            self.next += 1;
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
        self.out.write_all(&self.scratch).map_err(|error| OutputError::Write { name, error })
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
                if let Err(error) = std::fs::rename(&temp, &path) {
                    return Err(OutputError::Rename { from: temp, to: path, error });
                }
                Ok(Some(path))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(v: &[u64]) -> Vec<u8> {
        v.iter().flat_map(|p| p.to_be_bytes()).collect()
    }

    #[test]
    fn out_of_order_pieces_land_in_order() {
        let dir = std::env::temp_dir().join(format!("piworker-ow-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("primes.txt");
        let mut w = OrderedWriter::create(path.clone(), 3, PrimeText).unwrap();
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
        let mut w = OrderedWriter::create(null.clone(), 1, PrimeText).unwrap();
        w.write(0, &payload(&[2])).unwrap();
        w.piece_done(0).unwrap();
        assert_eq!(w.finish().unwrap(), None, "streamed, not renamed into place");
        assert!(std::fs::metadata(&null).unwrap().file_type().is_char_device(), "/dev/null is still a device");
    }
}
