//! The steady path allocates nothing per frame, and frames queued together
//! leave in one write.
//!
//! A counting global allocator counts the allocations (alloc, alloc_zeroed
//! and realloc) of the threads that opt in, and each test runs the same
//! traffic twice, with 10 and with 1000 frames, after a warm-up that lets
//! every buffer reach its working size. An allocation per frame shows as
//! about a thousand more in the second run; none may appear.
//!
//! Three levels, all real code: the frame buffers (`InputBuf`, `OutputBuf`)
//! fed from memory; a whole worker (`daemon::run`, its event loop on a
//! thread of this process) serving a client over loopback; and pisubmit's
//! engine running echo pieces against that worker.

use piworker::daemon::{self, Config};
use piworker::jobs::{echo, JobKind};
use piworker::net::{InputBuf, Io, OutputBuf};
use piworker::protocol::frame::{decode_frame, write_frame, DEFAULT_MAX_FRAME, HEADER_LEN};
use piworker::protocol::message::SUBMIT_HAS_INPUT;
use piworker::protocol::{Frame, FrameType, Hello, Submit};
use piworker::submit::cluster::engine::{Cores, Engine, GatherError, Gatherer, InputStream, Options, Piece, PieceList};
use piworker::submit::cluster::hosts::parse_host;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

// ---- the counting allocator ----

/// The system allocator, counting the allocations of threads that opted in
/// (`count_this_thread`) into the counter each chose. Counting per thread
/// keeps the tests of this binary, which run in parallel, apart.
struct Counting;

thread_local! {
    static COUNTER: Cell<Option<&'static AtomicU64>> = const { Cell::new(None) };
}

fn note_allocation() {
    // try_with: nothing to count while the thread is being torn down.
    let _ = COUNTER.try_with(|c| {
        if let Some(n) = c.get() {
            n.fetch_add(1, Ordering::Relaxed);
        }
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        System.alloc_zeroed(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// From now on this thread's allocations add to `counter`.
fn count_this_thread(counter: &'static AtomicU64) {
    COUNTER.with(|c| c.set(Some(counter)));
}

/// Allocations counted in `counter` while `f` runs (and whatever else the
/// counted threads did meanwhile).
fn allocations_during<T>(counter: &AtomicU64, f: impl FnOnce() -> T) -> (u64, T) {
    let before = counter.load(Ordering::SeqCst);
    let out = f();
    (counter.load(Ordering::SeqCst) - before, out)
}

/// The assertion every test makes: 1000 frames cost no more allocations
/// than 10 did.
fn assert_no_growth(what: &str, with_10: u64, with_1000: u64) {
    eprintln!("{what}: {with_10} allocations for 10 frames, {with_1000} for 1000");
    assert!(
        with_1000 <= with_10,
        "{what}: {with_10} allocations for 10 frames but {with_1000} for 1000: something allocates per frame"
    );
}

// ---- the frame buffers, fed from memory ----

/// Hands out a stream of frames in reads of a few sizes, like a socket
/// would: every other read stops at the end of a frame (a peer writing a
/// frame at a time), the others run across frames.
struct Trickle<'a> {
    data: &'a [u8],
    /// Where each frame ends.
    ends: &'a [usize],
    pos: usize,
    reads: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        const SIZES: [usize; 4] = [1448, 65536, 7, 20000];
        self.reads += 1;
        let mut n = SIZES[self.reads % SIZES.len()].min(buf.len()).min(self.data.len() - self.pos);
        if self.reads % 2 == 0 {
            let frame_end = self.ends.iter().find(|&&end| end > self.pos).copied().unwrap_or(self.data.len());
            n = n.min(frame_end - self.pos);
        }
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n) // 0 at the end: the peer closed
    }
}

/// A socket that takes at most `max` bytes per write and is full (would
/// block) every other call; it counts the write calls and the bytes, and
/// hashes the bytes (FNV-1a) so that their order can be checked without
/// keeping them.
struct Sink {
    max: usize,
    writes: usize,
    calls: usize,
    bytes: usize,
    hash: u64,
}

impl Sink {
    fn new(max: usize) -> Sink {
        Sink { max, writes: 0, calls: 0, bytes: 0, hash: FNV_START }
    }
}

const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

fn fnv(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.calls += 1;
        if self.calls % 2 == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(self.max);
        self.writes += 1;
        self.bytes += n;
        self.hash = fnv(self.hash, &buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Payload sizes of the test frames, in turn: empty, small, and large
/// enough to span several reads, and to grow the input buffer past the
/// size at which it would shrink if large frames were a one-off.
const SIZES: [usize; 7] = [0, 17, 100, 4096, 70_000, 300, 300_000];

/// `n` frames of `frame_type` (Data frames as a peer would send them, or
/// the Partials that answer them), and where each ends.
fn frame_stream(frame_type: FrameType, n: usize) -> (Vec<u8>, Vec<usize>) {
    let (mut out, mut ends) = (Vec::new(), Vec::new());
    for i in 0..n {
        let payload = vec![i as u8; SIZES[i % SIZES.len()]];
        write_frame(&mut out, frame_type, 7, &payload);
        ends.push(out.len());
    }
    (out, ends)
}

/// Cuts every frame from `stream` and answers each with a Partial carrying
/// its payload (what an echo job does), writing as a writable socket
/// allows. Returns the frames seen, and the bytes written and their hash.
fn echo_through(
    input: &mut InputBuf,
    output: &mut OutputBuf,
    (stream, ends): &(Vec<u8>, Vec<usize>),
    sink: &mut Sink,
) -> (usize, usize, u64) {
    let mut source = Trickle { data: stream, ends, pos: 0, reads: 0 };
    let (mut frames, written) = (0, sink.bytes);
    sink.hash = FNV_START;
    loop {
        let io = input.read_from(&mut source).expect("reading from memory");
        while let Some(frame) = input.next_frame().expect("valid frames") {
            assert_eq!(frame.payload.len(), SIZES[frames % SIZES.len()], "frame {frames}");
            assert!(frame.payload.iter().all(|&b| b == frames as u8), "frame {frames} payload");
            output.queue(FrameType::Partial, frame.header.job_id, frame.payload);
            frames += 1;
        }
        // Writable events until the backlog is gone.
        while output.pending() > 0 {
            output.write_to(sink).expect("writing to memory");
        }
        if io == Io::Closed {
            return (frames, sink.bytes - written, sink.hash);
        }
    }
}

#[test]
fn frame_buffers_allocate_nothing_per_frame() {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let (ten, thousand) = (frame_stream(FrameType::Data, 10), frame_stream(FrameType::Data, 1000));
    // A Partial per Data frame, in order, with the same payload.
    let expected = |n| {
        let (answers, _) = frame_stream(FrameType::Partial, n);
        (n, answers.len(), fnv(FNV_START, &answers))
    };
    let (answers_10, answers_1000) = (expected(10), expected(1000));
    let (mut input, mut output) = (InputBuf::new(DEFAULT_MAX_FRAME), OutputBuf::new());
    let mut sink = Sink::new(32 * 1024);
    count_this_thread(&COUNT);
    // Warm-up: the buffers grow to their working size.
    assert_eq!(echo_through(&mut input, &mut output, &thousand, &mut sink), answers_1000);
    let (with_10, seen) = allocations_during(&COUNT, || echo_through(&mut input, &mut output, &ten, &mut sink));
    assert_eq!(seen, answers_10);
    let (with_1000, seen) = allocations_during(&COUNT, || echo_through(&mut input, &mut output, &thousand, &mut sink));
    assert_eq!(seen, answers_1000);
    assert_no_growth("frame buffers", with_10, with_1000);
    assert_eq!(with_1000, 0, "a warm connection's buffers need no allocation at all");
}

#[test]
fn frames_queued_together_leave_in_one_write() {
    let mut output = OutputBuf::new();
    for id in 0..100 {
        output.queue(FrameType::Pong, id, &[]);
    }
    let mut sink = Sink::new(usize::MAX);
    assert_eq!(output.write_to(&mut sink).unwrap(), Io::Progress(100 * HEADER_LEN));
    assert_eq!((sink.writes, sink.bytes), (1, 100 * HEADER_LEN), "100 queued frames, one write");
    // A socket that takes less per call gets as few writes as it allows.
    for id in 0..100 {
        output.queue(FrameType::Pong, id, &[]);
    }
    let mut sink = Sink::new(1000);
    assert_eq!(output.write_to(&mut sink).unwrap(), Io::Progress(1000)); // then it is full
    assert_eq!(output.write_to(&mut sink).unwrap(), Io::Progress(600));
    assert_eq!((sink.writes, output.pending()), (2, 0), "1600 bytes at up to 1000 a write");
}

// ---- a whole worker, in this process ----

/// Starts a worker's event loop on a thread of this process, its
/// allocations counted in `counter`; returns its address once it listens.
fn start_worker(counter: Option<&'static AtomicU64>) -> SocketAddr {
    let addr = {
        let probe = TcpListener::bind("127.0.0.1:0").expect("a free port");
        probe.local_addr().unwrap()
    };
    let config = Config { listen: addr, threads: Some(1), discovery: false, job_dirs: Vec::new(), ..Config::default() };
    std::thread::spawn(move || {
        if let Some(counter) = counter {
            count_this_thread(counter);
        }
        // Runs until the test process ends.
        if let Err(e) = daemon::run(config) {
            panic!("the in-process worker stopped: {e}");
        }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "the in-process worker does not listen on {addr}");
        std::thread::sleep(Duration::from_millis(10));
    }
    addr
}

/// A blocking client speaking the protocol, its buffers made once.
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
    out: Vec<u8>,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect to the worker");
        stream.set_nodelay(true).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut client = Client { stream, buf: Vec::with_capacity(1 << 20), out: Vec::with_capacity(1 << 20) };
        client.stream.write_all(&Hello::ours([0; 16]).encode().to_bytes()).unwrap();
        assert_eq!(client.next_frame().header.frame_type, FrameType::Welcome);
        client
    }

    fn send_queued(&mut self) {
        self.stream.write_all(&self.out).expect("write to the worker");
        self.out.clear();
    }

    fn next_frame(&mut self) -> Frame {
        let mut chunk = [0u8; 64 * 1024];
        loop {
            if let Some((frame, used)) = decode_frame(&self.buf, DEFAULT_MAX_FRAME).expect("a valid frame") {
                self.buf.drain(..used);
                return frame;
            }
            let n = self.stream.read(&mut chunk).expect("read from the worker");
            assert!(n > 0, "the worker closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Sends `n` frames in one write, Data for echo job 1 and Pings in
    /// turn, and reads the `n` answers (Partial, Pong).
    fn stream_round(&mut self, n: usize) {
        for i in 0..n {
            let payload = [i as u8; 100];
            let frame_type = if i % 2 == 0 { FrameType::Data } else { FrameType::Ping };
            write_frame(&mut self.out, frame_type, 1, &payload);
        }
        self.send_queued();
        for i in 0..n {
            let frame = self.next_frame();
            let want = if i % 2 == 0 { FrameType::Partial } else { FrameType::Pong };
            assert_eq!((frame.header.frame_type, frame.payload.len()), (want, 100), "answer {i}");
        }
    }

    /// `n` empty echo jobs, all sent in one write, and their results.
    fn job_round(&mut self, n: usize, first_id: u32) {
        for i in 0..n {
            let submit = Submit { kind: JobKind::Echo.to_u8(), flags: 0, params: Vec::new() };
            submit.encode(first_id + i as u32).write_to(&mut self.out);
        }
        self.send_queued();
        for _ in 0..n {
            let frame = self.next_frame();
            assert_eq!(frame.header.frame_type, FrameType::Result, "{frame:?}");
        }
    }
}

#[test]
fn worker_event_loop_allocates_nothing_per_frame() {
    static LOOP: AtomicU64 = AtomicU64::new(0);
    let addr = start_worker(Some(&LOOP));
    let mut client = Client::connect(addr);
    let submit = Submit { kind: JobKind::Echo.to_u8(), flags: SUBMIT_HAS_INPUT, params: Vec::new() };
    client.out.extend_from_slice(&submit.encode(1).to_bytes());
    client.send_queued();
    client.stream_round(1000); // warm-up
    let (with_10, ()) = allocations_during(&LOOP, || client.stream_round(10));
    let (with_1000, ()) = allocations_during(&LOOP, || client.stream_round(1000));
    assert_no_growth("worker: Data and Ping frames", with_10, with_1000);

    // Jobs allocate per job, never per frame: an empty echo job (no
    // compute tasks, so no flags for them) costs the job itself and its
    // result.
    const PER_JOB: u64 = 2;
    client.job_round(1000, 10); // warm-up
    let (with_10, ()) = allocations_during(&LOOP, || client.job_round(10, 2000));
    let (with_1000, ()) = allocations_during(&LOOP, || client.job_round(1000, 3000));
    eprintln!("worker: {with_10} allocations for 10 empty jobs, {with_1000} for 1000");
    assert!(
        with_1000 <= with_10 + PER_JOB * 990,
        "{with_10} allocations for 10 jobs but {with_1000} for 1000: more than {PER_JOB} per job"
    );
}

// ---- pisubmit's engine against that worker ----

/// An echo piece's input: `chunks` chunks of 100 bytes, so that each is a
/// Data frame of its own (and comes back as a Partial of its own).
struct Chunks {
    left: usize,
}

impl InputStream for Chunks {
    fn read_chunk(&mut self, buf: &mut [u8]) -> io::Result<(usize, bool)> {
        let n = buf.len().min(100);
        for (offset, b) in (0..).zip(&mut buf[..n]) {
            *b = echo::pattern_byte(offset);
        }
        self.left -= 1;
        Ok((n, self.left > 0))
    }
}

fn echo_piece(chunks: usize) -> Piece {
    Piece {
        kind: JobKind::Echo,
        params: Vec::new(),
        input: Some(Box::new(move || Ok(Box::new(Chunks { left: chunks }) as Box<dyn InputStream>))),
        cores: Cores::All,
        label: String::from("echo"),
    }
}

/// Checks what comes back: every partial is the chunk that was sent.
#[derive(Default)]
struct Check {
    partials: usize,
    results: usize,
}

impl Gatherer for Check {
    fn partial(&mut self, _: usize, payload: &[u8]) -> Result<(), GatherError> {
        let ok = payload.len() == 100 && payload.iter().enumerate().all(|(i, &b)| b == echo::pattern_byte(i as u64));
        self.partials += 1;
        ok.then_some(()).ok_or_else(|| GatherError::BadAnswer("a partial differs from its chunk".to_string()))
    }
    fn result(&mut self, _: usize, payload: &[u8]) -> Result<(), GatherError> {
        self.results += 1;
        echo::decode_result(payload).map(|_| ()).map_err(|e| GatherError::BadAnswer(e.to_string()))
    }
}

#[test]
fn pisubmit_engine_allocates_nothing_per_frame() {
    static HEAD: AtomicU64 = AtomicU64::new(0);
    let addr = start_worker(None);
    let options = Options {
        connect_timeout: Duration::from_secs(10),
        heartbeat_timeout: Duration::from_secs(30),
        retries: 1,
        piece_timeout: None,
        deadline: None,
        key: None,
    };
    let host = parse_host(&addr.to_string()).expect("a host");
    let mut engine = Engine::connect(vec![host], None, options).expect("reach the in-process worker");
    count_this_thread(&HEAD);
    let mut run = |chunks: usize| {
        let mut check = Check::default();
        engine.run(&mut PieceList::new(vec![echo_piece(chunks)]), &mut check).expect("the echo piece runs");
        assert_eq!((check.partials, check.results), (chunks, 1));
    };
    run(1000); // warm-up
    run(1000);
    let (with_10, ()) = allocations_during(&HEAD, || run(10));
    let (with_1000, ()) = allocations_during(&HEAD, || run(1000));
    assert_no_growth("pisubmit: Data frames out, Partial frames in", with_10, with_1000);
}
