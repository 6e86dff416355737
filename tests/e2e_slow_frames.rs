//! A worker whose answer is one large frame on a slow link is alive while
//! the frame arrives. Seed 004's lab has 240 Pis on a 100 Mbit/s switch:
//! strips of a Life board, gathered from all at once, share the head's
//! link, and a frame can take longer than the heartbeat timeout to arrive
//! whole, with the worker's Pong queued behind it. pisubmit took such a
//! worker for silent (a heartbeat counted only whole frames), dropped it
//! and ran the board again from its checkpoint. Here a real worker sits
//! behind a relay that passes its bytes to pisubmit at 640 KB/s, and a
//! 2 MiB strip is gathered with a 1 s heartbeat timeout.

mod common;

use common::{pisubmit, Worker};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

/// Relays connections to `worker`: bytes to it at full speed, bytes from
/// it 16 KiB every 25 ms. Returns the relay's address.
fn slow_relay(worker: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the relay");
    let addr = listener.local_addr().expect("relay address").to_string();
    thread::spawn(move || {
        for head in listener.incoming().flatten() {
            let Ok(upstream) = TcpStream::connect(&worker) else { continue };
            let (head_r, upstream_w) = (head.try_clone().expect("clone"), upstream.try_clone().expect("clone"));
            thread::spawn(move || pipe(head_r, upstream_w, None));
            thread::spawn(move || pipe(upstream, head, Some(Duration::from_millis(25))));
        }
    });
    addr
}

fn pipe(mut from: TcpStream, mut to: TcpStream, pause: Option<Duration>) {
    let mut buf = vec![0u8; 16 << 10];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
                if let Some(p) = pause {
                    thread::sleep(p);
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

#[test]
fn a_large_frame_arriving_slowly_is_not_silence() {
    let worker = Worker::start(&["--threads", "1"]);
    let relay = slow_relay(worker.addr());
    // A 4096 x 4096 board, half alive: 2 MiB of rows that no packing
    // shrinks (and over loopback pisubmit asks for them raw), about 3.3 s
    // through the relay, in one strip.
    let board = ["life", "--width", "4096", "--height", "4096", "--random", "0.5", "--generations", "2"];
    let mut slow = vec!["--json", "--heartbeat-timeout", "1"];
    slow.extend(board);
    let started = std::time::Instant::now();
    let v = pisubmit(&relay, &slow).json();
    let took = started.elapsed();
    assert!(took > Duration::from_secs(2), "the relay did not slow the strip down ({took:?}): nothing was tested");
    assert_eq!(v["recoveries"].as_array().map(Vec::len), Some(0), "the worker was taken for lost: {v}");
    let mut direct = vec!["--json"];
    direct.extend(board);
    let d = pisubmit(&worker.addr(), &direct).json();
    assert_eq!(v["hash"], d["hash"], "the same board either way");
    assert!(v["hash"].is_string(), "{v}");
}
