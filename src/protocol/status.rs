//! The `Status` answer (protocol 1.2): what a worker says about its machine
//! and its own work when a head asks with `StatusRequest`.
//!
//! Facts a machine does not have (no thermal zone in a VM, no firmware
//! throttle flags off a Pi) travel as absent, never as zero, so a head can
//! tell "0 °C" from "no sensor". Each optional field is a presence byte
//! followed by the value when present. Fields are only ever appended.

use super::frame::{Frame, FrameType};
use super::wire::{WireError, WireReader, WireWrite};
use std::net::{IpAddr, SocketAddr};

/// A worker's status.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Status {
    pub hostname: String,
    pub software: String,
    pub protocol_major: u8,
    pub protocol_minor: u8,
    pub arch: String,
    /// `/proc/device-tree/model`, e.g. "Raspberry Pi 4 Model B Rev 1.4".
    pub model: Option<String>,
    pub threads: u16,
    /// The address the daemon listens on (0.0.0.0 when every interface).
    pub listen: String,
    /// Every address of the machine, loopback included.
    pub addresses: Vec<IpAddr>,
    /// What the worker's own hostname resolves to on the worker; absent
    /// until the daemon has looked (it does so once, off the event loop).
    pub name_resolves_to: Option<Vec<IpAddr>>,
    /// The worker's wall clock, milliseconds since the Unix epoch.
    pub unix_time_ms: u64,
    pub system_uptime_ms: Option<u64>,
    pub daemon_uptime_ms: u64,
    /// 1, 5 and 15 minute load averages.
    pub load: Option<[f32; 3]>,
    pub mem_total_kib: Option<u64>,
    pub mem_available_kib: Option<u64>,
    /// SoC temperature in thousandths of a degree Celsius.
    pub temp_millic: Option<i32>,
    /// The Raspberry Pi firmware's `get_throttled` bits.
    pub throttled: Option<u32>,
    pub cpu_freq_khz: Option<u32>,
    /// Jobs accepted and not yet finished, on every connection.
    pub jobs_running: u32,
    /// Tasks of those jobs waiting for a free compute thread.
    pub tasks_queued: u32,
    /// Compute threads in a task right now.
    pub threads_busy: u16,
    /// Jobs finished (done, failed or cancelled) since the daemon started.
    pub jobs_served: u64,
    /// Milliseconds each compute thread has spent computing since start.
    pub core_busy_ms: Vec<u64>,
    /// The network sysctls the package's snippet sets, as the worker has them.
    pub sysctls: Vec<(String, String)>,
}

fn put_opt<T>(p: &mut Vec<u8>, v: &Option<T>, put: impl FnOnce(&mut Vec<u8>, &T)) {
    match v {
        Some(v) => {
            p.put_u8(1);
            put(p, v);
        }
        None => p.put_u8(0),
    }
}

fn get_opt<'a, T>(
    r: &mut WireReader<'a>,
    field: &'static str,
    get: impl FnOnce(&mut WireReader<'a>) -> Result<T, WireError>,
) -> Result<Option<T>, WireError> {
    match r.u8(field)? {
        0 => Ok(None),
        1 => get(r).map(Some),
        other => Err(WireError::new(field, format!("presence byte {other} is neither 0 nor 1"))),
    }
}

fn put_ips(p: &mut Vec<u8>, ips: &[IpAddr]) {
    p.put_u16(ips.len().min(u16::MAX as usize) as u16);
    for ip in ips.iter().take(u16::MAX as usize) {
        p.put_string(&ip.to_string());
    }
}

fn get_ips(r: &mut WireReader, field: &'static str) -> Result<Vec<IpAddr>, WireError> {
    let n = r.u16(field)?;
    (0..n)
        .map(|_| {
            let text = r.string(field)?;
            text.parse().map_err(|_| WireError::new(field, format!("{text:?} is not an IP address")))
        })
        .collect()
}

impl Status {
    pub fn encode(&self, job_id: u32) -> Frame {
        let mut p = Vec::with_capacity(512);
        p.put_string(&self.hostname);
        p.put_string(&self.software);
        p.put_u8(self.protocol_major);
        p.put_u8(self.protocol_minor);
        p.put_string(&self.arch);
        put_opt(&mut p, &self.model, |p, m| p.put_string(m));
        p.put_u16(self.threads);
        p.put_string(&self.listen);
        put_ips(&mut p, &self.addresses);
        put_opt(&mut p, &self.name_resolves_to, |p, ips| put_ips(p, ips));
        p.put_u64(self.unix_time_ms);
        put_opt(&mut p, &self.system_uptime_ms, |p, v| p.put_u64(*v));
        p.put_u64(self.daemon_uptime_ms);
        put_opt(&mut p, &self.load, |p, l| l.iter().for_each(|v| p.put_u32(v.to_bits())));
        put_opt(&mut p, &self.mem_total_kib, |p, v| p.put_u64(*v));
        put_opt(&mut p, &self.mem_available_kib, |p, v| p.put_u64(*v));
        put_opt(&mut p, &self.temp_millic, |p, v| p.put_u32(*v as u32));
        put_opt(&mut p, &self.throttled, |p, v| p.put_u32(*v));
        put_opt(&mut p, &self.cpu_freq_khz, |p, v| p.put_u32(*v));
        p.put_u32(self.jobs_running);
        p.put_u32(self.tasks_queued);
        p.put_u16(self.threads_busy);
        p.put_u64(self.jobs_served);
        p.put_u16(self.core_busy_ms.len().min(u16::MAX as usize) as u16);
        self.core_busy_ms.iter().take(u16::MAX as usize).for_each(|v| p.put_u64(*v));
        p.put_u16(self.sysctls.len().min(u16::MAX as usize) as u16);
        for (k, v) in self.sysctls.iter().take(u16::MAX as usize) {
            p.put_string(k);
            p.put_string(v);
        }
        Frame::new(FrameType::Status, job_id, p)
    }

    pub fn decode(payload: &[u8]) -> Result<Status, WireError> {
        let mut r = WireReader::new(payload);
        let r = &mut r;
        let s = Status {
            hostname: r.string("status.hostname")?,
            software: r.string("status.software")?,
            protocol_major: r.u8("status.protocol_major")?,
            protocol_minor: r.u8("status.protocol_minor")?,
            arch: r.string("status.arch")?,
            model: get_opt(r, "status.model", |r| r.string("status.model"))?,
            threads: r.u16("status.threads")?,
            listen: r.string("status.listen")?,
            addresses: get_ips(r, "status.addresses")?,
            name_resolves_to: get_opt(r, "status.name_resolves_to", |r| get_ips(r, "status.name_resolves_to"))?,
            unix_time_ms: r.u64("status.unix_time_ms")?,
            system_uptime_ms: get_opt(r, "status.system_uptime_ms", |r| r.u64("status.system_uptime_ms"))?,
            daemon_uptime_ms: r.u64("status.daemon_uptime_ms")?,
            load: get_opt(r, "status.load", |r| {
                let mut l = [0f32; 3];
                for v in &mut l {
                    *v = f32::from_bits(r.u32("status.load")?);
                }
                Ok(l)
            })?,
            mem_total_kib: get_opt(r, "status.mem_total_kib", |r| r.u64("status.mem_total_kib"))?,
            mem_available_kib: get_opt(r, "status.mem_available_kib", |r| r.u64("status.mem_available_kib"))?,
            temp_millic: get_opt(r, "status.temp_millic", |r| r.u32("status.temp_millic").map(|v| v as i32))?,
            throttled: get_opt(r, "status.throttled", |r| r.u32("status.throttled"))?,
            cpu_freq_khz: get_opt(r, "status.cpu_freq_khz", |r| r.u32("status.cpu_freq_khz"))?,
            jobs_running: r.u32("status.jobs_running")?,
            tasks_queued: r.u32("status.tasks_queued")?,
            threads_busy: r.u16("status.threads_busy")?,
            jobs_served: r.u64("status.jobs_served")?,
            core_busy_ms: {
                let n = r.u16("status.core_busy_ms")?;
                (0..n).map(|_| r.u64("status.core_busy_ms")).collect::<Result<_, _>>()?
            },
            sysctls: {
                let n = r.u16("status.sysctls")?;
                (0..n)
                    .map(|_| Ok((r.string("status.sysctls")?, r.string("status.sysctls")?)))
                    .collect::<Result<_, WireError>>()?
            },
        };
        r.skip_later_fields();
        Ok(s)
    }

    /// The listen address, when it parses.
    pub fn listen_addr(&self) -> Option<SocketAddr> {
        self.listen.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> Status {
        Status {
            hostname: "pi7".into(),
            software: "0.1.0".into(),
            protocol_major: 1,
            protocol_minor: 2,
            arch: "arm64".into(),
            model: Some("Raspberry Pi 4 Model B Rev 1.4".into()),
            threads: 4,
            listen: "0.0.0.0:31415".into(),
            addresses: vec!["127.0.0.1".parse().unwrap(), "198.18.1.11".parse().unwrap(), "::1".parse().unwrap()],
            name_resolves_to: Some(vec!["127.0.1.1".parse().unwrap()]),
            unix_time_ms: 1_790_000_000_000,
            system_uptime_ms: Some(123_456),
            daemon_uptime_ms: 789,
            load: Some([0.5, 1.25, 3.0]),
            mem_total_kib: Some(3_884_000),
            mem_available_kib: Some(3_000_000),
            temp_millic: Some(-5_500),
            throttled: Some(0x50005),
            cpu_freq_khz: Some(1_500_000),
            jobs_running: 2,
            tasks_queued: 7,
            threads_busy: 3,
            jobs_served: 1234,
            core_busy_ms: vec![1, 2, 3, 4],
            sysctls: vec![("net.core.rmem_max".into(), "8388608".into())],
        }
    }

    #[test]
    fn round_trips_with_every_field_present_and_absent() {
        for s in [full(), Status::default()] {
            let frame = s.encode(9);
            assert_eq!(frame.header.frame_type, FrameType::Status);
            assert_eq!(Status::decode(&frame.payload).unwrap(), s);
        }
    }

    #[test]
    fn every_truncation_is_an_error_naming_a_field() {
        let payload = full().encode(0).payload;
        for cut in 0..payload.len() {
            let err = Status::decode(&payload[..cut]).unwrap_err();
            assert!(err.to_string().contains("status."), "cut at {cut}: {err}");
        }
    }

    #[test]
    fn a_bad_presence_byte_is_refused() {
        let mut payload = Status::default().encode(0).payload;
        // hostname "", software "", major, minor, arch "": the model's presence byte follows.
        let at = 2 + 2 + 2 + 2;
        payload[at] = 7;
        assert!(Status::decode(&payload).unwrap_err().to_string().contains("status.model"));
    }
}
