//! `pisubmit status --serve`: the lab's wall display as a browser's HTTP sees it. Real
//! workers with fake temperatures (`--host-root`) on loopback, a real pisubmit serving the
//! page, and clients speaking HTTP by hand: the page is self-contained, /events carries
//! each host with the terminal grid's colours and a worker's death, bad clients hurt
//! neither the others nor the process, and it listens on loopback unless told otherwise.

mod common;
#[path = "common/web.rs"]
mod web;

use common::{free_port, pisubmit, status_kib, Worker, PISUBMIT};
use piworker::submit::report::grid::temp_rgb;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};
use web::{fake_pi, host, Events, Page};

fn css(temp_c: f32) -> String {
    let (r, g, b) = temp_rgb(temp_c);
    format!("#{r:02x}{g:02x}{b:02x}")
}

fn hot_worker(name: &str, temp_c: f64) -> Worker {
    Worker::start(&["--threads", "1", "--host-root", fake_pi(name, temp_c).to_str().unwrap()])
}

#[test]
fn the_page_is_one_self_contained_file_on_loopback_by_default() {
    let w = Worker::start(&["--threads", "1"]);
    let port = free_port();
    let page = Page::start(PISUBMIT, &w.addr(), &["status", "--serve", &port.to_string()]);
    assert_eq!(page.addr, format!("127.0.0.1:{port}"), "a port alone means loopback");
    // The kernel's own table: the listener is bound to 127.0.0.1, not to every address.
    let tcp = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let wanted = format!("0100007F:{port:04X}");
    assert!(tcp.lines().any(|l| l.split_whitespace().nth(1) == Some(wanted.as_str())), "{wanted} not in\n{tcp}");
    let any = format!("00000000:{port:04X}");
    assert!(!tcp.lines().any(|l| l.split_whitespace().nth(1) == Some(any.as_str())));

    let reply = page.get("/");
    assert_eq!(reply.status, 200);
    assert!(reply.header("content-type").unwrap().starts_with("text/html"));
    let html = reply.text();
    assert!(html.contains("EventSource(\"/events\")"), "the page listens to the event stream");
    for outside in ["http://", "https://", "src=\"", "href=", "url(", "@import", "//cdn", "@font-face"] {
        assert!(!html.contains(outside), "the page reaches outside with {outside:?}");
    }
    assert!(html.len() < 32 * 1024, "the page stays small: {} bytes", html.len());
    assert_eq!(page.get("/nothing-here").status, 404);
    assert_eq!(page.get("/board.png").status, 404, "no Life board without a Life job");
    let state = page.get("/state.json");
    assert_eq!(state.header("content-type").as_deref(), Some("application/json"));
    let v = state.json();
    assert!(v["job"].is_null() && v["board"].is_null(), "{v}");
}

#[test]
fn events_carry_each_host_in_the_grid_s_colours_and_a_dead_worker_turns_dark_with_its_x() {
    let temps = [45.0, 62.5, 78.0];
    let mut workers: Vec<Worker> =
        temps.iter().enumerate().map(|(i, t)| hot_worker(&format!("colours{i}"), *t)).collect();
    let hosts = workers.iter().map(|w| w.addr()).collect::<Vec<_>>().join(",");
    let page = Page::start(PISUBMIT, &hosts, &["status", "--serve", "0", "--every", "0.3", "--wait", "1"]);
    let mut events = page.events();
    let view = events.until(Duration::from_secs(20), "three hosts up", |v| v["hosts_up"] == 3);
    for (w, t) in workers.iter().zip(temps) {
        let h = host(&view, &w.addr());
        assert_eq!(h["state"], "up");
        assert_eq!(h["temp_c"], t, "{h}");
        assert_eq!(h["background"], css(t as f32), "the terminal grid's colour for {t} °C: {h}");
        assert_eq!(h["marks"], "", "{h}");
        assert_eq!(h["load1"], 0.5, "{h}");
    }
    // The same facts once, with each host's hour of temperatures begun.
    let state = page.get("/state.json").json();
    let first = host(&state, &workers[0].addr());
    let points = first["history"].as_array().unwrap();
    assert!(!points.is_empty() && points.iter().all(|p| p[1] == 45.0), "{first}");

    let dead = workers.remove(1);
    let dead_addr = dead.addr();
    drop(dead);
    let started = Instant::now();
    let view =
        events.until(Duration::from_secs(10), "the killed worker down", |v| host(v, &dead_addr)["state"] != "up");
    let h = host(&view, &dead_addr);
    assert_eq!(h["state"], "unreachable", "{h}");
    assert_eq!(h["marks"], "X");
    assert_eq!(h["background"], "#404040", "dark, as the terminal draws a dead host");
    assert!(h["temp_c"].is_null(), "no stale reading on a dead host: {h}");
    assert_eq!(view["hosts_up"], 2);
    eprintln!("the dead worker showed after {:?}", started.elapsed());
}

#[test]
fn a_client_that_never_reads_and_one_that_reconnects_again_and_again_hurt_nobody() {
    let w = Worker::start(&["--threads", "1"]);
    // Unreachable hosts make each snapshot large, so the never-reader's buffers fill soon.
    let mut hosts = vec![w.addr()];
    hosts.extend((0..150).map(|i| format!("127.0.0.{}:1", 2 + i)));
    let page = Page::start(PISUBMIT, &hosts.join(","), &["status", "--serve", "0", "--every", "0.2", "--wait", "1"]);
    let mut watcher = page.events();
    watcher.until(Duration::from_secs(20), "the worker up", |v| v["hosts_up"] == 1);
    std::thread::sleep(Duration::from_secs(6)); // tiny_http's idle pool threads settle
    let threads_before = page.threads();
    let rss_before = status_kib(page.pid(), "VmRSS");

    // Asks for the stream and never reads a byte of it, into a small buffer.
    let mut never = small_buffer_connect(&page.addr);
    write!(never, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    // Reconnects 200 times, reading one event each time.
    for _ in 0..200 {
        let mut e = Events::open(&page.addr);
        assert!(e.next().is_some(), "each reconnection gets the view at once");
    }
    // The watcher still gets fresh views, several a second.
    let seq = |v: &serde_json::Value| v["seq"].as_u64().unwrap();
    let a = seq(&watcher.until(Duration::from_secs(5), "a view", |_| true));
    let t = Instant::now();
    let b = seq(&watcher.until(Duration::from_secs(5), "a later view", |v| seq(v) >= a + 5));
    assert!(t.elapsed() < Duration::from_secs(4), "5 surveys took {:?}", t.elapsed());
    assert!(b > a);

    // Once the reconnections' threads end, and the never-reader is timed out, the process
    // is back where it was: no thread or memory kept for them.
    eprintln!("threads: {threads_before} before, {} after the reconnections", page.threads());
    let deadline = Instant::now() + Duration::from_secs(60);
    while page.threads_named("web-events") > 1 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(page.threads_named("web-events"), 1, "only the watcher's stream is left");
    let mut threads = page.threads();
    while threads > threads_before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(500));
        threads = page.threads();
    }
    eprintln!("threads: {threads} once settled");
    assert!(threads <= threads_before, "threads {threads_before} before, {threads} after");
    let rss_after = status_kib(page.pid(), "VmRSS");
    assert!(rss_after < rss_before + 8 * 1024, "RSS {rss_before} KiB before, {rss_after} KiB after");
    // And the watcher is still served.
    let c = seq(&watcher.until(Duration::from_secs(5), "a view after all that", |_| true));
    assert!(c > b);
    drop(never);
}

/// A client socket with a 4 KiB receive buffer, so that a client that never reads
/// stops taking data soon.
fn small_buffer_connect(addr: &str) -> TcpStream {
    use nix::sys::socket::{connect, setsockopt, socket, sockopt, AddressFamily, SockFlag, SockType, SockaddrIn};
    use std::os::fd::AsRawFd;
    let addr: std::net::SocketAddrV4 = addr.parse().unwrap();
    let fd = socket(AddressFamily::Inet, SockType::Stream, SockFlag::empty(), None).unwrap();
    setsockopt(&fd, sockopt::RcvBuf, &4096).unwrap();
    connect(fd.as_raw_fd(), &SockaddrIn::from(addr)).unwrap();
    TcpStream::from(fd)
}

#[test]
fn past_the_cap_of_streams_the_oldest_is_told_bye() {
    let w = Worker::start(&["--threads", "1"]);
    let page = Page::start(PISUBMIT, &w.addr(), &["status", "--serve", "0", "--every", "0.3"]);
    let mut oldest = page.events();
    assert!(oldest.next().is_some());
    let others: Vec<Events> = (0..16).map(|_| page.events()).collect();
    let bye = std::iter::from_fn(|| oldest.next()).find(|e| e.name != "message");
    assert_eq!(bye.map(|e| e.name).as_deref(), Some("bye"));
    assert_eq!(others.len(), 16);
}

#[test]
fn a_primes_job_s_page_counts_as_it_goes_and_ends_with_pisubmit_s_answer() {
    let (a, b) = (Worker::start(&["--threads", "1"]), Worker::start(&["--threads", "1"]));
    let hosts = format!("{},{}", a.addr(), b.addr());
    let mut page = Page::start(PISUBMIT, &hosts, &["--json", "--serve", "0", "primes", "--from", "1", "--to", "1e10"]);
    let mut events = page.events();
    let (mut partial_counts, mut live_pieces) = (Vec::new(), 0);
    let last = events.until(Duration::from_secs(120), "the job's answer", |v| {
        if let Some(count) = v["job"]["primes"]["count"].as_u64() {
            partial_counts.push(count);
        }
        if v["job"]["finished"].is_null() {
            let hosts = v["job"]["hosts"].as_array().map_or(&[][..], |h| &h[..]);
            live_pieces = live_pieces.max(hosts.iter().filter_map(|h| h["pieces"].as_u64()).sum());
        }
        !v["job"]["finished"].is_null()
    });
    let (code, stdout) = page.finish(Duration::from_secs(30));
    assert_eq!(code, 0, "{stdout}");
    let answer: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let job = &last["job"];
    assert_eq!(job["primes"]["count"], answer["result"], "the page's count is pisubmit's answer: {job}");
    assert_eq!(job["primes"]["largest"], answer["max"], "{job}");
    assert_eq!(job["pieces_done"], job["pieces_total"], "{job}");
    assert!(job["finished"].as_str().unwrap().contains(&answer["result"].to_string()), "{job}");
    let per_host: u64 = job["hosts"].as_array().unwrap().iter().map(|h| h["pieces"].as_u64().unwrap()).sum();
    assert_eq!(Some(per_host), job["pieces_total"].as_u64(), "pieces per worker add up: {job}");
    assert!(job["command"].as_str().unwrap().starts_with("primes"), "{job}");
    // Live, not only at the end: the page saw the count grow.
    let first = partial_counts.first().copied().unwrap_or(0);
    assert!(first < answer["result"].as_u64().unwrap(), "counts seen: {partial_counts:?}");
    assert!(live_pieces > 0, "pieces per worker showed while the job ran");
    assert!(page.stderr.lock().unwrap().contains("serving the status page"));
}

#[test]
fn a_life_job_s_page_shows_the_board_downscaled_as_rounds_finish() {
    let (a, b) = (Worker::start(&["--threads", "1"]), Worker::start(&["--threads", "1"]));
    let hosts = format!("{},{}", a.addr(), b.addr());
    let dir = std::env::temp_dir().join(format!("piw-web-life-{}", std::process::id()));
    let args = ["--serve", "0", "life", "--random", "0.3", "--width", "2048", "--height", "1024"];
    let more = ["--generations", "6000", "--frames", dir.to_str().unwrap(), "--every", "1000"];
    let mut page = Page::start(PISUBMIT, &hosts, &[&args[..], &more[..]].concat());
    let mut events = page.events();
    let first = events.until(Duration::from_secs(60), "a board", |v| !v["board"].is_null());
    let png = page.get("/board.png");
    assert_eq!(png.status, 200);
    assert_eq!(png.header("content-type").as_deref(), Some("image/png"));
    assert_eq!(&png.body[..8], b"\x89PNG\r\n\x1a\n");
    let size = |at: usize| u32::from_be_bytes(png.body[at..at + 4].try_into().unwrap());
    assert_eq!((size(16), size(20)), (512, 256), "2048x1024 cells drawn at most 512 pixels wide");
    assert_eq!((first["board"]["cols"].as_u64(), first["board"]["rows"].as_u64()), (Some(2048), Some(1024)));
    assert!(first["job"]["finished"].is_null(), "the board shows while the job runs: {}", first["job"]);
    let last = events.until(Duration::from_secs(120), "the end", |v| !v["job"]["finished"].is_null());
    assert_eq!(last["job"]["life_generation"], 6000, "{}", last["job"]);
    assert_eq!(last["board"]["generation"], 6000, "the final board: {}", last["board"]);
    assert_eq!(page.finish(Duration::from_secs(30)).0, 0);
    let _ = std::fs::remove_dir_all(dir);
}

/// Without frames, the page still gets the board whenever the head holds
/// it whole: at the start, at each checkpoint, at the end. (The page is
/// sent a board at most every half second: the job must last seconds.)
#[test]
fn a_life_job_without_frames_shows_its_checkpoints() {
    let (a, b) = (Worker::start(&["--threads", "1"]), Worker::start(&["--threads", "1"]));
    let hosts = format!("{},{}", a.addr(), b.addr());
    let args = ["--serve", "0", "life", "--random", "0.3", "--width", "4096", "--height", "2048"];
    let more = ["--generations", "12000", "--checkpoint-every", "1000"];
    let mut page = Page::start(PISUBMIT, &hosts, &[&args[..], &more[..]].concat());
    let mut events = page.events();
    let between = |v: &serde_json::Value| v["board"]["generation"].as_u64().is_some_and(|g| g > 0 && g < 12000);
    let mid = events.until(Duration::from_secs(120), "a checkpoint's board", between);
    assert_eq!(mid["board"]["generation"].as_u64().map(|g| g % 1000), Some(0), "{}", mid["board"]);
    let last = events.until(Duration::from_secs(120), "the end", |v| !v["job"]["finished"].is_null());
    assert_eq!(last["board"]["generation"], 12000, "the final board: {}", last["board"]);
    assert_eq!(page.finish(Duration::from_secs(30)).0, 0);
}

#[test]
fn serve_is_refused_where_there_is_nothing_to_watch() {
    let w = Worker::start(&["--threads", "1"]);
    let run = pisubmit(&w.addr(), &["--serve", "0", "pi", "--samples", "1000"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--serve shows a live page for status and for long jobs"), "{}", run.stderr);
}

#[test]
fn bad_serve_values_and_a_port_in_use_are_named() {
    let w = Worker::start(&["--threads", "1"]);
    let run = pisubmit(&w.addr(), &["status", "--serve", "70000"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--serve: \"70000\"") && run.stderr.contains("65535"), "{}", run.stderr);
    let run = pisubmit(&w.addr(), &["status", "--serve", "pi1:80"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--serve: \"pi1:80\" is not PORT or ADDR:PORT"), "{}", run.stderr);

    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let run = pisubmit(&w.addr(), &["status", "--serve", &port.to_string()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("--serve 127.0.0.1:{port}: cannot listen: the port is in use")),
        "{}",
        run.stderr
    );
}
