//! The model of `pisubmit life` on N hosts, for `bench --predict life`.
//! Life runs in lockstep rounds, not in pieces, so it has a form of its
//! own beside `model::predict`. Pure arithmetic, like that one.
//!
//! The board's H rows are cut into one strip per host (equal hosts: H/N
//! rows each). A round runs K generations (the ghost depth) and then
//! swaps K border rows with both neighbours, directly between the hosts;
//! each generation of depth K recomputes about K rows more per strip (the
//! ghost margins). With t a host's time for one row and one generation,
//! measured on a band of the board with its own rounds (so their
//! overhead on that host is in t), W columns, G generations, a link of L
//! bytes/s (a star of equal ports: a host's link is as fast as the
//! head's) and a round trip R:
//!
//! ```text
//! per generation = (H/N + K) t + (R + 2 K W/8 / L) / K     (the borders: N > 1)
//! wall           = start(H/N) + G * per generation + snapshots * (R + B / L)
//! ```
//!
//! K is the depth the band's run settled on (the driver balances a
//! round's overhead against the margins, K = sqrt(overhead / t)), capped
//! by the strip. `start` is the strips' start (a random board is filled on
//! the hosts, in parallel; a board from a file is sent through the head's
//! link), B the bytes of the whole board as gathered (packed over a real
//! link), and the snapshots are the checkpoints (`--checkpoint-every`)
//! and the final board, each through the head's one link.

use super::model::{Cluster, Limit, Prediction};
use crate::submit::plans::life::Checkpoint;

/// Most generations between exchanges (the driver's `MAX_DEPTH`).
const MAX_DEPTH: f64 = 256.0;

/// What a Life run costs, measured on one host.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LifeCost {
    pub width: f64,
    pub height: f64,
    pub generations: f64,
    /// Seconds for one host to advance one row by one generation, its
    /// rounds' own overhead included.
    pub row_seconds: f64,
    /// Generations per round.
    pub depth: f64,
    /// Seconds a host takes to start a row of its strip (filling it).
    pub start_row_seconds: f64,
    /// Bytes sent through the head's link at the start (a board from a
    /// file); 0 for a random board, which the hosts fill themselves.
    pub load_bytes: f64,
    /// The whole board's bytes as the head gathers it.
    pub board_bytes: f64,
    /// `--checkpoint-every`: every so long, or so many generations.
    pub checkpoint: Checkpoint,
}

/// The wall time of the run on `hosts` hosts, as `pisubmit life` reports
/// it (`wall_ms`: connecting aside).
pub fn predict_life(cost: &LifeCost, cluster: &Cluster, hosts: usize) -> Prediction {
    // A strip is at least a row: hosts past the board's height get none.
    let n = (hosts.max(1) as f64).min(cost.height.max(1.0));
    let rows = cost.height / n;
    let k = cost.depth.min(rows.floor()).clamp(1.0, MAX_DEPTH);
    let compute = cost.generations * (rows + k) * cost.row_seconds;
    let borders = if n > 1.0 { 2.0 * k * cost.width / 8.0 / cluster.link } else { 0.0 };
    let rounds = (cost.generations / k).ceil() * (cluster.rtt + borders);
    let start = rows * cost.start_row_seconds + cost.load_bytes / cluster.link;
    let gather = cluster.rtt + cost.board_bytes / cluster.link;
    let running = start + compute + rounds;
    let checkpoints = match cost.checkpoint {
        Checkpoint::Every(every) if !every.is_zero() => (running / every.as_secs_f64()).floor(),
        Checkpoint::Generations(every) if every > 0 => ((cost.generations - 1.0) / every as f64).floor().max(0.0),
        _ => 0.0,
    };
    let snapshots = checkpoints + 1.0;
    let link = snapshots * gather + cost.load_bytes / cluster.link;
    let limit = if link >= compute && link >= rounds {
        Limit::Link
    } else if rounds >= compute {
        Limit::RoundTrips
    } else {
        Limit::Cores
    };
    Prediction { hosts, pieces: hosts, wall: running + snapshots * gather, compute, link, head: 0.0, rounds, limit }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const PI4_GIGABIT: Cluster = Cluster { cores_per_host: 4, link: 117e6, rtt: 0.0003 };

    /// 8192 x 8192 for 1000 generations on Pi 4s: 2.5 µs a row of 8192
    /// cells on a host; no checkpoints (their test adds them).
    fn board() -> LifeCost {
        LifeCost {
            width: 8192.0,
            height: 8192.0,
            generations: 1000.0,
            row_seconds: 2.5e-6,
            depth: 16.0,
            start_row_seconds: 10e-6,
            load_bytes: 0.0,
            board_bytes: 4e6,
            checkpoint: Checkpoint::Off,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn compute_divides_and_the_rest_does_not() {
        let cost = board();
        let one = predict_life(&cost, &PI4_GIGABIT, 1);
        let eight = predict_life(&cost, &PI4_GIGABIT, 8);
        assert!(close(eight.compute, 1000.0 * (1024.0 + 16.0) * cost.row_seconds), "{eight:?}");
        // 63 rounds, each a round trip and 2 bands of 16 rows of 1 KiB.
        assert!(close(eight.rounds, 63.0 * (0.0003 + 2.0 * 16.0 * 1024.0 / 117e6)), "{eight:?}");
        // One host has no neighbour to swap with: round trips only.
        assert!(close(one.rounds, 63.0 * 0.0003), "{one:?}");
        // The gather of the final board does not shrink with hosts.
        assert!(close(eight.link, one.link) && close(one.link, 0.0003 + 4e6 / 117e6));
        let speedup = one.wall / eight.wall;
        assert!(speedup > 6.0 && speedup < 8.0, "{speedup}");
        assert_eq!(eight.limit, Limit::Cores);
    }

    #[test]
    fn hosts_past_the_boards_height_get_nothing_to_do() {
        let tiny = LifeCost { height: 3.0, ..board() };
        let three = predict_life(&tiny, &PI4_GIGABIT, 3);
        let many = predict_life(&tiny, &PI4_GIGABIT, 1024);
        assert!(close(many.wall, three.wall) && close(many.compute, three.compute), "{many:?} {three:?}");
        assert_eq!(many.hosts, 1024);
    }

    #[test]
    fn the_strip_caps_the_depth() {
        // 8192 rows on 4096 hosts: strips of 2 rows, so rounds of 2.
        let p = predict_life(&board(), &PI4_GIGABIT, 4096);
        assert!(close(p.compute, 1000.0 * (2.0 + 2.0) * board().row_seconds), "{p:?}");
        assert_eq!(p.limit, Limit::RoundTrips);
    }

    #[test]
    fn checkpoints_are_gathers_too() {
        let off = board();
        let gather = 0.0003 + 4e6 / 117e6;
        // One host runs for about 20.6 s: checkpoints at 10 s and 20 s.
        let timed =
            predict_life(&LifeCost { checkpoint: Checkpoint::Every(Duration::from_secs(10)), ..off }, &PI4_GIGABIT, 1);
        let base = predict_life(&off, &PI4_GIGABIT, 1);
        assert!(base.wall > 20.0 && base.wall < 30.0, "{base:?}");
        assert!(close(timed.wall - base.wall, 2.0 * gather), "{timed:?} {base:?}");
        // Eight hosts finish within the first 10 s: the final board only.
        let eight =
            predict_life(&LifeCost { checkpoint: Checkpoint::Every(Duration::from_secs(10)), ..off }, &PI4_GIGABIT, 8);
        assert!(close(eight.link, gather), "{eight:?}");
        // By generations: at 100, 200, ..., 900, and the end.
        let every = predict_life(&LifeCost { checkpoint: Checkpoint::Generations(100), ..off }, &PI4_GIGABIT, 1);
        assert!(close(every.wall - base.wall, 9.0 * gather), "{every:?}");
    }

    #[test]
    fn a_slow_link_and_many_hosts_leave_the_gather() {
        // lab-100: 12.5 MB/s; a board from a file goes out whole first.
        let lab = Cluster { link: 12.5e6, ..PI4_GIGABIT };
        let cost = LifeCost { load_bytes: 8.0 * 1024.0 * 1024.0, ..board() };
        let many = predict_life(&cost, &lab, 240);
        assert_eq!(many.limit, Limit::Link);
        assert!(many.wall > (8.0 * 1024.0 * 1024.0 + 4e6) / 12.5e6, "{many:?}");
    }
}
