//! How the fixed-point sum N is laid out in chunks, and carrying between
//! them: what the sum, its rounding and its partials all share.

/// Chunk i holds N's bits from 32 i up. An f64's 53-bit mantissa sits at
/// most at bits 2045..2097 (chunks up to 65); chunk 66 takes the carries of
/// up to 2^64 values of f64::MAX with room to spare.
pub(super) const CHUNKS: usize = 67;
pub(super) const CHUNK_BITS: u32 = 32;

/// Moves each chunk's bits above 32 into the next one, leaving every chunk
/// but the last in [0, 2^32) and N unchanged.
pub(super) fn carry(chunks: &mut [i64; CHUNKS]) {
    for i in 0..CHUNKS - 1 {
        let over = chunks[i] >> CHUNK_BITS;
        chunks[i] -= over << CHUNK_BITS;
        chunks[i + 1] += over;
    }
}
