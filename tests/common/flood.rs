//! Connections from a chosen loopback source address, and a flood of them:
//! idle ones held open and trickling ones sending a byte every half second,
//! each reopened when the worker drops it (a noisy neighbour does not give
//! up). Every wait is bounded; threads stop when the `Flood` drops.
#![allow(dead_code)]

use nix::sys::socket::{bind, connect, socket, AddressFamily, SockFlag, SockType, SockaddrIn};
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A blocking TCP connection from `from` (any port) to `to`.
pub fn connect_from(from: Ipv4Addr, to: SocketAddrV4) -> std::io::Result<TcpStream> {
    let fd = socket(AddressFamily::Inet, SockType::Stream, SockFlag::SOCK_CLOEXEC, None)?;
    use std::os::fd::AsRawFd;
    bind(fd.as_raw_fd(), &SockaddrIn::from(SocketAddrV4::new(from, 0)))?;
    connect(fd.as_raw_fd(), &SockaddrIn::from(to))?;
    Ok(TcpStream::from(fd))
}

/// Raises this process's open-file limit to `want` (or the hard limit);
/// returns the new soft limit.
pub fn raise_fd_limit(want: u64) -> u64 {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit");
    let new = want.min(hard).max(soft);
    setrlimit(Resource::RLIMIT_NOFILE, new, hard).expect("setrlimit");
    new
}

/// What a flood did, for the test's report.
#[derive(Default)]
pub struct FloodCounts {
    pub opened: AtomicU64,
    pub dropped_by_worker: AtomicU64,
    pub connect_failed: AtomicU64,
}

pub struct Flood {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    pub counts: Arc<FloodCounts>,
}

impl Flood {
    /// `idle` held connections and `trickling` ones sending one byte every
    /// half second, from `from` to `to`.
    pub fn start(from: Ipv4Addr, to: SocketAddrV4, idle: usize, trickling: usize) -> Flood {
        let stop = Arc::new(AtomicBool::new(false));
        let counts = Arc::new(FloodCounts::default());
        let mut threads = Vec::new();
        for (n, trickle) in [(idle, false), (trickling, true)] {
            let (stop, counts) = (Arc::clone(&stop), Arc::clone(&counts));
            threads.push(std::thread::spawn(move || hold(from, to, n, trickle, &stop, &counts)));
        }
        Flood { stop, threads, counts }
    }

    pub fn opened(&self) -> u64 {
        self.counts.opened.load(Ordering::Relaxed)
    }

    pub fn dropped(&self) -> u64 {
        self.counts.dropped_by_worker.load(Ordering::Relaxed)
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Keeps `n` connections open, reopening each the worker closed; every
/// half second a trickler sends each of its connections one byte (of a
/// Hello that never completes: the magic, then zeros).
fn hold(from: Ipv4Addr, to: SocketAddrV4, n: usize, trickle: bool, stop: &AtomicBool, counts: &FloodCounts) {
    let mut conns: Vec<Option<(TcpStream, usize)>> = (0..n).map(|_| None).collect();
    let hello_start = b"PIWK\x01";
    let mut buf = [0u8; 256];
    while !stop.load(Ordering::Relaxed) {
        let pass = Instant::now();
        for slot in conns.iter_mut() {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            // Still open? A nonblocking read says: 0 or an error is closed.
            if let Some((s, sent)) = slot.as_mut() {
                let open = match s.read(&mut buf) {
                    Ok(0) => false,
                    Ok(_) => true, // an Error frame: the close follows
                    Err(e) => e.kind() == ErrorKind::WouldBlock,
                };
                let open = open
                    && (!trickle || {
                        let byte = hello_start.get(*sent).copied().unwrap_or(0);
                        *sent += 1;
                        s.write(&[byte]).is_ok()
                    });
                if !open {
                    counts.dropped_by_worker.fetch_add(1, Ordering::Relaxed);
                    *slot = None;
                }
            }
            if slot.is_none() {
                match connect_from(from, to) {
                    Ok(s) => {
                        let _ = s.set_nonblocking(true);
                        counts.opened.fetch_add(1, Ordering::Relaxed);
                        *slot = Some((s, 0));
                    }
                    Err(_) => {
                        counts.connect_failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
        let rest = Duration::from_millis(500).saturating_sub(pass.elapsed());
        std::thread::sleep(rest);
    }
}
