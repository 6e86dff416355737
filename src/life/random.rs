//! `--random DENSITY` boards, from any row: each cell alive with
//! probability `density`, from an xorshift64* stream seeded from `seed`,
//! cells in row-major order, alive when the top 53 bits of the next number,
//! as a fraction of 2^53, are below `density`.
//!
//! xorshift's step is linear over GF(2), so the state `n` cells on is the
//! step's 64 x 64 bit matrix to the `n`th power applied to the seed's: a
//! worker fills its own strip from its first row in microseconds of
//! jumping, and the bits are those of filling the whole board in order.

/// The stream's state before the first cell.
fn first_state(seed: u64) -> u64 {
    match seed ^ 0x9E37_79B9_7F4A_7C15 {
        0 => 1,
        s => s,
    }
}

fn step(mut s: u64) -> u64 {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    s
}

/// A linear map on 64-bit vectors: column `i` is the image of bit `i`.
#[derive(Clone)]
struct Map([u64; 64]);

impl Map {
    fn apply(&self, v: u64) -> u64 {
        (0..64).filter(|i| v >> i & 1 == 1).fold(0, |acc, i| acc ^ self.0[i])
    }

    /// `self` after `first`.
    fn after(&self, first: &Map) -> Map {
        Map(std::array::from_fn(|i| self.apply(first.0[i])))
    }
}

/// The state `cells` steps after `state`.
fn jump(state: u64, mut cells: u64) -> u64 {
    let mut power = Map(std::array::from_fn(|i| step(1 << i)));
    let mut out = state;
    while cells > 0 {
        if cells & 1 == 1 {
            out = power.apply(out);
        }
        power = power.after(&power);
        cells >>= 1;
    }
    out
}

/// Fills `rows` rows of `width` cells, board rows `first_row` on, into
/// packed words (`words_per_row(width)` a row, cell `x` in bit `x % 64` of
/// word `x / 64`), setting the live cells' bits.
pub fn fill_rows(out: &mut [u64], width: u32, first_row: u32, rows: u32, density: f64, seed: u64) {
    let words = super::board::words_per_row(width);
    let threshold = (density * (1u64 << 53) as f64) as u64;
    let mut s = jump(first_state(seed), u64::from(first_row) * u64::from(width));
    for row in out.chunks_mut(words).take(rows as usize) {
        for x in 0..width as usize {
            s = step(s);
            if s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11 < threshold {
                row[x / 64] |= 1 << (x % 64);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::life::board::words_per_row;

    /// The generator as it was written cell by cell before rows could be
    /// sought: the bits every documented board hash comes from.
    fn cell_by_cell(width: u32, height: u32, density: f64, seed: u64) -> Vec<u64> {
        let words = words_per_row(width);
        let mut out = vec![0u64; words * height as usize];
        let mut s = seed ^ 0x9E37_79B9_7F4A_7C15;
        if s == 0 {
            s = 1;
        }
        let threshold = (density * (1u64 << 53) as f64) as u64;
        for y in 0..height as usize {
            for x in 0..width as usize {
                s ^= s >> 12;
                s ^= s << 25;
                s ^= s >> 27;
                let r = s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
                if r < threshold {
                    out[y * words + x / 64] |= 1 << (x % 64);
                }
            }
        }
        out
    }

    #[test]
    fn any_rows_are_those_of_the_whole_board_in_order() {
        for (width, height, density, seed) in [(1, 7, 0.5, 1), (63, 40, 0.3, 5), (130, 33, 0.7, 0x9E37_79B9_7F4A_7C15)]
        {
            let whole = cell_by_cell(width, height, density, seed);
            let words = words_per_row(width);
            let mut all = vec![0; whole.len()];
            fill_rows(&mut all, width, 0, height, density, seed);
            assert_eq!(all, whole, "{width}x{height}");
            for first in [1, height / 2, height - 1] {
                let rows = (height - first).min(5);
                let mut part = vec![0; words * rows as usize];
                fill_rows(&mut part, width, first, rows, density, seed);
                let at = first as usize * words;
                assert_eq!(part, whole[at..at + part.len()], "{width}x{height} from row {first}");
            }
        }
    }

    #[test]
    fn a_jump_is_that_many_steps() {
        let mut s = 12345u64;
        for n in 0..300 {
            assert_eq!(jump(12345, n), s, "{n}");
            s = step(s);
        }
    }
}
