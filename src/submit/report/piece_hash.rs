//! The xxh3 of each piece's bytes in an output file, for a job log,
//! computed on a thread of its own while the event loop writes the bytes.
//!
//! Hashing the 480 MiB of the primes below 10^9 took about 22 ms of the
//! loop's time, as much as the rest of what a job log costs that job
//! (docs/PERFORMANCE.md); on a head with a core to spare it now costs the
//! hand-over of each rendered buffer, which comes back to be filled again.
//!
//! A small piece is hashed on the caller's thread: the hand-over and the
//! wait for the digest are two thread switches, which cost a farm of
//! 100,000 0-ms tasks (a few bytes a piece) several per cent of its time.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;
use xxhash_rust::xxh3::Xxh3;

/// Rendered buffers waiting to be hashed: bounds the memory they hold.
const QUEUE: usize = 8;

/// A piece with at most this many bytes is hashed where it is fed (xxh3
/// takes a few microseconds for it, about what a thread switch costs).
const SMALL_PIECE: usize = 64 << 10;

pub enum Job {
    Bytes(Vec<u8>),
    /// The piece's bytes are all in: send its hash and start the next.
    End,
}

/// Hashes the bytes handed to it, piece by piece.
pub enum PieceHasher {
    Thread {
        work: SyncSender<Job>,
        digests: Receiver<u64>,
        spare: Receiver<Vec<u8>>,
        thread: Option<JoinHandle<()>>,
        /// The piece's bytes so far, while they are few (`SMALL_PIECE`).
        small: Vec<u8>,
        /// Some of the piece's bytes went to the thread.
        threaded: bool,
    },
    /// No thread could be started: hashed on the caller's.
    Inline(Box<Xxh3>),
}

impl PieceHasher {
    pub fn new() -> PieceHasher {
        let (work, jobs) = sync_channel::<Job>(QUEUE);
        let (digest_tx, digests) = sync_channel(1);
        let (spare_tx, spare) = sync_channel(QUEUE + 1);
        let spawned = std::thread::Builder::new().name("piece-hash".into()).spawn(move || {
            let mut hash = Xxh3::new();
            for job in jobs {
                match job {
                    Job::Bytes(bytes) => {
                        hash.update(&bytes);
                        let _ = spare_tx.try_send(bytes);
                    }
                    Job::End => {
                        if digest_tx.send(hash.digest()).is_err() {
                            return;
                        }
                        hash.reset();
                    }
                }
            }
        });
        match spawned {
            Ok(thread) => {
                PieceHasher::Thread { work, digests, spare, thread: Some(thread), small: Vec::new(), threaded: false }
            }
            Err(e) => {
                log::warn!("no thread to hash output pieces ({e}): hashing them on the event loop's");
                PieceHasher::Inline(Box::new(Xxh3::new()))
            }
        }
    }

    /// Hashes `bytes` as the next of the piece's, and returns an emptied
    /// buffer to render the next bytes into.
    pub fn feed(&mut self, bytes: Vec<u8>) -> Vec<u8> {
        match self {
            PieceHasher::Inline(hash) => {
                hash.update(&bytes);
                let mut bytes = bytes;
                bytes.clear();
                bytes
            }
            PieceHasher::Thread { work, spare, small, threaded, .. } => {
                if !*threaded && small.len() + bytes.len() <= SMALL_PIECE {
                    small.extend_from_slice(&bytes);
                    let mut bytes = bytes;
                    bytes.clear();
                    return bytes;
                }
                *threaded = true;
                // A thread that is gone (it panicked) fails `end_piece`.
                if !small.is_empty() {
                    let _ = work.send(Job::Bytes(std::mem::take(small)));
                }
                let _ = work.send(Job::Bytes(bytes));
                let mut next = spare.try_recv().unwrap_or_default();
                next.clear();
                next
            }
        }
    }

    /// The hash of the bytes fed since the last call; None if the hashing
    /// thread is gone.
    pub fn end_piece(&mut self) -> Option<u64> {
        match self {
            PieceHasher::Inline(hash) => {
                let digest = hash.digest();
                hash.reset();
                Some(digest)
            }
            PieceHasher::Thread { work, digests, small, threaded, .. } => {
                if !*threaded {
                    let digest = xxhash_rust::xxh3::xxh3_64(small);
                    small.clear();
                    return Some(digest);
                }
                *threaded = false;
                work.send(Job::End).ok()?;
                digests.recv().ok()
            }
        }
    }
}

impl Drop for PieceHasher {
    fn drop(&mut self) {
        if let PieceHasher::Thread { work, thread, .. } = self {
            // Closing the queue ends the thread's loop.
            let (closed, _) = sync_channel(0);
            *work = closed;
            if let Some(t) = thread.take() {
                let _ = t.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every piece's digest is xxh3 of its bytes, whether they were few
    /// (hashed where fed), many (on the thread) or crossed from one to the
    /// other between two feeds.
    #[test]
    fn digests_are_the_pieces_xxh3_small_or_large() {
        let bytes = |n: usize, seed: u8| (0..n).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect();
        let pieces: Vec<Vec<Vec<u8>>> = vec![
            vec![],
            vec![bytes(5, 1)],
            vec![bytes(SMALL_PIECE, 2)],
            vec![bytes(SMALL_PIECE - 3, 3), bytes(10, 4)],
            vec![bytes(100, 5), bytes(3 * SMALL_PIECE, 6), bytes(7, 7)],
            vec![bytes(1, 8), bytes(2, 9)],
        ];
        for mut hasher in [PieceHasher::new(), PieceHasher::Inline(Box::new(Xxh3::new()))] {
            for piece in &pieces {
                for part in piece {
                    let back = hasher.feed(part.clone());
                    assert!(back.is_empty(), "a buffer comes back emptied");
                }
                let whole: Vec<u8> = piece.concat();
                assert_eq!(hasher.end_piece(), Some(xxhash_rust::xxh3::xxh3_64(&whole)), "{} bytes", whole.len());
            }
        }
    }
}
