//! The status page as a person sees it: headless Chromium (Debian's `chromium` and
//! `chromium-driver`, driven by selenium from tests/web/check_page.py) loads the page from
//! a real `pisubmit status --serve` watching real workers with fake temperatures.
//!
//! Checked: a screenshot is taken; each tile's colour is the terminal grid's for its
//! temperature (from the Rust table, `temp_rgb`); a worker killed mid-test turns dark with
//! its X within the refresh period; 240 workers all fit, readable, on 1920x1080.
//! `scripts/install-build-deps.sh` installs Chromium; `scripts/web-venv.sh` selenium.
//! WEB_SCREENSHOT=PATH keeps the first test's screenshot (docs/web-status.png).

mod common;
#[path = "common/web.rs"]
mod web;

use common::{Worker, PISUBMIT};
use piworker::submit::report::grid::temp_rgb;
use serde_json::{json, Value};
use std::process::Command;
use std::time::Duration;
use web::{fake_pi, fake_pi_throttled, Page};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The venv's python with selenium, or None (said loudly) when Chromium is not installed.
fn browser_python() -> Option<String> {
    for tool in [CHROMIUM, CHROMEDRIVER] {
        if !std::path::Path::new(tool).exists() {
            eprintln!("SKIPPED: {tool} is missing (apt-get install chromium chromium-driver, or make build-deps)");
            return None;
        }
    }
    let out = Command::new("bash").arg("scripts/web-venv.sh").output().expect("run scripts/web-venv.sh");
    assert!(out.status.success(), "scripts/web-venv.sh failed: {}", String::from_utf8_lossy(&out.stderr));
    Some(String::from_utf8(out.stdout).unwrap().trim().to_string())
}

fn check_page(python: &str, args: Value) -> Value {
    let out = Command::new(python).arg("tests/web/check_page.py").arg(args.to_string()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "check_page.py failed:\n{}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("check_page.py printed no JSON ({e}): {stdout}"))
}

fn css_rgb(temp_c: f64) -> String {
    let (r, g, b) = temp_rgb(temp_c as f32);
    format!("rgb({r}, {g}, {b})")
}

fn tile<'a>(report: &'a Value, address: &str) -> &'a Value {
    report["tiles"].as_array().unwrap().iter().find(|t| t["address"] == address).expect("a tile per host")
}

#[test]
fn chromium_shows_each_host_in_its_colour_and_a_killed_worker_dark_with_its_x() {
    let Some(python) = browser_python() else { return };
    let temps = [41.0, 48.5, 55.0, 63.0, 71.5, 79.0];
    let workers: Vec<Worker> = temps
        .iter()
        .enumerate()
        .map(|(i, t)| {
            // The hottest is throttled now: its tile carries a T.
            let throttled = if *t > 75.0 { 0x4 } else { 0 };
            let root = fake_pi_throttled(&format!("cr{i}"), *t, throttled);
            Worker::start(&["--threads", "1", "--host-root", root.to_str().unwrap()])
        })
        .collect();
    let hosts = workers.iter().map(|w| w.addr()).collect::<Vec<_>>().join(",");
    let (every, wait) = (0.5, 1.0);
    let page = Page::start(PISUBMIT, &hosts, &["status", "--serve", "0", "--every", "0.5", "--wait", "1"]);
    let shot = std::env::var("WEB_SCREENSHOT").unwrap_or_else(|_| {
        std::env::temp_dir().join(format!("piw-web-{}.png", std::process::id())).display().to_string()
    });
    let victim = &workers[2];
    let report = check_page(
        &python,
        json!({
            "url": format!("http://{}/", page.addr),
            "viewport": [1000, 420],
            "tiles": temps.len(),
            "screenshot": shot,
            "kill": {"pid": victim.pid(), "address": victim.addr()},
        }),
    );
    assert!(report["screenshot_bytes"].as_u64().unwrap() > 2000, "{report}");
    assert!(std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0) > 2000, "no screenshot at {shot}");
    for (w, t) in workers.iter().zip(temps) {
        let tile = tile(&report, &w.addr());
        assert_eq!(tile["background"], css_rgb(t), "{t} °C: {tile}");
        assert_eq!(tile["temp"].as_str().unwrap().parse::<f64>().unwrap(), t, "{tile}");
        assert_eq!(tile["mark"], if t > 75.0 { "T" } else { "" }, "{tile}");
        assert_eq!(tile["seen"], true, "{tile}");
    }
    let dead = &report["dead"];
    assert_eq!(dead["background"], "rgb(64, 64, 64)", "{dead}");
    assert_eq!(dead["mark"], "X");
    // The refresh period: a survey every 0.5 s that waits up to 1 s for an answer, plus
    // the event stream's quarter second and a second for the browser to draw.
    let within = every + wait + 0.25 + 1.0;
    let took = report["dead_after_s"].as_f64().unwrap();
    assert!(took <= within, "the dead worker took {took:.2}s to turn dark (at most {within}s)");
    eprintln!("the killed worker turned dark after {took:.2}s");
}

#[test]
fn chromium_fits_240_workers_on_a_1920x1080_screen() {
    let Some(python) = browser_python() else { return };
    let roots: Vec<_> = (0..8).map(|i| fake_pi(&format!("wall{i}"), 40.0 + 5.0 * f64::from(i))).collect();
    let workers: Vec<Worker> = (0..240)
        .map(|i| {
            let root = roots[i % roots.len()].to_str().unwrap();
            Worker::start(&["--threads", "1", "--no-discovery", "--host-root", root])
        })
        .collect();
    let hosts = workers.iter().map(|w| w.addr()).collect::<Vec<_>>().join(",");
    let page = Page::start(PISUBMIT, &hosts, &["status", "--serve", "0", "--every", "2", "--wait", "3"]);
    let report = check_page(
        &python,
        json!({
            "url": format!("http://{}/", page.addr),
            "viewport": [1920, 1080],
            "tiles": 240,
            "within_s": 60,
            // WEB_SCREENSHOT_240=PATH keeps a picture of the full wall.
            "screenshot": std::env::var("WEB_SCREENSHOT_240").ok(),
        }),
    );
    assert_eq!(report["viewport"], json!([1920, 1080]), "{}", report["viewport"]);
    let tiles = report["tiles"].as_array().unwrap();
    assert_eq!(tiles.len(), 240);
    for (i, t) in tiles.iter().enumerate() {
        let inside = t["left"].as_f64().unwrap() >= 0.0
            && t["top"].as_f64().unwrap() >= 0.0
            && t["right"].as_f64().unwrap() <= 1920.0
            && t["bottom"].as_f64().unwrap() <= 1080.0;
        assert!(inside && t["seen"] == true, "tile {i} is off the screen or covered: {t}");
        let width = t["right"].as_f64().unwrap() - t["left"].as_f64().unwrap();
        assert!(width >= 60.0 && t["font_px"].as_f64().unwrap() >= 10.0, "tile {i} is too small to read: {t}");
        let temp = 40.0 + 5.0 * (i % 8) as f64;
        assert_eq!(t["background"], css_rgb(temp), "tile {i}: {t}");
    }
}

#[test]
fn chromium_shows_a_running_primes_job_s_count_ending_at_pisubmit_s_answer() {
    let Some(python) = browser_python() else { return };
    let (a, b) = (Worker::start(&["--threads", "1"]), Worker::start(&["--threads", "1"]));
    let hosts = format!("{},{}", a.addr(), b.addr());
    let mut page = Page::start(PISUBMIT, &hosts, &["--json", "--serve", "0", "primes", "--from", "1", "--to", "3e10"]);
    let report =
        check_page(&python, json!({"url": format!("http://{}/", page.addr), "viewport": [1280, 720], "job": true}));
    let (code, stdout) = page.finish(Duration::from_secs(120));
    assert_eq!(code, 0, "{stdout}");
    let answer: Value = serde_json::from_str(stdout.trim()).unwrap();
    let job = &report["job"];
    assert_eq!(job["panel_shown"], true, "{job}");
    // The page writes the count with thousands separators (en).
    let shown = |id: &str| job[id].as_str().unwrap().replace(',', "");
    assert_eq!(shown("job-primes-count"), answer["result"].to_string(), "{job}");
    assert_eq!(shown("job-primes-largest"), answer["max"].to_string(), "{job}");
    assert!(job["job-finished"].as_str().unwrap().contains(&answer["result"].to_string()), "{job}");
    assert!(job["counts_seen"].as_array().unwrap().len() >= 2, "the count grew on the page: {job}");
}
