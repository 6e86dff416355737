//! Non-blocking framed connections over mio, shared by both sides.

pub mod conn;

pub use conn::{is_disconnect, FramedConn, Io};
