//! Where exec's pieces' output goes: whole pieces, in piece order or as
//! they finish, to stdout or --output. With a job log each piece's bytes
//! are reported once they are out (`Gatherer::landed`), so the log records
//! only pieces whose output landed; a resumed run goes on after them and
//! does not write (or print) them again.

use super::append::Appender;
use crate::submit::cluster::engine::{GatherError, Gatherer, Landed, Replayed};
use crate::submit::plans::Output;
use crate::submit::report::output::{OrderedWriter, OutputError, Raw};
use crate::submit::report::stdio;
use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;

/// Writes each piece's output whole, in piece order (through an
/// `OrderedWriter`) or as pieces finish.
pub struct ExecOutput {
    out: Out,
    /// Output of pieces still running (the engine hands a piece's partials
    /// over only once it has finished, so a re-run adds nothing twice).
    open: BTreeMap<usize, Vec<u8>>,
    /// Whether a job log follows where the pieces land.
    logged: bool,
    /// The number of pieces, when known before the run (not a farm).
    expected: Option<usize>,
    /// Pieces done and bytes written, those of a resumed log's included.
    pub pieces: usize,
    pub bytes: u64,
}

enum Out {
    Ordered(OrderedWriter<Raw>),
    AsTheyFinish(Appender),
}

/// Finished pieces that may wait for an earlier one in ordered mode.
const LOOKAHEAD: usize = 1024;

fn create(path: &PathBuf) -> Result<Box<dyn io::Write>, OutputError> {
    let file = std::fs::File::create(path).map_err(|error| OutputError::Create { path: path.clone(), error })?;
    Ok(Box::new(file))
}

impl ExecOutput {
    /// To `path` or to stdout. A file of known pieces is written whole or
    /// not at all (FILE.partial until the end), as is any file with a job
    /// log (`how`).
    pub fn new(
        ordered: bool,
        path: Option<&PathBuf>,
        pieces: Option<usize>,
        how: Output<'_>,
    ) -> Result<ExecOutput, OutputError> {
        let logged = matches!(how, Output::Logged(_));
        let out = match (ordered, path, how) {
            (true, Some(path), Output::Plain) => match pieces {
                Some(n) => Out::Ordered(OrderedWriter::create(path.clone(), n, Raw)?),
                None => Out::Ordered(OrderedWriter::stream(create(path)?, Raw)),
            },
            // A farm's count is set at the end (`finish`).
            (true, Some(path), Output::Logged(at)) => {
                Out::Ordered(OrderedWriter::tracked(path.clone(), pieces.unwrap_or(usize::MAX), Raw, at)?)
            }
            (true, None, Output::Plain) => Out::Ordered(OrderedWriter::stream(stdio::output(), Raw)),
            (true, None, Output::Logged(_)) => Out::Ordered(OrderedWriter::tracked_stream(stdio::output(), Raw)),
            (false, Some(path), Output::Plain) => Out::AsTheyFinish(Appender::plain(create(path)?)),
            (false, Some(path), Output::Logged(at)) => Out::AsTheyFinish(Appender::tracked_file(path.clone(), at)?),
            (false, None, Output::Plain) => Out::AsTheyFinish(Appender::plain(stdio::output())),
            (false, None, Output::Logged(_)) => Out::AsTheyFinish(Appender::tracked_stdout()),
        };
        Ok(ExecOutput { out, open: BTreeMap::new(), logged, expected: pieces, pieces: 0, bytes: 0 })
    }

    pub fn finish(self) -> Result<(), OutputError> {
        match self.out {
            Out::Ordered(mut w) => {
                if self.expected.is_none() {
                    w.set_pieces(self.pieces);
                }
                w.finish().map(|_| ())
            }
            Out::AsTheyFinish(a) => a.finish(),
        }
    }
}

impl Gatherer for ExecOutput {
    fn partial(&mut self, piece: usize, payload: &[u8]) -> Result<(), GatherError> {
        self.open.entry(piece).or_default().extend_from_slice(payload);
        Ok(())
    }

    fn result(&mut self, piece: usize, payload: &[u8]) -> Result<(), GatherError> {
        crate::jobs::exec::decode_result(payload).map_err(|e| GatherError::BadAnswer(e.message))?;
        self.pieces += 1;
        let output = self.open.remove(&piece).unwrap_or_default();
        self.bytes += output.len() as u64;
        match &mut self.out {
            Out::Ordered(w) => {
                w.write(piece, &output)?;
                Ok(w.piece_done(piece)?)
            }
            Out::AsTheyFinish(a) => Ok(a.append(piece, &output)?),
        }
    }

    /// A piece an earlier run wrote (or printed): counted, not written again.
    fn replay(&mut self, piece: usize, logged: &Replayed<'_>) -> Result<(), GatherError> {
        crate::jobs::exec::decode_result(logged.result).map_err(|e| GatherError::BadAnswer(e.message))?;
        self.pieces += 1;
        self.bytes += logged.output_len;
        match &mut self.out {
            Out::Ordered(w) => Ok(w.written_before(piece)?),
            Out::AsTheyFinish(_) => Ok(()),
        }
    }

    fn lookahead(&self) -> Option<usize> {
        matches!(self.out, Out::Ordered(_)).then_some(LOOKAHEAD)
    }

    fn writes_output(&self) -> bool {
        self.logged
    }

    fn landed(&mut self, into: &mut Vec<Landed>) {
        match &mut self.out {
            Out::Ordered(w) => w.landed(into),
            Out::AsTheyFinish(a) => a.landed(into),
        }
    }
}
