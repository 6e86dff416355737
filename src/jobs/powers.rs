//! `powers`: x^p for every number x of a broadcast vector and every exponent
//! p of a scattered list (seed 003's bcast / scatter / gather).
//!
//! The result is one row per exponent, in the order the exponents came.
//! Integer exponents are computed by repeated squaring in plain IEEE
//! arithmetic, so every machine (x86-64, arm64, armhf) gives the same bits;
//! other exponents use the platform's `powf`.

use super::context::WorkerContext;
use super::error::JobError;
use super::memory::{tasks_cost, times, Need, Reservation};
use super::running::{expect_output, PartialSink, RunningJob, Task, TaskOutput};
use crate::protocol::{WireReader, WireWrite};
use crate::ranges::split;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Values in one result: 8 MiB of f64, well under the default frame limit.
pub const MAX_VALUES: usize = 1 << 20;

#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    pub nums: Vec<f64>,
    pub exps: Vec<f64>,
}

impl Params {
    pub fn encode(&self) -> Vec<u8> {
        let mut p = Vec::with_capacity(8 + 8 * (self.nums.len() + self.exps.len()));
        p.put_f64_list(&self.nums);
        p.put_f64_list(&self.exps);
        p
    }

    pub fn decode(payload: &[u8]) -> Result<Params, JobError> {
        let mut r = WireReader::new(payload);
        let p = Params { nums: r.f64_list("powers.nums")?, exps: r.f64_list("powers.exps")? };
        r.finish("powers params")?;
        p.validate()?;
        Ok(p)
    }

    pub fn validate(&self) -> Result<(), JobError> {
        if self.nums.is_empty() || self.exps.is_empty() {
            return Err(JobError::bad_params(format!(
                "powers: needs at least one number and one exponent (got {} and {})",
                self.nums.len(),
                self.exps.len()
            )));
        }
        if self.nums.len().saturating_mul(self.exps.len()) > MAX_VALUES {
            return Err(JobError::bad_params(format!(
                "powers: {} numbers x {} exponents exceeds {MAX_VALUES} results per job; send fewer exponents per job",
                self.nums.len(),
                self.exps.len()
            )));
        }
        Ok(())
    }
}

/// x^p, bit-identical across platforms for integer p.
pub fn power(x: f64, p: f64) -> f64 {
    if p.fract() == 0.0 && p.abs() <= i32::MAX as f64 {
        let mut n = p.abs() as u32;
        let (mut base, mut acc) = (x, 1.0);
        while n > 0 {
            if n & 1 == 1 {
                acc *= base;
            }
            base *= base;
            n >>= 1;
        }
        if p < 0.0 {
            1.0 / acc
        } else {
            acc
        }
    } else {
        x.powf(p)
    }
}

/// One row per exponent: `[x^p for x in nums]`.
pub fn rows(nums: &[f64], exps: &[f64]) -> Vec<Vec<f64>> {
    exps.iter().map(|&p| nums.iter().map(|&x| power(x, p)).collect()).collect()
}

pub fn encode_rows(rows: &[Vec<f64>]) -> Vec<u8> {
    let cols = rows.first().map_or(0, Vec::len);
    let mut out = Vec::with_capacity(8 + rows.len() * cols * 8);
    out.put_u32(rows.len() as u32);
    out.put_u32(cols as u32);
    rows.iter().flatten().for_each(|v| out.put_f64(*v));
    out
}

pub fn decode_rows(payload: &[u8]) -> Result<Vec<Vec<f64>>, JobError> {
    let mut r = WireReader::new(payload);
    let (rows, cols) = (r.u32("powers.rows")? as usize, r.u32("powers.cols")? as usize);
    // Rows of zero columns would pass the size check at any count, so the
    // counts are capped too (found by fuzzing).
    if rows > MAX_VALUES || cols > MAX_VALUES || rows.saturating_mul(cols).saturating_mul(8) > r.remaining() {
        return Err(JobError::failed(format!(
            "powers: result of {rows}x{cols} needs {} bytes of values, the payload has {} left",
            rows.saturating_mul(cols).saturating_mul(8),
            r.remaining()
        )));
    }
    let table = (0..rows).map(|_| (0..cols).map(|_| r.f64("powers.value").map_err(JobError::from)).collect()).collect();
    r.skip_later_fields();
    table
}

struct Running {
    params: Arc<Params>,
    threads: usize,
    /// Row blocks by their first exponent's index, put in order at the end.
    blocks: Vec<(usize, Vec<Vec<f64>>)>,
    _memory: Reservation,
}

/// What a powers job allocates: its parameters, the table its tasks make
/// (a Vec per row), the rows gathered in order and the encoded result (a
/// second copy of the table), and its tasks.
pub fn memory_need(p: &Params, threads: usize) -> Need {
    let (nums, exps) = (p.nums.len() as u64, p.exps.len() as u64);
    let table = times(times(nums, exps), 8);
    let rows = times(exps, 2 * std::mem::size_of::<Vec<f64>>() as u64);
    let bytes = times(nums.saturating_add(exps), 8)
        .saturating_add(times(table, 2))
        .saturating_add(rows)
        .saturating_add(tasks_cost(threads as u64));
    let why = "8-byte results, the table and its encoded copy";
    Need::new(format!("powers table of {nums} numbers x {exps} exponents"), bytes, why)
}

pub(super) fn start(payload: &[u8], ctx: WorkerContext) -> Result<Box<dyn RunningJob>, JobError> {
    let params = Params::decode(payload)?;
    let _memory = ctx.memory.reserve(memory_need(&params, ctx.threads))?;
    Ok(Box::new(Running { params: Arc::new(params), threads: ctx.threads, blocks: Vec::new(), _memory }))
}

impl RunningJob for Running {
    fn take_tasks(&mut self) -> Vec<Task> {
        split(0, self.params.exps.len() as u64, self.threads as u64)
            .into_iter()
            .map(|(a, b)| {
                let params = Arc::clone(&self.params);
                Box::new(move |_: &AtomicBool| {
                    let (a, b) = (a as usize, b as usize);
                    Box::new((a, rows(&params.nums, &params.exps[a..b]))) as TaskOutput
                }) as Task
            })
            .collect()
    }

    fn task_done(&mut self, output: TaskOutput, _sink: &mut dyn PartialSink) -> Result<(), JobError> {
        self.blocks.push(expect_output::<(usize, Vec<Vec<f64>>)>(output, "powers")?);
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<Vec<u8>, JobError> {
        self.blocks.sort_by_key(|(first, _)| *first);
        let all: Vec<Vec<f64>> = self.blocks.into_iter().flat_map(|(_, rows)| rows).collect();
        Ok(encode_rows(&all))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::kind::JobKind;
    use crate::jobs::needs_exactly::assert_needs_exactly;

    #[test]
    fn memory_counts_the_table_twice_and_a_vec_per_row() {
        // The largest table: 2^20 values of 8 bytes, made and then encoded.
        let p = Params { nums: vec![2.0; 1024], exps: vec![1.0; 1024] };
        let rows = 1024 * 2 * std::mem::size_of::<Vec<f64>>() as u64;
        let need = 8 * 2048 + 2 * (8 << 20) + rows + (64 << 10) + 2 * 160;
        assert_needs_exactly(JobKind::Powers, start, &p.encode(), 2, need);
    }

    #[test]
    fn seed_003_table() {
        let nums = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let out = rows(&nums, &[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(out[1], vec![1.0, 4.0, 9.0, 16.0, 25.0, 36.0]);
        assert_eq!(out[4][5], 7776.0);
        assert_eq!(decode_rows(&encode_rows(&out)).unwrap(), out);
    }

    #[test]
    fn integer_and_fractional_exponents() {
        assert_eq!(power(2.0, -2.0), 0.25);
        assert_eq!(power(0.0, 0.0), 1.0);
        assert_eq!(power(9.0, 0.5), 3.0);
        assert_eq!(power(2.0, 40.0), (1u64 << 40) as f64);
        assert_eq!(power(-3.0, 3.0), -27.0);
    }

    #[test]
    fn empty_or_oversized_is_refused() {
        let p = Params { nums: vec![], exps: vec![1.0] };
        assert!(Params::decode(&p.encode()).unwrap_err().message.contains("at least one number"));
        let p = Params { nums: vec![1.0; 2048], exps: vec![1.0; 1024] };
        assert!(Params::decode(&p.encode()).unwrap_err().message.contains("exceeds"));
    }
}
