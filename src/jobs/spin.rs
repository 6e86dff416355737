//! `spin`: keeps one core busy for a given time, then returns its input.
//!
//! The stand-in for a real task in the task farm (seed 001's log analysis:
//! tasks that arrive one by one and take seconds each). Unlike the other
//! kinds it uses one compute thread, not all of them, so a worker runs as
//! many spins at once as it has threads.

use super::context::WorkerContext;
use super::error::JobError;
use super::memory::{tasks_cost, Need, Reservation};
use super::running::{expect_output, PartialSink, RunningJob, Task, TaskOutput};
use crate::protocol::{WireReader, WireWrite};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Longest spin accepted: an hour.
pub const MAX_MILLIS: u32 = 3_600_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Params {
    pub millis: u32,
    /// Returned unchanged as the result.
    pub payload: Vec<u8>,
}

impl Params {
    pub fn encode(&self) -> Vec<u8> {
        let mut p = Vec::with_capacity(4 + self.payload.len());
        p.put_u32(self.millis);
        p.extend_from_slice(&self.payload);
        p
    }

    pub fn decode(payload: &[u8]) -> Result<Params, JobError> {
        let mut r = WireReader::new(payload);
        let millis = r.u32("spin.millis")?;
        if millis > MAX_MILLIS {
            return Err(JobError::bad_params(format!("spin: {millis} ms is longer than an hour")));
        }
        let rest = r.take(r.remaining(), "spin.payload")?.to_vec();
        Ok(Params { millis, payload: rest })
    }
}

/// Busy-waits for `duration` (checking `cancel` every millisecond or so);
/// returns whether it ran to the end.
pub fn spin(duration: Duration, cancel: &AtomicBool) -> bool {
    let start = Instant::now();
    let mut x: u64 = 1;
    while start.elapsed() < duration {
        if cancel.load(Ordering::Relaxed) {
            return false;
        }
        for _ in 0..10_000 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
    true
}

struct Running {
    params: Option<Params>,
    result: Vec<u8>,
    _memory: Reservation,
}

/// What a spin job allocates: its one task and the payload it returns.
pub fn memory_need(p: &Params) -> Need {
    let bytes = tasks_cost(1).saturating_add(p.payload.len() as u64);
    Need::new(format!("spin returning {} bytes", p.payload.len()), bytes, "")
}

pub(super) fn start(payload: &[u8], ctx: WorkerContext) -> Result<Box<dyn RunningJob>, JobError> {
    let params = Params::decode(payload)?;
    let _memory = ctx.memory.reserve(memory_need(&params))?;
    Ok(Box::new(Running { params: Some(params), result: Vec::new(), _memory }))
}

impl RunningJob for Running {
    fn take_tasks(&mut self) -> Vec<Task> {
        let Some(params) = self.params.take() else { return Vec::new() };
        vec![Box::new(move |cancel: &AtomicBool| {
            spin(Duration::from_millis(params.millis.into()), cancel);
            Box::new(params.payload) as TaskOutput
        })]
    }

    fn task_done(&mut self, output: TaskOutput, _sink: &mut dyn PartialSink) -> Result<(), JobError> {
        self.result = expect_output::<Vec<u8>>(output, "spin")?;
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<Vec<u8>, JobError> {
        Ok(self.result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::kind::JobKind;
    use crate::jobs::needs_exactly::assert_needs_exactly;

    #[test]
    fn memory_is_one_task_and_the_payload() {
        let p = Params { millis: 1, payload: vec![7; 100] };
        assert_needs_exactly(JobKind::Spin, start, &p.encode(), 2, (64 << 10) + 160 + 100);
    }

    #[test]
    fn spins_for_about_the_time_and_stops_on_cancel() {
        assert!(spin(Duration::from_millis(20), &AtomicBool::new(false)));
        assert!(!spin(Duration::from_secs(60), &AtomicBool::new(true)));
        let p = Params { millis: 5, payload: b"log-07.txt".to_vec() };
        assert_eq!(Params::decode(&p.encode()).unwrap(), p);
        let too_long = Params { millis: MAX_MILLIS + 1, payload: vec![] };
        assert!(Params::decode(&too_long.encode()).unwrap_err().message.contains("longer than an hour"));
    }
}
