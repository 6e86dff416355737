//! The exec farm's source: one piece per stdin line, as the lines arrive.
//! Piece numbers follow the lines' order, so a job log can tell on resume
//! which lines were answered (and, by the params hash, that the same line
//! is at the same place).

use super::opts::{Bytes, ExecOpts};
use crate::submit::cluster::engine::{InputOpener, Next, PieceSource};
use mio::Waker;
use std::io;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::Arc;

/// The farm: one piece per stdin line, its stdin the line.
pub struct StdinLines {
    opts: ExecOpts,
    rx: Option<Receiver<io::Result<String>>>,
    line_no: u64,
    /// xxh3 of the line last handed out: what the piece is, beyond its
    /// parameters (a job log keeps it).
    last_line_hash: Option<u64>,
}

impl StdinLines {
    pub fn new(opts: ExecOpts) -> StdinLines {
        StdinLines { opts, rx: None, line_no: 0, last_line_hash: None }
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
                self.last_line_hash = Some(crate::xxh3::xxh3_64(&bytes));
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

    fn input_hash(&self) -> Option<u64> {
        self.last_line_hash
    }

    fn set_waker(&mut self, waker: Arc<Waker>) {
        self.rx = Some(crate::submit::plans::farm::read_lines(crate::submit::report::stdio::input(), waker));
    }
}
