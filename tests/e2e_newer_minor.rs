//! Mixed minors on real sockets (docs/PROTOCOL.md, Versions): this
//! pisubmit against a worker of a later minor that appended fields to every
//! reply and result, and against a 1.0 worker whose Hello and Welcome end
//! before 1.1's fields. Every answer must be the one a plain worker gives.
//!
//! The "other minor" is a real piworker behind `MinorProxy`, which rewrites
//! the frames the way such a worker would send them.

mod common;
#[path = "common/minor_proxy.rs"]
mod minor_proxy;

use common::*;
use minor_proxy::{MinorProxy, Mode};
use serde_json::Value;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn scratch(name: &str) -> PathBuf {
    common::job_dir("piw-minor", name)
}

fn program(dir: &Path, name: &str, body: &str) {
    common::job_program(dir, name, body)
}

/// Runs pisubmit against the worker directly and through the proxy; both
/// must succeed with the same stdout (the proxy's address read as the
/// worker's). Returns the two runs.
fn same_run(w: &Worker, p: &MinorProxy, args: &[&str]) -> (Run, Run) {
    let direct = pisubmit(&w.addr(), args);
    let proxied = pisubmit(&p.addr(), args);
    assert_eq!(direct.code, 0, "{args:?} on the worker itself: {}", direct.stderr);
    assert_eq!(proxied.code, 0, "{args:?} through the proxy: {}", proxied.stderr);
    assert_eq!(proxied.stdout.replace(&p.addr(), &w.addr()), direct.stdout, "{args:?}: the answers differ");
    (direct, proxied)
}

/// The same for a `--json` run whose timings differ: only `fields` are
/// compared, and each must be there.
fn same_json(w: &Worker, p: &MinorProxy, args: &[&str], fields: &[&str]) -> Value {
    let mut json_args = vec!["--json"];
    json_args.extend_from_slice(args);
    let direct = pisubmit(&w.addr(), &json_args).json();
    let proxied = pisubmit(&p.addr(), &json_args).json();
    for f in fields {
        assert!(!direct[f].is_null(), "{args:?}: no `{f}` in {direct}");
        assert_eq!(proxied[f], direct[f], "{args:?}: `{f}` differs");
    }
    proxied
}

/// The one host of a status or ping answer, with what must not differ.
fn host_facts(v: &Value, fields: &[&str]) -> Vec<Value> {
    let h = &v["hosts"][0];
    fields.iter().map(|f| h[f].clone()).collect()
}

#[test]
fn every_job_reads_the_same_through_a_worker_that_appended_fields() {
    let dir = scratch("jobs");
    let jobdir = dir.join("programs");
    std::fs::create_dir_all(&jobdir).unwrap();
    std::fs::set_permissions(&jobdir, std::fs::Permissions::from_mode(0o755)).unwrap();
    program(&jobdir, "piece", "#!/bin/sh\necho \"piece $PIW_PIECE: $PIW_START..$PIW_END\"\n");
    let w = Worker::start(&["--threads", "2", "--job-dir", jobdir.to_str().unwrap()]);
    let p = MinorProxy::start(&w.addr(), Mode::Grow);

    same_json(&w, &p, &["loopsum"], &["result"]);
    same_json(&w, &p, &["loopsum", "--t-range", "-300..9001", "--u-len", "7001", "--c", "0.1"], &["result"]);
    same_json(&w, &p, &["pi", "--samples", "1000000", "--seed", "7"], &["result", "inside", "samples"]);
    let v = same_json(&w, &p, &["primes", "--from", "1", "--to", "1000000"], &["result", "max"]);
    assert_eq!(v["result"], 78_498);
    let (a, b) = (dir.join("primes-direct.txt"), dir.join("primes-proxied.txt"));
    for out in [&a, &b] {
        let host = if out == &a { w.addr() } else { p.addr() };
        let run = pisubmit(&host, &["primes", "--from", "1000", "--to", "3000000", "--output", out.to_str().unwrap()]);
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    assert!(std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(), "primes --output files differ");
    same_json(&w, &p, &["powers", "--nums", "1,2,3,4,5", "--exps", "1,2,3"], &["result"]);

    let text = dir.join("numbers.txt");
    std::fs::write(&text, (0..5000).map(|i| format!("{}\n", i * 7 - 300)).collect::<String>()).unwrap();
    let floats = dir.join("floats.txt");
    std::fs::write(&floats, (0..5000).map(|i| format!("{}.25\n", i * 3 - 900)).collect::<String>()).unwrap();
    let bin = dir.join("values.i64");
    std::fs::write(&bin, (0..100_000i64).flat_map(|i| (i * 3 - 7).to_be_bytes()).collect::<Vec<u8>>()).unwrap();
    for (op, file, dtype) in [
        ("count", &text, "text"),
        ("sum", &text, "text"),
        ("sum", &floats, "text"),
        ("min", &text, "text"),
        ("max", &floats, "text"),
        ("sum", &bin, "i64be"),
        ("max", &bin, "i64be"),
        ("min", &bin, "f64be"),
    ] {
        same_json(&w, &p, &["reduce", "--op", op, "--dtype", dtype, "--input", file.to_str().unwrap()], &["result"]);
    }
    same_json(&w, &p, &["echo", "--bytes", "3000000"], &["result"]);

    let farm = |host: &str| {
        let (child, mut stdin) = spawn_pisubmit_fed(host, &["farm", "spin"]);
        stdin.write_all(b"10\n20\n30\n").unwrap();
        drop(stdin);
        finish(child, Duration::from_secs(60))
    };
    let (fa, fb) = (farm(&w.addr()), farm(&p.addr()));
    assert_eq!((fa.code, fb.code), (0, 0), "{} {}", fa.stderr, fb.stderr);
    assert_eq!(fb.stdout, fa.stdout, "farm spin");
    assert!(fa.stdout.contains("20"), "the farm printed its tasks: {}", fa.stdout);

    let life = |out: &Path| {
        let o = out.to_str().unwrap().to_string();
        let g = ["life", "--random", "0.3", "--seed", "5", "--width", "96", "--height", "80", "--generations", "25"];
        let mut args: Vec<String> = g.iter().map(|s| s.to_string()).collect();
        args.extend(["--output".into(), o]);
        args
    };
    let (la, lb) = (dir.join("life-direct.rle"), dir.join("life-proxied.rle"));
    let run_life = |host: &str, out: &Path| {
        let args = life(out);
        let mut a = vec!["--json"];
        a.extend(args.iter().map(String::as_str));
        pisubmit(host, &a).json()
    };
    let (ja, jb) = (run_life(&w.addr(), &la), run_life(&p.addr(), &lb));
    assert_eq!((&jb["result"], &jb["hash"]), (&ja["result"], &ja["hash"]), "life");
    assert!(std::fs::read(&la).unwrap() == std::fs::read(&lb).unwrap(), "life --output files differ");

    same_run(&w, &p, &["exec", "piece", "--range", "10..40", "--pieces", "5"]);
    same_run(&w, &p, &["jobs"]);

    let status = same_json(&w, &p, &["status"], &["hosts_up"]);
    let facts = ["state", "hostname", "version", "protocol", "arch", "threads", "listen"];
    let direct = pisubmit(&w.addr(), &["--json", "status"]).json();
    assert_eq!(host_facts(&status, &facts), host_facts(&direct, &facts), "status");
    assert_eq!(status["hosts"][0]["state"], "up");
    let ping = same_json(&w, &p, &["ping"], &["result"]);
    let direct = pisubmit(&w.addr(), &["--json", "ping"]).json();
    let facts = ["state", "hostname", "version", "arch", "threads"];
    assert_eq!(host_facts(&ping, &facts), host_facts(&direct, &facts), "ping");

    // A job that fails: the grown Error still carries the worker's words.
    let bad = dir.join("bad.txt");
    std::fs::write(&bad, "1\n2\nthree\n").unwrap();
    let args = ["--retries", "1", "reduce", "--op", "sum", "--input", bad.to_str().unwrap()];
    let (ea, eb) = (pisubmit(&w.addr(), &args), pisubmit(&p.addr(), &args));
    assert_ne!(ea.code, 0, "bad input fails: {}", ea.stdout);
    assert_eq!(eb.code, ea.code, "{}", eb.stderr);
    let why = |r: &Run| r.stderr.lines().find(|l| l.contains("three")).map(str::to_string);
    assert!(why(&ea).is_some(), "the worker's message names the line: {}", ea.stderr);
    assert_eq!(why(&eb), why(&ea).map(|l| l.replace(&w.addr(), &p.addr())), "{}", eb.stderr);

    // The proxy did grow each kind of message (the test could fail).
    for what in ["Welcome", "Status", "Result", "Partial", "Error"] {
        assert!(p.changed(what) > 0, "the proxy never grew a {what}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A 1.0 worker's Welcome ends after `max_frame`, and a 1.0 head's Hello
/// after `software`: both are read as "no key, no thread limit", and jobs
/// run as usual.
#[test]
fn replies_cut_where_a_1_0_peer_ends_them_are_read_as_absent_fields() {
    let w = Worker::start(&["--threads", "2"]);
    let p = MinorProxy::start(&w.addr(), Mode::AsOneZero);
    same_json(&w, &p, &["loopsum"], &["result"]);
    same_json(&w, &p, &["pi", "--samples", "200000", "--seed", "3"], &["result", "inside"]);
    let v = pisubmit(&p.addr(), &["--json", "ping"]).json();
    assert_eq!((&v["result"], &v["hosts"][0]["state"]), (&Value::from(1), &Value::from("ok")), "{v}");
    assert!(p.changed("Welcome") > 0 && p.changed("Hello") > 0, "the proxy cut nothing");
    assert!(w.log().contains("(protocol 1.0)"), "the worker saw a 1.0 Hello:\n{}", w.log());
}

/// A worker still refuses job parameters it does not know: ignoring one
/// could give a wrong answer. The connection goes on.
#[test]
fn a_worker_refuses_parameter_bytes_it_does_not_know() {
    use piworker::jobs::loopsum;
    use piworker::protocol::{ErrorCode, ErrorMessage, FrameType, Submit};
    let w = Worker::start(&["--threads", "1"]);
    let mut c = RawClient::handshake(&w);
    let mut params = loopsum::Params { t0: 0, t1: 10, u_len: 10, c: 1.0 }.encode();
    params.extend_from_slice(&minor_proxy::APPENDED);
    c.send(&Submit { kind: 1, flags: 0, params }.encode(7).to_bytes());
    let f = c.frame().expect("an answer");
    assert_eq!((f.header.frame_type, f.header.job_id), (FrameType::Error, 7));
    let e = ErrorMessage::decode(&f.payload).unwrap();
    assert_eq!(e.code, ErrorCode::BadParams);
    assert!(e.message.contains("8 unexpected trailing bytes"), "{}", e.message);
    let ping = piworker::protocol::Frame::new(FrameType::Ping, 3, vec![1, 2]).to_bytes();
    c.send(&ping);
    let f = c.frame().expect("the connection goes on");
    assert_eq!((f.header.frame_type, f.payload.as_slice()), (FrameType::Pong, &[1u8, 2][..]));
}

/// A DiscoverReply with fields a later minor appended: `pisubmit discover`
/// lists the worker as it lists a plain one (it cannot know the head's
/// minor, so it may grow towards any head).
#[test]
fn a_discover_reply_with_appended_fields_is_listed() {
    use piworker::protocol::discovery::{parse_probe, Announce};
    use std::net::UdpSocket;
    let plain = Worker::start(&["--threads", "1"]);
    let later = UdpSocket::bind("127.0.0.1:0").unwrap();
    later.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let later_port = later.local_addr().unwrap().port();
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = std::sync::Arc::clone(&answered);
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = later.recv_from(&mut buf) {
            let Ok(token) = parse_probe(&buf[..n]) else { continue };
            let announce = Announce {
                software: "0.9.0".into(),
                protocol_major: 1,
                protocol_minor: 9,
                hostname: "newpi".into(),
                arch: "arm64".into(),
                threads: 4,
                port: later_port,
                key_required: false,
            };
            let mut reply = announce.encode(token);
            reply.extend_from_slice(&minor_proxy::APPENDED);
            let len = (reply.len() - 16) as u32;
            reply[12..16].copy_from_slice(&len.to_be_bytes());
            let _ = later.send_to(&reply, from);
            count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    });
    let ports = format!("{},{later_port}", plain.port);
    let run = finish(
        std::process::Command::new(PISUBMIT)
            .args(["discover", "--subnet", "127.0.0.1/32", "--port", &ports, "--wait", "1"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
        Duration::from_secs(30),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(answered.load(std::sync::atomic::Ordering::Relaxed) > 0, "the later worker was never probed");
    assert!(run.stdout.contains(&plain.addr()), "{}", run.stdout);
    let line = run.stdout.lines().find(|l| l.contains(&format!("127.0.0.1:{later_port}")));
    assert!(line.is_some_and(|l| l.contains("newpi")), "the grown reply was not listed:\n{}", run.stdout);
}

/// A lab mid-upgrade: one plain worker and one that appends fields, in the
/// same run. The pieces are spread over both, and the answers are those of
/// two plain workers.
#[test]
fn mixed_minors_in_one_run_give_the_same_answers() {
    let (a, b) = (Worker::start(&["--threads", "2"]), Worker::start(&["--threads", "2"]));
    let p = MinorProxy::start(&b.addr(), Mode::Grow);
    let (plain, mixed) = (format!("{},{}", a.addr(), b.addr()), format!("{},{}", a.addr(), p.addr()));
    let dir = scratch("mixed");
    for args in [
        vec!["--json", "loopsum", "--t-range", "-300..9001", "--u-len", "7001", "--c", "0.1"],
        vec!["--json", "pi", "--samples", "20000000", "--seed", "11"],
        vec!["--json", "primes", "--from", "1", "--to", "20000000"],
    ] {
        let (x, y) = (pisubmit(&plain, &args).json(), pisubmit(&mixed, &args).json());
        assert_eq!(y["result"], x["result"], "{args:?}");
        let pieces = |v: &Value, addr: &str| {
            v["hosts"].as_array().unwrap().iter().find(|h| h["address"] == addr).map(|h| h["pieces"].clone())
        };
        assert!(pieces(&y, &p.addr()).is_some_and(|n| n.as_u64() > Some(0)), "the grown worker got no piece: {y}");
    }
    let outputs: Vec<Vec<u8>> = [&plain, &mixed]
        .iter()
        .enumerate()
        .map(|(i, hosts)| {
            let out = dir.join(format!("primes-{i}.txt"));
            let run = pisubmit(hosts, &["primes", "--from", "1", "--to", "5000000", "--output", out.to_str().unwrap()]);
            assert_eq!(run.code, 0, "{}", run.stderr);
            std::fs::read(&out).unwrap()
        })
        .collect();
    assert!(outputs[0] == outputs[1], "primes --output differs with a grown worker in the run");
    assert!(p.changed("Result") > 0);
    std::fs::remove_dir_all(&dir).unwrap();
}
