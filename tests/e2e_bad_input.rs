//! Hostile and broken peers: each gets an error frame it can read, the
//! worker logs a line naming the peer, and other clients are served on.

mod common;

use common::{hosts, pisubmit, RawClient, Worker};
use piworker::jobs::{loopsum, pi, primes, JobKind};
use piworker::protocol::frame::{Header, HEADER_LEN, PROTOCOL_MAJOR, PROTOCOL_MINOR};
use piworker::protocol::{ErrorCode, ErrorMessage, Frame, FrameType, Hello, Submit};
use std::time::Duration;

fn expect_error(client: &mut RawClient, job_id: u32, code: ErrorCode) -> String {
    let frame = client.frame().expect("an error frame before the close");
    assert_eq!(frame.header.frame_type, FrameType::Error, "{frame:?}");
    assert_eq!(frame.header.job_id, job_id);
    let msg = ErrorMessage::decode(&frame.payload).unwrap();
    assert_eq!(msg.code, code, "{}", msg.message);
    msg.message
}

fn submit(kind: JobKind, params: Vec<u8>, job_id: u32) -> Vec<u8> {
    Submit { kind: kind.to_u8(), flags: 0, params }.encode(job_id).to_bytes()
}

fn still_serves(w: &Worker) {
    let v = pisubmit(&hosts(&[w]), &["--json", "loopsum"]).json();
    assert_eq!(v["result"], 64032004000000i64);
}

#[test]
fn a_frame_fed_one_byte_at_a_time() {
    let w = Worker::start(&[]);
    let mut c = RawClient::connect(&w);
    let mut bytes = Hello::ours([0; 16]).encode().to_bytes();
    bytes.extend(submit(JobKind::Loopsum, loopsum::Params { t0: 0, t1: 4001, u_len: 4001, c: 1.0 }.encode(), 5));
    for b in bytes {
        c.send(&[b]);
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(c.frame().unwrap().header.frame_type, FrameType::Welcome);
    let result = c.frame().unwrap();
    assert_eq!((result.header.frame_type, result.header.job_id), (FrameType::Result, 5));
    assert_eq!(loopsum::decode_result(&result.payload).unwrap().value(), 64032004000000.0);
}

#[test]
fn wrong_magic_gets_an_error_then_a_close() {
    let w = Worker::start(&[]);
    let mut c = RawClient::connect(&w);
    c.send(b"GET / HTTP/1.1\r\nHost: pi\r\n\r\n");
    let msg = expect_error(&mut c, 0, ErrorCode::BadFrame);
    assert!(msg.contains("bad magic 47455420"), "{msg}");
    assert!(c.frame().is_none(), "then the worker closes");
    let port = c.stream.local_addr().unwrap().port();
    assert!(w.wait_log(&format!("127.0.0.1:{port}: bad magic"), Duration::from_secs(5)), "{}", w.log());
    still_serves(&w);
}

#[test]
fn another_major_version_is_refused_naming_both() {
    let w = Worker::start(&[]);
    // A peer whose headers say version 9.
    let mut c = RawClient::connect(&w);
    let mut hello =
        Hello { protocol_major: 9, protocol_minor: 3, software: "9.3.0".into(), nonce: None, max_threads: None }
            .encode()
            .to_bytes();
    hello[4] = 9;
    c.send(&hello);
    let msg = expect_error(&mut c, 0, ErrorCode::VersionMismatch);
    assert!(
        msg.contains(&format!("this side speaks {PROTOCOL_MAJOR}.{PROTOCOL_MINOR}")) && msg.contains("9."),
        "{msg}"
    );
    assert!(c.frame().is_none());
    // A peer that frames as v1 but says it speaks 2.x in its Hello.
    let mut c = RawClient::connect(&w);
    c.send(
        &Hello { protocol_major: 2, protocol_minor: 1, software: "2.1.0".into(), nonce: None, max_threads: None }
            .encode()
            .to_bytes(),
    );
    let msg = expect_error(&mut c, 0, ErrorCode::VersionMismatch);
    assert!(msg.contains(&format!("this side speaks {PROTOCOL_MAJOR}.{PROTOCOL_MINOR}, the peer speaks 2.1")), "{msg}");
    assert!(w.wait_log("protocol version mismatch", Duration::from_secs(5)));
    still_serves(&w);
}

#[test]
fn a_frame_above_max_frame_is_refused_before_allocation() {
    let w = Worker::start(&["--max-frame", "64K"]);
    let mut c = RawClient::handshake(&w);
    let mut header = [0u8; HEADER_LEN];
    Header::new(FrameType::Data, 1, 1 << 30).write_to(&mut header);
    c.send(&header);
    let msg = expect_error(&mut c, 0, ErrorCode::BadFrame);
    assert_eq!(msg, "frame of 1 GiB exceeds the limit of 64 KiB");
    assert!(c.frame().is_none());
    assert!(w.wait_log("exceeds the limit of 64 KiB", Duration::from_secs(5)));
    // Large input still works: it travels as many frames under the limit.
    let dir = std::env::temp_dir().join(format!("piworker-maxframe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("n.txt");
    std::fs::write(&file, (1..=300_000).map(|i| format!("{i}\n")).collect::<String>()).unwrap();
    let v = pisubmit(&hosts(&[&w]), &["--json", "reduce", "--op", "sum", "--input", file.to_str().unwrap()]).json();
    assert_eq!(v["result"], 300_000i64 * 300_001 / 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_truncated_frame_then_close_is_answered() {
    let w = Worker::start(&[]);
    let mut c = RawClient::handshake(&w);
    let full = submit(JobKind::Pi, pi::Params { seed: 1, i0: 0, i1: 10 }.encode(), 3);
    c.send(&full[..HEADER_LEN + 5]);
    c.shutdown_write();
    let msg = expect_error(&mut c, 0, ErrorCode::BadFrame);
    assert!(msg.contains("closed in the middle of a frame (21 bytes of it arrived)"), "{msg}");
    still_serves(&w);
}

#[test]
fn bad_jobs_get_errors_and_the_connection_carries_on() {
    let w = Worker::start(&[]);
    let mut c = RawClient::handshake(&w);
    c.send(&Submit { kind: 99, flags: 0, params: vec![] }.encode(1).to_bytes());
    assert!(expect_error(&mut c, 1, ErrorCode::UnknownJobKind).contains("unknown job kind 99"));
    c.send(&submit(JobKind::Loopsum, loopsum::Params { t0: 10, t1: 2, u_len: 5, c: 1.0 }.encode(), 2));
    assert_eq!(expect_error(&mut c, 2, ErrorCode::BadParams), "loopsum: t1 (2) is less than t0 (10)");
    c.send(&submit(JobKind::Primes, primes::Params { a: 100, b: 1, list: false }.encode(), 3));
    assert_eq!(expect_error(&mut c, 3, ErrorCode::BadParams), "primes: b (1) is less than a (100)");
    c.send(&submit(JobKind::Pi, pi::Params { seed: 1, i0: 5, i1: 5 }.encode(), 4));
    assert!(expect_error(&mut c, 4, ErrorCode::BadParams).contains("zero samples"));
    c.send(&submit(JobKind::Pi, vec![1, 2, 3], 5));
    assert!(expect_error(&mut c, 5, ErrorCode::BadParams).contains("pi.seed"));
    c.send(&Frame::new(FrameType::Unknown(0x7f), 6, vec![]).to_bytes());
    assert!(expect_error(&mut c, 6, ErrorCode::UnknownFrameType).contains("0x7f"));
    c.send(&Frame::new(FrameType::Data, 77, vec![1]).to_bytes());
    expect_error(&mut c, 77, ErrorCode::UnknownJob);
    // A refused job whose input was to follow: one error, its input dropped.
    let refused = Submit {
        kind: JobKind::Reduce.to_u8(),
        flags: piworker::protocol::message::SUBMIT_HAS_INPUT,
        params: vec![9, 9],
    };
    c.send(&refused.encode(9).to_bytes());
    c.send(&Frame::new(FrameType::Data, 9, vec![0; 64]).to_bytes());
    c.send(&Frame::new(FrameType::EndInput, 9, vec![]).to_bytes());
    assert!(expect_error(&mut c, 9, ErrorCode::BadParams).contains("reduce: unknown op 9"));
    // The same connection still runs a good job.
    c.send(&submit(JobKind::Pi, pi::Params { seed: 1, i0: 0, i1: 1000 }.encode(), 8));
    let frame = c.frame().unwrap();
    assert_eq!((frame.header.frame_type, frame.header.job_id), (FrameType::Result, 8));
    assert_eq!(pi::Counts::decode(&frame.payload).unwrap().samples, 1000);
    let port = c.stream.local_addr().unwrap().port();
    assert!(
        w.wait_log(&format!("127.0.0.1:{port}: job 2: loopsum: t1 (2) is less than t0 (10)"), Duration::from_secs(5))
    );
    still_serves(&w);
}

#[test]
fn a_job_before_the_handshake_is_refused() {
    let w = Worker::start(&[]);
    let mut c = RawClient::connect(&w);
    c.send(&submit(JobKind::Pi, pi::Params { seed: 1, i0: 0, i1: 10 }.encode(), 1));
    assert!(expect_error(&mut c, 0, ErrorCode::HandshakeRequired).contains("expected Hello"));
    assert!(c.frame().is_none());
}

#[test]
fn several_jobs_in_flight_results_out_of_order_and_cancel() {
    let w = Worker::start(&[]);
    let mut c = RawClient::handshake(&w);
    // A long job first, then a quick one: the quick one's result comes first.
    c.send(&submit(JobKind::Loopsum, loopsum::Params { t0: 0, t1: 1 << 20, u_len: 1 << 20, c: 1.0 }.encode(), 1));
    c.send(&submit(JobKind::Pi, pi::Params { seed: 3, i0: 0, i1: 100 }.encode(), 2));
    let first = c.frame().unwrap();
    assert_eq!((first.header.frame_type, first.header.job_id), (FrameType::Result, 2));
    c.send(&Frame::new(FrameType::Cancel, 1, vec![]).to_bytes());
    assert!(expect_error(&mut c, 1, ErrorCode::Cancelled).contains("cancelled"));
    // Streaming partials: primes with the list asked for.
    c.send(&submit(JobKind::Primes, primes::Params { a: 1, b: 100, list: true }.encode(), 3));
    let partial = c.frame().unwrap();
    assert_eq!(partial.header.frame_type, FrameType::Partial);
    assert_eq!(primes::decode_partial(&partial.payload).unwrap()[..5], [2, 3, 5, 7, 11]);
    let done = c.frame().unwrap();
    assert_eq!(primes::Summary::decode(&done.payload).unwrap(), primes::Summary { count: 25, max: 97 });
}
