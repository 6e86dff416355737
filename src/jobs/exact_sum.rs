//! An exact sum of f64 values, kept as one fixed-point number.
//!
//! Why: floating-point addition is not associative, so an ordinary running
//! sum depends on how the work was split over hosts and threads. Every
//! finite f64 is an integer multiple of 2^-1074, so the exact sum of any of
//! them is N * 2^-1074 for an integer N. This keeps N in signed 64-bit
//! chunks of 32 bits each (Radford Neal's "small superaccumulator"): adding
//! a value is two integer additions where its exponent puts it, with no
//! rounding and no overflow, whatever the order, however large the running
//! sum grows. The answer is N rounded once, half to even. So it is the same
//! bits whatever the split, the order of arrival or the number of retries,
//! also when a running sum leaves f64's range and the total comes back.
//!
//! Infinities and NaN follow IEEE's rules in every order: any NaN gives
//! NaN, +inf with -inf gives NaN, otherwise an infinity gives itself,
//! otherwise the answer is the rounded exact sum of the finite values (an
//! infinity only if that rounding overflows).
//!
//! On the wire an ExactSum is still `special` and a list of f64 partials
//! that a reader adds exactly (docs/PROTOCOL.md), so older peers read it.

mod chunks;
mod partials;
mod rounding;
#[cfg(test)]
pub(crate) mod shewchuk;
#[cfg(test)]
mod tests;

use crate::protocol::{WireError, WireReader, WireWrite};
use chunks::{carry, CHUNKS, CHUNK_BITS};
use rounding::Rounded;

/// Each add puts less than 2^53 into a chunk, and a carried chunk holds
/// less than 2^32, so 1023 adds between carries cannot overflow an i64.
const ADDS_BETWEEN_CARRIES: u32 = 1023;
const MANTISSA_BITS: u32 = 52;
const MANTISSA_MASK: u64 = (1 << MANTISSA_BITS) - 1;
const EXPONENT_MAX: u32 = 0x7ff;
const NEGATIVE_ZERO_BITS: u64 = 1 << 63;
/// f64::MAX is (2^53 - 1) * 2^971, that is (2^53 - 1) units of 2^-1074
/// shifted left by 2045 bits.
const MAX_SHIFT: u32 = 2045;

#[derive(Clone)]
pub struct ExactSum {
    /// N = sum of chunks[i] * 2^(32 i), the finite values' exact sum in
    /// units of 2^-1074.
    chunks: [i64; CHUNKS],
    /// Adds left before the chunks must be carried.
    adds_left: u32,
    /// The sum of the infinities and NaNs added: 0, ±inf or NaN, which is
    /// IEEE's rule for them whatever the order.
    special: f64,
    /// A zero sum is -0.0 when every value added was -0.0 (IEEE's rule).
    saw_negative_zero: bool,
    saw_other_finite: bool,
}

impl Default for ExactSum {
    fn default() -> ExactSum {
        ExactSum {
            chunks: [0; CHUNKS],
            adds_left: ADDS_BETWEEN_CARRIES,
            special: 0.0,
            saw_negative_zero: false,
            saw_other_finite: false,
        }
    }
}

impl ExactSum {
    pub fn new() -> ExactSum {
        ExactSum::default()
    }

    #[inline]
    pub fn add(&mut self, value: f64) {
        let bits = value.to_bits();
        let exponent = (bits >> MANTISSA_BITS) as u32 & EXPONENT_MAX;
        let mut mantissa = bits & MANTISSA_MASK;
        if exponent == EXPONENT_MAX {
            self.special += value;
            return;
        }
        if exponent == 0 {
            if mantissa == 0 {
                self.saw_negative_zero |= bits == NEGATIVE_ZERO_BITS;
                self.saw_other_finite |= bits != NEGATIVE_ZERO_BITS;
                return;
            }
        } else {
            mantissa |= 1 << MANTISSA_BITS;
        }
        self.saw_other_finite = true;
        // value = mantissa * 2^(shift - 1074), subnormals sharing shift 0
        // with the smallest normals.
        let shift = exponent.max(1) - 1;
        // shift <= 2045, so the index is at most 63: the mask only tells the
        // compiler so, which drops the bounds checks.
        let index = (shift / CHUNK_BITS) as usize & 63;
        let within = shift % CHUNK_BITS;
        let low = ((mantissa << within) & 0xffff_ffff) as i64;
        let high = (mantissa >> (CHUNK_BITS - within)) as i64;
        // All ones for a negative value: (x ^ sign) - sign is then -x.
        let sign = (bits as i64) >> 63;
        self.chunks[index] += (low ^ sign) - sign;
        self.chunks[index + 1] += (high ^ sign) - sign;
        self.adds_left -= 1;
        if self.adds_left == 0 {
            self.carry();
        }
    }

    pub fn merge(&mut self, other: &ExactSum) {
        self.carry();
        let mut theirs = other.chunks;
        carry(&mut theirs);
        for (mine, theirs) in self.chunks.iter_mut().zip(theirs) {
            *mine += theirs;
        }
        self.carry();
        self.special += other.special;
        self.saw_negative_zero |= other.saw_negative_zero;
        self.saw_other_finite |= other.saw_other_finite;
    }

    /// The correctly rounded value of the exact sum.
    pub fn value(&self) -> f64 {
        if self.special != 0.0 || self.special.is_nan() {
            return self.special;
        }
        match rounding::round(&self.chunks) {
            Rounded::Zero => self.zero(),
            Rounded::Finite(v) => v,
            Rounded::Overflow(true) => f64::NEG_INFINITY,
            Rounded::Overflow(false) => f64::INFINITY,
        }
    }

    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.put_f64(self.special);
        out.put_f64_list(&self.partials());
    }

    pub fn read_from(r: &mut WireReader<'_>) -> Result<ExactSum, WireError> {
        let special = r.f64("sum.special")?;
        if special.is_finite() && special != 0.0 {
            return Err(WireError::new(
                "sum.special",
                format!("{special} is finite; only 0, an infinity or NaN belongs here (finite values are partials)"),
            ));
        }
        let values = r.f64_list("sum.partials")?;
        // Each partial is added exactly, so any list with the right exact
        // sum reads back to the same value, canonical or not.
        let mut sum = ExactSum { special, ..ExactSum::default() };
        for v in values {
            sum.add(v);
        }
        Ok(sum)
    }

    fn zero(&self) -> f64 {
        if self.saw_negative_zero && !self.saw_other_finite {
            -0.0
        } else {
            0.0
        }
    }

    fn carry(&mut self) {
        carry(&mut self.chunks);
        self.adds_left = ADDS_BETWEEN_CARRIES;
    }
}

/// Equal when they stand for the same sum (the chunks are compared carried).
impl PartialEq for ExactSum {
    fn eq(&self, other: &ExactSum) -> bool {
        let (mut a, mut b) = (self.chunks, other.chunks);
        carry(&mut a);
        carry(&mut b);
        a == b && self.special.to_bits() == other.special.to_bits() && self.zero().to_bits() == other.zero().to_bits()
    }
}

impl std::fmt::Debug for ExactSum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExactSum").field("value", &self.value()).field("partials", &self.partials()).finish()
    }
}
