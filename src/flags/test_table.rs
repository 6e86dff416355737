//! A small made-up program for the renderers' unit tests: a switch with a
//! short form, valued flags with and without defaults, a repeatable one,
//! two subcommands and extra sections.

use super::table::{Block, Command, Complete, Flag, Group, Program, Section};

pub static DEMO: Program = Program {
    name: "demo",
    version: "1.2.3",
    man_section: 1,
    manual: "User Commands",
    about: "demo: shows the renderers",
    usage: &["[OPTIONS] COMMAND"],
    description: &["First paragraph, in help too.", "Man only: .starts with a dot and 'a quote, and a back\\slash."],
    help_paragraphs: 1,
    global: &[
        Group {
            title: "OPTIONS",
            about: "",
            flags: &[
                Flag { short: Some('q'), ..Flag::switch("quiet", "Say less") },
                Flag { default: Some("16M"), ..Flag::valued("size", "BYTES", "How big") },
            ],
        },
        Group {
            title: "LIMITS",
            about: "Each is logged.",
            flags: &[
                Flag { repeats: true, complete: Complete::Dir, ..Flag::valued("dir", "DIR", "Where; repeatable") },
                Flag::valued("a-very-long-flag-name", "SECS", "Long one"),
            ],
        },
    ],
    commands: &[
        Command {
            name: "fetch",
            synopsis: "[--to DIR] HOST",
            about: "Fetch things",
            groups: &[Group {
                title: "OPTIONS",
                about: "",
                flags: &[
                    Flag { complete: Complete::Dir, ..Flag::valued("to", "DIR", "Where to") },
                    Flag { complete: Complete::Hosts, ..Flag::valued("via", "HOST", "Through") },
                ],
            }],
        },
        Command {
            name: "show",
            synopsis: "[--mode M]",
            about: "Show things",
            groups: &[Group {
                title: "OPTIONS",
                about: "",
                flags: &[
                    Flag { complete: Complete::OneOf(&["fast", "slow"]), ..Flag::valued("mode", "M", "How") },
                    Flag { complete: Complete::File, ..Flag::valued("out", "FILE", "Write it: here") },
                ],
            }],
        },
    ],
    sections: &[
        Section {
            title: "EXIT STATUS",
            blocks: &[Block::Item("0", "done"), Block::Item("2", "bad usage")],
            man_only: false,
        },
        Section {
            title: "EXAMPLES",
            blocks: &[Block::Verbatim(&["demo -q fetch pi1", ".hidden-looking line"])],
            man_only: false,
        },
        Section { title: "SEE ALSO", blocks: &[Block::Text("other(1)")], man_only: true },
    ],
};
