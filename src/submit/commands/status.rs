//! `pisubmit status`: every host's health as a coloured grid (or JSON),
//! once or redrawn in place with `--watch`.

use crate::submit::cli::tools::StatusOpts;
use crate::submit::cli::Global;
use crate::submit::cluster::survey::{survey, HostSurvey};
use crate::submit::commands::serve::web_page;
use crate::submit::error::SubmitError;
use crate::submit::report::grid::{render, TermSize};
use crate::submit::report::host_facts::{tiles, to_json};
use crate::submit::report::web::Hub;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn run(global: &Global, opts: &StatusOpts) -> Result<String, SubmitError> {
    let key = global.reach(Instant::now()).key()?;
    if let Some(addr) = global.serve {
        return serve(global, key, opts, addr, opts.serve_every);
    }
    let Some(every) = opts.watch else {
        let hosts = survey(&global.hosts, key, opts.wait)?;
        return Ok(if global.json { to_json(&hosts).render() + "\n" } else { draw(&hosts) });
    };
    watch(global, key, opts.wait, every)
}

/// `--serve`: the web page, fed by a survey every `every` until SIGINT or SIGTERM; with
/// `--watch` the terminal shows each survey too.
fn serve(
    global: &Global,
    key: Option<Arc<Vec<u8>>>,
    opts: &StatusOpts,
    addr: std::net::SocketAddr,
    every: Duration,
) -> Result<String, SubmitError> {
    let stop = stop_on_signals()?;
    let hub = Hub::new();
    let server = web_page(addr, &hub)?;
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let hosts = survey(&global.hosts, key.clone(), opts.wait)?;
        if opts.watch.is_some() {
            let frame = if global.json { to_json(&hosts).render() + "\n" } else { draw(&hosts) };
            print!("{frame}");
            let _ = std::io::stdout().flush();
        }
        hub.set_hosts(hosts);
        while !stop.load(Ordering::Relaxed) && started.elapsed() < every {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    drop(server);
    Ok(String::new())
}

fn stop_on_signals() -> Result<Arc<AtomicBool>, SubmitError> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .map_err(|e| SubmitError::Connect(format!("cannot watch signals: {e}")))?;
    }
    Ok(stop)
}

/// Redraws in place until SIGINT or SIGTERM, then leaves the last picture
/// on the screen.
fn watch(global: &Global, key: Option<Arc<Vec<u8>>>, wait: Duration, every: Duration) -> Result<String, SubmitError> {
    let stop = stop_on_signals()?;
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
    let tiles = tiles(hosts);
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
