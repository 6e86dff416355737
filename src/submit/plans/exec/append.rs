//! exec --unordered: each piece's output appended whole as the piece
//! finishes. With a job log the file is written as FILE.partial (renamed
//! to FILE at the end, like ordered output), each piece's span and hash
//! are reported once its bytes are in the file, and the file is synced at
//! most once a second. The spans are in file order, not piece order: a
//! resumed run keeps the spans the file really holds from its start
//! (`joblog::verify_output`), cuts the rest off and appends from there.

use crate::submit::cluster::engine::Landed;
use crate::submit::report::joblog::OutputResume;
use crate::submit::report::output::{partial_path, reopen_partial, OutputError};
use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;

/// Pieces' output, appended as the pieces finish.
pub struct Appender {
    out: Box<dyn Write>,
    /// "the output", or the partial file's name, for errors.
    name: String,
    track: Option<Track>,
    /// (FILE.partial, FILE): renamed at the end.
    rename: Option<(PathBuf, PathBuf)>,
}

/// Where the pieces land, for a job log.
struct Track {
    written: u64,
    landed: Vec<Landed>,
}

impl Appender {
    /// Without a job log: straight to `out`.
    pub fn plain(out: Box<dyn Write>) -> Appender {
        Appender { out, name: "the output".into(), track: None, rename: None }
    }

    /// To stdout, reporting where each piece lands.
    pub fn tracked_stdout() -> Appender {
        let mut a = Appender::plain(crate::submit::report::stdio::output());
        a.track = Some(Track::new(0));
        a
    }

    /// To `path` by way of FILE.partial, reporting where each piece lands;
    /// with `at`, going on after the bytes a resumed log vouches for.
    pub fn tracked_file(path: PathBuf, at: Option<&OutputResume>) -> Result<Appender, OutputError> {
        let (temp, file) = match at {
            Some(at) => reopen_partial(&path, at.offset)?,
            None => {
                let temp = partial_path(&path);
                let file = File::create(&temp).map_err(|error| OutputError::Create { path: temp.clone(), error })?;
                (temp, file)
            }
        };
        let written = at.map_or(0, |a| a.offset);
        Ok(Appender {
            out: Box::new(file),
            name: temp.display().to_string(),
            track: Some(Track::new(written)),
            rename: Some((temp, path)),
        })
    }

    fn error(&self) -> impl FnOnce(io::Error) -> OutputError + '_ {
        move |error| OutputError::Write { name: self.name.clone(), error }
    }

    /// Appends piece `piece`'s whole output.
    pub fn append(&mut self, piece: usize, bytes: &[u8]) -> Result<(), OutputError> {
        self.out.write_all(bytes).and_then(|_| self.out.flush()).map_err(self.error())?;
        let Some(t) = &mut self.track else { return Ok(()) };
        let len = bytes.len() as u64;
        t.landed.push(Landed { piece, start: t.written, len, hash: crate::xxh3::xxh3_64(bytes) });
        t.written += len;
        Ok(())
    }

    /// The pieces whose bytes were appended since the last call.
    pub fn landed(&mut self, into: &mut Vec<Landed>) {
        if let Some(t) = &mut self.track {
            into.append(&mut t.landed);
        }
    }

    /// Every piece is in: move a logged file into place. It is not
    /// synced (nor piece by piece): a resume hashes every logged piece's
    /// bytes in the file, as for ordered output.
    pub fn finish(mut self) -> Result<(), OutputError> {
        self.out.flush().map_err(self.error())?;
        if let Some((temp, path)) = self.rename {
            std::fs::rename(&temp, &path).map_err(|error| OutputError::Rename { from: temp, to: path, error })?;
        }
        Ok(())
    }
}

impl Track {
    fn new(written: u64) -> Track {
        Track { written, landed: Vec::new() }
    }
}
