//! `pisubmit jobs`: the job programs on each worker, with a checksum, and
//! the hosts whose copy differs from the others' or is missing. A program
//! that differs between Pis gives answers that depend on where a piece
//! ran: this is the check to run after copying programs around.

use crate::jobs::joblist::{decode_result, Entry};
use crate::jobs::JobKind;
use crate::protocol::{ErrorMessage, FrameType, Submit};
use crate::submit::cluster::connect::{connect, Reach};
use crate::submit::cluster::engine::rounds::SessionEvent;
use crate::submit::error::SubmitError;
use crate::submit::report::json::Json;
use crate::submit::report::progress::Bars;
use mio::Events;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// What one host answered.
enum Answer {
    Listed { dirs: Vec<String>, entries: Vec<Entry> },
    Failed(String),
}

pub fn run(global: &crate::submit::cli::Global, json: bool) -> Result<String, SubmitError> {
    let started = Instant::now();
    let reach = Reach { hosts_file: None, ..global.reach(started) };
    let mut engine = connect(&reach, Box::new(Bars::new(global.quiet)))?;
    let links = engine.ready_links();
    let mut answers: BTreeMap<usize, Answer> = BTreeMap::new();
    let mut jobs = BTreeMap::new();
    for &link in &links {
        let job_id = engine.next_job_id(link);
        let submit = Submit { kind: JobKind::JobList.to_u8(), flags: 0, params: Vec::new() };
        engine.send(link, FrameType::Submit, job_id, &submit.encode(job_id).payload);
        jobs.insert(link, job_id);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut events = Events::with_capacity(64);
    while answers.len() < links.len() && Instant::now() < deadline {
        for ev in engine.wait(&mut events, Duration::from_millis(100))? {
            match ev {
                SessionEvent::Lost(link, why) => {
                    answers.entry(link).or_insert(Answer::Failed(why));
                }
                SessionEvent::Frame(link, frame) if jobs.get(&link) == Some(&frame.header.job_id) => {
                    let answer = match frame.header.frame_type {
                        FrameType::Result => match decode_result(&frame.payload) {
                            Ok((dirs, entries)) => Answer::Listed { dirs, entries },
                            Err(e) => Answer::Failed(format!("a bad answer: {e}")),
                        },
                        FrameType::Error => Answer::Failed(
                            ErrorMessage::decode(&frame.payload).map_or_else(|e| e.to_string(), |m| m.message),
                        ),
                        _ => continue,
                    };
                    answers.insert(link, answer);
                }
                SessionEvent::Frame(..) => {}
            }
        }
    }
    let hosts: Vec<(String, Answer)> = engine
        .reports()
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let answer = answers
                .remove(&i)
                .unwrap_or_else(|| Answer::Failed(r.error.clone().unwrap_or_else(|| "no answer".to_string())));
            (r.address, answer)
        })
        .collect();
    report(&hosts, json)
}

/// For each program name: what each host has.
fn by_name(hosts: &[(String, Answer)]) -> BTreeMap<String, Vec<Option<&Entry>>> {
    let mut names: BTreeMap<String, Vec<Option<&Entry>>> = BTreeMap::new();
    for (i, (_, answer)) in hosts.iter().enumerate() {
        if let Answer::Listed { entries, .. } = answer {
            for e in entries {
                names.entry(e.name.clone()).or_insert_with(|| vec![None; hosts.len()])[i] = Some(e);
            }
        }
    }
    names
}

fn hex(sum: &[u8; 32]) -> String {
    sum.iter().map(|b| format!("{b:02x}")).collect()
}

fn report(hosts: &[(String, Answer)], json: bool) -> Result<String, SubmitError> {
    let names = by_name(hosts);
    let listed: Vec<usize> = (0..hosts.len()).filter(|&i| matches!(hosts[i].1, Answer::Listed { .. })).collect();
    let mut problems = Vec::new();
    let mut programs_json = Vec::new();
    let mut table = String::new();
    for (name, per_host) in &names {
        // The copy most hosts have is the reference; the others differ.
        let mut counts: BTreeMap<[u8; 32], usize> = BTreeMap::new();
        for e in per_host.iter().flatten() {
            if let Ok((_, sum)) = &e.outcome {
                *counts.entry(*sum).or_default() += 1;
            }
        }
        let usual = counts.iter().max_by_key(|(_, &n)| n).map(|(s, _)| *s);
        let _ = writeln!(table, "{name}");
        let mut host_json = Vec::new();
        for &i in &listed {
            let host = &hosts[i].0;
            let (line, j) = match per_host[i] {
                None => {
                    problems.push(format!("{host} has no {name}"));
                    ("MISSING".to_string(), vec![("host", Json::Str(host.clone())), ("missing", Json::Bool(true))])
                }
                Some(Entry { outcome: Err(why), .. }) => {
                    problems.push(format!("{host} refuses its {name}"));
                    (
                        format!("REFUSED: {why}"),
                        vec![("host", Json::Str(host.clone())), ("refused", Json::Str(why.clone()))],
                    )
                }
                Some(Entry { outcome: Ok((size, sum)), dir, .. }) => {
                    let differs = usual.is_some_and(|u| u != *sum);
                    if differs {
                        problems.push(format!("{host}'s {name} differs from the others'"));
                    }
                    let mark = if differs { "  DIFFERS" } else { "" };
                    (
                        format!("sha256 {}  {size} bytes  {dir}{mark}", &hex(sum)[..16]),
                        vec![
                            ("host", Json::Str(host.clone())),
                            ("sha256", Json::Str(hex(sum))),
                            ("size", Json::Int(i128::from(*size))),
                            ("dir", Json::Str(dir.clone())),
                            ("differs", Json::Bool(differs)),
                        ],
                    )
                }
            };
            let _ = writeln!(table, "  {host:<24} {line}");
            host_json.push(Json::obj(j));
        }
        programs_json.push(Json::obj(vec![("name", Json::Str(name.clone())), ("hosts", Json::Array(host_json))]));
    }
    let mut out = String::new();
    let mut hosts_json = Vec::new();
    for (host, answer) in hosts {
        match answer {
            Answer::Listed { dirs, .. } => {
                hosts_json.push(Json::obj(vec![
                    ("host", Json::Str(host.clone())),
                    ("dirs", Json::Array(dirs.iter().map(|d| Json::Str(d.clone())).collect())),
                ]));
            }
            Answer::Failed(why) => {
                problems.push(format!("{host} did not answer ({why})"));
                hosts_json.push(Json::obj(vec![("host", Json::Str(host.clone())), ("error", Json::Str(why.clone()))]));
            }
        }
    }
    if json {
        out = Json::obj(vec![
            ("job", Json::Str("jobs".into())),
            ("result", Json::Int(names.len() as i128)),
            ("programs", Json::Array(programs_json)),
            ("problems", Json::Array(problems.iter().map(|p| Json::Str(p.clone())).collect())),
            ("hosts", Json::Array(hosts_json)),
        ])
        .render()
            + "\n";
    } else {
        let _ = writeln!(out, "{} job programs on {} of {} hosts", names.len(), listed.len(), hosts.len());
        for (host, answer) in hosts {
            if let Answer::Listed { dirs, .. } = answer {
                let _ = writeln!(out, "  {host}: {}", dirs.join(", "));
            }
        }
        out.push_str(&table);
        for p in &problems {
            let _ = writeln!(out, "! {p}");
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        let summary = format!("jobs: {} problems: {}", problems.len(), problems.join("; "));
        Err(SubmitError::Findings { report: out, summary })
    }
}
