//! Runs one invocation: plan, connect, dispatch, gather, report.

pub mod bench;
pub mod discover;
pub mod doctor;
pub mod exec;
pub mod jobs;
pub mod life;
pub mod status;

use crate::protocol::auth::load_key;
use crate::submit::cli::{Command, Invocation};
use crate::submit::cluster::engine::{Engine, HostReport, Options, PieceList};
use crate::submit::cluster::hosts::HostsFile;
use crate::submit::error::SubmitError;
use crate::submit::plans::farm::{FarmOutput, StdinTasks};
use crate::submit::plans::{self, Answer, JobSpec};
use crate::submit::report::json::Json;
use std::fmt::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Runs what was asked and returns what goes to stdout.
pub fn run(inv: Invocation) -> Result<String, SubmitError> {
    match &inv.command {
        Command::Job(job) => run_job(&inv, job),
        Command::Status(opts) => crate::submit::commands::status::run(&inv, opts),
        Command::Discover(opts) => crate::submit::commands::discover::run(opts, inv.json),
        Command::Doctor(opts) => crate::submit::commands::doctor::run(&inv, opts),
        Command::Bench(opts) => crate::submit::commands::bench::run(&inv, opts),
        Command::Life(opts) => crate::submit::commands::life::run(&inv, opts),
        Command::Exec(opts) => crate::submit::commands::exec::run(&inv, opts),
        Command::Jobs { json } => crate::submit::commands::jobs::run(&inv, *json || inv.json),
    }
}

/// The cluster key named by `--key` or `PISUBMIT_KEY`, if any.
pub fn cluster_key(inv: &Invocation) -> Result<Option<Arc<Vec<u8>>>, SubmitError> {
    match &inv.key_file {
        Some(path) => Ok(Some(Arc::new(load_key(path).map_err(SubmitError::Usage)?))),
        None => Ok(None),
    }
}

/// The scheduler's options from the command line.
pub fn engine_options(inv: &Invocation, started: Instant) -> Result<Options, SubmitError> {
    Ok(Options {
        connect_timeout: inv.connect_timeout,
        heartbeat_timeout: inv.heartbeat_timeout,
        retries: inv.retries,
        piece_timeout: inv.piece_timeout,
        deadline: inv.timeout.map(|t| started + t),
        quiet: inv.quiet,
        key: cluster_key(inv)?,
    })
}

fn run_job(inv: &Invocation, job: &JobSpec) -> Result<String, SubmitError> {
    let started = Instant::now();
    // Plan first: a bad --input is reported before any worker is bothered.
    let planned = match job {
        JobSpec::Ping | JobSpec::Farm { .. } => None,
        job => Some(plans::build(job, inv.hosts.len())?),
    };
    let hosts_file = match &inv.hosts_file {
        Some(path) => Some(HostsFile::open(path).map_err(SubmitError::Usage)?.0),
        None => None,
    };
    let opts = engine_options(inv, started)?;
    let mut engine = Engine::connect(inv.hosts.clone(), hosts_file, opts)?;
    let name = job.name();
    let run_started = Instant::now();
    let answer = match (job, planned) {
        (JobSpec::Ping, _) => {
            let rtts = engine.ping(5)?;
            return Ok(report_ping(&engine.reports(), &rtts, inv.json));
        }
        (JobSpec::Farm { ordered }, _) => {
            let mut tasks = StdinTasks::new();
            let mut output = FarmOutput::new(*ordered, inv.json);
            engine.run(&mut tasks, &mut output)?;
            if !tasks.invalid.is_empty() {
                return Err(SubmitError::Job(format!(
                    "{} tasks ran; {} stdin lines were not tasks (first: {})",
                    output.count,
                    tasks.invalid.len(),
                    tasks.invalid[0]
                )));
            }
            Answer {
                result: Json::Int(output.count as i128),
                extra: vec![("results", output.json_results())],
                text: format!("{} tasks done", output.count),
            }
        }
        (_, Some((pieces, mut plan))) => {
            engine.run(&mut PieceList::new(pieces), plan.as_mut())?;
            plan.finish()?
        }
        (_, None) => return Err(SubmitError::Usage("nothing to run".into())),
    };
    let wall = run_started.elapsed();
    let reports = engine.reports();
    if inv.json {
        return Ok(report_json(name, answer, wall, &reports));
    }
    let report = report_text(name, answer, wall, &reports);
    if name == "farm" {
        // The farm's stdout is its results, one per line: the summary goes aside.
        eprint!("{report}");
        return Ok(String::new());
    }
    Ok(report)
}

pub(super) fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

pub(super) fn host_json(r: &HostReport) -> Vec<(&'static str, Json)> {
    vec![
        ("address", Json::Str(r.address.clone())),
        ("hostname", Json::Str(r.hostname.clone())),
        ("arch", Json::Str(r.arch.clone())),
        ("version", Json::Str(r.software.clone())),
        ("threads", Json::Int(r.threads as i128)),
        ("state", Json::Str(r.state.into())),
    ]
}

pub(super) fn report_json(job: &str, answer: Answer, wall: Duration, hosts: &[HostReport]) -> String {
    let mut fields = vec![("job", Json::Str(job.into())), ("result", answer.result)];
    fields.extend(answer.extra);
    fields.push(("wall_ms", Json::Float(ms(wall))));
    let hosts = hosts
        .iter()
        .map(|r| {
            let mut h = host_json(r);
            h.push(("pieces", Json::Int(r.pieces as i128)));
            h.push(("failures", Json::Int(r.failures as i128)));
            h.push(("busy_ms", Json::Float(ms(r.busy))));
            if let Some(e) = &r.error {
                h.push(("last_error", Json::Str(e.clone())));
            }
            Json::obj(h)
        })
        .collect();
    fields.push(("hosts", Json::Array(hosts)));
    Json::obj(fields).render() + "\n"
}

pub(super) fn report_text(job: &str, answer: Answer, wall: Duration, hosts: &[HostReport]) -> String {
    let threads: usize = hosts.iter().map(|h| h.threads).sum();
    let pieces: usize = hosts.iter().map(|h| h.pieces).sum();
    let mut out = format!("{job}: {}\n", answer.text);
    let _ = writeln!(out, "  {:.1} ms wall, {pieces} pieces over {} hosts ({threads} threads)", ms(wall), hosts.len());
    let _ = writeln!(
        out,
        "  {:<24} {:<16} {:>7} {:>6} {:>8} {:>10}  state",
        "host", "name", "threads", "pieces", "failures", "busy ms"
    );
    for h in hosts {
        let _ = writeln!(
            out,
            "  {:<24} {:<16} {:>7} {:>6} {:>8} {:>10.1}  {}",
            h.address,
            h.hostname,
            h.threads,
            h.pieces,
            h.failures,
            ms(h.busy),
            h.state
        );
    }
    out
}

fn report_ping(hosts: &[HostReport], rtts: &[Option<Duration>], json: bool) -> String {
    let answered = rtts.iter().filter(|r| r.is_some()).count();
    if json {
        let list = hosts
            .iter()
            .zip(rtts)
            .map(|(r, rtt)| {
                let mut h = host_json(r);
                h.push(("rtt_ms", rtt.map_or(Json::Null, |d| Json::Float(ms(d)))));
                if let Some(e) = &r.error {
                    h.push(("last_error", Json::Str(e.clone())));
                }
                Json::obj(h)
            })
            .collect();
        let fields = vec![
            ("job", Json::Str("ping".into())),
            ("result", Json::Int(answered as i128)),
            ("wall_ms", Json::Float(0.0)),
            ("hosts", Json::Array(list)),
        ];
        return Json::obj(fields).render() + "\n";
    }
    let mut out = format!("ping: {answered} of {} workers answered\n", hosts.len());
    let _ = writeln!(
        out,
        "  {:<24} {:<16} {:<8} {:<8} {:>7} {:>8}",
        "host", "name", "version", "arch", "threads", "rtt ms"
    );
    for (h, rtt) in hosts.iter().zip(rtts) {
        match rtt {
            Some(rtt) => {
                let _ = writeln!(
                    out,
                    "  {:<24} {:<16} {:<8} {:<8} {:>7} {:>8.3}",
                    h.address,
                    h.hostname,
                    h.software,
                    h.arch,
                    h.threads,
                    ms(*rtt)
                );
            }
            None => {
                let why = h.error.as_deref().unwrap_or("no answer");
                let _ = writeln!(out, "  {:<24} {why}", h.address);
            }
        }
    }
    out
}
