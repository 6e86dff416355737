//! Reading a `.npy` file's header (NumPy's `np.save`): magic `\x93NUMPY`,
//! version 1.0, 2.0 or 3.0, the header's length, then a Python dict
//! literal with 'descr', 'fortran_order' and 'shape'. The values follow
//! it, and are streamed like any other input.
//!
//! Fortran order is accepted for any shape: reduce's answers (sum, min,
//! max, count) do not depend on the order of the elements, and every sum
//! is exact. Nothing here unpickles: object arrays are refused.

use super::dtype::{Binary, Kind};
use std::io::Read;
use std::path::Path;

pub const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// NumPy itself refuses headers longer than this (numpy/lib/format.py).
const MAX_HEADER: usize = 10_000_000;

/// What a header says.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyHeader {
    pub dtype: Binary,
    /// As the file spells it ("<f8").
    pub descr: String,
    pub fortran_order: bool,
    pub shape: Vec<u64>,
    /// Where the values start: the header's end.
    pub data_start: u64,
}

impl NpyHeader {
    /// Values the shape holds; None if the count overflows.
    pub fn values(&self) -> Option<u64> {
        self.shape.iter().try_fold(1u64, |n, &d| n.checked_mul(d))
    }

    /// "(1000, 3)".
    pub fn shape_text(&self) -> String {
        let dims: Vec<String> = self.shape.iter().map(u64::to_string).collect();
        match dims.len() {
            1 => format!("({},)", dims[0]),
            _ => format!("({})", dims.join(", ")),
        }
    }

    /// Checks that the file's `size` holds exactly the values the shape
    /// says; returns their bytes.
    pub fn data_len(&self, size: u64) -> Result<u64, String> {
        let after = size.saturating_sub(self.data_start);
        let want = self
            .values()
            .and_then(|n| n.checked_mul(self.dtype.width as u64))
            .ok_or_else(|| format!("shape {} is too large to be a file", self.shape_text()))?;
        if after < want {
            return Err(format!(
                "truncated: the header's shape {} is {} values of {} ({want} bytes), but only {after} bytes follow \
                 the header",
                self.shape_text(),
                want / self.dtype.width as u64,
                self.descr
            ));
        }
        if after > want {
            return Err(format!(
                "{after} bytes follow the header, but its shape {} of {} is {want} bytes",
                self.shape_text(),
                self.descr
            ));
        }
        Ok(want)
    }
}

/// Whether `start` (a file's first bytes) begins as a .npy file does.
pub fn has_magic(start: &[u8]) -> bool {
    start.starts_with(MAGIC)
}

/// Reads and parses the header of the .npy file at `path`.
pub fn read_header(path: &Path) -> Result<NpyHeader, String> {
    let mut file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut head = [0u8; 12];
    let n = read_up_to(&mut file, &mut head).map_err(|e| e.to_string())?;
    let (version, len_bytes) = preamble(&head[..n])?;
    let start = 8 + len_bytes;
    let len = if len_bytes == 2 {
        usize::from(u16::from_le_bytes([head[8], head[9]]))
    } else {
        u32::from_le_bytes([head[8], head[9], head[10], head[11]]) as usize
    };
    if len > MAX_HEADER {
        return Err(format!("a header of {len} bytes is longer than NumPy itself reads ({MAX_HEADER})"));
    }
    let mut text = vec![0u8; len];
    // The first bytes of the dict came with the preamble.
    let got = (n - start.min(n)).min(len);
    text[..got].copy_from_slice(&head[start.min(n)..start.min(n) + got]);
    let more = read_up_to(&mut file, &mut text[got..]).map_err(|e| e.to_string())?;
    if got + more < len {
        return Err(format!("truncated: the header says it is {len} bytes, the file ends after {}", got + more));
    }
    parse_dict(&text, version, (start + len) as u64)
}

/// The version and how many bytes hold the header's length (2 or 4).
fn preamble(head: &[u8]) -> Result<(u8, usize), String> {
    if !has_magic(head) {
        let shown: Vec<String> = head.iter().take(6).map(|b| format!("{b:02x}")).collect();
        let guess = match head.first() {
            Some(0x80) => " (a Python pickle? pisubmit never unpickles: save the array with np.save)",
            Some(b'P') if head.starts_with(b"PK") => " (a .npz archive? unzip it and give one .npy)",
            _ => "",
        };
        return Err(format!(
            "not a .npy file: it starts with {} instead of 93 4e 55 4d 50 59 (\\x93NUMPY){guess}",
            if shown.is_empty() { "nothing".into() } else { shown.join(" ") }
        ));
    }
    if head.len() < 10 {
        return Err("truncated: the file ends inside the .npy preamble".into());
    }
    match head[6] {
        1 => Ok((1, 2)),
        2 | 3 if head.len() >= 12 => Ok((head[6], 4)),
        2 | 3 => Err("truncated: the file ends inside the .npy preamble".into()),
        v => Err(format!("version {v}.{} of .npy is not one pisubmit reads (1.0, 2.0, 3.0)", head[7])),
    }
}

fn read_up_to(file: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Parses the header's dict (the bytes after the length field).
pub fn parse_dict(text: &[u8], version: u8, data_start: u64) -> Result<NpyHeader, String> {
    let text = match version {
        3 => std::str::from_utf8(text).map_err(|_| "the header is not UTF-8".to_string())?,
        _ if text.is_ascii() => std::str::from_utf8(text).map_err(|_| "the header is not ASCII".to_string())?,
        _ => return Err("the header is not ASCII (a version 1.0/2.0 header must be)".into()),
    };
    let mut p = Literal { s: text, at: 0 };
    let dict = match p.value()? {
        Lit::Dict(d) => d,
        other => return Err(format!("the header is {} instead of a dict", other.kind())),
    };
    p.skip_space();
    if p.at != text.len() {
        return Err(format!("the header has text after its dict at byte {}", p.at));
    }
    let get = |key: &str| {
        dict.iter().find(|(k, _)| k == key).map(|(_, v)| v).ok_or_else(|| format!("the header has no '{key}'"))
    };
    let descr = match get("descr")? {
        Lit::Str(s) => s.clone(),
        Lit::List(_) => {
            return Err("a structured dtype (a list of fields as 'descr') cannot be read: save one plain \
                        field, e.g. np.save(f, a['x'])"
                .into())
        }
        other => return Err(format!("'descr' is {} instead of a string", other.kind())),
    };
    let dtype = dtype_of(&descr)?;
    let fortran_order = match get("fortran_order")? {
        Lit::Bool(b) => *b,
        other => return Err(format!("'fortran_order' is {} instead of True or False", other.kind())),
    };
    let shape = match get("shape")? {
        Lit::Tuple(items) => items
            .iter()
            .map(|d| match d {
                Lit::Int(n) => Ok(*n),
                other => Err(format!("'shape' holds {} instead of a whole number", other.kind())),
            })
            .collect::<Result<Vec<u64>, String>>()?,
        other => return Err(format!("'shape' is {} instead of a tuple", other.kind())),
    };
    Ok(NpyHeader { dtype, descr, fortran_order, shape, data_start })
}

/// The dtype reduce reads for NumPy's descr (`a.dtype.str`: "<f8",
/// ">i4", "|u1"), or why it reads none.
pub fn dtype_of(descr: &str) -> Result<Binary, String> {
    let supported = "<f8 >f8 <f4 >f4 <i8 >i8 <i4 >i4 and the narrower integers i2 u2 u4 |i1 |u1";
    let (order, body) = match descr.chars().next() {
        Some(c @ ('<' | '>' | '|' | '=')) => (c, &descr[1..]),
        _ => ('|', descr),
    };
    let (letter, width) = body.split_at(body.len().min(1));
    let width: usize = width.parse().unwrap_or(0);
    let kind = match (letter, width) {
        ("O", _) => {
            return Err(format!(
                "dtype '{descr}' is an object array (pickled Python objects): pisubmit never unpickles; convert it \
                 with a.astype(np.float64)"
            ))
        }
        ("f", 8 | 4) => Kind::Float,
        ("i", 8 | 4 | 2 | 1) => Kind::Signed,
        ("u", 4 | 2 | 1) => Kind::Unsigned,
        ("u", 8) => {
            return Err(format!(
                "dtype '{descr}' (uint64) is not read: values over 2^63 do not fit reduce's i64; convert it with \
                 a.astype(np.int64) if they fit, or a.astype(np.float64)"
            ))
        }
        _ => return Err(format!("dtype '{descr}' is not one reduce reads ({supported})")),
    };
    let big_endian = match order {
        '>' => true,
        '<' => false,
        // '=', '|' or none: native, as np.dtype() reads them. NumPy spells
        // the order out in the files it writes ('|' only for one byte, where
        // there is none); a hand-made header is taken as this machine's.
        _ => cfg!(target_endian = "big"),
    };
    Ok(Binary { kind, width, big_endian })
}

/// A Python literal as NumPy writes one: enough for the header's dict.
#[derive(Debug, PartialEq)]
enum Lit {
    Str(String),
    Int(u64),
    Bool(bool),
    None,
    Tuple(Vec<Lit>),
    List(Vec<Lit>),
    Dict(Vec<(String, Lit)>),
}

impl Lit {
    fn kind(&self) -> &'static str {
        match self {
            Lit::Str(_) => "a string",
            Lit::Int(_) => "a number",
            Lit::Bool(_) => "a boolean",
            Lit::None => "None",
            Lit::Tuple(_) => "a tuple",
            Lit::List(_) => "a list",
            Lit::Dict(_) => "a dict",
        }
    }
}

struct Literal<'a> {
    s: &'a str,
    at: usize,
}

impl Literal<'_> {
    fn skip_space(&mut self) {
        while self.s[self.at..].starts_with(|c: char| c.is_ascii_whitespace()) {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.skip_space();
        self.s[self.at..].chars().next()
    }

    fn error(&self, what: &str) -> String {
        format!("the header's dict is not what NumPy writes: {what} at byte {}", self.at)
    }

    fn value(&mut self) -> Result<Lit, String> {
        match self.peek() {
            Some('{') => self.dict(),
            Some('(') => Ok(Lit::Tuple(self.items('(', ')')?)),
            Some('[') => Ok(Lit::List(self.items('[', ']')?)),
            Some(q @ ('\'' | '"')) => self.string(q).map(Lit::Str),
            Some(c) if c.is_ascii_digit() => {
                let digits = self.s[self.at..].find(|c: char| !c.is_ascii_digit()).unwrap_or(self.s.len() - self.at);
                let n = self.s[self.at..self.at + digits].parse().map_err(|_| self.error("a number too large"))?;
                self.at += digits;
                // Python 2 wrote 3L.
                if self.s[self.at..].starts_with('L') {
                    self.at += 1;
                }
                Ok(Lit::Int(n))
            }
            _ => {
                for (word, lit) in [("True", Lit::Bool(true)), ("False", Lit::Bool(false)), ("None", Lit::None)] {
                    if self.s[self.at..].starts_with(word) {
                        self.at += word.len();
                        return Ok(lit);
                    }
                }
                Err(self.error("an unexpected character"))
            }
        }
    }

    fn string(&mut self, quote: char) -> Result<String, String> {
        self.at += 1;
        let end = self.s[self.at..].find(quote).ok_or_else(|| self.error("a string without its end"))?;
        let s = self.s[self.at..self.at + end].to_string();
        self.at += end + 1;
        Ok(s)
    }

    /// `open` item, item, ... `close`, a trailing comma allowed.
    fn items(&mut self, open: char, close: char) -> Result<Vec<Lit>, String> {
        self.at += open.len_utf8();
        let mut items = Vec::new();
        loop {
            if self.peek() == Some(close) {
                self.at += 1;
                return Ok(items);
            }
            items.push(self.value()?);
            match self.peek() {
                Some(',') => self.at += 1,
                Some(c) if c == close => {}
                _ => return Err(self.error(&format!("no ',' or '{close}'"))),
            }
        }
    }

    fn dict(&mut self) -> Result<Lit, String> {
        self.at += 1;
        let mut entries = Vec::new();
        loop {
            match self.peek() {
                Some('}') => {
                    self.at += 1;
                    return Ok(Lit::Dict(entries));
                }
                Some(q @ ('\'' | '"')) => {
                    let key = self.string(q)?;
                    if self.peek() != Some(':') {
                        return Err(self.error("no ':' after a key"));
                    }
                    self.at += 1;
                    entries.push((key, self.value()?));
                    match self.peek() {
                        Some(',') => self.at += 1,
                        Some('}') => {}
                        _ => return Err(self.error("no ',' or '}'")),
                    }
                }
                _ => return Err(self.error("a key that is not a string")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(dict: &str) -> Result<NpyHeader, String> {
        parse_dict(dict.as_bytes(), 1, 128)
    }

    #[test]
    fn what_numpy_writes_parses() {
        let h = parse("{'descr': '<f8', 'fortran_order': False, 'shape': (1000,), }          \n").expect("a header");
        assert_eq!(h.dtype, Binary { kind: Kind::Float, width: 8, big_endian: false });
        assert_eq!((h.fortran_order, h.shape.clone(), h.values()), (false, vec![1000], Some(1000)));
        let h = parse("{'descr': '>i4', 'fortran_order': True, 'shape': (3, 4), }\n").expect("a header");
        assert_eq!((h.dtype.big_endian, h.dtype.width, h.values()), (true, 4, Some(12)));
        assert_eq!(h.shape_text(), "(3, 4)");
        let h = parse("{'descr': '|u1', 'fortran_order': False, 'shape': (), }").expect("a scalar");
        assert_eq!(h.values(), Some(1));
        let h = parse("{\"descr\": \"i1\", \"shape\": (0,), \"fortran_order\": False}").expect("any key order");
        assert_eq!(h.values(), Some(0));
        let native = dtype_of("f8").expect("an order-less descr is native, as np.dtype('f8')");
        assert_eq!(native.big_endian, cfg!(target_endian = "big"));
    }

    #[test]
    fn what_reduce_cannot_read_is_refused_by_name() {
        let e = parse("{'descr': '|O', 'fortran_order': False, 'shape': (3,), }").unwrap_err();
        assert!(e.contains("object array") && e.contains("never unpickles"), "{e}");
        let e = parse("{'descr': [('x', '<f8'), ('y', '<i4')], 'fortran_order': False, 'shape': (3,), }").unwrap_err();
        assert!(e.contains("structured dtype"), "{e}");
        for (descr, word) in [("<c16", "<c16"), ("<f2", "<f2"), ("|b1", "|b1"), ("<u8", "uint64"), ("<M8[s]", "<M8")] {
            let e = parse(&format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (3,), }}")).unwrap_err();
            assert!(e.contains(word) && e.contains("dtype"), "{descr}: {e}");
        }
        assert!(parse("{'descr': '<f8', 'shape': (3,), }").unwrap_err().contains("no 'fortran_order'"));
        assert!(parse("{'descr': '<f8', 'fortran_order': False, 'shape': (3.5,), }").is_err());
        assert!(parse("{'descr': '<f8' 'fortran_order': False}").unwrap_err().contains("at byte"));
        assert!(parse("[1, 2]").unwrap_err().contains("a list instead of a dict"));
    }

    #[test]
    fn the_preamble_names_what_the_file_is_instead() {
        assert!(preamble(b"\x80\x04\x95").unwrap_err().contains("pickle"));
        assert!(preamble(b"PK\x03\x04").unwrap_err().contains(".npz"));
        assert!(preamble(b"1.5\n2.5\n").unwrap_err().contains("31 2e 35 0a 32 2e"));
        assert!(preamble(b"\x93NUMPY\x04\x00\x10\x00").unwrap_err().contains("version 4.0"));
        assert_eq!(preamble(b"\x93NUMPY\x01\x00\x76\x00"), Ok((1, 2)));
        assert_eq!(preamble(b"\x93NUMPY\x03\x00\x76\x00\x00\x00"), Ok((3, 4)));
    }

    #[test]
    fn the_data_must_be_exactly_what_the_shape_says() {
        let h = parse("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }").expect("a header");
        assert_eq!(h.data_len(128 + 24), Ok(24));
        let e = h.data_len(128 + 20).unwrap_err();
        assert!(e.contains("truncated") && e.contains("(2, 3)") && e.contains("only 20 bytes"), "{e}");
        assert!(h.data_len(128 + 28).unwrap_err().contains("28 bytes follow"));
    }
}
