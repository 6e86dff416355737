//! Walking pisubmit's command line against its flag table. Every option
//! is looked up in the table first (`Scope::lookup`), so a parser here can
//! only accept what `--help`, the man page and the completions show. The
//! global options are taken in passing wherever they appear, before or
//! after the command's name, as cargo and ripgrep users expect.

use crate::flags::{FlagError, Scope};
use crate::submit::cli::table::PISUBMIT;
use crate::submit::cli::values::{parse_piece_timeout, seconds, serve_addr, usage};
use crate::submit::cluster::engine::PieceTimeout;
use crate::submit::error::SubmitError;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// The global options as given; defaults filled in by `cli::parse_args`.
#[derive(Default)]
pub struct GlobalFlags {
    pub hosts: Option<String>,
    pub json: bool,
    pub timeout: Option<Duration>,
    pub connect_timeout: Option<Duration>,
    pub heartbeat_timeout: Option<Duration>,
    pub retries: Option<usize>,
    pub piece_timeout: Option<PieceTimeout>,
    pub key_file: Option<PathBuf>,
    pub quiet: bool,
    pub joblog: Option<PathBuf>,
    pub resume: bool,
    pub resume_failed: bool,
    pub serve: Option<std::net::SocketAddr>,
}

/// What a command's parser meets next.
pub enum Next {
    /// One of the command's own flags, by its long name.
    Flag(&'static str),
    /// A word that is not an option (a command or job name, a task kind).
    Word(String),
    End,
}

/// The command line being read, with the scope of flags valid so far.
pub struct Args {
    parser: lexopt::Parser,
    scope: Scope,
    pub globals: GlobalFlags,
}

impl Args {
    pub fn new(args: impl IntoIterator<Item = OsString>) -> Args {
        let parser = lexopt::Parser::from_iter(std::iter::once(OsString::from("pisubmit")).chain(args));
        Args { parser, scope: Scope::new(&PISUBMIT), globals: GlobalFlags::default() }
    }

    /// The words after `command`'s name, for the parsers' own tests.
    #[cfg(test)]
    pub fn after(command: &str, words: &[&str]) -> Args {
        let mut args = Args::new(words.iter().map(OsString::from));
        args.enter(command).expect("a command in the table");
        args
    }

    /// The command's name: its own flags are valid from here on.
    pub fn enter(&mut self, command: &str) -> Result<(), SubmitError> {
        self.scope = Scope::new(&PISUBMIT).enter(command).map_err(|e| match e {
            FlagError::UnknownCommand { name, suggestion } => unknown_command(&name, suggestion),
            other => usage(other.to_string()),
        })?;
        Ok(())
    }

    /// The next of the command's own flags or words; global options met on
    /// the way are recorded in `globals`.
    pub fn next_arg(&mut self) -> Result<Next, SubmitError> {
        loop {
            let Some(arg) = self.parser.next().map_err(|e| usage(e.to_string()))? else {
                return Ok(Next::End);
            };
            if let lexopt::Arg::Value(word) = arg {
                let word = word.into_string().map_err(|w| usage(format!("{w:?} is not valid UTF-8")))?;
                return Ok(Next::Word(word));
            }
            let flag = self.scope.lookup(&arg).map_err(|e| usage(self.in_command(e)))?;
            let is_global = PISUBMIT.global_flags().any(|g| std::ptr::eq(g, flag));
            if !is_global {
                return Ok(Next::Flag(flag.long));
            }
            self.global(flag.long)?;
        }
    }

    /// The value of the flag just returned, as text.
    pub fn value(&mut self, flag: &str) -> Result<String, SubmitError> {
        let v = self.parser.value().map_err(|e| usage(e.to_string()))?;
        v.into_string().map_err(|v| usage(format!("{flag}: {v:?} is not valid UTF-8")))
    }

    fn global(&mut self, long: &str) -> Result<(), SubmitError> {
        let flag = format!("--{long}");
        match long {
            "hosts" => self.globals.hosts = Some(self.value(&flag)?),
            "json" => self.globals.json = true,
            "timeout" => self.globals.timeout = Some(seconds(&self.value(&flag)?, &flag)?),
            "connect-timeout" => self.globals.connect_timeout = Some(seconds(&self.value(&flag)?, &flag)?),
            "heartbeat-timeout" => self.globals.heartbeat_timeout = Some(seconds(&self.value(&flag)?, &flag)?),
            "retries" => {
                let v = self.value(&flag)?;
                let n = crate::submit::cli::values::number::<usize>(&v, &flag, "a whole number")?;
                if n == 0 {
                    return Err(usage("--retries must be at least 1"));
                }
                self.globals.retries = Some(n);
            }
            "piece-timeout" => self.globals.piece_timeout = Some(parse_piece_timeout(&self.value(&flag)?)?),
            "key" => self.globals.key_file = Some(PathBuf::from(self.value(&flag)?)),
            "quiet" => self.globals.quiet = true,
            "serve" => self.globals.serve = Some(serve_addr(&self.value(&flag)?)?),
            "joblog" => self.globals.joblog = Some(PathBuf::from(self.value(&flag)?)),
            "resume" => self.globals.resume = true,
            "resume-failed" => self.globals.resume_failed = true,
            // `early` has answered --help and --version before the parse,
            // and --generate whenever it had a value; a --generate seen here
            // lacks its value, and that is the error to report.
            "help" | "version" => {}
            "generate" => {
                self.value(&flag)?;
            }
            // A table entry this match forgot: tests/flags_drift.rs fails first.
            other => return Err(usage(format!("--{other} is in the flag table but pisubmit does not handle it"))),
        }
        Ok(())
    }

    fn in_command(&self, e: FlagError) -> String {
        match (e, self.scope.command()) {
            (FlagError::Unknown { spelling, command: Some(c), suggestion }, _) => {
                let hint = suggestion.map(|s| format!(" (did you mean {s}?)")).unwrap_or_default();
                format!("{c}: unknown option {spelling}{hint} (see pisubmit {c} --help)")
            }
            (e, _) => e.to_string(),
        }
    }
}

/// The value of `flag`, just read, as text.
pub fn text(args: &mut Args, flag: &str) -> Result<String, SubmitError> {
    args.value(flag)
}

/// The command's next flag by its long name (global options are taken
/// on the way); a stray word is an error naming the command.
pub fn next_flag(args: &mut Args, job: &str) -> Result<Option<&'static str>, SubmitError> {
    match args.next_arg()? {
        Next::End => Ok(None),
        Next::Flag(name) => Ok(Some(name)),
        Next::Word(word) => Err(usage(format!("{job}: unexpected argument {word:?}"))),
    }
}

/// What `--help`, `--version` or `--generate` asks for, found before the
/// command line is checked: `pisubmit pi --help` helps even without the
/// required --samples.
pub enum Early {
    Help(Option<&'static str>),
    Version,
    Generate(String),
}

/// Reads the command line once, skipping values, for the options that end
/// it early. Mistakes are left for the real parse to report.
pub fn early(args: &[OsString]) -> Option<Early> {
    let mut parser = lexopt::Parser::from_iter(std::iter::once(OsString::from("pisubmit")).chain(args.iter().cloned()));
    let mut scope = Scope::new(&PISUBMIT);
    while let Ok(Some(arg)) = parser.next() {
        if let lexopt::Arg::Value(word) = &arg {
            // The command's name, or bench's job: their flags apply next.
            let word = word.to_string_lossy();
            let is_bench = scope.command().is_some_and(|c| c.name == "bench");
            if scope.command().is_none() || is_bench {
                if let Ok(entered) = Scope::new(&PISUBMIT).enter(&word) {
                    scope = entered;
                }
            }
            continue;
        }
        let Ok(flag) = scope.lookup(&arg) else { continue };
        match flag.long {
            "help" => return Some(Early::Help(scope.command().map(|c| c.name))),
            "version" => return Some(Early::Version),
            "generate" => {
                let kind = parser.value().ok()?.to_string_lossy().into_owned();
                return Some(Early::Generate(kind));
            }
            _ if flag.value.is_some() => {
                let _ = parser.value();
            }
            _ => {}
        }
    }
    None
}

/// "unknown job "x": expected loopsum, pi, ..." with the names from the table.
pub fn unknown_command(name: &str, suggestion: Option<&str>) -> SubmitError {
    let names: Vec<&str> = PISUBMIT.commands.iter().map(|c| c.name).collect();
    let hint = suggestion.map(|s| format!(" (did you mean {s}?)")).unwrap_or_default();
    usage(format!("unknown job {name:?}{hint}: expected {}", names.join(", ")))
}
