//! The wire protocol shared by `piworker` and `pisubmit` (docs/PROTOCOL.md).
//!
//! `frame` is the framing (header, limits, need-more versus violation),
//! `wire` the typed fields inside payloads, `message` the handshake, errors
//! and job envelope, `versions` what each minor lets a peer send. Nothing
//! here does I/O.

pub mod auth;
pub mod discovery;
pub mod frame;
pub mod message;
pub mod status;
pub mod throttle;
pub mod versions;
pub mod wire;

/// The port piworker listens on unless told otherwise (31415: π).
pub const DEFAULT_PORT: u16 = 31415;

pub use frame::{Frame, FrameError, FrameRef, FrameType, Header};
pub use message::{ErrorCode, ErrorMessage, Hello, Submit, SubmitRef, Welcome};
pub use status::Status;
pub use wire::{WireError, WireReader, WireWrite};
