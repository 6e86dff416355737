//! Which peers may connect: a list of networks (`--allow CIDR,...`).
//!
//! Checked right after accept, before a byte is read: a peer outside the
//! list never reaches the protocol code. The default is what a Pi cluster
//! on a home or lab LAN uses: loopback, the private ranges and link-local.

use std::fmt;
use std::net::IpAddr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let net: IpAddr = addr.parse().map_err(|_| format!("{text:?} is not an address or CIDR like 10.0.0.0/8"))?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|&p| p <= max)
                .ok_or_else(|| format!("{text:?}: /{p} is not a prefix length 0..={max}"))?,
        };
        Ok(Cidr { net, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        // A v4 peer on a dual-stack socket shows up as ::ffff:a.b.c.d.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.net, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - self.prefix as u32).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - self.prefix as u32).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.net, self.prefix)
    }
}

/// Loopback, RFC 1918 private ranges, link-local, and IPv6's equivalents.
pub const DEFAULT_ALLOW: &str =
    "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,169.254.0.0/16,fc00::/7,fe80::/10";

/// `CIDR,CIDR,...`, or `any` for every address.
pub fn parse_allow(text: &str) -> Result<Vec<Cidr>, String> {
    if text.trim() == "any" {
        return Ok(vec![Cidr::parse("0.0.0.0/0")?, Cidr::parse("::/0")?]);
    }
    let list: Vec<Cidr> =
        text.split(',').filter(|s| !s.trim().is_empty()).map(Cidr::parse).collect::<Result<_, _>>()?;
    if list.is_empty() {
        return Err("the list is empty (use `any` to allow every address)".into());
    }
    Ok(list)
}

pub fn allowed(list: &[Cidr], ip: IpAddr) -> bool {
    list.iter().any(|c| c.contains(ip))
}

pub fn describe(list: &[Cidr]) -> String {
    list.iter().map(Cidr::to_string).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn default_list() {
        let list = parse_allow(DEFAULT_ALLOW).unwrap();
        for ok in [
            "127.0.0.1",
            "10.1.2.3",
            "172.31.255.1",
            "192.168.4.1",
            "169.254.9.9",
            "::1",
            "fe80::1",
            "fd00::5",
            "::ffff:192.168.1.7",
        ] {
            assert!(allowed(&list, ip(ok)), "{ok}");
        }
        for no in ["8.8.8.8", "172.32.0.1", "198.18.0.11", "2001:db8::1", "::ffff:8.8.8.8"] {
            assert!(!allowed(&list, ip(no)), "{no}");
        }
    }

    #[test]
    fn parsing() {
        assert!(allowed(&parse_allow("198.18.0.0/15").unwrap(), ip("198.19.255.255")));
        assert!(allowed(&parse_allow("any").unwrap(), ip("8.8.8.8")));
        assert!(allowed(&parse_allow("10.0.0.7").unwrap(), ip("10.0.0.7")));
        assert!(!allowed(&parse_allow("10.0.0.7").unwrap(), ip("10.0.0.8")));
        assert!(parse_allow("10.0.0.0/33").unwrap_err().contains("/33"));
        assert!(parse_allow("pi1").unwrap_err().contains("\"pi1\""));
        assert!(parse_allow(" , ").unwrap_err().contains("empty"));
    }
}
