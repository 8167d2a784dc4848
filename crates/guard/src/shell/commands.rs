//! Judging one command's arguments: unwrap wrappers, then apply the program's rules.

use std::path::{Path, PathBuf};

use super::word::Arg;
use super::{Scope, Stdin, Walker, interp};
use crate::config::Pack;
use crate::decision::{Category, Verdict};
use crate::paths::{Place, classify, resolve};
use crate::secrets::{Secret, pattern_targets_secret, secret_file};

/// Reading or writing a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
    Search,
}

/// Programs that only look at a file's name or metadata, never its contents.
const METADATA: &[&str] = &[
    "ls", "stat", "file", "test", "[", "touch", "du", "realpath", "readlink", "dirname",
    "basename", "echo", "printf", "which", "type", "mkdir", "chmod", "chown", "chgrp", "exa",
    "eza", "tree", "lsattr", "true", "false", ":", "export", "declare", "typeset", "local",
    "readonly", "unset", "alias", "set", "cd", "pushd", "popd", "command", "hash", "whereis",
    "locate",
];

/// Shells that take a script with `-c`.
const SHELLS: &[&str] = &[
    "sh",
    "bash",
    "zsh",
    "dash",
    "ksh",
    "ash",
    "mksh",
    "yash",
    "busybox-sh",
    "fish",
];

/// Wrappers whose own options are followed by the command they run.
const WRAPPERS: &[&str] = &[
    "sudo",
    "doas",
    "env",
    "command",
    "builtin",
    "exec",
    "nohup",
    "nice",
    "ionice",
    "time",
    "timeout",
    "stdbuf",
    "busybox",
    "setsid",
    "chrt",
    "taskset",
    "unbuffer",
    "caffeinate",
    "watch",
    "flock",
    "systemd-run",
    "runuser",
];

/// `find` predicates that select which files an action applies to.
const FIND_FILTERS: &[&str] = &[
    "-name",
    "-iname",
    "-path",
    "-ipath",
    "-wholename",
    "-iwholename",
    "-regex",
    "-iregex",
    "-newer",
    "-mtime",
    "-mmin",
    "-atime",
    "-amin",
    "-ctime",
    "-cmin",
    "-size",
    "-empty",
    "-user",
    "-group",
    "-perm",
    "-links",
    "-inum",
    "-samefile",
    "-lname",
    "-ilname",
    "-newermt",
    "-used",
];

/// What a command writes to stdout when that is evident from its arguments (`echo`,
/// `printf`): what a shell at the other end of a pipe would read.
pub(crate) fn stdout_text(args: &[Arg]) -> Stdin {
    let Some(program) = args.first().filter(|a| a.known) else {
        return Stdin::Unknown;
    };
    match program_name(&program.text) {
        "echo" => {
            let words: Vec<&str> = args[1..]
                .iter()
                .skip_while(|a| {
                    a.known && matches!(a.text.as_str(), "-e" | "-n" | "-E" | "-ne" | "-en")
                })
                .map(|a| a.text.as_str())
                .collect();
            let span = args.get(1).and_then(|a| a.span);
            Stdin::Text(words.join(" "), span)
        }
        "printf" => match args.get(1) {
            Some(format) if format.known => {
                let rest: Vec<&str> = args[2..].iter().map(|a| a.text.as_str()).collect();
                let text = format
                    .text
                    .replace("%s", &rest.join(" "))
                    .replace("\\n", "\n");
                Stdin::Text(text, format.span)
            }
            _ => Stdin::Unknown,
        },
        _ => Stdin::Unknown,
    }
}

fn program_name(text: &str) -> &str {
    text.rsplit('/').next().unwrap_or(text)
}

/// Splits `-abc` into flags; `--long` and `--long=value` into their name.
fn is_option(arg: &Arg) -> bool {
    arg.known && arg.text.len() > 1 && arg.text.starts_with('-')
}

impl Walker<'_> {
    /// Judges a command given as its arguments (program first).
    pub(super) fn judge(&mut self, args: &[Arg], scope: &mut Scope, stdin: &Stdin) {
        if !self.step() {
            return;
        }
        let Some(program) = args.first() else { return };
        if !program.known {
            self.judge_unknown_program(args);
            return;
        }
        let name = program_name(&program.text).to_owned();
        let rest = &args[1..];
        if WRAPPERS.contains(&name.as_str()) {
            if let Some(inner) = self.unwrap(&name, rest, scope) {
                self.note(|| format!("unwrapped `{name}`"));
                self.judge(inner, scope, stdin);
            }
            return;
        }
        match name.as_str() {
            "rm" | "unlink" => self.judge_rm(&name, rest, scope),
            "shred" => {
                if rest.iter().any(|a| {
                    a.known
                        && (a.text == "-u"
                            || a.text.starts_with("--remove")
                            || (a.text.starts_with('-')
                                && !a.text.starts_with("--")
                                && a.text.contains('u')))
                }) {
                    self.judge_rm("unlink", rest, scope);
                }
                self.judge_disk_targets(rest);
                self.check_file_operands(rest, scope, Access::Write);
            }
            "rmdir" => self.check_file_operands(rest, scope, Access::Write),
            "find" => self.judge_find(rest, scope),
            "xargs" => self.judge_xargs(rest, scope, stdin),
            "parallel" => self.judge_parallel(rest, scope, stdin),
            "eval" => self.judge_eval(rest, scope),
            "su" => self.judge_su(rest, scope),
            "source" | "." => {
                if let Some(file) = rest.first() {
                    self.check_secret(file, scope, Access::Read);
                }
            }
            "cd" | "pushd" => self.change_dir(rest, scope),
            "export" | "declare" | "typeset" | "local" | "readonly" => {
                self.assign_builtin(rest, scope)
            }
            "git" => self.judge_git(rest, scope),
            "grep" | "egrep" | "fgrep" | "rg" | "ag" | "ack" | "zgrep" => {
                self.judge_grep(&name, rest, scope)
            }
            "sed" | "awk" | "gawk" | "mawk" | "perl"
                if name != "perl" || !interp::has_code_flag(&name, rest) =>
            {
                self.judge_script_filter(&name, rest, scope);
            }
            "cp" | "mv" | "install" | "rsync" | "scp" | "ln" => self.judge_copy(rest, scope),
            "tee" => self.check_file_operands(rest, scope, Access::Write),
            "dd" => self.judge_dd(rest, scope),
            "mkfs" | "mke2fs" | "mkswap" | "wipefs" | "fdisk" | "sfdisk" | "gdisk" | "sgdisk"
            | "parted" | "cfdisk" => self.judge_disk_tool(&name, rest),
            _ if name.starts_with("mkfs.") => self.judge_disk_tool(&name, rest),
            _ if SHELLS.contains(&name.as_str()) => self.judge_shell(rest, scope, stdin),
            _ if interp::language(&name).is_some() => self.judge_interpreter(&name, rest, scope),
            _ if METADATA.contains(&name.as_str()) => {}
            _ => self.check_file_operands(rest, scope, Access::Read),
        }
    }

    /// `$CMD -rf /`: the program is not known. Only worth asking about when the
    /// arguments look like a recursive delete.
    fn judge_unknown_program(&mut self, args: &[Arg]) {
        let recursive = args[1..]
            .iter()
            .any(|a| is_option(a) && !a.text.starts_with("--") && a.text.contains(['r', 'R']));
        if recursive {
            self.find(
                Verdict::Ask,
                "rm.unresolved_command",
                Category::DangerousRm,
                "the program is not known until the command runs, and it is given a recursive flag.".to_owned(),
                args[0].span,
            );
        }
    }

    /// Skips a wrapper's own options; returns the command it runs.
    fn unwrap<'a>(&mut self, name: &str, rest: &'a [Arg], scope: &mut Scope) -> Option<&'a [Arg]> {
        // Options of each wrapper that take a value.
        let with_value: &[&str] = match name {
            "sudo" => &[
                "-u", "-g", "-C", "-h", "-p", "-r", "-t", "-U", "-D", "-R", "-T",
            ],
            "doas" => &["-u", "-C"],
            "env" => &["-u", "-C", "-S", "--unset", "--chdir", "--split-string"],
            "exec" => &["-a"],
            "nice" => &["-n", "--adjustment"],
            "ionice" => &["-c", "-n", "-p", "-t"],
            "timeout" => &["-s", "-k", "--signal", "--kill-after"],
            "stdbuf" => &["-i", "-o", "-e"],
            "chrt" => &["-p"],
            "taskset" => &["-p"],
            "watch" => &["-n", "-d", "--interval"],
            "flock" => &["-w", "-E", "--timeout", "--conflict-exit-code"],
            "systemd-run" => &["-p", "-u", "--unit", "--property", "-M"],
            "runuser" => &["-u", "-g", "-G", "--user", "--group"],
            _ => &[],
        };
        if name == "command"
            && rest
                .iter()
                .take_while(|a| is_option(a))
                .any(|a| a.text.contains(['v', 'V']))
        {
            return None; // `command -v rm` only prints where rm is.
        }
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
            if name == "env" && !text.starts_with('-') && text.contains('=') {
                if let Some((key, value)) = text.split_once('=') {
                    scope.vars.insert(key.to_owned(), Some(value.to_owned()));
                }
                index += 1;
                continue;
            }
            if name == "env" && (text == "-S" || text == "--split-string") {
                // `env -S "rm -rf /"`: the string is a command line of its own.
                if let Some(script) = rest.get(index + 1) {
                    self.walk_nested_script(&script.text, scope, script.span, "env -S");
                }
                return None;
            }
            if !text.starts_with('-') {
                // timeout takes a duration before the command; flock a lock file; chrt a priority.
                let positional = match name {
                    "timeout" | "flock" | "chrt" | "taskset" => 1,
                    _ => 0,
                };
                let skip = rest[index..].iter().take(positional).count();
                index += skip;
                break;
            }
            let takes_value = with_value.contains(&text) && !text.contains('=');
            index += if takes_value { 2 } else { 1 };
        }
        let inner = rest.get(index..).filter(|inner| !inner.is_empty())?;
        Some(inner)
    }

    fn change_dir(&mut self, rest: &[Arg], scope: &mut Scope) {
        let target = rest.iter().find(|a| !(is_option(a) && a.text != "-"));
        scope.cwd = match target {
            None => Some(self.ctx.home.clone()),
            Some(arg) if arg.known && arg.text != "-" => scope
                .cwd
                .as_ref()
                .map(|cwd| resolve(cwd, Path::new(&arg.text))),
            Some(_) => None,
        };
        self.note(|| match &scope.cwd {
            Some(cwd) => format!("cd: now in {}", cwd.display()),
            None => "cd: the working directory is no longer known".to_owned(),
        });
    }

    fn assign_builtin(&mut self, rest: &[Arg], scope: &mut Scope) {
        for arg in rest.iter().filter(|a| !is_option(a)) {
            if let Some((name, value)) = arg.text.split_once('=') {
                let value = arg.known.then(|| value.to_owned());
                scope.vars.insert(name.to_owned(), value);
            }
        }
    }

    /// `bash -c 'script'`, `sh script.sh`, `… | bash`.
    fn judge_shell(&mut self, rest: &[Arg], scope: &mut Scope, stdin: &Stdin) {
        let mut index = 0;
        let mut command_mode = false;
        while let Some(arg) = rest.get(index) {
            if !(is_option(arg) || arg.known && arg.text.starts_with('+')) {
                break;
            }
            if arg.text == "--" {
                index += 1;
                break;
            }
            if arg.text == "-o" || arg.text == "+o" {
                index += 2;
                continue;
            }
            if !arg.text.starts_with("--") && arg.text.contains('c') {
                command_mode = true;
            }
            index += 1;
        }
        match rest.get(index) {
            Some(script) if command_mode => {
                if script.known {
                    self.walk_nested_script(&script.text, scope, script.span, "shell -c");
                } else {
                    self.find(
                        Verdict::Ask,
                        "shell.unresolved_script",
                        Category::Uncertain,
                        "a shell is given a script that is not known until the command runs."
                            .to_owned(),
                        script.span,
                    );
                }
            }
            Some(file) => self.check_secret(file, scope, Access::Read),
            None => {
                if let Stdin::Text(text, span) = stdin {
                    let text = text.clone();
                    self.walk_nested_script(&text, scope, *span, "text piped into a shell");
                }
            }
        }
    }

    fn judge_eval(&mut self, rest: &[Arg], scope: &mut Scope) {
        if rest.is_empty() {
            return;
        }
        let span = rest.first().and_then(|a| a.span);
        if rest.iter().all(|a| a.known) {
            let script = rest
                .iter()
                .map(|a| a.text.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            self.walk_nested_script(&script, scope, span, "eval");
        } else {
            self.find(
                Verdict::Ask,
                "shell.unresolved_eval",
                Category::Uncertain,
                "`eval` runs text that is not known until the command runs.".to_owned(),
                span,
            );
        }
    }

    fn judge_su(&mut self, rest: &[Arg], scope: &mut Scope) {
        let mut iter = rest.iter();
        while let Some(arg) = iter.next() {
            if arg.known && (arg.text == "-c" || arg.text == "--command") {
                if let Some(script) = iter.next() {
                    if script.known {
                        self.walk_nested_script(&script.text, scope, script.span, "su -c");
                    } else {
                        self.find(
                            Verdict::Ask,
                            "shell.unresolved_script",
                            Category::Uncertain,
                            "`su -c` is given a script that is not known until the command runs."
                                .to_owned(),
                            script.span,
                        );
                    }
                }
                return;
            }
            if let Some(script) = arg.text.strip_prefix("--command=") {
                let script = script.to_owned();
                self.walk_nested_script(&script, scope, arg.span, "su --command");
                return;
            }
        }
    }

    /// `rm`, `unlink`: recursive flags, then each target resolved and placed.
    pub(super) fn judge_rm(&mut self, name: &str, rest: &[Arg], scope: &mut Scope) {
        let mut recursive = false;
        let mut targets = Vec::new();
        let mut options_done = name == "unlink";
        for arg in rest {
            if !options_done && arg.known && arg.text == "--" {
                options_done = true;
            } else if !options_done && is_option(arg) {
                if arg.text == "--recursive"
                    || (!arg.text.starts_with("--") && arg.text.contains(['r', 'R']))
                {
                    recursive = true;
                }
            } else {
                targets.push(arg);
            }
        }
        for target in targets {
            self.judge_delete_target(target, recursive, scope, "");
            self.check_secret(target, scope, Access::Write);
        }
    }

    /// One delete target: where it resolves to, and whether that is allowed.
    pub(super) fn judge_delete_target(
        &mut self,
        target: &Arg,
        recursive: bool,
        scope: &Scope,
        via: &str,
    ) {
        let what = if recursive {
            "recursive delete"
        } else {
            "delete"
        };
        if !target.known {
            if !recursive && !target.glob {
                return; // one file whose name is not known: an ordinary delete
            }
            // A literal directory inside the project before the unknown part: ask.
            let prefix = target.known_prefix.as_str();
            let inside = !prefix.is_empty()
                && prefix.contains('/')
                && scope.cwd.as_ref().is_some_and(|cwd| {
                    let base = resolve(
                        cwd,
                        Path::new(prefix.rsplit_once('/').map_or(prefix, |(dir, _)| dir)),
                    );
                    matches!(
                        classify(&base, self.ctx, self.config),
                        Place::InProject | Place::InTemp | Place::Allowed
                    )
                });
            let (verdict, reason) = if inside {
                (
                    Verdict::Ask,
                    format!(
                        "the {what}{via} target `{prefix}…` is only partly known until the command runs."
                    ),
                )
            } else {
                (
                    Verdict::Deny,
                    format!(
                        "the {what}{via} target is not known until the command runs (a variable, command output or piped input), so it could be anything, including your home directory or /."
                    ),
                )
            };
            self.find(
                verdict,
                "rm.unresolved_target",
                Category::DangerousRm,
                reason,
                target.span,
            );
            return;
        }
        let Some(cwd) = &scope.cwd else {
            if Path::new(&target.text).is_absolute() {
                let cwd = PathBuf::from("/");
                let known = Scope {
                    cwd: Some(cwd),
                    ..scope.clone()
                };
                self.judge_delete_target(target, recursive, &known, via);
            } else if recursive || target.glob {
                self.find(
                    Verdict::Deny,
                    "rm.unresolved_target",
                    Category::DangerousRm,
                    format!("the {what}{via} of `{}` happens after `cd` to a directory that is not known until the command runs.", target.text),
                    target.span,
                );
            }
            return;
        };
        let (base, glob_all, glob) = split_glob(&target.text);
        let path = resolve(cwd, Path::new(&base));
        let place = classify(&path, self.ctx, self.config);
        self.note(|| {
            format!(
                "{what} target `{}` -> {} ({:?}{})",
                target.text,
                path.display(),
                place,
                if glob { ", glob" } else { "" }
            )
        });
        let shown = if glob {
            format!(
                "everything matching `{}` in {}",
                target.text,
                path.display()
            )
        } else {
            path.display().to_string()
        };
        let denied = if glob && !glob_all {
            // Selected files under `base`: fine wherever a recursive delete of its
            // children would be, including the project or a temp dir itself.
            !(place.allows_recursive_delete()
                || matches!(place, Place::ProjectRoot | Place::TempRoot))
        } else if recursive || glob {
            !place.allows_recursive_delete()
        } else {
            matches!(place, Place::Root | Place::System | Place::Protected)
        };
        if denied {
            self.find(
                Verdict::Deny,
                place.rule(),
                Category::DangerousRm,
                format!(
                    "this {what}{via} would remove {shown}: {}.",
                    place.describe()
                ),
                target.span,
            );
        } else if self.config.strict && (recursive || glob) {
            self.find(
                Verdict::Ask,
                "rm.strict",
                Category::DangerousRm,
                format!("strict mode asks before every recursive delete ({shown})."),
                target.span,
            );
        }
    }

    fn judge_find(&mut self, rest: &[Arg], scope: &mut Scope) {
        let mut index = 0;
        while rest.get(index).is_some_and(|a| {
            a.known && (matches!(a.text.as_str(), "-H" | "-L" | "-P") || a.text.starts_with("-O"))
        }) {
            index += 1;
        }
        let mut roots: Vec<&Arg> = Vec::new();
        while let Some(arg) = rest.get(index) {
            if arg.known && (arg.text.starts_with('-') || arg.text == "(" || arg.text == "!") {
                break;
            }
            roots.push(arg);
            index += 1;
        }
        let dot = Arg::literal(".", None);
        if roots.is_empty() {
            roots.push(&dot);
        }
        let expression = &rest[index..];
        let filtered = expression
            .iter()
            .any(|a| a.known && FIND_FILTERS.contains(&a.text.as_str()));
        let name_secret = expression
            .windows(2)
            .filter(|pair| {
                pair[0].known
                    && matches!(
                        pair[0].text.as_str(),
                        "-name" | "-iname" | "-path" | "-ipath"
                    )
            })
            .any(|pair| pattern_targets_secret(&pair[1].text, self.config).is_some());
        let deletes = expression.iter().any(|a| a.known && a.text == "-delete");
        if deletes {
            for root in &roots {
                self.judge_find_root(root, filtered, scope, " (find -delete)");
            }
        }
        let mut at = 0;
        while at < expression.len() {
            let arg = &expression[at];
            at += 1;
            if !(arg.known && matches!(arg.text.as_str(), "-exec" | "-execdir" | "-ok" | "-okdir"))
            {
                continue;
            }
            let start = at;
            while at < expression.len()
                && !(expression[at].known && matches!(expression[at].text.as_str(), ";" | "+"))
            {
                at += 1;
            }
            let template: Vec<Arg> = expression[start..at].to_vec();
            at += 1;
            self.judge_find_exec(&template, &roots, filtered, name_secret, scope);
        }
    }

    fn judge_find_root(&mut self, root: &Arg, filtered: bool, scope: &Scope, via: &str) {
        if filtered && root.known {
            // Selected files under the root: like a filtered glob.
            let pattern = Arg {
                text: format!("{}/*.filtered", root.text.trim_end_matches('/')),
                glob: true,
                ..root.clone()
            };
            self.judge_delete_target(&pattern, true, scope, via);
        } else {
            self.judge_delete_target(root, true, scope, via);
        }
    }

    fn judge_find_exec(
        &mut self,
        template: &[Arg],
        roots: &[&Arg],
        filtered: bool,
        name_secret: bool,
        scope: &mut Scope,
    ) {
        let Some(program) = template.first() else {
            return;
        };
        self.note(|| format!("find -exec: {}", super::show_args(template)));
        let name = program_name(&program.text).to_owned();
        let deleter = program.known && matches!(name.as_str(), "rm" | "unlink" | "shred" | "rmdir");
        if deleter && name != "rmdir" {
            let recursive = name == "rm"
                && template[1..].iter().any(|a| {
                    is_option(a)
                        && (a.text == "--recursive"
                            || (!a.text.starts_with("--") && a.text.contains(['r', 'R'])))
                });
            for root in roots {
                self.judge_find_root(root, filtered || !recursive, scope, " (find -exec rm)");
            }
            return;
        }
        if name_secret && !METADATA.contains(&name.as_str()) {
            self.find(
                Verdict::Deny,
                "env.read",
                Category::EnvAccess,
                "find selects secret files by name and runs a command on each.".to_owned(),
                program.span,
            );
        }
        // Anything else: judge the command with `{}` as an unknown file.
        let args: Vec<Arg> = template
            .iter()
            .map(|a| {
                if a.known && a.text.contains("{}") {
                    Arg::unknown(a.span)
                } else {
                    a.clone()
                }
            })
            .collect();
        self.judge(&args, scope, &Stdin::Unknown);
    }

    fn judge_xargs(&mut self, rest: &[Arg], scope: &mut Scope, stdin: &Stdin) {
        let with_value = [
            "-n",
            "-L",
            "-P",
            "-s",
            "-d",
            "-a",
            "-E",
            "-e",
            "--max-args",
            "--max-procs",
            "--delimiter",
            "--arg-file",
            "--max-lines",
        ];
        let mut index = 0;
        let mut replace: Option<String> = None;
        while let Some(arg) = rest.get(index) {
            if !is_option(arg) {
                break;
            }
            if arg.text == "-I" || arg.text == "--replace" {
                replace = rest.get(index + 1).map(|a| a.text.clone());
                index += 2;
                continue;
            }
            if let Some(r) = arg.text.strip_prefix("-I") {
                replace = Some(r.to_owned());
            } else if let Some(r) = arg.text.strip_prefix("--replace=") {
                replace = Some(r.to_owned());
            }
            index += if with_value.contains(&arg.text.as_str()) {
                2
            } else {
                1
            };
        }
        let template = &rest[index.min(rest.len())..];
        let inputs: Vec<Arg> = match stdin {
            Stdin::Text(text, span) => text
                .split_whitespace()
                .map(|word| Arg::literal(word, *span))
                .collect(),
            Stdin::Unknown => vec![Arg::unknown(rest.first().and_then(|a| a.span))],
        };
        self.judge_with_inputs(template, replace.as_deref(), &inputs, scope);
    }

    fn judge_parallel(&mut self, rest: &[Arg], scope: &mut Scope, stdin: &Stdin) {
        let split = rest
            .iter()
            .position(|a| a.known && matches!(a.text.as_str(), ":::" | "::::"));
        let (before, after) = match split {
            Some(at) => (&rest[..at], Some(&rest[at + 1..])),
            None => (rest, None),
        };
        let template_start = before
            .iter()
            .position(|a| !is_option(a))
            .unwrap_or(before.len());
        let template = &before[template_start..];
        let inputs: Vec<Arg> = match (after, stdin) {
            (Some(values), _) if rest[split.unwrap_or(0)].text == ":::" => values.to_vec(),
            (None, Stdin::Text(text, span)) => text
                .split_whitespace()
                .map(|w| Arg::literal(w, *span))
                .collect(),
            _ => vec![Arg::unknown(rest.first().and_then(|a| a.span))],
        };
        self.judge_with_inputs(template, Some("{}"), &inputs, scope);
    }

    /// Runs a command template once per input: `{}`/replace string substituted, or the
    /// input appended.
    fn judge_with_inputs(
        &mut self,
        template: &[Arg],
        replace: Option<&str>,
        inputs: &[Arg],
        scope: &mut Scope,
    ) {
        let default_echo = [Arg::literal("echo", None)];
        let template = if template.is_empty() {
            &default_echo[..]
        } else {
            template
        };
        for input in inputs {
            let mut substituted = false;
            let mut args: Vec<Arg> = template
                .iter()
                .map(|a| match replace {
                    Some(r) if !r.is_empty() && a.known && a.text.contains(r) => {
                        substituted = true;
                        if input.known {
                            Arg::literal(a.text.replace(r, &input.text), a.span)
                        } else {
                            Arg {
                                text: String::new(),
                                known: false,
                                known_prefix: a.text.split(r).next().unwrap_or("").to_owned(),
                                glob: false,
                                span: a.span,
                            }
                        }
                    }
                    _ => a.clone(),
                })
                .collect();
            if !substituted {
                args.push(input.clone());
            }
            self.judge(&args, scope, &Stdin::Unknown);
        }
    }

    fn judge_git(&mut self, rest: &[Arg], scope: &mut Scope) {
        let mut index = 0;
        while let Some(arg) = rest.get(index) {
            if !is_option(arg) {
                break;
            }
            index += if matches!(
                arg.text.as_str(),
                "-C" | "-c" | "--git-dir" | "--work-tree" | "--namespace"
            ) {
                2
            } else {
                1
            };
        }
        let Some(sub) = rest.get(index) else { return };
        let args = &rest[index + 1..];
        let sub = sub.text.as_str();
        if sub == "grep" {
            // `git grep PATTERN [PATH…]`: like grep, the pattern is data.
            self.judge_grep("git grep", args, scope);
            return;
        }
        // Secret files named as operands (`git show HEAD:.env`, `git diff .env`).
        let harmless = matches!(sub, "check-ignore" | "status" | "ls-files" | "check-attr")
            || (sub == "rm" && args.iter().any(|a| a.text == "--cached"));
        if !harmless {
            for arg in args.iter().filter(|a| !is_option(a)) {
                let path = arg
                    .text
                    .rsplit_once(':')
                    .map_or(arg.text.as_str(), |(_, path)| path);
                if let Some(secret) = secret_file(path, self.config) {
                    let access =
                        if matches!(sub, "add" | "commit" | "stash" | "checkout" | "restore") {
                            Access::Write
                        } else {
                            Access::Read
                        };
                    self.report_secret(
                        secret,
                        access,
                        &format!("`git {sub}` on the secret file `{}`", arg.text),
                        arg.span,
                    );
                }
            }
        }
        if self.config.has(Pack::Git) {
            self.judge_git_pack(sub, args, rest.get(index).and_then(|a| a.span));
        }
        let _ = scope;
    }

    fn judge_git_pack(&mut self, sub: &str, args: &[Arg], span: Option<(usize, usize)>) {
        let has = |flag: &str| args.iter().any(|a| a.known && a.text == flag);
        let short = |c: char| {
            args.iter().any(|a| {
                a.known
                    && a.text.starts_with('-')
                    && !a.text.starts_with("--")
                    && a.text.contains(c)
            })
        };
        let found = match sub {
            "reset" if has("--hard") => Some((
                "git.reset_hard",
                "`git reset --hard` discards uncommitted work.",
            )),
            "clean" if short('f') || has("--force") => Some((
                "git.clean",
                "`git clean -f` deletes untracked files for good.",
            )),
            "push"
                if (short('f')
                    || has("--force")
                    || args.iter().any(|a| a.known && a.text.starts_with('+')))
                    && !args.iter().any(|a| {
                        a.text.starts_with("--force-with-lease") || a.text == "--force-if-includes"
                    }) =>
            {
                Some((
                    "git.force_push",
                    "`git push --force` without `--force-with-lease` can overwrite others' work.",
                ))
            }
            "branch" if has("-D") || (short('d') && short('f')) => Some((
                "git.branch_delete",
                "`git branch -D` deletes a branch even if unmerged.",
            )),
            "checkout" | "restore"
                if args.iter().any(|a| a.known && a.text == ".")
                    && (sub == "restore" || has("--")) =>
            {
                Some((
                    "git.discard_changes",
                    "this discards every uncommitted change in the tree.",
                ))
            }
            "stash" if args.first().is_some_and(|a| a.text == "clear") => {
                Some(("git.stash_clear", "`git stash clear` drops every stash."))
            }
            "filter-branch" => Some((
                "git.rewrite_history",
                "`git filter-branch` rewrites history.",
            )),
            _ => None,
        };
        if let Some((rule, reason)) = found {
            self.find(
                Verdict::Deny,
                rule,
                Category::DestructiveGit,
                reason.to_owned(),
                span,
            );
        }
    }

    fn judge_grep(&mut self, name: &str, rest: &[Arg], scope: &mut Scope) {
        let explicit_pattern = rest.iter().any(|a| {
            a.known
                && (a.text == "-e"
                    || a.text == "-f"
                    || a.text.starts_with("--regexp")
                    || a.text.starts_with("--file"))
        });
        let mut pattern_taken = explicit_pattern;
        let mut iter = rest.iter().peekable();
        let with_value = [
            "-e",
            "-f",
            "-m",
            "-A",
            "-B",
            "-C",
            "-g",
            "--glob",
            "-t",
            "-T",
            "--type",
            "--include",
            "--exclude",
            "--max-count",
            "-d",
            "-D",
        ];
        while let Some(arg) = iter.next() {
            if is_option(arg) {
                let (flag, inline) = match arg.text.split_once('=') {
                    Some((flag, value)) => (flag, Some(value.to_owned())),
                    None => (arg.text.as_str(), None),
                };
                let value = match inline {
                    Some(value) => Some(value),
                    None if with_value.contains(&flag) => iter.next().map(|v| v.text.clone()),
                    None => None,
                };
                if let Some(value) = value {
                    match flag {
                        "-f" | "--file" => {
                            self.check_secret(&Arg::literal(value, arg.span), scope, Access::Read)
                        }
                        "-g" | "--glob" | "--include" => {
                            if let Some(secret) =
                                pattern_targets_secret(value.trim_start_matches('!'), self.config)
                                    .filter(|_| !value.starts_with('!'))
                            {
                                self.report_secret(
                                    secret,
                                    Access::Search,
                                    &format!("`{name}` searches files matching `{value}`"),
                                    arg.span,
                                );
                            }
                        }
                        _ => {}
                    }
                }
                continue;
            }
            if !pattern_taken {
                pattern_taken = true; // the pattern is data, not a file
                continue;
            }
            self.check_secret(arg, scope, Access::Read);
        }
    }

    /// `sed`/`awk`: the first operand is the program (data), the rest are files;
    /// `sed -i` writes them.
    fn judge_script_filter(&mut self, name: &str, rest: &[Arg], scope: &mut Scope) {
        let explicit = rest.iter().any(|a| {
            a.known && (a.text == "-e" || a.text == "-f" || a.text.starts_with("--expression"))
        });
        let in_place = name == "sed"
            && rest
                .iter()
                .any(|a| a.known && (a.text.starts_with("-i") || a.text.starts_with("--in-place")));
        let access = if in_place {
            Access::Write
        } else {
            Access::Read
        };
        let mut program_taken = explicit;
        let mut iter = rest.iter();
        while let Some(arg) = iter.next() {
            if is_option(arg) {
                if matches!(arg.text.as_str(), "-e" | "-f" | "-v" | "-F") {
                    let value = iter.next();
                    if arg.text == "-f"
                        && let Some(file) = value
                    {
                        self.check_secret(file, scope, Access::Read);
                    }
                }
                continue;
            }
            if !program_taken {
                program_taken = true;
                continue;
            }
            self.check_secret(arg, scope, access);
        }
    }

    fn judge_copy(&mut self, rest: &[Arg], scope: &mut Scope) {
        let operands: Vec<&Arg> = rest.iter().filter(|a| !is_option(a)).collect();
        if let Some((destination, sources)) = operands.split_last() {
            for source in sources {
                self.check_secret(source, scope, Access::Read);
            }
            self.check_secret(destination, scope, Access::Write);
        }
        if rest
            .iter()
            .any(|a| a.known && a.text.starts_with("--delete"))
            && let Some(destination) = operands.last()
        {
            self.judge_delete_target(destination, true, scope, " (rsync --delete)");
        }
    }

    fn judge_dd(&mut self, rest: &[Arg], scope: &mut Scope) {
        for arg in rest {
            if let Some(input) = arg.text.strip_prefix("if=") {
                self.check_secret(&Arg::literal(input, arg.span), scope, Access::Read);
            }
            if let Some(output) = arg.text.strip_prefix("of=") {
                let output = Arg::literal(output, arg.span);
                self.check_secret(&output, scope, Access::Write);
                self.check_device_write(&output);
            }
        }
    }

    fn judge_disk_tool(&mut self, name: &str, rest: &[Arg]) {
        if self.config.has(Pack::Disk) {
            let span = rest
                .iter()
                .find(|a| a.text.starts_with("/dev/"))
                .and_then(|a| a.span)
                .or(rest.first().and_then(|a| a.span));
            self.find(
                Verdict::Deny,
                if name.starts_with("mk") {
                    "disk.mkfs"
                } else {
                    "disk.partition"
                },
                Category::Disk,
                format!("`{name}` rewrites disks or file systems."),
                span,
            );
        }
    }

    fn judge_disk_targets(&mut self, rest: &[Arg]) {
        for arg in rest {
            self.check_device_write(arg);
        }
    }

    /// A write to a block device (`> /dev/sda`, `dd of=/dev/nvme0n1`).
    pub(super) fn check_device_write(&mut self, arg: &Arg) {
        const DEVICES: &[&str] = &[
            "sd", "hd", "vd", "xvd", "nvme", "mmcblk", "disk", "md", "dm-", "mapper/", "loop",
        ];
        if !self.config.has(Pack::Disk) {
            return;
        }
        if let Some(device) = arg.text.strip_prefix("/dev/")
            && DEVICES.iter().any(|prefix| device.starts_with(prefix))
        {
            self.find(
                Verdict::Deny,
                "disk.write_device",
                Category::Disk,
                format!("this writes straight to the block device {}.", arg.text),
                arg.span,
            );
        }
    }

    fn judge_interpreter(&mut self, name: &str, rest: &[Arg], scope: &mut Scope) {
        let Some(language) = interp::language(name) else {
            return;
        };
        match interp::code_argument(language, rest) {
            Some(code) if code.known => {
                self.note(|| format!("{name} one-liner: {}", code.text));
                for effect in interp::effects(language, &code.text) {
                    self.apply_effect(effect, code.span, scope);
                }
            }
            Some(code) => {
                self.find(
                    Verdict::Ask,
                    "shell.unresolved_script",
                    Category::Uncertain,
                    format!("`{name}` is given code that is not known until the command runs."),
                    code.span,
                );
            }
            None => {
                // `python script.py`: the script file itself is read.
                if let Some(script) = rest.iter().find(|a| !is_option(a)) {
                    self.check_secret(script, scope, Access::Read);
                }
            }
        }
    }

    fn apply_effect(
        &mut self,
        effect: interp::Effect,
        span: Option<(usize, usize)>,
        scope: &mut Scope,
    ) {
        match effect {
            interp::Effect::Delete { target, recursive } => {
                let arg = match target {
                    Some(text) => Arg::literal(text, span),
                    None => Arg::unknown(span),
                };
                if let Some(secret) = arg
                    .known
                    .then(|| secret_file(&arg.text, self.config))
                    .flatten()
                {
                    self.report_secret(
                        secret,
                        Access::Write,
                        &format!("deleting the secret file `{}`", arg.text),
                        span,
                    );
                }
                self.judge_delete_target(
                    &arg,
                    recursive,
                    scope,
                    " (from an interpreter one-liner)",
                );
            }
            interp::Effect::Read(path) => {
                self.check_secret(&Arg::literal(path, span), scope, Access::Read)
            }
            interp::Effect::Shell(script) => {
                self.walk_nested_script(&script, scope, span, "shell command in a one-liner")
            }
            interp::Effect::Argv(words) => {
                let args: Vec<Arg> = words.into_iter().map(|w| Arg::literal(w, span)).collect();
                self.judge(&args, scope, &Stdin::Unknown);
            }
            interp::Effect::Unknown(what) => self.find(
                Verdict::Ask,
                "shell.unresolved_script",
                Category::Uncertain,
                format!("a one-liner runs {what} that is not known until it runs."),
                span,
            ),
        }
    }

    /// Judges every operand (not option) as a file the program reads or writes.
    fn check_file_operands(&mut self, rest: &[Arg], scope: &mut Scope, access: Access) {
        let mut options_done = false;
        for arg in rest {
            if !options_done && arg.known && arg.text == "--" {
                options_done = true;
                continue;
            }
            if !options_done && is_option(arg) {
                if let Some((_, value)) = arg.text.split_once('=') {
                    self.check_secret(&Arg::literal(value, arg.span), scope, access);
                }
                continue;
            }
            self.check_secret(arg, scope, access);
        }
    }

    /// Reports an access to a secret file, if `arg` names one.
    pub(super) fn check_secret(&mut self, arg: &Arg, scope: &Scope, access: Access) {
        let _ = scope;
        if !arg.known {
            return;
        }
        let secret = if arg.glob {
            pattern_targets_secret(&arg.text, self.config)
        } else {
            secret_file(&arg.text, self.config)
        };
        if let Some(secret) = secret {
            let verb = match access {
                Access::Read => "reads",
                Access::Write => "writes",
                Access::Search => "searches",
            };
            self.report_secret(
                secret,
                access,
                &format!("this {verb} the secret file `{}`", arg.text),
                arg.span,
            );
        }
    }

    pub(super) fn report_secret(
        &mut self,
        secret: Secret,
        access: Access,
        what: &str,
        span: Option<(usize, usize)>,
    ) {
        let (rule, category) = match (secret, access) {
            (Secret::Env, Access::Read) => ("env.read", Category::EnvAccess),
            (Secret::Env, Access::Write) => ("env.write", Category::EnvAccess),
            (Secret::Env, Access::Search) => ("env.search", Category::EnvAccess),
            (Secret::Other, Access::Read) => ("secret.read", Category::SecretAccess),
            (Secret::Other, Access::Write) => ("secret.write", Category::SecretAccess),
            (Secret::Other, Access::Search) => ("secret.search", Category::SecretAccess),
        };
        self.find(
            Verdict::Deny,
            rule,
            category,
            format!("{what}; secret files must not be read, written or searched by the agent."),
            span,
        );
    }
}

/// Splits a delete target into the directory part before any glob and whether the glob
/// matches everything there (`*`, `.*`, `*.*`, `.??*`): `("base", all, glob)`.
fn split_glob(text: &str) -> (String, bool, bool) {
    if !crate::secrets::has_glob(text) {
        return (text.to_owned(), false, false);
    }
    let components: Vec<&str> = text.split('/').collect();
    let first_glob = components
        .iter()
        .position(|c| crate::secrets::has_glob(c))
        .unwrap_or(0);
    let mut base = components[..first_glob].join("/");
    if base.is_empty() {
        base = if text.starts_with('/') {
            "/".to_owned()
        } else {
            ".".to_owned()
        };
    }
    let glob_part = &components[first_glob..];
    let all = glob_part
        .iter()
        .filter(|c| !c.is_empty())
        .all(|c| c.chars().all(|ch| matches!(ch, '*' | '?' | '.')));
    (base, all, true)
}
