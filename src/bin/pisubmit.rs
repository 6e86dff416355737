//! `pisubmit`: splits a job over every core of every piworker, gathers and
//! combines the answers. `piworker::submit::main` does the work and picks
//! the exit code: 0 (done), 1 (the job failed), 2 (usage or connection
//! error), 130 (interrupted).

use std::process::ExitCode;

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let env_hosts = std::env::var("PISUBMIT_HOSTS").ok().filter(|s| !s.trim().is_empty());
    piworker::submit::main(std::env::args_os().skip(1), env_hosts)
}
