//! echo's head half: a pattern streamed through the workers in pieces
//! and checked on return.

use crate::jobs::echo;
use crate::jobs::JobKind;
use crate::ranges::chunks;
use crate::submit::cluster::engine::{Cores, GatherError, Gatherer, InputOpener, InputStream, Piece};
use crate::submit::error::SubmitError;
use crate::submit::plans::plan::{bad_result, Plan};
use crate::submit::report::json::Json;
use crate::submit::report::summary::Answer;
use std::io;

/// Bytes per echo piece.
const ECHO_PIECE: u64 = 1 << 20;

struct EchoPlan {
    /// Per piece: its first byte's offset in the stream, and bytes seen back.
    pieces: Vec<(u64, u64)>,
    total: u64,
}

pub fn plan(bytes: u64) -> (Vec<Piece>, Box<dyn Plan>) {
    let ranges = if bytes == 0 { vec![(0, 0)] } else { chunks(0, bytes, ECHO_PIECE) };
    let pieces = ranges
        .iter()
        .map(|&(start, end)| {
            // The empty echo carries no input at all: the protocol's floor.
            let input: Option<InputOpener> = (end > start).then(|| {
                Box::new(move || Ok(Box::new(Pattern { pos: start, end }) as Box<dyn InputStream>)) as InputOpener
            });
            Piece {
                kind: JobKind::Echo,
                params: Vec::new(),
                input,
                cores: Cores::All,
                label: format!("bytes {start}..{end}"),
            }
        })
        .collect();
    let state = ranges.iter().map(|&(start, _)| (start, 0)).collect();
    (pieces, Box::new(EchoPlan { pieces: state, total: bytes }))
}

/// The test stream `echo` sends: `echo::pattern_byte` at each offset.
struct Pattern {
    pos: u64,
    end: u64,
}

impl InputStream for Pattern {
    fn read_chunk(&mut self, buf: &mut [u8]) -> io::Result<(usize, bool)> {
        let n = (self.end - self.pos).min(buf.len() as u64) as usize;
        for (offset, b) in (self.pos..).zip(&mut buf[..n]) {
            *b = echo::pattern_byte(offset);
        }
        self.pos += n as u64;
        Ok((n, self.pos < self.end))
    }
}

impl Gatherer for EchoPlan {
    fn partial(&mut self, piece: usize, payload: &[u8]) -> Result<(), GatherError> {
        let (start, seen) = &mut self.pieces[piece];
        let at = *start + *seen;
        if let Some(i) = payload.iter().enumerate().position(|(i, &b)| b != echo::pattern_byte(at + i as u64)) {
            return Err(GatherError::BadAnswer(format!(
                "echoed byte at offset {} differs from what was sent",
                at + i as u64
            )));
        }
        *seen += payload.len() as u64;
        Ok(())
    }
    fn result(&mut self, piece: usize, payload: &[u8]) -> Result<(), GatherError> {
        let n = echo::decode_result(payload).map_err(bad_result)?;
        if n != self.pieces[piece].1 {
            return Err(GatherError::BadAnswer(format!(
                "worker counted {n} bytes but echoed {}",
                self.pieces[piece].1
            )));
        }
        Ok(())
    }
}

impl Plan for EchoPlan {
    fn finish(self: Box<Self>) -> Result<Answer, SubmitError> {
        let back: u64 = self.pieces.iter().map(|p| p.1).sum();
        if back != self.total {
            return Err(SubmitError::Job(format!("sent {} bytes but {back} came back", self.total)));
        }
        Ok(Answer {
            result: Json::Int(back.into()),
            extra: vec![],
            text: format!("{back} bytes sent and returned intact"),
        })
    }
}
