//! XXH3-64 (seed 0): the hash job logs, Life checkpoints and input
//! fingerprints keep. twox-hash picks the widest vector unit the CPU has
//! when it runs (AVX2 on most PCs, NEON on a 64-bit Pi), where
//! xxhash-rust used only what the build targets (SSE2 on x86-64): the
//! 480 MiB of primes below 10^9 hash 2.5 times as fast
//! (docs/PERFORMANCE.md). The values are the algorithm's, so logs and
//! checkpoints written before the change still read.

use std::hash::Hasher as _;

/// The hash of `bytes`.
pub fn xxh3_64(bytes: &[u8]) -> u64 {
    twox_hash::XxHash3_64::oneshot(bytes)
}

/// A hash fed a part at a time: the same value as [`xxh3_64`] of the
/// parts joined.
pub struct Xxh3(twox_hash::XxHash3_64);

impl Xxh3 {
    pub fn new() -> Xxh3 {
        Xxh3(twox_hash::XxHash3_64::new())
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.0.write(bytes);
    }

    pub fn digest(&self) -> u64 {
        self.0.finish()
    }

    /// Starts again, as a new one would.
    pub fn reset(&mut self) {
        *self = Xxh3::new();
    }
}

impl Default for Xxh3 {
    fn default() -> Xxh3 {
        Xxh3::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same values as xxhash-rust's XXH3 (the crate the logs and
    /// checkpoints were written with before), on each side of the
    /// lengths where XXH3 changes method (16, 128, 240 bytes, a block),
    /// fed whole and a few bytes at a time.
    #[test]
    fn values_are_xxhash_rusts_and_streaming_matches_one_shot() {
        assert_eq!(xxh3_64(b""), 0x2d06_8005_38d3_94c2, "XXH3-64 of nothing, as published");
        let bytes: Vec<u8> = (0..5000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
        for len in [0, 1, 3, 4, 8, 9, 16, 17, 128, 129, 240, 241, 1024, 1025, 4999, 5000] {
            let want = xxhash_rust::xxh3::xxh3_64(&bytes[..len]);
            assert_eq!(xxh3_64(&bytes[..len]), want, "{len} bytes");
            let mut h = Xxh3::new();
            for part in bytes[..len].chunks(7) {
                h.update(part);
            }
            assert_eq!(h.digest(), want, "{len} bytes, streamed");
            h.reset();
            h.update(&bytes[..len]);
            assert_eq!(h.digest(), want, "{len} bytes, after a reset");
        }
    }
}
