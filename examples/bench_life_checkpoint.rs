//! What a `pisubmit life --checkpoint` costs on the head: encoding a random
//! board (density 0.5) as RLE and in the binary format, writing it
//! atomically (fsync, rename), and reading it back, for each size given.
//! docs/PERFORMANCE.md ("Life checkpoints") has the numbers and the choice
//! they led to.
//!
//! Usage: bench_life_checkpoint DIR [SIDE...]   (default sides 4096 16384)

use piworker::life::{Board, Edges};
use piworker::submit::plans::life::checkpoint::{decode, encode, write_atomic, Format, Meta, Saved};
use piworker::submit::plans::life::fill_random;
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first().map(PathBuf::from) else {
        eprintln!("usage: bench_life_checkpoint DIR [SIDE...]");
        std::process::exit(2);
    };
    let mut sides: Vec<u32> = args[1..].iter().filter_map(|s| s.parse().ok()).collect();
    if sides.is_empty() {
        sides = vec![4096, 16384];
    }
    for side in sides {
        let mut board = Board::new(side, side);
        fill_random(&mut board, 0.5, 1);
        let started = Instant::now();
        let copy = board.clone();
        let clone_ms = started.elapsed().as_secs_f64() * 1e3;
        drop(copy);
        let meta = Meta { generation: 1, params: vec![("width".into(), side.to_string())] };
        let saved = Saved { meta, board, edges: Edges::Wrap };
        println!("{side}x{side}: clone {clone_ms:.1} ms");
        for format in [Format::Rle, Format::Binary] {
            let path = dir.join(format!("bench-{side}.{format:?}"));
            let t = Instant::now();
            let bytes = encode(&saved, format);
            let encode_ms = t.elapsed().as_secs_f64() * 1e3;
            let t = Instant::now();
            if let Err(e) = write_atomic(&path, &bytes) {
                eprintln!("{e}");
                std::process::exit(1);
            }
            let write_ms = t.elapsed().as_secs_f64() * 1e3;
            let t = Instant::now();
            let read = std::fs::read(&path).unwrap_or_default();
            let back = decode(&read);
            let read_ms = t.elapsed().as_secs_f64() * 1e3;
            let same = back.is_ok_and(|b| b.board.words() == saved.board.words());
            println!(
                "  {format:?}: {:.1} MiB, encode {encode_ms:.0} ms, write+fsync+rename {write_ms:.0} ms, \
                 read+decode {read_ms:.0} ms, reads back {}",
                bytes.len() as f64 / (1 << 20) as f64,
                if same { "the same" } else { "DIFFERENT" }
            );
            let _ = std::fs::remove_file(&path);
        }
    }
}
