//! Why the worker turned a peer away, counted for `--metrics`: each count
//! is kept where the refusal happens (the accept path, a connection's
//! handshake and deadlines, the metrics listener) and only read elsewhere.
//!
//! Plain `Cell`s: everything that counts runs on the event loop's thread.

use std::cell::Cell;

/// One reason a connection, a request or a job was refused or cut off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The peer is not in `--allow`.
    NotAllowed,
    /// `--max-connections` was reached (at accept or at the handshake).
    ConnectionsFull,
    /// An unfinished connection dropped to make room (`--max-unfinished`,
    /// `--max-unfinished-per-address`).
    UnfinishedDropped,
    /// No file descriptor was left for the connection.
    OutOfDescriptors,
    /// The cluster key was missing or wrong.
    BadKey,
    /// The client speaks another major protocol version.
    VersionMismatch,
    /// No handshake in time, or a frame before it.
    NoHandshake,
    /// A malformed frame or one that arrived too slowly, or an idle client.
    BadFrame,
    /// A job refused (bad parameters, a duplicate id, shutting down...).
    JobRefused,
    /// The metrics listener's own cap was reached: a connection still
    /// sending its request was dropped for room, or a newcomer refused.
    MetricsBusy,
    /// A malformed, oversized or too slow HTTP request to `--metrics`.
    MetricsBadRequest,
}

/// Every reason, in the order the metrics list them.
pub const ALL: [Refusal; 11] = [
    Refusal::NotAllowed,
    Refusal::ConnectionsFull,
    Refusal::UnfinishedDropped,
    Refusal::OutOfDescriptors,
    Refusal::BadKey,
    Refusal::VersionMismatch,
    Refusal::NoHandshake,
    Refusal::BadFrame,
    Refusal::JobRefused,
    Refusal::MetricsBusy,
    Refusal::MetricsBadRequest,
];

impl Refusal {
    /// The `reason` label of `piworker_refusals_total`.
    pub fn label(self) -> &'static str {
        match self {
            Refusal::NotAllowed => "not_allowed",
            Refusal::ConnectionsFull => "connections_full",
            Refusal::UnfinishedDropped => "unfinished_dropped",
            Refusal::OutOfDescriptors => "out_of_descriptors",
            Refusal::BadKey => "bad_key",
            Refusal::VersionMismatch => "version_mismatch",
            Refusal::NoHandshake => "no_handshake",
            Refusal::BadFrame => "bad_frame",
            Refusal::JobRefused => "job_refused",
            Refusal::MetricsBusy => "metrics_busy",
            Refusal::MetricsBadRequest => "metrics_bad_request",
        }
    }

    /// Its slot in `Refusals`: `ALL` lists the reasons in declaration
    /// order (a test checks), so the discriminant is the index.
    fn index(self) -> usize {
        self as usize
    }
}

/// The counts since the daemon started, one per reason.
#[derive(Default)]
pub struct Refusals {
    counts: [Cell<u64>; ALL.len()],
}

impl Refusals {
    /// Counts one refusal for `why`.
    pub fn note(&self, why: Refusal) {
        let cell = &self.counts[why.index()];
        cell.set(cell.get() + 1);
    }

    /// Refusals for `why` since the daemon started.
    pub fn count(&self, why: Refusal) -> u64 {
        self.counts[why.index()].get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_reason_counts_apart_and_labels_are_distinct() {
        let r = Refusals::default();
        r.note(Refusal::BadKey);
        r.note(Refusal::BadKey);
        r.note(Refusal::MetricsBusy);
        assert_eq!((r.count(Refusal::BadKey), r.count(Refusal::MetricsBusy), r.count(Refusal::NotAllowed)), (2, 1, 0));
        let mut labels: Vec<&str> = ALL.iter().map(|r| r.label()).collect();
        labels.sort();
        labels.dedup();
        assert_eq!(labels.len(), ALL.len());
        for (i, why) in ALL.iter().enumerate() {
            assert_eq!(why.index(), i, "{why:?} is out of place in ALL");
        }
    }
}
