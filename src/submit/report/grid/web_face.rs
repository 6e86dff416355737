//! A tile as the web page draws it: the same colours and marks as the terminal's, computed
//! here so that the page never carries its own copy of the map (the two cannot drift).

use super::colours::Rgb;
use super::tile::{tile_style, Tile};

/// What the page needs to draw one tile.
#[derive(Clone, Debug, PartialEq)]
pub struct WebFace {
    /// CSS colours, `#rrggbb`.
    pub background: String,
    pub text: String,
    /// The marks, most urgent first ("X" when down, "VT", "t", or "").
    pub marks: String,
}

pub fn web_face(tile: &Tile) -> WebFace {
    let style = tile_style(tile);
    WebFace { background: css(style.bg), text: css(style.fg), marks: tile.marks() }
}

fn css((r, g, b): Rgb) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::submit::report::grid::TileState;

    fn tile(state: TileState, temp_c: Option<f32>) -> Tile {
        Tile {
            name: "pi".into(),
            state,
            temp_c,
            load1: None,
            threads: None,
            throttled_now: false,
            under_voltage_now: false,
            throttled_before: false,
        }
    }

    #[test]
    fn the_page_gets_the_terminal_s_colours_and_marks() {
        let cool = web_face(&tile(TileState::Up, Some(40.0)));
        assert_eq!((cool.background.as_str(), cool.marks.as_str()), ("#0000ff", ""));
        assert_eq!(web_face(&tile(TileState::Up, Some(85.0))).background, "#ff0000");
        let down = web_face(&tile(TileState::Unreachable, Some(50.0)));
        assert_eq!((down.background.as_str(), down.text.as_str(), down.marks.as_str()), ("#404040", "#ff7878", "X"));
    }
}
