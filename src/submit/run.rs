//! Runs one invocation: connect, plan, dispatch, gather, report.

use super::cli::Invocation;
use super::cluster::{Cluster, HostReport};
use super::error::SubmitError;
use super::json::Json;
use super::plan::{self, Answer, JobSpec};
use std::fmt::Write;
use std::time::{Duration, Instant};

/// Runs the job and returns what goes to stdout.
pub fn run(inv: Invocation) -> Result<String, SubmitError> {
    let started = Instant::now();
    let mut cluster = Cluster::connect(&inv.hosts, inv.connect_timeout)?;
    if let JobSpec::Ping = inv.job {
        let rtts = cluster.ping(5)?;
        return Ok(report_ping(&cluster.reports(), &rtts, inv.json));
    }
    let (pieces, mut plan) = plan::build(&inv.job, cluster.total_threads())?;
    let piece_count = pieces.len();
    let deadline = inv.timeout.map(|t| started + t);
    let run_started = Instant::now();
    cluster.run(pieces, plan.as_mut(), deadline)?;
    let answer = plan.finish()?;
    let wall = run_started.elapsed();
    let reports = cluster.reports();
    Ok(if inv.json {
        report_json(inv.job.name(), answer, wall, &reports)
    } else {
        report_text(inv.job.name(), answer, wall, piece_count, &reports)
    })
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

fn host_json(r: &HostReport) -> Vec<(&'static str, Json)> {
    vec![
        ("address", Json::Str(r.address.clone())),
        ("hostname", Json::Str(r.hostname.clone())),
        ("arch", Json::Str(r.arch.clone())),
        ("version", Json::Str(r.software.clone())),
        ("threads", Json::Int(r.threads as i128)),
    ]
}

fn report_json(job: &str, answer: Answer, wall: Duration, hosts: &[HostReport]) -> String {
    let mut fields = vec![("job", Json::Str(job.into())), ("result", answer.result)];
    fields.extend(answer.extra);
    fields.push(("wall_ms", Json::Float(ms(wall))));
    let hosts = hosts
        .iter()
        .map(|r| {
            let mut h = host_json(r);
            h.push(("pieces", Json::Int(r.pieces as i128)));
            h.push(("busy_ms", Json::Float(ms(r.busy))));
            Json::obj(h)
        })
        .collect();
    fields.push(("hosts", Json::Array(hosts)));
    Json::obj(fields).render() + "\n"
}

fn report_text(
    job: &str,
    answer: Answer,
    wall: Duration,
    pieces: usize,
    hosts: &[HostReport],
) -> String {
    let threads: usize = hosts.iter().map(|h| h.threads).sum();
    let mut out = format!("{job}: {}\n", answer.text);
    let _ = writeln!(
        out,
        "  {:.1} ms wall, {pieces} pieces over {} hosts ({threads} threads)",
        ms(wall),
        hosts.len()
    );
    let _ = writeln!(
        out,
        "  {:<24} {:<16} {:>7} {:>6} {:>10}",
        "host", "name", "threads", "pieces", "busy ms"
    );
    for h in hosts {
        let _ = writeln!(
            out,
            "  {:<24} {:<16} {:>7} {:>6} {:>10.1}",
            h.address,
            h.hostname,
            h.threads,
            h.pieces,
            ms(h.busy)
        );
    }
    out
}

fn report_ping(hosts: &[HostReport], rtts: &[Duration], json: bool) -> String {
    if json {
        let list = hosts
            .iter()
            .zip(rtts)
            .map(|(r, rtt)| {
                let mut h = host_json(r);
                h.push(("rtt_ms", Json::Float(ms(*rtt))));
                Json::obj(h)
            })
            .collect();
        let fields = vec![
            ("job", Json::Str("ping".into())),
            ("result", Json::Int(hosts.len() as i128)),
            ("wall_ms", Json::Float(0.0)),
            ("hosts", Json::Array(list)),
        ];
        return Json::obj(fields).render() + "\n";
    }
    let mut out = format!("ping: {} workers answered\n", hosts.len());
    let _ = writeln!(
        out,
        "  {:<24} {:<16} {:<8} {:<8} {:>7} {:>8}",
        "host", "name", "version", "arch", "threads", "rtt ms"
    );
    for (h, rtt) in hosts.iter().zip(rtts) {
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
    out
}
