//! The cluster tools end to end on loopback: `status` (fields of this
//! machine, absent facts as null, answered while every core is busy,
//! `--watch`), a fake Raspberry Pi through `--host-root`, `doctor`'s
//! checks each triggered on purpose, `discover` by UDP probe, and `bench`
//! with an SVG that parses. Discovery across network namespaces is in
//! tests/cluster_netns.rs.

mod common;

use common::{collect, finish, free_port, pisubmit, spawn_pisubmit, Worker, PISUBMIT};
use piworker::protocol::discovery::{parse_probe, Announce};
use piworker::protocol::frame::{decode_frame, PROTOCOL_MAJOR, PROTOCOL_MINOR};
use piworker::protocol::message::Challenge;
use piworker::protocol::{FrameType, Status, Welcome};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn status_json(hosts: &str) -> Value {
    pisubmit(hosts, &["--json", "status"]).json()
}

fn host<'a>(v: &'a Value, address: &str) -> &'a Value {
    v["hosts"].as_array().unwrap().iter().find(|h| h["address"] == address).unwrap_or_else(|| panic!("{address}: {v}"))
}

/// Whether any thermal zone of this machine gives a temperature.
fn has_thermal_zone() -> bool {
    std::fs::read_dir("/sys/class/thermal").is_ok_and(|d| {
        d.flatten()
            .any(|e| std::fs::read_to_string(e.path().join("temp")).is_ok_and(|t| t.trim().parse::<i64>().is_ok()))
    })
}

#[test]
fn status_reports_this_machine_and_absent_facts_as_null() {
    let w = Worker::start(&["--threads", "1"]);
    let v = status_json(&w.addr());
    assert_eq!(v["hosts_total"], 1);
    assert_eq!(v["hosts_up"], 1);
    let h = host(&v, &w.addr());
    assert_eq!(h["state"], "up");
    let hostname = nix::unistd::gethostname().unwrap().into_string().unwrap();
    assert_eq!(h["hostname"], hostname.as_str());
    assert_eq!(h["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(h["protocol"], format!("{PROTOCOL_MAJOR}.{PROTOCOL_MINOR}"));
    assert_eq!(h["threads"], 1);
    assert_eq!(h["listen"], w.addr());
    assert!(h["addresses"].as_array().unwrap().iter().any(|a| a == "127.0.0.1"), "{h}");
    // Facts every Linux machine has.
    assert!(h["uptime_s"].as_f64().unwrap() > 0.0, "{h}");
    assert!(h["daemon_uptime_s"].as_f64().unwrap() >= 0.0, "{h}");
    assert_eq!(h["load"].as_array().unwrap().len(), 3, "{h}");
    let total = h["mem_total_kib"].as_u64().unwrap();
    assert!(total > 0 && h["mem_available_kib"].as_u64().unwrap() <= total, "{h}");
    assert!(h["sysctl"]["net.core.somaxconn"].is_string(), "{h}");
    assert!(h["clock_offset_ms"].as_i64().unwrap().abs() < 1000, "{h}");
    // Facts this machine may lack are null exactly when the machine lacks them.
    assert_eq!(h["model"].is_null(), !Path::new("/proc/device-tree/model").exists(), "{h}");
    assert_eq!(h["temp_c"].is_null(), !has_thermal_zone(), "{h}");
    let cpufreq = Path::new("/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq").exists()
        || Path::new("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_cur_freq").exists();
    assert_eq!(h["cpu_freq_mhz"].is_null(), !cpufreq, "{h}");
    let firmware = Path::new("/sys/devices/platform/soc/soc:firmware/get_throttled").exists();
    if !firmware && which("vcgencmd").is_none() {
        assert!(h["throttled"].is_null() && h["throttled_flags"].is_null(), "{h}");
    }
    assert_eq!((h["jobs_running"].as_u64(), h["jobs_served"].as_u64()), (Some(0), Some(0)), "{h}");
    assert_eq!(h["core_busy_ms"].as_array().unwrap().len(), 1);

    // A job moves the counters.
    let run = pisubmit(&w.addr(), &["pi", "--samples", "3e8"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let h = status_json(&w.addr());
    let h = host(&h, &w.addr());
    assert!(h["jobs_served"].as_u64().unwrap() >= 1, "{h}");
    assert!(h["core_busy_ms"][0].as_u64().unwrap() > 0, "{h}");
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|d| Path::new(d).join(program)).find(|p| p.exists())
}

#[test]
fn status_is_answered_while_every_core_is_busy() {
    let w = Worker::start(&["--threads", "2"]);
    // Four tasks of 4 s on two threads: both threads busy for 8 s.
    let (farm, mut stdin) = common::spawn_pisubmit_fed(&w.addr(), &["--quiet", "farm", "spin"]);
    stdin.write_all(b"4000\n4000\n4000\n4000\n").unwrap();
    w.wait_busy();
    // Wait (bounded) until both threads are in a task.
    let end = Instant::now() + Duration::from_secs(10);
    let h = loop {
        let v = status_json(&w.addr());
        let h = host(&v, &w.addr()).clone();
        if h["threads_busy"] == 2 || Instant::now() > end {
            break h;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // The loop answered while both compute threads were taken: a status
    // queued behind compute would have seen them idle.
    assert_eq!(h["threads_busy"], 2, "{h}");
    // pisubmit keeps two pieces in flight per worker: both are running.
    assert_eq!(h["jobs_running"], 2, "{h}");
    assert_eq!(h["tasks_queued"], 0, "{h}");
    drop(stdin);
    let (status, _, err) = collect(farm, Duration::from_secs(60));
    assert!(status.is_some_and(|s| s.success()), "{err}");
}

/// A fake Raspberry Pi 4 under a directory: what the firmware and kernel
/// would show on a hot, under-powered Pi whose sysctl snippet is missing.
fn fake_pi_root() -> PathBuf {
    let root = std::env::temp_dir().join(format!("piw-fake-pi-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let files = [
        ("proc/device-tree/model", "Raspberry Pi 4 Model B Rev 1.4\0"),
        ("proc/uptime", "12345.67 40000.00\n"),
        ("proc/loadavg", "3.91 3.50 2.75 5/201 4242\n"),
        ("proc/meminfo", "MemTotal:        3884000 kB\nMemFree:          100000 kB\nMemAvailable:    2500000 kB\n"),
        ("sys/class/thermal/thermal_zone0/type", "cpu-thermal\n"),
        ("sys/class/thermal/thermal_zone0/temp", "83500\n"),
        ("sys/devices/platform/soc/soc:firmware/get_throttled", "50005\n"),
        ("sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq", "1000000\n"),
        ("proc/sys/net/core/rmem_max", "212992\n"),
        ("proc/sys/net/core/wmem_max", "4194304\n"),
        ("proc/sys/net/ipv4/tcp_rmem", "4096\t131072\t6291456\n"),
        ("proc/sys/net/ipv4/tcp_wmem", "4096\t131072\t4194304\n"),
        ("proc/sys/net/core/netdev_max_backlog", "4096\n"),
        ("proc/sys/net/core/somaxconn", "4096\n"),
    ];
    for (path, text) in files {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    root
}

fn doctor(hosts: &str, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec!["--json", "doctor", "--wait", "2"];
    args.extend_from_slice(extra);
    let run = pisubmit(hosts, &args);
    let v: Value = serde_json::from_str(run.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {}", run.stdout));
    (run.code, v, run.stderr)
}

/// The findings of `check` (with level) about `host` (a substring).
fn findings<'a>(v: &'a Value, check: &str, host: &str) -> Vec<&'a Value> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == check && f["host"].as_str().unwrap().contains(host))
        .collect()
}

fn level_of(v: &Value, check: &str, host: &str) -> Option<String> {
    findings(v, check, host).first().map(|f| f["level"].as_str().unwrap().to_string())
}

#[test]
fn a_fake_pi_shows_model_heat_throttling_and_wrong_sysctls() {
    let root = fake_pi_root();
    let w = Worker::start(&["--threads", "1", "--host-root", root.to_str().unwrap()]);
    let v = status_json(&w.addr());
    let h = host(&v, &w.addr());
    assert_eq!(h["model"], "Raspberry Pi 4 Model B Rev 1.4");
    assert_eq!(h["temp_c"], 83.5);
    assert_eq!(h["throttled"], "0x50005");
    let flags: Vec<&str> = h["throttled_flags"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    assert_eq!(flags.len(), 4, "{flags:?}");
    assert_eq!(h["cpu_freq_mhz"], 1000.0);
    assert_eq!(h["load"][0], 3.91);
    assert_eq!(h["uptime_s"], 12345.67);
    assert_eq!(h["mem_available_kib"], 2_500_000);
    assert_eq!(h["sysctl"]["net.ipv4.tcp_rmem"], "4096 131072 6291456");

    let (code, d, _) = doctor(&w.addr(), &[]);
    assert_eq!(code, 1, "{d}");
    assert_eq!(level_of(&d, "under_voltage", &w.addr()).as_deref(), Some("warn"), "{d}");
    assert_eq!(level_of(&d, "throttled", &w.addr()).as_deref(), Some("warn"), "{d}");
    assert_eq!(level_of(&d, "hot", &w.addr()).as_deref(), Some("warn"), "{d}");
    let sysctl = findings(&d, "sysctl", &w.addr());
    assert_eq!(sysctl.len(), 1, "{d}");
    let msg = sysctl[0]["message"].as_str().unwrap();
    // Below the snippet: named. Above it (tcp_rmem's maximum, somaxconn): fine.
    assert!(msg.contains("net.core.rmem_max = 212992"), "{msg}");
    assert!(!msg.contains("tcp_rmem") && !msg.contains("somaxconn"), "{msg}");
    assert!(sysctl[0]["fix"].as_str().unwrap().contains("sysctl --system"));
    // The text report says the same to a person, with the fixes.
    let run = pisubmit(&w.addr(), &["doctor"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("under-voltage now") && run.stdout.contains("fix: use the official"), "{}", run.stdout);
    assert!(run.stderr.contains("doctor found"), "{}", run.stderr);
    let _ = std::fs::remove_dir_all(root);
}

/// A worker of another version, speaking the protocol by hand: it welcomes
/// every client and answers status requests, with its clock `skew_ms` off.
fn fake_worker(software: &'static str, skew_ms: i64) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || serve_fake(stream, software, skew_ms));
        }
    });
    port
}

fn serve_fake(mut stream: std::net::TcpStream, software: &str, skew_ms: i64) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        while let Ok(Some((frame, used))) = decode_frame(&buf, 1 << 20) {
            buf.drain(..used);
            let reply = match frame.header.frame_type {
                FrameType::Hello => Welcome {
                    protocol_major: PROTOCOL_MAJOR,
                    protocol_minor: PROTOCOL_MINOR,
                    software: software.into(),
                    hostname: "oldpi".into(),
                    arch: "arm64".into(),
                    threads: 4,
                    max_frame: 1 << 20,
                    challenge: Challenge::Open,
                }
                .encode(),
                FrameType::StatusRequest => {
                    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
                    Status {
                        hostname: "oldpi".into(),
                        software: software.into(),
                        protocol_major: PROTOCOL_MAJOR,
                        protocol_minor: PROTOCOL_MINOR,
                        arch: "arm64".into(),
                        threads: 4,
                        listen: "0.0.0.0:31415".into(),
                        unix_time_ms: (now + skew_ms) as u64,
                        ..Status::default()
                    }
                    .encode(frame.header.job_id)
                }
                _ => continue,
            };
            if stream.write_all(&reply.to_bytes()).is_err() {
                return;
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Something on the port that is not a piworker (a web server, say).
fn stranger() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        }
    });
    port
}

#[test]
fn doctor_names_each_problem_with_a_fix() {
    let w = Worker::start(&["--threads", "1"]);
    let closed = free_port();
    let old = fake_worker("0.0.9", 0);
    let skewed = fake_worker(env!("CARGO_PKG_VERSION"), 42_000);
    let web = stranger();
    let hosts = format!(
        "{},localhost:{},127.0.0.1:{closed},127.0.0.1:{old},127.0.0.1:{skewed},127.0.0.1:{web}",
        w.addr(),
        w.port
    );
    let (code, d, err) = doctor(&hosts, &[]);
    assert_eq!(code, 1, "{err}");
    let a = w.addr();
    assert_eq!(level_of(&d, "reachable", &a).as_deref(), Some("ok"), "{d}");
    // Listening on loopback is only a note when the head is the same machine.
    assert_eq!(level_of(&d, "listens_on_loopback", &a).as_deref(), Some("note"), "{d}");
    // `localhost` resolves to loopback here, said as a note.
    assert_eq!(level_of(&d, "name_is_loopback_here", "localhost").as_deref(), Some("note"), "{d}");
    // The same worker under two names.
    assert_eq!(level_of(&d, "listed_twice", "localhost").as_deref(), Some("warn"), "{d}");
    assert_eq!(level_of(&d, "closed", &format!(":{closed}")).as_deref(), Some("fail"), "{d}");
    let skew = findings(&d, "version_skew", &format!(":{old}"));
    assert_eq!(skew.len(), 1, "{d}");
    assert!(skew[0]["message"].as_str().unwrap().contains("0.0.9"), "{d}");
    let clock = findings(&d, "clock_skew", &format!(":{skewed}"));
    assert_eq!(clock.len(), 1, "{d}");
    assert!(clock[0]["message"].as_str().unwrap().contains("42.0 s ahead"), "{d}");
    assert!(clock[0]["fix"].as_str().unwrap().contains("timedatectl"), "{d}");
    assert!(findings(&d, "clock_skew", &a).is_empty(), "{d}");
    let refused = findings(&d, "refused", &format!(":{web}"));
    assert_eq!(refused.len(), 1, "{d}");
    assert!(refused[0]["message"].as_str().unwrap().contains("not a piworker"), "{d}");
    // A mix of architectures is shown, as a note.
    assert_eq!(level_of(&d, "mixed_arch", "").as_deref(), Some("note"), "{d}");
    // Every problem comes with a fix.
    for f in d["findings"].as_array().unwrap() {
        if f["level"] == "warn" || f["level"] == "fail" {
            assert!(!f["fix"].as_str().unwrap().is_empty(), "no fix: {f}");
        }
    }
    // status shows every host, the unreachable ones as such.
    let v = status_json(&hosts);
    assert_eq!(v["hosts_total"], 6);
    assert_eq!(host(&v, &format!("127.0.0.1:{closed}"))["state"], "unreachable");
    assert_eq!(host(&v, &format!("127.0.0.1:{web}"))["state"], "refused");
}

#[test]
fn doctor_sees_a_worker_clock_off_by_a_minute() {
    if which("faketime").is_none() {
        if std::env::var_os("CI").is_some() {
            panic!("faketime is missing in CI (scripts/install-build-deps.sh installs it)");
        }
        eprintln!("\n##### SKIPPED doctor_sees_a_worker_clock_off_by_a_minute: `faketime` is not installed #####\n");
        return;
    }
    // A real piworker whose wall clock (not its monotonic one) is 75 s behind.
    let mut cmd = Command::new("faketime");
    // Its own process group: faketime forks, and the worker must die with
    // the test, not linger as an orphan.
    cmd.args(["-f", "-75s", common::PIWORKER, "--listen", "127.0.0.1:0", "--threads", "1"])
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .process_group(0);
    let w = Worker::spawn(cmd);
    let (code, d, _) = doctor(&w.addr(), &[]);
    assert_eq!(code, 1);
    let clock = findings(&d, "clock_skew", &w.addr());
    assert_eq!(clock.len(), 1, "{d}");
    let msg = clock[0]["message"].as_str().unwrap();
    assert!(msg.contains("behind") && (msg.contains("75.0 s") || msg.contains("74.9 s")), "{msg}");
}

#[test]
fn status_watch_redraws_until_interrupted() {
    let w = Worker::start(&["--threads", "1"]);
    let child = spawn_pisubmit(&w.addr(), &["status", "--watch", "--every", "0.2"]);
    std::thread::sleep(Duration::from_millis(1200));
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGINT).unwrap();
    let run = finish(child, Duration::from_secs(10));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let frames = run.stdout.matches("1 host,").count();
    assert!(frames >= 2, "expected several redraws, got {frames}:\n{}", run.stdout);
}

#[test]
fn discover_finds_workers_by_udp_probe_and_warns_about_versions() {
    let a = Worker::start(&["--threads", "1"]);
    let b = Worker::start(&["--threads", "1"]);
    let quiet = Worker::start(&["--threads", "1", "--no-discovery"]);
    // Something answering probes as an older piworker.
    let old = UdpSocket::bind("127.0.0.1:0").unwrap();
    let old_port = old.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = old.recv_from(&mut buf) {
            if let Ok(token) = parse_probe(&buf[..n]) {
                let announce = Announce {
                    software: "0.0.9".into(),
                    protocol_major: 1,
                    protocol_minor: 1,
                    hostname: "oldpi".into(),
                    arch: "armhf".into(),
                    threads: 4,
                    port: old_port,
                    key_required: false,
                };
                let _ = old.send_to(&announce.encode(token), from);
            }
        }
    });
    let ports = format!("{},{},{},{old_port}", a.port, b.port, quiet.port);
    let out = Command::new(PISUBMIT)
        .args(["discover", "--subnet", "127.0.0.1/32", "--port", &ports, "--wait", "1"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains(&a.addr()) && stdout.contains(&b.addr()), "{stdout}");
    assert!(!stdout.contains(&quiet.addr()), "--no-discovery answered:\n{stdout}");
    assert!(stdout.contains(&format!("127.0.0.1:{old_port}")) && stdout.contains("oldpi"), "{stdout}");
    assert!(stderr.contains("runs piworker 0.0.9"), "{stderr}");
    // The output is a hosts file: pisubmit takes it as it is.
    let file = std::env::temp_dir().join(format!("piw-discovered-{}", std::process::id()));
    let found: String = stdout.lines().filter(|l| !l.contains("oldpi")).map(|l| format!("{l}\n")).collect();
    std::fs::write(&file, found).unwrap();
    let run = pisubmit(&format!("@{}", file.display()), &["--json", "pi", "--samples", "1e6"]);
    assert_eq!(run.json()["hosts"].as_array().unwrap().len(), 2);
    let _ = std::fs::remove_file(file);
}

#[test]
fn bench_prints_a_scaling_table_and_an_svg_that_parses() {
    let a = Worker::start(&["--threads", "1"]);
    let b = Worker::start(&["--threads", "1"]);
    let svg = std::env::temp_dir().join(format!("piw-bench-{}.svg", std::process::id()));
    let hosts = format!("{},{}", a.addr(), b.addr());
    let run = pisubmit(
        &hosts,
        &["bench", "--cores", "1,2", "--repeat", "2", "--svg", svg.to_str().unwrap(), "pi", "--samples", "4e7"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows: Vec<Vec<&str>> = run
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f.len() == 6 && f[0].parse::<usize>().is_ok())
        .collect();
    assert_eq!(rows.len(), 2, "{}", run.stdout);
    assert_eq!((rows[0][0], rows[0][1], rows[0][4], rows[0][5]), ("1", "1", "1.00", "100%"), "{}", run.stdout);
    assert_eq!((rows[1][0], rows[1][1]), ("2", "2"), "{}", run.stdout);
    assert!(run.stdout.contains("answer 3.14"), "{}", run.stdout);
    let text = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("the SVG does not parse: {e}\n{text}"));
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let markers = doc.descendants().filter(|n| n.attribute("class") == Some("marker")).count();
    assert_eq!(markers, 2, "one marker per core count");
    assert!(doc.descendants().any(|n| n.attribute("class") == Some("ideal")));
    let _ = std::fs::remove_file(svg);
    // More cores than the cluster has is a usage error naming the count.
    let run = pisubmit(&hosts, &["bench", "--cores", "1,3", "pi", "--samples", "1e6"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--cores 3") && run.stderr.contains("2 threads"), "{}", run.stderr);
}

#[test]
fn a_threads_limit_in_the_host_list_is_kept_by_the_worker() {
    let w = Worker::start(&["--threads", "2"]);
    // About 3 s of darts on one core.
    let job = spawn_pisubmit(&format!("{}/1", w.addr()), &["--quiet", "pi", "--samples", "4e9"]);
    w.wait_busy();
    let mut seen = Vec::new();
    for _ in 0..10 {
        let v = status_json(&w.addr());
        seen.push(host(&v, &w.addr())["threads_busy"].as_u64().unwrap());
        std::thread::sleep(Duration::from_millis(100));
    }
    // Never both threads, though the job has work for both.
    assert!(seen.iter().all(|&b| b <= 1) && seen.contains(&1), "threads busy over time: {seen:?}");
    let run = finish(job, Duration::from_secs(60));
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn doctor_tells_a_refused_address_and_a_full_worker_apart() {
    let outsider = Worker::start(&["--threads", "1", "--allow", "127.0.0.2/32"]);
    let full = Worker::start(&["--threads", "1", "--max-connections", "1"]);
    let _held = common::RawClient::handshake(&full);
    let (code, d, err) = doctor(&format!("{},{}", outsider.addr(), full.addr()), &[]);
    assert_eq!(code, 1, "{err}");
    let refused = findings(&d, "not_allowed", &outsider.addr());
    assert_eq!(refused.len(), 1, "{d}");
    assert_eq!(refused[0]["level"], "fail", "{d}");
    assert!(refused[0]["message"].as_str().unwrap().contains("your address 127.0.0.1 is not allowed"), "{d}");
    assert!(refused[0]["fix"].as_str().unwrap().contains("--allow in /etc/default/piworker"), "{d}");
    let busy = findings(&d, "busy", &full.addr());
    assert_eq!(busy.len(), 1, "{d}");
    assert!(busy[0]["message"].as_str().unwrap().contains("at its limit of 1 connections"), "{d}");
}
