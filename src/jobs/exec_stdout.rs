//! exec's stdout on the wire when the client asked for it packed
//! (`SUBMIT_PACKED_STDOUT`, protocol 1.6): each Partial starts with a tag
//! byte, `0` then the raw bytes, or `1` then a u32 little-endian size and
//! an LZ4 block of that many bytes. Job programs mostly print text, which
//! LZ4 shrinks several times at a cost far below a slow link's; a chunk
//! that would not shrink (random or already compressed output) goes raw,
//! so it costs one byte more than unpacked output.

use lz4_flex::block::{compress_into, decompress_into, get_maximum_output_size};
use std::fmt;

/// Raw bytes follow the tag.
pub const RAW: u8 = 0;
/// An LZ4 block follows the tag, its uncompressed size first.
pub const LZ4: u8 = 1;
/// The tag and the u32 size before an LZ4 block.
const LZ4_HEAD: usize = 5;

/// One stdout chunk as a packed Partial's payload: LZ4 when that is
/// smaller than the raw chunk, raw otherwise.
pub fn pack(chunk: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    pack_into(&mut out, chunk);
    out
}

/// Appends `chunk` packed (the tag, then LZ4 or the raw bytes) to `out`.
/// Life's packed strips (protocol 1.7) use the same form after their own
/// header.
pub fn pack_into(out: &mut Vec<u8>, chunk: &[u8]) {
    let start = out.len();
    // A chunk is at most one pipe read (64 KiB) or a strip chunk (2 MiB),
    // so its size fits a u32.
    if let Ok(size) = u32::try_from(chunk.len()) {
        out.resize(start + LZ4_HEAD + get_maximum_output_size(chunk.len()), 0);
        if let Ok(n) = compress_into(chunk, &mut out[start + LZ4_HEAD..]) {
            if LZ4_HEAD + n < 1 + chunk.len() {
                out[start] = LZ4;
                out[start + 1..start + LZ4_HEAD].copy_from_slice(&size.to_le_bytes());
                out.truncate(start + LZ4_HEAD + n);
                return;
            }
        }
        out.truncate(start);
    }
    out.reserve(1 + chunk.len());
    out.push(RAW);
    out.extend_from_slice(chunk);
}

/// The most bytes `pack_into` appends for a chunk of `len` bytes.
pub const fn packed_bound(len: usize) -> usize {
    LZ4_HEAD + get_maximum_output_size(len)
}

/// Why a packed Partial could not be read; `byte` counts from the start
/// of that Partial's payload.
#[derive(Debug, PartialEq, Eq)]
pub struct UnpackError {
    pub byte: usize,
    pub why: String,
}

impl fmt::Display for UnpackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "packed stdout at byte {}: {}", self.byte, self.why)
    }
}

/// Appends the stdout bytes of one packed Partial to `out`. A block that
/// declares more than `limit` bytes is refused before anything is
/// allocated for it: the worker never packs more than one Partial's worth.
pub fn unpack(payload: &[u8], limit: usize, out: &mut Vec<u8>) -> Result<(), UnpackError> {
    let err = |byte: usize, why: String| Err(UnpackError { byte, why });
    match payload.first() {
        None => err(0, "an empty Partial has no tag byte (0 raw, 1 LZ4)".into()),
        Some(&RAW) => {
            out.extend_from_slice(&payload[1..]);
            Ok(())
        }
        Some(&LZ4) => {
            let Some(size) = payload.get(1..LZ4_HEAD) else {
                return err(1, format!("an LZ4 block needs a 4-byte size; {} bytes follow the tag", payload.len() - 1));
            };
            let size = u32::from_le_bytes([size[0], size[1], size[2], size[3]]) as usize;
            if size > limit {
                return err(
                    1,
                    format!("an LZ4 block declares {size} bytes, more than the {limit} a Partial may carry"),
                );
            }
            let start = out.len();
            out.resize(start + size, 0);
            match decompress_into(&payload[LZ4_HEAD..], &mut out[start..]) {
                Ok(n) if n == size => Ok(()),
                Ok(n) => {
                    out.truncate(start);
                    err(LZ4_HEAD, format!("an LZ4 block declares {size} bytes but holds {n}"))
                }
                Err(e) => {
                    out.truncate(start);
                    err(LZ4_HEAD, format!("a malformed LZ4 block: {e}"))
                }
            }
        }
        Some(&tag) => err(0, format!("unknown tag {tag} (0 raw, 1 LZ4)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(chunk: &[u8]) -> Vec<u8> {
        let packed = pack(chunk);
        let mut out = b"before".to_vec();
        unpack(&packed, 64 << 10, &mut out).unwrap();
        assert_eq!(&out[..6], b"before", "unpack appends");
        assert_eq!(&out[6..], chunk);
        packed
    }

    #[test]
    fn text_goes_as_lz4_and_comes_back() {
        let text: Vec<u8> = (1_000_000..1_010_000).flat_map(|i| format!("{i}\n").into_bytes()).collect();
        let packed = round_trip(&text[..64 << 10]);
        assert_eq!(packed[0], LZ4);
        assert!(packed.len() * 3 < (64 << 10) * 2, "text shrinks: {} bytes", packed.len());
    }

    #[test]
    fn what_does_not_shrink_goes_raw_for_one_byte() {
        // xorshift: bytes LZ4 cannot shrink, no randomness crate needed.
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let noise: Vec<u8> = (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let packed = round_trip(&noise);
        assert_eq!((packed[0], packed.len()), (RAW, noise.len() + 1));
        assert_eq!(round_trip(b""), vec![RAW]);
        assert_eq!(round_trip(b"ab"), b"\0ab".to_vec());
    }

    #[test]
    fn malformed_partials_name_the_byte() {
        let mut out = Vec::new();
        assert_eq!(unpack(&[], 100, &mut out).unwrap_err().byte, 0);
        let e = unpack(&[7, 1, 2], 100, &mut out).unwrap_err();
        assert_eq!(e.byte, 0);
        assert!(e.why.contains("unknown tag 7"), "{e}");
        let e = unpack(&[LZ4, 1, 0], 100, &mut out).unwrap_err();
        assert_eq!(e.byte, 1);
        assert!(e.why.contains("4-byte size"), "{e}");
        // Declares 50 bytes, holds garbage.
        let e = unpack(&[LZ4, 50, 0, 0, 0, 0xF0, 9], 100, &mut out).unwrap_err();
        assert_eq!(e.byte, 5);
        assert!(e.to_string().contains("malformed LZ4 block"), "{e}");
        // A valid block with a size that lies.
        let mut lying = pack(&[b'a'; 1000]);
        lying[1..5].copy_from_slice(&999u32.to_le_bytes());
        assert!(unpack(&lying, 2000, &mut out).is_err());
        assert!(out.is_empty(), "nothing is left behind by a refused block");
    }

    #[test]
    fn an_oversized_declared_size_is_refused_before_allocating() {
        let mut out = Vec::new();
        let e = unpack(&[LZ4, 0xFF, 0xFF, 0xFF, 0xFF, 0], 1 << 20, &mut out).unwrap_err();
        assert_eq!(e.byte, 1);
        assert!(e.why.contains("declares 4294967295 bytes, more than the 1048576"), "{e}");
        assert_eq!(out.capacity(), 0, "nothing allocated");
        let packed = pack(&[b'x'; 5000]);
        assert!(unpack(&packed, 4999, &mut out).is_err());
        assert!(unpack(&packed, 5000, &mut out).is_ok());
    }
}
