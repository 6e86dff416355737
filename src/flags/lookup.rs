//! The bridge from lexopt to the table: a parser asks `Scope::lookup` for
//! every option it meets and matches on the `Flag` it gets back, so it can
//! only accept what the table lists (and therefore what the help, the man
//! page and the completions show).

use super::table::{Command, Flag, Program};
use std::fmt;

/// The flags valid at one point of a command line: the program's global
/// ones, plus those of the subcommand once its name has been read.
#[derive(Clone, Copy, Debug)]
pub struct Scope {
    program: &'static Program,
    command: Option<&'static Command>,
}

/// A command line the table does not allow.
#[derive(Debug, PartialEq, Eq)]
pub enum FlagError {
    /// An option not in scope: "--frobnicate", "-x".
    Unknown { spelling: String, command: Option<&'static str>, suggestion: Option<String> },
    /// A subcommand name not in the table.
    UnknownCommand { name: String, suggestion: Option<&'static str> },
    /// A positional argument where none is taken.
    UnexpectedArgument(String),
    /// A value that is not UTF-8.
    NotUtf8 { flag: String, value: String },
    /// What lexopt itself refused (a missing value, `--switch=value`).
    Lexer(String),
}

impl fmt::Display for FlagError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            FlagError::Unknown { spelling, command, suggestion } => {
                write!(f, "unknown option {spelling}")?;
                if let Some(command) = command {
                    write!(f, " for {command}")?;
                }
                if let Some(s) = suggestion {
                    write!(f, " (did you mean {s}?)")?;
                }
                Ok(())
            }
            FlagError::UnknownCommand { name, suggestion } => {
                write!(f, "unknown command {name:?}")?;
                suggestion.map_or(Ok(()), |s| write!(f, " (did you mean {s}?)"))
            }
            FlagError::UnexpectedArgument(value) => write!(f, "unexpected argument {value:?}"),
            FlagError::NotUtf8 { flag, value } => write!(f, "{flag}: {value} is not valid UTF-8"),
            FlagError::Lexer(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for FlagError {}

impl From<lexopt::Error> for FlagError {
    fn from(e: lexopt::Error) -> FlagError {
        FlagError::Lexer(e.to_string())
    }
}

impl Scope {
    /// The program's global flags only (before any subcommand).
    pub fn new(program: &'static Program) -> Scope {
        Scope { program, command: None }
    }

    /// The scope after the subcommand `name`: global flags plus its own.
    pub fn enter(self, name: &str) -> Result<Scope, FlagError> {
        match self.program.command(name) {
            Some(command) => Ok(Scope { command: Some(command), ..self }),
            None => {
                let names = self.program.commands.iter().map(|c| c.name);
                Err(FlagError::UnknownCommand { name: name.to_string(), suggestion: nearest(name, names) })
            }
        }
    }

    /// The subcommand entered, if any.
    pub fn command(&self) -> Option<&'static Command> {
        self.command
    }

    /// Every flag valid here: the global ones first.
    pub fn flags(&self) -> impl Iterator<Item = &'static Flag> {
        self.program.global_flags().chain(self.command.into_iter().flat_map(Command::flags))
    }

    /// The table's entry for an option lexopt returned; an error naming
    /// the option (and the subcommand) when it is not in scope, and for a
    /// positional argument, which the caller handles before asking.
    pub fn lookup(&self, arg: &lexopt::Arg) -> Result<&'static Flag, FlagError> {
        let (found, spelling) = match arg {
            lexopt::Arg::Long(name) => (self.flags().find(|f| f.long == *name), format!("--{name}")),
            lexopt::Arg::Short(c) => (self.flags().find(|f| f.short == Some(*c)), format!("-{c}")),
            lexopt::Arg::Value(v) => return Err(FlagError::UnexpectedArgument(v.to_string_lossy().into_owned())),
        };
        found.ok_or_else(|| {
            let suggestion = match arg {
                lexopt::Arg::Long(name) => nearest(name, self.flags().map(|f| f.long)).map(|s| format!("--{s}")),
                _ => None,
            };
            let command = self.command.map(|c| c.name);
            FlagError::Unknown { spelling, command, suggestion }
        })
    }
}

/// The value of a valued flag, as UTF-8 text.
pub fn value(parser: &mut lexopt::Parser, flag: &Flag) -> Result<String, FlagError> {
    let value = parser.value()?;
    value.into_string().map_err(|v| FlagError::NotUtf8 { flag: format!("--{}", flag.long), value: format!("{v:?}") })
}

/// The candidate closest to `typed` when it is a plausible typo (at most
/// two edits, and fewer than half the word).
fn nearest(typed: &str, candidates: impl Iterator<Item = &'static str>) -> Option<&'static str> {
    let limit = 2.min(typed.chars().count() / 2);
    candidates
        .map(|c| (edit_distance(typed, c), c))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// Levenshtein distance, by the usual two-row table.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::super::test_table::DEMO;
    use super::*;

    fn first_arg(args: &[&str], scope: Scope) -> Result<&'static str, FlagError> {
        let mut parser = lexopt::Parser::from_args(args.iter().copied());
        let arg = parser.next()?.expect("an argument");
        scope.lookup(&arg).map(|f| f.long)
    }

    #[test]
    fn only_flags_in_scope_are_found() {
        let top = Scope::new(&DEMO);
        assert_eq!(first_arg(&["-q"], top), Ok("quiet"));
        assert_eq!(first_arg(&["--size=1"], top), Ok("size"));
        let fetch = top.enter("fetch").unwrap();
        assert_eq!(first_arg(&["--to"], fetch), Ok("to"));
        assert_eq!(first_arg(&["--quiet"], fetch), Ok("quiet"), "global flags stay valid after the command");
        let e = first_arg(&["--mode"], fetch).unwrap_err();
        assert_eq!(e.to_string(), "unknown option --mode for fetch");
        assert_eq!(first_arg(&["--to"], top).unwrap_err().to_string(), "unknown option --to");
        assert_eq!(first_arg(&["-x"], top).unwrap_err().to_string(), "unknown option -x");
        assert_eq!(first_arg(&["pi1"], top).unwrap_err().to_string(), "unexpected argument \"pi1\"");
    }

    #[test]
    fn near_misses_get_a_suggestion() {
        let top = Scope::new(&DEMO);
        let e = first_arg(&["--quite"], top).unwrap_err();
        assert_eq!(e.to_string(), "unknown option --quite (did you mean --quiet?)");
        assert_eq!(first_arg(&["--zzzzzz"], top).unwrap_err().to_string(), "unknown option --zzzzzz");
        let e = top.enter("fecth").unwrap_err();
        assert_eq!(e.to_string(), "unknown command \"fecth\" (did you mean fetch?)");
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn values_are_text() {
        use std::os::unix::ffi::OsStringExt;
        let bad = std::ffi::OsString::from_vec(vec![0xff]);
        let mut parser = lexopt::Parser::from_args([std::ffi::OsString::from("--size"), bad]);
        let flag = Scope::new(&DEMO).lookup(&parser.next().unwrap().unwrap()).unwrap();
        assert_eq!(value(&mut parser, flag).unwrap_err().to_string(), "--size: \"\\xFF\" is not valid UTF-8");
    }
}
