//! One client connection of the worker: its framed socket, where it is in
//! the handshake, and the jobs it has running.
//!
//! This module owns what frames mean on the worker side. It must not touch
//! the poll registry or other connections (that is `server`'s), and it
//! never blocks: compute goes to the pool, results come back through
//! `task_done`.

use super::config::Limits;
use super::pool::{JobFlags, JobKey, Pool, ThreadCap};
use super::refusals::{Refusal, Refusals};
use crate::jobs::exec::ExecEnv;
use crate::jobs::life_peers::PeerHub;
use crate::jobs::memory::MemoryBudget;
use crate::jobs::{self, JobError, PartialSink, RunningJob, TaskOutput, WorkerContext};
use crate::net::{FramedConn, InputBuf, Io};
use crate::protocol::auth::{self, NONCE_LEN};
use crate::protocol::frame::human_bytes;
use crate::protocol::frame::{PROTOCOL_MAJOR, PROTOCOL_MINOR};
use crate::protocol::message::Challenge;
use crate::protocol::message::{version_refusal, SUBMIT_PACKED_STDOUT};
use crate::protocol::versions;
use crate::protocol::{ErrorCode, ErrorMessage, FrameError, FrameRef, FrameType, Hello, SubmitRef, Welcome};
use log::{debug, warn};
use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::net::{Shutdown, SocketAddr};
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Stop reading from a client while this much output waits for it, so a
/// client that sends but never reads cannot grow our memory without bound.
const OUTPUT_HIGH_WATER: usize = 4 * 1024 * 1024;
/// After a fatal error, how long we keep reading (and discarding) so the
/// client can read our error frame before the socket is torn down.
const LINGER: Duration = Duration::from_secs(2);
/// Ids of failed jobs remembered so that their in-flight input is dropped
/// quietly rather than answered with one error per frame.
const MAX_DEAD_JOBS: usize = 4096;
/// The largest frame accepted before the handshake is done: Hello and
/// Auth are far smaller, and a connection anybody can open must not make
/// the worker buffer a large frame.
pub const HANDSHAKE_MAX_FRAME: u32 = 4096;
/// A connection quiet this long gives its buffers back.
const IDLE_RELEASE: Duration = Duration::from_secs(1);

/// What the server needs to lend a connection while it handles frames.
pub struct Env<'a> {
    pub pool: &'a Pool,
    /// The Welcome to send, less the per-connection key challenge.
    pub welcome: &'a Welcome,
    pub key: usize,
    pub draining: bool,
    pub limits: &'a Limits,
    pub cluster_key: Option<&'a [u8]>,
    /// Builds the payload of a Status answer, now.
    pub status: &'a dyn Fn() -> Vec<u8>,
    /// Job programs, their limits, and the loop's waker.
    pub exec: &'a Arc<ExecEnv>,
    /// Set (to `--max-connections`) while finished connections are at
    /// their cap: a handshake that would finish is refused with `Busy`.
    pub connections_full: Option<usize>,
    /// What jobs may allocate; each job holds its share until it is dropped.
    pub memory: &'a Rc<MemoryBudget>,
    /// Life strips and the border feeds their neighbours send them.
    pub peers: &'a Rc<PeerHub>,
}

/// Where a connection is in its handshake.
enum Stage {
    AwaitHello,
    /// Welcome sent with a key challenge; waiting for the client's proof.
    AwaitAuth {
        client_nonce: [u8; NONCE_LEN],
        worker_nonce: [u8; NONCE_LEN],
    },
    Ready,
}

struct JobSlot {
    job: Box<dyn RunningJob>,
    /// What the job's queued and running tasks share, made when it first
    /// hands the pool tasks: a job that never does (echo, reduce) needs
    /// none, and so costs one allocation less.
    flags: Option<Arc<JobFlags>>,
    tasks_left: usize,
    input_open: bool,
    started: Instant,
    kind: u8,
    input_bytes: u64,
}

impl JobSlot {
    /// Tells the job's tasks to stop.
    fn cancel(&self) {
        if let Some(flags) = &self.flags {
            flags.cancel.store(true, Ordering::Relaxed);
        }
    }

    /// The flags for the job's tasks, made on first use.
    fn task_flags(&mut self, cap: &Option<Arc<ThreadCap>>, holding: bool) -> &Arc<JobFlags> {
        self.flags.get_or_insert_with(|| {
            let flags = JobFlags { cap: cap.clone(), ..JobFlags::default() };
            flags.hold.store(holding, Ordering::Relaxed);
            Arc::new(flags)
        })
    }
}

/// Jobs across every connection of the worker.
#[derive(Default)]
pub struct JobCounters {
    /// Accepted and not yet finished.
    pub running: Cell<usize>,
    /// Finished (done, failed or cancelled) since the daemon started.
    pub served: Cell<u64>,
    /// Running jobs that stream output of their own (job programs): while
    /// there are none, the loop does not look for any.
    pub streaming: Cell<usize>,
    /// Why peers were turned away, for `--metrics`; shared here because
    /// every connection and the accept path already share these counters.
    pub refusals: Refusals,
}

impl JobCounters {
    fn finished(&self, n: usize) {
        self.running.set(self.running.get().saturating_sub(n));
        self.served.set(self.served.get() + n as u64);
    }
}

pub struct Connection {
    pub framed: FramedConn,
    pub peer: SocketAddr,
    pub serial: u64,
    stage: Stage,
    jobs: HashMap<u32, JobSlot>,
    /// The worker-wide counts, shared so that every removal can update them.
    counters: Rc<JobCounters>,
    /// Stopped reading because this connection or the worker has as many
    /// jobs as allowed; resumed when one finishes.
    pub job_paused: bool,
    /// This connection's jobs are held (its client is not reading).
    holding: bool,
    opened: Instant,
    last_frame: Instant,
    /// When the frame now arriving started to arrive, and its length.
    partial_since: Option<Instant>,
    dead_jobs: HashSet<u32>,
    /// We stopped reading before WouldBlock (output backlog): readiness is
    /// edge-triggered, so the server must call `pump` again itself.
    pub read_paused: bool,
    /// Set when the connection is to end: the instant it must be gone by.
    closing: Option<Instant>,
    write_shut: bool,
    peer_gone: bool,
    /// The client's limit on threads for its jobs (Hello's max_threads).
    thread_cap: Option<Arc<ThreadCap>>,
    /// The minor the client's Hello announced: what its jobs may send it.
    client_minor: u8,
    /// The handshake finished and the server has not been told yet.
    newly_finished: bool,
}

impl Connection {
    pub fn new(framed: FramedConn, peer: SocketAddr, serial: u64, counters: Rc<JobCounters>) -> Connection {
        let now = Instant::now();
        Connection {
            framed,
            peer,
            serial,
            stage: Stage::AwaitHello,
            jobs: HashMap::new(),
            counters,
            job_paused: false,
            holding: false,
            opened: now,
            last_frame: now,
            partial_since: None,
            dead_jobs: HashSet::new(),
            read_paused: false,
            closing: None,
            write_shut: false,
            peer_gone: false,
            thread_cap: None,
            client_minor: 0,
            newly_finished: false,
        }
    }

    /// Whether the handshake (Hello, and the key when one is set) is done.
    pub fn handshake_done(&self) -> bool {
        matches!(self.stage, Stage::Ready)
    }

    /// Whether the handshake finished since the last call: the moment the
    /// server moves this connection to the finished class, once.
    pub fn take_newly_finished(&mut self) -> bool {
        std::mem::take(&mut self.newly_finished)
    }

    /// Finished connections are at `--max-connections`: this one may not
    /// join them now (the server logs it, rate-limited).
    fn refuse_busy(&mut self, max: usize) {
        // Debug, not warn: the accept path already logs the cap, rate-limited.
        debug!("{}: --max-connections {max} reached at its handshake; refused", self.peer);
        self.counters.refusals.note(Refusal::ConnectionsFull);
        self.send_error(0, ErrorCode::Busy, at_limit_message(max));
        self.cancel_all("connection limit");
        self.closing = Some(Instant::now() + LINGER);
        self.framed.discard_input();
    }

    pub fn running_jobs(&self) -> usize {
        self.jobs.len()
    }

    /// Reads and handles frames until the socket would block, the peer has
    /// gone, or our output backlog says to wait.
    pub fn pump(&mut self, env: &Env) {
        // Frames left unhandled by a job-limit pause come first.
        if self.closing.is_none() && self.framed.buffered_input() > 0 {
            self.handle_buffered_frames(env);
        }
        loop {
            if self.job_paused && self.closing.is_none() {
                return; // read nothing more until a job slot frees
            }
            if self.closing.is_none() && self.framed.pending_output() > OUTPUT_HIGH_WATER {
                self.read_paused = true;
                return;
            }
            self.read_paused = false;
            match self.framed.read_some() {
                Ok(Io::Progress(_)) => {
                    if self.closing.is_some() {
                        self.framed.discard_input();
                    } else {
                        self.handle_buffered_frames(env);
                        // Answer before the next read (which is often the
                        // EAGAIN one): replies leave one syscall sooner.
                        // A failure here shows again in `flush`.
                        if self.framed.pending_output() > 0 {
                            let _ = self.framed.write_some();
                        }
                    }
                }
                Ok(Io::WouldBlock) => return,
                Ok(Io::Closed) => {
                    self.on_peer_closed();
                    return;
                }
                Err(e) => {
                    warn!("{}: read failed: {e}", self.peer);
                    self.peer_gone = true;
                    self.cancel_all("read error");
                    return;
                }
            }
        }
    }

    fn handle_buffered_frames(&mut self, env: &Env) {
        let now = Instant::now();
        // The received bytes are moved out while their frames are handled,
        // so that each payload is read where it arrived (no copy and no
        // allocation per frame) while the handlers use this connection
        // mutably. Nothing reads the socket until they are back.
        let mut input = self.framed.take_input();
        let progressed = self.handle_frames_in(&mut input, env);
        self.framed.restore_input(input);
        if self.closing.is_some() {
            // A fatal error: what followed the bad frame is not read.
            self.framed.discard_input();
            return;
        }
        // The slow-sender clock runs per frame: it restarts whenever a
        // frame completes, and stops when nothing is half-received.
        if self.framed.buffered_input() == 0 {
            self.partial_since = None;
        } else if progressed || self.partial_since.is_none() {
            self.partial_since = Some(now);
        }
        if progressed {
            self.last_frame = now;
        }
    }

    /// Handles the whole frames in `input` until it has none, the job limit
    /// holds a Submit back, or the connection fails. Says whether any
    /// frame was handled.
    fn handle_frames_in(&mut self, input: &mut InputBuf, env: &Env) -> bool {
        let mut progressed = false;
        while self.closing.is_none() {
            // Back-pressure on jobs: leave a Submit unread (and stop reading
            // the socket) while this connection or the worker is full.
            if input.peek_type() == Some(FrameType::Submit) && self.at_job_limit(env.limits) {
                if !self.job_paused {
                    warn!(
                        "{}: job limit reached ({} here, {} in all); not reading until a job finishes",
                        self.peer,
                        self.jobs.len(),
                        self.counters.running.get()
                    );
                }
                self.job_paused = true;
                break;
            }
            match input.next_frame() {
                Ok(Some(frame)) => {
                    progressed = true;
                    let was_done = self.handshake_done();
                    self.handle_frame(frame, env);
                    if !was_done && self.handshake_done() {
                        // Frames after the handshake may be as large as the
                        // Welcome says; before, only small ones (`HANDSHAKE_MAX_FRAME`).
                        input.set_max_payload(env.welcome.max_frame);
                        self.newly_finished = true;
                    }
                }
                Ok(None) => break,
                Err(FrameError::VersionMismatch(theirs)) => {
                    let msg = version_refusal(PROTOCOL_MAJOR, PROTOCOL_MINOR, theirs, 0);
                    self.fail_connection(ErrorCode::VersionMismatch, msg);
                }
                Err(e) => self.fail_connection(ErrorCode::BadFrame, e.to_string()),
            }
        }
        progressed
    }

    fn at_job_limit(&self, limits: &Limits) -> bool {
        self.jobs.len() >= limits.max_jobs_per_connection || self.counters.running.get() >= limits.max_jobs
    }

    /// Whether a job-limit pause can end (the server then calls `pump`).
    pub fn can_resume(&self, limits: &Limits) -> bool {
        self.job_paused && !self.at_job_limit(limits)
    }

    /// Deadlines a connection can miss: the handshake, a frame arriving too
    /// slowly, and idleness. Returns what was missed, for the close.
    pub fn check_deadlines(&mut self, limits: &Limits, now: Instant) {
        if self.closing.is_some() {
            return;
        }
        if self.jobs.is_empty() && now.duration_since(self.last_frame) > IDLE_RELEASE {
            self.framed.release_idle_buffers();
        }
        let why = if !matches!(self.stage, Stage::Ready) && now.duration_since(self.opened) > limits.handshake_timeout {
            Some((ErrorCode::HandshakeRequired, format!("no handshake within {:?}", limits.handshake_timeout)))
        } else if let Some(since) = self.partial_since {
            let length = self.framed.peek_length().unwrap_or(0) as f64;
            let allowed = limits.frame_timeout + Duration::from_secs_f64(length / (1 << 20) as f64);
            (now.duration_since(since) > allowed).then(|| {
                let got = self.framed.buffered_input();
                (ErrorCode::BadFrame, format!("a frame arrived too slowly ({got} bytes in {:?}); closing", allowed))
            })
        } else if self.jobs.is_empty() && now.duration_since(self.last_frame) > limits.idle_timeout {
            Some((ErrorCode::BadFrame, format!("idle for {:?} with no job", limits.idle_timeout)))
        } else {
            None
        };
        if let Some((code, message)) = why {
            self.fail_connection(code, message);
        }
    }

    fn put_job(&mut self, id: u32, slot: JobSlot) {
        if slot.job.streams() {
            self.counters.streaming.set(self.counters.streaming.get() + 1);
        }
        self.jobs.insert(id, slot);
        self.counters.running.set(self.counters.running.get() + 1);
    }

    fn take_job(&mut self, id: u32) -> Option<JobSlot> {
        let slot = self.jobs.remove(&id)?;
        self.counters.finished(1);
        self.stream_ended(&slot);
        Some(slot)
    }

    fn stream_ended(&self, slot: &JobSlot) {
        if slot.job.streams() {
            self.counters.streaming.set(self.counters.streaming.get().saturating_sub(1));
        }
    }

    fn on_peer_closed(&mut self) {
        let unfinished = self.framed.buffered_input();
        if unfinished > 0 && self.closing.is_none() {
            // A half-shut peer can still read this; a fully closed one cannot,
            // and then the write fails quietly.
            self.send_error(
                0,
                ErrorCode::BadFrame,
                format!("connection closed in the middle of a frame ({unfinished} bytes of it arrived)"),
            );
        }
        if !self.jobs.is_empty() {
            debug!("{}: closed with {} jobs running; cancelling them", self.peer, self.jobs.len());
        }
        self.cancel_all("client disconnected");
        self.peer_gone = true;
    }

    pub fn handle_frame(&mut self, frame: FrameRef<'_>, env: &Env) {
        let job_id = frame.header.job_id;
        let frame_type = frame.header.frame_type;
        match self.stage {
            Stage::AwaitHello => {
                if frame_type == FrameType::Hello {
                    return self.on_hello(frame.payload, env);
                }
                let msg = format!("expected Hello as the first frame, got {frame_type:?}");
                return self.fail_connection(ErrorCode::HandshakeRequired, msg);
            }
            Stage::AwaitAuth { client_nonce, worker_nonce } => {
                let key = env.cluster_key.unwrap_or_default();
                if frame_type != FrameType::Auth {
                    let msg = format!("this worker requires the cluster key to be proven first (got {frame_type:?})");
                    return self.fail_connection(ErrorCode::AuthFailed, msg);
                }
                if !auth::check_client_proof(key, &client_nonce, &worker_nonce, frame.payload) {
                    return self.fail_connection(ErrorCode::AuthFailed, "wrong cluster key".into());
                }
                if let Some(max) = env.connections_full {
                    return self.refuse_busy(max);
                }
                debug!("{}: cluster key proven", self.peer);
                self.stage = Stage::Ready;
                return;
            }
            Stage::Ready => {}
        }
        match frame_type {
            FrameType::Ping => self.framed.queue(FrameType::Pong, job_id, frame.payload),
            // Answered here, on the loop, so it never waits behind compute.
            FrameType::StatusRequest => self.framed.queue(FrameType::Status, job_id, &(env.status)()),
            FrameType::Submit => self.on_submit(job_id, frame.payload, env),
            FrameType::Data => self.on_data(job_id, frame.payload, env),
            FrameType::EndInput => self.on_end_input(job_id),
            FrameType::Cancel => self.on_cancel(job_id),
            FrameType::Hello => {
                self.refuse(0, false, ErrorCode::HandshakeRequired, "a second Hello on one connection".into())
            }
            other => self.refuse(
                job_id,
                false,
                ErrorCode::UnknownFrameType,
                format!("frame type {:#04x} is not one a worker accepts", other.to_u8()),
            ),
        }
    }

    fn on_hello(&mut self, payload: &[u8], env: &Env) {
        let hello = match Hello::decode(payload) {
            Ok(h) => h,
            Err(e) => return self.fail_connection(ErrorCode::BadFrame, format!("malformed Hello: {e}")),
        };
        if hello.protocol_major != PROTOCOL_MAJOR {
            let msg = version_refusal(PROTOCOL_MAJOR, PROTOCOL_MINOR, hello.protocol_major, hello.protocol_minor);
            return self.fail_connection(ErrorCode::VersionMismatch, msg);
        }
        debug!(
            "{}: hello from pisubmit {} (protocol {}.{})",
            self.peer, hello.software, hello.protocol_major, hello.protocol_minor
        );
        self.client_minor = hello.protocol_minor;
        // Fewer threads than the worker has: a cap the pool enforces.
        self.thread_cap =
            hello.max_threads.map(usize::from).filter(|&t| t < env.pool.threads()).map(|t| Arc::new(ThreadCap::new(t)));
        let mut welcome = env.welcome.clone();
        if let Some(key) = env.cluster_key {
            let Some(client_nonce) = hello.nonce else {
                let msg = "this worker requires the cluster key; the client sent no nonce (pisubmit --key FILE)";
                return self.fail_connection(ErrorCode::AuthFailed, msg.into());
            };
            let worker_nonce = match auth::nonce() {
                Ok(n) => n,
                Err(e) => return self.fail_connection(ErrorCode::AuthFailed, format!("no random nonce: {e}")),
            };
            let proof = auth::worker_proof(key, &client_nonce, &worker_nonce);
            welcome.challenge = Challenge::Key { nonce: worker_nonce, proof };
            self.stage = Stage::AwaitAuth { client_nonce, worker_nonce };
        } else if let Some(max) = env.connections_full {
            return self.refuse_busy(max);
        } else {
            self.stage = Stage::Ready;
        }
        self.framed.queue_frame(&welcome.encode());
    }

    fn on_submit(&mut self, job_id: u32, payload: &[u8], env: &Env) {
        let submit = match SubmitRef::decode(payload) {
            Ok(s) => s,
            Err(e) => return self.refuse(job_id, false, ErrorCode::BadParams, format!("malformed Submit: {e}")),
        };
        let input = submit.has_input();
        if job_id == 0 {
            // 0 is the connection's own id (its Errors carry it): a job with
            // it could not be told apart from them.
            let msg = "job id 0 is reserved for the connection; number jobs from 1".to_string();
            return self.refuse(job_id, input, ErrorCode::BadParams, msg);
        }
        if env.draining {
            let msg = "worker is shutting down; not taking new jobs".to_string();
            return self.refuse(job_id, input, ErrorCode::ShuttingDown, msg);
        }
        if self.jobs.contains_key(&job_id) {
            let msg = format!("job id {job_id} is already running on this connection");
            return self.refuse(job_id, input, ErrorCode::DuplicateJob, msg);
        }
        let threads = self.thread_cap.as_ref().map_or(env.pool.threads(), |c| c.max);
        let (exec, memory) = (Some(Arc::clone(env.exec)), Rc::clone(env.memory));
        let peers = Rc::clone(env.peers);
        let packed_stdout = submit.flags & SUBMIT_PACKED_STDOUT != 0
            && versions::understands(self.client_minor, versions::PACKED_STDOUT_SINCE);
        let ctx = WorkerContext { threads, exec, memory, client_minor: self.client_minor, peers, packed_stdout };
        let mut job = match jobs::start(submit.kind, submit.params, submit.has_input(), ctx) {
            Ok(job) => job,
            Err(e) => return self.refuse(job_id, input, e.code, e.message),
        };
        self.dead_jobs.remove(&job_id);
        let tasks = job.take_tasks();
        debug!("{}: job {job_id} ({}) started, {} tasks", self.peer, kind_name(submit.kind), tasks.len());
        let mut slot = JobSlot {
            job,
            flags: None,
            tasks_left: tasks.len(),
            input_open: submit.has_input(),
            started: Instant::now(),
            kind: submit.kind,
            input_bytes: 0,
        };
        if !tasks.is_empty() {
            let flags = slot.task_flags(&self.thread_cap, self.holding);
            env.pool.submit(JobKey { conn: env.key, serial: self.serial, job_id }, flags, tasks);
        }
        self.put_job(job_id, slot);
        self.finish_if_done(job_id);
    }

    fn on_data(&mut self, job_id: u32, payload: &[u8], env: &Env) {
        let Some(slot) = self.jobs.get_mut(&job_id).filter(|s| s.input_open) else {
            return self.unknown_job(job_id, "Data");
        };
        slot.input_bytes += payload.len() as u64;
        if slot.input_bytes > env.limits.max_job_input {
            let msg = format!("job input exceeds --max-job-input ({})", human_bytes(env.limits.max_job_input));
            return self.job_error(job_id, JobError::failed(msg));
        }
        let mut sink = FrameSink { framed: &mut self.framed, job_id };
        if let Err(e) = slot.job.input(payload, &mut sink) {
            return self.job_error(job_id, e);
        }
        self.submit_new_tasks(job_id, env.pool, env.key);
    }

    fn on_end_input(&mut self, job_id: u32) {
        let Some(slot) = self.jobs.get_mut(&job_id).filter(|s| s.input_open) else {
            self.unknown_job(job_id, "EndInput");
            self.dead_jobs.remove(&job_id);
            return;
        };
        slot.input_open = false;
        let mut sink = FrameSink { framed: &mut self.framed, job_id };
        match slot.job.end_input(&mut sink) {
            Ok(()) => self.finish_if_done(job_id),
            Err(e) => self.job_error(job_id, e),
        }
    }

    fn on_cancel(&mut self, job_id: u32) {
        if let Some(slot) = self.take_job(job_id) {
            slot.cancel();
            debug!("{}: job {job_id} cancelled by the client", self.peer);
            self.send_error(job_id, ErrorCode::Cancelled, format!("job {job_id} cancelled"));
        }
        // Cancelling a job that already finished is a normal race: no reply.
        self.dead_jobs.remove(&job_id);
    }

    /// Hands the pool the tasks a job made after it started (a stateful job
    /// such as life makes one round of tasks per step its client asks for).
    fn submit_new_tasks(&mut self, job_id: u32, pool: &Pool, conn: usize) {
        let Some(slot) = self.jobs.get_mut(&job_id) else { return };
        let tasks = slot.job.more_tasks();
        if !tasks.is_empty() {
            slot.tasks_left += tasks.len();
            let flags = slot.task_flags(&self.thread_cap, self.holding);
            pool.submit(JobKey { conn, serial: self.serial, job_id }, flags, tasks);
        }
    }

    /// Whether any job of this connection streams output of its own.
    pub fn has_streams(&self) -> bool {
        self.jobs.values().any(|slot| slot.job.streams())
    }

    /// Hands on the output streaming jobs made since the last call; holds
    /// it back while the client is not reading (the job's tasks then
    /// stop too: see `exec`). A job may also have work that waited on
    /// something outside its connection (a life strip on its neighbours'
    /// rows): its tasks go to the pool. Says whether any output moved.
    pub fn poll_streams(&mut self, pool: &Pool, conn: usize) -> bool {
        if self.framed.pending_output() > OUTPUT_HIGH_WATER {
            return false;
        }
        let before = self.framed.pending_output();
        let ids: Vec<u32> = self.jobs.iter().filter(|(_, s)| s.job.streams()).map(|(&id, _)| id).collect();
        for job_id in ids {
            let Some(slot) = self.jobs.get_mut(&job_id) else { continue };
            let mut sink = FrameSink { framed: &mut self.framed, job_id };
            match slot.job.poll_output(&mut sink) {
                Ok(()) => self.submit_new_tasks(job_id, pool, conn),
                Err(e) => self.job_error(job_id, e),
            }
        }
        self.framed.pending_output() > before
    }

    /// A compute task of one of this connection's jobs has finished.
    pub fn task_done(&mut self, job_id: u32, output: Result<TaskOutput, String>, pool: &Pool, conn: usize) {
        let Some(slot) = self.jobs.get_mut(&job_id) else {
            return; // cancelled or failed meanwhile
        };
        slot.tasks_left = slot.tasks_left.saturating_sub(1);
        let result = match output {
            Ok(out) => {
                let mut sink = FrameSink { framed: &mut self.framed, job_id };
                slot.job.task_done(out, &mut sink)
            }
            Err(panic) => Err(JobError::failed(panic)),
        };
        // Hold at once, not only after the next write: the event loop may
        // take many finished tasks before it writes again.
        self.update_hold();
        match result {
            Ok(()) => {
                self.submit_new_tasks(job_id, pool, conn);
                self.finish_if_done(job_id)
            }
            Err(e) => self.job_error(job_id, e),
        }
    }

    /// Holds this connection's jobs while more than `OUTPUT_HIGH_WATER`
    /// waits for the client, and lets them go on once it has drained.
    fn update_hold(&mut self) {
        let congested = self.framed.pending_output() > OUTPUT_HIGH_WATER;
        if congested != self.holding {
            self.holding = congested;
            for slot in self.jobs.values() {
                if let Some(flags) = &slot.flags {
                    flags.hold.store(congested, Ordering::Relaxed);
                }
            }
            if congested {
                debug!("{}: not reading its results; holding its jobs", self.peer);
            }
        }
    }

    fn finish_if_done(&mut self, job_id: u32) {
        let done = self.jobs.get(&job_id).is_some_and(|s| s.tasks_left == 0 && !s.input_open);
        if !done {
            return;
        }
        let Some(slot) = self.take_job(job_id) else {
            return;
        };
        let (kind, started) = (slot.kind, slot.started);
        match slot.job.finish() {
            Ok(result) => {
                // The clock is read only if the line is logged.
                debug!("{}: job {job_id} ({}) done in {:?}", self.peer, kind_name(kind), started.elapsed());
                self.framed.queue(FrameType::Result, job_id, &result);
            }
            Err(e) => self.job_error(job_id, e),
        }
    }

    /// A job could not start or failed: tell the client, log it, free it.
    fn job_error(&mut self, job_id: u32, e: JobError) {
        if let Some(slot) = self.take_job(job_id) {
            slot.cancel();
            if slot.input_open {
                self.remember_dead(job_id);
            }
        }
        warn!("{}: job {job_id}: {}", self.peer, e.message);
        self.send_error(job_id, e.code, e.message);
    }

    /// A Submit that will not run: say why, and if input was to follow,
    /// drop that input quietly instead of answering every frame of it.
    fn refuse(&mut self, job_id: u32, input_follows: bool, code: ErrorCode, message: String) {
        if input_follows && !self.jobs.contains_key(&job_id) {
            self.remember_dead(job_id);
        }
        warn!("{}: job {job_id}: {message}", self.peer);
        self.counters.refusals.note(Refusal::JobRefused);
        self.send_error(job_id, code, message);
    }

    fn remember_dead(&mut self, job_id: u32) {
        if self.dead_jobs.len() >= MAX_DEAD_JOBS {
            self.dead_jobs.clear();
        }
        self.dead_jobs.insert(job_id);
    }

    fn unknown_job(&mut self, job_id: u32, what: &str) {
        if self.dead_jobs.contains(&job_id) {
            return;
        }
        warn!("{}: {what} for job {job_id}, which is not running", self.peer);
        self.send_error(job_id, ErrorCode::UnknownJob, format!("{what} for job {job_id}, which is not running"));
    }

    fn send_error(&mut self, job_id: u32, code: ErrorCode, message: String) {
        self.framed.queue_frame(&ErrorMessage::new(code, message).encode(job_id));
    }

    /// The byte stream cannot be trusted any more: say why, then close.
    fn fail_connection(&mut self, code: ErrorCode, message: String) {
        warn!("{}: {message}; closing the connection", self.peer);
        self.counters.refusals.note(match code {
            ErrorCode::AuthFailed => Refusal::BadKey,
            ErrorCode::VersionMismatch => Refusal::VersionMismatch,
            ErrorCode::HandshakeRequired => Refusal::NoHandshake,
            _ => Refusal::BadFrame,
        });
        self.send_error(0, code, message);
        self.cancel_all("protocol error");
        self.closing = Some(Instant::now() + LINGER);
        self.framed.discard_input();
    }

    /// Cancels every job of this connection (disconnect, shutdown).
    pub fn cancel_all(&mut self, why: &str) {
        self.counters.finished(self.jobs.len());
        for (id, slot) in std::mem::take(&mut self.jobs) {
            slot.cancel();
            self.stream_ended(&slot);
            debug!("{}: job {id} cancelled: {why}", self.peer);
        }
    }

    /// Shutdown deadline passed: cancel running jobs, telling the client.
    pub fn abort_jobs_for_shutdown(&mut self) {
        let ids: Vec<u32> = self.jobs.keys().copied().collect();
        for id in ids {
            if let Some(slot) = self.take_job(id) {
                slot.cancel();
            }
            self.send_error(id, ErrorCode::ShuttingDown, format!("job {id} cancelled: worker is shutting down"));
        }
    }

    /// Sends queued output; returns false when the connection is finished
    /// and should be dropped.
    pub fn flush(&mut self) -> bool {
        if self.peer_gone {
            // Best effort: what the kernel takes now is all the peer gets.
            let _ = self.framed.write_some();
            return false;
        }
        match self.framed.write_some() {
            Ok(Io::Closed) => {
                self.cancel_all("client disconnected");
                return false;
            }
            Err(e) => {
                warn!("{}: write failed: {e}", self.peer);
                self.cancel_all("write error");
                return false;
            }
            Ok(_) => {}
        }
        self.update_hold();
        if let Some(deadline) = self.closing {
            if self.framed.pending_output() == 0 && !self.write_shut {
                // Half-close: the client reads our error, then sees EOF.
                let _ = self.framed.stream.shutdown(Shutdown::Write);
                self.write_shut = true;
            }
            return Instant::now() < deadline;
        }
        true
    }

    /// Starts a graceful close (used when the daemon stops).
    pub fn close_soon(&mut self) {
        if self.closing.is_none() {
            self.closing = Some(Instant::now() + LINGER);
        }
    }

    pub fn closing_deadline(&self) -> Option<Instant> {
        self.closing
    }

    pub fn wants_write(&self) -> bool {
        self.framed.pending_output() > 0
    }
}

struct FrameSink<'a> {
    framed: &'a mut FramedConn,
    job_id: u32,
}

impl PartialSink for FrameSink<'_> {
    fn partial(&mut self, payload: &[u8]) {
        self.framed.queue(FrameType::Partial, self.job_id, payload);
    }
}

/// What a client is told when finished connections are at their cap.
pub fn at_limit_message(max: usize) -> String {
    format!("worker is at its limit of {max} connections; try again later")
}

fn kind_name(kind: u8) -> &'static str {
    jobs::JobKind::from_u8(kind).map_or("unknown", |k| k.name())
}
