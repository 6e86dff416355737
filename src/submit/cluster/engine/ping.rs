//! `ping`: a handshake round trip to every ready worker, for `pisubmit
//! ping` and the Python package's `Cluster.ping`.

use super::{Engine, TICK};
use crate::protocol::FrameType;
use crate::submit::cluster::link::{Event, Link};
use crate::submit::error::SubmitError;
use mio::Events;
use std::time::{Duration, Instant};

impl Engine {
    /// Pings every ready worker `rounds` times; each one's median round trip.
    pub fn ping(&mut self, rounds: usize) -> Result<Vec<Option<Duration>>, SubmitError> {
        let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); self.links.len()];
        let mut sent = vec![Instant::now(); self.links.len()];
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut events = Events::with_capacity(256);
        for (i, link) in self.links.iter_mut().enumerate() {
            if let (true, Some(conn)) = (link.is_ready(), link.conn()) {
                conn.queue(FrameType::Ping, 0, &[]);
                sent[i] = Instant::now();
                let _ = link.flush();
            }
        }
        let wanted =
            |s: &[Vec<Duration>], links: &[Link]| links.iter().zip(s).any(|(l, s)| l.is_ready() && s.len() < rounds);
        while wanted(&samples, &self.links) && Instant::now() < deadline {
            self.poll.poll(&mut events, Some(TICK)).map_err(|e| SubmitError::Connect(format!("poll failed: {e}")))?;
            for event in events.iter() {
                let i = event.token().0;
                if i >= self.links.len() {
                    continue;
                }
                let now = Instant::now();
                for ev in self.links[i].on_event(now) {
                    let Event::Frame(f) = ev else { continue };
                    if f.header.frame_type == FrameType::Pong && samples[i].len() < rounds {
                        samples[i].push(now - sent[i]);
                        if samples[i].len() < rounds {
                            if let Some(conn) = self.links[i].conn() {
                                conn.queue(FrameType::Ping, 0, &[]);
                            }
                            sent[i] = Instant::now();
                        }
                    }
                }
                let _ = self.links[i].flush();
            }
        }
        Ok(samples
            .into_iter()
            .map(|mut s| {
                s.sort();
                s.get(s.len() / 2).copied()
            })
            .collect())
    }
}
