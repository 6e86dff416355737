//! What a survey says about each host, in the two forms pisubmit shows it: the grid's tiles
//! (terminal and web page) and the JSON facts of `status --json` and the page's /state.json.

use crate::protocol::throttle::{CAPPED_NOW, SOFT_TEMP_NOW, THROTTLED_BEFORE, THROTTLED_NOW, UNDER_VOLTAGE_NOW};
use crate::protocol::Status;
use crate::submit::cluster::survey::{Failure, HostSurvey};
use crate::submit::report::grid::{Tile, TileState};
use crate::submit::report::json::Json;

/// One tile per host, in order. Several workers on one machine (a test, a big Pi split in
/// two) share a hostname: they are told apart by port.
pub fn tiles(hosts: &[HostSurvey]) -> Vec<Tile> {
    let mut tiles: Vec<Tile> = hosts.iter().map(tile).collect();
    let names: Vec<String> = tiles.iter().map(|t| t.name.clone()).collect();
    for (tile, h) in tiles.iter_mut().zip(hosts) {
        if names.iter().filter(|n| **n == tile.name).count() > 1 {
            tile.name = format!("{}:{}", tile.name, h.spec.port);
        }
    }
    tiles
}

pub fn tile(h: &HostSurvey) -> Tile {
    match h.status() {
        Some(s) => {
            let bits = s.throttled.unwrap_or(0);
            Tile {
                name: s.hostname.clone(),
                state: TileState::Up,
                temp_c: s.temp_millic.map(|m| m as f32 / 1000.0),
                load1: s.load.map(|l| l[0]),
                threads: Some(s.threads),
                throttled_now: bits & (THROTTLED_NOW | CAPPED_NOW | SOFT_TEMP_NOW) != 0,
                under_voltage_now: bits & UNDER_VOLTAGE_NOW != 0,
                throttled_before: bits & THROTTLED_BEFORE != 0,
            }
        }
        None => Tile {
            name: h.spec.host.clone(),
            state: TileState::Unreachable,
            temp_c: None,
            load1: None,
            threads: None,
            throttled_now: false,
            under_voltage_now: false,
            throttled_before: false,
        },
    }
}

/// One object with a `hosts` array; a fact a host lacks is `null`.
pub fn to_json(hosts: &[HostSurvey]) -> Json {
    let up = hosts.iter().filter(|h| h.status().is_some()).count();
    let list = hosts.iter().map(host_json).collect();
    Json::obj(vec![
        ("hosts_total", Json::Int(hosts.len() as i128)),
        ("hosts_up", Json::Int(up as i128)),
        ("hosts", Json::Array(list)),
    ])
}

fn opt<T>(v: Option<T>, f: impl FnOnce(T) -> Json) -> Json {
    v.map_or(Json::Null, f)
}

/// "up", "refused" (it answered but would not serve us) or "unreachable".
pub fn state_name(h: &HostSurvey) -> &'static str {
    match &h.outcome {
        Ok(_) => "up",
        Err(Failure::Refused(_) | Failure::NotAllowed(_) | Failure::Busy(_)) => "refused",
        Err(_) => "unreachable",
    }
}

pub fn host_json(h: &HostSurvey) -> Json {
    let mut fields = vec![("address", Json::Str(h.spec.address())), ("state", Json::Str(state_name(h).into()))];
    match &h.outcome {
        Ok(s) => {
            fields.push(("rtt_ms", opt(h.rtt, |d| Json::Float(d.as_secs_f64() * 1e3))));
            fields.push(("clock_offset_ms", opt(h.clock_offset_ms, |v| Json::Int(v as i128))));
            fields.extend(status_fields(s));
        }
        Err(failure) => {
            fields.push(("error", Json::Str(failure.why().into())));
        }
    }
    Json::obj(fields)
}

fn status_fields(s: &Status) -> Vec<(&'static str, Json)> {
    let ips = |v: &[std::net::IpAddr]| Json::Array(v.iter().map(|ip| Json::Str(ip.to_string())).collect());
    let int = |v: u64| Json::Int(v as i128);
    vec![
        ("hostname", Json::Str(s.hostname.clone())),
        ("version", Json::Str(s.software.clone())),
        ("protocol", Json::Str(format!("{}.{}", s.protocol_major, s.protocol_minor))),
        ("arch", Json::Str(s.arch.clone())),
        ("model", opt(s.model.clone(), Json::Str)),
        ("threads", Json::Int(s.threads as i128)),
        ("listen", Json::Str(s.listen.clone())),
        ("addresses", ips(&s.addresses)),
        ("name_resolves_to", opt(s.name_resolves_to.as_deref(), ips)),
        ("uptime_s", opt(s.system_uptime_ms, |v| Json::Float(v as f64 / 1e3))),
        ("daemon_uptime_s", Json::Float(s.daemon_uptime_ms as f64 / 1e3)),
        ("load", opt(s.load, |l| Json::Array(l.iter().map(|v| Json::Float(round2(*v as f64))).collect()))),
        ("mem_total_kib", opt(s.mem_total_kib, int)),
        ("mem_available_kib", opt(s.mem_available_kib, int)),
        ("temp_c", opt(s.temp_millic, |m| Json::Float(m as f64 / 1e3))),
        ("throttled", opt(s.throttled, |b| Json::Str(format!("{b:#x}")))),
        (
            "throttled_flags",
            opt(s.throttled, |b| {
                Json::Array(
                    crate::protocol::throttle::describe_throttled(b).into_iter().map(|d| Json::Str(d.into())).collect(),
                )
            }),
        ),
        ("cpu_freq_mhz", opt(s.cpu_freq_khz, |k| Json::Float(k as f64 / 1e3))),
        ("jobs_running", Json::Int(s.jobs_running as i128)),
        ("tasks_queued", Json::Int(s.tasks_queued as i128)),
        ("threads_busy", Json::Int(s.threads_busy as i128)),
        ("jobs_served", int(s.jobs_served)),
        ("core_busy_ms", Json::Array(s.core_busy_ms.iter().map(|v| int(*v)).collect())),
        ("sysctl", Json::Object(s.sysctls.iter().map(|(k, v)| (k.clone(), Json::Str(v.clone()))).collect())),
    ]
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}
