//! The accept path: outsiders are told and closed, the rest are admitted
//! by `admission`'s rules (dropping the unfinished connection they pick),
//! and the kernel's backlog is always drained, even when file descriptors
//! run out: connections left waiting there are what would lock heads out.

use super::accept_state::AcceptPause;
use super::descriptors::{is_out_of_descriptors, reserve_descriptor};
use super::{Server, FIRST_CONN};
use crate::daemon::admission::{Admit, Rule};
use crate::daemon::allow::allowed;
use crate::daemon::connection::{at_limit_message, Connection, HANDSHAKE_MAX_FRAME};
use crate::daemon::rate_log::also;
use crate::daemon::refusals::Refusal;
use crate::net::FramedConn;
use crate::protocol::{ErrorCode, ErrorMessage};
use log::{debug, warn};
use mio::net::TcpStream;
use mio::{Interest, Token};
use std::io::{self, Write};
use std::net::SocketAddr;
use std::rc::Rc;

/// Connections accepted per call before the loop looks at its other
/// sockets; the rest are accepted on its next turn.
const ACCEPT_BATCH: usize = 64;

impl Server {
    pub(super) fn accept_all(&mut self) {
        self.accept_pause = AcceptPause::None;
        for _ in 0..ACCEPT_BATCH {
            let Some(listener) = self.listener.as_ref() else { return };
            match listener.accept() {
                Ok((stream, peer)) => self.on_accepted(stream, peer),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if is_out_of_descriptors(&e) => {
                    if !self.free_a_descriptor(&e) {
                        self.accept_pause = AcceptPause::Descriptors;
                        return;
                    }
                }
                Err(e) => {
                    self.accept_logs.descriptors.note(|n| warn!("accept failed: {e}{}", also(n)));
                    self.accept_pause = AcceptPause::Descriptors;
                    return;
                }
            }
        }
        self.accept_pause = AcceptPause::Batch;
    }

    fn on_accepted(&mut self, mut stream: TcpStream, peer: SocketAddr) {
        if !allowed(&self.allow, peer.ip()) {
            return self.refuse_outsider(stream, peer);
        }
        let victim = match self.admission.admit(peer.ip()) {
            Admit::Full => {
                let max = self.admission.limits.max_finished;
                self.counters.refusals.note(Refusal::ConnectionsFull);
                self.accept_logs.full.note(|n| warn!("{peer}: --max-connections {max} reached; refused{}", also(n)));
                return tell_and_close(stream, ErrorCode::Busy, at_limit_message(max));
            }
            Admit::Yes(victim) => victim,
        };
        if let Some((serial, rule)) = victim {
            self.drop_unfinished(serial, rule, peer);
        }
        // Jobs and results are small frames: do not let Nagle hold them.
        if let Err(e) = stream.set_nodelay(true) {
            debug!("{peer}: TCP_NODELAY failed: {e}");
        }
        let entry = self.conns.vacant_entry();
        let key = entry.key();
        if let Err(e) = self.poll.registry().register(&mut stream, Token(key + FIRST_CONN), Interest::READABLE) {
            warn!("{peer}: cannot watch the new connection: {e}");
            return;
        }
        self.next_serial += 1;
        let serial = self.next_serial;
        let framed = FramedConn::new(stream, HANDSHAKE_MAX_FRAME.min(self.max_frame));
        entry.insert(Connection::new(framed, peer, serial, Rc::clone(&self.counters)));
        self.registered.insert(key, Interest::READABLE);
        self.admission.opened(serial, key, peer.ip());
        debug!("{peer}: connected");
        // A client's Hello often arrives with its connection: reading it
        // now finishes the handshake before later arrivals can push this
        // connection out of the unfinished budget.
        self.pump(key);
        self.after_io(key);
    }

    /// An outsider learns why (its own address, not the list), in one
    /// small write the socket buffer takes whole, and is closed unread.
    fn refuse_outsider(&mut self, stream: TcpStream, peer: SocketAddr) {
        self.counters.refusals.note(Refusal::NotAllowed);
        let list = crate::daemon::allow::describe(&self.allow);
        self.accept_logs.outsider.note(|n| warn!("{peer}: not in --allow ({list}); closed{}", also(n)));
        let msg = format!(
            "your address {} is not allowed to use this worker: add it to --allow in /etc/default/piworker on that machine (then restart piworker)",
            peer.ip()
        );
        tell_and_close(stream, ErrorCode::NotAllowed, msg);
    }

    /// Drops the unfinished connection `serial` that `rule` picked to make
    /// room for one from `newcomer`, telling it why if it can take a frame.
    fn drop_unfinished(&mut self, serial: u64, rule: Rule, newcomer: SocketAddr) {
        let Some(key) = self.admission.key_of(serial) else { return };
        let conn = &mut self.conns[key];
        let peer = conn.peer;
        let limits = &self.admission.limits;
        let (log, why) = match rule {
            Rule::PerAddress => (
                &mut self.accept_logs.per_address,
                format!("--max-unfinished-per-address {} reached for {}", limits.max_unfinished_per_address, peer.ip()),
            ),
            Rule::Budget => {
                (&mut self.accept_logs.budget, format!("--max-unfinished {} reached", limits.max_unfinished))
            }
        };
        log.note(|n| warn!("{peer}: {why}; dropped this oldest unfinished connection for {newcomer}{}", also(n)));
        self.counters.refusals.note(Refusal::UnfinishedDropped);
        self.tell_busy_and_drop(key, "worker has too many connections waiting for a handshake; try again");
    }

    /// Drops an unfinished connection, first telling it Busy if it can
    /// take a frame, so that a client never sees a close without a word.
    fn tell_busy_and_drop(&mut self, key: usize, message: &str) {
        let conn = &mut self.conns[key];
        if conn.framed.pending_output() == 0 {
            let _ = conn.framed.stream.write(&ErrorMessage::new(ErrorCode::Busy, message).encode(0).to_bytes());
        }
        self.drop_connection(key);
    }

    /// Out of file descriptors: frees one so that accept can go on. The
    /// oldest unfinished connection goes first; with none, the reserve
    /// descriptor is spent on accepting one waiting connection to tell it
    /// and close it. Says whether accepting may go on.
    fn free_a_descriptor(&mut self, e: &io::Error) -> bool {
        if let Some(key) = self.admission.oldest_unfinished() {
            self.counters.refusals.note(Refusal::OutOfDescriptors);
            let peer = self.conns[key].peer;
            self.accept_logs.descriptors.note(|n| {
                warn!("accept: {e}; dropped the oldest unfinished connection ({peer}) to free one{}", also(n))
            });
            self.tell_busy_and_drop(key, "worker is out of file descriptors; try again later");
            return true;
        }
        let Some(spare) = self.spare_fd.take() else { return false };
        drop(spare);
        let accepted = self.listener.as_ref().map(|l| l.accept());
        let took_one = matches!(accepted, Some(Ok(_)));
        if let Some(Ok((stream, peer))) = accepted {
            self.counters.refusals.note(Refusal::OutOfDescriptors);
            self.accept_logs.descriptors.note(|n| {
                warn!("{peer}: out of file descriptors ({e}) with every connection finished; refused{}", also(n))
            });
            let msg = "worker is out of file descriptors; try again later".to_string();
            tell_and_close(stream, ErrorCode::Busy, msg);
        }
        self.spare_fd = reserve_descriptor();
        self.spare_fd.is_some() && took_one
    }
}

/// Best effort, one small write (the socket buffer takes it), then close.
fn tell_and_close(mut stream: TcpStream, code: ErrorCode, message: String) {
    let _ = stream.write(&ErrorMessage::new(code, message).encode(0).to_bytes());
}
