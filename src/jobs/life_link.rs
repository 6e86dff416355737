//! The sending half of a direct border swap (protocol 1.5): a life strip's
//! link to one neighbouring worker. Two small threads with blocking
//! sockets, so that the event loop never waits on a neighbour: one dials,
//! proves the cluster key (the neighbours share the worker's own key),
//! and writes `life-ghosts` feed frames as the strip hands them over; the
//! other reads what the neighbour answers and records an Error. A failure
//! is kept for the strip (which reports it to the head) and wakes the loop.
//!
//! The feed's Submit waits for the first rows: the head sends every strip
//! its `Peers` (and so registers every token) before any round, and a
//! round's rows exist only after it, so the neighbour knows the token by
//! the time the Submit arrives.

use super::life_ghosts::encode_params;
use super::life_peers::{PeerHub, Token};
use crate::jobs::kind::JobKind;
use crate::protocol::auth;
use crate::protocol::frame::{decode_header, write_frame, Decoded, HEADER_LEN};
use crate::protocol::message::{Challenge, SUBMIT_HAS_INPUT};
use crate::protocol::{ErrorMessage, FrameType, Hello, Submit, Welcome};
use std::io::{Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// What every failure message starts with, so that the head can tell a
/// link that cannot be made from a strip that failed (it then relays the
/// borders itself rather than failing the run).
pub const PEER_LINK_FAILED: &str = "life peer link";
const DIAL_TIMEOUT: Duration = Duration::from_secs(5);
/// The job id of the feed on its connection: the only job there.
const FEED_JOB: u32 = 1;
/// Largest frame a neighbour may send back (its Welcome or an Error).
const MAX_REPLY: u32 = 64 << 10;
/// Rounds of rows queued for a neighbour that is slow to take them.
const QUEUED_ROUNDS: usize = 4;

/// One direction of a strip's border swap.
pub struct PeerLink {
    rows: Option<SyncSender<Vec<u8>>>,
    state: Arc<LinkState>,
}

struct LinkState {
    /// Who the link goes to, for messages: "upper neighbour 10.0.0.7:31415".
    to: String,
    failed: Mutex<Option<String>>,
    /// Set when the strip closes the link: what the reader sees after is
    /// not a failure.
    closing: AtomicBool,
    stream: Mutex<Option<TcpStream>>,
    wake: Arc<dyn Fn() + Send + Sync>,
}

impl LinkState {
    fn fail(&self, why: String) {
        if self.closing.load(Ordering::Relaxed) {
            return;
        }
        let mut failed = self.failed.lock().unwrap_or_else(PoisonError::into_inner);
        if failed.is_none() {
            *failed = Some(format!("{PEER_LINK_FAILED} to the {}: {why}", self.to));
        }
        drop(failed);
        (self.wake)();
    }
}

impl PeerLink {
    /// Starts dialing `addr` for the strip's `side` ("upper" or "lower")
    /// neighbour; rows handed to `send` go to the feed `token` there.
    pub fn open(addr: &str, token: Token, side: &str, hub: &PeerHub) -> PeerLink {
        let state = Arc::new(LinkState {
            to: format!("{side} neighbour {addr}"),
            failed: Mutex::new(None),
            closing: AtomicBool::new(false),
            stream: Mutex::new(None),
            wake: Arc::clone(&hub.wake),
        });
        let (tx, rx) = sync_channel(QUEUED_ROUNDS);
        let dial =
            Dial { addr: addr.to_string(), token, key: hub.cluster_key.clone(), may_dial: Arc::clone(&hub.may_dial) };
        let writer_state = Arc::clone(&state);
        let spawned = std::thread::Builder::new().name("life-peer".into()).spawn(move || {
            if let Err(why) = dial.run(&writer_state, rx) {
                writer_state.fail(why);
            }
        });
        if let Err(e) = spawned {
            state.fail(format!("cannot start a thread: {e}"));
        }
        PeerLink { rows: Some(tx), state }
    }

    /// Queues one feed frame (generation, rows); a full queue means the
    /// neighbour has stopped taking rows, which is a failure too.
    pub fn send(&self, payload: Vec<u8>) {
        if let Some(tx) = &self.rows {
            if tx.try_send(payload).is_err() {
                self.state.fail(format!("{QUEUED_ROUNDS} rounds of rows wait to be sent"));
            }
        }
    }

    /// Why the link failed, if it did.
    pub fn failure(&self) -> Option<String> {
        self.state.failed.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl Drop for PeerLink {
    fn drop(&mut self) {
        self.state.closing.store(true, Ordering::Relaxed);
        // The writer ends when its queue closes; the reader when the
        // socket does.
        self.rows = None;
        if let Some(s) = self.state.stream.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

struct Dial {
    addr: String,
    token: Token,
    key: Option<Arc<Vec<u8>>>,
    may_dial: Arc<dyn Fn(IpAddr) -> bool + Send + Sync>,
}

impl Dial {
    fn run(self, state: &Arc<LinkState>, rows: Receiver<Vec<u8>>) -> Result<(), String> {
        let addr = self.resolve()?;
        let mut stream = TcpStream::connect_timeout(&addr, DIAL_TIMEOUT).map_err(|e| format!("cannot connect: {e}"))?;
        let _ = stream.set_nodelay(true);
        self.handshake(&mut stream)?;
        let reader = stream.try_clone().map_err(|e| format!("cannot clone the socket: {e}"))?;
        *state.stream.lock().unwrap_or_else(PoisonError::into_inner) =
            Some(stream.try_clone().map_err(|e| format!("cannot clone the socket: {e}"))?);
        if state.closing.load(Ordering::Relaxed) {
            return Ok(());
        }
        let read_state = Arc::clone(state);
        std::thread::Builder::new()
            .name("life-peer-read".into())
            .spawn(move || read_state.fail(watch_replies(reader)))
            .map_err(|e| format!("cannot start a thread: {e}"))?;
        let mut out = Vec::new();
        let mut submitted = false;
        for payload in rows {
            out.clear();
            if !submitted {
                let submit = Submit {
                    kind: JobKind::LifeGhosts.to_u8(),
                    flags: SUBMIT_HAS_INPUT,
                    params: encode_params(&self.token),
                };
                write_frame(&mut out, FrameType::Submit, FEED_JOB, &submit.encode(FEED_JOB).payload);
                submitted = true;
            }
            write_frame(&mut out, FrameType::Data, FEED_JOB, &payload);
            stream.write_all(&out).map_err(|e| format!("cannot send rows: {e}"))?;
        }
        Ok(())
    }

    /// The neighbour's address, if this worker's --allow list accepts it.
    fn resolve(&self) -> Result<SocketAddr, String> {
        let addr = self
            .addr
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve: {e}"))?
            .next()
            .ok_or_else(|| "the name has no address".to_string())?;
        if !(self.may_dial)(addr.ip()) {
            return Err(format!("{} is not in this worker's --allow list, so it does not dial it", addr.ip()));
        }
        Ok(addr)
    }

    /// Hello, Welcome and (when the neighbour asks) the key proof.
    fn handshake(&self, stream: &mut TcpStream) -> Result<(), String> {
        let nonce = auth::nonce().map_err(|e| format!("no random nonce: {e}"))?;
        let mut out = Vec::new();
        let hello = Hello::ours(nonce).encode();
        write_frame(&mut out, FrameType::Hello, 0, &hello.payload);
        stream.write_all(&out).map_err(|e| format!("cannot send Hello: {e}"))?;
        let _ = stream.set_read_timeout(Some(DIAL_TIMEOUT));
        let (ft, payload) = read_frame(stream).map_err(|e| format!("no Welcome: {e}"))?;
        let _ = stream.set_read_timeout(None);
        if ft == FrameType::Error {
            return Err(error_text(&payload));
        }
        let welcome = Welcome::decode(&payload).map_err(|e| format!("bad Welcome: {e}"))?;
        if let Challenge::Key { nonce: theirs, proof } = welcome.challenge {
            let Some(key) = &self.key else {
                return Err("it asks for a cluster key and this worker has none (--key-file)".into());
            };
            if !auth::check_worker_proof(key, &nonce, &theirs, &proof) {
                return Err("it does not hold this worker's cluster key".into());
            }
            out.clear();
            write_frame(&mut out, FrameType::Auth, 0, &auth::client_proof(key, &nonce, &theirs));
            stream.write_all(&out).map_err(|e| format!("cannot send the key proof: {e}"))?;
        }
        Ok(())
    }
}

/// Reads the neighbour's frames until one is an Error or the socket ends:
/// what it says is the link's failure (ignored after a close).
fn watch_replies(mut stream: TcpStream) -> String {
    loop {
        match read_frame(&mut stream) {
            Ok((FrameType::Error, payload)) => return error_text(&payload),
            Ok(_) => {}
            Err(e) => return format!("the connection ended: {e}"),
        }
    }
}

fn error_text(payload: &[u8]) -> String {
    match ErrorMessage::decode(payload) {
        Ok(m) => format!("it refused: {}", m.message),
        Err(e) => format!("it sent a bad Error: {e}"),
    }
}

/// One frame from a blocking socket: its type and payload.
fn read_frame(stream: &mut TcpStream) -> std::io::Result<(FrameType, Vec<u8>)> {
    let mut header = [0u8; HEADER_LEN];
    stream.read_exact(&mut header)?;
    let bad = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidData, e);
    let length = match decode_header(&header, MAX_REPLY) {
        Ok(Decoded::NeedMore(more)) => more,
        Ok(Decoded::Frame(..)) => 0,
        Err(e) => return Err(bad(e.to_string())),
    };
    let mut payload = vec![0u8; length];
    stream.read_exact(&mut payload)?;
    Ok((FrameType::from_u8(header[5]), payload))
}
