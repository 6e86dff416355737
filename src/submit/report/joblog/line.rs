//! One line of a job log: a finished piece, tab-separated, ending in a
//! checksum of the line so that a corrupted or hand-edited line is found.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The column header: the first line after the `#` lines.
pub const COLUMNS: [&str; 15] = [
    "Seq",
    "Piece",
    "Host",
    "Starttime",
    "Runtime",
    "Send",
    "Receive",
    "Outcome",
    "Why",
    "Retries",
    "Label",
    "Params",
    "Output",
    "Result",
    "Check",
];

/// Where a piece's output went in the output file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub start: u64,
    pub len: u64,
    pub hash: u64,
}

/// One finished piece, as logged.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub seq: u64,
    pub piece: usize,
    pub host: String,
    /// Seconds since the Unix epoch, to the millisecond.
    pub started: f64,
    pub runtime: Duration,
    pub send: u64,
    pub receive: u64,
    /// None: ok. Some: why it failed.
    pub failed: Option<String>,
    /// Earlier attempts that failed: "host (why); ...".
    pub retries: String,
    pub label: String,
    /// xxh3-64 of the piece's kind and parameters: the same piece?
    pub params: u64,
    pub output: Option<Span>,
    pub result: Vec<u8>,
}

/// A line's fields, borrowed: what the event loop encodes straight from
/// the engine's record of a piece (an `Entry` in between copied its
/// strings twice, on the loop's thread, for every piece of a farm).
pub struct Fields<'a> {
    pub piece: usize,
    pub host: &'a str,
    pub started: f64,
    pub runtime: Duration,
    pub send: u64,
    pub receive: u64,
    pub failed: Option<&'a str>,
    pub retries: &'a str,
    pub label: &'a str,
    pub params: u64,
    pub output: Option<Span>,
    pub result: &'a [u8],
}

// A record, as the event loop hands it to the log's writer thread, which
// formats it (`format_records`): seq, piece, start and run time in
// milliseconds, bytes sent and received and params (u64 each), a flags
// byte (1: failed, 2: has output), the output's start, length and hash
// (u64 each, there even without output so that a piece whose output lands
// later can be given it in place), then host, why, retries, label and
// result (u32 length and bytes each). Little-endian; only this process
// reads it.
const SEQ_AT: usize = 0;
const FLAGS_AT: usize = 7 * 8;
const OUTPUT_AT: usize = FLAGS_AT + 1;
const HEAD_LEN: usize = OUTPUT_AT + 3 * 8;

impl Fields<'_> {
    /// The record of a line with sequence number `seq`, appended to `out`.
    pub fn encode(&self, seq: u64, out: &mut Vec<u8>) {
        let started_ms = (self.started.max(0.0) * 1000.0).round() as u64;
        let runtime_ms = (self.runtime.as_micros() as u64 + 500) / 1000;
        let span = self.output.unwrap_or(Span { start: 0, len: 0, hash: 0 });
        // The fixed part made on the stack and appended whole, where
        // eleven appends of a number each checked the Vec's room eleven
        // times, for every piece.
        let mut head = [0u8; HEAD_LEN];
        let numbers = [seq, self.piece as u64, started_ms, runtime_ms, self.send, self.receive, self.params];
        for (at, n) in (SEQ_AT..).step_by(8).zip(numbers) {
            head[at..at + 8].copy_from_slice(&n.to_le_bytes());
        }
        head[FLAGS_AT] = u8::from(self.failed.is_some()) | u8::from(self.output.is_some()) << 1;
        for (at, n) in (OUTPUT_AT..).step_by(8).zip([span.start, span.len, span.hash]) {
            head[at..at + 8].copy_from_slice(&n.to_le_bytes());
        }
        let failed = self.failed.unwrap_or("");
        let texts =
            [self.host.as_bytes(), failed.as_bytes(), self.retries.as_bytes(), self.label.as_bytes(), self.result];
        out.reserve(HEAD_LEN + texts.iter().map(|t| 4 + t.len()).sum::<usize>());
        out.extend_from_slice(&head);
        for bytes in texts {
            out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            out.extend_from_slice(bytes);
        }
    }
}

/// Gives one record (as `Fields::encode` made it) its sequence number.
pub fn set_record_seq(record: &mut [u8], seq: u64) {
    record[SEQ_AT..SEQ_AT + 8].copy_from_slice(&seq.to_le_bytes());
}

/// Gives one record the output its piece has, once that has landed.
pub fn set_record_output(record: &mut [u8], span: Span) {
    record[FLAGS_AT] |= 2;
    for (i, n) in [span.start, span.len, span.hash].into_iter().enumerate() {
        record[OUTPUT_AT + 8 * i..OUTPUT_AT + 8 * (i + 1)].copy_from_slice(&n.to_le_bytes());
    }
}

/// Seconds since the epoch, as the Starttime column has them.
pub fn epoch_seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

// A line per piece: on a farm of 0-ms tasks `write!`'s number
// formatting was most of a line's cost, then pushing digits a few at a
// time onto a Vec (a memcpy call each); lines are now written by `Cursor`
// on the log's writer thread (callgrind: 3,000 instructions a line at
// first, then 1,900, now see docs/PERFORMANCE.md).

/// "00" to "99": two digits per division.
const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect()
}

fn checksum(text: &[u8]) -> u64 {
    crate::xxh3::xxh3_64(text)
}

impl Entry {
    /// An entry with nothing in it yet, to be filled in.
    pub fn empty() -> Entry {
        Entry {
            seq: 0,
            piece: 0,
            host: String::new(),
            started: 0.0,
            runtime: Duration::ZERO,
            send: 0,
            receive: 0,
            failed: None,
            retries: String::new(),
            label: String::new(),
            params: 0,
            output: None,
            result: Vec::new(),
        }
    }

    /// The line, with its newline, into `out` (cleared first): UTF-8.
    pub fn format(&self, out: &mut Vec<u8>) {
        let mut record = Vec::new();
        self.encode(&mut record);
        out.clear();
        format_records(&record, out, usize::MAX);
    }

    /// The entry as a record for [`format_records`], appended to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        Fields {
            piece: self.piece,
            host: &self.host,
            started: self.started,
            runtime: self.runtime,
            send: self.send,
            receive: self.receive,
            failed: self.failed.as_deref(),
            retries: &self.retries,
            label: &self.label,
            params: self.params,
            output: self.output,
            result: &self.result,
        }
        .encode(self.seq, out);
    }

    /// Reads a line (without its newline); the error says what is wrong.
    pub fn parse(line: &str) -> Result<Entry, String> {
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() != COLUMNS.len() {
            return Err(format!("{} tab-separated fields, not {}", fields.len(), COLUMNS.len()));
        }
        let body_len = line.len() - fields[14].len();
        let check = u64::from_str_radix(fields[14], 16).map_err(|_| format!("Check {:?} is not hex", fields[14]))?;
        if checksum(&line.as_bytes()[..body_len]) != check {
            return Err("the line does not match its checksum (Check): it was edited or corrupted".into());
        }
        let number =
            |i: usize| fields[i].parse::<u64>().map_err(|_| format!("{} {:?} is not a number", COLUMNS[i], fields[i]));
        let seconds = |i: usize| {
            fields[i]
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s >= 0.0)
                .ok_or_else(|| format!("{} {:?} is not a number of seconds", COLUMNS[i], fields[i]))
        };
        let failed = match fields[7] {
            "ok" => None,
            "failed" => Some(fields[8].to_string()),
            other => return Err(format!("Outcome {other:?} is neither ok nor failed")),
        };
        let output = match fields[12] {
            "" => None,
            text => Some(parse_span(text).ok_or_else(|| format!("Output {text:?} is not START+LEN:HASH"))?),
        };
        Ok(Entry {
            seq: number(0)?,
            piece: usize::try_from(number(1)?).map_err(|_| "Piece is too large".to_string())?,
            host: fields[2].to_string(),
            started: seconds(3)?,
            runtime: Duration::from_secs_f64(seconds(4)?.min(1e12)),
            send: number(5)?,
            receive: number(6)?,
            failed,
            retries: fields[9].to_string(),
            label: fields[10].to_string(),
            params: u64::from_str_radix(fields[11], 16).map_err(|_| format!("Params {:?} is not hex", fields[11]))?,
            output,
            result: unhex(fields[13]).ok_or_else(|| "Result is not hex bytes".to_string())?,
        })
    }
}

/// Reads the records `Entry::encode` wrote, in this process.
struct Record<'a>(&'a [u8]);

impl<'a> Record<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = rest;
        Some(head)
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = u32::from_le_bytes(self.take(4)?.try_into().ok()?);
        self.take(len as usize)
    }
}

/// Formats the records in `records` (`Entry::encode`'s, back to back) as
/// lines appended to `out`, until `out` holds `limit` bytes or more;
/// returns the records not formatted yet. Records come only from this
/// process; one that does not read (which would be a bug) ends the batch.
pub fn format_records<'a>(records: &'a [u8], out: &mut Vec<u8>, limit: usize) -> &'a [u8] {
    let mut record = Record(records);
    while !record.0.is_empty() && out.len() < limit {
        if format_record(&mut record, out).is_none() {
            debug_assert!(false, "a job log record that does not read");
            return &[];
        }
    }
    record.0
}

fn format_record(r: &mut Record<'_>, out: &mut Vec<u8>) -> Option<()> {
    let [seq, piece, started_ms, runtime_ms, send, receive, params] =
        [r.u64()?, r.u64()?, r.u64()?, r.u64()?, r.u64()?, r.u64()?, r.u64()?];
    let flags = r.take(1)?[0];
    let span = [r.u64()?, r.u64()?, r.u64()?];
    let output = (flags & 2 != 0).then_some(span);
    // Text `Fields::encode` wrote from `&str`s: UTF-8 already, not checked
    // again (that was an eighth of a line's formatting).
    let [host, failed, retries, label] = [r.bytes()?, r.bytes()?, r.bytes()?, r.bytes()?];
    let result = r.bytes()?;
    let start = out.len();
    let room = NUMBERS_ROOM + host.len() + failed.len() + retries.len() + label.len() + 2 * result.len();
    out.resize(start + room, 0);
    let mut line = Cursor { buf: &mut out[start..], at: 0 };
    for n in [seq, piece] {
        line.decimal(n);
        line.byte(b'\t');
    }
    line.clean(host);
    for ms in [started_ms, runtime_ms] {
        line.byte(b'\t');
        line.millis(ms);
    }
    for n in [send, receive] {
        line.byte(b'\t');
        line.decimal(n);
    }
    line.bytes(if flags & 1 != 0 { b"\tfailed\t" } else { b"\tok\t" });
    for text in [failed, retries, label] {
        line.clean(text);
        line.byte(b'\t');
    }
    line.hex16(params);
    line.byte(b'\t');
    if let Some([start, len, hash]) = output {
        line.decimal(start);
        line.byte(b'+');
        line.decimal(len);
        line.byte(b':');
        line.hex16(hash);
    }
    line.byte(b'\t');
    line.hex(result);
    line.byte(b'\t');
    let check = checksum(&line.buf[..line.at]);
    line.hex16(check);
    line.byte(b'\n');
    let len = line.at;
    out.truncate(start + len);
    Some(())
}

/// Room a line needs beyond its text and result: eight numbers of up to
/// 20 digits (two of them with three decimals), three of 16 hex digits,
/// tabs, "failed", '+', ':' and the newline, rounded up.
const NUMBERS_ROOM: usize = 8 * 20 + 2 * 4 + 3 * 16 + 14 + 6 + 3 + 17;

/// Writes a line into room made for it beforehand: a number goes in as a
/// whole 20-byte array, its digits first, which the compiler copies in
/// two moves, where pushing its few digits onto a Vec called memcpy, most
/// of what a line cost to format (callgrind, a farm of 0-ms tasks).
struct Cursor<'a> {
    buf: &'a mut [u8],
    at: usize,
}

impl Cursor<'_> {
    fn byte(&mut self, b: u8) {
        self.buf[self.at] = b;
        self.at += 1;
    }

    fn bytes(&mut self, bytes: &[u8]) {
        self.buf[self.at..self.at + bytes.len()].copy_from_slice(bytes);
        self.at += bytes.len();
    }

    fn decimal(&mut self, mut n: u64) {
        let len = n.checked_ilog10().unwrap_or(0) as usize + 1;
        let mut digits = [0u8; 20];
        let mut i = len;
        while i >= 2 {
            let pair = (n % 100) as usize * 2;
            n /= 100;
            i -= 2;
            digits[i..i + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
        }
        if i == 1 {
            digits[0] = b'0' + n as u8;
        }
        // All 20 bytes: the room counts 20 for every number.
        self.buf[self.at..self.at + 20].copy_from_slice(&digits);
        self.at += len;
    }

    /// `millis` as seconds with three decimals, as `{:.3}` prints them.
    fn millis(&mut self, millis: u64) {
        self.decimal(millis / 1000);
        let frac = millis % 1000;
        self.bytes(&[b'.', b'0' + (frac / 100) as u8, b'0' + (frac / 10 % 10) as u8, b'0' + (frac % 10) as u8]);
    }

    /// `n` as 16 hex digits, as `{:016x}` prints it.
    fn hex16(&mut self, n: u64) {
        let mut digits = [0u8; 16];
        digits[..8].copy_from_slice(&hex8(n >> 32).to_be_bytes());
        digits[8..].copy_from_slice(&hex8(n & 0xffff_ffff).to_be_bytes());
        self.bytes(&digits);
    }

    fn hex(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.bytes(&[HEX_DIGITS[usize::from(b >> 4)], HEX_DIGITS[usize::from(b & 15)]]);
        }
    }

    /// Text, with tabs and line ends (which would break the columns) made
    /// spaces: each is one byte in UTF-8, so valid text stays valid.
    fn clean(&mut self, text: &[u8]) {
        let at = self.at;
        self.bytes(text);
        for b in &mut self.buf[at..self.at] {
            if matches!(*b, b'\t' | b'\n' | b'\r') {
                *b = b' ';
            }
        }
    }
}

/// The low 32 bits of `n` as eight hex digits, the first in the top byte:
/// all eight at once in a u64. A table lookup per digit, for the three
/// hex numbers of every line, was a sixth of a line's formatting
/// (callgrind: 1,900 instructions a line, 1,600 now).
fn hex8(n: u64) -> u64 {
    // Each nibble into a byte of its own, the most significant highest.
    let mut x = n & 0xffff_ffff;
    x = (x | x << 16) & 0x0000_ffff_0000_ffff;
    x = (x | x << 8) & 0x00ff_00ff_00ff_00ff;
    x = (x | x << 4) & 0x0f0f_0f0f_0f0f_0f0f;
    // A byte of 1 where the nibble is 10 or more: a letter, 'a' - '0' - 10
    // = 39 further on.
    let letters = ((x + 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101;
    x + 0x3030_3030_3030_3030 + letters * 39
}

fn parse_span(text: &str) -> Option<Span> {
    let (start, rest) = text.split_once('+')?;
    let (len, hash) = rest.split_once(':')?;
    Some(Span { start: start.parse().ok()?, len: len.parse().ok()?, hash: u64::from_str_radix(hash, 16).ok()? })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        Entry {
            seq: 3,
            piece: 17,
            host: "pi1:31415".into(),
            started: 1_764_728_100.125,
            runtime: Duration::from_millis(512),
            send: 24,
            receive: 1048,
            failed: None,
            retries: "pi2:31415 (lost)".into(),
            label: "numbers 1..=2097151".into(),
            params: 0xdead_beef,
            output: Some(Span { start: 10, len: 20, hash: 0x1234 }),
            result: vec![0, 1, 0xff],
        }
    }

    /// The line as `format!` writes it: what the hand-written formatting
    /// must match byte for byte. (A runtime of exactly half a millisecond
    /// more rounds up, where `{:.3}` of the f64 seconds may round down.)
    fn reference(e: &Entry) -> String {
        let clean = |t: &str| t.replace(['\t', '\n', '\r'], " ");
        let runtime_ms = (e.runtime.as_micros() + 500) / 1000;
        let mut body = format!(
            "{}\t{}\t{}\t{:.3}\t{}.{:03}\t{}\t{}\t{}\t{}\t{}\t{}\t{:016x}\t",
            e.seq,
            e.piece,
            clean(&e.host),
            e.started,
            runtime_ms / 1000,
            runtime_ms % 1000,
            e.send,
            e.receive,
            if e.failed.is_some() { "failed" } else { "ok" },
            clean(e.failed.as_deref().unwrap_or("")),
            clean(&e.retries),
            clean(&e.label),
            e.params,
        );
        if let Some(s) = e.output {
            body += &format!("{}+{}:{:016x}", s.start, s.len, s.hash);
        }
        body += "\t";
        body += &e.result.iter().map(|b| format!("{b:02x}")).collect::<String>();
        body += "\t";
        let check = checksum(body.as_bytes());
        format!("{body}{check:016x}\n")
    }

    #[test]
    fn lines_are_what_format_would_write() {
        let mut line = Vec::new();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 0..2000u64 {
            // xorshift: numbers of every length, 0 and u64::MAX included.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let n = match i % 4 {
                0 => x,
                1 => x % 1000,
                2 => u64::MAX - i,
                _ => i,
            };
            let e = Entry {
                seq: n,
                piece: (n % 1_000_000) as usize,
                host: format!("pi{}\t:1", i % 7),
                started: (1_700_000_000_000 + x % 100_000_000_000) as f64 / 1000.0,
                runtime: Duration::from_micros(x % 10_000_000_000),
                send: n / 3,
                receive: x >> (i % 64),
                failed: (i % 5 == 0).then(|| format!("exit {i}\r\n")),
                retries: String::new(),
                label: format!("task on stdin line {i}"),
                params: x.rotate_left(7),
                output: (i % 3 == 0).then_some(Span { start: n, len: x % 4096, hash: !x }),
                result: x.to_be_bytes()[..(i % 9) as usize].to_vec(),
            };
            e.format(&mut line);
            assert_eq!(String::from_utf8_lossy(&line), reference(&e), "entry {e:?}");
        }
    }

    /// The line `e` formats to, as text.
    fn line_of(e: &Entry) -> String {
        let mut line = Vec::new();
        e.format(&mut line);
        String::from_utf8(line).expect("a line is UTF-8")
    }

    #[test]
    fn records_formatted_a_few_at_a_time_make_the_same_lines() {
        let entries: Vec<Entry> = (0..5).map(|i| Entry { seq: i, piece: i as usize * 7, ..entry() }).collect();
        let mut records = Vec::new();
        let mut whole = String::new();
        for e in &entries {
            e.encode(&mut records);
            whole += &line_of(e);
        }
        let (mut rest, mut text, mut chunks) = (&records[..], Vec::new(), 0);
        while !rest.is_empty() {
            let mut chunk = Vec::new();
            // A limit below one line's length: one line a chunk.
            rest = format_records(rest, &mut chunk, 10);
            text.extend_from_slice(&chunk);
            chunks += 1;
        }
        assert_eq!(chunks, entries.len());
        assert_eq!(String::from_utf8(text).unwrap(), whole);
    }

    #[test]
    fn a_line_reads_back_as_written() {
        let line = line_of(&entry());
        assert!(line.ends_with('\n'));
        assert_eq!(line.split('\t').count(), COLUMNS.len());
        assert_eq!(Entry::parse(line.trim_end_matches('\n')), Ok(entry()));
        let failed = Entry { failed: Some("exit 3\twith a tab".into()), output: None, ..entry() };
        let line = line_of(&failed);
        let back = Entry::parse(line.trim_end_matches('\n')).unwrap();
        assert_eq!(back.failed.as_deref(), Some("exit 3 with a tab"));
    }

    #[test]
    fn an_edited_line_is_refused() {
        let line = line_of(&entry());
        let edited = line.trim_end_matches('\n').replace("\t1048\t", "\t1049\t");
        assert!(Entry::parse(&edited).unwrap_err().contains("checksum"));
        assert!(Entry::parse("1\t2\t3").unwrap_err().contains("3 tab-separated fields, not 15"));
    }
}
