//! Talking to workers: one `Link` per worker, the host list, the `Engine`
//! that keeps every core busy with pieces, lockstep rounds for jobs that
//! step together (life), and the one-shot survey of status and doctor.
//! No flags and no terminal here: callers pass options in and draw what
//! they like from the `Progress` they hand over.

pub mod connect;
pub mod engine;
pub mod hosts;
pub mod link;
pub mod survey;
