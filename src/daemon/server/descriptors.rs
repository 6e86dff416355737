//! File descriptors for connections: the open-file limit, the one kept in
//! reserve, and telling their exhaustion from other accept errors.

use log::{info, warn};
use std::fs::File;
use std::io;

pub(super) fn is_out_of_descriptors(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(nix::libc::EMFILE) | Some(nix::libc::ENFILE))
}

/// A descriptor kept in reserve, spent only when all others are in use.
pub(super) fn reserve_descriptor() -> Option<File> {
    File::open("/dev/null").ok()
}

/// Raises the soft limit on open files to the hard one (every connection
/// is a descriptor; the default soft limit of 1024 is below the default
/// caps), and warns when even the hard limit is below what they need.
pub(super) fn raise_descriptor_limit(needed: u64) {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else { return };
    // rlim_t is 32 bits on armhf and 64 elsewhere.
    #[allow(clippy::useless_conversion)]
    let mut now = u64::from(soft);
    if soft < hard {
        match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            Ok(()) => {
                info!("open file limit raised from {soft} to {hard}");
                #[allow(clippy::useless_conversion)]
                {
                    now = u64::from(hard);
                }
            }
            Err(e) => warn!("cannot raise the open file limit from {soft} to {hard}: {e}"),
        }
    }
    if now < needed {
        warn!(
            "open file limit {now} is below the {needed} the connection caps need (--max-connections + --max-unfinished + 64): \
             past it the oldest unfinished connections are dropped to make room; raise LimitNOFILE= or lower the caps"
        );
    }
}
