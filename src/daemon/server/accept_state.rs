//! What the accept path keeps between calls: its rate-limited log lines
//! and why it last stopped.

use crate::daemon::rate_log::RateLimitedLog;

/// Rate-limited log lines of the accept path, one per rule.
#[derive(Default)]
pub(super) struct AcceptLogs {
    pub outsider: RateLimitedLog,
    pub full: RateLimitedLog,
    pub per_address: RateLimitedLog,
    pub budget: RateLimitedLog,
    pub descriptors: RateLimitedLog,
}

/// Why accept could not go on for now.
pub(super) enum AcceptPause {
    /// Nothing waits (or the loop is stopping).
    None,
    /// A batch was taken: accept again on the loop's next turn.
    Batch,
    /// Out of file descriptors with none to free: try again at the
    /// next sweep, not at once (that would spin).
    Descriptors,
}
