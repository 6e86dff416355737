//! The state of one run of pieces: which wait, which run where, which
//! failed where, and when a piece has taken too long.

use super::api::{describe_tries, Next, Piece, PieceSource, PieceTimeout};
use super::watch::Progress;
use crate::submit::error::SubmitError;
use crate::units::count;
use std::collections::VecDeque;
use std::time::Duration;

pub(super) struct PieceSlot {
    pub(super) piece: Piece,
    pub(super) done: bool,
    /// Links running it now.
    pub(super) running_on: Vec<usize>,
    /// (host, why) for each worker it failed on.
    pub(super) failed_on: Vec<(String, String)>,
    /// The links it failed on, to send it elsewhere next time.
    pub(super) failed_links: Vec<usize>,
}

/// The state of one run of pieces.
pub(super) struct RunState {
    pub(super) pieces: Vec<PieceSlot>,
    /// Pieces waiting for a worker, re-runs first.
    pub(super) pending: VecDeque<usize>,
    pub(super) lowest_unfinished: usize,
    pub(super) finished: usize,
    pub(super) source_done: bool,
    pub(super) durations: Vec<Duration>,
    pub(super) progress: Box<dyn Progress>,
    /// The piece that failed the job, with the worker and reason, for the
    /// gatherer's record.
    pub(super) gave_up: Option<(usize, String, String)>,
}

impl RunState {
    pub(super) fn new(progress: Box<dyn Progress>) -> RunState {
        RunState {
            pieces: Vec::new(),
            pending: VecDeque::new(),
            lowest_unfinished: 0,
            finished: 0,
            source_done: false,
            durations: Vec::new(),
            progress,
            gave_up: None,
        }
    }

    /// Takes pieces from the source while fewer than `want` are waiting.
    pub(super) fn pull(&mut self, source: &mut dyn PieceSource, want: usize) {
        while !self.source_done && self.pending.len() < want {
            match source.next() {
                Next::Piece(piece) => {
                    self.pending.push_back(self.pieces.len());
                    self.pieces.push(PieceSlot {
                        piece,
                        done: false,
                        running_on: Vec::new(),
                        failed_on: Vec::new(),
                        failed_links: Vec::new(),
                    });
                    if source.total().is_none() {
                        self.progress.set_total(self.pieces.len());
                    }
                }
                Next::Wait => break,
                Next::Done => self.source_done = true,
            }
        }
    }

    /// The position in `pending` of the next piece that may go to `link`:
    /// within the lookahead, and not one that already failed there while
    /// another ready worker (`ready`, by link) where it has not failed
    /// could take it. A piece that failed everywhere may go anywhere.
    pub(super) fn dispatchable(&self, lookahead: Option<usize>, link: usize, ready: &[bool]) -> Option<usize> {
        let limit = lookahead.map_or(usize::MAX, |k| self.lowest_unfinished.saturating_add(k));
        self.pending.iter().position(|&index| {
            let failed = &self.pieces[index].failed_links;
            let better_elsewhere = || ready.iter().enumerate().any(|(j, &r)| r && j != link && !failed.contains(&j));
            index < limit && !(failed.contains(&link) && better_elsewhere())
        })
    }

    pub(super) fn finish(&mut self, index: usize, took: Duration) {
        self.pieces[index].done = true;
        self.finished += 1;
        self.durations.push(took);
        while self.lowest_unfinished < self.pieces.len() && self.pieces[self.lowest_unfinished].done {
            self.lowest_unfinished += 1;
        }
        self.progress.piece_done();
    }

    /// Puts a piece back in the queue without counting a failure.
    pub(super) fn requeue(&mut self, index: usize, link: usize) {
        let slot = &mut self.pieces[index];
        slot.running_on.retain(|&l| l != link);
        if !slot.done && slot.running_on.is_empty() && !self.pending.contains(&index) {
            self.pending.push_front(index);
        }
    }

    pub(super) fn piece_failed(
        &mut self,
        index: usize,
        link: usize,
        host: &str,
        why: &str,
        retries: usize,
    ) -> Result<(), SubmitError> {
        let slot = &mut self.pieces[index];
        slot.running_on.retain(|&l| l != link);
        if slot.done {
            return Ok(());
        }
        // Every failure counts, so a piece cannot bounce for ever on the one
        // worker left; while there are others it goes to them instead.
        slot.failed_on.push((host.to_string(), why.to_string()));
        slot.failed_links.push(link);
        if slot.failed_on.len() >= retries {
            self.gave_up = Some((index, host.to_string(), why.to_string()));
            // A piece may fail twice on one worker (the last one left):
            // the count says workers only when each try was on another.
            let mut workers: Vec<&str> = slot.failed_on.iter().map(|(h, _)| h.as_str()).collect();
            workers.sort_unstable();
            workers.dedup();
            let how = match (slot.failed_on.len(), workers.len()) {
                (t, w) if t == w => format!("on {}", count(w, "worker")),
                (t, w) => format!("{t} times, on {}", count(w, "worker")),
            };
            let mut tries = String::new();
            describe_tries(&slot.failed_on, &mut tries);
            return Err(SubmitError::Job(format!("{} failed {how}: {tries}", slot.piece.label)));
        }
        if slot.running_on.is_empty() && !self.pending.contains(&index) {
            self.pending.push_front(index);
        }
        Ok(())
    }

    pub(super) fn piece_limit(&self, timeout: Option<PieceTimeout>) -> Option<Duration> {
        match timeout? {
            PieceTimeout::Absolute(d) => Some(d),
            PieceTimeout::OfMedian(m) => {
                if self.durations.len() < 3 {
                    return None;
                }
                let mut d = self.durations.clone();
                d.sort();
                Some(d[d.len() / 2].mul_f64(m).max(Duration::from_millis(100)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::JobKind;
    use crate::submit::cluster::engine::{Cores, PieceList, Unwatched};

    fn run_with(pieces: usize) -> RunState {
        let mut run = RunState::new(Box::new(Unwatched));
        let list = (0..pieces)
            .map(|i| Piece {
                kind: JobKind::Echo,
                params: vec![],
                input: None,
                cores: Cores::All,
                label: format!("p{i}"),
            })
            .collect();
        run.pull(&mut PieceList::new(list), usize::MAX);
        run
    }

    #[test]
    fn piece_timeout_as_a_multiple_of_the_median() {
        let mut run = run_with(4);
        let t = Some(PieceTimeout::OfMedian(3.0));
        assert_eq!(run.piece_limit(t), None, "no median before three pieces");
        for ms in [100, 300, 200] {
            let index = run.pending.pop_front().unwrap();
            run.finish(index, Duration::from_millis(ms));
        }
        assert_eq!(run.piece_limit(t), Some(Duration::from_millis(600)));
        assert_eq!(run.piece_limit(Some(PieceTimeout::Absolute(Duration::from_secs(2)))), Some(Duration::from_secs(2)));
        assert_eq!(run.lowest_unfinished, 3);
    }

    #[test]
    fn a_failed_piece_goes_elsewhere_and_fails_the_job_at_the_retry_cap() {
        let mut run = run_with(2);
        let first = run.pending.pop_front().unwrap();
        run.piece_failed(first, 0, "pi1", "lost", 3).unwrap();
        assert_eq!(run.pending.front(), Some(&first), "re-runs go first");
        let both = [true, true];
        assert_eq!(run.dispatchable(None, 0, &both), Some(1), "not back to the worker it failed on");
        assert_eq!(run.dispatchable(None, 0, &[true, false]), Some(0), "unless no other worker is ready");
        assert_eq!(run.dispatchable(None, 1, &both), Some(0));
        assert_eq!(run.dispatchable(Some(0), 1, &both), None, "the lookahead holds pieces back");
        run.piece_failed(first, 1, "pi2", "hung", 3).unwrap();
        // Failed on every ready worker (a job program broken everywhere):
        // it may go back to either, rather than wait for ever.
        assert_eq!(run.dispatchable(None, 0, &both), Some(0));
        assert_eq!(run.dispatchable(None, 1, &both), Some(0));
        let err = run.piece_failed(first, 0, "pi1", "lost again", 3).unwrap_err().to_string();
        assert_eq!(err, "p0 failed 3 times, on 2 workers: pi1 (lost); pi2 (hung); pi1 (lost again)");
        let mut run = run_with(1);
        let only = run.pending.pop_front().unwrap();
        let err = run.piece_failed(only, 0, "pi1", "exit 3", 1).unwrap_err().to_string();
        assert_eq!(err, "p0 failed on 1 worker: pi1 (exit 3)");
        let mut run = run_with(1);
        let only = run.pending.pop_front().unwrap();
        run.piece_failed(only, 0, "pi1", "lost", 2).unwrap();
        let err = run.piece_failed(only, 1, "pi2", "lost", 2).unwrap_err().to_string();
        assert_eq!(err, "p0 failed on 2 workers: pi1 (lost); pi2 (lost)");
    }
}
