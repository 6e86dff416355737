//! The job log's writer thread: the event loop hands it finished lines
//! (a lock and a copy, no system call), and it writes them in batches every
//! few milliseconds and syncs them at most once a second.
//!
//! The loop hands over each line as a record of bytes (`Entry::encode`)
//! that this thread formats: entries themselves, freed on this thread,
//! left glibc holding 7 MiB more for a farm of 200,000 tasks (a second
//! malloc arena), where the bytes of a batch cost nothing to hand over;
//! and formatting on the loop's thread cost a farm of 0-ms tasks a third
//! of what a line cost it.
//!
//! One `write` per line on the loop's thread cost a farm of 100,000
//! zero-millisecond tasks 14 % of its time (docs/PERFORMANCE.md). Batching
//! costs a head that is killed the last few milliseconds of lines: their
//! pieces run again on resume, as after any other kill.
//!
//! The thread is background work (`background`, SCHED_IDLE): at normal
//! priority its formatting took CPU from the loop and from a worker on the
//! same machine, which a farm of 0-ms tasks on a 2-core head paid for in
//! wall time (+2.4 % against +1.0 %, docs/PERFORMANCE.md). On a head
//! whose every CPU is busy (a worker runs on it too) such a thread can
//! wait a second or more for a CPU, with every line since in memory, so
//! lines that have waited `LATE` are written by the loop itself at its
//! next `keep_up`, which the engine reaches at least every 100 ms.

use super::line::format_records;
use std::fs::File;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a finished line may wait in memory before it is written.
const WRITE_EVERY: Duration = Duration::from_millis(20);

/// How long a line may wait for a starved writer thread before the loop
/// writes it: with the engine's 100 ms tick, a line is in the file within
/// about 0.2 s of its piece's end however busy the head is.
const LATE: Duration = Duration::from_millis(100);

/// Bytes that may wait for the writer thread: past this the loop writes
/// them itself, so a writer starved of CPU (a busy head: it runs only on
/// a CPU nothing else wants) holds the head's memory to twice this (the
/// batch being written and the next), not a piece count. About 2,000
/// lines: at 1 MiB a farm of 200,000 0-ms tasks peaked 0.9 MiB higher
/// with a log than without.
const MAX_PENDING: usize = 256 << 10;

/// Lines formatted and written at a time: the text of a batch is not held
/// whole (a megabyte of records would make as much text, kept for the run).
const WRITE_BYTES: usize = 64 << 10;

/// How often the log is synced to disk: a head that loses power loses at
/// most this much of the log (the pieces are run again).
const SYNC_EVERY: Duration = Duration::from_secs(1);

/// What failed, kept for the loop's next call (io::Error is not Clone).
#[derive(Clone, Debug)]
pub struct Failure {
    pub doing: &'static str,
    pub kind: io::ErrorKind,
    pub message: String,
}

impl Failure {
    pub fn error(&self) -> io::Error {
        io::Error::new(self.kind, self.message.clone())
    }
}

struct Disk {
    file: File,
    /// The lines of a batch, formatted from its records.
    text: Vec<u8>,
    unsynced: bool,
    last_sync: Instant,
    failure: Option<Failure>,
}

impl Disk {
    fn sync_due(&self) -> bool {
        self.last_sync.elapsed() >= SYNC_EVERY
    }
}

struct Shared {
    /// Records of lines handed over and not yet written.
    pending: Mutex<Vec<u8>>,
    /// The last batch's buffer, emptied, for the next one.
    spare: Mutex<Vec<u8>>,
    /// Held while a batch is taken and written, so batches keep their order.
    disk: Mutex<Disk>,
    /// When the oldest pending line was handed over, in nanoseconds since
    /// `epoch` plus one; 0 when nothing is pending. Set and cleared under
    /// the `pending` lock; read without it by `keep_up`.
    pending_since: AtomicU64,
    epoch: Instant,
    failed: AtomicBool,
    stop: AtomicBool,
}

impl Shared {
    fn new(file: File) -> Shared {
        Shared {
            pending: Mutex::new(Vec::new()),
            spare: Mutex::new(Vec::new()),
            disk: Mutex::new(Disk { file, text: Vec::new(), unsynced: true, last_sync: Instant::now(), failure: None }),
            pending_since: AtomicU64::new(0),
            epoch: Instant::now(),
            failed: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        }
    }

    fn stamp(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX - 1) + 1
    }
}

/// Appends to a log file from a thread of its own.
pub struct Flusher {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic on the other side leaves plain bytes behind: still usable.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Flusher {
    pub fn new(file: File) -> Flusher {
        let shared = Arc::new(Shared::new(file));
        let for_thread = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("joblog".into())
            .spawn(move || run(&for_thread))
            .map_err(|e| log::warn!("joblog: no writer thread ({e}); the event loop writes the lines"))
            .ok();
        Flusher { shared, thread }
    }

    /// Hands a line's record over to be written; reports an earlier
    /// write's failure.
    pub fn append(&self, record: &[u8]) -> Result<(), Failure> {
        if self.shared.failed.load(Ordering::Relaxed) {
            return Err(self.failure());
        }
        let waiting = {
            let mut pending = lock(&self.shared.pending);
            if pending.is_empty() {
                self.shared.pending_since.store(self.shared.stamp(), Ordering::Relaxed);
            }
            pending.extend_from_slice(record);
            pending.len()
        };
        if waiting >= MAX_PENDING {
            return self.write_now(false);
        }
        Ok(())
    }

    /// Writes the pending lines on the caller's thread if the oldest has
    /// waited `LATE` for the writer thread (syncing them if a sync is due):
    /// the loop's guard against a writer starved of CPU.
    pub fn keep_up(&self) -> Result<(), Failure> {
        let since = self.shared.pending_since.load(Ordering::Relaxed);
        if since == 0 || self.shared.stamp().saturating_sub(since) < LATE.as_nanos() as u64 {
            return Ok(());
        }
        // The writer holding the disk is writing: waiting for it would
        // make the loop wait as long as a starved thread waits for a CPU.
        let mut disk = match self.shared.disk.try_lock() {
            Ok(disk) => disk,
            Err(TryLockError::Poisoned(e)) => e.into_inner(),
            Err(TryLockError::WouldBlock) => return Ok(()),
        };
        let due = disk.sync_due();
        write_pending(&self.shared, &mut disk, due);
        disk.failure.clone().map_or(Ok(()), Err)
    }

    /// Writes what was handed over and, with `sync`, syncs it, now.
    pub fn write_now(&self, sync: bool) -> Result<(), Failure> {
        let mut disk = lock(&self.shared.disk);
        write_pending(&self.shared, &mut disk, sync);
        disk.failure.clone().map_or(Ok(()), Err)
    }

    fn failure(&self) -> Failure {
        let disk = lock(&self.shared.disk);
        disk.failure.clone().unwrap_or(Failure {
            doing: "write a line",
            kind: io::ErrorKind::Other,
            message: "failed".into(),
        })
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
        let _ = self.write_now(true);
    }
}

fn run(shared: &Shared) {
    background();
    let mut looked = Instant::now();
    while !shared.stop.load(Ordering::Relaxed) {
        std::thread::park_timeout(WRITE_EVERY);
        // With nothing to write, the disk is looked at only when a sync
        // may be due (the loop may have written lines itself): a thread
        // at SCHED_IDLE that holds the lock when a busy CPU is taken from
        // it keeps it until it gets a CPU again, and the loop, which
        // needs the lock to write Life's lines, would wait that long.
        if shared.pending_since.load(Ordering::Relaxed) == 0 && looked.elapsed() < SYNC_EVERY {
            continue;
        }
        looked = Instant::now();
        let mut disk = lock(&shared.disk);
        let due = disk.sync_due();
        write_pending(shared, &mut disk, due);
    }
}

/// Writes the pending lines (the caller holds `disk`), then syncs if asked
/// and anything is unsynced. The first failure is kept and stops writing.
fn write_pending(shared: &Shared, disk: &mut Disk, sync: bool) {
    if disk.failure.is_some() {
        return;
    }
    let spare = std::mem::take(&mut *lock(&shared.spare));
    let mut batch = {
        let mut pending = lock(&shared.pending);
        shared.pending_since.store(0, Ordering::Relaxed);
        std::mem::replace(&mut *pending, spare)
    };
    let mut result = Ok(());
    let mut records = &batch[..];
    while !records.is_empty() && result.is_ok() {
        disk.text.clear();
        records = format_records(records, &mut disk.text, WRITE_BYTES);
        let Disk { file, text, .. } = disk;
        result = file.write_all(text).map_err(|e| ("write a line", e));
        disk.unsynced = true;
    }
    batch.clear();
    *lock(&shared.spare) = batch;
    if result.is_ok() && sync && disk.unsynced {
        result = disk.file.sync_data().map_err(|e| ("sync it to disk", e));
        disk.unsynced = false;
        disk.last_sync = Instant::now();
    }
    if let Err((doing, e)) = result {
        disk.failure = Some(Failure { doing, kind: e.kind(), message: e.to_string() });
        shared.failed.store(true, Ordering::Relaxed);
    }
}

/// Makes the calling thread background work (SCHED_IDLE): it runs on a
/// CPU nothing else wants, so formatting and writing lines never takes a
/// CPU from the event loop or from a worker on the same machine, and the
/// kernel puts a waking thread on a CPU that only this one is using. When
/// every CPU is busy the lines wait, up to `MAX_PENDING`, after which the
/// loop writes them itself.
fn background() {
    let param = nix::libc::sched_param { sched_priority: 0 };
    // SAFETY: sched_setscheduler reads `param` and changes only the
    // calling thread's policy (pid 0); it has no other effect on memory.
    if unsafe { nix::libc::sched_setscheduler(0, nix::libc::SCHED_IDLE, &param) } != 0 {
        log::debug!("joblog: the writer thread stays at normal priority ({})", std::io::Error::last_os_error());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::submit::report::joblog::line::Entry;

    /// A flusher whose writer thread never runs: the loop's side alone.
    fn without_thread(file: File) -> Flusher {
        Flusher { shared: Arc::new(Shared::new(file)), thread: None }
    }

    fn record(piece: usize) -> Vec<u8> {
        let entry = Entry {
            seq: piece as u64 + 1,
            piece,
            host: "h:1".into(),
            label: format!("piece {piece}"),
            ..Entry::empty()
        };
        let mut out = Vec::new();
        entry.encode(&mut out);
        out
    }

    #[test]
    fn keep_up_writes_lines_only_once_they_have_waited_late() {
        let path = std::env::temp_dir().join(format!("piworker-flusher-late-{}", std::process::id()));
        let flusher = without_thread(File::create(&path).unwrap());
        let handed = Instant::now();
        flusher.append(&record(0)).unwrap();
        flusher.keep_up().unwrap();
        if handed.elapsed() < LATE {
            assert_eq!(std::fs::metadata(&path).unwrap().len(), 0, "a fresh line was written at once");
        }
        std::thread::sleep(LATE);
        flusher.keep_up().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("1\t0\th:1\t") && text.contains("\tpiece 0\t"), "{text:?}");
        assert_eq!(text.lines().count(), 1, "{text:?}");
        // Nothing pending: nothing more written.
        std::thread::sleep(LATE);
        flusher.keep_up().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        drop(flusher);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn keep_up_reports_a_full_disk() {
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full");
        let flusher = without_thread(full);
        flusher.append(&record(0)).unwrap();
        std::thread::sleep(LATE);
        let failure = flusher.keep_up().expect_err("writing to /dev/full fails");
        assert_eq!((failure.doing, failure.kind), ("write a line", io::ErrorKind::StorageFull));
        // And every later line says so.
        let again = flusher.append(&record(1)).expect_err("the failure is kept");
        assert_eq!(again.kind, io::ErrorKind::StorageFull);
    }
}
