//! Compute threads pinned one per allowed CPU, flow control against a client
//! that does not read, and pisubmit facing workers it cannot work with.

mod common;

use common::{hosts, pisubmit, RawClient, Worker, PIWORKER};
use piworker::protocol::frame::{PROTOCOL_MAJOR, PROTOCOL_MINOR};
use piworker::protocol::message::SUBMIT_HAS_INPUT;
use piworker::protocol::{Frame, FrameType, Submit, Welcome};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// (thread name, Cpus_allowed_list) of every compute thread of `pid`.
fn compute_threads(pid: i32) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap().flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if !comm.starts_with("compute-") {
            continue;
        }
        let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
        let cpus = status.lines().find_map(|l| l.strip_prefix("Cpus_allowed_list:")).unwrap_or("").trim().to_string();
        out.push((comm.trim().to_string(), cpus));
    }
    out.sort();
    out
}

fn wait_pinned(pid: i32, expected: &[(String, String)]) {
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        let got = compute_threads(pid);
        if got == expected {
            return;
        }
        assert!(Instant::now() < end, "compute threads {got:?}, expected {expected:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn one_pinned_compute_thread_per_allowed_cpu() {
    let cpus = std::thread::available_parallelism().unwrap().get();
    let w = Worker::start(&[]);
    let expected: Vec<(String, String)> = (0..cpus).map(|c| (format!("compute-{c}"), c.to_string())).collect();
    wait_pinned(w.pid(), &expected);
    let v = pisubmit(&hosts(&[&w]), &["--json", "ping"]).json();
    assert_eq!(v["hosts"][0]["threads"], cpus);

    let fewer = Worker::start(&["--threads", "1"]);
    wait_pinned(fewer.pid(), &[("compute-0".into(), "0".into())]);
}

#[test]
fn an_affinity_mask_set_from_outside_is_honoured() {
    if Command::new("taskset").arg("--version").output().is_err() {
        panic!("taskset (util-linux) is needed for this test");
    }
    let last = std::thread::available_parallelism().unwrap().get() - 1;
    let mut cmd = Command::new("taskset");
    cmd.args(["-c", &last.to_string(), PIWORKER, "--listen", "127.0.0.1:0"]).env("RUST_LOG", "info");
    let mut worker = common::Worker::spawn(cmd);
    wait_pinned(worker.pid(), &[(format!("compute-{last}"), last.to_string())]);
    let v = pisubmit(&worker.addr(), &["--json", "loopsum"]).json();
    assert_eq!(v["hosts"][0]["threads"], 1);
    assert_eq!(v["result"], 64032004000000i64);
    let _ = worker.child.kill();
}

#[test]
fn a_client_that_does_not_read_is_held_back_not_buffered() {
    let w = Worker::start(&[]);
    let mut c = RawClient::handshake(&w);
    let submit = Submit { kind: 6, flags: SUBMIT_HAS_INPUT, params: vec![] };
    c.send(&submit.encode(1).to_bytes());
    const TOTAL: u64 = 96 << 20;
    const CHUNK: usize = 256 << 10;
    let sent = Arc::new(AtomicU64::new(0));
    let mut writer = c.stream.try_clone().unwrap();
    let counter = Arc::clone(&sent);
    let feeder = std::thread::spawn(move || {
        let frame = Frame::new(FrameType::Data, 1, vec![7u8; CHUNK]).to_bytes();
        while counter.load(Ordering::SeqCst) < TOTAL {
            writer.write_all(&frame).unwrap();
            counter.fetch_add(CHUNK as u64, Ordering::SeqCst);
        }
        writer.write_all(&Frame::new(FrameType::EndInput, 1, vec![]).to_bytes()).unwrap();
    });
    // Nobody reads: once the worker's 4 MiB of pending output and the socket
    // buffers are full, it stops reading and our writes block.
    std::thread::sleep(Duration::from_secs(2));
    let stalled_at = sent.load(Ordering::SeqCst);
    assert!(stalled_at < TOTAL / 2, "the worker kept reading: {stalled_at} bytes taken");
    let hwm = w.status_kib("VmHWM");
    assert!(hwm < 24 * 1024, "worker peak RSS {hwm} KiB while held back");
    // Now read: everything comes back, in order, and the job completes.
    let mut echoed = 0u64;
    loop {
        let f = c.frame().expect("frames until the result");
        match f.header.frame_type {
            FrameType::Partial => {
                assert!(f.payload.iter().all(|&b| b == 7));
                echoed += f.payload.len() as u64;
            }
            FrameType::Result => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    feeder.join().unwrap();
    assert_eq!(echoed, TOTAL);
    eprintln!("held back at {} MiB sent; worker VmHWM {hwm} KiB", stalled_at >> 20);
}

/// A fake worker that answers the Hello with `reply`.
fn fake_worker(reply: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let mut buf = [0u8; 256];
            let _ = s.read(&mut buf);
            let _ = s.write_all(&reply);
            std::thread::sleep(Duration::from_secs(2));
        }
    });
    addr
}

fn welcome(major: u8) -> Welcome {
    Welcome {
        protocol_major: major,
        protocol_minor: 4,
        software: "9.9.9".into(),
        hostname: "future".into(),
        arch: "arm64".into(),
        threads: 4,
        max_frame: 1 << 20,
        challenge: piworker::protocol::message::Challenge::Open,
    }
}

#[test]
fn pisubmit_refuses_a_worker_of_another_major_version_naming_both() {
    let addr = fake_worker(welcome(2).encode().to_bytes());
    let run = pisubmit(&addr, &["loopsum"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let ours = format!("{PROTOCOL_MAJOR}.{PROTOCOL_MINOR}");
    assert!(run.stderr.contains(&format!("this side speaks {ours}, the peer speaks 2.4")), "{}", run.stderr);
    assert!(run.stderr.contains(&addr));

    let mut v2 = welcome(2).encode().to_bytes();
    v2[4] = 2; // a real 2.x worker frames with its own major
    let addr = fake_worker(v2);
    let run = pisubmit(&addr, &["loopsum"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains(&format!("peer speaks 2.x, this side speaks {ours}")), "{}", run.stderr);
}

#[test]
fn pisubmit_names_a_peer_that_is_not_a_worker() {
    let addr = fake_worker(b"SSH-2.0-OpenSSH_9.2\r\n".to_vec());
    let run = pisubmit(&addr, &["pi", "--samples", "100"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains(&addr) && run.stderr.contains("bad magic"), "{}", run.stderr);
}
