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

use std::fmt::Write as _;

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

/// Terminal size in character cells.
#[derive(Clone, Copy, Debug)]
pub struct TermSize {
    pub cols: u16,
    pub rows: u16,
}

type Rgb = (u8, u8, u8);

/// Lines the grid leaves free: the header above it and the two legend lines below.
const RESERVED_LINES: usize = 3;
/// Blank columns between tiles, so that two tiles of the same colour stay apart.
const GAP: usize = 1;

/// No reading (no sensor, e.g. a VM): a grey that no temperature maps to.
const NO_SENSOR_BG: Rgb = (150, 150, 150);
/// Unreachable: dark, so a dead host reads as a hole in the wall, yet lighter than a black
/// terminal so the hole keeps its shape; its text in light red, which no other tile uses.
const DOWN_BG: Rgb = (64, 64, 64);
const DOWN_FG: Rgb = (255, 120, 120);
const DOWN_STYLE: Style = Style { bg: DOWN_BG, fg: DOWN_FG };
const BLACK: Rgb = (0, 0, 0);
const WHITE: Rgb = (255, 255, 255);

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

/// The RGB of a temperature: the wall display's map, with t = (clamp(temp, 40, 80) - 40) / 40,
///
/// ```text
/// if t < 0.25: r=0; g=int(255*(t/0.25)); b=255-g
/// elif t < 0.5: r=int(255*((t-0.25)/0.25)); g=255; b=0
/// elif t < 0.75: r=255; g=int(255*(1-((t-0.5)/0.25))); b=0
/// else: r=255; g=0; b=0
/// ```
pub fn temp_rgb(temp_c: f32) -> (u8, u8, u8) {
    let t = scale_position(temp_c);
    // `as u8` truncates toward zero like the seed's int(); every value here is in 0..=255.
    if t < 0.25 {
        let g = (255.0 * (t / 0.25)) as u8;
        (0, g, 255 - g)
    } else if t < 0.5 {
        ((255.0 * ((t - 0.25) / 0.25)) as u8, 255, 0)
    } else if t < 0.75 {
        (255, (255.0 * (1.0 - ((t - 0.5) / 0.25))) as u8, 0)
    } else {
        // NaN fails every comparison above and lands here too: never a reassuring colour.
        (255, 0, 0)
    }
}

/// Where a temperature sits on the 40..80 °C scale, 0..=1. In f64 like the seed's Python
/// floats, so that the truncations in `temp_rgb` land on the same integers.
fn scale_position(temp_c: f32) -> f64 {
    (f64::from(temp_c).clamp(40.0, 80.0) - 40.0) / 40.0
}

/// The plain-text stand-in for the colour: one letter per segment of `temp_rgb`'s map.
fn band_letter(temp_c: f32) -> char {
    let t = scale_position(temp_c);
    if t < 0.25 {
        'B'
    } else if t < 0.5 {
        'G'
    } else if t < 0.75 {
        'Y'
    } else {
        'R'
    }
}

// ---- Layout ----------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Density {
    /// Name, temperature and marks, load.
    Large,
    /// Name; temperature and the most urgent mark.
    Compact,
    /// A coloured square and the most urgent mark: the whole lab on one screen.
    Tiny,
}

impl Density {
    /// Largest first: the first that fits is the one drawn.
    const ALL: [Density; 3] = [Density::Large, Density::Compact, Density::Tiny];

    /// Columns of a tile, without the gap.
    fn width(self) -> usize {
        match self {
            Density::Large => 15,
            // Ten: a whole "pi-r01-n01" or "10.0.0.123".
            Density::Compact => 10,
            // Two columns: a terminal cell is about twice as tall as wide, so this is square.
            Density::Tiny => 2,
        }
    }

    /// Lines of a tile, without the gap.
    fn height(self) -> usize {
        match self {
            Density::Large => 3,
            Density::Compact => 2,
            Density::Tiny => 1,
        }
    }

    /// Blank lines between rows of tiles: multi-line tiles need one to show where a tile
    /// ends; one-line squares are told apart by the gap column alone.
    fn gap_lines(self) -> usize {
        match self {
            Density::Large | Density::Compact => 1,
            Density::Tiny => 0,
        }
    }
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

impl Tile {
    fn is_up(&self) -> bool {
        self.state == TileState::Up
    }

    /// The temperature to show: none from a host that is down (a stale value would look
    /// live) nor a NaN from a confused sensor.
    fn reading(&self) -> Option<f32> {
        self.temp_c.filter(|t| self.is_up() && t.is_finite())
    }

    /// The marks, most urgent first.
    fn marks(&self) -> String {
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
    fn top_mark(&self) -> char {
        self.marks().chars().next().unwrap_or(' ')
    }

    /// The temperature band letter; '-' without a reading; blank when down, as "X" says it.
    fn band(&self) -> char {
        match (self.is_up(), self.reading()) {
            (false, _) => ' ',
            (true, Some(t)) => band_letter(t),
            (true, None) => '-',
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Style {
    bg: Rgb,
    fg: Rgb,
}

impl Style {
    fn on(bg: Rgb) -> Style {
        Style { bg, fg: contrasting(bg) }
    }
}

/// Black text on light backgrounds, white on dark ones. Luma from the gamma-encoded values
/// (Rec. 709 weights) rather than true luminance: it keeps white on the pure red of a hot
/// host, which reads better there than the black that true luminance would choose.
fn contrasting((r, g, b): Rgb) -> Rgb {
    let luma = 0.2126 * f32::from(r) + 0.7152 * f32::from(g) + 0.0722 * f32::from(b);
    if luma >= 128.0 {
        BLACK
    } else {
        WHITE
    }
}

fn tile_style(tile: &Tile) -> Style {
    match (tile.is_up(), tile.reading()) {
        (false, _) => DOWN_STYLE,
        (true, Some(t)) => Style::on(temp_rgb(t)),
        (true, None) => Style::on(NO_SENSOR_BG),
    }
}

/// The tile's lines, each exactly `density.width()` chars.
fn tile_lines(tile: &Tile, density: Density, colour: bool) -> Vec<String> {
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

// ---- Text helpers ----------------------------------------------------------------------

/// Columns taken by a string: one per char (see the module comment).
fn columns(s: &str) -> usize {
    s.chars().count()
}

/// Host names come from files and DNS: a control char (an escape above all) would take
/// over the terminal, so it is shown as '?'.
fn clean(name: &str) -> String {
    name.chars().map(|c| if c.is_control() { '?' } else { c }).collect()
}

/// At most `width` columns, ending in "…" when cut.
fn truncate(s: &str, width: usize) -> String {
    if columns(s) <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut cut: String = s.chars().take(width - 1).collect();
    cut.push('…');
    cut
}

/// A name in exactly `width` columns. A name too long loses its domain first, then its
/// beginning: the names of a lab share their beginning ("pi-r01-") and differ at the end, so
/// "…r01-n07" still says which host.
fn fit_name(name: &str, width: usize) -> String {
    if columns(name) <= width {
        return fit(name, width);
    }
    // An address ("10.0.0.12", "10.0.0.12:7070", IPv6) has no domain to drop: its last
    // numbers are what tell hosts apart. A host name's first label has a letter.
    let name = match name.split_once('.') {
        Some((host, _)) if host.chars().any(char::is_alphabetic) && !host.contains(':') => host,
        _ => name,
    };
    let count = columns(name);
    if count <= width {
        return fit(name, width);
    }
    if width == 0 {
        return String::new();
    }
    let mut cut = String::from('…');
    cut.extend(name.chars().skip(count - (width - 1)));
    cut
}

/// Exactly `width` columns: truncated or padded with spaces.
fn fit(s: &str, width: usize) -> String {
    let mut s = truncate(s, width);
    let pad = width - columns(&s);
    s.push_str(&" ".repeat(pad));
    s
}

/// One output line as styled spans, so that its width can be counted and cut before any
/// escape code is written.
#[derive(Default)]
struct Line {
    spans: Vec<(String, Option<Style>)>,
}

impl Line {
    fn text(text: String) -> Line {
        Line { spans: vec![(text, None)] }
    }

    fn push(&mut self, text: String, style: Option<Style>) {
        self.spans.push((text, style));
    }

    /// Writes the line cut to `cols` columns (ending in "…" when cut). Each styled span
    /// resets the colours after itself, so nothing bleeds into gaps or past the line's end.
    fn write(mut self, cols: usize, colour: bool, out: &mut String) {
        // Blanks with no background are invisible at the end of a line; dropping them keeps
        // snapshots free of trailing whitespace. Without colour nothing has a background.
        while let Some((text, style)) = self.spans.last_mut() {
            if colour && style.is_some() {
                break;
            }
            text.truncate(text.trim_end_matches(' ').len());
            if !text.is_empty() {
                break;
            }
            self.spans.pop();
        }
        let total: usize = self.spans.iter().map(|(text, _)| columns(text)).sum();
        let cut = total > cols;
        let mut budget = if cut { cols.saturating_sub(1) } else { total };
        for (text, style) in &self.spans {
            if budget == 0 {
                break;
            }
            let shown: String = text.chars().take(budget).collect();
            budget -= columns(&shown);
            match style {
                Some(Style { bg: (r, g, b), fg: (fr, fg, fb) }) if colour => {
                    let _ = write!(out, "\x1b[48;2;{r};{g};{b}m\x1b[38;2;{fr};{fg};{fb}m{shown}\x1b[0m");
                }
                _ => out.push_str(&shown),
            }
        }
        if cut && cols > 0 {
            out.push('…');
        }
    }
}

// ---- Header, legend and the attention list ---------------------------------------------

fn header(tiles: &[Tile]) -> String {
    let hosts = tiles.len();
    let up = tiles.iter().filter(|t| t.is_up()).count();
    let plural = if hosts == 1 { "" } else { "s" };
    // The first of equally hot hosts, so that the same input gives the same line.
    let hottest = tiles.iter().filter_map(|t| Some((t.reading()?, t))).fold(None, |best, (temp, tile)| match best {
        Some((hotter, _)) if hotter >= temp => best,
        _ => Some((temp, tile)),
    });
    let hottest = match hottest {
        Some((temp, tile)) => format!("hottest {temp:.1}°C ({})", clean(&tile.name)),
        None => "hottest n/a".to_string(),
    };
    let loads: Vec<f64> =
        tiles.iter().filter(|t| t.is_up()).filter_map(|t| t.load1).filter(|l| l.is_finite()).map(f64::from).collect();
    let load = if loads.is_empty() {
        "n/a".to_string()
    } else {
        format!("{:.2}", loads.iter().sum::<f64>() / loads.len() as f64)
    };
    format!("{hosts} host{plural}, {up} up, {} down, {hottest}, mean load {load}", hosts - up)
}

/// What the marks mean, as long as the width allows.
fn legend_marks(cols: usize) -> Line {
    longest_fitting(
        &[
            "T throttled now  V under-voltage now  t throttled since boot  X unreachable",
            "T throttled  V under-voltage  t throttled earlier  X down",
            "T throttled V undervolt t earlier X down",
        ],
        cols,
    )
}

/// The colour scale: a labelled gradient in colour, the band letters without.
fn legend_scale(colour: bool, cols: usize) -> Line {
    if !colour {
        return longest_fitting(
            &["B <50°C  G 50-60°C  Y 60-70°C  R 70+°C  - no sensor", "B<50 G50-60 Y60-70 R70+ °C -none"],
            cols,
        );
    }
    let mut line = Line::default();
    for temp in (40..=80).step_by(5) {
        line.push(format!("{temp:>3}"), Some(Style::on(temp_rgb(temp as f32))));
    }
    line.push(" °C  ".to_string(), None);
    line.push(" no sensor ".to_string(), Some(Style::on(NO_SENSOR_BG)));
    line.push(" ".to_string(), None);
    line.push(" X down ".to_string(), Some(DOWN_STYLE));
    line
}

/// The first wording that fits, else the last one, for the line's cut to shorten.
fn longest_fitting(wordings: &[&str], cols: usize) -> Line {
    let text = wordings.iter().find(|w| columns(w) <= cols).or(wordings.last()).copied().unwrap_or_default();
    Line::text(text.to_string())
}

/// One kind of trouble and the hosts that have it.
struct Attention {
    label: &'static str,
    entries: Vec<String>,
}

/// The kinds of trouble, most urgent first, leaving out those no host has.
fn attention(tiles: &[Tile]) -> Vec<Attention> {
    let names = |pick: fn(&Tile) -> bool| tiles.iter().filter(|t| pick(t)).map(|t| clean(&t.name)).collect::<Vec<_>>();
    let mut hot: Vec<(f32, &Tile)> = tiles.iter().filter_map(|t| Some((t.reading()?, t))).collect();
    // A stable sort: equally hot hosts stay in the caller's order.
    hot.sort_by(|a, b| b.0.total_cmp(&a.0));
    let hottest = hot.iter().take(3).map(|(temp, t)| format!("{} {temp:.1}°C", clean(&t.name))).collect();
    let kinds = [
        Attention { label: "X down:", entries: names(|t| !t.is_up()) },
        Attention { label: "V under-voltage:", entries: names(|t| t.is_up() && t.under_voltage_now) },
        Attention { label: "T throttled:", entries: names(|t| t.is_up() && t.throttled_now) },
        Attention { label: "hottest:", entries: hottest },
        Attention {
            label: "t throttled earlier:",
            entries: names(|t| t.is_up() && t.throttled_before && !t.throttled_now),
        },
    ];
    kinds.into_iter().filter(|k| !k.entries.is_empty()).collect()
}

/// The attention list in at most `room` lines: each kind gets a line before any kind gets a
/// second, so a long list of one kind cannot push the others out.
fn attention_lines(kinds: &[Attention], cols: usize, room: usize) -> Vec<String> {
    let wanted: Vec<usize> = kinds.iter().map(|k| wrap(k, cols, usize::MAX).len()).collect();
    let mut given = vec![0; kinds.len()];
    let mut left = room;
    for g in given.iter_mut().take(left) {
        *g = 1;
        left -= 1;
    }
    for (g, want) in given.iter_mut().zip(&wanted) {
        let more = want.saturating_sub(*g).min(if *g > 0 { left } else { 0 });
        *g += more;
        left -= more;
    }
    kinds.iter().zip(given).flat_map(|(kind, lines)| wrap(kind, cols, lines)).collect()
}

/// A kind's entries after its label, wrapped to `cols` in at most `max_lines` lines; the
/// last line says how many did not fit ("+N more").
fn wrap(kind: &Attention, cols: usize, max_lines: usize) -> Vec<String> {
    let mut lines = Vec::new();
    if max_lines == 0 {
        return lines;
    }
    let indent = " ".repeat(columns(kind.label));
    let mut line = kind.label.to_string();
    let mut on_line = 0;
    let mut i = 0;
    while i < kind.entries.len() {
        // Two spaces between names rather than a comma, which would dangle at a wrap.
        let piece = format!("{}{}", if on_line == 0 { " " } else { "  " }, kind.entries[i]);
        let last_line = lines.len() + 1 == max_lines;
        let after = kind.entries.len() - i - 1;
        let reserve = if last_line && after > 0 { columns(&format!(" +{after} more")) } else { 0 };
        // A line takes at least one entry, however long: the line's cut shortens it.
        if on_line == 0 || columns(&line) + columns(&piece) + reserve <= cols {
            line.push_str(&piece);
            on_line += 1;
            i += 1;
        } else if last_line {
            let _ = write!(line, " +{} more", kind.entries.len() - i);
            break;
        } else {
            lines.push(std::mem::replace(&mut line, indent.clone()));
            on_line = 0;
        }
    }
    lines.push(line);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A varied, deterministic lab: racks of 20, some long or non-ASCII names, temperatures
    /// spread over 35..85 °C, some hosts down, without a sensor, throttled or under-voltage.
    fn sample_tiles(n: usize) -> Vec<Tile> {
        (0..n).map(sample_tile).collect()
    }

    fn sample_tile(i: usize) -> Tile {
        let (rack, node) = (i / 20 + 1, i % 20 + 1);
        let name = match i % 29 {
            9 => format!("pi-lab-east-wing-rack{rack:02}-node{node:02}.cluster.local"),
            10 => format!("π-café-ñode-{i}"),
            _ => format!("pi-r{rack:02}-n{node:02}"),
        };
        let up = i % 17 != 5;
        // A step coprime with 501 walks the tenths of 35.0..85.0 in a scattered order.
        let temp = 35.0 + ((i * 347 + 120) % 501) as f32 / 10.0;
        let threads = match i % 23 {
            8 => None,
            _ if i % 5 == 2 => Some(8),
            _ => Some(4),
        };
        Tile {
            name,
            state: if up { TileState::Up } else { TileState::Unreachable },
            temp_c: (up && i % 13 != 3).then_some(temp),
            load1: up.then_some(((i * 97 + 13) % 650) as f32 / 100.0),
            threads: if up { threads } else { None },
            throttled_now: up && i % 11 == 7,
            under_voltage_now: up && i % 19 == 2,
            throttled_before: up && i % 7 == 4,
        }
    }

    fn size(cols: u16, rows: u16) -> TermSize {
        TermSize { cols, rows }
    }

    /// Compares with `tests/snapshots/grid_<name>.txt`; with PIW_UPDATE_SNAPSHOTS=1 writes it.
    fn assert_snapshot(name: &str, actual: &str) {
        let path: PathBuf =
            [env!("CARGO_MANIFEST_DIR"), "tests", "snapshots", &format!("grid_{name}.txt")].iter().collect();
        if std::env::var("PIW_UPDATE_SNAPSHOTS").as_deref() == Ok("1") {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, actual).unwrap();
            return;
        }
        let expected = match std::fs::read_to_string(&path) {
            Ok(expected) => expected,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "snapshot {} is missing: create it with `PIW_UPDATE_SNAPSHOTS=1 cargo test grid`, \
                 then read it and commit it",
                path.display()
            ),
            Err(e) => panic!("reading snapshot {}: {e}", path.display()),
        };
        if expected != actual {
            let (line, want, got) = expected
                .lines()
                .chain(std::iter::repeat("<end>"))
                .zip(actual.lines().chain(std::iter::repeat("<end>")))
                .enumerate()
                .find(|(_, (want, got))| want != got)
                .map(|(i, (want, got))| (i + 1, want, got))
                .unwrap_or((0, "", ""));
            panic!(
                "rendering differs from snapshot {}, first at line {line}:\n  want {want:?}\n  got  {got:?}\n\
                 full rendering:\n{actual}\nif the change is intended: PIW_UPDATE_SNAPSHOTS=1 cargo test grid",
                path.display()
            );
        }
    }

    fn strip_escapes(s: &str) -> String {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                // CSI: ESC '[' parameters, then one final byte in '@'..='~'.
                chars.next();
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn snapshot_1_host_80x24() {
        assert_snapshot("1_host_80x24", &render(&sample_tiles(1), size(80, 24), false));
    }

    #[test]
    fn snapshot_12_hosts_80x24() {
        assert_snapshot("12_hosts_80x24", &render(&sample_tiles(12), size(80, 24), false));
    }

    #[test]
    fn snapshot_40_hosts_80x24_compact() {
        assert_snapshot("40_hosts_80x24", &render(&sample_tiles(40), size(80, 24), false));
    }

    #[test]
    fn snapshot_240_hosts_80x24() {
        assert_snapshot("240_hosts_80x24", &render(&sample_tiles(240), size(80, 24), false));
    }

    #[test]
    fn snapshot_12_hosts_120x40() {
        assert_snapshot("12_hosts_120x40", &render(&sample_tiles(12), size(120, 40), false));
    }

    #[test]
    fn snapshot_12_hosts_80x24_colour() {
        assert_snapshot("12_hosts_80x24_colour", &render(&sample_tiles(12), size(80, 24), true));
    }

    #[test]
    fn temp_rgb_is_the_seeds_map() {
        // By hand from the seed: t = (T - 40) / 40.
        // 45: t = 0.125, g = int(255 * 0.5) = 127, b = 128.
        // 55: t = 0.375, r = int(255 * 0.5) = 127.
        // 60: t = 0.5 is the third branch with g = int(255 * 1) = 255: yellow.
        // 65: t = 0.625, g = int(255 * (1 - 0.5)) = 127.
        // 67.5: t = 0.6875, g = int(255 * 0.25) = 63.
        // 70: t = 0.75 is already the last branch: red.
        let expected: [(f32, Rgb); 12] = [
            (40.0, (0, 0, 255)),
            (45.0, (0, 127, 128)),
            (50.0, (0, 255, 0)),
            (55.0, (127, 255, 0)),
            (60.0, (255, 255, 0)),
            (65.0, (255, 127, 0)),
            (67.5, (255, 63, 0)),
            (70.0, (255, 0, 0)),
            (75.0, (255, 0, 0)),
            (80.0, (255, 0, 0)),
            (-5.0, (0, 0, 255)),
            (105.0, (255, 0, 0)),
        ];
        for (temp, rgb) in expected {
            assert_eq!(temp_rgb(temp), rgb, "at {temp} °C");
        }
        assert_eq!(temp_rgb(39.9), temp_rgb(40.0));
        assert_eq!(temp_rgb(80.1), temp_rgb(80.0));
    }

    #[test]
    fn band_letters_follow_the_colour_segments() {
        let bands: Vec<char> = [35.0, 49.9, 50.0, 59.9, 60.0, 69.9, 70.0, 90.0].map(band_letter).to_vec();
        assert_eq!(bands, ['B', 'B', 'G', 'G', 'Y', 'Y', 'R', 'R']);
    }

    #[test]
    fn density_follows_the_terminal() {
        assert_eq!(plan(1, size(120, 40)).density, Density::Large);
        assert_eq!(plan(12, size(120, 40)).density, Density::Large);
        assert_eq!(plan(12, size(80, 24)).density, Density::Large);
        assert_eq!(plan(40, size(80, 24)).density, Density::Compact);
        assert_eq!(plan(240, size(80, 24)).density, Density::Tiny);
        let overflow = plan(1000, size(80, 24));
        assert_eq!(overflow.density, Density::Tiny);
        assert!(overflow.grid_lines > room_for_grid(size(80, 24)));
    }

    /// Every line fits the width, and every host is drawn where the plan puts it: its name
    /// (or the cut prefix) on a large or compact tile, its band and mark on a tiny one.
    fn check_rendering(tiles: &[Tile], term: TermSize, colour: bool) {
        let cols = usize::from(term.cols);
        let out = render(tiles, term, colour);
        if !colour {
            assert!(!out.contains('\x1b'), "escape code without colour");
        }
        let lines: Vec<String> = strip_escapes(&out).lines().map(str::to_string).collect();
        for line in &lines {
            assert!(columns(line) <= cols, "{} columns > {cols} at {term:?}: {line:?}", columns(line));
        }
        let plan = plan(tiles.len(), term);
        let width = plan.density.width();
        for (i, tile) in tiles.iter().enumerate() {
            let (row, col) = (i / plan.columns, i % plan.columns);
            let pitch = plan.density.height() + plan.density.gap_lines();
            let line = &lines[1 + row * pitch];
            let shown: String = line.chars().skip(col * (width + GAP)).take(width).collect();
            let what = format!("host {i} ({:?}) at {term:?}, colour {colour}", tile.name);
            if plan.density == Density::Tiny {
                let expected = if colour {
                    format!(" {}", tile.top_mark())
                } else {
                    format!("{}{}", tile.band(), tile.top_mark())
                };
                assert_eq!(format!("{shown:width$}"), expected, "{what}");
            } else {
                // The whole name, or its host part, or "…" and the end of either.
                let shown = shown.trim_end();
                let host = tile.name.split('.').next().unwrap();
                let end = shown.strip_prefix('…').unwrap_or(shown);
                let whole = shown == tile.name || shown == host;
                let cut = shown.starts_with('…') && (tile.name.ends_with(end) || host.ends_with(end));
                assert!(!end.is_empty() && (whole || cut), "{what}: shown as {shown:?}");
            }
        }
    }

    #[test]
    fn every_host_is_drawn_and_every_line_fits() {
        let sizes = [(80, 24), (120, 40), (100, 30), (40, 12), (20, 6), (16, 5), (9, 4), (3, 3), (200, 60)];
        for n in [0, 1, 12, 40, 60, 240, 1000] {
            let tiles = sample_tiles(n);
            for (cols, rows) in sizes {
                for colour in [false, true] {
                    check_rendering(&tiles, size(cols, rows), colour);
                }
            }
        }
    }

    #[test]
    fn tiny_grid_lists_the_hosts_needing_attention() {
        let out = render(&sample_tiles(240), size(80, 24), false);
        assert!(out.lines().count() <= 24);
        for label in ["X down:", "V under-voltage:", "T throttled:", "hottest:"] {
            assert!(out.lines().any(|l| l.starts_with(label)), "no {label:?} line in\n{out}");
        }
        assert!(out.contains(" more"), "long lists are cut with a count:\n{out}");
    }

    #[test]
    fn attention_list_stays_within_its_lines() {
        let kinds = attention(&sample_tiles(240));
        for room in 0..8 {
            let lines = attention_lines(&kinds, 60, room);
            assert!(lines.len() <= room);
            assert!(lines.iter().all(|l| columns(l) <= 60), "{lines:#?}");
        }
    }

    #[test]
    fn header_counts_and_names_the_hottest() {
        let mut tiles = sample_tiles(3);
        tiles[1].temp_c = Some(81.25);
        tiles[2].state = TileState::Unreachable;
        tiles[2].temp_c = Some(99.0);
        let header = render(&tiles, size(200, 40), false).lines().next().unwrap().to_string();
        assert!(header.starts_with("3 hosts, 2 up, 1 down, hottest 81.2°C (pi-r01-n02), mean load "), "{header}");
    }

    #[test]
    fn long_names_keep_what_tells_hosts_apart() {
        assert_eq!(fit_name("pi-r01-n07", 10), "pi-r01-n07");
        assert_eq!(fit_name("pi-r01-n07", 8), "…r01-n07");
        assert_eq!(fit_name("pi-r01-n07.lab.example", 15), "pi-r01-n07     ");
        assert_eq!(fit_name("pi-lab-east-wing-rack08-node15.cluster.local", 15), "…-rack08-node15");
        assert_eq!(fit_name("10.0.0.123:7070", 10), "….123:7070");
        assert_eq!(fit_name("fd00::1:2:3:4", 8), "…1:2:3:4");
        assert_eq!(fit_name("π-café-ñode-10", 8), "…ñode-10");
    }

    #[test]
    fn control_chars_in_names_cannot_reach_the_terminal() {
        let mut tiles = sample_tiles(1);
        tiles[0].name = "evil\x1b[2J\nhost".to_string();
        let out = render(&tiles, size(80, 24), false);
        assert!(!out.contains('\x1b'));
        assert!(out.contains("evil?[2J?host"));
    }

    #[test]
    fn rendering_is_deterministic() {
        let tiles = sample_tiles(240);
        assert_eq!(render(&tiles, size(80, 24), true), render(&tiles, size(80, 24), true));
    }

    /// To look at the colours: `cargo test grid::tests::show -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn show() {
        for n in [12, 60, 240] {
            print!("{}", render(&sample_tiles(n), size(100, 30), true));
        }
    }
}
