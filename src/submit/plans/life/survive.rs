//! What of a `pisubmit life` run outlives the head: the checkpoint file
//! (`--checkpoint FILE`, the state `--resume` goes on from) and the job log
//! (`--joblog FILE`, a record: one line per strip per checkpoint).
//!
//! Both carry the command's fingerprint (`fingerprint::of_life`); a
//! resumed run refuses either if it belongs to a different command. In the
//! log, a strip lost with its worker is a failed line: the run already
//! went back to the checkpoint and on, so failed lines never stop a
//! --resume (for life --resume and --resume-failed are the same).

use super::checkpoint::writer::{Writer, Written};
use super::checkpoint::{load, CheckpointError, Meta, Saved};
use super::fingerprint::of_life;
use super::runs::StripRun;
use super::LifeOpts;
use crate::life::{Board, Edges};
use crate::submit::error::SubmitError;
use crate::submit::report::joblog::JoblogOpts;
use crate::submit::report::joblog::{self, Entry, Header, Resume, Session};
use std::path::Path;
use std::time::{Duration, Instant, UNIX_EPOCH};

pub struct Survival {
    params: Vec<(String, String)>,
    edges: Edges,
    writer: Option<Writer>,
    log: Option<Session>,
    next_piece: usize,
    /// The generation a resumed run went on from.
    pub resumed_from: Option<u64>,
    /// Time the rounds waited while checkpoints were handed over (the
    /// board's copy): what the file costs the lockstep.
    pub handover: Duration,
}

impl From<CheckpointError> for SubmitError {
    /// Before the run a bad checkpoint is the command's fault (exit 2); a
    /// disk that fails mid-run fails the job.
    fn from(e: CheckpointError) -> SubmitError {
        match e {
            CheckpointError::Io { .. } => SubmitError::Job(e.to_string()),
            _ => SubmitError::Usage(e.to_string()),
        }
    }
}

/// Opens the checkpoint file and the job log for `opts`, and says where
/// the run starts: `board` at 0, or the checkpoint's board when resuming.
pub fn open(
    opts: &LifeOpts,
    joblog: Option<&JoblogOpts>,
    board: Board,
    edges: Edges,
    hosts: usize,
) -> Result<(Survival, (u64, Board)), SubmitError> {
    let params = of_life(opts, board.width(), board.height(), edges)?;
    let mut start = (0, board);
    let mut keep = Survival {
        params,
        edges,
        writer: None,
        log: None,
        next_piece: 0,
        resumed_from: None,
        handover: Duration::ZERO,
    };
    // Everything is checked before either file is written, so that a
    // refused command leaves no file behind to refuse the next one.
    if let Some(path) = &opts.checkpoint_file {
        if let Some(saved) = keep.resume_from(path, opts)? {
            keep.resumed_from = Some(saved.meta.generation);
            start = (saved.meta.generation, saved.board);
        }
    }
    if let Some(j) = joblog {
        let resume = if j.resume == Resume::No { Resume::No } else { Resume::Failed };
        let session = joblog::open(&j.path, resume, Header::new("life", keep.params.clone(), hosts as u64))?;
        keep.next_piece = session.done.keys().next_back().map_or(0, |n| n + 1);
        keep.log = Some(session);
    }
    if let Some(path) = &opts.checkpoint_file {
        let first = keep.saved(start.0, &start.1);
        match Writer::start(path, &first) {
            Ok(w) => keep.writer = Some(w),
            Err(e) => {
                if let (Some(j), Some(log)) = (joblog, keep.log.take()) {
                    // The log this run has just made holds no line yet.
                    drop(log);
                    if j.resume == Resume::No {
                        let _ = std::fs::remove_file(&j.path);
                    }
                }
                return Err(e.into());
            }
        }
    }
    Ok((keep, start))
}

impl Survival {
    /// The checkpoint to go on from (None: start at 0), or why not.
    fn resume_from(&self, path: &Path, opts: &LifeOpts) -> Result<Option<Saved>, CheckpointError> {
        if !opts.resume {
            if std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
                return Err(CheckpointError::Exists { path: path.into() });
            }
            return Ok(None);
        }
        let Some(saved) = load(path)? else {
            eprintln!("pisubmit: --resume: no checkpoint at {} yet; starting from generation 0", path.display());
            return Ok(None);
        };
        let there = Header::new("life", saved.meta.params.clone(), 0);
        if let Some(what) = there.difference(&Header::new("life", self.params.clone(), 0)) {
            return Err(CheckpointError::Differs { path: path.into(), what });
        }
        if saved.edges != self.edges || saved.board.width().to_string() != self.param("width") {
            let why = "its board's size or edges do not match its own header".to_string();
            return Err(CheckpointError::Bad { path: path.into(), why });
        }
        if saved.meta.generation > opts.generations {
            let (generation, generations) = (saved.meta.generation, opts.generations);
            return Err(CheckpointError::Past { path: path.into(), generation, generations });
        }
        Ok(Some(saved))
    }

    fn param(&self, name: &str) -> String {
        self.params.iter().find(|(n, _)| n == name).map_or(String::new(), |(_, v)| v.clone())
    }

    fn saved(&self, generation: u64, board: &Board) -> Saved {
        Saved { meta: Meta { generation, params: self.params.clone() }, board: board.clone(), edges: self.edges }
    }

    /// A checkpoint the driver took: to the writer thread.
    pub fn checkpoint(&mut self, generation: u64, board: &Board) -> Result<(), SubmitError> {
        let Some(w) = &self.writer else { return Ok(()) };
        let started = Instant::now();
        w.offer(self.saved(generation, board))?;
        self.handover += started.elapsed();
        Ok(())
    }

    /// One job-log line per strip run.
    pub fn strips_ran(&mut self, runs: &[StripRun]) -> Result<(), SubmitError> {
        let Some(log) = self.log.as_mut() else { return Ok(()) };
        for run in runs {
            let label =
                format!("rows {}..{} generations {}..{}", run.first_row, run.first_row + run.rows, run.from, run.to);
            let mut entry = Entry {
                seq: 0,
                piece: self.next_piece,
                host: run.host.clone(),
                started: run.started.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64()),
                runtime: run.runtime,
                send: run.sent,
                receive: run.received,
                failed: run.failed.clone(),
                retries: String::new(),
                params: crate::xxh3::xxh3_64(label.as_bytes()),
                label,
                output: None,
                result: run.population.map_or(Vec::new(), |p| p.to_be_bytes().to_vec()),
            };
            self.next_piece += 1;
            log.journal.write(&mut entry)?;
        }
        // The round's checkpoint comes next: a resume goes on from it, so
        // its strips' lines must not wait in memory for the log's writer.
        log.journal.flush()?;
        Ok(())
    }

    /// Waits for the last checkpoint to be on disk and syncs the log.
    pub fn finish(&mut self) -> Result<Option<Written>, SubmitError> {
        if let Some(log) = self.log.as_mut() {
            log.journal.sync()?;
        }
        match self.writer.take() {
            Some(w) => Ok(Some(w.finish()?)),
            None => Ok(None),
        }
    }
}
