//! Shell completion scripts for bash, zsh and fish, rendered from the
//! table: flag names per subcommand, subcommand names, and values that
//! are files, directories, host names or one of a fixed list.

mod bash;
mod fish;
mod zsh;

pub use bash::bash;
pub use fish::fish;
pub use zsh::zsh;

use super::{Flag, Program};

/// Each scope a completion script distinguishes: "" for the top level
/// (global flags), then each subcommand with the global flags and its own.
fn scopes(program: &Program) -> Vec<(&'static str, Vec<&'static Flag>)> {
    let global: Vec<&Flag> = program.global_flags().collect();
    let mut out = vec![("", global.clone())];
    for command in program.commands {
        out.push((command.name, global.iter().copied().chain(command.flags()).collect()));
    }
    out
}

/// A shell function name for the program: letters, digits and '_'.
fn function_name(program: &Program) -> String {
    let name: String = program.name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    format!("_{name}")
}

#[cfg(test)]
mod tests {
    use super::super::test_table::DEMO;
    use super::*;

    /// Every flag of every scope, by name, in each script.
    #[test]
    fn every_flag_and_command_is_in_each_script() {
        for (shell, script) in [("bash", bash(&DEMO)), ("zsh", zsh(&DEMO)), ("fish", fish(&DEMO))] {
            for (_, flags) in scopes(&DEMO) {
                for flag in flags {
                    let name = if shell == "fish" { format!("-l {}", flag.long) } else { format!("--{}", flag.long) };
                    assert!(script.contains(&name), "{shell} lacks {name}:\n{script}");
                }
            }
            for command in ["fetch", "show"] {
                assert!(script.contains(command), "{shell} lacks {command}:\n{script}");
            }
        }
    }

    #[test]
    fn values_complete_as_the_table_says() {
        let bash = bash(&DEMO);
        assert!(bash.contains("\"fetch --to\") mapfile -t COMPREPLY < <(compgen -d -- \"$cur\")"), "{bash}");
        assert!(bash.contains("\"show --mode\") mapfile -t COMPREPLY < <(compgen -W \"fast slow\" -- \"$cur\")"));
        assert!(bash.contains("\"fetch --via\") mapfile -t COMPREPLY < <(compgen -A hostname -- \"$cur\")"));
        assert!(bash.contains("*\" --size\") return"), "a free value offers nothing: {bash}");
        let zsh = zsh(&DEMO);
        assert!(zsh.contains("'--mode=[How]:M:(fast slow)'"), "{zsh}");
        assert!(zsh.contains("'*--dir=[Where]:DIR:_files -/'"), "{zsh}");
        assert!(zsh.contains("'(-q --quiet)'{-q,--quiet}'[Say less]'"), "{zsh}");
        let fish = fish(&DEMO);
        assert!(fish.contains("complete -c demo -n '__fish_seen_subcommand_from show' -l out -r -F -d 'Write it'"));
        assert!(fish.contains("complete -c demo -n '__fish_use_subcommand' -f -a fetch -d 'Fetch things'"), "{fish}");
        assert!(fish.contains("-l mode -x -a 'fast slow'"), "{fish}");
    }
}
