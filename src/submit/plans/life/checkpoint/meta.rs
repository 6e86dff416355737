//! What a checkpoint says about itself, the same text in both formats (as
//! `#C` lines in RLE, as a text block in binary): the magic line, the
//! generation, the command's fingerprint and a check over all of it and
//! the cells.
//!
//! ```text
//! pisubmit life checkpoint 1
//! generation 1200
//! param width 4096
//! param edges wrap
//! check 0123456789abcdef
//! ```
//!
//! `check` is the xxh3-64 of the lines above it (each with its newline),
//! then the width and height (u32 little-endian), the edges (one byte: 0 a
//! torus, 1 dead) and each row as `ceil(width / 8)` bytes, cell x in bit
//! `x % 8` of byte `x / 8` (the layout `Board::digest` hashes).

use super::super::{MAX_CELLS, MAX_SIDE};
use crate::life::{Board, Edges};
use crate::xxh3::Xxh3;
use std::fmt::Write as _;

pub const MAGIC: &str = "pisubmit life checkpoint 1";

/// The generation and fingerprint a checkpoint carries.
#[derive(Clone, Debug, PartialEq)]
pub struct Meta {
    pub generation: u64,
    /// (name, value): the command's fingerprint; names have no spaces.
    pub params: Vec<(String, String)>,
}

impl Meta {
    /// The lines before `check`, each ending in a newline.
    pub fn text(&self) -> String {
        let mut out = format!("{MAGIC}\ngeneration {}\n", self.generation);
        for (name, value) in &self.params {
            let _ = writeln!(out, "param {name} {}", value.replace(['\n', '\r'], " "));
        }
        out
    }

    /// From the lines `text()` wrote, then `check HEX`: the Meta, the text
    /// the check covers, and the check. The error says what is wrong.
    pub fn parse(lines: &[&str]) -> Result<(Meta, String, u64), String> {
        let mut covered = String::new();
        let mut generation = None;
        let mut params = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            if i == 0 {
                if *line != MAGIC {
                    return Err(format!("not a pisubmit life checkpoint (its first line is not {MAGIC:?})"));
                }
            } else if let Some(hex) = line.strip_prefix("check ") {
                let check = u64::from_str_radix(hex, 16).map_err(|_| format!("check {hex:?} is not hex"))?;
                let generation = generation.ok_or("no generation line")?;
                return Ok((Meta { generation, params }, covered, check));
            } else if let Some(n) = line.strip_prefix("generation ") {
                generation = Some(n.parse().map_err(|_| format!("generation {n:?} is not a number"))?);
            } else if let Some((name, value)) = line.strip_prefix("param ").and_then(|p| p.split_once(' ')) {
                params.push((name.to_string(), value.to_string()));
            } else {
                return Err(format!("unknown line {line:?} in its header"));
            }
            covered.push_str(line);
            covered.push('\n');
        }
        Err("truncated: its header ends before the check line".into())
    }
}

/// Bytes per row in the file's layout.
pub fn row_bytes(width: u32) -> usize {
    (width as usize).div_ceil(8)
}

/// Row `y` in the file's layout, into `out` (cleared first).
pub fn put_row(board: &Board, y: u32, out: &mut Vec<u8>) {
    out.clear();
    for w in board.row(y) {
        out.extend_from_slice(&w.to_le_bytes());
    }
    out.truncate(row_bytes(board.width()));
}

pub fn edges_byte(edges: Edges) -> u8 {
    match edges {
        Edges::Wrap => 0,
        Edges::Dead => 1,
    }
}

/// The check over `covered` (the header lines before it) and the board.
pub fn check(covered: &str, board: &Board, edges: Edges) -> u64 {
    let mut h = Xxh3::new();
    h.update(covered.as_bytes());
    h.update(&board.width().to_le_bytes());
    h.update(&board.height().to_le_bytes());
    h.update(&[edges_byte(edges)]);
    let mut row = Vec::with_capacity(board.words_per_row() * 8);
    for y in 0..board.height() {
        put_row(board, y, &mut row);
        h.update(&row);
    }
    h.digest()
}

/// A board the head could hold (checked before its cells are allocated).
pub fn check_size(width: u32, height: u32) -> Result<(), String> {
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(format!("a {width}x{height} board: each side must be in 1..={MAX_SIDE}"));
    }
    if u64::from(width) * u64::from(height) > MAX_CELLS {
        return Err(format!("a {width}x{height} board is more than {MAX_CELLS} cells"));
    }
    Ok(())
}
