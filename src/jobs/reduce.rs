//! `reduce`: sum, min, max or count over a streamed array, folded as the
//! bytes arrive, so a worker's memory does not depend on the array's size.
//!
//! Input is big-endian f64 or i64 values, or text with one number per line
//! (blank lines and lines starting with `#` are skipped). Values may be cut
//! anywhere between `Data` frames: the folder keeps the unfinished tail.
//! f64 sums are exact (`ExactSum`) and i64 sums are kept in i128, so how the
//! array was split never changes the answer.

use super::context::WorkerContext;
use super::error::JobError;
use super::exact_sum::ExactSum;
use super::memory::{Need, Reservation, JOB_BASE_BYTES};
use super::running::{PartialSink, RunningJob};
use crate::protocol::{WireReader, WireWrite};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Sum,
    Min,
    Max,
    Count,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DType {
    F64,
    I64,
    /// Decimal text, one number per line, folded as f64.
    Text,
}

impl Op {
    pub fn parse(s: &str) -> Option<Op> {
        [Op::Sum, Op::Min, Op::Max, Op::Count].into_iter().find(|o| o.name() == s)
    }
    pub fn name(self) -> &'static str {
        match self {
            Op::Sum => "sum",
            Op::Min => "min",
            Op::Max => "max",
            Op::Count => "count",
        }
    }
    fn code(self) -> u8 {
        self as u8
    }
}

impl DType {
    pub fn parse(s: &str) -> Option<DType> {
        [DType::F64, DType::I64, DType::Text].into_iter().find(|d| d.name() == s)
    }
    pub fn name(self) -> &'static str {
        match self {
            DType::F64 => "f64",
            DType::I64 => "i64",
            DType::Text => "text",
        }
    }
    fn code(self) -> u8 {
        self as u8
    }
    /// Bytes per binary value; text has none.
    pub fn width(self) -> Option<usize> {
        match self {
            DType::F64 | DType::I64 => Some(8),
            DType::Text => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    pub op: Op,
    pub dtype: DType,
}

impl Params {
    pub fn encode(&self) -> Vec<u8> {
        vec![self.op.code(), self.dtype.code()]
    }

    pub fn decode(payload: &[u8]) -> Result<Params, JobError> {
        let mut r = WireReader::new(payload);
        let (op, dtype) = (r.u8("reduce.op")?, r.u8("reduce.dtype")?);
        r.finish("reduce params")?;
        let op = [Op::Sum, Op::Min, Op::Max, Op::Count]
            .into_iter()
            .find(|o| o.code() == op)
            .ok_or_else(|| JobError::bad_params(format!("reduce: unknown op {op} (0 sum, 1 min, 2 max, 3 count)")))?;
        let dtype = [DType::F64, DType::I64, DType::Text]
            .into_iter()
            .find(|d| d.code() == dtype)
            .ok_or_else(|| JobError::bad_params(format!("reduce: unknown dtype {dtype} (0 f64, 1 i64, 2 text)")))?;
        Ok(Params { op, dtype })
    }
}

/// The running value of a reduction. Merging two is exact for every op.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Count,
    SumF64(ExactSum),
    /// Sum of text lines: exact in i128 while every line is an integer
    /// (seed 002's long integers), else the exact f64 sum of all lines.
    SumText {
        ints: i128,
        all_ints: bool,
        floats: ExactSum,
    },
    SumI64(i128),
    /// None until the first value.
    MinF64(Option<f64>),
    MaxF64(Option<f64>),
    MinI64(Option<i64>),
    MaxI64(Option<i64>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub count: u64,
    pub value: Value,
}

impl Outcome {
    pub fn empty(params: Params) -> Outcome {
        let value = match (params.op, params.dtype) {
            (Op::Count, _) => Value::Count,
            (Op::Sum, DType::I64) => Value::SumI64(0),
            (Op::Sum, DType::Text) => Value::SumText { ints: 0, all_ints: true, floats: ExactSum::new() },
            (Op::Sum, _) => Value::SumF64(ExactSum::new()),
            (Op::Min, DType::I64) => Value::MinI64(None),
            (Op::Max, DType::I64) => Value::MaxI64(None),
            (Op::Min, _) => Value::MinF64(None),
            (Op::Max, _) => Value::MaxF64(None),
        };
        Outcome { count: 0, value }
    }

    /// A text line's value; `int` when the line was a whole i64.
    fn add_text(&mut self, x: f64, int: Option<i64>) {
        if let Value::SumText { ints, all_ints, floats } = &mut self.value {
            self.count += 1;
            floats.add(x);
            match int {
                Some(i) => *ints += i128::from(i),
                None => *all_ints = false,
            }
        } else {
            self.add_f64(x);
        }
    }

    fn add_f64(&mut self, x: f64) {
        self.count += 1;
        match &mut self.value {
            Value::SumF64(s) => s.add(x),
            Value::MinF64(m) => *m = Some(m.map_or(x, |m| m.min(x))),
            Value::MaxF64(m) => *m = Some(m.map_or(x, |m| m.max(x))),
            _ => {}
        }
    }

    fn add_i64(&mut self, x: i64) {
        self.count += 1;
        match &mut self.value {
            Value::SumI64(s) => *s += i128::from(x),
            Value::MinI64(m) => *m = Some(m.map_or(x, |m| m.min(x))),
            Value::MaxI64(m) => *m = Some(m.map_or(x, |m| m.max(x))),
            _ => {}
        }
    }

    /// Folds another piece's outcome in; both must come from the same params.
    pub fn merge(&mut self, other: &Outcome) -> Result<(), JobError> {
        fn pick<T: Copy>(a: Option<T>, b: Option<T>, f: fn(T, T) -> T) -> Option<T> {
            match (a, b) {
                (Some(a), Some(b)) => Some(f(a, b)),
                (a, b) => a.or(b),
            }
        }
        self.count = self.count.saturating_add(other.count);
        match (&mut self.value, &other.value) {
            (Value::Count, Value::Count) => {}
            (Value::SumF64(a), Value::SumF64(b)) => a.merge(b),
            (Value::SumText { ints, all_ints, floats }, Value::SumText { ints: i2, all_ints: a2, floats: f2 }) => {
                *ints = ints.saturating_add(*i2);
                *all_ints &= *a2;
                floats.merge(f2);
            }
            (Value::SumI64(a), Value::SumI64(b)) => *a = a.saturating_add(*b),
            (Value::MinF64(a), Value::MinF64(b)) => *a = pick(*a, *b, f64::min),
            (Value::MaxF64(a), Value::MaxF64(b)) => *a = pick(*a, *b, f64::max),
            (Value::MinI64(a), Value::MinI64(b)) => *a = pick(*a, *b, i64::min),
            (Value::MaxI64(a), Value::MaxI64(b)) => *a = pick(*a, *b, i64::max),
            (a, b) => return Err(JobError::failed(format!("reduce: cannot merge {a:?} with {b:?}"))),
        }
        Ok(())
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32);
        out.put_u64(self.count);
        let (tag, f, i) = match &self.value {
            Value::Count => (0, None, None),
            Value::SumF64(s) => {
                out.put_u8(1);
                s.write_to(&mut out);
                return out;
            }
            Value::SumText { ints, all_ints, floats } => {
                out.put_u8(7);
                out.put_i128(*ints);
                out.put_u8(u8::from(*all_ints));
                floats.write_to(&mut out);
                return out;
            }
            Value::SumI64(s) => {
                out.put_u8(2);
                out.put_i128(*s);
                return out;
            }
            Value::MinF64(m) => (3, *m, None),
            Value::MaxF64(m) => (4, *m, None),
            Value::MinI64(m) => (5, None, *m),
            Value::MaxI64(m) => (6, None, *m),
        };
        out.put_u8(tag);
        // min/max of an empty array carry no value: the count (0) says so.
        if let Some(f) = f {
            out.put_f64(f);
        }
        if let Some(i) = i {
            out.put_i64(i);
        }
        out
    }

    pub fn decode(payload: &[u8]) -> Result<Outcome, JobError> {
        let mut r = WireReader::new(payload);
        let count = r.u64("reduce.count")?;
        let tag = r.u8("reduce.tag")?;
        let some = count > 0;
        let value = match tag {
            0 => Value::Count,
            1 => Value::SumF64(ExactSum::read_from(&mut r)?),
            2 => Value::SumI64(r.i128("reduce.sum")?),
            7 => Value::SumText {
                ints: r.i128("reduce.ints")?,
                all_ints: r.u8("reduce.all_ints")? != 0,
                floats: ExactSum::read_from(&mut r)?,
            },
            3 => Value::MinF64(if some { Some(r.f64("reduce.min")?) } else { None }),
            4 => Value::MaxF64(if some { Some(r.f64("reduce.max")?) } else { None }),
            5 => Value::MinI64(if some { Some(r.i64("reduce.min")?) } else { None }),
            6 => Value::MaxI64(if some { Some(r.i64("reduce.max")?) } else { None }),
            other => return Err(JobError::failed(format!("reduce: unknown result tag {other}"))),
        };
        r.skip_later_fields();
        Ok(Outcome { count, value })
    }

    /// The answer as people read it: integers print as integers.
    pub fn display_value(&self) -> String {
        match &self.value {
            Value::Count => self.count.to_string(),
            Value::SumF64(s) => format_f64(s.value()),
            Value::SumI64(s) => s.to_string(),
            Value::SumText { ints, all_ints: true, .. } => ints.to_string(),
            Value::SumText { floats, .. } => format_f64(floats.value()),
            Value::MinF64(m) | Value::MaxF64(m) => m.map_or_else(|| "none (empty input)".into(), format_f64),
            Value::MinI64(m) | Value::MaxI64(m) => m.map_or_else(|| "none (empty input)".into(), |v| v.to_string()),
        }
    }
}

/// Shortest text that reads back as the same f64.
pub fn format_f64(v: f64) -> String {
    format!("{v}")
}

/// Folds a byte stream into an `Outcome`, keeping the unfinished value or
/// line that a chunk boundary cut.
pub struct Folder {
    dtype: DType,
    outcome: Outcome,
    /// Bytes of a value or line that continues in the next chunk.
    tail: Vec<u8>,
    /// Bytes consumed so far, so that errors can say where.
    offset: u64,
    /// Longest line accepted in text input; longer means this is not text.
    max_line: usize,
}

impl Folder {
    pub fn new(params: Params) -> Folder {
        Folder { dtype: params.dtype, outcome: Outcome::empty(params), tail: Vec::new(), offset: 0, max_line: 4096 }
    }

    pub fn feed(&mut self, mut data: &[u8]) -> Result<(), JobError> {
        match self.dtype.width() {
            Some(width) => {
                if !self.tail.is_empty() {
                    let need = (width - self.tail.len()).min(data.len());
                    self.tail.extend_from_slice(&data[..need]);
                    data = &data[need..];
                    if self.tail.len() == width {
                        // Folded from a copy on the stack, so that the tail
                        // keeps its buffer for the next value cut in two.
                        let mut value = [0u8; 8];
                        value.copy_from_slice(&self.tail);
                        self.tail.clear();
                        self.fold_binary(&value);
                    }
                }
                let whole = data.len() - data.len() % width;
                self.fold_binary(&data[..whole]);
                self.tail.extend_from_slice(&data[whole..]);
            }
            None => {
                while let Some(nl) = data.iter().position(|&b| b == b'\n') {
                    // The same limit whether or not a frame boundary cut the
                    // line (found by the fuzzing review).
                    if self.tail.len() + nl > self.max_line {
                        return Err(self.line_too_long());
                    }
                    // The line is read where it lies: in the chunk, or in
                    // the tail when a chunk boundary cut it.
                    let line = if self.tail.is_empty() {
                        &data[..nl]
                    } else {
                        self.tail.extend_from_slice(&data[..nl]);
                        &self.tail[..]
                    };
                    let folded = fold_line(&mut self.outcome, &mut self.offset, line);
                    self.tail.clear();
                    folded?;
                    data = &data[nl + 1..];
                }
                self.tail.extend_from_slice(data);
                if self.tail.len() > self.max_line {
                    return Err(self.line_too_long());
                }
            }
        }
        Ok(())
    }

    fn line_too_long(&self) -> JobError {
        JobError::failed(format!(
            "reduce: line at byte {} of the input is longer than {} bytes: is this text?",
            self.offset, self.max_line
        ))
    }

    fn fold_binary(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks_exact(8) {
            let raw =
                u64::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7]]);
            match self.dtype {
                DType::I64 => self.outcome.add_i64(raw as i64),
                _ => self.outcome.add_f64(f64::from_bits(raw)),
            }
        }
        self.offset += bytes.len() as u64;
    }

    /// Ends the stream: a last line without a newline counts; half a binary
    /// value is an error.
    pub fn finish(mut self) -> Result<Outcome, JobError> {
        if !self.tail.is_empty() {
            if self.dtype.width().is_some() {
                return Err(JobError::failed(format!(
                    "reduce: input ends with {} stray bytes at byte {}: not a whole number of 8-byte values",
                    self.tail.len(),
                    self.offset
                )));
            }
            fold_line(&mut self.outcome, &mut self.offset, &self.tail)?;
        }
        Ok(self.outcome)
    }
}

/// Folds one line of text input that starts at byte `*offset` (a free
/// function, so that the line can be borrowed from the folder's tail).
fn fold_line(outcome: &mut Outcome, offset: &mut u64, line: &[u8]) -> Result<(), JobError> {
    let start = *offset;
    *offset += line.len() as u64 + 1;
    let text = std::str::from_utf8(line).map_err(|_| bad_number(start, line))?.trim();
    if text.is_empty() || text.starts_with('#') {
        return Ok(());
    }
    if let Ok(int) = text.parse::<i64>() {
        outcome.add_text(int as f64, Some(int));
    } else {
        let value: f64 = text.parse().map_err(|_| bad_number(start, line))?;
        outcome.add_text(value, None);
    }
    Ok(())
}

fn bad_number(offset: u64, line: &[u8]) -> JobError {
    let shown: String = String::from_utf8_lossy(&line[..line.len().min(40)]).into();
    JobError::failed(format!("reduce: cannot read {shown:?} at byte {offset} of the input as a number"))
}

struct Running {
    folder: Folder,
    _memory: Reservation,
}

/// A reduce job keeps one exact sum and at most one cut line (the input
/// passes through, a frame at a time): a fixed cost, whatever the input.
pub fn memory_need() -> Need {
    Need::new("reduce", JOB_BASE_BYTES, "")
}

pub(super) fn start(payload: &[u8], ctx: WorkerContext) -> Result<Box<dyn RunningJob>, JobError> {
    let folder = Folder::new(Params::decode(payload)?);
    Ok(Box::new(Running { folder, _memory: ctx.memory.reserve(memory_need())? }))
}

impl RunningJob for Running {
    fn input(&mut self, data: &[u8], _sink: &mut dyn PartialSink) -> Result<(), JobError> {
        self.folder.feed(data)
    }

    fn finish(self: Box<Self>) -> Result<Vec<u8>, JobError> {
        Ok(self.folder.finish()?.encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fold_in_chunks(params: Params, bytes: &[u8], chunk: usize) -> Result<Outcome, JobError> {
        let mut f = Folder::new(params);
        for c in bytes.chunks(chunk.max(1)) {
            f.feed(c)?;
        }
        f.finish()
    }

    #[test]
    fn text_sum_min_max_count() {
        let text = b"# seed 002 style\n1234567890123456\n\n-5\n2.5\r\n7";
        let p = |op| Params { op, dtype: DType::Text };
        assert_eq!(fold_in_chunks(p(Op::Sum), text, 3).unwrap().display_value(), "1234567890123460.5");
        assert_eq!(fold_in_chunks(p(Op::Min), text, 1).unwrap().display_value(), "-5");
        assert_eq!(fold_in_chunks(p(Op::Max), text, 100).unwrap().display_value(), "1234567890123456");
        assert_eq!(fold_in_chunks(p(Op::Count), text, 2).unwrap().count, 4);
    }

    #[test]
    fn long_integers_in_text_sum_exactly() {
        let p = Params { op: Op::Sum, dtype: DType::Text };
        let text: String = (0..600_000u64).map(|i| format!("{}\n", 1_234_567_890_123_456u64 + i)).collect();
        let exact: i128 = (0..600_000i128).map(|i| 1_234_567_890_123_456 + i).sum();
        let mut whole = fold_in_chunks(p, text.as_bytes(), 4093).unwrap();
        assert_eq!(whole.display_value(), exact.to_string());
        // One non-integer line turns the answer into the exact f64 sum.
        whole.merge(&fold_in_chunks(p, b"0.5\n", 1).unwrap()).unwrap();
        assert_eq!(whole.display_value(), format_f64(exact as f64));
        assert_eq!(Outcome::decode(&whole.encode()).unwrap(), whole);
    }

    #[test]
    fn errors_say_where() {
        let p = Params { op: Op::Sum, dtype: DType::Text };
        let err = fold_in_chunks(p, b"1\n2\nabc\n", 3).unwrap_err();
        assert_eq!(err.message, "reduce: cannot read \"abc\" at byte 4 of the input as a number");
        let p = Params { op: Op::Sum, dtype: DType::I64 };
        let err = fold_in_chunks(p, &[0u8; 12], 5).unwrap_err();
        assert!(err.message.contains("4 stray bytes at byte 8"), "{}", err.message);
    }

    #[test]
    fn empty_min_has_no_value() {
        let p = Params { op: Op::Min, dtype: DType::I64 };
        let out = fold_in_chunks(p, &[], 1).unwrap();
        assert_eq!(Outcome::decode(&out.encode()).unwrap(), out);
        assert_eq!(out.display_value(), "none (empty input)");
    }

    proptest! {
        #[test]
        fn chunking_and_splitting_never_change_the_answer(
            values in proptest::collection::vec(any::<i64>(), 0..300),
            chunk in 1usize..40,
            cut in 0usize..300,
            op in 0u8..4,
        ) {
            let op = [Op::Sum, Op::Min, Op::Max, Op::Count][op as usize];
            let p = Params { op, dtype: DType::I64 };
            let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_be_bytes()).collect();
            let whole = fold_in_chunks(p, &bytes, 8).unwrap();
            let cut = cut.min(values.len()) * 8;
            let mut a = fold_in_chunks(p, &bytes[..cut], chunk).unwrap();
            a.merge(&fold_in_chunks(p, &bytes[cut..], chunk).unwrap()).unwrap();
            prop_assert_eq!(&a, &whole);
            prop_assert_eq!(Outcome::decode(&a.encode()).unwrap(), whole);
            if op == Op::Sum {
                prop_assert_eq!(a.display_value(), values.iter().map(|v| *v as i128).sum::<i128>().to_string());
            }
        }
    }
}
