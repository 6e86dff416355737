//! pisubmit's command line, parsed into `Global` options and a `Command`. Checks values as
//! it goes, so every mistake is named with the flag it came from.

pub mod exec;
pub mod life;
pub mod tools;

use crate::submit::cluster::connect::Reach;
use crate::submit::cluster::engine::PieceTimeout;
use crate::submit::cluster::hosts::{parse_hosts, HostSpec};
use crate::submit::error::SubmitError;
use crate::submit::plans::JobSpec;

use crate::jobs::{loopsum, reduce};
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub const HELP: &str = "\
pisubmit: run a job on every core of every piworker

USAGE:
    pisubmit [--hosts SPEC] [--json] [--timeout SECS] JOB [JOB OPTIONS]
    pisubmit [--hosts SPEC] [--json] status|doctor|bench ...
    pisubmit [--hosts SPEC] [--json] life --generations G ...
    pisubmit [--hosts SPEC] exec NAME --range A..B | --lines FILE | < tasks
    pisubmit discover [--subnet CIDR]

The job is cut into pieces; each worker keeps a few in flight and splits
each piece over its compute threads. Answers are gathered and combined
exactly, so they do not depend on how many hosts or threads took part.

OPTIONS:
    --hosts SPEC          Workers: host[:port][/threads],...  or  @FILE
                          (one host per line, # comments). The default port
                          is 31415; /threads uses fewer of a worker's threads.
                          [default: $PISUBMIT_HOSTS]
    --json                Print exactly one JSON object on stdout
    --timeout SECS        Give up if the job has not finished by then
    --connect-timeout SECS  How long to keep trying while no worker is
                          usable: at the start, and mid-job once all are
                          lost. A worker that refuses or resets the
                          connection, or is at its connection limit, is
                          tried again with backoff until then [default: 5];
                          the others join when they answer, also mid-job
    --heartbeat-timeout SECS  A worker silent this long (hung, unplugged) is
                          lost and its pieces go to the others [default: 3]
    --retries N           A piece that failed on N different workers fails
                          the job [default: 3]
    --piece-timeout SECS|N%  Re-run a piece elsewhere when it takes longer
                          than SECS, or than N% of the median piece time
                          (e.g. 300%) [default: none]
    --key FILE            The cluster key, when the workers run with --key
                          [default: $PISUBMIT_KEY, a file name]
    --quiet               No progress bar (it is drawn on stderr only when
                          stderr is a terminal)
    -V, --version         Print the version and exit
    -h, --help            Print this help and exit

JOBS:
    loopsum [--t-range A..B] [--u-len L] [--c C]
                          Sum of t*u*c for t in A..B, u in 0..L
                          [defaults: 0..4001, 4001, 1.0]; rows are summed
                          in order, then added exactly and rounded once
    pi --samples N [--seed S]
                          Monte Carlo estimate of pi from N darts [seed: 1]
    primes --from A --to B [--output FILE]
                          Count the primes in [A, B] (B <= 2^40) and find the
                          largest; --output writes them, sorted, one per line
    powers --nums X1,X2,... --exps P1,P2,...
                          X^P for every number and exponent, one row per P
    reduce --op sum|min|max|count --input FILE [--dtype f64|i64|text]
                          Fold a file of big-endian 8-byte values, or of text
                          with one number per line [dtype: text]. An f64 or
                          text sum is the exact sum rounded once (ties to
                          even), whatever the order or the split; any NaN,
                          or +inf with -inf, gives NaN, else an inf gives it
    echo --bytes N        Send N bytes through the workers and check them
    ping                  Version, hostname, arch, threads and round trip
                          of each worker
    farm [--ordered|--unordered] spin
                          A task farm: one task per stdin line, read as the
                          lines arrive, each run as soon as a core is free.
                          A spin task line is `MILLISECONDS [TEXT]`: it keeps
                          one core busy that long and returns the line.
                          Results print in input order (--ordered, the
                          default) or as they finish (--unordered)

    life --generations G (--input FILE | --random DENSITY [--seed S])
         [--width W] [--height H] [--wrap|--dead] [--output FILE]
         [--frames DIR] [--every N] [--scale PX] [--show] [--delay MS]
         [--exchange-every K] [--checkpoint-every N|SECSs|off]
                          Conway's Game of Life on one board cut into strips
                          over every worker (in proportion to threads). The
                          start: an RLE (Golly, LifeWiki) or .cells file,
                          centred, or random cells [seed 1]. Size: W x H, or
                          the file's Golly grid (B3/S23:T512,512), or twice
                          the pattern and at least 512. Edges wrap (torus,
                          default) or are dead. Borders are exchanged every
                          K generations [measured]. The head checkpoints the
                          board [every 10s]; a lost worker's strip is rebuilt
                          from it on the hosts left. --output writes the final
                          board as RLE; --frames writes PNGs every N
                          generations [1]; --show draws the board on stderr.
                          JSON: result = population, hash = board SHA-256

    exec NAME [--range A..B [--pieces K] | --lines FILE [--block N]]
         [--ordered|--unordered] [--output FILE]
         [--time-limit SECS] [--memory-limit BYTES]
                          Run a job program installed on the workers (see
                          `pisubmit jobs`) once per piece, one core each:
                          pieces of the range A..B (B excluded; K pieces
                          [4 per thread]), blocks of N lines of FILE [1] on
                          the program's stdin, or with neither, one piece
                          per stdin line as lines arrive (a task farm). The
                          program sees PIW_JOB, PIW_PIECE, PIW_START and
                          PIW_END (the range, or line numbers from 1, end
                          excluded). Outputs in piece order [--ordered] or as
                          pieces finish. A piece whose program fails runs
                          on another worker, up to --retries. The workers
                          cap the limits (piworker --exec-timeout and
                          --exec-memory). The report goes to stderr;
                          --json needs --output

CLUSTER TOOLS:
    status [--watch] [--every SECS] [--wait SECS]
                          One coloured square per host (blue 40 C to red
                          80 C; grey: no sensor): name, temperature, load,
                          T/V/t marks for throttled, under-voltage, throttled
                          since boot, X for a host that does not answer.
                          --watch redraws every --every seconds [3] until
                          Ctrl-C; --json gives every fact (null where a host
                          lacks it: no sensor is not 0 C). --wait: how long
                          a host has to answer [2]
    discover [--subnet CIDR,...] [--port P|A-B] [--wait SECS]
                          Find workers by a UDP broadcast on their port
                          [31415] to each subnet (default: every IPv4
                          interface's network); prints a hosts file, and
                          warns about workers of another version
    doctor [--wait SECS]  Check every host for what breaks clusters, each
                          with a fix: closed or filtered port, not a
                          piworker, version skew, clock skew, a name that
                          resolves to loopback, listening on loopback only,
                          throttling, under-voltage, heat, sysctls below
                          the package's, a worker listed twice, mixed
                          architectures (a note). Exit 1 if it finds any
    jobs                  The job programs on each worker with their
                          SHA-256; flags hosts whose copy differs or is
                          missing or refused (exit 1)
    bench [--cores N,N,...] [--repeat R] [--svg FILE] JOB [JOB OPTIONS]
                          A scaling study: JOB on 1, 2, 4, ... cores (taken
                          host by host), R runs each [3]: wall time,
                          speed-up, efficiency; --svg draws the speed-up
                          against the ideal line

EXIT STATUS:
    0  done
    1  the job failed (bad data, a piece failed on --retries workers,
       no worker left, --timeout), or doctor found problems
    2  bad command line, or no worker could be reached at the start
    130  interrupted (SIGINT/SIGTERM); the workers cancel its pieces

Workers that die, hang or drop off the network mid-job lose their pieces
to the others; the answer is the same bits as with no failure.

EXAMPLES:
    pisubmit --hosts pi1,pi2,pi3,pi4 loopsum
    pisubmit --hosts @pi_list.txt primes --from 1 --to 1000000000
    PISUBMIT_HOSTS=127.0.0.1:31416 pisubmit --json pi --samples 1000000
    pisubmit discover --subnet 192.168.1.0/24 > pi_list.txt
    pisubmit --hosts @pi_list.txt status --watch
    pisubmit --hosts @pi_list.txt bench --cores 1,2,4,8,16,32 --svg speedup.svg pi --samples 1e9
    pisubmit --hosts @pi_list.txt life --input acorn.rle --generations 5206
    pisubmit --hosts @pi_list.txt exec primes --range 1..10000000 --pieces 64
";

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

pub(super) fn usage(msg: impl Into<String>) -> SubmitError {
    SubmitError::Usage(msg.into())
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
pub(super) fn parse_job(name: &str, parser: &mut lexopt::Parser) -> Result<JobSpec, SubmitError> {
    Ok(match name {
        "loopsum" => parse_loopsum(parser)?,
        "pi" => parse_pi(parser)?,
        "primes" => parse_primes(parser)?,
        "powers" => parse_powers(parser)?,
        "reduce" => parse_reduce(parser)?,
        "echo" => parse_echo(parser)?,
        "farm" => parse_farm(parser)?,
        "ping" => {
            if let Some(arg) = parser.next().map_err(|e| usage(e.to_string()))? {
                return Err(usage(format!("ping: {}", arg.unexpected())));
            }
            JobSpec::Ping
        }
        other => {
            return Err(usage(format!(
                "unknown job {other:?}: expected loopsum, pi, primes, powers, reduce, echo, ping or farm \
                 (or status, discover, doctor, bench)"
            )))
        }
    })
}

pub(super) fn text(parser: &mut lexopt::Parser, flag: &str) -> Result<String, SubmitError> {
    let v = parser.value().map_err(|e| usage(e.to_string()))?;
    v.into_string().map_err(|v| usage(format!("{flag}: {v:?} is not valid UTF-8")))
}

pub(super) fn number<T: std::str::FromStr>(s: &str, flag: &str, what: &str) -> Result<T, SubmitError> {
    s.trim().replace('_', "").parse().map_err(|_| usage(format!("{flag}: {s:?} is not {what}")))
}

/// Accepts plain integers and forms like 1e9 or 10^8 for big counts.
pub(super) fn count(s: &str, flag: &str) -> Result<u64, SubmitError> {
    let t = s.trim().replace('_', "");
    if let Ok(n) = t.parse::<u64>() {
        return Ok(n);
    }
    let pow = |base: &str, exp: &str| -> Option<u64> {
        let (b, e): (u64, u32) = (base.parse().ok()?, exp.parse().ok()?);
        b.checked_pow(e)
    };
    let parsed = if let Some((m, e)) = t.split_once(['e', 'E']) {
        pow("10", e).and_then(|p| m.parse::<u64>().ok()?.checked_mul(p))
    } else if let Some((b, e)) = t.split_once('^') {
        pow(b, e)
    } else {
        None
    };
    parsed.ok_or_else(|| usage(format!("{flag}: {s:?} is not a whole number (e.g. 1000000, 1e6, 10^6)")))
}

pub(super) fn seconds(s: &str, flag: &str) -> Result<Duration, SubmitError> {
    let v: f64 = number(s, flag, "a number of seconds")?;
    if !(v > 0.0 && v < 1e7) {
        return Err(usage(format!("{flag}: {s} must be a positive number of seconds")));
    }
    Ok(Duration::from_secs_f64(v))
}

fn list(s: &str, flag: &str) -> Result<Vec<f64>, SubmitError> {
    s.split(',').map(str::trim).filter(|x| !x.is_empty()).map(|x| number::<f64>(x, flag, "a number")).collect()
}

pub(super) fn next_flag(parser: &mut lexopt::Parser, job: &str) -> Result<Option<String>, SubmitError> {
    use lexopt::prelude::*;
    match parser.next().map_err(|e| usage(e.to_string()))? {
        None => Ok(None),
        Some(Long(name)) => Ok(Some(name.to_string())),
        Some(other) => Err(usage(format!("{job}: {}", other.unexpected()))),
    }
}

pub(super) fn unknown(job: &str, flag: &str) -> SubmitError {
    usage(format!("{job}: unknown option --{flag} (see pisubmit --help)"))
}

fn parse_loopsum(p: &mut lexopt::Parser) -> Result<JobSpec, SubmitError> {
    let mut params = loopsum::Params { t0: 0, t1: 4001, u_len: 4001, c: 1.0 };
    while let Some(flag) = next_flag(p, "loopsum")? {
        match flag.as_str() {
            "t-range" => {
                let v = text(p, "--t-range")?;
                let (a, b) = v.split_once("..").ok_or_else(|| usage(format!("--t-range: {v:?} is not A..B")))?;
                params.t0 = number(a, "--t-range", "an integer")?;
                params.t1 = number(b, "--t-range", "an integer")?;
            }
            "u-len" => params.u_len = number(&text(p, "--u-len")?, "--u-len", "an integer")?,
            "c" => params.c = number(&text(p, "--c")?, "--c", "a number")?,
            other => return Err(unknown("loopsum", other)),
        }
    }
    params.validate().map_err(|e| usage(e.message))?;
    Ok(JobSpec::Loopsum(params))
}

fn parse_pi(p: &mut lexopt::Parser) -> Result<JobSpec, SubmitError> {
    let (mut samples, mut seed) = (None, 1);
    while let Some(flag) = next_flag(p, "pi")? {
        match flag.as_str() {
            "samples" => samples = Some(count(&text(p, "--samples")?, "--samples")?),
            "seed" => seed = count(&text(p, "--seed")?, "--seed")?,
            other => return Err(unknown("pi", other)),
        }
    }
    let samples = samples.ok_or_else(|| usage("pi: --samples N is required"))?;
    if samples == 0 {
        return Err(usage("pi: --samples must be at least 1 (zero samples estimate nothing)"));
    }
    Ok(JobSpec::Pi { samples, seed })
}

fn parse_primes(p: &mut lexopt::Parser) -> Result<JobSpec, SubmitError> {
    let (mut a, mut b, mut output) = (None, None, None);
    while let Some(flag) = next_flag(p, "primes")? {
        match flag.as_str() {
            "from" => a = Some(count(&text(p, "--from")?, "--from")?),
            "to" => b = Some(count(&text(p, "--to")?, "--to")?),
            "output" => output = Some(PathBuf::from(text(p, "--output")?)),
            other => return Err(unknown("primes", other)),
        }
    }
    let a = a.ok_or_else(|| usage("primes: --from A is required"))?;
    let b = b.ok_or_else(|| usage("primes: --to B is required"))?;
    crate::jobs::primes::Params { a, b, list: false }.validate().map_err(|e| usage(e.message))?;
    Ok(JobSpec::Primes { a, b, output })
}

fn parse_powers(p: &mut lexopt::Parser) -> Result<JobSpec, SubmitError> {
    let (mut nums, mut exps) = (None, None);
    while let Some(flag) = next_flag(p, "powers")? {
        match flag.as_str() {
            "nums" => nums = Some(list(&text(p, "--nums")?, "--nums")?),
            "exps" => exps = Some(list(&text(p, "--exps")?, "--exps")?),
            other => return Err(unknown("powers", other)),
        }
    }
    let nums = nums.filter(|n| !n.is_empty()).ok_or_else(|| usage("powers: --nums X1,X2,... is required"))?;
    let exps = exps.filter(|e| !e.is_empty()).ok_or_else(|| usage("powers: --exps P1,P2,... is required"))?;
    if nums.len() > crate::jobs::powers::MAX_VALUES {
        return Err(usage(format!("powers: at most {} numbers", crate::jobs::powers::MAX_VALUES)));
    }
    Ok(JobSpec::Powers { nums, exps })
}

fn parse_reduce(p: &mut lexopt::Parser) -> Result<JobSpec, SubmitError> {
    let (mut op, mut input, mut dtype) = (None, None, reduce::DType::Text);
    while let Some(flag) = next_flag(p, "reduce")? {
        match flag.as_str() {
            "op" => {
                let v = text(p, "--op")?;
                op = Some(
                    reduce::Op::parse(&v).ok_or_else(|| usage(format!("--op: {v:?} is not sum, min, max or count")))?,
                );
            }
            "dtype" => {
                let v = text(p, "--dtype")?;
                dtype =
                    reduce::DType::parse(&v).ok_or_else(|| usage(format!("--dtype: {v:?} is not f64, i64 or text")))?;
            }
            "input" => input = Some(PathBuf::from(text(p, "--input")?)),
            other => return Err(unknown("reduce", other)),
        }
    }
    let op = op.ok_or_else(|| usage("reduce: --op sum|min|max|count is required"))?;
    let input = input.ok_or_else(|| usage("reduce: --input FILE is required"))?;
    Ok(JobSpec::Reduce { op, dtype, input })
}

/// `SECS` or `N%` (of the median piece time).
fn parse_piece_timeout(v: &str) -> Result<PieceTimeout, SubmitError> {
    if let Some(pct) = v.trim().strip_suffix('%') {
        let pct: f64 = number(pct, "--piece-timeout", "a percentage")?;
        if !(pct >= 100.0 && pct.is_finite()) {
            return Err(usage(format!("--piece-timeout: {v} must be at least 100% of the median piece time")));
        }
        return Ok(PieceTimeout::OfMedian(pct / 100.0));
    }
    Ok(PieceTimeout::Absolute(seconds(v, "--piece-timeout")?))
}

fn parse_farm(p: &mut lexopt::Parser) -> Result<JobSpec, SubmitError> {
    use lexopt::prelude::*;
    let mut ordered = true;
    let mut kind = None;
    while let Some(arg) = p.next().map_err(|e| usage(e.to_string()))? {
        match arg {
            Long("ordered") => ordered = true,
            Long("unordered") => ordered = false,
            Value(v) if kind.is_none() => kind = Some(v.to_string_lossy().into_owned()),
            other => return Err(usage(format!("farm: {}", other.unexpected()))),
        }
    }
    match kind.as_deref() {
        Some("spin") => Ok(JobSpec::Farm { ordered }),
        Some(other) => Err(usage(format!("farm: unknown task kind {other:?}; the farm runs `spin` tasks"))),
        None => Err(usage("farm: name the task kind (spin)")),
    }
}

fn parse_echo(p: &mut lexopt::Parser) -> Result<JobSpec, SubmitError> {
    let mut bytes = None;
    while let Some(flag) = next_flag(p, "echo")? {
        match flag.as_str() {
            "bytes" => bytes = Some(count(&text(p, "--bytes")?, "--bytes")?),
            other => return Err(unknown("echo", other)),
        }
    }
    let bytes = bytes.ok_or_else(|| usage("echo: --bytes N is required"))?;
    Ok(JobSpec::Echo { bytes })
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
