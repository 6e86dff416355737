//! Writing NumPy's .npy files (format 1.0): `primes --output FILE.npy` as
//! a uint64 array, `life --output FILE.npy` as a uint8 board. A file is
//! .npy when its name ends in `.npy`.
//!
//! primes streams its values, so its header is written first with room
//! for the largest count (a fixed 128 bytes) and patched with the real
//! count once every piece is in. The pieces' bytes start after it, which
//! is where a job log's offsets start too (`prefix_len`).

use crate::submit::report::output::{Format, OutputError};
use crate::submit::report::prime_text::{whole_primes, PrimeText};
use std::path::Path;

/// The streamed header's length: magic, version, length, and the dict
/// padded with spaces, enough for a 20-digit count.
pub const STREAMED_HEADER: u64 = 128;

pub fn is_npy(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("npy"))
}

/// Bytes a file written to `path` holds before its first piece.
pub fn prefix_len(path: &Path) -> u64 {
    if is_npy(path) {
        STREAMED_HEADER
    } else {
        0
    }
}

/// A version 1.0 header for a C-order array, padded to `at_least` bytes
/// and to a multiple of 64 (as NumPy aligns it).
pub fn header(descr: &str, shape: &[u64], at_least: usize) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(u64::to_string).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    let total = (10 + dict.len() + 1).max(at_least).next_multiple_of(64);
    dict.push_str(&" ".repeat(total - 10 - dict.len() - 1));
    dict.push('\n');
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out
}

/// Primes as NumPy's uint64, little-endian.
pub struct PrimeNpy;

impl Format for PrimeNpy {
    fn render(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), OutputError> {
        whole_primes(payload)?;
        let at = out.len();
        out.extend_from_slice(payload);
        for v in out[at..].chunks_exact_mut(8) {
            v.reverse();
        }
        Ok(())
    }

    fn header(&self, data_len: u64) -> Vec<u8> {
        header("<u8", &[data_len / 8], STREAMED_HEADER as usize)
    }
}

/// How `primes --output` writes: text, or .npy by the file's name.
pub enum PrimeFile {
    Text(PrimeText),
    Npy(PrimeNpy),
}

impl PrimeFile {
    pub fn for_path(path: &Path) -> PrimeFile {
        if is_npy(path) {
            PrimeFile::Npy(PrimeNpy)
        } else {
            PrimeFile::Text(PrimeText)
        }
    }
}

impl Format for PrimeFile {
    fn render(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), OutputError> {
        match self {
            PrimeFile::Text(f) => f.render(payload, out),
            PrimeFile::Npy(f) => f.render(payload, out),
        }
    }
    fn header(&self, data_len: u64) -> Vec<u8> {
        match self {
            PrimeFile::Text(f) => f.header(data_len),
            PrimeFile::Npy(f) => f.header(data_len),
        }
    }
}

/// Writes a board of `rows` x `cols` cells to `path`, row after row, as a
/// uint8 .npy of 0 and 1; a row at a time, not the whole board at once.
pub fn write_board(path: &Path, rows: u32, cols: u32, alive: impl Fn(u32, u32) -> bool) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    out.write_all(&header("|u1", &[rows.into(), cols.into()], 0))?;
    let mut row = Vec::with_capacity(cols as usize);
    for y in 0..rows {
        row.clear();
        row.extend((0..cols).map(|x| u8::from(alive(x, y))));
        out.write_all(&row)?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_streamed_header_keeps_its_length_for_any_count() {
        for count in [0, 1, 50_847_534, u64::MAX / 8] {
            let h = PrimeNpy.header(count * 8);
            assert_eq!(h.len() as u64, STREAMED_HEADER, "count {count}");
            let text = std::str::from_utf8(&h[10..]).expect("ASCII");
            assert!(text.contains(&format!("'shape': ({count},)")) && text.ends_with('\n'), "{text:?}");
        }
        let board = header("|u1", &[3, 4], 0);
        assert_eq!(board.len() % 64, 0);
        assert!(std::str::from_utf8(&board[10..]).expect("ASCII").contains("'shape': (3, 4)"));
    }

    #[test]
    fn primes_become_little_endian() {
        let mut out = Vec::new();
        PrimeNpy.render(&[0, 0, 0, 0, 0, 0, 1, 2], &mut out).expect("whole values");
        assert_eq!(out, 0x0102u64.to_le_bytes());
        assert!(PrimeNpy.render(&[0; 7], &mut out).is_err());
    }
}
