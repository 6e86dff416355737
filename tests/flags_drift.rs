//! piworker's flag table against what the binary does: every flag the
//! parser accepts is in `--help`, in the man page and in each completion
//! script; a flag not in the table is refused; the generated page and
//! scripts pass their own tools' checks (skipped loudly when a tool is
//! missing).

use piworker::daemon::{parse_args, PIWORKER};
use piworker::flags::Flag;
#[path = "common/checkers.rs"]
mod checkers;

use checkers::{assert_clean, check_with};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_piworker");

fn piworker(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run piworker")
}

fn stdout(args: &[&str]) -> String {
    let out = piworker(args);
    assert!(out.status.success(), "piworker {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn table() -> Vec<&'static Flag> {
    PIWORKER.global_flags().collect()
}

/// A value the flag accepts, chosen by its metavariable.
fn sample(meta: &str) -> &'static str {
    match meta {
        "ADDR:PORT" => "127.0.0.1:0",
        "N" => "2",
        "BYTES" => "64M",
        "SECS" => "5",
        "CIDR,..." => "127.0.0.0/8",
        "FILE" => "/nonexistent/key",
        "DIR" => "/tmp",
        "KIND" => "man",
        other => panic!("no sample value for {other}: add one to tests/flags_drift.rs"),
    }
}

#[test]
fn every_table_flag_is_accepted_by_the_parser() {
    for flag in table() {
        let mut args = vec![format!("--{}", flag.long)];
        args.extend(flag.value.map(|m| sample(m).to_string()));
        let result = parse_args(args.iter().map(Into::into));
        if let Err(e) = result {
            panic!("{args:?} is in the table but the parser refuses it: {e}");
        }
        if let Some(c) = flag.short {
            assert!(parse_args([format!("-{c}").into()]).is_ok(), "-{c} (--{}) is refused", flag.long);
        }
    }
}

/// The parser's match arms, read from its source: an arm added without a
/// table entry would be dead code today, and a trap when someone "fixes"
/// the lookup; it fails here instead.
#[test]
fn every_parser_arm_is_in_the_table() {
    let source = include_str!("../src/daemon/config.rs");
    let start = source.find("pub fn parse_args").expect("parse_args in config.rs");
    let end = start + source[start..].find("\n}\n").expect("end of parse_args");
    let mut arms = Vec::new();
    for line in source[start..end].lines().map(str::trim) {
        let Some(pattern) = line.split_once(" =>").map(|(p, _)| p) else { continue };
        for literal in pattern.split('|').map(str::trim) {
            if let Some(name) = literal.strip_prefix('"').and_then(|l| l.strip_suffix('"')) {
                arms.push(name);
            }
        }
    }
    assert!(arms.len() >= 20, "found only {arms:?}: has the parser's shape changed?");
    let names: Vec<&str> = table().iter().map(|f| f.long).collect();
    for arm in &arms {
        assert!(names.contains(arm), "config.rs parses --{arm}, which is not in src/daemon/flags.rs");
    }
    for name in &names {
        assert!(arms.contains(name), "--{name} is in the table but config.rs has no arm for it");
    }
}

#[test]
fn a_flag_not_in_the_table_is_refused_by_name() {
    for (arg, expected) in [
        ("--frobnicate", "unknown option --frobnicate"),
        ("--max-frme", "unknown option --max-frme (did you mean --max-frame?)"),
        ("-x", "unknown option -x"),
    ] {
        let out = piworker(&[arg]);
        assert_eq!(out.status.code(), Some(2), "{arg}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with(&format!("piworker: {expected}\n")), "{arg}: {stderr}");
    }
}

#[test]
fn every_flag_is_in_the_help_the_man_page_and_each_completion() {
    let help = stdout(&["--help"]);
    let man = stdout(&["--generate", "man"]);
    let bash = stdout(&["--generate", "bash"]);
    let zsh = stdout(&["--generate", "zsh"]);
    let fish = stdout(&["--generate", "fish"]);
    for flag in table() {
        let spelling = flag.spelling();
        assert!(help.contains(&format!("    {spelling}")), "--help lacks {spelling}");
        let roff = format!("\\fB{}\\fR", format!("--{}", flag.long).replace('-', "\\-"));
        assert!(man.contains(&roff), "the man page lacks {roff}");
        if let Some(default) = flag.default {
            assert!(help.contains("[default:") && man.contains("[default:"), "{default}");
        }
        let long = format!("--{}", flag.long);
        let mut bash_words = bash.split(|c: char| c.is_whitespace() || c == '"' || c == '=');
        assert!(bash_words.any(|w| w == long), "bash lacks {long}");
        assert!(
            zsh.contains(&format!("{long}["))
                || zsh.contains(&format!("{long}=["))
                || zsh.contains(&format!("{long}}}")),
            "zsh lacks {long}"
        );
        assert!(fish.contains(&format!(" -l {} ", flag.long)), "fish lacks {long}");
        if let Some(c) = flag.short {
            assert!(bash.contains(&format!(" -{c} ")) && zsh.contains(&format!("-{c},")), "-{c}");
            assert!(fish.contains(&format!(" -s {c} -l {}", flag.long)), "fish lacks -{c}");
        }
    }
    assert!(help.lines().all(|l| l.chars().count() <= 80), "a --help line is wider than 80 columns");
    // The sections that used to be hand-kept in packaging/man/piworker.8.
    for section in
        ["DESCRIPTION", "OPTIONS", "JOB PROGRAMS", "ENVIRONMENT", "EXIT STATUS", "FILES", "EXAMPLES", "SEE ALSO"]
    {
        assert!(man.contains(&format!("\n.SH {section}\n")), "the man page lacks {section}");
    }
}

#[test]
fn the_man_page_passes_groff_and_man() {
    let man = stdout(&["--generate", "man"]);
    assert_clean("groff", check_with("groff", &["-ww", "-z", "-man"], &man));
    let dir = std::env::temp_dir().join(format!("piworker-man-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let page = dir.join("piworker.8");
    std::fs::write(&page, &man).expect("write the page");
    let page = page.to_str().expect("UTF-8 temp path");
    let rendered = check_with("man", &["--warnings", "-E", "UTF-8", "-l", "-Tutf8", page], "");
    if let Some(out) = &rendered {
        // man draws bold as "X\bX" when not writing to a terminal.
        let plain = without_overstrike(&String::from_utf8_lossy(&out.stdout));
        assert!(plain.contains("--max-unfinished-per-address N"), "{plain}");
    }
    assert_clean("man", rendered);
    std::fs::remove_dir_all(&dir).expect("remove temp dir");
}

/// "N\bNA\bA" -> "NA": the character after each backspace stays.
fn without_overstrike(text: &str) -> String {
    let mut out: Vec<char> = Vec::new();
    for c in text.chars() {
        if c == '\u{8}' {
            out.pop();
        } else {
            out.push(c);
        }
    }
    out.into_iter().collect()
}

#[test]
fn the_completion_scripts_pass_their_shells_syntax_checks() {
    assert_clean("bash", check_with("bash", &["-n"], &stdout(&["--generate", "bash"])));
    assert_clean("zsh", check_with("zsh", &["-n"], &stdout(&["--generate", "zsh"])));
    assert_clean("fish", check_with("fish", &["--no-execute"], &stdout(&["--generate", "fish"])));
}

/// bash is always there: the script is also run, not only parsed.
#[test]
fn bash_completes_flag_names_and_fixed_values() {
    let script = stdout(&["--generate", "bash"]);
    let complete = |words: &str, cword: usize| {
        let program = format!(
            "{script}\nCOMP_WORDS=({words}); COMP_CWORD={cword}; _piworker; [ ${{#COMPREPLY[@]}} -eq 0 ] || printf '%s\\n' \"${{COMPREPLY[@]}}\""
        );
        let out = check_with("bash", &["-s"], &program).expect("bash");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("UTF-8")
    };
    assert_eq!(complete("piworker --gen", 1), "--generate\n");
    assert_eq!(complete("piworker --generate z", 2), "zsh\n");
    assert_eq!(complete("piworker --threads ''", 2), "", "a number has nothing to offer");
    let max = complete("piworker --max-job", 1);
    assert_eq!(
        max.lines().collect::<Vec<_>>(),
        ["--max-jobs-per-connection", "--max-jobs", "--max-job-input", "--max-job-memory"]
    );
}
