//! Discovery over UDP (protocol 1.2): a head broadcasts a probe on the
//! workers' port, and each worker that hears it answers with who it is.
//!
//! Both datagrams are a frame (the usual 16-byte header and a payload).
//! The probe is padded to [`PROBE_LEN`] bytes and a worker never answers
//! with more bytes than the probe had, so a forged source address cannot
//! make a worker an amplifier (the rule QUIC uses before a handshake).

use super::frame::{decode_frame, Frame, FrameType, PROTOCOL_MAJOR};
use super::wire::{WireError, WireReader, WireWrite};

/// The size of every probe, padding included.
pub const PROBE_LEN: usize = 256;

/// A probe; `token` comes back in the answer so stray datagrams are ignored.
pub fn encode_probe(token: u32) -> Vec<u8> {
    let pad = PROBE_LEN - super::frame::HEADER_LEN;
    Frame::new(FrameType::DiscoverProbe, token, vec![0; pad]).to_bytes()
}

/// A worker's answer to a probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Announce {
    pub software: String,
    pub protocol_major: u8,
    pub protocol_minor: u8,
    pub hostname: String,
    pub arch: String,
    pub threads: u16,
    /// The TCP port jobs go to (the same as the probe's, today).
    pub port: u16,
    /// Whether the worker wants the cluster key.
    pub key_required: bool,
}

impl Announce {
    pub fn encode(&self, token: u32) -> Vec<u8> {
        let mut p = Vec::with_capacity(96);
        p.put_string(&self.software);
        p.put_u8(self.protocol_major);
        p.put_u8(self.protocol_minor);
        p.put_string(&self.hostname);
        p.put_string(&self.arch);
        p.put_u16(self.threads);
        p.put_u16(self.port);
        p.put_u8(self.key_required as u8);
        Frame::new(FrameType::DiscoverReply, token, p).to_bytes()
    }

    pub fn decode(payload: &[u8]) -> Result<Announce, WireError> {
        let mut r = WireReader::new(payload);
        let a = Announce {
            software: r.string("announce.software")?,
            protocol_major: r.u8("announce.protocol_major")?,
            protocol_minor: r.u8("announce.protocol_minor")?,
            hostname: r.string("announce.hostname")?,
            arch: r.string("announce.arch")?,
            threads: r.u16("announce.threads")?,
            port: r.u16("announce.port")?,
            key_required: r.u8("announce.key_required")? != 0,
        };
        r.skip_later_fields();
        Ok(a)
    }
}

/// A datagram as a worker sees it: a probe's token, or why it is ignored.
pub fn parse_probe(datagram: &[u8]) -> Result<u32, String> {
    if datagram.len() < PROBE_LEN {
        return Err(format!("a {}-byte datagram is shorter than a probe ({PROBE_LEN} bytes)", datagram.len()));
    }
    match decode_frame(datagram, PROBE_LEN as u32) {
        Ok(Some((frame, _))) if frame.header.frame_type == FrameType::DiscoverProbe => Ok(frame.header.job_id),
        Ok(Some((frame, _))) => Err(format!("a {:?} frame is not a probe", frame.header.frame_type)),
        Ok(None) => Err("a truncated frame".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// A datagram as the head sees it: the token and announcement, if it is one.
pub fn parse_announce(datagram: &[u8]) -> Result<(u32, Announce), String> {
    match decode_frame(datagram, 64 * 1024) {
        Ok(Some((frame, _))) if frame.header.frame_type == FrameType::DiscoverReply => {
            if frame.header.version != PROTOCOL_MAJOR {
                return Err(format!("protocol major {} (ours is {PROTOCOL_MAJOR})", frame.header.version));
            }
            Announce::decode(&frame.payload).map(|a| (frame.header.job_id, a)).map_err(|e| e.to_string())
        }
        Ok(Some((frame, _))) => Err(format!("a {:?} frame is not an announcement", frame.header.frame_type)),
        Ok(None) => Err("a truncated frame".into()),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Announce {
        Announce {
            software: "0.1.0".into(),
            protocol_major: 1,
            protocol_minor: 2,
            hostname: "pi-with-a-long-name-0042".into(),
            arch: "arm64".into(),
            threads: 4,
            port: 31415,
            key_required: true,
        }
    }

    #[test]
    fn probe_and_announce_round_trip() {
        let probe = encode_probe(0xdead_beef);
        assert_eq!(probe.len(), PROBE_LEN);
        assert_eq!(parse_probe(&probe), Ok(0xdead_beef));
        let reply = sample().encode(7);
        assert_eq!(parse_announce(&reply), Ok((7, sample())));
    }

    #[test]
    fn short_or_foreign_datagrams_are_not_probes() {
        let probe = encode_probe(1);
        assert!(parse_probe(&probe[..100]).unwrap_err().contains("shorter"));
        assert!(parse_probe(&[b'x'; PROBE_LEN]).is_err());
        assert!(parse_probe(&sample().encode(1)).is_err());
        assert!(parse_announce(&probe).is_err());
    }

    #[test]
    fn an_answer_with_names_at_their_limit_is_no_bigger_than_a_probe() {
        // Linux hostnames are at most 64 bytes; a worker that could not fit
        // would not answer (checked in the daemon), but ours always fit.
        let mut a = sample();
        a.hostname = "h".repeat(64);
        a.software = "10.20.30-rc.1".into();
        assert!(a.encode(1).len() <= PROBE_LEN);
    }
}
