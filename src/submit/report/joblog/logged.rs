//! A run with a job log: the source skips the pieces an earlier run
//! finished (checking that each is the piece that was logged), and the
//! gatherer logs each piece as it finishes, or, for a job with an output
//! file, once its output is in the file.

use super::error::JoblogError;
use super::journal::Journal;
use super::line::{epoch_seconds, Entry, Span};
use crate::submit::cluster::engine::{GatherError, Gatherer, Landed, Next, PieceRecord, PieceSource};
use mio::Waker;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::Arc;

/// What the source and the gatherer share: the engine numbers the pieces
/// it runs from 0, the log by the piece's place in the whole job.
#[derive(Default)]
struct Numbers {
    /// For each piece the engine runs: (piece number, params hash).
    of_run: Vec<(usize, u64)>,
    /// A skipped piece that is not the one logged: the run stops.
    mismatch: Option<JoblogError>,
}

/// The hash a log keeps of a piece's kind and parameters.
pub fn params_hash(kind: u8, params: &[u8]) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(&[kind]);
    h.update(params);
    h.digest()
}

/// `params_hash`, with the piece's input when the source says the input
/// is what the piece is (`PieceSource::input_hash`: a stdin line).
fn piece_hash(kind: u8, params: &[u8], input: Option<u64>) -> u64 {
    let Some(input) = input else { return params_hash(kind, params) };
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(&[kind]);
    h.update(params);
    h.update(&input.to_le_bytes());
    h.digest()
}

/// The source's side: skips logged pieces.
pub struct SkipLogged<'a> {
    source: &'a mut dyn PieceSource,
    /// Logged pieces: number -> (log line, params hash).
    done: HashMap<usize, (usize, u64)>,
    next_number: usize,
    numbers: Rc<RefCell<Numbers>>,
    path: std::path::PathBuf,
}

/// The gatherer's side: logs pieces as they finish.
pub struct LogPieces<'a> {
    inner: &'a mut dyn Gatherer,
    journal: &'a mut Journal,
    numbers: Rc<RefCell<Numbers>>,
    /// Results between `result` and `finished`.
    results: HashMap<usize, Vec<u8>>,
    /// Finished pieces whose output has not reached the file yet.
    waiting: BTreeMap<usize, Entry>,
    landed: Vec<Landed>,
}

/// The two halves for one run. `done` maps logged piece numbers to their
/// log line and params hash.
pub fn split<'a>(
    source: &'a mut dyn PieceSource,
    inner: &'a mut dyn Gatherer,
    journal: &'a mut Journal,
    done: HashMap<usize, (usize, u64)>,
    path: &std::path::Path,
) -> (SkipLogged<'a>, LogPieces<'a>) {
    let numbers = Rc::new(RefCell::new(Numbers::default()));
    let skip = SkipLogged { source, done, next_number: 0, numbers: Rc::clone(&numbers), path: path.into() };
    let log =
        LogPieces { inner, journal, numbers, results: HashMap::new(), waiting: BTreeMap::new(), landed: Vec::new() };
    (skip, log)
}

impl SkipLogged<'_> {
    /// Why the run stopped early, if a piece was not the one logged.
    pub fn mismatch(&self) -> Option<JoblogError> {
        self.numbers.borrow_mut().mismatch.take()
    }
}

impl SkipLogged<'_> {
    /// The source has no more pieces: a log that holds a piece past its
    /// last was made with a longer input (stdin), not this one.
    fn ended(&mut self) -> Next {
        let beyond = self.done.iter().filter(|(&n, _)| n >= self.next_number).min_by_key(|(&n, _)| n);
        if let Some((&number, &(line, _))) = beyond {
            self.numbers.borrow_mut().mismatch = Some(JoblogError::BadLine {
                path: self.path.clone(),
                line,
                why: format!(
                    "piece {number} is logged as done, but the input ended after {} pieces (the input or the \
                     command changed)",
                    self.next_number
                ),
            });
        }
        Next::Done
    }
}

impl PieceSource for SkipLogged<'_> {
    fn next(&mut self) -> Next {
        loop {
            let piece = match self.source.next() {
                Next::Piece(p) => p,
                Next::Done => return self.ended(),
                Next::Wait => return Next::Wait,
            };
            let number = self.next_number;
            self.next_number += 1;
            let hash = piece_hash(piece.kind.to_u8(), &piece.params, self.source.input_hash());
            match self.done.get(&number) {
                None => {
                    self.numbers.borrow_mut().of_run.push((number, hash));
                    return Next::Piece(piece);
                }
                Some(&(_, logged)) if logged == hash => continue,
                Some(&(line, _)) => {
                    self.numbers.borrow_mut().mismatch = Some(JoblogError::BadLine {
                        path: self.path.clone(),
                        line,
                        why: format!(
                            "piece {number} is not the piece logged there: {} differs (the input or the \
                             command changed)",
                            piece.label
                        ),
                    });
                    return Next::Done;
                }
            }
        }
    }

    fn total(&self) -> Option<usize> {
        self.source.total().map(|t| t.saturating_sub(self.done.len()))
    }

    fn set_waker(&mut self, waker: Arc<Waker>) {
        self.source.set_waker(waker);
    }
}

impl LogPieces<'_> {
    fn number(&self, index: usize) -> (usize, u64) {
        self.numbers.borrow().of_run.get(index).copied().unwrap_or((index, 0))
    }

    fn write(&mut self, mut entry: Entry) -> Result<(), GatherError> {
        self.journal.write(&mut entry).map_err(|e| GatherError::CannotKeep(Box::new(e)))
    }
}

impl Gatherer for LogPieces<'_> {
    fn partial(&mut self, piece: usize, payload: &[u8]) -> Result<(), GatherError> {
        let (number, _) = self.number(piece);
        self.inner.partial(number, payload)
    }

    fn result(&mut self, piece: usize, payload: &[u8]) -> Result<(), GatherError> {
        let (number, _) = self.number(piece);
        self.inner.result(number, payload)?;
        self.results.insert(piece, payload.to_vec());
        Ok(())
    }

    fn lookahead(&self) -> Option<usize> {
        self.inner.lookahead()
    }

    fn writes_output(&self) -> bool {
        self.inner.writes_output()
    }

    fn finished(&mut self, piece: usize, record: &PieceRecord<'_>) -> Result<(), GatherError> {
        let (number, params) = self.number(piece);
        let retries: Vec<String> = record.failed_on.iter().map(|(h, why)| format!("{h} ({why})")).collect();
        let entry = Entry {
            seq: 0,
            piece: number,
            host: record.host.to_string(),
            started: epoch_seconds(record.started),
            runtime: record.runtime,
            send: record.bytes_in,
            receive: record.bytes_out,
            failed: record.gave_up.map(str::to_string),
            retries: retries.join("; "),
            label: record.label.to_string(),
            params,
            output: None,
            result: self.results.remove(&piece).unwrap_or_default(),
        };
        if entry.failed.is_some() || !self.inner.writes_output() {
            return self.write(entry);
        }
        self.waiting.insert(number, entry);
        self.inner.landed(&mut self.landed);
        let landed = std::mem::take(&mut self.landed);
        for l in &landed {
            if let Some(mut entry) = self.waiting.remove(&l.piece) {
                entry.output = Some(Span { start: l.start, len: l.len, hash: l.hash });
                self.write(entry)?;
            }
        }
        self.landed = landed;
        self.landed.clear();
        Ok(())
    }
}
