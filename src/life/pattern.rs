//! Reading and writing Life patterns in the two formats users bring: RLE
//! (Golly's and LifeWiki's format) and plain text `.cells` (LifeWiki's
//! plaintext). Parsing keeps only the live cells, so a sparse pattern in a
//! huge box costs memory for its cells, not its area.

use super::board::{Board, Edges};

/// Largest width or height accepted from a file.
const MAX_SIDE: u32 = 1_000_000;
/// Most live cells accepted from a file (each costs 8 bytes here).
const MAX_LIVE: usize = 100_000_000;
/// Largest run count in RLE; anything bigger is a corrupt or hostile file.
const MAX_RUN: u64 = 1 << 31;
/// Golly and LifeWiki keep RLE body lines to at most 70 characters.
const RLE_LINE: usize = 70;

/// A pattern as read from a file: its bounding box and live cells (x right, y down, from 0).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    pub width: u32,
    pub height: u32,
    pub live: Vec<(u32, u32)>,
    pub name: Option<String>,
    /// The board the file asks for with Golly's bounded-grid rule suffix
    /// (`B3/S23:T100,50` a torus, `:P100,50` a plane with dead edges).
    pub grid: Option<Grid>,
}

/// A bounded grid named in an RLE rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grid {
    pub edges: Edges,
    pub width: u32,
    pub height: u32,
}

/// Why a pattern file was refused: names the file, the line (1-based) and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for PatternError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

impl std::error::Error for PatternError {}

fn error(file: &str, line: usize, message: impl Into<String>) -> PatternError {
    PatternError { file: file.to_string(), line, message: message.into() }
}

/// Parses RLE or .cells, deciding by content: a first non-comment line starting with `x`
/// (`x = 3, y = 3, rule = B3/S23`) means RLE; lines of `.`/`O`/`*` (with `!` comment lines)
/// mean .cells. `file` is only used for error messages.
pub fn parse(text: &str, file: &str) -> Result<Pattern, PatternError> {
    // A `#` comment can only be RLE, so a file of `#` lines with a broken
    // header gets the RLE parser's "expected header" error, not a .cells one.
    let first = text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('!'));
    match first {
        Some(l) if l.starts_with(['x', 'X', '#']) => parse_rle(text, file),
        _ => parse_cells(text, file),
    }
}

/// Parses RLE (see LifeWiki "Run Length Encoded"). Only two-state Conway's Life is accepted.
pub fn parse_rle(text: &str, file: &str) -> Result<Pattern, PatternError> {
    let mut name = None;
    // Only the end is trimmed, so body columns in errors match the file.
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim_end()));
    // Comments and blank lines, then the header.
    let (header_line, header) = loop {
        match lines.next() {
            None => return Err(error(file, text.lines().count().max(1), "no RLE header (`x = ..., y = ...`)")),
            Some((n, l)) => match l.trim_start() {
                "" => {}
                l if l.starts_with('#') => take_rle_name(l, &mut name),
                l => break (n, l),
            },
        }
    };
    let (width, height, grid) = parse_header(header).map_err(|m| error(file, header_line, m))?;

    let mut live = Vec::new();
    let (mut x, mut y) = (0u64, 0u64);
    // The pending run count; Golly lets it sit across a line break.
    let mut count: Option<u64> = None;
    'body: for (n, line) in lines {
        if line.trim_start().starts_with('#') {
            take_rle_name(line.trim_start(), &mut name);
            continue;
        }
        for (col, c) in line.chars().enumerate() {
            if let Some(d) = c.to_digit(10) {
                let run = count.unwrap_or(0) * 10 + u64::from(d);
                if run > MAX_RUN {
                    return Err(error(file, n, format!("run count at column {} is too large", col + 1)));
                }
                count = Some(run);
                continue;
            }
            if c.is_whitespace() {
                continue;
            }
            let run = count.take().unwrap_or(1);
            if run == 0 && c != '!' {
                return Err(error(file, n, format!("run count 0 at column {}", col + 1)));
            }
            match c {
                'b' => x = x.saturating_add(run),
                'o' => {
                    if y >= u64::from(height) || x.saturating_add(run) > u64::from(width) {
                        let at = if y >= u64::from(height) { x } else { x.max(u64::from(width)) };
                        return Err(error(
                            file,
                            n,
                            format!("live cell ({at}, {y}) lies outside the declared {width}x{height} box"),
                        ));
                    }
                    if live.len() + run as usize > MAX_LIVE {
                        return Err(error(file, n, format!("more than {MAX_LIVE} live cells")));
                    }
                    // Both fit in u32: checked against the box just above.
                    live.extend((x..x + run).map(|cx| (cx as u32, y as u32)));
                    x += run;
                }
                '$' => {
                    y = y.saturating_add(run);
                    x = 0;
                }
                '!' => break 'body,
                _ => {
                    return Err(error(
                        file,
                        n,
                        format!(
                            "unexpected character {c:?} at column {} in the RLE body (only b, o, $ and ! \
                             are allowed; multi-state patterns are not supported)",
                            col + 1
                        ),
                    ))
                }
            }
        }
    }
    // A missing `!` is accepted, as Golly does.
    Ok(Pattern { width, height, live, name, grid })
}

/// Keeps the first non-empty `#N` line as the pattern's name.
fn take_rle_name(line: &str, name: &mut Option<String>) {
    if let Some(n) = line.strip_prefix("#N").map(str::trim) {
        if name.is_none() && !n.is_empty() {
            *name = Some(n.to_string());
        }
    }
}

/// Reads `x = m, y = n[, rule = r]` into the box size and the rule's bounded grid,
/// checking the rule is Life.
fn parse_header(header: &str) -> Result<(u32, u32, Option<Grid>), String> {
    let (mut width, mut height, mut grid) = (None, None, None);
    let mut rest = header;
    while !rest.trim().is_empty() {
        let (key, tail) = rest.split_once('=').ok_or_else(|| format!("bad RLE header field `{}`", rest.trim()))?;
        let key = key.trim().to_ascii_lowercase();
        if key == "rule" {
            // The rule is last and may hold commas itself (`B3/S23:T100,50`).
            grid = check_rule(tail.trim())?;
            break;
        }
        let (value, next) = tail.split_once(',').unwrap_or((tail, ""));
        let side = || -> Result<u32, String> {
            let v: u64 =
                value.trim().parse().map_err(|_| format!("bad {key} value `{}` in RLE header", value.trim()))?;
            if v > u64::from(MAX_SIDE) {
                return Err(format!("pattern {key} = {v} is larger than the limit of {MAX_SIDE}"));
            }
            Ok(v as u32)
        };
        match key.as_str() {
            "x" => width = Some(side()?),
            "y" => height = Some(side()?),
            _ => return Err(format!("unknown RLE header field `{key}`")),
        }
        rest = next;
    }
    match (width, height) {
        (Some(w), Some(h)) => Ok((w, h, grid)),
        _ => Err(format!("expected the RLE header `x = <width>, y = <height>, rule = B3/S23`, found `{header}`")),
    }
}

/// Accepts Conway's Life in the usual spellings, optionally on a Golly bounded grid:
/// `:Tw,h` (torus) or `:Pw,h` (plane); a size of 0 is Golly's "unbounded", which we
/// take as no grid. Twisted and shifted grids (`+`, `*`) are refused.
fn check_rule(rule: &str) -> Result<Option<Grid>, String> {
    let (base, grid) = match rule.split_once(':') {
        Some((b, g)) => (b, Some(g.trim())),
        None => (rule, None),
    };
    let norm: String = base.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase();
    if !matches!(norm.as_str(), "b3/s23" | "s23/b3" | "23/3" | "life") {
        return Err(format!("rule {rule} is not supported; piworker runs Conway's Life (B3/S23)"));
    }
    let Some(g) = grid else { return Ok(None) };
    let unsupported =
        || format!("bounded grid :{g} in rule {rule} is not supported; only torus (:Tw,h) and plane (:Pw,h) grids are");
    let edges = match g.chars().next() {
        Some('T' | 't') => Edges::Wrap,
        Some('P' | 'p') => Edges::Dead,
        _ => return Err(unsupported()),
    };
    let (w, h) = g[1..].split_once(',').ok_or_else(unsupported)?;
    let side = |v: &str| v.trim().parse::<u32>().ok().filter(|&n| n <= MAX_SIDE);
    match (side(w), side(h)) {
        (Some(0), _) | (_, Some(0)) => Ok(None),
        (Some(width), Some(height)) => Ok(Some(Grid { edges, width, height })),
        _ => Err(unsupported()),
    }
}

/// Parses LifeWiki plaintext: `!` comment lines, then rows of `.` (dead) and `O` (alive).
pub fn parse_cells(text: &str, file: &str) -> Result<Pattern, PatternError> {
    let mut name = None;
    let mut live = Vec::new();
    let (mut width, mut rows, mut height) = (0u32, 0u32, 0u32);
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        if let Some(comment) = raw.strip_prefix('!') {
            if let Some(v) = comment.trim().strip_prefix("Name:").map(str::trim) {
                if name.is_none() && !v.is_empty() {
                    name = Some(v.to_string());
                }
            }
            continue;
        }
        // Trailing spaces are invisible in an editor; forgive them.
        let row = raw.trim_end();
        let y = rows;
        rows += 1;
        if row.is_empty() {
            continue; // an empty row, unless it turns out to be trailing
        }
        if y >= MAX_SIDE {
            return Err(error(file, n, format!("pattern is taller than the limit of {MAX_SIDE} rows")));
        }
        height = rows;
        for (x, c) in (0u32..).zip(row.chars()) {
            if x >= MAX_SIDE {
                return Err(error(file, n, format!("row is wider than the limit of {MAX_SIDE} cells")));
            }
            match c {
                '.' => {}
                'O' | 'o' | '*' => {
                    if live.len() >= MAX_LIVE {
                        return Err(error(file, n, format!("more than {MAX_LIVE} live cells")));
                    }
                    live.push((x, y));
                }
                _ => {
                    return Err(error(
                        file,
                        n,
                        format!("unexpected character {c:?} at column {} (use . for dead, O for alive)", x + 1),
                    ))
                }
            }
            width = width.max(x + 1);
        }
    }
    Ok(Pattern { width, height, live, name, grid: None })
}

impl Pattern {
    /// Places the pattern with its bounding box centred on the board ((board.width - width) / 2, same for y).
    /// Only sets live cells; the rest of the board is left as it was. Error text if it does not fit,
    /// naming both sizes.
    pub fn place_centered(&self, board: &mut Board) -> Result<(), String> {
        let (bw, bh) = (board.width(), board.height());
        if self.width > bw || self.height > bh {
            return Err(format!("the pattern is {}x{} but the board is only {bw}x{bh}", self.width, self.height));
        }
        // The fields are public, so a hand-built pattern may stray outside its box.
        if let Some(&(x, y)) = self.live.iter().find(|&&(x, y)| x >= self.width || y >= self.height) {
            return Err(format!("live cell ({x}, {y}) lies outside the pattern's {}x{} box", self.width, self.height));
        }
        let (ox, oy) = ((bw - self.width) / 2, (bh - self.height) / 2);
        for &(x, y) in &self.live {
            board.set(ox + x, oy + y, true);
        }
        Ok(())
    }
}

/// The board as RLE: `#N` name line if given, `#C` comment lines, header `x = W, y = H, rule = B3/S23:T{W},{H}`
/// (Golly's torus, for Edges::Wrap) or `:P{W},{H}` (a bounded plane, for Edges::Dead), so Golly and bgolly
/// run it on the same grid; then the body in lines of at most 70 characters, ending with `!`. The header's
/// x and y are the board's full size, so reading it back gives exactly the board.
pub fn to_rle(board: &Board, edges: Edges, name: Option<&str>, comments: &[String]) -> String {
    let bytes = rle_bytes(board, edges, name, comments);
    // Only ASCII and the &str given are written: always UTF-8.
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// `to_rle`'s text as bytes, written straight into one buffer: a Life
/// checkpoint of a big board is written every few seconds.
pub fn rle_bytes(board: &Board, edges: Edges, name: Option<&str>, comments: &[String]) -> Vec<u8> {
    use std::io::Write as _;
    let (w, h) = (board.width(), board.height());
    let mut out = Vec::with_capacity(board.words().len() * 8);
    // A line break inside a name or comment would end the `#` line and corrupt the header.
    if let Some(name) = name {
        let _ = writeln!(out, "#N {}", name.replace(['\r', '\n'], " "));
    }
    for line in comments.iter().flat_map(|c| c.lines()) {
        let _ = writeln!(out, "#C {line}");
    }
    let grid = match edges {
        Edges::Wrap => 'T',
        Edges::Dead => 'P',
    };
    let _ = writeln!(out, "x = {w}, y = {h}, rule = B3/S23:{grid}{w},{h}");

    let mut body = Body { out, line_len: 0 };
    // Row ends owed: written only when a later row has live cells, so
    // trailing empty rows cost nothing.
    let mut breaks = 0u64;
    for y in 0..h {
        if y > 0 {
            breaks += 1;
        }
        let row = board.row(y);
        if row.iter().all(|&word| word == 0) {
            continue;
        }
        if breaks > 0 {
            body.push(breaks, b'$');
            breaks = 0;
        }
        let mut x = 0;
        let mut alive = false;
        while x < w {
            let end = next_change(row, x, alive).min(w);
            // A row's trailing dead run is left out, and so is the empty
            // dead run before a row that starts alive.
            if end > x && (alive || end < w) {
                body.push(u64::from(end - x), if alive { b'o' } else { b'b' });
            }
            x = end;
            alive = !alive;
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

/// The RLE body being written, wrapped before a token would pass the line limit.
struct Body {
    out: Vec<u8>,
    line_len: usize,
}

impl Body {
    /// `run` copies of `tag` as one token (the count left out when 1),
    /// its digits written without formatting machinery.
    fn push(&mut self, run: u64, tag: u8) {
        let mut digits = [0u8; 20];
        let mut n = 0;
        let mut left = if run > 1 { run } else { 0 };
        while left > 0 {
            n += 1;
            digits[20 - n] = b'0' + (left % 10) as u8;
            left /= 10;
        }
        if self.line_len + n + 1 > RLE_LINE {
            self.out.push(b'\n');
            self.line_len = 0;
        }
        self.out.extend_from_slice(&digits[20 - n..]);
        self.out.push(tag);
        self.line_len += n + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GLIDER: [(u32, u32); 5] = [(1, 0), (2, 1), (0, 2), (1, 2), (2, 2)];

    fn sorted(mut cells: Vec<(u32, u32)>) -> Vec<(u32, u32)> {
        cells.sort_by_key(|&(x, y)| (y, x));
        cells
    }

    fn board_of(p: &Pattern) -> Board {
        let mut b = Board::new(p.width, p.height);
        for &(x, y) in &p.live {
            b.set(x, y, true);
        }
        b
    }

    #[test]
    fn glider_in_both_formats() {
        let rle = parse("x = 3, y = 3, rule = B3/S23\nbob$2bo$3o!", "g.rle").unwrap();
        assert_eq!((rle.width, rle.height), (3, 3));
        assert_eq!(sorted(rle.live.clone()), sorted(GLIDER.to_vec()));
        let cells = parse("!Name: Glider\n!\n.O.\n..O\nOOO\n", "g.cells").unwrap();
        assert_eq!(cells.name.as_deref(), Some("Glider"));
        assert_eq!((cells.width, cells.height, cells.live), (3, 3, rle.live));
    }

    #[test]
    fn gosper_glider_gun() {
        let gun = "#N Gosper glider gun
#O Bill Gosper
#C A true period 30 glider gun.
#C The first known gun and the first known finite pattern with unbounded growth.
#C www.conwaylife.com/wiki/index.php?title=Gosper_glider_gun
x = 36, y = 9, rule = B3/S23
24bo11b$22bobo11b$12b2o6b2o12b2o$11bo3bo4b2o12b2o$2o8bo5bo3b2o14b$2o8b
o3bob2o4bobo11b$10bo5bo7bo11b$11bo3bo20b$12b2o!
";
        let p = parse(gun, "gun.rle").unwrap();
        assert_eq!((p.width, p.height, p.live.len()), (36, 9, 36));
        assert_eq!(p.name.as_deref(), Some("Gosper glider gun"));
        assert!(p.live.contains(&(24, 0)) && p.live.contains(&(0, 4)) && p.live.contains(&(13, 8)));
    }

    #[test]
    fn round_trip_random_boards() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for (w, h) in [(0, 0), (1, 1), (70, 3), (64, 2), (130, 65), (200, 1), (3, 40)] {
            // Sparse, half, dense and full boards give short and long runs.
            for density in [0u64, 1, 8, 15, 16] {
                let mut b = Board::new(w, h);
                for y in 0..h {
                    for x in 0..w {
                        b.set(x, y, next() % 16 < density);
                    }
                }
                for edges in [Edges::Wrap, Edges::Dead] {
                    let text = to_rle(&b, edges, Some("random"), &["two\nlines".to_string()]);
                    assert!(text.ends_with("!\n"), "{text}");
                    let body = text.lines().skip_while(|l| !l.starts_with('x')).skip(1);
                    assert!(body.clone().all(|l| l.len() <= 70), "{text}");
                    let p = parse(&text, "rt.rle").unwrap();
                    assert_eq!(board_of(&p), b, "{w}x{h} density {density}:\n{text}");
                    assert_eq!(p.name.as_deref(), Some("random"));
                }
            }
        }
    }

    #[test]
    fn to_rle_layout() {
        let mut b = Board::new(10, 6);
        for (x, y) in [(1, 1), (2, 1), (3, 1), (0, 4)] {
            b.set(x, y, true);
        }
        assert_eq!(to_rle(&b, Edges::Wrap, None, &[]), "x = 10, y = 6, rule = B3/S23:T10,6\n$b3o3$o!\n");
        assert_eq!(
            to_rle(&Board::new(4, 2), Edges::Dead, Some("empty"), &["c".into()]),
            "#N empty\n#C c\nx = 4, y = 2, rule = B3/S23:P4,2\n!\n"
        );
    }

    #[test]
    fn multi_line_rle_with_comments_and_row_runs() {
        let text = "#N test
#C first

#c second
#O someone
x=4,y=5,RULE=23/3
o2$
3bo$
#C a comment in the body
bo
";
        let p = parse(text, "m.rle").unwrap();
        assert_eq!((p.width, p.height, p.name.as_deref()), (4, 5, Some("test")));
        assert_eq!(p.live, vec![(0, 0), (3, 2), (1, 3)]);
    }

    #[test]
    fn rule_spellings_and_bounded_grids() {
        for rule in ["B3/S23", "b3/s23", "23/3", "Life", "B3/S23:T10,10", "b3/s23:P20,5", "23/3:T0,0"] {
            let text = format!("x = 1, y = 1, rule = {rule}\no!");
            assert_eq!(parse_rle(&text, "r.rle").unwrap().live, vec![(0, 0)], "{rule}");
        }
        // No rule at all means Life; text after `!` is ignored.
        assert_eq!(parse_rle("x = 2, y = 1\nbo! anything Ab", "r.rle").unwrap().live, vec![(1, 0)]);
        let e = parse_rle("x = 1, y = 1, rule = B3/S23:K10,10\no!", "r.rle").unwrap_err();
        assert!(e.message.contains("bounded grid"), "{e}");
    }

    #[test]
    fn rle_errors() {
        let e = parse("#C highlife\nx = 3, y = 3, rule = B36/S23\n3o!", "hl.rle").unwrap_err();
        assert_eq!(e.to_string(), "hl.rle:2: rule B36/S23 is not supported; piworker runs Conway's Life (B3/S23)");

        let e = parse("#N bad\nx = 3, y = 3\nbob$\n 2bA$3o!", "bad.rle").unwrap_err();
        assert_eq!(e.line, 4);
        assert!(e.message.contains("'A'") && e.message.contains("column 4"), "{e}");

        let e = parse("x = 3, y = 2\nbob$2b2o!", "box.rle").unwrap_err();
        assert_eq!((e.line, e.message.contains("outside")), (2, true), "{e}");
        let e = parse("x = 3, y = 2\no$o$\no!", "box.rle").unwrap_err();
        assert_eq!((e.line, e.message.contains("(0, 2)")), (3, true), "{e}");

        let e = parse("x = 3, y = 3\n99999999999999999999o!", "huge.rle").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("too large"), "{e}");
        assert!(parse("x = 3, y = 3\n2147483649b!", "huge.rle").is_err());

        let e = parse("x = 2000000, y = 3\no!", "big.rle").unwrap_err();
        assert!(e.message.contains("limit"), "{e}");
        assert!(parse("#C only a comment\n", "none.rle").unwrap_err().message.contains("header"));
        assert!(parse("x = 3\no!", "noy.rle").is_err());
        assert!(parse("x = 3, y = 3\n0o!", "zero.rle").is_err());
    }

    #[test]
    fn cells_details_and_errors() {
        let p = parse_cells("!comment\n\n..O\nO\n\n*o.  \n\n\n", "c.cells").unwrap();
        assert_eq!((p.width, p.height, p.name), (3, 5, None));
        assert_eq!(p.live, vec![(2, 1), (0, 2), (0, 4), (1, 4)]);

        let e = parse("!Name: x\n.O.\n.Ox.\n", "bad.cells").unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("bad.cells", 3));
        assert!(e.message.contains("'x'") && e.message.contains("column 3"), "{e}");

        let empty = parse("", "empty").unwrap();
        assert_eq!((empty.width, empty.height, empty.live.len()), (0, 0, 0));
    }

    #[test]
    fn place_centered_and_too_large() {
        let glider = parse("x = 3, y = 3\nbob$2bo$3o!", "g.rle").unwrap();
        let mut b = Board::new(8, 6);
        glider.place_centered(&mut b).unwrap();
        // (8 - 3) / 2 = 2, (6 - 3) / 2 = 1.
        let expected: Vec<_> = GLIDER.iter().map(|&(x, y)| (x + 2, y + 1)).collect();
        assert_eq!(b.live_cells().collect::<Vec<_>>(), sorted(expected));

        let err = glider.place_centered(&mut Board::new(2, 10)).unwrap_err();
        assert!(err.contains("3x3") && err.contains("2x10"), "{err}");
    }
}
