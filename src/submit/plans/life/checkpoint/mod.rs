//! `pisubmit life --checkpoint FILE`: the board the head checkpoints, on
//! disk, so that `--resume` can go on from it after the head died.
//!
//! A checkpoint is written atomically (FILE.tmp in the same directory,
//! fsync, rename over FILE, fsync the directory), so FILE is always a
//! whole checkpoint: the last one or the one before. It is RLE that Golly
//! opens for boards up to `RLE_MAX_CELLS` cells, and a documented binary
//! format above (RLE costs several times as much to write and read:
//! docs/PERFORMANCE.md, "Life checkpoints"). Both carry the generation,
//! the command's fingerprint and a check over it all (`meta`).

mod binary;
mod error;
mod meta;
mod rle;
pub mod writer;

pub use error::CheckpointError;
pub use meta::Meta;

use crate::life::{Board, Edges};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Boards up to this many cells (4096x4096) are checkpointed as RLE,
/// bigger ones in binary.
pub const RLE_MAX_CELLS: u64 = 1 << 24;

/// A checkpoint: the board at a generation, and whose it is.
#[derive(Clone, Debug)]
pub struct Saved {
    pub meta: Meta,
    pub board: Board,
    pub edges: Edges,
}

/// Which format a board of this size is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Rle,
    Binary,
}

impl Format {
    pub fn for_board(board: &Board) -> Format {
        if u64::from(board.width()) * u64::from(board.height()) <= RLE_MAX_CELLS {
            Format::Rle
        } else {
            Format::Binary
        }
    }
}

/// The file's bytes in `format`.
pub fn encode(saved: &Saved, format: Format) -> Vec<u8> {
    let check = meta::check(&saved.meta.text(), &saved.board, saved.edges);
    match format {
        Format::Rle => rle::encode(&saved.board, saved.edges, &saved.meta, check),
        Format::Binary => binary::encode(&saved.board, saved.edges, &saved.meta, check),
    }
}

/// A checkpoint from a file's bytes, either format; the error says what
/// is wrong (the caller names the file).
pub fn decode(bytes: &[u8]) -> Result<Saved, String> {
    let (meta, covered, check, board, edges) = if bytes.starts_with(binary::MAGIC) {
        binary::decode(bytes)?
    } else if bytes.starts_with(format!("#C {}", meta::MAGIC).as_bytes()) {
        rle::decode(bytes)?
    } else if bytes.is_empty() {
        return Err("the file is empty".into());
    } else {
        return Err("not a pisubmit life checkpoint (neither an RLE checkpoint nor the binary one)".into());
    };
    if meta::check(&covered, &board, edges) != check {
        return Err("corrupt: its cells or header do not match its check line".into());
    }
    Ok(Saved { meta, board, edges })
}

fn io<'p>(path: &'p Path, doing: &'static str) -> impl FnOnce(std::io::Error) -> CheckpointError + 'p {
    move |error| CheckpointError::Io { path: path.into(), doing, error }
}

/// The temporary file a checkpoint is written to before it is renamed.
pub fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Writes `bytes` to `path` atomically: a reader (or a resumed run after a
/// crash) finds the old file or the new one, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    let temp = temp_path(path);
    let mut file = File::create(&temp).map_err(io(&temp, "create it"))?;
    file.write_all(bytes).map_err(io(&temp, "write it"))?;
    file.sync_all().map_err(io(&temp, "sync it to disk"))?;
    drop(file);
    std::fs::rename(&temp, path).map_err(io(path, "rename the new checkpoint over it"))?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    // The rename is durable once the directory is (best effort: not every
    // file system lets a directory be synced).
    let _ = File::open(dir).and_then(|d| d.sync_all());
    Ok(())
}

/// Reads the checkpoint at `path`; None when there is no file.
pub fn load(path: &Path) -> Result<Option<Saved>, CheckpointError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(CheckpointError::Io { path: path.into(), doing: "read it", error: e }),
    };
    decode(&bytes).map(Some).map_err(|why| CheckpointError::Bad { path: path.into(), why })
}

#[cfg(test)]
mod tests;
