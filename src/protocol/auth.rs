//! The shared cluster key: loading it, and the HMAC-SHA256
//! challenge-response of the handshake.
//!
//! Both sides send a fresh random nonce (client in Hello, worker in
//! Welcome). The worker proves it knows the key with
//! HMAC(key, "piworker worker" | client nonce | worker nonce), the client
//! with HMAC(key, "piworker client" | worker nonce | client nonce) in an
//! Auth frame. The key never crosses the wire, the two proofs cannot be
//! swapped, and a recorded handshake is useless against the next nonce.
//! It authenticates; it does not encrypt.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

pub const NONCE_LEN: usize = 16;
pub const PROOF_LEN: usize = 32;
/// Shortest key accepted: 128 bits of whatever the file holds.
pub const MIN_KEY_LEN: usize = 16;

type HmacSha256 = Hmac<Sha256>;

/// Reads a key file, refusing one that others on the machine can read.
pub fn load_key(path: &Path) -> Result<Vec<u8>, String> {
    use std::os::unix::fs::PermissionsExt;
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("key file {shown}: {e}"))?;
    let mode = meta.permissions().mode();
    if mode & 0o007 != 0 {
        return Err(format!(
            "key file {shown} is readable or writable by every user (mode {:o}): run `chmod 600 {shown}` (or 640 with a group)",
            mode & 0o777
        ));
    }
    let text = std::fs::read(path).map_err(|e| format!("key file {shown}: {e}"))?;
    let key: Vec<u8> = text.trim_ascii().to_vec();
    if key.len() < MIN_KEY_LEN {
        return Err(format!(
            "key file {shown} holds {} bytes; use at least {MIN_KEY_LEN} (e.g. `head -c 32 /dev/urandom | base64 > {shown}`)",
            key.len()
        ));
    }
    Ok(key)
}

/// A fresh nonce from the kernel's random source. The source is opened
/// once per process: pisubmit makes a nonce per host, and opening and
/// closing the file for each of 240 hosts was three system calls of the
/// ten a host costs.
pub fn nonce() -> std::io::Result<[u8; NONCE_LEN]> {
    static URANDOM: Mutex<Option<File>> = Mutex::new(None);
    let mut source = URANDOM.lock().unwrap_or_else(PoisonError::into_inner);
    let file = match &mut *source {
        Some(file) => file,
        empty => empty.insert(File::open("/dev/urandom")?),
    };
    let mut n = [0u8; NONCE_LEN];
    file.read_exact(&mut n)?;
    Ok(n)
}

fn mac(key: &[u8], label: &[u8], first: &[u8], second: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length; this cannot fail.
    let mut m =
        <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    m.update(label);
    m.update(first);
    m.update(second);
    m
}

pub fn worker_proof(key: &[u8], client_nonce: &[u8], worker_nonce: &[u8]) -> [u8; PROOF_LEN] {
    mac(key, b"piworker worker", client_nonce, worker_nonce).finalize().into_bytes().into()
}

pub fn client_proof(key: &[u8], client_nonce: &[u8], worker_nonce: &[u8]) -> [u8; PROOF_LEN] {
    mac(key, b"piworker client", worker_nonce, client_nonce).finalize().into_bytes().into()
}

/// Constant-time check of a proof.
pub fn check_worker_proof(key: &[u8], client_nonce: &[u8], worker_nonce: &[u8], proof: &[u8]) -> bool {
    mac(key, b"piworker worker", client_nonce, worker_nonce).verify_slice(proof).is_ok()
}

pub fn check_client_proof(key: &[u8], client_nonce: &[u8], worker_nonce: &[u8], proof: &[u8]) -> bool {
    mac(key, b"piworker client", worker_nonce, client_nonce).verify_slice(proof).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proofs_bind_key_role_and_both_nonces() {
        let (k, c, w) = (b"0123456789abcdef", [1u8; 16], [2u8; 16]);
        let p = client_proof(k, &c, &w);
        assert!(check_client_proof(k, &c, &w, &p));
        assert!(!check_client_proof(b"0123456789abcdeX", &c, &w, &p), "another key");
        assert!(!check_client_proof(k, &c, &[3u8; 16], &p), "a replay against a new worker nonce");
        assert!(!check_worker_proof(k, &c, &w, &p), "a client proof is not a worker proof");
        assert!(check_worker_proof(k, &c, &w, &worker_proof(k, &c, &w)));
        // RFC 4231 test case 2, to pin the primitive.
        let m = mac(b"Jefe", b"what do ya want ", b"for nothing?", b"").finalize().into_bytes();
        assert_eq!(m[..4], [0x5b, 0xdc, 0xc1, 0x46]);
    }

    #[test]
    fn key_files_must_be_private_and_long_enough() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("piworker-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key");
        std::fs::write(&path, "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(load_key(&path).unwrap_err().contains("chmod 600"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(load_key(&path).unwrap(), b"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0");
        std::fs::write(&path, "short").unwrap();
        assert!(load_key(&path).unwrap_err().contains("at least 16"));
        std::fs::remove_dir_all(&dir).unwrap();
        assert_ne!(nonce().unwrap(), nonce().unwrap());
    }
}
