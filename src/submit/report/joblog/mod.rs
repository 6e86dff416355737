//! The job log (`--joblog FILE`): one tab-separated line per finished
//! piece, written as it finishes, and `--resume`, which runs only the
//! pieces the log does not show as done and merges them with the logged
//! results, so that the answer and every output file are the same bytes
//! as a run that was never stopped.
//!
//! The file: a magic line (`# pisubmit joblog 1`), `#` lines naming the
//! command (the job and its parameters: the fingerprint a resumed run must
//! match) and the cut, the column header, then one line per piece (see
//! `line::COLUMNS`; README.md "Job log" documents them). Each line ends in
//! a checksum of itself, so a corrupted or edited line is refused.

mod error;
mod flusher;
mod header;
mod journal;
mod line;
mod logged;
mod output;
mod read;

pub use error::JoblogError;
pub use header::Header;
pub use journal::Done;
pub use journal::{open, JoblogOpts, Journal, Resume, Session};
pub use line::{Entry, Span, COLUMNS};
pub use logged::params_hash;
pub use output::{verify_output, verify_output_after, OutputResume};
pub use read::{read_log, Log};

use crate::submit::cluster::engine::{Engine, Gatherer, PieceSource, Replayed};
use crate::submit::error::SubmitError;

/// Runs `source`'s pieces into `gather`, with the job log when there is
/// one: the logged pieces are replayed into `gather` first and skipped.
pub fn run(
    engine: &mut Engine,
    session: Option<&mut Session>,
    source: &mut dyn PieceSource,
    gather: &mut dyn Gatherer,
) -> Result<(), SubmitError> {
    let Some(session) = session else { return engine.run(source, gather) };
    let path = session.path().to_path_buf();
    for (&number, done) in &session.done {
        let logged = Replayed { result: &done.result, output_len: done.output.map_or(0, |s| s.len) };
        gather.replay(number, &logged).map_err(|e| {
            SubmitError::Job(format!("--joblog {} line {}: piece {number}: {e}", path.display(), done.line))
        })?;
    }
    let (mut skip, mut log) = logged::split(source, gather, &mut session.journal, &session.done, &path);
    let outcome = engine.run(&mut skip, &mut log);
    if let Some(mismatch) = skip.mismatch() {
        return Err(SubmitError::Usage(mismatch.to_string()));
    }
    outcome?;
    session.journal.sync().map_err(|e| SubmitError::Job(e.to_string()))
}

/// Job-log errors found before the run are the command's fault (exit 2);
/// one in the middle (a full disk) fails the job.
impl From<JoblogError> for SubmitError {
    fn from(e: JoblogError) -> SubmitError {
        match e {
            JoblogError::Io { .. } => SubmitError::Job(e.to_string()),
            _ => SubmitError::Usage(e.to_string()),
        }
    }
}
