//! The payloads of the connection-level frames: the handshake, errors and
//! the envelope of a job submission. Job parameters and results belong to
//! each job kind (`crate::jobs`), not here.

use super::auth::{NONCE_LEN, PROOF_LEN};
use super::frame::{Frame, FrameType, PROTOCOL_MAJOR, PROTOCOL_MINOR};
use super::wire::{WireError, WireReader, WireWrite};
use std::fmt;

/// The software version both sides announce in the handshake.
pub const SOFTWARE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// First frame a client sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    pub protocol_major: u8,
    pub protocol_minor: u8,
    pub software: String,
    /// The client's half of the key challenge (protocol 1.1); absent from
    /// 1.0 clients.
    pub nonce: Option<[u8; NONCE_LEN]>,
    /// Use at most this many compute threads for this connection's jobs
    /// (protocol 1.2; the host list's `/threads`). Only sent after a nonce.
    pub max_threads: Option<u16>,
}

impl Hello {
    pub fn ours(nonce: [u8; NONCE_LEN]) -> Hello {
        Hello {
            protocol_major: PROTOCOL_MAJOR,
            protocol_minor: PROTOCOL_MINOR,
            software: SOFTWARE_VERSION.into(),
            nonce: Some(nonce),
            max_threads: None,
        }
    }

    pub fn encode(&self) -> Frame {
        let mut p = Vec::new();
        p.put_u8(self.protocol_major);
        p.put_u8(self.protocol_minor);
        p.put_string(&self.software);
        if let Some(n) = &self.nonce {
            p.extend_from_slice(n);
            if let Some(t) = self.max_threads {
                p.put_u16(t);
            }
        }
        Frame::new(FrameType::Hello, 0, p)
    }

    pub fn decode(payload: &[u8]) -> Result<Hello, WireError> {
        let mut r = WireReader::new(payload);
        let protocol_major = r.u8("hello.protocol_major")?;
        let protocol_minor = r.u8("hello.protocol_minor")?;
        let software = r.string("hello.software")?;
        // Each later field is absent only when the payload ends before it:
        // 1 to 15 bytes where a nonce would be, or 1 where max_threads
        // would be, are a malformed Hello, never a quietly older one.
        let nonce = r.later_field(|r| {
            let mut n = [0u8; NONCE_LEN];
            n.copy_from_slice(r.take(NONCE_LEN, "hello.nonce")?);
            Ok(n)
        })?;
        let max_threads = r.later_field(|r| r.u16("hello.max_threads"))?.filter(|&t| t > 0);
        // A later minor's fields follow; a worker serves what it knows.
        r.skip_later_fields();
        Ok(Hello { protocol_major, protocol_minor, software, nonce, max_threads })
    }
}

/// How a worker wants the client to prove it belongs (protocol 1.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Challenge {
    /// No cluster key on this worker.
    Open,
    /// Prove the key: the worker's nonce, and its own proof of the key.
    Key { nonce: [u8; NONCE_LEN], proof: [u8; PROOF_LEN] },
}

/// The worker's answer to `Hello`: who it is and what it can do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Welcome {
    pub protocol_major: u8,
    pub protocol_minor: u8,
    pub software: String,
    pub hostname: String,
    pub arch: String,
    pub threads: u16,
    pub max_frame: u32,
    pub challenge: Challenge,
}

impl Welcome {
    pub fn encode(&self) -> Frame {
        let mut p = Vec::new();
        p.put_u8(self.protocol_major);
        p.put_u8(self.protocol_minor);
        p.put_string(&self.software);
        p.put_string(&self.hostname);
        p.put_string(&self.arch);
        p.put_u16(self.threads);
        p.put_u32(self.max_frame);
        match &self.challenge {
            Challenge::Open => p.put_u8(0),
            Challenge::Key { nonce, proof } => {
                p.put_u8(1);
                p.extend_from_slice(nonce);
                p.extend_from_slice(proof);
            }
        }
        Frame::new(FrameType::Welcome, 0, p)
    }

    pub fn decode(payload: &[u8]) -> Result<Welcome, WireError> {
        let mut r = WireReader::new(payload);
        let mut w = Welcome {
            protocol_major: r.u8("welcome.protocol_major")?,
            protocol_minor: r.u8("welcome.protocol_minor")?,
            software: r.string("welcome.software")?,
            hostname: r.string("welcome.hostname")?,
            arch: r.string("welcome.arch")?,
            threads: r.u16("welcome.threads")?,
            max_frame: r.u32("welcome.max_frame")?,
            challenge: Challenge::Open,
        };
        // 1.0 workers end here: they have no key.
        // A 1.0 Welcome ends before `auth`: read as no key.
        match r.later_field(|r| r.u8("welcome.auth"))? {
            None | Some(0) => {}
            Some(1) => {
                let mut nonce = [0u8; NONCE_LEN];
                nonce.copy_from_slice(r.take(NONCE_LEN, "welcome.nonce")?);
                let mut proof = [0u8; PROOF_LEN];
                proof.copy_from_slice(r.take(PROOF_LEN, "welcome.proof")?);
                w.challenge = Challenge::Key { nonce, proof };
            }
            Some(other) => return Err(WireError::new("welcome.auth", format!("unknown method {other}"))),
        }
        r.skip_later_fields();
        Ok(w)
    }
}

/// Why a worker refused a frame, a job or the whole connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// The byte stream is not valid frames (bad magic, oversize frame).
    BadFrame,
    VersionMismatch,
    /// A frame that needs a handshake first, or a second Hello.
    HandshakeRequired,
    UnknownFrameType,
    UnknownJobKind,
    BadParams,
    /// A job id already in use on this connection.
    DuplicateJob,
    /// Data, EndInput or Cancel for a job that is not running.
    UnknownJob,
    /// The job ran and failed (bad input data, for instance).
    JobFailed,
    Cancelled,
    ShuttingDown,
    /// Missing or wrong cluster key.
    AuthFailed,
    /// The worker has no room for this connection now (its connection
    /// limits); the same request later may succeed.
    Busy,
    /// The peer's address is not in the worker's `--allow` list.
    NotAllowed,
    Unknown(u16),
}

impl ErrorCode {
    pub fn to_u16(self) -> u16 {
        match self {
            ErrorCode::BadFrame => 1,
            ErrorCode::VersionMismatch => 2,
            ErrorCode::HandshakeRequired => 3,
            ErrorCode::UnknownFrameType => 4,
            ErrorCode::UnknownJobKind => 5,
            ErrorCode::BadParams => 6,
            ErrorCode::DuplicateJob => 7,
            ErrorCode::UnknownJob => 8,
            ErrorCode::JobFailed => 9,
            ErrorCode::Cancelled => 10,
            ErrorCode::ShuttingDown => 11,
            ErrorCode::AuthFailed => 12,
            ErrorCode::Busy => 13,
            ErrorCode::NotAllowed => 14,
            ErrorCode::Unknown(v) => v,
        }
    }

    pub fn from_u16(v: u16) -> ErrorCode {
        match v {
            1 => ErrorCode::BadFrame,
            2 => ErrorCode::VersionMismatch,
            3 => ErrorCode::HandshakeRequired,
            4 => ErrorCode::UnknownFrameType,
            5 => ErrorCode::UnknownJobKind,
            6 => ErrorCode::BadParams,
            7 => ErrorCode::DuplicateJob,
            8 => ErrorCode::UnknownJob,
            9 => ErrorCode::JobFailed,
            10 => ErrorCode::Cancelled,
            11 => ErrorCode::ShuttingDown,
            12 => ErrorCode::AuthFailed,
            13 => ErrorCode::Busy,
            14 => ErrorCode::NotAllowed,
            other => ErrorCode::Unknown(other),
        }
    }
}

/// An `Error` frame's payload: a code and a sentence for a person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorMessage {
    pub code: ErrorCode,
    pub message: String,
}

impl ErrorMessage {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ErrorMessage {
        ErrorMessage { code, message: message.into() }
    }

    pub fn encode(&self, job_id: u32) -> Frame {
        let mut p = Vec::new();
        p.put_u16(self.code.to_u16());
        p.put_string(&self.message);
        Frame::new(FrameType::Error, job_id, p)
    }

    pub fn decode(payload: &[u8]) -> Result<ErrorMessage, WireError> {
        let mut r = WireReader::new(payload);
        let e = ErrorMessage { code: ErrorCode::from_u16(r.u16("error.code")?), message: r.string("error.message")? };
        r.skip_later_fields();
        Ok(e)
    }
}

impl fmt::Display for ErrorMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Set in `Submit.flags` when input follows as `Data` frames and `EndInput`.
pub const SUBMIT_HAS_INPUT: u8 = 0x01;
/// Set in `Submit.flags` of an exec job by a client of minor 1.6 or later:
/// each stdout Partial comes back packed (`jobs::exec_stdout`). A worker
/// honours it only for a client whose Hello announced 1.6 or later.
pub const SUBMIT_PACKED_STDOUT: u8 = 0x02;

/// The envelope of a job: its kind, flags, and the kind's own parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Submit {
    pub kind: u8,
    pub flags: u8,
    pub params: Vec<u8>,
}

impl Submit {
    pub fn encode(&self, job_id: u32) -> Frame {
        let mut p = Vec::with_capacity(2 + self.params.len());
        self.view().write_to(&mut p);
        Frame::new(FrameType::Submit, job_id, p)
    }

    pub fn decode(payload: &[u8]) -> Result<Submit, WireError> {
        let s = SubmitRef::decode(payload)?;
        Ok(Submit { kind: s.kind, flags: s.flags, params: s.params.to_vec() })
    }

    pub fn has_input(&self) -> bool {
        self.view().has_input()
    }

    /// The same envelope, borrowing the parameters.
    pub fn view(&self) -> SubmitRef<'_> {
        SubmitRef { kind: self.kind, flags: self.flags, params: &self.params }
    }
}

/// A Submit envelope whose parameters are borrowed: how a worker reads one
/// in place, and how a head writes one straight into its output buffer,
/// neither copying the parameters into a buffer of their own.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SubmitRef<'a> {
    pub kind: u8,
    pub flags: u8,
    pub params: &'a [u8],
}

impl<'a> SubmitRef<'a> {
    pub fn decode(payload: &'a [u8]) -> Result<SubmitRef<'a>, WireError> {
        let mut r = WireReader::new(payload);
        let kind = r.u8("submit.kind")?;
        let flags = r.u8("submit.flags")?;
        let params = r.take(r.remaining(), "submit.params")?;
        Ok(SubmitRef { kind, flags, params })
    }

    /// The bytes before the parameters.
    pub fn head(&self) -> [u8; 2] {
        [self.kind, self.flags]
    }

    /// Appends the envelope (the Submit frame's payload) to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.head());
        out.extend_from_slice(self.params);
    }

    pub fn has_input(&self) -> bool {
        self.flags & SUBMIT_HAS_INPUT != 0
    }
}

/// The message a side prints, and sends, when the peer's major differs.
pub fn version_refusal(ours_major: u8, ours_minor: u8, theirs_major: u8, theirs_minor: u8) -> String {
    format!(
        "protocol version mismatch: this side speaks {ours_major}.{ours_minor}, the peer speaks \
         {theirs_major}.{theirs_minor}; install the same major version of piworker on both"
    )
}
