//! Facts about this machine that a worker states in its handshake.

/// The hostname, or "unknown" if the kernel will not say.
pub fn hostname() -> String {
    nix::unistd::gethostname().ok().and_then(|h| h.into_string().ok()).unwrap_or_else(|| "unknown".into())
}

/// The CPU architecture this binary was built for, in Debian's words
/// (amd64, arm64, armhf), so a head can spot a wrong package at a glance.
pub fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "armhf",
        "x86" => "i386",
        other => other,
    }
}
