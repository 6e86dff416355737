//! The worker's side of discovery: a UDP socket on the same address and
//! port as the TCP listener, answering probes from allowed addresses.
//!
//! A socket bound to one unicast address does not receive broadcasts, so a
//! worker told to listen on one address (`--listen 192.168.1.5:31415`)
//! also binds that interface's broadcast address, to hear probes sent
//! there; answers always leave from the unicast socket.
//!
//! Answers are never larger than the probe, and at most
//! [`MAX_ANSWERS_PER_SEC`] go out each second: a worker must not become a
//! tool for flooding a third party with forged probes.

use super::allow::{allowed, Cidr};
use crate::net::ifaces::ipv4_networks;
use crate::protocol::discovery::{parse_probe, Announce};
use log::{debug, warn};
use mio::net::UdpSocket;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const MAX_ANSWERS_PER_SEC: u32 = 200;

pub struct Responder {
    pub socket: UdpSocket,
    /// Bound to the broadcast address of the --listen address's network.
    pub broadcast: Option<UdpSocket>,
    announce: Announce,
    window_start: Instant,
    answered_in_window: u32,
}

impl Responder {
    /// Binds the discovery socket. A failure is not fatal for the worker
    /// (jobs still work); the caller logs it.
    pub fn bind(addr: SocketAddr, announce: Announce) -> io::Result<Responder> {
        let socket = UdpSocket::bind(addr)?;
        let broadcast = broadcast_of(addr).and_then(|b| match UdpSocket::bind(b) {
            Ok(s) => Some(s),
            Err(e) => {
                warn!("discovery: cannot listen for broadcast probes on {b}: {e}; unicast probes still work");
                None
            }
        });
        Ok(Responder { socket, broadcast, announce, window_start: Instant::now(), answered_in_window: 0 })
    }

    /// Reads every waiting datagram on both sockets and answers the probes.
    pub fn on_readable(&mut self, allow: &[Cidr]) {
        self.drain(allow, false);
        if self.broadcast.is_some() {
            self.drain(allow, true);
        }
    }

    fn drain(&mut self, allow: &[Cidr], from_broadcast: bool) {
        let mut buf = [0u8; 2048];
        loop {
            let socket = match (&self.broadcast, from_broadcast) {
                (Some(b), true) => b,
                _ => &self.socket,
            };
            let (n, from) = match socket.recv_from(&mut buf) {
                Ok(got) => got,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    debug!("discovery: receive failed: {e}");
                    return;
                }
            };
            if !allowed(allow, from.ip()) {
                debug!("discovery: {from} is not in --allow; ignored");
                continue;
            }
            match parse_probe(&buf[..n]) {
                Ok(token) => self.answer(token, from, n),
                Err(why) => debug!("discovery: {from}: ignored ({why})"),
            }
        }
    }

    fn answer(&mut self, token: u32, to: SocketAddr, probe_len: usize) {
        let now = Instant::now();
        if now.duration_since(self.window_start) >= Duration::from_secs(1) {
            self.window_start = now;
            self.answered_in_window = 0;
        }
        if self.answered_in_window >= MAX_ANSWERS_PER_SEC {
            return;
        }
        let reply = self.announce.encode(token);
        if reply.len() > probe_len {
            warn!("discovery: the answer ({} bytes) is larger than the probe; not answering", reply.len());
            return;
        }
        self.answered_in_window += 1;
        match self.socket.send_to(&reply, to) {
            Ok(_) => debug!("discovery: answered {to}"),
            // A full send buffer drops the answer; the head probes again.
            Err(e) => debug!("discovery: cannot answer {to}: {e}"),
        }
    }
}

/// The broadcast address (same port) of the interface that holds `addr`,
/// when `addr` is one specific IPv4 address; None for 0.0.0.0 (which hears
/// broadcasts already), loopback and IPv6.
fn broadcast_of(addr: SocketAddr) -> Option<SocketAddr> {
    let SocketAddr::V4(v4) = addr else { return None };
    if v4.ip().is_unspecified() || v4.ip().is_loopback() {
        return None;
    }
    let net = ipv4_networks().into_iter().find(|n| n.addr == *v4.ip())?;
    net.broadcast().map(|b| SocketAddr::from((b, v4.port())))
}
