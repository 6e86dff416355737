//! pisubmit, the head node's client, in layers; each uses only the ones
//! below it (docs/ARCHITECTURE.md draws the map):
//!
//! - `commands`: one file per subcommand, run with the parsed options;
//! - `cli`: argv to a typed `Command` and `Global` options, no sockets;
//! - `plans`: the head half of each job kind: its pieces and how their
//!   answers are combined;
//! - `report`: JSON, text, the status grid, the speed-up chart, the
//!   progress bar and the ordered writers of results;
//! - `cluster`: talking to workers (links, hosts, the engine, lockstep
//!   rounds, survey), with no flags and no terminal.
//!
//! This file parses, dispatches, prints and picks the exit code.

pub mod cli;
pub mod cluster;
pub mod commands;
pub mod error;
pub mod plans;
pub mod report;

pub use error::SubmitError;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

/// Runs pisubmit with these arguments (after the program's name) and
/// `PISUBMIT_HOSTS`: prints what the command returns, or its error once,
/// and returns the exit code: 0 done, 1 the job failed, 2 usage or
/// connection, 130 interrupted.
pub fn main(args: impl IntoIterator<Item = OsString>, env_hosts: Option<String>) -> ExitCode {
    let outcome = cli::parse_args(args, env_hosts).and_then(|parsed| match parsed {
        cli::Parsed::Print(text) => Ok(text),
        cli::Parsed::Run(global, command) => commands::run(&global, &command),
    });
    match outcome {
        Ok(text) => {
            print_stdout(&text);
            ExitCode::SUCCESS
        }
        Err(e) => {
            if let SubmitError::Findings { report, .. } = &e {
                print_stdout(report);
            }
            eprintln!("pisubmit: {e}");
            if matches!(&e, SubmitError::Usage(m) if !m.contains("--help")) {
                eprintln!("(see pisubmit --help)");
            }
            ExitCode::from(e.exit_code())
        }
    }
}

fn print_stdout(text: &str) {
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`pisubmit ... | head`) is a normal end.
    let _ = stdout.write_all(text.as_bytes()).and_then(|_| stdout.flush());
}
