//! The head's web page (`--serve ADDR:PORT`): a live view of the cluster
//! and of the running job for a lab's wall display.
//!
//! - `hub`: what the page shows, written by the status survey and the job,
//!   read by the HTTP server; each change wakes the page's event streams.
//! - `history`: each host's temperature over the last hour, for the sparklines.
//! - `snapshot`: the view as the page's JSON, with the terminal grid's colours.
//! - `job_watch`: the job's progress for the page, beside the progress bar;
//!   `job_gather`: its pieces per worker and, for primes, the count so far.
//! - `server`: the HTTP server and its routes; `events`: the event streams.
//! - `page.html`: the page itself, self-contained (labs are often offline).

pub mod events;
pub mod history;
pub mod hub;
pub mod job_gather;
pub mod job_watch;
pub mod server;
pub mod snapshot;

pub use hub::{BoardView, Hub, JobHostView, JobView, View};
pub use job_gather::PageGather;
pub use job_watch::WebWatch;
pub use server::{serve, WebServer};
