//! exec's stdout packed on the wire (protocol 1.6, `jobs::exec_stdout`):
//! which pieces ask for it, and unpacking a finished piece's partials
//! before any gatherer (the output file, the job log's spans and hashes)
//! sees them, so that everything after this is as it was unpacked.

use crate::jobs::{exec_stdout, JobKind};
use crate::protocol::versions::PACKED_STDOUT_SINCE;
use crate::submit::cluster::link::{Link, Partials};
use std::sync::OnceLock;

/// Set to `0` to ask no worker for packed stdout (a before/after
/// measurement, or a worker whose packing is suspect).
pub const PACK_STDOUT_ENV: &str = "PISUBMIT_PACK_STDOUT";

/// Whether a piece of `kind` sent over `link` asks for packed stdout: an
/// exec piece, to a worker whose Welcome announced 1.6 or later.
pub(super) fn asks_packed(kind: JobKind, link: &Link) -> bool {
    static DISABLED: OnceLock<bool> = OnceLock::new();
    let disabled = *DISABLED.get_or_init(|| std::env::var_os(PACK_STDOUT_ENV).is_some_and(|v| v == "0"));
    kind == JobKind::Exec && !disabled && link.may_send(PACKED_STDOUT_SINCE)
}

/// The stdout a finished piece's packed partials carry. No partial may
/// unpack to more than `limit` bytes (the worker's largest frame); the
/// error names the byte of the piece's stdout stream on the wire.
pub(super) fn unpack(partials: &Partials, limit: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(partials.len());
    let mut at = 0;
    for p in partials.iter() {
        exec_stdout::unpack(p, limit, &mut out)
            .map_err(|e| format!("packed stdout at byte {} of the piece's partials: {}", at + e.byte, e.why))?;
        at += p.len();
    }
    Ok(out)
}
