//! Non-blocking framed connections over mio, shared by both sides.

pub mod conn;
pub mod ifaces;

pub use conn::{is_disconnect, FramedConn, InputBuf, Io, OutputBuf};
