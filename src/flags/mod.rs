//! One table of a program's flags and subcommands, as plain data, and the
//! renderers that turn it into `--help`, a man page and shell completions.
//!
//! In the style of ripgrep's `crates/core/flags/defs.rs`, but data rather
//! than traits: a binary writes one `static Program`, its lexopt loop asks
//! `Scope::lookup` for every option (so it can only accept what the table
//! lists), and `--help`, `--generate man|bash|zsh|fish` all render that same
//! table, so they cannot drift from the parser.
//!
//! No I/O here and no knowledge of daemon/ or submit/: the renderers return
//! strings, the binary prints them.
//!
//! The table's types live in table.rs (re-exported here), so the renderers
//! use it and not this file, which uses them for `Generate`.

mod completions;
mod help;
mod lookup;
mod man;
mod table;
mod wrap;

#[cfg(test)]
mod test_table;

pub use completions::{bash, fish, zsh};
pub use help::{command_help, program_help};
pub use lookup::{value, FlagError, Scope};
pub use man::man_page;
pub use table::{Block, Command, Complete, Flag, Group, Program, Section};

/// What `--generate` can print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Generate {
    Man,
    Bash,
    Zsh,
    Fish,
}

/// The words `--generate` takes, for its table entry.
pub const GENERATE_KINDS: &[&str] = &["man", "bash", "zsh", "fish"];

impl Generate {
    pub fn parse(word: &str) -> Option<Generate> {
        Some(match word {
            "man" => Generate::Man,
            "bash" => Generate::Bash,
            "zsh" => Generate::Zsh,
            "fish" => Generate::Fish,
            _ => return None,
        })
    }

    /// The man page or the completion script for `program`.
    pub fn render(self, program: &Program) -> String {
        match self {
            Generate::Man => man_page(program),
            Generate::Bash => bash(program),
            Generate::Zsh => zsh(program),
            Generate::Fish => fish(program),
        }
    }
}
