//! Programs that run another program given as their remaining arguments (an argv):
//! privilege (sudo and friends), scheduling and limits, namespaces and sandboxes,
//! tracers and debuggers, environment and toolchain managers, supervisors. Each is
//! unwrapped past its own options (from its man page or `--help`) and what it runs is
//! judged in its place.

use std::path::{Path, PathBuf};

use super::{OptSpec, parse_opts, value_of};
use crate::paths::resolve;
use crate::shell::word::Arg;
use crate::shell::{ByteSpan, Scope, Stdin, Walker};

/// A wrapper: its options, and how many operands come before the command it runs.
pub(super) struct Wrapper {
    pub(super) names: &'static [&'static str],
    opts: OptSpec,
    /// Operands before the command (timeout's duration, flock's lock file, gosu's user).
    positionals: usize,
}

const fn spec(short: &'static str, long: &'static [&'static str]) -> OptSpec {
    OptSpec {
        short,
        long,
        flags: &[],
    }
}

const fn flagged(
    short: &'static str,
    long: &'static [&'static str],
    flags: &'static [&'static str],
) -> OptSpec {
    OptSpec { short, long, flags }
}

/// The catalogue of argv wrappers with nothing special about them.
pub(super) const WRAPPERS: &[Wrapper] = &[
    Wrapper {
        names: &["doas"],
        opts: spec("uC", &[]),
        positionals: 0,
    },
    Wrapper {
        names: &[
            "builtin",
            "nohup",
            "eatmydata",
            "catchsegv",
            "tsocks",
            "linux32",
            "linux64",
            "i386",
            "x86_64",
            "valgrind",
            "firejail",
            "flatpak-spawn",
            "retry",
            "setsid",
            "chronic",
            "ifne",
            "unbuffer",
            "command",
            "nq",
        ],
        opts: flagged("", &["user"], &["ctty", "fork", "wait"]),
        positionals: 0,
    },
    Wrapper {
        names: &["tini", "dumb-init", "catatonit"],
        opts: spec("epr", &["rewrite"]),
        positionals: 0,
    },
    Wrapper {
        names: &["exec"],
        opts: spec("a", &[]),
        positionals: 0,
    },
    Wrapper {
        names: &["time"],
        opts: flagged(
            "fo",
            &["format", "output"],
            &["append", "portability", "verbose", "quiet"],
        ),
        positionals: 0,
    },
    Wrapper {
        names: &["stdbuf"],
        opts: spec("ioe", &["input", "output", "error"]),
        positionals: 0,
    },
    Wrapper {
        names: &["ionice"],
        opts: flagged(
            "cnpPu",
            &["class", "classdata", "pid", "pgid", "uid"],
            &["ignore"],
        ),
        positionals: 0,
    },
    Wrapper {
        names: &["caffeinate"],
        opts: spec("tw", &[]),
        positionals: 0,
    },
    Wrapper {
        names: &["heaptrack"],
        opts: spec("op", &["output", "pid"]),
        positionals: 0,
    },
    Wrapper {
        names: &["proxychains", "proxychains4"],
        opts: spec("f", &[]),
        positionals: 0,
    },
    Wrapper {
        names: &["torsocks"],
        opts: spec("upaP", &["user", "pass", "address", "port"]),
        positionals: 0,
    },
    Wrapper {
        names: &["rlwrap"],
        opts: spec(
            "bCDefFghHlOPqsStwz",
            &[
                "break-chars",
                "command-name",
                "history-no-dupes",
                "extra-char-after-completion",
                "file",
                "history-format",
                "forget-matching",
                "history-filename",
                "logfile",
                "multi-line-ext",
                "prompt-colour",
                "pre-given",
                "quote-characters",
                "histsize",
                "substitute-prompt",
                "set-term-name",
                "polling",
                "filter",
            ],
        ),
        positionals: 0,
    },
    Wrapper {
        names: &["xvfb-run"],
        opts: spec(
            "nsfepw",
            &[
                "server-num",
                "server-args",
                "auth-file",
                "error-file",
                "xauth-protocol",
                "wait",
            ],
        ),
        positionals: 0,
    },
    Wrapper {
        names: &[
            "systemd-inhibit",
            "dbus-run-session",
            "pkexec",
            "setpriv",
            "prlimit",
        ],
        opts: flagged(
            "p",
            &[
                "what",
                "who",
                "why",
                "mode",
                "config-file",
                "dbus-daemon",
                "user",
                "reuid",
                "regid",
                "groups",
                "inh-caps",
                "ambient-caps",
                "bounding-set",
                "securebits",
                "pdeathsig",
                "selinux-label",
                "apparmor-profile",
                "landlock-access",
                "landlock-rule",
                "pid",
            ],
            &[
                "clear-groups",
                "keep-groups",
                "init-groups",
                "no-new-privs",
                "reset-env",
                "disable-internal-agent",
                "keep-cwd",
            ],
        ),
        positionals: 0,
    },
    Wrapper {
        names: &["cgexec"],
        opts: flagged("g", &[], &["sticky"]),
        positionals: 0,
    },
    Wrapper {
        names: &["numactl"],
        opts: flagged(
            "imNCpwP",
            &[
                "interleave",
                "preferred",
                "membind",
                "cpunodebind",
                "physcpubind",
                "weighted-interleave",
                "preferred-many",
            ],
            &["localalloc", "all"],
        ),
        positionals: 0,
    },
    Wrapper {
        names: &["rr", "uftrace"],
        opts: spec("", &[]),
        positionals: 0,
    },
    Wrapper {
        names: &["nice"],
        opts: spec("n", &["adjustment"]),
        positionals: 0,
    },
    Wrapper {
        names: &["timeout"],
        opts: flagged(
            "sk",
            &["signal", "kill-after"],
            &["preserve-status", "foreground", "verbose"],
        ),
        positionals: 1,
    },
    Wrapper {
        names: &["chrt"],
        opts: flagged(
            "TPD",
            &["sched-runtime", "sched-period", "sched-deadline"],
            &[
                "all-tasks",
                "batch",
                "deadline",
                "fifo",
                "idle",
                "other",
                "rr",
                "reset-on-fork",
                "verbose",
            ],
        ),
        positionals: 1,
    },
    Wrapper {
        names: &["taskset"],
        opts: flagged("", &[], &["all-tasks", "cpu-list"]),
        positionals: 1,
    },
    Wrapper {
        names: &[
            "faketime",
            "setarch",
            "gosu",
            "su-exec",
            "s6-setuidgid",
            "setuidgid",
            "lckdo",
            "with-lock-ex",
            "envchain",
        ],
        opts: spec("", &["date-prog"]),
        positionals: 1,
    },
    Wrapper {
        names: &["strace"],
        opts: spec(
            "abeEIoOpPsSuXU",
            &[
                "output",
                "trace",
                "signal",
                "status",
                "expr",
                "env",
                "attach",
                "user",
                "string-limit",
            ],
        ),
        positionals: 0,
    },
    Wrapper {
        names: &["ltrace"],
        opts: spec("aADeFlnopsuxw", &["output", "library", "align", "indent"]),
        positionals: 0,
    },
    Wrapper {
        names: &["trickle"],
        opts: spec("duwtln", &[]),
        positionals: 0,
    },
    Wrapper {
        names: &["chpst"],
        opts: spec("uUe/nlLmdopfcrt", &[]),
        positionals: 0,
    },
    Wrapper {
        names: &["daemonize"],
        opts: spec("ceEoplu", &[]),
        positionals: 0,
    },
    Wrapper {
        names: &["fakeroot", "fakechroot"],
        opts: spec("lfsibec", &["lib", "faked", "environment", "config-dir"]),
        positionals: 0,
    },
    Wrapper {
        names: &["systemd-run"],
        opts: flagged(
            "puMHE",
            &[
                "property",
                "unit",
                "machine",
                "host",
                "setenv",
                "description",
                "slice",
                "uid",
                "gid",
                "nice",
                "working-directory",
                "on-active",
                "on-boot",
                "on-startup",
                "on-unit-active",
                "on-unit-inactive",
                "on-calendar",
                "timer-property",
                "path-property",
                "socket-property",
                "service-type",
                "expand-environment",
            ],
            &[
                "user",
                "system",
                "scope",
                "pty",
                "pipe",
                "quiet",
                "wait",
                "collect",
                "same-dir",
                "shell",
                "no-block",
                "remain-after-exit",
                "send-sighup",
            ],
        ),
        positionals: 0,
    },
    // `systemd-nspawn [options] [command [args]]` (systemd-nspawn(1)): the command runs
    // in a container whose tree is `-D DIR` (`/` is the host's), `--bind` mounts host
    // paths into it. Judged on the host's paths: fail closed.
    Wrapper {
        names: &["systemd-nspawn"],
        opts: spec(
            "DiMuEZSLp",
            &[
                "directory",
                "image",
                "machine",
                "user",
                "setenv",
                "bind",
                "bind-ro",
                "chdir",
                "tmpfs",
                "overlay",
                "overlay-ro",
                "property",
                "slice",
                "hostname",
                "uuid",
                "network-interface",
                "network-veth-extra",
                "network-bridge",
                "port",
                "private-users",
                "settings",
                "capability",
                "drop-capability",
                "personality",
                "volatile",
                "link-journal",
                "register",
                "kill-signal",
                "resolv-conf",
                "timezone",
                "console",
                "pivot-root",
                "template",
            ],
        ),
        positionals: 0,
    },
    Wrapper {
        names: &[
            "dotenv",
            "dotenvx",
            "doppler",
            "op",
            "aws-vault",
            "infisical",
        ],
        opts: spec(
            "evcf",
            &["env-file", "profile", "config", "project", "environment"],
        ),
        positionals: 0,
    },
    // Agents that start a program given as their operands, with the agent's variables
    // set: `ssh-agent [-a sock] [-E hash] [-O opt] [-P providers] [-t life] command
    // [arg …]` (ssh-agent(1)), `dbus-launch [--options] PROGRAM [ARGS…]`,
    // `gpg-agent [options] --daemon [command line]`.
    Wrapper {
        names: &["ssh-agent"],
        opts: spec("aEOPt", &[]),
        positionals: 0,
    },
    Wrapper {
        names: &["dbus-launch"],
        opts: spec("", &["config-file", "autolaunch"]),
        positionals: 0,
    },
    Wrapper {
        names: &["gpg-agent"],
        opts: spec(
            "",
            &[
                "homedir",
                "options",
                "log-file",
                "debug-level",
                "debug",
                "pinentry-program",
                "scdaemon-program",
                "default-cache-ttl",
                "max-cache-ttl",
                "extra-socket",
                "browser-socket",
            ],
        ),
        positionals: 0,
    },
    Wrapper {
        names: &["devcontainer"],
        opts: spec(
            "",
            &[
                "workspace-folder",
                "config",
                "container-id",
                "id-label",
                "remote-env",
            ],
        ),
        positionals: 0,
    },
];

impl Walker<'_> {
    /// Unwraps a wrapper and judges what it runs; `None` when `name` is not one.
    pub(super) fn judge_wrapper(
        &mut self,
        name: &str,
        rest: &[Arg],
        scope: &mut Scope,
        stdin: &Stdin,
    ) -> Option<Stdin> {
        match name {
            "sudo" => return Some(self.judge_sudo(rest, scope, stdin)),
            "env" => return Some(self.judge_env(rest, scope, stdin)),
            "cross-env" | "cross-env-shell" | "env-cmd" => {
                return Some(self.judge_env_setter(name, rest, scope, stdin));
            }
            "flock" => return Some(self.judge_flock(rest, scope, stdin)),
            "chroot" => return Some(self.judge_rooted(rest, scope, stdin, RootedBy::Chroot)),
            "unshare" => return Some(self.judge_rooted(rest, scope, stdin, RootedBy::Unshare)),
            "nsenter" => return Some(self.judge_rooted(rest, scope, stdin, RootedBy::Nsenter)),
            "bwrap" | "proot" => return Some(self.judge_sandbox(name, rest, scope, stdin)),
            "gdb" | "cgdb" => return Some(self.judge_gdb(rest, scope, stdin)),
            "lldb" => return Some(self.judge_lldb(rest, scope, stdin)),
            "perf" => return Some(self.judge_perf(rest, scope, stdin)),
            "busybox" | "toybox" => {
                // `busybox rm -rf ~`: the first operand is the applet.
                if rest
                    .first()
                    .is_some_and(|a| a.known && a.text.starts_with('-'))
                {
                    return Some(Stdin::None);
                }
                return Some(self.judge_inner(name, rest, scope, stdin));
            }
            "capsh" => {
                // Everything after `--` goes to /bin/bash.
                let split = rest.iter().position(|a| a.known && a.text == "--");
                if let Some(at) = split {
                    let mut args = vec![Arg::literal("bash", rest[at].span)];
                    args.extend_from_slice(&rest[at + 1..]);
                    return Some(self.judge_inner(name, &args, scope, stdin));
                }
                return Some(Stdin::None);
            }
            "runuser" => return Some(self.judge_runuser(rest, scope, stdin)),
            // Secret managers that run a program with the secrets in its environment:
            // `doppler run [options] -- cmd` (`--command STRING` in a shell), `op run
            // -- cmd`, `infisical run -- cmd`, `dotenvx run -- cmd`, `aws-vault exec
            // PROFILE -- cmd`.
            "doppler" | "op" | "infisical" | "dotenvx" | "aws-vault"
                if rest
                    .iter()
                    .find(|a| !super::is_option(a))
                    .is_some_and(|a| a.known && matches!(a.text.as_str(), "run" | "exec")) =>
            {
                if let Some(at) = rest
                    .iter()
                    .position(|a| a.known && matches!(a.text.as_str(), "--command" | "-c"))
                {
                    let line: Vec<Arg> = rest.get(at + 1).cloned().into_iter().collect();
                    return Some(self.run_words_as_script(&line, scope, "a secret manager"));
                }
                if let Some(command) = rest.iter().find_map(|a| {
                    a.text
                        .strip_prefix("--command=")
                        .map(|c| Arg::literal(c, a.span))
                }) {
                    return Some(self.run_words_as_script(&[command], scope, "a secret manager"));
                }
                return Some(match rest.iter().position(|a| a.known && a.text == "--") {
                    Some(at) => self.judge_inner(name, &rest[at + 1..], scope, stdin),
                    None => {
                        let sub = rest
                            .iter()
                            .position(|a| !super::is_option(a))
                            .unwrap_or_default();
                        self.judge_inner(name, &rest[sub + 1..], scope, stdin)
                    }
                });
            }
            "start-stop-daemon" => return Some(self.judge_start_stop_daemon(rest, scope, stdin)),
            _ => {}
        }
        if name == "command"
            && rest
                .iter()
                .take_while(|a| super::is_option(a))
                .any(|a| a.text.contains(['v', 'V']))
        {
            // `command -v rm` only prints where rm is, like `which`.
            return self.judge_file_program("which", rest, scope, stdin);
        }
        // `nice -5 cmd`: the old form of the adjustment.
        if name == "nice"
            && let Some(first) = rest.first()
            && first.known
            && first.text.len() > 1
            && first.text[1..].chars().all(|c| c.is_ascii_digit())
        {
            return Some(self.judge_inner(name, &rest[1..], scope, stdin));
        }
        let wrapper = WRAPPERS.iter().find(|w| w.names.contains(&name))?;
        let (items, start) = parse_opts(rest, &wrapper.opts, true);
        if name == "systemd-run" {
            // A service starts in `/` unless told otherwise.
            let same_dir = items.iter().any(|i| i.is(&["--same-dir", "-d"]));
            match value_of(&items, &["--working-directory"]) {
                Some(dir) if dir.known => {
                    scope.cwd = scope
                        .cwd
                        .as_ref()
                        .map(|cwd| resolve(cwd, Path::new(&dir.text)))
                }
                Some(_) => scope.cwd = None,
                None if !same_dir => scope.cwd = Some(PathBuf::from("/")),
                None => {}
            }
        }
        // `strace -o '|cmd'` / `'!cmd'` pipes the trace into a command (strace(1)).
        if matches!(name, "strace" | "ltrace") {
            for output in super::values_of(&items, &["-o", "--output"]) {
                if let Some(command) = output.text.strip_prefix(['|', '!']) {
                    self.run_words_as_script(
                        &[Arg::literal(command, output.span)],
                        scope,
                        "a command strace pipes its trace to",
                    );
                }
            }
        }
        // Secret files named in the wrapper's own options (`dotenv -e .env`).
        for item in &items {
            if let super::Opt::Flag {
                value: Some(value), ..
            } = item
            {
                self.check_secret(value, scope, super::Access::Read);
            }
        }
        let mut inner = rest.get(start..).unwrap_or_default();
        // `rr record cmd`, `uftrace record cmd`: a subcommand before the program.
        if matches!(name, "rr" | "uftrace")
            && inner
                .first()
                .is_some_and(|a| matches!(a.text.as_str(), "record" | "live" | "replay"))
        {
            let (_, at) = parse_opts(&inner[1..], &OptSpec::default(), true);
            inner = inner.get(1 + at..).unwrap_or_default();
        }
        let skip = wrapper.positionals.min(inner.len());
        Some(self.judge_inner(name, &inner[skip..], scope, stdin))
    }

    /// Judges what a wrapper runs.
    pub(super) fn judge_inner(
        &mut self,
        wrapper: &str,
        inner: &[Arg],
        scope: &mut Scope,
        stdin: &Stdin,
    ) -> Stdin {
        if inner.is_empty() {
            // A wrapper with nothing to run prints what it is (`ssh-agent -s` prints
            // shell commands): not known.
            return Stdin::Output { safe: false };
        }
        self.note(|| format!("unwrapped `{wrapper}`"));
        self.judge(inner, scope, stdin)
    }

    /// `sudo [options] command`; with `-s`/`-i` the command is a string for the shell;
    /// `-e` edits files.
    fn judge_sudo(&mut self, rest: &[Arg], scope: &mut Scope, stdin: &Stdin) -> Stdin {
        const SUDO: OptSpec = flagged(
            "CDghpRrtTUu",
            &[
                "close-from",
                "chdir",
                "group",
                "host",
                "prompt",
                "chroot",
                "role",
                "type",
                "command-timeout",
                "other-user",
                "user",
            ],
            &[
                "askpass",
                "background",
                "bell",
                "edit",
                "help",
                "set-home",
                "preserve-env",
                "login",
                "remove-timestamp",
                "reset-timestamp",
                "list",
                "non-interactive",
                "preserve-groups",
                "shell",
                "stdin",
                "validate",
                "version",
            ],
        );
        let (items, start) = parse_opts(rest, &SUDO, true);
        let inner = rest.get(start..).unwrap_or_default();
        if items.iter().any(|i| i.is(&["-e", "--edit"])) {
            self.check_file_operands(inner, scope, super::Access::Write);
            return Stdin::None;
        }
        if items
            .iter()
            .any(|i| i.is(&["-l", "--list", "-v", "--validate", "-k", "-K", "-V"]))
        {
            return Stdin::None;
        }
        if let Some(dir) = value_of(&items, &["-D", "--chdir"]) {
            scope.cwd = match (dir.known, &scope.cwd) {
                (true, Some(cwd)) => Some(resolve(cwd, Path::new(&dir.text))),
                _ => None,
            };
        }
        if items
            .iter()
            .any(|i| i.is(&["-s", "--shell", "-i", "--login"]))
            && !inner.is_empty()
        {
            // The command is run by the shell as `-c 'words'`.
            return self.run_words_as_script(inner, scope, "sudo -s");
        }
        self.judge_inner("sudo", inner, scope, stdin)
    }

    /// Joins words into a command line and walks it (what `sh -c "$*"` would run).
    pub(super) fn run_words_as_script(
        &mut self,
        words: &[Arg],
        scope: &mut Scope,
        what: &str,
    ) -> Stdin {
        if words.iter().any(|w| !w.known) {
            let span = words.first().and_then(|w| w.span);
            self.find(
                crate::decision::Verdict::Ask,
                crate::rules::Rule::ShellUnresolvedScript,
                format!("`{what}` runs a command line that is not known until the command runs."),
                span,
            );
            return Stdin::Output { safe: false };
        }
        let script = words
            .iter()
            .map(|w| w.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let span = words.first().and_then(|w| w.span);
        self.walk_nested_script(&script, scope, span, what)
    }

    /// `env [-i] [-u NAME] [-C DIR] [NAME=VALUE]… [-S STRING] [command]`.
    fn judge_env(&mut self, rest: &[Arg], scope: &mut Scope, stdin: &Stdin) -> Stdin {
        const ENV: OptSpec = flagged(
            "uCS",
            &["unset", "chdir", "split-string"],
            &[
                "ignore-environment",
                "null",
                "debug",
                "list-signal-handling",
                "block-signal",
                "default-signal",
                "ignore-signal",
            ],
        );
        let mut index = 0;
        while let Some(arg) = rest.get(index) {
            if !arg.known {
                break;
            }
            let text = arg.text.as_str();
            if text == "--" {
                index += 1;
                break;
            }
            if !text.starts_with('-') {
                match text.split_once('=') {
                    Some((key, value)) => {
                        scope
                            .vars
                            .insert(key.to_owned(), crate::shell::Value::Known(value.to_owned()));
                        index += 1;
                        continue;
                    }
                    None => break,
                }
            }
            let (items, used) = parse_opts(&rest[index..index + 1], &ENV, false);
            let mut consumed = used.max(1);
            for item in &items {
                if let super::Opt::Flag { name, value, .. } = item {
                    let value = value.clone().or_else(|| {
                        if ENV.short.contains(name.trim_start_matches('-'))
                            || ENV.long.contains(&name.trim_start_matches("--"))
                        {
                            consumed = 2;
                            rest.get(index + 1).cloned()
                        } else {
                            None
                        }
                    });
                    match (name.as_str(), value) {
                        ("-S" | "--split-string", Some(script)) => {
                            // `env -S "rm -rf /"`: the string is split into a command line
                            // (with `${VAR}` expanded); read as a script, which errs safe.
                            let mut all = vec![script.clone()];
                            all.extend_from_slice(rest.get(index + consumed..).unwrap_or_default());
                            return self.run_words_as_script(&all, scope, "env -S");
                        }
                        ("-C" | "--chdir", Some(dir)) => {
                            scope.cwd = match (dir.known, &scope.cwd) {
                                (true, Some(cwd)) => Some(resolve(cwd, Path::new(&dir.text))),
                                _ => None,
                            };
                        }
                        _ => {}
                    }
                }
            }
            index += consumed;
        }
        let inner = rest.get(index..).unwrap_or_default();
        self.judge_inner("env", inner, scope, stdin)
    }

    /// Node's environment setters, which run their operands as a command:
    /// `cross-env [NAME=VALUE]… command args` (cross-env-shell: the rest is a shell
    /// command line), `env-cmd [-f FILE] [-e ENVS] [--use-shell] [--] command args`.
    fn judge_env_setter(
        &mut self,
        name: &str,
        rest: &[Arg],
        scope: &mut Scope,
        stdin: &Stdin,
    ) -> Stdin {
        const ENV_CMD: OptSpec = flagged(
            "fre",
            &["file", "rc-file", "environments"],
            &[
                "fallback",
                "no-override",
                "silent",
                "use-shell",
                "expand-envs",
                "verbose",
            ],
        );
        let (items, mut index) = if name == "env-cmd" {
            parse_opts(rest, &ENV_CMD, true)
        } else {
            (Vec::new(), 0)
        };
        for value in super::values_of(&items, &["-f", "--file", "-r", "--rc-file"]) {
            self.check_secret(&value, scope, super::Access::Read);
        }
        while let Some(arg) = rest.get(index) {
            let Some((key, value)) = arg
                .known
                .then(|| arg.text.split_once('='))
                .flatten()
                .filter(|(key, _)| !key.is_empty() && !key.starts_with('-'))
            else {
                break;
            };
            scope
                .vars
                .insert(key.to_owned(), crate::shell::Value::Known(value.to_owned()));
            index += 1;
        }
        let inner = rest.get(index..).unwrap_or_default();
        if name == "cross-env-shell" || items.iter().any(|i| i.is(&["--use-shell"])) {
            return self.run_words_as_script(inner, scope, name);
        }
        self.judge_inner(name, inner, scope, stdin)
    }

    /// `flock [options] FILE|DIR command…`, `flock [options] FILE -c STRING`, `flock FD`.
    fn judge_flock(&mut self, rest: &[Arg], scope: &mut Scope, stdin: &Stdin) -> Stdin {
        const FLOCK: OptSpec = flagged(
            "wEc",
            &["timeout", "conflict-exit-code", "command"],
            &[
                "shared",
                "exclusive",
                "unlock",
                "nonblock",
                "close",
                "no-fork",
                "verbose",
            ],
        );
        let (items, start) = parse_opts(rest, &FLOCK, true);
        if let Some(script) = value_of(&items, &["-c", "--command"]) {
            return self.run_words_as_script(&[script], scope, "flock -c");
        }
        let after = rest.get(start + 1..).unwrap_or_default();
        // `flock FILE -c STRING`: options may follow the lock file.
        let (more, inner_start) = parse_opts(after, &FLOCK, true);
        if let Some(script) = value_of(&more, &["-c", "--command"]) {
            return self.run_words_as_script(&[script], scope, "flock -c");
        }
        self.judge_inner(
            "flock",
            after.get(inner_start..).unwrap_or_default(),
            scope,
            stdin,
        )
    }

    /// `runuser -u USER [--] COMMAND…` (an argv) or `runuser USER -c STRING`.
    fn judge_runuser(&mut self, rest: &[Arg], scope: &mut Scope, stdin: &Stdin) -> Stdin {
        const RUNUSER: OptSpec = flagged(
            "ugGscw",
            &[
                "user",
                "group",
                "supp-group",
                "shell",
                "command",
                "session-command",
                "whitelist-environment",
            ],
            &["login", "preserve-environment", "pty"],
        );
        let (items, start) = parse_opts(rest, &RUNUSER, true);
        if let Some(script) = value_of(&items, &["-c", "--command", "--session-command"]) {
            return self.run_words_as_script(&[script], scope, "runuser -c");
        }
        let inner = rest.get(start..).unwrap_or_default();
        if value_of(&items, &["-u", "--user"]).is_some() {
            return self.judge_inner("runuser", inner, scope, stdin);
        }
        // `runuser USER [options] [-c STRING]`.
        let after = inner.get(1..).unwrap_or_default();
        let (more, _) = parse_opts(after, &RUNUSER, false);
        if let Some(script) = value_of(&more, &["-c", "--command", "--session-command"]) {
            return self.run_words_as_script(&[script], scope, "runuser -c");
        }
        Stdin::None
    }

    /// `start-stop-daemon --start --exec PROGRAM -- ARGS`.
    fn judge_start_stop_daemon(&mut self, rest: &[Arg], scope: &mut Scope, stdin: &Stdin) -> Stdin {
        const SSD: OptSpec = spec(
            "xapnusgrdkNPIcb",
            &[
                "exec",
                "startas",
                "pidfile",
                "name",
                "user",
                "chuid",
                "group",
                "chroot",
                "chdir",
                "umask",
                "nicelevel",
                "procsched",
                "iosched",
                "signal",
                "retry",
                "output",
            ],
        );
        let (items, _) = parse_opts(rest, &SSD, false);
        let Some(program) = value_of(&items, &["-x", "--exec", "-a", "--startas"]) else {
            return Stdin::None;
        };
        let split = rest.iter().position(|a| a.known && a.text == "--");
        let mut args = vec![program];
        if let Some(at) = split {
            args.extend_from_slice(&rest[at + 1..]);
        }
        self.judge_inner("start-stop-daemon", &args, scope, stdin)
    }

    /// `chroot NEWROOT cmd`, `unshare [-R DIR] cmd`, `nsenter [-r DIR] cmd`: the same
    /// file system, seen from another root when one is given.
    fn judge_rooted(
        &mut self,
        rest: &[Arg],
        scope: &mut Scope,
        stdin: &Stdin,
        by: RootedBy,
    ) -> Stdin {
        const CHROOT: OptSpec = flagged("", &["userspec", "groups"], &["skip-chdir"]);
        const UNSHARE: OptSpec = flagged(
            "SGRw",
            &[
                "root",
                "wd",
                "setuid",
                "setgid",
                "propagation",
                "setgroups",
                "map-user",
                "map-group",
                "map-users",
                "map-groups",
                "monotonic",
                "boottime",
            ],
            &[
                "mount",
                "uts",
                "ipc",
                "net",
                "pid",
                "user",
                "cgroup",
                "time",
                "fork",
                "map-root-user",
                "map-current-user",
                "map-auto",
                "keep-caps",
                "mount-proc",
                "kill-child",
            ],
        );
        const NSENTER: OptSpec = flagged(
            "tSG",
            &["target", "setuid", "setgid", "env"],
            &[
                "all",
                "mount",
                "uts",
                "ipc",
                "net",
                "pid",
                "user",
                "cgroup",
                "time",
                "root",
                "wd",
                "preserve-credentials",
                "no-fork",
                "follow-context",
            ],
        );
        let opts = match by {
            RootedBy::Chroot => &CHROOT,
            RootedBy::Unshare => &UNSHARE,
            RootedBy::Nsenter => &NSENTER,
        };
        let (items, start) = parse_opts(rest, opts, true);
        let mut inner = rest.get(start..).unwrap_or_default();
        let root = match by {
            RootedBy::Chroot => {
                let root = inner.first().cloned();
                inner = inner.get(1..).unwrap_or_default();
                root
            }
            _ => value_of(&items, &["-R", "--root"]),
        };
        let mut inner_scope = scope.clone();
        if let Some(root) = root {
            match (root.known, &scope.cwd) {
                (true, Some(cwd)) => {
                    let host = resolve(cwd, Path::new(&root.text));
                    if host != Path::new("/") {
                        inner_scope.container = Some(vec![(PathBuf::from("/"), host)]);
                    }
                    inner_scope.cwd = Some(PathBuf::from("/"));
                }
                _ => {
                    inner_scope.cwd = None;
                    inner_scope.container = Some(Vec::new());
                }
            }
        }
        let out = self.judge_inner(by.name(), inner, &mut inner_scope, stdin);
        scope.written.extend(inner_scope.written);
        out
    }

    /// bubblewrap and proot: the command sees the host's directories that are bound
    /// into its root, under their new names.
    fn judge_sandbox(
        &mut self,
        name: &str,
        rest: &[Arg],
        scope: &mut Scope,
        stdin: &Stdin,
    ) -> Stdin {
        const TWO_VALUES: &[&str] = &[
            "--setenv",
            "--bind",
            "--bind-try",
            "--dev-bind",
            "--dev-bind-try",
            "--ro-bind",
            "--ro-bind-try",
            "--file",
            "--bind-data",
            "--ro-bind-data",
            "--symlink",
            "--chmod",
        ];
        const ONE_VALUE: &[&str] = &[
            "--chdir",
            "--unsetenv",
            "--lock-file",
            "--sync-fd",
            "--remount-ro",
            "--proc",
            "--dev",
            "--tmpfs",
            "--mqueue",
            "--dir",
            "--info-fd",
            "--json-status-fd",
            "--seccomp",
            "--add-seccomp-fd",
            "--userns",
            "--userns2",
            "--pidns",
            "--exec-label",
            "--file-label",
            "--uid",
            "--gid",
            "--hostname",
            "--cap-add",
            "--cap-drop",
            "--perms",
            "--size",
            "--args",
            "--argv0",
            "--block-fd",
            "--userns-block-fd",
            "-r",
            "-b",
            "-w",
            "-q",
            "-k",
            "-m",
            "--rootfs",
            "--cwd",
            "--kernel-release",
            "--qemu",
            "--mount",
        ];
        let mut mounts: Vec<(PathBuf, PathBuf)> = Vec::new();
        let mut inner_cwd: Option<PathBuf> = None;
        let mut index = 0;
        let host = |text: &str| scope.cwd.as_ref().map(|cwd| resolve(cwd, Path::new(text)));
        while let Some(arg) = rest.get(index) {
            if !arg.known || !arg.text.starts_with('-') {
                break;
            }
            let flag = arg.text.as_str();
            if flag == "--" {
                index += 1;
                break;
            }
            if TWO_VALUES.contains(&flag) {
                if matches!(
                    flag,
                    "--bind"
                        | "--bind-try"
                        | "--dev-bind"
                        | "--dev-bind-try"
                        | "--ro-bind"
                        | "--ro-bind-try"
                ) && let (Some(source), Some(dest)) = (rest.get(index + 1), rest.get(index + 2))
                    && source.known
                    && dest.known
                    && let Some(source) = host(&source.text)
                {
                    mounts.push((resolve(Path::new("/"), Path::new(&dest.text)), source));
                }
                index += 3;
            } else if ONE_VALUE.contains(&flag) {
                let value = rest.get(index + 1);
                match (flag, value) {
                    ("-r" | "--rootfs", Some(root)) if root.known => {
                        if let Some(root) = host(&root.text) {
                            mounts.push((PathBuf::from("/"), root));
                        }
                    }
                    ("-b" | "--mount", Some(bind)) if bind.known => {
                        let (source, dest) = bind
                            .text
                            .split_once(':')
                            .unwrap_or((&bind.text, &bind.text));
                        if let Some(source) = host(source) {
                            mounts.push((resolve(Path::new("/"), Path::new(dest)), source));
                        }
                    }
                    ("--chdir" | "-w" | "--cwd", Some(dir)) if dir.known => {
                        inner_cwd = Some(resolve(Path::new("/"), Path::new(&dir.text)));
                    }
                    _ => {}
                }
                index += 2;
            } else {
                index += 1;
            }
        }
        let mut inner_scope = scope.clone();
        inner_scope.container = Some(mounts);
        inner_scope.cwd = inner_cwd.or_else(|| scope.cwd.clone());
        let out = self.judge_inner(
            name,
            rest.get(index..).unwrap_or_default(),
            &mut inner_scope,
            stdin,
        );
        scope.written.extend(inner_scope.written);
        out
    }

    /// `gdb --args PROGRAM ARGS`, `gdb -ex 'shell CMD'`, `gdb -batch -x FILE`.
    fn judge_gdb(&mut self, rest: &[Arg], scope: &mut Scope, stdin: &Stdin) -> Stdin {
        let mut index = 0;
        while let Some(arg) = rest.get(index) {
            index += 1;
            if !arg.known {
                continue;
            }
            let flag = arg.text.trim_start_matches('-');
            match flag {
                "args" => return self.judge_inner("gdb --args", &rest[index..], scope, stdin),
                "ex" | "eval-command" | "iex" | "init-eval-command" => {
                    if let Some(command) = rest.get(index) {
                        self.judge_debugger_command(command, scope, "gdb");
                    }
                    index += 1;
                }
                "x" | "command" | "ix" | "init-command" => {
                    if let Some(file) = rest.get(index) {
                        self.judge_script_file(file, scope, "a gdb command file");
                    }
                    index += 1;
                }
                "p" | "pid" | "cd" | "d" | "directory" | "s" | "symbols" | "e" | "exec" | "se"
                | "c" | "core" | "tty" | "D" | "data-directory" | "b" | "l" => index += 1,
                _ => {
                    if let Some((name, value)) = flag.split_once('=')
                        && matches!(name, "eval-command" | "init-eval-command")
                    {
                        let command = Arg::literal(value, arg.span);
                        self.judge_debugger_command(&command, scope, "gdb");
                    }
                }
            }
        }
        Stdin::Output { safe: false }
    }

    /// `lldb -- PROGRAM ARGS`, `lldb -o 'platform shell CMD'`.
    fn judge_lldb(&mut self, rest: &[Arg], scope: &mut Scope, stdin: &Stdin) -> Stdin {
        let mut index = 0;
        while let Some(arg) = rest.get(index) {
            index += 1;
            if !arg.known {
                continue;
            }
            match arg.text.as_str() {
                "--" => return self.judge_inner("lldb --", &rest[index..], scope, stdin),
                "-o"
                | "--one-line"
                | "-O"
                | "--one-line-before-file"
                | "-k"
                | "--one-line-on-crash" => {
                    if let Some(command) = rest.get(index) {
                        self.judge_debugger_command(command, scope, "lldb");
                    }
                    index += 1;
                }
                "-s" | "--source" | "-S" | "--source-before-file" => {
                    if let Some(file) = rest.get(index) {
                        self.judge_script_file(file, scope, "an lldb command file");
                    }
                    index += 1;
                }
                "-p" | "--attach-pid" | "-n" | "--attach-name" | "-c" | "--core" | "-a"
                | "--arch" | "-f" | "--file" => index += 1,
                _ => {}
            }
        }
        Stdin::Output { safe: false }
    }

    /// A debugger command that runs a shell: gdb's `shell`/`!`/`pipe`, lldb's
    /// `platform shell`/`script`.
    fn judge_debugger_command(&mut self, command: &Arg, scope: &mut Scope, debugger: &str) {
        if !command.known {
            self.find(
                crate::decision::Verdict::Ask,
                crate::rules::Rule::ShellUnresolvedScript,
                format!(
                    "`{debugger}` is given a command that is not known until the command runs."
                ),
                command.span,
            );
            return;
        }
        let text = command.text.trim();
        let shell = text
            .strip_prefix("shell ")
            .or_else(|| text.strip_prefix('!'))
            .or_else(|| text.strip_prefix("platform shell "))
            .or_else(|| {
                text.strip_prefix("pipe ")
                    .and_then(|rest| rest.split_once('|').map(|(_, cmd)| cmd))
            })
            .or_else(|| {
                text.strip_prefix("| ")
                    .and_then(|rest| rest.split_once('|').map(|(_, cmd)| cmd))
            });
        if let Some(script) = shell {
            self.walk_nested_script(script, scope, command.span, "a debugger's shell command");
            return;
        }
        for (prefix, language) in [
            ("python ", "python3"),
            ("py ", "python3"),
            ("script ", "python3"),
            ("guile ", "guile"),
        ] {
            if let Some(code) = text.strip_prefix(prefix) {
                self.judge_code(language, code, command.span, scope, &[]);
            }
        }
    }

    /// `perf record|stat|trace [options] [--] command`.
    fn judge_perf(&mut self, rest: &[Arg], scope: &mut Scope, stdin: &Stdin) -> Stdin {
        const VALUES: &[&str] = &[
            "-e",
            "-o",
            "-p",
            "-t",
            "-C",
            "-c",
            "-F",
            "-r",
            "-x",
            "-I",
            "-G",
            "-j",
            "-m",
            "-u",
            "--event",
            "--output",
            "--pid",
            "--tid",
            "--cpu",
            "--count",
            "--freq",
            "--repeat",
            "--field-separator",
            "--interval-print",
            "--cgroup",
            "--call-graph",
            "--mmap-pages",
            "--uid",
            "-i",
            "--input",
        ];
        let Some(sub) = rest.first() else {
            return Stdin::None;
        };
        if !matches!(
            sub.text.as_str(),
            "record" | "stat" | "trace" | "mem" | "c2c" | "lock" | "sched" | "kvm"
        ) {
            return Stdin::Output { safe: false };
        }
        let mut index = 1;
        while let Some(arg) = rest.get(index) {
            if !arg.known || !arg.text.starts_with('-') {
                break;
            }
            if arg.text == "--" {
                index += 1;
                break;
            }
            index += if VALUES.contains(&arg.text.as_str()) {
                2
            } else {
                1
            };
        }
        self.judge_inner("perf", rest.get(index..).unwrap_or_default(), scope, stdin)
    }

    /// A file of commands for a program that can run shell commands from it (gdb,
    /// lldb, vim, …): judged when it was written earlier in this command, asked about
    /// when its content is produced at run time, else only its name is checked.
    /// Text that was decoded in this command, about to run: asked about (the policy's
    /// "decoded"), besides being judged as what it is.
    pub(super) fn ask_if_decoded(&mut self, text: &str, what: &str, span: Option<ByteSpan>) {
        if self.decoded.iter().any(|decoded| decoded == text) {
            self.find(
                crate::decision::Verdict::Ask,
                crate::rules::Rule::ShellUnresolvedScript,
                format!("{what} runs decoded text, which the command does not show as written."),
                span,
            );
        }
    }

    pub(super) fn judge_script_file(&mut self, file: &Arg, scope: &mut Scope, what: &str) {
        if file.process_substitution || produced_content(file) {
            let written = self.quoted(file.span);
            self.find(
                crate::decision::Verdict::Ask,
                crate::rules::Rule::ShellUnresolvedScript,
                format!("{what}{written} is produced while the command runs, so the guard cannot tell what it runs."),
                file.span,
            );
            return;
        }
        self.check_secret(file, scope, super::Access::Read);
        let Some(path) = file
            .known
            .then(|| self.host_path(&file.text, scope))
            .flatten()
        else {
            return;
        };
        match scope.written.get(&path).cloned() {
            Some(Some(text)) => {
                self.note(|| format!("{what} `{}` was written earlier in this command", file.text));
                self.ask_if_decoded(&text, what, file.span);
                self.walk_nested_script(&text, scope, file.span, what);
            }
            Some(None) => self.find(
                crate::decision::Verdict::Ask,
                crate::rules::Rule::ShellUnresolvedScript,
                format!(
                    "{what} `{}` is written earlier in this command with content not known until it runs.",
                    file.text
                ),
                file.span,
            ),
            None => {}
        }
    }
}

/// Which root-changing wrapper.
#[derive(Debug, Clone, Copy)]
enum RootedBy {
    Chroot,
    Unshare,
    Nsenter,
}

impl RootedBy {
    fn name(self) -> &'static str {
        match self {
            RootedBy::Chroot => "chroot",
            RootedBy::Unshare => "unshare",
            RootedBy::Nsenter => "nsenter",
        }
    }
}

/// Whether a script file's content is produced while the command runs: a name entirely
/// produced at run time. `"$(conda info --base)/etc/profile.d/conda.sh"` is a file on
/// disk whose directory is computed; its content is not produced by the command.
pub(super) fn produced_content(file: &Arg) -> bool {
    if file.known || !file.runtime {
        return false;
    }
    file.known_suffix
        .rsplit_once('/')
        .is_none_or(|(_, name)| name.is_empty())
}
