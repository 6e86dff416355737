//! One host as written: `host[:port][/threads]`, and what makes two the same worker.

use super::error::HostsError;
use crate::protocol::DEFAULT_PORT;
use std::fmt;
use std::net::IpAddr;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostSpec {
    /// Host name or address as the user wrote it (without the port).
    pub host: String,
    pub port: u16,
    /// Use at most this many of the worker's threads (the `/N` suffix).
    pub threads: Option<u16>,
}

impl HostSpec {
    /// `host:port`, with IPv6 addresses bracketed.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// What makes two specs the same worker: the port and the host, an
    /// address in its canonical form (`::0:1` is `::1`), a name without case.
    pub(super) fn key(&self) -> (String, u16) {
        let host = match self.host.parse::<IpAddr>() {
            Ok(ip) => ip.to_string(),
            Err(_) => self.host.to_ascii_lowercase(),
        };
        (host, self.port)
    }
}

impl fmt::Display for HostSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.address())
    }
}

/// `host`, `host:port`, `host/threads`, `host:port/threads`, `[v6]:port`.
/// One host, as written: no ranges (see [`expand_item`]).
pub fn parse_host(item: &str) -> Result<HostSpec, HostsError> {
    parse(item).map_err(HostsError::Host)
}

/// [`parse_host`], saying why in words for the caller to put in context.
pub(super) fn parse(item: &str) -> Result<HostSpec, String> {
    let (addr, threads) = match item.rsplit_once('/') {
        Some((a, t)) => {
            let n: u16 = t.parse().map_err(|_| format!("{t:?} after '/' is not a thread count"))?;
            if n == 0 {
                return Err("a thread count of 0 leaves nothing to run on".into());
            }
            (a, Some(n))
        }
        None => (item, None),
    };
    let (host, port) = if let Some(rest) = addr.strip_prefix('[') {
        let (h, tail) = rest.split_once(']').ok_or("unclosed '[' in an IPv6 address")?;
        match tail.strip_prefix(':') {
            Some(p) => (h, Some(p)),
            None if tail.is_empty() => (h, None),
            None => return Err(format!("unexpected {tail:?} after the IPv6 address")),
        }
    } else if addr.matches(':').count() > 1 {
        (addr, None) // a bare IPv6 address
    } else {
        match addr.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (addr, None),
        }
    };
    if host.is_empty() {
        return Err("no host name".into());
    }
    let port = match port {
        Some(p) => p.parse::<u16>().ok().filter(|&p| p != 0).ok_or_else(|| format!("{p:?} is not a port number"))?,
        None => DEFAULT_PORT,
    };
    Ok(HostSpec { host: host.to_string(), port, threads })
}
