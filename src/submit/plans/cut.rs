//! How big the pieces are. The cut is canonical: sizes depend on the job
//! and the number of hosts only, and every merge is exact, so the answer
//! never depends on it.

/// Work in one piece, in inner-loop iterations (loopsum) or darts (pi):
/// tens of milliseconds on a Pi 4's four cores, so pieces spread over many
/// workers and a lost one costs little to re-run.
pub const PIECE_WORK: u64 = 1 << 26;
/// Numbers per primes piece when only counting.
pub const PRIMES_PIECE: u64 = 1 << 24;
/// Pieces are cut smaller when there would be fewer than this many per
/// host, so that every host of a large cluster gets some (with 240 hosts,
/// 10^9 darts were 15 pieces: 225 hosts sat idle) and the fastest ones can
/// take more than their share.
pub const PIECES_PER_HOST: u64 = 4;
/// ...but not below this much work, where a piece's round trip would
/// start to cost more than its computing.
pub const MIN_PIECE_WORK: u64 = 1 << 20;

/// The size of the pieces that cut `total` units of work for `hosts`
/// hosts: `usual`, or smaller to give every host `PIECES_PER_HOST`, but not
/// below `floor`. The answers are exact sums and counts, so the cut never
/// changes them.
pub fn piece_size(total: u64, usual: u64, floor: u64, hosts: usize) -> u64 {
    let wanted = PIECES_PER_HOST.saturating_mul(hosts.max(1) as u64);
    usual.min(total.div_ceil(wanted).max(floor)).max(1)
}
