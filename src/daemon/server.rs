//! The worker's event loop: one thread, one mio `Poll`, owning the listener,
//! every connection (in a `Slab`), the signal source and the pool's waker.
//!
//! It decides when sockets are read and written and when connections end;
//! what frames mean is `connection`'s business, and compute is the pool's.
//! Interest is derived from state (WRITABLE only while output is pending)
//! and re-registered only when it changes.

mod accept;
mod accept_state;
mod descriptors;

use super::admission::{Admission, AdmissionLimits};
use super::allow::Cidr;
use super::config::{describe, Config, Limits};
use super::connection::{Connection, Env, JobCounters};
use super::cpus::allowed_cpus;
use super::discovery::Responder;
use super::host;
use super::metrics::render::{render, Scrape};
use super::metrics::{AcceptAgain, MetricsServer};
use super::notify::notify;
use super::pool::{Pool, TaskDone};
use super::status::StatusSource;
use crate::jobs::child::Limits as ChildLimits;
use crate::jobs::exec::ExecEnv;
use crate::jobs::jobdir::JobDirs;
use crate::jobs::life_peers::PeerHub;
use crate::jobs::memory::MemoryBudget;
use crate::protocol::auth::load_key;
use crate::protocol::discovery::Announce;
use crate::protocol::frame::{PROTOCOL_MAJOR, PROTOCOL_MINOR};
use crate::protocol::message::Challenge;
use crate::protocol::message::SOFTWARE_VERSION;
use crate::protocol::Welcome;
use accept_state::{AcceptLogs, AcceptPause};
use descriptors::{raise_descriptor_limit, reserve_descriptor};
use log::{debug, info, warn};
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook_mio::v1_0::Signals;
use slab::Slab;
use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::mpsc::{channel, Receiver};
use std::sync::Arc;
use std::time::{Duration, Instant};

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
const SIGNALS: Token = Token(2);
const DISCOVERY: Token = Token(3);
const DISCOVERY_BROADCAST: Token = Token(4);
const METRICS: Token = Token(5);
/// Connection tokens start after the fixed ones.
const FIRST_CONN: usize = 6;
/// Metrics connections' tokens start here: far above any job connection's
/// (those are bounded by file descriptors), and within a 32-bit usize.
const FIRST_METRICS_CONN: usize = 1 << 30;
/// How often deadlines (lingering closes, shutdown) are looked at: on a
/// busy loop too, no more often, since it means a look at every connection.
const TICK: Duration = Duration::from_millis(200);

/// Why the daemon could not start or had to stop.
#[derive(Debug)]
pub enum DaemonError {
    Bind { addr: SocketAddr, source: io::Error },
    Setup { what: &'static str, source: io::Error },
    Config(String),
}

impl fmt::Display for DaemonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DaemonError::Bind { addr, source } if source.kind() == io::ErrorKind::AddrInUse => write!(
                f,
                "cannot listen on {addr}: the port is already in use (another piworker? see `ss -ltnp 'sport = :{}'`)",
                addr.port()
            ),
            DaemonError::Bind { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
            DaemonError::Setup { what, source } => write!(f, "cannot {what}: {source}"),
            DaemonError::Config(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for DaemonError {}

fn setup(what: &'static str) -> impl FnOnce(io::Error) -> DaemonError {
    move |source| DaemonError::Setup { what, source }
}

struct Server {
    poll: Poll,
    listener: Option<TcpListener>,
    conns: Slab<Connection>,
    /// The interest each connection is registered with, to skip no-op
    /// re-registrations.
    registered: HashMap<usize, Interest>,
    pool: Pool,
    done: Receiver<TaskDone>,
    welcome: Welcome,
    max_frame: u32,
    limits: Limits,
    allow: Vec<Cidr>,
    cluster_key: Option<Vec<u8>>,
    counters: Rc<JobCounters>,
    status: StatusSource,
    discovery: Option<Responder>,
    /// Who may hold a connection (finished and unfinished classes).
    admission: Admission,
    accept_logs: AcceptLogs,
    /// Why the last `accept_all` stopped before the backlog was empty.
    accept_pause: AcceptPause,
    /// A descriptor kept for accepting (to refuse) when all are in use.
    spare_fd: Option<File>,
    next_serial: u64,
    /// Set by the first SIGTERM/SIGINT: when running jobs are cancelled.
    stop_deadline: Option<Instant>,
    exec: Arc<ExecEnv>,
    memory: Rc<MemoryBudget>,
    peers: Rc<PeerHub>,
    /// When `sweep` is next due.
    next_sweep: Instant,
    /// Lists of connection keys, kept between uses so that the loop's
    /// steady path allocates nothing.
    sweep_keys: Vec<usize>,
    touched: Vec<usize>,
    /// The `--metrics` listener and its scrapes, when asked for.
    metrics: Option<MetricsServer>,
    /// Whether the metrics listener's backlog is to be looked at again.
    metrics_accept: AcceptAgain,
    /// Bytes read and written by job connections already closed (open
    /// ones keep their own counts).
    closed_bytes: (u64, u64),
}

/// What life strips need to swap borders with their neighbours: the key
/// to prove, and this worker's own --allow list as the only addresses it
/// dials (docs/SECURITY.md).
fn peer_hub(config: &Config, key: Option<&Vec<u8>>, exec: &Arc<ExecEnv>) -> Rc<PeerHub> {
    let allow = config.allow.clone();
    let may_dial = Arc::new(move |ip| super::allow::allowed(&allow, ip));
    PeerHub::new(key.map(|k| Arc::new(k.clone())), may_dial, Arc::clone(&exec.wake))
}

/// Runs the daemon until SIGTERM or SIGINT.
pub fn run(config: Config) -> Result<(), DaemonError> {
    let cpus = allowed_cpus();
    let cpus = match config.threads {
        Some(n) if n > cpus.len() => {
            return Err(DaemonError::Config(format!(
                "--threads {n} exceeds the {} CPUs this process may use ({cpus:?})",
                cpus.len()
            )))
        }
        Some(n) => cpus[..n].to_vec(),
        None => cpus,
    };
    let cluster_key = match &config.key_file {
        Some(path) => Some(load_key(path).map_err(DaemonError::Config)?),
        None => None,
    };
    let limits = &config.limits;
    raise_descriptor_limit((limits.max_connections + limits.max_unfinished + 64) as u64);
    let poll = Poll::new().map_err(setup("create the event loop"))?;
    // mio sets SO_REUSEADDR (a restart rebinds at once over TIME_WAIT) and
    // not SO_REUSEPORT (a second daemon on the same port still fails).
    let mut listener =
        TcpListener::bind(config.listen).map_err(|source| DaemonError::Bind { addr: config.listen, source })?;
    poll.registry().register(&mut listener, LISTENER, Interest::READABLE).map_err(setup("watch the listener"))?;
    let waker = Arc::new(Waker::new(poll.registry(), WAKER).map_err(setup("create the waker"))?);
    let mut signals = Signals::new([SIGTERM, SIGINT]).map_err(setup("install signal handlers"))?;
    poll.registry().register(&mut signals, SIGNALS, Interest::READABLE).map_err(setup("watch signals"))?;
    let (done_tx, done) = channel();
    let exec_waker = Arc::clone(&waker);
    let exec = Arc::new(ExecEnv {
        dirs: JobDirs::new(config.job_dirs.clone()),
        max: ChildLimits { time: config.exec_timeout, memory: config.exec_memory },
        wake: Arc::new(move || {
            let _ = exec_waker.wake();
        }),
    });
    let pool = Pool::start(&cpus, done_tx, waker).map_err(setup("start compute threads"))?;
    let welcome = Welcome {
        protocol_major: PROTOCOL_MAJOR,
        protocol_minor: PROTOCOL_MINOR,
        software: SOFTWARE_VERSION.into(),
        hostname: host::hostname(),
        arch: host::arch().into(),
        threads: pool.threads().min(u16::MAX as usize) as u16,
        max_frame: config.max_frame,
        challenge: Challenge::Open,
    };
    let local = listener.local_addr().map_err(setup("read the bound address"))?;
    // The first line: people and tests look for where the worker listens.
    info!("piworker {SOFTWARE_VERSION} listening on {local} ({}; CPUs {cpus:?})", describe(&config, pool.threads()));
    if local.ip().is_loopback() {
        warn!(
            "{local} is a loopback address: no other machine can reach this worker (use --listen 0.0.0.0:{})",
            local.port()
        );
    }
    let discovery =
        if config.discovery { start_discovery(&poll, local, &welcome, cluster_key.is_some()) } else { None };
    let metrics = match config.metrics {
        Some(addr) => {
            let timeout = config.limits.handshake_timeout;
            let m = MetricsServer::bind(addr, poll.registry(), METRICS, FIRST_METRICS_CONN, timeout)
                .map_err(|source| DaemonError::Bind { addr, source })?;
            info!("metrics for Prometheus at http://{}/metrics", m.local);
            Some(m)
        }
        None => None,
    };
    let status = StatusSource::new(config.host_root.clone(), local, cpus.first().copied().unwrap_or(0));
    let peers = peer_hub(&config, cluster_key.as_ref(), &exec);
    notify(&format!("READY=1\nSTATUS=listening on {local} with {} compute threads", pool.threads()));
    let mut server = Server {
        poll,
        listener: Some(listener),
        conns: Slab::new(),
        registered: HashMap::new(),
        pool,
        done,
        welcome,
        max_frame: config.max_frame,
        limits: config.limits.clone(),
        allow: config.allow.clone(),
        cluster_key,
        counters: Rc::new(JobCounters::default()),
        status,
        discovery,
        admission: Admission::new(AdmissionLimits {
            max_finished: config.limits.max_connections,
            max_unfinished: config.limits.max_unfinished,
            max_unfinished_per_address: config.limits.max_unfinished_per_address,
        }),
        accept_logs: AcceptLogs::default(),
        accept_pause: AcceptPause::None,
        spare_fd: reserve_descriptor(),
        next_serial: 0,
        stop_deadline: None,
        exec,
        memory: super::memory::budget(config.memory, &config.host_root),
        peers,
        next_sweep: Instant::now() + TICK,
        sweep_keys: Vec::new(),
        touched: Vec::new(),
        metrics,
        metrics_accept: AcceptAgain::No,
        closed_bytes: (0, 0),
    };
    let result = server.event_loop(&mut signals, config.shutdown_grace);
    let Server { pool, .. } = server;
    pool.shutdown();
    info!("piworker stopped");
    result
}

impl Server {
    fn event_loop(&mut self, signals: &mut Signals, grace: Duration) -> Result<(), DaemonError> {
        let mut events = Events::with_capacity(1024);
        loop {
            let mut until_sweep = self.next_sweep.saturating_duration_since(Instant::now());
            if matches!(self.accept_pause, AcceptPause::Batch) || self.metrics_accept == AcceptAgain::Now {
                until_sweep = Duration::ZERO; // more connections wait in the backlog
            }
            if let Err(e) = self.poll.poll(&mut events, Some(until_sweep)) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(DaemonError::Setup { what: "wait for events", source: e });
            }
            // New connections are accepted after the others' events: an
            // unfinished connection whose Hello has arrived finishes its
            // handshake before newcomers can push it out of its budget.
            let mut accept_due = matches!(self.accept_pause, AcceptPause::Batch);
            for event in events.iter() {
                match event.token() {
                    LISTENER => accept_due = true,
                    WAKER => self.drain_pool_results(),
                    SIGNALS => self.on_signals(signals, grace),
                    DISCOVERY | DISCOVERY_BROADCAST => {
                        if let Some(d) = self.discovery.as_mut() {
                            d.on_readable(&self.allow);
                        }
                    }
                    METRICS => self.metrics_accept = AcceptAgain::Now,
                    Token(t) if t >= FIRST_METRICS_CONN => self.on_metrics_event(Token(t)),
                    Token(t) => self.on_connection_event(t - FIRST_CONN, event.is_readable() || event.is_read_closed()),
                }
            }
            if accept_due {
                self.accept_all();
            }
            if self.metrics_accept == AcceptAgain::Now {
                self.accept_metrics();
            }
            let now = Instant::now();
            if now >= self.next_sweep {
                if matches!(self.accept_pause, AcceptPause::Descriptors) {
                    self.accept_all();
                }
                self.sweep(now);
                if self.metrics_accept == AcceptAgain::AtSweep {
                    self.accept_metrics();
                }
                if let Some(m) = self.metrics.as_mut() {
                    m.sweep(self.poll.registry(), now, &self.counters.refusals);
                }
                self.next_sweep = now + TICK;
            }
            if self.stop_deadline.is_some() && self.conns.iter().all(|(_, c)| c.running_jobs() == 0) {
                return Ok(());
            }
        }
    }

    fn on_connection_event(&mut self, key: usize, readable: bool) {
        if !self.conns.contains(key) {
            return; // an event for a connection closed earlier in this batch
        }
        if readable {
            self.pump(key);
        }
        self.after_io(key);
    }

    /// Reads and handles what connection `key` has sent, lending it what
    /// it needs of the server.
    fn pump(&mut self, key: usize) {
        let (status, pool, counters) = (&self.status, &self.pool, &self.counters);
        let build_status = || status.build(pool, counters).encode(0).payload;
        let env = Env {
            pool: &self.pool,
            welcome: &self.welcome,
            key,
            draining: self.stop_deadline.is_some(),
            limits: &self.limits,
            cluster_key: self.cluster_key.as_deref(),
            status: &build_status,
            exec: &self.exec,
            connections_full: self.admission.finished_full().then_some(self.limits.max_connections),
            memory: &self.memory,
            peers: &self.peers,
        };
        let conn = &mut self.conns[key];
        conn.pump(&env);
        if conn.take_newly_finished() {
            self.admission.finished(conn.serial);
        }
    }

    /// Writes what is queued, resumes paused reading, and fixes interest or
    /// drops the connection.
    fn after_io(&mut self, key: usize) {
        // Job programs' stdout held back while the client was behind moves
        // on as the socket drains; a few rounds, so one busy program cannot
        // keep the loop from the other connections.
        let mut stream_rounds = 4;
        loop {
            let keep = self.conns[key].flush();
            if !keep {
                return self.drop_connection(key);
            }
            let conn = &mut self.conns[key];
            if stream_rounds > 0 && conn.has_streams() && conn.poll_streams(&self.pool, key) {
                stream_rounds -= 1;
                continue;
            }
            if !conn.read_paused || conn.wants_write() {
                break;
            }
            // The backlog has drained: read what arrived meanwhile.
            self.pump(key);
        }
        let conn = &mut self.conns[key];
        let wanted = if conn.wants_write() { Interest::READABLE | Interest::WRITABLE } else { Interest::READABLE };
        if self.registered.get(&key) != Some(&wanted) {
            if let Err(e) = self.poll.registry().reregister(&mut conn.framed.stream, Token(key + FIRST_CONN), wanted) {
                warn!("{}: cannot update interest: {e}", conn.peer);
                return self.drop_connection(key);
            }
            self.registered.insert(key, wanted);
        }
    }

    fn drop_connection(&mut self, key: usize) {
        let mut conn = self.conns.remove(key);
        conn.cancel_all("connection closed");
        let _ = self.poll.registry().deregister(&mut conn.framed.stream);
        self.registered.remove(&key);
        self.admission.closed(conn.serial);
        self.closed_bytes.0 += conn.framed.bytes_read;
        self.closed_bytes.1 += conn.framed.bytes_written;
        debug!("{}: connection closed", conn.peer);
    }

    fn accept_metrics(&mut self) {
        if let Some(m) = self.metrics.as_mut() {
            self.metrics_accept = m.accept_all(self.poll.registry(), &self.allow, &self.counters.refusals);
        }
    }

    /// A scrape connection is ready: it reads, is answered (rendered here,
    /// from what the status answer reads) and closes.
    fn on_metrics_event(&mut self, token: Token) {
        let Some(mut metrics) = self.metrics.take() else { return };
        let open = metrics.open();
        let mut scrape = || self.render_metrics(open);
        metrics.on_event(self.poll.registry(), token, &self.counters.refusals, &mut scrape);
        self.metrics = Some(metrics);
    }

    /// The metrics text as of now; `metrics_open` is the scrapes open.
    fn render_metrics(&self, metrics_open: usize) -> String {
        let status = self.status.build(&self.pool, &self.counters);
        let (mut received, mut sent) = self.closed_bytes;
        let mut connections = [("handshaking", 0), ("ready", 0), ("closing", 0), ("metrics", metrics_open)];
        for (_, conn) in &self.conns {
            received += conn.framed.bytes_read;
            sent += conn.framed.bytes_written;
            let state = match (conn.closing_deadline(), conn.handshake_done()) {
                (Some(_), _) => 2,
                (None, true) => 1,
                (None, false) => 0,
            };
            connections[state].1 += 1;
        }
        render(&Scrape {
            status: &status,
            bytes_received: received,
            bytes_sent: sent,
            connections: &connections,
            refusals: &self.counters.refusals,
        })
    }

    fn drain_pool_results(&mut self) {
        let mut touched = std::mem::take(&mut self.touched);
        touched.clear();
        while let Ok(done) = self.done.try_recv() {
            self.pool.delivered(&done.flags);
            let key = done.key.conn;
            match self.conns.get_mut(key) {
                Some(conn) if conn.serial == done.key.serial => {
                    conn.task_done(done.key.job_id, done.output, &self.pool, key);
                    if !touched.contains(&key) {
                        touched.push(key);
                    }
                }
                _ => {} // the connection has gone; its jobs were cancelled
            }
        }
        // Job programs stream their stdout between task ends.
        let streaming: Vec<usize> = if self.counters.streaming.get() == 0 {
            Vec::new()
        } else {
            self.conns.iter().filter(|(_, c)| c.has_streams()).map(|(k, _)| k).collect()
        };
        for key in streaming {
            let _ = self.conns[key].poll_streams(&self.pool, key);
            if !touched.contains(&key) {
                touched.push(key);
            }
        }
        for &key in &touched {
            if self.conns.contains(key) {
                self.after_io(key);
            }
        }
        self.touched = touched;
        self.resume_job_paused();
    }

    fn on_signals(&mut self, signals: &mut Signals, grace: Duration) {
        for signal in signals.pending() {
            let name = if signal == SIGTERM { "SIGTERM" } else { "SIGINT" };
            match self.stop_deadline {
                None => {
                    let running: usize = self.conns.iter().map(|(_, c)| c.running_jobs()).sum();
                    info!("{name}: no longer accepting connections; {running} running jobs get {grace:?} to finish");
                    self.stop_deadline = Some(Instant::now() + grace);
                    notify(&format!("STOPPING=1\nSTATUS=draining {running} jobs"));
                    if let Some(mut listener) = self.listener.take() {
                        let _ = self.poll.registry().deregister(&mut listener);
                    }
                }
                Some(_) => {
                    info!("{name} again: cancelling running jobs now");
                    self.stop_deadline = Some(Instant::now());
                }
            }
        }
    }

    /// Connections held back by a job limit read again once jobs have
    /// finished (anywhere, for the worker-wide limit).
    fn resume_job_paused(&mut self) {
        let ready: Vec<usize> = self.conns.iter().filter(|(_, c)| c.can_resume(&self.limits)).map(|(k, _)| k).collect();
        for key in ready {
            self.conns[key].job_paused = false;
            self.pump(key);
            self.after_io(key);
        }
    }

    /// Deadlines: lingering closes that ran out, and the shutdown grace.
    fn sweep(&mut self, now: Instant) {
        let mut keys = std::mem::take(&mut self.sweep_keys);
        keys.clear();
        keys.extend(self.conns.iter().map(|(k, _)| k));
        for &key in &keys {
            self.conns[key].check_deadlines(&self.limits, now);
            if self.conns[key].closing_deadline().is_some() {
                self.after_io(key);
            }
        }
        self.sweep_keys = keys;
        if self.stop_deadline.is_some_and(|d| now >= d) {
            let keys: Vec<usize> = self.conns.iter().filter(|(_, c)| c.running_jobs() > 0).map(|(k, _)| k).collect();
            for key in keys {
                warn!("{}: shutdown grace over; cancelling its jobs", self.conns[key].peer);
                self.conns[key].abort_jobs_for_shutdown();
                self.conns[key].close_soon();
                self.after_io(key);
            }
        }
        let expired: Vec<usize> =
            self.conns.iter().filter(|(_, c)| c.closing_deadline().is_some_and(|d| now >= d)).map(|(k, _)| k).collect();
        for key in expired {
            self.drop_connection(key);
        }
    }
}

/// Binds the discovery socket next to the listener; without it the worker
/// still serves jobs, so a failure is a warning.
fn start_discovery(poll: &Poll, local: SocketAddr, welcome: &Welcome, key_required: bool) -> Option<Responder> {
    let announce = Announce {
        software: welcome.software.clone(),
        protocol_major: welcome.protocol_major,
        protocol_minor: welcome.protocol_minor,
        hostname: welcome.hostname.clone(),
        arch: welcome.arch.clone(),
        threads: welcome.threads,
        port: local.port(),
        key_required,
    };
    let bound = Responder::bind(local, announce).and_then(|mut r| {
        poll.registry().register(&mut r.socket, DISCOVERY, Interest::READABLE)?;
        if let Some(b) = r.broadcast.as_mut() {
            poll.registry().register(b, DISCOVERY_BROADCAST, Interest::READABLE)?;
        }
        Ok(r)
    });
    match bound {
        Ok(r) => Some(r),
        Err(e) => {
            warn!("discovery off: cannot listen for probes on UDP {local}: {e}");
            None
        }
    }
}
