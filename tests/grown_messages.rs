//! Every decoder of a reply, result or partial against the rule of
//! docs/PROTOCOL.md's Versions section: fields a later minor appended are
//! skipped, a payload that ends before an optional field reads it as
//! absent, a field cut in the middle is an error naming it; and the
//! decoders of requests (job parameters) still refuse bytes they do not know.

use piworker::jobs::exact_sum::ExactSum;
use piworker::jobs::jobdir::Listed;
use piworker::jobs::reduce::{DType, Op, Outcome, Params as ReduceParams, Value};
use piworker::jobs::{echo, exec, joblist, life, loopsum, pi, powers, primes, reduce};
use piworker::protocol::discovery::Announce;
use piworker::protocol::message::Challenge;
use piworker::protocol::{ErrorCode, ErrorMessage, Hello, Status, Welcome, WireWrite};
use std::path::PathBuf;

/// What a later minor appends: not zeros, so a reader that took them for
/// an absent optional field would be caught.
const LATER: [u8; 8] = [0xa5, 0x01, 0xff, 0x7e, 0x00, 0x42, 0x99, 0x13];

fn grown(payload: &[u8]) -> Vec<u8> {
    let mut p = payload.to_vec();
    p.extend_from_slice(&LATER);
    p
}

/// `decode` reads `payload` and its grown form alike, and every cut of the
/// payload short of its last field is an error.
fn check<T: PartialEq + std::fmt::Debug, E: std::fmt::Display>(
    what: &str,
    payload: &[u8],
    decode: impl Fn(&[u8]) -> Result<T, E>,
) -> T {
    check_cuts_from(what, payload, 0, decode)
}

/// `check` for a payload whose first `from` bytes are a whole older form
/// (cuts from there on must fail).
fn check_cuts_from<T: PartialEq + std::fmt::Debug, E: std::fmt::Display>(
    what: &str,
    payload: &[u8],
    from: usize,
    decode: impl Fn(&[u8]) -> Result<T, E>,
) -> T {
    let plain = decode(payload).unwrap_or_else(|e| panic!("{what}: {e}"));
    let later = decode(&grown(payload)).unwrap_or_else(|e| panic!("{what} with appended fields: {e}"));
    assert_eq!(later, plain, "{what}: appended fields changed what was read");
    let first = if from == 0 { 0 } else { from + 1 };
    for cut in first..payload.len() {
        assert!(decode(&payload[..cut]).is_err(), "{what} cut to {cut} of {} bytes was accepted", payload.len());
    }
    plain
}

#[test]
fn job_results_skip_appended_fields() {
    let mut sum = ExactSum::new();
    for v in [1e16, 1.0, -1e16, 0.5] {
        sum.add(v);
    }
    let got = check("loopsum result", &loopsum::encode_result(&sum), |p| loopsum::decode_result(p).map(|s| s.value()));
    assert_eq!(got, 1.5);
    let counts = pi::Counts { inside: 785, samples: 1000 };
    assert_eq!(check("pi result", &counts.encode(), pi::Counts::decode), counts);
    let summary = primes::Summary { count: 168, max: 997 };
    assert_eq!(check("primes result", &summary.encode(), primes::Summary::decode), summary);
    let rows = vec![vec![1.0, 2.0, 3.0], vec![1.0, 4.0, 9.0]];
    assert_eq!(check("powers result", &powers::encode_rows(&rows), powers::decode_rows), rows);
    let mut bytes = Vec::new();
    bytes.put_u64(20_000_000);
    assert_eq!(check("echo result", &bytes, echo::decode_result), 20_000_000);
    let mut out = Vec::new();
    out.put_u64(4096);
    out.put_u32(17);
    assert_eq!(check("exec result", &out, exec::decode_result), (4096, 17));
    let mut gen_pop = Vec::new();
    gen_pop.put_u64(100);
    gen_pop.put_u64(4242);
    assert_eq!(check("life result", &gen_pop, life::decode_result), (100, 4242));
    let listed = [Listed { name: "tool".into(), dir: "/srv/jobs".into(), outcome: Err("not executable".into()) }];
    let (dirs, entries) =
        check("jobs result", &joblist::encode(&[PathBuf::from("/srv/jobs")], &listed), joblist::decode_result);
    assert_eq!((dirs.as_slice(), entries.len()), (&["/srv/jobs".to_string()][..], 1));
}

#[test]
fn every_reduce_result_skips_appended_fields() {
    let ops = [Op::Count, Op::Sum, Op::Min, Op::Max];
    for dtype in [DType::F64, DType::I64, DType::Text] {
        for op in ops {
            let params = ReduceParams { op, dtype };
            let mut folder = reduce::Folder::new(params);
            let input: Vec<u8> = match dtype {
                DType::F64 => [1.5f64, -2.25, 8.0].iter().flat_map(|v| v.to_be_bytes()).collect(),
                DType::I64 => [1i64, -2, 40].iter().flat_map(|v| v.to_be_bytes()).collect(),
                DType::Text => b"1\n-2\n40.5\n".to_vec(),
            };
            folder.feed(&input).unwrap();
            let outcome = folder.finish().unwrap();
            let back = check(&format!("reduce {op:?} {dtype:?}"), &outcome.encode(), Outcome::decode);
            assert_eq!(back.display_value(), outcome.display_value());
            assert_eq!(back.count, 3);
        }
        // Min and max of nothing: the value is absent, not a made-up one.
        let empty = Outcome::empty(ReduceParams { op: Op::Min, dtype });
        let back = check(&format!("reduce min {dtype:?} of nothing"), &empty.encode(), Outcome::decode);
        assert!(matches!(back.value, Value::MinF64(None) | Value::MinI64(None)), "{back:?}");
    }
}

#[test]
fn connection_replies_skip_appended_fields() {
    let welcome = Welcome {
        protocol_major: 1,
        protocol_minor: 3,
        software: "0.1.0".into(),
        hostname: "pi-01".into(),
        arch: "arm64".into(),
        threads: 4,
        max_frame: 1 << 24,
        challenge: Challenge::Open,
    };
    let open = welcome.encode().payload;
    assert_eq!(Welcome::decode(&grown(&open)).unwrap(), welcome);
    let keyed = Welcome { challenge: Challenge::Key { nonce: [7; 16], proof: [9; 32] }, ..welcome.clone() };
    // Its first `open.len() - 1` bytes are a 1.0 Welcome; with the auth
    // byte, a nonce or proof cut short is an error.
    check_cuts_from("keyed Welcome", &keyed.encode().payload, open.len() - 1, Welcome::decode);

    let error = ErrorMessage::new(ErrorCode::Unknown(40), "your address is not allowed");
    assert_eq!(ErrorMessage::decode(&grown(&error.encode(3).payload)).unwrap(), error);

    let status = Status { hostname: "pi-01".into(), model: Some("Raspberry Pi 4".into()), ..Status::default() };
    check("Status", &status.encode(1).payload, Status::decode);

    let announce = Announce {
        software: "0.1.0".into(),
        protocol_major: 1,
        protocol_minor: 3,
        hostname: "pi-01".into(),
        arch: "arm64".into(),
        threads: 4,
        port: 31415,
        key_required: true,
    };
    check("DiscoverReply", &announce.encode(9)[16..], Announce::decode);
}

/// Welcome cut where a 1.0 worker ends it (after `max_frame`): no key.
#[test]
fn a_welcome_without_the_auth_field_reads_as_no_key() {
    let mut p = Vec::new();
    p.put_u8(1);
    p.put_u8(0);
    p.put_string("0.0.9");
    p.put_string("old-pi");
    p.put_string("armhf");
    p.put_u16(1);
    p.put_u32(1 << 20);
    let w = Welcome::decode(&p).unwrap();
    assert_eq!((w.protocol_minor, w.challenge), (0, Challenge::Open));
    // Every cut inside the fields a 1.0 worker sends is an error.
    for cut in 0..p.len() {
        assert!(Welcome::decode(&p[..cut]).is_err(), "cut at {cut}");
    }
    // Auth 1 with its nonce or proof cut short is an error naming it.
    let mut keyed = p.clone();
    keyed.put_u8(1);
    keyed.extend_from_slice(&[0; 20]);
    assert!(Welcome::decode(&keyed).unwrap_err().to_string().contains("welcome.proof"));
}

/// Hello cut at each optional field: 1.0 (no nonce), 1.1 (nonce, no
/// max_threads), 1.2 and later; a field cut in its middle is malformed.
#[test]
fn a_hello_cut_at_each_optional_field() {
    let mut v10 = Vec::new();
    v10.put_u8(1);
    v10.put_u8(0);
    v10.put_string("0.0.9");
    let h = Hello::decode(&v10).unwrap();
    assert_eq!((h.nonce, h.max_threads), (None, None));
    let mut v11 = v10.clone();
    v11[1] = 1;
    v11.extend_from_slice(&[5; 16]);
    let h = Hello::decode(&v11).unwrap();
    assert_eq!((h.nonce, h.max_threads), (Some([5; 16]), None));
    let mut v12 = v11.clone();
    v12.put_u16(2);
    let h = Hello::decode(&v12).unwrap();
    assert_eq!((h.nonce, h.max_threads), (Some([5; 16]), Some(2)));
    assert_eq!(Hello::decode(&grown(&v12)).unwrap(), h, "a later client's fields are skipped");
    for short in 1..16 {
        let err = Hello::decode(&v11[..v10.len() + short]).unwrap_err();
        assert_eq!(err.field, "hello.nonce", "a {short}-byte nonce");
    }
    let err = Hello::decode(&v12[..v12.len() - 1]).unwrap_err();
    assert_eq!(err.field, "hello.max_threads");
}

#[test]
fn job_parameters_still_refuse_bytes_they_do_not_know() {
    type Decode = fn(&[u8]) -> Result<(), String>;
    let cases: [(&str, Vec<u8>, Decode); 4] = [
        ("loopsum", loopsum::Params { t0: 0, t1: 10, u_len: 10, c: 1.0 }.encode(), |p| {
            loopsum::Params::decode(p).map(drop).map_err(|e| e.message)
        }),
        ("pi", pi::Params { seed: 1, i0: 0, i1: 10 }.encode(), |p| {
            pi::Params::decode(p).map(drop).map_err(|e| e.message)
        }),
        ("primes", primes::Params { a: 1, b: 100, list: false }.encode(), |p| {
            primes::Params::decode(p).map(drop).map_err(|e| e.message)
        }),
        ("reduce", ReduceParams { op: Op::Sum, dtype: DType::I64 }.encode(), |p| {
            reduce::Params::decode(p).map(drop).map_err(|e| e.message)
        }),
    ];
    for (kind, params, decode) in cases {
        decode(&params).unwrap_or_else(|e| panic!("{kind}: {e}"));
        let err = decode(&grown(&params)).unwrap_err();
        assert!(err.contains("8 unexpected trailing bytes"), "{kind}: {err}");
    }
}
