//! This machine's interface addresses (getifaddrs, a netlink dump): for
//! the status answer, and for the broadcast addresses discovery uses.

use std::net::{IpAddr, Ipv4Addr};

/// An IPv4 address of an interface, with its netmask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Net {
    pub addr: Ipv4Addr,
    pub mask: Ipv4Addr,
}

impl Ipv4Net {
    /// `addr/prefix`; a prefix over 32 is taken as 32.
    pub fn with_prefix(addr: Ipv4Addr, prefix: u8) -> Ipv4Net {
        let mask = u32::MAX.checked_shl(32 - u32::from(prefix.min(32))).unwrap_or(0);
        Ipv4Net { addr, mask: Ipv4Addr::from(mask) }
    }

    /// The network's broadcast address, computed from the mask (an
    /// interface's own broadcast field is unset when its address was added
    /// without `brd +`); None for a /32, which has no other address.
    pub fn broadcast(&self) -> Option<Ipv4Addr> {
        let b = Ipv4Addr::from(u32::from(self.addr) | !u32::from(self.mask));
        (b != self.addr).then_some(b)
    }
}

/// Every address of every interface, loopback included, sorted and without
/// repeats; empty when the kernel will not say.
pub fn addresses() -> Vec<IpAddr> {
    let Ok(interfaces) = nix::ifaddrs::getifaddrs() else { return Vec::new() };
    let mut found: Vec<IpAddr> = interfaces
        .filter_map(|interface| interface.address)
        .filter_map(|address| match (address.as_sockaddr_in(), address.as_sockaddr_in6()) {
            (Some(v4), _) => Some(IpAddr::V4(v4.ip())),
            (_, Some(v6)) => Some(IpAddr::V6(v6.ip())),
            _ => None,
        })
        .collect();
    found.sort();
    found.dedup();
    found
}

/// The IPv4 addresses of the interfaces, with their netmasks.
pub fn ipv4_networks() -> Vec<Ipv4Net> {
    let Ok(interfaces) = nix::ifaddrs::getifaddrs() else { return Vec::new() };
    let v4 = |a: Option<nix::sys::socket::SockaddrStorage>| a.as_ref().and_then(|a| a.as_sockaddr_in()).map(|s| s.ip());
    interfaces.filter_map(|i| Some(Ipv4Net { addr: v4(i.address)?, mask: v4(i.netmask)? })).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_from_the_mask() {
        let net = |a: [u8; 4], p| Ipv4Net::with_prefix(Ipv4Addr::from(a), p);
        assert_eq!(net([198, 18, 1, 11], 24).broadcast(), Some(Ipv4Addr::new(198, 18, 1, 255)));
        assert_eq!(net([10, 1, 2, 3], 8).broadcast(), Some(Ipv4Addr::new(10, 255, 255, 255)));
        assert_eq!(net([1, 2, 3, 4], 0).broadcast(), Some(Ipv4Addr::BROADCAST));
        assert_eq!(net([127, 0, 0, 1], 32).broadcast(), None);
    }

    #[test]
    fn this_machine_has_loopback() {
        let found = addresses();
        assert!(found.windows(2).all(|pair| pair[0] < pair[1]), "sorted and deduplicated: {found:?}");
        assert!(found.contains(&IpAddr::V4(Ipv4Addr::LOCALHOST)), "{found:?}");
        assert!(ipv4_networks().iter().any(|n| n.addr.is_loopback() && n.broadcast().is_some()));
    }
}
