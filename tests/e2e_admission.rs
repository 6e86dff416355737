//! Admission rules, one at a time, on a real worker: unfinished
//! connections have their own budget (the oldest makes room), a per-address
//! cap (that address's oldest makes room), finished connections are never
//! dropped for them and have a cap of their own, and pisubmit waits out a
//! worker at that cap until --connect-timeout.

mod common;
#[path = "common/flood.rs"]
mod flood;

use common::{finish, hosts, pisubmit, spawn_pisubmit, RawClient, Worker};
use flood::connect_from;
use piworker::jobs::{loopsum, JobKind};
use piworker::protocol::frame::decode_frame;
use piworker::protocol::{ErrorCode, ErrorMessage, Frame, FrameType, Hello, Submit};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpStream};
use std::time::{Duration, Instant};

const HEAD: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
const NEIGHBOUR: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

fn target(w: &Worker) -> SocketAddrV4 {
    SocketAddrV4::new(HEAD, w.port)
}

/// An unfinished connection from `from`, opened once the worker has
/// accepted it (so that the order of arrival is the order of opening).
fn unfinished(w: &Worker, from: Ipv4Addr) -> TcpStream {
    let s = connect_from(from, target(w)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let me = s.local_addr().unwrap();
    assert!(w.wait_log(&format!("{me}: connected"), Duration::from_secs(10)), "not accepted: {}", w.log());
    s
}

/// What the worker sends `s` until it closes: the Error frame it said
/// goodbye with, if any. Bounded by the read timeout.
fn goodbye(s: &mut TcpStream) -> Option<ErrorMessage> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let (frame, _) = decode_frame(&buf, 1 << 20).ok()??;
    assert_eq!(frame.header.frame_type, FrameType::Error, "{frame:?}");
    Some(ErrorMessage::decode(&frame.payload).expect("an Error payload"))
}

/// Finishes the handshake on an unfinished connection: it is still served.
fn finishes_handshake(s: &mut TcpStream) {
    s.write_all(&Hello::ours([0; 16]).encode().to_bytes()).expect("the connection is still open");
    let mut c = RawClient::over(s.try_clone().unwrap());
    let f = c.frame().expect("a Welcome");
    assert_eq!(f.header.frame_type, FrameType::Welcome, "{f:?}");
}

#[test]
fn the_oldest_unfinished_connection_makes_room() {
    let w = Worker::start(&["--max-unfinished", "3", "--max-unfinished-per-address", "100"]);
    let mut first = unfinished(&w, HEAD);
    let mut rest: Vec<TcpStream> = (0..2).map(|_| unfinished(&w, NEIGHBOUR)).collect();
    // A fourth: the budget is full, so the oldest (first) goes, from
    // whichever address it came.
    rest.push(unfinished(&w, NEIGHBOUR));
    let msg = goodbye(&mut first).expect("the dropped connection is told why");
    assert_eq!(msg.code, ErrorCode::Busy, "{msg:?}");
    assert!(msg.message.contains("too many connections waiting for a handshake"), "{}", msg.message);
    assert!(w.wait_log("--max-unfinished 3 reached; dropped this oldest unfinished", Duration::from_secs(5)));
    for s in &mut rest {
        finishes_handshake(s);
    }
}

#[test]
fn one_address_cannot_take_the_whole_budget() {
    let w = Worker::start(&["--max-unfinished", "100", "--max-unfinished-per-address", "2"]);
    let mut neighbours: Vec<TcpStream> = (0..2).map(|_| unfinished(&w, NEIGHBOUR)).collect();
    let mut head = unfinished(&w, HEAD);
    // A third from the neighbour pushes out its own oldest, not the head.
    neighbours.push(unfinished(&w, NEIGHBOUR));
    let msg = goodbye(&mut neighbours[0]).expect("told why");
    assert_eq!(msg.code, ErrorCode::Busy, "{msg:?}");
    assert!(w.wait_log("--max-unfinished-per-address 2 reached for 127.0.0.2", Duration::from_secs(5)), "{}", w.log());
    finishes_handshake(&mut head);
    for s in &mut neighbours[1..] {
        finishes_handshake(s);
    }
}

#[test]
fn finished_connections_keep_their_jobs_whatever_arrives() {
    let w = Worker::start(&["--max-unfinished", "2", "--max-unfinished-per-address", "2", "--threads", "1"]);
    let mut head = RawClient::handshake(&w);
    let p = loopsum::Params { t0: 0, t1: 2001, u_len: 2001, c: 1.0 };
    head.send(&Submit { kind: JobKind::Loopsum.to_u8(), flags: 0, params: p.encode() }.encode(7).to_bytes());
    // Far more unfinished connections than both budgets, from both
    // addresses; the finished connection is older than all of them.
    let mut crowd = Vec::new();
    for i in 0..40 {
        crowd.push(unfinished(&w, if i % 2 == 0 { HEAD } else { NEIGHBOUR }));
    }
    assert!(w.wait_log("reached; dropped this oldest unfinished", Duration::from_secs(5)), "{}", w.log());
    let result = head.frame().expect("the job's result");
    assert_eq!((result.header.frame_type, result.header.job_id), (FrameType::Result, 7), "{result:?}");
    head.send(&Frame::new(FrameType::Ping, 8, b"still here".to_vec()).to_bytes());
    assert_eq!(head.frame().expect("a Pong").header.frame_type, FrameType::Pong);
    assert!(!w.log().contains(&format!("{}: connection closed", head.stream.local_addr().unwrap())));
}

#[test]
fn past_the_finished_cap_newcomers_are_refused_and_nobody_is_dropped() {
    let w = Worker::start(&["--max-connections", "2"]);
    let mut kept: Vec<RawClient> = (0..2).map(|_| RawClient::handshake(&w)).collect();
    // At accept: refused at once.
    let mut late = RawClient::connect(&w);
    let f = late.frame().expect("an Error frame");
    let msg = ErrorMessage::decode(&f.payload).unwrap();
    assert_eq!(msg.code, ErrorCode::Busy);
    assert!(msg.message.contains("at its limit of 2 connections"), "{}", msg.message);
    for c in &mut kept {
        c.send(&Frame::new(FrameType::Ping, 1, vec![]).to_bytes());
        assert_eq!(c.frame().unwrap().header.frame_type, FrameType::Pong);
    }
    // One that was accepted while there was room, and finishes its
    // handshake once there is none, is refused then.
    drop(kept.pop());
    assert!(w.wait_log("connection closed", Duration::from_secs(5)));
    let mut waiting = RawClient::connect(&w);
    kept.push(RawClient::handshake(&w));
    waiting.send(&Hello::ours([0; 16]).encode().to_bytes());
    let f = waiting.frame().expect("an Error frame");
    let msg = ErrorMessage::decode(&f.payload).unwrap();
    assert_eq!((msg.code, f.header.frame_type), (ErrorCode::Busy, FrameType::Error), "{msg:?}");
    assert!(waiting.frame().is_none(), "then the close");
}

#[test]
fn pisubmit_waits_for_a_slot_at_a_worker_at_its_limit() {
    let w = Worker::start(&["--max-connections", "1"]);
    let held = RawClient::handshake(&w);
    let child = spawn_pisubmit(&hosts(&[&w]), &["--json", "--connect-timeout", "30", "loopsum"]);
    // pisubmit has been refused at least once before the slot frees.
    assert!(w.wait_log("--max-connections 1 reached; refused", Duration::from_secs(20)), "{}", w.log());
    std::thread::sleep(Duration::from_secs(1));
    drop(held);
    let run = finish(child, Duration::from_secs(60));
    assert_eq!(run.json()["result"], 64032004000000i64);
}

#[test]
fn pisubmit_gives_up_after_connect_timeout_naming_the_limit() {
    let w = Worker::start(&["--max-connections", "1"]);
    let _held = RawClient::handshake(&w);
    let started = Instant::now();
    let run = pisubmit(&hosts(&[&w]), &["--connect-timeout", "2", "loopsum"]);
    let waited = started.elapsed();
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("at its limit of 1 connections"), "{}", run.stderr);
    // It kept trying for the whole --connect-timeout (a lower bound: it
    // must not give up on the first refusal).
    assert!(waited >= Duration::from_millis(1900), "gave up after {waited:?}: {}", run.stderr);
}

#[test]
fn before_the_handshake_only_small_frames_are_taken() {
    let w = Worker::start(&[]);
    // A "Hello" that says it is 1 MiB: refused from its header, unread.
    let mut big = Hello::ours([0; 16]).encode();
    big.payload = vec![0; 1 << 20];
    let bytes = big.to_bytes();
    let mut c = RawClient::connect(&w);
    let _ = c.stream.write_all(&bytes[..4096]);
    let f = c.frame().expect("an Error frame");
    let msg = ErrorMessage::decode(&f.payload).unwrap();
    assert_eq!(msg.code, ErrorCode::BadFrame, "{msg:?}");
    assert!(msg.message.contains("exceeds the limit of 4 KiB"), "{}", msg.message);
    // After the Hello, in the same write, a frame as large as the Welcome
    // allows is taken.
    let mut c = RawClient::connect(&w);
    let mut bytes = Hello::ours([0; 16]).encode().to_bytes();
    bytes.extend(Frame::new(FrameType::Ping, 3, vec![7; 256 * 1024]).to_bytes());
    c.send(&bytes);
    assert_eq!(c.frame().expect("a Welcome").header.frame_type, FrameType::Welcome);
    let pong = c.frame().expect("a Pong");
    assert_eq!((pong.header.frame_type, pong.payload.len()), (FrameType::Pong, 256 * 1024));
}

/// A worker whose open-file limit (soft and hard) is `fds`.
fn worker_with_fd_limit(fds: u64, extra: &[&str]) -> Worker {
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new(common::PIWORKER);
    cmd.args(["--listen", "127.0.0.1:0", "--threads", "1"]).args(extra).env("RUST_LOG", "debug");
    // SAFETY: only setrlimit, async-signal-safe, runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            use nix::sys::resource::{setrlimit, Resource};
            setrlimit(Resource::RLIMIT_NOFILE, fds, fds).map_err(std::io::Error::from)
        });
    }
    Worker::spawn(cmd)
}

#[test]
fn out_of_file_descriptors_the_worker_neither_spins_nor_locks_heads_out() {
    let big = ["--max-connections", "1000", "--max-unfinished", "1000", "--max-unfinished-per-address", "1000"];
    let w = worker_with_fd_limit(48, &big);
    assert!(w.wait_log("open file limit 48 is below the 2064 the connection caps need", Duration::from_secs(5)));
    // More unfinished connections than descriptors: the oldest make room.
    let crowd: Vec<TcpStream> = (0..80).filter_map(|_| connect_from(NEIGHBOUR, target(&w)).ok()).collect();
    assert!(
        w.wait_log("dropped the oldest unfinished connection", Duration::from_secs(10)),
        "no descriptor was freed: {}",
        w.log()
    );
    let run = pisubmit(&hosts(&[&w]), &["--json", "--connect-timeout", "30", "loopsum"]);
    assert_eq!(run.json()["result"], 64032004000000i64);
    // Not spinning on a backlog it cannot take (a generous bound: the
    // worker has nothing to do but wait).
    let before = w.cpu_seconds();
    std::thread::sleep(Duration::from_secs(1));
    assert!(w.cpu_seconds() - before < 0.5, "the worker spins with no descriptors left");
    // Closed here, the crowd's connections still wait in the worker's
    // backlog; accepting those would push out (with Busy) a newcomer that
    // has not said Hello yet. Wait until the worker has seen each go.
    let crowd_size = crowd.len();
    drop(crowd);
    let neighbour = format!("{NEIGHBOUR}:");
    let gone = |log: &str| log.lines().filter(|l| l.contains(&neighbour) && l.ends_with(": connection closed")).count();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while gone(&w.log()) < crowd_size && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(gone(&w.log()), crowd_size, "the crowd's connections did not all close: {}", w.log());

    // Every descriptor held by a finished connection: a newcomer is told
    // (through the reserve descriptor) and closed, and nobody is dropped.
    let mut held = Vec::new();
    let mut told = None;
    for _ in 0..80 {
        let mut c = RawClient::connect(&w);
        c.send(&Hello::ours([0; 16]).encode().to_bytes());
        match c.frame() {
            Some(f) if f.header.frame_type == FrameType::Welcome => held.push(c),
            Some(f) => {
                told = Some(ErrorMessage::decode(&f.payload).unwrap());
                break;
            }
            None => panic!("closed without a word: {}", w.log()),
        }
    }
    let told = told.expect("the worker ran out of descriptors");
    assert_eq!(told.code, ErrorCode::Busy, "{told:?}");
    assert!(told.message.contains("out of file descriptors"), "{}", told.message);
    for c in &mut held {
        c.send(&Frame::new(FrameType::Ping, 1, vec![]).to_bytes());
        assert_eq!(c.frame().expect("still served").header.frame_type, FrameType::Pong);
    }
    drop(held.pop());
    drop(held.pop());
    assert!(w.wait_log("connection closed", Duration::from_secs(5)));
    let run = pisubmit(&hosts(&[&w]), &["--json", "--connect-timeout", "30", "loopsum"]);
    assert_eq!(run.json()["result"], 64032004000000i64);
}

#[test]
fn mid_job_pisubmit_waits_out_a_worker_at_its_limit() {
    use nix::sys::signal::Signal;
    let w = Worker::start(&["--max-connections", "2", "--threads", "1"]);
    let held = RawClient::handshake(&w);
    let args = ["--quiet", "--heartbeat-timeout", "1", "--connect-timeout", "30", "farm", "spin"];
    let (child, mut stdin) = common::spawn_pisubmit_fed(&w.addr(), &args);
    writeln!(stdin, "1500 the-piece-came-back").unwrap();
    drop(stdin);
    w.wait_busy();
    // Frozen, the worker looks lost to pisubmit; meanwhile another client
    // queues up for the slot pisubmit held, so that when the worker thaws
    // it is full again and pisubmit's reconnect is refused with Busy.
    w.signal(Signal::SIGSTOP);
    wait_stopped(&w);
    let mut rival = RawClient::connect(&w);
    rival.send(&Hello::ours([0; 16]).encode().to_bytes());
    std::thread::sleep(Duration::from_millis(2500));
    w.signal(Signal::SIGCONT);
    assert!(w.wait_log("--max-connections 2 reached; refused", Duration::from_secs(20)), "{}", w.log());
    let answer = rival.frame().expect("an answer");
    assert_eq!(answer.header.frame_type, FrameType::Welcome, "{answer:?}\n{}", w.log());
    std::thread::sleep(Duration::from_secs(1));
    drop(held);
    let run = finish(child, Duration::from_secs(60));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("1500 the-piece-came-back"), "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("at its limit of 2 connections"), "pisubmit was never refused: {}", run.stderr);
}

/// Waits (bounded) until the worker is stopped (state T in /proc), so
/// that nothing that arrives from now on is seen before it continues.
fn wait_stopped(w: &Worker) {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", w.pid())).unwrap_or_default();
        if stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('T')) {
            return;
        }
        assert!(Instant::now() < end, "the worker did not stop: {stat}");
        std::thread::sleep(Duration::from_millis(10));
    }
}
