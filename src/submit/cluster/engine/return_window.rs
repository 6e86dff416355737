//! How much input the head may have out on one link for pieces whose
//! worker sends their input straight back (echo): the return window.
//!
//! Why: such a piece loads both directions of the head's link at once, and
//! TCP alone keeps sending until the sockets' buffers are full. On a slow
//! link shared by several workers the head's input then queues ahead of
//! the ACKs of the echoed data (and the other way round), the switch's
//! shallow queue towards the head drops the workers' bursts, and once the
//! head has sent its last byte, megabytes are still on their way back (an
//! 8 MB echo to 8 emulated Pis through a 100 Mbit/s head link: 70-84% of
//! the link, the last 1.5 s one-way). Having no more out than what comes
//! back in about a round trip plus `HEADROOM` keeps both directions busy
//! with short queues, and ends them together.
//!
//! The window is the link's return rate (the best of the last few samples:
//! the rate it can do, not a momentary dip) times the round trip of the
//! link's handshake (the path with empty queues) plus `HEADROOM`. On a fast
//! link (loopback) it grows within a sample or two to many megabytes and
//! never binds. It owns no socket: the engine asks it for room before
//! queueing input and tells it what came back.

use super::run_state::RunState;
use crate::submit::cluster::link::Link;
use std::time::{Duration, Instant};

/// Queueing allowed on top of the round trip: enough to cover a worker's
/// scheduling gaps and TCP's ACK delays (milliseconds), little enough to
/// fit in a switch port's buffer (tens of milliseconds).
const HEADROOM: Duration = Duration::from_millis(40);
/// How long one rate sample is: several of a busy worker's scheduler
/// periods, so that a burst is not taken for the rate.
const SAMPLE: Duration = Duration::from_millis(20);
/// Rate samples kept; the window follows the best of them.
const SAMPLES: usize = 10;
/// Before anything came back, the links share this much (32 KiB each for
/// 8 workers: the head's link may be slow; one worker on loopback may take
/// the lot); and the window's floor.
const FIRST_WINDOWS: u64 = 256 * 1024;
const MIN_WINDOW: u64 = 8 * 1024;
/// Input frames are at most a quarter of the window (and at least this),
/// so that the worker echoes one while the next are on their way.
const MIN_CHUNK: usize = 2 * 1024;

pub struct ReturnWindow {
    /// None until a rate sample is in.
    window: Option<u64>,
    /// Start of the current rate sample (None until something came back)
    /// and the bytes back since.
    mark: Option<Instant>,
    back_since_mark: u64,
    /// Return rates of the last samples, bytes per second.
    rates: [f64; SAMPLES],
    next_rate: usize,
}

impl Default for ReturnWindow {
    fn default() -> Self {
        ReturnWindow { window: None, mark: None, back_since_mark: 0, rates: [0.0; SAMPLES], next_rate: 0 }
    }
}

impl ReturnWindow {
    /// The window now, with `links` workers ready.
    fn window(&self, links: usize) -> u64 {
        self.window.unwrap_or_else(|| (FIRST_WINDOWS / links.max(1) as u64).max(MIN_WINDOW))
    }

    /// Bytes of input that may be queued now, with `out` sent and not back.
    pub fn room(&self, out: u64, links: usize) -> usize {
        self.window(links).saturating_sub(out).try_into().unwrap_or(usize::MAX)
    }

    /// The largest input frame to send, up to `max`.
    pub fn chunk(&self, max: usize, links: usize) -> usize {
        let quarter: usize = (self.window(links) / 4).try_into().unwrap_or(usize::MAX);
        quarter.max(MIN_CHUNK).min(max)
    }

    /// `bytes` of echoed input came back at `now`, on a link whose
    /// handshake took `round_trip`.
    pub fn returned(&mut self, bytes: u64, now: Instant, round_trip: Duration) {
        let Some(mark) = self.mark else {
            self.mark = Some(now);
            return;
        };
        self.back_since_mark += bytes;
        let elapsed = now.duration_since(mark);
        if elapsed < SAMPLE {
            return;
        }
        self.rates[self.next_rate] = self.back_since_mark as f64 / elapsed.as_secs_f64();
        self.next_rate = (self.next_rate + 1) % SAMPLES;
        let best = self.rates.iter().copied().fold(0.0, f64::max);
        let span = round_trip + HEADROOM;
        self.window = Some(((best * span.as_secs_f64()) as u64).max(MIN_WINDOW));
        self.mark = Some(now);
        self.back_since_mark = 0;
    }
}

/// Input of the pieces on `link` whose input comes back, sent and not back
/// yet (a flight's `bytes_in` counts its parameters too).
pub(super) fn out_on(link: &Link, run: &RunState) -> u64 {
    link.flights
        .values()
        .filter_map(|f| {
            let piece = &run.pieces[f.piece].piece;
            piece
                .kind
                .returns_input()
                .then(|| f.bytes_in.saturating_sub(piece.params.len() as u64).saturating_sub(f.partials.len() as u64))
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `rate` bytes/s back in 1 ms steps for `ms` milliseconds.
    fn feed(w: &mut ReturnWindow, start: Instant, rate: u64, ms: u64, round_trip: Duration) {
        for t in 0..=ms {
            w.returned(rate / 1000, start + Duration::from_millis(t), round_trip);
        }
    }

    #[test]
    fn a_slow_link_gets_a_small_window_and_small_frames() {
        let mut w = ReturnWindow::default();
        // 170 kB/s: one of 8 workers sharing a 1.35 MB/s head link.
        feed(&mut w, Instant::now(), 170_000, 400, Duration::from_micros(500));
        let window = w.window(8);
        assert!(window < FIRST_WINDOWS / 8, "window {window}");
        assert!(window >= MIN_WINDOW);
        assert_eq!(w.room(window, 8), 0);
        assert!(w.chunk(256 * 1024, 8) <= 4 * 1024, "chunk {}", w.chunk(256 * 1024, 8));
    }

    #[test]
    fn a_fast_link_gets_a_window_that_does_not_bind() {
        let mut w = ReturnWindow::default();
        feed(&mut w, Instant::now(), 1_000_000_000, 50, Duration::from_micros(50));
        assert!(w.window(1) >= 32 << 20, "window {}", w.window(1));
        assert_eq!(w.chunk(256 * 1024, 1), 256 * 1024);
    }

    #[test]
    fn a_long_round_trip_widens_the_window() {
        let (mut near, mut far) = (ReturnWindow::default(), ReturnWindow::default());
        let start = Instant::now();
        feed(&mut near, start, 1_000_000, 100, Duration::from_millis(1));
        feed(&mut far, start, 1_000_000, 100, Duration::from_millis(60));
        let (near, far) = (near.window(1), far.window(1));
        assert!(far > 2 * near, "near {near} far {far}");
    }

    #[test]
    fn a_dip_does_not_shrink_the_window_at_once() {
        let mut w = ReturnWindow::default();
        let start = Instant::now();
        feed(&mut w, start, 1_000_000, 100, Duration::ZERO);
        let before = w.window(1);
        // 60 ms with nothing back, then a trickle.
        w.returned(1, start + Duration::from_millis(160), Duration::ZERO);
        assert_eq!(w.window(1), before);
    }

    #[test]
    fn the_first_window_is_shared_by_the_links() {
        let w = ReturnWindow::default();
        assert_eq!(w.room(0, 1), FIRST_WINDOWS as usize);
        assert_eq!(w.room(0, 8), (FIRST_WINDOWS / 8) as usize);
        assert_eq!(w.room(0, 1000), MIN_WINDOW as usize);
    }
}
