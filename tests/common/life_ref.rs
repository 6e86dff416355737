//! A deliberately naive, single-threaded Game of Life (B3/S23) for the tests
//! to compare the product against, plus a catalogue of known patterns.
//!
//! Include it with `#[path = "common/life_ref.rs"] mod life_ref;`. It uses
//! nothing but std and `sha2`, and nothing from `tests/common/mod.rs`.
//!
//! Every catalogue entry below was checked with this very implementation
//! (see the notes on each methuselah for the board sizes used).

use sha2::{Digest, Sha256};

/// What lies past the board's edges.
#[allow(dead_code)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefEdges {
    /// A torus: cell (x, y)'s neighbours are ((x + dx) mod width, (y + dy)
    /// mod height) for dx, dy in {-1, 0, 1}, not both zero. On a board one
    /// or two cells wide (or high) that counts some cells more than once,
    /// which is what the formula says.
    Wrap,
    /// Dead cells all around, forever.
    Dead,
}

/// One byte per cell (0 or 1), row-major: cell (x, y) is
/// `cells[y * width + x]`. Deliberately naive: a step counts the 8
/// neighbours of every cell with explicit edge handling.
#[allow(dead_code)]
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RefBoard {
    pub width: usize,
    pub height: usize,
    pub cells: Vec<u8>,
}

#[allow(dead_code)]
impl RefBoard {
    /// An all-dead board.
    pub fn new(width: usize, height: usize) -> Self {
        RefBoard { width, height, cells: vec![0; width * height] }
    }

    pub fn get(&self, x: usize, y: usize) -> bool {
        assert!(x < self.width && y < self.height, "({x}, {y}) is off a {}x{} board", self.width, self.height);
        self.cells[y * self.width + x] != 0
    }

    pub fn set(&mut self, x: usize, y: usize, alive: bool) {
        assert!(x < self.width && y < self.height, "({x}, {y}) is off a {}x{} board", self.width, self.height);
        self.cells[y * self.width + x] = u8::from(alive);
    }

    /// One generation of B3/S23.
    ///
    /// The board is first copied into a frame one cell wider on every
    /// side, the frame holding what lies past each edge: for `Wrap` the
    /// cell ((px - 1) mod width, (py - 1) mod height) at frame position
    /// (px, py), for `Dead` zeros. Then every cell's 8 neighbours are
    /// summed from the frame.
    pub fn step(&self, edges: RefEdges) -> RefBoard {
        let (w, h) = (self.width, self.height);
        let mut next = RefBoard::new(w, h);
        if w == 0 || h == 0 {
            return next;
        }
        let (pw, ph) = (w + 2, h + 2);
        let mut framed = vec![0u8; pw * ph];
        for py in 0..ph {
            for px in 0..pw {
                // (px - 1, py - 1) on the board, or past an edge.
                let inside = (1..=w).contains(&px) && (1..=h).contains(&py);
                // Any non-zero byte is a live cell, as in `get`.
                framed[py * pw + px] = match (edges, inside) {
                    (_, true) => u8::from(self.cells[(py - 1) * w + (px - 1)] != 0),
                    (RefEdges::Wrap, false) => u8::from(self.cells[((py + h - 1) % h) * w + (px + w - 1) % w] != 0),
                    (RefEdges::Dead, false) => 0,
                };
            }
        }
        for y in 0..h {
            // Frame rows y, y + 1, y + 2 are board rows y - 1, y, y + 1.
            let above = &framed[y * pw..(y + 1) * pw];
            let here = &framed[(y + 1) * pw..(y + 2) * pw];
            let below = &framed[(y + 2) * pw..(y + 3) * pw];
            let out = &mut next.cells[y * w..(y + 1) * w];
            for (x, cell) in out.iter_mut().enumerate() {
                // Frame columns x, x + 1, x + 2 are board columns x - 1, x, x + 1.
                let n = above[x]
                    + above[x + 1]
                    + above[x + 2]
                    + here[x]
                    + here[x + 2]
                    + below[x]
                    + below[x + 1]
                    + below[x + 2];
                let alive = here[x + 1] != 0;
                *cell = u8::from(n == 3 || (alive && n == 2));
            }
        }
        next
    }

    /// `generations` steps.
    pub fn run(&self, edges: RefEdges, generations: u64) -> RefBoard {
        let mut b = self.clone();
        for _ in 0..generations {
            b = b.step(edges);
        }
        b
    }

    pub fn population(&self) -> u64 {
        self.cells.iter().map(|&c| u64::from(c != 0)).sum()
    }

    /// The live cells as (x, y), sorted row-major (by y, then x).
    pub fn live(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for y in 0..self.height {
            for x in 0..self.width {
                if self.cells[y * self.width + x] != 0 {
                    out.push((x, y));
                }
            }
        }
        out
    }

    /// Same scheme as the product's `Board::digest`: SHA-256 over the width
    /// and the height (u32 big-endian each), then each row as
    /// `ceil(width / 8)` bytes with cell x in bit `x % 8` of byte `x / 8`
    /// (least significant bit first). Lowercase hex.
    pub fn digest(&self) -> String {
        let mut h = Sha256::new();
        h.update(u32::try_from(self.width).expect("width fits in u32").to_be_bytes());
        h.update(u32::try_from(self.height).expect("height fits in u32").to_be_bytes());
        let row_bytes = self.width.div_ceil(8);
        let mut buf = vec![0u8; row_bytes];
        for y in 0..self.height {
            buf.iter_mut().for_each(|b| *b = 0);
            for x in 0..self.width {
                if self.get(x, y) {
                    buf[x / 8] |= 1 << (x % 8);
                }
            }
            h.update(&buf);
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A random board from a seed. The generator is xorshift64* (shifts 12,
    /// 25, 27; multiplier 0x2545F4914F6CDD1D) started from `seed`, or from
    /// 0x9E3779B97F4A7C15 when `seed` is 0 (xorshift stays at 0 forever).
    /// Cells are visited row-major; a cell is alive when the next value's
    /// top 53 bits divided by 2^53 are below `density`.
    pub fn random(width: usize, height: usize, density: f64, seed: u64) -> RefBoard {
        let mut state = if seed == 0 { 0x9E37_79B9_7F4A_7C15 } else { seed };
        let mut next = move || {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_F491_4F6C_DD1D)
        };
        let mut b = RefBoard::new(width, height);
        for c in b.cells.iter_mut() {
            let u = (next() >> 11) as f64 / (1u64 << 53) as f64;
            *c = u8::from(u < density);
        }
        b
    }

    /// A `width` x `height` board with `cells` (pattern coordinates, x
    /// right, y down) placed so that the pattern's `pw` x `ph` bounding box
    /// is centred: pattern cell (x, y) lands on
    /// (x + (width - pw) / 2, y + (height - ph) / 2).
    pub fn with_centered(width: usize, height: usize, pw: usize, ph: usize, cells: &[(usize, usize)]) -> RefBoard {
        assert!(pw <= width && ph <= height, "a {pw}x{ph} pattern does not fit on a {width}x{height} board");
        let (ox, oy) = ((width - pw) / 2, (height - ph) / 2);
        let mut b = RefBoard::new(width, height);
        for &(x, y) in cells {
            assert!(x < pw && y < ph, "pattern cell ({x}, {y}) is outside its {pw}x{ph} bounding box");
            b.set(ox + x, oy + y, true);
        }
        b
    }

    /// The board translated by (dx, dy) (x right, y down), wrapping around
    /// the edges: cell (x, y) moves to ((x + dx) mod width, (y + dy) mod
    /// height).
    pub fn shifted(&self, dx: isize, dy: isize) -> RefBoard {
        let (w, h) = (self.width, self.height);
        let mut out = RefBoard::new(w, h);
        if w == 0 || h == 0 {
            return out;
        }
        let sx = dx.rem_euclid(w as isize) as usize;
        let sy = dy.rem_euclid(h as isize) as usize;
        for y in 0..h {
            for x in 0..w {
                out.cells[((y + sy) % h) * w + (x + sx) % w] = self.cells[y * w + x];
            }
        }
        out
    }
}

/// Parses a minimal RLE into (width, height, live cells as (x, y)).
///
/// Accepted: `#` comment lines (ignored); one header line
/// `x = W, y = H` optionally followed by `, rule = B3/S23`; then a body of
/// `b` (dead), `o` (alive), `$` (end of row) and `!` (end of pattern), each
/// optionally preceded by a run count, with whitespace and line breaks
/// anywhere between items. Anything after `!` is ignored. Anything else
/// (other states, other rules, cells outside the declared size, a missing
/// `!`) panics with a message saying what is wrong: this is for test data
/// only.
#[allow(dead_code)]
pub fn rle_cells(rle: &str) -> (usize, usize, Vec<(usize, usize)>) {
    let mut lines = rle.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#'));
    let header = lines.next().unwrap_or_else(|| panic!("RLE has no header line: {rle:?}"));
    let (mut width, mut height) = (None, None);
    // Golly's bounded-grid suffix (`:T100,30`) has a comma of its own: the
    // rule is the rest of the line.
    let (header, rule) = match header.split_once("rule") {
        Some((head, rule)) => (head.trim_end().trim_end_matches(','), Some(rule.trim_start().trim_start_matches('='))),
        None => (header, None),
    };
    if let Some(rule) = rule {
        let rule = rule.trim();
        let life = rule.split(':').next().unwrap_or("");
        assert!(life.eq_ignore_ascii_case("B3/S23") || life == "23/3", "RLE rule {rule:?} is not B3/S23");
    }
    for field in header.split(',') {
        let (key, value) =
            field.split_once('=').unwrap_or_else(|| panic!("RLE header field {field:?} is not `key = value`"));
        let (key, value) = (key.trim(), value.trim());
        match key {
            "x" => width = Some(value.parse::<usize>().unwrap_or_else(|e| panic!("RLE header x = {value:?}: {e}"))),
            "y" => height = Some(value.parse::<usize>().unwrap_or_else(|e| panic!("RLE header y = {value:?}: {e}"))),
            _ => panic!("RLE header has an unknown field {key:?} in {header:?}"),
        }
    }
    let width = width.unwrap_or_else(|| panic!("RLE header {header:?} has no x"));
    let height = height.unwrap_or_else(|| panic!("RLE header {header:?} has no y"));

    let mut cells = Vec::new();
    let (mut x, mut y) = (0usize, 0usize);
    let mut count: Option<usize> = None;
    let mut finished = false;
    'body: for line in lines {
        for c in line.chars() {
            match c {
                '0'..='9' => {
                    let d = c as usize - '0' as usize;
                    count = Some(count.unwrap_or(0) * 10 + d);
                    assert!(count != Some(0), "RLE run count starting with 0 in line {line:?}");
                }
                'b' | 'o' | '$' => {
                    let n = count.take().unwrap_or(1);
                    match c {
                        'b' => x += n,
                        'o' => {
                            for _ in 0..n {
                                assert!(
                                    x < width && y < height,
                                    "RLE cell ({x}, {y}) is outside the declared {width}x{height}"
                                );
                                cells.push((x, y));
                                x += 1;
                            }
                        }
                        _ => {
                            y += n;
                            x = 0;
                        }
                    }
                    assert!(x <= width, "RLE row {y} runs past the declared width {width}");
                }
                '!' => {
                    assert!(count.is_none(), "RLE run count before `!` in line {line:?}");
                    finished = true;
                    break 'body;
                }
                c if c.is_whitespace() => {
                    assert!(count.is_none(), "RLE whitespace inside a run count in line {line:?}");
                }
                _ => panic!("RLE body has an unsupported character {c:?} in line {line:?}"),
            }
        }
    }
    assert!(finished, "RLE body has no terminating `!`: {rle:?}");
    (width, height, cells)
}

/// A known pattern.
#[allow(dead_code)]
#[derive(Clone, Debug)]
pub struct Known {
    pub name: &'static str,
    /// As written here the LWSS, MWSS and HWSS travel left and the glider
    /// down and right (see `Kind::Spaceship`).
    pub rle: &'static str,
    pub kind: Kind,
}

#[allow(dead_code)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Unchanged after one generation.
    StillLife,
    /// Back to itself after `period` generations and not earlier.
    Oscillator { period: u64 },
    /// After `period` generations equals itself shifted by (dx, dy) (x
    /// right, y down), for the orientation of its RLE.
    Spaceship { period: u64, dx: isize, dy: isize },
    /// LifeWiki's numbers: the generation at which it stabilises and the
    /// final population (escaping gliders included).
    Methuselah { lifespan: u64, final_population: u64 },
}

#[allow(dead_code)]
impl Known {
    /// (width, height, live cells) of the pattern.
    pub fn cells(&self) -> (usize, usize, Vec<(usize, usize)>) {
        rle_cells(self.rle)
    }

    /// The pattern centred on a `width` x `height` board
    /// (see [`RefBoard::with_centered`]).
    pub fn board(&self, width: usize, height: usize) -> RefBoard {
        let (pw, ph, cells) = self.cells();
        RefBoard::with_centered(width, height, pw, ph, &cells)
    }
}

/// The catalogue of known patterns.
#[allow(dead_code)]
pub fn catalogue() -> Vec<Known> {
    use Kind::*;
    vec![
        Known { name: "block", rle: "x = 2, y = 2\n2o$2o!", kind: StillLife },
        Known { name: "beehive", rle: "x = 4, y = 3\nb2ob$o2bo$b2ob!", kind: StillLife },
        Known { name: "loaf", rle: "x = 4, y = 4\nb2ob$o2bo$bobo$2bob!", kind: StillLife },
        Known { name: "boat", rle: "x = 3, y = 3\n2ob$obo$bob!", kind: StillLife },
        Known { name: "blinker", rle: "x = 3, y = 1\n3o!", kind: Oscillator { period: 2 } },
        Known { name: "toad", rle: "x = 4, y = 2\nb3o$3ob!", kind: Oscillator { period: 2 } },
        Known { name: "beacon", rle: "x = 4, y = 4\n2o2b$2o2b$2b2o$2b2o!", kind: Oscillator { period: 2 } },
        Known {
            name: "pulsar",
            rle: "x = 13, y = 13\n\
                  2b3o3b3o2b2$\
                  o4bobo4bo$o4bobo4bo$o4bobo4bo$\
                  2b3o3b3o2b2$\
                  2b3o3b3o2b$\
                  o4bobo4bo$o4bobo4bo$o4bobo4bo2$\
                  2b3o3b3o!",
            kind: Oscillator { period: 3 },
        },
        Known {
            name: "pentadecathlon",
            rle: "x = 10, y = 3\n2bo4bo2b$2ob4ob2o$2bo4bo2b!",
            kind: Oscillator { period: 15 },
        },
        Known { name: "glider", rle: "x = 3, y = 3\nbob$2bo$3o!", kind: Spaceship { period: 4, dx: 1, dy: 1 } },
        Known { name: "lwss", rle: "x = 5, y = 4\nbo2bo$o4b$o3bo$4ob!", kind: Spaceship { period: 4, dx: -2, dy: 0 } },
        Known {
            name: "mwss",
            rle: "x = 6, y = 5\n3bo2b$bo3bo$o5b$o4bo$5ob!",
            kind: Spaceship { period: 4, dx: -2, dy: 0 },
        },
        Known {
            name: "hwss",
            rle: "x = 7, y = 5\n3b2o2b$bo4bo$o6b$o5bo$6ob!",
            kind: Spaceship { period: 4, dx: -2, dy: 0 },
        },
        // Checked on a 512x512 torus: population 116 from generation 1103
        // on (1103..=1110 checked), and generation 1102 != 1103.
        Known {
            name: "r-pentomino",
            rle: "x = 3, y = 3\nb2o$2ob$bob!",
            kind: Methuselah { lifespan: 1103, final_population: 116 },
        },
        // Checked on a 64x64 torus: population 0 at generation 130, not at 129.
        Known {
            name: "diehard",
            rle: "x = 8, y = 3\n6bob$2o6b$bo3b3o!",
            kind: Methuselah { lifespan: 130, final_population: 0 },
        },
        // Checked (release build, once, about 100 s) on a 2048x2048 torus:
        // population 635 at generation 5205, 633 at 5206 and still 633 at
        // 5207..=5214, and 5205 != 5206. Too big for a debug-build test. A
        // 1024x1024 torus is too small: its gliders wrap round into the
        // debris (population 620 at 5206).
        Known {
            name: "acorn",
            rle: "x = 7, y = 3\nbo5b$3bo3b$2o2b3o!",
            kind: Methuselah { lifespan: 5206, final_population: 633 },
        },
    ]
}
