//! The checkpoint as RLE, the format Golly and LifeWiki read: the header
//! lines as `#C` comments, Golly's bounded-grid rule (`B3/S23:T W,H` or
//! `:P W,H`) and the whole board, written by `pattern::rle_bytes` (what
//! `pattern::to_rle` writes, straight into bytes). Read back by a streaming
//! reader that fills packed rows directly (the pattern reader keeps a
//! list of live cells: 8 bytes a cell, too much for a big board).

use super::meta::Meta;
use crate::life::board::words_per_row;
use crate::life::pattern::rle_bytes;
use crate::life::{Board, Edges};

/// The file's text, `check` being the meta's check line: the header lines
/// as `#C` comments above the board `pattern::rle_bytes` writes.
pub fn encode(board: &Board, edges: Edges, meta: &Meta, check: u64) -> Vec<u8> {
    let mut comments: Vec<String> = meta.text().lines().map(str::to_string).collect();
    comments.push(format!("check {check:016x}"));
    rle_bytes(board, edges, None, &comments)
}

/// What an RLE checkpoint holds: its header lines, board and edges.
pub fn decode(bytes: &[u8]) -> Result<(Meta, String, u64, Board, Edges), String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not text at byte {}", e.valid_up_to()))?;
    let mut lines = text.split_inclusive('\n');
    let mut comments = Vec::new();
    let mut offset = 0;
    let header = loop {
        let Some(line) = lines.next() else { return Err("truncated: no RLE header line (x = ...)".into()) };
        offset += line.len();
        let line = line.trim_end();
        match line.strip_prefix("#C ") {
            Some(c) => comments.push(c),
            None => break line,
        }
    };
    let (meta, covered, check) = Meta::parse(&comments)?;
    let (width, height, edges) = parse_header(header)?;
    let cells = body(&bytes[offset..], width, height)?;
    let board = Board::from_words(width, height, cells).ok_or("the board does not fit its size")?;
    Ok((meta, covered, check, board, edges))
}

/// `x = W, y = H, rule = B3/S23:TW,H` (or `:PW,H`), as `to_rle` writes it.
fn parse_header(line: &str) -> Result<(u32, u32, Edges), String> {
    let bad = || format!("RLE header {line:?} is not x = W, y = H, rule = B3/S23:TW,H (or :PW,H)");
    let fields: Vec<&str> = line.split(',').map(str::trim).collect();
    let [x, y, rule, grid_h] = fields.as_slice() else { return Err(bad()) };
    let number = |s: Option<&str>| s.and_then(|v| v.trim().parse::<u32>().ok()).filter(|&n| n > 0);
    let width = number(x.strip_prefix("x =")).ok_or_else(bad)?;
    let height = number(y.strip_prefix("y =")).ok_or_else(bad)?;
    let grid = rule.strip_prefix("rule = B3/S23:").ok_or_else(bad)?;
    let (edges, grid_w) = match grid.split_at_checked(1) {
        Some(("T", w)) => (Edges::Wrap, w),
        Some(("P", w)) => (Edges::Dead, w),
        _ => return Err(bad()),
    };
    if number(Some(grid_w)) != Some(width) || number(Some(grid_h)) != Some(height) {
        return Err(bad());
    }
    super::meta::check_size(width, height)?;
    Ok((width, height, edges))
}

/// The RLE body into packed rows; it must end with `!`.
fn body(bytes: &[u8], width: u32, height: u32) -> Result<Vec<u64>, String> {
    let words = words_per_row(width);
    let mut cells = vec![0u64; words * height as usize];
    let (mut x, mut y, mut run) = (0u64, 0u64, None::<u64>);
    for (i, &c) in bytes.iter().enumerate() {
        if c.is_ascii_digit() {
            let n = run.unwrap_or(0) * 10 + u64::from(c - b'0');
            if n > u64::from(u32::MAX) {
                return Err(format!("run count too large at byte {i} of the RLE body"));
            }
            run = Some(n);
            continue;
        }
        let n = run.take().unwrap_or(1);
        match c {
            b'b' => x += n,
            b'o' => {
                if y >= u64::from(height) || x + n > u64::from(width) {
                    return Err(format!("live cells at ({x}, {y}) lie outside the {width}x{height} board"));
                }
                set_run(&mut cells[y as usize * words..(y as usize + 1) * words], x, n);
                x += n;
            }
            b'$' => (x, y) = (0, y + n),
            b'!' => return Ok(cells),
            b'\n' | b'\r' | b' ' => {}
            other => return Err(format!("unexpected byte {other:#04x} at byte {i} of the RLE body")),
        }
    }
    Err("truncated: the RLE body does not end with `!`".into())
}

/// Sets cells `x..x + n` of a packed row.
fn set_run(row: &mut [u64], x: u64, n: u64) {
    let (mut at, end) = (x, x + n);
    while at < end {
        let bit = at % 64;
        let take = (64 - bit).min(end - at);
        let mask = if take == 64 { u64::MAX } else { ((1u64 << take) - 1) << bit };
        row[(at / 64) as usize] |= mask;
        at += take;
    }
}
