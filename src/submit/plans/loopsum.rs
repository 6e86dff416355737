//! loopsum's head half: rows of the t range cut into pieces, each
//! piece's exact partial sum added into one `ExactSum`, rounded once.

use crate::jobs::exact_sum::ExactSum;
use crate::jobs::loopsum;
use crate::jobs::JobKind;
use crate::ranges::chunks;
use crate::submit::cluster::engine::{GatherError, Gatherer, Piece};
use crate::submit::error::SubmitError;
use crate::submit::plans::cut::{piece_size, MIN_PIECE_WORK, PIECE_WORK};
use crate::submit::plans::plan::{bad_result, number, piece, Plan};
use crate::submit::report::summary::Answer;

struct LoopsumPlan {
    total: ExactSum,
}

pub fn plan(p: loopsum::Params, hosts: usize) -> (Vec<Piece>, Box<dyn Plan>) {
    let shift = |t: i64| (t + loopsum::MAX_INDEX) as u64;
    let u_len = p.u_len.max(1) as u64;
    let rows = shift(p.t1).saturating_sub(shift(p.t0));
    let rows_per_piece = piece_size(rows, (PIECE_WORK / u_len).max(1), (MIN_PIECE_WORK / u_len).max(1), hosts);
    let pieces = chunks(shift(p.t0), shift(p.t1), rows_per_piece)
        .into_iter()
        .map(|(a, b)| {
            let (t0, t1) = (a as i64 - loopsum::MAX_INDEX, b as i64 - loopsum::MAX_INDEX);
            let params = loopsum::Params { t0, t1, ..p };
            piece(JobKind::Loopsum, params.encode(), format!("rows {t0}..{t1}"))
        })
        .collect();
    (pieces, Box::new(LoopsumPlan { total: ExactSum::new() }))
}

impl Gatherer for LoopsumPlan {
    fn partial(&mut self, _: usize, _: &[u8]) -> Result<(), GatherError> {
        Err(GatherError::BadAnswer("loopsum sends no partial results".into()))
    }
    fn result(&mut self, _: usize, payload: &[u8]) -> Result<(), GatherError> {
        self.total.merge(&loopsum::decode_result(payload).map_err(bad_result)?);
        Ok(())
    }
}

impl Plan for LoopsumPlan {
    fn finish(self: Box<Self>) -> Result<Answer, SubmitError> {
        let v = self.total.value();
        Ok(Answer { result: number(v), extra: vec![], text: format!("{v}") })
    }
}
