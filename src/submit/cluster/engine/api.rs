//! What the engine's callers hand it and get back: where pieces and their input come
//! from, who gathers the answers, the options, and the report on each worker.

use super::gather_error::GatherError;
use crate::jobs::JobKind;
use mio::Waker;
use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where a piece's input comes from, read a chunk at a time.
pub trait InputStream {
    /// Fills the front of `buf` with the next bytes, at most `buf.len()`
    /// of them. Returns how many, and whether more follow (false once the
    /// stream is exhausted: these were the last bytes, maybe none).
    fn read_chunk(&mut self, buf: &mut [u8]) -> io::Result<(usize, bool)>;
}

/// Opens a piece's input; called again if the piece has to be re-run.
pub type InputOpener = Box<dyn Fn() -> io::Result<Box<dyn InputStream>>>;

/// How much of a worker one piece occupies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cores {
    /// The worker splits the piece over all its threads.
    All,
    /// The piece keeps one core busy (task-farm tasks).
    One,
}

/// One unit of work, sent to one worker at a time.
pub struct Piece {
    pub kind: JobKind,
    pub params: Vec<u8>,
    pub input: Option<InputOpener>,
    pub cores: Cores,
    /// For messages: what part of the job this is ("rows 0..626").
    pub label: String,
}

/// What the scheduler asks of a source of pieces.
pub enum Next {
    Piece(Piece),
    /// None now; the source will wake the loop when it has more.
    Wait,
    Done,
}

pub trait PieceSource {
    fn next(&mut self) -> Next;
    /// How many pieces in all, when known in advance (for the progress bar).
    fn total(&self) -> Option<usize>;
    /// Called once with a waker the source may use from another thread.
    fn set_waker(&mut self, _waker: Arc<Waker>) {}
    /// For a job log: a hash of the input of the piece `next` just handed
    /// out, when that input is what the piece is (a stdin line) rather
    /// than data the command's fingerprint already covers (a file). A
    /// resumed run then tells a different line at the same place.
    fn input_hash(&self) -> Option<u64> {
        None
    }
}

/// A fixed list of pieces.
pub struct PieceList(pub VecDeque<Piece>, usize);

impl PieceList {
    pub fn new(pieces: Vec<Piece>) -> PieceList {
        let n = pieces.len();
        PieceList(pieces.into(), n)
    }
}

impl PieceSource for PieceList {
    fn next(&mut self) -> Next {
        self.0.pop_front().map_or(Next::Done, Next::Piece)
    }
    fn total(&self) -> Option<usize> {
        Some(self.1)
    }
}

/// Receives finished pieces: their partial results in order, then the
/// final result. Called once per piece, whatever the retries.
pub trait Gatherer {
    fn partial(&mut self, piece: usize, payload: &[u8]) -> Result<(), GatherError>;
    fn result(&mut self, piece: usize, payload: &[u8]) -> Result<(), GatherError>;
    /// Pieces past the first unfinished one that may run at the same time;
    /// bounds what an ordered writer must hold. None: no bound.
    fn lookahead(&self) -> Option<usize> {
        None
    }
    /// How a piece went, once it is over: after its `result`, or when it
    /// is given up (the job then fails). What a job log records.
    fn finished(&mut self, _piece: usize, _record: &PieceRecord<'_>) -> Result<(), GatherError> {
        Ok(())
    }
    /// A piece finished in an earlier run (a resumed job log): its logged
    /// result; its output, if it had one, is already where it goes.
    fn replay(&mut self, piece: usize, logged: &Replayed<'_>) -> Result<(), GatherError> {
        self.result(piece, logged.result)
    }
    /// For a gatherer that writes an output file: the pieces whose output
    /// has reached the file since the last call, in file order. A job log
    /// records a piece only once its output is there.
    fn landed(&mut self, _into: &mut Vec<Landed>) {}
    /// Whether pieces have output that `landed` reports.
    fn writes_output(&self) -> bool {
        false
    }
    /// The engine has handled what it had and is about to wait (or the
    /// run is over): a gatherer that streams results writes out what it
    /// holds, one write for the results that came in together rather than
    /// one each.
    fn caught_up(&mut self) -> Result<(), GatherError> {
        Ok(())
    }
}

/// A piece's failed tries as messages and job logs give them, appended
/// to `out`: "pi1 (lost); pi2 (exit 3)".
pub fn describe_tries(failed_on: &[(String, String)], out: &mut String) {
    for (i, (host, why)) in failed_on.iter().enumerate() {
        if i > 0 {
            out.push_str("; ");
        }
        for part in [host.as_str(), " (", why.as_str(), ")"] {
            out.push_str(part);
        }
    }
}

/// What a finished (or abandoned) piece did, for a job log.
pub struct PieceRecord<'a> {
    /// What part of the job it is (the piece's label).
    pub label: &'a str,
    /// The worker it finished (or last failed) on.
    pub host: &'a str,
    /// When it was sent there.
    pub started: std::time::SystemTime,
    pub runtime: Duration,
    /// Bytes sent to the worker (parameters and input) and received back
    /// (partials and result), on the attempt that finished.
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// (host, why) of the attempts that failed before.
    pub failed_on: &'a [(String, String)],
    /// None: it finished. Some: why it was given up.
    pub gave_up: Option<&'a str>,
}

/// A piece that an earlier run finished, as its job log holds it.
pub struct Replayed<'a> {
    pub result: &'a [u8],
    /// Bytes of output it wrote, when it writes output.
    pub output_len: u64,
}

/// Where one piece's output went in an output file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Landed {
    pub piece: usize,
    /// Byte offset and length in the file.
    pub start: u64,
    pub len: u64,
    /// xxh3-64 of those bytes, to find a torn or changed file on resume.
    pub hash: u64,
}

/// A per-piece time limit (GNU parallel's `--timeout`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PieceTimeout {
    Absolute(Duration),
    /// A multiple of the median time of the pieces finished so far.
    OfMedian(f64),
}

#[derive(Clone, Debug)]
pub struct Options {
    pub connect_timeout: Duration,
    pub heartbeat_timeout: Duration,
    pub retries: usize,
    pub piece_timeout: Option<PieceTimeout>,
    pub deadline: Option<Instant>,
    /// The cluster key, when the workers require one.
    pub key: Option<Arc<Vec<u8>>>,
}

/// What the report says about one worker.
#[derive(Clone, Debug)]
pub struct HostReport {
    pub address: String,
    pub hostname: String,
    pub arch: String,
    pub software: String,
    pub threads: usize,
    pub pieces: usize,
    pub failures: usize,
    pub busy: Duration,
    pub state: &'static str,
    pub error: Option<String>,
    pub handshake_rtt: Duration,
}
