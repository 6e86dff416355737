//! `echo`: returns its input stream unchanged, as `Partial` frames, then the
//! byte count as its result. It measures the path (framing, loop, sockets)
//! without any compute; with no input it is the empty job whose round trip
//! is the protocol's latency floor.

use super::context::WorkerContext;
use super::error::JobError;
use super::memory::{Need, Reservation, JOB_BASE_BYTES};
use super::running::{PartialSink, RunningJob};
use crate::protocol::{WireReader, WireWrite};

struct Running {
    bytes: u64,
    _memory: Reservation,
}

/// Echo holds nothing: each input frame goes straight to the connection's
/// output, which stops reading from a client that does not read.
pub fn memory_need() -> Need {
    Need::new("echo", JOB_BASE_BYTES, "")
}

pub(super) fn start(payload: &[u8], ctx: WorkerContext) -> Result<Box<dyn RunningJob>, JobError> {
    WireReader::new(payload).finish("echo params (echo takes none)")?;
    Ok(Box::new(Running { bytes: 0, _memory: ctx.memory.reserve(memory_need())? }))
}

impl RunningJob for Running {
    fn input(&mut self, data: &[u8], sink: &mut dyn PartialSink) -> Result<(), JobError> {
        self.bytes += data.len() as u64;
        sink.partial(data);
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<Vec<u8>, JobError> {
        let mut out = Vec::with_capacity(8);
        out.put_u64(self.bytes);
        Ok(out)
    }
}

pub fn decode_result(payload: &[u8]) -> Result<u64, JobError> {
    let mut r = WireReader::new(payload);
    let n = r.u64("echo.bytes")?;
    r.skip_later_fields();
    Ok(n)
}

/// The byte at position `offset` of the test stream `pisubmit echo` sends:
/// a pattern that is cheap to make and check, and that catches reordered
/// or shifted data (it does not repeat every 256 bytes).
pub fn pattern_byte(offset: u64) -> u8 {
    (offset ^ (offset >> 8) ^ (offset >> 16).wrapping_mul(31)) as u8
}
