//! `bench --predict`'s report: what was measured or given, a row per
//! host count worth showing (1, 2, 4, ..., the most, the recommended one,
//! where the head link fills), and the recommendation; or all of it, every
//! host count included, as one JSON object.

use super::inputs::{Inputs, Source};
use super::model::{link_saturates, recommended, Cluster, JobCost, Prediction, WITHIN_BEST};
use crate::submit::commands::bench::describe;
use crate::submit::plans::JobSpec;
use crate::submit::report::json::Json;
use crate::units::human_bytes;
use std::fmt::Write;

fn title(job: &JobSpec) -> String {
    let output = if job.output().is_some() { " with --output" } else { "" };
    format!("{}{output}", describe(job))
}

fn source(s: Source) -> &'static str {
    match s {
        Source::Measured => "measured",
        Source::Given => "given",
    }
}

/// The host counts shown in the table.
fn shown(predictions: &[Prediction]) -> Vec<usize> {
    let max = predictions.len();
    let mut rows: Vec<usize> =
        std::iter::successors(Some(1usize), |n| n.checked_mul(2)).take_while(|&n| n < max).collect();
    rows.push(max);
    rows.extend(recommended(predictions).map(|p| p.hosts));
    rows.extend(link_saturates(predictions));
    rows.sort_unstable();
    rows.dedup();
    rows
}

/// Speed-up against one host, and how much one more host would save.
fn speedup(predictions: &[Prediction], p: &Prediction) -> (f64, Option<f64>) {
    let base = predictions.first().map_or(p.wall, |b| b.wall);
    let next = predictions.get(p.hosts).map(|n| 1.0 - n.wall / p.wall);
    (base / p.wall, next)
}

/// "1 host of 4 cores", "1 to 8 hosts of 2 cores".
fn hosts_of(max_hosts: usize, c: &Cluster) -> String {
    let hosts = match max_hosts {
        1 => "1 host".to_string(),
        n => format!("1 to {n} hosts"),
    };
    format!("{hosts} of {}", crate::units::count(c.cores_per_host, "core"))
}

/// The link and round-trip line, with where each figure came from.
fn link_line(c: &Cluster, (link, rtt): (Source, Source)) -> String {
    format!(
        "  head link {:.1} MB/s ({:.0} Mbit/s, {}), round trip {:.3} ms ({})\n",
        c.link / 1e6,
        c.link * 8.0 / 1e6,
        source(link),
        c.rtt * 1e3,
        source(rtt)
    )
}

/// A forecast as every job reports it: a title, lines of its own about its
/// sample, the link, the table, and a footnote; or, in JSON, the same
/// around the job's own fields.
pub struct Forecast<'a> {
    pub title: String,
    pub cluster: Cluster,
    /// Where the link and the round trip came from.
    pub sources: (Source, Source),
    pub core_speed: f64,
    pub max_hosts: usize,
    pub predictions: &'a [Prediction],
}

impl Forecast<'_> {
    pub fn text(&self, details: &str, footnote: &str) -> String {
        let mut out = format!("{}: predicted on {}\n", self.title, hosts_of(self.max_hosts, &self.cluster));
        out.push_str(details);
        out.push_str(&link_line(&self.cluster, self.sources));
        table(&mut out, &self.cluster, self.max_hosts, self.predictions);
        out.push_str(footnote);
        out.push('\n');
        out
    }

    pub fn json(&self, job: &str, details: Vec<(&'static str, Json)>) -> Json {
        let mut fields = vec![("job", Json::Str(job.into())), ("title", Json::Str(self.title.clone()))];
        fields.extend(details);
        fields.extend([
            ("cluster", cluster_json(&self.cluster, self.sources, self.core_speed, self.max_hosts)),
            ("rows", rows_json(&self.cluster, self.predictions)),
            ("recommended_hosts", recommended_json(self.predictions)),
            ("link_full_from_hosts", link_full_json(self.predictions)),
        ]);
        Json::obj(fields)
    }
}

fn forecast<'a>(job: &JobSpec, inputs: &Inputs, predictions: &'a [Prediction]) -> Forecast<'a> {
    Forecast {
        title: title(job),
        cluster: inputs.cluster,
        sources: (inputs.link_source, inputs.rtt_source),
        core_speed: inputs.core_speed,
        max_hosts: inputs.max_hosts,
        predictions,
    }
}

pub fn text(job: &JobSpec, inputs: &Inputs, cost: &JobCost, predictions: &[Prediction]) -> String {
    let s = &inputs.sample;
    let mut details = String::new();
    let _ = writeln!(
        details,
        "  sample: {:.3}% of the job on one core of {} took {:.3} s: {:.2} core-seconds for the job{}",
        100.0 * s.share,
        s.host,
        s.wall.as_secs_f64(),
        cost.core_seconds,
        if inputs.core_speed == 1.0 { String::new() } else { format!(" at core speed x{}", inputs.core_speed) },
    );
    let _ = writeln!(
        details,
        "  bytes: {} to the workers, {} back; the head's own work {:.3} s",
        human_bytes(cost.bytes_to_workers as u64),
        human_bytes(cost.bytes_from_workers as u64),
        cost.head_seconds
    );
    forecast(job, inputs, predictions).text(
        &details,
        "(wall time from the first piece sent to the answer, as bench measures it; connecting is not in it)",
    )
}

/// The rows worth showing, the recommendation and where the link fills.
fn table(out: &mut String, c: &Cluster, max_hosts: usize, predictions: &[Prediction]) {
    let _ = writeln!(
        out,
        "{:>6} {:>6} {:>11} {:>9} {:>11} {:>10}  limit",
        "hosts", "cores", "wall (s)", "speed-up", "efficiency", "one more"
    );
    for n in shown(predictions) {
        let Some(p) = predictions.get(n - 1) else { continue };
        let (up, next) = speedup(predictions, p);
        let next = next.map_or("-".to_string(), |g| format!("{:+.1}%", -100.0 * g));
        let _ = writeln!(
            out,
            "{:>6} {:>6} {:>11.3} {:>9.2} {:>10.0}% {:>10}  {}",
            n,
            n * c.cores_per_host,
            p.wall,
            up,
            100.0 * up / n as f64,
            next,
            p.limit.name()
        );
    }
    if let Some(best) = recommended(predictions) {
        let _ = write!(
            out,
            "recommended: {} ({:.3} s, within {:.0}% of the best on up to {})",
            crate::units::count(best.hosts, "host"),
            best.wall,
            100.0 * WITHIN_BEST,
            max_hosts
        );
    }
    match link_saturates(predictions) {
        Some(n) => {
            let _ = writeln!(out, "; the head link is full from {} on", crate::units::count(n, "host"));
        }
        None => out.push_str("; the head link is never full\n"),
    }
}

/// A row per host count.
fn rows_json(c: &Cluster, predictions: &[Prediction]) -> Json {
    let rows = predictions
        .iter()
        .map(|p| {
            let (up, next) = speedup(predictions, p);
            Json::obj(vec![
                ("hosts", Json::Int(p.hosts as i128)),
                ("cores", Json::Int((p.hosts * c.cores_per_host) as i128)),
                ("pieces", Json::Int(p.pieces as i128)),
                ("wall_s", Json::Float(p.wall)),
                ("compute_s", Json::Float(p.compute)),
                ("link_s", Json::Float(p.link)),
                ("head_s", Json::Float(p.head)),
                ("rounds_s", Json::Float(p.rounds)),
                ("speedup", Json::Float(up)),
                ("efficiency", Json::Float(up / p.hosts as f64)),
                ("next_host_gain", next.map_or(Json::Null, Json::Float)),
                ("limit", Json::Str(p.limit.name().into())),
            ])
        })
        .collect();
    Json::Array(rows)
}

fn cluster_json(c: &Cluster, (link, rtt): (Source, Source), core_speed: f64, max_hosts: usize) -> Json {
    Json::obj(vec![
        ("cores_per_host", Json::Int(c.cores_per_host as i128)),
        ("link_bytes_per_s", Json::Float(c.link)),
        ("link", Json::Str(source(link).into())),
        ("rtt_s", Json::Float(c.rtt)),
        ("rtt", Json::Str(source(rtt).into())),
        ("core_speed", Json::Float(core_speed)),
        ("max_hosts", Json::Int(max_hosts as i128)),
    ])
}

fn recommended_json(predictions: &[Prediction]) -> Json {
    recommended(predictions).map_or(Json::Null, |p| Json::Int(p.hosts as i128))
}

fn link_full_json(predictions: &[Prediction]) -> Json {
    link_saturates(predictions).map_or(Json::Null, |n| Json::Int(n as i128))
}

pub fn json(job: &JobSpec, inputs: &Inputs, cost: &JobCost, predictions: &[Prediction]) -> Json {
    let s = &inputs.sample;
    let details = vec![
        (
            "sample",
            Json::obj(vec![
                ("host", Json::Str(s.host.clone())),
                ("share", Json::Float(s.share)),
                ("wall_s", Json::Float(s.wall.as_secs_f64())),
            ]),
        ),
        (
            "job_cost",
            Json::obj(vec![
                ("core_seconds", Json::Float(cost.core_seconds)),
                ("bytes_to_workers", Json::Float(cost.bytes_to_workers)),
                ("bytes_from_workers", Json::Float(cost.bytes_from_workers)),
                ("head_seconds", Json::Float(cost.head_seconds)),
            ]),
        ),
    ];
    forecast(job, inputs, predictions).json(job.name(), details)
}
