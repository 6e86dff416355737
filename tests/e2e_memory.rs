//! Memory is budgeted, never assumed: a job whose parameters would make the
//! worker allocate more than `--max-job-memory`, or more than is left of
//! `--max-memory`, gets an Error frame naming the budget, and the worker
//! answers the next job.
//!
//! The worker is the native build unless `PIWORKER_WORKER_CMD` names
//! another command (scripts/arm-test.sh runs this file against the arm64
//! and armhf builds under qemu-user that way), so the same checks prove the
//! 32-bit build refuses what once aborted it.

mod common;

use common::{RawClient, Worker, PIWORKER};
use piworker::jobs::memory::MemoryBudget;
use piworker::jobs::{life, loopsum, pi, powers, primes, reduce, spin, JobKind, WorkerContext};
use piworker::protocol::{ErrorCode, ErrorMessage, Frame, FrameType, Submit};
use std::process::Command;
use std::time::{Duration, Instant};

/// The Submit payload that aborted the armhf worker ("memory allocation of
/// 1623457792 bytes failed"): kind 8 (life), flags 1 (input follows), then
/// width 2, 270,598,144 rows, a margin of 67,641,344, flags 0, generation 0.
/// 540 Mi cells pass the 2^32-cell check, but every row is a 64-bit word.
const LIFE_23_BYTES: [u8; 23] = [
    0x08, 0x01, // kind life, input follows
    0x00, 0x00, 0x00, 0x02, // width 2
    0x10, 0x21, 0x00, 0x00, // rows 270598144
    0x04, 0x08, 0x20, 0x00, // margin 67641344
    0x00, // flags
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // generation 0
];

/// One compute thread, so that the worker prices jobs as the test does
/// whatever machine (or emulator) it runs on.
fn start_worker(extra: &[&str]) -> Worker {
    let mut args = vec!["--listen", "127.0.0.1:0", "--threads", "1"];
    args.extend_from_slice(extra);
    let mut cmd = match std::env::var("PIWORKER_WORKER_CMD") {
        Ok(line) if !line.trim().is_empty() => {
            let mut words = line.split_whitespace();
            let mut cmd = Command::new(words.next().unwrap_or(PIWORKER));
            cmd.args(words);
            cmd
        }
        _ => Command::new(PIWORKER),
    };
    cmd.args(&args).env("RUST_LOG", "debug");
    Worker::spawn(cmd)
}

fn send_submit(c: &mut RawClient, job_id: u32, kind: JobKind, input: bool, params: Vec<u8>) {
    c.send(&Submit { kind: kind.to_u8(), flags: u8::from(input), params }.encode(job_id).to_bytes());
}

fn next_frame(c: &mut RawClient) -> Frame {
    c.frame().expect("a frame before the worker closed the connection")
}

/// The Error frame for `job_id`, with its code and message.
fn error_for(c: &mut RawClient, job_id: u32) -> (ErrorCode, String) {
    let frame = next_frame(c);
    assert_eq!((frame.header.frame_type, frame.header.job_id), (FrameType::Error, job_id), "{frame:?}");
    let msg = ErrorMessage::decode(&frame.payload).expect("a readable error");
    (msg.code, msg.message)
}

fn refused(c: &mut RawClient, job_id: u32, code: ErrorCode, names: &str) -> String {
    let (got, message) = error_for(c, job_id);
    assert_eq!(got, code, "job {job_id}: {message}");
    assert!(message.contains(names), "job {job_id}: {message:?} does not name {names:?}");
    message
}

/// A job that was accepted: cancelled, it answers Cancelled (or its
/// result, had it already finished).
fn accepted_then_cancelled(c: &mut RawClient, job_id: u32) {
    c.send(&Frame::new(FrameType::Cancel, job_id, Vec::new()).to_bytes());
    let frame = next_frame(c);
    assert_eq!(frame.header.job_id, job_id, "{frame:?}");
    match frame.header.frame_type {
        FrameType::Result => {}
        FrameType::Error => {
            let msg = ErrorMessage::decode(&frame.payload).expect("a readable error");
            assert_eq!(msg.code, ErrorCode::Cancelled, "job {job_id} was refused: {}", msg.message);
        }
        other => panic!("job {job_id}: unexpected {other:?}"),
    }
}

/// The worker still computes: a small loop sum, (0 + 1 + ... + 99)^2.
fn answers_the_next_job(c: &mut RawClient, job_id: u32) {
    let params = loopsum::Params { t0: 0, t1: 100, u_len: 100, c: 1.0 };
    send_submit(c, job_id, JobKind::Loopsum, false, params.encode());
    let frame = next_frame(c);
    assert_eq!((frame.header.frame_type, frame.header.job_id), (FrameType::Result, job_id), "{frame:?}");
    assert_eq!(loopsum::decode_result(&frame.payload).unwrap().value(), 4950.0 * 4950.0);
}

/// A client past the handshake. Its reads wait up to two minutes: a worker
/// under qemu, on a machine shared with other work, can be slow to drop a
/// cancelled job's 2^19 queued primes tasks or to count a 40 MiB strip.
fn client(w: &Worker) -> RawClient {
    let c = RawClient::handshake(w);
    c.stream.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    c
}

fn strip(width: u32, rows: u32, margin: u32) -> life::Params {
    life::Params {
        width,
        rows,
        margin,
        wrap_x: false,
        dead_top: false,
        dead_bottom: false,
        peers: false,
        generation: 0,
    }
}

/// The most rows of `width` cells (margin 1, one thread) that fit `budget`.
fn rows_that_fit(width: u32, budget: u64) -> u32 {
    let need = |rows| life::memory_need(&strip(width, rows, 1), 1, 1).bytes;
    let (mut lo, mut hi) = (1u32, u32::MAX);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if need(mid) <= budget {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

#[test]
fn the_23_byte_life_submit_is_refused_naming_the_budget_and_the_worker_serves_on() {
    // With the machine's default budget, and with a small one.
    for flags in [&[][..], &["--max-job-memory", "256M"][..]] {
        let w = start_worker(flags);
        let mut c = client(&w);
        let mut frame = Frame::new(FrameType::Submit, 7, LIFE_23_BYTES.to_vec()).to_bytes();
        // The input that was to follow is dropped quietly with the job.
        frame.extend(Frame::new(FrameType::Data, 7, vec![1, 0, 0, 0, 0]).to_bytes());
        frame.extend(Frame::new(FrameType::EndInput, 7, Vec::new()).to_bytes());
        c.send(&frame);
        let message = refused(&mut c, 7, ErrorCode::BadParams, "--max-job-memory is");
        assert!(message.starts_with("life strip of 2 x 270598144 with 67641344 ghost rows needs "), "{message}");
        assert!(message.contains("(64-bit words per row, plus margins and per-thread bands)"), "{message}");
        if !flags.is_empty() {
            assert!(message.ends_with("--max-job-memory is 256 MiB"), "{message}");
        }
        answers_the_next_job(&mut c, 8);
        assert!(w.log().contains("memory budget: "), "{}", w.log());
    }
}

#[test]
fn every_kind_at_its_limits_is_accepted_and_just_past_them_refused() {
    // A 1 GiB Pi's default per-job budget.
    const BUDGET: u64 = 128 << 20;
    let w = start_worker(&["--max-job-memory", "128M", "--max-memory", "512M"]);
    let mut c = client(&w);
    let max = loopsum::MAX_INDEX;
    let mut id = 0;
    let mut next = || {
        id += 1;
        id
    };

    // Limits of the parameters themselves.
    let at_limit: Vec<(JobKind, bool, Vec<u8>)> = vec![
        (JobKind::Loopsum, false, loopsum::Params { t0: -max, t1: max, u_len: max, c: 1.0 }.encode()),
        (JobKind::Pi, false, pi::Params { seed: 1, i0: 0, i1: u64::MAX }.encode()),
        (JobKind::Primes, false, primes::Params { a: 0, b: primes::MAX_B, list: false }.encode()),
        (JobKind::Powers, false, powers::Params { nums: vec![2.0; 1024], exps: vec![3.0; 1024] }.encode()),
        (JobKind::Spin, false, spin::Params { millis: spin::MAX_MILLIS, payload: vec![] }.encode()),
        (JobKind::Life, true, strip(life::MAX_WIDTH, 1, 1).encode()),
        (JobKind::Life, true, strip(1, rows_that_fit(1, BUDGET), 1).encode()),
        (JobKind::Life, true, strip(4096, rows_that_fit(4096, BUDGET), 1).encode()),
    ];
    for (kind, input, params) in at_limit {
        let job = next();

        send_submit(&mut c, job, kind, input, params);
        accepted_then_cancelled(&mut c, job);
    }

    let past: Vec<(JobKind, bool, Vec<u8>, &str)> = vec![
        (JobKind::Loopsum, false, loopsum::Params { t0: -max, t1: max + 1, u_len: 1, c: 1.0 }.encode(), "exceeds"),
        (JobKind::Loopsum, false, loopsum::Params { t0: 0, t1: 1, u_len: max + 1, c: 1.0 }.encode(), "L ("),
        (JobKind::Pi, false, pi::Params { seed: 1, i0: 5, i1: 5 }.encode(), "zero samples"),
        (JobKind::Primes, false, primes::Params { a: 0, b: primes::MAX_B + 1, list: true }.encode(), "2^40"),
        (JobKind::Powers, false, powers::Params { nums: vec![2.0; 1025], exps: vec![3.0; 1024] }.encode(), "results"),
        (JobKind::Spin, false, spin::Params { millis: spin::MAX_MILLIS + 1, payload: vec![] }.encode(), "spin"),
        (JobKind::Life, true, strip(life::MAX_WIDTH + 1, 1, 1).encode(), "width"),
        (JobKind::Life, true, strip(1 << 16, (1 << 16) + 1, 1).encode(), "4294967296 cells"),
        (JobKind::Life, true, strip(1, rows_that_fit(1, BUDGET) + 1, 1).encode(), "--max-job-memory is 128 MiB"),
        (JobKind::Life, true, strip(4096, rows_that_fit(4096, BUDGET) + 1, 1).encode(), "--max-job-memory is 128 MiB"),
        (JobKind::Life, true, strip(4096, 2, 3).encode(), "margin 3"),
        (JobKind::Reduce, true, vec![9, 0], "reduce: unknown op 9"),
    ];
    for (kind, input, params, names) in past {
        let job = next();
        send_submit(&mut c, job, kind, input, params);
        refused(&mut c, job, ErrorCode::BadParams, names);
    }
    let job = next();
    answers_the_next_job(&mut c, job);
}

/// Params of the largest life strip 4096 cells wide that needs at most
/// `bytes`.
fn strip_of(bytes: u64) -> Vec<u8> {
    strip(4096, rows_that_fit(4096, bytes), 1).encode()
}

/// Submits `params` until the worker takes them (it gives a cancelled or
/// disconnected job's memory back when its loop gets there), within 60 s.
fn accepted_within(c: &mut RawClient, first_id: u32, params: &[u8]) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut id = first_id;
    loop {
        send_submit(c, id, JobKind::Life, true, params.to_vec());
        // A life job that is accepted waits for its input: a ping shows
        // that no error came for it.
        c.send(&Frame::new(FrameType::Ping, 0, Vec::new()).to_bytes());
        let frame = next_frame(c);
        if frame.header.frame_type == FrameType::Pong {
            return id;
        }
        let refusal = ErrorMessage::decode(&frame.payload).expect("an Error frame or the Pong");
        assert_eq!(refusal.code, ErrorCode::JobFailed, "job {id}: {}", refusal.message);
        assert_eq!(next_frame(c).header.frame_type, FrameType::Pong);
        assert!(Instant::now() < deadline, "the memory of the first job was not given back within 60 s");
        std::thread::sleep(Duration::from_millis(50));
        id += 1;
    }
}

#[test]
fn the_worker_budget_refuses_a_second_large_job_until_the_first_ends_however_it_ends() {
    let w = start_worker(&["--max-job-memory", "48M", "--max-memory", "64M"]);
    let big = strip_of(40 << 20);
    let mut c = client(&w);

    // Ends by finishing: the second waits for it.
    send_submit(&mut c, 1, JobKind::Life, true, big.clone());
    send_submit(&mut c, 2, JobKind::Life, true, big.clone());
    let message = refused(&mut c, 2, ErrorCode::JobFailed, "of --max-memory 64 MiB: try again when they finish");
    assert!(message.starts_with("life strip of 4096 x "), "{message}");
    c.send(&Frame::new(FrameType::EndInput, 1, Vec::new()).to_bytes());
    assert_eq!(next_frame(&mut c).header.frame_type, FrameType::Result, "the first finishes");
    let second = accepted_within(&mut c, 3, &big);

    // Ends by cancel.
    send_submit(&mut c, 100, JobKind::Life, true, big.clone());
    refused(&mut c, 100, ErrorCode::JobFailed, "--max-memory");
    accepted_then_cancelled(&mut c, second);
    let third = accepted_within(&mut c, 101, &big);

    // Ends by an error in its input.
    c.send(&Frame::new(FrameType::Data, third, vec![99]).to_bytes());
    refused(&mut c, third, ErrorCode::BadParams, "unknown op 99");
    let fourth = accepted_within(&mut c, 200, &big);

    // Ends by its client going away: another client gets the memory.
    drop(c);
    let mut other = client(&w);
    let fifth = accepted_within(&mut other, 300, &big);
    assert!(fifth >= 300 && fourth >= 200);
    accepted_then_cancelled(&mut other, fifth);
    answers_the_next_job(&mut other, 400);
}

#[test]
fn the_budget_test_prices_jobs_as_the_library_does() {
    // The helpers above must agree with the worker's own pricing, or the
    // limits the e2e tests probe would not be the worker's.
    let rows = rows_that_fit(4096, 64 << 20);
    let fits = strip(4096, rows, 1).encode();
    let over = strip(4096, rows + 1, 1).encode();
    let ctx = || WorkerContext::with_budget(1, MemoryBudget::new(64 << 20, 64 << 20));
    assert!(piworker::jobs::start(JobKind::Life.to_u8(), &fits, true, ctx()).is_ok());
    assert!(piworker::jobs::start(JobKind::Life.to_u8(), &over, true, ctx()).is_err());
    assert!(reduce::Params::decode(&[9, 0]).is_err());
}
