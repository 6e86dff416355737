//! pisubmit paces echo's input to what comes back (the return window,
//! src/submit/cluster/engine/return_window.rs): a worker whose echo has not
//! come back yet gets no more than the first window of input, however much
//! there is; once its echo flows, the whole stream goes through intact.
//!
//! Between pisubmit and a real piworker sits a gate: it passes everything
//! to the worker (counting the input bytes of Data frames), and holds back
//! everything the worker sends from its first Partial on, until opened.
//! Without the window pisubmit sends the whole first piece (1 MiB) and
//! more to a worker that has echoed nothing.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

const DATA: u8 = 0x11;
const PARTIAL: u8 = 0x20;
/// pisubmit's window before anything came back, for one worker (FIRST_WINDOWS).
const FIRST_WINDOW: u64 = 256 * 1024;

struct Gate {
    port: u16,
    /// Input bytes (Data payloads) that went to the worker.
    input: Arc<AtomicU64>,
    open: Arc<AtomicBool>,
}

impl Gate {
    fn start(worker: &str) -> Gate {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the gate");
        let port = listener.local_addr().unwrap().port();
        let (input, open) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(false)));
        let (worker, input2, open2) = (worker.to_string(), Arc::clone(&input), Arc::clone(&open));
        std::thread::spawn(move || {
            // One connection: the test's one pisubmit.
            let Ok((head, _)) = listener.accept() else { return };
            let Ok(worker) = TcpStream::connect(&worker) else { return };
            for s in [&head, &worker] {
                // Bounded: a stuck test ends these threads within a minute.
                let _ = s.set_read_timeout(Some(Duration::from_secs(60)));
            }
            let (head_in, worker_out) = (head.try_clone().unwrap(), worker.try_clone().unwrap());
            std::thread::spawn(move || {
                relay_frames(head_in, worker_out, |t, len| {
                    if t == DATA {
                        input2.fetch_add(len as u64, Ordering::Relaxed);
                    }
                })
            });
            // The worker's frames are read as they come (so it never
            // blocks) and written on in order once the gate lets them.
            let (tx, rx) = mpsc::channel::<Vec<u8>>();
            std::thread::spawn(move || hold_back(rx, head, open2));
            relay_frames(worker, tx, |_, _| {});
        });
        Gate { port, input, open }
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// Where `relay_frames` puts each frame (header and payload together).
trait FrameSink {
    fn put(&mut self, frame: Vec<u8>) -> bool;
}

impl FrameSink for TcpStream {
    fn put(&mut self, frame: Vec<u8>) -> bool {
        self.write_all(&frame).is_ok()
    }
}

impl FrameSink for mpsc::Sender<Vec<u8>> {
    fn put(&mut self, frame: Vec<u8>) -> bool {
        self.send(frame).is_ok()
    }
}

/// Reads whole frames from `from` into `to`, telling `seen` each one's type
/// and payload length, until either side is done.
fn relay_frames(mut from: TcpStream, mut to: impl FrameSink, mut seen: impl FnMut(u8, usize)) {
    loop {
        let mut frame = vec![0u8; 16];
        if from.read_exact(&mut frame).is_err() {
            break;
        }
        let len = u32::from_be_bytes([frame[12], frame[13], frame[14], frame[15]]) as usize;
        frame.resize(16 + len, 0);
        if from.read_exact(&mut frame[16..]).is_err() {
            break;
        }
        seen(frame[5], len);
        if !to.put(frame) {
            break;
        }
    }
}

/// Writes the worker's frames to the head; from the first Partial on, only
/// once `open` is set (waiting a minute at most).
fn hold_back(frames: mpsc::Receiver<Vec<u8>>, mut head: TcpStream, open: Arc<AtomicBool>) {
    let mut holding = false;
    for frame in frames {
        holding |= frame[5] == PARTIAL;
        let until = Instant::now() + Duration::from_secs(60);
        while holding && !open.load(Ordering::Relaxed) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
        if head.write_all(&frame).is_err() {
            break;
        }
    }
    let _ = head.shutdown(Shutdown::Write);
}

#[test]
fn echo_sends_no_more_than_the_window_until_its_input_comes_back() {
    let worker = Worker::start(&[]);
    let gate = Gate::start(&worker.addr());
    let bytes = 8u64 << 20;
    let child =
        spawn_pisubmit(&gate.addr(), &["--heartbeat-timeout", "120", "--json", "echo", "--bytes", &bytes.to_string()]);
    // Until pisubmit has sent more than the window, or has sent something
    // and then nothing more for a second (10 s at most).
    let (mut last, mut still_since, deadline) = (0, Instant::now(), Instant::now() + Duration::from_secs(10));
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        let sent = gate.input.load(Ordering::Relaxed);
        if sent > FIRST_WINDOW {
            break;
        }
        if sent != last {
            (last, still_since) = (sent, Instant::now());
        } else if sent > 0 && still_since.elapsed() >= Duration::from_secs(1) {
            break;
        }
    }
    let before_any_echo = gate.input.load(Ordering::Relaxed);
    gate.open.store(true, Ordering::Relaxed);
    let run = finish(child, Duration::from_secs(120));
    assert!(before_any_echo > 0, "pisubmit sent no input at all");
    assert!(
        before_any_echo <= FIRST_WINDOW,
        "pisubmit sent {before_any_echo} bytes of echo input before any came back (window {FIRST_WINDOW})"
    );
    assert_eq!(run.json()["result"], bytes, "{}", run.stderr);
    assert_eq!(gate.input.load(Ordering::Relaxed), bytes);
}
