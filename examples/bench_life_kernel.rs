//! The Life kernel alone on one thread: cell updates per second on a board
//! read from an RLE file (bench/life.sh passes the board it gives every
//! contender), run `K` generations between its own border copies exactly as
//! a lone worker thread does.
//!
//! Usage: bench_life_kernel FILE.rle GENERATIONS [K]

use piworker::life::kernel::run_board;
use piworker::life::pattern;
use piworker::life::{Board, Edges};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(file), Some(gens)) = (args.first(), args.get(1).and_then(|g| g.parse::<u64>().ok())) else {
        eprintln!("usage: bench_life_kernel FILE.rle GENERATIONS [K]");
        std::process::exit(2);
    };
    let k = args.get(2).and_then(|k| k.parse().ok()).unwrap_or(16u32);
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| fail(&format!("{file}: {e}")));
    let p = pattern::parse(&text, file).unwrap_or_else(|e| fail(&e.to_string()));
    let (w, h, edges) = p.grid.map_or((p.width, p.height, Edges::Wrap), |g| (g.width, g.height, g.edges));
    let mut board = Board::new(w, h);
    p.place_centered(&mut board).unwrap_or_else(|e| fail(&e));
    let started = Instant::now();
    let out = run_board(&board, edges, gens, k);
    let secs = started.elapsed().as_secs_f64();
    let cells = f64::from(w) * f64::from(h) * gens as f64;
    println!(
        "kernel {w}x{h} x {gens} generations (k={k}) on one thread: {secs:.3} s, {:.4e} cell updates/s, \
         population {}, sha256 {}",
        cells / secs,
        out.population(),
        out.digest()
    );
}

fn fail(msg: &str) -> ! {
    eprintln!("bench_life_kernel: {msg}");
    std::process::exit(1);
}
