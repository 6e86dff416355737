//! ExactSum against an exact reference: each f64 as a whole number of
//! 2^-1074 (num-traits' `integer_decode`, checked against num-rational's
//! exact `BigRational::from_float`), added as BigInts. Every answer must be
//! the f64 nearest to the reference, ties to even.

use super::shewchuk::Shewchuk;
use super::*;
use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::float::FloatCore;
use num_traits::{One, Signed};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;

fn sum_of(values: &[f64]) -> ExactSum {
    let mut s = ExactSum::new();
    values.iter().for_each(|v| s.add(*v));
    s
}

fn through_wire(s: &ExactSum) -> ExactSum {
    let mut buf = Vec::new();
    s.write_to(&mut buf);
    let mut r = WireReader::new(&buf);
    let back = ExactSum::read_from(&mut r).expect("our own encoding reads back");
    r.finish("sum").expect("nothing after the sum");
    back
}

/// `v` in units of 2^-1074 (exact: every finite f64 is a whole number of
/// them), from num-traits' decoding of the float.
fn units(v: f64) -> BigInt {
    let (mantissa, exponent, sign) = FloatCore::integer_decode(v);
    // Zero and the subnormals come as an even mantissa times 2^-1075.
    let n = match i32::from(exponent) + 1074 {
        -1 => BigInt::from(mantissa / 2),
        shift => BigInt::from(mantissa) << shift as usize,
    };
    if sign < 0 {
        -n
    } else {
        n
    }
}

/// The exact sum of the finite values, in units of 2^-1074.
fn exact(values: &[f64]) -> BigInt {
    values.iter().filter(|v| v.is_finite()).map(|v| units(*v)).sum()
}

fn two_to(power: usize) -> BigInt {
    BigInt::one() << (power + 1074)
}

/// The next f64 up from `v` (finite `v`); f64::MAX's is infinity.
fn next_up(v: f64) -> f64 {
    match v {
        0.0 => f64::from_bits(1),
        v if v > 0.0 => f64::from_bits(v.to_bits() + 1),
        v => f64::from_bits(v.to_bits() - 1),
    }
}

/// Err unless `got` is `want` (in units of 2^-1074) rounded to the nearest
/// f64, ties to the even mantissa, overflowing to infinity as IEEE's
/// rounding does (the tie at f64::MAX + half an ulp goes to 2^1024, whose
/// mantissa is even).
fn check_rounded(want: &BigInt, got: f64) -> Result<(), String> {
    let overflow_at = two_to(1024) - two_to(970);
    if got.is_nan() {
        return Err(format!("NaN for the finite sum {want} * 2^-1074"));
    }
    if got.is_infinite() {
        let ok = if got > 0.0 { *want >= overflow_at } else { *want <= -overflow_at };
        return if ok { Ok(()) } else { Err(format!("{got} but the exact sum {want} * 2^-1074 is in range")) };
    }
    let distance = (want - units(got)).abs();
    for neighbour in [next_up(got), -next_up(-got)] {
        let at = if neighbour.is_finite() {
            units(neighbour)
        } else if neighbour > 0.0 {
            two_to(1024)
        } else {
            -two_to(1024)
        };
        let other = (want - at).abs();
        let tie_to_even = distance == other && got.to_bits() & 1 == 0;
        if distance > other || (distance == other && !tie_to_even) {
            return Err(format!(
                "{got:e} ({:#x}) but {neighbour:e} is at least as near to {want} * 2^-1074",
                got.to_bits()
            ));
        }
    }
    Ok(())
}

/// IEEE's answer when non-finite values are present, else None.
fn ieee_special(values: &[f64]) -> Option<f64> {
    let nan = values.iter().any(|v| v.is_nan());
    let plus = values.contains(&f64::INFINITY);
    let minus = values.contains(&f64::NEG_INFINITY);
    match (nan || (plus && minus), plus, minus) {
        (true, _, _) => Some(f64::NAN),
        (_, true, _) => Some(f64::INFINITY),
        (_, _, true) => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

fn check_value(values: &[f64], got: f64) -> Result<(), String> {
    match ieee_special(values) {
        Some(want) if want.is_nan() => {
            if got.is_nan() {
                Ok(())
            } else {
                Err(format!("{got}, not NaN"))
            }
        }
        Some(want) => {
            if got == want {
                Ok(())
            } else {
                Err(format!("{got}, not {want}"))
            }
        }
        None => check_rounded(&exact(values), got),
    }
}

/// A permutation of 0..n from a seed (xorshift, Fisher-Yates).
fn permutation(n: usize, mut seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        order.swap(i, (seed % (i as u64 + 1)) as usize);
    }
    order
}

/// The values cut at `cuts`, each piece summed (every other one backwards)
/// and sent through the wire, the pieces merged in the order `seed` picks.
fn cut_and_merged(values: &[f64], cuts: &[Index], seed: u64) -> ExactSum {
    let mut at: Vec<usize> = cuts.iter().map(|c| c.index(values.len() + 1)).collect();
    at.extend([0, values.len()]);
    at.sort_unstable();
    let pieces: Vec<ExactSum> = at
        .windows(2)
        .enumerate()
        .map(|(i, w)| {
            let piece = &values[w[0]..w[1]];
            let mut s = ExactSum::new();
            if i % 2 == 0 {
                piece.iter().for_each(|v| s.add(*v));
            } else {
                piece.iter().rev().for_each(|v| s.add(*v));
            }
            through_wire(&s)
        })
        .collect();
    let mut total = ExactSum::new();
    for i in permutation(pieces.len(), seed | 1) {
        total.merge(&pieces[i]);
    }
    total
}

fn with_sign(v: f64, negative: bool) -> f64 {
    if negative {
        -v
    } else {
        v
    }
}

/// Huge (near f64::MAX), tiny (subnormal), any exponent, ordinary, and
/// values that make ties.
fn edge_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        (0.5f64..=1.0, any::<bool>()).prop_map(|(f, neg)| with_sign(f * f64::MAX, neg)),
        prop::sample::select(vec![f64::MAX, -f64::MAX, 1.7e308, -1.7e308, 2f64.powi(1023), -2f64.powi(1023)]),
        (1u64..1 << 52, any::<bool>()).prop_map(|(m, neg)| with_sign(f64::from_bits(m), neg)),
        any::<u64>().prop_map(f64::from_bits).prop_filter("finite", |v| v.is_finite()),
        -1e6f64..1e6,
        prop::sample::select(vec![1.0, -1.0, f64::EPSILON / 2.0, -f64::EPSILON / 2.0, f64::MIN_POSITIVE]),
    ]
}

/// Edge values, plus the negations of some of them so that large values
/// cancel, shuffled.
fn edge_values() -> impl Strategy<Value = Vec<f64>> {
    (vec(edge_value(), 0..50), vec(any::<Index>(), 0..50))
        .prop_map(|(mut values, negate)| {
            if !values.is_empty() {
                let negations: Vec<f64> = negate.iter().map(|i| -values[i.index(values.len())]).collect();
                values.extend(negations);
            }
            values
        })
        .prop_shuffle()
}

#[test]
fn the_issues_lines_sum_to_1_7e308_in_every_order() {
    for values in [[1.7e308, 1.7e308, -1.7e308], [1.7e308, -1.7e308, 1.7e308], [-1.7e308, 1.7e308, 1.7e308]] {
        assert_eq!(sum_of(&values).value(), 1.7e308, "{values:?}");
        assert_eq!(through_wire(&sum_of(&values)).value(), 1.7e308, "{values:?}");
    }
}

#[test]
fn a_sum_out_of_range_travels_as_finite_parts_and_comes_back() {
    let mut up = ExactSum::new();
    (0..1000).for_each(|_| up.add(1.7e308));
    assert_eq!(up.value(), f64::INFINITY);
    let parts = up.partials();
    assert!(parts.iter().all(|p| p.is_finite()), "{parts:?}");
    assert!(parts.len() <= 1000, "{} parts for 1000 values", parts.len());
    let mut down = ExactSum::new();
    (0..999).for_each(|_| down.add(-1.7e308));
    let mut total = through_wire(&up);
    total.merge(&through_wire(&down));
    assert_eq!(total.value(), 1.7e308);
    assert_eq!(through_wire(&total).partials(), vec![1.7e308]);
}

#[test]
fn many_maxes_are_taken_out_at_once_and_exactly() {
    for negative in [false, true] {
        let mut seed = 0x1234_5678_9abc_def1u64;
        let mut values: Vec<f64> = (0..200_000u64)
            .map(|i| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let big = f64::MAX * (0.5 + (seed >> 11) as f64 / (1u64 << 54) as f64);
                if i % 3 == 0 {
                    (seed >> 20) as f64 * 1e-300
                } else {
                    big
                }
            })
            .collect();
        values.extend([5e-324, 1.0, -f64::EPSILON]);
        if negative {
            values.iter_mut().for_each(|v| *v = -*v);
        }
        let s = sum_of(&values);
        let parts = s.partials();
        assert!(parts.iter().all(|p| p.is_finite()));
        assert!(parts.len() <= values.len() + 45, "{} parts for {} values", parts.len(), values.len());
        assert!(exact(&parts) == exact(&values), "the parts add up to the sum exactly");
        let mut back = through_wire(&s);
        assert_eq!(back.value(), if negative { f64::NEG_INFINITY } else { f64::INFINITY });
        // Taking the same values out again leaves exactly zero.
        values.iter().for_each(|v| back.add(-v));
        assert_eq!(back.value().to_bits(), 0f64.to_bits());
        assert!(back.partials().is_empty());
    }
}

#[test]
fn overflow_is_infinity_on_both_ends_of_the_wire() {
    let s = sum_of(&[f64::MAX, f64::MAX]);
    assert_eq!(s.value(), f64::INFINITY);
    assert_eq!(through_wire(&s).value(), f64::INFINITY);
    assert_eq!(sum_of(&[-f64::MAX, -f64::MAX]).value(), f64::NEG_INFINITY);
}

#[test]
fn rounds_half_to_even_at_known_ties() {
    let half_ulp_of_one = f64::EPSILON / 2.0;
    // 1 + 2^-53 is halfway between 1 and its successor: even is 1.
    assert_eq!(sum_of(&[1.0, half_ulp_of_one]).value(), 1.0);
    // (1 + 2^-52) + 2^-53 is halfway again: even is 1 + 2^-51.
    assert_eq!(sum_of(&[1.0 + f64::EPSILON, half_ulp_of_one]).value(), 1.0 + 2.0 * f64::EPSILON);
    // A tie broken by a tiny value far below it.
    assert_eq!(sum_of(&[1.0, half_ulp_of_one, 5e-324]).value(), 1.0 + f64::EPSILON);
    assert_eq!(sum_of(&[1.0, half_ulp_of_one, -5e-324]).value(), 1.0);
    // f64::MAX + half an ulp ties to 2^1024, which is infinity.
    let half_ulp_of_max = 2f64.powi(970);
    assert_eq!(sum_of(&[f64::MAX, half_ulp_of_max]).value(), f64::INFINITY);
    assert_eq!(sum_of(&[f64::MAX, half_ulp_of_max, -5e-324]).value(), f64::MAX);
    // Subnormals are exact, also across the border with the normals.
    assert_eq!(sum_of(&[5e-324, 5e-324]).value(), 1e-323);
    assert_eq!(sum_of(&[f64::MIN_POSITIVE, -5e-324]).value(), f64::from_bits((1 << 52) - 1));
}

#[test]
fn the_reference_check_fails_a_wrong_rounding() {
    let tie = units(1.0) + units(f64::EPSILON / 2.0);
    assert!(check_rounded(&tie, 1.0).is_ok());
    assert!(check_rounded(&tie, 1.0 + f64::EPSILON).is_err(), "the odd side of a tie");
    assert!(check_rounded(&units(3.0), 3.0000000000000004).is_err());
    assert!(check_rounded(&(two_to(1024) - two_to(970)), f64::MAX).is_err(), "ties to 2^1024 overflow");
    assert!(check_rounded(&(two_to(1024) - two_to(970)), f64::INFINITY).is_ok());
    assert!(check_rounded(&units(f64::MAX), f64::INFINITY).is_err());
}

#[test]
fn negative_zero_only_when_every_value_was() {
    assert!(sum_of(&[-0.0, -0.0]).value().is_sign_negative());
    assert!(through_wire(&sum_of(&[-0.0])).value().is_sign_negative());
    assert!(sum_of(&[]).value().is_sign_positive());
    assert!(sum_of(&[-0.0, 0.0]).value().is_sign_positive());
    assert!(sum_of(&[-0.0, 1.0, -1.0]).value().is_sign_positive());
    let mut merged = sum_of(&[-0.0]);
    merged.merge(&sum_of(&[-0.0]));
    assert!(merged.value().is_sign_negative());
}

#[test]
fn cancels_exactly_where_naive_summation_fails() {
    assert_eq!(sum_of(&[1e100, 1.0, -1e100, 1e-3]).value(), 1.001);
    assert_eq!(sum_of(&[0.1; 10]).value(), 1.0);
}

#[test]
fn a_finite_special_on_the_wire_is_refused_by_name() {
    let mut buf = Vec::new();
    buf.put_f64(2.5);
    buf.put_f64_list(&[1.0]);
    let err = ExactSum::read_from(&mut WireReader::new(&buf)).unwrap_err().to_string();
    assert!(err.contains("sum.special") && err.contains("2.5"), "{err}");
}

#[test]
fn specials_follow_ieee_in_every_order() {
    let inf = f64::INFINITY;
    let cases: [(&[f64], f64); 6] = [
        (&[inf, 1.0, f64::MAX, f64::MAX], inf),
        (&[-inf, 1.0, f64::MAX, f64::MAX], -inf),
        (&[inf, -inf, 1.0], f64::NAN),
        (&[f64::NAN, 1.0], f64::NAN),
        (&[f64::NAN, inf, inf], f64::NAN),
        (&[inf, inf, -f64::MAX], inf),
    ];
    for (values, want) in cases {
        for seed in 1..30 {
            let shuffled: Vec<f64> = permutation(values.len(), seed).into_iter().map(|i| values[i]).collect();
            let got = through_wire(&sum_of(&shuffled)).value();
            assert!(got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()), "{shuffled:?}: {got}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// The reference's decoding agrees with num-rational's exact one.
    #[test]
    fn units_are_exact_fractions(v in edge_value()) {
        let scaled = BigRational::from_float(v).unwrap() * BigRational::from_integer(BigInt::one() << 1074);
        prop_assert!(scaled.is_integer());
        prop_assert_eq!(scaled.to_integer(), units(v));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn matches_the_exact_rational_sum(values in edge_values()) {
        let s = sum_of(&values);
        prop_assert_eq!(check_rounded(&exact(&values), s.value()), Ok(()));
        // What goes on the wire is finite and adds up to the same exact sum.
        let parts = s.partials();
        prop_assert!(parts.iter().all(|p| p.is_finite()), "{:?}", parts);
        prop_assert!(exact(&parts) == exact(&values), "{:?}", parts);
    }

    #[test]
    fn any_order_and_any_cut_give_the_same_bits(
        values in edge_values(),
        cuts in vec(any::<Index>(), 0..8),
        seed in any::<u64>(),
        order_seed in any::<u64>(),
    ) {
        let whole = sum_of(&values).value();
        let shuffled: Vec<f64> = permutation(values.len(), order_seed | 1).into_iter().map(|i| values[i]).collect();
        prop_assert_eq!(sum_of(&shuffled).value().to_bits(), whole.to_bits());
        let merged = cut_and_merged(&values, &cuts, seed);
        prop_assert_eq!(merged.value().to_bits(), whole.to_bits());
        prop_assert_eq!(through_wire(&merged).value().to_bits(), whole.to_bits());
        prop_assert_eq!(&merged, &sum_of(&values));
    }

    #[test]
    fn infinities_and_nan_in_every_position(
        values in edge_values(),
        specials in vec(prop::sample::select(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY]), 0..4),
        places in vec(any::<Index>(), 4),
        cuts in vec(any::<Index>(), 0..6),
        seed in any::<u64>(),
    ) {
        let mut values = values;
        for (special, place) in specials.iter().zip(&places) {
            values.insert(place.index(values.len() + 1), *special);
        }
        prop_assert_eq!(check_value(&values, sum_of(&values).value()), Ok(()));
        prop_assert_eq!(check_value(&values, cut_and_merged(&values, &cuts, seed).value()), Ok(()));
    }

    /// An older peer (Shewchuk's partials) reads what this one sends, and
    /// this one reads what an older peer sends, wherever the older one did
    /// not overflow.
    #[test]
    fn older_peers_read_the_same_value(values in vec(prop_oneof![-1e12f64..1e12, edge_value()], 0..100)) {
        let ours = sum_of(&values);
        let mut old = Shewchuk::default();
        values.iter().for_each(|v| old.add(*v));
        if old.special == 0.0 {
            let mut old_reads_ours = Shewchuk::default();
            ours.partials().iter().for_each(|p| old_reads_ours.add(*p));
            prop_assert_eq!(old_reads_ours.value().to_bits(), ours.value().to_bits());
            let mut buf = Vec::new();
            buf.put_f64(old.special);
            buf.put_f64_list(&old.partials);
            let ours_reads_old = ExactSum::read_from(&mut WireReader::new(&buf)).unwrap();
            prop_assert_eq!(ours_reads_old.value().to_bits(), old.value().to_bits());
            prop_assert_eq!(&ours_reads_old, &ours);
        }
    }
}
