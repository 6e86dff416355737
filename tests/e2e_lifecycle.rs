//! Processes coming and going: clients killed mid-job, workers killed,
//! restarted over TIME_WAIT and stopped by signals; large streams with
//! bounded memory; pisubmit's errors and exit codes.

mod common;

use common::{
    finish, free_port, hosts, pisubmit, spawn_pisubmit, spawn_pisubmit_fed, status_kib, RawClient, Worker, PISUBMIT,
    PIWORKER,
};
use nix::sys::signal::Signal;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A loopsum that keeps two cores busy for minutes.
const LONG_JOB: [&str; 5] = ["loopsum", "--t-range", "0..3000000", "--u-len", "3000000"];

#[test]
fn killing_pisubmit_mid_job_frees_the_workers_cores() {
    let w = Worker::start(&["--threads", "2"]);
    let mut client = spawn_pisubmit(&hosts(&[&w]), &LONG_JOB);
    w.wait_busy();
    client.kill().unwrap();
    let _ = client.wait();
    let killed = Instant::now();
    assert!(w.wait_log("cancelled", Duration::from_secs(5)), "{}", w.log());
    // Within a second the compute threads have stopped: CPU time stands still.
    std::thread::sleep(Duration::from_secs(1).saturating_sub(killed.elapsed()));
    let before = w.cpu_seconds();
    std::thread::sleep(Duration::from_millis(500));
    let used = w.cpu_seconds() - before;
    assert!(used < 0.1, "worker still burned {used:.2} CPU s in 0.5 s after the client died");
    let v = pisubmit(&hosts(&[&w]), &["--json", "loopsum"]).json();
    assert_eq!(v["result"], 64032004000000i64);
}

#[test]
fn a_256_mib_reduce_keeps_both_ends_small() {
    let w = Worker::start(&[]);
    let dir = std::env::temp_dir().join(format!("piworker-big-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("big.i64");
    let n: i64 = 256 * 1024 * 1024 / 8;
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let mut block = Vec::with_capacity(1 << 20);
        for start in (0..n).step_by(1 << 17) {
            block.clear();
            (start..(start + (1 << 17)).min(n)).for_each(|i| block.extend_from_slice(&i.to_be_bytes()));
            f.write_all(&block).unwrap();
        }
    }
    let idle_hwm = w.status_kib("VmHWM");
    let mut child = spawn_pisubmit(
        &hosts(&[&w]),
        &["--json", "reduce", "--op", "sum", "--dtype", "i64be", "--input", path.to_str().unwrap()],
    );
    // Sample the client's peak while it runs (its /proc entry goes at exit).
    let pid = child.id() as i32;
    let mut client_hwm = 0;
    let end = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        client_hwm = client_hwm.max(status_kib(pid, "VmHWM"));
        assert!(Instant::now() < end, "reduce did not finish");
        std::thread::sleep(Duration::from_millis(5));
    }
    let run = finish(child, Duration::from_secs(5));
    let v = run.json();
    assert_eq!(v["result"], serde_json::json!((n as i128 * (n as i128 - 1) / 2) as i64));
    let worker_hwm = w.status_kib("VmHWM");
    eprintln!("worker VmHWM idle {idle_hwm} KiB, after 256 MiB {worker_hwm} KiB; pisubmit VmHWM {client_hwm} KiB");
    assert!(worker_hwm < 32 * 1024, "worker peak RSS {worker_hwm} KiB for a 256 MiB stream");
    assert!(client_hwm < 32 * 1024, "pisubmit peak RSS {client_hwm} KiB for a 256 MiB stream");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_refused_connection_names_the_host_and_exits_2() {
    let port = free_port();
    let run = pisubmit(&format!("127.0.0.1:{port}"), &["loopsum"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains(&format!("127.0.0.1:{port}")) && run.stderr.contains("refused"), "{}", run.stderr);
}

#[test]
fn a_host_that_never_answers_the_handshake_times_out() {
    // Accepts (the kernel completes the connection) but never speaks.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    let started = Instant::now();
    let run = pisubmit(&addr.to_string(), &["--connect-timeout", "1", "pi", "--samples", "10"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains(&addr.to_string()) && run.stderr.contains("no handshake answer"), "{}", run.stderr);
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn a_worker_dying_mid_job_loses_its_pieces_to_the_others() {
    let good = Worker::start(&[]);
    let mut doomed = Worker::start(&[]);
    let child =
        spawn_pisubmit(&hosts(&[&good, &doomed]), &["--json", "loopsum", "--t-range", "0..50001", "--u-len", "50001"]);
    doomed.wait_busy();
    doomed.child.kill().unwrap();
    let run = finish(child, Duration::from_secs(60));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains(&doomed.addr()) && run.stderr.contains("closed the connection"), "{}", run.stderr);
    let v = run.json();
    // (50000 * 50001 / 2)^2, rounded once.
    assert_eq!(v["result"].as_f64(), Some(1_562_562_500_625_000_000u64 as f64));
    assert_eq!(v["hosts"][1]["state"], "lost");
    assert!(v["hosts"][1]["failures"].as_u64() >= Some(1), "{v}");
}

#[test]
fn timeout_fails_the_job_and_names_what_was_running() {
    let w = Worker::start(&[]);
    let run =
        pisubmit(&hosts(&[&w]), &["--timeout", "0.5", "loopsum", "--t-range", "0..3000000", "--u-len", "3000000"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("--timeout reached") && run.stderr.contains(&w.addr()), "{}", run.stderr);
}

#[test]
fn restart_rebinds_at_once_over_time_wait_and_a_second_daemon_fails_clearly() {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut first = Worker::start_on(&listen, &[]);
    // Open connections, then stop the worker: it closes them first, which
    // leaves its side of each in TIME_WAIT on the listening port.
    let idle: Vec<RawClient> = (0..3).map(|_| RawClient::handshake(&first)).collect();
    let second = Command::new(PIWORKER).args(["--listen", &listen]).output().unwrap();
    assert_eq!(second.status.code(), Some(1));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains(&format!("cannot listen on {listen}: the port is already in use")), "{err}");
    first.signal(Signal::SIGTERM);
    assert_eq!(first.wait_exit(Duration::from_secs(10)).and_then(|s| s.code()), Some(0));
    drop(idle);
    let ss = Command::new("ss").args(["-tan", "state", "time-wait"]).output();
    if let Ok(ss) = ss {
        let text = String::from_utf8_lossy(&ss.stdout);
        eprintln!(
            "TIME_WAIT sockets on the port: {}",
            text.lines().filter(|l| l.contains(&format!(":{port} "))).count()
        );
    }
    let again = Worker::start_on(&listen, &[]);
    let v = pisubmit(&again.addr(), &["--json", "loopsum"]).json();
    assert_eq!(v["result"], 64032004000000i64);
}

#[test]
fn sigterm_lets_running_jobs_finish_then_exits_0() {
    let mut w = Worker::start(&[]);
    // One piece, running when SIGTERM comes: a job of several pieces would
    // race the drain (the worker may exit between two of them, before the
    // head sends the next; workers_restarted_one_at_a_time_mid_job_lose_no_piece
    // checks that nothing is lost then).
    let (child, mut stdin) = spawn_pisubmit_fed(&hosts(&[&w]), &["--json", "farm", "spin"]);
    stdin.write_all(b"1500 the running task\n").unwrap();
    drop(stdin);
    w.wait_busy();
    w.signal(Signal::SIGTERM);
    let run = finish(child, Duration::from_secs(30));
    assert_eq!(run.code, 0, "the running job finished: {}", run.stderr);
    assert!(run.stdout.contains("the running task"), "its result came back: {}", run.stdout);
    assert_eq!(w.wait_exit(Duration::from_secs(10)).and_then(|s| s.code()), Some(0));
    assert!(w.log().contains("SIGTERM: no longer accepting connections"), "{}", w.log());
}

#[test]
fn sigterm_past_the_grace_cancels_jobs_and_tells_the_client() {
    let mut w = Worker::start(&["--shutdown-grace", "0.3"]);
    let child = spawn_pisubmit(&hosts(&[&w]), &LONG_JOB);
    w.wait_busy();
    w.signal(Signal::SIGTERM);
    let status = w.wait_exit(Duration::from_secs(5));
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{}", w.log());
    let run = finish(child, Duration::from_secs(10));
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("shutting down") || run.stderr.contains("closed the connection"), "{}", run.stderr);
}

#[test]
fn help_version_and_bad_flags() {
    for bin in [PIWORKER, PISUBMIT] {
        let help = Command::new(bin).arg("--help").output().unwrap();
        assert!(help.status.success());
        assert!(String::from_utf8_lossy(&help.stdout).contains("USAGE"));
        let version = Command::new(bin).arg("--version").output().unwrap();
        assert!(String::from_utf8_lossy(&version.stdout).contains(env!("CARGO_PKG_VERSION")));
        let bad = Command::new(bin).arg("--bogus").output().unwrap();
        assert_eq!(bad.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&bad.stderr).contains("--bogus"));
    }
    let too_many = Command::new(PIWORKER).args(["--listen", "127.0.0.1:0", "--threads", "999"]).output().unwrap();
    assert_eq!(too_many.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&too_many.stderr).contains("--threads 999 exceeds"));
}

#[test]
fn under_systemd_the_journal_gets_no_second_timestamp() {
    let line = |journal: bool| {
        let mut cmd = Command::new(PIWORKER);
        cmd.args(["--listen", "127.0.0.1:0"]).env("RUST_LOG", "info").stderr(Stdio::piped());
        if journal {
            cmd.env("JOURNAL_STREAM", "8:12345");
        } else {
            cmd.env_remove("JOURNAL_STREAM");
        }
        let mut child = cmd.spawn().unwrap();
        let mut first = String::new();
        let stderr = child.stderr.take().unwrap();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stderr), &mut first).unwrap();
        let _ = child.kill();
        let _ = child.wait();
        first
    };
    let plain = line(false);
    let journal = line(true);
    assert!(plain.starts_with("[20") && plain.contains("listening on"), "{plain}");
    assert!(journal.starts_with("[INFO") && journal.contains("listening on"), "{journal}");
}

/// A rolling restart, as `apt upgrade` does it on each Pi in turn (SIGTERM,
/// a drain of --shutdown-grace, a new daemon on the same port): a job
/// running across both workers loses no piece and writes none twice. The
/// pieces still running when the grace ends are handed back and run again,
/// elsewhere or on the restarted worker. (The same with a real upgrade to a
/// newer version under systemd: scripts/install-test.sh.)
#[test]
fn workers_restarted_one_at_a_time_mid_job_lose_no_piece() {
    let dir = common::job_dir("piw-rolling", "slow");
    // One second a piece, against a grace of 0.1 s: the pieces running at
    // SIGTERM are nearly always handed back (both finishing in time has a
    // chance of 1 in 100 per worker).
    common::job_program(
        &dir,
        "slow",
        "#!/bin/sh\nsleep 1\ni=$PIW_START\nwhile [ $i -lt $PIW_END ]; do echo \"piece $PIW_PIECE: $i squared is $((i * i))\"; i=$((i + 1)); done\n",
    );
    let job_dir = dir.to_str().unwrap();
    let listen: Vec<String> = (0..2).map(|_| format!("127.0.0.1:{}", free_port())).collect();
    let start =
        |addr: &str| Worker::start_on(addr, &["--threads", "2", "--shutdown-grace", "0.1", "--job-dir", job_dir]);
    let mut workers: Vec<Worker> = listen.iter().map(|a| start(a)).collect();
    let hosts = listen.join(",");
    let output = |name: &str| dir.join(name).to_str().unwrap().to_string();
    let job =
        |out: String| ["exec", "slow", "--range", "0..2400", "--pieces", "24", "--output", &out].map(String::from);

    let reference = pisubmit(&hosts, &job(output("reference")).each_ref().map(|s| s.as_str()));
    assert_eq!(reference.code, 0, "{}", reference.stderr);

    let args = job(output("rolling"));
    let child = spawn_pisubmit(&hosts, &args.each_ref().map(|s| s.as_str()));
    for (i, addr) in listen.iter().enumerate() {
        assert!(workers[i].wait_log("started", Duration::from_secs(10)), "{}", workers[i].log());
        workers[i].signal(Signal::SIGTERM);
        let exit = workers[i].wait_exit(Duration::from_secs(10));
        assert_eq!(exit.and_then(|s| s.code()), Some(0), "{}", workers[i].log());
        workers[i] = start(addr);
    }
    let run = finish(child, Duration::from_secs(60));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("handed back, runs elsewhere"), "no piece was handed back: {}", run.stderr);
    assert!(run.stderr.contains("has shut down; it gets pieces again when it is back"), "{}", run.stderr);
    let want = std::fs::read(output("reference")).unwrap();
    let got = std::fs::read(output("rolling")).unwrap();
    let text = String::from_utf8_lossy(&want);
    assert_eq!(text.lines().count(), 2400, "{text}");
    assert_eq!(text.lines().nth(1234), Some("piece 12: 1234 squared is 1522756"), "{text}");
    assert!(got == want, "the output differs from a run without restarts:\n{}", String::from_utf8_lossy(&got));
    let _ = std::fs::remove_dir_all(&dir);
}
