//! A run with a job log: the source skips the pieces an earlier run
//! finished (checking that each is the piece that was logged), and the
//! gatherer logs each piece as it finishes, or, for a job with an output
//! file, once its output is in the file.

use super::error::JoblogError;
use super::journal::{Done, Journal};
use super::line::{epoch_seconds, set_record_output, Fields, Span};
use crate::submit::cluster::engine::{describe_tries, GatherError, Gatherer, Landed, Next, PieceRecord, PieceSource};
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

/// A piece the engine has taken and not yet finished.
struct Running {
    /// Its place in the whole job.
    number: usize,
    params: u64,
    /// Its result, once in, until the piece is logged.
    result: Vec<u8>,
}

/// What the source and the gatherer share: the engine numbers the pieces
/// it runs from 0, the log by the piece's place in the whole job.
#[derive(Default)]
struct Numbers {
    /// The pieces taken and not yet finished, by the engine's number. The
    /// engine takes only a few pieces ahead of those running, so this
    /// stays small however many pieces the job has (a list of every piece
    /// run grew the head by 16 bytes a piece). One table for the number,
    /// hash and result: a piece is looked up once when taken, once when
    /// its result comes and once when it finishes, where two tables took
    /// five lookups (docs/PERFORMANCE.md counts what a piece costs).
    running: ByNumber<Running>,
    /// Pieces the engine has taken: the engine's number of the next one.
    taken: usize,
    /// A skipped piece that is not the one logged: the run stops.
    mismatch: Option<JoblogError>,
}

/// The hash a log keeps of a piece's kind and parameters.
pub fn params_hash(kind: u8, params: &[u8]) -> u64 {
    piece_hash(kind, params, None)
}

/// `params_hash`, with the piece's input when the source says the input
/// is what the piece is (`PieceSource::input_hash`: a stdin line).
/// XXH3 of the bytes joined: kind, parameters, then the input's hash.
fn piece_hash(kind: u8, params: &[u8], input: Option<u64>) -> u64 {
    let input = input.map(u64::to_le_bytes);
    let input: &[u8] = input.as_ref().map_or(&[], |i| &i[..]);
    // Joined on the stack for the usual few bytes of parameters: a
    // streaming hasher allocates, once a piece on a farm of 0-ms tasks
    // (and a larger array is a larger memset, every piece).
    let mut joined = [0u8; 64];
    let len = 1 + params.len() + input.len();
    if len <= joined.len() {
        joined[0] = kind;
        joined[1..1 + params.len()].copy_from_slice(params);
        joined[1 + params.len()..len].copy_from_slice(input);
        return crate::xxh3::xxh3_64(&joined[..len]);
    }
    let mut h = crate::xxh3::Xxh3::new();
    h.update(&[kind]);
    h.update(params);
    h.update(input);
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
    /// Records of finished pieces whose output has not reached the file
    /// yet, by piece number (a hash table: cheaper to insert into and
    /// remove from than the BTreeMap it was, for every piece of a farm).
    waiting: ByNumber<Vec<u8>>,
    landed: Vec<Landed>,
    /// The record of a piece logged as it finishes.
    record: Vec<u8>,
    /// The Retries column being made.
    retries: String,
    /// Buffers of results and waiting records done with, for the next
    /// pieces': a line per piece then allocates nothing once the first
    /// few are made.
    spare: Vec<Vec<u8>>,
}

/// Spare buffers kept: more than the pieces that finish between two
/// landings of output.
const SPARE_BUFFERS: usize = 64;
/// A larger buffer is freed rather than kept.
const SPARE_BYTES: usize = 4096;

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
        waiting: ByNumber::default(),
        landed: Vec::new(),
        record: Vec::new(),
        retries: String::new(),
        spare: Vec::new(),
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
                    numbers.running.insert(index, Running { number, params: hash, result: Vec::new() });
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
    fn number(&self, index: usize) -> usize {
        self.numbers.borrow().running.get(&index).map_or(index, |r| r.number)
    }

    fn write(journal: &mut Journal, record: &mut [u8]) -> Result<(), GatherError> {
        journal.write_record(record).map_err(|e| GatherError::CannotKeep(Box::new(e)))
    }

    /// A buffer to keep for the next piece's result or record.
    fn recycle(&mut self, mut buffer: Vec<u8>) {
        buffer.clear();
        if buffer.capacity() > 0 && buffer.capacity() <= SPARE_BYTES && self.spare.len() < SPARE_BUFFERS {
            self.spare.push(buffer);
        }
    }

    /// Logs the waiting pieces whose output has landed, with where it is.
    fn log_landed(&mut self) -> Result<(), GatherError> {
        self.inner.landed(&mut self.landed);
        let landed = std::mem::take(&mut self.landed);
        for l in &landed {
            if let Some(mut waiting) = self.waiting.remove(&l.piece) {
                set_record_output(&mut waiting, Span { start: l.start, len: l.len, hash: l.hash });
                Self::write(self.journal, &mut waiting)?;
                self.recycle(waiting);
            }
        }
        self.landed = landed;
        self.landed.clear();
        Ok(())
    }
}

impl Gatherer for LogPieces<'_> {
    fn partial(&mut self, piece: usize, payload: &[u8]) -> Result<(), GatherError> {
        let number = self.number(piece);
        self.inner.partial(number, payload)
    }

    fn result(&mut self, piece: usize, payload: &[u8]) -> Result<(), GatherError> {
        let number = match self.numbers.borrow_mut().running.get_mut(&piece) {
            Some(running) => {
                if running.result.capacity() == 0 {
                    running.result = self.spare.pop().unwrap_or_default();
                }
                running.result.extend_from_slice(payload);
                running.number
            }
            None => piece,
        };
        self.inner.result(number, payload)
    }

    fn lookahead(&self) -> Option<usize> {
        self.inner.lookahead()
    }

    fn writes_output(&self) -> bool {
        self.inner.writes_output()
    }

    /// Output written out now (a farm's results) lets its pieces' lines go.
    fn caught_up(&mut self) -> Result<(), GatherError> {
        self.inner.caught_up()?;
        self.log_landed()?;
        self.journal.keep_up().map_err(|e| GatherError::CannotKeep(Box::new(e)))
    }

    fn finished(&mut self, piece: usize, record: &PieceRecord<'_>) -> Result<(), GatherError> {
        // Its last word: the engine says nothing more of this piece.
        let Running { number, params, result } = self.numbers.borrow_mut().running.remove(&piece).unwrap_or(Running {
            number: piece,
            params: 0,
            result: Vec::new(),
        });
        self.retries.clear();
        describe_tries(record.failed_on, &mut self.retries);
        let fields = Fields {
            piece: number,
            host: record.host,
            started: epoch_seconds(record.started),
            runtime: record.runtime,
            send: record.bytes_in,
            receive: record.bytes_out,
            failed: record.gave_up,
            retries: &self.retries,
            label: record.label,
            params,
            output: None,
            result: &result,
        };
        if record.gave_up.is_some() || !self.inner.writes_output() {
            self.record.clear();
            fields.encode(0, &mut self.record);
            self.recycle(result);
            return Self::write(self.journal, &mut self.record);
        }
        // Logged once its output is in the file.
        let mut waiting = self.spare.pop().unwrap_or_default();
        fields.encode(0, &mut waiting);
        self.recycle(result);
        self.waiting.insert(number, waiting);
        // Logged at `caught_up`, which the engine calls before it waits
        // and at the end: asking the gatherer here too cost every piece of
        // a farm, whose output lands only then. (The engine calls `result`
        // and then `finished` for a piece with nothing between, so its
        // landing cannot be asked for before its record waits.)
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

    /// Joined on the stack or streamed, a piece's hash is XXH3 of its
    /// kind, parameters and input hash in a row (xxhash-rust's value:
    /// the crate the logs were first written with).
    #[test]
    fn a_piece_hash_is_xxh3_of_the_bytes_joined_however_long() {
        for n in [0, 1, 54, 55, 56, 63, 64, 200, 256, 1000] {
            let params: Vec<u8> = (0..n).map(|i| (i * 7) as u8).collect();
            for input in [None, Some(0x0123_4567_89ab_cdef_u64)] {
                let mut joined = vec![7u8];
                joined.extend_from_slice(&params);
                if let Some(i) = input {
                    joined.extend_from_slice(&i.to_le_bytes());
                }
                assert_eq!(piece_hash(7, &params, input), xxhash_rust::xxh3::xxh3_64(&joined), "{n} bytes, {input:?}");
            }
        }
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
