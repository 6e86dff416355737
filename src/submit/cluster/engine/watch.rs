//! How a run is watched. The engine says what happens; the caller decides
//! what to draw (`report::progress` draws a bar on a terminal), so this
//! layer has no terminal of its own.

/// Makes a `Progress` for each run of pieces.
pub trait Watch {
    /// A run of `total` pieces starts (None: not known yet, a task farm).
    fn run_started(&mut self, total: Option<usize>) -> Box<dyn Progress>;
}

/// What happens during one run.
pub trait Progress {
    /// More pieces are known (a farm's count grows as stdin is read).
    fn set_total(&mut self, total: usize);
    fn piece_done(&mut self);
    /// A line for people: a worker lost, a piece run elsewhere.
    fn notice(&mut self, line: String);
    /// The run ended: every piece done (`true`), or given up.
    fn ended(&mut self, done: bool);
}

/// For an engine nobody watches: notices go to the log.
pub struct Unwatched;

impl Watch for Unwatched {
    fn run_started(&mut self, _total: Option<usize>) -> Box<dyn Progress> {
        Box::new(Unwatched)
    }
}

impl Progress for Unwatched {
    fn set_total(&mut self, _total: usize) {}
    fn piece_done(&mut self) {}
    fn notice(&mut self, line: String) {
        log::warn!("{line}");
    }
    fn ended(&mut self, _done: bool) {}
}
