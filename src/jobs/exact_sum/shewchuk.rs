//! The ExactSum of piworker 0.1 before issue 15: Shewchuk's partials, which
//! turned the sum into infinity as soon as a running partial overflowed.
//!
//! Why it is kept: it is what older peers run, so the tests check that a
//! newer sender's partials read back to the same value through it, and
//! examples/bench_exact_sum.rs times it as the "before" of the same run. It
//! is not used by the worker or the head.

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Shewchuk {
    /// Non-overlapping partials, smallest magnitude first.
    pub partials: Vec<f64>,
    /// Infinities and NaNs, kept apart so they cannot poison the partials.
    pub special: f64,
}

impl Shewchuk {
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
}
