//! Terminal multiplexers and benchmark runners, which run command lines given as
//! strings: tmux (`new-session`, `new-window`, `split-window`, `respawn-pane`,
//! `run-shell`, `if-shell`, `pipe-pane`, `display-popup`, and `send-keys`, which types
//! a command into a shell), screen (a command to run, `-X stuff` typed text, `-X exec`),
//! zellij (`run`, `action write-chars`), dtach and abduco (an argv), hyperfine (every
//! operand, `--prepare`, `--setup`, `--cleanup`, `--conclude`).

use super::{OptSpec, operands, parse_opts, value_of, values_of};
use crate::shell::word::Arg;
use crate::shell::{Scope, Stdin, Walker};

/// tmux commands whose trailing words are a shell command, and their options that take
/// a value.
const TMUX_SHELL_COMMANDS: &[(&str, &str)] = &[
    ("new-session", "cceFnstxyfX"),
    ("new", "cceFnstxyfX"),
    ("new-window", "ceFnt"),
    ("neww", "ceFnt"),
    ("split-window", "ceFlt"),
    ("splitw", "ceFlt"),
    ("respawn-pane", "cet"),
    ("respawnp", "cet"),
    ("respawn-window", "cet"),
    ("respawnw", "cet"),
    ("run-shell", "dt"),
    ("run", "dt"),
    ("pipe-pane", "t"),
    ("pipep", "t"),
    ("display-popup", "bcdehsStTwxyE"),
    ("popup", "bcdehsStTwxyE"),
];

impl Walker<'_> {
    /// A multiplexer or benchmark runner; `None` when `name` is not one.
    pub(super) fn judge_multiplexer(
        &mut self,
        name: &str,
        rest: &[Arg],
        scope: &mut Scope,
        stdin: &Stdin,
    ) -> Option<Stdin> {
        Some(match name {
            "tmux" | "byobu" | "byobu-tmux" => {
                self.judge_tmux(rest, scope);
                Stdin::Output { safe: false }
            }
            "screen" => self.judge_screen(rest, scope, stdin),
            "zellij" => self.judge_zellij(rest, scope, stdin),
            "dtach" | "abduco" => {
                // `dtach -n SOCKET [options] command…`, `abduco -c NAME command…`.
                let mode_at = rest.iter().position(|a| {
                    a.known && matches!(a.text.as_str(), "-n" | "-N" | "-c" | "-A" | "-a" | "-p")
                });
                let Some(at) = mode_at else {
                    return Some(Stdin::None);
                };
                let mut index = at + 2;
                while rest
                    .get(index)
                    .is_some_and(|a| a.known && a.text.starts_with('-'))
                {
                    index += if matches!(rest[index].text.as_str(), "-e" | "-r") {
                        2
                    } else {
                        1
                    };
                }
                self.judge_inner(name, rest.get(index..).unwrap_or_default(), scope, stdin)
            }
            "hyperfine" => {
                const HYPERFINE: OptSpec = OptSpec {
                    short: "wmMrpcsSLPnoN",
                    long: &[
                        "warmup",
                        "min-runs",
                        "max-runs",
                        "runs",
                        "prepare",
                        "conclude",
                        "setup",
                        "cleanup",
                        "shell",
                        "parameter-list",
                        "parameter-scan",
                        "parameter-step-size",
                        "command-name",
                        "output",
                        "export-asciidoc",
                        "export-csv",
                        "export-json",
                        "export-markdown",
                        "export-orgmode",
                        "time-unit",
                        "sort",
                        "style",
                        "input",
                        "reference",
                    ],
                    flags: &["ignore-failure", "show-output", "help", "version"],
                };
                let (items, _) = parse_opts(rest, &HYPERFINE, false);
                let mut lines = operands(&items).into_iter().cloned().collect::<Vec<_>>();
                lines.extend(values_of(
                    &items,
                    &[
                        "-p",
                        "--prepare",
                        "-s",
                        "--setup",
                        "-c",
                        "--cleanup",
                        "--conclude",
                        "--reference",
                    ],
                ));
                for line in lines {
                    self.run_words_as_script(std::slice::from_ref(&line), scope, "hyperfine");
                }
                Stdin::Output { safe: false }
            }
            _ => return None,
        })
    }

    /// tmux: commands are separated by `;` (written `\;`); each is judged.
    fn judge_tmux(&mut self, rest: &[Arg], scope: &mut Scope) {
        // Global options before the first command: -L socket, -S path, -f file, -c cmd.
        let mut index = 0;
        while let Some(arg) = rest.get(index) {
            if !super::is_option(arg) {
                break;
            }
            if arg.text == "-c" {
                if let Some(command) = rest.get(index + 1) {
                    self.run_words_as_script(std::slice::from_ref(command), scope, "tmux -c");
                }
                index += 2;
                continue;
            }
            index += if matches!(arg.text.as_str(), "-L" | "-S" | "-f" | "-T") {
                2
            } else {
                1
            };
        }
        for command in
            rest[index.min(rest.len())..].split(|a| a.known && (a.text == ";" || a.text == "\\;"))
        {
            self.judge_tmux_command(command, scope);
        }
    }

    fn judge_tmux_command(&mut self, command: &[Arg], scope: &mut Scope) {
        let Some(sub) = command.first().filter(|a| a.known) else {
            return;
        };
        let args = &command[1..];
        if let Some((_, with_value)) = TMUX_SHELL_COMMANDS
            .iter()
            .find(|(name, _)| *name == sub.text)
        {
            let spec = OptSpec {
                short: with_value,
                ..OptSpec::default()
            };
            let (items, _) = parse_opts(args, &spec, false);
            let words: Vec<Arg> = operands(&items).into_iter().cloned().collect();
            if !words.is_empty() {
                self.run_words_as_script(&words, scope, &format!("tmux {}", sub.text));
            }
            return;
        }
        match sub.text.as_str() {
            "send-keys" | "send" => {
                // The keys are typed into the pane's shell: judged as the line they type.
                let spec = OptSpec {
                    short: "tNc",
                    ..OptSpec::default()
                };
                let (items, _) = parse_opts(args, &spec, false);
                let typed: Vec<Arg> = operands(&items)
                    .into_iter()
                    .filter(|k| {
                        !(k.known && matches!(k.text.as_str(), "Enter" | "C-m" | "KPEnter" | "C-j"))
                    })
                    .cloned()
                    .collect();
                if !typed.is_empty() {
                    self.run_words_as_script(&typed, scope, "tmux send-keys");
                }
            }
            "if-shell" | "if" => {
                let spec = OptSpec {
                    short: "t",
                    ..OptSpec::default()
                };
                let (items, _) = parse_opts(args, &spec, false);
                let words = operands(&items);
                if let Some(condition) = words.first() {
                    self.run_words_as_script(
                        std::slice::from_ref(*condition),
                        scope,
                        "tmux if-shell",
                    );
                }
                for branch in words.iter().skip(1) {
                    if branch.known {
                        let tokens: Vec<Arg> = branch
                            .text
                            .split_whitespace()
                            .map(|w| Arg::literal(w, branch.span))
                            .collect();
                        self.judge_tmux_command(&tokens, scope);
                    }
                }
            }
            _ => {}
        }
    }

    /// screen: `screen [options] [command args]`, `screen -X stuff TEXT`, `-X exec …`.
    fn judge_screen(&mut self, rest: &[Arg], scope: &mut Scope, stdin: &Stdin) -> Stdin {
        const SCREEN: OptSpec = OptSpec {
            short: "SceEhpstTX",
            long: &[],
            flags: &[],
        };
        let (items, start) = parse_opts(rest, &SCREEN, true);
        if let Some(command) = value_of(&items, &["-X"]) {
            let after = rest.get(start..).unwrap_or_default();
            match command.text.as_str() {
                "stuff" if !after.is_empty() => {
                    let typed: Vec<Arg> = after
                        .iter()
                        .map(|a| Arg {
                            text: a.text.replace("\\n", "\n").replace("^M", "\n"),
                            ..a.clone()
                        })
                        .collect();
                    self.run_words_as_script(&typed, scope, "screen -X stuff");
                }
                "exec" | "screen" => {
                    let argv: Vec<Arg> = after
                        .iter()
                        .skip_while(|a| a.known && a.text.starts_with(['!', '.', '|']))
                        .cloned()
                        .collect();
                    self.judge_inner("screen -X", &argv, scope, stdin);
                }
                _ => {}
            }
            return Stdin::None;
        }
        self.judge_inner(
            "screen",
            rest.get(start..).unwrap_or_default(),
            scope,
            stdin,
        )
    }

    /// zellij: `run [options] -- command…`, `action write-chars TEXT`.
    fn judge_zellij(&mut self, rest: &[Arg], scope: &mut Scope, stdin: &Stdin) -> Stdin {
        let words: Vec<&Arg> = rest.iter().filter(|a| !super::is_option(a)).collect();
        match words.first().map(|a| a.text.as_str()) {
            Some("run" | "r") => {
                let at = rest.iter().position(|a| a.known && a.text == "--");
                let inner = match at {
                    Some(at) => &rest[at + 1..],
                    None => rest.get(1..).unwrap_or_default(),
                };
                self.judge_inner("zellij run", inner, scope, stdin)
            }
            Some("action" | "ac") if words.get(1).is_some_and(|a| a.text == "write-chars") => {
                let typed: Vec<Arg> = words[2..].iter().map(|a| (*a).clone()).collect();
                self.run_words_as_script(&typed, scope, "zellij write-chars")
            }
            _ => Stdin::None,
        }
    }
}
