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
    verify_output_after(session, file, 0)
}

/// `verify_output` for a file whose pieces start after a `prefix` of
/// bytes no piece owns (a .npy header, rewritten at the end).
pub fn verify_output_after(session: &mut Session, file: &Path, prefix: u64) -> Result<OutputResume, JoblogError> {
    let mut spans: Vec<(u64, u64, u64, usize)> =
        session.done.iter().filter_map(|(&piece, d)| d.output.map(|s| (s.start, s.len, s.hash, piece))).collect();
    spans.sort_unstable();
    let mut resume = OutputResume::default();
    match File::open(file) {
        Ok(mut f) => {
            if prefix > 0 {
                use std::io::Seek;
                let at = f.seek(std::io::SeekFrom::Start(prefix)).map_err(|error| JoblogError::Output {
                    path: file.into(),
                    why: format!("cannot read it: {error}"),
                })?;
                // A file shorter than its header keeps nothing: a new one is written.
                let long_enough = f.metadata().is_ok_and(|m| m.len() >= prefix);
                resume.offset = if long_enough { at } else { 0 };
            }
            let mut reader = BufReader::with_capacity(1 << 20, f);
            let mut buf = vec![0u8; 1 << 16];
            for (start, len, hash, piece) in spans {
                if start != resume.offset {
                    break;
                }
                // A read error is not a torn file: say so rather than
                // quietly running every piece again.
                let same = same_bytes(&mut reader, len, hash, &mut buf).map_err(|error| JoblogError::Output {
                    path: file.into(),
                    why: format!("cannot read it: {error}"),
                })?;
                if !same {
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

/// Whether the next `len` bytes of `reader` hash to `hash` (false when
/// the file ends first).
fn same_bytes(reader: &mut impl Read, len: u64, hash: u64, buf: &mut [u8]) -> std::io::Result<bool> {
    let mut h = crate::xxh3::Xxh3::new();
    let mut left = len;
    while left > 0 {
        let want = left.min(buf.len() as u64) as usize;
        match reader.read(&mut buf[..want]) {
            Ok(0) => return Ok(false),
            Ok(n) => {
                h.update(&buf[..n]);
                left -= n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(h.digest() == hash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::submit::report::joblog::{open, Done, Entry, Header, Resume, Span};

    const PIECES: [&[u8]; 3] = [b"hello\n", b"world!\n", b"last\n"];

    /// A session whose log holds the three pieces as written in order.
    fn session(dir: &Path) -> Session {
        let mut s = open(&dir.join("job.log"), Resume::No, Header::new("primes", vec![], 2)).unwrap();
        let mut start = 0;
        for (piece, bytes) in PIECES.iter().enumerate() {
            let len = bytes.len() as u64;
            let entry = Entry {
                seq: piece as u64 + 1,
                piece,
                host: "pi1".into(),
                label: format!("piece {piece}"),
                output: Some(Span { start, len, hash: crate::xxh3::xxh3_64(bytes) }),
                ..Entry::empty()
            };
            s.done.insert(piece, Done::new(piece + 9, entry));
            start += len;
        }
        s
    }

    fn dir(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("piworker-verify-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// Verifies `file` holding `bytes`: (offset, pieces kept, pieces still done).
    fn verify(name: &str, bytes: Option<&[u8]>) -> (u64, Vec<usize>, Vec<usize>) {
        let d = dir(name);
        let mut s = session(&d);
        let file = d.join("out.txt");
        if let Some(b) = bytes {
            std::fs::write(&file, b).unwrap();
        }
        let r = verify_output(&mut s, &file).unwrap();
        let done = s.done.keys().copied().collect();
        let _ = std::fs::remove_dir_all(&d);
        (r.offset, r.pieces, done)
    }

    #[test]
    fn a_whole_file_keeps_every_piece() {
        let whole = PIECES.concat();
        assert_eq!(verify("whole", Some(&whole)), (18, vec![0, 1, 2], vec![0, 1, 2]));
        // Bytes past the logged pieces (a piece that landed, unlogged) go.
        let longer = [whole.as_slice(), b"extra\n"].concat();
        assert_eq!(verify("longer", Some(&longer)), (18, vec![0, 1, 2], vec![0, 1, 2]));
    }

    #[test]
    fn a_torn_tail_runs_its_piece_again() {
        let whole = PIECES.concat();
        assert_eq!(verify("torn", Some(&whole[..15])), (13, vec![0, 1], vec![0, 1]));
        assert_eq!(verify("torn-at-edge", Some(&whole[..13])), (13, vec![0, 1], vec![0, 1]));
        assert_eq!(verify("empty", Some(b"")), (0, vec![], vec![]));
        assert_eq!(verify("missing", None), (0, vec![], vec![]));
    }

    #[test]
    fn an_altered_byte_runs_its_piece_and_all_after_it_again() {
        let mut altered = PIECES.concat();
        altered[8] ^= 0x20;
        assert_eq!(verify("altered", Some(&altered)), (6, vec![0], vec![0]));
        altered = PIECES.concat();
        altered[0] = b'j';
        assert_eq!(verify("altered-first", Some(&altered)), (0, vec![], vec![]));
    }

    #[test]
    fn a_gap_between_logged_pieces_stops_the_file_there() {
        let d = dir("gap");
        let mut s = session(&d);
        // Piece 1 was not logged (its line torn): piece 2's bytes follow a gap.
        s.done.remove(&1);
        let file = d.join("out.txt");
        std::fs::write(&file, PIECES.concat()).unwrap();
        let r = verify_output(&mut s, &file).unwrap();
        assert_eq!((r.offset, r.pieces), (6, vec![0]));
        assert_eq!(s.done.keys().copied().collect::<Vec<_>>(), vec![0]);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn an_unreadable_file_is_an_error_naming_it() {
        let d = dir("unreadable");
        let mut s = session(&d);
        // A directory where the output file should be.
        let err = verify_output(&mut s, &d).unwrap_err().to_string();
        assert!(err.contains(&d.display().to_string()) && err.contains("cannot read it"), "{err}");
        let _ = std::fs::remove_dir_all(&d);
    }
}
