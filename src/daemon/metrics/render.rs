//! The worker's metrics in Prometheus' text exposition format 0.0.4,
//! rendered from the same status answer `pisubmit status` reads, plus the
//! event loop's own counts (bytes, connections, refusals).
//!
//! Names and units follow Prometheus' conventions: base units (seconds,
//! bytes, celsius, hertz), `_total` on counters, an `_info` gauge for the
//! build. A fact the machine cannot read (no thermal zone in a VM) is left
//! out, never written as 0. Pure: no sockets, no files.

use crate::daemon::refusals::{Refusals, ALL as REFUSALS};
use crate::protocol::throttle::{
    CAPPED_BEFORE, CAPPED_NOW, SOFT_TEMP_BEFORE, SOFT_TEMP_NOW, THROTTLED_BEFORE, THROTTLED_NOW, UNDER_VOLTAGE_BEFORE,
    UNDER_VOLTAGE_NOW,
};
use crate::protocol::Status;
use std::fmt::Write;

/// The get_throttled bits, each a `flag` label of `piworker_throttled`.
const THROTTLE_FLAGS: [(u32, &str); 8] = [
    (UNDER_VOLTAGE_NOW, "under_voltage_now"),
    (CAPPED_NOW, "frequency_capped_now"),
    (THROTTLED_NOW, "throttled_now"),
    (SOFT_TEMP_NOW, "soft_temp_limit_now"),
    (UNDER_VOLTAGE_BEFORE, "under_voltage_since_boot"),
    (CAPPED_BEFORE, "frequency_capped_since_boot"),
    (THROTTLED_BEFORE, "throttled_since_boot"),
    (SOFT_TEMP_BEFORE, "soft_temp_limit_since_boot"),
];

/// Everything a scrape shows.
pub struct Scrape<'a> {
    pub status: &'a Status,
    /// Bytes read from and written to job-port connections, closed ones included.
    pub bytes_received: u64,
    pub bytes_sent: u64,
    /// Connections now, by `state` label.
    pub connections: &'a [(&'static str, usize)],
    pub refusals: &'a Refusals,
}

/// The text a scrape answers.
pub fn render(scrape: &Scrape) -> String {
    let s = scrape.status;
    let mut out = Out(String::with_capacity(4096));
    out.family("piworker_build_info", "gauge", "This worker's software version and protocol; always 1.");
    let protocol = format!("{}.{}", s.protocol_major, s.protocol_minor);
    out.sample("piworker_build_info", &[("version", &s.software), ("protocol", &protocol)], 1);

    if let Some(millic) = s.temp_millic {
        out.single("piworker_soc_temperature_celsius", "gauge", "SoC temperature (thermal zone).", millic as f64 / 1e3);
    }
    if let Some(bits) = s.throttled {
        out.family(
            "piworker_throttled",
            "gauge",
            "Raspberry Pi firmware get_throttled flags: 1 when set, by flag (now, or since boot).",
        );
        for (bit, flag) in THROTTLE_FLAGS {
            out.sample("piworker_throttled", &[("flag", flag)], u64::from(bits & bit != 0));
        }
    }
    if let Some(khz) = s.cpu_freq_khz {
        let hz = u64::from(khz) * 1000;
        out.single("piworker_cpu_frequency_hertz", "gauge", "Clock of the first CPU the worker uses.", hz);
    }
    if let Some([one, five, fifteen]) = s.load {
        out.single("piworker_load1", "gauge", "1-minute load average.", one);
        out.single("piworker_load5", "gauge", "5-minute load average.", five);
        out.single("piworker_load15", "gauge", "15-minute load average.", fifteen);
    }
    if let Some(kib) = s.mem_total_kib {
        out.single("piworker_memory_total_bytes", "gauge", "MemTotal of /proc/meminfo.", kib * 1024);
    }
    if let Some(kib) = s.mem_available_kib {
        out.single("piworker_memory_available_bytes", "gauge", "MemAvailable of /proc/meminfo.", kib * 1024);
    }
    if let Some(ms) = s.system_uptime_ms {
        out.single("piworker_system_uptime_seconds", "gauge", "Seconds since the machine booted.", ms as f64 / 1e3);
    }
    let daemon_up = s.daemon_uptime_ms as f64 / 1e3;
    out.single("piworker_uptime_seconds", "gauge", "Seconds since this piworker started.", daemon_up);

    out.single("piworker_compute_threads", "gauge", "Pinned compute threads.", s.threads);
    out.single("piworker_compute_threads_busy", "gauge", "Compute threads running a task now.", s.threads_busy);
    out.single("piworker_jobs_running", "gauge", "Jobs accepted and not yet finished.", s.jobs_running);
    out.single("piworker_tasks_queued", "gauge", "Tasks waiting for a compute thread.", s.tasks_queued);
    out.single("piworker_jobs_served_total", "counter", "Jobs finished (done, failed or cancelled).", s.jobs_served);
    out.family(
        "piworker_thread_busy_seconds_total",
        "counter",
        "Seconds each compute thread has spent running tasks; its rate is how busy the core is.",
    );
    for (thread, ms) in s.core_busy_ms.iter().enumerate() {
        out.sample("piworker_thread_busy_seconds_total", &[("thread", &thread.to_string())], *ms as f64 / 1e3);
    }

    let received = scrape.bytes_received;
    out.single("piworker_received_bytes_total", "counter", "Bytes read from job-port connections.", received);
    out.single("piworker_sent_bytes_total", "counter", "Bytes written to job-port connections.", scrape.bytes_sent);
    out.family(
        "piworker_connections",
        "gauge",
        "Open connections by state: handshaking, ready, closing (job port) and metrics (this listener).",
    );
    for (state, n) in scrape.connections {
        out.sample("piworker_connections", &[("state", state)], *n);
    }
    out.family("piworker_refusals_total", "counter", "Connections, requests and jobs turned away, by reason.");
    for why in REFUSALS {
        out.sample("piworker_refusals_total", &[("reason", why.label())], scrape.refusals.count(why));
    }
    out.0
}

/// The exposition text being written.
struct Out(String);

impl Out {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        // Writing to a String cannot fail.
        let _ = write!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}\n");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (key, text)) in labels.iter().enumerate() {
                let sep = if i > 0 { "," } else { "" };
                let _ = write!(self.0, "{sep}{key}=\"{}\"", escape(text));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
    }

    /// A family of one unlabelled sample.
    fn single(&mut self, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }
}

/// A label value as the format wants it: backslash, quote and newline escaped.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status() -> Status {
        Status {
            hostname: "pi1".into(),
            software: "0.1.0".into(),
            protocol_major: 1,
            protocol_minor: 6,
            arch: "aarch64".into(),
            model: None,
            threads: 2,
            listen: "127.0.0.1:1".into(),
            addresses: Vec::new(),
            name_resolves_to: None,
            unix_time_ms: 0,
            system_uptime_ms: None,
            daemon_uptime_ms: 1500,
            load: None,
            mem_total_kib: None,
            mem_available_kib: None,
            temp_millic: None,
            throttled: None,
            cpu_freq_khz: None,
            jobs_running: 0,
            tasks_queued: 0,
            threads_busy: 0,
            jobs_served: 7,
            core_busy_ms: vec![1250, 0],
            sysctls: Vec::new(),
        }
    }

    #[test]
    fn absent_facts_are_left_out_and_present_ones_in_base_units() {
        let refusals = Refusals::default();
        let mut s = status();
        let scrape = |s: &Status| {
            render(&Scrape {
                status: s,
                bytes_received: 10,
                bytes_sent: 20,
                connections: &[("ready", 1)],
                refusals: &refusals,
            })
        };
        let text = scrape(&s);
        assert!(!text.contains("temperature") && !text.contains("throttled{") && !text.contains("load1"), "{text}");
        assert!(text.contains("piworker_build_info{version=\"0.1.0\",protocol=\"1.6\"} 1\n"), "{text}");
        assert!(text.contains("piworker_thread_busy_seconds_total{thread=\"0\"} 1.25\n"), "{text}");
        assert!(text.contains("piworker_jobs_served_total 7\n") && text.contains("piworker_uptime_seconds 1.5\n"));
        assert!(text.contains("piworker_refusals_total{reason=\"bad_key\"} 0\n"), "{text}");
        s.temp_millic = Some(83_500);
        s.throttled = Some(0x50005);
        s.cpu_freq_khz = Some(1_500_000);
        s.mem_total_kib = Some(4);
        let text = scrape(&s);
        assert!(text.contains("piworker_soc_temperature_celsius 83.5\n"), "{text}");
        assert!(text.contains("piworker_throttled{flag=\"under_voltage_now\"} 1\n"), "{text}");
        assert!(text.contains("piworker_throttled{flag=\"frequency_capped_now\"} 0\n"), "{text}");
        assert!(text.contains("piworker_throttled{flag=\"throttled_since_boot\"} 1\n"), "{text}");
        assert!(text.contains("piworker_cpu_frequency_hertz 1500000000\n"), "{text}");
        assert!(text.contains("piworker_memory_total_bytes 4096\n"), "{text}");
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
