//! One tile: what a host's state says (its reading, its marks, its band) and the tile's
//! lines at each density.

use super::colours::{band_letter, temp_rgb, Style, DOWN_STYLE, NO_SENSOR_BG};
use super::text::{clean, columns, fit, fit_name, truncate};

#[derive(Clone, Debug, PartialEq)]
pub enum TileState {
    Up,
    Unreachable,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Tile {
    /// Host name (or address) as shown.
    pub name: String,
    pub state: TileState,
    /// None: no sensor, or unreachable.
    pub temp_c: Option<f32>,
    /// 1-minute load average.
    pub load1: Option<f32>,
    /// Cores, to show the load relative to them.
    pub threads: Option<u16>,
    /// Firmware says: throttled or frequency capped now.
    pub throttled_now: bool,
    /// Firmware says: under-voltage now.
    pub under_voltage_now: bool,
    /// Throttled since boot, but not now.
    pub throttled_before: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Density {
    /// Name, temperature and marks, load.
    Large,
    /// Name; temperature and the most urgent mark.
    Compact,
    /// A coloured square and the most urgent mark: the whole lab on one screen.
    Tiny,
}

impl Density {
    /// Largest first: the first that fits is the one drawn.
    pub(super) const ALL: [Density; 3] = [Density::Large, Density::Compact, Density::Tiny];

    /// Columns of a tile, without the gap.
    pub(super) fn width(self) -> usize {
        match self {
            Density::Large => 15,
            // Ten: a whole "pi-r01-n01" or "10.0.0.123".
            Density::Compact => 10,
            // Two columns: a terminal cell is about twice as tall as wide, so this is square.
            Density::Tiny => 2,
        }
    }

    /// Lines of a tile, without the gap.
    pub(super) fn height(self) -> usize {
        match self {
            Density::Large => 3,
            Density::Compact => 2,
            Density::Tiny => 1,
        }
    }

    /// Blank lines between rows of tiles: multi-line tiles need one to show where a tile
    /// ends; one-line squares are told apart by the gap column alone.
    pub(super) fn gap_lines(self) -> usize {
        match self {
            Density::Large | Density::Compact => 1,
            Density::Tiny => 0,
        }
    }
}

impl Tile {
    pub(super) fn is_up(&self) -> bool {
        self.state == TileState::Up
    }

    /// The temperature to show: none from a host that is down (a stale value would look
    /// live) nor a NaN from a confused sensor.
    pub(super) fn reading(&self) -> Option<f32> {
        self.temp_c.filter(|t| self.is_up() && t.is_finite())
    }

    /// The marks, most urgent first.
    pub(super) fn marks(&self) -> String {
        if !self.is_up() {
            return "X".to_string();
        }
        let mut marks = String::new();
        if self.under_voltage_now {
            marks.push('V');
        }
        if self.throttled_now {
            marks.push('T');
        } else if self.throttled_before {
            // Only worth a mark when it is not happening now.
            marks.push('t');
        }
        marks
    }

    /// The one mark that fits a small tile, or a space.
    pub(super) fn top_mark(&self) -> char {
        self.marks().chars().next().unwrap_or(' ')
    }

    /// The temperature band letter; '-' without a reading; blank when down, as "X" says it.
    pub(super) fn band(&self) -> char {
        match (self.is_up(), self.reading()) {
            (false, _) => ' ',
            (true, Some(t)) => band_letter(t),
            (true, None) => '-',
        }
    }
}

pub(super) fn tile_style(tile: &Tile) -> Style {
    match (tile.is_up(), tile.reading()) {
        (false, _) => DOWN_STYLE,
        (true, Some(t)) => Style::on(temp_rgb(t)),
        (true, None) => Style::on(NO_SENSOR_BG),
    }
}

/// The tile's lines, each exactly `density.width()` chars.
pub(super) fn tile_lines(tile: &Tile, density: Density, colour: bool) -> Vec<String> {
    let width = density.width();
    let name = || fit_name(&clean(&tile.name), width);
    match density {
        Density::Large => {
            let third = if tile.is_up() { load_text(tile) } else { "unreachable".to_string() };
            vec![name(), beside(&temp_texts(tile, density, colour), &tile.marks(), width), fit(&third, width)]
        }
        Density::Compact => {
            vec![name(), beside(&temp_texts(tile, density, colour), &tile.top_mark().to_string(), width)]
        }
        // In colour the square itself is the temperature; only the mark is written on it.
        Density::Tiny if colour => vec![format!(" {}", tile.top_mark())],
        Density::Tiny => vec![format!("{}{}", tile.band(), tile.top_mark())],
    }
}

/// Ways to write the temperature, longest first, for `beside` to take the first that fits.
fn temp_texts(tile: &Tile, density: Density, colour: bool) -> Vec<String> {
    let texts: Vec<String> = match (tile.is_up(), tile.reading()) {
        (false, _) => return vec!["DOWN".to_string()],
        (true, Some(t)) if density == Density::Large => {
            vec![format!("{t:.1}°C"), format!("{t:.0}°C"), format!("{t:.0}")]
        }
        (true, Some(t)) => vec![format!("{t:.0}°C"), format!("{t:.0}")],
        (true, None) => vec!["no sensor".to_string(), "n/a".to_string()],
    };
    if colour {
        return texts;
    }
    // Without colour the band letter stands in for it, spaced off when there is room.
    let band = tile.band();
    let spaced = texts.iter().map(|t| format!("{band} {t}"));
    let tight = texts.iter().map(|t| format!("{band}{t}"));
    spaced.chain(tight).collect()
}

fn load_text(tile: &Tile) -> String {
    let Some(load) = tile.load1.filter(|l| l.is_finite()) else {
        return "load n/a".to_string();
    };
    // Fewer decimals as the integer part grows, so that a busy 64-core host still fits.
    let load = if load < 9.995 {
        format!("{load:.2}")
    } else if load < 99.95 {
        format!("{load:.1}")
    } else {
        format!("{load:.0}")
    };
    match tile.threads {
        Some(threads) => format!("load {load}/{threads}"),
        None => format!("load {load}"),
    }
}

/// The first of `texts` that fits with `marks` after it, padded to exactly `width`. The marks
/// follow the text rather than sit at the tile's right edge: without colour, a mark there
/// would read as belonging to the next tile.
fn beside(texts: &[String], marks: &str, width: usize) -> String {
    let marks = marks.trim_end();
    let room = if marks.is_empty() { width } else { width.saturating_sub(columns(marks) + 1) };
    let text = texts.iter().find(|t| columns(t) <= room).or(texts.last()).map_or(String::new(), |t| truncate(t, room));
    if marks.is_empty() {
        fit(&text, width)
    } else {
        fit(&format!("{text} {marks}"), width)
    }
}
