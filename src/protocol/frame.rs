//! The frame layer: a fixed 16-byte header followed by a payload.
//!
//! This module owns the byte layout of the header and the rules that keep a
//! peer from making us allocate: the payload length is checked against the
//! receiver's limit before a single payload byte is buffered. It knows nothing
//! about what a payload means (see `message`).

pub use crate::units::human_bytes;
use byteorder::{BigEndian, ByteOrder};
use std::fmt;

/// "PIWK": the first four bytes of every frame.
pub const MAGIC: [u8; 4] = *b"PIWK";
/// The protocol's major version. A peer with another major is refused.
pub const PROTOCOL_MAJOR: u8 = 1;
/// The protocol's minor version: additions that an older peer can ignore.
/// 3: this side reads replies and results that a later minor grew
/// (`versions`). 4: primes' partials as gaps (`jobs::prime_gaps`).
pub const PROTOCOL_MINOR: u8 = 7;
/// Size of the fixed header in bytes.
pub const HEADER_LEN: usize = 16;
/// Default largest payload a daemon accepts (`--max-frame`).
pub const DEFAULT_MAX_FRAME: u32 = 16 * 1024 * 1024;

/// The kinds of frame. Unknown values are kept (not rejected at this layer)
/// so that a newer peer's frame is reported by number, not by a crash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameType {
    Hello,
    Welcome,
    Ping,
    Pong,
    Auth,
    StatusRequest,
    Status,
    DiscoverProbe,
    DiscoverReply,
    Submit,
    Data,
    EndInput,
    Cancel,
    Partial,
    Result,
    Error,
    Unknown(u8),
}

impl FrameType {
    pub fn to_u8(self) -> u8 {
        match self {
            FrameType::Hello => 0x01,
            FrameType::Welcome => 0x02,
            FrameType::Ping => 0x03,
            FrameType::Pong => 0x04,
            FrameType::Auth => 0x05,
            FrameType::StatusRequest => 0x06,
            FrameType::Status => 0x07,
            FrameType::DiscoverProbe => 0x08,
            FrameType::DiscoverReply => 0x09,
            FrameType::Submit => 0x10,
            FrameType::Data => 0x11,
            FrameType::EndInput => 0x12,
            FrameType::Cancel => 0x13,
            FrameType::Partial => 0x20,
            FrameType::Result => 0x21,
            FrameType::Error => 0x22,
            FrameType::Unknown(v) => v,
        }
    }

    pub fn from_u8(v: u8) -> FrameType {
        match v {
            0x01 => FrameType::Hello,
            0x02 => FrameType::Welcome,
            0x03 => FrameType::Ping,
            0x04 => FrameType::Pong,
            0x05 => FrameType::Auth,
            0x06 => FrameType::StatusRequest,
            0x07 => FrameType::Status,
            0x08 => FrameType::DiscoverProbe,
            0x09 => FrameType::DiscoverReply,
            0x10 => FrameType::Submit,
            0x11 => FrameType::Data,
            0x12 => FrameType::EndInput,
            0x13 => FrameType::Cancel,
            0x20 => FrameType::Partial,
            0x21 => FrameType::Result,
            0x22 => FrameType::Error,
            other => FrameType::Unknown(other),
        }
    }
}

/// The fixed header, as it travels (all integers big-endian):
/// `magic[4] version:u8 type:u8 flags:u16 job_id:u32 length:u32`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub version: u8,
    pub frame_type: FrameType,
    /// Reserved; sent as zero and ignored on receipt.
    pub flags: u16,
    /// Zero for connection-level frames (handshake, ping, connection errors).
    pub job_id: u32,
    pub length: u32,
}

impl Header {
    pub fn new(frame_type: FrameType, job_id: u32, length: u32) -> Header {
        Header { version: PROTOCOL_MAJOR, frame_type, flags: 0, job_id, length }
    }

    pub fn write_to(&self, out: &mut [u8; HEADER_LEN]) {
        out[0..4].copy_from_slice(&MAGIC);
        out[4] = self.version;
        out[5] = self.frame_type.to_u8();
        BigEndian::write_u16(&mut out[6..8], self.flags);
        BigEndian::write_u32(&mut out[8..12], self.job_id);
        BigEndian::write_u32(&mut out[12..16], self.length);
    }
}

/// A whole frame with its payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub header: Header,
    pub payload: Vec<u8>,
}

impl Frame {
    pub fn new(frame_type: FrameType, job_id: u32, payload: Vec<u8>) -> Frame {
        Frame { header: Header::new(frame_type, job_id, payload.len() as u32), payload }
    }

    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.payload.len()
    }

    /// Appends the frame's bytes to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        write_frame(out, self.header.frame_type, self.header.job_id, &self.payload);
    }

    /// The frame as a `FrameRef`, for code that reads frames in place.
    pub fn view(&self) -> FrameRef<'_> {
        FrameRef { header: self.header, payload: &self.payload }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.write_to(&mut out);
        out
    }
}

/// A frame read in place: the header, and the payload borrowed from the
/// buffer it arrived in, so that reading a frame copies and allocates
/// nothing. `to_frame` makes an owned copy for whoever must keep it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameRef<'a> {
    pub header: Header,
    pub payload: &'a [u8],
}

impl FrameRef<'_> {
    pub fn to_frame(&self) -> Frame {
        Frame { header: self.header, payload: self.payload.to_vec() }
    }
}

/// Appends one frame to `out` without building a `Frame` first, so that hot
/// paths (results, streamed partials) copy their payload exactly once.
pub fn write_frame(out: &mut Vec<u8>, frame_type: FrameType, job_id: u32, payload: &[u8]) {
    let mut header = [0u8; HEADER_LEN];
    Header::new(frame_type, job_id, payload.len() as u32).write_to(&mut header);
    out.extend_from_slice(&header);
    out.extend_from_slice(payload);
}

/// Why bytes could not be read as a frame. Each is fatal for the connection:
/// after one, the peer's byte stream can no longer be trusted to be in step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameError {
    BadMagic([u8; 4]),
    /// Another major version; carries the peer's.
    VersionMismatch(u8),
    TooLarge {
        length: u32,
        limit: u32,
    },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::BadMagic(m) => write!(
                f,
                "bad magic {:02x}{:02x}{:02x}{:02x} (expected \"PIWK\"): not a piworker peer",
                m[0], m[1], m[2], m[3]
            ),
            FrameError::VersionMismatch(theirs) => write!(
                f,
                "protocol version mismatch: peer speaks {theirs}.x, this side speaks {PROTOCOL_MAJOR}.{PROTOCOL_MINOR}"
            ),
            FrameError::TooLarge { length, limit } => write!(
                f,
                "frame of {} exceeds the limit of {}",
                human_bytes(*length as u64),
                human_bytes(*limit as u64)
            ),
        }
    }
}

impl std::error::Error for FrameError {}

/// What the decoder found at the front of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A whole frame: its header and the total bytes it occupies.
    Frame(Header, usize),
    /// Not enough bytes yet; carries how many more are needed at least.
    NeedMore(usize),
}

/// Parses only the header, so that a receiver can check the version and the
/// length before it has (or allocates for) the payload.
pub fn decode_header(buf: &[u8], max_payload: u32) -> Result<Decoded, FrameError> {
    if buf.len() < HEADER_LEN {
        // A wrong magic is reported as soon as its bytes are here, so that a
        // stray HTTP or SSH client gets an answer rather than a wait.
        let seen = buf.len().min(4);
        if buf[..seen] != MAGIC[..seen] {
            let mut m = [0u8; 4];
            m[..seen].copy_from_slice(&buf[..seen]);
            return Err(FrameError::BadMagic(m));
        }
        return Ok(Decoded::NeedMore(HEADER_LEN - buf.len()));
    }
    let mut magic = [0u8; 4];
    magic.copy_from_slice(&buf[0..4]);
    if magic != MAGIC {
        return Err(FrameError::BadMagic(magic));
    }
    let version = buf[4];
    let frame_type = FrameType::from_u8(buf[5]);
    let header = Header {
        version,
        frame_type,
        flags: BigEndian::read_u16(&buf[6..8]),
        job_id: BigEndian::read_u32(&buf[8..12]),
        length: BigEndian::read_u32(&buf[12..16]),
    };
    // An error frame from a peer of another major version is still read: it
    // is how that peer tells us why it refuses us.
    if version != PROTOCOL_MAJOR && frame_type != FrameType::Error {
        return Err(FrameError::VersionMismatch(version));
    }
    if header.length > max_payload {
        return Err(FrameError::TooLarge { length: header.length, limit: max_payload });
    }
    let total = HEADER_LEN + header.length as usize;
    if buf.len() < total {
        return Ok(Decoded::NeedMore(total - buf.len()));
    }
    Ok(Decoded::Frame(header, total))
}

/// Decodes one whole frame from the front of `buf`, its payload borrowed.
/// Returns the frame and the bytes consumed, or `None` if more are needed.
pub fn decode_frame_ref(buf: &[u8], max_payload: u32) -> Result<Option<(FrameRef<'_>, usize)>, FrameError> {
    match decode_header(buf, max_payload)? {
        Decoded::NeedMore(_) => Ok(None),
        Decoded::Frame(header, total) => Ok(Some((FrameRef { header, payload: &buf[HEADER_LEN..total] }, total))),
    }
}

/// Decodes one whole frame from the front of `buf`, copying its payload.
/// Returns the frame and the bytes consumed, or `None` if more are needed.
pub fn decode_frame(buf: &[u8], max_payload: u32) -> Result<Option<(Frame, usize)>, FrameError> {
    Ok(decode_frame_ref(buf, max_payload)?.map(|(frame, total)| (frame.to_frame(), total)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_and_need_more_at_every_split() {
        let frame = Frame::new(FrameType::Submit, 7, vec![1, 2, 3, 4, 5]);
        let bytes = frame.to_bytes();
        for cut in 0..bytes.len() {
            assert_eq!(decode_frame(&bytes[..cut], 1024).unwrap(), None, "cut at {cut}");
        }
        let (back, used) = decode_frame(&bytes, 1024).unwrap().unwrap();
        assert_eq!(back, frame);
        assert_eq!(used, bytes.len());
    }

    #[test]
    fn violations_are_not_need_more() {
        assert_eq!(decode_header(b"GET / HTTP/1.1\r\n", 10), Err(FrameError::BadMagic(*b"GET ")));
        assert_eq!(decode_header(b"SS", 10), Err(FrameError::BadMagic(*b"SS\0\0")));
        let mut big = Frame::new(FrameType::Data, 1, vec![]).to_bytes();
        big[12..16].copy_from_slice(&(64u32 << 20).to_be_bytes());
        assert_eq!(
            decode_header(&big, DEFAULT_MAX_FRAME),
            Err(FrameError::TooLarge { length: 64 << 20, limit: DEFAULT_MAX_FRAME })
        );
        let msg = decode_header(&big, DEFAULT_MAX_FRAME).unwrap_err().to_string();
        assert_eq!(msg, "frame of 64 MiB exceeds the limit of 16 MiB");
        let mut v2 = Frame::new(FrameType::Hello, 0, vec![]).to_bytes();
        v2[4] = 2;
        assert_eq!(decode_header(&v2, 10), Err(FrameError::VersionMismatch(2)));
        v2[5] = FrameType::Error.to_u8();
        assert!(matches!(decode_header(&v2, 10), Ok(Decoded::Frame(..))));
    }

    #[test]
    fn unknown_frame_types_survive() {
        for v in 0..=255u8 {
            assert_eq!(FrameType::from_u8(v).to_u8(), v);
        }
    }
}
