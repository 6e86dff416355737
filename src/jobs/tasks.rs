//! How finely a job is cut into compute tasks.

/// Work per compute task, in inner-loop iterations: about 10 ms on a Pi 4,
/// so tasks of different jobs interleave and a cancel takes effect quickly.
pub const TASK_WORK: u64 = 1 << 24;

/// Most tasks one job is cut into: their closures and queue places are
/// memory the client chose (2^40 darts would be 2^16 times more tasks);
/// past this the tasks get larger, and still poll their cancel flag often.
pub const MAX_TASKS: u64 = 1 << 16;

/// How many tasks to cut `work` units into: at least one per thread, and
/// enough that none is much larger than `TASK_WORK` until `MAX_TASKS`.
pub fn task_count(work: u64, threads: usize) -> usize {
    (work.div_ceil(TASK_WORK).min(MAX_TASKS) as usize).max(threads).max(1)
}
