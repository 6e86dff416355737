//! Reading flag values: each mistake is named with the flag it came from.

use crate::submit::cluster::engine::PieceTimeout;
use crate::submit::error::SubmitError;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

pub fn usage(msg: impl Into<String>) -> SubmitError {
    SubmitError::Usage(msg.into())
}

pub fn number<T: std::str::FromStr>(s: &str, flag: &str, what: &str) -> Result<T, SubmitError> {
    s.trim().replace('_', "").parse().map_err(|_| usage(format!("{flag}: {s:?} is not {what}")))
}

/// Accepts plain integers and forms like 1e9 or 10^8 for big counts.
pub fn count(s: &str, flag: &str) -> Result<u64, SubmitError> {
    let t = s.trim().replace('_', "");
    if let Ok(n) = t.parse::<u64>() {
        return Ok(n);
    }
    let pow = |base: &str, exp: &str| -> Option<u64> {
        let (b, e): (u64, u32) = (base.parse().ok()?, exp.parse().ok()?);
        b.checked_pow(e)
    };
    let parsed = if let Some((m, e)) = t.split_once(['e', 'E']) {
        pow("10", e).and_then(|p| m.parse::<u64>().ok()?.checked_mul(p))
    } else if let Some((b, e)) = t.split_once('^') {
        pow(b, e)
    } else {
        None
    };
    parsed.ok_or_else(|| usage(format!("{flag}: {s:?} is not a whole number (e.g. 1000000, 1e6, 10^6)")))
}

pub fn seconds(s: &str, flag: &str) -> Result<Duration, SubmitError> {
    let v: f64 = number(s, flag, "a number of seconds")?;
    if !(v > 0.0 && v < 1e7) {
        return Err(usage(format!("{flag}: {s} must be a positive number of seconds")));
    }
    Ok(Duration::from_secs_f64(v))
}

pub fn list(s: &str, flag: &str) -> Result<Vec<f64>, SubmitError> {
    s.split(',').map(str::trim).filter(|x| !x.is_empty()).map(|x| number::<f64>(x, flag, "a number")).collect()
}

pub fn unknown(job: &str, flag: &str) -> SubmitError {
    usage(format!("{job}: unknown option --{flag} (see pisubmit --help)"))
}

/// `SECS` or `N%` (of the median piece time).
pub fn parse_piece_timeout(v: &str) -> Result<PieceTimeout, SubmitError> {
    if let Some(pct) = v.trim().strip_suffix('%') {
        let pct: f64 = number(pct, "--piece-timeout", "a percentage")?;
        if !(pct >= 100.0 && pct.is_finite()) {
            return Err(usage(format!("--piece-timeout: {v} must be at least 100% of the median piece time")));
        }
        return Ok(PieceTimeout::OfMedian(pct / 100.0));
    }
    Ok(PieceTimeout::Absolute(seconds(v, "--piece-timeout")?))
}

/// `--serve`'s `[ADDR:]PORT`: a port alone listens on loopback only, so that a page is
/// never shown to the network by accident. ADDR is an IP (`[::1]:8080` for IPv6) or
/// `localhost`.
pub fn serve_addr(s: &str) -> Result<SocketAddr, SubmitError> {
    let t = s.trim();
    let bad = |why: &str| usage(format!("--serve: {s:?} {why} (e.g. 8080, 127.0.0.1:8080, 0.0.0.0:8080)"));
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        let port: u16 = t.parse().map_err(|_| bad("is not a port: ports go up to 65535"))?;
        return Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    }
    if let Some(port) = t.strip_prefix("localhost:") {
        return serve_addr(port);
    }
    t.parse().map_err(|_| bad("is not PORT or ADDR:PORT with ADDR an IP address and PORT up to 65535"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serve_takes_a_port_alone_on_loopback_or_an_address_and_names_bad_values() {
        assert_eq!(serve_addr("8080").unwrap(), "127.0.0.1:8080".parse().unwrap());
        assert_eq!(serve_addr("0.0.0.0:80").unwrap(), "0.0.0.0:80".parse().unwrap());
        assert_eq!(serve_addr("[::1]:9").unwrap(), "[::1]:9".parse().unwrap());
        assert_eq!(serve_addr("localhost:7").unwrap(), "127.0.0.1:7".parse().unwrap());
        for bad in ["", "70000", "pi1:80", "1.2.3.4", "1.2.3.4:x"] {
            let e = serve_addr(bad).unwrap_err().to_string();
            assert!(e.starts_with("--serve: ") && e.contains(&format!("{bad:?}")), "{e}");
        }
    }
}
