//! The corners of docs/PROTOCOL.md a client in another language must get
//! right, checked against a real worker on loopback: a keyed handshake's
//! silent success, Hello's optional fields and what an older client is
//! answered, job id 0, the input of a refused Submit, and what the worker
//! answers and logs for each non-fatal mistake (the bad-input table).

mod common;

use common::*;
use piworker::jobs::JobKind;
use piworker::protocol::auth;
use piworker::protocol::frame::PROTOCOL_MINOR;
use piworker::protocol::message::{Challenge, SUBMIT_HAS_INPUT};
use piworker::protocol::{ErrorCode, ErrorMessage, Frame, FrameType, Welcome, WireWrite};
use std::time::Duration;

fn hello_payload(minor: u8, nonce: &[u8], rest: &[u8]) -> Vec<u8> {
    let mut p = vec![1, minor];
    p.put_string("edge-client");
    p.extend_from_slice(nonce);
    p.extend_from_slice(rest);
    p
}

fn send(c: &mut RawClient, t: FrameType, job: u32, payload: Vec<u8>) {
    c.send(&Frame::new(t, job, payload).to_bytes());
}

/// The next frame must be an Error with this job id and code; its message.
fn error(c: &mut RawClient, job: u32, code: ErrorCode) -> String {
    let f = c.frame().expect("an Error frame");
    assert_eq!((f.header.frame_type, f.header.job_id), (FrameType::Error, job), "{f:?}");
    let e = ErrorMessage::decode(&f.payload).unwrap();
    assert_eq!(e.code, code, "{}", e.message);
    e.message
}

/// A Ping as a barrier: the next frame must be its Pong, so nothing was
/// sent in answer to the frames before it.
fn nothing_before_pong(c: &mut RawClient, token: u8) {
    send(c, FrameType::Ping, 0, vec![token]);
    let f = c.frame().expect("a Pong");
    assert_eq!((f.header.frame_type, f.payload.as_slice()), (FrameType::Pong, &[token][..]), "{f:?}");
}

fn submit(kind: u8, flags: u8, params: Vec<u8>) -> Vec<u8> {
    let mut p = vec![kind, flags];
    p.extend_from_slice(&params);
    p
}

#[test]
fn a_keyed_handshake_succeeds_in_silence() {
    let dir = temp_dir("edge-key");
    let file = key_file(&dir, "key", "  c2VjcmV0LWtleS1mb3ItdGhlLWxhYg==\n", 0o600);
    let key = b"c2VjcmV0LWtleS1mb3ItdGhlLWxhYg==";
    let w = Worker::start(&["--key", file.to_str().unwrap()]);
    let nonce: [u8; 16] = std::array::from_fn(|i| i as u8 * 3);

    let mut c = RawClient::connect(&w);
    send(&mut c, FrameType::Hello, 0, hello_payload(PROTOCOL_MINOR, &nonce, &[]));
    let f = c.frame().expect("Welcome");
    let Challenge::Key { nonce: theirs, proof } = Welcome::decode(&f.payload).unwrap().challenge else {
        panic!("a keyed worker asks for the key");
    };
    assert!(auth::check_worker_proof(key, &nonce, &theirs, &proof), "the key is the file's trimmed text");
    // Auth, and straight after it a Ping: the Pong is the next frame.
    send(&mut c, FrameType::Auth, 0, auth::client_proof(key, &nonce, &theirs).to_vec());
    nothing_before_pong(&mut c, 7);
    assert!(w.wait_log("cluster key proven", Duration::from_secs(5)));

    // A proof of the wrong length is a wrong key: fatal.
    let mut c = RawClient::connect(&w);
    send(&mut c, FrameType::Hello, 0, hello_payload(PROTOCOL_MINOR, &nonce, &[]));
    c.frame().expect("Welcome");
    send(&mut c, FrameType::Auth, 0, vec![0; 31]);
    assert_eq!(error(&mut c, 0, ErrorCode::AuthFailed), "wrong cluster key");
    assert!(c.frame().is_none(), "the connection closes");

    // A 1.0 Hello (no nonce) cannot prove the key.
    let mut c = RawClient::connect(&w);
    send(&mut c, FrameType::Hello, 0, hello_payload(0, &[], &[]));
    assert!(error(&mut c, 0, ErrorCode::AuthFailed).contains("the client sent no nonce"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hello_fields_are_absent_only_where_the_payload_ends() {
    let w = Worker::start(&["--threads", "2"]);
    // A 1.0 Hello gets this worker's whole Welcome, auth byte and all.
    let mut c = RawClient::connect(&w);
    send(&mut c, FrameType::Hello, 0, hello_payload(0, &[], &[]));
    let f = c.frame().expect("Welcome");
    let welcome = Welcome::decode(&f.payload).unwrap();
    assert_eq!((welcome.protocol_minor, welcome.challenge), (PROTOCOL_MINOR, Challenge::Open));
    let strings = 2 + welcome.software.len() + 2 + welcome.hostname.len() + 2 + welcome.arch.len();
    assert_eq!(f.payload.len(), 2 + strings + 2 + 4 + 1, "the auth byte follows max_frame");
    nothing_before_pong(&mut c, 1);

    // A nonce cut short, or one byte of max_threads: a malformed Hello.
    for (nonce, rest, field) in [(&[9u8; 5][..], &[][..], "hello.nonce"), (&[9; 16][..], &[1][..], "hello.max_threads")]
    {
        let mut c = RawClient::connect(&w);
        send(&mut c, FrameType::Hello, 0, hello_payload(3, nonce, rest));
        let msg = error(&mut c, 0, ErrorCode::BadFrame);
        assert!(msg.starts_with("malformed Hello") && msg.contains(field), "{msg}");
    }
    // A later client's fields after max_threads are skipped.
    let mut c = RawClient::connect(&w);
    send(&mut c, FrameType::Hello, 0, hello_payload(9, &[4; 16], &[0, 1, 0xde, 0xad, 0xbe, 0xef]));
    assert_eq!(c.frame().expect("Welcome").header.frame_type, FrameType::Welcome);
    nothing_before_pong(&mut c, 2);
    assert!(w.wait_log("hello from pisubmit edge-client (protocol 1.9)", Duration::from_secs(5)), "{}", w.log());
}

#[test]
fn job_id_0_is_refused_and_the_connection_goes_on() {
    let w = Worker::start(&["--threads", "1"]);
    let mut c = RawClient::handshake(&w);
    let peer = c.stream.local_addr().unwrap();
    send(&mut c, FrameType::Submit, 0, submit(JobKind::Echo.to_u8(), SUBMIT_HAS_INPUT, vec![]));
    let msg = error(&mut c, 0, ErrorCode::BadParams);
    assert_eq!(msg, "job id 0 is reserved for the connection; number jobs from 1");
    // Its input is dropped quietly, like any refused Submit's.
    send(&mut c, FrameType::Data, 0, b"dropped".to_vec());
    send(&mut c, FrameType::EndInput, 0, vec![]);
    nothing_before_pong(&mut c, 3);
    assert!(w.wait_log(&format!("{peer}: job 0: {msg}"), Duration::from_secs(5)), "{}", w.log());
    // The same job as id 1 runs.
    send(&mut c, FrameType::Submit, 1, submit(JobKind::Echo.to_u8(), 0, vec![]));
    let f = c.frame().expect("Result");
    assert_eq!((f.header.frame_type, f.header.job_id, f.payload), (FrameType::Result, 1, vec![0; 8]));
}

#[test]
fn a_refused_submits_input_is_dropped_until_its_end_input() {
    let w = Worker::start(&["--threads", "1"]);
    let mut c = RawClient::handshake(&w);
    send(&mut c, FrameType::Submit, 4, submit(99, SUBMIT_HAS_INPUT, vec![]));
    error(&mut c, 4, ErrorCode::UnknownJobKind);
    for _ in 0..3 {
        send(&mut c, FrameType::Data, 4, vec![1, 2, 3]);
    }
    send(&mut c, FrameType::EndInput, 4, vec![]);
    nothing_before_pong(&mut c, 4);
    // After its EndInput the id is unknown again.
    send(&mut c, FrameType::Data, 4, vec![1]);
    assert_eq!(error(&mut c, 4, ErrorCode::UnknownJob), "Data for job 4, which is not running");

    // DuplicateJob: the id is the running job's, and so is the Data after it.
    send(&mut c, FrameType::Submit, 5, submit(JobKind::Echo.to_u8(), SUBMIT_HAS_INPUT, vec![]));
    send(&mut c, FrameType::Submit, 5, submit(JobKind::Echo.to_u8(), SUBMIT_HAS_INPUT, vec![]));
    assert_eq!(error(&mut c, 5, ErrorCode::DuplicateJob), "job id 5 is already running on this connection");
    send(&mut c, FrameType::Data, 5, b"to the running job".to_vec());
    let f = c.frame().expect("the running echo's Partial");
    assert_eq!((f.header.frame_type, f.payload.as_slice()), (FrameType::Partial, &b"to the running job"[..]));
    send(&mut c, FrameType::EndInput, 5, vec![]);
    let f = c.frame().expect("Result");
    assert_eq!((f.header.frame_type, f.header.job_id), (FrameType::Result, 5));
}

/// Each non-fatal row of the bad-input table: the Error's code, job id
/// and message, and the warning the worker logs for it.
#[test]
fn the_bad_input_table_is_what_the_worker_answers_and_logs() {
    let w = Worker::start(&["--threads", "1"]);
    let mut c = RawClient::handshake(&w);
    let peer = c.stream.local_addr().unwrap();
    let loopsum = piworker::jobs::loopsum::Params { t0: 5, t1: 2, u_len: 1, c: 1.0 }.encode();
    let cases: Vec<(FrameType, u32, Vec<u8>, ErrorCode, &str)> = vec![
        (
            FrameType::Unknown(0x42),
            9,
            vec![],
            ErrorCode::UnknownFrameType,
            "frame type 0x42 is not one a worker accepts",
        ),
        (
            FrameType::Hello,
            0,
            hello_payload(3, &[0; 16], &[]),
            ErrorCode::HandshakeRequired,
            "a second Hello on one connection",
        ),
        (
            FrameType::Submit,
            6,
            vec![1],
            ErrorCode::BadParams,
            "malformed Submit: field `submit.flags`: needs 1 bytes at offset 1, payload has 0 left",
        ),
        (
            FrameType::Submit,
            0,
            submit(1, 0, vec![]),
            ErrorCode::BadParams,
            "job id 0 is reserved for the connection; number jobs from 1",
        ),
        (FrameType::Submit, 7, submit(1, 0, loopsum), ErrorCode::BadParams, "loopsum: t1 (2) is less than t0 (5)"),
    ];
    for (t, job, payload, code, msg) in cases {
        send(&mut c, t, job, payload);
        assert_eq!(error(&mut c, job, code), msg);
        let line = format!("{peer}: job {job}: {msg}");
        assert!(w.wait_log(&line, Duration::from_secs(5)), "no `{line}` in the log:\n{}", w.log());
    }
    send(&mut c, FrameType::EndInput, 8, vec![]);
    let msg = error(&mut c, 8, ErrorCode::UnknownJob);
    assert_eq!(msg, "EndInput for job 8, which is not running");
    assert!(w.wait_log(&format!("{peer}: {msg}"), Duration::from_secs(5)), "{}", w.log());
}
