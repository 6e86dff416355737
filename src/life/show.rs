//! Drawing a board in a terminal with Unicode braille: each character is a
//! 2x4 block of dots, so an 80x24 terminal shows 160x96 cells, and larger
//! boards are shrunk to fit.

use super::board::Board;

/// The dot bit (added to U+2800) for cell (dx, dy) of a character's 2x4
/// block, indexed `[dy][dx]`. The bottom row is out of order because
/// Unicode added dots 7 and 8 after the six-dot cells.
const DOTS: [[u8; 2]; 4] = [[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]];

/// The factor `render` shrinks by (1 when the board fits): the smallest f
/// with `ceil(width / f) <= cols * 2` and `ceil(height / f) <= rows * 4`.
/// A zero `cols` or `rows` counts as 1 (render draws nothing then).
pub fn shrink_factor(board: &Board, cols: usize, rows: usize) -> u32 {
    // ceil(n / f) <= dots exactly when f >= ceil(n / dots).
    let fit = |cells: u32, dots: usize| (cells as usize).div_ceil(dots.max(1));
    let f = fit(board.width(), cols.saturating_mul(2)).max(fit(board.height(), rows.saturating_mul(4)));
    // At most the larger side, so it fits in a u32.
    f.max(1) as u32
}

/// Draws the board in at most `cols` x `rows` terminal cells using braille
/// (U+2800 + dots; each character shows 2 cells across and 4 down). A board
/// larger than `cols * 2` x `rows * 4` cells is shrunk by `shrink_factor`,
/// and a dot is lit when any cell of its f x f block is alive, so a lone
/// cell never vanishes. Lines are joined with '\n' (none at the end), all
/// the same length (padded with blank U+2800), with no ANSI codes.
pub fn render(board: &Board, cols: usize, rows: usize) -> String {
    if cols == 0 || rows == 0 {
        return String::new();
    }
    let f = shrink_factor(board, cols, rows) as usize;
    let (width, height) = (board.width() as usize, board.height() as usize);
    // The shrunk board's size in cells, then in characters.
    let (shrunk_w, shrunk_h) = (width.div_ceil(f), height.div_ceil(f));
    let (chars, lines) = (shrunk_w.div_ceil(2), shrunk_h.div_ceil(4));
    let mut dots = vec![0u8; chars * lines];

    // Each shrunk row is the OR of f board rows, a word at a time; then
    // each live bit x in it lights shrunk column x / f. The work is one
    // pass over the words plus the live bits of the ORed rows.
    let mut block = vec![0u64; board.words_per_row()];
    for sy in 0..shrunk_h {
        block.fill(0);
        for y in sy * f..((sy + 1) * f).min(height) {
            for (acc, word) in block.iter_mut().zip(board.row(y as u32)) {
                *acc |= word;
            }
        }
        for (i, &word) in block.iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                let sx = (i * 64 + bits.trailing_zeros() as usize) / f;
                bits &= bits - 1;
                dots[sy / 4 * chars + sx / 2] |= DOTS[sy % 4][sx % 2];
            }
        }
    }

    let braille = |d: &u8| char::from_u32(0x2800 + u32::from(*d)).unwrap_or(' ');
    (0..lines)
        .map(|l| dots[l * chars..(l + 1) * chars].iter().map(braille).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn board_with(width: u32, height: u32, live: &[(u32, u32)]) -> Board {
        let mut b = Board::new(width, height);
        for &(x, y) in live {
            b.set(x, y, true);
        }
        b
    }

    #[test]
    fn glider_renders_exactly() {
        // .#......
        // ..#.....
        // ###.....
        let b = board_with(8, 8, &[(1, 0), (2, 1), (0, 2), (1, 2), (2, 2)]);
        assert_eq!(shrink_factor(&b, 80, 24), 1);
        // First character, cells x 0-1: (1,0) dot 4 = 0x08, (0,2) dot 3 =
        // 0x04, (1,2) dot 6 = 0x20, so U+282C. Second, x 2-3: (2,1) dot 2 =
        // 0x02, (2,2) dot 3 = 0x04, so U+2806. Rows 4-7 are empty.
        assert_eq!(render(&b, 80, 24), "\u{282C}\u{2806}\u{2800}\u{2800}\n\u{2800}\u{2800}\u{2800}\u{2800}");
        assert_eq!(render(&b, 80, 24), "⠬⠆⠀⠀\n⠀⠀⠀⠀");
    }

    #[test]
    fn every_dot_has_its_bit() {
        // One cell at each position of a 2x4 block lights exactly its dot.
        for dy in 0..4 {
            for dx in 0..2 {
                let b = board_with(2, 4, &[(dx, dy)]);
                let expected = char::from_u32(0x2800 + u32::from(DOTS[dy as usize][dx as usize])).unwrap();
                assert_eq!(render(&b, 1, 1), expected.to_string());
            }
        }
        let full = Board::from_words(2, 4, vec![3; 4]).unwrap();
        assert_eq!(render(&full, 1, 1), "\u{28FF}");
    }

    #[test]
    fn big_board_shrinks_to_fit() {
        let mut b = Board::new(1000, 1000);
        for i in 0..1000 {
            b.set(i, i, true);
            b.set(999 - i, i, true);
        }
        // 1000 / 160 needs 7, 1000 / 96 needs 11; 10 would leave 100 rows.
        let f = shrink_factor(&b, 80, 24);
        assert_eq!(f, 11);
        assert!(1000u32.div_ceil(f - 1) > 96);
        let text = render(&b, 80, 24);
        let lines: Vec<&str> = text.split('\n').collect();
        assert!(lines.len() <= 24, "{} lines", lines.len());
        // 91 shrunk cells across make 46 characters on every line.
        assert!(lines.iter().all(|l| l.chars().count() == 46), "{text}");
        assert!(!text.contains('\x1b') && !text.ends_with('\n'));
        // Exact fits are not shrunk.
        assert_eq!(shrink_factor(&Board::new(160, 96), 80, 24), 1);
        assert_eq!(shrink_factor(&Board::new(161, 96), 80, 24), 2);
    }

    #[test]
    fn empty_board_renders_blanks() {
        let text = render(&Board::new(10, 9), 80, 24);
        assert_eq!(text, vec!["\u{2800}".repeat(5); 3].join("\n"));
        assert_eq!(render(&Board::new(10, 9), 0, 24), "");
    }

    #[test]
    fn lone_cell_survives_shrinking() {
        let b = board_with(1000, 1000, &[(999, 999)]);
        let text = render(&b, 80, 24);
        let lit: Vec<char> = text.chars().filter(|&c| c != '\u{2800}' && c != '\n').collect();
        // Shrunk cell (90, 90): character 45 of line 22, dot (0, 2) = 0x04.
        assert_eq!(lit, ['\u{2804}']);
        assert_eq!(text.split('\n').nth(22).unwrap().chars().nth(45), Some('\u{2804}'));
    }
}
