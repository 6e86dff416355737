//! A framed, non-blocking TCP connection: the socket, an input buffer that
//! frames are cut from, and an output buffer that drains as the socket
//! accepts bytes. Both the worker's event loop and pisubmit use it.
//!
//! It owns buffering and the frame boundary only; it never decides what a
//! frame means, and it never blocks. mio's readiness is edge-triggered, so
//! callers keep reading until `Io::WouldBlock` (or remember that they
//! stopped early and come back, see `daemon::connection`).
//!
//! The steady path allocates nothing per frame: a frame is read in place
//! (`FrameRef` borrows its payload from the input buffer), replies are
//! appended to the output buffer, and both buffers keep their memory while
//! frames keep coming. Memory goes back after a one-off large frame and
//! when the connection is idle (`release_idle_buffers`). Frames queued
//! together leave in one write.
//!
//! The two buffers are types of their own (`InputBuf`, `OutputBuf`) that
//! read from any `Read` and write to any `Write`, so that tests can drive
//! the real buffer code without a socket.

use crate::protocol::frame::{decode_frame_ref, HEADER_LEN, MAGIC};
use crate::protocol::{Frame, FrameError, FrameRef, FrameType, Header};
use mio::net::TcpStream;
use std::io::{self, ErrorKind, Read, Write};

/// Read at most this much per call, so a fast sender cannot make one
/// connection hog the loop, and the buffer grows only for large frames.
const READ_CHUNK: usize = 64 * 1024;
/// What an idle connection's input buffer holds: thousands of connections
/// then cost a few MiB, not hundreds.
const MIN_READ: usize = 4 * 1024;
/// An input buffer larger than this (grown for large frames) is cut back
/// to `READ_CHUNK` once this many frames in a row have each needed less
/// than a quarter of it: large frames were a one-off, not a stream.
const SHRINK_INPUT_ABOVE: usize = 4 * READ_CHUNK;
const SHRINK_INPUT_AFTER: u32 = 64;
/// An emptied output buffer larger than this is given back when idle.
const KEEP_OUTPUT: usize = 256 * 1024;
/// What an emptied output buffer shrinks to after a one-off large burst.
const SHRINK_OUTPUT_TO: usize = 1024 * 1024;
/// An emptied output buffer shrinks (to `SHRINK_OUTPUT_TO`) only above
/// this: well above the 4 MiB backlog at which the worker stops reading a
/// client, so a steadily backed-up stream keeps its buffer instead of
/// shrinking and growing it again on every drain, while a one-off large
/// result gives its memory back once it is sent.
const SHRINK_OUTPUT_ABOVE: usize = 16 * 1024 * 1024;

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

/// Bytes received and not yet cut into frames.
#[derive(Debug)]
pub struct InputBuf {
    /// Valid bytes are `buf[start..end]`; the rest is room to read into
    /// (kept initialised so that reads need no zeroing).
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// The largest frame payload this side accepts.
    max_payload: u32,
    /// Frames cut in a row that each needed less than a quarter of `buf`.
    small_frames: u32,
}

impl InputBuf {
    /// An empty buffer; it allocates on the first read.
    pub fn new(max_payload: u32) -> InputBuf {
        InputBuf { buf: Vec::new(), start: 0, end: 0, max_payload, small_frames: 0 }
    }

    /// Changes the largest frame payload accepted from now on (the worker
    /// accepts only small frames until a connection's handshake is done).
    pub fn set_max_payload(&mut self, max_payload: u32) {
        self.max_payload = max_payload;
    }

    /// Reads one chunk from `source` into the buffer.
    pub fn read_from(&mut self, source: &mut impl Read) -> io::Result<Io> {
        self.make_room();
        loop {
            match source.read(&mut self.buf[self.end..]) {
                Ok(0) => return Ok(Io::Closed),
                Ok(n) => {
                    self.end += n;
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
        if self.start == self.end {
            // Emptied by the frames cut since the last read (whose payloads
            // were borrowed until now, so this is the first safe moment).
            self.start = 0;
            self.end = 0;
            self.shrink_if_oversized();
        }
        // The room to read into grows with the buffer, so a connection that
        // only ever sends small frames keeps a small buffer.
        let want = self.buf.len().clamp(MIN_READ, READ_CHUNK);
        if self.buf.len() - self.end >= want {
            return;
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < want {
            self.buf.resize(self.end + want, 0);
        }
    }

    /// An emptied buffer keeps its size while large frames keep coming,
    /// even with small ones between them (a stream of Data frames must not
    /// shrink and regrow it every frame or every job), and gives the memory
    /// back once a long run of small frames shows that large ones were a
    /// one-off.
    fn shrink_if_oversized(&mut self) {
        if self.buf.len() > SHRINK_INPUT_ABOVE && self.small_frames >= SHRINK_INPUT_AFTER {
            self.buf.truncate(READ_CHUNK);
            self.buf.shrink_to_fit();
            self.small_frames = 0;
        }
    }

    /// Cuts the next whole frame from the buffer, if one is there; its
    /// payload is borrowed in place (no copy) until the next call. A
    /// `FrameError` means the stream is corrupt and must be closed.
    pub fn next_frame(&mut self) -> Result<Option<FrameRef<'_>>, FrameError> {
        let buffered = &self.buf[self.start..self.end];
        if buffered.is_empty() {
            return Ok(None);
        }
        let Some((frame, total)) = decode_frame_ref(buffered, self.max_payload)? else {
            return Ok(None);
        };
        self.start += total;
        if total < self.buf.len() / 4 {
            self.small_frames = self.small_frames.saturating_add(1);
        } else {
            self.small_frames = 0;
        }
        Ok(Some(frame))
    }

    /// Drops everything received and not yet framed.
    pub fn discard(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    /// The type of the next frame, if its header has arrived (and is valid).
    pub fn peek_type(&self) -> Option<FrameType> {
        let buffered = &self.buf[self.start..self.end];
        (buffered.len() >= HEADER_LEN && buffered[..4] == MAGIC).then(|| FrameType::from_u8(buffered[5]))
    }

    /// The payload length of the frame now arriving, once its header is in.
    pub fn peek_length(&self) -> Option<u32> {
        let b = &self.buf[self.start..self.end];
        (b.len() >= HEADER_LEN).then(|| u32::from_be_bytes([b[12], b[13], b[14], b[15]]))
    }

    /// Bytes received but not yet cut into frames.
    pub fn buffered(&self) -> usize {
        self.end - self.start
    }

    /// Gives the memory back if nothing is buffered (a quiet connection).
    pub fn release_if_empty(&mut self) {
        if self.start == self.end && self.buf.len() > MIN_READ {
            self.buf = Vec::new();
            self.start = 0;
            self.end = 0;
        }
    }
}

/// Frames queued for the peer.
#[derive(Debug, Default)]
pub struct OutputBuf {
    /// Queued bytes are `buf[start..end]`; the rest is room to append to,
    /// kept initialised so that input can be read straight into it
    /// (`queue_read`) without zeroing it first.
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl OutputBuf {
    pub fn new() -> OutputBuf {
        OutputBuf::default()
    }

    /// Appends one frame (header and a copy of `payload`).
    pub fn queue(&mut self, frame_type: FrameType, job_id: u32, payload: &[u8]) {
        self.queue_parts(frame_type, job_id, &[payload]);
    }

    pub fn queue_frame(&mut self, frame: &Frame) {
        self.queue(frame.header.frame_type, frame.header.job_id, &frame.payload);
    }

    /// Appends one frame whose payload is `parts` one after the other, so
    /// that a payload made of parts (a Submit's envelope and parameters)
    /// needs no buffer of its own.
    pub fn queue_parts(&mut self, frame_type: FrameType, job_id: u32, parts: &[&[u8]]) {
        let length: usize = parts.iter().map(|p| p.len()).sum();
        let room = self.room(HEADER_LEN + length);
        write_header(room, frame_type, job_id, length);
        let mut at = HEADER_LEN;
        for part in parts {
            room[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        self.end += HEADER_LEN + length;
    }

    /// Appends one frame whose payload `read` puts straight into the
    /// buffer (no copy of its own): it gets room for up to `max` bytes and
    /// says how many it wrote. Nothing is queued if it wrote none or
    /// failed.
    pub fn queue_read<E>(
        &mut self,
        frame_type: FrameType,
        job_id: u32,
        max: usize,
        read: impl FnOnce(&mut [u8]) -> Result<usize, E>,
    ) -> Result<usize, E> {
        let room = self.room(HEADER_LEN + max);
        let length = read(&mut room[HEADER_LEN..])?.min(max);
        if length > 0 {
            write_header(room, frame_type, job_id, length);
            self.end += HEADER_LEN + length;
        }
        Ok(length)
    }

    /// Room for `len` more bytes after the queued ones. When the buffer
    /// is too short and sent bytes still occupy its front, the unsent
    /// bytes move down first, but only when there are no more of them
    /// than there are sent bytes to reclaim (so a byte is moved at most
    /// about once); otherwise the buffer grows.
    fn room(&mut self, len: usize) -> &mut [u8] {
        if self.buf.len() - self.end < len {
            if self.start > 0 && self.start >= self.pending() {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.buf.len() - self.end < len {
                self.buf.resize(self.end + len, 0);
            }
        }
        &mut self.buf[self.end..self.end + len]
    }

    /// Bytes queued but not yet accepted by the peer.
    pub fn pending(&self) -> usize {
        self.end - self.start
    }

    /// Writes queued bytes until `sink` would block or all are sent; a
    /// short write just leaves the rest for the next writable event. All
    /// the frames queued since the last call go out together: one write
    /// when the sink takes them all.
    pub fn write_to(&mut self, sink: &mut impl Write) -> io::Result<Io> {
        let mut written = 0;
        while self.start < self.end {
            match sink.write(&self.buf[self.start..self.end]) {
                Ok(0) => return Ok(Io::Closed),
                Ok(n) => {
                    self.start += n;
                    written += n;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if is_disconnect(&e) => return Ok(Io::Closed),
                Err(e) => return Err(e),
            }
        }
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            if self.buf.capacity() > SHRINK_OUTPUT_ABOVE {
                self.buf.truncate(SHRINK_OUTPUT_TO);
                self.buf.shrink_to_fit();
            }
        }
        Ok(if written > 0 {
            Io::Progress(written)
        } else if self.pending() > 0 {
            Io::WouldBlock
        } else {
            Io::Progress(0)
        })
    }

    /// Gives the memory back if everything has been sent and the buffer is
    /// larger than a quiet connection needs.
    pub fn release_if_empty(&mut self) {
        if self.start == self.end && self.buf.capacity() > KEEP_OUTPUT {
            *self = OutputBuf::default();
        }
    }
}

/// Writes a frame header for a payload of `length` bytes into the front of
/// `out`.
fn write_header(out: &mut [u8], frame_type: FrameType, job_id: u32, length: usize) {
    let header: &mut [u8; HEADER_LEN] = (&mut out[..HEADER_LEN]).try_into().expect("room for a header");
    Header::new(frame_type, job_id, length as u32).write_to(header);
}

pub struct FramedConn {
    pub stream: TcpStream,
    input: InputBuf,
    output: OutputBuf,
    /// Bytes read from and written to the socket so far (the worker's
    /// metrics add them up).
    pub bytes_read: u64,
    pub bytes_written: u64,
}

impl FramedConn {
    /// `max_payload` is the largest frame payload this side accepts.
    pub fn new(stream: TcpStream, max_payload: u32) -> FramedConn {
        FramedConn {
            stream,
            input: InputBuf::new(max_payload),
            output: OutputBuf::new(),
            bytes_read: 0,
            bytes_written: 0,
        }
    }

    /// Reads one chunk from the socket into the input buffer.
    pub fn read_some(&mut self) -> io::Result<Io> {
        let got = self.input.read_from(&mut self.stream);
        if let Ok(Io::Progress(n)) = got {
            self.bytes_read += n as u64;
        }
        got
    }

    /// Cuts the next whole frame from the input, if one is there, its
    /// payload borrowed in place. A `FrameError` means the stream is
    /// corrupt and must be closed.
    pub fn next_frame(&mut self) -> Result<Option<FrameRef<'_>>, FrameError> {
        self.input.next_frame()
    }

    /// Moves the input buffer out (leaving an empty one, which costs no
    /// allocation), so that its frames can be read in place while the
    /// owner of this connection is used mutably, queueing replies here.
    /// Nothing reads from the socket meanwhile; `restore_input` puts the
    /// buffer back.
    pub fn take_input(&mut self) -> InputBuf {
        let max_payload = self.input.max_payload;
        std::mem::replace(&mut self.input, InputBuf::new(max_payload))
    }

    /// Puts back what `take_input` took.
    pub fn restore_input(&mut self, input: InputBuf) {
        debug_assert_eq!(self.input.buffered(), 0, "bytes were read while the input buffer was out");
        self.input = input;
    }

    /// Drops everything received and not yet framed (a connection being
    /// closed reads only to let the peer finish sending).
    pub fn discard_input(&mut self) {
        self.input.discard();
    }

    /// The type of the next frame, if its header has arrived (and is valid).
    pub fn peek_type(&self) -> Option<FrameType> {
        self.input.peek_type()
    }

    /// The payload length of the frame now arriving, once its header is in.
    pub fn peek_length(&self) -> Option<u32> {
        self.input.peek_length()
    }

    /// Gives back buffer memory while the connection is quiet, so that
    /// thousands of idle connections cost little. Not on the hot path: a
    /// busy connection keeps its buffers.
    pub fn release_idle_buffers(&mut self) {
        self.input.release_if_empty();
        self.output.release_if_empty();
    }

    /// Bytes received but not yet cut into frames.
    pub fn buffered_input(&self) -> usize {
        self.input.buffered()
    }

    pub fn queue_frame(&mut self, frame: &Frame) {
        self.output.queue_frame(frame);
    }

    pub fn queue(&mut self, frame_type: FrameType, job_id: u32, payload: &[u8]) {
        self.output.queue(frame_type, job_id, payload);
    }

    /// Queues a frame whose payload is `parts` one after the other.
    pub fn queue_parts(&mut self, frame_type: FrameType, job_id: u32, parts: &[&[u8]]) {
        self.output.queue_parts(frame_type, job_id, parts);
    }

    /// Queues a frame whose payload `read` writes in place (see
    /// `OutputBuf::queue_read`).
    pub fn queue_read<E>(
        &mut self,
        frame_type: FrameType,
        job_id: u32,
        max: usize,
        read: impl FnOnce(&mut [u8]) -> Result<usize, E>,
    ) -> Result<usize, E> {
        self.output.queue_read(frame_type, job_id, max, read)
    }

    /// Bytes queued but not yet accepted by the socket.
    pub fn pending_output(&self) -> usize {
        self.output.pending()
    }

    /// Writes queued bytes until the socket would block or all are sent;
    /// a short write just leaves the rest for the next writable event.
    pub fn write_some(&mut self) -> io::Result<Io> {
        let put = self.output.write_to(&mut self.stream);
        if let Ok(Io::Progress(n)) = put {
            self.bytes_written += n as u64;
        }
        put
    }
}

/// Errors that only mean the peer has gone.
pub fn is_disconnect(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe | ErrorKind::UnexpectedEof
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::frame::{decode_frame, write_frame};

    /// A socket that takes at most `max` bytes per write and keeps them.
    struct Sink {
        max: usize,
        got: Vec<u8>,
    }

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = buf.len().min(self.max);
            self.got.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn frames(mut bytes: &[u8]) -> Vec<Frame> {
        let mut out = Vec::new();
        while let Some((frame, used)) = decode_frame(bytes, u32::MAX).unwrap() {
            out.push(frame);
            bytes = &bytes[used..];
        }
        assert!(bytes.is_empty(), "{} stray bytes", bytes.len());
        out
    }

    #[test]
    fn output_keeps_frames_whole_and_in_order_through_short_writes() {
        let mut out = OutputBuf::new();
        let mut sink = Sink { max: 1000, got: Vec::new() };
        let mut sent = Vec::new();
        for i in 0..200u32 {
            let payload = vec![i as u8; (i as usize * 37) % 3000];
            out.queue(FrameType::Partial, i, &payload);
            sent.push(Frame::new(FrameType::Partial, i, payload));
            // A writable event every few frames, each taking what it can.
            if i % 3 == 0 {
                out.write_to(&mut sink).unwrap();
            }
        }
        while out.pending() > 0 {
            out.write_to(&mut sink).unwrap();
        }
        assert_eq!(frames(&sink.got), sent);
    }

    #[test]
    fn queue_read_and_queue_parts_write_in_place() {
        let mut out = OutputBuf::new();
        out.queue_parts(FrameType::Submit, 1, &[&[6, 1], b"params"]);
        let n = out.queue_read(FrameType::Data, 1, 8, |room| {
            room[..3].copy_from_slice(b"abc");
            Ok::<_, ()>(3)
        });
        assert_eq!(n, Ok(3));
        // Nothing read, or a failed read: no frame.
        assert_eq!(out.queue_read(FrameType::Data, 1, 8, |_| Ok::<_, ()>(0)), Ok(0));
        assert_eq!(out.queue_read(FrameType::Data, 1, 8, |_| Err::<usize, _>("no")), Err("no"));
        out.queue(FrameType::EndInput, 1, &[]);
        let mut sink = Sink { max: usize::MAX, got: Vec::new() };
        out.write_to(&mut sink).unwrap();
        let mut want = Vec::new();
        write_frame(&mut want, FrameType::Submit, 1, b"\x06\x01params");
        write_frame(&mut want, FrameType::Data, 1, b"abc");
        write_frame(&mut want, FrameType::EndInput, 1, &[]);
        assert_eq!(sink.got, want);
    }

    /// Feeds `frames` to `input` as a peer writing one frame at a time
    /// would (no read runs past a frame's end, so the buffer empties after
    /// each); returns the buffer's size after each frame.
    fn feed_one_at_a_time(input: &mut InputBuf, frames: &[Vec<u8>]) -> Vec<usize> {
        let mut sizes = Vec::new();
        for frame in frames {
            let mut source = &frame[..];
            while !source.is_empty() {
                input.read_from(&mut source).unwrap();
                while input.next_frame().unwrap().is_some() {}
            }
            sizes.push(input.buf.len());
        }
        sizes
    }

    fn frame_bytes(frame_type: FrameType, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        write_frame(&mut out, frame_type, 1, payload);
        out
    }

    #[test]
    fn input_keeps_its_size_for_a_stream_of_large_frames_and_shrinks_after_a_one_off() {
        // A job's input: large Data frames, with small frames between them.
        let (data, end) = (frame_bytes(FrameType::Data, &[7; 300_000]), frame_bytes(FrameType::EndInput, &[]));
        let stream: Vec<Vec<u8>> = (0..8).flat_map(|_| [data.clone(), data.clone(), end.clone()]).collect();
        let mut input = InputBuf::new(DEFAULT_MAX);
        let sizes = feed_one_at_a_time(&mut input, &stream);
        let grown = sizes[0];
        assert!(grown > SHRINK_INPUT_ABOVE);
        assert!(sizes.iter().all(|&s| s == grown), "the buffer shrank between large frames: {sizes:?}");
        // Then a long run of small frames: the large ones were a one-off.
        let pings = vec![frame_bytes(FrameType::Ping, &[]); SHRINK_INPUT_AFTER as usize + 1];
        feed_one_at_a_time(&mut input, &pings);
        input.read_from(&mut &[][..]).unwrap();
        assert!(input.buf.len() <= READ_CHUNK, "still {} bytes after small frames", input.buf.len());
    }

    const DEFAULT_MAX: u32 = 1 << 20;
}
