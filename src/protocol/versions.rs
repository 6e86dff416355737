//! What a peer of a given minor may be sent (docs/PROTOCOL.md, Versions).
//!
//! Replies and results grow by fields appended at the end; requests grow
//! only towards a peer that said it understands the new field. These are
//! the two questions either side asks before it sends a field a minor added.

/// The first minor whose readers skip fields appended to replies, results
/// and structured partials. A 1.2 head refuses a result with trailing
/// bytes, so a worker appends result fields only for heads whose Hello
/// announced at least this minor.
pub const GROWN_REPLIES_SINCE: u8 = 3;

/// Whether a worker may append fields added after 1.2 to the replies and
/// results it sends a client whose Hello announced `client_minor`.
pub fn reads_grown_replies(client_minor: u8) -> bool {
    client_minor >= GROWN_REPLIES_SINCE
}

/// The first minor whose clients read primes' partials as gaps
/// (`jobs::prime_gaps`); older ones get u64 primes.
pub const PRIME_GAPS_SINCE: u8 = 4;

/// Whether a worker may stream primes as gaps to a client whose Hello
/// announced `client_minor`.
pub fn reads_prime_gaps(client_minor: u8) -> bool {
    client_minor >= PRIME_GAPS_SINCE
}

/// The first minor whose workers run `life-ghosts` and take life's
/// `Peers` and `PeerStep`: neighbouring strips swap borders directly.
pub const PEER_BORDERS_SINCE: u8 = 5;

/// The first minor whose workers pack exec's stdout when a Submit sets
/// `SUBMIT_PACKED_STDOUT`, and whose clients read it.
pub const PACKED_STDOUT_SINCE: u8 = 6;

/// The first minor whose life workers take Snapshot's flags byte and
/// answer with packed strips (`jobs::life`, `PART_STRIP_PACKED`).
pub const PACKED_STRIPS_SINCE: u8 = 7;

/// Whether a request field (a job parameter) added in minor `since` may be
/// sent to a worker whose Welcome announced `worker_minor`. A worker refuses
/// parameter bytes it does not know, so a head that needs the field and
/// gets `false` must leave it out or send the piece elsewhere.
pub fn understands(worker_minor: u8, since: u8) -> bool {
    worker_minor >= since
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::frame::PROTOCOL_MINOR;

    #[test]
    fn older_peers_get_only_what_they_read() {
        assert!(!reads_grown_replies(0) && !reads_grown_replies(2));
        assert!(reads_grown_replies(GROWN_REPLIES_SINCE) && reads_grown_replies(PROTOCOL_MINOR));
        assert!(reads_grown_replies(200), "a later minor still skips what it does not know");
        assert!(!reads_prime_gaps(3) && reads_prime_gaps(PRIME_GAPS_SINCE) && reads_prime_gaps(PROTOCOL_MINOR));
        assert!(understands(3, 3) && understands(4, 3));
        assert!(!understands(5, PACKED_STDOUT_SINCE) && understands(PROTOCOL_MINOR, PACKED_STDOUT_SINCE));
        assert!(!understands(6, PACKED_STRIPS_SINCE) && understands(PROTOCOL_MINOR, PACKED_STRIPS_SINCE));
        assert!(!understands(2, 3) && !understands(0, 1));
    }
}
