//! Test harness: real piworker and pisubmit processes on loopback.
//!
//! Every process started here is killed when its handle drops, so a failed
//! assertion leaves nothing running. All waits are bounded.
#![allow(dead_code)]

use piworker::protocol::frame::{decode_frame, DEFAULT_MAX_FRAME};
use piworker::protocol::{Frame, Hello};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const PIWORKER: &str = env!("CARGO_BIN_EXE_piworker");
pub const PISUBMIT: &str = env!("CARGO_BIN_EXE_pisubmit");

/// A running piworker whose stderr is collected for assertions.
pub struct Worker {
    pub child: Child,
    pub port: u16,
    pub log: Arc<Mutex<String>>,
}

impl Worker {
    pub fn start(extra: &[&str]) -> Worker {
        Worker::start_on("127.0.0.1:0", extra)
    }

    pub fn start_on(listen: &str, extra: &[&str]) -> Worker {
        let mut cmd = Command::new(PIWORKER);
        cmd.args(["--listen", listen]).args(extra).env("RUST_LOG", "debug");
        Worker::spawn(cmd)
    }

    /// Starts a piworker through `cmd` (directly, under taskset, in a
    /// network namespace...) and waits for its "listening on" line.
    pub fn spawn(mut cmd: Command) -> Worker {
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
        Worker::adopt(cmd.spawn().expect("start piworker"))
    }

    /// Takes over a started piworker whose stderr is piped.
    fn adopt(mut child: Child) -> Worker {
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                {
                    let mut log = sink.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let addr = rest.split_whitespace().next().unwrap_or("");
                    let port = addr.rsplit(':').next().and_then(|p| p.parse::<u16>().ok());
                    let _ = tx.send(port);
                }
            }
        });
        let port = rx
            .recv_timeout(Duration::from_secs(10))
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("piworker did not report its port; log:\n{}", log.lock().unwrap()));
        Worker { child, port, log }
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until the log contains `needle` (bounded).
    pub fn wait_log(&self, needle: &str, within: Duration) -> bool {
        let end = Instant::now() + within;
        while Instant::now() < end {
            if self.log().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid()), sig).expect("signal piworker");
    }

    /// Waits for the worker to exit (bounded) and returns its status.
    pub fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        wait_child(&mut self.child, within)
    }

    /// Waits (bounded) until the worker has computed for 0.3 CPU seconds:
    /// a job is then surely running on it.
    pub fn wait_busy(&self) {
        let start = self.cpu_seconds();
        let end = Instant::now() + Duration::from_secs(20);
        while self.cpu_seconds() - start < 0.3 {
            assert!(Instant::now() < end, "the worker never got busy");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// User+system CPU seconds the worker has used so far.
    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds(self.pid())
    }

    pub fn status_kib(&self, field: &str) -> u64 {
        status_kib(self.pid(), field)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // A worker started through a wrapper (faketime, taskset) in its own
        // process group: the group goes too, so no piworker outlives its
        // test. For an ordinary worker there is no such group: a no-op.
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn wait_child(child: &mut Child, within: Duration) -> Option<ExitStatus> {
    let end = Instant::now() + within;
    while Instant::now() < end {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

pub fn cpu_seconds(pid: i32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    ticks / nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok().flatten().unwrap_or(100) as f64
}

/// A field of /proc/PID/status in KiB (VmRSS, VmHWM), 0 if unreadable.
pub fn status_kib(pid: i32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(&format!("{field}:")))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// What a pisubmit run printed and how it ended.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        assert_eq!(self.code, 0, "pisubmit failed: {}", self.stderr);
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| panic!("bad JSON ({e}): {}", self.stdout))
    }

    /// The --json answer without what differs between equal runs (wall
    /// time, hosts, how many pieces came from a job log): the rest of two
    /// runs of one job must be the same text.
    pub fn answer(&self) -> String {
        let mut v = self.json();
        let map = v.as_object_mut().expect("a JSON object");
        for varies in ["wall_ms", "logged_pieces", "hosts"] {
            map.remove(varies);
        }
        v.to_string()
    }
}

/// Starts pisubmit with its output piped (collect it with `finish`).
pub fn spawn_pisubmit(hosts: &str, args: &[&str]) -> Child {
    start_pisubmit(hosts, args, Stdio::null())
}

/// Starts pisubmit with stdin piped too, for what feeds it lines (farms).
pub fn spawn_pisubmit_fed(hosts: &str, args: &[&str]) -> (Child, std::process::ChildStdin) {
    let mut child = start_pisubmit(hosts, args, Stdio::piped());
    let stdin = child.stdin.take().expect("stdin piped");
    (child, stdin)
}

fn start_pisubmit(hosts: &str, args: &[&str], stdin: Stdio) -> Child {
    Command::new(PISUBMIT)
        .args(["--hosts", hosts])
        .args(args)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start pisubmit")
}

/// Runs pisubmit to completion (bounded: a hang fails the test).
pub fn pisubmit(hosts: &str, args: &[&str]) -> Run {
    finish(spawn_pisubmit(hosts, args), Duration::from_secs(120))
}

pub fn finish(child: Child, within: Duration) -> Run {
    let (status, stdout, stderr) = collect(child, within);
    let Some(status) = status else {
        panic!("process did not finish within {within:?}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}");
    };
    Run { code: status.code().unwrap_or(-1), stdout, stderr }
}

/// Waits for a child with piped stdout and stderr, reading both as it runs.
/// Past `within` it gets SIGTERM (so its own clean-up runs), then SIGKILL,
/// and the status is None.
pub fn collect(mut child: Child, within: Duration) -> (Option<ExitStatus>, String, String) {
    let read_all = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = pipe.read_to_string(&mut s);
            s
        })
    };
    let out = read_all(Box::new(child.stdout.take().expect("stdout piped")));
    let err = read_all(Box::new(child.stderr.take().expect("stderr piped")));
    let status = wait_child(&mut child, within);
    if status.is_none() {
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        if wait_child(&mut child, Duration::from_secs(10)).is_none() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
    (status, out.join().unwrap_or_default(), err.join().unwrap_or_default())
}

pub fn hosts(workers: &[&Worker]) -> String {
    workers.iter().map(|w| w.addr()).collect::<Vec<_>>().join(",")
}

/// A loopback port that nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// A raw protocol client for tests that speak frames by hand.
pub struct RawClient {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl RawClient {
    pub fn connect(worker: &Worker) -> RawClient {
        let stream = TcpStream::connect(worker.addr()).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        stream.set_nodelay(true).unwrap();
        RawClient { stream, buf: Vec::new() }
    }

    /// A raw client over a connection opened elsewhere.
    pub fn over(stream: TcpStream) -> RawClient {
        RawClient { stream, buf: Vec::new() }
    }

    pub fn handshake(worker: &Worker) -> RawClient {
        let mut c = RawClient::connect(worker);
        c.send(&Hello::ours([0; 16]).encode().to_bytes());
        let welcome = c.frame().expect("welcome");
        assert_eq!(welcome.header.frame_type, piworker::protocol::FrameType::Welcome);
        c
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    pub fn shutdown_write(&self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    /// The next frame, or None at EOF. Panics on a read timeout.
    pub fn frame(&mut self) -> Option<Frame> {
        loop {
            if let Some((frame, used)) = decode_frame(&self.buf, DEFAULT_MAX_FRAME).expect("worker sent a valid frame")
            {
                self.buf.drain(..used);
                return Some(frame);
            }
            let mut chunk = [0u8; 65536];
            match self.stream.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return None,
                Err(e) => panic!("reading from the worker: {e}"),
            }
        }
    }
}

/// A fresh directory for one test: `piworker-<name>-<pid>` under the
/// system's temporary directory.
pub fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("piworker-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes a key file `name` in `dir` with `text` and file mode `mode`
/// (0o600 for one piworker accepts).
pub fn key_file(dir: &std::path::Path, name: &str, text: &str, mode: u32) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

/// A fresh directory under the system's temp dir, mode 755: a worker's
/// `--job-dir` (a job directory writable by others is refused).
pub fn job_dir(prefix: &str, name: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("{prefix}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// Writes the job program `name` into `dir`, executable.
pub fn job_program(dir: &std::path::Path, name: &str, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}
