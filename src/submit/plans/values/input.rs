//! A reduce input checked before anything is sent: where its values are,
//! which dtype they are, and that the bytes fit it.

use super::dtype::Dtype;
use super::npy;
use super::sniff::{mismatch, SNIFF_BYTES};
use super::source::{Data, SharedBytes};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Values to fold: bytes `start..end` of `data`, holding `dtype`.
#[derive(Clone, Debug)]
pub struct ReduceInput {
    pub data: Data,
    pub dtype: Dtype,
    pub start: u64,
    pub end: u64,
    /// For messages and piece labels: the file's name, or "memory".
    pub name: String,
}

impl ReduceInput {
    /// A caller's bytes in memory (a NumPy array's buffer, `tofile()`'s
    /// bytes), checked as a file would be.
    pub fn from_memory(bytes: SharedBytes, dtype: Dtype, name: &str) -> Result<ReduceInput, String> {
        let all = (*bytes).as_ref();
        let len = all.len() as u64;
        let sample = &all[..all.len().min(SNIFF_BYTES)];
        let input = ReduceInput { dtype, start: 0, end: len, name: name.into(), data: Data::Memory(bytes.clone()) };
        input.check(sample)?;
        Ok(input)
    }

    /// The file at `path`: a .npy file (by its extension or its magic)
    /// gives its own dtype, which `dtype`, if given, must match; any other
    /// file holds `dtype` (text when not given). Errors name the file.
    pub fn from_file(path: &Path, dtype: Option<Dtype>) -> Result<ReduceInput, String> {
        let named = |why: String| format!("--input {}: {why}", path.display());
        let mut file = std::fs::File::open(path).map_err(|e| named(e.to_string()))?;
        let size = file.metadata().map_err(|e| named(e.to_string()))?.len();
        let mut sample = Vec::with_capacity(SNIFF_BYTES);
        (&mut file).take(SNIFF_BYTES as u64).read_to_end(&mut sample).map_err(|e| named(e.to_string()))?;
        let data = Data::File(path.to_path_buf());
        let name = path.display().to_string();
        if is_npy_name(path) || npy::has_magic(&sample) {
            let header = npy::read_header(path).map_err(named)?;
            let own = Dtype::Binary(header.dtype);
            if let Some(given) = dtype.filter(|&d| d != own) {
                return Err(named(format!(
                    "--dtype {} disagrees with the .npy header's dtype '{}' ({}): leave --dtype out or give {}",
                    given.name(),
                    header.descr,
                    own.name(),
                    own.name()
                )));
            }
            let len = header.data_len(size).map_err(named)?;
            let start = header.data_start;
            return Ok(ReduceInput { data, dtype: own, start, end: start + len, name });
        }
        let input = ReduceInput { data, dtype: dtype.unwrap_or(Dtype::Text), start: 0, end: size, name };
        input.check(&sample).map_err(named)?;
        Ok(input)
    }

    /// A raw input's size fits whole values, and its first bytes the dtype.
    fn check(&self, sample: &[u8]) -> Result<(), String> {
        // Text given as binary is rarely whole values: say what it is first.
        if let Some(why) = mismatch(self.dtype, sample) {
            return Err(why);
        }
        if let Some(width) = self.dtype.width() {
            let size = self.end - self.start;
            if size % width as u64 != 0 {
                return Err(format!(
                    "{size} bytes is not a whole number of {width}-byte {} values ({} bytes left over)",
                    self.dtype.name(),
                    size % width as u64
                ));
            }
        }
        Ok(())
    }

    /// The file, for a job log's fingerprint; None for memory.
    pub fn path(&self) -> Option<&PathBuf> {
        match &self.data {
            Data::File(p) => Some(p),
            Data::Memory(_) => None,
        }
    }
}

/// Whether `path` is named as a .npy file.
pub fn is_npy_name(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("npy"))
}
