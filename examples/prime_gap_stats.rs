//! Bytes per prime on the wire for `primes --output`, against the gaps'
//! entropy (issue 18; docs/PERFORMANCE.md, "Primes on the wire").
//!
//!     cargo run --release --example prime_gap_stats -- FROM TO
//!
//! Sieves [FROM, TO] with the worker's own kernel and cuts the primes as a
//! worker streams them (its segments of `primes::SEGMENT` numbers, at most
//! `PRIMES_PER_PARTIAL` primes a partial), then prints, as `key=value`
//! lines: the primes; the payload bytes a prime of the u64 form (8) and of
//! the gaps form (`prime_gaps::encode`, each partial's tag and first prime
//! included); the same with each Partial frame's 16-byte header; and the
//! empirical entropy of the gaps, -sum p log2 p over the histogram of the
//! gaps between consecutive primes in the range, in bits and in bytes a
//! prime: what no code for these gaps, taken one at a time with their
//! frequencies known in advance, can beat on average.

use piworker::jobs::{prime_gaps, primes};
use piworker::protocol::frame::HEADER_LEN;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

fn parse(arg: Option<String>, name: &str) -> Result<u64, String> {
    let arg = arg.ok_or(format!("missing {name} (usage: prime_gap_stats FROM TO)"))?;
    let value = if let Some((m, e)) = arg.split_once('e') {
        let (m, e): (u64, u32) =
            (m.parse().map_err(|_| format!("{name}: {arg}"))?, e.parse().map_err(|_| format!("{name}: {arg}"))?);
        10u64.checked_pow(e).and_then(|p| p.checked_mul(m))
    } else {
        arg.parse().ok()
    };
    value.ok_or(format!("{name}: {arg} is not a whole number (1000000, or 1e6)"))
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (a, b) = match (parse(args.next(), "FROM"), parse(args.next(), "TO")) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("prime_gap_stats: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = (primes::Params { a, b, list: true }).validate() {
        eprintln!("prime_gap_stats: {e}");
        return ExitCode::from(2);
    }
    let base = primes::base_primes(primes::isqrt(b));
    let cancel = AtomicBool::new(false);
    let (mut count, mut gaps_bytes, mut frames) = (0u64, 0u64, 0u64);
    let mut histogram: BTreeMap<u64, u64> = BTreeMap::new();
    let (mut prev, mut list, mut payload) = (None::<u64>, Vec::new(), Vec::new());
    for index in a / primes::SEGMENT..=b / primes::SEGMENT {
        let lo = a.max(index * primes::SEGMENT);
        let hi = b.min(index * primes::SEGMENT + primes::SEGMENT - 1);
        list.clear();
        primes::primes_in(lo, hi, &base, &cancel, Some(&mut list));
        for chunk in list.chunks(primes::PRIMES_PER_PARTIAL) {
            payload.clear();
            prime_gaps::encode(chunk, &mut payload);
            gaps_bytes += payload.len() as u64;
            frames += 1;
        }
        for &p in &list {
            if let Some(q) = prev {
                *histogram.entry(p - q).or_default() += 1;
            }
            prev = Some(p);
        }
        count += list.len() as u64;
    }
    let gaps: u64 = histogram.values().sum();
    let entropy_bits: f64 = histogram
        .values()
        .map(|&n| {
            let p = n as f64 / gaps as f64;
            -p * p.log2()
        })
        .sum();
    let per = |bytes: u64| bytes as f64 / count.max(1) as f64;
    let headers = frames * HEADER_LEN as u64;
    println!("range={a}..={b}");
    println!("primes={count}");
    println!("partials={frames}");
    println!("u64_bytes_per_prime={:.4}", per(8 * count));
    println!("gaps_bytes_per_prime={:.4}", per(gaps_bytes));
    println!("u64_bytes_per_prime_with_headers={:.4}", per(8 * count + headers));
    println!("gaps_bytes_per_prime_with_headers={:.4}", per(gaps_bytes + headers));
    println!("gap_entropy_bits={entropy_bits:.4}");
    println!("gap_entropy_bytes_per_prime={:.4}", entropy_bits / 8.0);
    println!("distinct_gaps={}", histogram.len());
    println!("largest_gap={}", histogram.keys().next_back().copied().unwrap_or(0));
    println!("gaps_of_two_bytes={}", histogram.range(256..).map(|(_, n)| n).sum::<u64>());
    ExitCode::SUCCESS
}
