//! Stopping a run from another thread: a library caller (the Python
//! package) whose user abandoned a call, as Ctrl-C stops pisubmit's.
//!
//! The caller makes a `Cancel` and runs the command inside `with_cancel`;
//! every engine that command connects registers its waker with it, so
//! `cancel()` wakes the loop at once and the run ends as an interrupted
//! one does: the workers are told to cancel what they were running.

use mio::Waker;
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

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
