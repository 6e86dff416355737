//! The `pisubmit status` grid: one tile per worker host, coloured by SoC temperature and laid
//! out to fit the terminal.
//!
//! This module owns only the drawing: a pure function from tiles and a terminal size to a
//! string. Probing the hosts, sorting them, and deciding whether colour is wanted (a pipe,
//! `NO_COLOR`) belong to the caller.
//!
//! The colour map is the lab's original Tkinter wall display's, reproduced exactly so that the
//! wall and the terminal agree: blue at 40 °C, green at 50, yellow at 60, red from 70 on.
//!
//! The output is a header line, the grid, and two legend lines, each line ending in `\n`. The
//! grid uses the largest of three tile sizes whose grid fits the width and the height left by
//! those three lines; if not even the smallest fits, the grid runs past the height rather than
//! leave a host out. Every char is counted as one column: true for the ASCII, Latin and Greek
//! names we meet, not for wide CJK or emoji names, which would misalign their row.
//!
//! Here: the layout (which density fits, tiles into rows); `tile` draws one tile, `legend`
//! the lines around the grid, `text` fits text to columns and `colours` holds the map.

mod colours;
mod legend;
mod text;
mod tile;
mod web_face;

pub use colours::temp_rgb;
pub use tile::{Tile, TileState};
pub use web_face::{web_face, WebFace};

use colours::Style;
use legend::{attention, attention_lines, header, legend_marks, legend_scale};
use text::Line;
use tile::{tile_lines, tile_style, Density};

/// Terminal size in character cells.
#[derive(Clone, Copy, Debug)]
pub struct TermSize {
    pub cols: u16,
    pub rows: u16,
}

/// Lines the grid leaves free: the header above it and the two legend lines below.
const RESERVED_LINES: usize = 3;
/// Blank columns between tiles, so that two tiles of the same colour stay apart.
const GAP: usize = 1;

/// Renders the grid. `colour` false: no escape codes at all (pipes, NO_COLOR, snapshot tests);
/// then colour is replaced by a one-character temperature band letter and the marks stay.
pub fn render(tiles: &[Tile], size: TermSize, colour: bool) -> String {
    let cols = usize::from(size.cols);
    let plan = plan(tiles.len(), size);
    let mut lines = vec![Line::text(header(tiles))];
    lines.extend(grid(tiles, &plan, colour));
    if plan.density == Density::Tiny {
        // Tiny tiles carry no names, so the lines the grid leaves over name the hosts that
        // need someone to walk over to the shelf.
        let room = room_for_grid(size).saturating_sub(plan.grid_lines);
        lines.extend(attention_lines(&attention(tiles), cols, room).into_iter().map(Line::text));
    }
    lines.push(legend_marks(cols));
    lines.push(legend_scale(colour, cols));

    let mut out = String::new();
    for line in lines {
        line.write(cols, colour, &mut out);
        out.push('\n');
    }
    out
}

/// The chosen density and the grid it gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Plan {
    density: Density,
    columns: usize,
    grid_lines: usize,
}

impl Plan {
    fn new(density: Density, hosts: usize, cols: usize) -> Plan {
        // n tiles take n * (width + GAP) - GAP columns: no gap after the last one.
        let columns = ((cols + GAP) / (density.width() + GAP)).max(1);
        let tile_rows = hosts.div_ceil(columns);
        let pitch = density.height() + density.gap_lines();
        let grid_lines = (tile_rows * pitch).saturating_sub(density.gap_lines());
        Plan { density, columns, grid_lines }
    }
}

fn room_for_grid(size: TermSize) -> usize {
    usize::from(size.rows).saturating_sub(RESERVED_LINES)
}

/// The largest density whose grid fits; tiny tiles overflowing the height if none does.
fn plan(hosts: usize, size: TermSize) -> Plan {
    let cols = usize::from(size.cols);
    Density::ALL
        .iter()
        .map(|&density| Plan::new(density, hosts, cols))
        .find(|plan| plan.density.width() <= cols && plan.grid_lines <= room_for_grid(size))
        .unwrap_or_else(|| Plan::new(Density::Tiny, hosts, cols))
}

fn grid(tiles: &[Tile], plan: &Plan, colour: bool) -> Vec<Line> {
    let density = plan.density;
    let mut lines = Vec::new();
    for (row, row_tiles) in tiles.chunks(plan.columns).enumerate() {
        if row > 0 {
            lines.extend((0..density.gap_lines()).map(|_| Line::default()));
        }
        let texts: Vec<(Vec<String>, Style)> =
            row_tiles.iter().map(|tile| (tile_lines(tile, density, colour), tile_style(tile))).collect();
        for i in 0..density.height() {
            let mut line = Line::default();
            for (j, (text, style)) in texts.iter().enumerate() {
                if j > 0 {
                    line.push(" ".repeat(GAP), None);
                }
                line.push(text[i].clone(), Some(*style));
            }
            lines.push(line);
        }
    }
    lines
}

// ---- One tile --------------------------------------------------------------------------

#[cfg(test)]
mod tests;
