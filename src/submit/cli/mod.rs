//! pisubmit's command line, parsed into `Global` options and a `Command`.
//! The flags are defined once, in table.rs; `args` walks the command line
//! against it, and each command's file here gives its flags a meaning,
//! checking values as it goes so that every mistake names its flag.

pub mod args;
pub mod exec;
pub mod jobs;
pub mod life;
pub mod predict;
pub mod table;
pub mod tools;
pub mod values;

use crate::flags::{self, Generate};
use crate::submit::cli::args::{early, Args, Early, Next};
use crate::submit::cli::jobs::parse_job;
use crate::submit::cli::table::PISUBMIT;
use crate::submit::cli::values::usage;
use crate::submit::cluster::connect::Reach;
use crate::submit::cluster::engine::PieceTimeout;
use crate::submit::cluster::hosts::{parse_hosts, HostSpec};
use crate::submit::error::SubmitError;
use crate::submit::plans::JobSpec;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The options every command shares (before or after its name).
pub struct Global {
    pub hosts: Vec<HostSpec>,
    /// Set when the hosts came from `@FILE`: it is re-read while jobs run.
    pub hosts_file: Option<PathBuf>,
    pub json: bool,
    pub timeout: Option<Duration>,
    pub connect_timeout: Duration,
    pub heartbeat_timeout: Duration,
    pub retries: usize,
    pub piece_timeout: Option<PieceTimeout>,
    pub quiet: bool,
    pub key_file: Option<PathBuf>,
    /// --joblog, and whether to resume from it.
    pub joblog: Option<JoblogOpts>,
    /// --serve: where the live web page listens.
    pub serve: Option<std::net::SocketAddr>,
}

pub use crate::submit::report::joblog::{JoblogOpts, Resume};

/// What pisubmit was asked to do.
pub enum Command {
    Job(JobSpec),
    Status(tools::StatusOpts),
    Discover(tools::DiscoverOpts),
    Doctor(tools::DoctorOpts),
    Bench(tools::BenchOpts),
    Life(crate::submit::plans::life::LifeOpts),
    Exec(crate::submit::plans::exec::ExecOpts),
    Jobs,
    Hosts(tools::HostsOpts),
}

impl Command {
    /// Whether it needs --hosts: every command but discovery, which is how a
    /// host list is found (`hosts` talks to no worker, but prints the list).
    pub fn needs_workers(&self) -> bool {
        !matches!(self, Command::Discover(_))
    }
}

impl Global {
    /// How to reach the workers, for a command that started at `started`
    /// (the --timeout counts from there).
    pub fn reach(&self, started: Instant) -> Reach {
        Reach {
            hosts: self.hosts.clone(),
            hosts_file: self.hosts_file.clone(),
            key_file: self.key_file.clone(),
            connect_timeout: self.connect_timeout,
            heartbeat_timeout: self.heartbeat_timeout,
            retries: self.retries,
            piece_timeout: self.piece_timeout,
            deadline: self.timeout.map(|t| started + t),
        }
    }
}

// Parsed once per process: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum Parsed {
    Run(Global, Command),
    /// Text for stdout: --help (the program's or a command's), --version,
    /// or what --generate made.
    Print(String),
}

pub fn parse_args(args: impl IntoIterator<Item = OsString>, env_hosts: Option<String>) -> Result<Parsed, SubmitError> {
    let args: Vec<OsString> = args.into_iter().collect();
    if let Some(early) = early(&args) {
        return print(early).map(Parsed::Print);
    }
    let mut args = Args::new(args);
    let name = match args.next_arg()? {
        Next::Word(name) => name,
        Next::End | Next::Flag(_) => {
            let names: Vec<&str> = PISUBMIT.commands.iter().map(|c| c.name).collect();
            return Err(usage(format!("no JOB given ({})", names.join(", "))));
        }
    };
    args.enter(&name)?;
    let mut command = match name.as_str() {
        "status" => Command::Status(tools::parse_status(&mut args)?),
        "discover" => Command::Discover(tools::parse_discover(&mut args)?),
        "doctor" => Command::Doctor(tools::parse_doctor(&mut args)?),
        "bench" => Command::Bench(tools::parse_bench(&mut args)?),
        "life" => Command::Life(life::parse_life(&mut args)?),
        "exec" => Command::Exec(exec::parse_exec(&mut args)?),
        "jobs" => tools::parse_jobs(&mut args).map(|()| Command::Jobs)?,
        "hosts" => Command::Hosts(tools::parse_hosts_command(&mut args)?),
        name => Command::Job(parse_job(name, &mut args)?),
    };
    let given = args.globals;
    if given.serve.is_some() && !serves_a_page(&command) {
        return Err(usage(format!(
            "--serve shows a live page for status and for long jobs (primes, exec, farm, life), not for {name}"
        )));
    }
    // Life resumes from its --checkpoint file, with or without a job log.
    let (mut resume, mut resume_failed) = (given.resume, given.resume_failed);
    if let Command::Life(o) = &mut command {
        life::take_resume(o, resume || resume_failed)?;
        if given.joblog.is_none() {
            (resume, resume_failed) = (false, false);
        }
    }
    let (hosts, hosts_file) = if !command.needs_workers() {
        (Vec::new(), None)
    } else {
        let hosts_text =
            given.hosts.or(env_hosts).ok_or_else(|| usage("no workers: give --hosts SPEC or set PISUBMIT_HOSTS"))?;
        let hosts = parse_hosts(&hosts_text).map_err(|e| usage(format!("--hosts: {e}")))?;
        (hosts, hosts_text.strip_prefix('@').map(PathBuf::from))
    };
    let env_key = || std::env::var_os("PISUBMIT_KEY").filter(|v| !v.is_empty()).map(PathBuf::from);
    let global = Global {
        hosts,
        hosts_file,
        json: given.json,
        timeout: given.timeout,
        connect_timeout: given.connect_timeout.unwrap_or(Duration::from_secs(5)),
        heartbeat_timeout: given.heartbeat_timeout.unwrap_or(Duration::from_secs(3)),
        retries: given.retries.unwrap_or(3),
        piece_timeout: given.piece_timeout,
        quiet: given.quiet,
        key_file: given.key_file.or_else(env_key),
        joblog: joblog_opts(given.joblog, resume, resume_failed)?,
        serve: given.serve,
    };
    Ok(Parsed::Run(global, command))
}

/// The commands --serve is for: the cluster's status, and jobs long enough to watch.
fn serves_a_page(command: &Command) -> bool {
    matches!(
        command,
        Command::Status(_)
            | Command::Life(_)
            | Command::Exec(_)
            | Command::Job(JobSpec::Primes { .. } | JobSpec::Farm { .. })
    )
}

/// --resume without --joblog has nothing to resume from.
fn joblog_opts(path: Option<PathBuf>, resume: bool, failed: bool) -> Result<Option<JoblogOpts>, SubmitError> {
    let resume = match (resume, failed) {
        (_, true) => Resume::Failed,
        (true, false) => Resume::Done,
        (false, false) => Resume::No,
    };
    match path {
        Some(path) => Ok(Some(JoblogOpts { path, resume })),
        None if resume != Resume::No => {
            let flag = if failed { "--resume-failed" } else { "--resume" };
            Err(usage(format!("{flag} needs --joblog FILE: the log says which pieces are done")))
        }
        None => Ok(None),
    }
}

/// The text --help, --version or --generate asked for.
fn print(early: Early) -> Result<String, SubmitError> {
    Ok(match early {
        Early::Help(None) => flags::program_help(&PISUBMIT),
        Early::Help(Some(name)) => match PISUBMIT.command(name) {
            Some(command) => flags::command_help(&PISUBMIT, command),
            None => flags::program_help(&PISUBMIT),
        },
        Early::Version => format!("pisubmit {}\n", env!("CARGO_PKG_VERSION")),
        Early::Generate(kind) => match Generate::parse(&kind) {
            Some(kind) => kind.render(&PISUBMIT),
            None => {
                return Err(usage(format!("--generate: {kind:?} is not one of {}", flags::GENERATE_KINDS.join(", "))))
            }
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Invocation {
        hosts: Vec<HostSpec>,
        json: bool,
        command: Command,
    }

    fn parse(args: &[&str]) -> Result<Invocation, SubmitError> {
        match parse_args(args.iter().map(|s| s.into()), None)? {
            Parsed::Run(g, command) => Ok(Invocation { hosts: g.hosts, json: g.json, command }),
            _ => Err(usage("not run")),
        }
    }

    #[test]
    fn the_documented_surface() {
        let i =
            parse(&["--hosts", "a,b:9/2", "--json", "loopsum", "--t-range", "0..40001", "--u-len", "40001"]).unwrap();
        assert!(i.json);
        assert_eq!(i.hosts.len(), 2);
        match i.command {
            Command::Job(JobSpec::Loopsum(p)) => assert_eq!((p.t0, p.t1, p.u_len, p.c), (0, 40001, 40001, 1.0)),
            _ => panic!("wrong job"),
        }
        let i = parse(&["--hosts", "a", "primes", "--from", "1", "--to", "1e9"]).unwrap();
        assert!(matches!(i.command, Command::Job(JobSpec::Primes { a: 1, b: 1_000_000_000, output: None })));
        let i = parse(&["--hosts", "a", "pi", "--samples", "10^6"]).unwrap();
        assert!(matches!(i.command, Command::Job(JobSpec::Pi { samples: 1_000_000, seed: 1 })));
    }

    #[test]
    fn mistakes_name_the_flag() {
        let msg = |args: &[&str]| parse(args).err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(msg(&["--hosts", "a", "pi"]), "pi: --samples N is required");
        assert_eq!(
            msg(&["--hosts", "a", "pi", "--samples", "0"]),
            "pi: --samples must be at least 1 (zero samples estimate nothing)"
        );
        assert_eq!(msg(&["--hosts", "a", "primes", "--from", "9", "--to", "3"]), "primes: b (3) is less than a (9)");
        assert_eq!(msg(&["--hosts", "a", "loopsum", "--t-range", "5..1"]), "loopsum: t1 (1) is less than t0 (5)");
        assert!(msg(&["loopsum"]).contains("PISUBMIT_HOSTS"));
        assert!(msg(&["--hosts", "a", "frobnicate"]).contains("unknown job \"frobnicate\""));
        assert!(msg(&["--hosts", "a", "reduce", "--op", "avg", "--input", "x"]).contains("--op: \"avg\""));
    }
}
