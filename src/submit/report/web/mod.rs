//! The head's web page (`--serve ADDR:PORT`): a live view of the cluster
//! and of the running job for a lab's wall display.
//!
//! - `hub`: what the page shows, written by the status survey and the job,
//!   read by the HTTP server; each change wakes the page's event streams.

pub mod hub;

pub use hub::{BoardView, Hub, JobHostView, JobView, View};
