//! One scrape: an HTTP/1.1 request read whole (at most `MAX_REQUEST`
//! bytes, parsed by httparse), one answer, then the connection closes.
//!
//! It owns the socket's bytes and what a request means; it never touches
//! the poll registry or renders metrics itself (the caller lends it a
//! `render` closure). It never blocks and never panics on what a peer
//! sends: anything it cannot understand is a 400 or a 431.

use mio::net::TcpStream;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::{Duration, Instant};

/// The largest request taken: a scrape's request line and headers are a
/// few hundred bytes; this leaves room for a proxy's added headers.
pub const MAX_REQUEST: usize = 8 * 1024;
/// Headers parsed at most; more is treated as too large (431).
const MAX_HEADERS: usize = 32;
/// After answering, how long the connection reads and drops what the
/// peer still sends, so that closing with unread bytes (which makes the
/// kernel send a reset) cannot destroy the answer before it is read.
const DRAIN: Duration = Duration::from_secs(1);
/// How long the answer may take to leave (a scraper that stops reading).
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// The content type of Prometheus' text exposition format 0.0.4.
pub const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What a request asks for, as far as this listener goes.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// `GET /metrics` (or `HEAD`, which gets the headers only).
    Metrics {
        head: bool,
    },
    NotFound,
    MethodNotAllowed,
    /// Not HTTP (httparse's reason).
    BadRequest(String),
    /// Larger than `MAX_REQUEST`, or too many headers.
    TooLarge,
}

impl Route {
    /// Whether the peer sent something broken (counted as a refusal).
    pub fn is_malformed(&self) -> bool {
        matches!(self, Route::BadRequest(_) | Route::TooLarge)
    }
}

/// Reads the request in `buf`: `None` while more bytes are needed.
pub fn route(buf: &[u8]) -> Option<Route> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(buf) {
        Ok(httparse::Status::Partial) if buf.len() >= MAX_REQUEST => Some(Route::TooLarge),
        Ok(httparse::Status::Partial) => None,
        Err(httparse::Error::TooManyHeaders) => Some(Route::TooLarge),
        Err(e) => Some(Route::BadRequest(e.to_string())),
        Ok(httparse::Status::Complete(_)) => {
            // A complete parse has both; a query string is allowed and ignored.
            let path = request.path.unwrap_or("");
            let path = path.split_once('?').map_or(path, |(p, _)| p);
            if path != "/metrics" {
                return Some(Route::NotFound);
            }
            match request.method.unwrap_or("") {
                "GET" => Some(Route::Metrics { head: false }),
                "HEAD" => Some(Route::Metrics { head: true }),
                _ => Some(Route::MethodNotAllowed),
            }
        }
    }
}

/// The whole HTTP answer to `route`, rendering metrics only when asked.
pub fn answer(route: &Route, render: &mut dyn FnMut() -> String) -> Vec<u8> {
    let (status, body, extra) = match route {
        Route::Metrics { .. } => ("200 OK", render(), ""),
        Route::NotFound => ("404 Not Found", "only /metrics is served here\n".to_string(), ""),
        Route::MethodNotAllowed => {
            ("405 Method Not Allowed", "only GET and HEAD are answered\n".to_string(), "Allow: GET, HEAD\r\n")
        }
        Route::BadRequest(why) => ("400 Bad Request", format!("not an HTTP request: {why}\n"), ""),
        Route::TooLarge => (
            "431 Request Header Fields Too Large",
            format!("a request may be at most {MAX_REQUEST} bytes and {MAX_HEADERS} headers\n"),
            "",
        ),
    };
    let content_type = if matches!(route, Route::Metrics { .. }) { TEXT_FORMAT } else { "text/plain; charset=utf-8" };
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if !matches!(route, Route::Metrics { head: true }) {
        out.extend_from_slice(body.as_bytes());
    }
    out
}

/// Where a scrape connection is.
enum Stage {
    Reading,
    Writing,
    /// Answered and write-shut: reading what is left until the peer closes.
    Draining,
}

/// What became of a connection after its socket was looked at.
#[derive(Debug, PartialEq, Eq)]
pub struct Progress {
    /// The request read and answered this time, if one was.
    pub answered: Option<Route>,
    /// Finished or broken: drop it (its answer, if any, is out).
    pub done: bool,
}

/// One scrape connection: its socket, the request so far, the answer.
pub struct HttpConn {
    pub stream: TcpStream,
    pub peer: SocketAddr,
    /// Serial in accept order: the smallest is the oldest.
    pub serial: u64,
    input: Vec<u8>,
    output: Vec<u8>,
    sent: usize,
    stage: Stage,
    /// When this connection is closed whatever it is doing.
    pub deadline: Instant,
}

impl HttpConn {
    /// A connection whose request must arrive whole within `request_timeout`.
    pub fn new(stream: TcpStream, peer: SocketAddr, serial: u64, request_timeout: Duration) -> HttpConn {
        HttpConn {
            stream,
            peer,
            serial,
            input: Vec::new(),
            output: Vec::new(),
            sent: 0,
            stage: Stage::Reading,
            deadline: Instant::now() + request_timeout,
        }
    }

    /// Whether its request is still arriving (the ones dropped first when
    /// the cap is reached: they have cost the worker nothing yet).
    pub fn reading(&self) -> bool {
        matches!(self.stage, Stage::Reading)
    }

    /// Reads, answers and writes as far as the socket allows. Readiness is
    /// edge-triggered, so each stage goes on until the socket would block.
    pub fn advance(&mut self, render: &mut dyn FnMut() -> String) -> Progress {
        let mut answered = None;
        loop {
            let step = match self.stage {
                Stage::Reading => self.read_request(),
                Stage::Writing => self.write_answer(),
                Stage::Draining => self.drain(),
            };
            match step {
                Step::Blocked => return Progress { answered, done: false },
                Step::Closed => return Progress { answered, done: true },
                Step::Request(route) => {
                    self.output = answer(&route, render);
                    self.stage = Stage::Writing;
                    self.deadline = Instant::now() + WRITE_TIMEOUT;
                    answered = Some(route);
                }
                Step::Sent => {
                    // The peer sees the answer end; whatever it still sends is dropped.
                    let _ = self.stream.shutdown(Shutdown::Write);
                    self.stage = Stage::Draining;
                    self.deadline = self.deadline.min(Instant::now() + DRAIN);
                    self.output = Vec::new();
                }
            }
        }
    }

    fn read_request(&mut self) -> Step {
        let mut chunk = [0u8; 2048];
        loop {
            let room = MAX_REQUEST.saturating_sub(self.input.len()).min(chunk.len());
            if room == 0 {
                // `route` answers at the cap; this only guards a read into no room,
                // which would look like the peer closing.
                return Step::Request(Route::TooLarge);
            }
            match self.stream.read(&mut chunk[..room]) {
                Ok(0) => return Step::Closed, // gone before a whole request
                Ok(n) => {
                    self.input.extend_from_slice(&chunk[..n]);
                    if let Some(route) = route(&self.input) {
                        self.input = Vec::new();
                        return Step::Request(route);
                    }
                }
                Err(e) => return blocked_or_closed(&e),
            }
        }
    }

    fn write_answer(&mut self) -> Step {
        while self.sent < self.output.len() {
            match self.stream.write(&self.output[self.sent..]) {
                Ok(0) => return Step::Closed,
                Ok(n) => self.sent += n,
                Err(e) => return blocked_or_closed(&e),
            }
        }
        Step::Sent
    }

    fn drain(&mut self) -> Step {
        let mut chunk = [0u8; 2048];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return Step::Closed,
                Ok(_) => {}
                Err(e) => return blocked_or_closed(&e),
            }
        }
    }
}

/// One stage's outcome.
enum Step {
    Blocked,
    Closed,
    Request(Route),
    Sent,
}

/// WouldBlock and Interrupted mean "come back"; anything else (a reset, a
/// broken pipe) is the end of this connection, not an error to report.
fn blocked_or_closed(e: &io::Error) -> Step {
    match e.kind() {
        ErrorKind::WouldBlock | ErrorKind::Interrupted => Step::Blocked,
        _ => Step::Closed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_routed_by_path_then_method() {
        assert_eq!(route(b"GET /metrics HTTP/1.1\r\nHost: pi1\r\n\r\n"), Some(Route::Metrics { head: false }));
        assert_eq!(route(b"HEAD /metrics?x=1 HTTP/1.0\r\n\r\n"), Some(Route::Metrics { head: true }));
        assert_eq!(route(b"GET / HTTP/1.1\r\n\r\n"), Some(Route::NotFound));
        assert_eq!(route(b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n"), Some(Route::MethodNotAllowed));
        assert_eq!(route(b"GET /metrics HTTP/1.1\r\nHost: pi1\r\n"), None, "headers not finished yet");
        assert!(matches!(route(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"), Some(Route::BadRequest(_))));
        let mut big = b"GET /metrics HTTP/1.1\r\nX: ".to_vec();
        big.resize(MAX_REQUEST, b'a');
        assert_eq!(route(&big), Some(Route::TooLarge));
        let many: String = (0..40).map(|i| format!("H{i}: v\r\n")).collect();
        assert_eq!(route(format!("GET /metrics HTTP/1.1\r\n{many}\r\n").as_bytes()), Some(Route::TooLarge));
    }

    #[test]
    fn answers_carry_length_type_and_close_and_head_has_no_body() {
        let mut render = || "a 1\n".to_string();
        let get = String::from_utf8(answer(&Route::Metrics { head: false }, &mut render)).unwrap();
        assert!(get.starts_with("HTTP/1.1 200 OK\r\n"), "{get}");
        assert!(get.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"), "{get}");
        assert!(get.contains("Content-Length: 4\r\n") && get.contains("Connection: close\r\n"), "{get}");
        assert!(get.ends_with("\r\n\r\na 1\n"), "{get}");
        let head = String::from_utf8(answer(&Route::Metrics { head: true }, &mut render)).unwrap();
        assert!(head.contains("Content-Length: 4\r\n") && head.ends_with("\r\n\r\n"), "{head}");
        let mut never = || -> String { panic!("rendered for a 405") };
        let post = String::from_utf8(answer(&Route::MethodNotAllowed, &mut never)).unwrap();
        assert!(post.starts_with("HTTP/1.1 405 ") && post.contains("Allow: GET, HEAD\r\n"), "{post}");
    }
}
