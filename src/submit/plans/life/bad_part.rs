//! Why a life worker's partial (its borders, or a strip's rows for a
//! snapshot) cannot be used; the driver names the worker and stops.

use crate::protocol::WireError;
use std::fmt;

#[derive(Debug)]
pub enum BadPart {
    /// A field that cannot be read.
    Wire(WireError),
    /// Fewer bytes than the two borders of `rows` rows asked for.
    ShortBorders { bytes: usize, rows: u32 },
    /// Rows that do not continue the ones sent so far.
    Discontinuous { first: u32, end: u32, sent: u32 },
    /// A packed strip that does not unpack to the rows it names.
    Packed(String),
}

impl From<WireError> for BadPart {
    fn from(e: WireError) -> BadPart {
        BadPart::Wire(e)
    }
}

impl fmt::Display for BadPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadPart::Wire(e) => e.fmt(f),
            BadPart::ShortBorders { bytes, rows } => write!(f, "{bytes} bytes of rows, not two borders of {rows} rows"),
            BadPart::Discontinuous { first, end, sent } => {
                write!(f, "rows {first}..{end} do not continue the {sent} rows sent")
            }
            BadPart::Packed(why) => write!(f, "packed rows: {why}"),
        }
    }
}

impl std::error::Error for BadPart {}
