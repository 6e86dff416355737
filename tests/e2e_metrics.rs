//! `piworker --metrics` end to end on loopback: Prometheus' own checker
//! (`promtool check metrics`) on the real output of a fake Raspberry Pi
//! (`--host-root`), each metric against the status answer it mirrors,
//! counters that move when a job runs, refusals counted by reason where
//! they happen, --allow, and clients that try to hold the listener (more
//! than its cap, idle, trickling, oversized, wrong method or path) while a
//! scrape and the job port keep working.
//! The Grafana dashboard in packaging/ is checked against the names a
//! real worker exports.

mod common;
#[path = "common/flood.rs"]
mod flood;

use common::{pisubmit, RawClient, Worker};
use flood::connect_from;
use piworker::protocol::{ErrorCode, ErrorMessage, Frame, FrameType};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A Pi 4 that runs hot, has been under-powered and capped, at 1.5 GHz,
/// in a directory of its own for each test (`name`): tests run at once.
fn fake_hot_pi(name: &str) -> PathBuf {
    let root = common::temp_dir(name);
    for (path, text) in [
        ("proc/uptime", "86400.25 1000.00\n"),
        ("proc/loadavg", "1.50 0.75 0.25 2/150 777\n"),
        ("proc/meminfo", "MemTotal:        1000000 kB\nMemAvailable:     400000 kB\n"),
        ("sys/class/thermal/thermal_zone0/type", "cpu-thermal\n"),
        ("sys/class/thermal/thermal_zone0/temp", "71250\n"),
        ("sys/devices/platform/soc/soc:firmware/get_throttled", "0x20002\n"),
        ("sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq", "1500000\n"),
    ] {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    root
}

/// The metrics address a worker logged ("metrics for Prometheus at http://ADDR/metrics").
fn metrics_addr(w: &Worker) -> SocketAddrV4 {
    assert!(w.wait_log("metrics for Prometheus at http://", Duration::from_secs(5)), "{}", w.log());
    let log = w.log();
    let rest = log.split("metrics for Prometheus at http://").nth(1).unwrap();
    rest.split("/metrics").next().unwrap().parse().unwrap_or_else(|e| panic!("{e}: {log}"))
}

/// A worker on loopback with its metrics on a port of the kernel's choosing.
fn worker_with_metrics(extra: &[&str]) -> (Worker, SocketAddrV4) {
    let mut args = vec!["--threads", "1", "--metrics", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    let w = Worker::start(&args);
    let addr = metrics_addr(&w);
    (w, addr)
}

/// Sends `request` from `from` and reads until the worker closes: the
/// whole answer, or what arrived before a reset.
fn exchange_from(from: Ipv4Addr, addr: SocketAddrV4, request: &[u8]) -> String {
    let mut s = connect_from(from, addr).expect("connect to the metrics port");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // A refused connection may be closed before the request is all out;
    // what came back says what happened.
    let _ = s.write_all(request);
    read_until_closed(&mut s)
}

fn exchange(addr: SocketAddrV4, request: &[u8]) -> String {
    exchange_from(Ipv4Addr::LOCALHOST, addr, request)
}

/// Everything until EOF or a reset; a read timeout fails the test (the
/// worker must close every connection it does not answer).
fn read_until_closed(s: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!("the worker neither answered nor closed: {e} (got {:?})", String::from_utf8_lossy(&got)),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// A normal scrape's body, after checking its status line and type.
fn scrape(addr: SocketAddrV4) -> String {
    let reply = exchange(addr, b"GET /metrics HTTP/1.1\r\nHost: pi\r\nAccept: text/plain\r\n\r\n");
    assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
    assert!(reply.contains("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"), "{reply}");
    let (_, body) = reply.split_once("\r\n\r\n").unwrap();
    body.to_string()
}

/// Samples by their full name as written (`name{labels}`).
fn samples(body: &str) -> BTreeMap<String, f64> {
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (name, value) = l.rsplit_once(' ').unwrap_or_else(|| panic!("not a sample: {l}"));
            (name.to_string(), value.parse().unwrap_or_else(|e| panic!("{e}: {l}")))
        })
        .collect()
}

fn value(s: &BTreeMap<String, f64>, name: &str) -> f64 {
    *s.get(name).unwrap_or_else(|| panic!("{name} missing from {s:#?}"))
}

/// Metric family names a scrape declares (`# TYPE name kind`).
fn families(body: &str) -> BTreeSet<String> {
    body.lines().filter_map(|l| l.strip_prefix("# TYPE ")).map(|l| l.split(' ').next().unwrap().to_string()).collect()
}

fn status_of(w: &Worker) -> Value {
    pisubmit(&w.addr(), &["--json", "status"]).json()["hosts"][0].clone()
}

/// `promtool check metrics` on `body`: None when promtool is missing.
fn promtool(body: &str) -> Option<(bool, String)> {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if e.kind() == ErrorKind::NotFound => return None,
        Err(e) => panic!("promtool: {e}"),
    };
    child.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    Some((out.status.success(), said))
}

#[test]
fn promtool_accepts_a_fake_pis_metrics_and_each_mirrors_its_status() {
    let root = fake_hot_pi("metrics-mirrors");
    let (w, addr) = worker_with_metrics(&["--host-root", root.to_str().unwrap()]);
    let body = scrape(addr);
    match promtool(&body) {
        Some((ok, said)) => assert!(ok, "promtool check metrics failed: {said}\n{body}"),
        None => {
            eprintln!("SKIPPED: promtool check (promtool is not installed; scripts/install-build-deps.sh installs it)")
        }
    }
    let m = samples(&body);
    let h = status_of(&w);
    // Build, as the handshake and status tell it.
    let info = format!("piworker_build_info{{version={},protocol={}}}", h["version"], h["protocol"]);
    assert_eq!(value(&m, &info), 1.0, "{body}");
    // The machine's facts, in base units.
    assert_eq!(value(&m, "piworker_soc_temperature_celsius"), h["temp_c"].as_f64().unwrap());
    assert_eq!(value(&m, "piworker_soc_temperature_celsius"), 71.25);
    assert_eq!(value(&m, "piworker_cpu_frequency_hertz"), h["cpu_freq_mhz"].as_f64().unwrap() * 1e6);
    for (i, window) in ["1", "5", "15"].iter().enumerate() {
        assert_eq!(value(&m, &format!("piworker_load{window}")), h["load"][i].as_f64().unwrap(), "load{window}");
    }
    assert_eq!(value(&m, "piworker_memory_total_bytes"), h["mem_total_kib"].as_f64().unwrap() * 1024.0);
    assert_eq!(value(&m, "piworker_memory_available_bytes"), h["mem_available_kib"].as_f64().unwrap() * 1024.0);
    assert_eq!(value(&m, "piworker_system_uptime_seconds"), h["uptime_s"].as_f64().unwrap());
    // The scrape came first: the daemon was younger then.
    assert!(value(&m, "piworker_uptime_seconds") <= h["daemon_uptime_s"].as_f64().unwrap(), "{body}");
    // get_throttled 0x20002: capped now and since boot, nothing else.
    assert_eq!(h["throttled"], "0x20002");
    let set: Vec<&str> =
        m.iter().filter(|(k, v)| k.starts_with("piworker_throttled{") && **v == 1.0).map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        set,
        [
            "piworker_throttled{flag=\"frequency_capped_now\"}",
            "piworker_throttled{flag=\"frequency_capped_since_boot\"}"
        ]
    );
    assert_eq!(m.keys().filter(|k| k.starts_with("piworker_throttled{")).count(), 8);
    assert_eq!(h["throttled_flags"].as_array().unwrap().len(), set.len());
    // The pool and jobs.
    assert_eq!(value(&m, "piworker_compute_threads"), h["threads"].as_f64().unwrap());
    assert_eq!(value(&m, "piworker_jobs_running"), h["jobs_running"].as_f64().unwrap());
    assert_eq!(value(&m, "piworker_tasks_queued"), h["tasks_queued"].as_f64().unwrap());
    assert_eq!(value(&m, "piworker_jobs_served_total"), h["jobs_served"].as_f64().unwrap());
    let busy_threads = m.keys().filter(|k| k.starts_with("piworker_thread_busy_seconds_total{")).count();
    assert_eq!(busy_threads, h["core_busy_ms"].as_array().unwrap().len());
    // This scrape was the only metrics connection.
    assert_eq!(value(&m, "piworker_connections{state=\"metrics\"}"), 1.0);
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn a_machine_without_sensors_leaves_them_out() {
    // An empty root: no thermal zone, no firmware, no cpufreq, no /proc files.
    let root = common::temp_dir("metrics-empty");
    let (_w, addr) = worker_with_metrics(&["--host-root", root.to_str().unwrap()]);
    let body = scrape(addr);
    for absent in ["temperature", "piworker_throttled", "frequency_hertz", "load1", "memory_", "system_uptime"] {
        assert!(!body.contains(absent), "{absent} written without a reading:\n{body}");
    }
    if let Some((ok, said)) = promtool(&body) {
        assert!(ok, "{said}\n{body}");
    }
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn counters_move_when_a_job_runs_and_connections_show_their_state() {
    let (w, addr) = worker_with_metrics(&[]);
    let before = samples(&scrape(addr));
    let run = pisubmit(&w.addr(), &["pi", "--samples", "2e8"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let after = samples(&scrape(addr));
    let grew = |name: &str| value(&after, name) > value(&before, name);
    assert!(grew("piworker_jobs_served_total"), "{before:?}\n{after:?}");
    assert!(grew("piworker_received_bytes_total") && grew("piworker_sent_bytes_total"), "{after:?}");
    assert!(grew("piworker_thread_busy_seconds_total{thread=\"0\"}"), "{after:?}");
    let h = status_of(&w);
    assert_eq!(value(&after, "piworker_jobs_served_total"), h["jobs_served"].as_f64().unwrap());
    let busy_ms = h["core_busy_ms"][0].as_f64().unwrap();
    assert_eq!(value(&after, "piworker_thread_busy_seconds_total{thread=\"0\"}"), busy_ms / 1e3);

    // One connection that finished its handshake, one that has not.
    let _ready = RawClient::handshake(&w);
    let _waiting = RawClient::connect(&w);
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        let m = samples(&scrape(addr));
        let ready = value(&m, "piworker_connections{state=\"ready\"}");
        let handshaking = value(&m, "piworker_connections{state=\"handshaking\"}");
        if (ready, handshaking) == (1.0, 1.0) {
            break;
        }
        assert!(Instant::now() < end, "connections by state never showed 1 ready, 1 handshaking: {m:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn an_address_outside_allow_is_closed_unread() {
    let (w, addr) = worker_with_metrics(&["--allow", "127.0.0.2/32"]);
    // Nothing sent: the answer comes at accept, before a byte could be read.
    let mut outsider = connect_from(Ipv4Addr::LOCALHOST, addr).expect("connect");
    outsider.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let reply = read_until_closed(&mut outsider);
    assert!(reply.is_empty() || reply.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{reply}");
    let logged = "127.0.0.1:";
    assert!(w.wait_log("; metrics connection closed unread", Duration::from_secs(5)), "{}", w.log());
    assert!(w.log().lines().any(|l| l.contains(logged) && l.contains("not in --allow")), "{}", w.log());
    let reply = exchange(addr, b"GET /metrics HTTP/1.1\r\n\r\n");
    assert!(!reply.contains("200 OK"), "{reply}");
    // An allowed address is answered, and sees both refusals counted.
    let allowed = Ipv4Addr::new(127, 0, 0, 2);
    let reply = exchange_from(allowed, addr, b"GET /metrics HTTP/1.1\r\n\r\n");
    assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
    let m = samples(reply.split_once("\r\n\r\n").unwrap().1);
    assert_eq!(value(&m, "piworker_refusals_total{reason=\"not_allowed\"}"), 2.0);
}

#[test]
fn refusals_are_counted_by_reason_where_they_happen() {
    let dir = common::temp_dir("metrics-key");
    let key = common::key_file(&dir, "key", "metrics-test-cluster-key-0123456789", 0o600);
    let (w, addr) = worker_with_metrics(&["--key", key.to_str().unwrap(), "--max-connections", "1"]);
    let reason =
        |m: &BTreeMap<String, f64>, why: &str| value(m, &format!("piworker_refusals_total{{reason=\"{why}\"}}"));
    let before = samples(&scrape(addr));
    assert_eq!(reason(&before, "bad_key"), 0.0);
    // A wrong proof of the key, twice (pisubmit with a wrong key gives up
    // before sending one: the worker's own proof does not check out).
    for _ in 0..2 {
        let mut c = RawClient::handshake(&w);
        c.send(&Frame::new(FrameType::Auth, 0, vec![0x5a; 32]).to_bytes());
        let refusal = c.frame().expect("told why");
        let msg = ErrorMessage::decode(&refusal.payload).unwrap();
        assert_eq!(msg.code, ErrorCode::AuthFailed, "{msg:?}");
    }
    // The one connection allowed is taken: the next head is refused.
    let held = std::process::Command::new(common::PISUBMIT)
        .args(["--hosts", &w.addr(), "--key", key.to_str().unwrap(), "--quiet", "pi", "--samples", "1e12"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut held = KillOnDrop(held);
    w.wait_busy();
    let run = pisubmit(&w.addr(), &["--key", key.to_str().unwrap(), "--connect-timeout", "1", "ping"]);
    assert_ne!(run.code, 0, "a second head got in past --max-connections 1: {}", run.stdout);
    let after = samples(&scrape(addr));
    assert_eq!(reason(&after, "bad_key"), 2.0, "{after:?}");
    assert!(reason(&after, "connections_full") >= 1.0, "{after:?}");
    assert_eq!(reason(&after, "not_allowed"), 0.0, "{after:?}");
    // The held head's pieces are running there meanwhile.
    assert!(value(&after, "piworker_jobs_running") >= 1.0, "{after:?}");
    let _ = held.0.kill();
    let _ = std::fs::remove_dir_all(dir);
}

/// Kills a child process when the test ends, passed or failed.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A connection that sends `prefix` and then one byte every 200 ms until
/// the worker closes it; returns whatever the worker sent back.
fn trickle(addr: SocketAddrV4, prefix: &[u8]) -> std::thread::JoinHandle<String> {
    let mut s = connect_from(Ipv4Addr::LOCALHOST, addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    s.write_all(prefix).unwrap();
    std::thread::spawn(move || {
        let end = Instant::now() + Duration::from_secs(15);
        let mut got = Vec::new();
        let mut chunk = [0u8; 1024];
        while Instant::now() < end {
            if s.write_all(b"a").is_err() {
                break;
            }
            match s.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => break,
            }
        }
        assert!(Instant::now() < end, "a trickling client was never closed");
        String::from_utf8_lossy(&got).into_owned()
    })
}

#[test]
fn clients_that_hold_or_abuse_the_listener_are_closed_and_scrapes_go_on() {
    let (w, addr) = worker_with_metrics(&["--handshake-timeout", "1"]);
    // Wrong method, wrong path, not HTTP, too large: each gets its answer.
    let post = exchange(addr, b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    assert!(post.starts_with("HTTP/1.1 405 Method Not Allowed\r\n") && post.contains("Allow: GET, HEAD"), "{post}");
    let other = exchange(addr, b"GET /debug HTTP/1.1\r\n\r\n");
    assert!(other.starts_with("HTTP/1.1 404 Not Found\r\n"), "{other}");
    let junk = exchange(addr, b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n");
    assert!(junk.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{junk}");
    let mut huge = b"GET /metrics HTTP/1.1\r\nX-Padding: ".to_vec();
    huge.resize(64 * 1024, b'p');
    huge.extend_from_slice(b"\r\n\r\n");
    let big = exchange(addr, &huge);
    assert!(big.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"), "{big:.200}");
    let head = exchange(addr, b"HEAD /metrics HTTP/1.1\r\n\r\n");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n") && head.ends_with("\r\n\r\n"), "{head}");

    // More idle connections than the cap (16), and two tricklers: the
    // oldest unanswered make room, and each is closed by its deadline.
    let idle: Vec<TcpStream> = (0..20).map(|_| connect_from(Ipv4Addr::LOCALHOST, addr).expect("connect")).collect();
    let tricklers = [trickle(addr, b"GET /metrics HTTP/1.1\r\nX-Slow: "), trickle(addr, b"G")];
    // Meanwhile a scrape is answered and the job port serves a job.
    let m = samples(&scrape(addr));
    assert!(value(&m, "piworker_connections{state=\"metrics\"}") <= 16.0, "{m:?}");
    let run = pisubmit(&w.addr(), &["pi", "--samples", "1e7"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for mut s in idle {
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        assert_eq!(read_until_closed(&mut s), "", "an idle client got an answer");
    }
    for t in tricklers {
        let got = t.join().unwrap();
        assert!(!got.contains("200 OK"), "a trickling client was answered: {got}");
    }
    // Afterwards: scrapes still work, and the refusals were counted: 400,
    // 431 and the two tricklers at least as bad requests (idle ones that
    // reached their deadline too), and 23 connections against a cap of 16
    // made at least 4 (7 unless some expired meanwhile) make room.
    let m = samples(&scrape(addr));
    assert!(value(&m, "piworker_refusals_total{reason=\"metrics_bad_request\"}") >= 4.0, "{m:?}");
    assert!(value(&m, "piworker_refusals_total{reason=\"metrics_busy\"}") >= 4.0, "{m:?}");
    assert!(value(&m, "piworker_connections{state=\"metrics\"}") == 1.0, "{m:?}");
    assert_eq!(pisubmit(&w.addr(), &["pi", "--samples", "1e6"]).code, 0);
}

/// Every query (`expr`) of the dashboard, in panel order.
fn dashboard_queries(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(expr)) = map.get("expr") {
                out.push(expr.clone());
            }
            map.values().for_each(|child| dashboard_queries(child, out));
        }
        Value::Array(items) => items.iter().for_each(|child| dashboard_queries(child, out)),
        _ => {}
    }
}

/// `promtool check rules` on the queries as recording rules, with
/// Grafana's variables given values: None when promtool is missing.
fn promtool_parses(queries: &[String]) -> Option<(bool, String)> {
    let dir = common::temp_dir("metrics-rules");
    let rules: String = queries
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let q = q.replace("$__rate_interval", "1m").replace("$instance", ".*");
            format!("      - record: dashboard:query{i}\n        expr: '{}'\n", q.replace('\'', "''"))
        })
        .collect();
    let file = dir.join("dashboard.rules.yml");
    std::fs::write(&file, format!("groups:\n  - name: dashboard\n    rules:\n{rules}")).unwrap();
    let out = match Command::new("promtool").arg("check").arg("rules").arg(&file).output() {
        Ok(out) => out,
        Err(e) if e.kind() == ErrorKind::NotFound => return None,
        Err(e) => panic!("promtool: {e}"),
    };
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let _ = std::fs::remove_dir_all(dir);
    Some((out.status.success(), said))
}

/// Every `piworker_*` name the dashboard's queries use.
fn dashboard_metric_names(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(expr)) = map.get("expr") {
                let mut rest = expr.as_str();
                while let Some(at) = rest.find("piworker_") {
                    let name: String =
                        rest[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                    rest = &rest[at + name.len()..];
                    out.insert(name);
                }
            }
            map.values().for_each(|child| dashboard_metric_names(child, out));
        }
        Value::Array(items) => items.iter().for_each(|child| dashboard_metric_names(child, out)),
        _ => {}
    }
}

#[test]
fn the_grafana_dashboard_parses_and_queries_only_metrics_a_worker_exports() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/packaging/grafana/piworker.json");
    let text = std::fs::read_to_string(path).expect("packaging/grafana/piworker.json");
    let dashboard: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    // Importable: a Prometheus datasource input, panels, a title.
    let inputs = dashboard["__inputs"].as_array().expect("__inputs");
    assert!(inputs.iter().any(|i| i["type"] == "datasource" && i["pluginId"] == "prometheus"), "{inputs:?}");
    assert!(dashboard["title"].is_string() && !dashboard["panels"].as_array().unwrap().is_empty());
    let mut used = BTreeSet::new();
    dashboard_metric_names(&dashboard, &mut used);
    // Each query is PromQL that Prometheus itself parses.
    let mut queries = Vec::new();
    dashboard_queries(&dashboard, &mut queries);
    assert!(queries.len() >= 10, "{queries:?}");
    match promtool_parses(&queries) {
        Some((ok, said)) => assert!(ok, "the dashboard's queries do not parse: {said}"),
        None => eprintln!(
            "SKIPPED: promtool check rules (promtool is not installed; scripts/install-build-deps.sh installs it)"
        ),
    }
    // A real worker on a fake Pi exports every family (sensors included).
    let root = fake_hot_pi("metrics-dashboard");
    let (_w, addr) = worker_with_metrics(&["--host-root", root.to_str().unwrap()]);
    let exported = families(&scrape(addr));
    let unknown: Vec<&String> = used.difference(&exported).collect();
    assert!(unknown.is_empty(), "the dashboard queries {unknown:?}, which no worker exports ({exported:?})");
    for wanted in ["piworker_soc_temperature_celsius", "piworker_load1", "piworker_thread_busy_seconds_total"] {
        assert!(used.contains(wanted), "the dashboard does not show {wanted}");
    }
    assert!(used.contains("piworker_throttled"), "the dashboard does not show throttling");
    let _ = std::fs::remove_dir_all(root);
}
