//! Reading and writing the typed fields inside payloads.
//!
//! `WireReader` never panics: every read past the end is a `WireError` that
//! names the field, so a short or hostile payload becomes an error message,
//! never a crash. All integers are big-endian.

use byteorder::{BigEndian, ByteOrder};
use std::fmt;

/// A payload did not hold what its frame type promises.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireError {
    pub field: &'static str,
    pub problem: String,
}

impl WireError {
    pub fn new(field: &'static str, problem: impl Into<String>) -> WireError {
        WireError { field, problem: problem.into() }
    }
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "field `{}`: {}", self.field, self.problem)
    }
}

impl std::error::Error for WireError {}

pub struct WireReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> WireReader<'a> {
    pub fn new(buf: &'a [u8]) -> WireReader<'a> {
        WireReader { buf, pos: 0 }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], WireError> {
        if self.remaining() < n {
            return Err(WireError::new(
                field,
                format!("needs {n} bytes at offset {}, payload has {} left", self.pos, self.remaining()),
            ));
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub fn u8(&mut self, field: &'static str) -> Result<u8, WireError> {
        Ok(self.take(1, field)?[0])
    }

    pub fn u16(&mut self, field: &'static str) -> Result<u16, WireError> {
        Ok(BigEndian::read_u16(self.take(2, field)?))
    }

    pub fn u32(&mut self, field: &'static str) -> Result<u32, WireError> {
        Ok(BigEndian::read_u32(self.take(4, field)?))
    }

    pub fn u64(&mut self, field: &'static str) -> Result<u64, WireError> {
        Ok(BigEndian::read_u64(self.take(8, field)?))
    }

    pub fn i64(&mut self, field: &'static str) -> Result<i64, WireError> {
        Ok(BigEndian::read_i64(self.take(8, field)?))
    }

    pub fn i128(&mut self, field: &'static str) -> Result<i128, WireError> {
        Ok(BigEndian::read_i128(self.take(16, field)?))
    }

    pub fn f64(&mut self, field: &'static str) -> Result<f64, WireError> {
        Ok(BigEndian::read_f64(self.take(8, field)?))
    }

    /// A string: u16 byte length, then UTF-8.
    pub fn string(&mut self, field: &'static str) -> Result<String, WireError> {
        let len = self.u16(field)? as usize;
        let bytes = self.take(len, field)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| WireError::new(field, "is not UTF-8"))
    }

    /// A counted list of f64: u32 count, then the values. The count is
    /// checked against the bytes present before anything is allocated.
    pub fn f64_list(&mut self, field: &'static str) -> Result<Vec<f64>, WireError> {
        let count = self.u32(field)? as usize;
        if count > self.remaining() / 8 {
            return Err(WireError::new(
                field,
                format!("claims {count} values but only {} bytes follow", self.remaining()),
            ));
        }
        (0..count).map(|_| self.f64(field)).collect()
    }

    /// The end of a request (job parameters, a life op): bytes left over are
    /// an error, because a parameter this side does not know could change
    /// the answer and must not pass silently.
    pub fn finish(&self, what: &'static str) -> Result<(), WireError> {
        if self.remaining() != 0 {
            return Err(WireError::new(what, format!("{} unexpected trailing bytes", self.remaining())));
        }
        Ok(())
    }

    /// The end of a reply or a result: bytes left over are fields a later
    /// minor appended, and this side skips them (docs/PROTOCOL.md, Versions:
    /// replies and results may grow, requests may not). Called where
    /// `finish` would be, so every decoder says which rule it follows.
    pub fn skip_later_fields(&self) {}

    /// A field a later minor appended to a reply: absent when the payload
    /// ends before it (the peer's minor predates it), read by `read` when
    /// bytes follow. A field cut short is still an error naming it.
    pub fn later_field<T>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Result<T, WireError>,
    ) -> Result<Option<T>, WireError> {
        if self.remaining() == 0 {
            return Ok(None);
        }
        read(self).map(Some)
    }
}

/// Appends typed fields to a payload.
pub trait WireWrite {
    fn put_u8(&mut self, v: u8);
    fn put_u16(&mut self, v: u16);
    fn put_u32(&mut self, v: u32);
    fn put_u64(&mut self, v: u64);
    fn put_i64(&mut self, v: i64);
    fn put_i128(&mut self, v: i128);
    fn put_f64(&mut self, v: f64);
    fn put_string(&mut self, s: &str);
    fn put_f64_list(&mut self, values: &[f64]);
}

impl WireWrite for Vec<u8> {
    fn put_u8(&mut self, v: u8) {
        self.push(v);
    }
    fn put_u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_i64(&mut self, v: i64) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_i128(&mut self, v: i128) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn put_f64(&mut self, v: f64) {
        self.extend_from_slice(&v.to_bits().to_be_bytes());
    }
    /// Strings longer than 65,535 bytes are cut at a character boundary:
    /// they are names and messages, never data.
    fn put_string(&mut self, s: &str) {
        let mut end = s.len().min(u16::MAX as usize);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.put_u16(end as u16);
        self.extend_from_slice(&s.as_bytes()[..end]);
    }
    fn put_f64_list(&mut self, values: &[f64]) {
        self.put_u32(values.len() as u32);
        for v in values {
            self.put_f64(*v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_reads_name_the_field() {
        let mut r = WireReader::new(&[0, 1, 2]);
        let err = r.u32("t0").unwrap_err();
        assert_eq!(err.to_string(), "field `t0`: needs 4 bytes at offset 0, payload has 3 left");
    }

    #[test]
    fn list_count_is_checked_before_allocation() {
        let mut buf = Vec::new();
        buf.put_u32(u32::MAX);
        let err = WireReader::new(&buf).f64_list("nums").unwrap_err();
        assert!(err.problem.contains("claims 4294967295 values"));
    }

    #[test]
    fn later_fields_are_absent_when_the_payload_ends_before_them() {
        let mut r = WireReader::new(&[0, 7]);
        assert_eq!(r.later_field(|r| r.u16("new")).unwrap(), Some(7));
        assert_eq!(r.later_field(|r| r.u16("newer")).unwrap(), None);
        let err = WireReader::new(&[0]).later_field(|r| r.u16("cut")).unwrap_err();
        assert_eq!(err.field, "cut", "a field cut short is an error, not absent");
    }

    #[test]
    fn requests_refuse_trailing_bytes_replies_skip_them() {
        let mut r = WireReader::new(&[1, 2, 3]);
        r.u8("known").unwrap();
        assert!(r.finish("params").unwrap_err().problem.contains("2 unexpected trailing bytes"));
        r.skip_later_fields();
    }

    #[test]
    fn long_strings_are_cut_on_a_char_boundary() {
        let s = "é".repeat(40_000);
        let mut buf = Vec::new();
        buf.put_string(&s);
        let back = WireReader::new(&buf).string("s").unwrap();
        assert!(back.len() <= u16::MAX as usize && s.starts_with(&back));
    }
}
