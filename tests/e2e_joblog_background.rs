//! The job log's writer thread is background work (SCHED_IDLE, so that it
//! never takes a CPU from the event loop or from a worker on the same
//! machine), and it still keeps the log up to date while every CPU is
//! busy: a farm fed a few hundred tasks, with stdin left open so that the
//! run does not end, must have logged every one of them while it runs.
//! A writer starved for good would leave them in memory until the end:
//! the second test stops it for good (ptrace), and the event loop must
//! write the lines itself.

mod common;

use common::{finish, spawn_pisubmit_fed, temp_dir, Worker};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TASKS: usize = 300;

/// A thread of a process, from /proc/PID/task/TID/stat.
struct Thread {
    tid: i32,
    name: String,
    /// Field 41: 0 is SCHED_OTHER, 5 SCHED_IDLE.
    policy: u32,
    /// Field 3: 't' while stopped by a tracer.
    state: String,
}

/// The threads of `pid`.
fn threads(pid: u32) -> Vec<Thread> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return Vec::new() };
    let mut threads = Vec::new();
    for task in tasks.flatten() {
        let Some(tid) = task.file_name().to_str().and_then(|t| t.parse().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else { continue };
        // The name is in parentheses and may hold spaces: fields are
        // counted after its closing one, which ends field 2.
        let Some((head, rest)) = stat.rsplit_once(')') else { continue };
        let name = head.split_once('(').map_or("", |(_, n)| n).to_string();
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let (Some(state), Some(policy)) = (fields.first(), fields.get(41 - 3).and_then(|p| p.parse().ok())) else {
            continue;
        };
        threads.push(Thread { tid, name, policy, state: state.to_string() });
    }
    threads
}

/// `pid`'s thread called `name`, if it has one.
fn thread(pid: u32, name: &str) -> Option<Thread> {
    threads(pid).into_iter().find(|t| t.name == name)
}

/// The scheduling policy of `pid`'s thread called `name`, if it has one.
fn policy_of(pid: u32, name: &str) -> Option<u32> {
    thread(pid, name).map(|t| t.policy)
}

/// One thread of another process held stopped (ptrace: only that thread
/// stops, the rest of the process runs on) until dropped.
struct Stopped {
    tid: i32,
}

impl Stopped {
    fn thread(tid: i32) -> Stopped {
        use nix::libc::{ptrace, PTRACE_INTERRUPT, PTRACE_SEIZE};
        use nix::sys::wait::{waitpid, WaitPidFlag};
        let null = std::ptr::null_mut::<nix::libc::c_void>();
        // SAFETY: PTRACE_SEIZE and PTRACE_INTERRUPT take no memory from us
        // (addr and data are null); they act on thread `tid` only.
        let seized = unsafe { ptrace(PTRACE_SEIZE, tid, null, null) };
        assert_eq!(seized, 0, "ptrace(SEIZE) thread {tid}: {}", std::io::Error::last_os_error());
        // SAFETY: as above.
        let interrupted = unsafe { ptrace(PTRACE_INTERRUPT, tid, null, null) };
        assert_eq!(interrupted, 0, "ptrace(INTERRUPT) thread {tid}: {}", std::io::Error::last_os_error());
        waitpid(nix::unistd::Pid::from_raw(tid), Some(WaitPidFlag::__WALL)).expect("the thread stops");
        Stopped { tid }
    }

    /// Whether the thread is still in its ptrace stop.
    fn still(&self, pid: u32) -> bool {
        threads(pid).iter().any(|t| t.tid == self.tid && t.state == "t")
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        let null = std::ptr::null_mut::<nix::libc::c_void>();
        // SAFETY: detaching passes no memory (signal 0); the thread runs on.
        unsafe { nix::libc::ptrace(nix::libc::PTRACE_DETACH, self.tid, null, null) };
    }
}

/// Piece lines in a job log so far.
fn logged(path: &Path) -> usize {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines().filter(|l| l.starts_with(|c: char| c.is_ascii_digit())).count()
}

/// A thread per CPU spinning at normal priority until dropped.
struct Hogs {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Hogs {
    fn start() -> Hogs {
        let stop = Arc::new(AtomicBool::new(false));
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        let threads = (0..cpus)
            .map(|_| {
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || {
                    let mut x = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                    }
                })
            })
            .collect();
        Hogs { stop, threads }
    }
}

impl Drop for Hogs {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// A farm with a job log, fed through a pipe left open: its worker, the
/// pisubmit child and that pipe, and the log's path.
struct Farm {
    _worker: Worker,
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    log: PathBuf,
}

impl Farm {
    fn start(dir: &Path) -> Farm {
        let log = dir.join("farm.log");
        let _ = std::fs::remove_file(&log);
        let worker = Worker::start(&[]);
        let log_arg = log.display().to_string();
        let (child, stdin) = spawn_pisubmit_fed(&worker.addr(), &["--quiet", "--joblog", &log_arg, "farm", "spin"]);
        Farm { _worker: worker, child, stdin, log }
    }

    /// Writes `TASKS` tasks down the pipe, which stays open.
    fn feed(&mut self) {
        let tasks: String = (0..TASKS).map(|i| format!("1 task{i}\n")).collect();
        self.stdin.write_all(tasks.as_bytes()).expect("feed the farm");
        self.stdin.flush().expect("feed the farm");
    }
}

#[test]
fn the_writer_is_background_work_and_keeps_up_while_every_cpu_is_busy() {
    let dir = temp_dir("joblog-background");
    let mut farm = Farm::start(&dir);
    let hogs = Hogs::start();
    farm.feed();
    let Farm { mut child, stdin, log, _worker } = farm;

    // Every task logged while the run goes on (its stdin is still open):
    // the deadline only stops a test whose writer never runs.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut writer_policy = None;
    while logged(&log) < TASKS && Instant::now() < deadline {
        assert!(child.try_wait().expect("pisubmit").is_none(), "pisubmit ended with its stdin open");
        writer_policy = writer_policy.or_else(|| policy_of(child.id(), "joblog"));
        std::thread::sleep(Duration::from_millis(50));
    }
    let during = logged(&log);
    writer_policy = writer_policy.or_else(|| policy_of(child.id(), "joblog"));
    let main_policy = policy_of(child.id(), "pisubmit");
    drop(hogs);
    drop(stdin);
    let run = finish(child, Duration::from_secs(60));

    assert_eq!(run.code, 0, "pisubmit: {}", run.stderr);
    assert_eq!(during, TASKS, "only {during} of {TASKS} tasks were logged while every CPU was busy");
    assert_eq!(logged(&log), TASKS);
    assert_eq!(writer_policy, Some(5), "the joblog thread is not SCHED_IDLE (5)");
    assert_eq!(main_policy, Some(0), "the event loop's thread should stay SCHED_OTHER (0)");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_writer_that_never_runs_leaves_no_line_in_memory() {
    let dir = temp_dir("joblog-stopped-writer");
    let mut farm = Farm::start(&dir);
    let deadline = Instant::now() + Duration::from_secs(60);
    let tid = loop {
        if let Some(writer) = thread(farm.child.id(), "joblog") {
            break writer.tid;
        }
        assert!(Instant::now() < deadline, "pisubmit never started its joblog thread");
        std::thread::sleep(Duration::from_millis(5));
    };
    // Stopped while it has nothing to write (it holds no lock then).
    let writer = Stopped::thread(tid);
    farm.feed();
    let Farm { mut child, stdin, log, _worker } = farm;

    // Every task logged while the run goes on and its writer stays
    // stopped: the loop wrote them. The deadline only ends a test that
    // would otherwise wait for ever.
    while logged(&log) < TASKS && Instant::now() < deadline {
        assert!(child.try_wait().expect("pisubmit").is_none(), "pisubmit ended with its stdin open");
        std::thread::sleep(Duration::from_millis(20));
    }
    let during = logged(&log);
    let writer_stopped = writer.still(child.id());
    drop(writer);
    drop(stdin);
    let run = finish(child, Duration::from_secs(60));

    assert!(writer_stopped, "the joblog thread ran: the test tested nothing");
    assert_eq!(during, TASKS, "only {during} of {TASKS} tasks were logged while the writer thread was stopped");
    assert_eq!(run.code, 0, "pisubmit: {}", run.stderr);
    assert_eq!(logged(&log), TASKS);
    std::fs::remove_dir_all(&dir).unwrap();
}
