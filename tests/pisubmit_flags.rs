//! pisubmit's flag table against what the binary does: every flag of every
//! command is accepted by the parser (before and after the command's name
//! for the global ones), is in `--help` and `pisubmit COMMAND --help`, in
//! the man page and in each completion script; every parser arm is in the
//! table; `pisubmit COMMAND --help` works for every command; the page and
//! scripts pass their own tools' checks (skipped loudly when missing).

use piworker::flags::{Command as TableCommand, Flag};
use piworker::submit::cli::table::PISUBMIT;
use piworker::submit::cli::{parse_args, Parsed};
use piworker::submit::SubmitError;
#[path = "common/checkers.rs"]
mod checkers;

use checkers::{assert_clean, check_with};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_pisubmit");

fn pisubmit(args: &[&str]) -> Output {
    Command::new(BIN).args(args).env_remove("PISUBMIT_HOSTS").output().expect("run pisubmit")
}

fn stdout(args: &[&str]) -> String {
    let out = pisubmit(args);
    assert!(out.status.success(), "pisubmit {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn parse(args: &[String]) -> Result<Parsed, SubmitError> {
    parse_args(args.iter().map(Into::into), None)
}

/// A value the flag accepts, chosen by its metavariable.
fn sample(meta: &str) -> &'static str {
    match meta {
        "SPEC" => "127.0.0.1:9",
        "SECS" | "N" | "L" | "C" | "S" | "G" | "W" | "H" | "K" | "R" | "PX" | "MS" => "3",
        "SECS|N%" => "300%",
        "FILE" => "/nonexistent/file",
        "DIR" => "/tmp",
        "KIND" => "man",
        "A..B" => "1..100",
        "A" => "1",
        "B" => "100",
        "X1,X2,..." | "P1,P2,..." => "2,3",
        "OP" => "sum",
        "TYPE" => "i64",
        "DENSITY" => "0.5",
        "N|SECSs|off" => "5s",
        "BYTES" => "256M",
        "CIDR,..." => "127.0.0.0/8",
        "P|A-B" => "31415",
        "N,N,..." => "1,2",
        "RATE" => "100mbit",
        "TIME" => "0.3ms",
        "X" => "0.5",
        "ROUTE" => "head",
        "[ADDR:]PORT" => "0",
        other => panic!("no sample value for {other}: add one to tests/pisubmit_flags.rs"),
    }
}

/// What a command needs before its flags (a program's name, a job to time).
fn lead(command: &str) -> &'static [&'static str] {
    match command {
        "exec" => &["prog"],
        _ => &[],
    }
}

fn refused_as_unknown(result: Result<Parsed, SubmitError>) -> Option<String> {
    match result {
        Err(e) if e.to_string().contains("unknown option") || e.to_string().contains("flag table") => {
            Some(e.to_string())
        }
        _ => None,
    }
}

#[test]
fn every_table_flag_is_accepted_by_the_parser() {
    let mut tried = 0;
    for command in PISUBMIT.commands {
        for flag in command.flags() {
            let mut args = vec!["--hosts".to_string(), "127.0.0.1".to_string(), command.name.to_string()];
            args.extend(lead(command.name).iter().map(|s| s.to_string()));
            args.push(format!("--{}", flag.long));
            args.extend(flag.value.map(|m| sample(m).to_string()));
            if command.name == "bench" {
                args.extend(["pi", "--samples", "5"].map(String::from));
            }
            if let Some(e) = refused_as_unknown(parse(&args)) {
                panic!("{args:?}: --{} is in the table for {} but the parser refuses it: {e}", flag.long, command.name);
            }
            tried += 1;
        }
    }
    // The global options, before and after the command's name.
    for flag in PISUBMIT.global_flags().filter(|f| !matches!(f.long, "help" | "version" | "generate")) {
        let mut given = vec![format!("--{}", flag.long)];
        given.extend(flag.value.map(|m| sample(m).to_string()));
        // A resume needs the log it resumes from.
        if flag.long.starts_with("resume") {
            given.extend(["--joblog".to_string(), "run.log".to_string()]);
        }
        let host = ["--hosts".to_string(), "127.0.0.1".to_string()];
        // --serve is for status and long jobs only.
        let command = if flag.long == "serve" { "status" } else { "ping" }.to_string();
        let before: Vec<String> = host.iter().cloned().chain(given.clone()).chain([command.clone()]).collect();
        let after: Vec<String> = host.iter().cloned().chain([command]).chain(given).collect();
        for args in [before, after] {
            match parse(&args) {
                Ok(Parsed::Run(..)) => tried += 1,
                Ok(_) => panic!("{args:?} did not parse into a run"),
                Err(e) => panic!("{args:?}: {e}"),
            }
        }
    }
    assert!(tried > 60, "only {tried} flags tried");
}

#[test]
fn globals_after_the_command_mean_what_they_mean_before_it() {
    let args: Vec<String> =
        ["loopsum", "--json", "--hosts", "127.0.0.1:7", "--retries", "5", "--t-range", "0..9"].map(String::from).into();
    let Ok(Parsed::Run(global, _)) = parse(&args) else { panic!("{args:?} did not parse") };
    assert!(global.json);
    assert_eq!(global.retries, 5);
    assert_eq!(global.hosts.len(), 1);
    // And a command's own flag is not a global one.
    let args: Vec<String> = ["--hosts", "a", "--t-range", "0..9", "loopsum"].map(String::from).into();
    let err = parse(&args).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("unknown option --t-range"), "{err}");
}

/// The string literals the parsers match flags on, read from their source:
/// an arm added without a table entry would be dead today and a trap for
/// whoever "fixes" the lookup; it fails here instead.
#[test]
fn every_parser_arm_is_in_the_table() {
    let sources = [
        ("args.rs", include_str!("../src/submit/cli/args.rs")),
        ("jobs.rs", include_str!("../src/submit/cli/jobs.rs")),
        ("life.rs", include_str!("../src/submit/cli/life.rs")),
        ("exec.rs", include_str!("../src/submit/cli/exec.rs")),
        ("tools.rs", include_str!("../src/submit/cli/tools.rs")),
        ("mod.rs", include_str!("../src/submit/cli/mod.rs")),
    ];
    let flags: Vec<&str> =
        PISUBMIT.global_flags().chain(PISUBMIT.commands.iter().flat_map(TableCommand::flags)).map(|f| f.long).collect();
    let commands: Vec<&str> = PISUBMIT.commands.iter().map(|c| c.name).collect();
    let mut arms = 0;
    for (file, source) in sources {
        let code = source.split("#[cfg(test)]").next().unwrap_or(source);
        for line in code.lines().map(str::trim) {
            let pattern = if let Some(rest) = line.strip_prefix("Next::Flag(\"") {
                rest.split_once('"').map(|(name, _)| name)
            } else {
                line.split_once(" =>").and_then(|(p, _)| p.strip_prefix('"')).and_then(|p| p.strip_suffix('"'))
            };
            let Some(name) = pattern else { continue };
            arms += 1;
            // Command names (the dispatch) and the farm's one task kind are
            // words, not flags.
            let known = flags.contains(&name) || commands.contains(&name) || name == "spin";
            assert!(known, "src/submit/cli/{file} matches {name:?}, which is not in src/submit/cli/table.rs");
        }
    }
    assert!(arms >= 60, "found only {arms} arms: has the parsers' shape changed?");
}

#[test]
fn every_command_has_its_own_help() {
    for command in PISUBMIT.commands {
        for args in [vec![command.name, "--help"], vec!["--help", command.name], vec![command.name, "-h"]] {
            // Help needs no hosts and no required flags.
            let out = pisubmit(&args);
            assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
            let text = String::from_utf8_lossy(&out.stdout);
            if args[0] == "--help" {
                assert!(text.contains("COMMANDS:"), "{args:?} gives the program's help");
                continue;
            }
            assert!(text.starts_with(&format!("pisubmit {}", command.name)), "{args:?}: {text}");
            for flag in command.flags() {
                assert!(text.contains(&format!("    {}", flag.spelling())), "{args:?} lacks {}", flag.spelling());
            }
            assert!(text.contains("--hosts SPEC"), "{args:?} lacks the global options");
            assert!(text.lines().all(|l| l.chars().count() <= 80), "{args:?}: a line wider than 80 columns");
        }
    }
    // Also after a job's required values are missing, and for bench's job.
    assert!(stdout(&["bench", "--cores", "1", "pi", "--help"]).starts_with("pisubmit pi"));
    assert!(stdout(&["--hosts", "a", "pi", "--seed", "3", "--help"]).starts_with("pisubmit pi"));
}

#[test]
fn mistakes_name_the_flag_and_the_command() {
    for (args, expected) in [
        (&["--hosts", "a", "loopsum", "--jsn"][..], "loopsum: unknown option --jsn (did you mean --json?)"),
        (&["--hosts", "a", "lopsum"], "unknown job \"lopsum\" (did you mean loopsum?)"),
        (&["--hosts", "a", "pi", "--samples"], "missing argument for option '--samples'"),
        (&["--hosts", "a", "bench", "farm", "spin"], "bench: farm has no fixed amount of work to time"),
        (&["--generate", "pdf"], "--generate: \"pdf\" is not one of man, bash, zsh, fish"),
        (&["--hosts", "a", "ping", "--generate"], "missing argument for option '--generate'"),
    ] {
        let out = pisubmit(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with(&format!("pisubmit: {expected}")), "{args:?}: {stderr}");
    }
}

fn all_flags() -> Vec<(&'static str, &'static Flag)> {
    let global = PISUBMIT.global_flags().map(|f| ("", f));
    global.chain(PISUBMIT.commands.iter().flat_map(|c| c.flags().map(move |f| (c.name, f)))).collect()
}

#[test]
fn every_flag_is_in_the_man_page_and_each_completion() {
    let help = stdout(&["--help"]);
    let man = stdout(&["--generate", "man"]);
    let bash = stdout(&["--generate", "bash"]);
    let zsh = stdout(&["--generate", "zsh"]);
    let fish = stdout(&["--generate", "fish"]);
    for (command, flag) in all_flags() {
        let long = format!("--{}", flag.long);
        if command.is_empty() {
            assert!(help.contains(&format!("    {}", flag.spelling())), "--help lacks {long}");
        }
        let roff = format!("\\fB{}\\fR", long.replace('-', "\\-"));
        assert!(man.contains(&roff), "the man page lacks {roff} ({command})");
        let mut bash_words = bash.split(|c: char| c.is_whitespace() || c == '"' || c == '=');
        assert!(bash_words.any(|w| w == long), "bash lacks {long} ({command})");
        assert!(
            zsh.contains(&format!("{long}["))
                || zsh.contains(&format!("{long}=["))
                || zsh.contains(&format!("{long}}}")),
            "zsh lacks {long} ({command})"
        );
        assert!(fish.contains(&format!(" -l {} ", flag.long)), "fish lacks {long} ({command})");
    }
    for command in PISUBMIT.commands {
        assert!(help.contains(&format!("    {} ", command.name)), "--help lacks the command {}", command.name);
        assert!(man.contains(command.name), "the man page lacks {}", command.name);
        assert!(bash.contains(command.name) && zsh.contains(command.name) && fish.contains(command.name));
    }
    for section in
        ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "JOB LOG", "EXIT STATUS", "ENVIRONMENT", "EXAMPLES", "SEE ALSO"]
    {
        assert!(man.contains(&format!("\n.SH {section}\n")) || man.starts_with(&format!(".SH {section}")), "{section}");
    }
}

#[test]
fn the_man_page_and_completions_pass_their_tools_checks() {
    assert_clean("groff", check_with("groff", &["-ww", "-z", "-man"], &stdout(&["--generate", "man"])));
    assert_clean("bash", check_with("bash", &["-n"], &stdout(&["--generate", "bash"])));
    assert_clean("zsh", check_with("zsh", &["-n"], &stdout(&["--generate", "zsh"])));
    assert_clean("fish", check_with("fish", &["--no-execute"], &stdout(&["--generate", "fish"])));
}

/// bash is always there: the script is run, not only parsed.
#[test]
fn bash_completes_commands_their_flags_and_fixed_values() {
    let script = stdout(&["--generate", "bash"]);
    let complete = |words: &str, cword: usize| {
        let program = format!(
            "{script}\nCOMP_WORDS=({words}); COMP_CWORD={cword}; _pisubmit; [ ${{#COMPREPLY[@]}} -eq 0 ] || printf '%s\\n' \"${{COMPREPLY[@]}}\""
        );
        let out = check_with("bash", &["-s"], &program).expect("bash");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("UTF-8")
    };
    assert_eq!(complete("pisubmit lo", 1), "loopsum\n");
    assert_eq!(complete("pisubmit --hosts a life --generati", 4), "--generations\n");
    assert_eq!(complete("pisubmit reduce --dtype ''", 3), "f64\nf64be\ni64\ni64be\nf32\nf32be\ni32\ni32be\ntext\n");
    assert!(complete("pisubmit status --", 2).lines().any(|l| l == "--watch"), "status offers --watch");
}
