//! `exec`: runs one job program (an executable the worker's administrator
//! installed in a job directory) for one piece. The client names the
//! program by file name and gives the piece's numbers; it never chooses a
//! path, an argument or an environment variable.
//!
//! The program gets a clean environment: `PATH=/usr/local/bin:/usr/bin:/bin`
//! and `PIW_JOB` (its name), `PIW_PIECE`, `PIW_START`, `PIW_END` and
//! `PIW_THREADS` (1: each program holds one compute slot). Its stdin is the
//! piece's input stream (or empty), its stdout streams back as Partial
//! frames (packed by `exec_stdout` when the client asked), its stderr goes to the worker's log (capped) and its last bytes
//! come back with a failure. A non-zero exit, a signal, the time limit or
//! an input the program does not read fast enough fails the piece.
//!
//! Params: `name` string, `piece` u64, `start` i64, `end` i64, `timeout_ms`
//! u32 and `memory_mb` u32 (0: the worker's limit; more than the worker's
//! limit is lowered to it). Result: `stdout_bytes` u64, `millis` u32.

use super::child::{self, Ending, Limits, NextInput, ProgramIo};
use super::context::WorkerContext;
use super::error::JobError;
pub use super::exec_env::ExecEnv;
use super::exec_stdout;
use super::memory::{tasks_cost, Need, Reservation};
use super::running::{expect_output, PartialSink, RunningJob, Task, TaskOutput};
use crate::protocol::{WireReader, WireWrite};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender, TryRecvError};
use std::sync::Arc;
use std::time::Duration;

/// Stdout read but not yet handed to the connection: past this, the
/// program's stdout is not read (it blocks) until the client catches up.
const STDOUT_IN_FLIGHT: usize = 4 << 20;
/// Input queued for a program that is not reading it: past this the piece
/// fails, rather than the worker holding a fast client's data forever.
const INPUT_QUEUED: usize = 16 << 20;
pub const PATH: &str = "/usr/local/bin:/usr/bin:/bin";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Params {
    pub name: String,
    pub piece: u64,
    pub start: i64,
    pub end: i64,
    pub timeout_ms: u32,
    pub memory_mb: u32,
}

impl Params {
    pub fn encode(&self) -> Vec<u8> {
        let mut p = Vec::with_capacity(40 + self.name.len());
        p.put_string(&self.name);
        p.put_u64(self.piece);
        p.put_i64(self.start);
        p.put_i64(self.end);
        p.put_u32(self.timeout_ms);
        p.put_u32(self.memory_mb);
        p
    }

    pub fn decode(payload: &[u8]) -> Result<Params, JobError> {
        let mut r = WireReader::new(payload);
        let p = Params {
            name: r.string("exec.name")?,
            piece: r.u64("exec.piece")?,
            start: r.i64("exec.start")?,
            end: r.i64("exec.end")?,
            timeout_ms: r.u32("exec.timeout_ms")?,
            memory_mb: r.u32("exec.memory_mb")?,
        };
        r.finish("exec params")?;
        Ok(p)
    }
}

/// The task's end of the job: input from the connection, stdout to it.
struct TaskIo {
    input: Receiver<Option<Vec<u8>>>,
    /// Input bytes sent by the connection and not yet taken here.
    queued: Arc<AtomicUsize>,
    chunks: Sender<Chunk>,
    in_flight: Arc<AtomicUsize>,
    /// Pack each chunk (`exec_stdout`), here on the compute thread rather
    /// than on the worker's event loop.
    packed: bool,
    wake: Arc<dyn Fn() + Send + Sync>,
}

impl ProgramIo for TaskIo {
    fn next_input(&mut self) -> NextInput {
        match self.input.try_recv() {
            Ok(Some(data)) => {
                self.queued.fetch_sub(data.len(), Ordering::Relaxed);
                NextInput::Data(data)
            }
            Ok(None) | Err(TryRecvError::Disconnected) => NextInput::End,
            Err(TryRecvError::Empty) => NextInput::Wait,
        }
    }

    fn stdout(&mut self, data: Vec<u8>) {
        let stdout_len = data.len();
        self.in_flight.fetch_add(stdout_len, Ordering::Relaxed);
        let wire = if self.packed { exec_stdout::pack(&data) } else { data };
        let _ = self.chunks.send(Chunk { stdout_len, wire });
        (self.wake)();
    }

    fn stdout_full(&self) -> bool {
        self.in_flight.load(Ordering::Relaxed) > STDOUT_IN_FLIGHT
    }
}

/// A piece of stdout as it goes on the wire, and how many bytes of stdout
/// it carries (packed, the two differ).
struct Chunk {
    stdout_len: usize,
    wire: Vec<u8>,
}

struct Running {
    name: String,
    task: Option<Task>,
    input: Option<Sender<Option<Vec<u8>>>>,
    queued: Arc<AtomicUsize>,
    chunks: Receiver<Chunk>,
    in_flight: Arc<AtomicUsize>,
    stdout_bytes: u64,
    outcome: Option<Result<child::Outcome, String>>,
    limits: Limits,
    _memory: Reservation,
}

/// What an exec job holds in the worker (the program's own memory is its
/// RLIMIT_AS, not ours): stdout read ahead of the client and input queued
/// for the program, each up to its cap plus one chunk past it.
pub fn memory_need(name: &str) -> Need {
    let bytes = tasks_cost(1) + (STDOUT_IN_FLIGHT + INPUT_QUEUED) as u64 + 2 * (64 << 10);
    Need::new(format!("job program {name}"), bytes, "its stdout and stdin buffers")
}

pub(super) fn start(payload: &[u8], has_input: bool, ctx: WorkerContext) -> Result<Box<dyn RunningJob>, JobError> {
    let p = Params::decode(payload)?;
    let Some(env) = ctx.exec.clone() else {
        return Err(JobError::bad_params("this worker runs no job programs"));
    };
    // Refused at once, with a reason the client sees as BadParams.
    env.dirs.resolve(&p.name).map_err(JobError::bad_params)?;
    let _memory = ctx.memory.reserve(memory_need(&p.name))?;
    let limits = Limits {
        time: match p.timeout_ms {
            0 => env.max.time,
            ms => Duration::from_millis(ms.into()).min(env.max.time),
        },
        memory: match p.memory_mb {
            0 => env.max.memory,
            mb => (u64::from(mb) << 20).min(env.max.memory),
        },
    };
    let vars = vec![
        ("PATH".to_string(), PATH.to_string()),
        ("PIW_JOB".to_string(), p.name.clone()),
        ("PIW_PIECE".to_string(), p.piece.to_string()),
        ("PIW_START".to_string(), p.start.to_string()),
        ("PIW_END".to_string(), p.end.to_string()),
        ("PIW_THREADS".to_string(), "1".to_string()),
    ];
    let (input_tx, input_rx) = channel();
    let (chunks_tx, chunks) = channel();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let queued = Arc::new(AtomicUsize::new(0));
    let mut io = TaskIo {
        input: input_rx,
        queued: Arc::clone(&queued),
        chunks: chunks_tx,
        in_flight: Arc::clone(&in_flight),
        packed: ctx.packed_stdout,
        wake: Arc::clone(&env.wake),
    };
    let (dirs, name) = (env.dirs.clone(), p.name.clone());
    let task: Task = Box::new(move |cancel: &AtomicBool| {
        // Checked again at the start: the piece may have waited for a
        // thread while the file was changed.
        let outcome = dirs
            .resolve(&name)
            .and_then(|program| {
                let path = program.path;
                child::spawn(&path, &vars, limits, has_input)
                    .map_err(|e| format!("cannot start job program {name} ({}): {e}", path.display()))
            })
            .and_then(|started| {
                child::drive(started, &name, &mut io, limits, cancel).map_err(|e| format!("running {name}: {e}"))
            });
        Box::new(outcome) as TaskOutput
    });
    Ok(Box::new(Running {
        name: p.name,
        task: Some(task),
        input: has_input.then_some(input_tx),
        queued,
        chunks,
        in_flight,
        stdout_bytes: 0,
        outcome: None,
        limits,
        _memory,
    }))
}

impl Running {
    fn forward_stdout(&mut self, sink: &mut dyn PartialSink) {
        while let Ok(chunk) = self.chunks.try_recv() {
            self.in_flight.fetch_sub(chunk.stdout_len, Ordering::Relaxed);
            self.stdout_bytes += chunk.stdout_len as u64;
            sink.partial(&chunk.wire);
        }
    }
}

impl RunningJob for Running {
    fn take_tasks(&mut self) -> Vec<Task> {
        self.task.take().into_iter().collect()
    }

    fn input(&mut self, data: &[u8], _sink: &mut dyn PartialSink) -> Result<(), JobError> {
        let Some(tx) = self.input.as_ref() else {
            return Err(JobError::bad_params("this exec job has no input stream"));
        };
        let queued = self.queued.fetch_add(data.len(), Ordering::Relaxed) + data.len();
        if queued > INPUT_QUEUED && self.outcome.is_none() {
            return Err(JobError::failed(format!(
                "job program {} is not reading its input: {} MiB wait for it",
                self.name,
                queued >> 20
            )));
        }
        // A program that has finished (or closed its stdin) drops the rest.
        let _ = tx.send(Some(data.to_vec()));
        Ok(())
    }

    fn end_input(&mut self, _sink: &mut dyn PartialSink) -> Result<(), JobError> {
        if let Some(tx) = self.input.take() {
            let _ = tx.send(None);
        }
        Ok(())
    }

    fn streams(&self) -> bool {
        true
    }

    fn poll_output(&mut self, sink: &mut dyn PartialSink) -> Result<(), JobError> {
        self.forward_stdout(sink);
        Ok(())
    }

    fn task_done(&mut self, output: TaskOutput, sink: &mut dyn PartialSink) -> Result<(), JobError> {
        self.forward_stdout(sink);
        let outcome: Result<child::Outcome, String> = expect_output(output, "exec")?;
        self.outcome = Some(outcome);
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<Vec<u8>, JobError> {
        let name = &self.name;
        let outcome = match self.outcome {
            Some(Ok(o)) => o,
            Some(Err(e)) => return Err(JobError::failed(e)),
            None => return Err(JobError::failed(format!("job program {name} did not run"))),
        };
        let secs = outcome.elapsed.as_secs_f64();
        let tail = if outcome.stderr_tail.is_empty() {
            String::new()
        } else {
            format!("; its stderr ends:\n{}", outcome.stderr_tail)
        };
        let limits = format!("limits {} s, {} MiB", self.limits.time.as_secs_f64(), self.limits.memory >> 20);
        let why = match outcome.ending {
            Ending::Exited(0) => {
                let mut out = Vec::with_capacity(12);
                out.put_u64(self.stdout_bytes);
                out.put_u32(outcome.elapsed.as_millis().min(u128::from(u32::MAX)) as u32);
                return Ok(out);
            }
            Ending::Exited(code) => {
                format!("job program {name} exited with status {code} after {secs:.2} s ({limits})")
            }
            Ending::Signaled(sig) => format!(
                "job program {name} was killed by signal {sig} ({}) after {secs:.2} s ({limits})",
                signal_name(sig)
            ),
            Ending::TimedOut => {
                format!("job program {name} ran past its time limit; killed after {secs:.2} s ({limits})")
            }
            Ending::Cancelled => format!("job program {name} cancelled after {secs:.2} s"),
        };
        Err(JobError::failed(format!("{why}{tail}")))
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        9 => "SIGKILL",
        11 => "SIGSEGV: often the memory limit",
        6 => "SIGABRT: often an allocation that failed under the memory limit",
        24 => "SIGXCPU: the CPU-time limit",
        15 => "SIGTERM",
        _ => "a signal",
    }
}

/// The result: (stdout bytes, milliseconds the program ran).
pub fn decode_result(payload: &[u8]) -> Result<(u64, u32), JobError> {
    let mut r = WireReader::new(payload);
    let bytes = r.u64("exec.stdout_bytes")?;
    let millis = r.u32("exec.millis")?;
    r.skip_later_fields();
    Ok((bytes, millis))
}
