//! pi's head half: the darts cut into pieces; hits are counted exactly.

use crate::jobs::pi;
use crate::jobs::JobKind;
use crate::ranges::chunks;
use crate::submit::cluster::engine::{GatherError, Gatherer, Piece};
use crate::submit::error::SubmitError;
use crate::submit::plans::cut::{piece_size, MIN_PIECE_WORK, PIECE_WORK};
use crate::submit::plans::plan::{bad_result, piece, Plan};
use crate::submit::report::json::Json;
use crate::submit::report::summary::Answer;

struct PiPlan {
    counts: pi::Counts,
}

pub fn plan(samples: u64, seed: u64, hosts: usize) -> (Vec<Piece>, Box<dyn Plan>) {
    let pieces = chunks(0, samples, piece_size(samples, PIECE_WORK, MIN_PIECE_WORK, hosts))
        .into_iter()
        .map(|(i0, i1)| piece(JobKind::Pi, pi::Params { seed, i0, i1 }.encode(), format!("darts {i0}..{i1}")))
        .collect();
    (pieces, Box::new(PiPlan { counts: pi::Counts::default() }))
}

impl Gatherer for PiPlan {
    fn partial(&mut self, _: usize, _: &[u8]) -> Result<(), GatherError> {
        Err(GatherError::BadAnswer("pi sends no partial results".into()))
    }
    fn result(&mut self, _: usize, payload: &[u8]) -> Result<(), GatherError> {
        self.counts.merge(pi::Counts::decode(payload).map_err(bad_result)?);
        Ok(())
    }
}

impl Plan for PiPlan {
    fn finish(self: Box<Self>) -> Result<Answer, SubmitError> {
        let c = self.counts;
        let est = c.estimate();
        Ok(Answer {
            result: Json::Float(est),
            extra: vec![("inside", Json::Int(c.inside.into())), ("samples", Json::Int(c.samples.into()))],
            text: format!(
                "{est} ({} of {} darts inside; error {:+.2e})",
                c.inside,
                c.samples,
                est - std::f64::consts::PI
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pi_ranges(samples: u64, hosts: usize) -> Vec<(u64, u64)> {
        let (pieces, _) = plan(samples, 1, hosts);
        pieces.iter().map(|p| pi::Params::decode(&p.params).map(|q| (q.i0, q.i1)).expect("pi params")).collect()
    }

    #[test]
    fn a_large_cluster_gets_smaller_pieces_and_every_host_some() {
        // One host: the usual 2^26 darts a piece.
        assert_eq!(pi_ranges(1_000_000_000, 1).len(), 15);
        // 240 hosts: about four pieces each (the floor of 2^20 darts cuts
        // it to 954), the same darts, no gap or overlap.
        let ranges = pi_ranges(1_000_000_000, 240);
        assert!(ranges.len() >= 3 * 240, "{} pieces", ranges.len());
        assert_eq!(ranges.first().map(|r| r.0), Some(0));
        assert_eq!(ranges.last().map(|r| r.1), Some(1_000_000_000));
        assert!(ranges.windows(2).all(|w| w[0].1 == w[1].0));
        // Never below the floor, however many hosts.
        assert!(pi_ranges(10_000_000, 10_000).iter().all(|(a, b)| b - a >= MIN_PIECE_WORK || *b == 10_000_000));
        assert_eq!(piece_size(0, PIECE_WORK, MIN_PIECE_WORK, 0), MIN_PIECE_WORK);
    }
}
