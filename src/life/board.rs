//! A Game of Life board, bit-packed: 64 cells per word, rows padded to
//! whole words. Cell (x, y) is bit `x % 64` of word `x / 64` of row `y`;
//! bits past the width are always zero, so a row's population is the sum of
//! its words' popcounts.

use sha2::{Digest, Sha256};

/// What lies past the board's edges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edges {
    /// A torus: the left edge touches the right, the top the bottom.
    Wrap,
    /// Dead cells all around, forever.
    Dead,
}

impl Edges {
    pub fn name(self) -> &'static str {
        match self {
            Edges::Wrap => "wrap",
            Edges::Dead => "dead",
        }
    }
}

/// Words in one packed row of `width` cells.
pub fn words_per_row(width: u32) -> usize {
    (width as usize).div_ceil(64)
}

/// The mask of the live bits of a row's last word (all ones when the width
/// is a multiple of 64).
pub fn last_word_mask(width: u32) -> u64 {
    match width % 64 {
        0 => u64::MAX,
        r => (1u64 << r) - 1,
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct Board {
    width: u32,
    height: u32,
    words: usize,
    cells: Vec<u64>,
}

impl std::fmt::Debug for Board {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Board {}x{}, {} alive", self.width, self.height, self.population())
    }
}

impl Board {
    /// An all-dead board.
    pub fn new(width: u32, height: u32) -> Board {
        let words = words_per_row(width);
        Board { width, height, words, cells: vec![0; words * height as usize] }
    }

    /// A board from packed rows (`words_per_row(width)` words each). Bits
    /// past the width are cleared, so any input makes a valid board.
    pub fn from_words(width: u32, height: u32, mut cells: Vec<u64>) -> Option<Board> {
        let words = words_per_row(width);
        if cells.len() != words * height as usize {
            return None;
        }
        if words > 0 {
            let mask = last_word_mask(width);
            for row in cells.chunks_mut(words) {
                row[words - 1] &= mask;
            }
        }
        Some(Board { width, height, words, cells })
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    pub fn words_per_row(&self) -> usize {
        self.words
    }

    pub fn get(&self, x: u32, y: u32) -> bool {
        let w = self.cells[y as usize * self.words + (x / 64) as usize];
        (w >> (x % 64)) & 1 == 1
    }

    pub fn set(&mut self, x: u32, y: u32, alive: bool) {
        let w = &mut self.cells[y as usize * self.words + (x / 64) as usize];
        let bit = 1u64 << (x % 64);
        if alive {
            *w |= bit;
        } else {
            *w &= !bit;
        }
    }

    pub fn row(&self, y: u32) -> &[u64] {
        let start = y as usize * self.words;
        &self.cells[start..start + self.words]
    }

    /// Rows `[from, to)` as one slice of packed words.
    pub fn rows(&self, from: u32, to: u32) -> &[u64] {
        &self.cells[from as usize * self.words..to as usize * self.words]
    }

    pub fn words(&self) -> &[u64] {
        &self.cells
    }

    pub fn into_words(self) -> Vec<u64> {
        self.cells
    }

    /// Copies packed rows in at row `at` (used to assemble strips).
    pub fn put_rows(&mut self, at: u32, rows: &[u64]) {
        let start = at as usize * self.words;
        self.cells[start..start + rows.len()].copy_from_slice(rows);
    }

    pub fn population(&self) -> u64 {
        self.cells.iter().map(|w| u64::from(w.count_ones())).sum()
    }

    /// Every live cell, row by row.
    pub fn live_cells(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.cells.chunks(self.words.max(1)).enumerate().flat_map(|(y, row)| {
            row.iter().enumerate().flat_map(move |(i, &w)| {
                let mut bits = w;
                std::iter::from_fn(move || {
                    if bits == 0 {
                        return None;
                    }
                    let b = bits.trailing_zeros();
                    bits &= bits - 1;
                    Some((i as u32 * 64 + b, y as u32))
                })
            })
        })
    }

    /// The board's fingerprint: SHA-256 of its width and height (4 bytes
    /// each, big-endian) and then each row as `ceil(width / 8)` bytes, cell
    /// x in bit `x % 8` of byte `x / 8`. Independent of the packing, so a
    /// byte-per-cell implementation can compute it too.
    pub fn digest(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.width.to_be_bytes());
        h.update(self.height.to_be_bytes());
        let row_bytes = (self.width as usize).div_ceil(8);
        let mut buf = Vec::with_capacity(self.words * 8);
        for y in 0..self.height {
            buf.clear();
            for w in self.row(y) {
                buf.extend_from_slice(&w.to_le_bytes());
            }
            h.update(&buf[..row_bytes]);
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_and_population() {
        let mut b = Board::new(130, 3);
        assert_eq!(b.words_per_row(), 3);
        b.set(0, 0, true);
        b.set(129, 2, true);
        b.set(64, 1, true);
        assert!(b.get(129, 2) && b.get(64, 1) && !b.get(65, 1));
        assert_eq!(b.population(), 3);
        assert_eq!(b.live_cells().collect::<Vec<_>>(), vec![(0, 0), (64, 1), (129, 2)]);
        b.set(64, 1, false);
        assert_eq!(b.population(), 2);
    }

    #[test]
    fn from_words_clears_bits_past_the_width() {
        let b = Board::from_words(70, 1, vec![u64::MAX, u64::MAX]).unwrap();
        assert_eq!(b.population(), 70);
        assert!(Board::from_words(70, 2, vec![0; 3]).is_none());
    }

    #[test]
    fn digest_depends_on_cells_and_shape() {
        let a = Board::new(10, 10);
        let mut b = a.clone();
        b.set(3, 4, true);
        assert_ne!(a.digest(), b.digest());
        assert_ne!(Board::new(10, 10).digest(), Board::new(10, 11).digest());
        assert_eq!(a.digest().len(), 64);
    }
}
