//! `pisubmit`: splits a job over every core of every piworker, gathers and
//! combines the answers. Errors are printed once, here, with exit codes
//! 0 (done), 1 (the job failed) and 2 (usage or connection error).

use piworker::submit::cli::{self, Parsed};
use piworker::submit::run;
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let env_hosts = std::env::var("PISUBMIT_HOSTS").ok().filter(|s| !s.trim().is_empty());
    let outcome = cli::parse_args(std::env::args_os().skip(1), env_hosts).and_then(|parsed| match parsed {
        Parsed::Help => Ok(cli::HELP.to_string()),
        Parsed::Version => Ok(format!("pisubmit {}\n", env!("CARGO_PKG_VERSION"))),
        Parsed::Run(inv) => run::run(inv),
    });
    match outcome {
        Ok(text) => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`pisubmit ... | head`) is a normal end.
            let _ = stdout.write_all(text.as_bytes()).and_then(|_| stdout.flush());
            ExitCode::SUCCESS
        }
        Err(e) => {
            if let piworker::submit::SubmitError::Findings { report, .. } = &e {
                let mut stdout = std::io::stdout().lock();
                let _ = stdout.write_all(report.as_bytes()).and_then(|_| stdout.flush());
            }
            eprintln!("pisubmit: {e}");
            if matches!(e, piworker::submit::SubmitError::Usage(_)) {
                eprintln!("(see pisubmit --help)");
            }
            ExitCode::from(e.exit_code())
        }
    }
}
