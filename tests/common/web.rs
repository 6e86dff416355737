//! The head's web page from a test's side: a `pisubmit ... --serve 0` whose address is
//! read from its stderr, plain HTTP requests, and a server-sent-event reader. Every read
//! is bounded; the pisubmit is killed when its `Page` drops.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Page {
    pub child: Child,
    /// "127.0.0.1:PORT"
    pub addr: String,
    pub stderr: Arc<Mutex<String>>,
    pub stdout: Arc<Mutex<String>>,
}

impl Page {
    /// `pisubmit --hosts HOSTS ARGS...`, where ARGS include `--serve`.
    pub fn start(pisubmit: &str, hosts: &str, args: &[&str]) -> Page {
        let mut child = Command::new(pisubmit)
            .args(["--hosts", hosts])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start pisubmit");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = Arc::clone(&stderr);
        let pipe = child.stderr.take().expect("stderr piped");
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("status page on http://").nth(1) {
                    let _ = tx.send(rest.split('/').next().unwrap_or("").to_string());
                }
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        // Read as it comes, so that a --watch frame never blocks pisubmit.
        let stdout = Arc::new(Mutex::new(String::new()));
        let mut out = child.stdout.take().expect("stdout piped");
        let into = Arc::clone(&stdout);
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                into.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("pisubmit did not say where it serves: {}", stderr.lock().unwrap()));
        Page { child, addr, stderr, stdout }
    }

    /// Waits for pisubmit to end (bounded): its exit code and stdout.
    pub fn finish(&mut self, within: Duration) -> (i32, String) {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(100)); // the reader's last bytes
                return (status.code().unwrap_or(-1), self.stdout.lock().unwrap().clone());
            }
            assert!(Instant::now() < deadline, "pisubmit did not end: {}", self.stderr.lock().unwrap());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn get(&self, path: &str) -> Reply {
        get(&self.addr, path)
    }

    pub fn events(&self) -> Events {
        Events::open(&self.addr)
    }

    /// Threads of the pisubmit process now named `name` (event streams are "web-events").
    pub fn threads_named(&self, name: &str) -> usize {
        let Ok(dir) = std::fs::read_dir(format!("/proc/{}/task", self.pid())) else { return 0 };
        dir.filter_map(Result::ok)
            .filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == name))
            .count()
    }

    /// Threads of the pisubmit process now.
    pub fn threads(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/task", self.pid())).map(|d| d.count()).unwrap_or(0)
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Reply {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("bad JSON ({e}): {}", self.text()))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

/// One GET with `Connection: close`, read to the end.
pub fn get(addr: &str, path: &str) -> Reply {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let split = all.windows(4).position(|w| w == b"\r\n\r\n").expect("an HTTP head");
    let head = String::from_utf8_lossy(&all[..split]).into_owned();
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).expect("a status code");
    Reply { status, head, body: all[split + 4..].to_vec() }
}

/// A reader of `/events`.
pub struct Events {
    pub reader: BufReader<TcpStream>,
}

/// One event: its name ("message" unless named) and data.
pub struct Event {
    pub name: String,
    pub data: String,
}

impl Events {
    pub fn open(addr: &str) -> Events {
        let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        write!(s, "GET /events HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n").unwrap();
        let mut reader = BufReader::new(s);
        let mut status = String::new();
        reader.read_line(&mut status).unwrap();
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line.trim().is_empty() {
                break;
            }
            if line.to_ascii_lowercase().starts_with("content-type") {
                assert!(line.contains("text/event-stream"), "{line}");
            }
        }
        Events { reader }
    }

    /// The next event (comments skipped), or None at the end of the stream or a read timeout.
    pub fn next(&mut self) -> Option<Event> {
        let mut name = "message".to_string();
        let mut data = String::new();
        loop {
            let mut line = String::new();
            match self.reader.read_line(&mut line) {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                if !data.is_empty() || name != "message" {
                    return Some(Event { name, data });
                }
                continue;
            }
            if let Some(v) = line.strip_prefix("event: ") {
                name = v.to_string();
            } else if let Some(v) = line.strip_prefix("data: ") {
                data.push_str(v);
            }
        }
    }

    /// Snapshots until `done` says yes; panics after `within`.
    pub fn until(
        &mut self,
        within: Duration,
        what: &str,
        mut done: impl FnMut(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + within;
        let mut last = serde_json::Value::Null;
        while Instant::now() < deadline {
            let Some(event) = self.next() else { break };
            assert_ne!(event.name, "bye", "this stream was ended for another while waiting for {what}");
            if event.name != "message" {
                continue;
            }
            last = serde_json::from_str(&event.data).unwrap_or_else(|e| panic!("bad event JSON ({e}): {}", event.data));
            if done(&last) {
                return last;
            }
        }
        panic!("no event showed {what} within {within:?}; the last:\n{last}");
    }
}

/// The host with `address` in a snapshot.
pub fn host<'a>(view: &'a serde_json::Value, address: &str) -> &'a serde_json::Value {
    view["hosts"]
        .as_array()
        .and_then(|hs| hs.iter().find(|h| h["address"] == address))
        .unwrap_or_else(|| panic!("no host {address} in {view}"))
}

/// A fake Raspberry Pi's files for `piworker --host-root`, at `temp_c`.
pub fn fake_pi(name: &str, temp_c: f64) -> std::path::PathBuf {
    fake_pi_throttled(name, temp_c, 0)
}

/// A fake Pi whose firmware reports `throttled` (get_throttled's bits, e.g. 0x4: throttled now).
pub fn fake_pi_throttled(name: &str, temp_c: f64, throttled: u32) -> std::path::PathBuf {
    let root = std::env::temp_dir().join(format!("piw-web-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let millic = (temp_c * 1000.0).round() as i64;
    let files = [
        ("proc/device-tree/model".to_string(), "Raspberry Pi 4 Model B Rev 1.4\0".to_string()),
        ("proc/loadavg".to_string(), "0.50 0.40 0.30 1/100 4242\n".to_string()),
        ("sys/class/thermal/thermal_zone0/type".to_string(), "cpu-thermal\n".to_string()),
        ("sys/class/thermal/thermal_zone0/temp".to_string(), format!("{millic}\n")),
        ("sys/devices/platform/soc/soc:firmware/get_throttled".to_string(), format!("{throttled:x}\n")),
    ];
    for (path, text) in files {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    root
}
