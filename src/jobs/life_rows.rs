//! Packed Game of Life rows on the wire: 64 cells a word, each word as 8
//! little-endian bytes (docs/PROTOCOL.md, life). Shared by the strip job,
//! the border feeds and the head.

use super::error::JobError;
use crate::life::board::{last_word_mask, words_per_row};

/// Appends packed rows as little-endian words.
pub fn put_rows(out: &mut Vec<u8>, rows: &[u64]) {
    out.reserve(rows.len() * 8);
    for w in rows {
        out.extend_from_slice(&w.to_le_bytes());
    }
}

/// Reads packed rows written by `put_rows`, clearing bits past the width.
pub fn get_rows(bytes: &[u8], width: u32, into: &mut [u64]) -> Result<(), JobError> {
    let words = words_per_row(width);
    if bytes.len() != into.len() * 8 {
        return Err(JobError::bad_params(format!("life: expected {} row bytes, got {}", into.len() * 8, bytes.len())));
    }
    for (w, b) in into.iter_mut().zip(bytes.chunks_exact(8)) {
        *w = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
    }
    let mask = last_word_mask(width);
    for row in into.chunks_mut(words) {
        row[words - 1] &= mask;
    }
    Ok(())
}
