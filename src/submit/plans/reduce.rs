//! reduce's head half: the input cut at line (text) or value (binary)
//! boundaries and streamed to the workers, converted to the wire's values
//! on the way (`values`); partial folds merge exactly.

use crate::jobs::reduce;
use crate::jobs::JobKind;
use crate::submit::cluster::engine::{Cores, GatherError, Gatherer, InputOpener, InputStream, Piece};
use crate::submit::error::SubmitError;
use crate::submit::plans::plan::{bad_result, number, Plan};
use crate::submit::plans::values::{Dtype, ReduceInput};
use crate::submit::report::json::Json;
use crate::submit::report::summary::Answer;
use std::path::Path;

/// Bytes of the wire's input per piece: large enough that per-piece
/// overhead does not show, small enough that a lost piece is quick to
/// send again.
const REDUCE_PIECE: u64 = 4 << 20;

struct ReducePlan {
    outcome: reduce::Outcome,
    op: reduce::Op,
}

/// `reduce --input FILE`: a .npy file gives its dtype; `dtype` is the
/// --dtype given, if any.
pub fn plan(op: reduce::Op, dtype: Option<Dtype>, input: &Path) -> Result<(Vec<Piece>, Box<dyn Plan>), SubmitError> {
    plan_input(op, ReduceInput::from_file(input, dtype).map_err(SubmitError::Usage)?)
}

/// The pieces and the gatherer for folding `input` (a file or memory).
pub fn plan_input(op: reduce::Op, input: ReduceInput) -> Result<(Vec<Piece>, Box<dyn Plan>), SubmitError> {
    let cuts = cuts(&input).map_err(|e| SubmitError::Usage(format!("--input {}: {e}", input.name)))?;
    let params = reduce::Params { op, dtype: input.dtype.wire() };
    let pieces = cuts
        .windows(2)
        .map(|w| {
            let (start, end) = (w[0], w[1]);
            let (data, dtype) = (input.data.clone(), input.dtype);
            let open: InputOpener =
                Box::new(move || Ok(Box::new(data.stream(dtype, start, end)?) as Box<dyn InputStream>));
            Piece {
                kind: JobKind::Reduce,
                params: params.encode(),
                input: Some(open),
                cores: Cores::All,
                label: format!("bytes {start}..{end} of {}", input.name),
            }
        })
        .collect();
    Ok((pieces, Box::new(ReducePlan { outcome: reduce::Outcome::empty(params), op })))
}

/// Where pieces start and end, in bytes of the input: whole values of
/// about `REDUCE_PIECE` wire bytes, or whole lines.
fn cuts(input: &ReduceInput) -> std::io::Result<Vec<u64>> {
    let (start, end) = (input.start, input.end);
    let width = input.dtype.width().unwrap_or(8) as u64;
    // Narrow values are widened to 8 bytes: fewer of their bytes a piece.
    let piece_size = REDUCE_PIECE / 8 * width;
    let mut cuts = vec![start];
    let mut nominal = start + piece_size;
    while nominal < end {
        let cut = match input.dtype {
            Dtype::Text => input.data.line_start_at_or_after(nominal, end)?,
            Dtype::Binary(_) => nominal,
        };
        if cut > *cuts.last().unwrap_or(&start) && cut < end {
            cuts.push(cut);
        }
        nominal += piece_size;
    }
    cuts.push(end);
    Ok(cuts)
}

impl Gatherer for ReducePlan {
    fn partial(&mut self, _: usize, _: &[u8]) -> Result<(), GatherError> {
        Err(GatherError::BadAnswer("reduce sends no partial results".into()))
    }
    fn result(&mut self, _: usize, payload: &[u8]) -> Result<(), GatherError> {
        let piece = reduce::Outcome::decode(payload).map_err(bad_result)?;
        self.outcome.merge(&piece).map_err(|e| GatherError::BadAnswer(e.message))
    }
}

impl Plan for ReducePlan {
    fn finish(self: Box<Self>) -> Result<Answer, SubmitError> {
        use reduce::Value;
        let o = self.outcome;
        let result = match &o.value {
            Value::Count => Json::Int(o.count.into()),
            Value::SumF64(s) => number(s.value()),
            Value::SumI64(s) => Json::Int(*s),
            Value::SumText { ints, all_ints: true, .. } => Json::Int(*ints),
            Value::SumText { floats, .. } => number(floats.value()),
            Value::MinF64(m) | Value::MaxF64(m) => m.map_or(Json::Null, number),
            Value::MinI64(m) | Value::MaxI64(m) => m.map_or(Json::Null, |v| Json::Int(v.into())),
        };
        let text = format!("{} = {} over {} values", self.op.name(), o.display_value(), o.count);
        let mut extra = vec![("count", Json::Int(o.count.into()))];
        // JSON has no NaN or infinity: the result is null, and this says
        // which ("NaN", "inf" or "-inf").
        if let Json::Float(v) = result {
            if !v.is_finite() {
                extra.push(("non_finite", Json::Str(reduce::format_f64(v))));
            }
        }
        Ok(Answer { result, extra, text })
    }
}
