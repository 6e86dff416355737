//! Keeps docs/PROTOCOL.md honest: every ```hex example in it is decoded with
//! the crate's own decoders and compared with the values the document says
//! it holds, built with the crate's own types; re-encoding those values must
//! give back the very same bytes. The tables of frame types, error codes and
//! job kinds are checked against the code too. If the document and the code
//! disagree, this test fails.

use piworker::jobs::exact_sum::ExactSum;
use piworker::jobs::{self, loopsum, pi, reduce, JobError, JobKind, WorkerContext};
use piworker::protocol::frame::{
    decode_frame, FrameError, DEFAULT_MAX_FRAME, HEADER_LEN, MAGIC, PROTOCOL_MAJOR, PROTOCOL_MINOR,
};
use piworker::protocol::message::{version_refusal, SUBMIT_HAS_INPUT};
use piworker::protocol::{ErrorCode, ErrorMessage, Frame, FrameType, Hello, Submit, Welcome};
use std::collections::BTreeSet;
use std::sync::atomic::AtomicBool;

/// Every example the document must contain, each checked below.
const EXPECTED: [&str; 15] = [
    "hello",
    "welcome",
    "ping",
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
];

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
/// block, or a malformed hex line is an error.
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
    WorkerContext { threads: 2 }
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
            };
            assert_eq!(Hello::decode(p).unwrap(), want);
            assert_eq!(want.encode().to_bytes(), ex.bytes);
        }
        "welcome" => {
            assert_header(ex, frame, FrameType::Welcome, 0);
            let want = Welcome {
                protocol_major: PROTOCOL_MAJOR,
                protocol_minor: PROTOCOL_MINOR,
                software: "0.1.0".into(),
                hostname: "pi-01".into(),
                arch: "arm64".into(),
                threads: 4,
                max_frame: DEFAULT_MAX_FRAME,
                challenge: piworker::protocol::message::Challenge::Open,
            };
            assert_eq!(Welcome::decode(p).unwrap(), want);
            assert_eq!(want.encode().to_bytes(), ex.bytes);
        }
        "ping" => {
            assert_eq!(*frame, Frame::new(FrameType::Ping, 0, vec![]));
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
    assert_eq!(codes.len(), 12, "error code rows");
    for cells in &codes {
        let code: u16 = cells[0].parse().unwrap();
        let ec = ErrorCode::from_u16(code);
        assert!(!matches!(ec, ErrorCode::Unknown(_)), "error code {code}");
        assert_eq!(format!("{ec:?}"), unquote(cells[1]), "error code {code}");
    }
    assert!(matches!(ErrorCode::from_u16(codes.len() as u16 + 1), ErrorCode::Unknown(_)));

    let kinds = table(&section(&doc, "### Submit"), ["Code", "Kind"]);
    assert_eq!(kinds.len(), JobKind::ALL.len(), "job kind rows");
    for cells in &kinds {
        let code: u8 = cells[0].parse().unwrap();
        let kind = JobKind::from_u8(code).unwrap_or_else(|| panic!("job kind {code}"));
        assert_eq!(kind.name(), unquote(cells[1]), "job kind {code}");
        // The input column says what the worker does with the flag.
        let with = jobs::start(code, &[], true, ctx()).err();
        let without = jobs::start(code, &[], false, ctx()).err();
        let refused = |e: &Option<JobError>, what: &str| {
            e.as_ref().is_some_and(|e| e.message.contains(what) && e.code == ErrorCode::BadParams)
        };
        match cells[2] {
            "refused" => assert!(refused(&with, "takes no input stream"), "{}", kind.name()),
            "**required**" => assert!(refused(&without, "needs an input stream"), "{}", kind.name()),
            "optional" => assert!(with.is_none() && without.is_none(), "{}", kind.name()),
            other => panic!("job kind {code}: unexpected input column `{other}`"),
        }
    }
}
