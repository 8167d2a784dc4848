//! git: what it runs (aliases starting with `!`, `-c` keys and `config` values that name
//! commands, `bisect run`, `rebase --exec`, `submodule foreach`, `filter-branch`
//! filters, `difftool -x`), what it reads (`git show HEAD:.env`, `git diff .env`,
//! `git grep --untracked`), and the `git` pack's history-destroying commands.

use std::path::Path;

use super::deleters::Removal;
use super::{Access, written_text};
use crate::config::Pack;
use crate::decision::Verdict;
use crate::look::{Exclude, Selection};
use crate::paths::resolve;
use crate::rules::Rule;
use crate::secrets::secret_file;
use crate::shell::word::Arg;
use crate::shell::{ByteSpan, Scope, Stdin, Value, Walker};

/// Subcommands that run hooks (githooks(5)): commit, merge, push, rebase, checkout and
/// the like.
const HOOK_RUNNERS: &[&str] = &[
    "commit",
    "merge",
    "push",
    "pull",
    "rebase",
    "checkout",
    "switch",
    "am",
    "cherry-pick",
    "revert",
    "clone",
    "worktree",
    "gc",
    "receive-pack",
    "send-email",
];

/// Configuration keys whose value is a command git runs.
const COMMAND_KEYS: &[&str] = &[
    "core.sshcommand",
    "core.pager",
    "core.editor",
    "core.fsmonitor",
    "core.askpass",
    "core.hookspath",
    "diff.external",
    "sequence.editor",
    "gpg.program",
    "gpg.ssh.program",
    "credential.helper",
    "pager.",
    "alias.",
    "filter.",
    "merge.",
    "diff.",
    "difftool.",
    "mergetool.",
    "interactive.difffilter",
    "uploadpack.packobjectshook",
    "sendemail.sendmailcmd",
    "core.gitproxy",
    "remote.",
    "protocol.ext.allow",
    "gpg.x509.program",
];

fn key_runs_command(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    COMMAND_KEYS.iter().any(|known| {
        if known.ends_with('.') {
            key.starts_with(known)
                && (key.ends_with(".cmd")
                    || key.ends_with(".command")
                    || key.ends_with(".textconv")
                    || key.ends_with(".clean")
                    || key.ends_with(".smudge")
                    || key.ends_with(".process")
                    || key.ends_with(".driver")
                    || key.ends_with(".uploadpack")
                    || key.ends_with(".receivepack")
                    || key.starts_with("alias.")
                    || key.starts_with("pager."))
        } else {
            key == *known
        }
    })
}

impl Walker<'_> {
    /// `git [global options] subcommand args…`; `args` includes `git`.
    pub(super) fn judge_git(&mut self, args: &[Arg], scope: &mut Scope, stdin: &Stdin) -> Stdin {
        let rest = &args[1..];
        let mut index = 0;
        let mut inner = scope.clone();
        // `--work-tree DIR`: `Some(None)` when the option has no value.
        let mut work_tree: Option<Option<Arg>> = None;
        while let Some(arg) = rest.get(index) {
            if !super::is_option(arg) {
                break;
            }
            let text = arg.text.as_str();
            let value = rest.get(index + 1);
            match text {
                "-C" => {
                    if let Some(dir) = value {
                        inner.cwd = match (dir.known, &inner.cwd) {
                            (true, Some(cwd)) => Some(resolve(cwd, Path::new(&dir.text))),
                            _ => None,
                        };
                    }
                    index += 2;
                }
                "-c" => {
                    if let Some(setting) = value {
                        self.judge_git_setting(setting, &mut inner);
                    }
                    index += 2;
                }
                "--work-tree" => {
                    work_tree = Some(value.cloned());
                    index += 2;
                }
                "--git-dir" | "--namespace" | "--exec-path" | "--config-env" => index += 2,
                _ => {
                    if let Some(dir) = text.strip_prefix("--work-tree=") {
                        work_tree = Some(Some(Arg::literal(dir, arg.span)));
                    }
                    index += 1;
                }
            }
        }
        // `GIT_WORK_TREE=dir git …`, or exported earlier in the command.
        let work_tree = work_tree.or_else(|| match scope.vars.get("GIT_WORK_TREE") {
            Some(Value::Known(dir)) => {
                Some(Some(Arg::literal(dir, rest.first().and_then(|a| a.span))))
            }
            Some(Value::Unknown { runtime, safe }) => Some(Some(Arg {
                runtime: *runtime,
                safe: *safe,
                ..Arg::unknown(rest.first().and_then(|a| a.span))
            })),
            None => None,
        });
        let Some(sub) = rest.get(index) else {
            return Stdin::None;
        };
        let args_after = &rest[index + 1..];
        let span = sub.span;
        if !sub.known {
            self.find(
                Verdict::Ask,
                Rule::ShellUnresolvedScript,
                "the git subcommand is not known until the command runs.".to_owned(),
                span,
            );
            return Stdin::Output { safe: false };
        }
        // An alias set in this command: `!` runs a shell command line.
        if let Some(alias) = inner.git_aliases.get(&sub.text).cloned() {
            let tail: Vec<String> = args_after.iter().map(super::shell_word).collect();
            match alias.strip_prefix('!') {
                Some(script) => {
                    let script = format!("{script} {}", tail.join(" "));
                    return self.walk_nested_script(&script, &inner, span, "a git alias");
                }
                None => {
                    let script = format!("git {alias} {}", tail.join(" "));
                    return self.walk_nested_script(&script, &inner, span, "a git alias");
                }
            }
        }
        // Hooks in the repository's own hooks directory, written by this command, run
        // with the commands that fire them (githooks(5)).
        if HOOK_RUNNERS.contains(&sub.text.as_str()) {
            self.judge_git_hooks(".git/hooks", span, &mut inner);
        }
        if sub.text == "clean" {
            // Without `-f`, git refuses to clean (clean.requireForce defaults to true).
            let forced_off = args.iter().any(|a| {
                a.known
                    && a.text.to_ascii_lowercase().replace(' ', "") == "clean.requireforce=false"
            });
            self.judge_git_clean(
                args_after,
                work_tree.clone().flatten().as_ref(),
                &inner,
                forced_off,
            );
        }
        self.judge_git_discard(&sub.text, args_after, work_tree.flatten().as_ref(), &inner);
        self.judge_git_transport_commands(&sub.text, args_after, &mut inner);
        let out = self.judge_git_subcommand(&sub.text, args_after, span, &mut inner, stdin, args);
        scope.git_aliases = inner.git_aliases;
        scope.written = inner.written;
        out
    }

    /// `-c key=value` and `git config key value`: a command-valued key's value runs.
    fn judge_git_setting(&mut self, setting: &Arg, scope: &mut Scope) {
        if !setting.known {
            return;
        }
        if let Some((key, value)) = setting.text.split_once('=') {
            self.judge_git_key(key, value, setting.span, scope);
        }
    }

    fn judge_git_key(&mut self, key: &str, value: &str, span: Option<ByteSpan>, scope: &mut Scope) {
        let lower = key.to_ascii_lowercase();
        if let Some(alias) = lower.strip_prefix("alias.") {
            scope.git_aliases.insert(alias.to_owned(), value.to_owned());
            if let Some(script) = value.strip_prefix('!') {
                self.walk_nested_script(script, scope, span, &format!("the git alias `{alias}`"));
            }
            return;
        }
        if lower == "core.hookspath" {
            self.judge_git_hooks(value, span, scope);
            // Hooks from a directory outside the project, not written in this command:
            // programs nobody has seen run on every commit from now on.
            let dir = Arg::literal(value, span);
            let written_there = self.host_path(value, scope).is_some_and(|dir| {
                scope
                    .written
                    .keys()
                    .any(|path| path.parent() == Some(dir.as_path()))
            });
            // `/dev/null` (or nothing) turns hooks off.
            let off = value.is_empty() || value == "/dev/null";
            if !off && !written_there && !self.inside_project(&dir, scope) {
                self.find(
                    Verdict::Ask,
                    Rule::ShellUnresolvedScript,
                    format!(
                        "`core.hooksPath` points git at hooks in `{value}`, outside the project: \
                         what they run is not known from the command."
                    ),
                    span,
                );
            }
            return;
        }
        if key_runs_command(&lower) {
            let script = value.strip_prefix('!').unwrap_or(value);
            self.walk_nested_script(
                script,
                scope,
                span,
                &format!("the command in git's `{key}`"),
            );
        }
    }

    /// `git config diff.external /tmp/x.sh`: a key whose value git runs, stored for
    /// every later git command (this one's `&& git diff` too), naming a program file in
    /// the home or a temp dir that this command does not write: what it runs is not
    /// known from the command (as for `core.hooksPath` outside the project).
    fn judge_stored_program(
        &mut self,
        key: &str,
        value: &str,
        span: Option<ByteSpan>,
        scope: &Scope,
    ) {
        let lower = key.to_ascii_lowercase();
        if lower.starts_with("alias.") || lower == "core.hookspath" || !key_runs_command(&lower) {
            return;
        }
        let Some(program) = value.trim_start_matches('!').split_whitespace().next() else {
            return;
        };
        if !program.contains('/') {
            return; // a program looked up on PATH (`less`, `vim`, `store`)
        }
        let Some(path) = self.host_path(&expand_tilde(program, self), scope) else {
            return;
        };
        if scope.written.contains_key(&path) {
            return; // judged by its text where it was written
        }
        let zone = crate::paths::classify(&path, self.ctx, self.config).zone;
        if matches!(
            zone,
            crate::paths::Zone::Home | crate::paths::Zone::Temp | crate::paths::Zone::Outside
        ) {
            self.find(
                Verdict::Ask,
                Rule::ShellUnresolvedScript,
                format!(
                    "`git config {key}` makes git run `{program}` from now on, a program file \
                     outside the project that the command does not show."
                ),
                span,
            );
        }
    }

    fn judge_git_subcommand(
        &mut self,
        sub: &str,
        args: &[Arg],
        span: Option<ByteSpan>,
        scope: &mut Scope,
        stdin: &Stdin,
        whole: &[Arg],
    ) -> Stdin {
        let _ = stdin;
        match sub {
            "grep" => {
                self.judge_git_grep(args, whole, scope);
                return Stdin::Output { safe: false };
            }
            "config" => {
                let words: Vec<&Arg> = args.iter().filter(|a| !super::is_option(a)).collect();
                if let [key, value, ..] = words.as_slice()
                    && key.known
                    && value.known
                {
                    let (key, value) = (key.text.clone(), value.text.clone());
                    self.judge_git_key(&key, &value, span, scope);
                    self.judge_stored_program(&key, &value, span, scope);
                }
                return Stdin::None;
            }
            // `git mv SRC DEST` renames like mv(1): a secret file renamed is then read
            // under its new name.
            "mv" => {
                let plain: Vec<Arg> = args
                    .iter()
                    .filter(|a| {
                        !(a.known
                            && matches!(
                                a.text.as_str(),
                                "-k" | "-n" | "--dry-run" | "-v" | "--verbose"
                            ))
                    })
                    .cloned()
                    .collect();
                self.judge_mv(&plain, scope);
                return Stdin::None;
            }
            "bisect" if args.first().is_some_and(|a| a.text == "run") => {
                return self.judge_inner("git bisect run", &args[1..], scope, &Stdin::None);
            }
            "rebase" => {
                let mut iter = args.iter();
                while let Some(arg) = iter.next() {
                    let script = match arg.text.as_str() {
                        "-x" | "--exec" => iter.next().cloned(),
                        text => text
                            .strip_prefix("--exec=")
                            .map(|s| Arg::literal(s, arg.span)),
                    };
                    if let Some(script) = script {
                        self.run_words_as_script(&[script], scope, "git rebase --exec");
                    }
                }
            }
            "submodule" if args.iter().any(|a| a.text == "foreach") => {
                let at = args.iter().position(|a| a.text == "foreach").unwrap_or(0);
                let words: Vec<Arg> = args[at + 1..]
                    .iter()
                    .skip_while(|a| a.known && a.text.starts_with("--"))
                    .cloned()
                    .collect();
                if !words.is_empty() {
                    self.run_words_as_script(&words, scope, "git submodule foreach");
                }
            }
            "filter-branch" => {
                let mut iter = args.iter();
                while let Some(arg) = iter.next() {
                    if arg.text.ends_with("-filter")
                        && let Some(script) = iter.next()
                    {
                        self.run_words_as_script(
                            std::slice::from_ref(script),
                            scope,
                            "git filter-branch",
                        );
                    }
                }
            }
            "difftool" | "mergetool" => {
                let mut iter = args.iter();
                while let Some(arg) = iter.next() {
                    if matches!(arg.text.as_str(), "-x" | "--extcmd")
                        && let Some(script) = iter.next()
                    {
                        self.run_words_as_script(
                            std::slice::from_ref(script),
                            scope,
                            "git difftool -x",
                        );
                    } else if let Some(script) = arg.text.strip_prefix("--extcmd=") {
                        self.run_words_as_script(
                            &[Arg::literal(script, arg.span)],
                            scope,
                            "git difftool --extcmd",
                        );
                    }
                }
            }
            _ => {}
        }
        // Listings of tracked files name nothing secret that is not already in git.
        let listing = match sub {
            "ls-files" => !args
                .iter()
                .any(|a| matches!(a.text.as_str(), "-o" | "--others")),
            "ls-tree" => true,
            "diff" | "show" | "log" => args
                .iter()
                .any(|a| matches!(a.text.as_str(), "--name-only" | "--name-status")),
            _ => false,
        };
        // Secret files named as operands (`git show HEAD:.env`, `git diff .env`).
        let harmless = matches!(
            sub,
            "check-ignore" | "status" | "ls-files" | "check-attr" | "add" | "mv"
        ) || (sub == "rm" && args.iter().any(|a| a.text == "--cached"));
        if !harmless {
            for (at, arg) in args.iter().enumerate() {
                if !arg.known || super::is_option(arg) || takes_search_value(at, args) {
                    continue;
                }
                let path = arg
                    .text
                    .rsplit_once(':')
                    .map_or(arg.text.as_str(), |(_, path)| path);
                if let Some(secret) = secret_file(path, self.config) {
                    let access =
                        if matches!(sub, "commit" | "stash" | "checkout" | "restore" | "rm") {
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
        if sub == "add" {
            for arg in args.iter().filter(|a| !super::is_option(a)) {
                if arg.known && secret_file(&arg.text, self.config).is_some() {
                    self.check_secret(arg, scope, Access::Write);
                }
            }
        }
        if self.config.has(Pack::Git) {
            self.judge_git_pack(sub, args, span);
        }
        Stdin::Output { safe: listing }
    }

    /// `git grep`: tracked files only, unless `--untracked` or `--no-index`, which read
    /// files on disk (a search over the working tree).
    fn judge_git_grep(&mut self, args: &[Arg], whole: &[Arg], scope: &mut Scope) {
        let untracked = args
            .iter()
            .any(|a| a.known && matches!(a.text.as_str(), "--untracked" | "--no-index"));
        let split = args.iter().position(|a| a.known && a.text == "--");
        const GIT_GREP: super::OptSpec = super::OptSpec {
            short: "efABCm",
            long: &[
                "max-depth",
                "after-context",
                "before-context",
                "context",
                "max-count",
                "threads",
                "open-files-in-pager",
                "parent-basename",
            ],
            flags: &[],
        };
        let before = &args[..split.unwrap_or(args.len())];
        let (items, _) = super::parse_opts(before, &GIT_GREP, false);
        let explicit_pattern = items.iter().any(|i| i.is(&["-e", "-f"]));
        let mut operands: Vec<&Arg> = super::operands(&items);
        if let Some(at) = split {
            operands.extend(args[at + 1..].iter());
        }
        if !explicit_pattern && !operands.is_empty() {
            operands.remove(0);
        }
        for operand in &operands {
            let path = operand
                .text
                .rsplit_once(':')
                .map_or(operand.text.as_str(), |(_, p)| p);
            if operand.known && secret_file(path, self.config).is_some() {
                self.check_secret(&Arg::literal(path, operand.span), scope, Access::Read);
            }
        }
        if !untracked {
            return;
        }
        let excluded: Vec<String> = operands
            .iter()
            .filter_map(|a| {
                let text = a.text.as_str();
                let pattern = text
                    .strip_prefix(":!")
                    .or_else(|| text.strip_prefix(":^"))
                    .or_else(|| text.strip_prefix(":(exclude)"))
                    .or_else(|| text.strip_prefix(":(exclude,glob)"))
                    .or_else(|| text.strip_prefix(":(glob,exclude)"))?;
                Some(pattern.trim_start_matches("**/").to_owned())
            })
            .collect();
        let roots: Vec<&Arg> = operands
            .iter()
            .filter(|a| !a.text.starts_with(':'))
            .copied()
            .collect();
        let selection = Selection::Grep {
            include: Vec::new(),
            exclude: excluded,
            exclude_dir: Vec::new(),
        };
        let command = written_text(self.source, whole);
        let dot = Arg::literal(".", whole.first().and_then(|a| a.span));
        let roots = if roots.is_empty() { vec![&dot] } else { roots };
        for root in roots {
            self.push_search(
                root,
                selection.clone(),
                "`git grep --untracked`",
                Exclude::GitGrep,
                command.clone(),
                scope,
            );
        }
    }

    /// The hooks git runs from `dir` (`core.hooksPath`, `.git/hooks`): those written
    /// earlier in this command are judged as programs run; the others are the
    /// repository's own.
    fn judge_git_hooks(&mut self, dir: &str, span: Option<ByteSpan>, scope: &mut Scope) {
        let Some(dir) = self.host_path(dir, scope) else {
            return;
        };
        let mut hooks: Vec<(std::path::PathBuf, Option<String>)> = scope
            .written
            .iter()
            .filter(|(path, _)| path.parent() == Some(dir.as_path()))
            .map(|(path, text)| (path.clone(), text.clone()))
            .collect();
        hooks.sort();
        for (path, text) in hooks {
            let shown = path.display().to_string();
            self.judge_written_program(&shown, text, span, scope, "the git hook");
        }
    }

    /// `git clean` deletes the untracked files (with `-x` the ignored ones too, with `-d`
    /// whole untracked directories) of the tree it is pointed at: the pathspecs given,
    /// else the current directory (`-C`, a `cd` before it), or the `--work-tree`
    /// (`GIT_WORK_TREE`) when one is named. Judged like a delete of files chosen by a
    /// filter there: everyday in the project or a temp dir, denied in home, a directory
    /// that holds the project, or the system. `-n` only lists.
    fn judge_git_clean(
        &mut self,
        args: &[Arg],
        work_tree: Option<&Arg>,
        scope: &Scope,
        force_not_required: bool,
    ) {
        const CLEAN: super::OptSpec = super::OptSpec {
            short: "e",
            long: &["exclude"],
            flags: &["dry-run", "force", "interactive", "quiet"],
        };
        let (items, _) = super::parse_opts(args, &CLEAN, false);
        if items.iter().any(|i| i.is(&["-n", "--dry-run"])) {
            return;
        }
        // git-clean(1): "If the Git configuration variable clean.requireForce is not set
        // to false, git clean will refuse to delete files or directories unless given
        // -f or -i." A configuration on disk is not seen: `-c` in the command is.
        let forced = items
            .iter()
            .any(|i| i.is(&["-f", "--force", "-i", "--interactive"]));
        if !forced && !force_not_required {
            return;
        }
        let pathspecs = super::operands(&items);
        let via = " (git clean: the untracked files there)";
        if !pathspecs.is_empty() {
            for pathspec in pathspecs {
                let mut target = pathspec.clone();
                target.glob |= target.known && crate::secrets::has_glob(&target.text);
                self.judge_removal(&target, Removal::Selected, scope, via);
            }
            return;
        }
        let dot = Arg::literal(".", args.first().and_then(|a| a.span));
        self.judge_removal(work_tree.unwrap_or(&dot), Removal::Selected, scope, via);
    }

    /// Remote URLs and options that name a command git runs to reach a repository:
    /// `ext::CMD ARGS` (git-remote-ext(1): words split on spaces, `% ` a space, `%%` a
    /// percent sign), `--upload-pack`/`-u`, `--receive-pack`, `--exec` (run here for a
    /// local repository).
    fn judge_git_transport_commands(&mut self, sub: &str, args: &[Arg], scope: &mut Scope) {
        let mut index = 0;
        while let Some(arg) = args.get(index) {
            index += 1;
            if !arg.known {
                continue;
            }
            let text = arg.text.as_str();
            if let Some(command) = text.strip_prefix("ext::") {
                let mut words = Vec::new();
                let mut word = String::new();
                let mut chars = command.chars().peekable();
                while let Some(c) = chars.next() {
                    match c {
                        '%' if chars.peek() == Some(&' ') => {
                            chars.next();
                            word.push(' ');
                        }
                        '%' if chars.peek() == Some(&'%') => {
                            chars.next();
                            word.push('%');
                        }
                        ' ' => {
                            if !word.is_empty() {
                                words.push(Arg::literal(std::mem::take(&mut word), arg.span));
                            }
                        }
                        c => word.push(c),
                    }
                }
                if !word.is_empty() {
                    words.push(Arg::literal(word, arg.span));
                }
                self.note(|| "an ext:: remote runs its command".to_owned());
                self.judge(&words, scope, &Stdin::None);
                continue;
            }
            let value = ["--upload-pack=", "--receive-pack=", "--exec="]
                .iter()
                .find_map(|option| text.strip_prefix(option))
                .map(|value| Arg::literal(value, arg.span))
                .or_else(|| {
                    // `-u` is `--upload-pack` for clone only (`git push -u` sets upstream).
                    (matches!(text, "--upload-pack" | "--receive-pack" | "--exec")
                        || text == "-u" && sub == "clone")
                        .then(|| args.get(index).cloned())
                        .flatten()
                });
            if let Some(command) = value {
                self.run_words_as_script(&[command], scope, "a git transport command");
            }
        }
    }

    /// Subcommands that throw away work in the tree they are pointed at, like `git
    /// clean`: `reset --hard` (the whole tree), `checkout -f`/`checkout -- PATHS`,
    /// `restore PATHS` (the changes there), `worktree remove PATH` (that tree, with its
    /// changes under `--force`). Judged as a delete of files there: everyday in the
    /// project and temp dirs, denied in home outside the project and the system.
    fn judge_git_discard(
        &mut self,
        sub: &str,
        args: &[Arg],
        work_tree: Option<&Arg>,
        scope: &Scope,
    ) {
        let via = format!(" (git {sub}: the uncommitted work there)");
        // Where the files may be deleted anyway (the project, a temp dir), discarding
        // work is the `git` pack's business, not a delete (strict mode does not ask).
        let judge = |walker: &mut Self, target: &Arg, removal: Removal, via: &str| {
            let allowed = target.known
                && !target.glob
                && walker.host_path(&target.text, scope).is_some_and(|path| {
                    let placed = crate::paths::classify(&path, walker.ctx, walker.config);
                    // A tree holding a protected path: its untracked files stay.
                    placed.allows_selected_delete()
                        || (placed.zone, placed.relation)
                            == (crate::paths::Zone::Protected, crate::paths::Relation::Holds)
                });
            if !allowed {
                walker.judge_removal(target, removal, scope, via);
            }
        };
        let span = args.first().and_then(|a| a.span);
        let dot = Arg::literal(".", span);
        let tree = work_tree.unwrap_or(&dot);
        let has = |names: &[&str]| {
            args.iter()
                .any(|a| a.known && names.contains(&a.text.as_str()))
        };
        let operands: Vec<&Arg> = args.iter().filter(|a| !super::is_option(a)).collect();
        match sub {
            "reset" if has(&["--hard", "--merge", "--keep"]) => {
                judge(self, tree, Removal::Selected, &via);
            }
            "checkout" | "restore" | "switch" => {
                let paths: Vec<&Arg> = match args.iter().position(|a| a.known && a.text == "--") {
                    Some(at) => args[at + 1..].iter().collect(),
                    None if sub == "restore" => operands.clone(),
                    None => Vec::new(),
                };
                // `restore --staged` alone touches the index only.
                if sub == "restore" && has(&["--staged", "-S"]) && !has(&["--worktree", "-W"]) {
                    return;
                }
                for path in &paths {
                    let mut target = (*path).clone();
                    target.glob |= target.known && crate::secrets::has_glob(&target.text);
                    judge(self, &target, Removal::Selected, &via);
                }
                if paths.is_empty() && has(&["-f", "--force", "--discard-changes"]) {
                    judge(self, tree, Removal::Selected, &via);
                }
            }
            // Without `--force` git refuses to remove a worktree with modified or
            // untracked files (git-worktree(1)): nothing unsaved goes.
            "worktree"
                if operands.first().is_some_and(|a| a.text == "remove")
                    && has(&["--force", "-f"]) =>
            {
                for path in operands.iter().skip(1) {
                    judge(self, path, Removal::Recursive, " (git worktree remove)");
                }
            }
            _ => {}
        }
    }

    fn judge_git_pack(&mut self, sub: &str, args: &[Arg], span: Option<ByteSpan>) {
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
                Rule::GitResetHard,
                "`git reset --hard` discards uncommitted work.",
            )),
            "clean" if short('f') || has("--force") => Some((
                Rule::GitClean,
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
                    Rule::GitForcePush,
                    "`git push --force` without `--force-with-lease` can overwrite others' work.",
                ))
            }
            "branch" if has("-D") || (short('d') && short('f')) => Some((
                Rule::GitBranchDelete,
                "`git branch -D` deletes a branch even if unmerged.",
            )),
            "checkout" | "restore"
                if args.iter().any(|a| a.known && a.text == ".")
                    && (sub == "restore" || has("--")) =>
            {
                Some((
                    Rule::GitDiscardChanges,
                    "this discards every uncommitted change in the tree.",
                ))
            }
            "stash" if args.first().is_some_and(|a| a.text == "clear") => {
                Some((Rule::GitStashClear, "`git stash clear` drops every stash."))
            }
            "filter-branch" => Some((
                Rule::GitRewriteHistory,
                "`git filter-branch` rewrites history.",
            )),
            _ => None,
        };
        if let Some((rule, reason)) = found {
            self.find(Verdict::Deny, rule, reason.to_owned(), span);
        }
    }
}

/// Whether the argument at `at` is the value of an option that takes a search string
/// or a limit, not a path: git-log(1)'s pickaxe `-S`/`-G`, `--grep`, `--author`, …
fn takes_search_value(at: usize, args: &[Arg]) -> bool {
    const SEARCH_OPTIONS: &[&str] = &[
        "-S",
        "-G",
        "--grep",
        "--author",
        "--committer",
        "--since",
        "--until",
        "--after",
        "--before",
        "-n",
        "--max-count",
        "--skip",
        "--diff-filter",
        "--find-object",
    ];
    at.checked_sub(1)
        .and_then(|before| args.get(before))
        .is_some_and(|option| option.known && SEARCH_OPTIONS.contains(&option.text.as_str()))
}

/// `~/x` as the home path (git expands `~` in these values).
fn expand_tilde(text: &str, walker: &Walker<'_>) -> String {
    match text.strip_prefix("~/") {
        Some(rest) => walker.ctx.home.join(rest).to_string_lossy().into_owned(),
        None => text.to_owned(),
    }
}
