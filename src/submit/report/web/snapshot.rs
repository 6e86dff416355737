//! The view as the page reads it: one JSON object, formatted off the hub's mutex (and off
//! the job's thread) by whoever serves it.
//!
//! Each host carries its tile's colours and marks, computed by the terminal grid's own
//! code, so the page never needs its own colour map.

use super::hub::{JobView, View};
use crate::submit::report::grid::web_face;
use crate::submit::report::host_facts::{state_name, tiles};
use crate::submit::report::json::Json;

/// `with_history`: /state.json sends the hour of temperatures; the event stream does not
/// (the page extends its copy from each event's readings).
pub fn render(view: &View, with_history: bool) -> String {
    let tiles = tiles(&view.hosts);
    let hosts =
        view.hosts
            .iter()
            .zip(&tiles)
            .map(|(h, tile)| {
                let face = web_face(tile);
                let address = h.spec.address();
                let mut fields = vec![
                    ("state", Json::Str(state_name(h).into())),
                    ("name", Json::Str(tile.name.clone())),
                    ("temp_c", tile.temp_c.filter(|t| t.is_finite()).map_or(Json::Null, |t| Json::Float(round1(t)))),
                    ("load1", tile.load1.filter(|l| l.is_finite()).map_or(Json::Null, |l| Json::Float(round2(l)))),
                    ("threads", tile.threads.map_or(Json::Null, |t| Json::Int(i128::from(t)))),
                    ("marks", Json::Str(face.marks)),
                    ("background", Json::Str(face.background)),
                    ("text", Json::Str(face.text)),
                ];
                if let Err(failure) = &h.outcome {
                    fields.push(("error", Json::Str(failure.why().into())));
                }
                if with_history {
                    let points = view.history.points(&address).into_iter().map(|(s, t)| {
                        Json::Array(vec![Json::Int(i128::from(s)), Json::Float((t * 10.0).round() / 10.0)])
                    });
                    fields.push(("history", Json::Array(points.collect())));
                }
                fields.insert(0, ("address", Json::Str(address)));
                Json::obj(fields)
            })
            .collect();
    let up = view.hosts.iter().filter(|h| h.status().is_some()).count();
    let board = view.board.as_ref().map_or(Json::Null, |b| {
        Json::obj(vec![
            ("generation", Json::Int(i128::from(b.generation))),
            ("rows", Json::Int(i128::from(b.rows))),
            ("cols", Json::Int(i128::from(b.cols))),
        ])
    });
    Json::obj(vec![
        ("seq", Json::Int(i128::from(view.seq))),
        ("hosts_total", Json::Int(view.hosts.len() as i128)),
        ("hosts_up", Json::Int(up as i128)),
        ("hosts", Json::Array(hosts)),
        ("job", view.job.as_ref().map_or(Json::Null, job_json)),
        ("board", board),
    ])
    .render()
}

fn job_json(job: &JobView) -> Json {
    let int = |v: u64| Json::Int(i128::from(v));
    let float = |v: Option<f64>| v.filter(|v| v.is_finite()).map_or(Json::Null, Json::Float);
    let hosts = job
        .hosts
        .iter()
        .map(|h| {
            Json::obj(vec![
                ("address", Json::Str(h.address.clone())),
                ("pieces", int(h.pieces)),
                ("failures", int(h.failures)),
                ("state", Json::Str(h.state.clone())),
            ])
        })
        .collect();
    Json::obj(vec![
        ("command", Json::Str(job.command.clone())),
        ("started_unix_ms", int(job.started_unix_ms)),
        ("pieces_done", int(job.pieces_done)),
        ("pieces_total", job.pieces_total.map_or(Json::Null, int)),
        ("rate_per_s", float(job.rate_per_s)),
        ("eta_s", float(job.eta_s)),
        ("hosts", Json::Array(hosts)),
        (
            "primes",
            job.primes.map_or(Json::Null, |(count, largest)| {
                Json::obj(vec![("count", int(count)), ("largest", int(largest))])
            }),
        ),
        ("life_generation", job.life_generation.map_or(Json::Null, int)),
        ("finished", job.finished.clone().map_or(Json::Null, Json::Str)),
    ])
}

fn round1(v: f32) -> f64 {
    (f64::from(v) * 10.0).round() / 10.0
}

fn round2(v: f32) -> f64 {
    (f64::from(v) * 100.0).round() / 100.0
}
