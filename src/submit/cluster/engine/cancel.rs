//! What stops a run: SIGINT (and SIGTERM, unless a library caller turns
//! it off), and a library caller (the Python package) whose user
//! abandoned a call, from another thread, as Ctrl-C stops pisubmit's.
//!
//! The caller makes a `Cancel` and runs the command inside `with_cancel`;
//! every engine that command connects registers its waker with it, so
//! `cancel()` wakes the loop at once and the run ends as an interrupted
//! one does: the workers are told to cancel what they were running.

use mio::Waker;
use signal_hook::consts::{SIGINT, SIGTERM};
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Whether runs stop on SIGTERM as well as on SIGINT. A library caller
/// (the Python package) turns it off: once signal-hook has a handler for a
/// signal it stays for the life of the process, and a host program's
/// SIGTERM must keep ending that program between calls.
static STOP_ON_SIGTERM: AtomicBool = AtomicBool::new(true);

/// Runs from now on stop on SIGINT only (`false`) or on SIGTERM too.
pub fn stop_on_sigterm(yes: bool) {
    STOP_ON_SIGTERM.store(yes, Ordering::Relaxed);
}

/// The signals an engine watches.
pub(super) fn stop_signals() -> &'static [i32] {
    if STOP_ON_SIGTERM.load(Ordering::Relaxed) {
        &[SIGINT, SIGTERM]
    } else {
        &[SIGINT]
    }
}

#[derive(Default)]
pub struct Cancel {
    cancelled: AtomicBool,
    wakers: Mutex<Vec<Arc<Waker>>>,
}

impl Cancel {
    pub fn new() -> Arc<Cancel> {
        Arc::new(Cancel::default())
    }

    /// Ends the runs of the call: now if they are running, at once if they
    /// start later.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
        if let Ok(wakers) = self.wakers.lock() {
            for waker in wakers.iter() {
                let _ = waker.wake();
            }
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    /// Wakes `waker` on `cancel()` from now on.
    fn watch(&self, waker: Arc<Waker>) {
        if let Ok(mut wakers) = self.wakers.lock() {
            wakers.push(waker);
        }
    }
}

thread_local! {
    static CALLERS: RefCell<Option<Arc<Cancel>>> = const { RefCell::new(None) };
}

/// Runs `f` with `cancel` able to stop the engines it connects on this
/// thread.
pub fn with_cancel<T>(cancel: Arc<Cancel>, f: impl FnOnce() -> T) -> T {
    struct Restore;
    impl Drop for Restore {
        fn drop(&mut self) {
            CALLERS.with(|c| c.borrow_mut().take());
        }
    }
    CALLERS.with(|c| *c.borrow_mut() = Some(cancel));
    let _restore = Restore;
    f()
}

/// The caller's `Cancel` on this thread, watching `waker`; None for
/// pisubmit itself.
pub(super) fn watched_by(waker: &Arc<Waker>) -> Option<Arc<Cancel>> {
    let cancel = CALLERS.with(|c| c.borrow().clone())?;
    cancel.watch(Arc::clone(waker));
    Some(cancel)
}
