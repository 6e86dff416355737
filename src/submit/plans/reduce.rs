//! reduce's head half: the input file cut at line (text) or value
//! (binary) boundaries and streamed to the workers; partial folds merge
//! exactly.

use crate::jobs::reduce;
use crate::jobs::JobKind;
use crate::submit::cluster::engine::{Cores, GatherError, Gatherer, InputOpener, InputStream, Piece};
use crate::submit::error::SubmitError;
use crate::submit::plans::plan::{bad_result, number, Plan};
use crate::submit::report::json::Json;
use crate::submit::report::summary::Answer;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

/// Bytes of input per piece: large enough that per-piece overhead does not
/// show, small enough that a lost piece is quick to send again.
const REDUCE_PIECE: u64 = 4 << 20;

struct ReducePlan {
    outcome: reduce::Outcome,
    op: reduce::Op,
}

pub fn plan(op: reduce::Op, dtype: reduce::DType, input: &PathBuf) -> Result<(Vec<Piece>, Box<dyn Plan>), SubmitError> {
    let file = File::open(input).map_err(|e| SubmitError::Usage(format!("--input {}: {e}", input.display())))?;
    let size = file.metadata().map_err(|e| SubmitError::Usage(format!("--input {}: {e}", input.display())))?.len();
    let width = dtype.width().unwrap_or(1) as u64;
    if dtype.width().is_some() && size % width != 0 {
        return Err(SubmitError::Usage(format!(
            "--input {}: {size} bytes is not a whole number of 8-byte {} values",
            input.display(),
            dtype.name()
        )));
    }
    let piece_size = REDUCE_PIECE.div_ceil(width) * width;
    let mut cuts = vec![0u64];
    let mut nominal = piece_size;
    while nominal < size {
        let cut = match dtype.width() {
            Some(_) => nominal,
            None => line_start_at_or_after(&file, nominal)
                .map_err(|e| SubmitError::Usage(format!("--input {}: {e}", input.display())))?,
        };
        if cut > *cuts.last().unwrap_or(&0) && cut < size {
            cuts.push(cut);
        }
        nominal += piece_size;
    }
    cuts.push(size);
    let params = reduce::Params { op, dtype };
    let pieces = cuts
        .windows(2)
        .map(|w| {
            let (start, end) = (w[0], w[1]);
            let path = input.clone();
            let open: InputOpener = Box::new(move || {
                let file = File::open(&path)?;
                Ok(Box::new(FileRange { file, pos: start, end }) as Box<dyn InputStream>)
            });
            Piece {
                kind: JobKind::Reduce,
                params: params.encode(),
                input: Some(open),
                cores: Cores::All,
                label: format!("bytes {start}..{end} of {}", input.display()),
            }
        })
        .collect();
    Ok((pieces, Box::new(ReducePlan { outcome: reduce::Outcome::empty(params), op })))
}

/// Where the line that contains or follows byte `pos` starts, so that text
/// pieces hold whole lines.
fn line_start_at_or_after(file: &File, pos: u64) -> io::Result<u64> {
    let mut buf = [0u8; 4096];
    let mut at = pos - 1;
    loop {
        let n = file.read_at(&mut buf, at)?;
        if n == 0 {
            return Ok(at);
        }
        if let Some(i) = buf[..n].iter().position(|&b| b == b'\n') {
            return Ok(at + i as u64 + 1);
        }
        at += n as u64;
    }
}

/// Streams bytes [pos, end) of a file.
struct FileRange {
    file: File,
    pos: u64,
    end: u64,
}

impl InputStream for FileRange {
    fn read_chunk(&mut self, buf: &mut [u8]) -> io::Result<(usize, bool)> {
        let want = (self.end - self.pos).min(buf.len() as u64) as usize;
        let mut filled = 0;
        while filled < want {
            let n = self.file.read_at(&mut buf[filled..want], self.pos + filled as u64)?;
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the input file shrank while being read"));
            }
            filled += n;
        }
        self.pos += want as u64;
        Ok((want, self.pos < self.end))
    }
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
