//! The value types reduce reads, and what each becomes on the wire.

use crate::jobs::reduce::DType as WireType;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Float,
    Signed,
    Unsigned,
}

/// A fixed-width binary value: what it is, how many bytes, which order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Binary {
    pub kind: Kind,
    /// Bytes per value: 1, 2, 4 or 8.
    pub width: usize,
    pub big_endian: bool,
}

/// How an input holds its values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dtype {
    Binary(Binary),
    /// Decimal text, one number per line.
    Text,
}

/// The names `--dtype` takes. `npy` headers may also give the narrower
/// integers (i8, i16, u8, u16, u32), widened the same way.
pub const CLI_NAMES: &[&str] = &["f64", "f64be", "i64", "i64be", "f32", "f32be", "i32", "i32be", "text"];

impl Dtype {
    pub const F64: Dtype = Dtype::binary(Kind::Float, 8, false);
    pub const I64: Dtype = Dtype::binary(Kind::Signed, 8, false);

    pub const fn binary(kind: Kind, width: usize, big_endian: bool) -> Dtype {
        Dtype::Binary(Binary { kind, width, big_endian })
    }

    /// One of `CLI_NAMES`.
    pub fn parse(name: &str) -> Option<Dtype> {
        if name == "text" {
            return Some(Dtype::Text);
        }
        let (body, big_endian) = name.strip_suffix("be").map_or((name, false), |b| (b, true));
        let dtype = match body {
            "f64" => Dtype::binary(Kind::Float, 8, big_endian),
            "f32" => Dtype::binary(Kind::Float, 4, big_endian),
            "i64" => Dtype::binary(Kind::Signed, 8, big_endian),
            "i32" => Dtype::binary(Kind::Signed, 4, big_endian),
            _ => return None,
        };
        Some(dtype)
    }

    /// "f64", "i32be", "u16", "text".
    pub fn name(self) -> String {
        match self {
            Dtype::Text => "text".into(),
            Dtype::Binary(b) => b.name(),
        }
    }

    /// Bytes per value; text has none.
    pub fn width(self) -> Option<usize> {
        match self {
            Dtype::Text => None,
            Dtype::Binary(b) => Some(b.width),
        }
    }

    /// What the workers are sent: f64 for floats, i64 for integers.
    pub fn wire(self) -> WireType {
        match self {
            Dtype::Text => WireType::Text,
            Dtype::Binary(Binary { kind: Kind::Float, .. }) => WireType::F64,
            Dtype::Binary(_) => WireType::I64,
        }
    }
}

impl Binary {
    pub fn name(self) -> String {
        let letter = match self.kind {
            Kind::Float => 'f',
            Kind::Signed => 'i',
            Kind::Unsigned => 'u',
        };
        format!("{letter}{}{}", self.width * 8, if self.big_endian { "be" } else { "" })
    }

    /// NumPy's spelling: "<f8", ">i4", "|u1".
    pub fn numpy(self) -> String {
        let order = match (self.width, self.big_endian) {
            (1, _) => '|',
            (_, true) => '>',
            (_, false) => '<',
        };
        let letter = match self.kind {
            Kind::Float => 'f',
            Kind::Signed => 'i',
            Kind::Unsigned => 'u',
        };
        format!("{order}{letter}{}", self.width)
    }

    /// Already the wire's form: nothing to convert.
    pub fn is_wire(self) -> bool {
        self.width == 8 && self.big_endian
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cli_name_parses_back_to_itself() {
        for name in CLI_NAMES {
            let dtype = Dtype::parse(name).unwrap_or_else(|| panic!("{name} does not parse"));
            assert_eq!(dtype.name(), *name);
        }
        assert_eq!(Dtype::parse("f64"), Some(Dtype::F64), "f64 is little-endian");
        assert_eq!(Dtype::parse("f16"), None);
        assert_eq!(Dtype::parse("be"), None);
    }

    #[test]
    fn floats_go_as_f64_and_integers_as_i64() {
        assert_eq!(Dtype::parse("f32be").map(Dtype::wire), Some(WireType::F64));
        assert_eq!(Dtype::parse("i32").map(Dtype::wire), Some(WireType::I64));
        assert_eq!(Binary { kind: Kind::Unsigned, width: 2, big_endian: false }.numpy(), "<u2");
        assert_eq!(Binary { kind: Kind::Signed, width: 1, big_endian: true }.numpy(), "|i1");
    }
}
