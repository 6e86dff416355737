//! Rounds the fixed-point sum N * 2^-1074 to the nearest f64, ties to even.
//!
//! Why by hand: N can be far outside f64's range (thousands of bits), and no
//! floating-point operation on pieces of it rounds only once. Picking the
//! 53 bits below N's top bit and looking at the bits under them is exact.

use super::chunks::CHUNKS;

/// The correctly rounded value of a sum, or why it has none.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rounded {
    Zero,
    Finite(f64),
    /// The rounding is beyond f64::MAX: that infinity, `true` when negative.
    Overflow(bool),
}

/// Digits of |N| in base 2^32: two more than the chunks, for the carries of
/// a top chunk that holds more than 32 bits.
const DIGITS: usize = CHUNKS + 2;

/// Rounds N, given as chunks whose value is the sum of chunk[i] * 2^(32 i);
/// any chunk may be negative or hold more than 32 bits.
pub fn round(chunks: &[i64; CHUNKS]) -> Rounded {
    let Some((negative, digits)) = magnitude(chunks) else {
        return Rounded::Zero;
    };
    let Some(top) = top_bit(&digits) else {
        return Rounded::Zero;
    };
    let with_sign = |v: f64| Rounded::Finite(if negative { -v } else { v });
    if top < 53 {
        // Below 2^53 units of 2^-1074 every value is an f64 as it is: the
        // subnormals and the first binade of normals share this bit layout.
        let n = u64::from(digits[0]) | u64::from(digits[1]) << 32;
        return with_sign(f64::from_bits(n));
    }
    let mut mantissa = bits(&digits, top - 52, 53);
    let half = bits(&digits, top - 53, 1) == 1;
    let below_half = any_below(&digits, top - 53);
    let mut top = top;
    if half && (below_half || mantissa & 1 == 1) {
        mantissa += 1;
        if mantissa == 1 << 53 {
            mantissa >>= 1;
            top += 1;
        }
    }
    // mantissa * 2^(top - 52 - 1074) with mantissa in [2^52, 2^53): the
    // unbiased exponent is top - 1074, the biased one top - 51.
    let exponent = (top - 51) as u64;
    if exponent >= 0x7ff {
        return Rounded::Overflow(negative);
    }
    with_sign(f64::from_bits(exponent << 52 | (mantissa & ((1 << 52) - 1))))
}

/// N's sign and |N| in base-2^32 digits; None when N is zero.
fn magnitude(chunks: &[i64; CHUNKS]) -> Option<(bool, [u32; DIGITS])> {
    let mut wide = [0i128; DIGITS];
    for (w, c) in wide.iter_mut().zip(chunks) {
        *w = i128::from(*c);
    }
    normalize(&mut wide);
    let top = wide.iter().rposition(|&d| d != 0)?;
    // Below the top every digit is in [0, 2^32), so the top digit's sign is
    // N's sign.
    let negative = wide[top] < 0;
    if negative {
        wide.iter_mut().for_each(|d| *d = -*d);
        normalize(&mut wide);
    }
    let mut digits = [0u32; DIGITS];
    for (d, w) in digits.iter_mut().zip(wide) {
        *d = w as u32;
    }
    Some((negative, digits))
}

/// Carries so that every digit but the last is in [0, 2^32).
fn normalize(wide: &mut [i128; DIGITS]) {
    for i in 0..DIGITS - 1 {
        let carry = wide[i] >> 32;
        wide[i] -= carry << 32;
        wide[i + 1] += carry;
    }
}

fn top_bit(digits: &[u32; DIGITS]) -> Option<usize> {
    let i = digits.iter().rposition(|&d| d != 0)?;
    Some(32 * i + 31 - digits[i].leading_zeros() as usize)
}

/// `len` (at most 64) bits of |N| starting at bit `from`.
fn bits(digits: &[u32; DIGITS], from: usize, len: u32) -> u64 {
    let (first, shift) = (from / 32, from % 32);
    let mut window = 0u128;
    for k in (0..3).rev() {
        window = window << 32 | u128::from(digits.get(first + k).copied().unwrap_or(0));
    }
    ((window >> shift) & ((1u128 << len) - 1)) as u64
}

/// Whether any bit of |N| below bit `at` is set.
fn any_below(digits: &[u32; DIGITS], at: usize) -> bool {
    let (whole, part) = (at / 32, at % 32);
    digits[..whole].iter().any(|&d| d != 0) || digits[whole] & ((1u32 << part) - 1) != 0
}
