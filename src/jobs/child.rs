//! Runs one job program to its end on a compute thread: its stdin fed from
//! the job's input, its stdout handed out in chunks, its stderr logged and
//! its tail kept, inside a time and a memory limit, and killed with every
//! process it started when the job is cancelled.
//!
//! The program gets its own session (so its own process group): one
//! `killpg` reaches its children too. Limits are rlimits set between fork
//! and exec (RLIMIT_AS for memory, RLIMIT_CPU as a backstop) plus a wall
//! clock this thread enforces.

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::resource::{setrlimit, Resource};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The bytes of stderr kept to explain a failure.
pub const STDERR_TAIL: usize = 2048;
/// The bytes of a program's stderr written to the worker's log, per run.
pub const STDERR_LOGGED: usize = 16 * 1024;
const READ_CHUNK: usize = 64 * 1024;
const POLL_EVERY: Duration = Duration::from_millis(20);
/// The first wait for an exit once nothing is left to read.
const IDLE_FIRST: Duration = Duration::from_micros(50);

#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub time: Duration,
    /// Address space, bytes.
    pub memory: u64,
}

/// How a program ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    Exited(i32),
    Signaled(i32),
    TimedOut,
    Cancelled,
}

#[derive(Clone, Debug)]
pub struct Outcome {
    pub ending: Ending,
    pub stderr_tail: String,
    pub elapsed: Duration,
}

/// The next input for the program's stdin.
pub enum NextInput {
    Data(Vec<u8>),
    /// The input has ended: the program sees EOF.
    End,
    /// Nothing now; ask again.
    Wait,
}

/// The program's side of the job: where its stdin comes from and its
/// stdout goes, with back-pressure (while `stdout_full`, stdout is not
/// read and the program blocks on its writes).
pub trait ProgramIo {
    fn next_input(&mut self) -> NextInput;
    fn stdout(&mut self, data: Vec<u8>);
    fn stdout_full(&self) -> bool;
}

/// Starts `path` with exactly `env`, in its own session, under `limits`.
pub fn spawn(path: &Path, env: &[(String, String)], limits: Limits, has_input: bool) -> io::Result<Child> {
    let mut cmd = Command::new(path);
    cmd.env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir("/")
        .stdin(if has_input { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // rlim_t is 32 bits on armhf: a limit past it means no limit there.
    let memory = nix::libc::rlim_t::try_from(limits.memory).unwrap_or(nix::libc::rlim_t::MAX);
    let cpu = nix::libc::rlim_t::try_from(limits.time.as_secs() + 1).unwrap_or(nix::libc::rlim_t::MAX - 1);
    // SAFETY: between fork and exec only async-signal-safe system calls
    // (setsid, setrlimit) run; nothing allocates.
    unsafe {
        cmd.pre_exec(move || {
            nix::unistd::setsid().map_err(io::Error::from)?;
            setrlimit(Resource::RLIMIT_AS, memory, memory).map_err(io::Error::from)?;
            setrlimit(Resource::RLIMIT_CPU, cpu, cpu + 1).map_err(io::Error::from)?;
            setrlimit(Resource::RLIMIT_CORE, 0, 0).map_err(io::Error::from)?;
            Ok(())
        });
    }
    cmd.spawn()
}

/// Drives a started program to its end. `name` is for the log. Should
/// driving fail (a pipe error), the program's group is killed and reaped
/// before the error is returned: nothing is left running unwatched.
pub fn drive(
    mut child: Child,
    name: &str,
    io: &mut dyn ProgramIo,
    limits: Limits,
    cancel: &AtomicBool,
) -> io::Result<Outcome> {
    let group = Pid::from_raw(child.id() as i32);
    let result = drive_to_end(&mut child, name, io, limits, cancel);
    if result.is_err() {
        let _ = killpg(group, Signal::SIGKILL);
        let _ = child.wait();
    }
    result
}

fn drive_to_end(
    child: &mut Child,
    name: &str,
    io: &mut dyn ProgramIo,
    limits: Limits,
    cancel: &AtomicBool,
) -> io::Result<Outcome> {
    let started = Instant::now();
    let group = Pid::from_raw(child.id() as i32);
    let mut stdin = child.stdin.take();
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    for fd in
        [stdin.as_ref().map(|s| s.as_fd()), stdout.as_ref().map(|s| s.as_fd()), stderr.as_ref().map(|s| s.as_fd())]
            .into_iter()
            .flatten()
    {
        set_nonblocking(fd)?;
    }
    let mut pending: Vec<u8> = Vec::new();
    let mut input_done = stdin.is_none();
    let mut err = StderrKeeper::new(name);
    let mut buf = vec![0u8; READ_CHUNK];
    let mut ending: Option<Ending> = None;
    let mut exited: Option<std::process::ExitStatus> = None;
    let mut idle = IDLE_FIRST;
    loop {
        if ending.is_none() {
            if cancel.load(Ordering::Relaxed) {
                ending = Some(Ending::Cancelled);
            } else if started.elapsed() > limits.time {
                ending = Some(Ending::TimedOut);
            }
            if ending.is_some() {
                let _ = killpg(group, Signal::SIGKILL);
                stdin = None;
            }
        }
        // Input: refill from the job, then write what the pipe takes.
        if !input_done && pending.is_empty() {
            match io.next_input() {
                NextInput::Data(data) => pending = data,
                NextInput::End => input_done = true,
                NextInput::Wait => {}
            }
        }
        if input_done && pending.is_empty() {
            stdin = None; // EOF for the program
        }
        if let Some(pipe) = stdin.as_mut() {
            if !pending.is_empty() {
                match write_some(pipe, &pending) {
                    Ok(n) => {
                        pending.drain(..n);
                    }
                    // The program closed its stdin: the rest is not wanted.
                    Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                        stdin = None;
                        input_done = true;
                        pending.clear();
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        let read_stdout = stdout.is_some() && !io.stdout_full();
        let mut fds = Vec::with_capacity(3);
        if let (true, Some(s)) = (read_stdout, stdout.as_ref()) {
            fds.push(PollFd::new(s.as_fd(), PollFlags::POLLIN));
        }
        if let Some(s) = stderr.as_ref() {
            fds.push(PollFd::new(s.as_fd(), PollFlags::POLLIN));
        }
        if let (Some(s), false) = (stdin.as_ref(), pending.is_empty()) {
            fds.push(PollFd::new(s.as_fd(), PollFlags::POLLOUT));
        }
        if !fds.is_empty() {
            match poll(&mut fds, PollTimeout::from(POLL_EVERY.as_millis() as u16)) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => return Err(io::Error::from(e)),
            }
        } else {
            // No pipe to wait on (closed, or stdout held back): the exit
            // usually follows the pipes' EOF within microseconds, so look
            // again soon, then less often.
            std::thread::sleep(idle);
            idle = (idle * 2).min(POLL_EVERY);
        }
        drop(fds);
        if read_stdout {
            if let Some(pipe) = stdout.as_mut() {
                match read_some(pipe, &mut buf) {
                    Ok(Some(0)) => stdout = None,
                    Ok(Some(n)) => {
                        io.stdout(buf[..n].to_vec());
                        idle = IDLE_FIRST;
                    }
                    Ok(None) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        if let Some(pipe) = stderr.as_mut() {
            match read_some(pipe, &mut buf) {
                Ok(Some(0)) => stderr = None,
                Ok(Some(n)) => err.take(&buf[..n]),
                Ok(None) => {}
                Err(e) => return Err(e),
            }
        }
        if exited.is_none() {
            exited = child.try_wait()?;
            if exited.is_some() {
                // The program is done: whatever it started goes with it,
                // so nothing it forked outlives the piece.
                let _ = killpg(group, Signal::SIGKILL);
            }
        }
        if exited.is_some() && stdout.is_none() && stderr.is_none() {
            break;
        }
        // Once killed, pipes still held open by a stray reader must not
        // keep the piece alive: the group is dead, so stop at the exit.
        if ending.is_some() && exited.is_some() {
            break;
        }
    }
    let status = match exited {
        Some(s) => s,
        None => child.wait()?,
    };
    err.flush();
    let ending = ending.unwrap_or_else(|| match (status.code(), status.signal()) {
        (Some(code), _) => Ending::Exited(code),
        (None, Some(sig)) => Ending::Signaled(sig),
        _ => Ending::Exited(-1),
    });
    Ok(Outcome { ending, stderr_tail: err.tail(), elapsed: started.elapsed() })
}

fn set_nonblocking(fd: std::os::fd::BorrowedFd) -> io::Result<()> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    use std::os::fd::AsRawFd;
    let flags = OFlag::from_bits_truncate(fcntl(fd.as_raw_fd(), FcntlArg::F_GETFL).map_err(io::Error::from)?);
    fcntl(fd.as_raw_fd(), FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK)).map_err(io::Error::from)?;
    Ok(())
}

/// Some bytes read, Some(0) at EOF, None when nothing is there now.
fn read_some(pipe: &mut impl Read, buf: &mut [u8]) -> io::Result<Option<usize>> {
    match pipe.read(buf) {
        Ok(n) => Ok(Some(n)),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::Interrupted => Ok(None),
        Err(e) => Err(e),
    }
}

fn write_some(pipe: &mut ChildStdin, data: &[u8]) -> io::Result<usize> {
    match pipe.write(data) {
        Ok(n) => Ok(n),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::Interrupted => Ok(0),
        Err(e) => Err(e),
    }
}

/// Logs stderr line by line up to a cap, and keeps its last bytes.
struct StderrKeeper {
    name: String,
    line: Vec<u8>,
    logged: usize,
    tail: Vec<u8>,
}

impl StderrKeeper {
    fn new(name: &str) -> StderrKeeper {
        StderrKeeper { name: name.to_string(), line: Vec::new(), logged: 0, tail: Vec::new() }
    }

    fn take(&mut self, data: &[u8]) {
        self.tail.extend_from_slice(data);
        if self.tail.len() > 2 * STDERR_TAIL {
            self.tail.drain(..self.tail.len() - STDERR_TAIL);
        }
        for &b in data {
            if b == b'\n' {
                self.log_line();
            } else if self.line.len() < 1024 {
                self.line.push(b);
            }
        }
    }

    fn log_line(&mut self) {
        if self.logged < STDERR_LOGGED {
            self.logged += self.line.len() + 1;
            log::info!("job {}: {}", self.name, String::from_utf8_lossy(&self.line));
            if self.logged >= STDERR_LOGGED {
                log::info!("job {}: more stderr not logged (its tail goes to the client on failure)", self.name);
            }
        }
        self.line.clear();
    }

    fn flush(&mut self) {
        if !self.line.is_empty() {
            self.log_line();
        }
    }

    fn tail(&self) -> String {
        let start = self.tail.len().saturating_sub(STDERR_TAIL);
        String::from_utf8_lossy(&self.tail[start..]).trim_end().to_string()
    }
}
