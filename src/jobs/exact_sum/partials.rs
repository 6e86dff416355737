//! The partials an ExactSum is sent as: finite f64 values whose exact sum
//! is the sum, smallest magnitude first.
//!
//! Why this form: each is the rest rounded (N rounded, then what is left
//! rounded, ...), so they do not overlap and an older peer's Shewchuk sum
//! reads them exactly. A sum beyond f64's range has no such first value, so
//! ±f64::MAX is taken out until the rest is in range: about |N| / f64::MAX
//! parts, at most about as many as values were added. They are taken out
//! many at a time (one exact integer subtraction), not one by one, since a
//! piece of 4 MiB of f64::MAX needs half a million of them.

use super::chunks::{carry, CHUNKS, CHUNK_BITS};
use super::rounding::{self, Rounded};
use super::{ExactSum, MAX_SHIFT};

impl ExactSum {
    pub(super) fn partials(&self) -> Vec<f64> {
        let mut rest = self.clone();
        let mut parts = Vec::new();
        loop {
            let part = match rounding::round(&rest.chunks) {
                Rounded::Zero => break,
                Rounded::Finite(v) => v,
                Rounded::Overflow(negative) => {
                    let max = if negative { -f64::MAX } else { f64::MAX };
                    let many = rest.take_out_maxes(negative);
                    parts.extend(std::iter::repeat_n(max, many as usize));
                    if many > 0 {
                        continue;
                    }
                    max
                }
            };
            parts.push(part);
            rest.add(-part);
        }
        if parts.is_empty() && self.zero().is_sign_negative() {
            parts.push(-0.0);
        }
        parts.reverse();
        parts
    }

    /// Takes k * f64::MAX out of a sum beyond f64's range (toward zero; k a
    /// little less than |N| / f64::MAX, or 0 when that is only a few) and
    /// returns k.
    fn take_out_maxes(&mut self, negative: bool) -> u64 {
        carry(&mut self.chunks);
        // |N| / 2^1024 from the top chunks: close enough for a k that
        // leaves a positive rest of a few f64::MAX per 2^40.
        let top: f64 =
            (CHUNKS - 8..CHUNKS).map(|i| self.chunks[i] as f64 * 2f64.powi(CHUNK_BITS as i32 * i as i32 - 2098)).sum();
        let estimate = top.abs() * (1.0 - 1.0 / (1u64 << 40) as f64) - 2.0;
        if estimate < 4.0 {
            return 0;
        }
        let k = estimate.min((1u64 << 62) as f64) as u64;
        // k * (2^53 - 1) << 2045, as 32-bit chunks from chunk 63 up.
        let units = u128::from(k) * ((1u128 << 53) - 1);
        let (first, within) = ((MAX_SHIFT / CHUNK_BITS) as usize, MAX_SHIFT % CHUNK_BITS);
        let pieces = [
            (units << within) as u64 & 0xffff_ffff,
            (units >> (CHUNK_BITS - within)) as u64 & 0xffff_ffff,
            (units >> (2 * CHUNK_BITS - within)) as u64 & 0xffff_ffff,
            (units >> (3 * CHUNK_BITS - within)) as u64,
        ];
        for (i, piece) in pieces.into_iter().enumerate() {
            let piece = piece as i64;
            self.chunks[first + i] += if negative { piece } else { -piece };
        }
        carry(&mut self.chunks);
        k
    }
}
