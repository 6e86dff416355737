//! `/events`: the view as server-sent events, one thread a stream.
//!
//! A stream pulls the latest view when it is ready to write, so nothing queues for a slow
//! client: it gets fewer, newer snapshots (at most one per `MIN_GAP`). A comment line goes
//! out after `HEARTBEAT` of quiet so that a vanished client fails a write and its thread
//! ends; a client that stops reading fails one after the socket's write timeout. At most
//! `MAX_STREAMS` are open: past it, streams whose client left are found by a probe, and
//! failing that the oldest is ended, with a `bye` event, for the new one.

use super::hub::{Hub, View};
use super::snapshot;
use std::collections::VecDeque;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tiny_http::Request;

pub const MAX_STREAMS: usize = 16;
/// Changes closer together than this are sent as one (the latest).
pub const MIN_GAP: Duration = Duration::from_millis(250);
pub const HEARTBEAT: Duration = Duration::from_secs(10);
/// How often a waiting stream looks at its stop and probe flags.
const SLICE: Duration = Duration::from_millis(100);
/// How long a new stream waits for probed streams to leave before ending the oldest.
const PROBE_WAIT: Duration = Duration::from_millis(300);

const HEAD: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n\
Connection: close\r\n\r\nretry: 2000\n\n";

/// The event text of the latest view, formatted once for every stream.
#[derive(Default)]
pub struct EventCache {
    last: Mutex<Option<(u64, Arc<String>)>>,
}

impl EventCache {
    fn text(&self, view: &View) -> Arc<String> {
        if let Some((seq, text)) = self.last.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
            if *seq == view.seq {
                return Arc::clone(text);
            }
        }
        // Formatted with no lock held; two streams may both format a new view, once.
        let text = Arc::new(format!("id: {}\ndata: {}\n\n", view.seq, snapshot::render(view, false)));
        *self.last.lock().unwrap_or_else(PoisonError::into_inner) = Some((view.seq, Arc::clone(&text)));
        text
    }
}

pub struct Streams {
    open: Mutex<VecDeque<(u64, Arc<AtomicBool>)>>,
    next_id: AtomicU64,
    /// Bumped to make every stream write now (see `register`).
    probe: AtomicU64,
    /// The whole server's stop.
    server_stop: Arc<AtomicBool>,
}

impl Streams {
    pub fn new(server_stop: Arc<AtomicBool>) -> Arc<Streams> {
        Arc::new(Streams {
            open: Mutex::new(VecDeque::new()),
            next_id: AtomicU64::new(0),
            probe: AtomicU64::new(0),
            server_stop,
        })
    }

    /// Streams open now.
    pub fn count(&self) -> usize {
        self.open.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    pub fn open(self: &Arc<Self>, request: Request, hub: Arc<Hub>, cache: Arc<EventCache>) {
        let streams = Arc::clone(self);
        let spawned = std::thread::Builder::new().name("web-events".into()).spawn(move || {
            let (id, stop) = streams.register();
            let out = request.into_writer();
            let stops = [&*stop, &*streams.server_stop];
            let probe = &streams.probe;
            if let Err(e) = stream(out, &hub, &cache, &stops, &stop, probe) {
                log::debug!("web page: an event stream ended: {e}");
            }
            streams.close(id);
        });
        if let Err(e) = spawned {
            log::warn!("web page: cannot start an event stream: {e}");
        }
    }

    /// A place among the open streams. When they are all taken, the open ones are first
    /// made to write, so that those whose client has gone find out and leave (a burst of
    /// reconnections must not push out the pages still watching); only if none has gone
    /// is the oldest ended.
    fn register(&self) -> (u64, Arc<AtomicBool>) {
        if self.count() >= MAX_STREAMS {
            self.probe.fetch_add(1, Ordering::Relaxed);
            let deadline = Instant::now() + PROBE_WAIT;
            while self.count() >= MAX_STREAMS && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let stop = Arc::new(AtomicBool::new(false));
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        while open.len() >= MAX_STREAMS {
            if let Some((_, oldest)) = open.pop_front() {
                oldest.store(true, Ordering::Relaxed);
            }
        }
        open.push_back((id, Arc::clone(&stop)));
        (id, stop)
    }

    fn close(&self, id: u64) {
        self.open.lock().unwrap_or_else(PoisonError::into_inner).retain(|(i, _)| *i != id);
    }
}

fn stream(
    mut out: Box<dyn Write + Send>,
    hub: &Hub,
    cache: &EventCache,
    stops: &[&AtomicBool],
    dropped: &AtomicBool,
    probe: &AtomicU64,
) -> std::io::Result<()> {
    out.write_all(HEAD)?;
    out.flush()?;
    let mut probed = probe.load(Ordering::Relaxed);
    let mut seen = 0;
    let mut last_write = Instant::now();
    let mut last_event: Option<Instant> = None;
    while !stops.iter().any(|s| s.load(Ordering::Relaxed)) {
        if let Some(gap) = last_event.map(|t| t.elapsed()).filter(|&e| e < MIN_GAP) {
            std::thread::sleep(MIN_GAP - gap);
        }
        if probe.load(Ordering::Relaxed) != probed {
            probed = probe.load(Ordering::Relaxed);
            // The first write to a socket its peer closed still succeeds (and draws a
            // reset); the second fails.
            for _ in 0..2 {
                out.write_all(b": are you there\n\n")?;
                out.flush()?;
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        let view = hub.wait_past(seen, SLICE);
        if view.seq > seen {
            seen = view.seq;
            out.write_all(cache.text(&view).as_bytes())?;
            out.flush()?;
            last_event = Some(Instant::now());
            last_write = Instant::now();
        } else if last_write.elapsed() >= HEARTBEAT {
            out.write_all(b": heartbeat\n\n")?;
            out.flush()?;
            last_write = Instant::now();
        }
    }
    if dropped.load(Ordering::Relaxed) {
        // The page closes on this and reconnects later; without it the browser would wait
        // for the socket to close, which tiny_http does only at its read timeout.
        out.write_all(b"event: bye\ndata: too many streams; this one was the oldest\n\n")?;
        out.flush()?;
    }
    Ok(())
}
