//! PNG snapshots of a board: live cells black on white, 1-bit greyscale so
//! even an 8192x8192 board is only 8 MiB raw and much less compressed.

use super::board::{words_per_row, Board};
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A frame's file name: `gen-000123.png` (generation zero-padded to at
/// least 6 digits, so names sort by generation up to a million).
pub fn frame_name(generation: u64) -> String {
    format!("gen-{generation:06}.png")
}

/// Writes the board as a PNG: one pixel per cell (or `scale` x `scale`
/// pixels per cell when scale > 1), live cells black on white, 1-bit
/// greyscale. Writes to a temporary file in the same directory and renames
/// it over `path`, so a reader never sees half a file.
pub fn write_png(board: &Board, path: &Path, scale: u32) -> Result<(), String> {
    let fail = |cause: String| format!("writing {}: {cause}", path.display());
    let scale = scale.max(1);
    let (width, height) = match (board.width().checked_mul(scale), board.height().checked_mul(scale)) {
        // PNG has no empty images, so a 0-wide board has no picture.
        (Some(w), Some(h)) if w > 0 && h > 0 => (w, h),
        _ => return Err(fail(format!("cannot draw a {}x{} board at scale {scale}", board.width(), board.height()))),
    };
    let pixels = if scale == 1 { pack_rows(board) } else { pack_rows_scaled(board, scale) };

    let tmp = temp_path(path).ok_or_else(|| fail("not a file name".to_string()))?;
    let result = encode(&tmp, width, height, &pixels)
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| format!("renaming {}: {e}", tmp.display())));
    if result.is_err() {
        // Best effort: the temporary file is useless now, and may not exist.
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(fail)
}

/// The board as an 8-bit greyscale PNG in memory, at most `max_side` pixels on its longer
/// side: a pixel is black when any cell of the block it stands for is alive, so that a
/// lone glider on a huge board still shows. For the web page's view of a running board.
pub fn png_downscaled(board: &Board, max_side: u32) -> Result<Vec<u8>, String> {
    let (w, h) = (board.width(), board.height());
    if w == 0 || h == 0 {
        return Err(format!("cannot draw a {w}x{h} board"));
    }
    let block = w.max(h).div_ceil(max_side.max(1)).max(1);
    let (pw, ph) = (w.div_ceil(block), h.div_ceil(block));
    let mut pixels = vec![0xffu8; pw as usize * ph as usize];
    for y in 0..h {
        let row = (y / block) as usize * pw as usize;
        for (i, &word) in board.row(y).iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                let x = i as u32 * 64 + bits.trailing_zeros();
                bits &= bits - 1;
                if x < w {
                    pixels[row + (x / block) as usize] = 0;
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, pw, ph);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(&pixels).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

/// A fresh name next to `path` (same directory, so the rename cannot cross
/// file systems), hidden, and unique per process and call so that two
/// writers of the same frame do not clobber each other's half-written file.
fn temp_path(path: &Path) -> Option<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name()?.to_string_lossy();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    Some(path.with_file_name(format!(".{name}.{}-{n}.tmp", std::process::id())))
}

fn encode(tmp: &Path, width: u32, height: u32, pixels: &[u8]) -> Result<(), String> {
    let file = File::create(tmp).map_err(|e| format!("creating {}: {e}", tmp.display()))?;
    let mut out = BufWriter::new(file);
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    // Frames are written during a run: favour speed over size. The Up
    // filter turns repeated rows (empty space, scaled cells) into zeros,
    // which the fast compressor packs best: measured on an 8192x8192 board
    // with a few lines, 84 KB against 3 MB unfiltered, at no cost in time.
    encoder.set_compression(png::Compression::Fast);
    encoder.set_filter(png::FilterType::Up);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(pixels).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())
}

/// The PNG rows at scale 1. A 1-bit greyscale row holds pixel x in bit
/// `7 - x % 8` of byte `x / 8` (MSB first) with 1 = white; the board holds
/// cell x in bit `x % 8` of byte `x / 8` of its little-endian words with
/// 1 = alive. So each byte is bit-reversed and inverted: no per-pixel work.
fn pack_rows(board: &Board) -> Vec<u8> {
    let row_bytes = (board.width() as usize).div_ceil(8);
    let mut out = vec![0u8; row_bytes * board.height() as usize];
    for (y, line) in out.chunks_exact_mut(row_bytes).enumerate() {
        // Padding bits past the width come out white; decoders ignore them.
        for (bytes, word) in line.chunks_mut(8).zip(board.row(y as u32)) {
            for (byte, cells) in bytes.iter_mut().zip(word.to_le_bytes()) {
                *byte = !cells.reverse_bits();
            }
        }
    }
    out
}

/// The PNG rows at `scale` > 1: each board row becomes one white pixel row
/// with a black run per live cell, repeated `scale` times. Work grows with
/// the live cells, not the pixels.
fn pack_rows_scaled(board: &Board, scale: u32) -> Vec<u8> {
    let scale = scale as usize;
    let row_bytes = (board.width() as usize * scale).div_ceil(8);
    let mut out = Vec::with_capacity(row_bytes * board.height() as usize * scale);
    let mut line = vec![0u8; row_bytes];
    for y in 0..board.height() {
        line.fill(0xff);
        for (i, &word) in board.row(y).iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                let x = i * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                for px in x * scale..(x + 1) * scale {
                    line[px / 8] &= !(0x80 >> (px % 8));
                }
            }
        }
        for _ in 0..scale {
            out.extend_from_slice(&line);
        }
    }
    out
}

/// Reads back a PNG written by `write_png` (scale 1) as a board: any pixel
/// darker than mid-grey is alive. Accepts greyscale, RGB and palette images
/// of any bit depth, with or without alpha (which is ignored).
pub fn read_png(path: &Path) -> Result<Board, String> {
    let fail = |cause: String| format!("reading {}: {cause}", path.display());
    let file = File::open(path).map_err(|e| fail(e.to_string()))?;
    let mut decoder = png::Decoder::new(BufReader::new(file));
    // Unpack low bit depths and palettes to 8-bit samples, and strip 16-bit
    // ones to 8, so one loop below handles every format.
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(|e| fail(e.to_string()))?;
    let mut buf = vec![0u8; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).map_err(|e| fail(e.to_string()))?;
    if info.bit_depth != png::BitDepth::Eight {
        return Err(fail(format!("unexpected bit depth {:?} after decoding", info.bit_depth)));
    }
    // Samples per pixel, and how many of them carry colour (not alpha).
    let (samples, colours) = match info.color_type {
        png::ColorType::Grayscale => (1, 1),
        png::ColorType::GrayscaleAlpha => (2, 1),
        png::ColorType::Rgb => (3, 3),
        png::ColorType::Rgba => (4, 3),
        png::ColorType::Indexed => return Err(fail("palette was not expanded".to_string())),
    };
    let (width, height) = (info.width, info.height);
    let words = words_per_row(width);
    let mut cells = vec![0u64; words * height as usize];
    for (y, line) in buf.chunks(info.line_size).take(height as usize).enumerate() {
        let row = &mut cells[y * words..(y + 1) * words];
        for (x, pixel) in line.chunks_exact(samples).take(width as usize).enumerate() {
            // Mid-grey is 128 in every colour sample: dark means below it
            // on average.
            let sum: usize = pixel[..colours].iter().map(|&s| usize::from(s)).sum();
            if sum < 128 * colours {
                row[x / 64] |= 1 << (x % 64);
            }
        }
    }
    Board::from_words(width, height, cells).ok_or_else(|| fail("image does not fit a board".to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch directory for one test, removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            let dir = std::env::temp_dir().join(format!("piworker-picture-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// A reproducible random board, about half alive (xorshift64).
    fn random_board(width: u32, height: u32, mut seed: u64) -> Board {
        let words = words_per_row(width) * height as usize;
        let cells = (0..words)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed
            })
            .collect();
        Board::from_words(width, height, cells).unwrap()
    }

    #[test]
    fn round_trips_odd_sizes() {
        let dir = TempDir::new("round-trip");
        for (i, &(w, h)) in [(1, 1), (65, 3), (200, 130), (64, 2), (8, 1)].iter().enumerate() {
            let board = random_board(w, h, 0x9e37_79b9_7f4a_7c15 + i as u64);
            let path = dir.0.join(frame_name(i as u64));
            write_png(&board, &path, 1).unwrap();
            assert_eq!(read_png(&path).unwrap(), board, "{w}x{h}");
        }
        let mut one = Board::new(1, 1);
        one.set(0, 0, true);
        let path = dir.0.join("one.png");
        write_png(&one, &path, 1).unwrap();
        assert_eq!(read_png(&path).unwrap(), one);
        // Only the finished files are left: no temporaries.
        assert_eq!(std::fs::read_dir(&dir.0).unwrap().count(), 6);
    }

    #[test]
    fn scaled_image_has_scaled_pixels() {
        let dir = TempDir::new("scaled");
        let board = random_board(13, 7, 42);
        let path = dir.0.join("scaled.png");
        write_png(&board, &path, 3).unwrap();

        let mut decoder = png::Decoder::new(File::open(&path).unwrap());
        decoder.set_transformations(png::Transformations::EXPAND);
        let mut reader = decoder.read_info().unwrap();
        assert_eq!(reader.info().bit_depth, png::BitDepth::One);
        assert_eq!(reader.info().color_type, png::ColorType::Grayscale);
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (39, 21));
        for py in 0..21 {
            for px in 0..39 {
                let expected = if board.get(px / 3, py / 3) { 0 } else { 255 };
                assert_eq!(buf[py as usize * info.line_size + px as usize], expected, "pixel ({px}, {py})");
            }
        }
    }

    #[test]
    fn reads_rgba_images() {
        let dir = TempDir::new("rgba");
        let path = dir.0.join("rgba.png");
        // Black, white, dark red, light grey: alive, dead, alive, dead.
        let pixels = [0, 0, 0, 255, 255, 255, 255, 255, 100, 0, 0, 255, 200, 200, 200, 0];
        let mut encoder = png::Encoder::new(File::create(&path).unwrap(), 4, 1);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.write_header().unwrap().write_image_data(&pixels).unwrap();
        let board = read_png(&path).unwrap();
        assert_eq!((0..4).map(|x| board.get(x, 0)).collect::<Vec<_>>(), [true, false, true, false]);
    }

    #[test]
    fn frame_names_pad_to_six_digits() {
        assert_eq!(frame_name(7), "gen-000007.png");
        assert_eq!(frame_name(123456), "gen-123456.png");
        assert_eq!(frame_name(12345678), "gen-12345678.png");
    }

    #[test]
    fn errors_name_the_path() {
        let path = Path::new("/nonexistent-piworker-dir/gen-000001.png");
        let err = write_png(&Board::new(4, 4), path, 1).unwrap_err();
        assert!(err.contains("/nonexistent-piworker-dir/gen-000001.png"), "{err}");
        let err = read_png(path).unwrap_err();
        assert!(err.contains("/nonexistent-piworker-dir/gen-000001.png"), "{err}");
        let err = write_png(&Board::new(0, 4), Path::new("empty.png"), 1).unwrap_err();
        assert!(err.contains("empty.png"), "{err}");
    }
}
