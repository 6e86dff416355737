//! `pisubmit exec NAME`: a job program (installed on the workers) run over
//! pieces of a numeric range, over the lines of a file, or as a task farm
//! fed from stdin. Each piece is one run of the program on one core; its
//! stdout is the piece's output, written in piece order (or as pieces
//! finish with --unordered) to stdout or --output. A piece whose program
//! fails runs again on another worker, up to --retries.

use crate::jobs::exec::Params;
use crate::jobs::JobKind;
use crate::ranges::split_signed;
use crate::submit::cluster::engine::{
    Cores, GatherError, Gatherer, InputOpener, InputStream, Next, Piece, PieceSource,
};
use crate::submit::error::SubmitError;
use crate::submit::report::output::{OrderedWriter, OutputError, Raw};
use mio::Waker;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Debug, PartialEq)]
pub enum Mode {
    /// `[start, end)` cut into `pieces` (None: four per thread).
    Range { start: i64, end: i64, pieces: Option<u64> },
    /// A file's lines, `block` lines a piece, as the program's stdin.
    Lines { file: PathBuf, block: usize },
    /// One piece per stdin line, as the lines arrive.
    Farm,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ExecOpts {
    pub name: String,
    pub mode: Mode,
    pub ordered: bool,
    pub output: Option<PathBuf>,
    /// Per-piece limits asked of the workers (they may allow less).
    pub time_limit: Option<Duration>,
    pub memory_limit: Option<u64>,
}

impl ExecOpts {
    fn piece(&self, index: u64, start: i64, end: i64, input: Option<InputOpener>, label: String) -> Piece {
        let params = Params {
            name: self.name.clone(),
            piece: index,
            start,
            end,
            timeout_ms: self.time_limit.map_or(0, |t| t.as_millis().clamp(1, u128::from(u32::MAX)) as u32),
            memory_mb: self.memory_limit.map_or(0, |b| (b >> 20).clamp(1, u64::from(u32::MAX)) as u32),
        };
        Piece { kind: JobKind::Exec, params: params.encode(), input, cores: Cores::One, label }
    }

    /// The pieces of a range or a file, known before the run.
    pub fn pieces(&self, threads: usize) -> Result<Vec<Piece>, SubmitError> {
        match &self.mode {
            Mode::Range { start, end, pieces } => {
                let parts = pieces.unwrap_or(threads as u64 * 4);
                Ok(split_signed(*start, *end, parts)
                    .into_iter()
                    .enumerate()
                    .map(|(i, (a, b))| self.piece(i as u64, a, b, None, format!("piece {i} ({a}..{b})")))
                    .collect())
            }
            Mode::Lines { file, block } => {
                let data =
                    std::fs::read(file).map_err(|e| SubmitError::Usage(format!("--lines {}: {e}", file.display())))?;
                let lines: Vec<&[u8]> = data.split_inclusive(|&b| b == b'\n').collect();
                let mut out = Vec::new();
                for (i, chunk) in lines.chunks(*block).enumerate() {
                    let first = (i * block + 1) as i64;
                    let bytes: Arc<Vec<u8>> = Arc::new(chunk.concat());
                    let opener: InputOpener = Box::new(move || Ok(Box::new(Bytes(Arc::clone(&bytes), 0)) as _));
                    let last = first + chunk.len() as i64;
                    let label = format!("piece {i} (lines {first}..{})", last - 1);
                    out.push(self.piece(i as u64, first, last, Some(opener), label));
                }
                Ok(out)
            }
            Mode::Farm => Ok(Vec::new()),
        }
    }
}

/// An in-memory piece input.
struct Bytes(Arc<Vec<u8>>, usize);

impl InputStream for Bytes {
    fn read_chunk(&mut self, buf: &mut [u8]) -> io::Result<(usize, bool)> {
        let end = (self.1 + buf.len()).min(self.0.len());
        let n = end - self.1;
        buf[..n].copy_from_slice(&self.0[self.1..end]);
        self.1 = end;
        Ok((n, self.1 < self.0.len()))
    }
}

/// The farm: one piece per stdin line, its stdin the line.
pub struct StdinLines {
    opts: ExecOpts,
    rx: Option<Receiver<io::Result<String>>>,
    line_no: u64,
}

impl StdinLines {
    pub fn new(opts: ExecOpts) -> StdinLines {
        StdinLines { opts, rx: None, line_no: 0 }
    }
}

impl PieceSource for StdinLines {
    fn next(&mut self) -> Next {
        let Some(rx) = self.rx.as_ref() else { return Next::Wait };
        match rx.try_recv() {
            Ok(Ok(line)) => {
                self.line_no += 1;
                let n = self.line_no as i64;
                let bytes = Arc::new(format!("{line}\n").into_bytes());
                let opener: InputOpener = Box::new(move || Ok(Box::new(Bytes(Arc::clone(&bytes), 0)) as _));
                let label = format!("stdin line {n}");
                Next::Piece(self.opts.piece(self.line_no - 1, n, n + 1, Some(opener), label))
            }
            Ok(Err(e)) => {
                eprintln!("pisubmit: reading stdin after line {}: {e}", self.line_no);
                Next::Done
            }
            Err(TryRecvError::Empty) => Next::Wait,
            Err(TryRecvError::Disconnected) => Next::Done,
        }
    }

    fn total(&self) -> Option<usize> {
        None
    }

    fn set_waker(&mut self, waker: Arc<Waker>) {
        self.rx = Some(crate::submit::plans::farm::read_lines(io::BufReader::new(io::stdin()), waker));
    }
}

/// Writes each piece's output whole, in piece order (through an
/// `OrderedWriter`) or as pieces finish.
pub struct ExecOutput {
    out: Out,
    /// Output of pieces still running (the engine hands a piece's partials
    /// over only once it has finished, so a re-run adds nothing twice).
    open: BTreeMap<usize, Vec<u8>>,
    pub pieces: usize,
    pub bytes: u64,
}

enum Out {
    Ordered(OrderedWriter<Raw>),
    AsTheyFinish(Box<dyn Write>),
}

/// Finished pieces that may wait for an earlier one in ordered mode.
const LOOKAHEAD: usize = 1024;

impl ExecOutput {
    /// To `path` (written whole or not at all, when the pieces are known)
    /// or to stdout.
    pub fn new(ordered: bool, path: Option<&PathBuf>, pieces: Option<usize>) -> Result<ExecOutput, OutputError> {
        let out = match (ordered, path, pieces) {
            (true, Some(path), Some(n)) => Out::Ordered(OrderedWriter::create(path.clone(), n, Raw)?),
            (ordered, path, _) => {
                let sink: Box<dyn Write> = match path {
                    Some(p) => Box::new(
                        std::fs::File::create(p).map_err(|error| OutputError::Create { path: p.clone(), error })?,
                    ),
                    None => Box::new(io::stdout()),
                };
                if ordered {
                    Out::Ordered(OrderedWriter::stream(sink, Raw))
                } else {
                    Out::AsTheyFinish(sink)
                }
            }
        };
        Ok(ExecOutput { out, open: BTreeMap::new(), pieces: 0, bytes: 0 })
    }

    pub fn finish(self) -> Result<(), OutputError> {
        match self.out {
            Out::Ordered(w) => w.finish().map(|_| ()),
            Out::AsTheyFinish(mut w) => w.flush().map_err(the_output),
        }
    }
}

fn the_output(error: io::Error) -> OutputError {
    OutputError::Write { name: "the output".into(), error }
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
            Out::AsTheyFinish(w) => Ok(w.write_all(&output).and_then(|_| w.flush()).map_err(the_output)?),
        }
    }

    fn lookahead(&self) -> Option<usize> {
        matches!(self.out, Out::Ordered(_)).then_some(LOOKAHEAD)
    }
}
