//! What every shell's script is built from: the flags valid in each scope
//! and the name of the completion function.

use super::super::table::{Flag, Program};

/// Each scope a completion script distinguishes: "" for the top level
/// (global flags), then each subcommand with the global flags and its own.
pub(super) fn scopes(program: &Program) -> Vec<(&'static str, Vec<&'static Flag>)> {
    let global: Vec<&Flag> = program.global_flags().collect();
    let mut out = vec![("", global.clone())];
    for command in program.commands {
        out.push((command.name, global.iter().copied().chain(command.flags()).collect()));
    }
    out
}

/// A shell function name for the program: letters, digits and '_'.
pub(super) fn function_name(program: &Program) -> String {
    let name: String = program.name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    format!("_{name}")
}
