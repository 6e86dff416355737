//! Round-trip and pipelining benchmark for one piworker (bench/run.sh runs it).
//!
//!     cargo run --release --example bench_rtt -- 127.0.0.1:PORT \
//!         [--seq N] [--pipe N] [--window K] [--warmup N]
//!
//! It speaks the protocol directly over a blocking `std::net::TcpStream`
//! with TCP_NODELAY, so that the numbers are the worker's and the wire's,
//! not pisubmit's. After the handshake it measures:
//!
//! - sequential: N empty `echo` jobs, one at a time (Submit, wait for its
//!   Result), timing each round trip;
//! - pipelined: N empty `echo` jobs with K of them kept in flight.
//!
//! Output is `key=value` lines on stdout for scripts to parse.

use piworker::jobs::{echo, JobKind};
use piworker::protocol::frame::decode_frame;
use piworker::protocol::{ErrorMessage, Frame, FrameType, Hello, Submit, Welcome};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Largest frame payload we accept from the worker.
const MAX_INCOMING: u32 = 1 << 20;
/// Give up on a worker that stops answering.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

struct Options {
    addr: SocketAddr,
    seq: usize,
    pipe: usize,
    window: usize,
    warmup: usize,
}

const USAGE: &str = "usage: bench_rtt ADDR:PORT [--seq N] [--pipe N] [--window K] [--warmup N]
  --seq N     sequential empty echo jobs, timed one by one (default 20000)
  --pipe N    pipelined empty echo jobs (default 200000; 0 skips)
  --window K  pipelined jobs kept in flight (default 128)
  --warmup N  untimed sequential jobs first (default 1000)";

fn parse_args() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut addr = None;
    let mut opts =
        Options { addr: SocketAddr::from(([127, 0, 0, 1], 0)), seq: 20_000, pipe: 200_000, window: 128, warmup: 1_000 };
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> Result<usize, String> {
            let v = args.next().ok_or(format!("{name} needs a value"))?;
            v.parse().map_err(|_| format!("{name}: not a count: {v}"))
        };
        match arg.as_str() {
            "--seq" => opts.seq = number("--seq")?,
            "--pipe" => opts.pipe = number("--pipe")?,
            "--window" => opts.window = number("--window")?,
            "--warmup" => opts.warmup = number("--warmup")?,
            "-h" | "--help" => return Err(String::new()),
            a if addr.is_none() && !a.starts_with('-') => {
                addr = Some(a.parse().map_err(|_| format!("not an ADDR:PORT: {a}"))?)
            }
            a => return Err(format!("unexpected argument {a}")),
        }
    }
    opts.addr = addr.ok_or("missing ADDR:PORT")?;
    if opts.window == 0 || opts.window > 65_536 {
        return Err("--window must be in 1..=65536".into());
    }
    Ok(opts)
}

/// A blocking framed connection: a socket and the bytes read but not yet
/// cut into frames.
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl Client {
    fn connect(addr: SocketAddr) -> Result<(Client, Welcome), String> {
        let stream =
            TcpStream::connect_timeout(&addr, IO_TIMEOUT).map_err(|e| format!("{addr}: cannot connect: {e}"))?;
        stream
            .set_nodelay(true)
            .and_then(|_| stream.set_read_timeout(Some(IO_TIMEOUT)))
            .and_then(|_| stream.set_write_timeout(Some(IO_TIMEOUT)))
            .map_err(|e| format!("{addr}: socket options: {e}"))?;
        let mut client = Client { stream, buf: vec![0; 256 * 1024], start: 0, end: 0 };
        client.send(&Hello::ours([0; 16]).encode().to_bytes())?;
        let frame = client.next_frame()?;
        if frame.header.frame_type != FrameType::Welcome {
            return Err(format!("expected Welcome, got {}", describe(&frame.header.frame_type, &frame.payload)));
        }
        let welcome = Welcome::decode(&frame.payload).map_err(|e| format!("bad Welcome: {e}"))?;
        Ok((client, welcome))
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.stream.write_all(bytes).map_err(|e| format!("write failed: {e}"))
    }

    /// The next whole frame, reading from the socket as needed.
    fn next_frame(&mut self) -> Result<Frame, String> {
        loop {
            if let Some(frame) = self.buffered_frame()? {
                return Ok(frame);
            }
            self.fill()?;
        }
    }

    /// A whole frame already in the buffer, if there is one.
    fn buffered_frame(&mut self) -> Result<Option<Frame>, String> {
        match decode_frame(&self.buf[self.start..self.end], MAX_INCOMING) {
            Ok(Some((frame, used))) => {
                self.start += used;
                Ok(Some(frame))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(format!("bad frame from the worker: {e}")),
        }
    }

    /// Reads once (blocking) into the buffer's free space.
    fn fill(&mut self) -> Result<(), String> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            let len = self.buf.len();
            self.buf.resize(len * 2, 0);
        }
        match self.stream.read(&mut self.buf[self.end..]) {
            Ok(0) => Err("the worker closed the connection".into()),
            Ok(n) => {
                self.end += n;
                Ok(())
            }
            Err(e) => Err(format!("read failed: {e}")),
        }
    }
}

fn describe(frame_type: &FrameType, payload: &[u8]) -> String {
    match (frame_type, ErrorMessage::decode(payload)) {
        (FrameType::Error, Ok(err)) => format!("Error frame: {err}"),
        _ => format!("{frame_type:?} frame"),
    }
}

/// The bytes of an empty echo job's Submit frame.
fn empty_echo(job_id: u32) -> Vec<u8> {
    Submit { kind: JobKind::Echo.to_u8(), flags: 0, params: vec![] }.encode(job_id).to_bytes()
}

/// Checks that `frame` is the final result of an empty echo job; returns
/// its size on the wire.
fn check_result(frame: &Frame) -> Result<usize, String> {
    if frame.header.frame_type != FrameType::Result {
        return Err(format!(
            "job {}: expected a Result, got {}",
            frame.header.job_id,
            describe(&frame.header.frame_type, &frame.payload)
        ));
    }
    match echo::decode_result(&frame.payload) {
        Ok(0) => Ok(frame.encoded_len()),
        Ok(n) => Err(format!("empty echo job answered {n} bytes")),
        Err(e) => Err(format!("bad echo result: {e}")),
    }
}

/// Sequential round trips; returns each one's duration and the Result
/// frame's size.
fn sequential(client: &mut Client, count: usize, first_id: u32) -> Result<(Vec<f64>, usize), String> {
    let mut rtts = Vec::with_capacity(count);
    let mut result_bytes = 0;
    for i in 0..count {
        let job_id = first_id.wrapping_add(i as u32);
        let submit = empty_echo(job_id);
        let t = Instant::now();
        client.send(&submit)?;
        let frame = client.next_frame()?;
        rtts.push(t.elapsed().as_secs_f64() * 1e6);
        if frame.header.job_id != job_id {
            return Err(format!("sent job {job_id}, got a frame for job {}", frame.header.job_id));
        }
        result_bytes = check_result(&frame)?;
    }
    Ok((rtts, result_bytes))
}

/// `count` jobs with up to `window` in flight; returns the elapsed time.
fn pipelined(client: &mut Client, count: usize, window: usize, first_id: u32) -> Result<Duration, String> {
    let (mut sent, mut done) = (0usize, 0usize);
    let mut out = Vec::with_capacity(window * 32);
    let mut answered = vec![false; count];
    let t = Instant::now();
    while done < count {
        // Top the window up with one write.
        out.clear();
        while sent < count && sent - done < window {
            out.extend_from_slice(&empty_echo(first_id.wrapping_add(sent as u32)));
            sent += 1;
        }
        if !out.is_empty() {
            client.send(&out)?;
        }
        // Take every result that has arrived; block only if none has.
        let mut got = 0;
        loop {
            match client.buffered_frame()? {
                Some(frame) => {
                    // Results may come in any order, each exactly once.
                    let index = frame.header.job_id.wrapping_sub(first_id) as usize;
                    if index >= sent || answered[index] {
                        return Err(format!("unexpected result for job {}", frame.header.job_id));
                    }
                    answered[index] = true;
                    check_result(&frame)?;
                    done += 1;
                    got += 1;
                }
                None if got == 0 => client.fill()?,
                None => break,
            }
        }
    }
    Ok(t.elapsed())
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

fn run(opts: &Options) -> Result<(), String> {
    let (mut client, welcome) = Client::connect(opts.addr)?;
    println!("worker={} version={} threads={}", welcome.hostname, welcome.software, welcome.threads);
    let mut next_id = 1u32;
    if opts.warmup > 0 {
        sequential(&mut client, opts.warmup, next_id)?;
        next_id = next_id.wrapping_add(opts.warmup as u32);
    }
    if opts.seq > 0 {
        let (mut rtts, result_bytes) = sequential(&mut client, opts.seq, next_id)?;
        next_id = next_id.wrapping_add(opts.seq as u32);
        let mean = rtts.iter().sum::<f64>() / rtts.len() as f64;
        rtts.sort_by(f64::total_cmp);
        let pct = |p: f64| rtts[((rtts.len() - 1) as f64 * p) as usize];
        println!(
            "seq_rtt_us_median={:.3} seq_rtt_us_mean={:.3} seq_rtt_us_p99={:.3} seq_count={} \
             submit_bytes={} result_bytes={}",
            median(&rtts),
            mean,
            pct(0.99),
            opts.seq,
            empty_echo(0).len(),
            result_bytes
        );
    }
    if opts.pipe > 0 {
        let elapsed = pipelined(&mut client, opts.pipe, opts.window, next_id)?;
        println!(
            "pipe_jobs_per_s={:.0} pipe_count={} window={} pipe_ms={:.3}",
            opts.pipe as f64 / elapsed.as_secs_f64(),
            opts.pipe,
            opts.window,
            elapsed.as_secs_f64() * 1e3
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let opts = match parse_args() {
        Ok(o) => o,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("bench_rtt: {msg}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("bench_rtt: {}: {msg}", opts.addr);
            ExitCode::from(1)
        }
    }
}
