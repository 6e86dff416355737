//! What a status answer costs: `HostProbe::read` on this machine, and the
//! round trip of a StatusRequest against a Ping's on the same connection
//! (a ratio from one run, so a noisy machine does not decide it).
//!
//!     bench_status 127.0.0.1:31415 [ROUNDS]
//!
//! Run by bench/status.sh (`make bench`).

use piworker::daemon::health::HostProbe;
use piworker::protocol::frame::decode_frame;
use piworker::protocol::{Frame, FrameType, Hello};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn next_frame(s: &mut TcpStream, buf: &mut Vec<u8>) -> Frame {
    let mut chunk = [0u8; 8192];
    loop {
        if let Some((frame, used)) = decode_frame(buf, 1 << 20).expect("a valid frame") {
            buf.drain(..used);
            return frame;
        }
        let n = s.read(&mut chunk).expect("read");
        assert!(n > 0, "the worker closed the connection");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Median round trip of `rounds` requests of one type.
fn round_trips(s: &mut TcpStream, buf: &mut Vec<u8>, ask: FrameType, answer: FrameType, rounds: usize) -> Duration {
    let request = Frame::new(ask, 1, Vec::new()).to_bytes();
    let mut times: Vec<Duration> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            s.write_all(&request).expect("write");
            let f = next_frame(s, buf);
            assert_eq!(f.header.frame_type, answer);
            t.elapsed()
        })
        .collect();
    times.sort();
    times[rounds / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().expect("usage: bench_status ADDR:PORT [ROUNDS]");
    let rounds: usize = args.next().map_or(20_000, |r| r.parse().expect("ROUNDS is a number"));

    let mut probe = HostProbe::new("/".into());
    probe.read(0);
    let t = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(probe.read(0));
    }
    let read = t.elapsed() / rounds as u32;

    let mut s = TcpStream::connect(&addr).expect("connect");
    s.set_nodelay(true).expect("nodelay");
    let mut buf = Vec::new();
    s.write_all(&Hello::ours([0; 16]).encode().to_bytes()).expect("hello");
    assert_eq!(next_frame(&mut s, &mut buf).header.frame_type, FrameType::Welcome);
    // Interleaved halves, so drift in the machine's load hits both alike.
    let (mut ping, mut status) = (Vec::new(), Vec::new());
    for _ in 0..4 {
        ping.push(round_trips(&mut s, &mut buf, FrameType::Ping, FrameType::Pong, rounds / 4));
        status.push(round_trips(&mut s, &mut buf, FrameType::StatusRequest, FrameType::Status, rounds / 4));
    }
    ping.sort();
    status.sort();
    let (ping, status) = (ping[2], status[2]);
    println!(
        "probe_read_us={:.1} ping_rtt_us={:.1} status_rtt_us={:.1} ratio={:.2}",
        read.as_secs_f64() * 1e6,
        ping.as_secs_f64() * 1e6,
        status.as_secs_f64() * 1e6,
        status.as_secs_f64() / ping.as_secs_f64()
    );
}
