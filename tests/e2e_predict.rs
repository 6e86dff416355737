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
