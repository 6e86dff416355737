//! The lines around the grid: the header, the legend, and the list of hosts that need
//! attention when tiles are too small to carry names.

use super::colours::{temp_rgb, Style, DOWN_STYLE, NO_SENSOR_BG};
use super::text::{clean, columns, Line};
use super::tile::Tile;
use std::fmt::Write as _;

pub(super) fn header(tiles: &[Tile]) -> String {
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
pub(super) fn legend_marks(cols: usize) -> Line {
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
pub(super) fn legend_scale(colour: bool, cols: usize) -> Line {
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
pub(super) struct Attention {
    label: &'static str,
    entries: Vec<String>,
}

/// The kinds of trouble, most urgent first, leaving out those no host has.
pub(super) fn attention(tiles: &[Tile]) -> Vec<Attention> {
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
pub(super) fn attention_lines(kinds: &[Attention], cols: usize, room: usize) -> Vec<String> {
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
