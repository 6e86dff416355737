//! Where a run's task lines come from and its results go: the process's
//! stdin and stdout for pisubmit, or streams a library caller (the Python
//! package) hands in for the length of one call on its thread.
//!
//! Only the farm's and exec's task lines and their results use this; the
//! report itself is what `commands::run` returns, never printed here.

use std::cell::RefCell;
use std::io::{self, BufRead, Write};
use std::sync::{Arc, Mutex};

/// A caller's streams for one call.
pub struct Streams {
    /// Task lines, as stdin would give them; taken by the first reader.
    pub input: Option<Box<dyn BufRead + Send>>,
    /// Results, as they would be printed; None leaves them on stdout.
    pub output: Option<Arc<Mutex<dyn Write + Send>>>,
}

thread_local! {
    static STREAMS: RefCell<Option<Streams>> = const { RefCell::new(None) };
}

/// Runs `f` with `streams` in place of stdin and stdout on this thread.
pub fn with_streams<T>(streams: Streams, f: impl FnOnce() -> T) -> T {
    struct Restore;
    impl Drop for Restore {
        fn drop(&mut self) {
            STREAMS.with(|s| s.borrow_mut().take());
        }
    }
    STREAMS.with(|s| *s.borrow_mut() = Some(streams));
    let _restore = Restore;
    f()
}

/// Whether results go to a caller's stream rather than stdout: then they
/// are written even when the report is JSON (stdout is not the report's).
pub fn redirected() -> bool {
    STREAMS.with(|s| s.borrow().as_ref().is_some_and(|s| s.output.is_some()))
}

/// The task lines: the caller's input, or stdin.
pub fn input() -> Box<dyn BufRead + Send> {
    let given = STREAMS.with(|s| s.borrow_mut().as_mut().and_then(|s| s.input.take()));
    given.unwrap_or_else(|| Box::new(io::BufReader::new(io::stdin())))
}

/// Where results go: the caller's output, or stdout.
pub fn output() -> Box<dyn Write> {
    match STREAMS.with(|s| s.borrow().as_ref().and_then(|s| s.output.clone())) {
        Some(shared) => Box::new(Shared(shared)),
        None => Box::new(io::stdout()),
    }
}

/// A caller's output, shared by every writer of the call.
struct Shared(Arc<Mutex<dyn Write + Send>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.lock()?.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.lock()?.write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.lock()?.flush()
    }
}

impl Shared {
    fn lock(&self) -> io::Result<std::sync::MutexGuard<'_, dyn Write + Send + 'static>> {
        self.0.lock().map_err(|_| io::Error::other("the caller's output stream was poisoned by a panic"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn a_call_reads_and_writes_the_callers_streams_and_then_the_processs_again() {
        let out: Arc<Mutex<Vec<u8>>> = Arc::new(Mutex::new(Vec::new()));
        let streams =
            Streams { input: Some(Box::new(io::Cursor::new(b"1 a\n2 b\n".to_vec()))), output: Some(out.clone()) };
        let read = with_streams(streams, || {
            assert!(redirected());
            let mut text = String::new();
            input().read_to_string(&mut text).unwrap();
            output().write_all(b"result\n").unwrap();
            text
        });
        assert_eq!(read, "1 a\n2 b\n");
        assert_eq!(&*out.lock().unwrap(), b"result\n");
        assert!(!redirected(), "the streams end with the call");
    }
}
