//! A look at an input's first bytes before anything is sent: text given
//! as binary values, or binary given as text, is refused with the reason
//! rather than summed into nonsense (a `tofile()` of doubles read as
//! text, or a text file read as f64).

use super::dtype::Dtype;

/// Bytes looked at: enough to tell, little enough to read at once.
pub const SNIFF_BYTES: usize = 4096;

/// Why the first bytes of an input do not fit `dtype`, if they do not.
pub fn mismatch(dtype: Dtype, start: &[u8]) -> Option<String> {
    match dtype {
        Dtype::Text => binary_in_text(start),
        Dtype::Binary(_) => text_in_binary(start, &dtype.name()),
    }
}

fn binary_in_text(start: &[u8]) -> Option<String> {
    const HINT: &str = "give its --dtype (f64, i64, f32, i32, or their be forms) or save it with np.save as .npy";
    if let Some(at) = start.iter().position(|&b| b == 0) {
        return Some(format!("holds binary data, not text (a NUL byte at offset {at}): {HINT}"));
    }
    match std::str::from_utf8(start) {
        // A character cut by the end of the sample is not an error.
        Err(e) if e.error_len().is_some() => {
            Some(format!("holds binary data, not text (invalid UTF-8 at offset {}): {HINT}", e.valid_up_to()))
        }
        _ => None,
    }
}

fn text_in_binary(start: &[u8], name: &str) -> Option<String> {
    let texty = |b: &u8| b.is_ascii_graphic() || b" \t\r\n".contains(b);
    let lines = start.iter().filter(|&&b| b == b'\n').count();
    let digits = start.iter().filter(|b| b.is_ascii_digit()).count();
    if lines == 0 || digits == 0 || !start.iter().all(texty) {
        return None;
    }
    let shown = String::from_utf8_lossy(&start[..start.len().min(24)]).escape_debug().to_string();
    Some(format!(
        "looks like text, not {name} values: its first {} bytes are lines of ASCII with digits (\"{shown}...\"); give \
         --dtype text",
        start.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_text_are_not_taken_for_binary() {
        let e = mismatch(Dtype::F64, b"1.5\n-2e3\n# c\n42\n").expect("refused");
        assert!(e.contains("looks like text") && e.contains("f64") && e.contains("--dtype text"), "{e}");
        assert_eq!(mismatch(Dtype::F64, &1.5f64.to_le_bytes()), None);
        assert_eq!(mismatch(Dtype::F64, b"12345678"), None, "no newline: could be one value");
    }

    #[test]
    fn binary_is_not_taken_for_text() {
        let e = mismatch(Dtype::Text, &[b'1', b'\n', 0, 0]).expect("refused");
        assert!(e.contains("NUL byte at offset 2"), "{e}");
        let e = mismatch(Dtype::Text, &[b'1', 0xff, 0xfe, b'\n']).expect("refused");
        assert!(e.contains("invalid UTF-8 at offset 1"), "{e}");
        assert_eq!(mismatch(Dtype::Text, "3.5\n7 µs\n".as_bytes()), None);
        assert_eq!(mismatch(Dtype::Text, &"µ".as_bytes()[..1]), None, "a character cut by the sample's end");
    }
}
