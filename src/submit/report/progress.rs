//! The progress bar on stderr, drawn only when stderr is a terminal and
//! not --quiet; the engine's notices print above it (or plainly without).

use crate::submit::cluster::engine::{Progress, Watch};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{self, IsTerminal};

/// Draws a bar for each run (or none, `quiet`).
pub struct Bars {
    quiet: bool,
}

impl Bars {
    pub fn new(quiet: bool) -> Bars {
        Bars { quiet }
    }
}

impl Watch for Bars {
    fn run_started(&mut self, total: Option<usize>) -> Box<dyn Progress> {
        Box::new(Bar(progress_bar(total, self.quiet)))
    }
}

struct Bar(ProgressBar);

impl Progress for Bar {
    fn set_total(&mut self, total: usize) {
        self.0.set_length(total as u64);
    }
    fn piece_done(&mut self) {
        self.0.inc(1);
    }
    /// A line for people on stderr, above the progress bar when there is one.
    fn notice(&mut self, line: String) {
        if self.0.is_hidden() {
            eprintln!("{line}");
        } else {
            self.0.println(line);
        }
    }
    fn ended(&mut self, done: bool) {
        if done {
            self.0.finish_and_clear();
        } else {
            self.0.abandon();
        }
    }
}

fn progress_bar(total: Option<usize>, quiet: bool) -> ProgressBar {
    let target =
        if quiet || !io::stderr().is_terminal() { ProgressDrawTarget::hidden() } else { ProgressDrawTarget::stderr() };
    let bar = ProgressBar::with_draw_target(total.map(|t| t as u64), target);
    let style = ProgressStyle::with_template("{bar:30} {pos}/{len} pieces  {per_sec}  ETA {eta}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}
