//! `pisubmit status`: every host's health as a coloured grid (or JSON),
//! once or redrawn in place with `--watch`.

use crate::protocol::throttle::{CAPPED_NOW, SOFT_TEMP_NOW, THROTTLED_BEFORE, THROTTLED_NOW, UNDER_VOLTAGE_NOW};
use crate::protocol::Status;
use crate::submit::cli::tools::StatusOpts;
use crate::submit::cli::Global;
use crate::submit::cluster::survey::{survey, Failure, HostSurvey};
use crate::submit::error::SubmitError;
use crate::submit::report::grid::{render, TermSize, Tile, TileState};
use crate::submit::report::json::Json;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn run(global: &Global, opts: &StatusOpts) -> Result<String, SubmitError> {
    let key = global.reach(Instant::now()).key()?;
    let Some(every) = opts.watch else {
        let hosts = survey(&global.hosts, key, opts.wait)?;
        return Ok(if global.json { to_json(&hosts).render() + "\n" } else { draw(&hosts) });
    };
    watch(global, key, opts.wait, every)
}

/// Redraws in place until SIGINT or SIGTERM, then leaves the last picture
/// on the screen.
fn watch(global: &Global, key: Option<Arc<Vec<u8>>>, wait: Duration, every: Duration) -> Result<String, SubmitError> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .map_err(|e| SubmitError::Connect(format!("cannot watch signals: {e}")))?;
    }
    let mut out = std::io::stdout();
    let tty = out.is_terminal();
    // Hide the cursor while redrawing; shown again on the way out.
    if tty {
        let _ = write!(out, "\x1b[?25l");
    }
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let hosts = survey(&global.hosts, key.clone(), wait)?;
        let frame = if global.json { to_json(&hosts).render() + "\n" } else { draw(&hosts) };
        let _ = if tty { write!(out, "\x1b[H\x1b[2J{frame}") } else { write!(out, "{frame}") };
        let _ = out.flush();
        while !stop.load(Ordering::Relaxed) && started.elapsed() < every {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    if tty {
        let _ = write!(out, "\x1b[?25h");
        let _ = out.flush();
    }
    Ok(String::new())
}

fn draw(hosts: &[HostSurvey]) -> String {
    let mut tiles: Vec<Tile> = hosts.iter().map(tile).collect();
    // Several workers on one machine (a test, a big Pi split in two) share
    // a hostname: tell them apart by port.
    let names: Vec<String> = tiles.iter().map(|t| t.name.clone()).collect();
    for (tile, h) in tiles.iter_mut().zip(hosts) {
        if names.iter().filter(|n| **n == tile.name).count() > 1 {
            tile.name = format!("{}:{}", tile.name, h.spec.port);
        }
    }
    let stdout_is_tty = std::io::stdout().is_terminal();
    let (rows, cols) = console::Term::stdout().size_checked().unwrap_or((24, 80));
    let colour = stdout_is_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    // One row fewer than the screen: a frame that ends on the last row
    // would scroll the header away when redrawn in place.
    let size = if stdout_is_tty {
        TermSize { cols, rows: rows.saturating_sub(1) }
    } else {
        TermSize { cols: 100, rows: u16::MAX }
    };
    render(&tiles, size, colour)
}

fn tile(h: &HostSurvey) -> Tile {
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

fn host_json(h: &HostSurvey) -> Json {
    let mut fields = vec![("address", Json::Str(h.spec.address()))];
    match &h.outcome {
        Ok(s) => {
            fields.push(("state", Json::Str("up".into())));
            fields.push(("rtt_ms", opt(h.rtt, |d| Json::Float(d.as_secs_f64() * 1e3))));
            fields.push(("clock_offset_ms", opt(h.clock_offset_ms, |v| Json::Int(v as i128))));
            fields.extend(status_fields(s));
        }
        Err(failure) => {
            let state = if matches!(failure, Failure::Refused(_) | Failure::NotAllowed(_) | Failure::Busy(_)) {
                "refused"
            } else {
                "unreachable"
            };
            fields.push(("state", Json::Str(state.into())));
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
