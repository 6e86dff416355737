//! The Life kernel: B3/S23 on bit-packed rows, 64 cells per word.
//!
//! Each generation first sums every row's cells with their left and right
//! neighbours (a 2-bit count per cell, `s0` and `s1`), once per row; then
//! each output row adds the sums of the rows above, at and below it. That
//! nine-cell total (the cell itself included) decides: 3 means alive next,
//! 4 means unchanged, anything else dead. Both passes are word-wise boolean
//! algebra over plain slices, which the compiler vectorises.
//!
//! `advance` runs several generations on a block of rows whose outer rows
//! are *ghosts*: copies of a neighbour's rows. Nothing past a ghost zone is
//! known, so each generation the valid part shrinks by one row per side,
//! and a zone K rows deep serves K generations. That is what lets a worker
//! (and each of its threads) go K generations between border exchanges.

use super::board::{last_word_mask, Board, Edges};
use std::sync::atomic::{AtomicBool, Ordering};

/// The shape of the rows a kernel call works on.
#[derive(Clone, Copy, Debug)]
pub struct Geometry {
    pub width: u32,
    pub words: usize,
    /// Whether the left and right edges touch (a torus); otherwise the cells
    /// past them are dead.
    pub wrap_x: bool,
}

impl Geometry {
    pub fn new(width: u32, edges: Edges) -> Geometry {
        Geometry { width, words: super::board::words_per_row(width), wrap_x: edges == Edges::Wrap }
    }
}

/// Which sides of a block are the board's own dead edges: cells past them
/// stay dead forever, so those sides do not shrink.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FixedSides {
    pub top: bool,
    pub bottom: bool,
}

/// Per-row horizontal sums, reused by the three output rows that need them.
struct RowSums {
    s0: Vec<u64>,
    s1: Vec<u64>,
}

/// Working memory for `advance`, kept between calls so that a worker
/// allocates it once per thread and block size, not once per generation.
#[derive(Default)]
pub struct Scratch {
    other: Vec<u64>,
    sums: Vec<RowSums>,
    zero: Vec<u64>,
}

/// Runs `gens` generations on `rows` (whole rows of `geom.words` words) in
/// place. Sides not in `fixed` are ghost zones: after the call, only the
/// rows at least `gens` rows from such a side are right.
/// A set `cancel` stops it between generations (the rows are then garbage).
/// Returns the row updates it computed, for the caller's cost estimate.
pub fn advance(
    rows: &mut Vec<u64>,
    geom: &Geometry,
    gens: u32,
    fixed: FixedSides,
    scratch: &mut Scratch,
    cancel: Option<&AtomicBool>,
) -> u64 {
    let words = geom.words;
    if words == 0 || rows.is_empty() {
        return 0;
    }
    let mut updates = 0;
    let n = rows.len() / words;
    scratch.other.resize(rows.len(), 0);
    if scratch.sums.len() != 3 || scratch.sums[0].s0.len() != words {
        scratch.sums = (0..3).map(|_| RowSums { s0: vec![0; words], s1: vec![0; words] }).collect();
        scratch.zero = vec![0; words];
    }
    let mask = last_word_mask(geom.width);
    for g in 1..=gens as usize {
        let lo = if fixed.top { 0 } else { g };
        let hi = if fixed.bottom { n } else { n.saturating_sub(g) };
        if lo >= hi || cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            break;
        }
        generation(rows, &mut scratch.other, geom, lo, hi, mask, &mut scratch.sums, &scratch.zero);
        std::mem::swap(rows, &mut scratch.other);
        updates += (hi - lo) as u64;
    }
    updates
}

/// Writes rows `[lo, hi)` of `dst` from `src`; rows outside `src` are dead.
#[allow(clippy::too_many_arguments)]
fn generation(
    src: &[u64],
    dst: &mut [u64],
    geom: &Geometry,
    lo: usize,
    hi: usize,
    mask: u64,
    sums: &mut [RowSums],
    zero: &[u64],
) {
    let words = geom.words;
    let n = src.len() / words;
    let row = |y: usize| &src[y * words..(y + 1) * words];
    // sums[slot(y)] holds row y's sums; rows past either end sum to zero.
    let slot = |y: usize| y % 3;
    let fill = |sums: &mut [RowSums], y: isize| {
        let s = &mut sums[slot((y + 3) as usize)];
        if y < 0 || y as usize >= n {
            s.s0.copy_from_slice(zero);
            s.s1.copy_from_slice(zero);
        } else {
            horizontal_sums(row(y as usize), geom, &mut s.s0, &mut s.s1);
        }
    };
    fill(sums, lo as isize - 1);
    fill(sums, lo as isize);
    for y in lo..hi {
        fill(sums, y as isize + 1);
        let (a, b, c) = (slot(y + 2), slot(y + 3), slot(y + 4));
        let out = &mut dst[y * words..(y + 1) * words];
        combine(&sums[a], &sums[b], &sums[c], row(y), out);
        out[words - 1] &= mask;
    }
}

/// For each cell, how many of it and its left and right neighbours are
/// alive, as two bit-planes (`s0` ones, `s1` twos).
#[inline]
fn horizontal_sums(row: &[u64], geom: &Geometry, s0: &mut [u64], s1: &mut [u64]) {
    let n = row.len();
    let last_bit = (geom.width - 1) % 64;
    // Cell x's west neighbour is x - 1: shifting left moves it into place.
    let (wrap_west, wrap_east) =
        if geom.wrap_x { ((row[n - 1] >> last_bit) & 1, (row[0] & 1) << last_bit) } else { (0, 0) };
    let mut sum = |i: usize, west: u64, mid: u64, east: u64| {
        let odd = west ^ mid;
        s0[i] = odd ^ east;
        s1[i] = (west & mid) | (odd & east);
    };
    if n == 1 {
        let c = row[0];
        sum(0, (c << 1) | wrap_west, c, (c >> 1) | wrap_east);
        return;
    }
    sum(0, (row[0] << 1) | wrap_west, row[0], (row[0] >> 1) | (row[1] << 63));
    for i in 1..n - 1 {
        let c = row[i];
        sum(i, (c << 1) | (row[i - 1] >> 63), c, (c >> 1) | (row[i + 1] << 63));
    }
    let c = row[n - 1];
    sum(n - 1, (c << 1) | (row[n - 2] >> 63), c, (c >> 1) | wrap_east);
}

/// Adds three rows' horizontal sums and applies the rule to `mid`.
#[inline]
fn combine(up: &RowSums, at: &RowSums, down: &RowSums, mid: &[u64], out: &mut [u64]) {
    let n = out.len();
    let (u0, u1, a0, a1, d0, d1) = (&up.s0[..n], &up.s1[..n], &at.s0[..n], &at.s1[..n], &down.s0[..n], &down.s1[..n]);
    let mid = &mid[..n];
    for i in 0..n {
        // Ones: x0 is the total's low bit, carry a bit of weight two.
        let odd = u0[i] ^ a0[i];
        let x0 = odd ^ d0[i];
        let carry = (u0[i] & a0[i]) | (odd & d0[i]);
        // Twos: t = u1 + a1 + d1 + carry (0..=4), as (p + r) + 2(q + s).
        let (p, q) = (u1[i] ^ a1[i], u1[i] & a1[i]);
        let (r, s) = (d1[i] ^ carry, d1[i] & carry);
        let no_fours = !(q | s);
        let t_is_1 = (p ^ r) & no_fours;
        let t_is_2 = (p & r & no_fours) | ((q ^ s) & !(p | r));
        // Total 3 (x0 = 1, t = 1): born or survives. Total 4: unchanged.
        out[i] = (x0 & t_is_1) | (!x0 & t_is_2 & mid[i]);
    }
}

/// Runs a whole board `gens` generations on this thread, exchanging its own
/// borders with itself every `k` generations exactly as a lone worker does.
/// The reference for the kernel's speed, and the single-thread path.
pub fn run_board(board: &Board, edges: Edges, gens: u64, k: u32) -> Board {
    let geom = Geometry::new(board.width(), edges);
    let (w, h) = (board.width(), board.height());
    let mut cur = board.clone();
    let mut scratch = Scratch::default();
    let mut done = 0u64;
    while done < gens {
        let step = (gens - done).min(u64::from(k.max(1))) as u32;
        cur = step_board(&cur, edges, step, &geom, &mut scratch);
        done += u64::from(step);
    }
    debug_assert_eq!((cur.width(), cur.height()), (w, h));
    cur
}

/// One round on a whole board: ghost rows from the other side (wrap) or
/// fixed dead edges, `step` generations, the middle kept.
fn step_board(board: &Board, edges: Edges, step: u32, geom: &Geometry, scratch: &mut Scratch) -> Board {
    let (h, words) = (board.height(), geom.words);
    if h == 0 || words == 0 {
        return board.clone();
    }
    match edges {
        Edges::Dead => {
            let mut rows = board.words().to_vec();
            advance(&mut rows, geom, step, FixedSides { top: true, bottom: true }, scratch, None);
            Board::from_words(board.width(), h, rows).unwrap_or_else(|| board.clone())
        }
        Edges::Wrap => {
            // Ghosts deeper than the board wrap around more than once.
            let ghost = step as usize;
            let mut rows = Vec::with_capacity((h as usize + 2 * ghost) * words);
            for i in 0..ghost {
                let y = (h as usize * (ghost / h as usize + 1) + i - ghost) % h as usize;
                rows.extend_from_slice(board.row(y as u32));
            }
            rows.extend_from_slice(board.words());
            for i in 0..ghost {
                rows.extend_from_slice(board.row((i % h as usize) as u32));
            }
            advance(&mut rows, geom, step, FixedSides::default(), scratch, None);
            let middle = rows[ghost * words..(ghost + h as usize) * words].to_vec();
            Board::from_words(board.width(), h, middle).unwrap_or_else(|| board.clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Byte-per-cell Life, written the obvious way, to check the kernel.
    fn naive(board: &Board, edges: Edges) -> Board {
        let (w, h) = (board.width() as i64, board.height() as i64);
        let mut next = Board::new(board.width(), board.height());
        let alive = |x: i64, y: i64| match edges {
            Edges::Wrap => board.get(x.rem_euclid(w) as u32, y.rem_euclid(h) as u32),
            Edges::Dead => (0..w).contains(&x) && (0..h).contains(&y) && board.get(x as u32, y as u32),
        };
        for y in 0..h {
            for x in 0..w {
                let mut n = 0;
                for (dx, dy) in [(-1, -1), (0, -1), (1, -1), (-1, 0), (1, 0), (-1, 1), (0, 1), (1, 1)] {
                    n += alive(x + dx, y + dy) as u32;
                }
                let me = alive(x, y);
                next.set(x as u32, y as u32, n == 3 || (me && n == 2));
            }
        }
        next
    }

    fn random(w: u32, h: u32, seed: u64) -> Board {
        let mut s = seed | 1;
        let mut b = Board::new(w, h);
        for y in 0..h {
            for x in 0..w {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                b.set(x, y, s % 3 == 0);
            }
        }
        b
    }

    #[test]
    fn matches_naive_on_odd_shapes_both_edges_and_depths() {
        for &(w, h) in &[(1, 1), (3, 2), (64, 5), (65, 7), (130, 33), (200, 3), (127, 64)] {
            for edges in [Edges::Wrap, Edges::Dead] {
                let start = random(w, h, u64::from(w * 1000 + h));
                let mut expect = start.clone();
                for _ in 0..9 {
                    expect = naive(&expect, edges);
                }
                for k in [1, 2, 4, 9] {
                    let got = run_board(&start, edges, 9, k);
                    assert_eq!(got, expect, "{w}x{h} {edges:?} k={k}");
                }
            }
        }
    }

    #[test]
    fn blinker_oscillates_and_glider_travels() {
        let mut b = Board::new(70, 70);
        for x in 10..13 {
            b.set(x, 20, true);
        }
        let one = run_board(&b, Edges::Wrap, 1, 1);
        assert!(one.get(11, 19) && one.get(11, 21) && !one.get(10, 20));
        assert_eq!(run_board(&b, Edges::Wrap, 2, 8), b);
        let mut g = Board::new(70, 70);
        for (x, y) in [(1, 0), (2, 1), (0, 2), (1, 2), (2, 2)] {
            g.set(x + 60, y + 60, true);
        }
        // Four generations move a glider one cell down and right: across
        // the right and bottom edges after enough of them.
        let moved = run_board(&g, Edges::Wrap, 40, 7);
        let expect: Vec<(u32, u32)> = g.live_cells().map(|(x, y)| ((x + 10) % 70, (y + 10) % 70)).collect();
        let mut got: Vec<(u32, u32)> = moved.live_cells().collect();
        got.sort_by_key(|&(x, y)| (y, x));
        let mut expect = expect;
        expect.sort_by_key(|&(x, y)| (y, x));
        assert_eq!(got, expect);
    }
}
