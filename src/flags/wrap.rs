//! Word wrapping for `--help`: the table's prose is written as one line
//! per paragraph and laid out here, so editing help text never means
//! re-flowing columns by hand.

/// `text` wrapped so that no line passes `width` columns, each line
/// prefixed by `indent` spaces. A word longer than the room stays whole.
pub fn wrap(text: &str, indent: usize, width: usize) -> Vec<String> {
    let room = width.saturating_sub(indent).max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > room {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    let pad = " ".repeat(indent);
    lines.into_iter().map(|l| format!("{pad}{l}")).collect()
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn lines_stay_within_the_width_and_keep_every_word() {
        let text = "one two three four five six seven eight nine ten eleven twelve";
        let lines = wrap(text, 4, 20);
        assert!(lines.iter().all(|l| l.len() <= 20 && l.starts_with("    ")), "{lines:?}");
        let words: Vec<&str> = lines.iter().flat_map(|l| l.split_whitespace()).collect();
        assert_eq!(words.join(" "), text);
        assert_eq!(lines[0], "    one two three");
    }

    #[test]
    fn a_word_longer_than_the_room_stays_whole() {
        assert_eq!(wrap("a 0123456789abcdef b", 2, 10), ["  a", "  0123456789abcdef", "  b"]);
        assert!(wrap("", 4, 80).is_empty());
    }
}
