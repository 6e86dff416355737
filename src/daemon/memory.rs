//! The worker's memory budget: `--max-job-memory` and `--max-memory`, or
//! defaults from the machine's memory (MemTotal, read under --host-root as
//! the status answer reads it) and, on a 32-bit build, its address space.
//!
//! Only sizes the budget; the counting is `jobs::memory`'s.

use super::health::parse_meminfo;
use crate::jobs::memory::MemoryBudget;
use crate::protocol::frame::human_bytes;
use log::{info, warn};
use std::path::Path;
use std::rc::Rc;

/// The two memory flags as given; None takes the machine's default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryFlags {
    pub max_job_memory: Option<u64>,
    pub max_memory: Option<u64>,
}

/// The budget the worker runs with, logged once at start.
pub fn budget(flags: MemoryFlags, host_root: &Path) -> Rc<MemoryBudget> {
    let meminfo = host_root.join("proc/meminfo");
    let mem_total = std::fs::read_to_string(&meminfo).ok().and_then(|text| parse_meminfo(&text).0);
    if mem_total.is_none() && flags.max_memory.is_none() {
        warn!("cannot read MemTotal from {}: budgeting jobs as on a 1 GiB machine", meminfo.display());
    }
    let (per_job, per_worker) = resolve(flags, mem_total.map(|kib| kib.saturating_mul(1024)), usize::BITS);
    info!(
        "memory budget: {} per job (--max-job-memory), {} for all running jobs (--max-memory)",
        human_bytes(per_job),
        human_bytes(per_worker)
    );
    MemoryBudget::new(per_job, per_worker)
}

/// The flags over the defaults; a job never gets more than the worker.
fn resolve(flags: MemoryFlags, mem_total: Option<u64>, pointer_bits: u32) -> (u64, u64) {
    let (default_job, default_worker) = MemoryBudget::defaults(mem_total, pointer_bits);
    let worker = flags.max_memory.unwrap_or(default_worker);
    let job = flags.max_job_memory.unwrap_or(match flags.max_memory {
        Some(_) => worker / 4,
        None => default_job,
    });
    (job.min(worker).max(crate::jobs::memory::MIN_BUDGET.min(worker)), worker)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_machine_and_a_job_fits_the_worker() {
        let none = MemoryFlags::default();
        assert_eq!(resolve(none, Some(2 << 30), 64), (256 << 20, 1 << 30));
        assert_eq!(resolve(none, Some(2 << 30), 32), (256 << 20, 1 << 30));
        let worker = MemoryFlags { max_memory: Some(64 << 20), ..none };
        assert_eq!(resolve(worker, Some(2 << 30), 64), (16 << 20, 64 << 20));
        let both = MemoryFlags { max_job_memory: Some(1 << 40), max_memory: Some(64 << 20) };
        assert_eq!(resolve(both, None, 64), (64 << 20, 64 << 20));
    }

    #[test]
    fn meminfo_under_host_root_sets_the_default() {
        let dir = std::env::temp_dir().join(format!("piw-memory-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("proc")).unwrap();
        std::fs::write(dir.join("proc/meminfo"), "MemTotal:        1048576 kB\n").unwrap();
        let b = budget(MemoryFlags::default(), &dir);
        assert_eq!((b.per_job(), b.per_worker()), (128 << 20, 512 << 20));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
