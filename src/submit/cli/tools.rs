//! The command lines of pisubmit's cluster tools (`status`, `discover`,
//! `doctor`, `bench`): everything after the tool's name.

use crate::daemon::config::DEFAULT_PORT;
use crate::submit::cli::jobs::parse_job;
use crate::submit::cli::values::{next_flag as flags, number, seconds, text, unknown, usage};
use crate::submit::error::SubmitError;
use crate::submit::plans::JobSpec;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

pub struct StatusOpts {
    pub json: bool,
    /// Redraw every this often until Ctrl-C.
    pub watch: Option<Duration>,
    /// How long a host has to answer.
    pub wait: Duration,
}

pub struct DiscoverOpts {
    pub json: bool,
    /// Networks to probe (their broadcast address); empty: every IPv4
    /// interface's broadcast address.
    pub subnets: Vec<(Ipv4Addr, u8)>,
    pub ports: Vec<u16>,
    pub wait: Duration,
}

pub struct DoctorOpts {
    pub json: bool,
    pub wait: Duration,
}

pub struct BenchOpts {
    pub json: bool,
    /// Core counts to run on; empty: 1, 2, 4, ... up to every core.
    pub cores: Vec<usize>,
    pub repeat: usize,
    pub svg: Option<PathBuf>,
    pub job: JobSpec,
}

const DEFAULT_WAIT: Duration = Duration::from_secs(2);

pub fn parse_status(p: &mut lexopt::Parser) -> Result<StatusOpts, SubmitError> {
    let mut opts = StatusOpts { json: false, watch: None, wait: DEFAULT_WAIT };
    let mut every = Duration::from_secs(3);
    while let Some(flag) = flags(p, "status")? {
        match flag.as_str() {
            "json" => opts.json = true,
            "watch" => opts.watch = Some(every),
            "every" => every = seconds(&text(p, "--every")?, "--every")?,
            "wait" => opts.wait = seconds(&text(p, "--wait")?, "--wait")?,
            other => return Err(unknown("status", other)),
        }
    }
    opts.watch = opts.watch.map(|_| every);
    Ok(opts)
}

pub fn parse_doctor(p: &mut lexopt::Parser) -> Result<DoctorOpts, SubmitError> {
    let mut opts = DoctorOpts { json: false, wait: DEFAULT_WAIT };
    while let Some(flag) = flags(p, "doctor")? {
        match flag.as_str() {
            "json" => opts.json = true,
            "wait" => opts.wait = seconds(&text(p, "--wait")?, "--wait")?,
            other => return Err(unknown("doctor", other)),
        }
    }
    Ok(opts)
}

pub fn parse_discover(p: &mut lexopt::Parser) -> Result<DiscoverOpts, SubmitError> {
    let mut opts =
        DiscoverOpts { json: false, subnets: Vec::new(), ports: Vec::new(), wait: Duration::from_millis(1500) };
    while let Some(flag) = flags(p, "discover")? {
        match flag.as_str() {
            "json" => opts.json = true,
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

pub fn parse_bench(p: &mut lexopt::Parser) -> Result<BenchOpts, SubmitError> {
    use lexopt::prelude::*;
    let (mut cores, mut repeat, mut svg, mut json) = (Vec::new(), 3usize, None, false);
    let job_name = loop {
        match p.next().map_err(|e| usage(e.to_string()))? {
            Some(Long("cores")) => {
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
            Some(Long("repeat")) => {
                repeat = number(&text(p, "--repeat")?, "--repeat", "a whole number")?;
                if repeat == 0 {
                    return Err(usage("--repeat must be at least 1"));
                }
            }
            Some(Long("svg")) => svg = Some(PathBuf::from(text(p, "--svg")?)),
            Some(Long("json")) => json = true,
            Some(Value(v)) => break v.to_string_lossy().into_owned(),
            Some(other) => return Err(usage(format!("bench: {}", other.unexpected()))),
            None => return Err(usage("bench: name the job to measure, e.g. `bench --cores 1,2,4 pi --samples 1e8`")),
        }
    };
    let job = parse_job(&job_name, p)?;
    if matches!(job, JobSpec::Ping | JobSpec::Farm { .. }) {
        return Err(usage(format!(
            "bench: {job_name} has no fixed amount of work to time; use loopsum, pi, primes, ..."
        )));
    }
    cores.sort_unstable();
    cores.dedup();
    Ok(BenchOpts { json, cores, repeat, svg, job })
}

pub fn parse_jobs(p: &mut lexopt::Parser) -> Result<bool, SubmitError> {
    let mut json = false;
    while let Some(flag) = flags(p, "jobs")? {
        match flag.as_str() {
            "json" => json = true,
            other => return Err(unknown("jobs", other)),
        }
    }
    Ok(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parser(args: &[&str]) -> lexopt::Parser {
        lexopt::Parser::from_iter(std::iter::once("x").chain(args.iter().copied()))
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
        assert!(matches!(b.job, JobSpec::Pi { samples: 1_000_000, .. }));
        assert!(parse_bench(&mut parser(&["--cores", "0", "pi"])).is_err());
        let err = |args: &[&str]| parse_bench(&mut parser(args)).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err(&["ping"]).contains("no fixed amount"));
        assert!(err(&[]).contains("name the job"));
    }

    #[test]
    fn status_watch_uses_every() {
        let s = parse_status(&mut parser(&["--watch", "--every", "1.5"])).unwrap();
        assert_eq!(s.watch, Some(Duration::from_millis(1500)));
        assert_eq!(parse_status(&mut parser(&[])).unwrap().watch, None);
    }
}
