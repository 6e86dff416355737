//! `--help` for a program and for one of its subcommands, rendered from
//! the table: headings in capitals, flags in a column, prose wrapped to
//! 80 columns, defaults as `[default: ...]`.

use super::table::{Block, Command, Flag, Group, Program};
use super::wrap::wrap;

/// Terminal width the help is laid out for.
const WIDTH: usize = 80;
/// Indent of a flag's spelling.
const INDENT: usize = 4;
/// Column where a flag's help starts.
const HELP_COLUMN: usize = 26;

/// `PROGRAM --help`.
pub fn program_help(program: &Program) -> String {
    let mut out = String::new();
    paragraph(&mut out, program.about, 0);
    for text in &program.description[..program.help_paragraphs.min(program.description.len())] {
        out.push('\n');
        paragraph(&mut out, text, 0);
    }
    out.push_str("\nUSAGE:\n");
    for usage in program.usage {
        out.push_str(&format!("{:INDENT$}{} {usage}\n", "", program.name));
    }
    groups(&mut out, program.global);
    if !program.commands.is_empty() {
        out.push_str("\nCOMMANDS:\n");
        for command in program.commands {
            row(&mut out, &format!("{} {}", command.name, command.synopsis), command.about);
        }
        let more = format!("See `{} COMMAND --help` for a command's options.", program.name);
        paragraph(&mut out, &more, INDENT);
    }
    for section in program.sections.iter().filter(|s| !s.man_only) {
        out.push_str(&format!("\n{}:\n", section.title));
        for (i, block) in section.blocks.iter().enumerate() {
            match block {
                Block::Text(text) => {
                    if i > 0 {
                        out.push('\n');
                    }
                    paragraph(&mut out, text, INDENT)
                }
                Block::Item(term, text) => row(&mut out, term, text),
                Block::Verbatim(lines) => lines.iter().for_each(|l| out.push_str(&format!("{:INDENT$}{l}\n", ""))),
            }
        }
    }
    out
}

/// `PROGRAM COMMAND --help`.
pub fn command_help(program: &Program, command: &Command) -> String {
    let mut out = String::new();
    paragraph(&mut out, &format!("{} {}: {}", program.name, command.name, command.about), 0);
    out.push_str("\nUSAGE:\n");
    let usage = format!("{} [OPTIONS] {} {}", program.name, command.name, command.synopsis);
    paragraph(&mut out, &usage, INDENT);
    groups(&mut out, command.groups);
    if program.global_flags().next().is_some() {
        out.push_str("\nGLOBAL OPTIONS:\n");
        let spellings: Vec<String> = program.global_flags().map(Flag::spelling).collect();
        let text = format!("{} (see `{} --help`)", spellings.join(", "), program.name);
        paragraph(&mut out, &text, INDENT);
    }
    out
}

fn groups(out: &mut String, groups: &[Group]) {
    for group in groups {
        out.push_str(&format!("\n{}:\n", group.title));
        if !group.about.is_empty() {
            paragraph(out, group.about, INDENT);
            out.push('\n');
        }
        for flag in group.flags {
            row(out, &flag.spelling(), &flag.help_with_default());
        }
    }
}

/// A term in the left column and its text wrapped in the right one; a
/// term too wide for the column gets a line of its own.
fn row(out: &mut String, term: &str, text: &str) {
    let mut lines = wrap(text, HELP_COLUMN, WIDTH).into_iter();
    let term = format!("{:INDENT$}{term}", "");
    if term.chars().count() + 2 <= HELP_COLUMN {
        let first = lines.next().unwrap_or_default();
        out.push_str(&format!("{term:HELP_COLUMN$}{}\n", first.trim_start()));
    } else {
        out.push_str(&term);
        out.push('\n');
    }
    lines.for_each(|l| out.push_str(&format!("{l}\n")));
}

fn paragraph(out: &mut String, text: &str, indent: usize) {
    wrap(text, indent, WIDTH).iter().for_each(|l| out.push_str(&format!("{l}\n")));
}

#[cfg(test)]
mod tests {
    use super::super::test_table::DEMO;
    use super::*;

    #[test]
    fn every_line_fits_in_80_columns() {
        let help = program_help(&DEMO);
        assert!(help.lines().all(|l| l.chars().count() <= WIDTH), "{help}");
        let sub = command_help(&DEMO, &DEMO.commands[0]);
        assert!(sub.lines().all(|l| l.chars().count() <= WIDTH), "{sub}");
    }

    #[test]
    fn a_switch_and_a_valued_flag_with_its_default() {
        let help = program_help(&DEMO);
        assert!(help.contains("\n    -q, --quiet           Say less\n"), "{help}");
        assert!(help.contains("\n    --size BYTES          How big [default: 16M]\n"), "{help}");
        // Too wide for the column: the spelling has a line of its own.
        assert!(help.contains("\n    --a-very-long-flag-name SECS\n                          Long one\n"), "{help}");
    }

    #[test]
    fn groups_commands_and_sections_in_table_order() {
        let help = program_help(&DEMO);
        let at = |s: &str| help.find(s).unwrap_or_else(|| panic!("{s:?} missing from\n{help}"));
        assert!(at("USAGE:\n    demo [OPTIONS]") < at("\nOPTIONS:\n"));
        assert!(at("\nOPTIONS:\n") < at("\nLIMITS:\n    Each is logged.\n\n    --dir DIR"));
        assert!(at("\nCOMMANDS:\n    fetch [--to DIR] HOST") < at("\nEXIT STATUS:\n    0"));
        assert!(!help.contains("SEE ALSO"), "man-only sections stay out of --help");
        assert!(!help.contains("Man only"), "the man-only description paragraph stays out");
    }

    #[test]
    fn a_subcommand_help_shows_its_flags_and_names_the_globals() {
        let help = command_help(&DEMO, &DEMO.commands[0]);
        assert!(help.starts_with("demo fetch: Fetch things\n"), "{help}");
        assert!(help.contains("USAGE:\n    demo [OPTIONS] fetch [--to DIR] HOST\n"), "{help}");
        assert!(help.contains("    --to DIR              Where to\n"), "{help}");
        assert!(help.contains("GLOBAL OPTIONS:\n    -q, --quiet, --size BYTES"), "{help}");
        assert!(!help.contains("--mode"), "another command's flag: {help}");
    }
}
