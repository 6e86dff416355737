//! The head's side of the wire: one non-blocking connection per worker on a
//! single mio loop, the handshake, and running a list of pieces over all
//! workers while streaming their input and gathering their output.
//!
//! It owns connections and dispatch; what a piece means and how results
//! combine belong to the `Gatherer` (see `plan`). Each worker keeps a small
//! window of pieces in flight, so its cores never wait for the network.

use super::error::SubmitError;
use super::hosts::HostSpec;
use crate::jobs::JobKind;
use crate::net::{FramedConn, Io};
use crate::protocol::frame::{PROTOCOL_MAJOR, PROTOCOL_MINOR};
use crate::protocol::message::{version_refusal, SUBMIT_HAS_INPUT};
use crate::protocol::{ErrorMessage, Frame, FrameType, Hello, Submit, Welcome};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Largest payload the head accepts from a worker.
const MAX_INCOMING: u32 = 64 * 1024 * 1024;
/// Pieces in flight per worker: one computing, one queued behind it.
const WINDOW: usize = 2;
/// Input bytes per `Data` frame (less if the worker's limit is lower).
const DATA_CHUNK: usize = 256 * 1024;
/// Keep at most this much input queued per connection; read more later.
const INPUT_QUEUE: usize = 1024 * 1024;

/// Where a piece's input comes from, read a chunk at a time.
pub trait InputStream {
    /// Replaces `buf` with up to `max` next bytes; returns false once the
    /// stream is exhausted (then `buf` holds the last bytes, maybe none).
    fn read_chunk(&mut self, buf: &mut Vec<u8>, max: usize) -> io::Result<bool>;
}

pub type InputOpener = Box<dyn FnOnce() -> io::Result<Box<dyn InputStream>>>;

/// One job submission to one worker.
pub struct Piece {
    pub kind: JobKind,
    pub params: Vec<u8>,
    pub input: Option<InputOpener>,
    /// For messages: what part of the job this is ("rows 0..626").
    pub label: String,
}

/// Receives what workers send back for pieces, by piece index.
pub trait Gatherer {
    fn partial(&mut self, piece: usize, payload: &[u8]) -> Result<(), String>;
    fn result(&mut self, piece: usize, payload: &[u8]) -> Result<(), String>;
}

/// What a run learned about one worker, for the report.
#[derive(Clone, Debug)]
pub struct HostReport {
    pub address: String,
    pub hostname: String,
    pub arch: String,
    pub software: String,
    pub threads: usize,
    pub pieces: usize,
    pub busy: Duration,
    pub handshake_rtt: Duration,
}

struct InFlight {
    piece: usize,
    sent: Instant,
}

struct Host {
    spec: HostSpec,
    addr: SocketAddr,
    conn: FramedConn,
    connected: bool,
    welcome: Option<Welcome>,
    hello_sent: Instant,
    handshake_rtt: Duration,
    next_job_id: u32,
    inflight: HashMap<u32, InFlight>,
    /// The piece whose input is being streamed now (one at a time).
    streaming: Option<(u32, Box<dyn InputStream>)>,
    pieces_done: usize,
    busy: Duration,
    busy_since: Option<Instant>,
}

impl Host {
    fn threads(&self) -> usize {
        let offered = self.welcome.as_ref().map_or(1, |w| w.threads as usize);
        self.spec
            .threads
            .map_or(offered, |t| offered.min(t as usize))
            .max(1)
    }

    fn data_chunk(&self) -> usize {
        self.welcome
            .as_ref()
            .map_or(DATA_CHUNK, |w| DATA_CHUNK.min(w.max_frame as usize))
    }

    fn mark_busy(&mut self, now: Instant) {
        if self.busy_since.is_none() {
            self.busy_since = Some(now);
        }
    }

    fn mark_idle_if_empty(&mut self, now: Instant) {
        if self.inflight.is_empty() {
            if let Some(since) = self.busy_since.take() {
                self.busy += now - since;
            }
        }
    }
}

pub struct Cluster {
    poll: Poll,
    hosts: Vec<Host>,
}

impl Cluster {
    /// Connects to every host and completes the handshake with each, all at
    /// once. Any host that cannot be reached fails the whole call, naming it.
    pub fn connect(specs: &[HostSpec], timeout: Duration) -> Result<Cluster, SubmitError> {
        let poll = Poll::new()
            .map_err(|e| SubmitError::Connect(format!("cannot create an event loop: {e}")))?;
        let mut hosts = Vec::with_capacity(specs.len());
        for (i, spec) in specs.iter().enumerate() {
            let addr = resolve(spec)?;
            let mut stream = TcpStream::connect(addr)
                .map_err(|e| SubmitError::Connect(format!("{spec}: cannot connect: {e}")))?;
            poll.registry()
                .register(
                    &mut stream,
                    Token(i),
                    Interest::READABLE | Interest::WRITABLE,
                )
                .map_err(|e| {
                    SubmitError::Connect(format!("{spec}: cannot watch the socket: {e}"))
                })?;
            hosts.push(Host {
                spec: spec.clone(),
                addr,
                conn: FramedConn::new(stream, MAX_INCOMING),
                connected: false,
                welcome: None,
                hello_sent: Instant::now(),
                handshake_rtt: Duration::ZERO,
                next_job_id: 1,
                inflight: HashMap::new(),
                streaming: None,
                pieces_done: 0,
                busy: Duration::ZERO,
                busy_since: None,
            });
        }
        let mut cluster = Cluster { poll, hosts };
        cluster.handshake_all(Instant::now() + timeout)?;
        Ok(cluster)
    }

    fn handshake_all(&mut self, deadline: Instant) -> Result<(), SubmitError> {
        let mut events = Events::with_capacity(256);
        while self.hosts.iter().any(|h| h.welcome.is_none()) {
            let now = Instant::now();
            if now >= deadline {
                let late: Vec<String> = self
                    .hosts
                    .iter()
                    .filter(|h| h.welcome.is_none())
                    .map(|h| {
                        format!(
                            "{} ({})",
                            h.spec,
                            if h.connected {
                                "connected, no handshake answer"
                            } else {
                                "no connection"
                            }
                        )
                    })
                    .collect();
                return Err(SubmitError::Connect(format!(
                    "timed out reaching {}",
                    late.join(", ")
                )));
            }
            poll_once(&mut self.poll, &mut events, deadline - now)?;
            for event in events.iter() {
                let host = &mut self.hosts[event.token().0];
                if !host.connected
                    && (event.is_writable() || event.is_error() || event.is_write_closed())
                {
                    check_connected(host)?;
                }
                if host.connected && host.welcome.is_none() {
                    read_welcome(host)?;
                }
            }
        }
        Ok(())
    }

    pub fn total_threads(&self) -> usize {
        self.hosts.iter().map(Host::threads).sum()
    }

    pub fn host_count(&self) -> usize {
        self.hosts.len()
    }

    /// Sends a `Ping` to every worker `rounds` times, one at a time per
    /// worker, and returns each worker's median round trip.
    pub fn ping(&mut self, rounds: usize) -> Result<Vec<Duration>, SubmitError> {
        let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); self.hosts.len()];
        let mut events = Events::with_capacity(256);
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut sent_at = vec![Instant::now(); self.hosts.len()];
        for (i, host) in self.hosts.iter_mut().enumerate() {
            host.conn.queue(FrameType::Ping, 0, &[]);
            sent_at[i] = Instant::now();
            flush(host)?;
        }
        while samples.iter().any(|s| s.len() < rounds) {
            let now = Instant::now();
            if now >= deadline {
                return Err(SubmitError::Job("ping: a worker stopped answering".into()));
            }
            poll_once(&mut self.poll, &mut events, deadline - now)?;
            for event in events.iter() {
                let i = event.token().0;
                let host = &mut self.hosts[i];
                for frame in read_frames(host)? {
                    if frame.header.frame_type == FrameType::Pong && samples[i].len() < rounds {
                        samples[i].push(sent_at[i].elapsed());
                        if samples[i].len() < rounds {
                            host.conn.queue(FrameType::Ping, 0, &[]);
                            sent_at[i] = Instant::now();
                        }
                    }
                }
                flush(host)?;
            }
        }
        Ok(samples
            .into_iter()
            .map(|mut s| {
                s.sort();
                s[s.len() / 2]
            })
            .collect())
    }

    /// Runs every piece somewhere and feeds what comes back to `gather`.
    pub fn run(
        &mut self,
        pieces: Vec<Piece>,
        gather: &mut dyn Gatherer,
        deadline: Option<Instant>,
    ) -> Result<(), SubmitError> {
        let labels: Vec<String> = pieces.iter().map(|p| p.label.clone()).collect();
        let mut pending: VecDeque<(usize, Piece)> = pieces.into_iter().enumerate().collect();
        let mut remaining = labels.len();
        let mut events = Events::with_capacity(256);
        let mut scratch = Vec::new();
        while remaining > 0 {
            for host in &mut self.hosts {
                dispatch(host, &mut pending, &mut scratch)?;
            }
            let wait = match deadline {
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return Err(self.timeout_error(&labels));
                    }
                    (d - now).min(Duration::from_secs(1))
                }
                None => Duration::from_secs(1),
            };
            poll_once(&mut self.poll, &mut events, wait)?;
            for event in events.iter() {
                let host = &mut self.hosts[event.token().0];
                for frame in read_frames(host)? {
                    remaining -= handle_reply(host, frame, gather, &labels)?;
                }
                flush(host)?;
            }
        }
        Ok(())
    }

    fn timeout_error(&self, labels: &[String]) -> SubmitError {
        let busy: Vec<String> = self
            .hosts
            .iter()
            .filter(|h| !h.inflight.is_empty())
            .map(|h| {
                let pieces: Vec<&str> = h
                    .inflight
                    .values()
                    .map(|f| labels[f.piece].as_str())
                    .collect();
                format!("{} ({})", h.spec, pieces.join(", "))
            })
            .collect();
        SubmitError::Job(format!(
            "--timeout reached with pieces still running on {}",
            busy.join("; ")
        ))
    }

    pub fn reports(&self) -> Vec<HostReport> {
        let now = Instant::now();
        self.hosts
            .iter()
            .map(|h| {
                let welcome = h.welcome.clone();
                let open = h.busy_since.map_or(Duration::ZERO, |s| now - s);
                HostReport {
                    address: h.spec.address(),
                    hostname: welcome
                        .as_ref()
                        .map_or(String::new(), |w| w.hostname.clone()),
                    arch: welcome.as_ref().map_or(String::new(), |w| w.arch.clone()),
                    software: welcome
                        .as_ref()
                        .map_or(String::new(), |w| w.software.clone()),
                    threads: h.threads(),
                    pieces: h.pieces_done,
                    busy: h.busy + open,
                    handshake_rtt: h.handshake_rtt,
                }
            })
            .collect()
    }
}

fn resolve(spec: &HostSpec) -> Result<SocketAddr, SubmitError> {
    let text = spec.address();
    let mut addrs = text
        .to_socket_addrs()
        .map_err(|e| SubmitError::Connect(format!("{spec}: cannot resolve the host name: {e}")))?;
    addrs
        .next()
        .ok_or_else(|| SubmitError::Connect(format!("{spec}: the name resolves to no address")))
}

fn poll_once(poll: &mut Poll, events: &mut Events, wait: Duration) -> Result<(), SubmitError> {
    match poll.poll(events, Some(wait)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::Interrupted => {
            events.clear();
            Ok(())
        }
        Err(e) => Err(SubmitError::Connect(format!(
            "waiting for workers failed: {e}"
        ))),
    }
}

/// A non-blocking connect has finished one way or the other.
fn check_connected(host: &mut Host) -> Result<(), SubmitError> {
    if let Ok(Some(e)) | Err(e) = host.conn.stream.take_error() {
        return Err(SubmitError::Connect(format!(
            "{} ({}): cannot connect: {e}",
            host.spec, host.addr
        )));
    }
    match host.conn.stream.peer_addr() {
        Ok(_) => {
            host.connected = true;
            let _ = host.conn.stream.set_nodelay(true);
            host.conn.queue_frame(&Hello::ours().encode());
            host.hello_sent = Instant::now();
            flush(host)
        }
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()), // still connecting
        Err(e) => Err(SubmitError::Connect(format!(
            "{} ({}): cannot connect: {e}",
            host.spec, host.addr
        ))),
    }
}

fn read_welcome(host: &mut Host) -> Result<(), SubmitError> {
    for frame in read_frames(host)? {
        match frame.header.frame_type {
            FrameType::Welcome => {
                let w = Welcome::decode(&frame.payload).map_err(|e| {
                    SubmitError::Connect(format!("{}: malformed Welcome: {e}", host.spec))
                })?;
                if w.protocol_major != PROTOCOL_MAJOR {
                    let msg = version_refusal(
                        PROTOCOL_MAJOR,
                        PROTOCOL_MINOR,
                        w.protocol_major,
                        w.protocol_minor,
                    );
                    return Err(SubmitError::Connect(format!("{}: {msg}", host.spec)));
                }
                host.handshake_rtt = host.hello_sent.elapsed();
                host.welcome = Some(w);
            }
            FrameType::Error => {
                let msg = ErrorMessage::decode(&frame.payload)
                    .map_or_else(|e| e.to_string(), |m| m.message);
                return Err(SubmitError::Connect(format!(
                    "{} refused the handshake: {msg}",
                    host.spec
                )));
            }
            other => {
                return Err(SubmitError::Connect(format!(
                    "{}: expected Welcome, got {other:?}",
                    host.spec
                )));
            }
        }
    }
    Ok(())
}

/// Reads everything available and cuts it into frames. A closed connection
/// is an error that names the host and what it was doing.
fn read_frames(host: &mut Host) -> Result<Vec<Frame>, SubmitError> {
    let mut frames = Vec::new();
    loop {
        let io = host
            .conn
            .read_some()
            .map_err(|e| lost(host, &format!("read failed: {e}")))?;
        loop {
            match host.conn.next_frame() {
                Ok(Some(f)) => frames.push(f),
                Ok(None) => break,
                Err(e) => return Err(lost(host, &format!("sent a bad frame: {e}"))),
            }
        }
        match io {
            Io::Progress(_) => continue,
            Io::WouldBlock => return Ok(frames),
            Io::Closed => {
                // Frames that arrived before the close (an error saying why) come first.
                if let Some(msg) = frames.iter().find_map(connection_error) {
                    return Err(lost(host, &format!("closed the connection: {msg}")));
                }
                if frames.is_empty() || !host.inflight.is_empty() || host.welcome.is_none() {
                    return Err(lost(
                        host,
                        "closed the connection (did the worker die or restart?)",
                    ));
                }
                return Ok(frames);
            }
        }
    }
}

fn connection_error(frame: &Frame) -> Option<String> {
    (frame.header.frame_type == FrameType::Error && frame.header.job_id == 0)
        .then(|| ErrorMessage::decode(&frame.payload).map_or_else(|e| e.to_string(), |m| m.message))
}

fn lost(host: &Host, what: &str) -> SubmitError {
    let context = if host.inflight.is_empty() {
        String::new()
    } else {
        format!(" with {} pieces in flight", host.inflight.len())
    };
    let text = format!("worker {} {what}{context}", host.spec);
    if host.welcome.is_none() {
        SubmitError::Connect(text)
    } else {
        SubmitError::Job(text)
    }
}

fn flush(host: &mut Host) -> Result<(), SubmitError> {
    match host.conn.write_some() {
        Ok(Io::Closed) => Err(lost(host, "closed the connection while we were sending")),
        Ok(_) => Ok(()),
        Err(e) => Err(lost(host, &format!("write failed: {e}"))),
    }
}

/// Keeps the worker's window full and its input flowing.
fn dispatch(
    host: &mut Host,
    pending: &mut VecDeque<(usize, Piece)>,
    scratch: &mut Vec<u8>,
) -> Result<(), SubmitError> {
    loop {
        if let Some((job_id, mut stream)) = host.streaming.take() {
            let max = host.data_chunk();
            let mut more = true;
            while more && host.conn.pending_output() < INPUT_QUEUE {
                more = stream.read_chunk(scratch, max).map_err(|e| {
                    SubmitError::Job(format!("reading input for {}: {e}", host.spec))
                })?;
                if !scratch.is_empty() {
                    host.conn.queue(FrameType::Data, job_id, scratch);
                }
            }
            if more {
                host.streaming = Some((job_id, stream));
                flush(host)?;
                if host.conn.pending_output() > 0 {
                    // The socket is full: its writable event brings us back.
                    break;
                }
                // The socket took everything, so no writable edge will come:
                // keep filling now.
                continue;
            }
            host.conn.queue(FrameType::EndInput, job_id, &[]);
        }
        if host.inflight.len() >= WINDOW {
            break;
        }
        let Some((index, piece)) = pending.pop_front() else {
            break;
        };
        let job_id = host.next_job_id;
        host.next_job_id = host.next_job_id.wrapping_add(1).max(1);
        let flags = if piece.input.is_some() {
            SUBMIT_HAS_INPUT
        } else {
            0
        };
        let submit = Submit {
            kind: piece.kind.to_u8(),
            flags,
            params: piece.params,
        };
        host.conn.queue_frame(&submit.encode(job_id));
        let now = Instant::now();
        host.inflight.insert(
            job_id,
            InFlight {
                piece: index,
                sent: now,
            },
        );
        host.mark_busy(now);
        if let Some(open) = piece.input {
            let stream = open().map_err(|e| {
                SubmitError::Job(format!("cannot open input for {}: {e}", piece.label))
            })?;
            host.streaming = Some((job_id, stream));
        }
    }
    flush(host)
}

/// Handles one frame from a worker during a run; returns 1 when it
/// finished a piece.
fn handle_reply(
    host: &mut Host,
    frame: Frame,
    gather: &mut dyn Gatherer,
    labels: &[String],
) -> Result<usize, SubmitError> {
    let job_id = frame.header.job_id;
    let piece_of = |host: &Host| host.inflight.get(&job_id).map(|f| f.piece);
    match frame.header.frame_type {
        FrameType::Partial => {
            let piece = piece_of(host).ok_or_else(|| stray(host, job_id))?;
            gather
                .partial(piece, &frame.payload)
                .map_err(|e| piece_failed(host, labels, piece, &e))?;
            Ok(0)
        }
        FrameType::Result => {
            let flight = host
                .inflight
                .remove(&job_id)
                .ok_or_else(|| stray(host, job_id))?;
            let now = Instant::now();
            host.mark_idle_if_empty(now);
            host.pieces_done += 1;
            log::debug!(
                "{}: {} done in {:?}",
                host.spec,
                labels[flight.piece],
                now - flight.sent
            );
            gather
                .result(flight.piece, &frame.payload)
                .map_err(|e| piece_failed(host, labels, flight.piece, &e))?;
            Ok(1)
        }
        FrameType::Error => {
            let msg =
                ErrorMessage::decode(&frame.payload).map_or_else(|e| e.to_string(), |m| m.message);
            match piece_of(host) {
                Some(piece) => Err(piece_failed(host, labels, piece, &msg)),
                None => Err(SubmitError::Job(format!(
                    "worker {} reported: {msg}",
                    host.spec
                ))),
            }
        }
        FrameType::Pong => Ok(0),
        other => Err(SubmitError::Job(format!(
            "worker {} sent an unexpected {other:?} frame",
            host.spec
        ))),
    }
}

fn stray(host: &Host, job_id: u32) -> SubmitError {
    SubmitError::Job(format!(
        "worker {} answered job {job_id}, which we never sent",
        host.spec
    ))
}

fn piece_failed(host: &Host, labels: &[String], piece: usize, msg: &str) -> SubmitError {
    SubmitError::Job(format!("worker {}: {}: {msg}", host.spec, labels[piece]))
}
