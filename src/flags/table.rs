//! The table's types: a program, its subcommands, flag groups, flags and
//! extra sections, as plain `static` data that every renderer reads.

/// A whole program: what its man page and `--help` are made of.
#[derive(Debug)]
pub struct Program {
    /// The binary's name, as typed.
    pub name: &'static str,
    /// Its version, shown in the man page's footer.
    pub version: &'static str,
    /// Manual section: 1 for user commands, 8 for daemons.
    pub man_section: u8,
    /// The man page's centre header ("User Commands", "System Administration").
    pub manual: &'static str,
    /// One line after the name: "piworker: the compute daemon of ...".
    pub about: &'static str,
    /// Usage lines without the program's name, e.g. "[OPTIONS]".
    pub usage: &'static [&'static str],
    /// Paragraphs of the DESCRIPTION: the first `help_paragraphs` of them
    /// also open `--help`, the rest are for the man page only.
    pub description: &'static [&'static str],
    pub help_paragraphs: usize,
    /// Options taken before (and, for a parser that wants it, after) the
    /// subcommand, grouped as `--help` shows them.
    pub global: &'static [Group],
    /// Subcommands; empty for a program without them.
    pub commands: &'static [Command],
    /// EXIT STATUS, ENVIRONMENT, FILES, EXAMPLES, SEE ALSO, ...
    pub sections: &'static [Section],
}

/// A subcommand with its own flags (`pisubmit status --watch`).
#[derive(Debug)]
pub struct Command {
    pub name: &'static str,
    /// What follows the name in a usage line: "[--watch] [--every SECS]".
    pub synopsis: &'static str,
    /// What it does, in prose (wrapped by the renderers).
    pub about: &'static str,
    pub groups: &'static [Group],
}

/// Flags shown together under one heading. A long name is unique within
/// a scope (the global flags plus one subcommand's): `Scope::lookup` finds
/// the global one first.
#[derive(Debug)]
pub struct Group {
    /// The heading: "OPTIONS", "LIMITS".
    pub title: &'static str,
    /// Prose shown under the heading, before the flags; "" for none.
    pub about: &'static str,
    pub flags: &'static [Flag],
}

/// One option.
#[derive(Debug)]
pub struct Flag {
    /// Without the dashes: "max-frame".
    pub long: &'static str,
    pub short: Option<char>,
    /// The metavariable ("BYTES"), or None for a switch.
    pub value: Option<&'static str>,
    /// Shown as `[default: ...]`; None when there is nothing to say.
    pub default: Option<&'static str>,
    /// Plain prose; the renderers wrap it.
    pub help: &'static str,
    /// May be given more than once (each one counts).
    pub repeats: bool,
    /// How a shell completes the value.
    pub complete: Complete,
}

/// How a shell completes a flag's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Complete {
    /// Free text (a number, an address): nothing to offer.
    Nothing,
    File,
    Dir,
    /// A host name.
    Hosts,
    /// Exactly one of these words.
    OneOf(&'static [&'static str]),
}

/// An extra section of the man page and (unless `man_only`) of `--help`.
#[derive(Debug)]
pub struct Section {
    /// "EXIT STATUS", "ENVIRONMENT", ...
    pub title: &'static str,
    pub blocks: &'static [Block],
    /// FILES and SEE ALSO belong in the manual, not in `--help`.
    pub man_only: bool,
}

/// A piece of an extra section.
#[derive(Debug)]
pub enum Block {
    /// A paragraph of prose.
    Text(&'static str),
    /// A term and its explanation ("RUST_LOG", "Log filter: ...").
    Item(&'static str, &'static str),
    /// Lines kept as written (examples, commands).
    Verbatim(&'static [&'static str]),
}

impl Program {
    /// Every global flag, in table order.
    pub fn global_flags(&self) -> impl Iterator<Item = &'static Flag> {
        self.global.iter().flat_map(|g| g.flags.iter())
    }

    pub fn command(&self, name: &str) -> Option<&'static Command> {
        self.commands.iter().find(|c| c.name == name)
    }
}

impl Command {
    /// Every flag of this subcommand, in table order.
    pub fn flags(&self) -> impl Iterator<Item = &'static Flag> {
        self.groups.iter().flat_map(|g| g.flags.iter())
    }
}

impl Flag {
    /// A switch: no value, no short form, no default, completes nothing.
    /// A table adds the rest with struct update syntax:
    /// `Flag { short: Some('q'), ..Flag::switch("quiet", "...") }`.
    pub const fn switch(long: &'static str, help: &'static str) -> Flag {
        Flag { long, short: None, value: None, default: None, help, repeats: false, complete: Complete::Nothing }
    }

    /// A flag that takes a value named `value`.
    pub const fn valued(long: &'static str, value: &'static str, help: &'static str) -> Flag {
        Flag { value: Some(value), ..Flag::switch(long, help) }
    }

    /// "-h, --help" or "--max-frame BYTES", as `--help` and the man page show it.
    pub fn spelling(&self) -> String {
        let mut s = match self.short {
            Some(c) => format!("-{c}, --{}", self.long),
            None => format!("--{}", self.long),
        };
        if let Some(v) = self.value {
            s.push(' ');
            s.push_str(v);
        }
        s
    }

    /// The help prose with the default appended.
    pub fn help_with_default(&self) -> String {
        match self.default {
            Some(d) => format!("{} [default: {d}]", self.help),
            None => self.help.to_string(),
        }
    }

    /// The first clause of the help, for a completion menu.
    pub fn summary(&self) -> &'static str {
        summary(self.help)
    }
}

/// Text up to the first sentence or clause end, for one-line menus.
pub(super) fn summary(text: &'static str) -> &'static str {
    let end = text.find(['.', ';', '(', ':']).unwrap_or(text.len());
    text[..end].trim_end_matches([' ', ','])
}
