//! Builds the worker's answer to a status request from what the machine
//! (`health`), the pool and the connections know.
//!
//! It runs on the event loop, so everything here is quick: small file
//! reads, atomics, and the results of the two slow lookups (the machine's
//! addresses, what its own name resolves to) kept from earlier.

use super::connection::JobCounters;
use super::health::{spawn_vcgencmd_poller, HostProbe};
use super::host;
use super::pool::Pool;
use crate::net::ifaces::addresses;
use crate::protocol::frame::{PROTOCOL_MAJOR, PROTOCOL_MINOR};
use crate::protocol::message::SOFTWARE_VERSION;
use crate::protocol::Status;
use std::cell::RefCell;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Interfaces change rarely (DHCP, a cable); a netlink dump per request
/// would be the slowest part of a status answer.
const ADDRESSES_TTL: Duration = Duration::from_secs(5);
/// How often the worker looks up its own name again.
const RESOLVE_EVERY: Duration = Duration::from_secs(300);
/// How often `vcgencmd get_throttled` runs, where the firmware's sysfs file is missing.
const VCGENCMD_EVERY: Duration = Duration::from_secs(5);

pub struct StatusSource {
    probe: RefCell<HostProbe>,
    started: Instant,
    hostname: String,
    listen: SocketAddr,
    first_cpu: usize,
    addresses: RefCell<(Instant, Vec<IpAddr>)>,
    resolved: Arc<Mutex<Option<Vec<IpAddr>>>>,
}

impl StatusSource {
    /// `root` is where /proc and /sys are read from (`/` but in tests).
    pub fn new(root: PathBuf, listen: SocketAddr, first_cpu: usize) -> StatusSource {
        let mut probe = HostProbe::new(root.clone());
        if let Some(poller) = spawn_vcgencmd_poller(&root, VCGENCMD_EVERY) {
            probe = probe.with_vcgencmd(poller);
        }
        let hostname = host::hostname();
        StatusSource {
            probe: RefCell::new(probe),
            started: Instant::now(),
            resolved: resolve_in_background(hostname.clone()),
            hostname,
            listen,
            first_cpu,
            addresses: RefCell::new((Instant::now(), addresses())),
        }
    }

    /// The status as of now.
    pub fn build(&self, pool: &Pool, counters: &JobCounters) -> Status {
        let facts = self.probe.borrow_mut().read(self.first_cpu);
        let stats = pool.stats();
        let now = Instant::now();
        let mut cached = self.addresses.borrow_mut();
        if now.duration_since(cached.0) > ADDRESSES_TTL {
            *cached = (now, addresses());
        }
        Status {
            hostname: self.hostname.clone(),
            software: SOFTWARE_VERSION.into(),
            protocol_major: PROTOCOL_MAJOR,
            protocol_minor: PROTOCOL_MINOR,
            arch: host::arch().into(),
            model: facts.model,
            threads: pool.threads().min(u16::MAX as usize) as u16,
            listen: self.listen.to_string(),
            addresses: cached.1.clone(),
            name_resolves_to: self.resolved.lock().unwrap_or_else(PoisonError::into_inner).clone(),
            unix_time_ms: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64),
            system_uptime_ms: facts.uptime_secs.map(|s| (s * 1000.0) as u64),
            daemon_uptime_ms: now.duration_since(self.started).as_millis() as u64,
            load: facts.load,
            mem_total_kib: facts.mem_total_kib,
            mem_available_kib: facts.mem_available_kib,
            temp_millic: facts.temp_millic,
            throttled: facts.throttled,
            cpu_freq_khz: facts.cpu_freq_khz,
            jobs_running: counters.running.get().min(u32::MAX as usize) as u32,
            tasks_queued: stats.tasks_queued.min(u32::MAX as usize) as u32,
            threads_busy: stats.threads_busy.min(u16::MAX as usize) as u16,
            jobs_served: counters.served.get(),
            core_busy_ms: stats.busy_ms,
            sysctls: facts.sysctls,
        }
    }
}

/// Looks the hostname up on a thread of its own (a resolver can block for
/// seconds when DNS is down) and keeps the answer for the status.
fn resolve_in_background(hostname: String) -> Arc<Mutex<Option<Vec<IpAddr>>>> {
    let slot = Arc::new(Mutex::new(None));
    let out = Arc::clone(&slot);
    let mut warned = false;
    let spawned = std::thread::Builder::new().name("resolve-self".into()).spawn(move || loop {
        let found = match (hostname.as_str(), 0).to_socket_addrs() {
            Ok(addrs) => {
                let mut ips: Vec<IpAddr> = addrs.map(|a| a.ip()).collect();
                ips.sort();
                ips.dedup();
                // Once per run: the answer rarely changes, the log should not repeat it.
                if !warned && ips.iter().any(|ip| ip.is_loopback()) {
                    warned = true;
                    log::warn!(
                        "this machine's name {hostname:?} resolves to {ips:?} (loopback): other machines' tools \
                         (MPI, dispy) may bind there; piworker listens on its --listen address regardless"
                    );
                }
                ips
            }
            Err(e) => {
                log::debug!("cannot resolve this machine's own name {hostname:?}: {e}");
                Vec::new()
            }
        };
        *out.lock().unwrap_or_else(PoisonError::into_inner) = Some(found);
        std::thread::sleep(RESOLVE_EVERY);
    });
    if let Err(e) = spawned {
        log::warn!("cannot start the name lookup thread: {e}");
    }
    slot
}
