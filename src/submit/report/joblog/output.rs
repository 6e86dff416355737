//! Resuming an output file: the pieces the log says were written are
//! checked against the file (each piece's bytes hashed, in file order).
//! The file is good up to the first piece that is missing, short or
//! different (a torn tail, a head that lost power before the file reached
//! the disk); from there on the pieces run again and overwrite it.

use super::error::JoblogError;
use super::journal::Session;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

/// Where an output file goes on from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutputResume {
    /// Bytes of the file that hold logged pieces: the rest is cut off.
    pub offset: u64,
    /// The pieces whose output is in those bytes, in file order.
    pub pieces: Vec<usize>,
}

/// Checks `file` against the pieces `session` holds as done, keeps as done
/// only those whose output is really there, and says where to go on.
pub fn verify_output(session: &mut Session, file: &Path) -> Result<OutputResume, JoblogError> {
    let mut spans: Vec<(u64, u64, u64, usize)> =
        session.done.values().filter_map(|(_, e)| e.output.map(|s| (s.start, s.len, s.hash, e.piece))).collect();
    spans.sort_unstable();
    let mut resume = OutputResume::default();
    match File::open(file) {
        Ok(f) => {
            let mut reader = BufReader::with_capacity(1 << 20, f);
            let mut buf = vec![0u8; 1 << 16];
            for (start, len, hash, piece) in spans {
                if start != resume.offset || !same_bytes(&mut reader, len, hash, &mut buf) {
                    break;
                }
                resume.offset += len;
                resume.pieces.push(piece);
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(JoblogError::Output { path: file.into(), why: format!("cannot read it: {error}") }),
    }
    let kept: std::collections::HashSet<usize> = resume.pieces.iter().copied().collect();
    let lost = session.done.len() - kept.len();
    if lost > 0 {
        eprintln!(
            "pisubmit: --resume: {} holds {} of the {} logged pieces whole; running the other {lost} again",
            file.display(),
            kept.len(),
            session.done.len()
        );
    }
    session.done.retain(|piece, _| kept.contains(piece));
    Ok(resume)
}

/// Whether the next `len` bytes of `reader` hash to `hash`.
fn same_bytes(reader: &mut impl Read, len: u64, hash: u64, buf: &mut [u8]) -> bool {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    let mut left = len;
    while left > 0 {
        let want = left.min(buf.len() as u64) as usize;
        match reader.read(&mut buf[..want]) {
            Ok(0) | Err(_) => return false,
            Ok(n) => {
                h.update(&buf[..n]);
                left -= n as u64;
            }
        }
    }
    h.digest() == hash
}
