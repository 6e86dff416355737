//! An exact sum of f64 values (Shewchuk's algorithm, as in Python's
//! `math.fsum`).
//!
//! Why: floating-point addition is not associative, so an ordinary running
//! sum depends on how the work was split over hosts and threads. This keeps
//! the sum as a short list of non-overlapping partials that represent it
//! exactly; merging two such lists is exact too, and the final value is the
//! correctly rounded total. So the answer is bit-identical whatever the
//! split, the order of arrival or the number of retries.

use crate::protocol::{WireError, WireReader, WireWrite};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExactSum {
    /// Non-overlapping partials, smallest magnitude first.
    partials: Vec<f64>,
    /// Infinities and NaNs, kept apart so they cannot poison the partials.
    special: f64,
}

impl ExactSum {
    pub fn new() -> ExactSum {
        ExactSum::default()
    }

    pub fn add(&mut self, value: f64) {
        if !value.is_finite() {
            self.special += value;
            return;
        }
        let mut x = value;
        let mut kept = 0;
        for j in 0..self.partials.len() {
            let mut y = self.partials[j];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            if !hi.is_finite() {
                // The running sum left f64's range: it is that infinity from
                // here on (an infinite `lo` must never become a partial, or a
                // peer reads it back as inf - inf = NaN; found by fuzzing).
                self.special += hi;
                self.partials.clear();
                return;
            }
            let lo = y - (hi - x);
            if lo != 0.0 {
                self.partials[kept] = lo;
                kept += 1;
            }
            x = hi;
        }
        self.partials.truncate(kept);
        if x.is_finite() {
            self.partials.push(x);
        } else {
            // The exact sum left f64's range: it rounds to that infinity.
            self.special += x;
        }
    }

    pub fn merge(&mut self, other: &ExactSum) {
        for p in &other.partials {
            self.add(*p);
        }
        self.special += other.special;
    }

    /// The correctly rounded value of the exact sum.
    pub fn value(&self) -> f64 {
        if self.special != 0.0 || self.special.is_nan() {
            return self.special;
        }
        let p = &self.partials;
        let mut n = p.len();
        if n == 0 {
            return 0.0;
        }
        n -= 1;
        let mut hi = p[n];
        let mut lo = 0.0;
        while n > 0 {
            let x = hi;
            n -= 1;
            let y = p[n];
            hi = x + y;
            let y_rounded = hi - x;
            lo = y - y_rounded;
            if lo != 0.0 {
                break;
            }
        }
        // Round half to even across the partials that were not yet folded.
        if n > 0 && ((lo < 0.0 && p[n - 1] < 0.0) || (lo > 0.0 && p[n - 1] > 0.0)) {
            let y = lo * 2.0;
            let x = hi + y;
            if y == x - hi {
                hi = x;
            }
        }
        hi
    }

    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.put_f64(self.special);
        out.put_f64_list(&self.partials);
    }

    pub fn read_from(r: &mut WireReader<'_>) -> Result<ExactSum, WireError> {
        let special = r.f64("sum.special")?;
        let values = r.f64_list("sum.partials")?;
        // Re-adding rebuilds the invariant even from a careless peer.
        let mut sum = ExactSum { partials: Vec::with_capacity(values.len()), special };
        for v in values {
            sum.add(v);
        }
        Ok(sum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cancels_exactly_where_naive_summation_fails() {
        let mut s = ExactSum::new();
        for v in [1e100, 1.0, -1e100, 1e-3] {
            s.add(v);
        }
        assert_eq!(s.value(), 1.001);
        let mut t = ExactSum::new();
        for _ in 0..10 {
            t.add(0.1);
        }
        assert_eq!(t.value(), 1.0);
    }

    #[test]
    fn overflow_is_infinity_on_both_ends_of_the_wire() {
        let mut s = ExactSum::new();
        s.add(f64::MAX);
        s.add(f64::MAX);
        assert_eq!(s.value(), f64::INFINITY);
        let mut buf = Vec::new();
        s.write_to(&mut buf);
        assert_eq!(ExactSum::read_from(&mut WireReader::new(&buf)).unwrap().value(), f64::INFINITY);
    }

    #[test]
    fn specials_propagate() {
        let mut s = ExactSum::new();
        s.add(f64::INFINITY);
        s.add(1.0);
        assert_eq!(s.value(), f64::INFINITY);
        s.add(f64::NEG_INFINITY);
        assert!(s.value().is_nan());
    }

    proptest! {
        #[test]
        fn any_split_gives_the_same_bits(values in proptest::collection::vec(-1e12f64..1e12, 0..200), cut in 0usize..200) {
            let mut whole = ExactSum::new();
            values.iter().for_each(|v| whole.add(*v));
            let cut = cut.min(values.len());
            let (mut a, mut b) = (ExactSum::new(), ExactSum::new());
            values[..cut].iter().rev().for_each(|v| a.add(*v));
            values[cut..].iter().for_each(|v| b.add(*v));
            b.merge(&a);
            prop_assert_eq!(whole.value().to_bits(), b.value().to_bits());
            let mut buf = Vec::new();
            b.write_to(&mut buf);
            let back = ExactSum::read_from(&mut WireReader::new(&buf)).unwrap();
            prop_assert_eq!(back.value().to_bits(), whole.value().to_bits());
        }
    }
}
