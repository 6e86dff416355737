//! Each host's temperature over the last hour, kept on the head for the page's sparklines.
//!
//! One mean per minute: a survey every 2 s would give 1,800 points a host an hour, more
//! than a 100-pixel sparkline can show and, for 240 hosts, a JSON too large to send often.

use std::collections::{BTreeMap, VecDeque};

/// Minutes kept: the last hour.
pub const MINUTES: usize = 60;

#[derive(Clone, Copy, Debug, PartialEq)]
struct Minute {
    /// Minutes since the Unix epoch.
    minute: u64,
    sum: f64,
    samples: u32,
}

/// Readings per host address, oldest minute first.
#[derive(Clone, Debug, Default)]
pub struct TempHistory {
    hosts: BTreeMap<String, VecDeque<Minute>>,
}

impl TempHistory {
    /// Adds one survey's readings taken at `unix_s`: `None` (down, no sensor) adds nothing,
    /// so a gap in the line shows the time a host was not read. Hosts no longer surveyed
    /// are forgotten; minutes older than the hour are dropped.
    pub fn add(&mut self, readings: &[(String, Option<f32>)], unix_s: u64) {
        let minute = unix_s / 60;
        self.hosts.retain(|address, _| readings.iter().any(|(a, _)| a == address));
        for (address, temp) in readings {
            let minutes = self.hosts.entry(address.clone()).or_default();
            if let Some(temp) = temp.filter(|t| t.is_finite()) {
                match minutes.back_mut() {
                    Some(last) if last.minute == minute => {
                        last.sum += f64::from(temp);
                        last.samples += 1;
                    }
                    _ => minutes.push_back(Minute { minute, sum: f64::from(temp), samples: 1 }),
                }
            }
            while minutes.front().is_some_and(|m| m.minute + MINUTES as u64 <= minute) {
                minutes.pop_front();
            }
        }
    }

    /// A host's (minute start in Unix seconds, mean °C) points, oldest first.
    pub fn points(&self, address: &str) -> Vec<(u64, f64)> {
        self.hosts.get(address).map_or_else(Vec::new, |minutes| {
            minutes.iter().map(|m| (m.minute * 60, m.sum / f64::from(m.samples))).collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_mean_per_minute_for_the_last_hour_of_surveyed_hosts() {
        let mut h = TempHistory::default();
        let a = "10.0.0.1:31415".to_string();
        h.add(&[(a.clone(), Some(40.0)), ("gone".into(), Some(50.0))], 600);
        h.add(&[(a.clone(), Some(50.0))], 630);
        h.add(&[(a.clone(), None)], 660);
        assert_eq!(h.points(&a), vec![(600, 45.0)]);
        assert!(h.points("gone").is_empty(), "a host no longer surveyed is forgotten");
        h.add(&[(a.clone(), Some(60.0))], 600 + 59 * 60);
        assert_eq!(h.points(&a), vec![(600, 45.0), (600 + 59 * 60, 60.0)]);
        h.add(&[(a.clone(), Some(70.0))], 600 + 60 * 60);
        assert_eq!(h.points(&a).first(), Some(&(600 + 59 * 60, 60.0)), "an hour on, the first minute is gone");
    }
}
