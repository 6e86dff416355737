//! `pisubmit exec NAME`: a job program (installed on the workers) run over
//! pieces of a numeric range, over the lines of a file, or as a task farm
//! fed from stdin. Each piece is one run of the program on one core; its
//! stdout is the piece's output, written in piece order (or as pieces
//! finish with --unordered) to stdout or --output. A piece whose program
//! fails runs again on another worker, up to --retries.
//!
//! `opts` holds the options and cuts the pieces; `stdin` is the farm's
//! source, `output` and `append` where the programs' output goes, and
//! `fingerprint` what a job log records of the command.

mod append;
mod fingerprint;
mod opts;
mod output;
mod stdin;

pub use fingerprint::of_exec;
pub use opts::{ExecOpts, Mode};
pub use output::ExecOutput;
pub use stdin::StdinLines;
