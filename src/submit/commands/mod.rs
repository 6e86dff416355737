//! One file per subcommand, each `run(&Global, &Opts)` returning what goes
//! to stdout; this file picks the one asked for.

pub mod bench;
pub mod discover;
pub mod doctor;
pub mod exec;
pub mod hosts;
pub mod job;
pub mod jobs;
pub mod life;
pub mod life_page;
pub mod predict;
pub mod serve;
pub mod status;

use crate::submit::cli::tools::BenchJob;
use crate::submit::cli::{Command, Global};
use crate::submit::error::SubmitError;

/// Runs what was asked and returns what goes to stdout.
pub fn run(global: &Global, command: &Command) -> Result<String, SubmitError> {
    match command {
        Command::Job(job) => job::run(global, job),
        Command::Status(opts) => status::run(global, opts),
        Command::Discover(opts) => discover::run(opts, global.json),
        Command::Doctor(opts) => doctor::run(global, opts),
        Command::Bench(opts) => match (&opts.predict, &opts.job) {
            (Some(told), BenchJob::Pieces(job)) => predict::run(global, job, told),
            (Some(told), BenchJob::Life(life)) => predict::run_life(global, life, told),
            (Some(told), BenchJob::Exec(exec)) => predict::run_exec(global, exec, told),
            (None, BenchJob::Pieces(job)) => bench::run(global, opts, job),
            (None, BenchJob::Life(_) | BenchJob::Exec(_)) => {
                Err(SubmitError::Usage("bench: life and exec are forecast only (--predict)".into()))
            }
        },
        Command::Life(opts) => life::run(global, opts),
        Command::Exec(opts) => exec::run(global, opts),
        Command::Jobs => jobs::run(global, global.json),
        Command::Hosts(opts) => hosts::run(&global.hosts, global.json, opts.ansible),
    }
}
