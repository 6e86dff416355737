//! The Life kernel alone on one thread: cell updates per second on a random
//! board (bench/life.sh runs it; see docs/PERFORMANCE.md).
//!
//! Usage: bench_life_kernel [SIZE] [GENERATIONS] [K]

use piworker::life::kernel::run_board;
use piworker::life::{Board, Edges};
use std::time::Instant;

fn main() {
    let args: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let size = args.first().copied().unwrap_or(8192) as u32;
    let gens = args.get(1).copied().unwrap_or(200);
    let k = args.get(2).copied().unwrap_or(16) as u32;
    let mut board = Board::new(size, size);
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    for y in 0..size {
        for x in 0..size {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            board.set(x, y, s % 10 < 3);
        }
    }
    let started = Instant::now();
    let out = run_board(&board, Edges::Wrap, gens, k);
    let secs = started.elapsed().as_secs_f64();
    let cells = f64::from(size) * f64::from(size) * gens as f64;
    println!(
        "kernel {size}x{size} x {gens} generations (k={k}) on one thread: {secs:.3} s, {:.3e} cell updates/s, population {}",
        cells / secs,
        out.population()
    );
}
