//! The checks behind the fuzz targets, one public function per target.
//!
//! Shared word for word by the fuzz targets (`fuzz/fuzz_targets/*.rs`, thin
//! wrappers) and by `tests/fuzz_regressions.rs`, which replays the saved
//! inputs under `fuzz/regressions/<target>/` in the normal test suite. Each
//! function takes arbitrary bytes and panics only when it finds a bug: a
//! panic inside piworker, or a decoded value that does not survive
//! re-encoding, or an accepted value outside its documented bounds.

use piworker::daemon::metrics::http::{answer, route, Route, MAX_REQUEST};
use piworker::jobs::memory::MemoryBudget;
use piworker::jobs::{self, echo, exec_stdout, loopsum, pi, powers, prime_gaps, primes, reduce, spin, WorkerContext};
use piworker::protocol::auth::{self, NONCE_LEN};
use piworker::protocol::frame::{decode_frame, decode_header, Decoded, DEFAULT_MAX_FRAME, HEADER_LEN, PROTOCOL_MAJOR};
use piworker::protocol::{ErrorCode, ErrorMessage, Hello, Submit, Welcome};
use std::rc::Rc;

/// The frame decoder, as a connection uses it: the bytes read as a stream
/// of frames, under several limits (a tiny one, the default, none).
pub fn frame(data: &[u8]) {
    for max in [0, 1, 16, 4096, DEFAULT_MAX_FRAME, u32::MAX] {
        frames_with_limit(data, max);
    }
}

fn frames_with_limit(data: &[u8], max: u32) {
    let mut rest = data;
    loop {
        match decode_frame(rest, max) {
            Err(e) => {
                assert_eq!(decode_header(rest, max), Err(e.clone()), "decode_frame and decode_header disagree");
                assert!(!e.to_string().is_empty());
                return;
            }
            Ok(None) => {
                let Ok(Decoded::NeedMore(n)) = decode_header(rest, max) else {
                    panic!("decode_frame needs more but decode_header does not say so")
                };
                assert!(n > 0, "needs 0 more bytes");
                if rest.len() < HEADER_LEN {
                    assert_eq!(n, HEADER_LEN - rest.len());
                }
                return;
            }
            Ok(Some((frame, used))) => {
                assert!(used <= rest.len(), "consumed {used} of {} bytes", rest.len());
                assert_eq!(used, HEADER_LEN + frame.payload.len());
                assert_eq!(frame.header.length as usize, frame.payload.len());
                assert!(frame.header.length <= max);
                let consumed = &rest[..used];
                // The header as decoded writes back exactly the bytes read.
                let mut again = [0u8; HEADER_LEN];
                frame.header.write_to(&mut again);
                assert_eq!(&again[..], &consumed[..HEADER_LEN], "header does not re-encode to its bytes");
                assert_eq!(&frame.payload[..], &consumed[HEADER_LEN..]);
                // Frame::to_bytes writes our own header: our major version and
                // zero flags (reserved, ignored on receipt); all else is equal.
                let mut canonical = consumed.to_vec();
                canonical[4] = PROTOCOL_MAJOR;
                canonical[6..8].fill(0);
                assert_eq!(frame.to_bytes(), canonical, "Frame::to_bytes differs from the consumed bytes");
                // Every cut inside the frame is "need more", never an error.
                for cut in 0..used {
                    assert!(
                        matches!(decode_frame(&consumed[..cut], max), Ok(None)),
                        "a frame cut at byte {cut} is not need-more"
                    );
                }
                rest = &rest[used..];
            }
        }
    }
}

/// The handshake and envelope payloads: whatever decodes survives a round
/// trip through its encoder; a proof is accepted only when it is right.
pub fn handshake(data: &[u8]) {
    if let Ok(hello) = Hello::decode(data) {
        let again = Hello::decode(&hello.encode().payload).expect("re-encoded Hello must decode");
        assert_eq!(again, hello);
    }
    if let Ok(welcome) = Welcome::decode(data) {
        let again = Welcome::decode(&welcome.encode().payload).expect("re-encoded Welcome must decode");
        assert_eq!(again, welcome);
    }
    if let Ok(error) = ErrorMessage::decode(data) {
        let again = ErrorMessage::decode(&error.encode(1).payload).expect("re-encoded ErrorMessage must decode");
        assert_eq!(again, error);
        assert_eq!(ErrorCode::from_u16(error.code.to_u16()), error.code);
        let _ = error.to_string();
    }
    if let Ok(submit) = Submit::decode(data) {
        assert_eq!(submit.encode(1).payload, data, "Submit does not re-encode to its bytes");
    }
    // An Auth payload (the client's proof) or a Welcome's worker proof: of
    // any length, and accepted only when it is the right HMAC.
    let (key, client_nonce, worker_nonce) = (b"0123456789abcdef", [1u8; NONCE_LEN], [2u8; NONCE_LEN]);
    let right = auth::client_proof(key, &client_nonce, &worker_nonce);
    assert_eq!(auth::check_client_proof(key, &client_nonce, &worker_nonce, data), data == right);
    let right = auth::worker_proof(key, &client_nonce, &worker_nonce);
    assert_eq!(auth::check_worker_proof(key, &client_nonce, &worker_nonce, data), data == right);
}

/// The budget `job_params` starts jobs with. libFuzzer runs with
/// `-malloc_limit_mb` at the per-job budget and `-rss_limit_mb` at the
/// per-worker one (the Makefile's FUZZ_JOB_MB and FUZZ_WORKER_MB), and
/// `tests/fuzz_regressions.rs` caps single allocations at the same figure.
pub const FUZZ_JOB_MEMORY: u64 = 128 << 20;
pub const FUZZ_WORKER_MEMORY: u64 = 512 << 20;

/// A `Submit` payload (kind, flags, params) started as the worker starts
/// it, its tasks made but not run; and the params through every kind's
/// decoder, whatever the kind byte says.
pub fn job_params(data: &[u8]) {
    let Ok(submit) = Submit::decode(data) else { return };
    let params = &submit.params;
    let budget = MemoryBudget::new(FUZZ_JOB_MEMORY, FUZZ_WORKER_MEMORY);
    let ctx = WorkerContext::with_budget(1, Rc::clone(&budget));
    let started = jobs::start(submit.kind, params, submit.has_input(), ctx);
    match started {
        Ok(mut job) => {
            assert!(budget.held() <= FUZZ_JOB_MEMORY, "a started job holds {} bytes", budget.held());
            // Made (a client chooses how many) and dropped unrun.
            drop(job.take_tasks());
        }
        Err(e) => {
            assert!(matches!(e.code, ErrorCode::UnknownJobKind | ErrorCode::BadParams), "start failed with {e:?}");
            let _ = e.to_string();
        }
    }
    assert_eq!(budget.held(), 0, "a dropped job gave its memory back");

    if let Ok(p) = loopsum::Params::decode(params) {
        let max = loopsum::MAX_INDEX as u64;
        assert!(p.t0 <= p.t1 && p.t0.unsigned_abs() <= max && p.t1.unsigned_abs() <= max, "loopsum accepted {p:?}");
        assert!((0..=loopsum::MAX_INDEX).contains(&p.u_len) && p.c.is_finite(), "loopsum accepted {p:?}");
        assert_eq!(p.encode(), *params);
    }
    if let Ok(p) = pi::Params::decode(params) {
        assert!(p.i0 < p.i1, "pi accepted {p:?}");
        assert_eq!(p.encode(), *params);
    }
    if let Ok(p) = primes::Params::decode(params) {
        assert!(p.a <= p.b && p.b <= primes::MAX_B, "primes accepted {p:?}");
        assert_eq!(primes::Params::decode(&p.encode()).expect("re-encoded primes params"), p);
    }
    if let Ok(p) = powers::Params::decode(params) {
        assert!(!p.nums.is_empty() && !p.exps.is_empty(), "powers accepted empty lists");
        assert!(p.nums.len() * p.exps.len() <= powers::MAX_VALUES, "powers accepted too many values");
        assert_eq!(p.encode(), *params);
    }
    if let Ok(p) = reduce::Params::decode(params) {
        assert_eq!(p.encode(), *params);
    }
    if let Ok(p) = spin::Params::decode(params) {
        assert!(p.millis <= spin::MAX_MILLIS, "spin accepted {} ms", p.millis);
        assert_eq!(p.encode(), *params);
    }
}

/// Every result and partial decoder the head runs on a worker's answers:
/// no panic, no unbounded allocation, and what decodes re-encodes to the
/// same value. Results may carry fields a later minor appended, which a
/// reader skips (docs/PROTOCOL.md, How messages grow): the re-encoding is
/// then the start of the data.
pub fn job_results(data: &[u8]) {
    if let Ok(sum) = loopsum::decode_result(data) {
        let again = loopsum::decode_result(&loopsum::encode_result(&sum)).expect("re-encoded loopsum result");
        assert_same_f64(sum.value(), again.value(), "loopsum result");
    }
    if let Ok(counts) = pi::Counts::decode(data) {
        assert!(data.starts_with(&counts.encode()), "pi result");
        let _ = counts.estimate();
    }
    if let Ok(summary) = primes::Summary::decode(data) {
        assert!(data.starts_with(&summary.encode()), "primes result");
    }
    if let Ok(list) = primes::decode_partial(data) {
        // Either form has one encoding per list of primes.
        let mut again = Vec::new();
        if prime_gaps::is_gaps(data) {
            prime_gaps::encode(&list, &mut again);
        } else {
            again.extend(list.iter().flat_map(|p| p.to_be_bytes()));
        }
        assert_eq!(again, data, "primes partial");
    }
    if let Ok(rows) = powers::decode_rows(data) {
        let cols = rows.first().map_or(0, Vec::len);
        assert!(rows.iter().all(|r| r.len() == cols), "ragged powers rows");
        assert!(8 + rows.len() * cols * 8 <= data.len());
        if !rows.is_empty() {
            assert!(data.starts_with(&powers::encode_rows(&rows)), "powers result");
        }
    }
    if let Ok(outcome) = reduce::Outcome::decode(data) {
        let shown = outcome.display_value();
        let again = reduce::Outcome::decode(&outcome.encode()).expect("re-encoded reduce outcome");
        assert_eq!(again.count, outcome.count);
        assert_eq!(again.display_value(), shown, "reduce outcome changes value when re-encoded");
    }
    if let Ok(bytes) = echo::decode_result(data) {
        assert!(data.starts_with(&bytes.to_be_bytes()), "echo result");
    }
    exec_packed(data);
}

/// exec's packed stdout: a Partial unpacks to at most the limit (nothing
/// allocated past it) or fails leaving the output as it was; any bytes pack
/// to at most one byte more and unpack to themselves.
fn exec_packed(data: &[u8]) {
    for limit in [0, 16, 64 << 10] {
        let mut out = b"kept".to_vec();
        match exec_stdout::unpack(data, limit, &mut out) {
            Ok(()) => assert!(out.len() - 4 <= limit.max(data.len()), "unpacked past the limit"),
            Err(e) => assert_eq!(out, b"kept", "a refused Partial left bytes behind: {e}"),
        }
        assert!(out.starts_with(b"kept"));
    }
    let packed = exec_stdout::pack(data);
    assert!(packed.len() <= data.len() + 1, "packing grew the chunk by more than its tag");
    let mut again = Vec::new();
    exec_stdout::unpack(&packed, data.len(), &mut again).expect("packed bytes unpack");
    assert_eq!(again, data, "exec stdout round trip");
}

fn assert_same_f64(a: f64, b: f64, what: &str) {
    assert!(a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()), "{what}: {a:e} became {b:e}");
}

/// The `reduce` folder on a stream cut anywhere: the input is
/// `op, dtype, n, n big-endian u16 chunk lengths, stream`. Folding the
/// stream whole, in those chunks and one byte at a time must agree.
pub fn reduce_stream(data: &[u8]) {
    let [op, dtype, n, rest @ ..] = data else { return };
    let params = reduce::Params::decode(&[op % 4, dtype % 3]).expect("every op and dtype code below 4 and 3 is valid");
    let mut lens = Vec::new();
    let mut stream = rest;
    for _ in 0..(n % 16) {
        let [hi, lo, tail @ ..] = stream else { break };
        lens.push(usize::from(u16::from_be_bytes([*hi, *lo])));
        stream = tail;
    }
    let mut chunks = Vec::new();
    let mut left = stream;
    for len in lens {
        let (chunk, tail) = left.split_at(len.min(left.len()));
        chunks.push(chunk);
        left = tail;
    }
    chunks.push(left);

    let whole = fold(params, [stream]);
    let cut = fold(params, chunks.iter().copied());
    let bytewise = fold(params, stream.chunks(1));
    assert_eq!(whole, cut, "{params:?}: folding in chunks of {:?} changes the answer", chunk_lens(&chunks));
    assert_eq!(whole, bytewise, "{params:?}: folding one byte at a time changes the answer");
}

fn chunk_lens(chunks: &[&[u8]]) -> Vec<usize> {
    chunks.iter().map(|c| c.len()).collect()
}

/// The encoded outcome, or that there was an error (messages may say where
/// the stream was cut, so only the fact of an error is compared).
fn fold<'a>(params: reduce::Params, chunks: impl IntoIterator<Item = &'a [u8]>) -> Result<Vec<u8>, ()> {
    let mut folder = reduce::Folder::new(params);
    for chunk in chunks {
        if let Err(e) = folder.feed(chunk) {
            let _ = e.to_string();
            return Err(());
        }
    }
    match folder.finish() {
        Ok(outcome) => {
            // What the worker sends is what the head must read back.
            let shown = outcome.display_value();
            let encoded = outcome.encode();
            let read = reduce::Outcome::decode(&encoded).expect("a worker's reduce outcome must decode");
            assert_eq!(read.display_value(), shown, "{params:?}: the head reads another answer than the worker found");
            Ok(encoded)
        }
        Err(e) => {
            let _ = e.to_string();
            Err(())
        }
    }
}

/// A scrape's request as `piworker --metrics` reads it, every prefix in
/// turn as bytes arrive: never a panic, an answer once `MAX_REQUEST`
/// bytes are in, and every answer well formed (its Content-Length is its
/// body's, no body to HEAD).
pub fn metrics_request(data: &[u8]) {
    let data = &data[..data.len().min(MAX_REQUEST + 16)];
    for end in 0..=data.len() {
        let Some(decided) = route(&data[..end]) else {
            assert!(end < MAX_REQUEST, "{end} bytes and still no answer");
            continue;
        };
        let mut render = || "piworker_build_info 1\n".to_string();
        let reply = answer(&decided, &mut render);
        let text = String::from_utf8(reply).expect("answers are UTF-8");
        let (head, body) = text.split_once("\r\n\r\n").expect("headers end");
        assert!(head.starts_with("HTTP/1.1 ") && head.contains("\r\nConnection: close"), "{head}");
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .and_then(|n| n.parse().ok())
            .expect("Content-Length");
        if decided == (Route::Metrics { head: true }) {
            assert!(body.is_empty(), "a body for HEAD");
        } else {
            assert_eq!(body.len(), length, "{head}");
        }
        return; // the connection answers once and stops reading
    }
}
