//! `pisubmit discover`: finds workers by a UDP broadcast probe on their
//! port and prints them as a hosts file, ready to save.
//!
//! Probes go to the broadcast address of each `--subnet` (or of every
//! IPv4 interface), three times a few hundred milliseconds apart because
//! UDP may drop one; answers are collected until `--wait` ends.

use crate::net::ifaces::{ipv4_networks, Ipv4Net};
use crate::protocol::discovery::{encode_probe, parse_announce, Announce};
use crate::protocol::message::SOFTWARE_VERSION;
use crate::submit::cli::tools::DiscoverOpts;
use crate::submit::error::SubmitError;
use crate::submit::report::json::Json;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::time::{Duration, Instant};

const PROBES: u32 = 3;
const PROBE_GAP: Duration = Duration::from_millis(300);

/// The broadcast address of a network; a /31 or /32 has none, so its
/// addresses are probed one by one.
pub fn targets(subnet: (Ipv4Addr, u8)) -> Vec<Ipv4Addr> {
    let (addr, prefix) = subnet;
    let bits = u32::from(addr);
    match prefix {
        31 => vec![Ipv4Addr::from(bits & !1), Ipv4Addr::from(bits | 1)],
        p => vec![Ipv4Net::with_prefix(addr, p).broadcast().unwrap_or(addr)],
    }
}

/// The broadcast addresses of this machine's IPv4 networks.
fn interface_broadcasts() -> Vec<Ipv4Addr> {
    let mut found = Vec::new();
    for net in ipv4_networks().into_iter().filter(|n| !n.addr.is_loopback()) {
        if let Some(b) = net.broadcast().filter(|b| !found.contains(b)) {
            found.push(b);
        }
    }
    found
}

pub fn run(opts: &DiscoverOpts, json: bool) -> Result<String, SubmitError> {
    let mut targets: Vec<Ipv4Addr> = opts.subnets.iter().flat_map(|s| targets(*s)).collect();
    if targets.is_empty() {
        targets = interface_broadcasts();
        if targets.is_empty() {
            return Err(SubmitError::Usage(
                "no IPv4 interface with a broadcast address; name the network with --subnet CIDR".into(),
            ));
        }
    }
    let found = probe(&targets, &opts.ports, opts.wait)
        .map_err(|e| SubmitError::Connect(format!("cannot send discovery probes: {e}")))?;
    for ((addr, _), a) in &found {
        if a.software != SOFTWARE_VERSION {
            eprintln!(
                "pisubmit: warning: {addr} ({}) runs piworker {}, this pisubmit is {SOFTWARE_VERSION}: \
                 install the same version everywhere",
                a.hostname, a.software
            );
        }
    }
    let where_ = targets.iter().map(Ipv4Addr::to_string).collect::<Vec<_>>().join(", ");
    if json {
        return Ok(to_json(&found).render() + "\n");
    }
    let mut out = String::new();
    let _ = writeln!(out, "# piworkers found by `pisubmit discover` (probes to {where_}); save as a hosts file");
    if found.is_empty() {
        let _ = writeln!(out, "# none answered within {:.1} s", opts.wait.as_secs_f64());
        eprintln!(
            "pisubmit: no worker answered. Is piworker running (systemctl status piworker), on UDP and TCP port \
             {:?}, with this machine in its --allow list, and without --no-discovery?",
            opts.ports
        );
    }
    for ((addr, _), a) in &found {
        let key = if a.key_required { ", needs the cluster key" } else { "" };
        let _ = writeln!(
            out,
            "{:<22} # {}, {}, {} threads, piworker {}{key}",
            addr.to_string(),
            a.hostname,
            a.arch,
            a.threads,
            a.software
        );
    }
    Ok(out)
}

type Found = BTreeMap<(SocketAddrV4, String), Announce>;

fn probe(targets: &[Ipv4Addr], ports: &[u16], wait: Duration) -> io::Result<Found> {
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
    socket.set_broadcast(true)?;
    let token: u32 = {
        let n = crate::protocol::auth::nonce()?;
        u32::from_be_bytes([n[0], n[1], n[2], n[3]])
    };
    let datagram = encode_probe(token);
    let mut found = Found::new();
    let start = Instant::now();
    let mut sent = 0;
    let mut buf = [0u8; 2048];
    while start.elapsed() < wait {
        if sent < PROBES && start.elapsed() >= PROBE_GAP * sent {
            for t in targets {
                for p in ports {
                    if let Err(e) = socket.send_to(&datagram, (*t, *p)) {
                        // One unreachable network does not spoil the others.
                        if sent == 0 {
                            eprintln!("pisubmit: warning: cannot probe {t}:{p}: {e}");
                        }
                    }
                }
            }
            sent += 1;
        }
        let next_probe = if sent < PROBES { PROBE_GAP * sent } else { wait };
        let until = next_probe.min(wait).saturating_sub(start.elapsed()).max(Duration::from_millis(1));
        socket.set_read_timeout(Some(until))?;
        match socket.recv_from(&mut buf) {
            Ok((n, SocketAddr::V4(from))) => {
                if let Ok((t, a)) = parse_announce(&buf[..n]) {
                    if t == token {
                        let addr = SocketAddrV4::new(*from.ip(), a.port);
                        found.insert((addr, a.hostname.clone()), a);
                    }
                }
            }
            Ok(_) => {}
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // An ICMP port unreachable from a unicast target shows up here.
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {}
            Err(e) => return Err(e),
        }
    }
    Ok(found)
}

fn to_json(found: &Found) -> Json {
    let workers = found
        .iter()
        .map(|((addr, _), a)| {
            Json::obj(vec![
                ("address", Json::Str(addr.to_string())),
                ("hostname", Json::Str(a.hostname.clone())),
                ("arch", Json::Str(a.arch.clone())),
                ("threads", Json::Int(a.threads as i128)),
                ("version", Json::Str(a.software.clone())),
                ("protocol", Json::Str(format!("{}.{}", a.protocol_major, a.protocol_minor))),
                ("key_required", Json::Bool(a.key_required)),
                ("version_matches", Json::Bool(a.software == SOFTWARE_VERSION)),
            ])
        })
        .collect();
    Json::obj(vec![("workers", Json::Array(workers))])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_targets() {
        assert_eq!(targets((Ipv4Addr::new(198, 18, 1, 0), 24)), vec![Ipv4Addr::new(198, 18, 1, 255)]);
        assert_eq!(targets((Ipv4Addr::new(10, 1, 2, 3), 8)), vec![Ipv4Addr::new(10, 255, 255, 255)]);
        assert_eq!(targets((Ipv4Addr::new(127, 0, 0, 1), 32)), vec![Ipv4Addr::new(127, 0, 0, 1)]);
        assert_eq!(
            targets((Ipv4Addr::new(198, 18, 0, 5), 31)),
            vec![Ipv4Addr::new(198, 18, 0, 4), Ipv4Addr::new(198, 18, 0, 5)]
        );
        assert_eq!(targets((Ipv4Addr::new(1, 2, 3, 4), 0)), vec![Ipv4Addr::BROADCAST]);
    }
}
