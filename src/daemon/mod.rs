//! The worker daemon: configuration, the event loop, connections, and the
//! pinned compute pool.

pub mod admission;
pub mod allow;
pub mod config;
pub mod connection;
pub mod cpus;
pub mod discovery;
pub mod flags;
pub mod health;
pub mod host;
pub mod memory;
pub mod metrics;
pub mod notify;
pub mod pool;
pub mod rate_log;
pub mod refusals;
pub mod server;
pub mod status;

pub use config::{parse_args, Command, Config};
pub use flags::PIWORKER;
pub use server::{run, DaemonError};
