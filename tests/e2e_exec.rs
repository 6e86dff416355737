//! Job programs end to end: real workers with their own job directories,
//! pisubmit exec over ranges, lines and a stdin farm, and programs that
//! fail, hang, eat memory, print megabytes or fork and are cancelled.

mod common;

use common::*;
use piworker::jobs::exec::Params;
use piworker::jobs::JobKind;
use piworker::protocol::message::SUBMIT_HAS_INPUT;
use piworker::protocol::{ErrorCode, ErrorMessage, FrameType, Submit};
use std::io::Write;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A job directory of test programs, removed when dropped.
struct JobDir(PathBuf);

impl JobDir {
    fn new(name: &str) -> JobDir {
        let dir = std::env::temp_dir().join(format!("piw-exec-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        JobDir(dir)
    }

    fn program(&self, name: &str, body: &str) -> &JobDir {
        let path = self.0.join(name);
        std::fs::write(&path, body).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        self
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for JobDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn worker_with(dir: &JobDir, extra: &[&str]) -> Worker {
    let mut args = vec!["--job-dir", dir.path()];
    args.extend_from_slice(extra);
    Worker::start(&args)
}

const ECHO_PIECE: &str = "#!/bin/sh\necho \"$PIW_JOB $PIW_PIECE $PIW_START $PIW_END $PIW_THREADS\"\n";

/// A range over three workers: every piece once, in order, each program
/// seeing its numbers and nothing else in its environment.
#[test]
fn a_range_runs_in_pieces_over_every_worker_in_order() {
    let dir = JobDir::new("range");
    dir.program("piece", ECHO_PIECE).program("envdump", "#!/bin/sh\nenv | sort\n");
    let ws: Vec<Worker> = (0..3).map(|_| worker_with(&dir, &["--threads", "1"])).collect();
    let hosts = ws.iter().map(|w| w.addr()).collect::<Vec<_>>().join(",");
    let run = pisubmit(&hosts, &["exec", "piece", "--range", "10..1010", "--pieces", "30"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 30, "{}", run.stdout);
    let mut next = 10;
    for (i, line) in lines.iter().enumerate() {
        let f: Vec<&str> = line.split(' ').collect();
        assert_eq!(f[0], "piece");
        assert_eq!(f[1], i.to_string(), "pieces in order");
        assert_eq!(f[2], next.to_string(), "no gap or overlap");
        next = f[3].parse().unwrap();
        assert_eq!(f[4], "1", "one thread per program");
    }
    assert_eq!(next, 1010);
    assert!(run.stderr.contains("30 pieces of piece"), "the report goes to stderr: {}", run.stderr);
    // The report names every worker, and each did some pieces.
    let out = std::env::temp_dir().join(format!("piw-exec-range-{}.txt", std::process::id()));
    let run = pisubmit(
        &hosts,
        &["--json", "exec", "piece", "--range", "0..300", "--pieces", "60", "--output", out.to_str().unwrap()],
    );
    let json = run.json();
    assert_eq!(json["result"], 60);
    let busy = json["hosts"].as_array().unwrap().iter().filter(|h| h["pieces"].as_u64().unwrap() > 0).count();
    assert_eq!(busy, 3, "every worker ran pieces: {json}");
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 60);
    let _ = std::fs::remove_file(&out);
    // A clean environment: PATH and the PIW_ variables only.
    let run = pisubmit(&ws[0].addr(), &["exec", "envdump", "--range", "5..6"]);
    // (PWD, SHLVL and _ are the shell's own.)
    let names: Vec<&str> = run
        .stdout
        .lines()
        .map(|l| l.split('=').next().unwrap())
        .filter(|n| !matches!(*n, "PWD" | "SHLVL" | "_"))
        .collect();
    assert_eq!(names, ["PATH", "PIW_END", "PIW_JOB", "PIW_PIECE", "PIW_START", "PIW_THREADS"], "{}", run.stdout);
}

/// Lines of a file in blocks as the programs' stdin, and a farm from
/// stdin, one piece per line.
#[test]
fn lines_and_a_stdin_farm_feed_the_programs_stdin() {
    let dir = JobDir::new("lines");
    dir.program("upper", "#!/bin/sh\necho \"[$PIW_START..$PIW_END)\"\ntr a-z A-Z\n");
    let ws: Vec<Worker> = (0..2).map(|_| worker_with(&dir, &[])).collect();
    let hosts = ws.iter().map(|w| w.addr()).collect::<Vec<_>>().join(",");
    let file = std::env::temp_dir().join(format!("piw-exec-lines-{}.txt", std::process::id()));
    std::fs::write(&file, "alpha\nbeta\ngamma\ndelta\nepsilon\n").unwrap();
    let run = pisubmit(&hosts, &["exec", "upper", "--lines", file.to_str().unwrap(), "--block", "2"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "[1..3)\nALPHA\nBETA\n[3..5)\nGAMMA\nDELTA\n[5..6)\nEPSILON\n");
    let _ = std::fs::remove_file(&file);
    let (child, mut stdin) = spawn_pisubmit_fed(&hosts, &["exec", "upper"]);
    for word in ["one", "two", "three"] {
        writeln!(stdin, "{word}").unwrap();
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(stdin);
    let run = finish(child, Duration::from_secs(30));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "[1..2)\nONE\n[2..3)\nTWO\n[3..4)\nTHREE\n");
}

/// A failing program fails its piece with its status and stderr; it runs
/// again on the other workers first. A program that fails on one worker
/// only (its copy there is broken) succeeds elsewhere.
#[test]
fn a_failing_program_is_retried_elsewhere_then_reported() {
    let broken = JobDir::new("broken");
    broken.program("tool", "#!/bin/sh\necho partial\necho 'tool: cannot open /dev/widget' >&2\nexit 3\n");
    let good = JobDir::new("good");
    good.program("tool", "#!/bin/sh\necho fine $PIW_START\n");
    let (a, b) = (worker_with(&broken, &[]), worker_with(&good, &[]));
    let run = pisubmit(&format!("{},{}", a.addr(), b.addr()), &["exec", "tool", "--range", "0..8", "--pieces", "8"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), 8, "only the good worker's output: {}", run.stdout);
    assert!(!run.stdout.contains("partial"), "a failed run leaves no output: {}", run.stdout);
    assert!(run.stderr.contains("exited with status 3"), "{}", run.stderr);
    // The report counts the failures against the broken worker only.
    let out = good.0.join("out.txt");
    let run = pisubmit(
        &format!("{},{}", a.addr(), b.addr()),
        &["--json", "exec", "tool", "--range", "0..8", "--pieces", "8", "--output", out.to_str().unwrap()],
    );
    let json = run.json();
    let failures: Vec<u64> =
        json["hosts"].as_array().unwrap().iter().map(|h| h["failures"].as_u64().unwrap()).collect();
    assert!(failures[0] >= 1 && failures[1] == 0, "failures per host {failures:?}");
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 8);
    // Broken everywhere: the piece fails on every worker, with the reason.
    let c = worker_with(&broken, &[]);
    let out = broken.0.join("out.txt");
    let run = pisubmit(
        &format!("{},{}", a.addr(), c.addr()),
        &["exec", "tool", "--range", "0..1", "--output", out.to_str().unwrap()],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(!out.exists(), "a failed run leaves no output file that looks complete");
    assert!(run.stderr.contains("exited with status 3"), "{}", run.stderr);
    assert!(run.stderr.contains("cannot open /dev/widget"), "stderr's tail comes back: {}", run.stderr);
    assert!(run.stdout.is_empty());
}

/// Limits: a program that hangs is killed at its time limit, one that
/// eats memory fails under the worker's memory limit, one that prints 20 MB
/// gets every byte through.
#[test]
fn limits_on_time_and_memory_and_megabytes_of_output() {
    let dir = JobDir::new("limits");
    dir.program("hang", "#!/bin/sh\nsleep 30\n")
        .program("hog", "#!/usr/bin/env python3\nx = bytearray(512 << 20)\nprint(len(x))\n")
        .program("chatty", "#!/bin/sh\nhead -c 20000000 /dev/zero | tr '\\0' x\n");
    let w = worker_with(&dir, &["--exec-memory", "64M"]);
    let started = Instant::now();
    let run = pisubmit(&w.addr(), &["--retries", "1", "exec", "hang", "--range", "0..1", "--time-limit", "1"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("ran past its time limit"), "{}", run.stderr);
    assert!(started.elapsed() < Duration::from_secs(20), "killed at the limit, not after the sleep");
    let run = pisubmit(&w.addr(), &["--retries", "1", "exec", "hog", "--range", "0..1"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("MemoryError"), "python's error comes back: {}", run.stderr);
    assert!(run.stderr.contains("64 MiB"), "the limit is named: {}", run.stderr);
    let out = std::env::temp_dir().join(format!("piw-exec-chatty-{}.txt", std::process::id()));
    let run = pisubmit(&w.addr(), &["exec", "chatty", "--range", "0..2", "--output", out.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let data = std::fs::read(&out).unwrap();
    assert_eq!(data.len(), 40_000_000);
    assert!(data.iter().all(|&b| b == b'x'));
    let _ = std::fs::remove_file(&out);
}

fn alive(pid: i32) -> bool {
    // A zombie is gone for our purposes: it holds no CPU or memory.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.rsplit(") ").next().is_some_and(|rest| !rest.starts_with('Z')))
        .unwrap_or(false)
}

/// A program that forks children, cancelled by the client's Ctrl-C: the
/// program and every child are killed; nothing is left behind.
#[test]
fn a_cancelled_program_leaves_no_process_behind() {
    let dir = JobDir::new("forker");
    let pids = dir.0.join("pids");
    let body = format!(
        "#!/bin/sh\nsleep 300 &\necho $! >> {p}\n(sleep 300; true) &\necho $! >> {p}\necho $$ >> {p}\nwait\n",
        p = pids.display()
    );
    dir.program("forker", &body);
    let w = worker_with(&dir, &[]);
    let child = spawn_pisubmit(&w.addr(), &["exec", "forker", "--range", "0..1"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::read_to_string(&pids).map(|s| s.lines().count()).unwrap_or(0) < 3 {
        assert!(Instant::now() < deadline, "the program did not start its children");
        std::thread::sleep(Duration::from_millis(20));
    }
    let listed: Vec<i32> = std::fs::read_to_string(&pids).unwrap().lines().map(|l| l.trim().parse().unwrap()).collect();
    assert!(listed.iter().all(|&p| alive(p)), "all running before the cancel");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGINT).unwrap();
    let run = finish(child, Duration::from_secs(20));
    assert_eq!(run.code, 130, "{}", run.stderr);
    let deadline = Instant::now() + Duration::from_secs(5);
    while listed.iter().any(|&p| alive(p)) {
        assert!(
            Instant::now() < deadline,
            "left behind: {:?}",
            listed.iter().filter(|&&p| alive(p)).collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(w.wait_log("cancelled", Duration::from_secs(5)), "{}", w.log());
}

/// Every bad name is refused with a clear error: by pisubmit before it
/// sends anything, and by the worker itself when a client sends one.
#[test]
fn bad_names_are_refused_by_pisubmit_and_by_the_worker() {
    let dir = JobDir::new("names");
    let outside = JobDir::new("outside");
    outside.program("elsewhere", ECHO_PIECE);
    symlink(outside.0.join("elsewhere"), dir.0.join("escape")).unwrap();
    dir.program("hidden-ok", ECHO_PIECE);
    std::fs::write(dir.0.join("loose"), ECHO_PIECE).unwrap();
    std::fs::set_permissions(dir.0.join("loose"), std::fs::Permissions::from_mode(0o777)).unwrap();
    let w = worker_with(&dir, &[]);
    for (name, why) in [("../x", "contains '/'"), ("/bin/sh", "contains '/'"), (".hidden", "starts with a dot")] {
        let run = pisubmit(&w.addr(), &["exec", name, "--range", "0..1"]);
        assert_eq!(run.code, 2, "{name}: {}", run.stderr);
        assert!(run.stderr.contains(why), "{name}: {}", run.stderr);
    }
    let run = pisubmit(&w.addr(), &["exec", "", "--range", "0..1"]);
    assert!(run.code == 2 && run.stderr.contains("empty"), "{}", run.stderr);
    let run = pisubmit(&w.addr(), &["--json", "exec", "hidden-ok", "--range", "0..1"]);
    assert!(run.code == 2 && run.stderr.contains("--json needs --output"), "{}", run.stderr);
    let run = pisubmit(&w.addr(), &["exec", "hidden-ok", "--range", "0..1", "--output", "/nonexistent/dir/out"]);
    assert!(run.code == 2 && run.stderr.contains("no directory /nonexistent/dir"), "{}", run.stderr);
    for (name, why) in [("escape", "outside"), ("loose", "writable by group or others"), ("nope", "no job program")] {
        let run = pisubmit(&w.addr(), &["exec", name, "--range", "0..1"]);
        assert_eq!(run.code, 1, "{name}: {}", run.stderr);
        assert!(run.stderr.contains(why), "{name}: {}", run.stderr);
    }
    // A client that skips pisubmit's checks gets the worker's.
    for (name, why) in [("../x", "contains '/'"), ("/bin/sh", "contains '/'"), (".hidden", "dot"), ("", "empty")] {
        let mut c = RawClient::handshake(&w);
        let params = Params { name: name.into(), piece: 0, start: 0, end: 1, timeout_ms: 0, memory_mb: 0 };
        let submit = Submit { kind: JobKind::Exec.to_u8(), flags: 0, params: params.encode() };
        c.send(&submit.encode(7).to_bytes());
        let f = c.frame().expect("an answer");
        assert_eq!(f.header.frame_type, FrameType::Error, "{name:?}");
        let m = ErrorMessage::decode(&f.payload).unwrap();
        assert_eq!(m.code, ErrorCode::BadParams, "{name:?}");
        assert!(m.message.contains(why), "{name:?}: {}", m.message);
    }
    let _ = SUBMIT_HAS_INPUT;
}

/// `pisubmit jobs` lists each worker's programs with checksums and flags a
/// copy that differs, one that is missing and one that is refused.
#[test]
fn jobs_lists_programs_and_flags_differences() {
    let a = JobDir::new("jobs-a");
    a.program("shared", ECHO_PIECE).program("tool", "#!/bin/sh\necho v1\n").program("only-a", ECHO_PIECE);
    let b = JobDir::new("jobs-b");
    b.program("shared", ECHO_PIECE).program("tool", "#!/bin/sh\necho v2\n");
    std::fs::write(b.0.join("only-a"), ECHO_PIECE).unwrap(); // not executable on b
    let c = JobDir::new("jobs-c");
    c.program("shared", ECHO_PIECE).program("tool", "#!/bin/sh\necho v1\n").program("only-a", ECHO_PIECE);
    let ws = [worker_with(&a, &[]), worker_with(&b, &[]), worker_with(&c, &[])];
    let hosts = ws.iter().map(|w| w.addr()).collect::<Vec<_>>().join(",");
    let run = pisubmit(&hosts, &["jobs"]);
    assert_eq!(run.code, 1, "differences are problems: {}", run.stderr);
    assert!(run.stdout.contains("3 job programs on 3 of 3 hosts"), "{}", run.stdout);
    let tool_b = run.stdout.lines().find(|l| l.contains(&ws[1].addr()) && l.contains("DIFFERS"));
    assert!(tool_b.is_some(), "b's tool differs: {}", run.stdout);
    assert!(run.stdout.contains("REFUSED"), "{}", run.stdout);
    assert!(run.stderr.contains(&format!("{}'s tool differs", ws[1].addr())), "{}", run.stderr);
    let one = pisubmit(&format!("{},{}", ws[0].addr(), ws[2].addr()), &["--json", "jobs"]);
    let json = one.json();
    assert_eq!(json["result"], 3);
    assert_eq!(json["problems"].as_array().unwrap().len(), 0, "{json}");
    let sha = &json["programs"][0]["hosts"][0]["sha256"];
    assert_eq!(sha.as_str().unwrap().len(), 64);
}

/// The programs the package ships (seed 004's prime search and seed 001's
/// log analysis) give the right answers through pisubmit exec.
#[test]
fn the_shipped_examples_work() {
    if Command::new("python3").arg("--version").output().is_err() {
        panic!("python3 is needed for the shipped examples (.ci/run installs it)");
    }
    let jobs = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/jobs");
    let ws: Vec<Worker> = (0..2).map(|_| Worker::start(&["--job-dir", jobs.to_str().unwrap()])).collect();
    let hosts = ws.iter().map(|w| w.addr()).collect::<Vec<_>>().join(",");
    let run = pisubmit(&hosts, &["exec", "primes", "--range", "1..100001", "--pieces", "8"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let count: u64 = run.stdout.lines().map(|l| l.split(' ').nth(2).unwrap().parse::<u64>().unwrap()).sum();
    assert_eq!(count, 9592, "primes below 100001");
    assert!(run.stdout.lines().last().unwrap().ends_with(" 99991"), "{}", run.stdout);
    let log = std::env::temp_dir().join(format!("piw-exec-log-{}.txt", std::process::id()));
    let text: String = (0..10).map(|i| format!("2020-08-03 12:00:{:02} {}.0'C\n", i * 5, 40 + i)).collect();
    std::fs::write(&log, format!("{text}garbage\n")).unwrap();
    let run = pisubmit(&hosts, &["exec", "loglines", "--lines", log.to_str().unwrap(), "--block", "5"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "1 5 5 40.0 42.00 44.0\n6 10 5 45.0 47.00 49.0\n11 11 0 - - -\n");
    let _ = std::fs::remove_file(&log);
}

/// Hundreds of megabytes of program output stream through without
/// stalling: the worker stops reading a program's stdout while the client
/// is behind, and must start again as the socket drains (a first version
/// waited for a wake-up that never came).
#[test]
fn big_outputs_stream_without_stalling() {
    let dir = JobDir::new("big");
    dir.program("zeros", "#!/bin/sh\nhead -c 134217728 /dev/zero\n");
    let w = worker_with(&dir, &["--threads", "2"]);
    let child = spawn_pisubmit(
        &w.addr(),
        &["--json", "exec", "zeros", "--range", "0..3", "--pieces", "3", "--output", "/dev/null"],
    );
    let run = finish(child, Duration::from_secs(90));
    let json = run.json();
    assert_eq!(json["result"], 3);
    assert_eq!(json["output_bytes"], 3 * 134_217_728u64);
    use std::os::unix::fs::FileTypeExt;
    let null = std::fs::metadata("/dev/null").unwrap().file_type();
    assert!(null.is_char_device(), "--output /dev/null must write to the device, not rename a file over it");
}
