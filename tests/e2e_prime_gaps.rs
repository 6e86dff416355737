//! primes' partials as gaps (protocol 1.4) on real sockets: what a 1.4
//! head and worker put on the wire, and that 1.3 peers on either side still
//! get and give u64 primes, with the same answers and output bytes.
//!
//! The 1.3 peer is a real piworker or pisubmit behind `MinorProxy` in
//! `Mode::AsMinor(3)`, which sets the minor of both the Hello and the
//! Welcome: the worker then answers as to a 1.3 head (u64 primes) and the
//! head sees a 1.3 worker. The proxy counts the primes partials of each
//! form, so every test checks which form really crossed the wire.

mod common;
#[path = "common/minor_proxy.rs"]
mod minor_proxy;

use common::*;
use minor_proxy::{MinorProxy, Mode};
use piworker::jobs::{prime_gaps, primes, JobKind};
use piworker::protocol::{FrameType, Hello, Submit};
use std::path::PathBuf;

/// Primes below 2·10^7, and the range the tests list.
const TO: u64 = 20_000_000;
const COUNT: u64 = 1_270_607;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("piw-gaps-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `primes --from 1 --to TO --output` through `hosts`: the --json answer's
/// count and largest, and the file's bytes.
fn listed(hosts: &str, out: &std::path::Path) -> (serde_json::Value, Vec<u8>) {
    let to = TO.to_string();
    let run = pisubmit(hosts, &["--json", "primes", "--from", "1", "--to", &to, "--output", out.to_str().unwrap()]);
    let v = run.json();
    (serde_json::json!([v["result"], v["max"]]), std::fs::read(out).unwrap())
}

/// The primes up to `to` as the text pisubmit writes, by a plain sieve.
fn reference_text(to: u64) -> Vec<u8> {
    let mut text = Vec::new();
    for p in primes::base_primes(to) {
        text.extend_from_slice(format!("{p}\n").as_bytes());
    }
    text
}

#[test]
fn a_1_4_head_and_worker_carry_about_a_byte_a_prime() {
    let dir = scratch("wire");
    let w = Worker::start(&["--threads", "2"]);
    let p = MinorProxy::start(&w.addr(), Mode::Watch);
    let (answer, file) = listed(&p.addr(), &dir.join("primes.txt"));
    assert_eq!(answer, serde_json::json!([COUNT, 19_999_999]));
    assert!(file == reference_text(TO), "the file is not the primes to {TO}, one a line");
    let seen = p.primes_partials();
    assert_eq!(seen.u64_frames, 0, "a 1.4 worker sent u64 primes to a 1.4 head: {seen:?}");
    assert!(seen.gaps_frames as u64 >= COUNT / primes::PRIMES_PER_PARTIAL as u64, "{seen:?}");
    let per_prime = seen.gaps_bytes as f64 / COUNT as f64;
    assert!((1.0..=1.2).contains(&per_prime), "{per_prime:.4} bytes a prime on the wire ({seen:?})");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A 1.4 head with a 1.3 worker, and a 1.3 head with a 1.4 worker: u64
/// primes cross the wire, and the answer and the file are the 1.4 pair's.
#[test]
fn a_1_3_peer_on_either_side_gets_and_gives_u64_primes() {
    let dir = scratch("old");
    let w = Worker::start(&["--threads", "2"]);
    let (new, old) = (MinorProxy::start(&w.addr(), Mode::Watch), MinorProxy::start(&w.addr(), Mode::AsMinor(3)));
    let (answer_new, file_new) = listed(&new.addr(), &dir.join("new.txt"));
    let (answer_old, file_old) = listed(&old.addr(), &dir.join("old.txt"));
    assert_eq!(answer_old, answer_new);
    assert!(file_old == file_new, "the output differs when the primes come as u64s");
    let seen = old.primes_partials();
    assert_eq!((seen.gaps_frames, seen.u64_bytes as u64), (0, 8 * COUNT), "a 1.3 peer got gaps: {seen:?}");
    assert!(old.changed("Hello") > 0 && old.changed("Welcome") > 0, "the proxy changed no minor");
    assert!(w.log().contains("(protocol 1.3)"), "the worker saw a 1.3 Hello:\n{}", w.log());
    assert!(new.primes_partials().gaps_frames > 0, "the 1.4 pair sent no gaps");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A lab mid-upgrade: one 1.4 worker and one seen as 1.3, in one run. The
/// pieces are spread over both forms and the file is the plain one.
#[test]
fn gaps_and_u64_pieces_in_one_run_make_one_file() {
    let dir = scratch("mixed");
    let (a, b) = (Worker::start(&["--threads", "1"]), Worker::start(&["--threads", "1"]));
    let (pa, pb) = (MinorProxy::start(&a.addr(), Mode::Watch), MinorProxy::start(&b.addr(), Mode::AsMinor(3)));
    let (answer, file) = listed(&format!("{},{}", pa.addr(), pb.addr()), &dir.join("mixed.txt"));
    assert_eq!(answer, serde_json::json!([COUNT, 19_999_999]));
    assert!(file == reference_text(TO), "the mixed run's file is not the primes to {TO}");
    let (ga, gb) = (pa.primes_partials(), pb.primes_partials());
    assert!(ga.gaps_frames > 0 && ga.u64_frames == 0, "{ga:?}");
    assert!(gb.u64_frames > 0 && gb.gaps_frames == 0, "{gb:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// What each Hello gets from a 1.4 worker, frame by frame: a 1.3 client
/// u64 primes (the only form it reads), a 1.4 client gaps; both hold the
/// same primes.
#[test]
fn the_worker_sends_each_client_the_form_its_hello_reads() {
    let w = Worker::start(&["--threads", "2"]);
    let (a, b) = (999_000_000_000, 999_010_000_000); // near 10^12, across segments
    let mut lists = Vec::new();
    for minor in [3u8, 4] {
        let mut c = RawClient::connect(&w);
        let hello = Hello { protocol_minor: minor, ..Hello::ours([7; 16]) };
        c.send(&hello.encode().to_bytes());
        assert_eq!(c.frame().expect("welcome").header.frame_type, FrameType::Welcome);
        let params = primes::Params { a, b, list: true }.encode();
        c.send(&Submit { kind: JobKind::Primes.to_u8(), flags: 0, params }.encode(1).to_bytes());
        let mut list = Vec::new();
        loop {
            let f = c.frame().expect("a partial or the result");
            match f.header.frame_type {
                FrameType::Partial => {
                    let head = f.payload.get(..9);
                    assert_eq!(prime_gaps::is_gaps(&f.payload), minor >= 4, "minor {minor}: {head:?}");
                    list.extend(primes::decode_partial(&f.payload).expect("a partial that decodes"));
                }
                FrameType::Result => {
                    let s = primes::Summary::decode(&f.payload).unwrap();
                    assert_eq!((s.count, s.max), (list.len() as u64, *list.last().unwrap()), "minor {minor}");
                    break;
                }
                other => panic!("minor {minor}: unexpected {other:?}"),
            }
        }
        assert!(list.windows(2).all(|p| p[0] < p[1] && p[1] - p[0] >= 2), "minor {minor}: not ascending primes");
        lists.push(list);
    }
    assert_eq!(lists[0], lists[1], "u64 and gaps partials hold different primes");
    assert!(lists[0].len() > 300_000, "{} primes", lists[0].len());
}

/// A worker whose gaps are spoiled (a zero gap): the job fails with an
/// error that names the worker, the piece and the byte; nothing panics.
#[test]
fn a_malformed_gaps_partial_fails_the_job_naming_worker_and_piece() {
    let dir = scratch("bad");
    let w = Worker::start(&["--threads", "1"]);
    let p = MinorProxy::start(&w.addr(), Mode::ZeroAGap);
    let out = dir.join("bad.txt");
    let run = pisubmit(&p.addr(), &["primes", "--from", "1", "--to", "1000000", "--output", out.to_str().unwrap()]);
    assert_ne!(run.code, 0, "a spoiled partial was accepted: {}", run.stdout);
    assert!(p.changed("Partial") > 0, "the proxy spoiled nothing");
    let line =
        run.stderr.lines().find(|l| l.contains("malformed gaps partial")).unwrap_or_else(|| panic!("{}", run.stderr));
    assert!(line.contains(&format!("worker {}: numbers 1..=", p.addr())), "names the worker and piece: {line}");
    assert!(line.contains("a zero gap after prime") || line.contains("padded"), "{line}");
    assert!(line.contains("at byte"), "{line}");
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(!out.exists(), "a failed run left a finished file");
    std::fs::remove_dir_all(&dir).unwrap();
}
