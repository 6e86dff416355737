//! ExactSum alone on one thread against the Shewchuk partials it replaced
//! (src/jobs/exact_sum/shewchuk.rs, the "before"), in the same run and on
//! the same data: millions of values added per second for a few kinds of
//! data, rounds interleaved, the median printed; and loopsum's own kernel
//! (row sums, each added exactly), whose time the sum hardly touches.
//! bench/exact_sum.sh runs it, and also times whole reduce jobs.
//!
//! Usage: bench_exact_sum [MILLIONS [ROUNDS]]
//!        bench_exact_sum write FILE MIB   (random doubles in [0, 1),
//!                                          big-endian, for reduce)

#[path = "../src/jobs/exact_sum/shewchuk.rs"]
mod shewchuk;

use piworker::jobs::exact_sum::ExactSum;
use piworker::jobs::loopsum::row_sum;
use shewchuk::Shewchuk;
use std::hint::black_box;
use std::time::Instant;

/// xorshift64: the same data in every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Uniform in [0, 1), as numpy's random() makes them.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn datasets(n: usize) -> Vec<(&'static str, Vec<f64>)> {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let uniform = (0..n).map(|_| rng.unit()).collect();
    // Both signs over 40 decades: Shewchuk keeps more partials here.
    let wide = (0..n)
        .map(|_| {
            let sign = if rng.next() & 1 == 0 { 1.0 } else { -1.0 };
            sign * rng.unit() * 10f64.powi((rng.next() % 41) as i32 - 20)
        })
        .collect();
    let integers = (0..n).map(|i| i as f64).collect();
    vec![("uniform [0,1)", uniform), ("both signs, 1e-20..1e20", wide), ("integers 0..n", integers)]
}

fn rate(values: &[f64], add: impl FnOnce(&[f64]) -> f64) -> (f64, f64) {
    let started = Instant::now();
    let sum = add(black_box(values));
    (values.len() as f64 / started.elapsed().as_secs_f64() / 1e6, sum)
}

fn after(values: &[f64]) -> f64 {
    let mut s = ExactSum::new();
    values.iter().for_each(|v| s.add(*v));
    s.value()
}

fn before(values: &[f64]) -> f64 {
    let mut s = Shewchuk::default();
    values.iter().for_each(|v| s.add(*v));
    s.value()
}

/// Seed 000's instance (t, u in [0, 4001)) as one loopsum task runs it.
fn loopsum_ms(exact: bool) -> (f64, f64) {
    let started = Instant::now();
    let value = if exact {
        let mut s = ExactSum::new();
        (0..4001).for_each(|t| s.add(row_sum(black_box(t), 4001, 1.0)));
        s.value()
    } else {
        let mut s = Shewchuk::default();
        (0..4001).for_each(|t| s.add(row_sum(black_box(t), 4001, 1.0)));
        s.value()
    };
    (started.elapsed().as_secs_f64() * 1e3, value)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn write(file: &str, mib: usize) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let bytes: Vec<u8> = (0..mib << 17).flat_map(|_| rng.unit().to_be_bytes()).collect();
    std::fs::write(file, bytes).unwrap_or_else(|e| fail(&format!("{file}: {e}")));
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("write") {
        let (Some(file), Some(m)) = (args.get(1), args.get(2).and_then(|m| m.parse().ok())) else {
            fail("usage: bench_exact_sum write FILE MIB");
        };
        return write(file, m);
    }
    let millions: usize = args.first().map_or(Some(16), |m| m.parse().ok()).unwrap_or_else(|| fail("MILLIONS"));
    let rounds: usize = args.get(1).map_or(Some(5), |r| r.parse().ok()).unwrap_or_else(|| fail("ROUNDS"));
    for (name, values) in datasets(millions * 1_000_000) {
        let ((old, old_sum), (new, new_sum)) = alternate(rounds, || rate(&values, before), || rate(&values, after));
        println!(
            "add {name:<26} before {old:8.1} M/s  after {new:8.1} M/s  after/before {:.3}  same bits: {}",
            new / old,
            old_sum.to_bits() == new_sum.to_bits()
        );
    }
    let ((old, old_sum), (new, new_sum)) = alternate(rounds, || loopsum_ms(false), || loopsum_ms(true));
    println!(
        "loopsum 4001x4001, one thread  before {old:8.1} ms   after {new:8.1} ms   after/before {:.3}  total {new_sum} (same bits: {})",
        new / old,
        old_sum.to_bits() == new_sum.to_bits()
    );
}

fn fail(msg: &str) -> ! {
    eprintln!("bench_exact_sum: {msg}");
    std::process::exit(2);
}

/// Runs `before` and `after` in turn `rounds` times (so both see the same
/// machine) and gives each one's median measure and its last sum.
fn alternate(
    rounds: usize,
    mut before: impl FnMut() -> (f64, f64),
    mut after: impl FnMut() -> (f64, f64),
) -> ((f64, f64), (f64, f64)) {
    let (mut old, mut new) = (Vec::new(), Vec::new());
    let (mut old_sum, mut new_sum) = (0.0, 0.0);
    for _ in 0..rounds {
        let (m, v) = before();
        old.push(m);
        old_sum = v;
        let (m, v) = after();
        new.push(m);
        new_sum = v;
    }
    ((median(old), old_sum), (median(new), new_sum))
}
