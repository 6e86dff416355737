//! Log lines that a flood cannot turn into a flood of log lines.

use std::time::{Duration, Instant};

/// A log line that repeats at most every ten seconds, with the count of
/// what it left out: a flood must not become a flood of log lines.
#[derive(Default)]
pub struct RateLimitedLog {
    last: Option<Instant>,
    suppressed: u64,
}

impl RateLimitedLog {
    pub fn note(&mut self, log: impl FnOnce(u64)) {
        let now = Instant::now();
        if self.last.is_some_and(|t| now.duration_since(t) < Duration::from_secs(10)) {
            self.suppressed += 1;
            return;
        }
        log(self.suppressed);
        self.suppressed = 0;
        self.last = Some(now);
    }
}

/// What a rate-limited line says about the lines it stands for.
pub fn also(suppressed: u64) -> String {
    if suppressed == 0 {
        String::new()
    } else {
        format!(" ({suppressed} more like it not logged)")
    }
}
