//! The compact form of primes' streamed partials (protocol 1.4): the gaps
//! between consecutive primes, not the primes themselves.
//!
//! A gaps partial is the tag byte `GAPS_TAG`, the run's first prime as a
//! big-endian u64, then for each following prime the half-gap
//! `h = ceil(gap / 2)` as unsigned LEB128 (7 bits a byte, low bits first,
//! high bit set on every byte but the last). Every gap after the one from
//! 2 to 3 is even, so a half-gap loses nothing: after 2 the next prime is
//! `2 + 2h - 1`, after any odd prime it is `prev + 2h`. A gap under 256
//! takes one byte, against the 8 of a u64: all but 3 of the 50,847,534
//! primes below 10^9, and all but 1,032 of the 36,190,991 in
//! [10^12, 10^12 + 10^9) (examples/prime_gap_stats.rs).
//!
//! Each partial starts from a prime in full, so it decodes alone: pieces and
//! partials arrive in any order, and nothing depends on an earlier partial.
//!
//! The tag tells this form from the u64 form older workers send: that form
//! starts with a prime's most significant byte, always 0 since primes stop
//! below 2^40 (`primes::MAX_B`). This module owns only the bytes; when a
//! worker may send them is `protocol::versions::reads_prime_gaps`.

use super::error::JobError;

/// First byte of a gaps partial. A u64 partial's first byte is always 0.
pub const GAPS_TAG: u8 = 1;
/// Bytes of the first prime, after the tag.
const FIRST_LEN: usize = 8;
/// Most bytes a LEB128 u64 takes (64 bits in 7-bit groups).
const MAX_VARINT_LEN: usize = 10;

/// Whether `payload` is a gaps partial rather than a run of u64 primes.
pub fn is_gaps(payload: &[u8]) -> bool {
    payload.first() == Some(&GAPS_TAG)
}

/// Appends `primes` (ascending primes, not empty) as a gaps partial to `out`.
pub fn encode(primes: &[u64], out: &mut Vec<u8>) {
    let Some((&first, rest)) = primes.split_first() else { return };
    out.reserve(1 + FIRST_LEN + rest.len());
    out.push(GAPS_TAG);
    out.extend_from_slice(&first.to_be_bytes());
    let mut prev = first;
    for &p in rest {
        debug_assert!(p > prev, "primes ascend: {p} after {prev}");
        put_varint((p - prev).div_ceil(2), out);
        prev = p;
    }
}

fn put_varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Calls `each` with every prime of a gaps partial (tag included), in
/// order. A malformed payload is an error naming the byte where it goes
/// wrong; the primes before it have been handed to `each` already.
pub fn decode(payload: &[u8], mut each: impl FnMut(u64)) -> Result<(), JobError> {
    let bad = |at: usize, what: String| {
        JobError::failed(format!("primes: malformed gaps partial ({} bytes): {what} at byte {at}", payload.len()))
    };
    if !is_gaps(payload) {
        return Err(bad(0, format!("tag {:#04x} where {GAPS_TAG:#04x} belongs", payload.first().unwrap_or(&0))));
    }
    let Some(first) = payload.get(1..1 + FIRST_LEN) else {
        return Err(bad(1, format!("the first prime cut short ({} of 8 bytes)", payload.len() - 1)));
    };
    let first = u64::from_be_bytes(first.try_into().unwrap_or_default());
    if first < 2 || (first > 2 && first % 2 == 0) {
        return Err(bad(1, format!("first prime {first} is not 2 or odd above 2")));
    }
    each(first);
    let mut prev = first;
    let mut at = 1 + FIRST_LEN;
    while at < payload.len() {
        let start = at;
        let half = if payload[at] < 0x80 {
            at += 1;
            u64::from(payload[start])
        } else {
            let (v, len) =
                read_varint(&payload[at..]).map_err(|why| bad(start, format!("{why} after prime {prev}")))?;
            at += len;
            v
        };
        if half == 0 {
            return Err(bad(start, format!("a zero gap after prime {prev}")));
        }
        // After 2 the gap is odd (to 3); after an odd prime it is even.
        let gap = half.checked_mul(2).map(|g| if prev == 2 { g - 1 } else { g });
        let Some(next) = gap.and_then(|g| prev.checked_add(g)) else {
            return Err(bad(start, format!("a gap of 2*{half} after prime {prev} overflows u64")));
        };
        each(next);
        prev = next;
    }
    Ok(())
}

/// A LEB128 value of more than one byte, and the bytes it took. Refuses a
/// cut value, one over 64 bits and a padded one (a last byte of 0), so that
/// each list of primes has exactly one encoding.
fn read_varint(bytes: &[u8]) -> Result<(u64, usize), &'static str> {
    let mut v = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(MAX_VARINT_LEN) {
        let bits = u64::from(b & 0x7f);
        if i == MAX_VARINT_LEN - 1 && b > 1 {
            return Err("a gap over 64 bits");
        }
        v |= bits << (7 * i);
        if b < 0x80 {
            if b == 0 && i > 0 {
                return Err("a gap padded with a zero byte");
            }
            return Ok((v, i + 1));
        }
    }
    if bytes.len() >= MAX_VARINT_LEN {
        Err("a gap over 64 bits")
    } else {
        Err("a gap cut short (its last byte says more follow)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encoded(primes: &[u64]) -> Vec<u8> {
        let mut out = Vec::new();
        encode(primes, &mut out);
        out
    }

    fn decoded(payload: &[u8]) -> Result<Vec<u64>, String> {
        let mut out = Vec::new();
        decode(payload, |p| out.push(p)).map_err(|e| e.message)?;
        Ok(out)
    }

    #[test]
    fn golden_bytes() {
        // 2, 3 (gap 1: half 1), 5 (2: 1), 7, 11 (4: 2), 13.
        let bytes = encoded(&[2, 3, 5, 7, 11, 13]);
        assert_eq!(bytes, [1, 0, 0, 0, 0, 0, 0, 0, 2, 1, 1, 1, 2, 1]);
        assert_eq!(decoded(&bytes).unwrap(), [2, 3, 5, 7, 11, 13]);
        // 1327 to 1361: the first gap of 34 (half 17). Near 2^40: a gap of
        // 102 (half 51), and one of 300 whose half takes two bytes.
        assert_eq!(encoded(&[1327, 1361]), [1, 0, 0, 0, 0, 0, 0, 5, 0x2f, 17]);
        let big = [(1u64 << 40) - 87, (1 << 40) + 15, (1 << 40) + 315];
        let bytes = encoded(&big);
        assert_eq!(bytes[9..], [51, 0x96, 0x01]);
        assert_eq!(decoded(&bytes).unwrap(), big);
        assert_eq!(decoded(&encoded(&[7])).unwrap(), [7], "one prime is the first alone");
    }

    #[test]
    fn the_u64_form_is_told_apart() {
        assert!(!is_gaps(&(1u64 << 40).to_be_bytes()) && !is_gaps(&[]));
        assert!(is_gaps(&encoded(&[2])));
        assert!(decoded(&7u64.to_be_bytes()).unwrap_err().contains("tag 0x00 where 0x01 belongs at byte 0"));
    }

    #[test]
    fn malformed_partials_are_named_errors() {
        let cases: [(&[u8], &str); 9] = [
            (&[1, 0, 0, 0], "the first prime cut short (3 of 8 bytes) at byte 1"),
            (&[1, 0, 0, 0, 0, 0, 0, 0, 8], "first prime 8 is not 2 or odd above 2 at byte 1"),
            (&[1, 0, 0, 0, 0, 0, 0, 0, 1], "first prime 1 is not 2 or odd above 2"),
            (&[1, 0, 0, 0, 0, 0, 0, 0, 7, 2, 0], "a zero gap after prime 11 at byte 10"),
            (
                &[1, 0, 0, 0, 0, 0, 0, 0, 7, 0x81],
                "a gap cut short (its last byte says more follow) after prime 7 at byte 9",
            ),
            (&[1, 0, 0, 0, 0, 0, 0, 0, 7, 0x81, 0x00], "a gap padded with a zero byte after prime 7 at byte 9"),
            (
                &[1, 0, 0, 0, 0, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02],
                "a gap over 64 bits after prime 7 at byte 9",
            ),
            (
                &[1, 0, 0, 0, 0, 0, 0, 0, 7, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 1],
                "over 64 bits",
            ),
            (
                &[1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc5, 40],
                "a gap of 2*40 after prime 18446744073709551557 overflows u64 at byte 9",
            ),
        ];
        for (bytes, why) in cases {
            let e = decoded(bytes).unwrap_err();
            assert!(e.contains(why), "{bytes:?}: {e}");
            assert!(e.starts_with(&format!("primes: malformed gaps partial ({} bytes): ", bytes.len())), "{e}");
        }
        // 2^63 as a half-gap fits a u64 but not doubled.
        let mut huge = vec![1, 0, 0, 0, 0, 0, 0, 0, 3];
        put_varint(1 << 63, &mut huge);
        assert!(decoded(&huge).unwrap_err().contains("overflows u64"));
    }

    proptest! {
        #[test]
        fn round_trips(first in prop_oneof![Just(2u64), (1u64..1 << 39).prop_map(|n| 2 * n + 1)],
                       halves in prop::collection::vec(prop_oneof![1u64..128, 1u64..1 << 20], 0..300)) {
            let mut primes = vec![first];
            for h in halves {
                let prev = *primes.last().unwrap();
                primes.push(if prev == 2 { prev + 2 * h - 1 } else { prev + 2 * h });
            }
            let bytes = encoded(&primes);
            prop_assert_eq!(decoded(&bytes).unwrap(), primes);
        }

        #[test]
        fn any_bytes_decode_or_fail_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let mut tagged = vec![GAPS_TAG];
            tagged.extend_from_slice(&bytes);
            for payload in [&bytes, &tagged] {
                if let Ok(primes) = decoded(payload) {
                    prop_assert_eq!(encoded(&primes), payload.clone(), "one encoding per list");
                }
            }
        }
    }
}
