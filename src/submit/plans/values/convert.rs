//! Values of any reduce dtype turned into the wire's: big-endian f64 for
//! floats, big-endian i64 for integers. Widening is exact (every f32 is
//! an f64, every i32 an i64), so a worker of any minor sums them.
//!
//! The loops work on fixed-size arrays so that the compiler vectorises
//! them: the byte swap of a 1 GiB little-endian f64 file must cost a few
//! percent of a reduce at most.

use super::dtype::{Binary, Kind};

/// Converts the whole values at the front of `src` into `dst`, 8 bytes
/// each; returns how many values. Stops at whichever runs out first; a
/// partial value at the end of `src` is left alone.
pub fn to_wire(dtype: Binary, src: &[u8], dst: &mut [u8]) -> usize {
    let values = (src.len() / dtype.width).min(dst.len() / 8);
    let (src, dst) = (&src[..values * dtype.width], &mut dst[..values * 8]);
    match (dtype.kind, dtype.width, dtype.big_endian) {
        (_, 8, true) => dst.copy_from_slice(src),
        (_, 8, false) => each::<8>(src, dst, u64::from_le_bytes),
        (Kind::Float, 4, big) => each::<4>(src, dst, |b| f64::from(f32::from_bits(u32_of(b, big))).to_bits()),
        (Kind::Signed, 4, big) => each::<4>(src, dst, |b| i64::from(u32_of(b, big) as i32) as u64),
        (Kind::Unsigned, 4, big) => each::<4>(src, dst, |b| u64::from(u32_of(b, big))),
        (Kind::Signed, 2, big) => each::<2>(src, dst, |b| i64::from(u16_of(b, big) as i16) as u64),
        (Kind::Unsigned, 2, big) => each::<2>(src, dst, |b| u64::from(u16_of(b, big))),
        (Kind::Signed, 1, _) => each::<1>(src, dst, |b| i64::from(b[0] as i8) as u64),
        (Kind::Unsigned, 1, _) => each::<1>(src, dst, |b| u64::from(b[0])),
        // `Dtype` makes no other kind of value (no f16, no f8).
        _ => return 0,
    }
    values
}

/// The wire's bytes for all of `src` (whole values of `dtype`), for a
/// caller holding its values in memory.
pub fn wire_values(dtype: Binary, src: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; src.len() / dtype.width * 8];
    let n = to_wire(dtype, src, &mut out);
    out.truncate(n * 8);
    out
}

/// Turns 8-byte little-endian values into big-endian ones where they lie.
pub fn swap_in_place(values: &mut [u8]) {
    for v in values.chunks_exact_mut(8) {
        let mut b = [0u8; 8];
        b.copy_from_slice(v);
        v.copy_from_slice(&u64::from_le_bytes(b).to_be_bytes());
    }
}

fn each<const W: usize>(src: &[u8], dst: &mut [u8], value: impl Fn([u8; W]) -> u64) {
    for (s, d) in src.chunks_exact(W).zip(dst.chunks_exact_mut(8)) {
        let mut b = [0u8; W];
        b.copy_from_slice(s);
        d.copy_from_slice(&value(b).to_be_bytes());
    }
}

fn u32_of(b: [u8; 4], big: bool) -> u32 {
    if big {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    }
}

fn u16_of(b: [u8; 2], big: bool) -> u16 {
    if big {
        u16::from_be_bytes(b)
    } else {
        u16::from_le_bytes(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire_f64(bytes: &[u8]) -> Vec<f64> {
        bytes.chunks_exact(8).map(|c| f64::from_be_bytes(c.try_into().expect("8 bytes"))).collect()
    }
    fn wire_i64(bytes: &[u8]) -> Vec<i64> {
        bytes.chunks_exact(8).map(|c| i64::from_be_bytes(c.try_into().expect("8 bytes"))).collect()
    }
    fn dt(kind: Kind, width: usize, big_endian: bool) -> Binary {
        Binary { kind, width, big_endian }
    }

    #[test]
    fn floats_of_every_width_and_order_become_big_endian_f64() {
        let xs = [1.5f64, -0.0, f64::MAX, 1e-310];
        let le: Vec<u8> = xs.iter().flat_map(|x| x.to_le_bytes()).collect();
        let be: Vec<u8> = xs.iter().flat_map(|x| x.to_be_bytes()).collect();
        assert_eq!(wire_values(dt(Kind::Float, 8, false), &le), be);
        assert_eq!(wire_values(dt(Kind::Float, 8, true), &be), be);
        let ys = [0.1f32, -3.0e38, f32::MIN_POSITIVE / 4.0];
        let widened: Vec<f64> = ys.iter().map(|&y| f64::from(y)).collect();
        let le32: Vec<u8> = ys.iter().flat_map(|y| y.to_le_bytes()).collect();
        let be32: Vec<u8> = ys.iter().flat_map(|y| y.to_be_bytes()).collect();
        assert_eq!(wire_f64(&wire_values(dt(Kind::Float, 4, false), &le32)), widened);
        assert_eq!(wire_f64(&wire_values(dt(Kind::Float, 4, true), &be32)), widened);
    }

    #[test]
    fn integers_keep_their_sign_when_widened() {
        let xs = [i32::MIN, -1, 0, i32::MAX];
        let le: Vec<u8> = xs.iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(wire_i64(&wire_values(dt(Kind::Signed, 4, false), &le)), [-2147483648, -1, 0, 2147483647]);
        let be: Vec<u8> = xs.iter().flat_map(|x| x.to_be_bytes()).collect();
        assert_eq!(wire_i64(&wire_values(dt(Kind::Signed, 4, true), &be)), [-2147483648, -1, 0, 2147483647]);
        assert_eq!(wire_i64(&wire_values(dt(Kind::Unsigned, 4, false), &le)), [2147483648, 4294967295, 0, 2147483647]);
        assert_eq!(wire_i64(&wire_values(dt(Kind::Signed, 2, false), &[0xff, 0xff, 2, 0])), [-1, 2]);
        assert_eq!(wire_i64(&wire_values(dt(Kind::Unsigned, 2, true), &[0xff, 0xff])), [65535]);
        assert_eq!(wire_i64(&wire_values(dt(Kind::Signed, 1, false), &[0x80, 7])), [-128, 7]);
        assert_eq!(wire_i64(&wire_values(dt(Kind::Unsigned, 1, false), &[0x80])), [128]);
        let big: Vec<u8> = [i64::MIN, 5].iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(wire_i64(&wire_values(dt(Kind::Signed, 8, false), &big)), [i64::MIN, 5]);
    }

    #[test]
    fn a_partial_value_or_a_short_destination_stops_the_conversion() {
        let mut dst = [0u8; 12];
        assert_eq!(to_wire(dt(Kind::Float, 4, false), &[0u8; 11], &mut dst), 1, "one whole 8-byte slot");
        assert_eq!(to_wire(dt(Kind::Signed, 8, false), &[1u8; 15], &mut [0u8; 64]), 1);
        let mut v: Vec<u8> = 7u64.to_le_bytes().to_vec();
        swap_in_place(&mut v);
        assert_eq!(v, 7u64.to_be_bytes());
    }
}
