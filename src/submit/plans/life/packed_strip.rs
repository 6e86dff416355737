//! Strips gathered packed (protocol 1.7, `jobs::life`'s `PackedStrip`): the
//! Snapshot op that asks for them, and reading one back. A board some
//! generations on is mostly dead cells, which LZ4 halves; every checkpoint
//! and the final board cross the head's one link, where that counts.

use super::bad_part::BadPart;
use crate::jobs::exec_stdout;
use crate::jobs::life as wire;
use crate::protocol::versions::PACKED_STRIPS_SINCE;
use crate::protocol::WireReader;
use crate::submit::cluster::engine::Engine;
use std::sync::OnceLock;

/// `0`: ask no worker for packed strips; `1`: ask every worker that can,
/// even over loopback (tests); unset: every worker that can and is not
/// on loopback, where packing only costs time (gathering an 8192² board
/// at generation 1000 took 89 ms packed against 40 ms raw on the 2-core
/// test machine).
pub const PACK_STRIPS_ENV: &str = "PISUBMIT_PACK_STRIPS";

/// The Snapshot op for the worker on `link`: with the packed flag when it
/// understands it (an older worker refuses a byte it does not know).
pub fn snapshot_op(engine: &Engine, link: usize) -> Vec<u8> {
    if packs(engine.link_is_loopback(link)) && engine.link_may_send(link, PACKED_STRIPS_SINCE) {
        vec![wire::OP_SNAPSHOT, wire::SNAPSHOT_PACKED]
    } else {
        vec![wire::OP_SNAPSHOT]
    }
}

/// Whether strips are asked for packed over a link that is (or is not)
/// loopback: `PACK_STRIPS_ENV` if set, else everywhere but loopback.
pub fn packs(loopback: bool) -> bool {
    static SETTING: OnceLock<Option<bool>> = OnceLock::new();
    let setting = *SETTING.get_or_init(|| match std::env::var(PACK_STRIPS_ENV).as_deref() {
        Ok("0") => Some(false),
        Ok("1") => Some(true),
        _ => None,
    });
    setting.unwrap_or(!loopback)
}

/// A PackedStrip after its part byte: the first row and the rows' bytes,
/// `row_bytes` a row. `room` is how many rows the strip still expects: a
/// block may not unpack to more, so a hostile size allocates nothing.
pub fn read(r: &mut WireReader, row_bytes: usize, room: u32) -> Result<(u32, Vec<u8>), BadPart> {
    let _generation = r.u64("generation")?;
    let first = r.u32("first_row")?;
    let rows = r.u32("rows")?;
    if rows > room {
        return Err(BadPart::Packed(format!("{rows} rows where {room} were left to send")));
    }
    let want = rows as usize * row_bytes;
    let block = r.take(r.remaining(), "packed rows")?;
    let mut bytes = Vec::new();
    exec_stdout::unpack(block, want, &mut bytes).map_err(|e| BadPart::Packed(e.to_string()))?;
    if bytes.len() != want {
        return Err(BadPart::Packed(format!("{} bytes unpacked for {rows} rows of {row_bytes}", bytes.len())));
    }
    Ok((first, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::WireWrite;

    /// A PackedStrip's body after the part byte, rows packed by the worker's
    /// own code.
    fn body(first: u32, rows: u32, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.put_u64(7);
        out.put_u32(first);
        out.put_u32(rows);
        exec_stdout::pack_into(&mut out, bytes);
        out
    }

    #[test]
    fn rows_come_back_whole_packed_or_raw() {
        let dead = vec![0u8; 3 * 64];
        let noise: Vec<u8> = (0..3 * 64u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        for rows in [&dead, &noise] {
            let b = body(5, 3, rows);
            assert_eq!(read(&mut WireReader::new(&b), 64, 10).unwrap(), (5, rows.clone()));
        }
        assert!(body(0, 3, &dead).len() < 100, "dead rows pack small");
    }

    #[test]
    fn a_strip_that_is_not_its_rows_is_refused() {
        let rows = vec![0u8; 3 * 64];
        let too_many = read(&mut WireReader::new(&body(0, 3, &rows)), 64, 2).unwrap_err();
        assert!(too_many.to_string().contains("3 rows where 2 were left"), "{too_many}");
        let long = read(&mut WireReader::new(&body(0, 2, &rows)), 64, 10).unwrap_err();
        assert!(long.to_string().contains("declares 192 bytes, more than the 128"), "{long}");
        let short = read(&mut WireReader::new(&body(0, 4, &rows)), 64, 10).unwrap_err();
        assert!(short.to_string().contains("192 bytes unpacked for 4 rows of 64"), "{short}");
        let mut raw = body(0, 3, &rows);
        raw.truncate(16);
        raw.push(exec_stdout::RAW);
        raw.extend_from_slice(&rows[..100]);
        let torn = read(&mut WireReader::new(&raw), 64, 10).unwrap_err();
        assert!(torn.to_string().contains("100 bytes unpacked for 3 rows of 64"), "{torn}");
    }
}
