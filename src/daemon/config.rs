//! piworker's command line: parsed into a `Config`, kept apart from the
//! code that uses it. The flags themselves (names, values, defaults, help)
//! are defined once, in flags.rs; this file only gives them meaning.

use super::allow::{parse_allow, Cidr, DEFAULT_ALLOW};
use super::flags::PIWORKER;
use super::memory::MemoryFlags;
use crate::flags::{self, Generate, Scope};
use crate::jobs::jobdir::DEFAULT_DIRS;
use crate::protocol::frame::{human_bytes, DEFAULT_MAX_FRAME};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

pub use crate::protocol::DEFAULT_PORT;
pub use crate::units::parse_size;
/// Smallest `--max-frame` that still leaves room for real jobs.
const MIN_MAX_FRAME: u64 = 4096;

#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub threads: Option<usize>,
    pub max_frame: u32,
    pub shutdown_grace: Duration,
    pub allow: Vec<Cidr>,
    pub key_file: Option<PathBuf>,
    pub limits: Limits,
    /// Answer discovery probes.
    pub discovery: bool,
    /// Where /proc and /sys are read from for the status answer.
    pub host_root: PathBuf,
    /// Where Prometheus' scrapes are answered (`--metrics`); off when `None`.
    pub metrics: Option<SocketAddr>,
    /// Job program directories, searched in order.
    pub job_dirs: Vec<PathBuf>,
    pub exec_timeout: Duration,
    pub exec_memory: u64,
    pub memory: MemoryFlags,
}

/// What one client, or all of them, may take from a worker.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Finished connections (handshake done); see `admission`.
    pub max_connections: usize,
    /// Unfinished connections, in all and from one source.
    pub max_unfinished: usize,
    pub max_unfinished_per_address: usize,
    pub max_jobs_per_connection: usize,
    pub max_jobs: usize,
    pub max_job_input: u64,
    pub handshake_timeout: Duration,
    pub frame_timeout: Duration,
    pub idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 1024,
            max_unfinished: 256,
            max_unfinished_per_address: 16,
            max_jobs_per_connection: 64,
            max_jobs: 4096,
            max_job_input: 64 << 30,
            handshake_timeout: Duration::from_secs(5),
            frame_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
        }
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: SocketAddr::from(([0, 0, 0, 0], DEFAULT_PORT)),
            threads: None,
            max_frame: DEFAULT_MAX_FRAME,
            shutdown_grace: Duration::from_secs(10),
            allow: parse_allow(DEFAULT_ALLOW).unwrap_or_default(),
            key_file: None,
            limits: Limits::default(),
            discovery: true,
            host_root: PathBuf::from("/"),
            metrics: None,
            job_dirs: DEFAULT_DIRS.iter().map(PathBuf::from).collect(),
            exec_timeout: Duration::from_secs(3600),
            exec_memory: 1 << 30,
            memory: MemoryFlags::default(),
        }
    }
}

/// What the command line asked for.
// Parsed once per process: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    Run(Config),
    Help,
    Version,
    /// `--generate KIND`: print the man page or a completion script.
    Generate(Generate),
}

pub fn parse_args(args: impl IntoIterator<Item = std::ffi::OsString>) -> Result<Command, String> {
    let mut config = Config::default();
    // The first --job-dir replaces the default directories.
    let mut job_dirs_given = false;
    let mut parser = lexopt::Parser::from_iter(std::iter::once("piworker".into()).chain(args));
    let scope = Scope::new(&PIWORKER);
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        // Only what the table lists gets this far, so --help and the man
        // page cannot miss a flag this loop accepts.
        let flag = scope.lookup(&arg).map_err(|e| e.to_string())?;
        let p = &mut parser;
        match flag.long {
            "listen" => config.listen = parse_listen(&string_value(p, "--listen")?)?,
            "threads" => {
                let text = string_value(p, "--threads")?;
                let n: usize = text.parse().map_err(|_| format!("--threads: {text:?} is not a whole number"))?;
                if n == 0 {
                    return Err("--threads: must be at least 1".into());
                }
                config.threads = Some(n);
            }
            "max-frame" => {
                let text = string_value(p, "--max-frame")?;
                let bytes = parse_size(&text).ok_or_else(|| format!("--max-frame: {text:?} is not a size like 16M"))?;
                if !(MIN_MAX_FRAME..=u32::MAX as u64).contains(&bytes) {
                    return Err(format!("--max-frame: {text} is outside 4K..4G"));
                }
                config.max_frame = bytes as u32;
            }
            "shutdown-grace" => {
                let text = string_value(p, "--shutdown-grace")?;
                let secs: f64 =
                    text.parse().map_err(|_| format!("--shutdown-grace: {text:?} is not a number of seconds"))?;
                if !(0.0..=3600.0).contains(&secs) {
                    return Err(format!("--shutdown-grace: {text} is outside 0..3600 seconds"));
                }
                config.shutdown_grace = Duration::from_secs_f64(secs);
            }
            "allow" => config.allow = parse_allow(&string_value(p, "--allow")?).map_err(|e| format!("--allow: {e}"))?,
            "no-discovery" => config.discovery = false,
            "host-root" => config.host_root = PathBuf::from(string_value(p, "--host-root")?),
            "metrics" => config.metrics = Some(parse_addr("--metrics", &string_value(p, "--metrics")?)?),
            "key" => config.key_file = Some(PathBuf::from(string_value(p, "--key")?)),
            "max-connections" => config.limits.max_connections = count(p, "--max-connections")?,
            "max-unfinished" => config.limits.max_unfinished = count(p, "--max-unfinished")?,
            "max-unfinished-per-address" => {
                config.limits.max_unfinished_per_address = count(p, "--max-unfinished-per-address")?
            }
            "max-jobs-per-connection" => config.limits.max_jobs_per_connection = count(p, "--max-jobs-per-connection")?,
            "max-jobs" => config.limits.max_jobs = count(p, "--max-jobs")?,
            "max-job-input" => {
                let text = string_value(p, "--max-job-input")?;
                config.limits.max_job_input =
                    parse_size(&text).ok_or_else(|| format!("--max-job-input: {text:?} is not a size like 64G"))?;
            }
            "handshake-timeout" => config.limits.handshake_timeout = secs(p, "--handshake-timeout")?,
            "frame-timeout" => config.limits.frame_timeout = secs(p, "--frame-timeout")?,
            "idle-timeout" => config.limits.idle_timeout = secs(p, "--idle-timeout")?,
            "job-dir" => {
                let dir = PathBuf::from(string_value(p, "--job-dir")?);
                if !job_dirs_given {
                    config.job_dirs.clear();
                    job_dirs_given = true;
                }
                config.job_dirs.push(dir);
            }
            "exec-timeout" => config.exec_timeout = secs(p, "--exec-timeout")?,
            "exec-memory" => {
                let text = string_value(p, "--exec-memory")?;
                config.exec_memory = parse_size(&text)
                    .filter(|&b| b >= 1 << 20)
                    .ok_or_else(|| format!("--exec-memory: {text:?} is not a size of at least 1M, like 512M"))?;
            }
            "max-job-memory" => config.memory.max_job_memory = Some(budget(p, "--max-job-memory")?),
            "max-memory" => config.memory.max_memory = Some(budget(p, "--max-memory")?),
            "version" => return Ok(Command::Version),
            "help" => return Ok(Command::Help),
            "generate" => {
                let text = string_value(p, "--generate")?;
                let kind = Generate::parse(&text).ok_or_else(|| {
                    format!("--generate: {text:?} is not one of {}", flags::GENERATE_KINDS.join(", "))
                })?;
                return Ok(Command::Generate(kind));
            }
            // A table entry this loop forgot: the drift test catches it
            // before a user can.
            other => return Err(format!("--{other} is in the flag table but piworker does not handle it")),
        }
    }
    Ok(Command::Run(config))
}

/// A whole number of at least 1.
fn count(parser: &mut lexopt::Parser, flag: &str) -> Result<usize, String> {
    let text = string_value(parser, flag)?;
    text.parse::<usize>()
        .ok()
        .filter(|&n| n >= 1)
        .ok_or_else(|| format!("{flag}: {text:?} is not a whole number of at least 1"))
}

/// A memory budget: a size of at least 1M.
fn budget(parser: &mut lexopt::Parser, flag: &str) -> Result<u64, String> {
    let text = string_value(parser, flag)?;
    parse_size(&text)
        .filter(|&b| b >= crate::jobs::memory::MIN_BUDGET)
        .ok_or_else(|| format!("{flag}: {text:?} is not a size of at least 1M, like 256M"))
}

/// Seconds, more than 0 and at most a day.
fn secs(parser: &mut lexopt::Parser, flag: &str) -> Result<Duration, String> {
    let text = string_value(parser, flag)?;
    let v: f64 = text.parse().map_err(|_| format!("{flag}: {text:?} is not a number of seconds"))?;
    if !(v > 0.0 && v <= 86_400.0) {
        return Err(format!("{flag}: {text} is outside 0..86400 seconds"));
    }
    Ok(Duration::from_secs_f64(v))
}

fn string_value(parser: &mut lexopt::Parser, flag: &str) -> Result<String, String> {
    let value = parser.value().map_err(|e| e.to_string())?;
    value.into_string().map_err(|v| format!("{flag}: {v:?} is not valid UTF-8"))
}

/// `ADDR:PORT`, `HOST:PORT` or a bare `:PORT` (all interfaces).
pub fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    parse_addr("--listen", text)
}

/// `ADDR:PORT`, `HOST:PORT` or a bare `:PORT` for `flag`, named in errors.
fn parse_addr(flag: &str, text: &str) -> Result<SocketAddr, String> {
    if let Some(port) = text.strip_prefix(':') {
        let port: u16 = port.parse().map_err(|_| format!("{flag}: {port:?} is not a port number"))?;
        return Ok(SocketAddr::from(([0, 0, 0, 0], port)));
    }
    let mut addrs =
        text.to_socket_addrs().map_err(|e| format!("{flag}: cannot use {text:?}: {e} (expected ADDR:PORT)"))?;
    addrs.next().ok_or_else(|| format!("{flag}: {text:?} resolves to no address"))
}

/// One line for the log that says how the daemon was configured.
pub fn describe(config: &Config, threads: usize) -> String {
    format!(
        "{} compute threads, max frame {}, shutdown grace {:?}, allow {}, {}",
        threads,
        human_bytes(config.max_frame as u64),
        config.shutdown_grace,
        super::allow::describe(&config.allow),
        if config.key_file.is_some() { "cluster key required" } else { "no cluster key" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Config, String> {
        match parse_args(args.iter().map(|s| s.into()))? {
            Command::Run(c) => Ok(c),
            _ => Err("not run".into()),
        }
    }

    #[test]
    fn defaults_and_flags() {
        let c = run(&[]).unwrap();
        assert_eq!(c.listen.to_string(), "0.0.0.0:31415");
        assert_eq!(c.job_dirs, [PathBuf::from("/etc/piworker/jobs.d"), PathBuf::from("/usr/lib/piworker/jobs")]);
        let c = run(&["--job-dir", "/a", "--job-dir", "/b", "--exec-memory", "64M", "--exec-timeout", "5"]).unwrap();
        assert_eq!(c.job_dirs, [PathBuf::from("/a"), PathBuf::from("/b")]);
        assert_eq!((c.exec_memory, c.exec_timeout), (64 << 20, Duration::from_secs(5)));
        assert!(run(&["--exec-memory", "10K"]).unwrap_err().contains("at least 1M"));
        let c = run(&["--listen", "127.0.0.1:9000", "--threads", "2", "--max-frame", "64K"]).unwrap();
        assert_eq!((c.listen.port(), c.threads, c.max_frame), (9000, Some(2), 65536));
        assert_eq!(run(&["--listen", ":7"]).unwrap().listen.to_string(), "0.0.0.0:7");
        let l = run(&[]).unwrap().limits;
        assert_eq!((l.max_connections, l.max_unfinished, l.max_unfinished_per_address), (1024, 256, 16));
        let l = run(&["--max-unfinished", "9", "--max-unfinished-per-address", "3"]).unwrap().limits;
        assert_eq!((l.max_unfinished, l.max_unfinished_per_address), (9, 3));
    }

    #[test]
    fn mistakes_are_named() {
        assert_eq!(run(&["--threads", "0"]).unwrap_err(), "--threads: must be at least 1");
        assert!(run(&["--max-frame", "12Q"]).unwrap_err().contains("not a size"));
        assert!(run(&["--listen", "nonsense"]).unwrap_err().contains("--listen"));
        assert!(run(&["--metrics", "nonsense"]).unwrap_err().starts_with("--metrics: cannot use \"nonsense\""));
        assert_eq!(
            run(&["--metrics", ":9100"]).unwrap().metrics.map(|a| a.to_string()).as_deref(),
            Some("0.0.0.0:9100")
        );
        assert_eq!(run(&[]).unwrap().metrics, None);
        assert!(run(&["--frobnicate"]).unwrap_err().contains("--frobnicate"));
        assert_eq!(run(&["--max-frme", "1M"]).unwrap_err(), "unknown option --max-frme (did you mean --max-frame?)");
        assert_eq!(run(&["-x"]).unwrap_err(), "unknown option -x");
        assert_eq!(run(&["stray"]).unwrap_err(), "unexpected argument \"stray\"");
        assert!(run(&["--generate", "troff"]).unwrap_err().contains("--generate: \"troff\" is not one of man, bash"));
        let e = run(&["--max-unfinished-per-address", "0"]).unwrap_err();
        assert_eq!(e, "--max-unfinished-per-address: \"0\" is not a whole number of at least 1");
        assert!(run(&["--max-job-memory", "100K"]).unwrap_err().contains("--max-job-memory: \"100K\" is not a size"));
        let c = run(&["--max-job-memory", "64M", "--max-memory", "1G"]).unwrap();
        assert_eq!(c.memory, MemoryFlags { max_job_memory: Some(64 << 20), max_memory: Some(1 << 30) });
    }
}
