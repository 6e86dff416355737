//! piworker's command line: parsed into a `Config`, kept apart from the
//! code that uses it.

use super::allow::{parse_allow, Cidr, DEFAULT_ALLOW};
use super::memory::MemoryFlags;
use crate::jobs::jobdir::DEFAULT_DIRS;
use crate::protocol::frame::{human_bytes, DEFAULT_MAX_FRAME};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

/// The port piworker listens on unless told otherwise (31415: π).
pub const DEFAULT_PORT: u16 = 31415;
/// Smallest `--max-frame` that still leaves room for real jobs.
const MIN_MAX_FRAME: u64 = 4096;

pub const HELP: &str = "\
piworker: the compute daemon of a Raspberry Pi cluster

Serves length-framed binary jobs over TCP (see docs/PROTOCOL.md) on one
event-loop thread and runs them on one pinned compute thread per CPU.
Jobs come from `pisubmit` on the head node.

USAGE:
    piworker [OPTIONS]

OPTIONS:
    --listen ADDR:PORT    Address to listen on [default: 0.0.0.0:31415]
                          (all IPv4 interfaces; use [::]:31415 for IPv6 too)
    --threads N           Compute threads [default: one per CPU in the
                          process's affinity mask, so taskset and systemd's
                          CPUAffinity= are honoured]; N may only be fewer
    --max-frame BYTES     Largest frame payload accepted [default: 16M];
                          suffixes K, M, G (powers of 1024). Larger job
                          input travels as several frames, so this limits
                          memory per frame, not job size
    --shutdown-grace SECS On SIGTERM/SIGINT, let running jobs finish for this
                          long before cancelling them; a second signal
                          cancels them at once [default: 10]

ACCESS:
    --allow CIDR,...      Peers that may connect; others are closed before a
                          byte is read [default: loopback, 10.0.0.0/8,
                          172.16.0.0/12, 192.168.0.0/16, link-local, fc00::/7;
                          `any` for all]
    --key FILE            Require the cluster key in FILE (HMAC-SHA256
                          challenge-response; the key never crosses the wire;
                          no encryption). FILE must not be world-readable
    --no-discovery        Do not answer `pisubmit discover` (UDP probes on
                          the --listen address and port; answers go only to
                          --allow peers, are never larger than the probe,
                          and are capped at 200 a second)

STATUS (`pisubmit status`, `pisubmit doctor`):
    --host-root DIR       Read /proc and /sys under DIR instead of / (for
                          a container that mounts the host there, and for
                          tests) [default: /]

LIMITS (each logged when hit):
    --max-connections N   Connections that finished the handshake, at once;
                          past it a newcomer gets a Busy error and is closed
                          (pisubmit waits and tries again); never dropped
                          to make room for anything [default: 1024]
    --max-unfinished N    Connections still in their handshake (Hello, and
                          the key), at once; when full, the oldest of them
                          is dropped to make room, so a flood cannot lock
                          heads out. Each costs about 9 KiB [default: 256]
    --max-unfinished-per-address N  Of those, from one address (an IPv6
                          /64); past it that address's own oldest is
                          dropped [default: 16]
    --max-jobs-per-connection N  Jobs running per connection; past it the
                          worker stops reading that connection [default: 64]
    --max-jobs N          Jobs running in all [default: 4096]
    --max-job-input BYTES Input one job may stream [default: 64G]
    --handshake-timeout SECS  Time to complete Hello (and the key); an
                          unfinished connection is closed after it [default: 5]
    --frame-timeout SECS  Time a frame may take to arrive, plus one second
                          per MiB of it: slow senders are dropped [default: 10]
    --idle-timeout SECS   Close connections with no job and no frame for
                          this long [default: 300]
    --job-dir DIR         Where job programs are (repeatable; the first
                          directory with a name wins) [default:
                          /etc/piworker/jobs.d, then /usr/lib/piworker/jobs]
    --exec-timeout SECS   Longest a job program may run for one piece;
                          a client may ask for less [default: 3600]
    --exec-memory BYTES   Address space a job program may use (RLIMIT_AS);
                          a client may ask for less [default: 1G]

MEMORY (checked before a job allocates; a refusal names the flag):
    --max-job-memory BYTES  Most one job may allocate, counted as it is
                          laid out (a life row is whole 64-bit words, plus
                          ghost rows and a kernel buffer per thread's band)
                          [default: a quarter of --max-memory]
    --max-memory BYTES    Most all running jobs together may hold; a job
                          that does not fit now is refused, try again
                          later [default: half of MemTotal, at most 1G on
                          a 32-bit build]

OTHER:
    -V, --version         Print the version and exit
    -h, --help            Print this help and exit

JOB PROGRAMS:
    A client names a program by its file name only (letters, digits, _ . -).
    It runs with a clean environment (PATH and PIW_JOB, PIW_PIECE,
    PIW_START, PIW_END, PIW_THREADS), the piece's input on stdin, its
    stdout streamed back; it holds one compute thread, and is killed with
    its children on cancel, timeout or client loss. Files writable by group
    or others, in a directory writable by others, or symlinks leading out
    of their directory are refused.

ENVIRONMENT:
    RUST_LOG              Log filter: error, warn, info (default), debug
                          (each connection and job), trace

EXIT STATUS:
    0  stopped by SIGTERM or SIGINT
    1  could not start (port in use, no permission, ...)
    2  bad command line
";

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
}

pub fn parse_args(args: impl IntoIterator<Item = std::ffi::OsString>) -> Result<Command, String> {
    use lexopt::prelude::*;
    let mut config = Config::default();
    // The first --job-dir replaces the default directories.
    let mut job_dirs_given = false;
    let mut parser = lexopt::Parser::from_iter(std::iter::once("piworker".into()).chain(args));
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Long("listen") => {
                let text = string_value(&mut parser, "--listen")?;
                config.listen = parse_listen(&text)?;
            }
            Long("threads") => {
                let text = string_value(&mut parser, "--threads")?;
                let n: usize = text.parse().map_err(|_| format!("--threads: {text:?} is not a whole number"))?;
                if n == 0 {
                    return Err("--threads: must be at least 1".into());
                }
                config.threads = Some(n);
            }
            Long("max-frame") => {
                let text = string_value(&mut parser, "--max-frame")?;
                let bytes = parse_size(&text).ok_or_else(|| format!("--max-frame: {text:?} is not a size like 16M"))?;
                if !(MIN_MAX_FRAME..=u32::MAX as u64).contains(&bytes) {
                    return Err(format!("--max-frame: {text} is outside 4K..4G"));
                }
                config.max_frame = bytes as u32;
            }
            Long("shutdown-grace") => {
                let text = string_value(&mut parser, "--shutdown-grace")?;
                let secs: f64 =
                    text.parse().map_err(|_| format!("--shutdown-grace: {text:?} is not a number of seconds"))?;
                if !(0.0..=3600.0).contains(&secs) {
                    return Err(format!("--shutdown-grace: {text} is outside 0..3600 seconds"));
                }
                config.shutdown_grace = Duration::from_secs_f64(secs);
            }
            Long("allow") => {
                config.allow =
                    parse_allow(&string_value(&mut parser, "--allow")?).map_err(|e| format!("--allow: {e}"))?
            }
            Long("no-discovery") => config.discovery = false,
            Long("host-root") => config.host_root = PathBuf::from(string_value(&mut parser, "--host-root")?),
            Long("key") => config.key_file = Some(PathBuf::from(string_value(&mut parser, "--key")?)),
            Long("max-connections") => config.limits.max_connections = count(&mut parser, "--max-connections")?,
            Long("max-unfinished") => config.limits.max_unfinished = count(&mut parser, "--max-unfinished")?,
            Long("max-unfinished-per-address") => {
                config.limits.max_unfinished_per_address = count(&mut parser, "--max-unfinished-per-address")?
            }
            Long("max-jobs-per-connection") => {
                config.limits.max_jobs_per_connection = count(&mut parser, "--max-jobs-per-connection")?
            }
            Long("max-jobs") => config.limits.max_jobs = count(&mut parser, "--max-jobs")?,
            Long("max-job-input") => {
                let text = string_value(&mut parser, "--max-job-input")?;
                config.limits.max_job_input =
                    parse_size(&text).ok_or_else(|| format!("--max-job-input: {text:?} is not a size like 64G"))?;
            }
            Long("handshake-timeout") => config.limits.handshake_timeout = secs(&mut parser, "--handshake-timeout")?,
            Long("frame-timeout") => config.limits.frame_timeout = secs(&mut parser, "--frame-timeout")?,
            Long("idle-timeout") => config.limits.idle_timeout = secs(&mut parser, "--idle-timeout")?,
            Long("job-dir") => {
                let dir = PathBuf::from(string_value(&mut parser, "--job-dir")?);
                if !job_dirs_given {
                    config.job_dirs.clear();
                    job_dirs_given = true;
                }
                config.job_dirs.push(dir);
            }
            Long("exec-timeout") => config.exec_timeout = secs(&mut parser, "--exec-timeout")?,
            Long("exec-memory") => {
                let text = string_value(&mut parser, "--exec-memory")?;
                config.exec_memory = parse_size(&text)
                    .filter(|&b| b >= 1 << 20)
                    .ok_or_else(|| format!("--exec-memory: {text:?} is not a size of at least 1M, like 512M"))?;
            }
            Long("max-job-memory") => config.memory.max_job_memory = Some(budget(&mut parser, "--max-job-memory")?),
            Long("max-memory") => config.memory.max_memory = Some(budget(&mut parser, "--max-memory")?),
            Short('V') | Long("version") => return Ok(Command::Version),
            Short('h') | Long("help") => return Ok(Command::Help),
            other => return Err(other.unexpected().to_string()),
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
    if let Some(port) = text.strip_prefix(':') {
        let port: u16 = port.parse().map_err(|_| format!("--listen: {port:?} is not a port number"))?;
        return Ok(SocketAddr::from(([0, 0, 0, 0], port)));
    }
    let mut addrs =
        text.to_socket_addrs().map_err(|e| format!("--listen: cannot use {text:?}: {e} (expected ADDR:PORT)"))?;
    addrs.next().ok_or_else(|| format!("--listen: {text:?} resolves to no address"))
}

/// "4096", "64K", "16M", "1G", "16MiB" (powers of 1024).
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let digits_end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(digits_end);
    let n: u64 = num.parse().ok()?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return None,
    };
    n.checked_mul(1 << shift)
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
        assert!(run(&["--frobnicate"]).unwrap_err().contains("--frobnicate"));
        let e = run(&["--max-unfinished-per-address", "0"]).unwrap_err();
        assert_eq!(e, "--max-unfinished-per-address: \"0\" is not a whole number of at least 1");
        assert!(run(&["--max-job-memory", "100K"]).unwrap_err().contains("--max-job-memory: \"100K\" is not a size"));
        let c = run(&["--max-job-memory", "64M", "--max-memory", "1G"]).unwrap();
        assert_eq!(c.memory, MemoryFlags { max_job_memory: Some(64 << 20), max_memory: Some(1 << 30) });
    }
}
