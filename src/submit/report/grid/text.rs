//! Text that fits: columns counted, names cut where they still tell hosts apart, and one
//! output line as styled spans cut to the terminal's width.

use super::colours::Style;
use std::fmt::Write as _;

/// Columns taken by a string: one per char (see the module comment).
pub(super) fn columns(s: &str) -> usize {
    s.chars().count()
}

/// Host names come from files and DNS: a control char (an escape above all) would take
/// over the terminal, so it is shown as '?'.
pub(super) fn clean(name: &str) -> String {
    name.chars().map(|c| if c.is_control() { '?' } else { c }).collect()
}

/// At most `width` columns, ending in "…" when cut.
pub(super) fn truncate(s: &str, width: usize) -> String {
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
pub(super) fn fit_name(name: &str, width: usize) -> String {
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
pub(super) fn fit(s: &str, width: usize) -> String {
    let mut s = truncate(s, width);
    let pad = width - columns(&s);
    s.push_str(&" ".repeat(pad));
    s
}

/// One output line as styled spans, so that its width can be counted and cut before any
/// escape code is written.
#[derive(Default)]
pub(super) struct Line {
    spans: Vec<(String, Option<Style>)>,
}

impl Line {
    pub(super) fn text(text: String) -> Line {
        Line { spans: vec![(text, None)] }
    }

    pub(super) fn push(&mut self, text: String, style: Option<Style>) {
        self.spans.push((text, style));
    }

    /// Writes the line cut to `cols` columns (ending in "…" when cut). Each styled span
    /// resets the colours after itself, so nothing bleeds into gaps or past the line's end.
    pub(super) fn write(mut self, cols: usize, colour: bool, out: &mut String) {
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
