//! Colours of the grid: the wall display's temperature map, the band letters that stand in
//! for it without colour, and the text colour that stays readable on a tile.

pub(super) type Rgb = (u8, u8, u8);

/// No reading (no sensor, e.g. a VM): a grey that no temperature maps to.
pub(super) const NO_SENSOR_BG: Rgb = (150, 150, 150);
/// Unreachable: dark, so a dead host reads as a hole in the wall, yet lighter than a black
/// terminal so the hole keeps its shape; its text in light red, which no other tile uses.
pub(super) const DOWN_BG: Rgb = (64, 64, 64);
pub(super) const DOWN_FG: Rgb = (255, 120, 120);
pub(super) const DOWN_STYLE: Style = Style { bg: DOWN_BG, fg: DOWN_FG };
pub(super) const BLACK: Rgb = (0, 0, 0);
pub(super) const WHITE: Rgb = (255, 255, 255);

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
pub(super) fn band_letter(temp_c: f32) -> char {
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

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Style {
    pub(super) bg: Rgb,
    pub(super) fg: Rgb,
}

impl Style {
    pub(super) fn on(bg: Rgb) -> Style {
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
