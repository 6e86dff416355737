//! Keeps docs/PROTOCOL.md honest: every ```hex example in it is decoded with
//! the crate's own decoders and compared with the values the document says
//! it holds, built with the crate's own types; re-encoding those values must
//! give back the very same bytes. The tables of frame types, error codes,
//! job kinds, throttle bits and the Status and DiscoverReply fields are
//! checked against the code too. If the document and the code disagree, this
//! test fails.

use piworker::daemon::health::describe_throttled;
use piworker::jobs::child::Limits;
use piworker::jobs::exact_sum::ExactSum;
use piworker::jobs::exec::{self, ExecEnv};
use piworker::jobs::jobdir::JobDirs;
use piworker::jobs::{self, loopsum, pi, reduce, JobError, JobKind, WorkerContext};
use piworker::protocol::auth;
use piworker::protocol::discovery::{encode_probe, parse_announce, parse_probe, Announce, PROBE_LEN};
use piworker::protocol::frame::{
    decode_frame, FrameError, DEFAULT_MAX_FRAME, HEADER_LEN, MAGIC, PROTOCOL_MAJOR, PROTOCOL_MINOR,
};
use piworker::protocol::message::{version_refusal, Challenge, SUBMIT_HAS_INPUT};
use piworker::protocol::{
    ErrorCode, ErrorMessage, Frame, FrameType, Hello, Status, Submit, Welcome, WireError, WireReader,
};
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::atomic::AtomicBool;

/// Every example the document must contain, each checked below.
const EXPECTED: [&str; 21] = [
    "hello",
    "welcome",
    "welcome-keyed",
    "auth",
    "ping",
    "status-request",
    "status",
    "submit-loopsum",
    "result-loopsum",
    "submit-pi",
    "result-pi",
    "submit-reduce",
    "data",
    "end-input",
    "result-reduce",
    "error-bad-params",
    "cancel",
    "error-cancelled",
    "error-from-major-2",
    "discover-probe",
    "discover-reply",
];

/// The token of the discovery examples: the reply carries the probe's.
const TOKEN: u32 = 0x8b3f_61d2;

/// The keyed handshake's key file, as the document gives it: the key is
/// its text without the newline, not the base64 decoded.
const KEY_FILE: &str = "c2VjcmV0LWtleS1mb3ItdGhlLWxhYg==\n";
/// The keyed handshake's nonces: the hello example's, and the worker's.
const CLIENT_NONCE: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
const WORKER_NONCE: [u8; 16] =
    [0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff];

/// The Welcome of the doc's examples: a 4-thread arm64 Pi called pi-01.
fn doc_welcome(challenge: Challenge) -> Welcome {
    Welcome {
        protocol_major: PROTOCOL_MAJOR,
        protocol_minor: PROTOCOL_MINOR,
        software: "0.1.0".into(),
        hostname: "pi-01".into(),
        arch: "arm64".into(),
        threads: 4,
        max_frame: DEFAULT_MAX_FRAME,
        challenge,
    }
}

/// The key bytes, read from a key file by the code both programs use.
fn doc_key() -> Vec<u8> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::temp_dir().join(format!("piw-doc-key-{}", std::process::id()));
    std::fs::write(&path, KEY_FILE).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let key = auth::load_key(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    key
}

struct Example {
    name: String,
    /// 1-based line of the `Example:` line, for messages.
    line: usize,
    bytes: Vec<u8>,
}

fn read_doc() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/PROTOCOL.md");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// Every ```hex block with the `Example: NAME` line before it. Only blank
/// lines may separate the two; a hex block without a name, a name without a
/// block, or a malformed hex line is an error. A line `(N zero bytes)`
/// inside a block stands for N bytes of 00.
fn examples(doc: &str) -> Vec<Example> {
    let mut out = Vec::new();
    let mut pending: Option<(String, usize)> = None;
    let mut lines = doc.lines().enumerate().map(|(i, l)| (i + 1, l));
    while let Some((n, line)) = lines.next() {
        let trimmed = line.trim();
        if let Some(name) = trimmed.strip_prefix("Example:") {
            if let Some((prev, at)) = &pending {
                panic!("line {at}: `Example: {prev}` has no ```hex block after it");
            }
            let name = name.trim();
            assert!(!name.is_empty(), "line {n}: `Example:` without a name");
            pending = Some((name.to_string(), n));
        } else if trimmed == "```hex" {
            let (name, at) = pending
                .take()
                .unwrap_or_else(|| panic!("line {n}: ```hex block without an `Example: NAME` line before it"));
            let mut bytes = Vec::new();
            let mut rows = Vec::new();
            loop {
                let (m, row) =
                    lines.next().unwrap_or_else(|| panic!("line {n}: ```hex block of {name} is never closed"));
                if row.trim() == "```" {
                    break;
                }
                if let Some(run) = row.trim().strip_prefix('(') {
                    let n = run
                        .strip_suffix(" zero bytes)")
                        .and_then(|n| n.parse::<usize>().ok())
                        .filter(|&n| n > 0)
                        .unwrap_or_else(|| panic!("line {m} ({name}): write a run of zeros as `(N zero bytes)`"));
                    bytes.resize(bytes.len() + n, 0);
                    // A run of zeros stands for whole lines.
                    rows.push((m, 16));
                    continue;
                }
                let tokens: Vec<&str> = row.split_whitespace().collect();
                assert!(
                    !tokens.is_empty() && tokens.len() <= 16,
                    "line {m} ({name}): a hex line holds 1 to 16 bytes, this one {}",
                    tokens.len()
                );
                for t in &tokens {
                    assert!(
                        t.len() == 2 && t.bytes().all(|b| b.is_ascii_hexdigit()),
                        "line {m} ({name}): `{t}` is not a byte as two hex digits"
                    );
                    bytes.push(u8::from_str_radix(t, 16).unwrap());
                }
                rows.push((m, tokens.len()));
            }
            if let Some((_, full)) = rows.split_last() {
                for (m, len) in full {
                    assert_eq!(*len, 16, "line {m} ({name}): wrap hex at 16 bytes per line");
                }
            }
            out.push(Example { name, line: at, bytes });
        } else if !trimmed.is_empty() {
            if let Some((name, at)) = &pending {
                panic!("line {at}: `Example: {name}` must be followed by its ```hex block (line {n} comes between)");
            }
        }
    }
    if let Some((name, at)) = pending {
        panic!("line {at}: `Example: {name}` has no ```hex block after it");
    }
    out
}

fn ctx() -> WorkerContext {
    WorkerContext::new(2)
}

/// A job directory holding one program, `x`, and exec params naming it.
fn exec_setup() -> (Vec<u8>, WorkerContext) {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("piw-doc-jobs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(dir.join("x"), "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(dir.join("x"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let env = ExecEnv {
        dirs: JobDirs::new(vec![dir]),
        max: Limits { time: std::time::Duration::from_secs(1), memory: 1 << 30 },
        wake: std::sync::Arc::new(|| {}),
    };
    let params = exec::Params { name: "x".into(), piece: 0, start: 0, end: 1, timeout_ms: 0, memory_mb: 0 };
    (params.encode(), WorkerContext { exec: Some(std::sync::Arc::new(env)), ..WorkerContext::new(2) })
}

fn be_i64s(values: &[i64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}

/// The error a worker sends when a job cannot start.
fn start_error(kind: JobKind, params: &[u8], has_input: bool) -> JobError {
    match jobs::start(kind.to_u8(), params, has_input, ctx()) {
        Ok(_) => panic!("{} with these params was expected to be refused", kind.name()),
        Err(e) => e,
    }
}

fn assert_starts(submit: &Submit) {
    if let Err(e) = jobs::start(submit.kind, &submit.params, submit.has_input(), ctx()) {
        panic!("the documented Submit is refused by the worker: {e}");
    }
}

fn assert_header(ex: &Example, frame: &Frame, frame_type: FrameType, job_id: u32) {
    assert_eq!(frame.header.frame_type, frame_type, "{}: frame type", ex.name);
    assert_eq!(frame.header.job_id, job_id, "{}: job id", ex.name);
}

/// Checks one example's decoded contents against what the document says.
fn check(ex: &Example, frame: &Frame) {
    let p = &frame.payload;
    match ex.name.as_str() {
        "hello" => {
            assert_header(ex, frame, FrameType::Hello, 0);
            let nonce: [u8; 16] = std::array::from_fn(|i| i as u8);
            let want = Hello {
                protocol_major: PROTOCOL_MAJOR,
                protocol_minor: PROTOCOL_MINOR,
                software: "0.1.0".into(),
                nonce: Some(nonce),
                max_threads: None,
            };
            assert_eq!(Hello::decode(p).unwrap(), want);
            assert_eq!(want.encode().to_bytes(), ex.bytes);
        }
        "welcome" => {
            assert_header(ex, frame, FrameType::Welcome, 0);
            let want = doc_welcome(Challenge::Open);
            assert_eq!(Welcome::decode(p).unwrap(), want);
            assert_eq!(want.encode().to_bytes(), ex.bytes);
        }
        "welcome-keyed" => {
            assert_header(ex, frame, FrameType::Welcome, 0);
            let key = doc_key();
            let proof = auth::worker_proof(&key, &CLIENT_NONCE, &WORKER_NONCE);
            let want = doc_welcome(Challenge::Key { nonce: WORKER_NONCE, proof });
            assert_eq!(Welcome::decode(p).unwrap(), want);
            assert_eq!(want.encode().to_bytes(), ex.bytes);
            assert!(auth::check_worker_proof(&key, &CLIENT_NONCE, &WORKER_NONCE, &proof));
        }
        "auth" => {
            let key = doc_key();
            let proof = auth::client_proof(&key, &CLIENT_NONCE, &WORKER_NONCE);
            assert_eq!(*frame, Frame::new(FrameType::Auth, 0, proof.to_vec()));
            assert!(auth::check_client_proof(&key, &CLIENT_NONCE, &WORKER_NONCE, p));
        }
        "ping" => {
            assert_eq!(*frame, Frame::new(FrameType::Ping, 0, vec![]));
        }
        "status-request" => {
            assert_eq!(*frame, Frame::new(FrameType::StatusRequest, 1, vec![]));
        }
        "status" => {
            assert_header(ex, frame, FrameType::Status, 1);
            let ip = |text: &str| -> IpAddr { text.parse().unwrap() };
            let want = Status {
                hostname: "pi-01".into(),
                software: "0.1.0".into(),
                protocol_major: PROTOCOL_MAJOR,
                protocol_minor: PROTOCOL_MINOR,
                arch: "arm64".into(),
                model: Some("Raspberry Pi 4 Model B Rev 1.4".into()),
                threads: 4,
                listen: "0.0.0.0:31415".into(),
                addresses: vec![ip("10.0.0.11"), ip("127.0.0.1"), ip("::1")],
                name_resolves_to: None,
                unix_time_ms: 1_767_225_600_000, // 2026-01-01 00:00:00 UTC
                system_uptime_ms: Some(12_345_670),
                daemon_uptime_ms: 850,
                load: Some([1.5, 0.75, 0.25]),
                mem_total_kib: Some(3_884_484),
                mem_available_kib: Some(3_452_768),
                temp_millic: Some(48_686),
                throttled: Some(0x50000),
                cpu_freq_khz: None,
                jobs_running: 1,
                tasks_queued: 3,
                threads_busy: 4,
                jobs_served: 17,
                core_busy_ms: vec![500, 480, 510, 495],
                sysctls: vec![("net.core.somaxconn".into(), "1024".into())],
            };
            assert_eq!(Status::decode(p).unwrap(), want);
            assert_eq!(want.encode(1).to_bytes(), ex.bytes);
            assert_eq!(describe_throttled(0x50000), ["under-voltage has occurred", "throttling has occurred"]);
        }
        "submit-loopsum" => {
            assert_header(ex, frame, FrameType::Submit, 1);
            let submit = Submit::decode(p).unwrap();
            assert_eq!(submit.kind, JobKind::Loopsum.to_u8());
            assert_eq!(submit.flags, 0);
            assert!(!submit.has_input());
            let params = loopsum::Params::decode(&submit.params).unwrap();
            let want = loopsum::Params { t0: 0, t1: 4001, u_len: 4001, c: 1.0 };
            assert_eq!(params, want);
            assert_eq!(params.c.to_bits(), 1.0f64.to_bits());
            let again = Submit { kind: JobKind::Loopsum.to_u8(), flags: 0, params: want.encode() };
            assert_eq!(again.encode(1).to_bytes(), ex.bytes);
            assert_starts(&submit);
        }
        "result-loopsum" => {
            assert_header(ex, frame, FrameType::Result, 1);
            let sum = loopsum::decode_result(p).unwrap();
            assert_eq!(sum.value(), 64_032_004_000_000.0);
            let mut acc = ExactSum::new();
            loopsum::sum_rows(0, 4001, 4001, 1.0, &mut acc, &AtomicBool::new(false));
            assert_eq!(loopsum::encode_result(&acc), *p);
            assert_eq!(Frame::new(FrameType::Result, 1, loopsum::encode_result(&sum)).to_bytes(), ex.bytes);
        }
        "submit-pi" => {
            assert_header(ex, frame, FrameType::Submit, 2);
            let submit = Submit::decode(p).unwrap();
            assert_eq!(submit.kind, JobKind::Pi.to_u8());
            assert_eq!(submit.flags, 0);
            let want = pi::Params { seed: 1, i0: 0, i1: 1_000_000 };
            assert_eq!(pi::Params::decode(&submit.params).unwrap(), want);
            let again = Submit { kind: JobKind::Pi.to_u8(), flags: 0, params: want.encode() };
            assert_eq!(again.encode(2).to_bytes(), ex.bytes);
            assert_starts(&submit);
        }
        "result-pi" => {
            assert_header(ex, frame, FrameType::Result, 2);
            let counts = pi::Counts::decode(p).unwrap();
            let want = pi::Counts { inside: 784_430, samples: 1_000_000 };
            assert_eq!(counts, want);
            // The documented count is what the kernel really computes.
            assert_eq!(pi::count_inside(1, 0, 1_000_000, &AtomicBool::new(false)), want);
            assert_eq!(counts.estimate(), 3.13772);
            assert_eq!(Frame::new(FrameType::Result, 2, want.encode()).to_bytes(), ex.bytes);
        }
        "submit-reduce" => {
            assert_header(ex, frame, FrameType::Submit, 3);
            let submit = Submit::decode(p).unwrap();
            assert_eq!(submit.kind, JobKind::Reduce.to_u8());
            assert_eq!(submit.flags, SUBMIT_HAS_INPUT);
            assert!(submit.has_input());
            let want = reduce::Params { op: reduce::Op::Sum, dtype: reduce::DType::I64 };
            assert_eq!(reduce::Params::decode(&submit.params).unwrap(), want);
            let again = Submit { kind: JobKind::Reduce.to_u8(), flags: SUBMIT_HAS_INPUT, params: want.encode() };
            assert_eq!(again.encode(3).to_bytes(), ex.bytes);
            assert_starts(&submit);
        }
        "data" => {
            let want = Frame::new(FrameType::Data, 3, be_i64s(&[1, -2, 40]));
            assert_eq!(*frame, want);
        }
        "end-input" => {
            assert_eq!(*frame, Frame::new(FrameType::EndInput, 3, vec![]));
        }
        "result-reduce" => {
            assert_header(ex, frame, FrameType::Result, 3);
            let want = reduce::Outcome { count: 3, value: reduce::Value::SumI64(39) };
            assert_eq!(reduce::Outcome::decode(p).unwrap(), want);
            // Folding the Data example's values gives exactly this result.
            let mut folder = reduce::Folder::new(reduce::Params { op: reduce::Op::Sum, dtype: reduce::DType::I64 });
            folder.feed(&be_i64s(&[1, -2, 40])).unwrap();
            assert_eq!(folder.finish().unwrap().encode(), *p);
            assert_eq!(Frame::new(FrameType::Result, 3, want.encode()).to_bytes(), ex.bytes);
        }
        "error-bad-params" => {
            assert_header(ex, frame, FrameType::Error, 4);
            let bad = loopsum::Params { t0: 5, t1: 2, u_len: 10, c: 1.0 };
            let e = start_error(JobKind::Loopsum, &bad.encode(), false);
            assert_eq!(e.code, ErrorCode::BadParams);
            assert_eq!(e.message, "loopsum: t1 (2) is less than t0 (5)");
            let want = ErrorMessage::new(e.code, e.message);
            assert_eq!(ErrorMessage::decode(p).unwrap(), want);
            assert_eq!(want.encode(4).to_bytes(), ex.bytes);
        }
        "cancel" => {
            assert_eq!(*frame, Frame::new(FrameType::Cancel, 5, vec![]));
        }
        "error-cancelled" => {
            assert_header(ex, frame, FrameType::Error, 5);
            let want = ErrorMessage::new(ErrorCode::Cancelled, "job 5 cancelled");
            assert_eq!(ErrorMessage::decode(p).unwrap(), want);
            assert_eq!(want.encode(5).to_bytes(), ex.bytes);
        }
        "error-from-major-2" => {
            assert_header(ex, frame, FrameType::Error, 0);
            assert_eq!(frame.header.version, 2);
            assert_ne!(PROTOCOL_MAJOR, 2, "this example is about another major");
            let want =
                ErrorMessage::new(ErrorCode::VersionMismatch, version_refusal(2, 0, PROTOCOL_MAJOR, PROTOCOL_MINOR));
            assert_eq!(ErrorMessage::decode(p).unwrap(), want);
            let mut ours = ex.bytes.clone();
            ours[4] = PROTOCOL_MAJOR;
            assert_eq!(want.encode(0).to_bytes(), ours);
            // Any other frame type from major 2 is refused.
            let mut hello = ex.bytes.clone();
            hello[5] = FrameType::Hello.to_u8();
            assert_eq!(decode_frame(&hello, DEFAULT_MAX_FRAME), Err(FrameError::VersionMismatch(2)));
        }
        "discover-probe" => {
            assert_header(ex, frame, FrameType::DiscoverProbe, TOKEN);
            assert_eq!(ex.bytes.len(), PROBE_LEN);
            assert!(p.iter().all(|&b| b == 0), "the padding is zeros");
            assert_eq!(encode_probe(TOKEN), ex.bytes);
            assert_eq!(parse_probe(&ex.bytes), Ok(TOKEN));
        }
        "discover-reply" => {
            assert_header(ex, frame, FrameType::DiscoverReply, TOKEN);
            let want = Announce {
                software: "0.1.0".into(),
                protocol_major: PROTOCOL_MAJOR,
                protocol_minor: PROTOCOL_MINOR,
                hostname: "pi-01".into(),
                arch: "arm64".into(),
                threads: 4,
                port: 31415,
                key_required: false,
            };
            assert_eq!(parse_announce(&ex.bytes), Ok((TOKEN, want.clone())));
            assert_eq!(want.encode(TOKEN), ex.bytes);
            assert!(ex.bytes.len() <= PROBE_LEN, "a reply is never larger than the probe");
            // The document promises that a 64-byte hostname still fits.
            let longest = Announce { hostname: "h".repeat(64), ..want };
            assert!(longest.encode(TOKEN).len() <= PROBE_LEN, "a reply with a 64-byte hostname is larger than a probe");
        }
        other => {
            panic!("line {}: example `{other}` has no expected values in tests/protocol_doc.rs; add them", ex.line)
        }
    }
}

#[test]
fn every_hex_example_decodes_to_what_the_doc_says() {
    let doc = read_doc();
    let found = examples(&doc);
    assert!(found.len() >= 5, "docs/PROTOCOL.md must hold at least 5 hex examples, found {}", found.len());
    let mut names = BTreeSet::new();
    for ex in &found {
        assert!(names.insert(ex.name.as_str()), "line {}: example `{}` appears twice", ex.line, ex.name);
        let (frame, used) = match decode_frame(&ex.bytes, DEFAULT_MAX_FRAME) {
            Ok(Some(decoded)) => decoded,
            Ok(None) => {
                panic!("line {}: example `{}` is an incomplete frame ({} bytes)", ex.line, ex.name, ex.bytes.len())
            }
            Err(e) => panic!("line {}: example `{}`: {e}", ex.line, ex.name),
        };
        assert_eq!(
            used,
            ex.bytes.len(),
            "line {}: example `{}` has {} bytes left over after its frame",
            ex.line,
            ex.name,
            ex.bytes.len() - used
        );
        assert_eq!(ex.bytes[..4], MAGIC, "{}: magic", ex.name);
        assert_eq!(frame.header.length as usize, ex.bytes.len() - HEADER_LEN, "{}: length field", ex.name);
        assert_eq!(frame.header.flags, 0, "{}: header flags", ex.name);
        // Every shorter prefix is "need more bytes", never a violation.
        for cut in 0..ex.bytes.len() {
            assert_eq!(decode_frame(&ex.bytes[..cut], DEFAULT_MAX_FRAME), Ok(None), "{}: cut at {cut}", ex.name);
        }
        // Re-encoding the decoded frame gives the same bytes (our encoder
        // always writes our own major).
        if frame.header.version == PROTOCOL_MAJOR {
            assert_eq!(frame.to_bytes(), ex.bytes, "{}: re-encoded", ex.name);
        }
        check(ex, &frame);
    }
    for name in EXPECTED {
        assert!(names.contains(name), "docs/PROTOCOL.md lost its `Example: {name}` hex block");
    }
}

/// The lines of the section that starts with the heading line `heading`,
/// up to the next heading of the same or a higher level.
fn section<'a>(doc: &'a str, heading: &str) -> Vec<&'a str> {
    let level = heading.chars().take_while(|&c| c == '#').count();
    let mut lines = doc.lines().skip_while(|l| l.trim_end() != heading);
    assert!(lines.next().is_some(), "docs/PROTOCOL.md has no `{heading}` section");
    lines
        .take_while(|l| {
            let hashes = l.chars().take_while(|&c| c == '#').count();
            !(hashes > 0 && hashes <= level && l[hashes..].starts_with(' '))
        })
        .collect()
}

/// The body rows (as trimmed cells) of the table in `lines` whose header
/// row starts with the cells `head`.
fn table<'a>(lines: &[&'a str], head: [&str; 2]) -> Vec<Vec<&'a str>> {
    let cells = |l: &&'a str| -> Vec<&'a str> { l.trim().trim_matches('|').split('|').map(str::trim).collect() };
    let start = lines
        .iter()
        .position(|l| l.starts_with('|') && cells(l).starts_with(&head))
        .unwrap_or_else(|| panic!("no table headed {head:?}"));
    lines[start + 2..].iter().take_while(|l| l.starts_with('|')).map(cells).collect()
}

fn unquote(cell: &str) -> &str {
    cell.trim_matches('`')
}

/// The field names of a struct in declaration order, from its pretty Debug
/// form, with each one's value as Debug prints it (one line each: the value
/// given must hold no nested struct or non-empty list).
fn debug_fields(value: &impl std::fmt::Debug) -> Vec<(String, String)> {
    format!("{value:#?}")
        .lines()
        .filter_map(|l| l.strip_prefix("    ").filter(|l| !l.starts_with(' ')))
        .map(|l| {
            let (name, value) = l.split_once(": ").unwrap_or_else(|| panic!("unexpected Debug line {l:?}"));
            (name.to_string(), value.trim_end_matches(',').to_string())
        })
        .collect()
}

/// Reads one field of the type a payload table's Type cell names.
fn read_as(r: &mut WireReader, ty: &str, field: &'static str) -> Result<(), WireError> {
    if let Some(inner) = ty.strip_prefix("optional ") {
        return match r.u8(field)? {
            0 => Ok(()),
            1 => read_as(r, inner, field),
            other => Err(WireError::new(field, format!("presence byte {other}"))),
        };
    }
    match ty {
        "string" => r.string(field).map(drop),
        "u8" => r.u8(field).map(drop),
        "u16" => r.u16(field).map(drop),
        "u32" | "i32" | "f32" => r.u32(field).map(drop),
        "u64" => r.u64(field).map(drop),
        "3 × f32" => (0..3).try_for_each(|_| r.u32(field).map(drop)),
        "IP list" => (0..r.u16(field)?).try_for_each(|_| {
            let text = r.string(field)?;
            text.parse::<IpAddr>().map(drop).map_err(|_| WireError::new(field, format!("{text:?} is not an IP")))
        }),
        "`u16` count list of u64" => (0..r.u16(field)?).try_for_each(|_| r.u64(field).map(drop)),
        "`u16` count list of (string, string)" => {
            (0..r.u16(field)?).try_for_each(|_| r.string(field).and_then(|_| r.string(field)).map(drop))
        }
        other => panic!("field `{field}`: the document's type `{other}` is not one this test knows"),
    }
}

/// Checks a payload table (Field, Type, Meaning) against the code: the same
/// fields in the same order as `empty` (a value whose optional fields are
/// all absent and lists all empty) declares them, `optional` exactly where
/// the field is an Option, and each payload read by the table's types
/// consumed exactly.
fn check_payload_table(what: &str, rows: &[Vec<&str>], empty: &impl std::fmt::Debug, payloads: &[Vec<u8>]) {
    let fields = debug_fields(empty);
    let names: Vec<&str> = rows.iter().map(|cells| unquote(cells[0])).collect();
    let code: Vec<&str> = fields.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, code, "{what}: the table's fields are not the code's, in its order");
    for (cells, (name, value)) in rows.iter().zip(&fields) {
        let optional = cells[1].starts_with("optional ");
        assert_eq!(optional, value == "None", "{what}.{name}: `optional` in the table, Option in the code");
    }
    for payload in payloads {
        let mut r = WireReader::new(payload);
        for cells in rows {
            if let Err(e) = read_as(&mut r, cells[1], "table") {
                panic!("{what}: reading `{}` as {}: {e}", unquote(cells[0]), cells[1]);
            }
        }
        assert_eq!(r.remaining(), 0, "{what}: the table's types leave payload bytes unread");
    }
}

#[test]
fn tables_match_the_code() {
    let doc = read_doc();
    assert!(
        doc.contains(&format!("Protocol version: **{PROTOCOL_MAJOR}.{PROTOCOL_MINOR}**")),
        "the stated protocol version is not {PROTOCOL_MAJOR}.{PROTOCOL_MINOR}"
    );

    let types = table(&section(&doc, "## Frame types"), ["Code", "Name"]);
    let mut seen = BTreeSet::new();
    for cells in &types {
        let code = u8::from_str_radix(unquote(cells[0]).trim_start_matches("0x"), 16).unwrap();
        let ty = FrameType::from_u8(code);
        assert_eq!(format!("{ty:?}"), cells[1], "frame type {code:#04x}");
        seen.insert(code);
    }
    for code in 0..=255u8 {
        if !matches!(FrameType::from_u8(code), FrameType::Unknown(_)) {
            assert!(seen.contains(&code), "frame type {code:#04x} is not in the table");
        }
    }

    let codes = table(&section(&doc, "### Error"), ["Code", "Name"]);
    assert_eq!(codes.len(), 14, "error code rows");
    for cells in &codes {
        let code: u16 = cells[0].parse().unwrap();
        let ec = ErrorCode::from_u16(code);
        assert!(!matches!(ec, ErrorCode::Unknown(_)), "error code {code}");
        assert_eq!(format!("{ec:?}"), unquote(cells[1]), "error code {code}");
    }
    assert!(matches!(ErrorCode::from_u16(codes.len() as u16 + 1), ErrorCode::Unknown(_)));

    let throttle = table(&section(&doc, "### The Status payload"), ["Bit", "Mask"]);
    let mut described = BTreeSet::new();
    for cells in &throttle {
        let bit: u32 = cells[0].parse().unwrap();
        let mask = u32::from_str_radix(unquote(cells[1]).trim_start_matches("0x"), 16).unwrap();
        assert_eq!(mask, 1 << bit, "throttle bit {bit}: mask");
        let words = describe_throttled(mask);
        assert_eq!(words.len(), 1, "throttle bit {bit} has no meaning in the code");
        assert!(cells[2].to_lowercase().starts_with(words[0]), "throttle bit {bit}: the code says `{}`", words[0]);
        described.insert(bit);
    }
    let code: BTreeSet<u32> = (0..32).filter(|b| !describe_throttled(1 << b).is_empty()).collect();
    assert_eq!(described, code, "throttle bits in the table");

    let full = Status {
        model: Some("Raspberry Pi 4 Model B Rev 1.4".into()),
        addresses: vec!["10.0.0.11".parse().unwrap(), "::1".parse().unwrap()],
        name_resolves_to: Some(vec!["127.0.1.1".parse().unwrap()]),
        system_uptime_ms: Some(1),
        load: Some([0.5, 1.0, 2.0]),
        mem_total_kib: Some(1),
        mem_available_kib: Some(1),
        temp_millic: Some(-5_500),
        throttled: Some(0x50005),
        cpu_freq_khz: Some(1_500_000),
        core_busy_ms: vec![1, 2, 3],
        sysctls: vec![("net.core.somaxconn".into(), "1024".into())],
        ..Status::default()
    };
    let rows = table(&section(&doc, "### The Status payload"), ["Field", "Type"]);
    let payloads = [full.encode(0).payload, Status::default().encode(0).payload];
    check_payload_table("Status", &rows, &Status::default(), &payloads);

    let announce = Announce {
        software: String::new(),
        protocol_major: 0,
        protocol_minor: 0,
        hostname: String::new(),
        arch: String::new(),
        threads: 0,
        port: 0,
        key_required: false,
    };
    let reply = announce.encode(0)[HEADER_LEN..].to_vec();
    let rows = table(&section(&doc, "### DiscoverReply"), ["Field", "Type"]);
    check_payload_table("DiscoverReply", &rows, &announce, &[reply]);

    let kinds = table(&section(&doc, "### Submit"), ["Code", "Kind"]);
    assert_eq!(kinds.len(), JobKind::ALL.len(), "job kind rows");
    for cells in &kinds {
        let code: u8 = cells[0].parse().unwrap();
        let kind = JobKind::from_u8(code).unwrap_or_else(|| panic!("job kind {code}"));
        assert_eq!(kind.name(), unquote(cells[1]), "job kind {code}");
        // The input column says what the worker does with the flag, for
        // parameters that are otherwise fine (empty, but a program for exec).
        let (params, ctx) = match kind {
            JobKind::Exec => exec_setup(),
            _ => (Vec::new(), ctx()),
        };
        let with = jobs::start(code, &params, true, ctx.clone()).err();
        let without = jobs::start(code, &params, false, ctx).err();
        let refused = |e: &Option<JobError>, what: &str| {
            e.as_ref().is_some_and(|e| e.message.contains(what) && e.code == ErrorCode::BadParams)
        };
        match cells[2] {
            "refused" => assert!(refused(&with, "takes no input stream"), "{}", kind.name()),
            "**required**" => assert!(refused(&without, "needs an input stream"), "{}", kind.name()),
            "optional" => assert!(with.is_none() && without.is_none(), "{}: {with:?} {without:?}", kind.name()),
            other => panic!("job kind {code}: unexpected input column `{other}`"),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
}

/// The cluster key section's test vector: the key bytes are the file's
/// trimmed text, the labels have no length prefix, and the proofs it
/// prints are the code's.
#[test]
fn the_keyed_handshake_vector_is_the_codes() {
    let doc = read_doc();
    let text = section(&doc, "### The cluster key").join(" ");
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let key = doc_key();
    assert_eq!(key, KEY_FILE.trim().as_bytes(), "the key is the file's text, trimmed, not decoded");
    assert!(flat.contains(&format!("`{}`", KEY_FILE.trim())), "the section names the key");
    let worker = auth::worker_proof(&key, &CLIENT_NONCE, &WORKER_NONCE);
    let client = auth::client_proof(&key, &CLIENT_NONCE, &WORKER_NONCE);
    assert!(flat.contains(&format!("worker's proof `{}`", hex(&worker))), "worker's proof: {}", hex(&worker));
    assert!(flat.contains(&format!("client's proof `{}`", hex(&client))), "client's proof: {}", hex(&client));
    // The HMAC input is label, nonce, nonce: 15 + 16 + 16 bytes, no prefix.
    use hmac::{Hmac, Mac};
    let mut m = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&key).unwrap();
    let mut input = b"piworker worker".to_vec();
    input.extend_from_slice(&CLIENT_NONCE);
    input.extend_from_slice(&WORKER_NONCE);
    assert_eq!(input.len(), 47);
    m.update(&input);
    assert_eq!(m.finalize().into_bytes().as_slice(), worker.as_slice());
    // Whitespace around the key is not part of it; other bytes are.
    let padded = format!(" \t{}\r\n\n", KEY_FILE.trim());
    let path = std::env::temp_dir().join(format!("piw-doc-key2-{}", std::process::id()));
    std::fs::write(&path, padded).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(auth::load_key(&path).unwrap(), key);
    let _ = std::fs::remove_file(&path);
}

/// primes' gaps example is what the worker encodes, and the head reads it
/// back; the u64 form's first byte is the `00` the section says.
#[test]
fn primes_gaps_example_is_the_codes() {
    use piworker::jobs::{prime_gaps, primes};
    let doc = read_doc();
    let flat = section(&doc, "### primes (kind 3)").join(" ").split_whitespace().collect::<Vec<_>>().join(" ");
    let listed = [2, 3, 5, 7, 11, 13];
    let mut gaps = Vec::new();
    prime_gaps::encode(&listed, &mut gaps);
    assert!(flat.contains(&format!("are `{}`", hex(&gaps))), "the gaps example is not {}", hex(&gaps));
    assert!(flat.contains(&format!("tag` | u8 | `{:02x}`", prime_gaps::GAPS_TAG)), "the tag row");
    assert_eq!(primes::decode_partial(&gaps).unwrap(), listed);
    assert!(!prime_gaps::is_gaps(&primes::MAX_B.to_be_bytes()), "a u64 partial starts with 00");
}

/// pi's dart vectors and the generator's description.
#[test]
fn pi_darts_are_the_documented_generator() {
    let doc = read_doc();
    let lines = section(&doc, "### pi (kind 2)");
    let rows = table(&lines, ["seed", "i"]);
    assert!(rows.len() >= 5, "pi test vectors");
    let (mut ins, mut outs) = (0, 0);
    for cells in &rows {
        let (seed, i): (u64, u64) = (cells[0].parse().unwrap(), cells[1].parse().unwrap());
        let x = u64::from_str_radix(unquote(cells[2]), 16).unwrap();
        let y = u64::from_str_radix(unquote(cells[3]), 16).unwrap();
        assert_eq!(pi::dart(seed, i), (x, y), "dart {i} of seed {seed}");
        let inside = cells[4] == "yes";
        assert_eq!(pi::is_inside(x, y), inside, "dart {i} of seed {seed}");
        // The document's rule, x*x + y*y < 2^64, in wider arithmetic.
        assert_eq!(u128::from(x * x) + u128::from(y * y) < 1u128 << 64, inside);
        if inside {
            ins += 1
        } else {
            outs += 1
        }
    }
    assert!(ins > 0 && outs > 0, "the vectors have darts inside and outside");
    let counts = pi::count_inside(1, 0, 1000, &AtomicBool::new(false));
    assert_eq!(counts.inside, 805);
    assert!(lines.join(" ").contains("Darts 0 to 999 of seed 1 put 805 inside"));
}

/// What reduce reads from one line of text, sent with its newline.
fn read_line(line: &[u8], op: reduce::Op) -> Result<reduce::Outcome, String> {
    let mut f = reduce::Folder::new(reduce::Params { op, dtype: reduce::DType::Text });
    let mut input = line.to_vec();
    input.push(b'\n');
    f.feed(&input).map_err(|e| e.message)?;
    f.finish().map_err(|e| e.message)
}

/// The table of text lines in the reduce section, line by line.
#[test]
fn reduce_reads_text_lines_as_documented() {
    use reduce::{Op, Value};
    let doc = read_doc();
    let rows = table(&section(&doc, "### reduce (kind 5)"), ["Line", "Read as"]);
    assert!(rows.len() >= 20, "reduce's line table");
    for cells in &rows {
        let line = match cells[0] {
            "(empty)" => String::new(),
            c => unquote(c).replace("\\r", "\r").replace("\\t", "\t"),
        };
        let (what, value) = cells[1].split_once(' ').unwrap_or((cells[1], ""));
        let sum = read_line(line.as_bytes(), Op::Sum);
        let max = read_line(line.as_bytes(), Op::Max);
        match what {
            "whole" => {
                let want: i128 = value.parse().unwrap();
                let Ok(reduce::Outcome { count: 1, value: Value::SumText { ints, all_ints: true, .. } }) = sum else {
                    panic!("{line:?} is not read as a whole number: {sum:?}");
                };
                assert_eq!(ints, want, "{line:?}");
            }
            "number" => {
                let want: f64 = value.parse().unwrap();
                let Ok(reduce::Outcome { count: 1, value: Value::SumText { all_ints: false, .. } }) = sum else {
                    panic!("{line:?} is not read as a number that is not whole: {sum:?}");
                };
                let Ok(reduce::Outcome { value: Value::MaxF64(Some(got)), .. }) = max else {
                    panic!("{line:?}: {max:?}");
                };
                assert!(got == want || (got.is_nan() && want.is_nan()), "{line:?}: {got} is not {want}");
            }
            "skipped" => assert_eq!(sum.map(|o| o.count), Ok(0), "{line:?}"),
            "error" => {
                let err = sum.expect_err(&format!("{line:?} should be refused"));
                assert!(err.contains("cannot read") && err.contains("at byte 0"), "{line:?}: {err}");
            }
            other => panic!("reduce line table: unknown reading `{other}`"),
        }
    }
}

/// Min and max ignore NaN, in every order and split; only all-NaN is NaN.
#[test]
fn reduce_min_and_max_ignore_nan_as_documented() {
    use reduce::{Op, Outcome, Value};
    let doc = read_doc();
    assert!(section(&doc, "### reduce (kind 5)").join(" ").contains("Min and max ignore NaN"));
    let values = ["3", "NaN", "1"];
    let orders = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
    for op in [Op::Min, Op::Max] {
        let want = if op == Op::Min { 1.0 } else { 3.0 };
        for order in orders {
            let text: String = order.iter().map(|&i| format!("{}\n", values[i])).collect();
            // Whole, and cut into one piece per line merged as the head does.
            let mut f = reduce::Folder::new(reduce::Params { op, dtype: reduce::DType::Text });
            f.feed(text.as_bytes()).unwrap();
            let whole = f.finish().unwrap();
            let mut merged: Option<Outcome> = None;
            for &i in &order {
                let piece = read_line(values[i].as_bytes(), op).unwrap();
                match merged.as_mut() {
                    None => merged = Some(piece),
                    Some(m) => m.merge(&piece).unwrap(),
                }
            }
            for (how, o) in [("whole", whole), ("merged", merged.unwrap())] {
                let got = match o.value {
                    Value::MinF64(Some(v)) | Value::MaxF64(Some(v)) => v,
                    other => panic!("{other:?}"),
                };
                assert_eq!(got, want, "{op:?} of {order:?} ({how})");
            }
        }
        let only_nan = read_line(b"NaN", op).unwrap();
        assert!(matches!(only_nan.value, Value::MinF64(Some(v)) | Value::MaxF64(Some(v)) if v.is_nan()));
    }
}

/// Hello's `max_threads` sizes the split as the Hello section says: loopsum
/// and pi into `max(ceil(work / 2^24), threads)` tasks, powers and life
/// into one part per thread; primes not at all.
#[test]
fn max_threads_sizes_the_split_as_documented() {
    let doc = read_doc();
    let hello = section(&doc, "### Hello").join(" ");
    let flat = hello.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("loopsum and pi cut a job into `max(ceil(work / 2^24), threads)` tasks"), "{flat}");
    let tasks = |kind: JobKind, params: Vec<u8>, threads: usize| {
        let mut job = jobs::start(kind.to_u8(), &params, false, WorkerContext::new(threads)).unwrap();
        job.take_tasks().len()
    };
    let small = loopsum::Params { t0: 0, t1: 100, u_len: 100, c: 1.0 }.encode();
    let big = loopsum::Params { t0: 0, t1: 1 << 13, u_len: 1 << 14, c: 1.0 }.encode(); // 2^27 = 8 x 2^24
    for threads in [1, 2, 4, 16] {
        assert_eq!(tasks(JobKind::Loopsum, small.clone(), threads), threads, "small loopsum, {threads} threads");
        assert_eq!(tasks(JobKind::Loopsum, big.clone(), threads), threads.max(8), "big loopsum, {threads} threads");
        let darts = pi::Params { seed: 1, i0: 0, i1: 3 << 24 }.encode();
        assert_eq!(tasks(JobKind::Pi, darts, threads), threads.max(3), "pi, {threads} threads");
    }
    let powers = piworker::jobs::powers::Params { nums: vec![2.0; 10], exps: vec![1.0, 2.0, 3.0, 4.0, 5.0] }.encode();
    assert_eq!(tasks(JobKind::Powers, powers.clone(), 2), 2, "powers: one block of exponents per thread");
    assert_eq!(tasks(JobKind::Powers, powers, 8), 5, "powers: at most one block per exponent");
    // Never more tasks than rows.
    let three_rows = loopsum::Params { t0: 0, t1: 3, u_len: 10, c: 1.0 }.encode();
    assert_eq!(tasks(JobKind::Loopsum, three_rows, 16), 3);
}
