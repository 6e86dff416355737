//! The scheduler: keeps every worker busy with pieces, streams their input,
//! hands finished pieces to the gatherer, and survives workers that die,
//! hang, drop off the network or come and go.
//!
//! Pieces come from a `PieceSource` (a fixed list, or stdin for the task
//! farm). Each worker holds a small window of them; a worker that closes
//! its connection or stays silent past the heartbeat timeout loses its
//! pieces to the others, and a piece that fails on `retries` different
//! workers fails the job. Partial results are held until their piece
//! completes, so a re-run piece never leaves half an answer behind.
//!
//! Here: connecting and the scheduling loop; `api` holds what callers hand
//! in and get back, `frames` handles what workers send, `run` the state of
//! one run, `rounds` lockstep rounds, `watch` who hears how a run goes,
//! `return_window` how much of echo's input may be out at once, `ping` the
//! round trips and `cancel` what stops a run (signals, a library caller).

use crate::protocol::message::{SUBMIT_HAS_INPUT, SUBMIT_PACKED_STDOUT};
use crate::protocol::{FrameType, SubmitRef};
use crate::submit::cluster::hosts::{HostSpec, HostsFile};
use crate::submit::cluster::link::{Link, State};
use crate::submit::error::SubmitError;
use mio::{Events, Interest, Poll, Token, Waker};
use signal_hook_mio::v1_0::Signals;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Input bytes per `Data` frame (less if the worker's limit is lower).
const DATA_CHUNK: usize = 256 * 1024;
/// Keep at most this much input queued per connection; read more later.
const INPUT_QUEUE: usize = 1024 * 1024;
mod api;
mod cancel;
mod frames;
mod gather_error;
mod packed;
mod ping;
mod return_window;
pub mod rounds;
mod run_state;
mod watch;

pub use api::{
    describe_tries, Cores, Gatherer, HostReport, InputOpener, InputStream, Landed, Next, Options, Piece, PieceList,
    PieceRecord, PieceSource, PieceTimeout, Replayed,
};
pub use cancel::{stop_on_sigterm, with_cancel, Cancel};
pub use gather_error::GatherError;

use return_window::ReturnWindow;
use run_state::RunState;
pub use watch::{Progress, Unwatched, Watch};

const WAKER: Token = Token(usize::MAX - 1);
pub(super) const SIGNALS: Token = Token(usize::MAX - 2);
/// How long the others may take to answer once the first worker is ready.
const SETTLE: Duration = Duration::from_millis(300);
/// Longest sleep of the loop: timeouts are checked at least this often.
const TICK: Duration = Duration::from_millis(100);

pub struct Engine {
    pub(super) poll: Poll,
    pub(super) links: Vec<Link>,
    /// The input stream being sent on each link, if any.
    streaming: Vec<Option<(u32, Box<dyn InputStream>)>>,
    /// Per link: how much input of pieces that come back may be out.
    windows: Vec<ReturnWindow>,
    hosts_file: Option<HostsFile>,
    last_hosts_check: Instant,
    pub(super) signals: Signals,
    waker: Arc<Waker>,
    pub(super) opts: Options,
    /// When some worker was last ready (or the start).
    last_usable: Instant,
    /// Which links are ready, kept from one dispatch to the next so that
    /// the loop's steady path allocates nothing.
    ready: Vec<bool>,
    /// Hears how each run goes (a progress bar, notices).
    watch: Box<dyn Watch>,
    /// A library caller's way to stop the run from another thread.
    pub(super) cancel: Option<Arc<Cancel>>,
}

impl Engine {
    /// Starts connecting to every host and waits until at least one is
    /// ready (or `connect_timeout` passes: then the error names them all).
    pub fn connect(hosts: Vec<HostSpec>, hosts_file: Option<HostsFile>, opts: Options) -> Result<Engine, SubmitError> {
        let setup = |what: &str, e: io::Error| SubmitError::Connect(format!("cannot {what}: {e}"));
        let poll = Poll::new().map_err(|e| setup("create an event loop", e))?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER).map_err(|e| setup("create a waker", e))?);
        let mut signals = Signals::new(cancel::stop_signals()).map_err(|e| setup("watch signals", e))?;
        poll.registry().register(&mut signals, SIGNALS, Interest::READABLE).map_err(|e| setup("watch signals", e))?;
        let now = Instant::now();
        let cancel = cancel::watched_by(&waker);
        let mut engine = Engine {
            poll,
            links: Vec::new(),
            streaming: Vec::new(),
            windows: Vec::new(),
            hosts_file,
            last_hosts_check: now,
            signals,
            waker,
            opts,
            last_usable: now,
            ready: Vec::new(),
            watch: Box::new(Unwatched),
            cancel,
        };
        for spec in hosts {
            engine.add_link(spec);
        }
        engine.wait_for_first_worker()?;
        Ok(engine)
    }

    /// Who hears how the runs go from now on.
    pub fn set_watch(&mut self, watch: Box<dyn Watch>) {
        self.watch = watch;
    }

    fn add_link(&mut self, spec: HostSpec) {
        let token = Token(self.links.len());
        self.links.push(Link::new(spec, token, self.opts.key.clone()));
        self.streaming.push(None);
        self.windows.push(ReturnWindow::default());
    }

    fn wait_for_first_worker(&mut self) -> Result<(), SubmitError> {
        let deadline = Instant::now() + self.opts.connect_timeout;
        let mut events = Events::with_capacity(256);
        let mut first_ready: Option<Instant> = None;
        loop {
            let now = Instant::now();
            // Once one worker is ready, give the others a moment, so a job
            // starts on every worker that answers quickly; one that is
            // switched off joins later if it ever answers.
            if first_ready.is_none() && self.links.iter().any(Link::is_ready) {
                first_ready = Some(now);
            }
            let all_settled = self.links.iter().all(|l| !matches!(l.state, State::Connecting(_)));
            if let Some(t) = first_ready {
                if all_settled || now.duration_since(t) >= SETTLE || now >= deadline {
                    return Ok(());
                }
            }
            if now >= deadline || self.links.iter().all(|l| l.refused.is_some()) {
                return Err(SubmitError::Connect(self.nobody_left("no worker could be reached")));
            }
            // Refused or unreachable workers are tried again (with backoff)
            // until the deadline: one may be restarting.
            for link in &mut self.links {
                link.connect_if_due(self.poll.registry(), now);
            }
            self.poll_and_handle(&mut events, (deadline - now).min(TICK), None, &mut NoPieces)?;
        }
    }

    fn nobody_left(&self, what: &str) -> String {
        let why: Vec<String> = self
            .links
            .iter()
            .map(|l| {
                let reason = match (&l.refused, &l.state) {
                    (Some(why), _) => why.clone(),
                    (None, State::Connecting(_)) => "connected, no handshake answer".to_string(),
                    _ => l.last_error.clone().unwrap_or_else(|| "no answer".into()),
                };
                format!("{}: {reason}", l.spec)
            })
            .collect();
        format!("{what}: {}", why.join("; "))
    }

    /// Whether the library caller gave up on the run (see `cancel`).
    pub(super) fn cancelled(&self) -> bool {
        self.cancel.as_ref().is_some_and(|c| c.is_cancelled())
    }

    pub fn total_threads(&self) -> usize {
        self.links.iter().filter(|l| l.is_ready()).map(Link::threads).sum()
    }

    pub fn reports(&self) -> Vec<HostReport> {
        let now = Instant::now();
        self.links
            .iter()
            .map(|l| HostReport {
                address: l.spec.address(),
                hostname: l.welcome.as_ref().map_or_else(String::new, |w| w.hostname.clone()),
                arch: l.welcome.as_ref().map_or_else(String::new, |w| w.arch.clone()),
                software: l.welcome.as_ref().map_or_else(String::new, |w| w.software.clone()),
                threads: if l.welcome.is_some() { l.threads() } else { 0 },
                pieces: l.pieces_done,
                failures: l.failures,
                busy: l.busy(now),
                state: l.state_name(),
                error: l.last_error.clone(),
                handshake_rtt: l.handshake_rtt,
            })
            .collect()
    }

    /// Runs every piece of `source` somewhere, feeding `gather`.
    pub fn run(&mut self, source: &mut dyn PieceSource, gather: &mut dyn Gatherer) -> Result<(), SubmitError> {
        source.set_waker(Arc::clone(&self.waker));
        let mut run = RunState::new(self.watch.run_started(source.total()));
        let outcome = self.run_loop(&mut run, source, gather);
        // A piece that failed the job is recorded as such (a job log's
        // "failed" line) before the error goes up.
        if let (Err(_), Some((index, host, why))) = (&outcome, run.gave_up.take()) {
            let slot = &run.pieces[index];
            let earlier = &slot.failed_on[..slot.failed_on.len().saturating_sub(1)];
            let record = PieceRecord {
                label: &slot.piece.label,
                host: &host,
                started: std::time::SystemTime::now(),
                runtime: Duration::ZERO,
                bytes_in: 0,
                bytes_out: 0,
                failed_on: if slot.failed_on.last().is_some_and(|(h, w)| *h == host && *w == why) {
                    earlier
                } else {
                    &slot.failed_on
                },
                gave_up: Some(&why),
            };
            if let Err(e) = gather.finished(index, &record) {
                log::warn!("recording the failed piece {}: {e}", slot.piece.label);
            }
        }
        // What was gathered before a failure still goes out (and into a
        // job log), so that a resume neither loses nor repeats it.
        if outcome.is_err() {
            if let Err(e) = gather.caught_up() {
                log::debug!("writing out the results gathered before the failure: {e}");
            }
        }
        outcome
    }

    fn run_loop(
        &mut self,
        run: &mut RunState,
        source: &mut dyn PieceSource,
        gather: &mut dyn Gatherer,
    ) -> Result<(), SubmitError> {
        let mut events = Events::with_capacity(256);
        loop {
            let now = Instant::now();
            self.check_hosts_file(now);
            for link in &mut self.links {
                link.connect_if_due(self.poll.registry(), now);
            }
            run.pull(source, self.capacity_hint());
            if run.source_done && run.finished == run.pieces.len() {
                caught_up(gather)?;
                run.progress.ended(true);
                return Ok(());
            }
            self.dispatch(run, gather)?;
            self.check_timeouts(run, now)?;
            if let Some(d) = self.opts.deadline {
                if now >= d {
                    run.progress.ended(false);
                    return Err(self.deadline_error(run));
                }
            }
            if self.links.iter().any(Link::is_ready) {
                self.last_usable = now;
            } else if now.duration_since(self.last_usable) > self.opts.connect_timeout.max(self.opts.heartbeat_timeout)
            {
                run.progress.ended(false);
                return Err(SubmitError::Job(self.nobody_left("no worker left")));
            }
            caught_up(gather)?;
            self.poll_and_handle(&mut events, TICK, Some(run), gather)?;
        }
    }

    fn capacity_hint(&self) -> usize {
        (self.total_threads().max(1) * 4).max(8)
    }

    fn check_hosts_file(&mut self, now: Instant) {
        if now.duration_since(self.last_hosts_check) < Duration::from_secs(1) {
            return;
        }
        self.last_hosts_check = now;
        let Some(file) = self.hosts_file.as_mut() else { return };
        match file.changed() {
            None => {}
            Some(Err(e)) => log::warn!("hosts file: {e}; keeping the current hosts"),
            Some(Ok(specs)) => {
                for link in &mut self.links {
                    if !specs.contains(&link.spec) && !matches!(link.state, State::Retired) {
                        log::warn!("{} left the hosts file: finishing its pieces, then closing", link.spec);
                        link.state = State::Retired;
                    }
                }
                for spec in specs {
                    if !self.links.iter().any(|l| l.spec == spec && !matches!(l.state, State::Retired)) {
                        log::warn!("{spec} joined the hosts file");
                        self.add_link(spec);
                    }
                }
            }
        }
    }

    /// Fills each ready worker's window and keeps its input flowing.
    /// Two passes: first one piece to every idle worker (so a job with few
    /// pieces spreads out), then a second to each (so none waits between
    /// pieces).
    fn dispatch(&mut self, run: &mut RunState, gather: &mut dyn Gatherer) -> Result<(), SubmitError> {
        let lookahead = gather.lookahead();
        // Which links are ready, for `dispatchable`; only a lost link
        // changes during the passes, and it is marked here as it goes.
        let mut ready = std::mem::take(&mut self.ready);
        ready.clear();
        ready.extend(self.links.iter().map(Link::is_ready));
        for window in [1, 2] {
            for i in 0..self.links.len() {
                if !self.links[i].is_ready() {
                    continue;
                }
                loop {
                    if let Err(e) = self.pump_input(i, run) {
                        self.lose(i, e.to_string(), run)?;
                        ready[i] = false;
                        break;
                    }
                    if self.streaming[i].is_some() {
                        break;
                    }
                    let Some(pos) = run.dispatchable(lookahead, i, &ready) else { break };
                    let index = run.pending[pos];
                    if !self.has_room(i, run.pieces[index].piece.cores, window, run) {
                        break;
                    }
                    run.pending.remove(pos);
                    self.send_piece(i, index, run)?;
                }
            }
        }
        self.ready = ready;
        for i in 0..self.links.len() {
            if let Err(e) = self.links[i].flush() {
                self.lose(i, e.to_string(), run)?;
            }
            self.links[i].close_if_retired_and_idle(self.poll.registry());
        }
        Ok(())
    }

    /// Whether worker `i` may take another piece needing `cores`, with at
    /// most `window` splitting pieces in flight.
    fn has_room(&self, i: usize, cores: Cores, window: usize, run: &RunState) -> bool {
        let link = &self.links[i];
        if link.draining {
            return false;
        }
        let threads = link.threads();
        let load: usize = link
            .flights
            .values()
            .map(|f| match run.pieces[f.piece].piece.cores {
                Cores::All => threads,
                Cores::One => 1,
            })
            .sum();
        match cores {
            // At most two: one computing, one queued behind it.
            Cores::All => load + threads <= window * threads,
            // As soon as a core is free, and no sooner.
            Cores::One => load < threads,
        }
    }

    fn send_piece(&mut self, i: usize, index: usize, run: &mut RunState) -> Result<(), SubmitError> {
        let now = Instant::now();
        let link = &mut self.links[i];
        let job_id = link.next_job_id();
        let slot = &mut run.pieces[index];
        let packed = packed::asks_packed(slot.piece.kind, link);
        let flags = if slot.piece.input.is_some() { SUBMIT_HAS_INPUT } else { 0 };
        let flags = if packed { flags | SUBMIT_PACKED_STDOUT } else { flags };
        let submit = SubmitRef { kind: slot.piece.kind.to_u8(), flags, params: &slot.piece.params };
        let Some(conn) = link.conn() else { return Ok(()) };
        // Written straight into the output buffer: no Frame to build.
        conn.queue_parts(FrameType::Submit, job_id, &[&submit.head(), submit.params]);
        link.start_flight(job_id, index, slot.piece.params.len(), packed, now);
        slot.running_on.push(i);
        if let Some(open) = &slot.piece.input {
            let stream =
                open().map_err(|e| SubmitError::Job(format!("cannot open the input of {}: {e}", slot.piece.label)))?;
            self.streaming[i] = Some((job_id, stream));
        }
        Ok(())
    }

    /// Sends input for the piece streaming on link `i` until the socket is
    /// full, the input ends, or (for a piece whose input comes back) the
    /// link's return window is full.
    fn pump_input(&mut self, i: usize, run: &RunState) -> Result<(), String> {
        let Some((job_id, mut stream)) = self.streaming[i].take() else { return Ok(()) };
        let links = self.links.iter().filter(|l| l.is_ready()).count();
        let link = &mut self.links[i];
        let returns = link.flights.get(&job_id).is_some_and(|f| run.pieces[f.piece].piece.kind.returns_input());
        let window = &self.windows[i];
        let mut max = DATA_CHUNK.min(link.max_frame());
        if returns {
            max = window.chunk(max, links);
        }
        loop {
            let mut more = true;
            while more && link.pending_output() < INPUT_QUEUE {
                if returns && window.room(return_window::out_on(link, run), links) < max {
                    // No room for a whole frame: what comes back makes
                    // room (the loop calls us again after every event).
                    self.streaming[i] = Some((job_id, stream));
                    return link.flush().map_err(|e| e.to_string());
                }
                let Some(conn) = link.conn() else { return Ok(()) };
                // Read straight into the output buffer, as a Data frame:
                // no chunk buffer, no copy of the input of its own.
                let mut sent = 0;
                let read = |room: &mut [u8]| {
                    let (n, more_after) = stream.read_chunk(room)?;
                    more = more_after;
                    sent = n;
                    Ok::<_, io::Error>(n)
                };
                conn.queue_read(FrameType::Data, job_id, max, read).map_err(|e| format!("reading input: {e}"))?;
                if let Some(flight) = link.flights.get_mut(&job_id) {
                    flight.bytes_in += sent as u64;
                }
            }
            if !more {
                if let Some(conn) = link.conn() {
                    conn.queue(FrameType::EndInput, job_id, &[]);
                }
                return Ok(());
            }
            link.flush().map_err(|e| e.to_string())?;
            if link.pending_output() > 0 {
                // The socket is full: its writable event brings us back.
                self.streaming[i] = Some((job_id, stream));
                return Ok(());
            }
        }
    }

    /// Declares link `i` lost: its pieces go back to the queue (or fail the
    /// job if they have failed on `retries` workers).
    fn lose(&mut self, i: usize, reason: String, run: &mut RunState) -> Result<(), SubmitError> {
        let now = Instant::now();
        let host = self.links[i].spec.to_string();
        let was_ready = self.links[i].is_ready();
        let drained = self.links[i].draining;
        self.streaming[i] = None;
        let lost = self.links[i].fail(self.poll.registry(), reason.clone(), now);
        if drained && was_ready && lost.is_empty() {
            // It said it was shutting down and handed back what it had.
            run.progress.notice(format!("pisubmit: worker {host} has shut down; it gets pieces again when it is back"));
        } else if !lost.is_empty() {
            let pieces = crate::units::count(lost.len(), "piece");
            run.progress.notice(format!("pisubmit: worker {host} {reason}; re-running its {pieces} elsewhere"));
        } else if was_ready {
            run.progress.notice(format!("pisubmit: worker {host} {reason}; it had no piece running"));
        }
        for index in lost {
            run.piece_failed(index, i, &host, &reason, self.opts.retries)?;
        }
        Ok(())
    }

    fn check_timeouts(&mut self, run: &mut RunState, now: Instant) -> Result<(), SubmitError> {
        for i in 0..self.links.len() {
            if self.links[i].heartbeat(now, self.opts.heartbeat_timeout) {
                let why = match self.links[i].state {
                    State::Connecting(_) => {
                        format!("did not complete the handshake within {:?}", self.opts.heartbeat_timeout)
                    }
                    _ => format!("was silent for {:?} (hung, or the network is down)", self.opts.heartbeat_timeout),
                };
                self.lose(i, why, run)?;
            }
        }
        let Some(limit) = run.piece_limit(self.opts.piece_timeout) else { return Ok(()) };
        for i in 0..self.links.len() {
            let late: Vec<(u32, usize)> = self.links[i]
                .flights
                .iter()
                .filter(|(_, f)| now.duration_since(f.sent) > limit)
                .map(|(id, f)| (*id, f.piece))
                .collect();
            for (job_id, index) in late {
                let host = self.links[i].spec.to_string();
                if let Some(conn) = self.links[i].conn() {
                    conn.queue(FrameType::Cancel, job_id, &[]);
                }
                if matches!(&self.streaming[i], Some((id, _)) if *id == job_id) {
                    self.streaming[i] = None;
                    if let Some(conn) = self.links[i].conn() {
                        conn.queue(FrameType::EndInput, job_id, &[]);
                    }
                }
                self.links[i].end_flight(job_id, now);
                self.links[i].failures += 1;
                let why = format!("took longer than the piece timeout ({limit:.1?})");
                run.progress.notice(format!(
                    "pisubmit: {} on {host} {why}; running it elsewhere",
                    run.pieces[index].piece.label
                ));
                run.piece_failed(index, i, &host, &why, self.opts.retries)?;
            }
        }
        Ok(())
    }

    fn deadline_error(&self, run: &RunState) -> SubmitError {
        let busy: Vec<String> = self
            .links
            .iter()
            .filter(|l| !l.flights.is_empty())
            .map(|l| {
                let pieces: Vec<&str> = l.flights.values().map(|f| run.pieces[f.piece].piece.label.as_str()).collect();
                format!("{} ({})", l.spec, pieces.join(", "))
            })
            .collect();
        SubmitError::Job(format!("--timeout reached with pieces still running on {}", busy.join("; ")))
    }

    fn poll_and_handle(
        &mut self,
        events: &mut Events,
        wait: Duration,
        mut run: Option<&mut RunState>,
        gather: &mut dyn Gatherer,
    ) -> Result<(), SubmitError> {
        if let Err(e) = self.poll.poll(events, Some(wait)) {
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(SubmitError::Connect(format!("waiting for workers failed: {e}")));
            }
        }
        if self.cancelled() {
            return Err(SubmitError::Interrupted);
        }
        for event in events.iter() {
            match event.token() {
                WAKER => {}
                SIGNALS if self.signals.pending().next().is_some() => return Err(SubmitError::Interrupted),
                Token(i) if i < self.links.len() => {
                    self.on_link_event(i, run.as_deref_mut(), gather)?;
                    if let Err(e) = self.links[i].flush() {
                        if let Some(run) = run.as_deref_mut() {
                            self.lose(i, e.to_string(), run)?;
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// A source with nothing in it, for the connect phase.
struct NoPieces;

/// Results the gatherer holds go out before the engine waits.
fn caught_up(gather: &mut dyn Gatherer) -> Result<(), SubmitError> {
    gather.caught_up().map_err(|e| SubmitError::Job(e.to_string()))
}

impl Gatherer for NoPieces {
    fn partial(&mut self, _: usize, _: &[u8]) -> Result<(), GatherError> {
        Ok(())
    }
    fn result(&mut self, _: usize, _: &[u8]) -> Result<(), GatherError> {
        Ok(())
    }
}
