//! exec's options, and the pieces they cut: a range, blocks of a file's
//! lines, or (for the stdin farm) one piece per line.

use crate::jobs::exec::Params;
use crate::jobs::JobKind;
use crate::ranges::split_signed;
use crate::submit::cluster::engine::{Cores, InputOpener, InputStream, Piece};
use crate::submit::error::SubmitError;
use std::io;
use std::path::PathBuf;
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
    pub(super) fn piece(&self, index: u64, start: i64, end: i64, input: Option<InputOpener>, label: String) -> Piece {
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

    /// How many pieces a range is cut into on a cluster of `threads`
    /// threads (None: not a range).
    pub fn range_parts(&self, threads: usize) -> Option<u64> {
        match self.mode {
            Mode::Range { pieces, .. } => Some(pieces.unwrap_or(threads as u64 * 4)),
            _ => None,
        }
    }

    /// The pieces of a range or a file on a cluster of `threads` threads.
    pub fn pieces(&self, threads: usize) -> Result<Vec<Piece>, SubmitError> {
        self.pieces_in(self.range_parts(threads).unwrap_or(0))
    }

    /// The pieces of a range (cut into `parts`: a resumed job log's cut)
    /// or a file, known before the run.
    pub fn pieces_in(&self, parts: u64) -> Result<Vec<Piece>, SubmitError> {
        match &self.mode {
            Mode::Range { start, end, .. } => Ok(split_signed(*start, *end, parts)
                .into_iter()
                .enumerate()
                .map(|(i, (a, b))| self.piece(i as u64, a, b, None, format!("piece {i} ({a}..{b})")))
                .collect()),
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
pub(super) struct Bytes(pub(super) Arc<Vec<u8>>, pub(super) usize);

impl InputStream for Bytes {
    fn read_chunk(&mut self, buf: &mut [u8]) -> io::Result<(usize, bool)> {
        let end = (self.1 + buf.len()).min(self.0.len());
        let n = end - self.1;
        buf[..n].copy_from_slice(&self.0[self.1..end]);
        self.1 = end;
        Ok((n, self.1 < self.0.len()))
    }
}
