//! Cutting a range of indices into pieces, the two ways the worker and the
//! head both need: into a number of nearly equal parts, or into parts of
//! one size. Written once, so that every kind cuts the same way.

/// Splits `[lo, hi)` into at most `parts` contiguous, nearly equal ranges
/// (none empty; the first `len % parts` are one longer).
pub fn split(lo: u64, hi: u64, parts: u64) -> Vec<(u64, u64)> {
    let len = hi.saturating_sub(lo);
    let parts = parts.max(1).min(len.max(1));
    let (base, extra) = (len / parts, len % parts);
    let mut out = Vec::with_capacity(usize::try_from(parts).unwrap_or(0));
    let mut start = lo;
    for i in 0..parts {
        let size = base + u64::from(i < extra);
        if size > 0 {
            out.push((start, start + size));
        }
        start += size;
    }
    out
}

/// `split` for a range of signed integers (`[start, end)`, `end` not
/// included): the same cut, moved by 2^63 into unsigned order and back.
pub fn split_signed(start: i64, end: i64, parts: u64) -> Vec<(i64, i64)> {
    let to_unsigned = |v: i64| (v as u64) ^ (1 << 63);
    let to_signed = |v: u64| (v ^ (1 << 63)) as i64;
    split(to_unsigned(start), to_unsigned(end), parts).into_iter().map(|(a, b)| (to_signed(a), to_signed(b))).collect()
}

/// `[lo, hi)` cut into pieces of `size` (the last may be shorter), at
/// multiples of `size` from `lo`: the same cut whoever runs it.
pub fn chunks(lo: u64, hi: u64, size: u64) -> Vec<(u64, u64)> {
    let size = size.max(1);
    let mut out = Vec::new();
    let mut start = lo;
    while start < hi {
        let end = start.saturating_add(size).min(hi);
        out.push((start, end));
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_covers_exactly() {
        assert_eq!(split(0, 10, 3), vec![(0, 4), (4, 7), (7, 10)]);
        assert_eq!(split(5, 7, 8), vec![(5, 6), (6, 7)]);
        assert_eq!(split(5, 5, 4), Vec::<(u64, u64)>::new());
        assert_eq!(split(0, u64::MAX, 2), vec![(0, 1 << 63), (1 << 63, u64::MAX)]);
    }

    #[test]
    fn split_signed_crosses_zero_and_reaches_the_ends() {
        assert_eq!(split_signed(-5, 6, 4), vec![(-5, -2), (-2, 1), (1, 4), (4, 6)]);
        assert_eq!(split_signed(0, 3, 9), vec![(0, 1), (1, 2), (2, 3)]);
        let whole = split_signed(i64::MIN, i64::MAX, 3);
        assert_eq!(whole.first().map(|r| r.0), Some(i64::MIN));
        assert_eq!(whole.last().map(|r| r.1), Some(i64::MAX));
        assert!(whole.windows(2).all(|w| w[0].1 == w[1].0));
    }

    #[test]
    fn chunks_are_aligned_to_the_start() {
        assert_eq!(chunks(0, 10, 4), vec![(0, 4), (4, 8), (8, 10)]);
        assert_eq!(chunks(3, 3, 4), Vec::<(u64, u64)>::new());
        assert_eq!(chunks(0, 3, 0), vec![(0, 1), (1, 2), (2, 3)], "a zero size is one");
    }
}
