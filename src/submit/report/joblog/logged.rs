//! A run with a job log: the source skips the pieces an earlier run
//! finished (checking that each is the piece that was logged), and the
//! gatherer logs each piece as it finishes, or, for a job with an output
//! file, once its output is in the file.

use super::error::JoblogError;
use super::journal::{Done, Journal};
use super::line::{epoch_seconds, Entry, Span};
use crate::submit::cluster::engine::{GatherError, Gatherer, Landed, Next, PieceRecord, PieceSource};
use mio::Waker;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;
use std::sync::Arc;

/// Hashes the engine's piece numbers, small integers in order. HashMap's
/// default SipHash guards against keys chosen by an attacker, which these
/// are not, and cost a farm of 0-ms tasks about 1 % of the head's time.
#[derive(Default)]
struct NumberHasher(u64);

impl Hasher for NumberHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_usize(&mut self, n: usize) {
        // Odd multiplier: distinct numbers stay distinct in the low bits
        // the table indexes by, and spread into the high bits it tags with.
        self.0 = (n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

type ByNumber<V> = HashMap<usize, V, BuildHasherDefault<NumberHasher>>;

/// What the source and the gatherer share: the engine numbers the pieces
/// it runs from 0, the log by the piece's place in the whole job.
#[derive(Default)]
struct Numbers {
    /// For each piece the engine has taken and not yet finished, by the
    /// engine's number: (piece number, params hash). The engine takes only
    /// a few pieces ahead of those running, so this stays small however
    /// many pieces the job has (a list of every piece run grew the head by
    /// 16 bytes a piece).
    running: ByNumber<(usize, u64)>,
    /// Pieces the engine has taken: the engine's number of the next one.
    taken: usize,
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
    /// Logged pieces, by number.
    done: &'a BTreeMap<usize, Done>,
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
    results: ByNumber<Vec<u8>>,
    /// Finished pieces whose output has not reached the file yet.
    waiting: BTreeMap<usize, Entry>,
    landed: Vec<Landed>,
    /// Entries written, kept to be filled again: a line per piece then
    /// allocates nothing once the first few are made.
    spare: Vec<Entry>,
    /// Result buffers of entries written, for the next pieces' results.
    spare_results: Vec<Vec<u8>>,
}

/// Spare entries and result buffers kept: more than the pieces that
/// finish between two landings of output.
const SPARE_ENTRIES: usize = 64;
/// A larger result's buffer is freed rather than kept.
const SPARE_RESULT_BYTES: usize = 4096;

/// The two halves for one run; `done` holds the logged pieces.
pub fn split<'a>(
    source: &'a mut dyn PieceSource,
    inner: &'a mut dyn Gatherer,
    journal: &'a mut Journal,
    done: &'a BTreeMap<usize, Done>,
    path: &std::path::Path,
) -> (SkipLogged<'a>, LogPieces<'a>) {
    let numbers = Rc::new(RefCell::new(Numbers::default()));
    let skip = SkipLogged { source, done, next_number: 0, numbers: Rc::clone(&numbers), path: path.into() };
    let log = LogPieces {
        inner,
        journal,
        numbers,
        results: ByNumber::default(),
        waiting: BTreeMap::new(),
        landed: Vec::new(),
        spare: Vec::new(),
        spare_results: Vec::new(),
    };
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
        if let Some((&number, &Done { line, .. })) = self.done.range(self.next_number..).next() {
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
                    let mut numbers = self.numbers.borrow_mut();
                    let index = numbers.taken;
                    numbers.taken += 1;
                    numbers.running.insert(index, (number, hash));
                    return Next::Piece(piece);
                }
                Some(logged) if logged.params == hash => continue,
                Some(&Done { line, .. }) => {
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
        self.numbers.borrow().running.get(&index).copied().unwrap_or((index, 0))
    }

    fn write(&mut self, mut entry: Entry) -> Result<(), GatherError> {
        let written = self.journal.write(&mut entry).map_err(|e| GatherError::CannotKeep(Box::new(e)));
        if self.spare.len() < SPARE_ENTRIES {
            self.spare.push(entry);
        }
        written
    }

    /// An entry for `record`, made from a spare one when there is one.
    fn entry(&mut self, number: usize, params: u64, result: Vec<u8>, record: &PieceRecord<'_>) -> Entry {
        let mut entry = self.spare.pop().unwrap_or_else(Entry::empty);
        entry.piece = number;
        entry.host.clear();
        entry.host.push_str(record.host);
        entry.started = epoch_seconds(record.started);
        entry.runtime = record.runtime;
        entry.send = record.bytes_in;
        entry.receive = record.bytes_out;
        entry.failed = record.gave_up.map(str::to_string);
        entry.retries.clear();
        for (i, (host, why)) in record.failed_on.iter().enumerate() {
            if i > 0 {
                entry.retries.push_str("; ");
            }
            entry.retries.push_str(&format!("{host} ({why})"));
        }
        entry.label.clear();
        entry.label.push_str(record.label);
        entry.params = params;
        entry.output = None;
        let spare_result = std::mem::replace(&mut entry.result, result);
        self.recycle(spare_result);
        entry
    }

    /// A result buffer to keep for the next piece's result.
    fn recycle(&mut self, mut buffer: Vec<u8>) {
        buffer.clear();
        if buffer.capacity() > 0 && buffer.capacity() <= SPARE_RESULT_BYTES && self.spare_results.len() < SPARE_ENTRIES
        {
            self.spare_results.push(buffer);
        }
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
        let mut kept = self.spare_results.pop().unwrap_or_default();
        kept.extend_from_slice(payload);
        self.results.insert(piece, kept);
        Ok(())
    }

    fn lookahead(&self) -> Option<usize> {
        self.inner.lookahead()
    }

    fn writes_output(&self) -> bool {
        self.inner.writes_output()
    }

    fn finished(&mut self, piece: usize, record: &PieceRecord<'_>) -> Result<(), GatherError> {
        // Its last word: the engine says nothing more of this piece.
        let (number, params) = self.numbers.borrow_mut().running.remove(&piece).unwrap_or((piece, 0));
        let result = self.results.remove(&piece).unwrap_or_default();
        let entry = self.entry(number, params, result, record);
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

#[cfg(test)]
mod tests {
    use super::super::header::Header;
    use super::super::journal::{open, Resume};
    use super::super::read::read_log;
    use super::*;
    use crate::jobs::JobKind;
    use crate::submit::cluster::engine::{Cores, Piece, PieceList};
    use std::time::{Duration, SystemTime};

    /// The job's piece numbers that reach the gatherer, in order.
    #[derive(Default)]
    struct Seen(Vec<usize>);

    impl Gatherer for Seen {
        fn partial(&mut self, _: usize, _: &[u8]) -> Result<(), GatherError> {
            Ok(())
        }
        fn result(&mut self, piece: usize, _: &[u8]) -> Result<(), GatherError> {
            self.0.push(piece);
            Ok(())
        }
    }

    fn piece(i: u8) -> Piece {
        Piece { kind: JobKind::Pi, params: vec![i], input: None, cores: Cores::All, label: format!("piece {i}") }
    }

    fn hash(i: u8) -> u64 {
        params_hash(JobKind::Pi.to_u8(), &[i])
    }

    #[test]
    fn pieces_run_keep_the_jobs_numbers_and_are_forgotten_once_finished() {
        let dir = std::env::temp_dir().join(format!("piworker-logged-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("run.log");
        let _ = std::fs::remove_file(&path);
        let mut session = open(&path, Resume::No, Header::new("test", Vec::new(), 1)).unwrap();
        let mut source = PieceList::new((0..5).map(piece).collect());
        let mut seen = Seen::default();
        // Pieces 1 and 3 were done in an earlier run.
        let logged = |line, i| Done { line, params: hash(i), output: None, result: Box::new([]) };
        let done = BTreeMap::from([(1, logged(7, 1)), (3, logged(8, 3))]);
        let (mut skip, mut log) = split(&mut source, &mut seen, &mut session.journal, &done, &path);
        let mut taken = Vec::new();
        while let Next::Piece(p) = skip.next() {
            taken.push(p.label);
        }
        assert_eq!(taken, ["piece 0", "piece 2", "piece 4"]);
        // The engine calls them 0, 1 and 2, and they finish out of order.
        for index in [2, 0, 1] {
            let record = PieceRecord {
                label: "",
                host: "pi1",
                started: SystemTime::now(),
                runtime: Duration::from_millis(3),
                bytes_in: 1,
                bytes_out: 1,
                failed_on: &[],
                gave_up: None,
            };
            log.result(index, &[index as u8]).unwrap();
            log.finished(index, &record).unwrap();
        }
        assert!(log.numbers.borrow().running.is_empty(), "a finished piece is still held");
        drop((skip, log));
        assert_eq!(seen.0, [4, 0, 2]);
        session.journal.sync().unwrap();
        let mut lines: Vec<(usize, u64, Vec<u8>)> = Vec::new();
        read_log(
            &path,
            |_| Ok(()),
            |_, e| {
                lines.push((e.piece, e.params, e.result));
                Ok(())
            },
        )
        .unwrap()
        .expect("a log");
        assert_eq!(lines, [(4, hash(4), vec![2]), (0, hash(0), vec![0]), (2, hash(2), vec![1])]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
