//! A real multi-host cluster on one machine: four "Pis" as network
//! namespaces pwc1..pwc4 (198.18.1.11..14, made by scripts/netns-cluster.sh),
//! a piworker listening on :31415 in each, pisubmit on the head
//! (198.18.1.1). Every job must give the same answer on 1 host and on 4, and
//! a long job must still give the 1-host answer when, mid-job, a worker is
//! killed, frozen, cut off by a pulled cable, joins late, or sits behind a
//! lossy switch port (nftables). Each case states and asserts how long it may take.
//!
//! Needs root (namespaces, veths, nftables). Without root the tests say loudly that
//! they were skipped; in CI (`CI` set) that is a failure. The tests share the
//! namespace names, so they run one at a time (a process-wide lock held by
//! the cluster guard), and the guard's Drop kills the workers and removes
//! every namespace and link, also when an assertion fails.

mod common;

use common::{cpu_seconds, finish, spawn_pisubmit, wait_child, Run, Worker, PIWORKER};
use serde_json::Value;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/netns-cluster.sh");
const PORT: u16 = 31415;

/// The long job of the fault tests: 10^10 terms, about 8 s on this 2-core
/// machine however many of the 4 workers share the cores. Long enough that
/// a fault injected after the first second lands mid-job, and that a host
/// coming up after a second still finds pieces to do.
const LONG: [&str; 5] = ["loopsum", "--t-range", "0..100001", "--u-len", "100001"];

/// Holds the cluster's namespace names; taken by `Cluster::up`.
static SERIAL: Mutex<()> = Mutex::new(());

/// Progress and timings: captured by the test harness, so shown when a test
/// fails or with --nocapture. (SKIPPED notices bypass the capture.)
fn say(msg: &str) {
    eprintln!("[cluster] {msg}");
}

/// Why these tests cannot run here, if they cannot.
fn missing_prerequisite() -> Option<String> {
    if !nix::unistd::Uid::effective().is_root() {
        return Some("they need root (network namespaces, veth pairs, a bridge, nftables)".into());
    }
    let ip = Command::new("ip").arg("-V").output();
    if !ip.map(|o| o.status.success()).unwrap_or(false) {
        return Some("the `ip` command (iproute2) is missing".into());
    }
    None
}

fn run_quiet(cmd: &str, args: &[&str]) -> Result<String, String> {
    let out =
        Command::new(cmd).args(args).stdin(Stdio::null()).output().map_err(|e| format!("cannot run {cmd}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "`{cmd} {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn must(cmd: &str, args: &[&str]) -> String {
    run_quiet(cmd, args).unwrap_or_else(|e| panic!("{e}"))
}

/// Namespaces of ours that `ip netns list` still shows.
fn leftover_namespaces() -> Vec<String> {
    run_quiet("ip", &["netns", "list"])
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|ns| ns.strip_prefix("pwc").is_some_and(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit())))
        .map(str::to_string)
        .collect()
}

/// N test hosts with a piworker each. Dropping it kills the workers (a
/// frozen one is thawed first) and removes the namespaces, veths and bridge.
struct Cluster {
    n: usize,
    workers: Vec<Option<Worker>>,
    started: Instant,
    // Last, so it is released after Drop::drop has torn everything down.
    _serial: MutexGuard<'static, ()>,
}

impl Cluster {
    /// Makes `n` hosts and starts workers on hosts 1..=`running`; None (after
    /// a loud message) when the tests cannot run here and this is not CI.
    fn up(test: &str, n: usize, running: usize) -> Option<Cluster> {
        if let Some(why) = missing_prerequisite() {
            if std::env::var_os("CI").is_some() {
                panic!("{test}: the network-namespace cluster tests cannot run in CI: {why}");
            }
            let _ = writeln!(
                std::io::stderr(),
                "\n################################################################\n\
                 # SKIPPED: {test}\n\
                 #   the multi-host cluster tests (tests/cluster_netns.rs) did not run:\n\
                 #   {why}\n\
                 # Run them with: sudo cargo test --release --test cluster_netns\n\
                 ################################################################\n"
            );
            return None;
        }
        let serial = SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // `up` removes whatever an earlier, killed run left behind.
        must("bash", &[SCRIPT, "up", &n.to_string()]);
        let mut cluster =
            Cluster { n, workers: (0..n).map(|_| None).collect(), started: Instant::now(), _serial: serial };
        for k in 1..=running {
            cluster.start_worker(k);
        }
        say(&format!("{test}: {n} hosts up, {running} workers listening"));
        Some(cluster)
    }

    fn ip(k: usize) -> String {
        format!("198.18.1.{}", 10 + k)
    }

    fn addr(k: usize) -> String {
        format!("{}:{PORT}", Cluster::ip(k))
    }

    /// The --hosts spec for hosts 1..=k.
    fn first(k: usize) -> String {
        (1..=k).map(Cluster::addr).collect::<Vec<_>>().join(",")
    }

    fn all(&self) -> String {
        Cluster::first(self.n)
    }

    /// Starts host k's worker in its namespace and waits (bounded) until
    /// the head can connect to it.
    fn start_worker(&mut self, k: usize) {
        assert!(self.workers[k - 1].is_none(), "pwc{k} already has a worker");
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &format!("pwc{k}"), PIWORKER])
            .args(["--listen", &Cluster::addr(k), "--allow", "198.18.1.0/24"])
            .env("RUST_LOG", "info");
        // Waits (10 s at most) for the "listening on" line.
        let worker = Worker::spawn(cmd);
        // `ip netns exec` execs the command, so the child is the worker
        // itself and signals reach it.
        let comm = std::fs::read_to_string(format!("/proc/{}/comm", worker.pid())).unwrap_or_default();
        assert_eq!(comm.trim(), "piworker", "pwc{k}: the child is not piworker");
        let sock: SocketAddr = Cluster::addr(k).parse().unwrap();
        let end = Instant::now() + Duration::from_secs(10);
        let mut last = None;
        while Instant::now() < end {
            match TcpStream::connect_timeout(&sock, Duration::from_secs(1)) {
                Ok(_) => {
                    last = None;
                    break;
                }
                Err(e) => last = Some(e),
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if let Some(e) = last {
            panic!("the worker on pwc{k} does not answer at {sock}: {e}");
        }
        self.workers[k - 1] = Some(worker);
    }

    fn worker(&self, k: usize) -> &Worker {
        self.workers[k - 1].as_ref().expect("no worker on that host")
    }

    fn signal(&self, k: usize, sig: nix::sys::signal::Signal) {
        say(&format!("{sig:?} to the worker on pwc{k}"));
        self.worker(k).signal(sig);
    }

    /// Pulls (or plugs back) host k's cable: its veth on the bridge side.
    fn link(&self, k: usize, up: bool) {
        let state = if up { "up" } else { "down" };
        say(&format!("link vpwc{k} {state}"));
        must("ip", &["link", "set", &format!("vpwc{k}"), state]);
    }

    /// Waits (bounded by `within`) until host k's worker has used `cpu`
    /// seconds of CPU, i.e. is in the middle of the job; fails the test if
    /// the job ends first.
    fn wait_busy(&self, k: usize, cpu: f64, job: &mut Submit, within: Duration) {
        let pid = self.worker(k).pid();
        let start = cpu_seconds(pid);
        let end = Instant::now() + within;
        while Instant::now() < end {
            if cpu_seconds(pid) - start >= cpu {
                return;
            }
            if !job.running() {
                let run = finish(job.child.take().unwrap(), Duration::from_secs(5));
                panic!("the job ended (exit {}) before pwc{k} was {cpu} s into it: {}", run.code, run.stderr.trim());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("pwc{k}'s worker did not use {cpu} s of CPU within {within:?}");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let failing = std::thread::panicking();
        for (i, w) in self.workers.iter_mut().enumerate() {
            if let Some(w) = w {
                // A frozen worker is thawed, then killed (Worker's Drop).
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(w.pid()), nix::sys::signal::Signal::SIGCONT);
                let _ = w.child.kill();
                let _ = wait_child(&mut w.child, Duration::from_secs(5));
                if failing {
                    let log = w.log();
                    let tail: Vec<&str> = log.lines().rev().take(15).collect();
                    let tail: Vec<&str> = tail.into_iter().rev().collect();
                    say(&format!("--- last lines of pwc{}'s worker ---\n{}", i + 1, tail.join("\n")));
                }
            }
        }
        self.workers.clear();
        if let Err(e) = run_quiet("bash", &[SCRIPT, "down"]) {
            say(&format!("teardown: {e}"));
        }
        let left = leftover_namespaces();
        say(&format!("cluster down after {:.1} s", self.started.elapsed().as_secs_f64()));
        // Not while unwinding: a second panic would abort the whole run.
        if !failing {
            assert!(left.is_empty(), "namespaces left after teardown: {left:?}");
        }
    }
}

/// A pisubmit run in the background; killed if the test fails before it ends.
struct Submit {
    child: Option<Child>,
    started: Instant,
}

impl Submit {
    fn start(hosts: &str, args: &[&str]) -> Submit {
        say(&format!("pisubmit --hosts {hosts} {}", args.join(" ")));
        Submit { child: Some(spawn_pisubmit(hosts, args)), started: Instant::now() }
    }

    fn running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// Waits for the end; fails the test if it takes longer than `bound`
    /// from the start. Returns what it printed and how long it took.
    fn finish(mut self, bound: Duration) -> (Run, Duration) {
        let child = self.child.take().expect("finished once");
        let run = finish(child, bound.saturating_sub(self.started.elapsed()));
        let took = self.started.elapsed();
        say(&format!(
            "  exit {} after {:.2} s{}",
            run.code,
            took.as_secs_f64(),
            if run.code == 0 { String::new() } else { format!(": {}", run.stderr.trim()) }
        ));
        assert!(took <= bound, "took {took:?}, more than the bound of {bound:?}");
        (run, took)
    }
}

impl Drop for Submit {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs a job to the end, within `bound`.
fn submit(hosts: &str, args: &[&str], bound: Duration) -> (Run, Duration) {
    Submit::start(hosts, args).finish(bound)
}

/// The answer part of a --json object: everything but timings and hosts.
fn answer(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("wall_ms");
        o.remove("hosts");
    }
    v
}

fn with_json<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    all
}

/// The hosts of a --json object, checked to carry every field the report
/// promises, and the entry for `addr`.
fn host<'a>(v: &'a Value, addr: &str) -> &'a Value {
    let hosts = v["hosts"].as_array().expect("hosts array");
    for h in hosts {
        assert!(h["address"].is_string(), "address: {h}");
        for field in ["threads", "pieces", "failures", "busy_ms"] {
            assert!(h[field].is_number(), "{field}: {h}");
        }
        let state = h["state"].as_str().unwrap_or("");
        assert!(["ok", "lost", "unreachable"].contains(&state), "state must be ok, lost or unreachable: {h}");
    }
    hosts.iter().find(|h| h["address"] == addr).unwrap_or_else(|| panic!("no host {addr} in {v}"))
}

/// The long job's answer on host 1 alone, without faults: computed once per
/// test process (about 8 s) and checked against the closed form.
fn long_reference() -> &'static Value {
    static REFERENCE: OnceLock<Value> = OnceLock::new();
    REFERENCE.get_or_init(|| {
        // 8 s here; 3 minutes for a slow shared machine.
        let (run, _) = submit(&Cluster::first(1), &with_json(&LONG), Duration::from_secs(180));
        let v = run.json();
        // sum t*u = (sum t)^2, every term exact in f64, rounded once.
        let s: u128 = 100_000 * 100_001 / 2;
        assert_eq!(v["result"].as_f64(), Some((s * s) as f64), "{v}");
        answer(&v)
    })
}

/// A scratch directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("piworker-cluster-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// (a) Every job gives the same answer, and the same output file, on 1 host
/// and on 4. Bound: 150 s for the whole test (about 10 s here).
#[test]
fn every_job_same_on_1_and_4_hosts() {
    let Some(cluster) = Cluster::up("every_job_same_on_1_and_4_hosts", 4, 4) else {
        return;
    };
    let start = Instant::now();
    let bound = Duration::from_secs(150);
    let (one, four) = (Cluster::first(1), cluster.all());
    let dir = TempDir::new("jobs");

    let text = dir.path("longs.txt");
    let body: String = (0..200_000u64).map(|i| format!("{}\n", 1_234_567_890_123_456u64 + i)).collect();
    std::fs::write(&text, body).unwrap();
    let bin = dir.path("values.i64");
    let values: Vec<u8> = (0..3_000_000i64).flat_map(|i| (i * 3 - 7).to_be_bytes()).collect();
    std::fs::write(&bin, values).unwrap();
    let floats = dir.path("values.f64");
    let values: Vec<u8> = (0..2_000_000u64).flat_map(|i| ((i as f64).sin() * 1e10 + 0.1).to_be_bytes()).collect();
    std::fs::write(&floats, values).unwrap();

    let jobs: Vec<Vec<&str>> = vec![
        vec!["loopsum"],
        // About 1.5 s: a float sum that depends on order unless merged exactly.
        vec!["loopsum", "--t-range", "-300..45001", "--u-len", "40001", "--c", "0.1"],
        vec!["pi", "--samples", "1e8", "--seed", "7"],
        vec!["primes", "--from", "1", "--to", "1e8"],
        vec!["powers", "--nums", "1,2,3,4,5,6", "--exps", "1,2,3,4,5"],
        vec!["reduce", "--op", "sum", "--input", &text],
        vec!["reduce", "--op", "max", "--input", &text],
        vec!["reduce", "--op", "sum", "--dtype", "i64be", "--input", &bin],
        vec!["reduce", "--op", "sum", "--dtype", "f64be", "--input", &floats],
        vec!["reduce", "--op", "min", "--dtype", "f64be", "--input", &floats],
        vec!["echo", "--bytes", "30e6"],
    ];
    let mut answers = Vec::new();
    for job in &jobs {
        let (a, _) = submit(&one, &with_json(job), Duration::from_secs(60));
        let (b, _) = submit(&four, &with_json(job), Duration::from_secs(60));
        let (a, b) = (a.json(), b.json());
        assert_eq!(answer(&a), answer(&b), "{job:?}: 1 host vs 4 hosts");
        assert!(!a["result"].is_null(), "{job:?}: no result: {a}");
        let pieces: Vec<i64> =
            b["hosts"].as_array().unwrap().iter().map(|h| h["pieces"].as_i64().unwrap_or(-1)).collect();
        assert_eq!(pieces.len(), 4, "{job:?}: {b}");
        assert!(pieces.iter().all(|&p| p >= 0), "{job:?}: {b}");
        answers.push(answer(&a));
    }
    // Seed 000's closed form, and pi(10^8).
    assert_eq!(answers[0]["result"], 64032004000000i64);
    assert_eq!(answers[3]["result"], 5_761_455);

    // The streamed primes file: byte for byte the same.
    let (fa, fb) = (dir.path("one.txt"), dir.path("four.txt"));
    for (hosts, file) in [(&one, &fa), (&four, &fb)] {
        let args = ["primes", "--from", "1000", "--to", "4e7", "--output", file];
        let (run, _) = submit(hosts, &args, Duration::from_secs(60));
        assert_eq!(run.code, 0, "primes --output: {}", run.stderr);
    }
    let (ta, tb) = (std::fs::read(&fa).unwrap(), std::fs::read(&fb).unwrap());
    assert!(ta == tb, "the primes files of 1 and 4 hosts differ");
    assert_eq!(ta.iter().filter(|&&c| c == b'\n').count(), 2_433_654 - 168);

    let took = start.elapsed();
    say(&format!("every job, 1 and 4 hosts: {:.1} s", took.as_secs_f64()));
    assert!(took <= bound, "took {took:?}, more than {bound:?}");
}

/// Checks a fault run: exit 0, the 1-host answer.
fn assert_right(run: &Run, what: &str) -> Value {
    assert_eq!(run.code, 0, "{what}: pisubmit failed: {}", run.stderr);
    let v = run.json();
    assert_eq!(&answer(&v), long_reference(), "{what}: not the 1-host answer");
    v
}

/// (b) A worker killed with SIGKILL mid-job: its pieces go to the others.
/// Bound: 60 s (8 s of work, the lost pieces again, detection at once since
/// the kernel closes the connection; the rest is slack for a shared machine).
#[test]
fn worker_killed_mid_job() {
    let Some(cluster) = Cluster::up("worker_killed_mid_job", 4, 4) else {
        return;
    };
    long_reference();
    let mut job = Submit::start(&cluster.all(), &with_json(&LONG));
    cluster.wait_busy(2, 0.5, &mut job, Duration::from_secs(30));
    cluster.signal(2, nix::sys::signal::Signal::SIGKILL);
    let (run, _) = job.finish(Duration::from_secs(60));
    let v = assert_right(&run, "worker killed");
    let victim = host(&v, &Cluster::addr(2));
    assert_eq!(victim["state"], "lost", "{v}");
    assert!(victim["failures"].as_i64() >= Some(1), "{v}");
    for k in [1, 3, 4] {
        assert_eq!(host(&v, &Cluster::addr(k))["state"], "ok", "{v}");
    }
}

/// (c) A worker frozen with SIGSTOP mid-job: its connection stays open, but
/// it answers no heartbeat, so after 2 s it is declared lost. Bound: 60 s.
#[test]
fn worker_frozen_mid_job() {
    let Some(cluster) = Cluster::up("worker_frozen_mid_job", 4, 4) else {
        return;
    };
    long_reference();
    let mut args = vec!["--heartbeat-timeout", "2"];
    args.extend(with_json(&LONG));
    let mut job = Submit::start(&cluster.all(), &args);
    cluster.wait_busy(3, 0.5, &mut job, Duration::from_secs(30));
    // Thawed by the cluster's Drop.
    cluster.signal(3, nix::sys::signal::Signal::SIGSTOP);
    let (run, _) = job.finish(Duration::from_secs(60));
    let v = assert_right(&run, "worker frozen");
    assert_eq!(host(&v, &Cluster::addr(3))["state"], "lost", "{v}");
}

/// (d) Host 2's cable pulled mid-job for 5 s (longer than the default 3 s
/// heartbeat timeout), then plugged back while the job still runs.
/// Bound: 60 s.
#[test]
fn link_down_mid_job_and_up_again() {
    let Some(cluster) = Cluster::up("link_down_mid_job_and_up_again", 4, 4) else {
        return;
    };
    long_reference();
    let mut job = Submit::start(&cluster.all(), &with_json(&LONG));
    cluster.wait_busy(2, 0.5, &mut job, Duration::from_secs(30));
    cluster.link(2, false);
    std::thread::sleep(Duration::from_secs(5));
    let running = job.running();
    cluster.link(2, true);
    say(&format!("the job was still running when the link came back: {running}"));
    let (run, _) = job.finish(Duration::from_secs(60));
    let v = assert_right(&run, "link down and up");
    host(&v, &Cluster::addr(2));
}

/// (e) Host 4 is down when the job starts (its worker not started) and
/// comes up a second into the 8 s job: it is retried with backoff, used,
/// and does some pieces. Bound: 60 s.
#[test]
fn host_down_at_start_joins_mid_job() {
    let Some(mut cluster) = Cluster::up("host_down_at_start_joins_mid_job", 4, 3) else {
        return;
    };
    long_reference();
    let mut job = Submit::start(&cluster.all(), &with_json(&LONG));
    cluster.wait_busy(1, 0.5, &mut job, Duration::from_secs(30));
    say("starting the worker on pwc4");
    cluster.start_worker(4);
    let (run, _) = job.finish(Duration::from_secs(60));
    let v = assert_right(&run, "late host");
    let late = host(&v, &Cluster::addr(4));
    assert!(late["pieces"].as_i64() > Some(0), "the late host did no piece: {v}");
    assert_eq!(late["state"], "ok", "{v}");
}

/// (f) 5% of every host's packets lost, in and out (nftables dropping on
/// a random number in the host's namespace: a bad switch port; this kernel
/// has no netem). Skipped, loudly, only where nft is missing (in CI, where
/// .ci/run installs nftables, that is a failure). The rules' own counters
/// must show drops, so the test cannot pass on a link that lost nothing.
/// Bound: 120 s for the three lossy runs.
#[test]
fn five_percent_packet_loss() {
    let Some(cluster) = Cluster::up("five_percent_packet_loss", 4, 4) else {
        return;
    };
    if let Err(e) = run_quiet("nft", &["--version"]) {
        if std::env::var_os("CI").is_some() {
            panic!("five_percent_packet_loss cannot run in CI: {e} (nftables is installed by scripts/install-build-deps.sh)");
        }
        let _ = writeln!(
            std::io::stderr(),
            "\n################################################################\n\
             # SKIPPED: five_percent_packet_loss: nft is missing: {e}\n\
             #   (apt-get install nftables; the other cluster tests ran)\n\
             ################################################################\n"
        );
        return;
    }
    let dir = TempDir::new("loss");
    let bin = dir.path("values.i64");
    let values: Vec<u8> = (0..2_000_000i64).flat_map(|i| (i * 7 - 11).to_be_bytes()).collect();
    std::fs::write(&bin, values).unwrap();
    let jobs: [Vec<&str>; 3] = [
        vec!["loopsum", "--t-range", "0..40001", "--u-len", "40001"],
        vec!["echo", "--bytes", "20e6"],
        vec!["reduce", "--op", "sum", "--dtype", "i64be", "--input", &bin],
    ];
    let expected: Vec<Value> = jobs
        .iter()
        .map(|job| answer(&submit(&Cluster::first(1), &with_json(job), Duration::from_secs(60)).0.json()))
        .collect();

    for k in 1..=cluster.n {
        must("bash", &[SCRIPT, "loss", &k.to_string(), "5"]);
    }
    let start = Instant::now();
    let bound = Duration::from_secs(120);
    for (job, want) in jobs.iter().zip(&expected) {
        let (run, _) = submit(&cluster.all(), &with_json(job), bound);
        assert_eq!(run.code, 0, "{job:?} with 5% loss: {}", run.stderr);
        assert_eq!(&answer(&run.json()), want, "{job:?} with 5% loss");
    }
    let took = start.elapsed();
    let dropped: Vec<u64> = (1..=cluster.n)
        .map(|k| must("bash", &[SCRIPT, "dropped", &k.to_string()]).trim().parse().unwrap_or(0))
        .collect();
    say(&format!("5% loss: three jobs right in {took:?}; packets dropped per host {dropped:?}"));
    assert!(dropped.iter().all(|&d| d > 0), "a host's link lost no packet, so loss was not tested: {dropped:?}");
    assert!(took <= bound, "took {took:?}, more than {bound:?}");
}

/// (g) `--retries 1`: a piece that has failed on one worker fails the job.
/// The pieces in flight on a worker killed mid-job have failed on it, so the
/// job ends with exit 1 and a message that names a piece and that host.
/// Bound: 60 s (it should end as soon as the death is seen).
#[test]
fn retries_cap_fails_the_job() {
    let Some(cluster) = Cluster::up("retries_cap_fails_the_job", 4, 4) else {
        return;
    };
    let mut args = vec!["--retries", "1"];
    args.extend(LONG);
    let mut job = Submit::start(&cluster.all(), &args);
    cluster.wait_busy(2, 0.5, &mut job, Duration::from_secs(30));
    cluster.signal(2, nix::sys::signal::Signal::SIGKILL);
    let (run, _) = job.finish(Duration::from_secs(60));
    assert_eq!(run.code, 1, "expected exit 1: {}", run.stderr);
    assert!(
        run.stderr.contains("piece") && run.stderr.contains(&Cluster::ip(2)),
        "the message must name the piece and the host {}: {}",
        Cluster::ip(2),
        run.stderr
    );
}

/// Writes host k's own /etc/hosts (`ip netns exec` mounts /etc/netns/pwcK/hosts
/// over /etc/hosts for what runs there); `netns-cluster.sh down` removes it.
fn write_etc_hosts(k: usize, text: &str) {
    let dir = PathBuf::from(format!("/etc/netns/pwc{k}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("hosts"), text).unwrap();
}

fn doctor_findings<'a>(v: &'a Value, check: &str, host: &str) -> Vec<&'a Value> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == check && f["host"].as_str().unwrap_or("").contains(host))
        .collect()
}

#[test]
fn discovery_status_and_doctor_across_hosts() {
    let Some(mut cluster) = Cluster::up("discovery_status_and_doctor_across_hosts", 5, 0) else { return };
    // Host 1 maps this machine's name to its own address, host 2 to
    // loopback (the Debian default that trips MPI). Both share the name.
    let name = nix::unistd::gethostname().unwrap().into_string().unwrap();
    write_etc_hosts(1, &format!("127.0.0.1 localhost\n{} {name}\n", Cluster::ip(1)));
    write_etc_hosts(2, &format!("127.0.0.1 localhost\n127.0.1.1 {name}\n"));
    for k in 1..=3 {
        cluster.start_worker(k);
    }
    // Host 4 is up with nothing on the port; host 5 drops the port (a firewall).
    for rule in [
        vec!["add", "table", "inet", "pwtest"],
        vec!["add", "chain", "inet", "pwtest", "input", "{ type filter hook input priority 0 ; }"],
        vec!["add", "rule", "inet", "pwtest", "input", "tcp", "dport", "31415", "drop"],
    ] {
        let mut args = vec!["netns", "exec", "pwc5", "nft"];
        args.extend(rule);
        must("ip", &args);
    }

    // Discovery: a broadcast on the head's network finds exactly the three
    // workers, each by its address, ready to use as a hosts file.
    let out = Command::new(common::PISUBMIT)
        .args(["discover", "--subnet", "198.18.1.0/24", "--wait", "1.5"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    say(&format!("discover:\n{text}"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let found: Vec<&str> =
        text.lines().filter(|l| !l.starts_with('#')).map(|l| l.split_whitespace().next().unwrap()).collect();
    assert_eq!(found, vec![Cluster::addr(1), Cluster::addr(2), Cluster::addr(3)], "{text}");

    // Status: every host listed, the three workers up with their facts.
    let everyone = format!("{},198.18.1.99:{PORT}", Cluster::first(5));
    let (run, took) = submit(&everyone, &["--json", "status", "--wait", "1"], Duration::from_secs(10));
    say(&format!("status over 6 hosts took {:.2} s", took.as_secs_f64()));
    let v: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!((v["hosts_total"].as_u64(), v["hosts_up"].as_u64()), (Some(6), Some(3)), "{v}");
    for k in 1..=3 {
        let h = v["hosts"].as_array().unwrap().iter().find(|h| h["address"] == Cluster::addr(k).as_str()).unwrap();
        assert_eq!(h["state"], "up", "{h}");
        assert!(h["addresses"].as_array().unwrap().iter().any(|a| a == Cluster::ip(k).as_str()), "{h}");
    }

    // Doctor: each failure named on its host.
    let (run, _) = submit(&everyone, &["--json", "doctor", "--wait", "1"], Duration::from_secs(10));
    assert_eq!(run.code, 1, "{}", run.stderr);
    let d: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    say(&format!("doctor: {}", d["problems"]));
    assert_eq!(doctor_findings(&d, "closed", &Cluster::addr(4)).len(), 1, "{d}");
    assert_eq!(doctor_findings(&d, "filtered", &Cluster::addr(5)).len(), 1, "{d}");
    assert_eq!(doctor_findings(&d, "filtered", "198.18.1.99").len(), 1, "{d}");
    let lo = doctor_findings(&d, "own_name_is_loopback", "");
    let on: Vec<&str> = lo.iter().map(|f| f["host"].as_str().unwrap()).collect();
    assert!(on.iter().any(|h| h.contains(&Cluster::addr(2))), "{d}");
    assert!(!on.iter().any(|h| h.contains(&Cluster::addr(1))), "{d}");
    assert!(
        lo.iter().all(|f| f["message"].as_str().unwrap().contains("127.0.1.1")
            || !f["host"].as_str().unwrap().contains(&Cluster::addr(2))),
        "{d}"
    );
}

/// The Game of Life across the four hosts: a worker frozen mid-run (so its
/// connection stays open but it goes silent) and then host 2's cable
/// pulled. Each loss is found by the heartbeat or the broken connection,
/// the run starts again from the last checkpoint on the hosts left, and
/// the final board is the one host 1 alone computes. Bound: 120 s.
#[test]
fn life_survives_a_frozen_worker_and_a_pulled_cable() {
    let Some(cluster) = Cluster::up("life_survives_a_frozen_worker_and_a_pulled_cable", 4, 4) else {
        return;
    };
    let dir = TempDir::new("life");
    let frames = dir.path("frames");
    let life = [
        "--heartbeat-timeout",
        "2",
        "--json",
        "life",
        "--random",
        "0.3",
        "--seed",
        "9",
        "--width",
        "400",
        "--height",
        "300",
        "--generations",
        "30000",
        "--exchange-every",
        "2",
        "--checkpoint-every",
        "1000",
    ];
    let (alone, _) = submit(&Cluster::first(1), &life, Duration::from_secs(60));
    let alone: Value = serde_json::from_str(alone.stdout.trim()).expect("one-host JSON");
    let mut args = life.to_vec();
    args.extend(["--frames", &frames, "--every", "1000"]);
    let job = Submit::start(&cluster.all(), &args);
    let frame = |g: u64| std::path::Path::new(&frames).join(piworker::life::picture::frame_name(g));
    let wait_for = |g: u64| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !frame(g).exists() {
            assert!(Instant::now() < deadline, "generation {g} never came");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    wait_for(2000);
    cluster.signal(3, nix::sys::signal::Signal::SIGSTOP);
    say("froze host 3 after generation 2000");
    wait_for(8000);
    cluster.link(2, false);
    say("pulled host 2's cable after generation 8000");
    let (run, _) = job.finish(Duration::from_secs(120));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: Value = serde_json::from_str(run.stdout.trim()).expect("JSON");
    assert_eq!(v["hash"], alone["hash"], "the same final board as one host alone");
    assert_eq!(v["result"], alone["result"]);
    let lost: Vec<&str> = v["recoveries"].as_array().unwrap().iter().map(|r| r["host"].as_str().unwrap()).collect();
    assert_eq!(lost, [Cluster::addr(3), Cluster::addr(2)], "{v}");
    assert_eq!(v["strips"].as_array().unwrap().len(), 2, "the last epoch ran on hosts 1 and 4: {v}");
    cluster.link(2, true);
}
