//! `pisubmit bench --predict` with real workers on loopback: the forecast
//! is checked for its shape and its own consistency (the model's formula
//! holds on every row, times never grow with hosts, the recommendation is
//! the fewest hosts near the best), and a link given by hand makes a
//! streaming job link-bound with the bytes a real run moves. No timing
//! assertions: what the machine measures varies, the relations do not.

mod common;

use common::{hosts, pisubmit, Worker};
use serde_json::Value;

fn f(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or_else(|| panic!("{key} is not a number in {v}"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-9)
}

/// Checks what every forecast must satisfy; returns its rows.
fn check_consistent(report: &Value) -> Vec<Value> {
    let cluster = &report["cluster"];
    let (rtt, cores) = (f(cluster, "rtt_s"), cluster["cores_per_host"].as_u64().expect("cores_per_host"));
    let rows = report["rows"].as_array().expect("rows").clone();
    assert_eq!(rows.len() as u64, cluster["max_hosts"].as_u64().unwrap(), "a row per host count: {report}");
    let base = f(&rows[0], "wall_s");
    for (i, row) in rows.iter().enumerate() {
        let n = (i + 1) as u64;
        assert_eq!(row["hosts"].as_u64(), Some(n), "{row}");
        assert_eq!(row["cores"].as_u64(), Some(n * cores), "{row}");
        let (wall, compute, link, head) = (f(row, "wall_s"), f(row, "compute_s"), f(row, "link_s"), f(row, "head_s"));
        assert!(close(wall, rtt + compute.max(link).max(head)), "wall = rtt + the largest cost: {row}");
        let limit = row["limit"].as_str().unwrap();
        let largest = match limit {
            "head link" => link,
            "head" => head,
            "cores" | "round trips" => compute,
            other => panic!("unknown limit {other:?}"),
        };
        assert!(close(largest, compute.max(link).max(head)), "the limit is the largest cost: {row}");
        assert!(close(f(row, "speedup"), base / wall), "speed-up against one host: {row}");
        assert!(close(f(row, "efficiency"), f(row, "speedup") / n as f64), "{row}");
    }
    let best = rows.iter().map(|r| f(r, "wall_s")).fold(f64::INFINITY, f64::min);
    let recommended = report["recommended_hosts"].as_u64().expect("recommended_hosts") as usize;
    let near = |r: &Value| f(r, "wall_s") <= best * 1.05;
    assert!(near(&rows[recommended - 1]), "the recommended row is within 5% of the best: {report}");
    assert!(!rows[..recommended - 1].iter().any(near), "and no fewer hosts are: {report}");
    rows
}

#[test]
fn a_measured_forecast_is_consistent_and_recommends_the_fewest_hosts_near_the_best() {
    let workers: Vec<Worker> = (0..3).map(|_| Worker::start(&["--threads", "1"])).collect();
    let list = hosts(&workers.iter().collect::<Vec<_>>());
    let run = pisubmit(&list, &["--json", "bench", "--predict", "pi", "--samples", "2e7"]);
    let report = run.json();
    assert_eq!(report["job"], "pi");
    assert_eq!(report["cluster"]["link"], "measured", "{report}");
    assert_eq!(report["cluster"]["rtt"], "measured");
    assert_eq!(report["cluster"]["cores_per_host"], 1);
    assert!(f(&report["cluster"], "link_bytes_per_s") > 0.0);
    let share = f(&report["sample"], "share");
    assert!(share > 0.0 && share <= 1.0, "{report}");
    assert!(f(&report["job_cost"], "core_seconds") > 0.0);
    let rows = check_consistent(&report);
    // Pi moves a few bytes per piece: the cores limit it, and more hosts
    // never make it slower.
    assert!(rows.iter().all(|r| r["limit"] == "cores"), "{report}");
    assert!(rows.windows(2).all(|w| f(&w[1], "wall_s") <= f(&w[0], "wall_s")), "{report}");

    // The table says the same in words.
    let text = pisubmit(&list, &["bench", "--predict", "--link", "1gbit", "pi", "--samples", "2e7"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    for needle in ["predicted on 1 to 3 hosts of 1 core", "head link 125.0 MB/s (1000 Mbit/s, given)", "recommended: "]
    {
        assert!(text.stdout.contains(needle), "{needle:?} in:\n{}", text.stdout);
    }
    assert!(text.stdout.contains("hosts  cores    wall (s)  speed-up"), "{}", text.stdout);
}

#[test]
fn a_slow_link_given_by_hand_makes_streamed_primes_link_bound_with_the_bytes_a_real_run_moves() {
    let workers: Vec<Worker> = (0..2).map(|_| Worker::start(&["--threads", "1"])).collect();
    let list = hosts(&workers.iter().collect::<Vec<_>>());
    let dir = common::temp_dir("predict-primes");
    let (out, log) = (dir.join("primes.txt"), dir.join("run.log"));
    let (out, log) = (out.to_str().unwrap(), log.to_str().unwrap());

    let args = ["--from", "1", "--to", "2e7", "--output", out];
    let predicted: Vec<&str> =
        ["--json", "bench", "--predict", "--link", "20mbit", "--rtt", "0.3ms", "--hosts-count", "8", "primes"]
            .into_iter()
            .chain(args)
            .collect();
    let report = pisubmit(&list, &predicted).json();
    assert!(!std::path::Path::new(out).exists(), "a forecast writes no --output file");
    assert_eq!(f(&report["cluster"], "link_bytes_per_s"), 2.5e6);
    assert_eq!(f(&report["cluster"], "rtt_s"), 0.0003);
    let rows = check_consistent(&report);
    assert_eq!(rows.len(), 8, "--hosts-count 8 with 2 workers up");

    // What a real run sends back, from its job log's Receive column.
    let real = pisubmit(&list, &["--joblog", log, "primes"].into_iter().chain(args).collect::<Vec<_>>());
    assert_eq!(real.code, 0, "{}", real.stderr);
    let text = std::fs::read_to_string(log).unwrap();
    let header: Vec<&str> = text.lines().find(|l| l.starts_with("Seq\t")).expect("a header").split('\t').collect();
    let receive = header.iter().position(|&c| c == "Receive").expect("a Receive column");
    let moved: f64 = text
        .lines()
        .filter(|l| l.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .map(|l| l.split('\t').nth(receive).unwrap().parse::<f64>().unwrap())
        .sum();
    let bytes = f(&report["job_cost"], "bytes_from_workers");
    assert!((bytes / moved - 1.0).abs() < 0.15, "predicted {bytes} bytes back, a real run moved {moved}");

    // Eight hosts cannot push those bytes through 2.5 MB/s faster than
    // the link allows: that is the forecast, to the formula.
    let last = &rows[7];
    assert_eq!(last["limit"], "head link", "{report}");
    assert!(close(f(last, "link_s"), bytes / 2.5e6), "{last}");
    assert!(close(f(last, "wall_s"), bytes / 2.5e6 + 0.0003), "{last}");
    assert!(report["link_full_from_hosts"].as_u64().is_some_and(|n| n <= 8), "{report}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_cluster_descriptions_are_refused_by_name() {
    let worker = Worker::start(&["--threads", "1"]);
    for (args, says) in [
        (&["bench", "--predict", "--link", "fast", "pi", "--samples", "9"][..], "--link: \"fast\" is not a rate"),
        (
            &["bench", "--link", "100mbit", "pi", "--samples", "9"],
            "--link describes a cluster to predict; add --predict",
        ),
        (&["bench", "--predict", "--hosts-count", "0", "pi", "--samples", "9"], "--hosts-count: 0 must be from 1"),
        (&["bench", "--predict", "--cores", "1,2", "pi", "--samples", "9"], "leave out --cores"),
    ] {
        let run = pisubmit(&worker.addr(), args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{args:?}: {:?} in {}", says, run.stderr);
    }
}

/// The checks every Life forecast must pass; returns its rows.
fn check_life(report: &Value) -> Vec<Value> {
    let rows = report["rows"].as_array().expect("rows").clone();
    let cluster = &report["cluster"];
    assert_eq!(rows.len() as u64, cluster["max_hosts"].as_u64().unwrap(), "a row per host count: {report}");
    let base = f(&rows[0], "wall_s");
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["hosts"].as_u64(), Some(i as u64 + 1), "{row}");
        let (wall, compute, link, rounds) =
            (f(row, "wall_s"), f(row, "compute_s"), f(row, "link_s"), f(row, "rounds_s"));
        assert!(compute > 0.0 && link > 0.0 && rounds >= 0.0, "{row}");
        assert!(wall >= compute + link + rounds - 1e-12, "the wall holds every part: {row}");
        assert!(close(f(row, "speedup"), base / wall), "{row}");
        if i > 0 {
            assert!(compute < f(&rows[i - 1], "compute_s"), "more hosts, less computing each: {report}");
        }
    }
    rows
}

#[test]
fn life_is_forecast_from_a_band_of_its_board_run_on_a_worker() {
    let workers: Vec<Worker> = (0..2).map(|_| Worker::start(&["--threads", "1"])).collect();
    let list = hosts(&workers.iter().collect::<Vec<_>>());
    let board = ["life", "--width", "512", "--height", "2048", "--random", "0.3", "--generations", "40"];
    // A link given by hand (125 kB/s) is another cluster's: the board
    // comes back as its workers would send it, LZ4-packed, and the gather
    // is those bytes over the link.
    let mut args = vec!["--json", "bench", "--predict", "--link", "1mbit", "--hosts-count", "16"];
    args.extend(board);
    let report = pisubmit(&list, &args).json();
    assert_eq!(report["job"], "life", "{report}");
    assert_eq!(report["title"], "life 512x2048, 40 generations");
    let sample = &report["sample"];
    // The band: every column, 1024 rows from the middle, on a worker.
    assert_eq!(sample["rows"].as_u64(), Some(1024), "{report}");
    assert!(sample["generations"].as_u64().is_some_and(|g| (1..=40).contains(&g)), "{report}");
    assert!(workers.iter().any(|w| sample["host"] == w.addr().as_str()), "{report}");
    let cost = &report["job_cost"];
    let gathered = f(cost, "board_bytes");
    assert!(gathered != 131072.0 && gathered < 1.1 * 131072.0, "packed: {report}");
    assert_eq!(f(cost, "load_bytes"), 0.0, "a random board is filled on the workers: {report}");
    let rows = check_life(&report);
    let rtt = f(&report["cluster"], "rtt_s");
    for row in &rows {
        assert!(close(f(row, "link_s"), rtt + gathered / 125e3), "one gather, about 1 s at 1 Mbit/s: {row}");
    }
    // 2048 rows on 16 hosts, the gather's second on a slow link is the limit.
    assert_eq!(rows[15]["limit"], "head link", "{report}");
    assert_eq!(report["cluster"]["link"], "given");
    // Measured over loopback, where workers send the board raw.
    let report = pisubmit(
        &list,
        &["--json", "bench", "--predict", "life", "--width", "256", "--random", "0.3", "--generations", "20"],
    )
    .json();
    assert_eq!(f(&report["job_cost"], "board_bytes"), 256.0 * 512.0 / 8.0, "raw over loopback: {report}");
    check_life(&report);

    // Measured, as a user would ask, and in words.
    let text =
        pisubmit(&list, &["bench", "--predict", "life", "--width", "256", "--random", "0.3", "--generations", "20"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    for needle in
        ["life 256x512, 20 generations: predicted on 1 to 2 hosts of 1 core", "sample: 512 rows x 256", "recommended: "]
    {
        assert!(text.stdout.contains(needle), "{needle:?} in {}", text.stdout);
    }
}

#[test]
fn life_from_a_file_is_loaded_through_the_head_link() {
    let worker = Worker::start(&["--threads", "1"]);
    let dir = common::temp_dir("predict-life-file");
    let glider = dir.join("glider.rle");
    std::fs::write(&glider, "x = 3, y = 3\nbo$2bo$3o!\n").unwrap();
    let path = glider.to_str().unwrap();
    let args = [
        "--json",
        "bench",
        "--predict",
        "--link",
        "1mbit",
        "life",
        "--input",
        path,
        "--width",
        "256",
        "--height",
        "256",
        "--generations",
        "8",
    ];
    let report = pisubmit(&worker.addr(), &args).json();
    assert_eq!(f(&report["job_cost"], "load_bytes"), 256.0 * 256.0 / 8.0, "{report}");
    let row = &check_life(&report)[0];
    // Loaded (8 KiB at 125 kB/s), then gathered once: a glider on an
    // empty board packs to almost nothing.
    let gathered = f(&report["job_cost"], "board_bytes");
    assert!(gathered < 1024.0, "{report}");
    let rtt = f(&report["cluster"], "rtt_s");
    assert!(close(f(row, "link_s"), 8192.0 / 125e3 + rtt + gathered / 125e3), "{row}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_farm_is_forecast_from_its_tasks_and_a_sample_of_them() {
    use std::io::Write;
    let workers: Vec<Worker> = (0..2).map(|_| Worker::start(&["--threads", "1"])).collect();
    let list = hosts(&workers.iter().collect::<Vec<_>>());
    let (child, mut stdin) =
        common::spawn_pisubmit_fed(&list, &["--json", "bench", "--predict", "--hosts-count", "4", "farm", "spin"]);
    let mut tasks: String = (1..=12).map(|i| format!("50 task{i}\n")).collect();
    tasks.push_str("soon task13\n");
    stdin.write_all(tasks.as_bytes()).unwrap();
    drop(stdin);
    let run = common::finish(child, std::time::Duration::from_secs(120));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("stdin line 13: \"soon\" is not a number of milliseconds; skipped"), "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["job"], "farm");
    let t = &report["tasks"];
    assert_eq!((t["count"].as_u64(), t["skipped"].as_u64(), t["sampled"].as_u64()), (Some(12), Some(1), Some(4)));
    assert!(close(f(t, "seconds"), 0.6), "{t}");
    let overhead = f(t, "overhead_s");
    assert!((0.0..0.05).contains(&overhead), "a 50 ms task costs little more on loopback: {t}");
    let rows = check_consistent(&report);
    // Every task on one core: 12 on n single-core hosts take ceil(12 / n)
    // rounds of a task's time and its overhead (a round trip hidden).
    let rtt = f(&report["cluster"], "rtt_s");
    for row in &rows {
        let n = row["hosts"].as_u64().unwrap() as f64;
        let piece = 0.05 + overhead;
        let compute = (12.0 / n).ceil() * piece.max((piece + rtt) / 2.0);
        assert!(close(f(row, "compute_s"), compute), "{row}");
    }
    // No tasks: said before any worker is bothered.
    let (child, stdin) = common::spawn_pisubmit_fed(&list, &["bench", "--predict", "farm", "spin"]);
    drop(stdin);
    let run = common::finish(child, std::time::Duration::from_secs(60));
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("no task on stdin"), "{}", run.stderr);
}

#[test]
fn life_and_farm_are_forecast_only() {
    let worker = Worker::start(&["--threads", "1"]);
    for (args, says) in [
        (&["bench", "life", "--generations", "9"][..], "bench --predict life"),
        (&["bench", "--cores", "1", "farm", "spin"], "no fixed amount of work"),
        (&["bench", "--predict", "life"], "--generations N is required"),
        (&["bench", "--predict", "life", "--random", "0.3", "--generations", "0"], "give --generations N (at least 1)"),
    ] {
        let run = pisubmit(&worker.addr(), args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{args:?}: {:?} in {}", says, run.stderr);
    }
}

#[test]
fn a_job_program_is_forecast_from_a_slice_of_its_range() {
    use std::os::unix::fs::PermissionsExt;
    let jobs = common::temp_dir("predict-exec");
    std::fs::set_permissions(&jobs, std::fs::Permissions::from_mode(0o755)).unwrap();
    // A header a piece, whatever its size (4 KB of base64 noise, which
    // packing cannot shrink much), then a line a unit.
    let program = jobs.join("count");
    let body = "#!/bin/sh\nhead -c 3000 /dev/urandom | base64\nseq $PIW_START $(($PIW_END - 1))\n";
    std::fs::write(&program, body).unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    let worker = Worker::start(&["--job-dir", jobs.to_str().unwrap(), "--threads", "2"]);
    let args = ["--json", "bench", "--predict", "--hosts-count", "4", "exec", "count", "--range", "0..4000"];
    let run = pisubmit(&worker.addr(), &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["job"], "exec");
    assert_eq!(report["title"], "exec count, 4000 units");
    let sample = &report["sample"];
    assert!(f(sample, "share") > 0.0 && f(sample, "share") <= 1.0, "{report}");
    assert!((1.0..=2.0).contains(&f(sample, "cores_worth")), "{report}");
    // The header comes once a piece, the numbers once a unit.
    assert!((2000.0..5000.0).contains(&f(sample, "bytes_per_piece")), "{report}");
    assert!(f(sample, "bytes_per_unit") > 0.0, "{report}");
    let rows = check_consistent(&report);
    // exec cuts four pieces a thread: 8 on one host of 2, 32 on four.
    assert_eq!(rows.iter().map(|r| r["pieces"].as_u64().unwrap()).collect::<Vec<_>>(), vec![8, 16, 24, 32]);

    for (args, says) in [
        (&["bench", "--predict", "exec", "count", "--range", "5..5"][..], "--range: 5..5 is empty"),
        (&["bench", "--predict", "exec", "count", "--lines", "/etc/hostname"], "forecasts a job over --range"),
        (&["bench", "exec", "count", "--range", "0..9"], "no fixed amount of work"),
    ] {
        let run = pisubmit(&worker.addr(), args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{args:?}: {:?} in {}", says, run.stderr);
    }
    let _ = std::fs::remove_dir_all(jobs);
}
