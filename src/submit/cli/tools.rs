//! The command lines of pisubmit's cluster tools (`status`, `discover`,
//! `doctor`, `bench`, `hosts`): everything after the tool's name.

use crate::protocol::DEFAULT_PORT;
use crate::submit::cli::args::{next_flag as flags, text, Args, Next};
use crate::submit::cli::exec::parse_exec;
use crate::submit::cli::jobs::parse_job;
use crate::submit::cli::life::parse_life;
use crate::submit::cli::predict::{
    parse_core_speed, parse_cores_per_host, parse_hosts_count, parse_link, parse_rtt, PredictOpts,
};
use crate::submit::cli::table::BENCH_JOBS;
use crate::submit::cli::values::{number, seconds, unknown, usage};
use crate::submit::error::SubmitError;
use crate::submit::plans::exec::ExecOpts;
use crate::submit::plans::life::LifeOpts;
use crate::submit::plans::JobSpec;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

pub struct StatusOpts {
    /// Redraw every this often until Ctrl-C.
    pub watch: Option<Duration>,
    /// How long a host has to answer.
    pub wait: Duration,
    /// With --serve: how often the page's survey runs.
    pub serve_every: Duration,
}

pub struct DiscoverOpts {
    /// Networks to probe (their broadcast address); empty: every IPv4
    /// interface's broadcast address.
    pub subnets: Vec<(Ipv4Addr, u8)>,
    pub ports: Vec<u16>,
    pub wait: Duration,
}

pub struct DoctorOpts {
    pub wait: Duration,
}

pub struct HostsOpts {
    /// Print an Ansible dynamic inventory (the JSON of `--list`) instead of
    /// one host per line.
    pub ansible: bool,
}

#[derive(Debug)]
pub struct BenchOpts {
    /// Core counts to run on; empty: 1, 2, 4, ... up to every core.
    pub cores: Vec<usize>,
    pub repeat: usize,
    pub svg: Option<PathBuf>,
    /// `--predict`: forecast instead of measuring every core count.
    pub predict: Option<PredictOpts>,
    pub job: BenchJob,
}

/// What bench times or forecasts.
#[derive(Clone, Debug)]
pub enum BenchJob {
    /// A job cut into pieces.
    Pieces(JobSpec),
    /// `life`, in lockstep rounds: forecast only (`--predict`).
    Life(LifeOpts),
    /// `exec` over a range: forecast only (its program's work is its own).
    Exec(ExecOpts),
}

const DEFAULT_WAIT: Duration = Duration::from_secs(2);

pub fn parse_status(p: &mut Args) -> Result<StatusOpts, SubmitError> {
    let mut opts = StatusOpts { watch: None, wait: DEFAULT_WAIT, serve_every: Duration::from_secs(2) };
    let mut every = None;
    while let Some(flag) = flags(p, "status")? {
        match flag {
            "watch" => opts.watch = Some(Duration::ZERO),
            "every" => every = Some(seconds(&text(p, "--every")?, "--every")?),
            "wait" => opts.wait = seconds(&text(p, "--wait")?, "--wait")?,
            other => return Err(unknown("status", other)),
        }
    }
    // The terminal redraws every 3 s unless told; the page surveys every 2 s, as often as
    // a wall display needs to notice a dead Pi.
    opts.watch = opts.watch.map(|_| every.unwrap_or(Duration::from_secs(3)));
    opts.serve_every = every.unwrap_or(Duration::from_secs(2));
    Ok(opts)
}

pub fn parse_doctor(p: &mut Args) -> Result<DoctorOpts, SubmitError> {
    let mut opts = DoctorOpts { wait: DEFAULT_WAIT };
    while let Some(flag) = flags(p, "doctor")? {
        match flag {
            "wait" => opts.wait = seconds(&text(p, "--wait")?, "--wait")?,
            other => return Err(unknown("doctor", other)),
        }
    }
    Ok(opts)
}

pub fn parse_discover(p: &mut Args) -> Result<DiscoverOpts, SubmitError> {
    let mut opts = DiscoverOpts { subnets: Vec::new(), ports: Vec::new(), wait: Duration::from_millis(1500) };
    while let Some(flag) = flags(p, "discover")? {
        match flag {
            "subnet" => {
                let v = text(p, "--subnet")?;
                for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    opts.subnets.push(parse_subnet(item)?);
                }
            }
            "port" => {
                let v = text(p, "--port")?;
                opts.ports.extend(parse_ports(&v)?);
            }
            "wait" => opts.wait = seconds(&text(p, "--wait")?, "--wait")?,
            other => return Err(unknown("discover", other)),
        }
    }
    if opts.ports.is_empty() {
        opts.ports.push(DEFAULT_PORT);
    }
    Ok(opts)
}

/// `A.B.C.D/N`, IPv4 only: IPv6 has no broadcast.
pub fn parse_subnet(text: &str) -> Result<(Ipv4Addr, u8), SubmitError> {
    let (addr, prefix) = text.split_once('/').unwrap_or((text, "32"));
    let addr: Ipv4Addr = addr.parse().map_err(|_| {
        usage(format!("--subnet: {text:?} is not an IPv4 network like 192.168.1.0/24 (IPv6 has no broadcast)"))
    })?;
    let prefix: u8 = number(prefix, "--subnet", "a prefix length")?;
    if prefix > 32 {
        return Err(usage(format!("--subnet: /{prefix} in {text:?} is longer than 32 bits")));
    }
    Ok((addr, prefix))
}

/// `P`, `P1,P2` or `A-B` (at most 1024 ports).
fn parse_ports(text: &str) -> Result<Vec<u16>, SubmitError> {
    let mut ports = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (a, b) = item.split_once('-').unwrap_or((item, item));
        let a: u16 = number(a, "--port", "a port number")?;
        let b: u16 = number(b, "--port", "a port number")?;
        if a == 0 || b < a || usize::from(b - a) >= 1024 {
            return Err(usage(format!("--port: {item:?} is not a port or a range A-B of at most 1024 ports")));
        }
        ports.extend(a..=b);
    }
    Ok(ports)
}

pub fn parse_bench(p: &mut Args) -> Result<BenchOpts, SubmitError> {
    let (mut cores, mut repeat, mut svg) = (Vec::new(), 3usize, None);
    let (mut predict, mut told) = (false, PredictOpts::default());
    let job_name = loop {
        match p.next_arg()? {
            Next::Flag("cores") => {
                let v = text(p, "--cores")?;
                cores = v
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|c| number::<usize>(c, "--cores", "a whole number"))
                    .collect::<Result<_, _>>()?;
                if cores.is_empty() || cores.contains(&0) {
                    return Err(usage(format!("--cores: {v:?} must list core counts of at least 1, e.g. 1,2,4,8")));
                }
            }
            Next::Flag("repeat") => {
                repeat = number(&text(p, "--repeat")?, "--repeat", "a whole number")?;
                if repeat == 0 {
                    return Err(usage("--repeat must be at least 1"));
                }
            }
            Next::Flag("svg") => svg = Some(PathBuf::from(text(p, "--svg")?)),
            Next::Flag("predict") => predict = true,
            Next::Flag("link") => told.link = Some(parse_link(&text(p, "--link")?)?),
            Next::Flag("rtt") => told.rtt = Some(parse_rtt(&text(p, "--rtt")?)?),
            Next::Flag("hosts-count") => told.hosts_count = Some(parse_hosts_count(&text(p, "--hosts-count")?)?),
            Next::Flag("cores-per-host") => {
                told.cores_per_host = Some(parse_cores_per_host(&text(p, "--cores-per-host")?)?)
            }
            Next::Flag("core-speed") => told.core_speed = Some(parse_core_speed(&text(p, "--core-speed")?)?),
            Next::Flag(other) => return Err(unknown("bench", other)),
            Next::Word(word) => break word,
            Next::End => {
                return Err(usage("bench: name the job to measure, e.g. `bench --cores 1,2,4 pi --samples 1e8`"))
            }
        }
    };
    if let (false, Some(flag)) = (predict, told.first_given()) {
        return Err(usage(format!("bench: {flag} describes a cluster to predict; add --predict")));
    }
    if predict && (svg.is_some() || !cores.is_empty()) {
        return Err(usage("bench: --predict forecasts every host count itself; leave out --cores and --svg"));
    }
    if job_name == "life" {
        if !predict {
            return Err(usage(
                "bench: life runs in lockstep rounds over whole hosts, not pieces over chosen cores; \
                 `bench --predict life ...` forecasts it, and `pisubmit --json life ...` reports its own times",
            ));
        }
        p.enter("life")?;
        let life = parse_life(p)?;
        return Ok(BenchOpts { cores, repeat, svg, predict: Some(told), job: BenchJob::Life(life) });
    }
    if job_name == "exec" && predict {
        p.enter("exec")?;
        let exec = parse_exec(p)?;
        return Ok(BenchOpts { cores, repeat, svg, predict: Some(told), job: BenchJob::Exec(exec) });
    }
    // A farm's tasks say their own time, so a farm can be forecast (its
    // tasks piped in), though not timed on chosen cores.
    let forecast_only = predict && job_name == "farm";
    if !BENCH_JOBS.contains(&job_name.as_str()) && !forecast_only && p.enter(&job_name).is_ok() {
        return Err(usage(format!(
            "bench: {job_name} has no fixed amount of work to time; use {}",
            BENCH_JOBS.join(", ")
        )));
    }
    p.enter(&job_name)?;
    let job = parse_job(&job_name, p)?;
    cores.sort_unstable();
    cores.dedup();
    Ok(BenchOpts { cores, repeat, svg, predict: predict.then_some(told), job: BenchJob::Pieces(job) })
}

pub fn parse_hosts_command(p: &mut Args) -> Result<HostsOpts, SubmitError> {
    let mut opts = HostsOpts { ansible: false };
    while let Some(flag) = flags(p, "hosts")? {
        match flag {
            "ansible" => opts.ansible = true,
            other => return Err(unknown("hosts", other)),
        }
    }
    Ok(opts)
}

pub fn parse_jobs(p: &mut Args) -> Result<(), SubmitError> {
    // Only global options may follow.
    match flags(p, "jobs")? {
        Some(other) => Err(unknown("jobs", other)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parser(args: &[&str]) -> Args {
        Args::after("bench", args)
    }

    #[test]
    fn subnets_and_ports() {
        assert_eq!(parse_subnet("198.18.1.0/24").unwrap(), (Ipv4Addr::new(198, 18, 1, 0), 24));
        assert_eq!(parse_subnet("127.0.0.1").unwrap().1, 32);
        assert!(parse_subnet("fe80::/64").unwrap_err().to_string().contains("IPv6 has no broadcast"));
        assert!(parse_subnet("10.0.0.0/33").unwrap_err().to_string().contains("longer than 32"));
        assert_eq!(parse_ports("31415-31417,9").unwrap(), vec![31415, 31416, 31417, 9]);
        assert!(parse_ports("9-1").is_err());
        assert!(parse_ports("1-5000").is_err());
    }

    #[test]
    fn bench_takes_its_flags_then_a_job() {
        let b = parse_bench(&mut parser(&["--cores", "4,1,2,2", "--svg", "s.svg", "pi", "--samples", "1e6"])).unwrap();
        assert_eq!(b.cores, vec![1, 2, 4]);
        assert!(matches!(b.job, BenchJob::Pieces(JobSpec::Pi { samples: 1_000_000, .. })));
        assert!(parse_bench(&mut parser(&["--cores", "0", "pi"])).is_err());
        let err = |args: &[&str]| parse_bench(&mut parser(args)).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err(&["ping"]).contains("no fixed amount"));
        assert!(err(&[]).contains("name the job"));
        assert!(err(&["--link", "100mbit", "pi"]).contains("add --predict"));
        assert!(err(&["--predict", "--svg", "s.svg", "pi"]).contains("leave out --cores"));
        let b =
            parse_bench(&mut parser(&["--predict", "--link", "1gbit", "--hosts-count", "240", "pi", "--samples", "9"]))
                .unwrap();
        let told = b.predict.unwrap();
        assert_eq!((told.link, told.hosts_count, told.rtt), (Some(125e6), Some(240), None));
        // Life is forecast only: it has no cut over chosen cores to time.
        assert!(err(&["life", "--generations", "10"]).contains("bench --predict life"));
        let b =
            parse_bench(&mut parser(&["--predict", "life", "--width", "64", "--random", "0.5", "--generations", "10"]))
                .unwrap();
        assert!(matches!(b.job, BenchJob::Life(LifeOpts { width: Some(64), generations: 10, .. })), "{b:?}");
        assert!(err(&["farm"]).contains("no fixed amount"));
        let b = parse_bench(&mut parser(&["--predict", "farm", "spin"])).unwrap();
        assert!(matches!(b.job, BenchJob::Pieces(JobSpec::Farm { .. })), "{b:?}");
    }

    #[test]
    fn status_watch_uses_every() {
        let s = parse_status(&mut Args::after("status", &["--watch", "--every", "1.5"])).unwrap();
        assert_eq!(s.watch, Some(Duration::from_millis(1500)));
        assert_eq!(parse_status(&mut Args::after("status", &[])).unwrap().watch, None);
    }
}
