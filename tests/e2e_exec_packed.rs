//! exec's stdout packed on the wire (protocol 1.6) on real sockets: a 1.6
//! head asks a 1.6 worker for LZ4 blocks and writes the same bytes as when
//! the worker is seen as 1.5 (behind `MinorProxy` in `Mode::AsMinor(5)`),
//! for text that shrinks and for noise that does not; and a worker whose
//! blocks declare more than a frame's worth has its pieces run elsewhere.

mod common;
#[path = "common/minor_proxy.rs"]
mod minor_proxy;

use common::*;
use minor_proxy::{MinorProxy, Mode};
use std::path::{Path, PathBuf};

/// Numbers printed by the text program: 0..NUMBERS over the pieces.
const NUMBERS: u64 = 300_000;
const PIECES: &str = "6";
/// Bytes of noise each piece of the noise program prints.
const NOISE: usize = 200_000;

fn scratch(name: &str) -> PathBuf {
    common::job_dir("piw-packed", name)
}

fn program(dir: &Path, name: &str, body: &str) {
    common::job_program(dir, name, body)
}

/// xorshift bytes: what LZ4 cannot shrink, the same on every run.
fn noise(len: usize) -> Vec<u8> {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A job directory with `numbers` (seq over the piece's range) and
/// `noise` (prints a file of noise, whole, for every piece).
fn job_dir(name: &str) -> PathBuf {
    let dir = scratch(name);
    std::fs::write(dir.join("noise.bin"), noise(NOISE)).unwrap();
    program(&dir, "numbers", "#!/bin/sh\nseq \"$PIW_START\" \"$((PIW_END - 1))\"\n");
    program(&dir, "noise", &format!("#!/bin/sh\ncat {}\n", dir.join("noise.bin").display()));
    dir
}

/// `pisubmit exec NAME` over `hosts` into a file: its bytes and stderr.
fn run(hosts: &str, name: &str, out: &Path, extra: &[&str]) -> (Vec<u8>, String) {
    let range = format!("0..{NUMBERS}");
    let mut args = vec!["exec", name, "--range", &range, "--pieces", PIECES, "--output", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let r = pisubmit(hosts, &args);
    assert_eq!(r.code, 0, "pisubmit exec {name} through {hosts} failed: {}", r.stderr);
    (std::fs::read(out).unwrap(), r.stderr)
}

fn numbers_text() -> Vec<u8> {
    (0..NUMBERS).flat_map(|i| format!("{i}\n").into_bytes()).collect()
}

#[test]
fn packed_and_unpacked_stdout_write_the_same_bytes() {
    let dir = job_dir("same");
    let w = Worker::start(&["--threads", "2", "--job-dir", dir.to_str().unwrap()]);
    let (new, old) = (MinorProxy::start(&w.addr(), Mode::Watch), MinorProxy::start(&w.addr(), Mode::AsMinor(5)));

    let (text_new, _) = run(&new.addr(), "numbers", &dir.join("text-new"), &[]);
    let (text_old, _) = run(&old.addr(), "numbers", &dir.join("text-old"), &[]);
    let text = numbers_text();
    assert!(text_new == text, "the packed run's file is not 0..{NUMBERS}, one a line");
    assert!(text_old == text, "the 1.5 run's file is not 0..{NUMBERS}, one a line");
    let (seen_new, seen_old) = (new.exec_seen(), old.exec_seen());
    assert_eq!(seen_new.packed_submits, seen_new.submits, "a 1.6 head asks a 1.6 worker: {seen_new:?}");
    assert!(seen_new.submits > 0 && seen_new.lz4_frames > 0, "{seen_new:?}");
    assert!(seen_new.bytes * 3 < text.len() * 2, "text is not compacted: {seen_new:?} for {} bytes", text.len());
    assert_eq!(seen_old.packed_submits, 0, "a 1.5 worker was asked for packed stdout: {seen_old:?}");
    assert_eq!(seen_old.bytes, text.len(), "a 1.5 head got something else than raw stdout: {seen_old:?}");
    assert!(old.changed("Hello") > 0 && old.changed("Welcome") > 0, "the proxy changed no minor");

    let (noise_new, _) = run(&new.addr(), "noise", &dir.join("noise-new"), &[]);
    let (noise_old, _) = run(&old.addr(), "noise", &dir.join("noise-old"), &[]);
    let pieces: usize = PIECES.parse().unwrap();
    assert!(noise_new == noise(NOISE).repeat(pieces), "the packed noise run's file differs");
    assert!(noise_old == noise_new, "the 1.5 noise run's file differs");
    let noise_seen = new.exec_seen();
    let frames = noise_seen.frames - seen_new.frames;
    assert_eq!(noise_seen.lz4_frames, seen_new.lz4_frames, "noise went as LZ4: {noise_seen:?}");
    assert_eq!(noise_seen.bytes - seen_new.bytes, NOISE * pieces + frames, "noise costs one byte a frame");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// One worker's blocks declare 4 GiB: refused before anything is
/// allocated, named, and the pieces run again on the other worker.
#[test]
fn a_block_declaring_too_much_is_refused_and_its_piece_runs_elsewhere() {
    let dir = job_dir("huge");
    let args = ["--threads", "1", "--job-dir", dir.to_str().unwrap()];
    let (good, bad) = (Worker::start(&args), Worker::start(&args));
    let spoiler = MinorProxy::start(&bad.addr(), Mode::HugeLz4);
    let hosts = format!("{},{}", spoiler.addr(), good.addr());
    let (text, stderr) = run(&hosts, "numbers", &dir.join("text"), &["--retries", "3"]);
    assert!(text == numbers_text(), "the file is not 0..{NUMBERS} after the re-runs");
    assert!(spoiler.changed("Partial") > 0, "the spoiled worker ran no piece; stderr:\n{stderr}");
    let named = format!("worker {}", spoiler.addr());
    assert!(
        stderr.contains(&named) && stderr.contains("declares 4294967295 bytes, more than the"),
        "the refusal does not name the worker and the size:\n{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `PISUBMIT_PACK_STDOUT=0` asks a 1.6 worker for raw stdout: the
/// before/after switch of the emulated benchmark.
#[test]
fn pack_stdout_0_asks_for_raw_stdout() {
    let dir = job_dir("off");
    let w = Worker::start(&["--threads", "2", "--job-dir", dir.to_str().unwrap()]);
    let watch = MinorProxy::start(&w.addr(), Mode::Watch);
    let out = dir.join("text");
    let range = format!("0..{NUMBERS}");
    let child = std::process::Command::new(PISUBMIT)
        .args(["--hosts", &watch.addr(), "exec", "numbers", "--range", &range, "--pieces", PIECES])
        .args(["--output", out.to_str().unwrap()])
        .env("PISUBMIT_PACK_STDOUT", "0")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start pisubmit");
    let r = finish(child, std::time::Duration::from_secs(120));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(std::fs::read(&out).unwrap() == numbers_text(), "the unpacked run's file is not 0..{NUMBERS}");
    let seen = watch.exec_seen();
    assert!(seen.submits > 0 && seen.packed_submits == 0, "asked for packed stdout anyway: {seen:?}");
    assert_eq!(seen.bytes, numbers_text().len(), "raw stdout is the program's bytes: {seen:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
