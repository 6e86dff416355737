//! pisubmit as a scheduler, on loopback: the same bits whatever the number
//! of workers and threads, re-run pieces after a piece timeout, clean
//! interrupts, the task farm, a hosts file edited mid-job, and bounded head
//! memory on a long streamed output. (Faults that need a network, such as
//! a pulled cable, are in tests/cluster_netns.rs.)

mod common;

use common::{finish, hosts, pisubmit, spawn_pisubmit, spawn_pisubmit_fed, status_kib, temp_dir, wait_child, Worker};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[test]
fn the_same_bits_on_1_2_and_7_workers_with_any_threads() {
    let workers: Vec<Worker> =
        (0..7).map(|i| Worker::start(if i % 2 == 0 { &["--threads", "1"] } else { &[] })).collect();
    let refs: Vec<&Worker> = workers.iter().collect();
    let one = hosts(&refs[..1]);
    let two = format!("{},{}/1", refs[1].addr(), refs[2].addr());
    let seven = hosts(&refs);
    let dir = temp_dir("sched-bits");
    let f64s = dir.join("values.f64");
    // Values over forty orders of magnitude: only an exact sum is split-proof.
    let bytes: Vec<u8> = (0..5_000_000u64)
        .flat_map(|i| {
            let x = ((i * 2_654_435_761) % 1_000_003) as f64 - 500_000.0;
            (x * 10f64.powi((i % 41) as i32 - 20)).to_be_bytes()
        })
        .collect();
    std::fs::write(&f64s, bytes).unwrap();
    let jobs: Vec<Vec<String>> = vec![
        vec!["loopsum", "--t-range", "-5000..20001", "--u-len", "20001", "--c", "0.1"],
        vec!["pi", "--samples", "300000000", "--seed", "11"],
        vec!["reduce", "--op", "sum", "--dtype", "f64be", "--input", f64s.to_str().unwrap()],
        vec!["primes", "--from", "999", "--to", "200000000"],
    ]
    .into_iter()
    .map(|v| v.into_iter().map(String::from).collect())
    .collect();
    for job in &jobs {
        let args: Vec<&str> = std::iter::once("--json").chain(job.iter().map(String::as_str)).collect();
        let a = pisubmit(&one, &args).json();
        let b = pisubmit(&two, &args).json();
        let c = pisubmit(&seven, &args).json();
        assert_eq!(a["result"], b["result"], "{job:?}: 1 vs 2 workers");
        assert_eq!(a["result"], c["result"], "{job:?}: 1 vs 7 workers");
        let used = c["hosts"].as_array().unwrap().iter().filter(|h| h["pieces"].as_u64() > Some(0)).count();
        assert!(used >= 2, "{job:?}: the 7-worker run used {used} workers: {c}");
    }
    // The streamed output too, byte for byte.
    let outs: Vec<PathBuf> = (0..3).map(|i| dir.join(format!("primes{i}.txt"))).collect();
    for (spec, out) in [&one, &two, &seven].into_iter().zip(&outs) {
        let run = pisubmit(spec, &["primes", "--from", "1", "--to", "20000000", "--output", out.to_str().unwrap()]);
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    let first = std::fs::read(&outs[0]).unwrap();
    assert!(outs[1..].iter().all(|o| std::fs::read(o).unwrap() == first), "primes files differ");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_piece_past_its_timeout_runs_elsewhere() {
    let stuck = Worker::start(&[]);
    let good = Worker::start(&[]);
    let child = spawn_pisubmit(
        &hosts(&[&stuck, &good]),
        &[
            "--json",
            "--heartbeat-timeout",
            "60",
            "--piece-timeout",
            "2",
            "loopsum",
            "--t-range",
            "0..60001",
            "--u-len",
            "60001",
        ],
    );
    stuck.wait_busy();
    stuck.signal(Signal::SIGSTOP);
    let run = finish(child, Duration::from_secs(60));
    stuck.signal(Signal::SIGCONT);
    let v = run.json();
    assert_eq!(v["result"].as_f64(), Some(3_240_108_000_900_000_000u64 as f64));
    let hosts = v["hosts"].as_array().unwrap();
    assert!(hosts[0]["failures"].as_u64() >= Some(1), "{v}");
    assert!(run.stderr.contains("took longer than the piece timeout"), "{}", run.stderr);
}

#[test]
fn sigint_and_sigterm_stop_pisubmit_and_free_the_workers() {
    for sig in [Signal::SIGINT, Signal::SIGTERM] {
        let w = Worker::start(&[]);
        let child = spawn_pisubmit(&w.addr(), &["loopsum", "--t-range", "0..3000000", "--u-len", "3000000"]);
        let pid = Pid::from_raw(child.id() as i32);
        w.wait_busy();
        kill(pid, sig).unwrap();
        let run = finish(child, Duration::from_secs(10));
        assert_eq!(run.code, 130, "{sig:?}: {}", run.stderr);
        assert!(run.stderr.contains("interrupted"), "{}", run.stderr);
        std::thread::sleep(Duration::from_secs(1));
        let before = w.cpu_seconds();
        std::thread::sleep(Duration::from_millis(500));
        let used = w.cpu_seconds() - before;
        assert!(used < 0.1, "{sig:?}: the worker still burned {used:.2} CPU s");
    }
}

/// Feeds `lines` to a farm, each after its delay, and returns stdout lines.
fn farm(hosts: &str, mode: &str, lines: &[(u64, &str)]) -> (Vec<String>, Duration) {
    let (child, mut stdin) = spawn_pisubmit_fed(hosts, &["farm", mode, "spin"]);
    let started = Instant::now();
    let lines: Vec<(u64, String)> = lines.iter().map(|(d, l)| (*d, l.to_string())).collect();
    let feeder = std::thread::spawn(move || {
        for (delay, line) in lines {
            std::thread::sleep(Duration::from_millis(delay));
            writeln!(stdin, "{line}").unwrap();
            stdin.flush().unwrap();
        }
    });
    let run = finish(child, Duration::from_secs(60));
    feeder.join().unwrap();
    assert_eq!(run.code, 0, "{}", run.stderr);
    (run.stdout.lines().map(String::from).collect(), started.elapsed())
}

#[test]
fn the_task_farm_runs_tasks_as_they_arrive() {
    let w = Worker::start(&["--threads", "2"]);
    // A long task, then short ones arriving later: with two cores the
    // short ones run beside the long one and, unordered, finish first.
    let tasks = [(0, "1500 long"), (200, "100 short-1"), (200, "100 short-2"), (200, "100 short-3")];
    let (unordered, took) = farm(&w.addr(), "--unordered", &tasks);
    assert_eq!(unordered, ["100 short-1", "100 short-2", "100 short-3", "1500 long"]);
    // Serially it would take 1.8 s of spinning; side by side about 1.5 s.
    eprintln!("unordered farm took {took:?}");
    let (ordered, _) = farm(&w.addr(), "--ordered", &tasks);
    assert_eq!(ordered, ["1500 long", "100 short-1", "100 short-2", "100 short-3"]);
    // A bad line is named and skipped; the rest still run; exit 1 at the end.
    let (child, mut stdin) = spawn_pisubmit_fed(&w.addr(), &["farm", "spin"]);
    stdin.write_all(b"10 a\nsoon b\n10 c\n").unwrap();
    drop(stdin);
    let run = finish(child, Duration::from_secs(30));
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout.lines().collect::<Vec<_>>(), ["10 a", "10 c"]);
    assert!(run.stderr.contains("stdin line 2: \"soon\" is not a number of milliseconds"), "{}", run.stderr);
}

/// A farm's results reach stdout as they finish, while its input is still
/// open: they are written when the engine has caught up, not held to the
/// end. Each task is sent only once the last one's result has been read.
#[test]
fn a_farm_prints_each_result_before_its_input_ends() {
    let w = Worker::start(&["--threads", "1"]);
    let (mut child, mut stdin) = spawn_pisubmit_fed(&w.addr(), &["farm", "spin"]);
    let stdout = BufReader::new(child.stdout.take().expect("stdout piped"));
    let (lines, results) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    for i in 0..5 {
        writeln!(stdin, "5 task-{i}").unwrap();
        stdin.flush().unwrap();
        let got = results.recv_timeout(Duration::from_secs(30));
        assert_eq!(got.as_deref(), Ok(format!("5 task-{i}").as_str()), "result {i} while the input is open");
    }
    drop(stdin);
    let status = wait_child(&mut child, Duration::from_secs(30)).expect("pisubmit ends with its input");
    assert!(status.success(), "{status:?}");
    reader.join().unwrap();
}

/// A farm whose reader has gone (stdout a closed pipe) fails, naming what
/// it could not write: the error of the write the engine makes when it
/// has caught up.
#[test]
fn a_farm_whose_stdout_is_closed_fails_naming_its_results() {
    let w = Worker::start(&["--threads", "2"]);
    let (mut child, mut stdin) = spawn_pisubmit_fed(&w.addr(), &["farm", "spin"]);
    drop(child.stdout.take());
    let mut stderr = child.stderr.take().expect("stderr piped");
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    // More tasks than a pipe holds; pisubmit may stop reading them.
    let feeder = std::thread::spawn(move || {
        for i in 0..100_000 {
            if writeln!(stdin, "0 {i}").is_err() {
                return i;
            }
        }
        100_000
    });
    let status = wait_child(&mut child, Duration::from_secs(60)).expect("pisubmit stops");
    let stderr = errors.join().unwrap();
    feeder.join().unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("writing the results: Broken pipe"), "{stderr}");
}

#[test]
fn a_worker_added_to_the_hosts_file_mid_job_takes_pieces() {
    let first = Worker::start(&["--threads", "1"]);
    let second = Worker::start(&["--threads", "1"]);
    let dir = temp_dir("sched-hostsfile");
    let file = dir.join("pi_list.txt");
    std::fs::write(&file, format!("# the rack\n{}\n", first.addr())).unwrap();
    let child = spawn_pisubmit(
        &format!("@{}", file.display()),
        &["--json", "loopsum", "--t-range", "0..60001", "--u-len", "60001"],
    );
    first.wait_busy();
    std::fs::write(&file, format!("# the rack\n{}\n{}\n", first.addr(), second.addr())).unwrap();
    let v = finish(child, Duration::from_secs(120)).json();
    let hosts = v["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 2, "{v}");
    assert!(hosts[1]["pieces"].as_u64() > Some(0), "the added worker did no piece: {v}");
    assert_eq!(v["result"].as_f64(), Some(3_240_108_000_900_000_000u64 as f64));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn head_memory_stays_bounded_on_a_long_streamed_output() {
    let workers: Vec<Worker> = (0..2).map(|_| Worker::start(&[])).collect();
    let dir = temp_dir("sched-bigout");
    let out = dir.join("primes.txt");
    let child = spawn_pisubmit(
        &hosts(&[&workers[0], &workers[1]]),
        &["--json", "primes", "--from", "1", "--to", "500000000", "--output", out.to_str().unwrap()],
    );
    let pid = child.id() as i32;
    let mut peak = 0;
    let end = Instant::now() + Duration::from_secs(120);
    let mut child = child;
    while child.try_wait().unwrap().is_none() {
        peak = peak.max(status_kib(pid, "VmHWM"));
        assert!(Instant::now() < end, "primes run did not finish");
        std::thread::sleep(Duration::from_millis(10));
    }
    let v = finish(child, Duration::from_secs(5)).json();
    assert_eq!(v["result"], 26_355_867);
    let size = std::fs::metadata(&out).unwrap().len();
    eprintln!("26,355,867 primes, {} MiB written; pisubmit peak RSS {} KiB", size >> 20, peak);
    assert!(peak < 96 * 1024, "pisubmit peaked at {peak} KiB for {} MiB of output", size >> 20);
    std::fs::remove_dir_all(&dir).unwrap();
}
