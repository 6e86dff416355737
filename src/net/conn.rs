//! A framed, non-blocking TCP connection: the socket, an input buffer that
//! frames are cut from, and an output buffer that drains as the socket
//! accepts bytes. Both the worker's event loop and pisubmit use it.
//!
//! It owns buffering and the frame boundary only; it never decides what a
//! frame means, and it never blocks. mio's readiness is edge-triggered, so
//! callers keep reading until `Io::WouldBlock` (or remember that they
//! stopped early and come back, see `daemon::connection`).

use crate::protocol::frame::{decode_header, write_frame, Decoded, HEADER_LEN, MAGIC};
use crate::protocol::{Frame, FrameError, FrameType};
use mio::net::TcpStream;
use std::io::{self, ErrorKind, Read, Write};

/// Read at most this much per call, so a fast sender cannot make one
/// connection hog the loop, and the buffer grows only for large frames.
const READ_CHUNK: usize = 64 * 1024;
/// What an idle connection's input buffer holds: thousands of connections
/// then cost a few MiB, not hundreds.
const MIN_READ: usize = 4 * 1024;
/// An emptied output buffer larger than this is given back.
const KEEP_OUTPUT: usize = 256 * 1024;
/// Written bytes are dropped from the front once they pass this size.
const COMPACT_AFTER: usize = 1024 * 1024;

/// What one read or write attempt found.
#[derive(Debug, PartialEq, Eq)]
pub enum Io {
    /// Moved this many bytes; there may be more.
    Progress(usize),
    /// Nothing more until the next readiness event.
    WouldBlock,
    /// The peer closed or reset the connection. Not an error to log loudly:
    /// peers go away, and a reset or broken pipe says no more than that.
    Closed,
}

pub struct FramedConn {
    pub stream: TcpStream,
    /// Input: valid bytes are `input[in_start..in_end]`; the rest is room
    /// to read into (kept initialised so that reads need no zeroing).
    input: Vec<u8>,
    in_start: usize,
    in_end: usize,
    output: Vec<u8>,
    out_start: usize,
    max_payload: u32,
}

impl FramedConn {
    /// `max_payload` is the largest frame payload this side accepts.
    pub fn new(stream: TcpStream, max_payload: u32) -> FramedConn {
        FramedConn { stream, input: Vec::new(), in_start: 0, in_end: 0, output: Vec::new(), out_start: 0, max_payload }
    }

    /// Reads one chunk from the socket into the input buffer.
    pub fn read_some(&mut self) -> io::Result<Io> {
        self.make_room();
        loop {
            match self.stream.read(&mut self.input[self.in_end..]) {
                Ok(0) => return Ok(Io::Closed),
                Ok(n) => {
                    self.in_end += n;
                    return Ok(Io::Progress(n));
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(Io::WouldBlock),
                Err(e) if is_disconnect(&e) => return Ok(Io::Closed),
                Err(e) => return Err(e),
            }
        }
    }

    /// Ensures at least `READ_CHUNK` bytes of room, moving unread bytes to
    /// the front first, and growing only while a large frame is arriving.
    fn make_room(&mut self) {
        // The room to read into grows with the buffer, so a connection that
        // only ever sends small frames keeps a small buffer.
        let want = self.input.len().clamp(MIN_READ, READ_CHUNK);
        if self.input.len() - self.in_end >= want {
            return;
        }
        if self.in_start > 0 {
            self.input.copy_within(self.in_start..self.in_end, 0);
            self.in_end -= self.in_start;
            self.in_start = 0;
        }
        if self.input.len() - self.in_end < want {
            self.input.resize(self.in_end + want, 0);
        }
    }

    /// Cuts the next whole frame from the input, if one is there. A
    /// `FrameError` means the stream is corrupt and must be closed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        let buffered = &self.input[self.in_start..self.in_end];
        if buffered.is_empty() {
            return Ok(None);
        }
        match decode_header(buffered, self.max_payload)? {
            Decoded::NeedMore(_) => Ok(None),
            Decoded::Frame(header, total) => {
                let payload = buffered[HEADER_LEN..total].to_vec();
                self.in_start += total;
                if self.in_start == self.in_end {
                    self.in_start = 0;
                    self.in_end = 0;
                    self.shrink_input();
                }
                Ok(Some(Frame { header, payload }))
            }
        }
    }

    /// After a large frame has gone, give its buffer back.
    fn shrink_input(&mut self) {
        if self.input.len() > 4 * READ_CHUNK {
            self.input.truncate(READ_CHUNK);
            self.input.shrink_to_fit();
        }
    }

    /// Drops everything received and not yet framed (a connection being
    /// closed reads only to let the peer finish sending).
    pub fn discard_input(&mut self) {
        self.in_start = 0;
        self.in_end = 0;
    }

    /// The type of the next frame, if its header has arrived (and is valid).
    pub fn peek_type(&self) -> Option<FrameType> {
        let buffered = &self.input[self.in_start..self.in_end];
        (buffered.len() >= HEADER_LEN && buffered[..4] == MAGIC).then(|| FrameType::from_u8(buffered[5]))
    }

    /// The payload length of the frame now arriving, once its header is in.
    pub fn peek_length(&self) -> Option<u32> {
        let b = &self.input[self.in_start..self.in_end];
        (b.len() >= HEADER_LEN).then(|| u32::from_be_bytes([b[12], b[13], b[14], b[15]]))
    }

    /// Gives back buffer memory while the connection is quiet, so that
    /// thousands of idle connections cost little. Not on the hot path: a
    /// busy connection keeps its buffers.
    pub fn release_idle_buffers(&mut self) {
        if self.in_start == self.in_end && self.input.len() > MIN_READ {
            self.input = Vec::new();
            self.in_start = 0;
            self.in_end = 0;
        }
        if self.out_start == self.output.len() && self.output.capacity() > KEEP_OUTPUT {
            self.output = Vec::new();
            self.out_start = 0;
        }
    }

    /// Bytes received but not yet cut into frames.
    pub fn buffered_input(&self) -> usize {
        self.in_end - self.in_start
    }

    pub fn queue_frame(&mut self, frame: &Frame) {
        frame.write_to(&mut self.output);
    }

    pub fn queue(&mut self, frame_type: FrameType, job_id: u32, payload: &[u8]) {
        write_frame(&mut self.output, frame_type, job_id, payload);
    }

    /// Bytes queued but not yet accepted by the socket.
    pub fn pending_output(&self) -> usize {
        self.output.len() - self.out_start
    }

    /// Writes queued bytes until the socket would block or all are sent;
    /// a short write just leaves the rest for the next writable event.
    pub fn write_some(&mut self) -> io::Result<Io> {
        let mut written = 0;
        while self.out_start < self.output.len() {
            match self.stream.write(&self.output[self.out_start..]) {
                Ok(0) => return Ok(Io::Closed),
                Ok(n) => {
                    self.out_start += n;
                    written += n;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if is_disconnect(&e) => return Ok(Io::Closed),
                Err(e) => return Err(e),
            }
        }
        if self.out_start == self.output.len() {
            self.output.clear();
            self.out_start = 0;
            if self.output.capacity() > 4 * COMPACT_AFTER {
                self.output.shrink_to(COMPACT_AFTER);
            }
        } else if self.out_start > COMPACT_AFTER {
            self.output.drain(..self.out_start);
            self.out_start = 0;
        }
        Ok(if written > 0 {
            Io::Progress(written)
        } else if self.pending_output() > 0 {
            Io::WouldBlock
        } else {
            Io::Progress(0)
        })
    }
}

/// Errors that only mean the peer has gone.
pub fn is_disconnect(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe | ErrorKind::UnexpectedEof
    )
}
