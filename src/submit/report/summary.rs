//! The report of a run: the answer, the wall time, and each worker's
//! share, as text for people or one JSON object.

use crate::submit::cluster::engine::HostReport;
use crate::submit::report::json::Json;
use std::fmt::Write;
use std::time::Duration;

/// The gathered answer: the value, extra fields for `--json`, and a line
/// for people.
pub struct Answer {
    pub result: Json,
    pub extra: Vec<(&'static str, Json)>,
    pub text: String,
}

/// Where a report goes: to stdout as the command's answer, or, when stdout
/// already carries data (the farm's results, the programs' output), to
/// stderr, so that a pipe gets only the data.
pub fn deliver(report: String, stdout_carries_data: bool) -> String {
    if stdout_carries_data {
        eprint!("{report}");
        return String::new();
    }
    report
}

/// Milliseconds with three decimals, for reports.
pub fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

pub fn host_json(r: &HostReport) -> Vec<(&'static str, Json)> {
    vec![
        ("address", Json::Str(r.address.clone())),
        ("hostname", Json::Str(r.hostname.clone())),
        ("arch", Json::Str(r.arch.clone())),
        ("version", Json::Str(r.software.clone())),
        ("threads", Json::Int(r.threads as i128)),
        ("state", Json::Str(r.state.into())),
    ]
}

pub fn report_json(job: &str, answer: Answer, wall: Duration, hosts: &[HostReport]) -> String {
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

pub fn report_text(job: &str, answer: Answer, wall: Duration, hosts: &[HostReport]) -> String {
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

pub fn report_ping(hosts: &[HostReport], rtts: &[Option<Duration>], json: bool) -> String {
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
