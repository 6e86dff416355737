//! `pisubmit doctor`: the failures people meet with cluster tools, checked
//! on every host, each with how to fix it.
//!
//! The checks are pure functions of a survey (what each worker said, and
//! how reaching it went) plus what this head knows (its own clock, what
//! names resolve to here, the package's sysctl snippet), so each can be
//! triggered on purpose in tests.

use crate::protocol::frame::{PROTOCOL_MAJOR, PROTOCOL_MINOR};
use crate::protocol::message::SOFTWARE_VERSION;
use crate::protocol::throttle::{
    describe_throttled, CAPPED_NOW, SOFT_TEMP_NOW, THROTTLED_BEFORE, THROTTLED_NOW, UNDER_VOLTAGE_BEFORE,
    UNDER_VOLTAGE_NOW,
};
use crate::protocol::Status;
use crate::submit::cli::tools::DoctorOpts;
use crate::submit::cli::Global;
use crate::submit::cluster::hosts::HostSpec;
use crate::submit::cluster::survey::{survey, Failure, HostSurvey};
use crate::submit::error::SubmitError;
use crate::submit::report::json::Json;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::io;
use std::net::{IpAddr, ToSocketAddrs};
use std::time::Instant;

/// The sysctl snippet the package installs: what the workers should have.
const SYSCTL_SNIPPET: &str = include_str!("../../../packaging/60-piworker.conf");
/// A clock further off than this (beyond half the round trip) is skew:
/// logs from different Pis stop lining up, and `make` and TLS misbehave.
const CLOCK_SKEW_MS: i64 = 1000;
/// Seed 004's scale tops out at 80 °C; Pi 4 firmware starts to throttle at 80-85 °C.
const HOT_C: f64 = 80.0;
const WARM_C: f64 = 70.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Ok,
    Note,
    Warn,
    Fail,
}

impl Level {
    fn label(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Note => "note",
            Level::Warn => "WARN",
            Level::Fail => "FAIL",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Finding {
    pub level: Level,
    /// A stable name for scripts and tests (`clock_skew`, `closed`, ...).
    pub check: &'static str,
    /// The host it is about, or empty for the cluster as a whole.
    pub host: String,
    pub message: String,
    pub fix: String,
}

fn finding(level: Level, check: &'static str, host: &str, message: String, fix: impl Into<String>) -> Finding {
    Finding { level, check, host: host.to_string(), message, fix: fix.into() }
}

pub fn run(global: &Global, opts: &DoctorOpts) -> Result<String, SubmitError> {
    let key = global.reach(Instant::now()).key()?;
    let hosts = survey(&global.hosts, key, opts.wait)?;
    let findings = diagnose(&hosts, &resolve_on_head);
    let problems = findings.iter().filter(|f| f.level >= Level::Warn).count();
    let report = if global.json { to_json(&findings).render() + "\n" } else { to_text(&hosts, &findings) };
    if problems == 0 {
        return Ok(report);
    }
    Err(SubmitError::Findings { report, summary: format!("doctor found {problems} problems (see above)") })
}

/// What a host name resolves to on this head, or None for an IP literal.
fn resolve_on_head(host: &str) -> Option<Vec<IpAddr>> {
    if host.parse::<IpAddr>().is_ok() {
        return None;
    }
    let ips: Vec<IpAddr> = (host, 0).to_socket_addrs().ok()?.map(|a| a.ip()).collect();
    Some(ips)
}

/// Every check, host by host, then across the cluster.
pub fn diagnose(hosts: &[HostSurvey], resolve: &dyn Fn(&str) -> Option<Vec<IpAddr>>) -> Vec<Finding> {
    let mut out = Vec::new();
    for h in hosts {
        let name = h.spec.address();
        check_head_resolution(&h.spec, resolve, &mut out);
        match &h.outcome {
            Ok(s) => check_worker(h, s, &name, &mut out),
            Err(failure) => out.push(unreachable(&h.spec, &name, failure)),
        }
    }
    check_cluster(hosts, &mut out);
    out
}

fn check_head_resolution(spec: &HostSpec, resolve: &dyn Fn(&str) -> Option<Vec<IpAddr>>, out: &mut Vec<Finding>) {
    let Some(ips) = resolve(&spec.host) else { return };
    if let Some(lo) = ips.iter().find(|ip| ip.is_loopback()) {
        let level = if spec.host.eq_ignore_ascii_case("localhost") { Level::Note } else { Level::Warn };
        out.push(finding(
            level,
            "name_is_loopback_here",
            &spec.address(),
            format!("{:?} resolves to {lo} (loopback) on this head: jobs sent there stay on this machine", spec.host),
            format!(
                "use the Pi's LAN address in the host list, or fix the {:?} line in this head's /etc/hosts",
                spec.host
            ),
        ));
    }
}

fn unreachable(spec: &HostSpec, name: &str, failure: &Failure) -> Finding {
    let port = spec.port;
    match failure {
        Failure::ConnectFailed(io::ErrorKind::ConnectionRefused, why) => finding(
            Level::Fail,
            "closed",
            name,
            format!("port {port} is closed: nothing listens there ({why})"),
            format!(
                "on {}: `systemctl status piworker` (start it with `systemctl start piworker`); check --listen in \
                 /etc/default/piworker",
                spec.host
            ),
        ),
        Failure::ConnectFailed(io::ErrorKind::NotFound, why) => finding(
            Level::Fail,
            "name_unknown",
            name,
            format!("{:?} does not resolve to an address ({why})", spec.host),
            "use its IP address, or add it to /etc/hosts on this head (or fix DNS / mDNS: `avahi-daemon`)",
        ),
        Failure::ConnectFailed(_, why) => finding(
            Level::Fail,
            "unreachable",
            name,
            format!("cannot reach it: {why}"),
            "check the cable, the switch and the address (`ip route get ADDRESS`)",
        ),
        Failure::NoAnswer { connected: false, why } => finding(
            Level::Fail,
            "filtered",
            name,
            format!("port {port} is filtered or the machine is off: {why}"),
            format!(
                "if it is on, allow TCP and UDP port {port} through its firewall (e.g. `nft add rule inet filter \
                 input tcp dport {port} accept`, or `ufw allow {port}`)"
            ),
        ),
        Failure::NoAnswer { connected: true, why } => finding(
            Level::Fail,
            "hung",
            name,
            why.clone(),
            format!("look at `journalctl -u piworker` on {}; restart it with `systemctl restart piworker`", spec.host),
        ),
        Failure::NotAllowed(why) => finding(
            Level::Fail,
            "not_allowed",
            name,
            format!("refuses this head's address: {why}"),
            format!(
                "on {}: add this head's address to --allow in /etc/default/piworker, then `systemctl restart piworker`",
                spec.host
            ),
        ),
        Failure::Busy(why) => finding(
            Level::Warn,
            "busy",
            name,
            format!("has no room for another connection now: {why}"),
            format!(
                "try again; if it stays full, see who holds connections on {} (`ss -tn 'sport = :{port}'`) or raise \
                 --max-connections in /etc/default/piworker",
                spec.host
            ),
        ),
        Failure::Refused(why) => finding(
            Level::Fail,
            "refused",
            name,
            format!("answers, but not as a usable worker: {why}"),
            "install the same piworker version everywhere, and give the cluster key with --key if the workers \
             have one",
        ),
    }
}

fn check_worker(h: &HostSurvey, s: &Status, name: &str, out: &mut Vec<Finding>) {
    let who = format!("{name} ({})", s.hostname);
    let temp = s.temp_millic.map_or("no sensor".into(), |m| format!("{:.1} °C", m as f64 / 1000.0));
    out.push(finding(
        Level::Ok,
        "reachable",
        &who,
        format!("piworker {}, {}, {}, {temp}", s.software, s.arch, crate::units::count(s.threads as usize, "thread")),
        "",
    ));
    if let Some(listen) = s.listen_addr().filter(|a| a.ip().is_loopback()) {
        // Reached over loopback, the head is the same machine: a test set-up.
        let local = h.spec.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()) || h.spec.host == "localhost";
        out.push(finding(
            if local { Level::Note } else { Level::Warn },
            "listens_on_loopback",
            &who,
            format!("listens only on {listen}: only programs on {} itself can reach it", s.hostname),
            format!(
                "on {}: set PIWORKER_OPTS=\"--listen 0.0.0.0:{}\" in /etc/default/piworker, then \
                 `systemctl restart piworker` (fine as it is for a one-machine test)",
                s.hostname,
                listen.port()
            ),
        ));
    }
    if let Some(lo) = s.name_resolves_to.iter().flatten().find(|ip| ip.is_loopback()) {
        out.push(finding(
            Level::Warn,
            "own_name_is_loopback",
            &who,
            format!(
                "its own name {:?} resolves to {lo} on it (a common /etc/hosts default): MPI, dispy and \
                 distcc there bind to or advertise loopback; piworker itself is not affected",
                s.hostname
            ),
            format!(
                "on {}: in /etc/hosts, put its LAN address on the {:?} line instead of {lo}",
                s.hostname, s.hostname
            ),
        ));
    }
    if s.software != SOFTWARE_VERSION {
        // Which side to upgrade: the older one.
        let fix = if version_key(&s.software) > version_key(SOFTWARE_VERSION) {
            format!(
                "upgrade this head's piworker package to {} as well (`apt upgrade`, or `apt install \
                 ./piworker_{}-1_ARCH.deb`): it still works, but cannot use what is new in {}",
                s.software, s.software, s.software
            )
        } else {
            format!(
                "upgrade piworker on {} (`apt update && apt upgrade` with the head's repository, or `apt install \
                 ./piworker_{SOFTWARE_VERSION}-1_ARCH.deb`)",
                s.hostname
            )
        };
        out.push(finding(
            Level::Warn,
            "version_skew",
            &who,
            format!(
                "runs piworker {} (protocol {}.{}), this pisubmit is {SOFTWARE_VERSION} (protocol {PROTOCOL_MAJOR}.{PROTOCOL_MINOR})",
                s.software, s.protocol_major, s.protocol_minor
            ),
            fix,
        ));
    }
    if let (Some(offset), Some(rtt)) = (h.clock_offset_ms, h.rtt) {
        let slack = CLOCK_SKEW_MS + rtt.as_millis() as i64 / 2;
        if offset.abs() > slack {
            let dir = if offset > 0 { "ahead of" } else { "behind" };
            out.push(finding(
                Level::Warn,
                "clock_skew",
                &who,
                format!("its clock is {:.1} s {dir} this head's", offset.abs() as f64 / 1000.0),
                format!(
                    "turn on time sync on both (`timedatectl set-ntp true`; a Pi has no battery clock, so it needs \
                     network time after every boot); check with `timedatectl` on {}",
                    s.hostname
                ),
            ));
        }
    }
    check_power_and_heat(s, &who, out);
    check_sysctls(s, &who, out);
}

fn check_power_and_heat(s: &Status, who: &str, out: &mut Vec<Finding>) {
    let bits = s.throttled.unwrap_or(0);
    let words = describe_throttled(bits).join(", ");
    if bits & UNDER_VOLTAGE_NOW != 0 {
        out.push(finding(
            Level::Warn,
            "under_voltage",
            who,
            format!("under-voltage now (firmware flags {bits:#x}: {words}): it runs slow and may corrupt its SD card"),
            "use the official 5.1 V supply (3 A for a Pi 4, 5 A for a Pi 5) and a short, thick USB-C cable",
        ));
    } else if bits & UNDER_VOLTAGE_BEFORE != 0 {
        out.push(finding(
            Level::Note,
            "under_voltage",
            who,
            format!("under-voltage has occurred since boot (flags {bits:#x}: {words})"),
            "check the power supply and cable under full load",
        ));
    }
    if bits & (THROTTLED_NOW | CAPPED_NOW | SOFT_TEMP_NOW) != 0 {
        out.push(finding(
            Level::Warn,
            "throttled",
            who,
            format!("throttled now (flags {bits:#x}: {words}): it is the slowest node of the cluster"),
            "add a heatsink and fan, give it air, and check its supply",
        ));
    } else if bits & THROTTLED_BEFORE != 0 {
        out.push(finding(
            Level::Note,
            "throttled",
            who,
            format!("was throttled since boot (flags {bits:#x}: {words})"),
            "watch it under load with `pisubmit status --watch`",
        ));
    }
    if let Some(c) = s.temp_millic.map(|m| m as f64 / 1000.0) {
        let level = if c >= HOT_C {
            Level::Warn
        } else if c >= WARM_C {
            Level::Note
        } else {
            return;
        };
        out.push(finding(level, "hot", who, format!("SoC at {c:.1} °C"), "cool it: heatsink, fan, space"));
    }
}

/// `key = value` lines of the package's snippet.
pub fn snippet_values() -> Vec<(String, String)> {
    SYSCTL_SNIPPET
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.split_whitespace().collect::<Vec<_>>().join(" ")))
        .collect()
}

/// A value at least as large as the snippet's, number by number, is fine:
/// the snippet sets ceilings and floors that more generous settings meet.
fn meets(have: &str, want: &str) -> bool {
    let have: Vec<&str> = have.split_whitespace().collect();
    let want: Vec<&str> = want.split_whitespace().collect();
    have.len() == want.len()
        && have.iter().zip(&want).all(|(h, w)| match (h.parse::<u64>(), w.parse::<u64>()) {
            (Ok(h), Ok(w)) => h >= w,
            _ => h == w,
        })
}

fn check_sysctls(s: &Status, who: &str, out: &mut Vec<Finding>) {
    let have: BTreeMap<&str, &str> = s.sysctls.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut wrong = Vec::new();
    for (key, want) in snippet_values() {
        if let Some(v) = have.get(key.as_str()) {
            if !meets(v, &want) {
                wrong.push(format!("{key} = {v} (the package sets {want})"));
            }
        }
    }
    if !wrong.is_empty() {
        out.push(finding(
            Level::Warn,
            "sysctl",
            who,
            format!("network settings below the package's: {}", wrong.join("; ")),
            format!(
                "on {}: `sysctl --system` applies /usr/lib/sysctl.d/60-piworker.conf; if it is missing, reinstall \
                 the package; a later file in /etc/sysctl.d may be overriding it",
                s.hostname
            ),
        ));
    }
}

fn check_cluster(hosts: &[HostSurvey], out: &mut Vec<Finding>) {
    let statuses: Vec<(&HostSurvey, &Status)> = hosts.iter().filter_map(|h| h.status().map(|s| (h, s))).collect();
    let mut arches: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, s) in &statuses {
        *arches.entry(s.arch.as_str()).or_default() += 1;
    }
    if arches.len() > 1 {
        let mix: Vec<String> = arches.iter().map(|(a, n)| format!("{a} x{n}")).collect();
        out.push(finding(
            Level::Note,
            "mixed_arch",
            "",
            format!("a mix of architectures: {} (fine: every job gives the same bits on each)", mix.join(", ")),
            "",
        ));
    }
    check_versions(&statuses, out);
    // The same worker under two names gets twice its share of pieces.
    let mut seen: BTreeMap<(String, String, Vec<IpAddr>), String> = BTreeMap::new();
    for (h, s) in &statuses {
        let mut ips = s.addresses.clone();
        ips.retain(|ip| !ip.is_loopback());
        let id = (s.hostname.clone(), s.listen.clone(), ips);
        if let Some(first) = seen.get(&id) {
            out.push(finding(
                Level::Warn,
                "listed_twice",
                &h.spec.address(),
                format!("is the same worker as {first} ({}): it gets twice its share of pieces", s.hostname),
                "keep one entry for it in the host list",
            ));
        } else {
            seen.insert(id, h.spec.address());
        }
    }
    let threads: usize = statuses.iter().map(|(_, s)| s.threads as usize).sum();
    out.push(finding(
        Level::Ok,
        "summary",
        "",
        format!(
            "{} of {} hosts answered, {} in all",
            statuses.len(),
            hosts.len(),
            crate::units::count(threads, "thread")
        ),
        "",
    ));
}

/// Workers of more than one version: an upgrade half done (or a Pi that
/// missed it). Jobs still run, as every minor of one major talks to every
/// other, but a job runs at the oldest worker's level.
fn check_versions(statuses: &[(&HostSurvey, &Status)], out: &mut Vec<Finding>) {
    let mut versions: BTreeMap<(Vec<u64>, &str), Vec<String>> = BTreeMap::new();
    for (h, s) in statuses {
        versions.entry((version_key(&s.software), s.software.as_str())).or_default().push(h.spec.address());
    }
    if versions.len() < 2 {
        return;
    }
    let list = |hosts: &[String]| match hosts.len() {
        n if n <= 4 => hosts.join(", "),
        n => format!("{} and {} more", hosts[..3].join(", "), n - 3),
    };
    let mix: Vec<String> = versions.iter().rev().map(|((_, v), hosts)| format!("{v} on {}", list(hosts))).collect();
    let newest = versions.keys().next_back().map_or("", |(_, v)| v);
    let behind: Vec<String> =
        versions.iter().filter(|((_, v), _)| *v != newest).flat_map(|(_, hosts)| hosts.iter().cloned()).collect();
    out.push(finding(
        Level::Warn,
        "mixed_versions",
        "",
        format!("the workers run {} versions of piworker: {}", versions.len(), mix.join("; ")),
        format!(
            "finish the upgrade to {newest} on {} (`apt update && apt upgrade`, or the playbook); jobs run \
             meanwhile",
            list(&behind)
        ),
    ));
}

/// A version's numbers, for ordering ("0.10.0" after "0.9.1"); text that is
/// not a number orders first.
fn version_key(version: &str) -> Vec<u64> {
    version.split(['.', '-', '+']).map(|part| part.parse().unwrap_or(0)).collect()
}

fn to_text(hosts: &[HostSurvey], findings: &[Finding]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "pisubmit doctor: {} hosts, pisubmit {SOFTWARE_VERSION}", hosts.len());
    for f in findings {
        let host = if f.host.is_empty() { "cluster".to_string() } else { f.host.clone() };
        let _ = writeln!(out, "  {:<5} {host}: {}  [{}]", f.level.label(), f.message, f.check);
        if !f.fix.is_empty() && f.level >= Level::Note {
            let _ = writeln!(out, "        fix: {}", f.fix);
        }
    }
    let count = |l: Level| findings.iter().filter(|f| f.level == l).count();
    let _ =
        writeln!(out, "{} failures, {} warnings, {} notes", count(Level::Fail), count(Level::Warn), count(Level::Note));
    out
}

fn to_json(findings: &[Finding]) -> Json {
    let list = findings
        .iter()
        .map(|f| {
            Json::obj(vec![
                ("level", Json::Str(f.level.label().to_ascii_lowercase())),
                ("check", Json::Str(f.check.into())),
                ("host", Json::Str(f.host.clone())),
                ("message", Json::Str(f.message.clone())),
                ("fix", Json::Str(f.fix.clone())),
            ])
        })
        .collect();
    let problems = findings.iter().filter(|f| f.level >= Level::Warn).count();
    Json::obj(vec![("problems", Json::Int(problems as i128)), ("findings", Json::Array(list))])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(host: &str, failure: Failure) -> HostSurvey {
        HostSurvey {
            spec: HostSpec { host: host.into(), port: 31415, threads: None },
            outcome: Err(failure),
            welcome: None,
            rtt: None,
            clock_offset_ms: None,
        }
    }

    fn checks(findings: &[Finding], host: &str) -> Vec<(&'static str, Level)> {
        findings.iter().filter(|f| f.host.contains(host)).map(|f| (f.check, f.level)).collect()
    }

    /// The failures the end-to-end tests cannot cause without DNS or a hung
    /// machine, each told apart by its kind, never by its text.
    #[test]
    fn each_failure_has_its_check() {
        let why = |s: &str| s.to_string();
        let hosts = vec![
            failed("gone.example", Failure::ConnectFailed(io::ErrorKind::NotFound, why("cannot resolve"))),
            failed("10.9.9.9", Failure::ConnectFailed(io::ErrorKind::HostUnreachable, why("no route"))),
            failed("10.9.9.8", Failure::NoAnswer { connected: false, why: why("resolve TCP connect") }),
            failed("10.9.9.7", Failure::NoAnswer { connected: true, why: why("TCP connect") }),
            failed("10.9.9.6", Failure::ConnectFailed(io::ErrorKind::ConnectionRefused, why("refused"))),
            failed("10.9.9.5", Failure::Refused(why("another key"))),
            failed("10.9.9.4", Failure::NotAllowed(why("your address"))),
            failed("10.9.9.3", Failure::Busy(why("at its limit"))),
        ];
        let f = diagnose(&hosts, &|_| None);
        assert_eq!(checks(&f, "gone.example"), vec![("name_unknown", Level::Fail)]);
        assert_eq!(checks(&f, "10.9.9.9"), vec![("unreachable", Level::Fail)]);
        assert_eq!(checks(&f, "10.9.9.8"), vec![("filtered", Level::Fail)]);
        assert_eq!(checks(&f, "10.9.9.7"), vec![("hung", Level::Fail)]);
        assert_eq!(checks(&f, "10.9.9.6"), vec![("closed", Level::Fail)]);
        assert_eq!(checks(&f, "10.9.9.5"), vec![("refused", Level::Fail)]);
        assert_eq!(checks(&f, "10.9.9.4"), vec![("not_allowed", Level::Fail)]);
        assert_eq!(checks(&f, "10.9.9.3"), vec![("busy", Level::Warn)]);
        assert!(f.iter().filter(|f| f.level == Level::Fail).all(|f| !f.fix.is_empty()));
    }

    #[test]
    fn a_name_that_is_loopback_on_the_head_is_a_warning_unless_it_is_localhost() {
        let hosts = vec![
            failed("pi3", Failure::Refused("x".into())),
            failed("localhost", Failure::Refused("x".into())),
            failed("pi4", Failure::Refused("x".into())),
        ];
        let resolve = |name: &str| match name {
            "pi4" => Some(vec!["192.168.1.14".parse().unwrap()]),
            _ => Some(vec!["127.0.1.1".parse().unwrap()]),
        };
        let f = diagnose(&hosts, &resolve);
        let level = |host: &str| {
            f.iter().find(|f| f.check == "name_is_loopback_here" && f.host.starts_with(host)).map(|f| f.level)
        };
        assert_eq!(level("pi3:"), Some(Level::Warn));
        assert_eq!(level("localhost:"), Some(Level::Note));
        assert_eq!(level("pi4:"), None);
    }

    #[test]
    fn versions_order_by_their_numbers() {
        assert!(version_key("0.10.0") > version_key("0.9.1"));
        assert!(version_key("0.1.1") > version_key("0.1.0") && version_key("1.0.0") > version_key("0.99.9"));
        assert!(version_key("0.1.0") > version_key("x.y"));
    }

    #[test]
    fn sysctls_at_or_above_the_snippet_are_fine() {
        assert!(meets("4194304", "4194304") && meets("8388608", "4194304"));
        assert!(!meets("212992", "4194304"));
        assert!(meets("4096 131072 6291456", "4096 131072 4194304"));
        assert!(!meets("4096 16384 4194304", "4096 131072 4194304"));
        assert!(!meets("4096 131072", "4096 131072 4194304"));
        let snippet = snippet_values();
        assert!(snippet.iter().any(|(k, v)| k == "net.ipv4.tcp_wmem" && v == "4096 131072 4194304"), "{snippet:?}");
    }
}
