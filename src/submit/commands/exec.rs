//! `pisubmit exec NAME`: a job program (installed on the workers) run over
//! pieces of a numeric range, over the lines of a file, or as a task farm
//! fed from stdin. Each piece is one run of the program on one core; its
//! stdout is the piece's output, written in piece order (or as pieces
//! finish with --unordered) to stdout or --output. A piece whose program
//! fails runs again on another worker, up to --retries.

use crate::jobs::exec::Params;
use crate::jobs::jobdir::check_name;
use crate::jobs::JobKind;
use crate::submit::cli::{count, next_flag, number, seconds, text, unknown, usage};
use crate::submit::cluster::engine::{Cores, Gatherer, InputOpener, InputStream, Next, Piece, PieceSource};
use crate::submit::error::SubmitError;
use crate::submit::report::output::{OrderedWriter, Raw};
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
    pub json: bool,
    pub name: String,
    pub mode: Mode,
    pub ordered: bool,
    pub output: Option<PathBuf>,
    /// Per-piece limits asked of the workers (they may allow less).
    pub time_limit: Option<Duration>,
    pub memory_limit: Option<u64>,
}

pub fn parse_exec(p: &mut lexopt::Parser) -> Result<ExecOpts, SubmitError> {
    use lexopt::prelude::*;
    let name = match p.next().map_err(|e| usage(e.to_string()))? {
        Some(Value(v)) => v.into_string().map_err(|v| usage(format!("exec: job name {v:?} is not valid UTF-8")))?,
        _ => return Err(usage("exec: give the job program's name first: pisubmit exec NAME --range A..B")),
    };
    check_name(&name).map_err(|e| usage(format!("exec: {e}")))?;
    let mut o = ExecOpts {
        json: false,
        name,
        mode: Mode::Farm,
        ordered: true,
        output: None,
        time_limit: None,
        memory_limit: None,
    };
    let (mut range, mut pieces, mut lines, mut block) = (None, None, None, 1usize);
    while let Some(flag) = next_flag(p, "exec")? {
        match flag.as_str() {
            "json" => o.json = true,
            "range" => {
                let v = text(p, "--range")?;
                let (a, b) = v.split_once("..").ok_or_else(|| usage(format!("--range: {v:?} is not A..B")))?;
                let (a, b): (i64, i64) = (number(a, "--range", "an integer")?, number(b, "--range", "an integer")?);
                if b <= a {
                    return Err(usage(format!("--range: {v} is empty (B must be above A; B is not included)")));
                }
                range = Some((a, b));
            }
            "pieces" => {
                let n = count(&text(p, "--pieces")?, "--pieces")?;
                if n == 0 {
                    return Err(usage("--pieces must be at least 1"));
                }
                pieces = Some(n);
            }
            "lines" => lines = Some(PathBuf::from(text(p, "--lines")?)),
            "block" => {
                block = number(&text(p, "--block")?, "--block", "a whole number of lines")?;
                if block == 0 {
                    return Err(usage("--block must be at least 1 line"));
                }
            }
            "ordered" => o.ordered = true,
            "unordered" => o.ordered = false,
            "output" => o.output = Some(PathBuf::from(text(p, "--output")?)),
            "time-limit" => o.time_limit = Some(seconds(&text(p, "--time-limit")?, "--time-limit")?),
            "memory-limit" => {
                let v = text(p, "--memory-limit")?;
                let bytes = crate::daemon::config::parse_size(&v)
                    .filter(|&b| b >= 1 << 20)
                    .ok_or_else(|| usage(format!("--memory-limit: {v:?} is not a size of at least 1M, like 256M")))?;
                o.memory_limit = Some(bytes);
            }
            other => return Err(unknown("exec", other)),
        }
    }
    o.mode = match (range, lines) {
        (Some(_), Some(_)) => return Err(usage("exec: give --range or --lines, not both")),
        (Some((start, end)), None) => Mode::Range { start, end, pieces },
        (None, Some(file)) => Mode::Lines { file, block },
        (None, None) => Mode::Farm,
    };
    if pieces.is_some() && !matches!(o.mode, Mode::Range { .. }) {
        return Err(usage("exec: --pieces goes with --range"));
    }
    if block != 1 && !matches!(o.mode, Mode::Lines { .. }) {
        return Err(usage("exec: --block goes with --lines"));
    }
    Ok(o)
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
                let len = (*end as i128 - *start as i128) as u128;
                let n = pieces.unwrap_or(threads as u64 * 4).max(1) as u128;
                let n = n.min(len);
                let (base, extra) = (len / n, len % n);
                let mut at = *start as i128;
                Ok((0..n)
                    .map(|i| {
                        let size = base + u128::from(i < extra);
                        let (a, b) = (at as i64, (at + size as i128) as i64);
                        at += size as i128;
                        self.piece(i as u64, a, b, None, format!("piece {i} ({a}..{b})"))
                    })
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
    pub fn new(ordered: bool, path: Option<&PathBuf>, pieces: Option<usize>) -> Result<ExecOutput, String> {
        let out = match (ordered, path, pieces) {
            (true, Some(path), Some(n)) => Out::Ordered(OrderedWriter::create(path.clone(), n, Raw)?),
            (ordered, path, _) => {
                let sink: Box<dyn Write> = match path {
                    Some(p) => {
                        Box::new(std::fs::File::create(p).map_err(|e| format!("cannot create {}: {e}", p.display()))?)
                    }
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

    pub fn finish(self) -> Result<(), String> {
        match self.out {
            Out::Ordered(w) => w.finish().map(|_| ()),
            Out::AsTheyFinish(mut w) => w.flush().map_err(|e| format!("writing the output: {e}")),
        }
    }
}

impl Gatherer for ExecOutput {
    fn partial(&mut self, piece: usize, payload: &[u8]) -> Result<(), String> {
        self.open.entry(piece).or_default().extend_from_slice(payload);
        Ok(())
    }

    fn result(&mut self, piece: usize, payload: &[u8]) -> Result<(), String> {
        crate::jobs::exec::decode_result(payload).map_err(|e| e.message)?;
        self.pieces += 1;
        let output = self.open.remove(&piece).unwrap_or_default();
        self.bytes += output.len() as u64;
        match &mut self.out {
            Out::Ordered(w) => {
                w.write(piece, &output)?;
                w.piece_done(piece)
            }
            Out::AsTheyFinish(w) => {
                w.write_all(&output).and_then(|_| w.flush()).map_err(|e| format!("writing the output: {e}"))
            }
        }
    }

    fn lookahead(&self) -> Option<usize> {
        matches!(self.out, Out::Ordered(_)).then_some(LOOKAHEAD)
    }
}

/// Runs `pisubmit exec`. The programs' output is the command's stdout
/// (unless --output), so the report goes to stderr then.
pub fn run(inv: &crate::submit::cli::Invocation, opts: &ExecOpts) -> Result<String, SubmitError> {
    use crate::submit::cluster::engine::{Engine, PieceList};
    use crate::submit::cluster::hosts::HostsFile;
    use crate::submit::commands::{engine_options, report_json, report_text};
    use crate::submit::plans::Answer;
    use crate::submit::report::json::Json;
    let started = std::time::Instant::now();
    let json = inv.json || opts.json;
    if json && opts.output.is_none() {
        return Err(usage("exec: --json needs --output FILE (stdout carries the programs' output)"));
    }
    if let Some(dir) = opts.output.as_ref().and_then(|p| p.parent()).filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            return Err(usage(format!("--output: no directory {}", dir.display())));
        }
    }
    if let Mode::Lines { file, .. } = &opts.mode {
        std::fs::metadata(file).map_err(|e| usage(format!("--lines {}: {e}", file.display())))?;
    }
    let hosts_file = match &inv.hosts_file {
        Some(path) => Some(HostsFile::open(path).map_err(SubmitError::Usage)?.0),
        None => None,
    };
    let mut engine = Engine::connect(inv.hosts.clone(), hosts_file, engine_options(inv, started)?)?;
    let run_started = std::time::Instant::now();
    let pieces = match opts.mode {
        Mode::Farm => None,
        _ => Some(opts.pieces(engine.total_threads())?),
    };
    let count = pieces.as_ref().map(Vec::len);
    let mut gather =
        ExecOutput::new(opts.ordered, opts.output.as_ref(), count).map_err(|e| usage(format!("--output: {e}")))?;
    match pieces {
        None => engine.run(&mut StdinLines::new(opts.clone()), &mut gather)?,
        Some(pieces) => engine.run(&mut PieceList::new(pieces), &mut gather)?,
    }
    let (pieces, bytes) = (gather.pieces, gather.bytes);
    gather.finish().map_err(SubmitError::Job)?;
    let wall = run_started.elapsed();
    let answer = Answer {
        result: Json::Int(pieces as i128),
        extra: vec![("output_bytes", Json::Int(i128::from(bytes)))],
        text: format!("{pieces} pieces of {}, {bytes} bytes of output", opts.name),
    };
    let name = format!("exec {}", opts.name);
    let reports = engine.reports();
    if json {
        return Ok(report_json(&name, answer, wall, &reports));
    }
    let report = report_text(&name, answer, wall, &reports);
    match &opts.output {
        Some(path) => Ok(format!("{report}  output in {}\n", path.display())),
        None => {
            eprint!("{report}");
            Ok(String::new())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<ExecOpts, SubmitError> {
        let mut p = lexopt::Parser::from_iter(std::iter::once("exec").chain(args.iter().copied()));
        parse_exec(&mut p)
    }

    #[test]
    fn modes_and_mistakes() {
        let o = parse(&["primes", "--range", "1..1000", "--pieces", "7"]).unwrap();
        assert_eq!(o.mode, Mode::Range { start: 1, end: 1000, pieces: Some(7) });
        let pieces = o.pieces(2).unwrap();
        assert_eq!(pieces.len(), 7);
        assert_eq!(parse(&["x"]).unwrap().mode, Mode::Farm);
        let err = |a: &[&str]| parse(a).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err(&["../x"]).contains("contains '/'"));
        assert!(err(&[".hidden"]).contains("starts with a dot"));
        assert!(err(&["/bin/sh"]).contains("contains '/'"));
        assert!(err(&[]).contains("give the job program's name"));
        assert!(err(&["x", "--range", "5..5"]).contains("empty"));
        assert!(err(&["x", "--range", "1..5", "--lines", "f"]).contains("not both"));
        assert!(err(&["x", "--pieces", "3"]).contains("--pieces goes with --range"));
        assert!(err(&["x", "--memory-limit", "12"]).contains("at least 1M"));
    }

    #[test]
    fn range_pieces_cover_it_exactly() {
        let o = parse(&["p", "--range", "-5..6", "--pieces", "4"]).unwrap();
        let spans: Vec<(i64, i64)> = o
            .pieces(1)
            .unwrap()
            .iter()
            .map(|p| {
                let q = Params::decode(&p.params).unwrap();
                (q.start, q.end)
            })
            .collect();
        assert_eq!(spans, [(-5, -2), (-2, 1), (1, 4), (4, 6)]);
        // More pieces than numbers: one number each.
        assert_eq!(parse(&["p", "--range", "0..3", "--pieces", "9"]).unwrap().pieces(1).unwrap().len(), 3);
    }
}
