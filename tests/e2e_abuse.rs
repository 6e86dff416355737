//! The worker under abuse: peers outside --allow, connection floods, slow
//! and silent clients, job floods, oversized streams, and the cluster key.
//! Each time the daemon answers or closes as documented, logs the peer, and
//! a well-behaved client keeps getting right answers.

mod common;

use common::{hosts, key_file, pisubmit, temp_dir, RawClient, Worker};
use piworker::jobs::{loopsum, JobKind};
use piworker::protocol::frame::decode_frame;
use piworker::protocol::message::{Challenge, SUBMIT_HAS_INPUT};
use piworker::protocol::{ErrorCode, ErrorMessage, Frame, FrameType, Hello, Submit, Welcome};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn still_serves(w: &Worker) {
    let v = pisubmit(&hosts(&[w]), &["--json", "loopsum"]).json();
    assert_eq!(v["result"], 64032004000000i64);
}

fn error_of(c: &mut RawClient) -> ErrorMessage {
    let f = c.frame().expect("an error frame");
    assert_eq!(f.header.frame_type, FrameType::Error, "{f:?}");
    ErrorMessage::decode(&f.payload).unwrap()
}

#[test]
fn peers_outside_the_allow_list_are_told_why_and_closed_before_reading() {
    // Loopback is not in this list, so the test's own connection is refused.
    let w = Worker::start(&["--allow", "10.0.0.0/8"]);
    let mut s = TcpStream::connect(w.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    let (frame, used) = decode_frame(&got, 1 << 20).expect("a valid frame").expect("one whole frame");
    assert_eq!((frame.header.frame_type, frame.header.job_id, used), (FrameType::Error, 0, got.len()), "then EOF");
    let msg = ErrorMessage::decode(&frame.payload).unwrap();
    assert_eq!(msg.code, ErrorCode::NotAllowed);
    assert!(msg.message.contains("your address 127.0.0.1 is not allowed"), "{}", msg.message);
    assert!(msg.message.contains("--allow in /etc/default/piworker"), "{}", msg.message);
    assert!(!msg.message.contains("10.0.0.0"), "the list is not revealed: {}", msg.message);
    assert!(w.wait_log("not in --allow (10.0.0.0/8); closed", Duration::from_secs(5)), "{}", w.log());
    // One log line for a burst, not one per connection.
    for _ in 0..20 {
        let _ = TcpStream::connect(w.addr());
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(w.log().matches("not in --allow").count(), 1, "{}", w.log());
    // pisubmit says so at once (no waiting out --connect-timeout) and
    // names the fix.
    let started = Instant::now();
    let run = pisubmit(&hosts(&[&w]), &["--connect-timeout", "60", "loopsum"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("your address 127.0.0.1 is not allowed"), "{}", run.stderr);
    assert!(run.stderr.contains("--allow in /etc/default/piworker"), "{}", run.stderr);
    assert!(started.elapsed() < Duration::from_secs(60), "pisubmit waited out --connect-timeout");
    let open = Worker::start(&[]);
    assert!(open.log().contains("allow 127.0.0.0/8,::1/128,10.0.0.0/8"), "the default list is printed: {}", open.log());
}

#[test]
fn a_head_outside_a_narrow_allow_list_is_told_at_once() {
    // Allowed: 127.0.0.2 only; the head connects from 127.0.0.1.
    let w = Worker::start(&["--allow", "127.0.0.2/32"]);
    let run = pisubmit(&hosts(&[&w]), &["--connect-timeout", "60", "--json", "loopsum"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("refused this machine: your address 127.0.0.1 is not allowed"), "{}", run.stderr);
    assert!(!run.stderr.contains("127.0.0.2"), "the list is not revealed: {}", run.stderr);
}

#[test]
fn past_max_connections_new_ones_get_an_error_and_old_ones_carry_on() {
    let w = Worker::start(&["--max-connections", "3"]);
    let mut kept: Vec<RawClient> = (0..3).map(|_| RawClient::handshake(&w)).collect();
    let mut extra = RawClient::connect(&w);
    let msg = error_of(&mut extra);
    assert!(msg.message.contains("limit of 3 connections"), "{}", msg.message);
    assert!(extra.frame().is_none());
    // The old connections still work.
    kept[0].send(&Frame::new(FrameType::Ping, 9, b"hi".to_vec()).to_bytes());
    assert_eq!(kept[0].frame().unwrap().header.frame_type, FrameType::Pong);
    assert!(w.wait_log("--max-connections 3 reached", Duration::from_secs(5)));
    // Below the cap again, accepting resumes.
    kept.pop();
    std::thread::sleep(Duration::from_millis(300));
    RawClient::handshake(&w);
}

#[test]
fn a_client_that_never_says_hello_is_dropped() {
    let w = Worker::start(&["--handshake-timeout", "0.5"]);
    let mut c = RawClient::connect(&w);
    let started = Instant::now();
    let msg = error_of(&mut c);
    assert_eq!(msg.code, ErrorCode::HandshakeRequired);
    assert!(msg.message.contains("no handshake within"), "{}", msg.message);
    assert!(started.elapsed() < Duration::from_secs(5));
    still_serves(&w);
}

#[test]
fn a_slowloris_sending_a_byte_a_second_is_dropped() {
    let w = Worker::start(&["--frame-timeout", "1", "--handshake-timeout", "60"]);
    let mut c = RawClient::handshake(&w);
    let frame = Frame::new(FrameType::Ping, 1, vec![0; 100]).to_bytes();
    let started = Instant::now();
    let mut closed = false;
    for b in frame.iter().take(40) {
        if c.stream.write_all(&[*b]).is_err() {
            closed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
        if w.log().contains("a frame arrived too slowly") {
            closed = true;
            break;
        }
    }
    assert!(closed, "still connected after {:?}", started.elapsed());
    assert!(w.wait_log("a frame arrived too slowly", Duration::from_secs(5)), "{}", w.log());
    still_serves(&w);
}

#[test]
fn an_idle_connection_is_closed() {
    let w = Worker::start(&["--idle-timeout", "0.5"]);
    let mut c = RawClient::handshake(&w);
    let msg = error_of(&mut c);
    assert!(msg.message.contains("idle for"), "{}", msg.message);
    assert!(c.frame().is_none());
}

#[test]
fn a_job_flood_is_held_back_not_buffered() {
    let w = Worker::start(&["--max-jobs-per-connection", "2", "--threads", "1"]);
    let mut c = RawClient::handshake(&w);
    // Two jobs fill the connection's quota; the third Submit waits unread
    // in the socket until one of them is done.
    let p = loopsum::Params { t0: 0, t1: 20001, u_len: 20001, c: 1.0 };
    for id in 1..=3 {
        c.send(&Submit { kind: JobKind::Loopsum.to_u8(), flags: 0, params: p.encode() }.encode(id).to_bytes());
    }
    let mut done = Vec::new();
    while done.len() < 3 {
        let f = c.frame().expect("results");
        assert_eq!(f.header.frame_type, FrameType::Result, "{f:?}");
        done.push(f.header.job_id);
    }
    done.sort();
    assert_eq!(done, [1, 2, 3], "every job ran");
    let log = w.log();
    assert!(log.contains("job limit reached"), "{log}");
    let started_3 = log.find("job 3 (loopsum) started").expect("job 3 started");
    let first_done = log.find(") done in").expect("a job finished");
    assert!(first_done < started_3, "job 3 started before a slot was free:\n{log}");
    still_serves(&w);
}

#[test]
fn a_job_stream_over_the_input_limit_fails_the_job() {
    let w = Worker::start(&["--max-job-input", "1M"]);
    let mut c = RawClient::handshake(&w);
    let submit = Submit { kind: JobKind::Echo.to_u8(), flags: SUBMIT_HAS_INPUT, params: vec![] };
    c.send(&submit.encode(4).to_bytes());
    let chunk = Frame::new(FrameType::Data, 4, vec![1; 256 * 1024]).to_bytes();
    for _ in 0..5 {
        c.send(&chunk);
    }
    let msg = loop {
        let f = c.frame().unwrap();
        if f.header.frame_type == FrameType::Error {
            break ErrorMessage::decode(&f.payload).unwrap();
        }
    };
    assert_eq!(msg.code, ErrorCode::JobFailed);
    assert!(msg.message.contains("exceeds --max-job-input (1 MiB)"), "{}", msg.message);
    still_serves(&w);
}

#[test]
fn a_length_of_0xffffffff_and_each_header_field_wrong_in_turn() {
    let w = Worker::start(&[]);
    let good = Frame::new(FrameType::Ping, 1, vec![]).to_bytes();
    let cases: Vec<(&str, Vec<u8>, ErrorCode)> = vec![
        (
            "magic",
            {
                let mut b = good.clone();
                b[0] = b'X';
                b
            },
            ErrorCode::BadFrame,
        ),
        (
            "version",
            {
                let mut b = good.clone();
                b[4] = 7;
                b
            },
            ErrorCode::VersionMismatch,
        ),
        (
            "length",
            {
                let mut b = good.clone();
                b[12..16].copy_from_slice(&u32::MAX.to_be_bytes());
                b
            },
            ErrorCode::BadFrame,
        ),
    ];
    for (field, bytes, code) in cases {
        let mut c = RawClient::handshake(&w);
        c.send(&bytes);
        assert_eq!(error_of(&mut c).code, code, "{field}");
        assert!(c.frame().is_none(), "{field}: closed after the error");
    }
    // Type, flags and job id wrong: answered, connection kept.
    let mut c = RawClient::handshake(&w);
    let mut b = good.clone();
    b[5] = 0x6e;
    c.send(&b);
    assert_eq!(error_of(&mut c).code, ErrorCode::UnknownFrameType);
    let mut b = good.clone();
    b[6] = 0xff; // reserved flags are ignored
    b[8..12].copy_from_slice(&u32::MAX.to_be_bytes());
    c.send(&b);
    let pong = c.frame().unwrap();
    assert_eq!((pong.header.frame_type, pong.header.job_id), (FrameType::Pong, u32::MAX));
    still_serves(&w);
}
#[test]
fn the_cluster_key() {
    let dir = temp_dir("key-e2e");
    let key = key_file(&dir, "key", "sUp3r-s3cret-cluster-key-0123456789", 0o600);
    let other = key_file(&dir, "other", "another-key-another-key-another", 0o600);
    let loose = key_file(&dir, "loose", "sUp3r-s3cret-cluster-key-0123456789", 0o644);

    // A world-readable key file: the daemon refuses to start, saying how to fix it.
    let out = std::process::Command::new(common::PIWORKER)
        .args(["--listen", "127.0.0.1:0", "--key", loose.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("chmod 600"), "{}", String::from_utf8_lossy(&out.stderr));

    let w = Worker::start(&["--key", key.to_str().unwrap()]);
    let k = key.to_str().unwrap();
    // The right key: jobs run.
    let v = pisubmit(&w.addr(), &["--json", "--key", k, "loopsum"]).json();
    assert_eq!(v["result"], 64032004000000i64);
    // Also from PISUBMIT_KEY.
    let out = std::process::Command::new(common::PISUBMIT)
        .args(["--hosts", &w.addr(), "loopsum"])
        .env("PISUBMIT_KEY", k)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // No key, or the wrong one: refused with a message that says so.
    let run = pisubmit(&w.addr(), &["--connect-timeout", "2", "loopsum"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("requires the cluster key"), "{}", run.stderr);
    assert!(
        run.stderr.contains("--key FILE (or set PISUBMIT_KEY=FILE) with the same key file every Pi has"),
        "{}",
        run.stderr
    );
    let run = pisubmit(&w.addr(), &["--connect-timeout", "2", "--key", other.to_str().unwrap(), "loopsum"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("does not know our cluster key"), "{}", run.stderr);
    assert!(
        run.stderr.contains("--key FILE (or set PISUBMIT_KEY=FILE) with the same key file every Pi has"),
        "{}",
        run.stderr
    );
    // A client with a key does not trust a worker without one.
    let open = Worker::start(&[]);
    let run = pisubmit(&open.addr(), &["--connect-timeout", "2", "--key", k, "loopsum"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("has no cluster key"), "{}", run.stderr);

    // By hand: skipping Auth, a wrong proof, and a replayed proof are refused.
    let hello = |c: &mut RawClient, nonce: [u8; 16]| -> Welcome {
        c.send(&Hello::ours(nonce).encode().to_bytes());
        Welcome::decode(&c.frame().unwrap().payload).unwrap()
    };
    let mut c = RawClient::connect(&w);
    assert!(matches!(hello(&mut c, [7; 16]).challenge, Challenge::Key { .. }));
    c.send(&Frame::new(FrameType::Ping, 0, vec![]).to_bytes());
    let msg = error_of(&mut c);
    assert_eq!(msg.code, ErrorCode::AuthFailed);
    assert!(msg.message.contains("proven first"), "{}", msg.message);

    let secret = std::fs::read(&key).unwrap();
    let mut c = RawClient::connect(&w);
    let Challenge::Key { nonce, .. } = hello(&mut c, [7; 16]).challenge else { panic!("no challenge") };
    let proof = piworker::protocol::auth::client_proof(&secret, &[7; 16], &nonce);
    c.send(&Frame::new(FrameType::Auth, 0, proof.to_vec()).to_bytes());
    c.send(&Frame::new(FrameType::Ping, 0, vec![]).to_bytes());
    assert_eq!(c.frame().unwrap().header.frame_type, FrameType::Pong, "the right proof is accepted");
    // Replaying that proof on a new connection fails: the worker's nonce differs.
    let mut r = RawClient::connect(&w);
    hello(&mut r, [7; 16]);
    r.send(&Frame::new(FrameType::Auth, 0, proof.to_vec()).to_bytes());
    let msg = error_of(&mut r);
    assert_eq!((msg.code, msg.message.as_str()), (ErrorCode::AuthFailed, "wrong cluster key"));
    assert!(w.wait_log("wrong cluster key", Duration::from_secs(5)));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_client_that_never_reads_a_large_result_holds_its_job_not_our_memory() {
    let w = Worker::start(&[]);
    let mut c = RawClient::handshake(&w);
    // Every prime below 2^31 is about 100 million of them: 800 MB of output.
    let p = piworker::jobs::primes::Params { a: 1, b: 1 << 31, list: true };
    c.send(&Submit { kind: JobKind::Primes.to_u8(), flags: 0, params: p.encode() }.encode(1).to_bytes());
    std::thread::sleep(Duration::from_secs(3));
    let hwm = w.status_kib("VmHWM");
    assert!(hwm < 64 * 1024, "worker peak RSS {hwm} KiB with a client that does not read");
    assert!(w.log().contains("not reading its results; holding its jobs"), "{}", w.log());
    // Meanwhile another client is served, and the cores are not spinning.
    still_serves(&w);
    let before = w.cpu_seconds();
    std::thread::sleep(Duration::from_millis(500));
    assert!(w.cpu_seconds() - before < 0.2, "held jobs still compute");
    eprintln!("held: worker VmHWM {hwm} KiB");
}

/// Raises this process's open-file limit (the workers it starts inherit it).
fn raise_fd_limit(want: u64) -> u64 {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    let new = want.min(hard).max(soft);
    setrlimit(Resource::RLIMIT_NOFILE, new, hard).unwrap();
    new
}

#[test]
fn thousands_of_slow_connections_cost_little_memory() {
    let limit = raise_fd_limit(8192);
    let n = ((limit as usize).saturating_sub(200) / 2).min(3000);
    assert!(n >= 500, "the open-file limit ({limit}) allows too few connections for this test");
    let w = Worker::start(&["--max-connections", "4000", "--frame-timeout", "60"]);
    let idle = w.status_kib("VmRSS");
    // Each sends half a header and stops: a slowloris crowd.
    let mut crowd = Vec::with_capacity(n);
    for _ in 0..n {
        let mut s = TcpStream::connect(w.addr()).unwrap();
        s.write_all(&Hello::ours([0; 16]).encode().to_bytes()[..8]).unwrap();
        crowd.push(s);
    }
    std::thread::sleep(Duration::from_secs(1));
    still_serves(&w);
    let hwm = w.status_kib("VmHWM");
    eprintln!("{n} half-open connections: worker RSS {idle} KiB idle, peak {hwm} KiB");
    assert!(hwm < 64 * 1024, "{n} slow connections took the worker to {hwm} KiB");
    drop(crowd);
}

#[test]
fn fifty_restarts_under_load_lose_no_job_silently() {
    let port = common::free_port();
    let listen = format!("127.0.0.1:{port}");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let outcomes = std::sync::Arc::new(std::sync::Mutex::new((0usize, 0usize, Vec::<String>::new())));
    let mut w = Worker::start_on(&listen, &["--shutdown-grace", "2"]);
    let client = {
        let (stop, outcomes, listen) = (stop.clone(), outcomes.clone(), listen.clone());
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let run = pisubmit(&listen, &["--json", "--connect-timeout", "10", "loopsum"]);
                let mut o = outcomes.lock().unwrap();
                match run.code {
                    0 => {
                        let v = run.json();
                        assert_eq!(v["result"], 64032004000000i64, "a wrong answer across a restart");
                        o.0 += 1;
                    }
                    _ => {
                        assert!(!run.stderr.trim().is_empty(), "a job failed without a word");
                        o.1 += 1;
                        o.2.push(run.stderr.lines().next().unwrap_or("").to_string());
                    }
                }
            }
        })
    };
    for i in 0..50 {
        std::thread::sleep(Duration::from_millis(60));
        w.signal(nix::sys::signal::Signal::SIGTERM);
        assert_eq!(w.wait_exit(Duration::from_secs(10)).and_then(|s| s.code()), Some(0), "restart {i}");
        w = Worker::start_on(&listen, &["--shutdown-grace", "2"]);
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    client.join().unwrap();
    let o = outcomes.lock().unwrap();
    eprintln!("50 restarts: {} jobs done, {} reported errors {:?}", o.0, o.1, &o.2[..o.2.len().min(3)]);
    assert!(o.0 > 0, "no job completed during the restarts");
    assert!(!w.log().contains("already in use"));
}

#[test]
fn a_second_signal_stops_at_once() {
    let mut w = Worker::start(&["--shutdown-grace", "60"]);
    let mut c = RawClient::handshake(&w);
    let p = loopsum::Params { t0: 0, t1: 1 << 20, u_len: 1 << 20, c: 1.0 };
    c.send(&Submit { kind: JobKind::Loopsum.to_u8(), flags: 0, params: p.encode() }.encode(1).to_bytes());
    w.wait_busy();
    w.signal(nix::sys::signal::Signal::SIGTERM);
    std::thread::sleep(Duration::from_millis(500));
    assert!(w.child.try_wait().unwrap().is_none(), "the first signal only starts the drain");
    w.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(w.wait_exit(Duration::from_secs(5)).and_then(|s| s.code()), Some(0));
    assert!(w.log().contains("again: cancelling running jobs now"), "{}", w.log());
    // The client is told what happened to its job.
    let msg = error_of(&mut c);
    assert_eq!(msg.code, ErrorCode::ShuttingDown, "{}", msg.message);
}

#[test]
fn a_half_closed_client_is_taken_as_gone_and_its_jobs_cancelled() {
    let w = Worker::start(&[]);
    let mut c = RawClient::handshake(&w);
    let p = loopsum::Params { t0: 0, t1: 1 << 20, u_len: 1 << 20, c: 1.0 };
    c.send(&Submit { kind: JobKind::Loopsum.to_u8(), flags: 0, params: p.encode() }.encode(1).to_bytes());
    w.wait_busy();
    c.shutdown_write();
    assert!(c.frame().is_none(), "documented: EOF from the client ends the connection");
    assert!(w.wait_log("job 1 cancelled: client disconnected", Duration::from_secs(5)), "{}", w.log());
    still_serves(&w);
}

#[test]
fn a_reset_in_the_middle_of_a_result_is_an_ordinary_close() {
    let w = Worker::start(&[]);
    let mut c = RawClient::handshake(&w);
    let p = piworker::jobs::primes::Params { a: 1, b: 200_000_000, list: true };
    c.send(&Submit { kind: JobKind::Primes.to_u8(), flags: 0, params: p.encode() }.encode(1).to_bytes());
    let first = c.frame().unwrap();
    assert_eq!(first.header.frame_type, FrameType::Partial);
    // SO_LINGER 0: close() sends a reset instead of a FIN.
    let fd = std::os::fd::AsFd::as_fd(&c.stream);
    nix::sys::socket::setsockopt(&fd, nix::sys::socket::sockopt::Linger, &libc_linger()).unwrap();
    drop(c);
    assert!(w.wait_log("connection closed", Duration::from_secs(5)), "{}", w.log());
    assert!(!w.log().contains("ERROR"), "a reset is not an error: {}", w.log());
    still_serves(&w);
}

fn libc_linger() -> nix::libc::linger {
    nix::libc::linger { l_onoff: 1, l_linger: 0 }
}
