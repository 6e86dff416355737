//! Every job through pisubmit against real piworker processes on loopback,
//! with 1 and with 3 workers: the answers must be right and identical.

mod common;

use common::{hosts, pisubmit, temp_dir, Worker};
use serde_json::Value;
use std::path::PathBuf;

/// Runs `args` on one worker and on three, checks both succeed with the
/// same result, and returns the three-worker JSON.
fn same_on_1_and_3(one: &str, three: &str, args: &[&str]) -> Value {
    let mut json_args = vec!["--json"];
    json_args.extend_from_slice(args);
    let a = pisubmit(one, &json_args).json();
    let b = pisubmit(three, &json_args).json();
    assert_eq!(a["result"], b["result"], "{args:?}: 1 worker vs 3 workers");
    assert_eq!(a["job"], b["job"]);
    assert_eq!(b["hosts"].as_array().map(Vec::len), Some(3));
    let pieces: i64 = b["hosts"].as_array().unwrap().iter().map(|h| h["pieces"].as_i64().unwrap()).sum();
    assert!(pieces >= 1, "pieces are counted: {b}");
    b
}

#[test]
fn every_job_gives_the_same_answer_on_one_and_three_workers() {
    let w: Vec<Worker> = (0..3).map(|_| Worker::start(&[])).collect();
    let one = hosts(&[&w[0]]);
    let three = hosts(&[&w[0], &w[1], &w[2]]);

    // Seed 000's instance and its closed form.
    let v = same_on_1_and_3(&one, &three, &["loopsum"]);
    assert_eq!(v["result"], 64032004000000i64);
    assert!(v["wall_ms"].as_f64().is_some());
    // A scaled loop whose float sum depends on order unless merged exactly.
    let v = same_on_1_and_3(&one, &three, &["loopsum", "--t-range", "-300..9001", "--u-len", "7001", "--c", "0.1"]);
    assert!(v["result"].as_f64().unwrap() != 0.0);

    let v = same_on_1_and_3(&one, &three, &["pi", "--samples", "1000000", "--seed", "7"]);
    assert_eq!(v["samples"], 1_000_000);
    let est = v["result"].as_f64().unwrap();
    assert!((est - std::f64::consts::PI).abs() < 0.01, "{est}");
    assert_eq!(v["inside"].as_u64().unwrap() as f64 * 4.0 / 1e6, est);

    let v = same_on_1_and_3(&one, &three, &["primes", "--from", "1", "--to", "1000000"]);
    assert_eq!((v["result"].as_u64(), v["max"].as_u64()), (Some(78_498), Some(999_983)));
    let v = same_on_1_and_3(&one, &three, &["primes", "--from", "1", "--to", "100000000"]);
    assert_eq!(v["result"], 5_761_455);

    let v = same_on_1_and_3(&one, &three, &["powers", "--nums", "1,2,3,4,5,6", "--exps", "1,2,3,4,5"]);
    assert_eq!(v["result"][1], serde_json::json!([1, 4, 9, 16, 25, 36]));
    assert_eq!(v["result"][4][5], 7776);

    let dir = temp_dir("e2e-jobs");
    let text = dir.join("longs.txt");
    // Seed 002's payload: a long list of long integers, as text.
    let body: String = (0..200_000u64).map(|i| format!("{}\n", 1_234_567_890_123_456u64 + i)).collect();
    std::fs::write(&text, body).unwrap();
    let input = text.to_str().unwrap();
    let v = same_on_1_and_3(&one, &three, &["reduce", "--op", "count", "--input", input]);
    assert_eq!(v["result"], 200_000);
    let v = same_on_1_and_3(&one, &three, &["reduce", "--op", "max", "--input", input]);
    assert_eq!(v["result"], 1_234_567_890_323_455i64);
    let bin = dir.join("values.i64");
    let values: Vec<u8> = (0..3_000_000i64).flat_map(|i| (i * 3 - 7).to_be_bytes()).collect();
    std::fs::write(&bin, values).unwrap();
    let v =
        same_on_1_and_3(&one, &three, &["reduce", "--op", "sum", "--dtype", "i64be", "--input", bin.to_str().unwrap()]);
    let n = 3_000_000i64;
    assert_eq!(v["result"], 3 * n * (n - 1) / 2 - 7 * n);
    let v =
        same_on_1_and_3(&one, &three, &["reduce", "--op", "min", "--dtype", "f64be", "--input", bin.to_str().unwrap()]);
    assert!(v["result"].is_number(), "i64 bytes read as f64 still fold: {v}");

    let v = same_on_1_and_3(&one, &three, &["echo", "--bytes", "20000000"]);
    assert_eq!(v["result"], 20_000_000);
    let v = same_on_1_and_3(&one, &three, &["echo", "--bytes", "0"]);
    assert_eq!(v["result"], 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn primes_output_file_is_identical_and_sorted() {
    let w: Vec<Worker> = (0..3).map(|_| Worker::start(&[])).collect();
    let dir = temp_dir("e2e-primes");
    let (a, b) = (dir.join("one.txt"), dir.join("three.txt"));
    let args = |p: &PathBuf| {
        vec![
            "primes".to_string(),
            "--from".into(),
            "1000".into(),
            "--to".into(),
            "40000000".into(),
            "--output".into(),
            p.display().to_string(),
        ]
    };
    let ra = pisubmit(&hosts(&[&w[0]]), &args(&a).iter().map(String::as_str).collect::<Vec<_>>());
    let rb = pisubmit(&hosts(&[&w[0], &w[1], &w[2]]), &args(&b).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!((ra.code, rb.code), (0, 0), "{} {}", ra.stderr, rb.stderr);
    let (ta, tb) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert!(ta == tb, "the output files differ");
    let primes: Vec<u64> = String::from_utf8(ta).unwrap().lines().map(|l| l.parse().unwrap()).collect();
    assert_eq!(primes.len(), 2_433_654 - 168); // pi(4e7) - pi(1000)
    assert_eq!(primes.first(), Some(&1009));
    assert!(primes.windows(2).all(|p| p[0] < p[1]), "sorted, no duplicates");
    assert!(!dir.join("one.txt.partial").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn ping_reports_every_worker() {
    let w: Vec<Worker> = (0..2).map(|_| Worker::start(&["--threads", "1"])).collect();
    let v = pisubmit(&hosts(&[&w[0], &w[1]]), &["--json", "ping"]).json();
    let hosts = v["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 2);
    for h in hosts {
        assert_eq!(h["threads"], 1);
        assert_eq!(h["version"], env!("CARGO_PKG_VERSION"));
        assert!(!h["hostname"].as_str().unwrap().is_empty());
        assert!(h["rtt_ms"].as_f64().unwrap() > 0.0);
    }
    let text = pisubmit(&common::hosts(&[&w[0]]), &["ping"]);
    assert_eq!(text.code, 0);
    assert!(text.stdout.contains("1 workers answered"), "{}", text.stdout);
}

#[test]
fn thread_override_in_the_host_spec_is_used() {
    let w = Worker::start(&[]);
    let v = pisubmit(&format!("{}/1", w.addr()), &["--json", "loopsum"]).json();
    assert_eq!(v["hosts"][0]["threads"], 1);
    assert_eq!(v["result"], 64032004000000i64);
}

#[test]
fn hosts_come_from_a_file_or_the_environment() {
    let w = Worker::start(&[]);
    let dir = temp_dir("e2e-hostsfile");
    let file = dir.join("pi_list.txt");
    std::fs::write(&file, format!("# my cluster\n{}  # the only Pi\n\n", w.addr())).unwrap();
    let v = pisubmit(&format!("@{}", file.display()), &["--json", "pi", "--samples", "1000"]).json();
    assert_eq!(v["samples"], 1000);
    let out = std::process::Command::new(common::PISUBMIT)
        .args(["--json", "loopsum"])
        .env("PISUBMIT_HOSTS", w.addr())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::remove_dir_all(&dir).unwrap();
}
