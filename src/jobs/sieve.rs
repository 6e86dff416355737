//! The sieve of Eratosthenes behind `primes`: odd numbers only, one bit
//! each, in blocks that fit a Pi's L1 cache.
//!
//! Odd index `j` stands for the number `2j + 1`; a set bit means
//! composite. These make it several times faster than the byte per odd
//! number it replaced (measured in docs/PERFORMANCE.md):
//! - the multiples of the primes below 128 (over half of all the marking)
//!   are not marked one by one: a block starts as a copy of a pattern of
//!   the multiples of 3, 5, 7, 11 and 13, which repeats every 3·5·7·11·13
//!   words, and each prime from 17 to 127 ORs in its own pattern, which
//!   repeats every p words;
//! - a larger prime p marks only p·m for m prime to 2, 3 and 5 (a wheel of
//!   30: 8 of every 30 m), since the pattern already holds the others;
//! - each base prime's place (next multiple, wheel position) is carried
//!   from block to block, so a division happens once per prime per call;
//! - counting is a popcount per word, with no branch per number.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

/// Words per block: 128 KiB, a Pi 4 core's share of its 1 MiB L2 cache,
/// and exactly one `primes` task (2^21 numbers). Blocks of 32 KiB (L1)
/// were a third slower: the large primes' per-block start-up dominated.
const WORDS: usize = 16384;
/// Primes whose multiples come from the pattern instead of being marked.
const PRESIEVED: [u64; 5] = [3, 5, 7, 11, 13];
/// The m below 30 that are prime to 30, and the gaps to the next one.
const WHEEL: [u64; 8] = [1, 7, 11, 13, 17, 19, 23, 29];
/// Half of each gap: the step, in units of p, between the odd indices of
/// p·WHEEL[k] and the next such multiple (odd indices count by 2).
const HALF_GAPS: [u64; 8] = [3, 2, 1, 2, 1, 2, 3, 1];
/// Odd numbers sieved with one set of places (`Place::at` is 32 bits).
const CHUNK_ODDS: u64 = 1 << 31;
/// Primes from 17 up to this have a pattern each; the larger ones mark.
const PATTERNED_BELOW: u64 = 128;

/// The pattern's period in words: 64 odd numbers a word, and the pattern
/// of odd indices repeats every 3·5·7·11·13 of them.
const PERIOD: usize = 3 * 5 * 7 * 11 * 13;

/// Bit `b` of word `k` is set when `2(64k + b) + 1` is a multiple of one
/// of `PRESIEVED` (the primes themselves included; callers clear them).
fn pattern() -> &'static [u64] {
    static PATTERN: OnceLock<Vec<u64>> = OnceLock::new();
    PATTERN.get_or_init(|| {
        let mut words = vec![0u64; PERIOD];
        for p in PRESIEVED {
            // Odd multiples of p are p apart in odd index, starting at (p - 1) / 2.
            let mut j = (p - 1) / 2;
            while j < 64 * PERIOD as u64 {
                words[(j / 64) as usize] |= 1 << (j % 64);
                j += p;
            }
        }
        words
    })
}

/// The odd multiples of one prime p from 17 to 127: bit b of word k is set
/// when `2(64k + b) + 1` is a multiple of p. It repeats every p words; two
/// periods are kept so that a run of p words can start at any phase.
struct SmallPattern {
    p: u64,
    words: Vec<u64>,
}

fn small_patterns() -> &'static [SmallPattern] {
    static SMALL: OnceLock<Vec<SmallPattern>> = OnceLock::new();
    SMALL.get_or_init(|| {
        (PRESIEVED[PRESIEVED.len() - 1] + 1..PATTERNED_BELOW)
            .filter(|&p| (2..p).all(|d| p % d != 0))
            .map(|p| {
                let mut words = vec![0u64; 2 * p as usize];
                let mut j = (p - 1) / 2;
                while j < 64 * 2 * p {
                    words[(j / 64) as usize] |= 1 << (j % 64);
                    j += p;
                }
                SmallPattern { p, words }
            })
            .collect()
    })
}

/// ORs each small prime's pattern into a block that starts at odd index
/// `j0` (a multiple of 64): p words at a time, which the compiler turns
/// into vector instructions.
fn or_small_patterns(block: &mut [u64], j0: u64) {
    for small in small_patterns() {
        let p = small.p as usize;
        let phase = ((j0 / 64) % small.p) as usize;
        let period = &small.words[phase..phase + p];
        for run in block.chunks_mut(p) {
            run.iter_mut().zip(period).for_each(|(w, m)| *w |= m);
        }
    }
}

/// Sieves the odd numbers in `[lo, hi]` (those above 1) with `base`, which
/// must hold every prime up to √hi in order, and calls `visit(j0, words)`
/// for each block: bit `b` of `words[w]` stands for `2(j0 + 64w + b) + 1`
/// and is clear exactly when that number is an odd prime in `[lo, hi]`.
/// Returns early, with blocks missing, when `cancel` is set.
pub fn odd_blocks(lo: u64, hi: u64, base: &[u32], cancel: &AtomicBool, visit: impl FnMut(u64, &[u64])) {
    odd_blocks_in_chunks(lo, hi, base, cancel, CHUNK_ODDS, visit);
}

/// `odd_blocks` with `chunk_odds` (a multiple of 64) odd numbers a chunk.
fn odd_blocks_in_chunks(
    lo: u64,
    hi: u64,
    base: &[u32],
    cancel: &AtomicBool,
    chunk_odds: u64,
    mut visit: impl FnMut(u64, &[u64]),
) {
    let first = lo.max(3) | 1;
    let last = if hi % 2 == 1 { hi } else { hi.saturating_sub(1) };
    if first > last {
        return;
    }
    let (j_first, j_last) = ((first - 1) / 2, (last - 1) / 2);
    let mut words = vec![0u64; WORDS];
    // In chunks short enough that every place fits in 32 bits.
    let mut chunk = j_first;
    while chunk <= j_last {
        let chunk_last = j_last.min((chunk & !63) + chunk_odds - 1);
        if !sieve_chunk(chunk, chunk_last, base, &mut words, cancel, &mut visit) {
            return;
        }
        chunk = chunk_last + 1;
    }
}

/// `odd_blocks` for odd indices `[j_first, j_last]`, fewer than
/// `CHUNK_ODDS`; false if it was cancelled.
fn sieve_chunk(
    j_first: u64,
    j_last: u64,
    base: &[u32],
    words: &mut [u64],
    cancel: &AtomicBool,
    visit: &mut impl FnMut(u64, &[u64]),
) -> bool {
    let last = 2 * j_last + 1;
    // Base primes past the patterns', up to √last: only they mark anything.
    let from = base.partition_point(|&p| u64::from(p) < PATTERNED_BELOW);
    let to = base.partition_point(|&p| u64::from(p) * u64::from(p) <= last).max(from);
    let marking = &base[from..to];
    let pattern = pattern();
    // Blocks start on a word boundary; bits before j_first are masked.
    let mut j0 = j_first & !63;
    let mut places: Vec<Place> = marking.iter().map(|&p| Place::first(u64::from(p), j0)).collect();
    while j0 <= j_last {
        if cancel.load(Ordering::Relaxed) {
            return false;
        }
        let n_words = (((j_last - j0) / 64 + 1) as usize).min(WORDS);
        let bits = 64 * n_words as u64;
        let block = &mut words[..n_words];
        fill_from_pattern(block, pattern, j0);
        or_small_patterns(block, j0);
        for (&p, place) in marking.iter().zip(places.iter_mut()) {
            place.mark_sparse(block, u64::from(p));
        }
        clear_patterned_primes(block, j0);
        mask_outside(block, j0, j_first, j_last);
        visit(j0, block);
        j0 += bits;
    }
    true
}

/// Where a base prime p's marking stands: the odd index of its next
/// multiple p·m, relative to the current block, and m's place in the wheel.
/// Eight bytes: there is one per base prime per task (82,000 of them for
/// numbers near 2^40), and every thread's task has its own.
struct Place {
    at: u32,
    wheel: u32,
}

impl Place {
    /// The first p·m with m prime to 30 at or above both p² and the number
    /// at odd index `j0`.
    fn first(p: u64, j0: u64) -> Place {
        let from = 2 * j0 + 1;
        let mut m = p.max(from.div_ceil(p));
        loop {
            if let Some(wheel) = WHEEL.iter().position(|&r| r == m % 30) {
                // Below 2^32: a chunk spans fewer odd numbers, and p² is in it.
                return Place { at: ((p * m - 1) / 2 - j0) as u32, wheel: wheel as u32 };
            }
            m += 1;
        }
    }

    /// One store per mark: p is large enough that marks rarely share a word.
    /// Whole turns of the wheel (8 marks over 15p) go without a table.
    fn mark_sparse(&mut self, block: &mut [u64], p: u64) {
        let bits = 64 * block.len() as u64;
        let mark = |block: &mut [u64], i: u64| block[(i / 64) as usize] |= 1 << (i % 64);
        let (mut i, mut k) = (u64::from(self.at), self.wheel as usize);
        // Single steps up to the start of a turn.
        while k != 0 && i < bits {
            mark(block, i);
            i += p * HALF_GAPS[k];
            k = (k + 1) % 8;
        }
        if k == 0 {
            let (p3, p5, p6, p8, p9, p11, p14) = (3 * p, 5 * p, 6 * p, 8 * p, 9 * p, 11 * p, 14 * p);
            while i + p14 < bits {
                mark(block, i);
                mark(block, i + p3);
                mark(block, i + p5);
                mark(block, i + p6);
                mark(block, i + p8);
                mark(block, i + p9);
                mark(block, i + p11);
                mark(block, i + p14);
                i += 15 * p;
            }
        }
        while i < bits {
            mark(block, i);
            i += p * HALF_GAPS[k];
            k = (k + 1) % 8;
        }
        // Less than three steps of p past the block's end.
        (self.at, self.wheel) = ((i - bits) as u32, k as u32);
    }
}

fn fill_from_pattern(block: &mut [u64], pattern: &[u64], j0: u64) {
    let mut k = ((j0 / 64) % PERIOD as u64) as usize;
    let mut filled = 0;
    while filled < block.len() {
        let n = (PERIOD - k).min(block.len() - filled);
        block[filled..filled + n].copy_from_slice(&pattern[k..k + n]);
        filled += n;
        k = 0;
    }
}

/// The patterns mark the primes below 128 as multiples of themselves.
fn clear_patterned_primes(block: &mut [u64], j0: u64) {
    let end = j0 + 64 * block.len() as u64;
    if j0 >= PATTERNED_BELOW {
        return;
    }
    for p in PRESIEVED.into_iter().chain(small_patterns().iter().map(|s| s.p)) {
        let j = (p - 1) / 2;
        if (j0..end).contains(&j) {
            let i = j - j0;
            block[(i / 64) as usize] &= !(1 << (i % 64));
        }
    }
}

/// Sets the bits of the numbers outside `[j_first, j_last]` (as composite).
fn mask_outside(block: &mut [u64], j0: u64, j_first: u64, j_last: u64) {
    if j_first > j0 {
        let below = j_first - j0; // < 64: blocks start in j_first's word
        block[0] |= (1u64 << below) - 1;
    }
    let end = j0 + 64 * block.len() as u64;
    if j_last + 1 < end {
        let keep = (j_last + 1 - j0) % 64; // bits of the last word in range
        if keep > 0 {
            let last = block.len() - 1;
            block[last] |= !((1u64 << keep) - 1);
        }
    }
}

/// The numbers whose bits are clear in a block from `odd_blocks`, ascending.
pub fn block_primes(j0: u64, words: &[u64]) -> impl Iterator<Item = u64> + '_ {
    words.iter().enumerate().flat_map(move |(w, &word)| {
        let mut clear = !word;
        std::iter::from_fn(move || {
            if clear == 0 {
                return None;
            }
            let b = u64::from(clear.trailing_zeros());
            clear &= clear - 1;
            Some(2 * (j0 + 64 * w as u64 + b) + 1)
        })
    })
}

/// The number of clear bits in a block, and the largest number among them.
pub fn block_count(j0: u64, words: &[u64]) -> (u64, Option<u64>) {
    let count = words.iter().map(|w| u64::from((!w).count_ones())).sum();
    let largest = words.iter().enumerate().rev().find(|(_, &w)| w != u64::MAX).map(|(w, &word)| {
        let b = 63 - u64::from((!word).leading_zeros());
        2 * (j0 + 64 * w as u64 + b) + 1
    });
    (count, largest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_prime(n: u64) -> bool {
        n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| n % d != 0)
    }

    fn base(limit: u64) -> Vec<u32> {
        (2..=limit).filter(|&n| is_prime(n)).map(|n| n as u32).collect()
    }

    fn sieved(lo: u64, hi: u64) -> Vec<u64> {
        let mut out = Vec::new();
        let base = base((hi as f64).sqrt() as u64 + 1);
        let mut counted = 0;
        odd_blocks(lo, hi, &base, &AtomicBool::new(false), |j0, words| {
            out.extend(block_primes(j0, words));
            counted += block_count(j0, words).0;
        });
        assert_eq!(counted, out.len() as u64, "popcount and listing disagree on [{lo}, {hi}]");
        out
    }

    #[test]
    fn agrees_with_trial_division_on_awkward_ranges() {
        let block = 2 * 64 * WORDS as u64; // numbers a block covers
        let mut ranges = vec![(0, 0), (0, 1), (0, 2), (1, 3), (3, 3), (4, 4), (1, 200), (2, 17), (13, 13), (14, 16)];
        ranges.extend([(block - 300, block + 300), (3 * block - 5, 3 * block + 7), (1, 2 * block + 129)]);
        // Around squares of primes just past the pattern (17² = 289, 19² = 361).
        ranges.extend([(280, 300), (289, 289), (361, 361), (360, 362)]);
        // Pseudo-random ranges, some far up, including odd and even ends.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..60 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let lo = match x % 3 {
                0 => x % 5000,
                1 => x % 3_000_000,
                _ => (1 << 40) - 1 - x % 100_000,
            };
            let hi = lo + (x >> 20) % 4000;
            ranges.push((lo, hi));
        }
        for (lo, hi) in ranges {
            let odd: Vec<u64> = (lo..=hi).filter(|&n| n % 2 == 1 && is_prime(n)).collect();
            assert_eq!(sieved(lo, hi), odd, "odd primes in [{lo}, {hi}]");
        }
    }

    #[test]
    fn chunks_change_nothing() {
        let base = base(2000);
        for (lo, hi) in [(1, 3_000_000), (999_983, 1_048_700), (2_000_001, 3_999_999)] {
            let (mut whole, mut chunked) = (Vec::new(), Vec::new());
            odd_blocks(lo, hi, &base, &AtomicBool::new(false), |j0, w| whole.extend(block_primes(j0, w)));
            // Chunks of 64·1001 odd numbers: block and chunk ends fall apart.
            odd_blocks_in_chunks(lo, hi, &base, &AtomicBool::new(false), 64 * 1001, |j0, w| {
                chunked.extend(block_primes(j0, w))
            });
            assert_eq!(whole, chunked, "[{lo}, {hi}]");
            assert!(!whole.is_empty());
        }
    }

    #[test]
    fn the_pattern_repeats_with_its_period() {
        let p = pattern();
        // Word PERIOD would be word 0 again: check the bits on both sides of the seam.
        for b in 0..64u64 {
            let n = 2 * (64 * (PERIOD as u64 - 1) + b) + 1;
            let multiple = PRESIEVED.iter().any(|q| n % q == 0);
            assert_eq!(p[PERIOD - 1] >> b & 1 == 1, multiple, "n = {n}");
        }
    }

    #[test]
    fn largest_is_the_last_clear_bit() {
        let base = base(100);
        odd_blocks(1, 100, &base, &AtomicBool::new(false), |j0, words| {
            assert_eq!(block_count(j0, words), (24, Some(97)));
        });
        odd_blocks(24, 28, &base, &AtomicBool::new(false), |j0, words| {
            assert_eq!(block_count(j0, words), (0, None));
        });
    }
}
