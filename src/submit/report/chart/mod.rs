//! The speed-up chart of a scaling study (`pisubmit bench JOB --cores 1,2,4,8 --svg FILE`):
//! measured speed-up against cores beside the ideal line, as a standalone SVG document.
//!
//! This module owns the whole drawing: which samples count, the speed-up arithmetic, the axis
//! scales, and the SVG text. The SVG is written by hand so the head node needs no drawing crate,
//! and the output depends only on the input, so the same study always gives the same bytes
//! (charts can be diffed and tested as text).

/// One measured point of a scaling study.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalingPoint {
    pub cores: usize,
    pub wall_secs: f64,
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 480.0;
// Room for the title above the plot, the tick labels and axis names below and to the left, and
// half a tick label to the right of the last x tick.
const MARGIN_LEFT: f64 = 64.0;
const MARGIN_RIGHT: f64 = 28.0;
const MARGIN_TOP: f64 = 48.0;
const MARGIN_BOTTOM: f64 = 56.0;
const PLOT_LEFT: f64 = MARGIN_LEFT;
const PLOT_RIGHT: f64 = WIDTH - MARGIN_RIGHT;
const PLOT_TOP: f64 = MARGIN_TOP;
const PLOT_BOTTOM: f64 = HEIGHT - MARGIN_BOTTOM;

/// At most this many intervals per axis (rounding the step up to a nice one leaves at least 4,
/// unless the data spans less than one core): enough to read values off and to end the axis close
/// to the data, few enough that labels of three-digit core counts never touch.
const TARGET_TICKS: f64 = 8.0;
const TITLE_SIZE: f64 = 16.0;

const MEASURED_COLOUR: &str = "#1f77b4";
const IDEAL_COLOUR: &str = "#888888";
const GRID_COLOUR: &str = "#e6e6e6";
const AXIS_COLOUR: &str = "#333333";

/// Draws speed-up against cores, with the ideal line, as a standalone SVG document.
///
/// The baseline is the first valid point (fewest cores): with cores `c0` and time `t0`, the
/// speed-up at `n` cores is `S(n) = c0 * t0 / t(n)`, so a study starting at one core gives the
/// classic `t1 / tn`, and the ideal is `S = n` whatever the baseline. Points whose time is not a
/// positive finite number, or which claim zero cores, are left out; if none remain the axes are
/// drawn with a "no data" note.
pub fn speedup_svg(title: &str, points: &[ScalingPoint]) -> String {
    let samples = samples(points);
    let scale = Scale::for_samples(&samples);
    let mut svg = String::new();
    svg.push_str(&format!(
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" "#,
            r#"font-family="sans-serif">"#,
            "\n"
        ),
        w = num(WIDTH),
        h = num(HEIGHT)
    ));
    svg.push_str(&format!("<title>{}</title>\n", escape(title)));
    svg.push_str(&format!(
        "<rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"white\"/>\n",
        num(WIDTH),
        num(HEIGHT)
    ));
    svg.push_str(&title_text(title));
    svg.push_str(&grid(&scale));
    svg.push_str(&axes(&scale));
    if samples.is_empty() {
        // No legend either: it would name lines that are not there.
        svg.push_str(&no_data_note());
    } else {
        svg.push_str(&ideal_line(&scale, &samples));
        svg.push_str(&measured_series(&scale, &samples));
        svg.push_str(&legend());
    }
    svg.push_str("</svg>\n");
    svg
}

/// A point that survived validation, with its speed-up against the baseline.
#[derive(Clone, Copy, Debug)]
struct Sample {
    cores: f64,
    wall_secs: f64,
    speedup: f64,
}

impl Sample {
    /// Speed-up per core as a percentage: 100% is perfect scaling.
    fn efficiency_percent(&self) -> f64 {
        self.speedup / self.cores * 100.0
    }
}

/// Valid points, by cores ascending, each with its speed-up against the first of them.
fn samples(points: &[ScalingPoint]) -> Vec<Sample> {
    let mut valid: Vec<&ScalingPoint> =
        points.iter().filter(|p| p.cores > 0 && p.wall_secs.is_finite() && p.wall_secs > 0.0).collect();
    // The caller sorts already; sorting again costs nothing and keeps the baseline right if it
    // did not. Ties are broken by time so the output never depends on the input order.
    valid.sort_by(|a, b| a.cores.cmp(&b.cores).then(a.wall_secs.total_cmp(&b.wall_secs)));
    let Some(first) = valid.first() else {
        return Vec::new();
    };
    let work = first.cores as f64 * first.wall_secs;
    valid
        .iter()
        .map(|p| Sample { cores: p.cores as f64, wall_secs: p.wall_secs, speedup: work / p.wall_secs })
        // A time so tiny that the ratio overflows cannot be drawn on any finite axis.
        .filter(|s| s.speedup.is_finite())
        .collect()
}

/// A linear axis from 0 to `max` with a tick every `step`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Axis {
    max: f64,
    step: f64,
}

impl Axis {
    /// The smallest axis of "nice" steps (1, 2 or 5 × 10^k, at least `min_step`) reaching `value`.
    fn covering(value: f64, min_step: f64) -> Axis {
        let value = if value.is_finite() && value > 0.0 { value } else { 1.0 };
        let step = nice_step(value / TARGET_TICKS).max(min_step);
        // The small slack keeps 0.8 / 0.2 = 4.000000000000001 from growing a needless fifth step.
        let intervals = (value / step - 1e-9).ceil().max(1.0);
        Axis { max: intervals * step, step }
    }

    fn ticks(&self) -> impl Iterator<Item = f64> {
        let step = self.step;
        let count = (self.max / step).round() as usize;
        (0..=count).map(move |k| k as f64 * step)
    }
}

/// The nearest value of 1, 2 or 5 × 10^k at or above `raw`.
fn nice_step(raw: f64) -> f64 {
    let magnitude = 10f64.powf(raw.log10().floor());
    let normalised = raw / magnitude;
    let nice = if normalised <= 1.0 {
        1.0
    } else if normalised <= 2.0 {
        2.0
    } else if normalised <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// Both axes and the mapping from data to pixels.
struct Scale {
    x: Axis,
    y: Axis,
}

impl Scale {
    fn for_samples(samples: &[Sample]) -> Scale {
        let max_cores = samples.iter().map(|s| s.cores).fold(0.0, f64::max);
        let max_speedup = samples.iter().map(|s| s.speedup).fold(0.0, f64::max);
        // Core counts are whole, so a tick step below one core would only label fractions.
        let x = Axis::covering(if samples.is_empty() { 1.0 } else { max_cores }, 1.0);
        // The same scale on both axes lets the eye compare speed-up with cores directly; the y
        // axis grows only when super-linear speed-up would not fit.
        let y = if max_speedup <= x.max { x } else { Axis::covering(max_speedup, x.step) };
        Scale { x, y }
    }

    fn px(&self, cores: f64) -> f64 {
        PLOT_LEFT + cores / self.x.max * (PLOT_RIGHT - PLOT_LEFT)
    }

    fn py(&self, speedup: f64) -> f64 {
        PLOT_BOTTOM - speedup / self.y.max * (PLOT_BOTTOM - PLOT_TOP)
    }
}

/// The chart title, centred above the plot.
fn title_text(title: &str) -> String {
    let (size, shown) = fit_title(title);
    format!(
        concat!(
            r#"<text class="title" x="{x}" y="30" text-anchor="middle" font-size="{size}" "#,
            r#"font-weight="bold" fill="{colour}">{text}</text>"#,
            "\n"
        ),
        x = num(WIDTH / 2.0),
        size = num(size),
        colour = AXIS_COLOUR,
        text = escape(&shown)
    )
}

/// The font size and text that keep the title inside the canvas.
///
/// There is no font metrics here, so widths are estimated at 0.62 em a character (generous for
/// bold sans-serif). A long title is set smaller, down to a still readable size; one longer than
/// that is cut with an ellipsis. The whole title stays in the document's `<title>`. (SVG's
/// `textLength` would squeeze it instead, but not every renderer honours it.)
fn fit_title(title: &str) -> (f64, String) {
    const CHAR_EM: f64 = 0.62;
    const MIN_SIZE: f64 = 11.0;
    let available = WIDTH - 32.0;
    let chars = title.chars().count();
    // Whole half-pixels, rounded down, so the size written out is never a hair too large.
    let size = ((available / (chars as f64 * CHAR_EM) * 2.0).floor() / 2.0).clamp(MIN_SIZE, TITLE_SIZE);
    let max_chars = (available / (size * CHAR_EM)).floor() as usize;
    if chars <= max_chars {
        return (size, title.to_string());
    }
    let mut cut: String = title.chars().take(max_chars.saturating_sub(1)).collect();
    cut.truncate(cut.trim_end().len());
    cut.push('…');
    (size, cut)
}

/// Light lines at every tick, behind everything else.
fn grid(scale: &Scale) -> String {
    let mut out = format!(r#"<g class="grid" stroke="{GRID_COLOUR}" stroke-width="1">"#);
    out.push('\n');
    // The lines at zero would sit under the axes, so they are left out.
    for x in scale.x.ticks().skip(1) {
        out.push_str(&line(scale.px(x), PLOT_TOP, scale.px(x), PLOT_BOTTOM, ""));
    }
    for y in scale.y.ticks().skip(1) {
        out.push_str(&line(PLOT_LEFT, scale.py(y), PLOT_RIGHT, scale.py(y), ""));
    }
    out.push_str("</g>\n");
    out
}

/// The x and y axes with outward ticks, tick labels and axis names.
fn axes(scale: &Scale) -> String {
    let mut out = format!(r#"<g class="axes" stroke="{AXIS_COLOUR}" stroke-width="1">"#);
    out.push('\n');
    out.push_str(&line(PLOT_LEFT, PLOT_BOTTOM, PLOT_RIGHT, PLOT_BOTTOM, r#" class="x-axis""#));
    out.push_str(&line(PLOT_LEFT, PLOT_BOTTOM, PLOT_LEFT, PLOT_TOP, r#" class="y-axis""#));
    for x in scale.x.ticks() {
        out.push_str(&line(scale.px(x), PLOT_BOTTOM, scale.px(x), PLOT_BOTTOM + 5.0, ""));
    }
    for y in scale.y.ticks() {
        out.push_str(&line(PLOT_LEFT - 5.0, scale.py(y), PLOT_LEFT, scale.py(y), ""));
    }
    out.push_str("</g>\n");

    out.push_str(&format!(r#"<g class="tick-labels" font-size="12" fill="{AXIS_COLOUR}">"#));
    out.push('\n');
    for x in scale.x.ticks() {
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
            num(scale.px(x)),
            num(PLOT_BOTTOM + 19.0),
            num(x)
        ));
    }
    for y in scale.y.ticks() {
        // dy centres the label on its tick; it renders the same everywhere, unlike dominant-baseline.
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" dy=\"0.35em\" text-anchor=\"end\">{}</text>\n",
            num(PLOT_LEFT - 8.0),
            num(scale.py(y)),
            num(y)
        ));
    }
    out.push_str("</g>\n");

    let mid_x = (PLOT_LEFT + PLOT_RIGHT) / 2.0;
    let mid_y = (PLOT_TOP + PLOT_BOTTOM) / 2.0;
    out.push_str(&format!(
        "<text class=\"x-label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"14\" fill=\"{AXIS_COLOUR}\">cores</text>\n",
        num(mid_x),
        num(HEIGHT - 14.0)
    ));
    out.push_str(&format!(
        "<text class=\"y-label\" x=\"18\" y=\"{y}\" transform=\"rotate(-90 18 {y})\" text-anchor=\"middle\" \
         font-size=\"14\" fill=\"{AXIS_COLOUR}\">speed-up</text>\n",
        y = num(mid_y)
    ));
    out
}

/// The ideal S = n, from the fewest to the most cores measured.
fn ideal_line(scale: &Scale, samples: &[Sample]) -> String {
    let first = samples.first().map_or(0.0, |s| s.cores);
    let last = samples.last().map_or(0.0, |s| s.cores);
    // A single core count would make a zero-length line; S = n holds from the origin too
    // (S(c0) = c0 by definition), so draw it from there to the end of the axis instead.
    let (from, to) = if first < last { (first, last) } else { (0.0, scale.x.max) };
    line(
        scale.px(from),
        scale.py(from),
        scale.px(to),
        scale.py(to),
        &format!(r#" class="ideal" stroke="{IDEAL_COLOUR}" stroke-width="1.5" stroke-dasharray="6 4""#),
    )
}

/// The measured speed-ups: one polyline and a marker with a tooltip at each sample.
fn measured_series(scale: &Scale, samples: &[Sample]) -> String {
    let coords: Vec<String> =
        samples.iter().map(|s| format!("{},{}", num(scale.px(s.cores)), num(scale.py(s.speedup)))).collect();
    let mut out = format!(
        "<polyline class=\"measured\" fill=\"none\" stroke=\"{MEASURED_COLOUR}\" stroke-width=\"2\" \
         stroke-linejoin=\"round\" points=\"{}\"/>\n",
        coords.join(" ")
    );
    out.push_str(&format!(r#"<g class="markers" fill="{MEASURED_COLOUR}" stroke="white" stroke-width="1.5">"#));
    out.push('\n');
    for s in samples {
        out.push_str(&format!(
            "<circle class=\"marker\" cx=\"{}\" cy=\"{}\" r=\"4\"><title>{}</title></circle>\n",
            num(scale.px(s.cores)),
            num(scale.py(s.speedup)),
            escape(&tooltip(s))
        ));
    }
    out.push_str("</g>\n");
    out
}

/// "N cores: T s, speed-up S, efficiency E%".
fn tooltip(s: &Sample) -> String {
    let noun = if s.cores == 1.0 { "core" } else { "cores" };
    format!(
        "{} {noun}: {}, speed-up {}, efficiency {}%",
        num(s.cores),
        duration(s.wall_secs),
        num(s.speedup),
        num(s.efficiency_percent())
    )
}

/// A wall time with at most two decimals, in a unit small enough that it does not round to 0.
fn duration(secs: f64) -> String {
    if secs >= 1.0 {
        format!("{} s", num(secs))
    } else if secs >= 1e-3 {
        format!("{} ms", num(secs * 1e3))
    } else {
        format!("{} µs", num(secs * 1e6))
    }
}

/// The key in the plot's top-left corner, which stays clear when scaling is at most linear.
fn legend() -> String {
    let (x, y) = (PLOT_LEFT + 14.0, PLOT_TOP + 10.0);
    let mut out = String::from("<g class=\"legend\" font-size=\"12\">\n");
    out.push_str(&format!(
        "<rect x=\"{}\" y=\"{}\" width=\"110\" height=\"48\" fill=\"white\" stroke=\"#cccccc\"/>\n",
        num(x),
        num(y)
    ));
    let (ideal_y, measured_y) = (y + 16.0, y + 34.0);
    out.push_str(&line(
        x + 10.0,
        ideal_y,
        x + 40.0,
        ideal_y,
        &format!(r#" stroke="{IDEAL_COLOUR}" stroke-width="1.5" stroke-dasharray="6 4""#),
    ));
    out.push_str(&legend_label(x + 48.0, ideal_y, "ideal"));
    out.push_str(&line(
        x + 10.0,
        measured_y,
        x + 40.0,
        measured_y,
        &format!(r#" stroke="{MEASURED_COLOUR}" stroke-width="2""#),
    ));
    out.push_str(&format!(
        "<circle cx=\"{}\" cy=\"{}\" r=\"4\" fill=\"{MEASURED_COLOUR}\" stroke=\"white\" stroke-width=\"1.5\"/>\n",
        num(x + 25.0),
        num(measured_y)
    ));
    out.push_str(&legend_label(x + 48.0, measured_y, "measured"));
    out.push_str("</g>\n");
    out
}

fn legend_label(x: f64, y: f64, text: &str) -> String {
    format!("<text x=\"{}\" y=\"{}\" dy=\"0.35em\" fill=\"{AXIS_COLOUR}\">{text}</text>\n", num(x), num(y))
}

/// Said in the middle of the plot when no point could be drawn.
fn no_data_note() -> String {
    format!(
        "<text class=\"no-data\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"14\" fill=\"#777777\">no data</text>\n",
        num((PLOT_LEFT + PLOT_RIGHT) / 2.0),
        num((PLOT_TOP + PLOT_BOTTOM) / 2.0)
    )
}

/// A `<line>` element; `extra` holds further attributes, each with its leading space.
fn line(x1: f64, y1: f64, x2: f64, y2: f64, extra: &str) -> String {
    format!("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"{extra}/>\n", num(x1), num(y1), num(x2), num(y2))
}

/// A number with at most two decimals and no trailing zeros ("2.5", "3", never "-0").
fn num(value: f64) -> String {
    let rounded = (value * 100.0).round() / 100.0;
    if rounded == 0.0 {
        // Also turns -0 into 0.
        return "0".to_string();
    }
    let text = format!("{rounded:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Text made safe for XML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters even when escaped, so one in a job name
            // would make the whole file unreadable; show the replacement character instead.
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
