//! pisubmit's command line, parsed into `Global` options and a `Command`. Checks values as
//! it goes, so every mistake is named with the flag it came from.

pub mod exec;
pub mod help;
pub mod jobs;
pub mod life;
pub mod tools;
pub mod values;

use crate::submit::cluster::connect::Reach;
use crate::submit::cluster::engine::PieceTimeout;
use crate::submit::cluster::hosts::{parse_hosts, HostSpec};
use crate::submit::error::SubmitError;
use crate::submit::plans::JobSpec;

use crate::submit::cli::jobs::parse_job;
use crate::submit::cli::values::{number, parse_piece_timeout, seconds, text, usage};
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub use help::HELP;

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
}

/// What pisubmit was asked to do.
pub enum Command {
    Job(JobSpec),
    Status(tools::StatusOpts),
    Discover(tools::DiscoverOpts),
    Doctor(tools::DoctorOpts),
    Bench(tools::BenchOpts),
    Life(crate::submit::plans::life::LifeOpts),
    Exec(crate::submit::plans::exec::ExecOpts),
    Jobs { json: bool },
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
    Help,
    Version,
}

pub fn parse_args(
    args: impl IntoIterator<Item = std::ffi::OsString>,
    env_hosts: Option<String>,
) -> Result<Parsed, SubmitError> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_iter(std::iter::once("pisubmit".into()).chain(args));
    let mut hosts_text: Option<String> = None;
    let mut json = false;
    let mut timeout = None;
    let mut connect_timeout = Duration::from_secs(5);
    let mut heartbeat_timeout = Duration::from_secs(3);
    let mut retries = 3;
    let mut piece_timeout = None;
    let mut quiet = false;
    let mut key_file = None;
    let job_name = loop {
        let Some(arg) = parser.next().map_err(|e| usage(e.to_string()))? else {
            return Err(usage("no JOB given (loopsum, pi, primes, powers, reduce, echo, ping, farm, life or exec; or status, discover, doctor, bench, jobs)"));
        };
        match arg {
            Long("hosts") => hosts_text = Some(text(&mut parser, "--hosts")?),
            Long("json") => json = true,
            Long("timeout") => timeout = Some(seconds(&text(&mut parser, "--timeout")?, "--timeout")?),
            Long("heartbeat-timeout") => {
                heartbeat_timeout = seconds(&text(&mut parser, "--heartbeat-timeout")?, "--heartbeat-timeout")?
            }
            Long("retries") => {
                let v = text(&mut parser, "--retries")?;
                retries = number::<usize>(&v, "--retries", "a whole number")?;
                if retries == 0 {
                    return Err(usage("--retries must be at least 1"));
                }
            }
            Long("piece-timeout") => piece_timeout = Some(parse_piece_timeout(&text(&mut parser, "--piece-timeout")?)?),
            Long("quiet") => quiet = true,
            Long("key") => key_file = Some(PathBuf::from(text(&mut parser, "--key")?)),
            Long("connect-timeout") => {
                connect_timeout = seconds(&text(&mut parser, "--connect-timeout")?, "--connect-timeout")?
            }
            Short('h') | Long("help") => return Ok(Parsed::Help),
            Short('V') | Long("version") => return Ok(Parsed::Version),
            Value(v) => break v.into_string().map_err(|v| usage(format!("job {v:?} is not valid UTF-8")))?,
            other => return Err(usage(other.unexpected().to_string())),
        }
    };
    // The tools also take --json after their name.
    let command = match job_name.as_str() {
        "status" => tools::parse_status(&mut parser).map(|o| (o.json, Command::Status(o)))?,
        "discover" => tools::parse_discover(&mut parser).map(|o| (o.json, Command::Discover(o)))?,
        "doctor" => tools::parse_doctor(&mut parser).map(|o| (o.json, Command::Doctor(o)))?,
        "bench" => tools::parse_bench(&mut parser).map(|o| (o.json, Command::Bench(o)))?,
        "life" => crate::submit::cli::life::parse_life(&mut parser).map(|o| (o.json, Command::Life(o)))?,
        "exec" => exec::parse_exec(&mut parser).map(|o| (o.json, Command::Exec(o)))?,
        "jobs" => tools::parse_jobs(&mut parser).map(|json| (json, Command::Jobs { json }))?,
        name => (false, Command::Job(parse_job(name, &mut parser)?)),
    };
    let (tool_json, command) = command;
    let json = json || tool_json;
    let (hosts, hosts_file) = if let Command::Discover(_) = command {
        // Discovery is how a host list is found: it needs none.
        (Vec::new(), None)
    } else {
        let hosts_text =
            hosts_text.or(env_hosts).ok_or_else(|| usage("no workers: give --hosts SPEC or set PISUBMIT_HOSTS"))?;
        let hosts = parse_hosts(&hosts_text).map_err(|e| usage(format!("--hosts: {e}")))?;
        (hosts, hosts_text.strip_prefix('@').map(PathBuf::from))
    };
    let global = Global {
        hosts,
        hosts_file,
        json,
        timeout,
        connect_timeout,
        heartbeat_timeout,
        retries,
        piece_timeout,
        quiet,
        key_file: key_file.or_else(|| std::env::var_os("PISUBMIT_KEY").filter(|v| !v.is_empty()).map(PathBuf::from)),
    };
    Ok(Parsed::Run(global, command))
}

/// Parses one job and its options (also `bench`'s job).
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
