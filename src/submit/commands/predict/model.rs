//! The model behind `bench --predict`: how long a job takes on N hosts of
//! a star cluster, where every worker talks to the head through the head's
//! one link, from what one core, the link and a round trip were measured
//! (or said) to be. Pure arithmetic, no sockets or clocks: `measure` feeds
//! it and `render` prints it.
//!
//! For a job cut into P pieces (the cut pisubmit makes for N hosts), on N
//! hosts of C cores, a head link of L bytes/s each way and a round trip R:
//!
//! ```text
//! piece   = S / P / C                          one piece on one host's C cores
//! compute = ceil(P / N) * max(piece, (piece + R) / 2)
//! link    = max(bytes to workers, bytes from workers) / L
//! wall    = R + max(compute, link, head)
//! ```
//!
//! S is the job's core-seconds (a sample's time on one core, scaled up),
//! `head` the head's own work (gathering, writing the output), scaled up
//! from the same sample. The busiest host has ceil(P/N) pieces; it holds
//! two at a time, so a round trip is hidden unless a piece is shorter than
//! it. The head link is full duplex, so the larger direction counts. One
//! round trip is never hidden: the first piece out and the last result
//! back. Connecting (about two round trips) happens before the clock
//! starts, as in `bench`.
//!
//! Life runs in lockstep rounds, not pieces: `life_model` is its form.

/// Pieces a worker holds at once (the engine's window).
const WINDOW: f64 = 2.0;
/// A host count is recommended when its wall time is within this share
/// of the best the cluster can do.
pub const WITHIN_BEST: f64 = 0.05;

/// What a job costs, whatever the cluster.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct JobCost {
    /// Seconds of computing on one core for the whole job.
    pub core_seconds: f64,
    /// Bytes from the head to the workers and back, for the whole job.
    pub bytes_to_workers: f64,
    pub bytes_from_workers: f64,
    /// Seconds the head itself spends gathering and writing the answer.
    pub head_seconds: f64,
}

/// The cluster predicted for (per host; the host count varies).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cluster {
    pub cores_per_host: usize,
    /// The head's link, bytes per second each way.
    pub link: f64,
    /// Seconds.
    pub rtt: f64,
}

/// What sets the pace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    Cores,
    /// Pieces shorter than a round trip: the cores wait for work.
    RoundTrips,
    /// The head's link carries every worker's bytes.
    Link,
    /// The head's own gathering and writing.
    Head,
}

impl Limit {
    pub fn name(self) -> &'static str {
        match self {
            Limit::Cores => "cores",
            Limit::RoundTrips => "round trips",
            Limit::Link => "head link",
            Limit::Head => "head",
        }
    }
}

/// The prediction for one host count; times in seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prediction {
    pub hosts: usize,
    pub pieces: usize,
    pub wall: f64,
    pub compute: f64,
    pub link: f64,
    pub head: f64,
    /// Life's rounds: their overheads, all added up.
    pub rounds: f64,
    pub limit: Limit,
}

/// The wall time of `job`, cut into `pieces`, on `hosts` hosts.
pub fn predict(job: &JobCost, cluster: &Cluster, hosts: usize, pieces: usize) -> Prediction {
    let (hosts_f, pieces_f) = (hosts.max(1) as f64, pieces.max(1) as f64);
    let piece = job.core_seconds / pieces_f / cluster.cores_per_host.max(1) as f64;
    let paced = (piece + cluster.rtt) / WINDOW;
    let compute = (pieces_f / hosts_f).ceil() * piece.max(paced);
    let link = job.bytes_to_workers.max(job.bytes_from_workers) / cluster.link;
    let head = job.head_seconds;
    let limit = if link >= compute && link >= head {
        Limit::Link
    } else if head >= compute {
        Limit::Head
    } else if paced > piece {
        Limit::RoundTrips
    } else {
        Limit::Cores
    };
    let wall = cluster.rtt + compute.max(link).max(head);
    Prediction { hosts, pieces, wall, compute, link, head, rounds: 0.0, limit }
}

/// The fewest hosts whose wall time is within `WITHIN_BEST` of the best
/// of `predictions` (one per host count, any order).
pub fn recommended(predictions: &[Prediction]) -> Option<&Prediction> {
    let best = predictions.iter().map(|p| p.wall).fold(f64::INFINITY, f64::min);
    predictions.iter().filter(|p| p.wall <= best * (1.0 + WITHIN_BEST)).min_by_key(|p| p.hosts)
}

/// The fewest hosts at which the head's link is the limit, if any.
pub fn link_saturates(predictions: &[Prediction]) -> Option<usize> {
    predictions.iter().filter(|p| p.limit == Limit::Link).map(|p| p.hosts).min()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PI4_GIGABIT: Cluster = Cluster { cores_per_host: 4, link: 125e6, rtt: 0.0003 };

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn a_compute_job_divides_over_every_core() {
        // 64 core-seconds in 64 pieces: 1 s each on one core, 0.25 s on four.
        let job = JobCost { core_seconds: 64.0, bytes_to_workers: 0.0, bytes_from_workers: 0.0, head_seconds: 0.0 };
        let one = predict(&job, &PI4_GIGABIT, 1, 64);
        assert!(close(one.compute, 16.0), "{one:?}");
        assert!(close(one.wall, 16.0003));
        assert_eq!(one.limit, Limit::Cores);
        let eight = predict(&job, &PI4_GIGABIT, 8, 64);
        assert!(close(eight.compute, 2.0), "8 pieces of 0.25 s: {eight:?}");
        // 64 pieces on 10 hosts: the busiest has 7, not 6.4.
        assert!(close(predict(&job, &PI4_GIGABIT, 10, 64).compute, 7.0 * 0.25));
    }

    #[test]
    fn a_streaming_job_is_held_by_the_head_link() {
        // primes --output below 10^9: 50,847,534 primes of 8 bytes on 100 Mbit/s.
        let bytes = 50_847_534.0 * 8.0;
        let job = JobCost { core_seconds: 8.0, bytes_to_workers: 0.0, bytes_from_workers: bytes, head_seconds: 1.0 };
        let lab = Cluster { link: 12.5e6, ..PI4_GIGABIT };
        let p = predict(&job, &lab, 8, 477);
        assert_eq!(p.limit, Limit::Link);
        assert!(close(p.link, 32.542_421_76), "406 MB / 12.5 MB/s: {p:?}");
        assert!(close(p.wall, 32.542_421_76 + 0.0003));
        // Even one host's 4 cores (2 s of sieving) outpace the link.
        assert_eq!(predict(&job, &lab, 1, 477).limit, Limit::Link);
    }

    #[test]
    fn pieces_shorter_than_a_round_trip_wait_for_it() {
        // 1 ms pieces and a 5 ms round trip: with two in flight, 3 ms each.
        let job = JobCost { core_seconds: 0.1, bytes_to_workers: 0.0, bytes_from_workers: 0.0, head_seconds: 0.0 };
        let slow = Cluster { cores_per_host: 1, link: 1e9, rtt: 0.005 };
        let p = predict(&job, &slow, 1, 100);
        assert!(close(p.compute, 100.0 * 0.003), "{p:?}");
        assert_eq!(p.limit, Limit::RoundTrips);
    }

    #[test]
    fn the_head_can_be_the_limit() {
        let job = JobCost { core_seconds: 4.0, bytes_to_workers: 0.0, bytes_from_workers: 1e6, head_seconds: 3.0 };
        let p = predict(&job, &PI4_GIGABIT, 4, 16);
        assert_eq!(p.limit, Limit::Head);
        assert!(close(p.wall, 3.0003));
    }

    #[test]
    fn the_recommendation_is_the_fewest_hosts_near_the_best() {
        // 10 core-s, 40 MB out at 12.5 MB/s = 3.2 s: 1 host 2.5 s of compute,
        // so the link limits from the first host on.
        let job = JobCost { core_seconds: 10.0, bytes_to_workers: 0.0, bytes_from_workers: 40e6, head_seconds: 0.0 };
        let lab = Cluster { cores_per_host: 1, link: 12.5e6, rtt: 0.0 };
        let all: Vec<Prediction> = (1..=16).map(|n| predict(&job, &lab, n, 64)).collect();
        // Compute: ceil(64/n) * 10/64 s; link 3.2 s. n=3: 22 * 0.15625 = 3.4375 > 3.2; n=4: 2.5 <= 3.2.
        assert_eq!(recommended(&all).map(|p| p.hosts), Some(4));
        assert_eq!(link_saturates(&all), Some(4));
        // Walls never grow with hosts here.
        assert!(all.windows(2).all(|w| w[1].wall <= w[0].wall));
    }
}
