//! `jobs`: lists the job programs a worker would run, each with its size
//! and SHA-256, and the files it refuses with the reason, so that
//! `pisubmit jobs` can show which hosts have a different copy or none.
//! Reading and hashing happen on a compute thread, not the event loop.
//!
//! Params: none. Result: `dirs` u16 then each directory (string); `count`
//! u32 then per file: `name` string, `dir` string, `ok` u8; if ok, `size`
//! u64 and `sha256` (32 bytes); otherwise `why` string.

use super::context::WorkerContext;
use super::error::JobError;
use super::jobdir::{JobDirs, Listed};
use super::memory::{tasks_cost, Need, Reservation};
use super::running::{expect_output, PartialSink, RunningJob, Task, TaskOutput};
use crate::protocol::{WireReader, WireWrite};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

struct Running {
    task: Option<Task>,
    result: Option<Vec<u8>>,
    _memory: Reservation,
}

pub(super) fn start(payload: &[u8], ctx: WorkerContext) -> Result<Box<dyn RunningJob>, JobError> {
    WireReader::new(payload).finish("jobs params (jobs takes none)")?;
    // The listing's size is the worker's own directories', not the client's.
    let _memory = ctx.memory.reserve(Need::new("jobs listing", tasks_cost(1), ""))?;
    let dirs = ctx.exec.as_ref().map_or_else(|| JobDirs::new(Vec::new()), |e| e.dirs.clone());
    let task: Task = Box::new(move |_: &AtomicBool| Box::new(encode(dirs.dirs(), &dirs.list())) as TaskOutput);
    Ok(Box::new(Running { task: Some(task), result: None, _memory }))
}

impl RunningJob for Running {
    fn take_tasks(&mut self) -> Vec<Task> {
        self.task.take().into_iter().collect()
    }

    fn task_done(&mut self, output: TaskOutput, _sink: &mut dyn PartialSink) -> Result<(), JobError> {
        self.result = Some(expect_output(output, "jobs")?);
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<Vec<u8>, JobError> {
        self.result.ok_or_else(|| JobError::failed("internal error: the job list was not made"))
    }
}

pub fn encode(dirs: &[PathBuf], listed: &[Listed]) -> Vec<u8> {
    let mut out = Vec::new();
    out.put_u16(dirs.len().min(u16::MAX as usize) as u16);
    for d in dirs.iter().take(u16::MAX as usize) {
        out.put_string(&d.display().to_string());
    }
    out.put_u32(listed.len() as u32);
    for l in listed {
        out.put_string(&l.name);
        out.put_string(&l.dir.display().to_string());
        match &l.outcome {
            Ok((program, sum)) => {
                out.put_u8(1);
                out.put_u64(program.size);
                out.extend_from_slice(sum);
            }
            Err(why) => {
                out.put_u8(0);
                out.put_string(why);
            }
        }
    }
    out
}

/// One file as the head sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub dir: String,
    /// (size, SHA-256) of a program, or why the file is refused.
    pub outcome: Result<(u64, [u8; 32]), String>,
}

pub fn decode_result(payload: &[u8]) -> Result<(Vec<String>, Vec<Entry>), JobError> {
    let mut r = WireReader::new(payload);
    let dirs = (0..r.u16("jobs.dirs")?).map(|_| r.string("jobs.dir")).collect::<Result<Vec<_>, _>>()?;
    let count = r.u32("jobs.count")?;
    let mut entries = Vec::new();
    for _ in 0..count {
        let name = r.string("jobs.name")?;
        let dir = r.string("jobs.dir")?;
        let outcome = if r.u8("jobs.ok")? == 1 {
            let size = r.u64("jobs.size")?;
            let mut sum = [0u8; 32];
            sum.copy_from_slice(r.take(32, "jobs.sha256")?);
            Ok((size, sum))
        } else {
            Err(r.string("jobs.why")?)
        };
        entries.push(Entry { name, dir, outcome });
    }
    r.skip_later_fields();
    Ok((dirs, entries))
}
