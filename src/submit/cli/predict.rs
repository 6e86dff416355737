//! `bench --predict`'s options: what the user says about a cluster
//! instead of letting pisubmit measure it, as people write link rates
//! ("100mbit", "12.5MB/s") and round trips ("0.3ms").

use crate::submit::cli::values::{number, usage};
use crate::submit::error::SubmitError;
use std::time::Duration;

/// The most hosts a prediction covers: every count up to it is evaluated.
pub const MAX_PREDICTED_HOSTS: usize = 1024;

/// What `--predict` was told; `None` is measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PredictOpts {
    /// The head's link, bytes per second each way.
    pub link: Option<f64>,
    pub rtt: Option<Duration>,
    pub hosts_count: Option<usize>,
    pub cores_per_host: Option<usize>,
    /// A predicted core's speed over a measured one's.
    pub core_speed: Option<f64>,
}

impl PredictOpts {
    /// The first of the predict-only flags that was given, to refuse it
    /// without `--predict`.
    pub fn first_given(&self) -> Option<&'static str> {
        [
            (self.link.is_some(), "--link"),
            (self.rtt.is_some(), "--rtt"),
            (self.hosts_count.is_some(), "--hosts-count"),
            (self.cores_per_host.is_some(), "--cores-per-host"),
            (self.core_speed.is_some(), "--core-speed"),
        ]
        .into_iter()
        .find_map(|(given, name)| given.then_some(name))
    }
}

/// A rate in bytes per second: `100mbit`, `1gbit`, `940Mbit/s`, `12.5MB/s`,
/// `800kbit` (decimal units, as network rates are given; bits unless the
/// unit is B or bytes).
pub fn parse_link(text: &str) -> Result<f64, SubmitError> {
    let bad = || usage(format!("--link: {text:?} is not a rate like 100mbit, 1gbit, 940Mbit/s or 12.5MB/s"));
    let t = text.trim();
    let t = t.strip_suffix("/s").or_else(|| t.strip_suffix("ps")).unwrap_or(t);
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(bad)?;
    let (num, unit) = t.split_at(split);
    let value: f64 = num.parse().map_err(|_| bad())?;
    let unit = unit.trim();
    let (scale, rest) = match unit.chars().next().map(|c| c.to_ascii_lowercase()) {
        Some('k') => (1e3, &unit[1..]),
        Some('m') => (1e6, &unit[1..]),
        Some('g') => (1e9, &unit[1..]),
        _ => (1.0, unit),
    };
    let per_unit = match rest {
        "bit" | "bits" | "b" => 1.0 / 8.0,
        "B" | "byte" | "bytes" => 1.0,
        _ => return Err(bad()),
    };
    let rate = value * scale * per_unit;
    if !(rate.is_finite() && rate >= 1.0) {
        return Err(usage(format!("--link: {text:?} must be at least 1 byte per second")));
    }
    Ok(rate)
}

/// A round trip: `0.3ms`, `300us`, `2s`, or plain seconds (`0.0003`).
pub fn parse_rtt(text: &str) -> Result<Duration, SubmitError> {
    let t = text.trim();
    let (num, scale) = [("ms", 1e-3), ("us", 1e-6), ("µs", 1e-6), ("s", 1.0)]
        .into_iter()
        .find_map(|(suffix, scale)| t.strip_suffix(suffix).map(|n| (n, scale)))
        .unwrap_or((t, 1.0));
    let v: f64 = number(num, "--rtt", "a time like 0.3ms, 300us or 0.0003")?;
    let secs = v * scale;
    if !(secs.is_finite() && (0.0..=60.0).contains(&secs)) {
        return Err(usage(format!("--rtt: {text:?} must be between 0 and 60 seconds")));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// `--hosts-count N`: 1 to `MAX_PREDICTED_HOSTS`.
pub fn parse_hosts_count(text: &str) -> Result<usize, SubmitError> {
    let n: usize = number(text, "--hosts-count", "a whole number")?;
    if n == 0 || n > MAX_PREDICTED_HOSTS {
        return Err(usage(format!("--hosts-count: {n} must be from 1 to {MAX_PREDICTED_HOSTS}")));
    }
    Ok(n)
}

/// `--cores-per-host C`: at least 1.
pub fn parse_cores_per_host(text: &str) -> Result<usize, SubmitError> {
    let n: usize = number(text, "--cores-per-host", "a whole number")?;
    if n == 0 || n > 4096 {
        return Err(usage(format!("--cores-per-host: {n} must be from 1 to 4096")));
    }
    Ok(n)
}

/// `--core-speed X`: a positive ratio.
pub fn parse_core_speed(text: &str) -> Result<f64, SubmitError> {
    let x: f64 = number(text, "--core-speed", "a number like 0.25")?;
    if !(x.is_finite() && x > 0.0 && x <= 1e3) {
        return Err(usage(format!("--core-speed: {text:?} must be a positive ratio like 0.25 or 2")));
    }
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_rates_as_people_write_them() {
        assert_eq!(parse_link("100mbit").unwrap(), 12.5e6);
        assert_eq!(parse_link("1gbit").unwrap(), 125e6);
        assert_eq!(parse_link("940Mbit/s").unwrap(), 117.5e6);
        assert_eq!(parse_link("12.5MB/s").unwrap(), 12.5e6);
        assert_eq!(parse_link("300mbps").unwrap(), 37.5e6);
        let err = parse_link("fast").unwrap_err().to_string();
        assert!(err.contains("--link") && err.contains("\"fast\""), "{err}");
        assert!(parse_link("100").is_err(), "a bare number has no unit");
        assert!(parse_link("0mbit").is_err());
    }

    #[test]
    fn round_trips() {
        assert_eq!(parse_rtt("0.3ms").unwrap(), Duration::from_micros(300));
        assert_eq!(parse_rtt("300us").unwrap(), Duration::from_micros(300));
        assert_eq!(parse_rtt("0.0003").unwrap(), Duration::from_micros(300));
        assert_eq!(parse_rtt("2s").unwrap(), Duration::from_secs(2));
        assert!(parse_rtt("-1ms").unwrap_err().to_string().contains("--rtt"));
        assert!(parse_rtt("soon").is_err());
    }

    #[test]
    fn counts_and_ratios_are_bounded() {
        assert_eq!(parse_hosts_count("240").unwrap(), 240);
        assert!(parse_hosts_count("0").is_err());
        assert!(parse_hosts_count("100000").unwrap_err().to_string().contains("1024"));
        assert!(parse_cores_per_host("0").is_err());
        assert_eq!(parse_core_speed("0.25").unwrap(), 0.25);
        assert!(parse_core_speed("0").is_err());
    }
}
