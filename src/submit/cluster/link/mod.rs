//! One worker as the head sees it: the connection's life (connect,
//! handshake, ready, lost, back off, reconnect), heartbeats, and the pieces
//! it is running.
//!
//! It owns one socket and what is known about the worker at its end. It
//! does not choose pieces or combine results: `engine` does.
//! Over 600 lines because the connection's states, its handshake and its
//! heartbeat are one state machine; its refusals are in `refusal`.

mod refusal;

pub use refusal::{Refusal, SendError};

use crate::net::{FramedConn, InputBuf, Io};
use crate::protocol::auth::{self, NONCE_LEN};
use crate::protocol::frame::{PROTOCOL_MAJOR, PROTOCOL_MINOR};
use crate::protocol::message::{version_refusal, Challenge};
use crate::protocol::versions;
use crate::protocol::{ErrorCode, ErrorMessage, Frame, FrameError, FrameRef, FrameType, Hello, Welcome};
use crate::submit::cluster::hosts::HostSpec;
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The event of a worker that closed the connection.
pub fn closed() -> Event {
    Event::Lost("closed the connection (did the worker die or restart?)".into())
}

/// Largest payload the head accepts from a worker.
const MAX_INCOMING: u32 = 64 * 1024 * 1024;
/// First wait before reconnecting to a worker that failed; doubles up to
/// `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Emptied partial stores a link keeps for its next pieces (one piece ends
/// as the next starts), and the largest it keeps: a piece with a huge
/// output must not pin its memory.
const SPARE_PARTIALS: usize = 2;
const SPARE_PARTIALS_MAX: usize = 4 * 1024 * 1024;

/// Where a link is in its life.
#[derive(Debug)]
pub enum State {
    /// TCP connect or handshake under way, since the instant given.
    Connecting(Instant),
    Ready,
    /// Failed: reconnect at the instant given.
    Backoff(Instant),
    /// Taken out of the host list: finish what runs, then close.
    Retired,
}

/// A piece running on this worker.
pub struct Flight {
    pub piece: usize,
    pub sent: Instant,
    /// The wall-clock time it was sent, for a job log.
    pub sent_at: std::time::SystemTime,
    /// Bytes of parameters and input sent for it.
    pub bytes_in: u64,
    /// Partial results, held until the piece's Result arrives, so that a
    /// piece whose worker dies half-way leaves no trace in the output.
    /// Give them back with `Link::recycle_partials` once gathered.
    pub partials: Partials,
    /// Whether its stdout comes packed (`SUBMIT_PACKED_STDOUT`).
    pub packed: bool,
}

/// A piece's partial results, back to back in one buffer. Stores are
/// reused from piece to piece (`Link::recycle_partials`), so a steady
/// stream of partials allocates nothing: each is copied once, from the
/// receive buffer to here.
#[derive(Default)]
pub struct Partials {
    bytes: Vec<u8>,
    /// Where each partial ends in `bytes`.
    ends: Vec<usize>,
}

impl Partials {
    pub fn push(&mut self, payload: &[u8]) {
        self.bytes.extend_from_slice(payload);
        self.ends.push(self.bytes.len());
    }

    /// Bytes of all the partials together.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The partials, in the order they arrived.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(&self.ends).map(|(start, &end)| &self.bytes[start..end])
    }
}

/// The received bytes of a link, moved out so that its frames can be
/// handled in place (`Link::take_input`); tagged with the connection they
/// came from, so that they never go back to another one.
pub struct TakenInput {
    pub input: InputBuf,
    connection: u64,
}

/// What a link has learnt from its worker in one read.
pub enum Event {
    Frame(Frame),
    /// The connection is gone; the reason is for people.
    Lost(String),
    /// Garbage before any Welcome: the peer is not a worker of ours, and
    /// trying again will not change that.
    NotAWorker(String),
}

pub struct Link {
    pub spec: HostSpec,
    /// `spec` as text, made once: every finished piece names its host.
    pub address: String,
    pub token: Token,
    pub state: State,
    conn: Option<FramedConn>,
    addr: Option<SocketAddr>,
    pub welcome: Option<Welcome>,
    pub handshake_rtt: Duration,
    /// When we last heard anything from the worker (any frame).
    last_heard: Instant,
    /// When the worker's kernel last made room for bytes we had waiting.
    /// A ping queued behind megabytes of a piece's input reaches a worker
    /// on a slow link only after them, so while that input drains the
    /// worker is not silent. Only a write that leaves bytes still queued
    /// counts: the socket was full, so the room came from the peer's
    /// ACKs. A ping that fits the socket buffer proves nothing (a stopped
    /// worker's buffer takes it), and a stopped worker stops ACKing once
    /// its receive buffer fills.
    last_drained: Instant,
    last_ping: Instant,
    hello_sent: bool,
    key: Option<Arc<Vec<u8>>>,
    client_nonce: [u8; NONCE_LEN],
    next_job_id: u32,
    pub flights: HashMap<u32, Flight>,
    /// Emptied partial stores, for the next pieces.
    spare_partials: Vec<Partials>,
    /// Counts the connections opened, to tell taken input apart.
    connection: u64,
    backoff: Duration,
    /// Why the link last failed, for the report.
    pub last_error: Option<String>,
    /// Counters for the report.
    pub pieces_done: usize,
    pub failures: usize,
    busy: Duration,
    busy_since: Option<Instant>,
    pub ever_ready: bool,
    /// The worker said it is shutting down: no new pieces until it is back.
    pub draining: bool,
    /// Why this worker can never be used in this run (another protocol
    /// version, no or another cluster key, not a piworker): not retried.
    pub refused: Option<String>,
    /// The code of the Error that refused the last handshake, if one did:
    /// after `Busy` (the worker's connection limits) `refuse` backs off and
    /// tries again instead; `survey` tells the kinds apart for the doctor.
    pub refusal_code: Option<ErrorCode>,
    /// The kind of the last failed connect (refused, timed out, no route),
    /// for the doctor's diagnosis.
    pub connect_error: Option<io::ErrorKind>,
}

impl Link {
    pub fn new(spec: HostSpec, token: Token, key: Option<Arc<Vec<u8>>>) -> Link {
        let now = Instant::now();
        Link {
            address: spec.to_string(),
            spec,
            token,
            state: State::Backoff(now),
            conn: None,
            addr: None,
            welcome: None,
            handshake_rtt: Duration::ZERO,
            last_heard: now,
            last_drained: now,
            last_ping: now,
            hello_sent: false,
            key,
            client_nonce: [0; NONCE_LEN],
            next_job_id: 1,
            flights: HashMap::new(),
            spare_partials: Vec::new(),
            connection: 0,
            backoff: FIRST_BACKOFF,
            last_error: None,
            pieces_done: 0,
            failures: 0,
            busy: Duration::ZERO,
            busy_since: None,
            ever_ready: false,
            draining: false,
            refused: None,
            refusal_code: None,
            connect_error: None,
        }
    }

    pub fn is_ready(&self) -> bool {
        matches!(self.state, State::Ready)
    }

    /// Compute threads this worker offers (after the host's `/N` limit).
    pub fn threads(&self) -> usize {
        let offered = self.welcome.as_ref().map_or(1, |w| w.threads as usize);
        self.spec.threads.map_or(offered, |t| offered.min(t as usize)).max(1)
    }

    pub fn max_frame(&self) -> usize {
        self.welcome.as_ref().map_or(64 * 1024, |w| w.max_frame as usize)
    }

    /// Starts a non-blocking connect if the backoff has passed.
    pub fn connect_if_due(&mut self, registry: &Registry, now: Instant) {
        let State::Backoff(at) = self.state else { return };
        if self.refused.is_some() {
            return;
        }
        if now < at {
            return;
        }
        match self.open(registry) {
            Ok(()) => self.state = State::Connecting(now),
            Err(e) => {
                self.connect_error = Some(e.kind());
                self.fail(registry, format!("cannot connect: {e}"), now);
            }
        }
    }

    fn open(&mut self, registry: &Registry) -> io::Result<()> {
        let addr = match self.addr {
            Some(a) => a,
            None => {
                // NotFound for every lookup failure, so callers can tell
                // "no such name" from a refused connect without reading text.
                let not_found = |why: String| io::Error::new(io::ErrorKind::NotFound, why);
                let host = &self.spec.host;
                let a = self
                    .spec
                    .address()
                    .to_socket_addrs()
                    .map_err(|e| not_found(format!("cannot resolve {host:?}: {e}")))?
                    .next()
                    .ok_or_else(|| not_found(format!("{host:?} resolves to no address")))?;
                self.addr = Some(a);
                a
            }
        };
        let mut stream = TcpStream::connect(addr)?;
        registry.register(&mut stream, self.token, Interest::READABLE | Interest::WRITABLE)?;
        self.conn = Some(FramedConn::new(stream, MAX_INCOMING));
        self.connection += 1;
        self.hello_sent = false;
        Ok(())
    }

    /// The connection failed: drop it, count what was running as failed on
    /// this worker (the caller re-dispatches), and back off.
    pub fn fail(&mut self, registry: &Registry, reason: String, now: Instant) -> Vec<usize> {
        if let Some(mut conn) = self.conn.take() {
            let _ = registry.deregister(&mut conn.stream);
        }
        let lost: Vec<usize> = self.flights.drain().map(|(_, f)| f.piece).collect();
        self.failures += lost.len();
        self.mark_idle(now);
        self.welcome = None;
        self.last_error = Some(reason);
        if let State::Retired = self.state {
            return lost;
        }
        self.state = State::Backoff(now + self.backoff);
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
        lost
    }

    /// A readiness event: finishes a connect, then reads what arrived,
    /// each frame copied out. (The scheduler's hot path reads in place
    /// instead, with the same steps: `Engine::on_link_event`.)
    pub fn on_event(&mut self, now: Instant) -> Vec<Event> {
        let mut events = Vec::new();
        if let Err(lost) = self.start_event(now) {
            events.push(lost);
            return events;
        }
        loop {
            let io = match self.receive() {
                Ok(io) => io,
                Err(lost) => {
                    events.push(lost);
                    return events;
                }
            };
            let Some(mut taken) = self.take_input() else { return events };
            loop {
                match taken.input.next_frame() {
                    Ok(Some(frame)) => {
                        self.heard(now);
                        events.push(Event::Frame(frame.to_frame()));
                    }
                    Ok(None) => break,
                    Err(e) => {
                        events.push(self.bad_frame(&e));
                        self.restore_input(taken);
                        return events;
                    }
                }
            }
            self.restore_input(taken);
            match io {
                Io::Progress(_) => continue,
                Io::WouldBlock => break,
                Io::Closed => {
                    events.push(closed());
                    break;
                }
            }
        }
        events
    }

    /// The first step of a readiness event: a connect under way completes,
    /// and the Hello is queued. An error is the event that ends the link.
    pub fn start_event(&mut self, now: Instant) -> Result<(), Event> {
        let Some(conn) = self.conn.as_mut() else { return Ok(()) };
        if !matches!(self.state, State::Connecting(_)) || self.hello_sent {
            return Ok(());
        }
        if let Ok(Some(e)) | Err(e) = conn.stream.take_error() {
            self.connect_error = Some(e.kind());
            return Err(Event::Lost(format!("cannot connect: {e}")));
        }
        match conn.stream.peer_addr() {
            Ok(_) => {
                let _ = conn.stream.set_nodelay(true);
                match auth::nonce() {
                    Ok(n) => self.client_nonce = n,
                    Err(e) => return Err(Event::Lost(format!("cannot read a random nonce: {e}"))),
                }
                let hello = Hello { max_threads: self.spec.threads, ..Hello::ours(self.client_nonce) };
                conn.queue_frame(&hello.encode());
                self.hello_sent = true;
                self.last_ping = now;
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            Err(e) => {
                self.connect_error = Some(e.kind());
                Err(Event::Lost(format!("cannot connect: {e}")))
            }
        }
    }

    /// Reads one chunk from the socket into the link's input buffer. After
    /// `Io::Closed`, and the frames that came before it, the link is lost
    /// (`closed()`); a read error is the event that ends it at once.
    pub fn receive(&mut self) -> Result<Io, Event> {
        let Some(conn) = self.conn.as_mut() else { return Ok(Io::WouldBlock) };
        let io = conn.read_some().map_err(|e| Event::Lost(format!("read failed: {e}")))?;
        // Any bytes are a sign of life: a large frame (a Life strip) on a
        // slow link shared by many workers can take longer than the
        // heartbeat timeout to arrive whole, the worker's Pong behind it.
        if matches!(io, Io::Progress(n) if n > 0) && matches!(self.state, State::Ready | State::Retired) {
            self.last_heard = Instant::now();
        }
        Ok(io)
    }

    /// Moves the received bytes out (no copy, no allocation) so that their
    /// frames can be handled in place while the link is used; give them
    /// back with `restore_input`. None without a connection.
    pub fn take_input(&mut self) -> Option<TakenInput> {
        let conn = self.conn.as_mut()?;
        Some(TakenInput { input: conn.take_input(), connection: self.connection })
    }

    /// Puts taken input back, unless its connection has gone meanwhile
    /// (a frame made the link fail): then it is dropped with it.
    pub fn restore_input(&mut self, taken: TakenInput) {
        if let (Some(conn), true) = (self.conn.as_mut(), taken.connection == self.connection) {
            conn.restore_input(taken.input);
        }
    }

    /// A frame arrived: the worker is alive.
    pub fn heard(&mut self, now: Instant) {
        self.last_heard = now;
    }

    /// What bytes that are not frames mean: before any Welcome, that the
    /// peer is not a worker of ours; after, that the link is lost.
    pub fn bad_frame(&self, e: &FrameError) -> Event {
        let why = format!("sent a bad frame: {e}");
        if self.welcome.is_none() {
            Event::NotAWorker(why)
        } else {
            Event::Lost(why)
        }
    }

    /// The worker's protocol minor, from its Welcome; None before one.
    /// It says which job parameters the worker understands (`may_send`).
    pub fn peer_minor(&self) -> Option<u8> {
        self.welcome.as_ref().map(|w| w.protocol_minor)
    }

    /// Whether a job parameter added in minor `since` may be sent to this
    /// worker. A worker refuses parameter bytes it does not know (ignoring
    /// one could give a wrong answer), so a parameter is only sent to a
    /// worker whose Welcome shows a minor that has it. No parameter needs
    /// this yet: every 1.x worker takes every parameter pisubmit sends.
    pub fn may_send(&self, since: u8) -> bool {
        self.peer_minor().is_some_and(|minor| versions::understands(minor, since))
    }

    /// Whether the worker was reached over loopback (a test or the demo):
    /// there is no wire to spare bytes on.
    pub fn is_loopback(&self) -> bool {
        self.addr.is_some_and(|a| a.ip().is_loopback())
    }

    /// Checks a Welcome; a refusal is final for this worker.
    pub fn on_welcome(&mut self, frame: FrameRef<'_>, now: Instant) -> Result<(), Refusal> {
        match frame.header.frame_type {
            FrameType::Welcome => {
                let w = Welcome::decode(frame.payload).map_err(Refusal::Malformed)?;
                if w.protocol_major != PROTOCOL_MAJOR {
                    return Err(Refusal::Version(version_refusal(
                        PROTOCOL_MAJOR,
                        PROTOCOL_MINOR,
                        w.protocol_major,
                        w.protocol_minor,
                    )));
                }
                match (&w.challenge, self.key.as_deref()) {
                    (Challenge::Open, None) => {}
                    (Challenge::Open, Some(_)) => {
                        return Err(Refusal::KeyNotAsked);
                    }
                    (Challenge::Key { .. }, None) => {
                        return Err(Refusal::KeyRequired);
                    }
                    (Challenge::Key { nonce, proof }, Some(key)) => {
                        if !auth::check_worker_proof(key, &self.client_nonce, nonce, proof) {
                            return Err(Refusal::WrongKey);
                        }
                        let ours = auth::client_proof(key, &self.client_nonce, nonce);
                        if let Some(conn) = self.conn.as_mut() {
                            conn.queue(FrameType::Auth, 0, &ours);
                        }
                    }
                }
                if let State::Connecting(since) = self.state {
                    self.handshake_rtt = now - since;
                }
                self.welcome = Some(w);
                self.draining = false;
                self.state = State::Ready;
                self.ever_ready = true;
                self.backoff = FIRST_BACKOFF;
                self.last_heard = now;
                Ok(())
            }
            FrameType::Error => {
                let msg = ErrorMessage::decode(frame.payload)
                    .unwrap_or_else(|e| ErrorMessage::new(ErrorCode::Unknown(0), e.to_string()));
                self.refusal_code = Some(msg.code);
                match msg.code {
                    ErrorCode::NotAllowed => Err(Refusal::NotAllowed(msg.message)),
                    ErrorCode::AuthFailed => Err(Refusal::AuthFailed(msg.message)),
                    _ => Err(Refusal::Refused(msg.message)),
                }
            }
            other => Err(Refusal::NotWelcome(other)),
        }
    }

    /// Sends a heartbeat when due; says whether the worker has been silent
    /// for longer than `timeout` (then it is to be declared lost).
    pub fn heartbeat(&mut self, now: Instant, timeout: Duration) -> bool {
        match self.state {
            State::Ready | State::Retired => {
                if now.duration_since(self.last_ping) >= timeout / 3 {
                    if let Some(conn) = self.conn.as_mut() {
                        conn.queue(FrameType::Ping, 0, &[]);
                    }
                    self.last_ping = now;
                }
                now.duration_since(self.last_heard.max(self.last_drained)) > timeout
            }
            State::Connecting(since) => now.duration_since(since) > timeout,
            State::Backoff(_) => false,
        }
    }

    pub fn conn(&mut self) -> Option<&mut FramedConn> {
        self.conn.as_mut()
    }

    pub fn pending_output(&self) -> usize {
        self.conn.as_ref().map_or(0, FramedConn::pending_output)
    }

    /// Writes what is queued; an error means the link is lost.
    pub fn flush(&mut self) -> Result<(), SendError> {
        let Some(conn) = self.conn.as_mut() else { return Ok(()) };
        match conn.write_some() {
            Ok(Io::Closed) => Err(SendError::Closed),
            Ok(Io::Progress(n)) if n > 0 && conn.pending_output() > 0 => {
                self.last_drained = Instant::now();
                Ok(())
            }
            Ok(_) => Ok(()),
            Err(e) => Err(SendError::Write(e)),
        }
    }

    pub fn next_job_id(&mut self) -> u32 {
        let id = self.next_job_id;
        self.next_job_id = self.next_job_id.wrapping_add(1).max(1);
        id
    }

    pub fn start_flight(&mut self, job_id: u32, piece: usize, params_len: usize, packed: bool, now: Instant) {
        let partials = self.spare_partials.pop().unwrap_or_default();
        let sent_at = std::time::SystemTime::now();
        if self.busy_since.is_none() {
            self.busy_since = Some(now);
        }
        let flight = Flight { piece, sent: now, sent_at, bytes_in: params_len as u64, partials, packed };
        self.flights.insert(job_id, flight);
    }

    pub fn end_flight(&mut self, job_id: u32, now: Instant) -> Option<Flight> {
        let flight = self.flights.remove(&job_id);
        if self.flights.is_empty() {
            self.mark_idle(now);
        }
        flight
    }

    /// Keeps a finished piece's partial store, emptied, for a later piece.
    pub fn recycle_partials(&mut self, mut partials: Partials) {
        if self.spare_partials.len() < SPARE_PARTIALS && partials.bytes.capacity() <= SPARE_PARTIALS_MAX {
            partials.bytes.clear();
            partials.ends.clear();
            self.spare_partials.push(partials);
        }
    }

    fn mark_idle(&mut self, now: Instant) {
        if let Some(since) = self.busy_since.take() {
            self.busy += now - since;
        }
    }

    pub fn busy(&self, now: Instant) -> Duration {
        self.busy + self.busy_since.map_or(Duration::ZERO, |s| now - s)
    }

    /// Closes a retired link once it has nothing left to do.
    pub fn close_if_retired_and_idle(&mut self, registry: &Registry) {
        if matches!(self.state, State::Retired) && self.flights.is_empty() {
            if let Some(mut conn) = self.conn.take() {
                let _ = registry.deregister(&mut conn.stream);
            }
        }
    }

    /// Marks the worker unusable for this run, and drops the connection;
    /// unless it only had no room for us now (`Busy`): then it is tried
    /// again after a backoff, like a refused connect, until the caller's
    /// `--connect-timeout` runs out.
    pub fn refuse(&mut self, registry: &Registry, why: String, now: Instant) -> Vec<usize> {
        if self.refusal_code.take() == Some(ErrorCode::Busy) {
            return self.fail(registry, why, now);
        }
        self.refused = Some(why.clone());
        self.fail(registry, why, now)
    }

    pub fn state_name(&self) -> &'static str {
        match self.state {
            State::Ready => "ok",
            State::Retired => "removed",
            _ if self.ever_ready => "lost",
            _ => "unreachable",
        }
    }
}

#[cfg(test)]
mod tests;
