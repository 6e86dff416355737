//! The page's HTTP server (`--serve ADDR:PORT`): tiny_http parses the requests; we route
//! them, answer the small ones from short-lived threads and hand `/events` to `events`.
//!
//! Routes: `/` the page, `/state.json` the view once (with the hour of temperatures),
//! `/events` the view at each change as server-sent events, `/board.png` Life's board.
//!
//! What keeps a browser from hurting the job or the process: every accepted socket has a
//! read and a write timeout (set on the listener, which Linux copies to each accepted
//! socket: tiny_http gives no other way), so a client that never reads or never finishes
//! its request is dropped; one-shot answers run at most `MAX_ANSWERING` at a time; event
//! streams are capped by `events::Streams`. The hub's mutex is only held to copy the view.

use super::events::{EventCache, Streams};
use super::hub::Hub;
use super::snapshot;
use crate::submit::error::SubmitError;
use nix::sys::socket::{setsockopt, sockopt};
use nix::sys::time::{TimeVal, TimeValLike};
use std::io::ErrorKind;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tiny_http::{Header, Method, Request, Response, StatusCode};

const PAGE: &str = include_str!("page.html");

/// A client that takes longer than this to send its request, or to take a write we
/// offer, is dropped (its thread freed).
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// One-shot answers (page, JSON, PNG) being written at once; past it, 503.
const MAX_ANSWERING: usize = 32;

/// A running server; dropping it stops it (its event streams end within a second).
pub struct WebServer {
    addr: SocketAddr,
    streams: Arc<Streams>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl WebServer {
    /// Where it listens (the port chosen when asked for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Event streams open now.
    pub fn streams_open(&self) -> usize {
        self.streams.count()
    }
}

impl Drop for WebServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

/// Binds `addr` and serves `hub`'s view from a thread of its own.
pub fn serve(addr: SocketAddr, hub: Arc<Hub>) -> Result<WebServer, SubmitError> {
    let listener = TcpListener::bind(addr).map_err(|e| bind_error(addr, &e))?;
    let timeouts = setsockopt(&listener, sockopt::ReceiveTimeout, &timeval(READ_TIMEOUT))
        .and_then(|()| setsockopt(&listener, sockopt::SendTimeout, &timeval(WRITE_TIMEOUT)));
    timeouts.map_err(|e| SubmitError::Connect(format!("--serve {addr}: cannot set socket timeouts: {e}")))?;
    let addr = listener.local_addr().map_err(|e| SubmitError::Connect(format!("--serve {addr}: {e}")))?;
    let server = tiny_http::Server::from_listener(listener, None)
        .map_err(|e| SubmitError::Connect(format!("--serve {addr}: cannot start the web server: {e}")))?;
    let stop = Arc::new(AtomicBool::new(false));
    let streams = Streams::new(Arc::clone(&stop));
    let routes = Routes {
        hub,
        streams: Arc::clone(&streams),
        cache: Arc::new(EventCache::default()),
        answering: Arc::new(AtomicUsize::new(0)),
    };
    let stopping = Arc::clone(&stop);
    let accept = std::thread::Builder::new()
        .name("web-accept".into())
        .spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                match server.recv_timeout(Duration::from_millis(250)) {
                    Ok(Some(request)) => routes.route(request),
                    Ok(None) => {}
                    Err(e) => {
                        log::warn!("web page: {e}");
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
            }
        })
        .map_err(|e| SubmitError::Connect(format!("--serve {addr}: cannot start a thread: {e}")))?;
    Ok(WebServer { addr, streams, stop, accept: Some(accept) })
}

fn timeval(d: Duration) -> TimeVal {
    TimeVal::milliseconds(d.as_millis() as i64)
}

fn bind_error(addr: SocketAddr, e: &std::io::Error) -> SubmitError {
    let why = match e.kind() {
        ErrorKind::AddrInUse => {
            "the port is in use (another pisubmit --serve, or another server); choose another port, or 0 for any free one"
                .to_string()
        }
        ErrorKind::AddrNotAvailable => format!("{} is not an address of this machine", addr.ip()),
        ErrorKind::PermissionDenied => "ports below 1024 need root; choose one above".to_string(),
        _ => e.to_string(),
    };
    SubmitError::Usage(format!("--serve {addr}: cannot listen: {why}"))
}

struct Routes {
    hub: Arc<Hub>,
    streams: Arc<Streams>,
    cache: Arc<EventCache>,
    answering: Arc<AtomicUsize>,
}

impl Routes {
    fn route(&self, request: Request) {
        if !matches!(request.method(), Method::Get | Method::Head) {
            return answer_inline(request, text(405, "only GET is served here"));
        }
        let path = request.url().split('?').next().unwrap_or("").to_string();
        if path == "/events" {
            return self.streams.open(request, Arc::clone(&self.hub), Arc::clone(&self.cache));
        }
        if self.answering.fetch_add(1, Ordering::AcqRel) >= MAX_ANSWERING {
            self.answering.fetch_sub(1, Ordering::AcqRel);
            return answer_inline(request, text(503, "busy; try again"));
        }
        let hub = Arc::clone(&self.hub);
        let answering = Arc::clone(&self.answering);
        // Written from a thread of its own: a slow reader holds up nobody but itself.
        let spawned = std::thread::Builder::new().name("web-answer".into()).spawn(move || {
            let _ = request.respond(answer(&path, &hub));
            answering.fetch_sub(1, Ordering::AcqRel);
        });
        if spawned.is_err() {
            self.answering.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

type Answer = Response<std::io::Cursor<Vec<u8>>>;

fn answer(path: &str, hub: &Hub) -> Answer {
    match path {
        "/" | "/index.html" => body(200, "text/html; charset=utf-8", PAGE.as_bytes().to_vec()),
        "/state.json" => body(200, "application/json", snapshot::render(&hub.snapshot(), true).into_bytes()),
        "/board.png" => match hub.snapshot().board {
            Some(board) => body(200, "image/png", board.png.to_vec()),
            None => text(404, "no Life board yet"),
        },
        _ => text(404, "not found: the page is at /"),
    }
}

fn answer_inline(request: Request, response: Answer) {
    let _ = request.respond(response);
}

fn text(code: u16, message: &str) -> Answer {
    body(code, "text/plain; charset=utf-8", format!("{message}\n").into_bytes())
}

fn body(code: u16, content_type: &str, bytes: Vec<u8>) -> Answer {
    let mut response = Response::from_data(bytes).with_status_code(StatusCode(code));
    for (name, value) in [("Content-Type", content_type), ("Cache-Control", "no-store")] {
        if let Ok(h) = Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            response.add_header(h);
        }
    }
    response
}
