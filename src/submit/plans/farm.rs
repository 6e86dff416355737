//! The task farm: many independent tasks read from stdin as they arrive
//! (seed 001: log files produced one every few seconds, each analysed for
//! 1 to 60 s), each scheduled as soon as a core is free anywhere, results
//! written as they finish or in input order.
//!
//! A task line is `MILLISECONDS [TEXT]` for the built-in `spin` kind, which
//! keeps one core busy that long and returns the line. A line that is not a
//! task is reported with its number and skipped; the others still run.

use crate::jobs::{spin, JobKind};
use crate::submit::cluster::engine::{Cores, GatherError, Gatherer, Landed, Next, Piece, PieceSource, Replayed};
use crate::submit::report::json::Json;
use crate::submit::report::output::OutputError;
use crate::submit::report::stdio;
use mio::Waker;
use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufRead, BufWriter, Write};
use std::sync::mpsc::{channel, Receiver, TryRecvError};
use std::sync::Arc;

/// Tasks read from stdin by a thread, handed over as they come.
pub struct StdinTasks {
    rx: Option<Receiver<std::io::Result<String>>>,
    line_no: usize,
    pub invalid: Vec<String>,
}

impl StdinTasks {
    pub fn new() -> StdinTasks {
        StdinTasks { rx: None, line_no: 0, invalid: Vec::new() }
    }

    fn start<R: BufRead + Send + 'static>(&mut self, reader: R, waker: Arc<Waker>) {
        self.rx = Some(read_lines(reader, waker));
    }
}

/// Reads `reader` on its own thread, waking the loop at each line and at
/// the end (then the receiver is disconnected). Used for task farms, whose
/// tasks arrive on stdin as they come.
pub fn read_lines<R: BufRead + Send + 'static>(reader: R, waker: Arc<Waker>) -> Receiver<std::io::Result<String>> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in reader.lines() {
            let stop = line.is_err();
            if tx.send(line).is_err() || stop {
                break;
            }
            let _ = waker.wake();
        }
        drop(tx);
        let _ = waker.wake();
    });
    rx
}

impl Default for StdinTasks {
    fn default() -> StdinTasks {
        StdinTasks::new()
    }
}

/// Why a task line is skipped.
#[derive(Debug)]
pub enum TaskError {
    /// The first word, which is not a number of milliseconds.
    NotMillis(String),
    /// Milliseconds past [`spin::MAX_MILLIS`].
    TooLong(u32),
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::NotMillis(first) => write!(f, "{first:?} is not a number of milliseconds"),
            TaskError::TooLong(millis) => write!(f, "{millis} ms is longer than an hour"),
        }
    }
}

impl std::error::Error for TaskError {}

/// Parses one task line: `MILLISECONDS [TEXT]`.
pub fn parse_task(line: &str) -> Result<spin::Params, TaskError> {
    let first = line.split_whitespace().next().unwrap_or("");
    let millis: u32 = first.parse().map_err(|_| TaskError::NotMillis(first.to_string()))?;
    if millis > spin::MAX_MILLIS {
        return Err(TaskError::TooLong(millis));
    }
    Ok(spin::Params { millis, payload: line.as_bytes().to_vec() })
}

impl PieceSource for StdinTasks {
    fn next(&mut self) -> Next {
        let Some(rx) = self.rx.as_ref() else { return Next::Wait };
        loop {
            match rx.try_recv() {
                Ok(Ok(line)) => {
                    self.line_no += 1;
                    if line.trim().is_empty() {
                        continue;
                    }
                    match parse_task(&line) {
                        Ok(params) => {
                            return Next::Piece(Piece {
                                kind: JobKind::Spin,
                                params: params.encode(),
                                input: None,
                                cores: Cores::One,
                                label: format!("task on stdin line {}", self.line_no),
                            })
                        }
                        Err(e) => {
                            let msg = format!("stdin line {}: {e}; skipped", self.line_no);
                            eprintln!("pisubmit: {msg}");
                            self.invalid.push(msg);
                        }
                    }
                }
                Ok(Err(e)) => {
                    let msg = format!("reading stdin after line {}: {e}", self.line_no);
                    eprintln!("pisubmit: {msg}");
                    self.invalid.push(msg);
                    return Next::Done;
                }
                Err(TryRecvError::Empty) => return Next::Wait,
                Err(TryRecvError::Disconnected) => return Next::Done,
            }
        }
    }

    fn total(&self) -> Option<usize> {
        None
    }

    fn set_waker(&mut self, waker: Arc<Waker>) {
        self.start(stdio::input(), waker);
    }
}

/// Writes task results to stdout as they come (or in input order), or
/// keeps them for the JSON report.
///
/// With a job log (`logged`), a resumed run does not print the results of
/// logged tasks again (the logged run printed them); the JSON report has
/// them all. A printed task is logged only once its line is out of our
/// buffer (`landed`, after the flush at `caught_up`), so a kill never
/// leaves a task logged whose result was not printed, and the two runs'
/// stdout together are every result.
pub struct FarmOutput {
    ordered: bool,
    json: bool,
    /// Results join the JSON report rather than being written: with
    /// --json on pisubmit's stdout. A library caller's stream takes them
    /// as they come either way.
    collect: bool,
    /// Where results are written (stdout, or a library caller's stream),
    /// out when the engine has caught up (`caught_up`): a write per result
    /// cost a library caller's farm of 0-ms tasks a quarter of its time
    /// (a pipe write and a reader woken for each).
    out: BufWriter<Box<dyn Write>>,
    next: usize,
    /// Results waiting for their turn; None: printed by a logged run.
    held: BTreeMap<usize, Option<Vec<u8>>>,
    pub results: Vec<String>,
    pub count: usize,
    /// With a job log, where the printed tasks are.
    log: Option<Printed>,
}

/// The tasks a logged farm printed, for its job log: those still in the
/// buffer and those written out since the log last asked.
#[derive(Default)]
struct Printed {
    buffered: Vec<Landed>,
    written: Vec<Landed>,
    /// Bytes printed so far: where the next result starts.
    bytes: u64,
}

/// Tasks past the first unfinished one that may run at once in ordered
/// mode: bounds the results held back.
const ORDERED_LOOKAHEAD: usize = 4096;

impl FarmOutput {
    pub fn new(ordered: bool, json: bool) -> FarmOutput {
        FarmOutput {
            ordered,
            json,
            collect: json && !stdio::redirected(),
            out: BufWriter::with_capacity(64 << 10, stdio::output()),
            next: 0,
            held: BTreeMap::new(),
            results: Vec::new(),
            count: 0,
            log: None,
        }
    }

    /// For a job log: printed results are logged once written out.
    pub fn logged(mut self) -> FarmOutput {
        if !self.collect {
            self.log = Some(Printed::default());
        }
        self
    }

    fn emit(&mut self, piece: usize, payload: &[u8]) -> Result<(), OutputError> {
        self.count += 1;
        let line = String::from_utf8_lossy(payload);
        if self.collect {
            self.results.push(line.into_owned());
            return Ok(());
        }
        let write = |error| OutputError::Write { name: "a result".into(), error };
        self.out.write_all(line.as_bytes()).and_then(|_| self.out.write_all(b"\n")).map_err(write)?;
        if let Some(log) = &mut self.log {
            let len = line.len() as u64 + 1;
            log.buffered.push(Landed { piece, start: log.bytes, len, hash: crate::xxh3::xxh3_64(line.as_bytes()) });
            log.bytes += len;
        }
        Ok(())
    }

    /// Prints the results whose turn has come.
    fn catch_up(&mut self) -> Result<(), OutputError> {
        while let Some(held) = self.held.remove(&self.next) {
            match held {
                Some(p) => self.emit(self.next, &p)?,
                None => self.count += 1,
            }
            self.next += 1;
        }
        Ok(())
    }

    pub fn json_results(&self) -> Json {
        Json::Array(self.results.iter().map(|r| Json::Str(r.clone())).collect())
    }
}

impl Gatherer for FarmOutput {
    fn partial(&mut self, _: usize, _: &[u8]) -> Result<(), GatherError> {
        Err(GatherError::BadAnswer("a task sent a partial result".into()))
    }

    fn result(&mut self, piece: usize, payload: &[u8]) -> Result<(), GatherError> {
        if !self.ordered {
            return Ok(self.emit(piece, payload)?);
        }
        self.held.insert(piece, Some(payload.to_vec()));
        Ok(self.catch_up()?)
    }

    fn lookahead(&self) -> Option<usize> {
        self.ordered.then_some(ORDERED_LOOKAHEAD)
    }

    /// Writes out what came in together, in one write: a job log says a
    /// result is printed only after this (one write a result cost a
    /// logged farm of 0-ms tasks about 5 % of its time).
    fn caught_up(&mut self) -> Result<(), GatherError> {
        self.out
            .flush()
            .map_err(|error| GatherError::from(OutputError::Write { name: "the results".into(), error }))?;
        if let Some(log) = &mut self.log {
            log.written.append(&mut log.buffered);
        }
        Ok(())
    }

    /// A task a logged run did: in the JSON report again, not printed again.
    fn replay(&mut self, piece: usize, logged: &Replayed<'_>) -> Result<(), GatherError> {
        match (self.json, self.ordered) {
            (true, _) => self.result(piece, logged.result),
            (false, true) => {
                self.held.insert(piece, None);
                Ok(self.catch_up()?)
            }
            (false, false) => {
                self.count += 1;
                Ok(())
            }
        }
    }

    fn writes_output(&self) -> bool {
        self.log.is_some()
    }

    fn landed(&mut self, into: &mut Vec<Landed>) {
        if let Some(log) = &mut self.log {
            into.append(&mut log.written);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_lines() {
        assert_eq!(parse_task("1500 log-03.txt").unwrap().millis, 1500);
        assert_eq!(parse_task("20").unwrap().payload, b"20");
        assert!(parse_task("soon log.txt").unwrap_err().to_string().contains("\"soon\" is not a number"));
        assert!(parse_task("99999999 x").unwrap_err().to_string().contains("longer than an hour"));
    }

    #[test]
    fn ordered_output_waits_for_its_turn() {
        let mut out = FarmOutput::new(true, true);
        out.result(1, b"b").unwrap();
        assert!(out.results.is_empty());
        out.result(0, b"a").unwrap();
        out.result(2, b"c").unwrap();
        assert_eq!(out.results, ["a", "b", "c"]);
        let mut unordered = FarmOutput::new(false, true);
        unordered.result(1, b"b").unwrap();
        unordered.result(0, b"a").unwrap();
        assert_eq!(unordered.results, ["b", "a"]);
    }
}
