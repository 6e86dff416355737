//! The man page, as roff for man(7): NAME, SYNOPSIS, DESCRIPTION, OPTIONS
//! by group, COMMANDS with their own options, then the extra sections.
//! Every piece of table text goes through `escape`, so a '-' stays a
//! hyphen-minus (copy-pastable flags) and no line turns into a request.

use super::table::{Block, Flag, Group, Program};

pub fn man_page(program: &Program) -> String {
    let mut out = String::new();
    let upper = program.name.to_ascii_uppercase();
    // No date: the page is rebuilt with every package, and a date would
    // make two builds of one version differ.
    out.push_str(&format!(
        ".TH {upper} {} \"\" \"{} {}\" \"{}\"\n",
        program.man_section,
        escape(program.name),
        escape(program.version),
        escape(program.manual)
    ));
    let about = program.about.split_once(": ").map_or(program.about, |(_, what)| what);
    out.push_str(&format!(".SH NAME\n{} \\- {}\n", escape(program.name), escape(about)));
    out.push_str(".SH SYNOPSIS\n");
    for (i, usage) in program.usage.iter().enumerate() {
        if i > 0 {
            out.push_str(".br\n");
        }
        out.push_str(&format!(".B {}\n{}\n", escape(program.name), escape(usage)));
    }
    out.push_str(".SH DESCRIPTION\n");
    for (i, text) in program.description.iter().enumerate() {
        if i > 0 {
            out.push_str(".PP\n");
        }
        out.push_str(&text_line(text));
    }
    out.push_str(".SH OPTIONS\n");
    groups(&mut out, program.global);
    if !program.commands.is_empty() {
        out.push_str(".SH COMMANDS\n");
        for command in program.commands {
            out.push_str(&format!(".SS {}\n", escape(command.name)));
            out.push_str(&format!(".B {} {}\n", escape(program.name), escape(command.name)));
            out.push_str(&text_line(command.synopsis));
            out.push_str(".PP\n");
            out.push_str(&text_line(command.about));
            for group in command.groups {
                flags(&mut out, group.flags);
            }
        }
    }
    for section in program.sections {
        out.push_str(&format!(".SH {}\n", escape(section.title)));
        for block in section.blocks {
            match block {
                Block::Text(text) => {
                    out.push_str(".PP\n");
                    out.push_str(&text_line(text));
                }
                Block::Item(term, text) => {
                    out.push_str(&format!(".TP\n.B {}\n", escape(term)));
                    out.push_str(&text_line(text));
                }
                Block::Verbatim(lines) => {
                    out.push_str(".PP\n.nf\n.RS 4\n");
                    lines.iter().for_each(|l| out.push_str(&roff_line(&escape(l))));
                    out.push_str(".RE\n.fi\n");
                }
            }
        }
    }
    out
}

fn groups(out: &mut String, groups: &[Group]) {
    for group in groups {
        // A program with one group needs no sub-heading.
        if groups.len() > 1 {
            out.push_str(&format!(".SS {}\n", escape(&title_case(group.title))));
        }
        if !group.about.is_empty() {
            out.push_str(".PP\n");
            out.push_str(&text_line(group.about));
        }
        flags(out, group.flags);
    }
}

fn flags(out: &mut String, flags: &[Flag]) {
    for flag in flags {
        out.push_str(".TP\n");
        let mut term = String::new();
        if let Some(c) = flag.short {
            term.push_str(&format!("\\fB{}\\fR, ", escape(&format!("-{c}"))));
        }
        term.push_str(&format!("\\fB{}\\fR", escape(&format!("--{}", flag.long))));
        if let Some(v) = flag.value {
            term.push_str(&format!(" \\fI{}\\fR", escape(v)));
        }
        out.push_str(&roff_line(&term));
        out.push_str(&text_line(&flag.help_with_default()));
    }
}

/// One input line of running text: escaped and folded onto one line.
fn text_line(text: &str) -> String {
    roff_line(&escape(text).split_whitespace().collect::<Vec<_>>().join(" "))
}

/// A line already escaped, guarded with `\&` when it would start with
/// '.' or '\'' (which roff reads as a request).
fn roff_line(line: &str) -> String {
    if line.starts_with(['.', '\'']) {
        format!("\\&{line}\n")
    } else {
        format!("{line}\n")
    }
}

/// Escapes text for roff: backslashes become `\e`, hyphens `\-` (the
/// minus sign man pages use for options), and a '.' or '\'' that starts
/// a line is made harmless by `text_line`.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\e"),
            '-' => out.push_str("\\-"),
            _ => out.push(c),
        }
    }
    out
}

/// "LIMITS" -> "Limits" for a sub-heading.
fn title_case(title: &str) -> String {
    let lower = title.to_ascii_lowercase();
    let mut chars = lower.chars();
    chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::super::test_table::DEMO;
    use super::*;

    #[test]
    fn hyphens_backslashes_and_leading_dots_are_escaped() {
        assert_eq!(escape("--max-frame a\\b"), "\\-\\-max\\-frame a\\eb");
        assert_eq!(text_line(".starts"), "\\&.starts\n");
        assert_eq!(text_line("'quote"), "\\&'quote\n");
        let page = man_page(&DEMO);
        assert!(page.contains("\n\\&.hidden\\-looking line\n"), "{page}");
        assert!(page.contains("Man only: .starts with a dot and 'a quote, and a back\\eslash.\n"), "{page}");
        for line in page.lines().filter(|l| l.starts_with(['.', '\''])) {
            let request = line.split_whitespace().next().unwrap_or("");
            let known = [".TH", ".SH", ".SS", ".B", ".PP", ".TP", ".br", ".nf", ".fi", ".RS", ".RE"];
            assert!(known.contains(&request), "a text line became the request {line:?}");
        }
    }

    #[test]
    fn a_switch_and_a_valued_flag() {
        let page = man_page(&DEMO);
        assert!(page.contains(".TP\n\\fB\\-q\\fR, \\fB\\-\\-quiet\\fR\nSay less\n"), "{page}");
        assert!(page.contains(".TP\n\\fB\\-\\-size\\fR \\fIBYTES\\fR\nHow big [default: 16M]\n"), "{page}");
    }

    #[test]
    fn header_sections_and_subcommands() {
        let page = man_page(&DEMO);
        assert!(page
            .starts_with(".TH DEMO 1 \"\" \"demo 1.2.3\" \"User Commands\"\n.SH NAME\ndemo \\- shows the renderers\n"));
        let at = |s: &str| page.find(s).unwrap_or_else(|| panic!("{s:?} missing from\n{page}"));
        assert!(at(".SH DESCRIPTION\nFirst paragraph") < at(".SH OPTIONS\n.SS Options\n"));
        assert!(at(".SS Limits\n.PP\nEach is logged.\n") < at(".SH COMMANDS\n.SS fetch\n"));
        assert!(at(".SS show\n") < at(".SH EXIT STATUS\n.TP\n.B 0\ndone\n"));
        assert!(at(".SH EXAMPLES\n") < at(".SH SEE ALSO\n.PP\nother(1)\n"));
    }
}
