//! Where reduce's values come from (a file, or bytes in memory), streamed
//! a range at a time and converted to the wire's form on the way.

use super::convert::{swap_in_place, to_wire};
use super::dtype::{Binary, Dtype};
use crate::submit::cluster::engine::InputStream;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

/// Bytes in memory that someone else may own: a `Vec`, or a NumPy array's
/// buffer that the Python binding keeps pinned while the call runs, read
/// in place rather than copied.
pub type SharedBytes = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// The bytes values are read from. Cheap to clone: every piece opens its
/// own reader, again when it is re-run.
#[derive(Clone)]
pub enum Data {
    File(PathBuf),
    /// A caller's array (the Python binding hands NumPy's buffer over).
    Memory(SharedBytes),
}

impl std::fmt::Debug for Data {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Data::File(path) => f.debug_tuple("File").field(path).finish(),
            Data::Memory(bytes) => write!(f, "Memory({} bytes)", (**bytes).as_ref().len()),
        }
    }
}

enum Reader {
    File(File),
    Memory(SharedBytes),
}

impl Data {
    fn open(&self) -> io::Result<Reader> {
        Ok(match self {
            Data::File(path) => Reader::File(File::open(path)?),
            Data::Memory(bytes) => Reader::Memory(bytes.clone()),
        })
    }

    /// Bytes of `[pos, end)` of `self`, converted to the wire's values of
    /// `dtype` as they are read.
    pub fn stream(&self, dtype: Dtype, pos: u64, end: u64) -> io::Result<ValueStream> {
        Ok(ValueStream { reader: self.open()?, dtype, pos, end, scratch: Vec::new(), carry: Vec::new() })
    }
}

impl Data {
    /// Where the line that contains or follows byte `pos` starts (at most
    /// `end`), so that text pieces hold whole lines.
    pub fn line_start_at_or_after(&self, pos: u64, end: u64) -> io::Result<u64> {
        let reader = self.open()?;
        let mut buf = [0u8; 4096];
        let mut at = pos.saturating_sub(1);
        while at < end {
            let n = (end - at).min(buf.len() as u64) as usize;
            reader.read_exact_at(&mut buf[..n], at)?;
            if let Some(i) = buf[..n].iter().position(|&b| b == b'\n') {
                return Ok(at + i as u64 + 1);
            }
            at += n as u64;
        }
        Ok(end)
    }
}

impl Reader {
    fn read_exact_at(&self, buf: &mut [u8], pos: u64) -> io::Result<()> {
        match self {
            Reader::File(file) => {
                let mut filled = 0;
                while filled < buf.len() {
                    match file.read_at(&mut buf[filled..], pos + filled as u64) {
                        Ok(0) => return Err(shrank()),
                        Ok(n) => filled += n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(())
            }
            Reader::Memory(bytes) => {
                buf.copy_from_slice(memory_range(bytes, pos, buf.len())?);
                Ok(())
            }
        }
    }

    /// `dst.len() / 8` values of `b` from byte `pos`, in the wire's form.
    /// Memory is converted straight from the caller's bytes, one pass
    /// over them; a file is read into `dst` (or `scratch` for narrower
    /// values) and converted there.
    fn read_wire(&self, b: Binary, pos: u64, dst: &mut [u8], scratch: &mut Vec<u8>) -> io::Result<()> {
        let src_len = dst.len() / 8 * b.width;
        match self {
            Reader::Memory(bytes) => {
                to_wire(b, memory_range(bytes, pos, src_len)?, dst);
            }
            Reader::File(_) if b.width == 8 => {
                self.read_exact_at(dst, pos)?;
                if !b.big_endian {
                    swap_in_place(dst);
                }
            }
            Reader::File(_) => {
                scratch.resize(src_len, 0);
                self.read_exact_at(scratch, pos)?;
                to_wire(b, scratch, dst);
            }
        }
        Ok(())
    }
}

fn shrank() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "the input shrank while being read")
}

/// `len` bytes of `bytes` from `pos`, or the error a file that shrank gives.
fn memory_range(bytes: &SharedBytes, pos: u64, len: usize) -> io::Result<&[u8]> {
    let start = usize::try_from(pos).map_err(|_| shrank())?;
    (**bytes).as_ref().get(start..start.checked_add(len).ok_or_else(shrank)?).ok_or_else(shrank)
}

/// A range of input, read as the wire's values: what one piece sends.
pub struct ValueStream {
    reader: Reader,
    dtype: Dtype,
    /// Next byte of the source to read, and where the range ends.
    pos: u64,
    end: u64,
    /// Source bytes of narrower values, before they are widened.
    scratch: Vec<u8>,
    /// Wire bytes of a value the last call had no room for.
    carry: Vec<u8>,
}

impl ValueStream {
    fn more(&self) -> bool {
        self.pos < self.end || !self.carry.is_empty()
    }

    /// Whole values into `buf`; the value cut by the end of `buf` waits in
    /// `carry` for the next call.
    fn read_values(&mut self, b: Binary, buf: &mut [u8]) -> io::Result<usize> {
        let width = b.width as u64;
        let values = ((self.end - self.pos) / width).min(buf.len() as u64 / 8) as usize;
        let src_len = values * b.width;
        self.reader.read_wire(b, self.pos, &mut buf[..values * 8], &mut self.scratch)?;
        self.pos += src_len as u64;
        let mut filled = values * 8;
        if filled < buf.len() && self.pos + width <= self.end {
            // Less than a value's room left: convert one and hand out its start.
            let mut wire = [0u8; 8];
            self.reader.read_wire(b, self.pos, &mut wire, &mut self.scratch)?;
            self.pos += width;
            let n = buf.len() - filled;
            buf[filled..].copy_from_slice(&wire[..n]);
            self.carry.extend_from_slice(&wire[n..]);
            filled = buf.len();
        }
        Ok(filled)
    }
}

impl InputStream for ValueStream {
    fn read_chunk(&mut self, buf: &mut [u8]) -> io::Result<(usize, bool)> {
        let carried = self.carry.len().min(buf.len());
        buf[..carried].copy_from_slice(&self.carry[..carried]);
        self.carry.drain(..carried);
        let rest = &mut buf[carried..];
        let n = match self.dtype {
            _ if !self.carry.is_empty() => 0,
            Dtype::Binary(b) if !b.is_wire() => self.read_values(b, rest)?,
            // Text, or values already big-endian 8-byte ones: as they are.
            _ => {
                let n = (self.end - self.pos).min(rest.len() as u64) as usize;
                self.reader.read_exact_at(&mut rest[..n], self.pos)?;
                self.pos += n as u64;
                n
            }
        };
        Ok((carried + n, self.more()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::submit::plans::values::dtype::Kind;

    /// Everything a stream gives, read `chunk` bytes at a time.
    fn drain(mut s: ValueStream, chunk: usize) -> Vec<u8> {
        let (mut out, mut buf) = (Vec::new(), vec![0u8; chunk]);
        loop {
            let (n, more) = s.read_chunk(&mut buf).expect("a read from memory");
            out.extend_from_slice(&buf[..n]);
            if !more {
                return out;
            }
        }
    }

    #[test]
    fn values_cut_by_any_chunk_size_come_out_whole() {
        let xs: Vec<f32> = (0..37).map(|i| i as f32 * 0.25 - 3.0).collect();
        let le: Vec<u8> = xs.iter().flat_map(|x| x.to_le_bytes()).collect();
        let want: Vec<u8> = xs.iter().flat_map(|&x| f64::from(x).to_be_bytes()).collect();
        let data = Data::Memory(Arc::new(le.clone()));
        let f32le = Dtype::binary(Kind::Float, 4, false);
        for chunk in [1, 3, 7, 8, 9, 16, 61, 4096] {
            let s = data.stream(f32le, 0, 37 * 4).expect("a stream");
            assert_eq!(drain(s, chunk), want, "read {chunk} bytes at a time");
        }
        let s = data.stream(f32le, 8, 16).expect("a stream");
        assert_eq!(drain(s, 5), want[16..32], "a range of the input");
    }

    #[test]
    fn little_endian_f64_is_swapped_and_big_endian_passes_as_is() {
        let xs = [1.0f64, -2.5, 1e300];
        let le: Vec<u8> = xs.iter().flat_map(|x| x.to_le_bytes()).collect();
        let be: Vec<u8> = xs.iter().flat_map(|x| x.to_be_bytes()).collect();
        let s = Data::Memory(Arc::new(le)).stream(Dtype::F64, 0, 24).expect("a stream");
        assert_eq!(drain(s, 13), be);
        let s =
            Data::Memory(Arc::new(be.clone())).stream(Dtype::binary(Kind::Float, 8, true), 0, 24).expect("a stream");
        assert_eq!(drain(s, 5), be);
    }

    #[test]
    fn a_range_past_the_end_of_memory_is_an_error_not_a_panic() {
        let mut s = Data::Memory(Arc::new(vec![0u8; 8])).stream(Dtype::I64, 0, 16).expect("a stream");
        assert!(s.read_chunk(&mut [0u8; 64]).is_err());
    }
}
