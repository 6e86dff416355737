//! Why a worker's handshake is refused (final for that worker), and why
//! sending to it failed (the link is lost).

use crate::protocol::{FrameType, WireError};
use std::fmt;
use std::io;

/// How to fix a cluster key that does not match, for the messages.
const KEY_FIX: &str = "give pisubmit --key FILE (or set PISUBMIT_KEY=FILE) with the same key file every Pi has (--key in /etc/default/piworker)";

/// Why a worker is not one of ours. Each reads after the worker's name
/// ("worker pi1:7070 requires the cluster key: ...").
#[derive(Debug)]
pub enum Refusal {
    Malformed(WireError),
    /// Another major protocol version: the sentence says which to upgrade.
    Version(String),
    /// An open worker, when the user gave a key: it may be an impostor.
    KeyNotAsked,
    KeyRequired,
    /// The worker's proof does not match our key.
    WrongKey,
    /// The worker's Error frame: not allowed from this address,
    NotAllowed(String),
    /// our proof was wrong,
    AuthFailed(String),
    /// or another reason.
    Refused(String),
    /// A frame other than Welcome or Error during the handshake.
    NotWelcome(FrameType),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Malformed(e) => write!(f, "malformed Welcome: {e}"),
            Refusal::Version(sentence) => f.write_str(sentence),
            Refusal::KeyNotAsked => f.write_str("has no cluster key, but --key was given: not trusting it"),
            Refusal::KeyRequired => write!(f, "requires the cluster key: {KEY_FIX}"),
            Refusal::WrongKey => {
                write!(f, "does not know our cluster key (a different key, or not a worker of ours): {KEY_FIX}")
            }
            Refusal::NotAllowed(message) => write!(f, "refused this machine: {message}"),
            Refusal::AuthFailed(message) => write!(f, "refused the handshake: {message}; {KEY_FIX}"),
            Refusal::Refused(message) => write!(f, "refused the handshake: {message}"),
            Refusal::NotWelcome(other) => write!(f, "expected Welcome, got {other:?}"),
        }
    }
}

impl std::error::Error for Refusal {}

/// Why queued frames could not be written: the link is lost.
#[derive(Debug)]
pub enum SendError {
    Closed,
    Write(io::Error),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Closed => f.write_str("closed the connection while we were sending"),
            SendError::Write(e) => write!(f, "write failed: {e}"),
        }
    }
}

impl std::error::Error for SendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SendError::Closed => None,
            SendError::Write(e) => Some(e),
        }
    }
}
