//! piworker: turns a shelf of Raspberry Pis into one computer.
//!
//! - `protocol`: the framed binary wire format both sides speak.
//! - `jobs`: the closed set of job kinds, their kernels and result merging.
//! - `life`: the Game of Life's packed board, kernel and file formats.
//! - `net`: a framed, non-blocking connection over mio, used by both sides.
//! - `ranges`: cutting an index range into pieces, for both sides.
//! - `daemon`: the worker's event loop and pinned compute pool.
//! - `units`: sizes as people write and read them (16M, 16 MiB).
//! - `submit`: the head's client that splits, sends, gathers and reduces.
//! - `flags`: the flag tables both binaries parse, and their help, man page
//!   and completions.

pub mod daemon;
pub mod flags;
pub mod jobs;
pub mod life;
pub mod net;
pub mod protocol;
pub mod ranges;
pub mod submit;
pub mod units;
pub mod xxh3;
