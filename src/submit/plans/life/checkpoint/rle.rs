//! The checkpoint as RLE, the format Golly and LifeWiki read: the header
//! lines as `#C` comments, Golly's bounded-grid rule (`B3/S23:T W,H` or
//! `:P W,H`) and the whole board, byte for byte what `pattern::to_rle`
//! writes, but written straight into bytes (about 10 times as fast: a
//! checkpoint is written every few seconds). Read back by a streaming
//! reader that fills packed rows directly (the pattern reader keeps a
//! list of live cells: 8 bytes a cell, too much for a big board).

use super::meta::Meta;
use crate::life::board::words_per_row;
use crate::life::{Board, Edges};
use std::io::Write as _;

/// Golly and LifeWiki keep RLE body lines to at most 70 characters.
const LINE: usize = 70;

/// The file's text, `check` being the meta's check line.
pub fn encode(board: &Board, edges: Edges, meta: &Meta, check: u64) -> Vec<u8> {
    let (w, h) = (board.width(), board.height());
    let mut out = Vec::with_capacity(board.words().len() * 8);
    for line in meta.text().lines() {
        let _ = writeln!(out, "#C {line}");
    }
    let _ = writeln!(out, "#C check {check:016x}");
    let grid = if edges == Edges::Wrap { 'T' } else { 'P' };
    let _ = writeln!(out, "x = {w}, y = {h}, rule = B3/S23:{grid}{w},{h}");
    let mut body = Body { out, line: 0 };
    // Row ends are owed until a later row has live cells.
    let mut breaks = 0u64;
    for y in 0..h {
        breaks += u64::from(y > 0);
        let row = board.row(y);
        if row.iter().all(|&word| word == 0) {
            continue;
        }
        if breaks > 0 {
            body.push(breaks, b'$');
            breaks = 0;
        }
        let (mut x, mut alive) = (0u32, false);
        while x < w {
            let end = next_change(row, x, alive).min(w);
            // No trailing dead run, and no empty run before a live start.
            if end > x && (alive || end < w) {
                body.push(u64::from(end - x), if alive { b'o' } else { b'b' });
            }
            (x, alive) = (end, !alive);
        }
    }
    body.push(1, b'!');
    body.out.push(b'\n');
    body.out
}

/// The first x at or after `from` whose cell is not `alive` (may be past the width).
fn next_change(row: &[u64], from: u32, alive: bool) -> u32 {
    let flip = if alive { u64::MAX } else { 0 };
    let mut i = (from / 64) as usize;
    let mut word = (row[i] ^ flip) & (u64::MAX << (from % 64));
    loop {
        if word != 0 {
            return (i as u64 * 64 + u64::from(word.trailing_zeros())).min(u64::from(u32::MAX)) as u32;
        }
        i += 1;
        match row.get(i) {
            Some(&next) => word = next ^ flip,
            None => return u32::MAX,
        }
    }
}

/// The RLE body, wrapped before a token would pass the line limit.
struct Body {
    out: Vec<u8>,
    line: usize,
}

impl Body {
    fn push(&mut self, run: u64, tag: u8) {
        let mut digits = [0u8; 20];
        let mut n = 0;
        let mut left = if run > 1 { run } else { 0 };
        while left > 0 {
            n += 1;
            digits[20 - n] = b'0' + (left % 10) as u8;
            left /= 10;
        }
        if self.line + n + 1 > LINE {
            self.out.push(b'\n');
            self.line = 0;
        }
        self.out.extend_from_slice(&digits[20 - n..]);
        self.out.push(tag);
        self.line += n + 1;
    }
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
