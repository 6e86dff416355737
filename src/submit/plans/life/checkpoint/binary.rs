//! The checkpoint in binary, for boards too big for RLE to be quick (see
//! `super::RLE_MAX_CELLS`). All numbers little-endian:
//!
//! ```text
//! 8 bytes   "PWLIFCP1"
//! u32       M, the length of the header text
//! M bytes   the header text (`meta`'s lines, the check line last)
//! u32 u32   width, height
//! u8        edges: 0 a torus, 1 dead
//! rows      height rows of ceil(width / 8) bytes, cell x in bit x % 8 of byte x / 8
//! ```
//!
//! Nothing follows the rows.

use super::meta::{edges_byte, put_row, row_bytes, Meta};
use crate::life::board::words_per_row;
use crate::life::{Board, Edges};

pub const MAGIC: &[u8; 8] = b"PWLIFCP1";

/// The file's bytes, `check` being the meta's check line.
pub fn encode(board: &Board, edges: Edges, meta: &Meta, check: u64) -> Vec<u8> {
    let text = format!("{}check {check:016x}\n", meta.text());
    let size = 8 + 4 + text.len() + 9 + row_bytes(board.width()) * board.height() as usize;
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(text.len() as u32).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&board.width().to_le_bytes());
    out.extend_from_slice(&board.height().to_le_bytes());
    out.push(edges_byte(edges));
    let mut row = Vec::new();
    for y in 0..board.height() {
        put_row(board, y, &mut row);
        out.extend_from_slice(&row);
    }
    out
}

/// A cursor over the file that says what was cut short.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        let left = self.bytes.len() - self.at;
        if left < n {
            return Err(format!(
                "truncated: {} bytes, and {what} needs {n} more after byte {}",
                self.bytes.len(),
                self.at
            ));
        }
        self.at += n;
        Ok(&self.bytes[self.at - n..self.at])
    }

    fn u32(&mut self, what: &str) -> Result<u32, String> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// What a binary checkpoint holds: its header lines, board and edges.
pub fn decode(bytes: &[u8]) -> Result<(Meta, String, u64, Board, Edges), String> {
    let mut c = Cursor { bytes, at: 0 };
    if c.take(8, "the magic")? != MAGIC {
        return Err("not a pisubmit life checkpoint (bad magic)".into());
    }
    let len = c.u32("the header length")? as usize;
    let text = std::str::from_utf8(c.take(len, "the header")?).map_err(|_| "its header is not text".to_string())?;
    let lines: Vec<&str> = text.lines().collect();
    let (meta, covered, check) = Meta::parse(&lines)?;
    let width = c.u32("the width")?;
    let height = c.u32("the height")?;
    super::meta::check_size(width, height)?;
    let edges = match c.take(1, "the edges")?[0] {
        0 => Edges::Wrap,
        1 => Edges::Dead,
        other => return Err(format!("edges byte {other} is neither 0 (torus) nor 1 (dead)")),
    };
    let rb = row_bytes(width);
    let rows = c.take(rb * height as usize, &format!("a {width}x{height} board"))?;
    if c.at != bytes.len() {
        return Err(format!("{} bytes after the board's last row", bytes.len() - c.at));
    }
    let words = words_per_row(width);
    let mut cells = vec![0u64; words * height as usize];
    for (y, row) in rows.chunks_exact(rb.max(1)).take(height as usize).enumerate() {
        for (i, chunk) in row.chunks(8).enumerate() {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            cells[y * words + i] = u64::from_le_bytes(w);
        }
    }
    let board = Board::from_words(width, height, cells).ok_or("the board does not fit its size")?;
    Ok((meta, covered, check, board, edges))
}
