//! `--metrics ADDR:PORT`: a second listener on the worker's own event
//! loop that answers Prometheus' scrapes, one request per connection.
//!
//! It owns the metrics listener and its connections (in a `Slab` of their
//! own, tokens from `token_base` up). The same protections as the job
//! port apply: `--allow` (an outsider is closed before a byte is read), a
//! cap of its own (`MAX_CONNECTIONS`; at the cap the oldest connection
//! still sending its request makes room, so idle or trickling clients
//! cannot lock a scraper out), and deadlines (a request must arrive whole
//! within `--handshake-timeout`). It must not touch the job connections;
//! the server lends it what a scrape shows through a `render` closure.

pub mod http;
pub mod render;

use super::allow::{allowed, describe, Cidr};
use super::rate_log::{also, RateLimitedLog};
use super::refusals::{Refusal, Refusals};
use http::{HttpConn, Progress, Route};
use log::{debug, warn};
use mio::net::TcpListener;
use mio::{Interest, Registry, Token};
use slab::Slab;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Metrics connections at once, apart from `--max-connections`: a scraper
/// or two per worker, and a person with curl.
pub const MAX_CONNECTIONS: usize = 16;
/// Connections accepted per call, so a flood cannot hold the loop.
const ACCEPT_BATCH: usize = 64;

/// When the metrics backlog must be looked at again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcceptAgain {
    /// It is empty: the next arrival wakes the loop.
    No,
    /// A batch was taken: on the loop's next turn.
    Now,
    /// Accept failed (no descriptors): at the next sweep.
    AtSweep,
}

/// The listener and its scrape connections.
pub struct MetricsServer {
    listener: TcpListener,
    conns: Slab<HttpConn>,
    token_base: usize,
    request_timeout: Duration,
    next_serial: u64,
    /// Outsiders are logged at most every ten seconds: a flood of them
    /// must not become a flood of log lines.
    outsider_log: RateLimitedLog,
    pub local: SocketAddr,
}

impl MetricsServer {
    /// Binds `addr` and registers it as `listener`; connections get tokens
    /// from `token_base` up.
    pub fn bind(
        addr: SocketAddr,
        registry: &Registry,
        listener: Token,
        token_base: usize,
        request_timeout: Duration,
    ) -> io::Result<MetricsServer> {
        let mut socket = TcpListener::bind(addr)?;
        registry.register(&mut socket, listener, Interest::READABLE)?;
        let local = socket.local_addr()?;
        Ok(MetricsServer {
            listener: socket,
            conns: Slab::new(),
            token_base,
            request_timeout,
            next_serial: 0,
            outsider_log: RateLimitedLog::default(),
            local,
        })
    }

    /// Open metrics connections.
    pub fn open(&self) -> usize {
        self.conns.len()
    }

    /// Accepts what waits in the backlog, up to a batch. The listener is
    /// edge-triggered (only new arrivals wake the loop), so what is left
    /// is the caller's to come back for, as the answer says.
    pub fn accept_all(&mut self, registry: &Registry, allow: &[Cidr], refusals: &Refusals) -> AcceptAgain {
        for _ in 0..ACCEPT_BATCH {
            match self.listener.accept() {
                Ok((stream, peer)) => self.on_accepted(registry, stream, peer, allow, refusals),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return AcceptAgain::No,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // Out of descriptors, most likely: retrying at once would spin.
                    debug!("metrics: accept failed: {e}");
                    return AcceptAgain::AtSweep;
                }
            }
        }
        AcceptAgain::Now
    }

    fn on_accepted(
        &mut self,
        registry: &Registry,
        mut stream: mio::net::TcpStream,
        peer: SocketAddr,
        allow: &[Cidr],
        refusals: &Refusals,
    ) {
        if !allowed(allow, peer.ip()) {
            refusals.note(Refusal::NotAllowed);
            let list = describe(allow);
            self.outsider_log
                .note(|n| warn!("{peer}: not in --allow ({list}); metrics connection closed unread{}", also(n)));
            // One small write the socket buffer takes whole, then close.
            let _ = stream.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            return;
        }
        if self.conns.len() >= MAX_CONNECTIONS && !self.drop_oldest_reading(registry, refusals) {
            refusals.note(Refusal::MetricsBusy);
            debug!("{peer}: {MAX_CONNECTIONS} metrics connections are answering; refused");
            let _ = stream.write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            return;
        }
        let entry = self.conns.vacant_entry();
        // Both interests once: a scrape lives for one request, and a
        // spurious wake costs one read that would block.
        let token = Token(self.token_base + entry.key());
        if let Err(e) = registry.register(&mut stream, token, Interest::READABLE | Interest::WRITABLE) {
            warn!("{peer}: cannot watch the metrics connection: {e}");
            return;
        }
        self.next_serial += 1;
        entry.insert(HttpConn::new(stream, peer, self.next_serial, self.request_timeout));
    }

    /// At the cap: drops the oldest connection whose request is still
    /// arriving; false when every one is already being answered.
    fn drop_oldest_reading(&mut self, registry: &Registry, refusals: &Refusals) -> bool {
        let oldest = self.conns.iter().filter(|(_, c)| c.reading()).min_by_key(|(_, c)| c.serial).map(|(k, _)| k);
        let Some(key) = oldest else { return false };
        refusals.note(Refusal::MetricsBusy);
        debug!("{}: dropped the oldest unanswered metrics connection to make room", self.conns[key].peer);
        self.close(registry, key);
        true
    }

    /// Moves connection `token` on after a readiness event.
    pub fn on_event(
        &mut self,
        registry: &Registry,
        token: Token,
        refusals: &Refusals,
        render: &mut dyn FnMut() -> String,
    ) {
        let key = token.0 - self.token_base;
        let Some(conn) = self.conns.get_mut(key) else { return };
        let Progress { answered, done } = conn.advance(render);
        if let Some(route) = answered.filter(Route::is_malformed) {
            refusals.note(Refusal::MetricsBadRequest);
            debug!("{}: metrics request refused: {route:?}", conn.peer);
        }
        if done {
            self.close(registry, key);
        }
    }

    /// Closes connections past their deadline: a request that never came
    /// whole (an idle or trickling client), an answer nobody read.
    pub fn sweep(&mut self, registry: &Registry, now: Instant, refusals: &Refusals) {
        let expired: Vec<usize> = self.conns.iter().filter(|(_, c)| now >= c.deadline).map(|(k, _)| k).collect();
        for key in expired {
            if self.conns[key].reading() {
                refusals.note(Refusal::MetricsBadRequest);
                debug!("{}: no whole metrics request in {:?}; closed", self.conns[key].peer, self.request_timeout);
            }
            self.close(registry, key);
        }
    }

    fn close(&mut self, registry: &Registry, key: usize) {
        let mut conn = self.conns.remove(key);
        let _ = registry.deregister(&mut conn.stream);
    }
}
