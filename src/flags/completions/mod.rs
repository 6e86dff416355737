//! Shell completion scripts for bash, zsh and fish, rendered from the
//! table: flag names per subcommand, subcommand names, and values that
//! are files, directories, host names or one of a fixed list.

mod bash;
mod fish;
mod scopes;
mod zsh;

pub use bash::bash;
pub use fish::fish;
pub use zsh::zsh;

#[cfg(test)]
mod tests {
    use super::super::test_table::DEMO;
    use super::scopes::scopes;
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
