//! Which CPUs this process may use, and pinning a thread to one of them.
//!
//! The mask comes from sched_getaffinity, so `taskset`, cgroups and a
//! systemd `CPUAffinity=` are honoured: the pool gets one thread per CPU in
//! the mask, never more.

use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::unistd::Pid;

/// The CPUs in this process's affinity mask, ascending.
pub fn allowed_cpus() -> Vec<usize> {
    match sched_getaffinity(Pid::from_raw(0)) {
        Ok(set) => (0..CpuSet::count()).filter(|&cpu| set.is_set(cpu).unwrap_or(false)).collect(),
        Err(e) => {
            let n = std::thread::available_parallelism().map_or(1, |n| n.get());
            log::warn!("sched_getaffinity failed ({e}); assuming CPUs 0..{n}");
            (0..n).collect()
        }
    }
}

/// Pins the calling thread to `cpu`. A failure (a seccomp filter, a CPU
/// taken offline) costs locality, not correctness, so it is a warning.
pub fn pin_current_thread(cpu: usize) {
    let mut set = CpuSet::new();
    let pinned = set.set(cpu).and_then(|_| sched_setaffinity(Pid::from_raw(0), &set));
    if let Err(e) = pinned {
        log::warn!("could not pin a compute thread to CPU {cpu}: {e}");
    }
}
