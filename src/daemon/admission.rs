//! Who gets a connection slot: two classes of connection with budgets of
//! their own, so that nobody can fill the worker before a head gets in.
//!
//! A connection is *unfinished* from accept until its handshake is done
//! (Hello, and the key's proof when `--key` is set), then *finished*.
//! Unfinished connections cost little (no jobs, a small read buffer) and
//! are the ones anybody can open, so when their budget is full the oldest
//! one makes room: a flood then churns through its own connections while
//! a head's fresh one lives long enough to say Hello. A per-address cap
//! stops one machine from taking the whole budget (at the cap, that
//! address's own oldest makes room). Finished connections are never
//! dropped to make room: past their own cap, new ones are refused.
//!
//! This module only keeps the books and picks who goes; `server` closes
//! connections and talks to sockets.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::IpAddr;

/// The admission flags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdmissionLimits {
    /// Finished connections at once (`--max-connections`).
    pub max_finished: usize,
    /// Unfinished connections at once (`--max-unfinished`).
    pub max_unfinished: usize,
    /// Unfinished connections from one address, or one IPv6 /64
    /// (`--max-unfinished-per-address`).
    pub max_unfinished_per_address: usize,
}

/// Which rule picked a connection to drop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// `--max-unfinished-per-address`: the same address's oldest.
    PerAddress,
    /// `--max-unfinished`: the oldest of all.
    Budget,
}

/// What to do with a connection just accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum Admit {
    /// Take it; first drop this unfinished connection (its serial), which
    /// the rule named picked.
    Yes(Option<(u64, Rule)>),
    /// Finished connections are at their cap: refuse the newcomer.
    Full,
}

/// The books: which connections are unfinished (oldest first, overall
/// and per address) and how many are finished.
pub struct Admission {
    pub limits: AdmissionLimits,
    /// Unfinished connections by serial (serials grow with accept order,
    /// so the first is the oldest), each with its slab key and address.
    unfinished: BTreeMap<u64, (usize, Source)>,
    /// Unfinished serials per source, oldest first; at most
    /// `max_unfinished_per_address` each, so scans stay short.
    by_source: HashMap<Source, VecDeque<u64>>,
    finished: usize,
}

/// Where connections come from, as far as the per-address cap goes: an
/// IPv4 address, or an IPv6 /64 (one machine often has a whole /64).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Source(IpAddr);

impl Source {
    pub fn of(ip: IpAddr) -> Source {
        match ip.to_canonical() {
            IpAddr::V6(v6) => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                Source(IpAddr::V6(bits.into()))
            }
            v4 => Source(v4),
        }
    }
}

impl Admission {
    pub fn new(limits: AdmissionLimits) -> Admission {
        Admission { limits, unfinished: BTreeMap::new(), by_source: HashMap::new(), finished: 0 }
    }

    /// Decides on a connection from `ip`, before it is accounted.
    pub fn admit(&self, ip: IpAddr) -> Admit {
        if self.finished >= self.limits.max_finished {
            return Admit::Full;
        }
        let from_source = self.by_source.get(&Source::of(ip));
        if let Some(oldest) = from_source.filter(|q| q.len() >= self.limits.max_unfinished_per_address) {
            return Admit::Yes(oldest.front().map(|&s| (s, Rule::PerAddress)));
        }
        if self.unfinished.len() >= self.limits.max_unfinished {
            return Admit::Yes(self.unfinished.keys().next().map(|&s| (s, Rule::Budget)));
        }
        Admit::Yes(None)
    }

    /// Whether finished connections are at their cap.
    pub fn finished_full(&self) -> bool {
        self.finished >= self.limits.max_finished
    }

    /// The slab key of unfinished connection `serial`.
    pub fn key_of(&self, serial: u64) -> Option<usize> {
        self.unfinished.get(&serial).map(|&(key, _)| key)
    }

    /// The oldest unfinished connection's slab key (to free a file
    /// descriptor when there are none left).
    pub fn oldest_unfinished(&self) -> Option<usize> {
        self.unfinished.values().next().map(|&(key, _)| key)
    }

    /// Counts a new connection as unfinished.
    pub fn opened(&mut self, serial: u64, key: usize, ip: IpAddr) {
        let source = Source::of(ip);
        self.unfinished.insert(serial, (key, source));
        self.by_source.entry(source).or_default().push_back(serial);
    }

    /// Connection `serial` finished its handshake.
    pub fn finished(&mut self, serial: u64) {
        if self.forget_unfinished(serial) {
            self.finished += 1;
        }
    }

    /// Connection `serial` has gone, whichever class it was in.
    pub fn closed(&mut self, serial: u64) {
        if !self.forget_unfinished(serial) {
            self.finished = self.finished.saturating_sub(1);
        }
    }

    /// (unfinished, finished) connections now.
    pub fn counts(&self) -> (usize, usize) {
        (self.unfinished.len(), self.finished)
    }

    fn forget_unfinished(&mut self, serial: u64) -> bool {
        let Some((_, source)) = self.unfinished.remove(&serial) else { return false };
        if let Some(queue) = self.by_source.get_mut(&source) {
            queue.retain(|&s| s != serial);
            if queue.is_empty() {
                self.by_source.remove(&source);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn books(max_finished: usize, max_unfinished: usize, per_address: usize) -> Admission {
        Admission::new(AdmissionLimits { max_finished, max_unfinished, max_unfinished_per_address: per_address })
    }

    #[test]
    fn the_oldest_unfinished_makes_room_when_the_budget_is_full() {
        let mut a = books(10, 3, 10);
        for serial in 1..=3 {
            assert_eq!(a.admit(ip(&format!("10.0.0.{serial}"))), Admit::Yes(None));
            a.opened(serial, serial as usize, ip(&format!("10.0.0.{serial}")));
        }
        assert_eq!(a.admit(ip("10.0.0.9")), Admit::Yes(Some((1, Rule::Budget))));
        a.closed(1);
        a.opened(4, 4, ip("10.0.0.9"));
        assert_eq!(a.admit(ip("10.0.0.9")), Admit::Yes(Some((2, Rule::Budget))));
    }

    #[test]
    fn one_address_makes_room_among_its_own() {
        let mut a = books(10, 100, 2);
        a.opened(1, 1, ip("10.0.0.1"));
        a.opened(2, 2, ip("10.0.0.2"));
        a.opened(3, 3, ip("10.0.0.2"));
        assert_eq!(a.admit(ip("10.0.0.2")), Admit::Yes(Some((2, Rule::PerAddress))));
        assert_eq!(a.admit(ip("10.0.0.1")), Admit::Yes(None));
        // An IPv6 /64 counts as one source; a mapped IPv4 address as IPv4.
        a.opened(4, 4, ip("fd00::1"));
        a.opened(5, 5, ip("fd00::2"));
        assert_eq!(a.admit(ip("fd00::ffff")), Admit::Yes(Some((4, Rule::PerAddress))));
        assert_eq!(a.admit(ip("fd00:0:0:1::1")), Admit::Yes(None));
        assert_eq!(a.admit(ip("::ffff:10.0.0.2")), Admit::Yes(Some((2, Rule::PerAddress))));
    }

    #[test]
    fn finished_connections_are_never_picked_and_have_their_own_cap() {
        let mut a = books(2, 1, 1);
        a.opened(1, 1, ip("10.0.0.1"));
        a.finished(1);
        a.opened(2, 2, ip("10.0.0.1"));
        // Serial 1 is older but finished: only the unfinished 2 may go.
        assert_eq!(a.admit(ip("10.0.0.1")), Admit::Yes(Some((2, Rule::PerAddress))));
        a.finished(2);
        assert_eq!(a.counts(), (0, 2));
        assert_eq!(a.admit(ip("10.0.0.3")), Admit::Full);
        a.closed(1);
        assert_eq!(a.admit(ip("10.0.0.3")), Admit::Yes(None));
        assert_eq!(a.counts(), (0, 1));
    }
}
