//! Asks every host for its status at once: connect, handshake, one
//! `StatusRequest`, one answer. Used by `status`, `doctor` and `bench`.
//!
//! Unlike a job, a survey never fails because a host is missing: every host
//! gets an outcome, and an unreachable one says why (refused, no answer,
//! not a worker, another key), since that is what people look at it for.

use crate::protocol::{ErrorCode, ErrorMessage, FrameType, Status, Welcome};
use crate::submit::cluster::hosts::HostSpec;
use crate::submit::cluster::link::{Event, Link, State};
use crate::submit::error::SubmitError;
use mio::{Events, Poll, Token};
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Why a host gave no status.
#[derive(Clone, Debug)]
pub enum Failure {
    /// The TCP connect failed; the kind tells refused from unreachable,
    /// and NotFound is a name that does not resolve.
    ConnectFailed(io::ErrorKind, String),
    /// Nothing came back in time: a firewall dropping packets or a machine
    /// that is off (not `connected`), or a hung worker (`connected`).
    NoAnswer { connected: bool, why: String },
    /// It answered, but not as a worker we can use (not piworker, another
    /// protocol major, another key), or without a status (older worker).
    Refused(String),
    /// It refused this head's address (not in its `--allow`).
    NotAllowed(String),
    /// It had no room for another connection (its connection limits).
    Busy(String),
}

impl Failure {
    pub fn why(&self) -> &str {
        match self {
            Failure::ConnectFailed(_, why)
            | Failure::NoAnswer { why, .. }
            | Failure::Refused(why)
            | Failure::NotAllowed(why)
            | Failure::Busy(why) => why,
        }
    }
}

/// How one host answered.
pub type Outcome = Result<Box<Status>, Failure>;

pub struct HostSurvey {
    pub spec: HostSpec,
    pub outcome: Outcome,
    pub welcome: Option<Welcome>,
    /// Round trip of the status request.
    pub rtt: Option<Duration>,
    /// The worker's clock minus ours, estimated at the midpoint of the
    /// round trip, in milliseconds.
    pub clock_offset_ms: Option<i64>,
}

impl HostSurvey {
    pub fn status(&self) -> Option<&Status> {
        self.outcome.as_deref().ok()
    }
}

/// Where each host's survey stands.
enum Step {
    Handshake,
    Asked { at: Instant, wall_ms: i128 },
    Done,
}

fn wall_ms() -> i128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i128)
}

/// Surveys every host, in parallel, for at most `timeout`.
pub fn survey(
    hosts: &[HostSpec],
    key: Option<Arc<Vec<u8>>>,
    timeout: Duration,
) -> Result<Vec<HostSurvey>, SubmitError> {
    let mut poll = Poll::new().map_err(|e| SubmitError::Connect(format!("cannot create an event loop: {e}")))?;
    let mut links: Vec<Link> =
        hosts.iter().enumerate().map(|(i, h)| Link::new(h.clone(), Token(i), key.clone())).collect();
    let mut steps: Vec<Step> = hosts.iter().map(|_| Step::Handshake).collect();
    let mut out: Vec<HostSurvey> = hosts
        .iter()
        .map(|h| HostSurvey {
            spec: h.clone(),
            outcome: Err(Failure::NoAnswer {
                connected: false,
                why: format!("no answer within {:.1} s", timeout.as_secs_f64()),
            }),
            welcome: None,
            rtt: None,
            clock_offset_ms: None,
        })
        .collect();
    let start = Instant::now();
    for (i, link) in links.iter_mut().enumerate() {
        link.connect_if_due(poll.registry(), start);
        if link.conn().is_none() {
            out[i].outcome = connect_failure(link);
            steps[i] = Step::Done;
        }
    }
    let mut events = Events::with_capacity(1024);
    let deadline = start + timeout;
    while steps.iter().any(|s| !matches!(s, Step::Done)) {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        if let Err(e) = poll.poll(&mut events, Some(deadline - now)) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(SubmitError::Connect(format!("poll failed: {e}")));
        }
        for event in events.iter() {
            let i = event.token().0;
            if i >= links.len() || matches!(steps[i], Step::Done) {
                continue;
            }
            let now = Instant::now();
            for ev in links[i].on_event(now) {
                if matches!(steps[i], Step::Done) {
                    break;
                }
                match ev {
                    Event::Frame(frame) => on_frame(&mut links[i], &mut steps[i], &mut out[i], frame, now),
                    Event::Lost(why) => {
                        out[i].outcome = Err(match links[i].connect_error {
                            Some(kind) if links[i].welcome.is_none() => Failure::ConnectFailed(kind, why),
                            _ => Failure::Refused(why),
                        });
                        steps[i] = Step::Done;
                    }
                    Event::NotAWorker(why) => {
                        out[i].outcome = Err(Failure::Refused(format!("is not a piworker: {why}")));
                        steps[i] = Step::Done;
                    }
                }
            }
            if !matches!(steps[i], Step::Done) {
                if let Err(why) = links[i].flush() {
                    out[i].outcome = Err(Failure::Refused(why.to_string()));
                    steps[i] = Step::Done;
                }
            }
        }
    }
    for (i, link) in links.iter_mut().enumerate() {
        if let (Step::Handshake, true) = (&steps[i], matches!(link.state, State::Connecting(_))) {
            if link.welcome.is_none() && link.connect_error.is_none() {
                out[i].outcome = Err(no_answer(link, timeout));
            }
        }
        out[i].welcome = link.welcome.take();
        link.fail(poll.registry(), "survey over".into(), Instant::now());
    }
    Ok(out)
}

fn connect_failure(link: &Link) -> Outcome {
    let why = link.last_error.clone().unwrap_or_else(|| "cannot connect".into());
    Err(match link.connect_error {
        Some(kind) => Failure::ConnectFailed(kind, why),
        None => Failure::Refused(why),
    })
}

/// Tells "the TCP connection never completed" (filtered, or the machine is
/// off) from "connected, but the worker never answered" (hung, overloaded).
fn no_answer(link: &mut Link, timeout: Duration) -> Failure {
    let connected = link.conn().is_some_and(|c| c.stream.peer_addr().is_ok());
    let secs = timeout.as_secs_f64();
    let why = if connected {
        format!("connected, but no handshake answer within {secs:.1} s (hung or overloaded?)")
    } else {
        format!("no answer to the TCP connect within {secs:.1} s (port filtered by a firewall, or the machine is off)")
    };
    Failure::NoAnswer { connected, why }
}

fn on_frame(link: &mut Link, step: &mut Step, out: &mut HostSurvey, frame: crate::protocol::Frame, now: Instant) {
    match step {
        Step::Handshake => match link.on_welcome(frame.view(), now) {
            Ok(()) => {
                if let Some(conn) = link.conn() {
                    conn.queue(FrameType::StatusRequest, 1, &[]);
                }
                *step = Step::Asked { at: Instant::now(), wall_ms: wall_ms() };
            }
            Err(why) => {
                let why = why.to_string();
                out.outcome = Err(match link.refusal_code {
                    Some(ErrorCode::NotAllowed) => Failure::NotAllowed(why),
                    Some(ErrorCode::Busy) => Failure::Busy(why),
                    _ => Failure::Refused(why),
                });
                *step = Step::Done;
            }
        },
        Step::Asked { at, wall_ms: sent_ms } => match frame.header.frame_type {
            FrameType::Status => {
                let rtt = now - *at;
                match Status::decode(&frame.payload) {
                    Ok(status) => {
                        let midpoint = *sent_ms + (rtt.as_millis() as i128) / 2;
                        out.clock_offset_ms = Some((status.unix_time_ms as i128 - midpoint) as i64);
                        out.rtt = Some(rtt);
                        out.outcome = Ok(Box::new(status));
                    }
                    Err(e) => out.outcome = Err(Failure::Refused(format!("sent a malformed status: {e}"))),
                }
                *step = Step::Done;
            }
            FrameType::Error => {
                let msg = ErrorMessage::decode(&frame.payload).map_or_else(|e| e.to_string(), |m| m.message);
                let version = link.welcome.as_ref().map_or("?".to_string(), |w| w.software.clone());
                out.outcome = Err(Failure::Refused(format!(
                    "piworker {version} has no status request ({msg}); upgrade it to this pisubmit's version"
                )));
                *step = Step::Done;
            }
            _ => {} // a Pong, or anything else a later version sends first
        },
        Step::Done => {}
    }
}
