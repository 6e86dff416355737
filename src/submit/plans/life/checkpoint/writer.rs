//! Writes checkpoints on a thread of their own, so that encoding and
//! fsync do not hold up the lockstep: the driver hands over the board and
//! goes on with the next round. If a checkpoint is still being written
//! when the next is offered, the newer one waits and replaces any other
//! waiting one (only the newest matters). A write that fails fails the
//! job at the next checkpoint or at the end, naming the file and why.

use super::{encode, write_atomic, CheckpointError, Format, Saved};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the writer did, for the report.
#[derive(Clone, Copy, Debug, Default)]
pub struct Written {
    pub count: u64,
    /// Offered but replaced by a newer one before they were written.
    pub superseded: u64,
    /// Time spent encoding and writing (on the writer's thread).
    pub time: Duration,
    pub bytes: u64,
    pub format: Option<Format>,
}

#[derive(Default)]
struct State {
    pending: Option<Saved>,
    stop: bool,
    error: Option<CheckpointError>,
    written: Written,
}

type Shared = Arc<(Mutex<State>, Condvar)>;

pub struct Writer {
    shared: Shared,
    thread: Option<JoinHandle<()>>,
}

fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    // A panic on the writer thread leaves the state as it was: usable.
    shared.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Writer {
    /// Writes `first` at once (so that a read-only or full disk fails the
    /// run before any worker is bothered), then starts the thread.
    pub fn start(path: &Path, first: &Saved) -> Result<Writer, CheckpointError> {
        let mut state = State::default();
        write_one(path, first, &mut state.written)?;
        let shared: Shared = Arc::new((Mutex::new(state), Condvar::new()));
        let (theirs, path) = (Arc::clone(&shared), path.to_path_buf());
        let thread = std::thread::Builder::new()
            .name("checkpoint".into())
            .spawn(move || run(&theirs, &path))
            .map_err(|error| CheckpointError::Io { path: PathBuf::new(), doing: "start its writer thread", error })?;
        Ok(Writer { shared, thread: Some(thread) })
    }

    /// Hands `saved` to the thread; an earlier write's failure is returned.
    pub fn offer(&self, saved: Saved) -> Result<(), CheckpointError> {
        let mut state = lock(&self.shared);
        if let Some(e) = state.error.take() {
            return Err(e);
        }
        if state.pending.replace(saved).is_some() {
            state.written.superseded += 1;
        }
        self.shared.1.notify_all();
        Ok(())
    }

    /// Writes what is waiting, stops the thread, and says what it did.
    pub fn finish(mut self) -> Result<Written, CheckpointError> {
        self.stop();
        let mut state = lock(&self.shared);
        match state.error.take() {
            Some(e) => Err(e),
            None => Ok(state.written),
        }
    }

    fn stop(&mut self) {
        lock(&self.shared).stop = true;
        self.shared.1.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Writer {
    /// A run that failed still leaves its newest checkpoint on disk.
    fn drop(&mut self) {
        self.stop();
    }
}

fn write_one(path: &Path, saved: &Saved, written: &mut Written) -> Result<(), CheckpointError> {
    let started = Instant::now();
    let format = Format::for_board(&saved.board);
    let bytes = encode(saved, format);
    write_atomic(path, &bytes)?;
    written.count += 1;
    written.time += started.elapsed();
    written.bytes = bytes.len() as u64;
    written.format = Some(format);
    Ok(())
}

fn run(shared: &Shared, path: &Path) {
    let mut state = lock(shared);
    loop {
        if let Some(saved) = state.pending.take() {
            let mut written = state.written;
            drop(state);
            let outcome = write_one(path, &saved, &mut written);
            state = lock(shared);
            state.written = Written { superseded: state.written.superseded, ..written };
            if let Err(e) = outcome {
                state.error = Some(e);
            }
            continue;
        }
        if state.stop || state.error.is_some() {
            return;
        }
        state = shared.1.wait(state).unwrap_or_else(|poisoned| poisoned.into_inner());
    }
}
