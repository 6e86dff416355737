//! The compute pool: one thread per allowed CPU, each pinned to its CPU,
//! taking tasks from one shared queue.
//!
//! The queue is fair between jobs: threads take one task from the job at
//! the front and move that job to the back, so a quick job submitted behind
//! a long one starts within one task's time instead of after it.
//!
//! The event loop hands in a job's tasks; each finished task goes back
//! through a channel, and the loop is woken with a mio `Waker`. Wakes merge,
//! so the loop drains the whole channel each time it is woken. A task whose
//! job was cancelled is dropped unrun, which is how a disconnect frees the
//! cores: running tasks notice the same flag within milliseconds.

use super::cpus::pin_current_thread;
use crate::jobs::{Task, TaskOutput};
use mio::Waker;
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;

/// Names the job a task belongs to. `serial` tells a connection apart from
/// a later one that reuses its slab slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct JobKey {
    pub conn: usize,
    pub serial: u64,
    pub job_id: u32,
}

/// A finished task, or the message of the panic that ended it. The event
/// loop hands its job's flags back to `Pool::delivered`.
pub struct TaskDone {
    pub key: JobKey,
    pub flags: Arc<JobFlags>,
    pub output: Result<TaskOutput, String>,
}

/// The tasks of one job still waiting for a thread.
/// What the event loop can tell a job's queued and running tasks: one
/// allocation per job, shared with every task.
#[derive(Default)]
pub struct JobFlags {
    /// Stop: the job was cancelled, failed, or its client left.
    pub cancel: AtomicBool,
    /// Wait: the job's client is not reading its results, so they must not
    /// pile up in memory.
    pub hold: AtomicBool,
    /// The connection's limit on threads in use at once, if it set one.
    pub cap: Option<Arc<ThreadCap>>,
    /// Finished tasks whose outputs the event loop has not taken yet. A job
    /// with `Shared::max_undelivered` of them waits: when its tasks finish
    /// faster than the loop can send their outputs (a prime list is 800 KB
    /// a task), the outputs would pile up in the channel before `hold` is
    /// ever set.
    pub undelivered: AtomicUsize,
}

/// At most `max` of a connection's tasks run at once (the client asked for
/// fewer threads: a host list's `/threads`, a scaling study's core count).
pub struct ThreadCap {
    pub max: usize,
    running: AtomicUsize,
}

impl ThreadCap {
    pub fn new(max: usize) -> ThreadCap {
        ThreadCap { max: max.max(1), running: AtomicUsize::new(0) }
    }

    fn full(&self) -> bool {
        self.running.load(Ordering::Relaxed) >= self.max
    }
}

struct QueuedJob {
    key: JobKey,
    flags: Arc<JobFlags>,
    tasks: VecDeque<Task>,
}

struct Shared {
    queue: Mutex<VecDeque<QueuedJob>>,
    ready: Condvar,
    stop: AtomicBool,
    /// Nanoseconds each thread has spent in tasks, for the status answer.
    busy_ns: Vec<AtomicU64>,
    /// Threads in a task right now.
    busy_now: AtomicUsize,
    /// Finished outputs a job may have waiting for the loop (see
    /// `JobFlags::undelivered`): two per thread keeps every thread busy.
    max_undelivered: usize,
}

/// What the status answer says about the pool.
pub struct PoolStats {
    pub tasks_queued: usize,
    pub threads_busy: usize,
    pub busy_ms: Vec<u64>,
}

/// How often idle compute threads look again at jobs held for a slow reader.
const HOLD_RECHECK: std::time::Duration = std::time::Duration::from_millis(20);

pub struct Pool {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl Pool {
    /// Starts one pinned thread per entry of `cpus`.
    pub fn start(cpus: &[usize], done: Sender<TaskDone>, waker: Arc<Waker>) -> std::io::Result<Pool> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(VecDeque::new()),
            ready: Condvar::new(),
            stop: AtomicBool::new(false),
            busy_ns: cpus.iter().map(|_| AtomicU64::new(0)).collect(),
            busy_now: AtomicUsize::new(0),
            max_undelivered: 2 * cpus.len().max(1),
        });
        let mut threads = Vec::with_capacity(cpus.len());
        for (index, &cpu) in cpus.iter().enumerate() {
            let (shared, done, waker) = (Arc::clone(&shared), done.clone(), Arc::clone(&waker));
            let handle = std::thread::Builder::new().name(format!("compute-{cpu}")).spawn(move || {
                pin_current_thread(cpu);
                compute_thread(&shared, index, &done, &waker);
            })?;
            threads.push(handle);
        }
        Ok(Pool { shared, threads })
    }

    pub fn threads(&self) -> usize {
        self.threads.len()
    }

    pub fn submit(&self, key: JobKey, flags: &Arc<JobFlags>, tasks: Vec<Task>) {
        let mut queue = self.shared.queue.lock().unwrap_or_else(PoisonError::into_inner);
        queue.push_back(QueuedJob { key, flags: Arc::clone(flags), tasks: tasks.into() });
        drop(queue);
        self.shared.ready.notify_all();
    }

    /// The event loop has taken a finished task's output: a job waiting on
    /// its undelivered outputs may go on, at once rather than at the next
    /// recheck.
    pub fn delivered(&self, flags: &JobFlags) {
        if flags.undelivered.fetch_sub(1, Ordering::AcqRel) >= self.shared.max_undelivered {
            let _queue = self.shared.queue.lock().unwrap_or_else(PoisonError::into_inner);
            self.shared.ready.notify_all();
        }
    }

    /// Queue length and per-thread busy time, for the status answer.
    pub fn stats(&self) -> PoolStats {
        let tasks_queued =
            self.shared.queue.lock().unwrap_or_else(PoisonError::into_inner).iter().map(|j| j.tasks.len()).sum();
        PoolStats {
            tasks_queued,
            threads_busy: self.shared.busy_now.load(Ordering::Relaxed),
            busy_ms: self.shared.busy_ns.iter().map(|ns| ns.load(Ordering::Relaxed) / 1_000_000).collect(),
        }
    }

    /// Stops the threads after their current task; queued tasks are dropped.
    pub fn shutdown(self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.queue.lock().unwrap_or_else(PoisonError::into_inner).clear();
        self.shared.ready.notify_all();
        for t in self.threads {
            let _ = t.join();
        }
    }
}

fn compute_thread(shared: &Shared, index: usize, done: &Sender<TaskDone>, waker: &Waker) {
    loop {
        let next = {
            let mut queue = shared.queue.lock().unwrap_or_else(PoisonError::into_inner);
            loop {
                if shared.stop.load(Ordering::SeqCst) {
                    return;
                }
                // The first job that is not held (held ones keep their place).
                let runnable = queue.iter().position(|j| {
                    let cancelled = j.flags.cancel.load(Ordering::Relaxed);
                    let held = j.flags.hold.load(Ordering::Relaxed)
                        || j.flags.cap.as_ref().is_some_and(|c| c.full())
                        || j.flags.undelivered.load(Ordering::Acquire) >= shared.max_undelivered;
                    cancelled || !held
                });
                if let Some(mut job) = runnable.and_then(|i| queue.remove(i)) {
                    let Some(task) = job.tasks.pop_front() else {
                        continue;
                    };
                    // Counted under the queue lock, so two threads cannot both
                    // take the last slot of a cap.
                    if let Some(cap) = &job.flags.cap {
                        cap.running.fetch_add(1, Ordering::Relaxed);
                    }
                    let picked = (job.key, Arc::clone(&job.flags), task);
                    if !job.tasks.is_empty() && !job.flags.cancel.load(Ordering::Relaxed) {
                        queue.push_back(job);
                    }
                    break picked;
                }
                // Nothing runnable: wait for new work, and while jobs are
                // held, look again soon in case their client reads again.
                queue = if queue.is_empty() {
                    shared.ready.wait(queue).unwrap_or_else(PoisonError::into_inner)
                } else {
                    shared.ready.wait_timeout(queue, HOLD_RECHECK).unwrap_or_else(PoisonError::into_inner).0
                };
            }
        };
        let (key, flags, task) = next;
        if flags.cancel.load(Ordering::Relaxed) {
            release_cap(shared, &flags);
            continue;
        }
        shared.busy_now.fetch_add(1, Ordering::Relaxed);
        let started = std::time::Instant::now();
        let output = catch_unwind(AssertUnwindSafe(|| task(&flags.cancel))).map_err(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            format!("a compute task panicked: {what}")
        });
        shared.busy_ns[index].fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        shared.busy_now.fetch_sub(1, Ordering::Relaxed);
        release_cap(shared, &flags);
        flags.undelivered.fetch_add(1, Ordering::AcqRel);
        if done.send(TaskDone { key, flags, output }).is_err() {
            return; // the loop has gone: shutting down
        }
        if let Err(e) = waker.wake() {
            log::error!("could not wake the event loop: {e}");
        }
    }
}

/// A capped task has ended: its slot is free, and a thread waiting for
/// one should look again now rather than at its next recheck.
fn release_cap(shared: &Shared, flags: &JobFlags) {
    if let Some(cap) = &flags.cap {
        cap.running.fetch_sub(1, Ordering::Relaxed);
        let _queue = shared.queue.lock().unwrap_or_else(PoisonError::into_inner);
        shared.ready.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::{channel, Receiver};
    use std::time::Duration;

    fn pool(threads: usize) -> (Pool, Receiver<TaskDone>, mio::Poll) {
        let poll = mio::Poll::new().expect("poll");
        let waker = Arc::new(Waker::new(poll.registry(), mio::Token(0)).expect("waker"));
        let (tx, rx) = channel();
        let cpus = vec![0; threads];
        (Pool::start(&cpus, tx, waker).expect("pool"), rx, poll)
    }

    fn tiny_tasks(n: usize) -> Vec<Task> {
        (0..n).map(|i| Box::new(move |_: &AtomicBool| Box::new(i) as TaskOutput) as Task).collect()
    }

    #[test]
    fn a_job_waits_while_its_outputs_are_not_taken_and_goes_on_when_they_are() {
        let (pool, done, _poll) = pool(1);
        let flags = Arc::new(JobFlags::default());
        let key = JobKey { conn: 0, serial: 0, job_id: 1 };
        pool.submit(key, &flags, tiny_tasks(10));
        // One thread: two outputs wait for a loop that takes none, and then
        // no more, however long it is given (no timing: a slow machine only
        // makes the first wait longer).
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while flags.undelivered.load(Ordering::SeqCst) < 2 {
            assert!(std::time::Instant::now() < deadline, "the first two tasks never ran");
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(flags.undelivered.load(Ordering::SeqCst), 2);
        assert_eq!(pool.stats().tasks_queued, 8);
        // Taking them lets the rest through, without waiting for a recheck.
        let mut seen = Vec::new();
        while seen.len() < 10 {
            let d = done.recv_timeout(Duration::from_secs(5)).expect("the job went on");
            pool.delivered(&d.flags);
            seen.push(*d.output.expect("no panic").downcast::<usize>().expect("a usize"));
        }
        seen.sort();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
        assert_eq!(flags.undelivered.load(Ordering::SeqCst), 0);
        pool.shutdown();
    }
}
