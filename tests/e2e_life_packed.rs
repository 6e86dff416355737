//! Life's strips gathered packed (protocol 1.7, docs/PROTOCOL.md, life):
//! the same final board and the same output file whether the strips come
//! packed, raw, or from a worker seen as 1.6 (behind `MinorProxy` in
//! `Mode::AsMinor(6)`); raw over loopback unless `PISUBMIT_PACK_STRIPS=1`
//! asks; and a packed strip that lies about its size stops the run with
//! an error naming the worker.

mod common;
#[path = "common/minor_proxy.rs"]
mod minor_proxy;

use common::*;
use minor_proxy::{LifeSeen, MinorProxy, Mode};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// 1000 x 3000 cells: 16 words a row, 384,000 bytes of rows raw.
const BOARD_BYTES: usize = 3000 * 16 * 8;

/// Runs a life job through `proxy` with PISUBMIT_PACK_STRIPS = `pack`
/// (None: unset); returns the run, its --output file and what the proxy saw.
fn life(w: &Worker, mode: Mode, pack: Option<&str>, dir: &Path, name: &str) -> (Run, Vec<u8>, LifeSeen) {
    let proxy = MinorProxy::start(&w.addr(), mode);
    let out = dir.join(format!("{name}.rle"));
    let mut cmd = Command::new(PISUBMIT);
    cmd.args(["--hosts", &proxy.addr(), "--json", "life", "--random", "0.3", "--width", "1000", "--height", "3000"])
        .args(["--generations", "300", "--output", out.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    match pack {
        Some(v) => cmd.env("PISUBMIT_PACK_STRIPS", v),
        None => cmd.env_remove("PISUBMIT_PACK_STRIPS"),
    };
    let run = finish(cmd.spawn().expect("start pisubmit"), Duration::from_secs(120));
    let rle = std::fs::read(&out).unwrap_or_default();
    (run, rle, proxy.life_seen())
}

#[test]
fn strips_come_packed_from_a_1_7_worker_and_raw_from_a_1_6_one_with_the_same_board() {
    let dir = job_dir("piw-life-packed", "runs");
    let w = Worker::start(&["--threads", "2"]);
    let (packed, packed_rle, packed_seen) = life(&w, Mode::Watch, Some("1"), &dir, "packed");
    assert_eq!(packed.code, 0, "{}", packed.stderr);
    let hash = packed.json()["hash"].clone();
    // 300 generations on, about 4 % of the cells live: LZ4 packs the rows
    // to well under two thirds. A chunk is at most 2 MiB of one band's
    // rows: one for each of the worker's two bands here.
    assert_eq!((packed_seen.strip_frames, packed_seen.packed_frames), (0, 2), "{packed_seen:?}");
    assert!(
        packed_seen.packed_bytes * 3 < BOARD_BYTES * 2,
        "packed to {} of {BOARD_BYTES} bytes",
        packed_seen.packed_bytes
    );
    for (name, mode, pack) in
        [("raw", Mode::Watch, Some("0")), ("loopback", Mode::Watch, None), ("1.6 worker", Mode::AsMinor(6), Some("1"))]
    {
        let (run, rle, seen) = life(&w, mode, pack, &dir, name);
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
        assert_eq!(run.json()["hash"], hash, "{name}: another final board");
        assert!(rle == packed_rle, "{name}: another --output file");
        assert_eq!(seen.packed_frames, 0, "{name}: packed strips: {seen:?}");
        // Raw: 13 bytes of header a chunk, a chunk for each band.
        assert_eq!(seen.strip_bytes, BOARD_BYTES + 2 * 13, "{name}: {seen:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_packed_strip_that_declares_4_gib_stops_the_run_naming_the_worker() {
    let dir = job_dir("piw-life-packed", "huge");
    let w = Worker::start(&["--threads", "2"]);
    let (run, _, _) = life(&w, Mode::HugeStrip, Some("1"), &dir, "huge");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("bad strip: packed rows:"), "{}", run.stderr);
    assert!(run.stderr.contains("4294967295 bytes"), "the error names the size: {}", run.stderr);
    // The worker is fine: the next run works.
    let (next, _, _) = life(&w, Mode::Watch, Some("1"), &dir, "after");
    assert_eq!(next.code, 0, "{}", next.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}
