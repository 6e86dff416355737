//! `piworker`: the compute daemon. Parses the command line, sets up logging
//! and hands over to the event loop; every error is printed once, here.

use piworker::daemon::{self, Command, PIWORKER};
use piworker::flags;
use std::process::ExitCode;

fn main() -> ExitCode {
    let command = match daemon::parse_args(std::env::args_os().skip(1)) {
        Ok(c) => c,
        Err(msg) => {
            eprintln!("piworker: {msg}\n\n{}", flags::program_help(&PIWORKER));
            return ExitCode::from(2);
        }
    };
    let config = match command {
        Command::Help => {
            print!("{}", flags::program_help(&PIWORKER));
            return ExitCode::SUCCESS;
        }
        Command::Generate(kind) => {
            print!("{}", kind.render(&PIWORKER));
            return ExitCode::SUCCESS;
        }
        Command::Version => {
            println!("piworker {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Command::Run(config) => config,
    };
    init_logging();
    match daemon::run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e}");
            ExitCode::from(1)
        }
    }
}

fn init_logging() {
    let mut builder = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"));
    // Under systemd the journal stamps each line itself.
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        builder.format_timestamp(None);
    }
    builder.init();
}
