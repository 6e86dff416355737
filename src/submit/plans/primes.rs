//! primes' head half: pieces of whole sieve segments; counts add, the
//! largest is the last piece's, and --output writes the primes in order.
//! Partials come as gaps from 1.4 workers and as u64 primes from older
//! ones; gaps are turned into u64 primes here, so the writer and its
//! format see one form.

use crate::jobs::JobKind;
use crate::jobs::{prime_gaps, primes};
use crate::submit::cluster::engine::{GatherError, Gatherer, Landed, Piece, Replayed};
use crate::submit::error::SubmitError;
use crate::submit::plans::cut::{piece_size, PRIMES_PIECE};
use crate::submit::plans::plan::{bad_result, piece, Output, Plan};
use crate::submit::report::json::Json;
use crate::submit::report::npy::PrimeFile;
use crate::submit::report::output::OrderedWriter;
use crate::submit::report::summary::Answer;
use std::path::PathBuf;

/// Numbers per piece when the primes are written out: about 100,000
/// primes (under 1 MiB) near 10^9, so the pieces held for their turn stay
/// small.
const PRIMES_OUTPUT_PIECE: u64 = 1 << 21;
/// Output pieces that may run ahead of the first unwritten one: with the
/// size above, the head holds at most about 64 MiB of primes.
const OUTPUT_LOOKAHEAD: usize = 64;

struct PrimesPlan {
    summary: primes::Summary,
    writer: Option<OrderedWriter<PrimeFile>>,
    /// A gaps partial's primes as u64s, reused from partial to partial.
    decoded: Vec<u8>,
}

pub fn plan(
    a: u64,
    b: u64,
    output: Option<PathBuf>,
    hosts: usize,
    how: Output<'_>,
) -> Result<(Vec<Piece>, Box<dyn Plan>), SubmitError> {
    let list = output.is_some();
    primes::Params { a, b, list }.validate().map_err(|e| SubmitError::Usage(e.message))?;
    // Whole worker segments, so that no piece sieves a part of one.
    let counting = piece_size(b - a + 1, PRIMES_PIECE, primes::SEGMENT, hosts).next_multiple_of(primes::SEGMENT);
    let size = if list { PRIMES_OUTPUT_PIECE } else { counting };
    // Cut at multiples of `size` from 0, so that [a, b] and any range with
    // the same ends give the same pieces on the same number of hosts.
    let mut ranges = Vec::new();
    let mut lo = a;
    while lo <= b {
        let hi = (lo / size + 1).saturating_mul(size).min(b.saturating_add(1));
        ranges.push((lo, hi));
        lo = hi;
    }
    let writer = match (output, how) {
        (Some(path), Output::Plain) => {
            Some(OrderedWriter::create(path.clone(), ranges.len(), PrimeFile::for_path(&path))?)
        }
        (Some(path), Output::Logged(at)) => {
            Some(OrderedWriter::tracked(path.clone(), ranges.len(), PrimeFile::for_path(&path), at)?)
        }
        (None, _) => None,
    };
    let pieces = ranges
        .into_iter()
        .map(|(lo, hi)| {
            let params = primes::Params { a: lo, b: hi - 1, list }.encode();
            piece(JobKind::Primes, params, format!("numbers {lo}..={}", hi - 1))
        })
        .collect();
    Ok((pieces, Box::new(PrimesPlan { summary: primes::Summary::default(), writer, decoded: Vec::new() })))
}

impl Gatherer for PrimesPlan {
    fn lookahead(&self) -> Option<usize> {
        self.writer.as_ref().map(|_| OUTPUT_LOOKAHEAD)
    }
    fn partial(&mut self, piece: usize, payload: &[u8]) -> Result<(), GatherError> {
        let nobody = || GatherError::BadAnswer("primes sent a list nobody asked for".into());
        let writer = self.writer.as_mut().ok_or_else(nobody)?;
        if !prime_gaps::is_gaps(payload) {
            return Ok(writer.write(piece, payload)?);
        }
        self.decoded.clear();
        // At most a prime a byte.
        self.decoded.reserve(payload.len() * 8);
        let decoded = &mut self.decoded;
        prime_gaps::decode(payload, |p| decoded.extend_from_slice(&p.to_be_bytes()))
            .map_err(|e| GatherError::BadAnswer(e.message))?;
        Ok(writer.write(piece, &self.decoded)?)
    }
    fn result(&mut self, piece: usize, payload: &[u8]) -> Result<(), GatherError> {
        self.summary.merge(primes::Summary::decode(payload).map_err(bad_result)?);
        if let Some(w) = self.writer.as_mut() {
            w.piece_done(piece)?;
        }
        Ok(())
    }
    /// A logged piece: its primes are in the file already.
    fn replay(&mut self, _: usize, logged: &Replayed<'_>) -> Result<(), GatherError> {
        self.summary.merge(primes::Summary::decode(logged.result).map_err(bad_result)?);
        Ok(())
    }
    fn writes_output(&self) -> bool {
        self.writer.is_some()
    }
    fn landed(&mut self, into: &mut Vec<Landed>) {
        if let Some(w) = self.writer.as_mut() {
            w.landed(into);
        }
    }
}

impl Plan for PrimesPlan {
    fn finish(self: Box<Self>) -> Result<Answer, SubmitError> {
        let s = self.summary;
        let mut text =
            format!("{} primes, largest {}", s.count, if s.count == 0 { "none".into() } else { s.max.to_string() });
        let mut extra = vec![("max", if s.count == 0 { Json::Null } else { Json::Int(s.max.into()) })];
        if let Some(path) = self.writer.map(OrderedWriter::finish).transpose()?.flatten() {
            text.push_str(&format!(", written to {}", path.display()));
            extra.push(("output", Json::Str(path.display().to_string())));
        }
        Ok(Answer { result: Json::Int(s.count.into()), extra, text })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primes_pieces_stay_whole_segments() {
        let (pieces, _) = plan(1, 1_000_000_000, None, 240, Output::Plain).expect("a plan");
        assert!(pieces.len() >= 240, "{} pieces", pieces.len());
        for piece in &pieces {
            let p = primes::Params::decode(&piece.params).expect("primes params");
            assert!(p.a == 1 || p.a % primes::SEGMENT == 0, "{} starts inside a segment", p.a);
        }
        let (one_host, _) = plan(1, 1_000_000_000, None, 1, Output::Plain).expect("a plan");
        assert_eq!(one_host.len() as u64, 1_000_000_000u64.div_ceil(PRIMES_PIECE));
    }
}
