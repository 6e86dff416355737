//! powers' head half: the exponents cut into pieces of rows, put back
//! in order.

use crate::jobs::powers;
use crate::jobs::JobKind;
use crate::ranges::chunks;
use crate::submit::cluster::engine::{GatherError, Gatherer, Piece};
use crate::submit::error::SubmitError;
use crate::submit::plans::plan::{bad_result, number, piece, Plan};
use crate::submit::report::json::Json;
use crate::submit::report::summary::Answer;

struct PowersPlan {
    rows: Vec<Option<Vec<Vec<f64>>>>,
    exps: Vec<f64>,
}

pub fn plan(nums: &[f64], exps: &[f64]) -> (Vec<Piece>, Box<dyn Plan>) {
    // About 64 Ki results per piece, always within a worker's per-job limit.
    let per_piece = ((1usize << 16) / nums.len().max(1)).clamp(1, powers::MAX_VALUES / nums.len().max(1));
    let ranges = chunks(0, exps.len() as u64, per_piece as u64);
    let pieces: Vec<Piece> = ranges
        .iter()
        .map(|&(a, b)| {
            let params = powers::Params { nums: nums.to_vec(), exps: exps[a as usize..b as usize].to_vec() };
            piece(JobKind::Powers, params.encode(), format!("exponents #{a}..#{b}"))
        })
        .collect();
    let rows = vec![None; pieces.len()];
    (pieces, Box::new(PowersPlan { rows, exps: exps.to_vec() }))
}

impl Gatherer for PowersPlan {
    fn partial(&mut self, _: usize, _: &[u8]) -> Result<(), GatherError> {
        Err(GatherError::BadAnswer("powers sends no partial results".into()))
    }
    fn result(&mut self, piece: usize, payload: &[u8]) -> Result<(), GatherError> {
        self.rows[piece] = Some(powers::decode_rows(payload).map_err(bad_result)?);
        Ok(())
    }
}

impl Plan for PowersPlan {
    fn finish(self: Box<Self>) -> Result<Answer, SubmitError> {
        let rows: Vec<Vec<f64>> = self.rows.into_iter().flatten().flatten().collect();
        let mut text = String::new();
        for (p, row) in self.exps.iter().zip(&rows) {
            let cells: Vec<String> = row.iter().map(|v| v.to_string()).collect();
            text.push_str(&format!("\n  ^{p}: {}", cells.join(" ")));
        }
        let result = Json::Array(rows.iter().map(|r| Json::Array(r.iter().map(|v| number(*v)).collect())).collect());
        Ok(Answer { result, extra: vec![], text })
    }
}
