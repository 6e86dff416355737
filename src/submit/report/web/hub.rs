//! What the web page shows, in one place: the hosts as the last survey saw
//! them, the running job's progress and, for Life, its latest board.
//!
//! Writers (the survey thread, the job's progress and gatherers) replace a
//! part and bump `seq`; readers (the HTTP server's event streams) wait for
//! a `seq` past the one they sent. Everything is behind one mutex, held
//! only to copy or swap: nothing slow is done under it, so a page being
//! served never holds up the job.

use super::history::TempHistory;
use crate::submit::cluster::survey::HostSurvey;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The running (or last) job, as the page shows it.
#[derive(Clone, Debug, Default)]
pub struct JobView {
    /// The command as typed, e.g. "primes --to 1e9".
    pub command: String,
    /// When it started, milliseconds since the Unix epoch.
    pub started_unix_ms: u64,
    pub pieces_done: u64,
    /// None while the pieces are still coming (a farm reading stdin).
    pub pieces_total: Option<u64>,
    /// Pieces a second, recently.
    pub rate_per_s: Option<f64>,
    /// Seconds left at that rate, when the total is known.
    pub eta_s: Option<f64>,
    pub hosts: Vec<JobHostView>,
    /// primes: the count and the largest prime gathered so far.
    pub primes: Option<(u64, u64)>,
    /// life: the last generation every strip has reached.
    pub life_generation: Option<u64>,
    /// Set when the job has ended: its answer, or why it failed.
    pub finished: Option<String>,
}

/// One worker's share of the job.
#[derive(Clone, Debug, Default)]
pub struct JobHostView {
    pub address: String,
    pub pieces: u64,
    pub failures: u64,
    /// The engine's name for its link's state ("ready", "lost", ...).
    pub state: String,
}

/// A Life board for the page: a PNG, downscaled when the board is large.
#[derive(Clone, Debug)]
pub struct BoardView {
    pub generation: u64,
    /// The board's own size (the PNG may be smaller).
    pub rows: u64,
    pub cols: u64,
    pub png: Arc<Vec<u8>>,
}

/// A copy of everything, as of `seq`.
#[derive(Clone, Default)]
pub struct View {
    /// Bumped by every change; 0 before the first.
    pub seq: u64,
    /// The last survey, in the order the hosts were given.
    pub hosts: Arc<Vec<HostSurvey>>,
    /// Each host's temperature over the last hour, one mean a minute.
    pub history: Arc<TempHistory>,
    pub job: Option<JobView>,
    pub board: Option<BoardView>,
}

#[derive(Default)]
pub struct Hub {
    view: Mutex<View>,
    changed: Condvar,
}

impl Hub {
    pub fn new() -> Arc<Hub> {
        Arc::new(Hub::default())
    }

    fn change(&self, f: impl FnOnce(&mut View)) {
        let mut view = self.view.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut view);
        view.seq += 1;
        drop(view);
        self.changed.notify_all();
    }

    /// A survey's answers replace the last one's, and their temperatures join the history.
    /// The history is copied and extended outside the mutex (one survey thread writes it).
    pub fn set_hosts(&self, hosts: Vec<HostSurvey>) {
        let readings: Vec<(String, Option<f32>)> = hosts
            .iter()
            .map(|h| (h.spec.address(), h.status().and_then(|s| s.temp_millic).map(|m| m as f32 / 1000.0)))
            .collect();
        let unix_s = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let mut history = TempHistory::clone(&self.snapshot().history);
        history.add(&readings, unix_s);
        let (hosts, history) = (Arc::new(hosts), Arc::new(history));
        self.change(|v| {
            v.hosts = hosts;
            v.history = history;
        });
    }

    /// Starts showing a job (or stops, with None).
    pub fn set_job(&self, job: Option<JobView>) {
        self.change(|v| v.job = job);
    }

    /// Changes the job shown; nothing if none is.
    pub fn update_job(&self, f: impl FnOnce(&mut JobView)) {
        self.change(|v| {
            if let Some(job) = v.job.as_mut() {
                f(job);
            }
        });
    }

    pub fn set_board(&self, board: BoardView) {
        self.change(|v| v.board = Some(board));
    }

    pub fn snapshot(&self) -> View {
        self.view.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The view once its `seq` is past `seen`, or as it is after `timeout`.
    pub fn wait_past(&self, seen: u64, timeout: Duration) -> View {
        let view = self.view.lock().unwrap_or_else(PoisonError::into_inner);
        let (view, _) =
            self.changed.wait_timeout_while(view, timeout, |v| v.seq <= seen).unwrap_or_else(PoisonError::into_inner);
        view.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_wakes_at_a_change_and_sees_it() {
        let hub = Hub::new();
        let seen = hub.snapshot().seq;
        let writer = Arc::clone(&hub);
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            writer.set_job(Some(JobView { command: "pi".into(), ..JobView::default() }));
            writer.update_job(|j| j.pieces_done = 3);
        });
        let view = hub.wait_past(seen, Duration::from_secs(10));
        assert!(view.seq > seen);
        t.join().unwrap();
        let view = hub.snapshot();
        assert_eq!(view.job.map(|j| j.pieces_done), Some(3));
        assert_eq!(hub.wait_past(view.seq, Duration::from_millis(1)).seq, view.seq, "no change: as it was");
    }
}
