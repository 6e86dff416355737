//! How reduce's input values are read on the head: the dtypes people's
//! files hold (NumPy's `tofile()` and `np.save()`: little-endian on every
//! Pi and PC), turned into the wire's big-endian f64/i64 while streaming,
//! from a file or from memory.
//!
//! The wire (`jobs::reduce`, docs/PROTOCOL.md) does not change: a worker of
//! any minor sees f64, i64 or text. Everything here is the head's, and is
//! the one place a library caller (the Python binding) converts too.
//! This module must not touch sockets.

pub mod convert;
pub mod dtype;
pub mod input;
pub mod npy;
pub mod sniff;
pub mod source;

pub use convert::{to_wire, wire_values};
pub use dtype::{Binary, Dtype, Kind};
pub use input::ReduceInput;
pub use source::{Data, SharedBytes, ValueStream};
