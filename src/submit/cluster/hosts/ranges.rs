//! Ranges in a host item (`{A..B}`, `[A-B]`, see the parent's documentation), expanded
//! before the item is parsed.

use super::error::HostsError;

/// The most hosts a list may expand to, over all its items.
pub const MAX_HOSTS: usize = 65_536;

pub(super) enum Expand {
    TooMany,
    Bad(String),
}

/// Expands the ranges of one item (see the module's documentation) into the
/// items it stands for, in order; an item without ranges gives itself.
pub fn expand_item(item: &str) -> Result<Vec<String>, HostsError> {
    expand_item_within(item, MAX_HOSTS).map_err(|e| match e {
        Expand::TooMany => HostsError::Host(format!("expands to more than {MAX_HOSTS} hosts")),
        Expand::Bad(msg) => HostsError::Host(msg),
    })
}

enum Part {
    Text(String),
    /// From `from` to `to` (down when `from > to`), zero-padded to `width`.
    Range {
        from: u64,
        to: u64,
        width: usize,
    },
}

impl Part {
    fn len(&self) -> u64 {
        match *self {
            Part::Text(_) => 1,
            Part::Range { from, to, .. } => from.abs_diff(to).saturating_add(1),
        }
    }
}

pub(super) fn expand_item_within(item: &str, limit: usize) -> Result<Vec<String>, Expand> {
    let parts = split_ranges(item).map_err(Expand::Bad)?;
    let mut total: u64 = 1;
    for part in &parts {
        total = total.saturating_mul(part.len());
    }
    if total > limit as u64 {
        return Err(Expand::TooMany);
    }
    let mut out = vec![String::new()];
    for part in &parts {
        match part {
            Part::Text(text) => out.iter_mut().for_each(|s| s.push_str(text)),
            &Part::Range { from, to, width } => {
                let numbers: Vec<u64> = if from <= to { (from..=to).collect() } else { (to..=from).rev().collect() };
                out =
                    out.iter().flat_map(|prefix| numbers.iter().map(move |n| format!("{prefix}{n:0width$}"))).collect();
            }
        }
    }
    Ok(out)
}

/// Cuts an item into text and ranges.
fn split_ranges(item: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut text = String::new();
    // The byte index of the `]` closing an address in brackets at the start.
    let mut address_close = None;
    let mut i = 0;
    while let Some(c) = item[i..].chars().next() {
        match c {
            '{' => {
                let len = item[i..].find('}').ok_or("unclosed '{' in a range")?;
                let inner = &item[i + 1..i + len];
                parts.push(Part::Text(std::mem::take(&mut text)));
                parts.push(brace_range(inner)?);
                i += len + 1;
            }
            '}' => return Err("'}' without its '{'".into()),
            '[' if address_close.is_some_and(|close| i < close) => {
                return Err("'[' inside an address in brackets".into())
            }
            '[' => {
                let len = item[i..].find(']').ok_or("unclosed '['")?;
                let inner = &item[i + 1..i + len];
                if let Some(range) = bracket_range(inner)? {
                    parts.push(Part::Text(std::mem::take(&mut text)));
                    parts.push(range);
                    i += len + 1;
                } else if i == 0 {
                    address_close = Some(len);
                    text.push('[');
                    i += 1;
                } else {
                    return Err(format!("\"[{inner}]\" is not a range [A-B] of decimal numbers"));
                }
            }
            ']' if address_close == Some(i) => {
                text.push(']');
                i += 1;
            }
            ']' => return Err("']' without its '['".into()),
            c => {
                text.push(c);
                i += c.len_utf8();
            }
        }
    }
    parts.push(Part::Text(text));
    parts.retain(|p| !matches!(p, Part::Text(t) if t.is_empty()));
    Ok(parts)
}

/// `A..B` inside braces.
fn brace_range(inner: &str) -> Result<Part, String> {
    if inner.is_empty() {
        return Err("empty range {}".into());
    }
    let garbled = || format!("\"{{{inner}}}\" is not a range {{A..B}} of decimal numbers");
    let (a, b) = inner.split_once("..").ok_or_else(garbled)?;
    let (from, to) = (number(a).ok_or_else(garbled)?, number(b).ok_or_else(garbled)?);
    let padded = |s: &str| s.len() > 1 && s.starts_with('0');
    let width = if padded(a) || padded(b) { a.len().max(b.len()) } else { 0 };
    Ok(Part::Range { from, to, width })
}

/// `A-B` inside brackets: `Ok(None)` if the group is not a range at all
/// (an address in brackets), an error if it is a garbled or reversed one.
fn bracket_range(inner: &str) -> Result<Option<Part>, String> {
    if !inner.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        return Ok(None);
    }
    if inner.is_empty() {
        return Err("empty range []".into());
    }
    let garbled = || format!("\"[{inner}]\" is not a range [A-B] of decimal numbers");
    let (a, b) = inner.split_once('-').ok_or_else(garbled)?;
    let (from, to) = (number(a).ok_or_else(garbled)?, number(b).ok_or_else(garbled)?);
    if from > to {
        return Err(format!("range \"[{inner}]\" is reversed: {from} is after {to}"));
    }
    Ok(Some(Part::Range { from, to, width: a.len() }))
}

/// A decimal number of at most 18 digits.
fn number(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 18 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}
