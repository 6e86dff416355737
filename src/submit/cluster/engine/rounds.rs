//! A conversation with each worker, for jobs that are not a bag of
//! independent pieces: the Game of Life keeps one long job on every worker
//! and moves in lockstep rounds. The engine connects and keeps heartbeats;
//! the caller sends frames to chosen links and reacts to what comes back.

use crate::protocol::{Frame, FrameType};
use crate::submit::cluster::engine::Engine;
use crate::submit::cluster::link::{Event, State};
use crate::submit::error::SubmitError;
use mio::{Events, Token};
use std::io;
use std::time::{Duration, Instant};

/// What one link said, or that it is gone.
pub enum SessionEvent {
    Frame(usize, Frame),
    Lost(usize, String),
}

impl Engine {
    /// Links with a worker ready to take jobs now.
    pub fn ready_links(&self) -> Vec<usize> {
        (0..self.links.len()).filter(|&i| self.links[i].is_ready() && !self.links[i].draining).collect()
    }

    /// Threads a ready link offers (after the host's `/N`).
    pub fn link_threads(&self, i: usize) -> usize {
        self.links[i].threads()
    }

    /// Largest frame the link's worker accepts.
    pub fn link_max_frame(&self, i: usize) -> usize {
        self.links[i].max_frame()
    }

    /// The host as the user wrote it.
    pub fn link_name(&self, i: usize) -> String {
        self.links[i].spec.to_string()
    }

    /// Where the link's worker listens, as the user wrote it: what another
    /// worker dials to reach it.
    pub fn link_address(&self, i: usize) -> String {
        self.links[i].spec.address()
    }

    /// Whether the link's worker was reached over loopback.
    pub fn link_is_loopback(&self, i: usize) -> bool {
        self.links[i].is_loopback()
    }

    /// Whether the link's worker takes what minor `since` added.
    pub fn link_may_send(&self, i: usize, since: u8) -> bool {
        self.links[i].may_send(since)
    }

    pub fn next_job_id(&mut self, i: usize) -> u32 {
        self.links[i].next_job_id()
    }

    /// Queues a frame; it leaves in `wait`.
    pub fn send(&mut self, i: usize, frame_type: FrameType, job_id: u32, payload: &[u8]) {
        if let Some(conn) = self.links[i].conn() {
            conn.queue(frame_type, job_id, payload);
        }
    }

    /// Gives up on a link for now (it is reconnected later, with backoff).
    pub fn drop_link(&mut self, i: usize, why: String) {
        let now = Instant::now();
        self.links[i].fail(self.poll.registry(), why, now);
    }

    /// Writes what is queued, then waits up to `timeout` for frames. Also
    /// keeps heartbeats and reconnects links that dropped. Ctrl-C is an
    /// error here, as everywhere in pisubmit.
    pub fn wait(&mut self, events: &mut Events, timeout: Duration) -> Result<Vec<SessionEvent>, SubmitError> {
        let mut out = Vec::new();
        for i in 0..self.links.len() {
            if let Err(why) = self.links[i].flush() {
                self.lose_link(i, why.to_string(), &mut out);
            }
        }
        if let Err(e) = self.poll.poll(events, Some(timeout)) {
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(SubmitError::Connect(format!("waiting for workers failed: {e}")));
            }
        }
        if self.cancelled() {
            return Err(SubmitError::Interrupted);
        }
        for event in events.iter() {
            let Token(i) = event.token();
            if event.token() == crate::submit::cluster::engine::SIGNALS && self.signals.pending().next().is_some() {
                return Err(SubmitError::Interrupted);
            }
            if i >= self.links.len() {
                continue;
            }
            let now = Instant::now();
            for ev in self.links[i].on_event(now) {
                match ev {
                    Event::Frame(frame) => {
                        if let State::Connecting(_) = self.links[i].state {
                            if let Err(why) = self.links[i].on_welcome(frame.view(), now) {
                                log::warn!("worker {} {why}", self.links[i].spec);
                                self.links[i].refuse(self.poll.registry(), why.to_string(), now);
                            }
                        } else if frame.header.frame_type != FrameType::Pong {
                            out.push(SessionEvent::Frame(i, frame));
                        }
                    }
                    Event::Lost(why) | Event::NotAWorker(why) => {
                        self.lose_link(i, why, &mut out);
                        break;
                    }
                }
            }
            if let Err(why) = self.links[i].flush() {
                self.lose_link(i, why.to_string(), &mut out);
            }
        }
        let now = Instant::now();
        for i in 0..self.links.len() {
            let was_up = self.links[i].conn().is_some();
            if was_up && self.links[i].heartbeat(now, self.opts.heartbeat_timeout) {
                let why = format!("silent for {:?} (hung, or off the network)", self.opts.heartbeat_timeout);
                self.lose_link(i, why, &mut out);
            }
            self.links[i].connect_if_due(self.poll.registry(), now);
        }
        Ok(out)
    }

    fn lose_link(&mut self, i: usize, why: String, out: &mut Vec<SessionEvent>) {
        if self.links[i].conn().is_none() {
            return;
        }
        let was_ready = self.links[i].is_ready();
        self.links[i].fail(self.poll.registry(), why.clone(), Instant::now());
        if was_ready {
            out.push(SessionEvent::Lost(i, why));
        }
    }
}
