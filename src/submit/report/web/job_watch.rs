//! The job's progress for the page: a `Watch` that passes everything to the progress bar
//! and keeps the hub's `JobView` up to date (pieces done, total, rate, ETA).
//!
//! Called on the job's thread for each piece, so it does the least: counts, and at most
//! every `PUBLISH_EVERY` swaps the numbers into the hub (a mutex held for the copy). The
//! JSON is formatted by the page's own threads.

use super::hub::Hub;
use crate::submit::cluster::engine::{Progress, Watch};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PUBLISH_EVERY: Duration = Duration::from_millis(100);

pub struct WebWatch {
    inner: Box<dyn Watch>,
    hub: Arc<Hub>,
}

impl WebWatch {
    pub fn new(inner: Box<dyn Watch>, hub: Arc<Hub>) -> WebWatch {
        WebWatch { inner, hub }
    }
}

impl Watch for WebWatch {
    fn run_started(&mut self, total: Option<usize>) -> Box<dyn Progress> {
        let progress = WebProgress {
            inner: self.inner.run_started(total),
            hub: Arc::clone(&self.hub),
            started: Instant::now(),
            published: None,
            done: 0,
            total: total.map(|t| t as u64),
        };
        progress.publish();
        Box::new(progress)
    }
}

struct WebProgress {
    inner: Box<dyn Progress>,
    hub: Arc<Hub>,
    started: Instant,
    published: Option<Instant>,
    done: u64,
    total: Option<u64>,
}

impl WebProgress {
    fn publish(&self) {
        let elapsed = self.started.elapsed().as_secs_f64();
        let rate = (self.done > 0 && elapsed > 0.0).then(|| self.done as f64 / elapsed);
        let eta = match (rate, self.total) {
            (Some(rate), Some(total)) => Some(total.saturating_sub(self.done) as f64 / rate),
            _ => None,
        };
        let (done, total) = (self.done, self.total);
        self.hub.update_job(|job| {
            job.pieces_done = done;
            job.pieces_total = total;
            job.rate_per_s = rate;
            job.eta_s = eta;
        });
    }

    fn maybe_publish(&mut self) {
        if self.published.is_none_or(|t| t.elapsed() >= PUBLISH_EVERY) {
            self.publish();
            self.published = Some(Instant::now());
        }
    }
}

impl Progress for WebProgress {
    fn set_total(&mut self, total: usize) {
        self.inner.set_total(total);
        self.total = Some(total as u64);
        self.maybe_publish();
    }
    fn piece_done(&mut self) {
        self.inner.piece_done();
        self.done += 1;
        self.maybe_publish();
    }
    fn notice(&mut self, line: String) {
        self.inner.notice(line);
    }
    fn ended(&mut self, done: bool) {
        self.inner.ended(done);
        self.publish();
    }
}
