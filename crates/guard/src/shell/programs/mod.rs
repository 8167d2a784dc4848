//! What each program does with its arguments: runs an argv, runs a string, reads files,
//! writes or deletes files, or nothing. One module per family of programs, catalogued
//! from the programs' own documentation (man pages, `--help`); this module dispatches
//! by name and holds what the families share (option parsing, secret and write checks).
//!
//! A program the catalogue does not know is taken to read the files it is given: a
//! secret file named to any program is denied.

mod code;
mod containers;
mod deleters;
mod editors;
mod files;
mod find;
mod git;
mod interpreters;
mod launchers;
mod multiplexers;
mod search;
mod shells;
mod tcl;
mod wrappers;

use std::path::{Path, PathBuf};

pub(crate) use deleters::Removal;

use super::word::Arg;
use super::{ByteSpan, Scope, Stdin, Walker};
use crate::config::Pack;
use crate::decision::Verdict;
use crate::look::{Look, SearchCheck, Selection};
use crate::paths::resolve;
use crate::rules::Rule;
use crate::secrets::{Secret, pattern_may_match_secret, pattern_targets_secret, secret_file};

/// What a program does to a file it is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Reads the file, and may show its content (cat, head, an interpreter's code).
    Read,
    /// Is given the file by name; not known to show its content (a formatter, a linter,
    /// a script's argument). A secret file named is still denied; a name produced at run
    /// time is not asked about.
    Mention,
    Write,
    Search,
}

/// Programs that print what they read: given a file whose name is produced at run time,
/// they may print a secret one.
const PRINTERS: &[&str] = &[
    "head",
    "tail",
    "nl",
    "od",
    "hexdump",
    "hd",
    "strings",
    "sort",
    "uniq",
    "cut",
    "paste",
    "column",
    "fold",
    "fmt",
    "pr",
    "expand",
    "unexpand",
    "comm",
    "join",
    "look",
    "iconv",
    "jq",
    "yq",
    "xq",
    "bat",
    "batcat",
    "view",
    "zless",
    "zmore",
    "tr",
    "csvlook",
    "glow",
    "diff",
    "sdiff",
    "cmp",
    "vimdiff",
    "colordiff",
    "diff3",
    "openssl",
    "gpg",
    "age",
    "sops",
    "xmllint",
    "python-json",
    "json_pp",
    "highlight",
    "pygmentize",
];

/// Which of a program's options take a value.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct OptSpec {
    /// Short options that take a value (`-u user`, `-uuser`).
    pub short: &'static str,
    /// Long options that take a value (`--user x`, `--user=x`), without the dashes.
    pub long: &'static [&'static str],
    /// Long options without a value, for recognising GNU's abbreviations (`--rec`).
    pub flags: &'static [&'static str],
}

/// One parsed option or operand.
#[derive(Debug, Clone)]
pub(crate) enum Opt<'a> {
    /// `-x`, or `--long` with abbreviations expanded, and its value if it takes one.
    Flag {
        name: String,
        value: Option<Arg>,
        arg: &'a Arg,
    },
    /// Not an option.
    Operand(&'a Arg),
}

impl Opt<'_> {
    pub(crate) fn is(&self, names: &[&str]) -> bool {
        matches!(self, Opt::Flag { name, .. } if names.contains(&name.as_str()))
    }
}

/// Parses options GNU-style. With `stop_at_operand` (wrappers: the first operand is the
/// command they run), parsing stops there; returns the items and the index of the first
/// argument not parsed.
pub(crate) fn parse_opts<'a>(
    args: &'a [Arg],
    spec: &OptSpec,
    stop_at_operand: bool,
) -> (Vec<Opt<'a>>, usize) {
    let mut items = Vec::new();
    let mut index = 0;
    let mut options_done = false;
    while let Some(arg) = args.get(index) {
        index += 1;
        let text = arg.text.as_str();
        if options_done || !arg.known || !text.starts_with('-') || text == "-" {
            if stop_at_operand {
                return (items, index - 1);
            }
            items.push(Opt::Operand(arg));
            continue;
        }
        if text == "--" {
            if stop_at_operand {
                return (items, index);
            }
            options_done = true;
            continue;
        }
        if let Some(long) = text.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (long, None),
            };
            let name = expand_long(name, spec);
            let takes = spec.long.contains(&name.as_str());
            let value = match inline {
                Some(value) => Some(Arg::literal(value, arg.span)),
                None if takes => {
                    let value = args.get(index).cloned();
                    index += 1;
                    value
                }
                None => None,
            };
            items.push(Opt::Flag {
                name: format!("--{name}"),
                value,
                arg,
            });
            continue;
        }
        // A cluster of short options; one that takes a value ends it.
        let chars: Vec<char> = text[1..].chars().collect();
        for (at, c) in chars.iter().enumerate() {
            if spec.short.contains(*c) {
                let rest: String = chars[at + 1..].iter().collect();
                let value = if rest.is_empty() {
                    let value = args.get(index).cloned();
                    index += 1;
                    value
                } else {
                    Some(Arg::literal(rest, arg.span))
                };
                items.push(Opt::Flag {
                    name: format!("-{c}"),
                    value,
                    arg,
                });
                break;
            }
            items.push(Opt::Flag {
                name: format!("-{c}"),
                value: None,
                arg,
            });
        }
    }
    (items, index.min(args.len()))
}

/// GNU getopt_long accepts any unambiguous prefix of a long option.
fn expand_long(name: &str, spec: &OptSpec) -> String {
    if spec.long.contains(&name) || spec.flags.contains(&name) || name.len() < 2 {
        return name.to_owned();
    }
    let mut matches = spec
        .long
        .iter()
        .chain(spec.flags.iter())
        .filter(|full| full.starts_with(name));
    match (matches.next(), matches.next()) {
        (Some(full), None) => (*full).to_owned(),
        _ => name.to_owned(),
    }
}

/// The operands of parsed options.
pub(crate) fn operands<'a>(items: &[Opt<'a>]) -> Vec<&'a Arg> {
    items
        .iter()
        .filter_map(|item| match item {
            Opt::Operand(arg) => Some(*arg),
            Opt::Flag { .. } => None,
        })
        .collect()
}

/// The value of the last option named one of `names`.
pub(crate) fn value_of(items: &[Opt<'_>], names: &[&str]) -> Option<Arg> {
    items.iter().rev().find_map(|item| match item {
        Opt::Flag { name, value, .. } if names.contains(&name.as_str()) => value.clone(),
        _ => None,
    })
}

/// Every value of options named one of `names`, in order.
pub(crate) fn values_of(items: &[Opt<'_>], names: &[&str]) -> Vec<Arg> {
    items
        .iter()
        .filter_map(|item| match item {
            Opt::Flag { name, value, .. } if names.contains(&name.as_str()) => value.clone(),
            _ => None,
        })
        .collect()
}

pub(crate) fn program_name(text: &str) -> &str {
    text.rsplit('/').next().unwrap_or(text)
}

/// Whether an argument is an option (`-x`, `--long`), as far as is known.
pub(crate) fn is_option(arg: &Arg) -> bool {
    arg.known && arg.text.len() > 1 && arg.text.starts_with('-')
}

/// The text of a command as the user wrote it, from its first to its last argument,
/// when the arguments come from the outermost command.
pub(crate) fn written_text(source: &str, args: &[Arg]) -> Option<String> {
    let start = args.first()?.span?.0;
    let end = args.last()?.span?.1;
    let spans: Vec<ByteSpan> = args.iter().map(|a| a.span).collect::<Option<_>>()?;
    // Spans of nested scripts all point at the outer word: not this command's text.
    if spans.windows(2).any(|pair| pair[0] == pair[1]) || start >= end {
        return None;
    }
    source.get(start..end).map(str::to_owned)
}

impl Walker<'_> {
    /// Judges a command given as its arguments (program first); returns what it writes
    /// to stdout, as far as is known.
    pub(in crate::shell) fn judge(
        &mut self,
        args: &[Arg],
        scope: &mut Scope,
        stdin: &Stdin,
    ) -> Stdin {
        if !self.step() {
            return Stdin::Output { safe: false };
        }
        let Some(program) = args.first() else {
            return Stdin::None;
        };
        // A program reading anything but another program's output ends the flow of
        // names a `find` listed.
        if !matches!(stdin, Stdin::Output { .. }) {
            self.listed = None;
        }
        if !program.known {
            self.judge_unknown_program(args, scope);
            return Stdin::Output { safe: false };
        }
        self.judge_program_made_at_run_time(args, scope.origin.is_none());
        let rest = &args[1..];
        // Aliases and functions of this command come first, as in the shell.
        if let Some(text) = scope.aliases.get(&program.text).cloned() {
            let tail: Vec<String> = rest.iter().map(shell_word).collect();
            let script = format!("{text} {}", tail.join(" "));
            self.note(|| format!("alias `{}` expands to `{script}`", program.text));
            let mut inner = scope.clone();
            inner.aliases.remove(&program.text);
            return self.walk_nested_in(&script, &mut inner, program.span, "alias");
        }
        if let Some(body) = scope.functions.get(&program.text).cloned() {
            self.called.push(program.text.clone());
            self.note(|| format!("function `{}` called", program.text));
            let mut inner = scope.clone();
            inner.positional = Some(rest.to_vec());
            inner.functions.remove(&program.text);
            self.walk_compound(&body.0, &mut inner);
            scope.cwd = inner.cwd;
            scope.written = inner.written;
            return Stdin::Output { safe: false };
        }
        // `./clean.sh` (a path: the shell does not look it up) written earlier in this
        // command: what it holds runs.
        if program.text.contains('/')
            && let Some(path) = self.host_path(&program.text, scope)
            && let Some(text) = scope.written.get(&path).cloned()
        {
            self.judge_written_program(&program.text, text, program.span, scope, "the program");
            self.check_file_operands(rest, scope, Access::Mention);
            return Stdin::Output { safe: false };
        }
        let name = program_name(&program.text).to_owned();
        // PowerShell's cmdlets (any case) as their Unix counterparts.
        if let Some(unix) = powershell_equivalent(&name, rest) {
            self.note(|| {
                format!(
                    "PowerShell `{name}` judged as `{}`",
                    super::show_args(&unix)
                )
            });
            return self.judge(&unix, scope, stdin);
        }
        if let Some(out) = self.judge_family(&name, args, scope, stdin) {
            return out;
        }
        let access = if PRINTERS.contains(&name.as_str()) {
            Access::Read
        } else {
            Access::Mention
        };
        self.check_file_operands(rest, scope, access);
        Stdin::Output { safe: false }
    }

    /// The family of a program, by the catalogue's index ([`family`]); `None` for a
    /// program none of them knows, or a form its family does not take (`npm test`).
    fn judge_family(
        &mut self,
        name: &str,
        args: &[Arg],
        scope: &mut Scope,
        stdin: &Stdin,
    ) -> Option<Stdin> {
        let rest = &args[1..];
        match family(name)? {
            Family::Wrapper => self.judge_wrapper(name, rest, scope, stdin),
            Family::Shell => self.judge_shell_family(name, rest, scope, stdin),
            Family::Launcher => self.judge_launcher(name, rest, scope, stdin),
            Family::Multiplexer => self.judge_multiplexer(name, rest, scope, stdin),
            Family::Interpreter => self.judge_interpreter(name, rest, scope, stdin),
            Family::Deleter => self.judge_deleter(name, rest, scope, stdin),
            Family::Find => self.judge_find_family(name, rest, scope, stdin),
            Family::Search => self.judge_search(name, args, scope, stdin),
            Family::Git => Some(self.judge_git(args, scope, stdin)),
            Family::Container => self.judge_container(name, rest, scope, stdin),
            Family::Editor => self.judge_editor(name, rest, scope, stdin),
            Family::File => self.judge_file_program(name, rest, scope, stdin),
        }
    }

    /// A program file written earlier in this command, now run (directly, as a git
    /// hook, …): its text is judged as its `#!` line says (a shell without one, as the
    /// shell runs a file that is not a binary); text not known until it runs, or an
    /// interpreter the guard does not read, is asked about.
    pub(crate) fn judge_written_program(
        &mut self,
        shown: &str,
        text: Option<String>,
        span: Option<ByteSpan>,
        scope: &mut Scope,
        what: &str,
    ) {
        let unknown = |walker: &mut Self, why: &str| {
            walker.find(
                Verdict::Ask,
                Rule::ShellUnresolvedScript,
                format!("{what} `{shown}` is written earlier in this command {why}."),
                span,
            );
        };
        let Some(text) = text else {
            unknown(self, "with content not known until it runs");
            return;
        };
        self.note(|| format!("{what} `{shown}` was written earlier in this command"));
        self.ask_if_decoded(&text, what, span);
        let interpreter = text
            .strip_prefix("#!")
            .and_then(|line| line.lines().next())
            .map(|line| {
                let words: Vec<&str> = line.split_whitespace().collect();
                let words = match words.as_slice() {
                    [env, rest @ ..] if program_name(env) == "env" => rest
                        .iter()
                        .copied()
                        .filter(|w| !w.starts_with('-'))
                        .collect(),
                    _ => words,
                };
                words
                    .first()
                    .map(|w| program_name(w).to_owned())
                    .unwrap_or_default()
            });
        match interpreter.as_deref() {
            None => {
                self.walk_nested_script(&text, scope, span, what);
            }
            Some(name) if shells::SHELLS.contains(&name) => {
                self.walk_nested_script(&text, scope, span, what);
            }
            Some(name) if interpreters::is_interpreter(name) => {
                let code = text
                    .split_once('\n')
                    .map_or("", |(_, body)| body)
                    .to_owned();
                self.judge_code(name, &code, span, scope, &[]);
            }
            Some(_) => unknown(
                self,
                "for an interpreter whose code the guard does not read",
            ),
        }
    }

    /// A program name the shell makes while the command runs: a glob in its place
    /// (`/bin/r? -rf ~`: whatever it matches runs), or a whole command line printed by a
    /// command substitution and split into words (`$(… | base64 -d)`). Asked about; what
    /// is known of it is judged as well. Only for the command as written (in a nested
    /// script every word points at the outer word).
    fn judge_program_made_at_run_time(&mut self, args: &[Arg], outermost: bool) {
        let program = &args[0];
        // `[` and `[[` are the test commands, not a bracket expression.
        let glob = program.glob
            && !matches!(program_name(&program.text), "[" | "[[")
            && crate::secrets::has_glob(&program.text);
        let written = program
            .span
            .and_then(|(start, end)| self.source.get(start..end))
            .unwrap_or_default();
        let substituted = outermost
            && (written.starts_with("$(") || written.starts_with('`'))
            && args.get(1).is_some_and(|next| next.span == program.span);
        if glob || substituted {
            let shown = self.quoted(program.span);
            self.find(
                Verdict::Ask,
                Rule::ShellUnresolvedScript,
                format!(
                    "the program to run{shown} is made by the shell while the command runs \
                     (a glob, or a command line printed by a command), so the guard cannot \
                     be sure what would run."
                ),
                program.span,
            );
        }
    }

    /// `$CMD -rf /`: the program is not known. A command substitution in the program's
    /// place runs whatever it prints: asked about. A variable from the environment is
    /// asked about when its arguments look like a delete or name a protected place.
    fn judge_unknown_program(&mut self, args: &[Arg], scope: &mut Scope) {
        let program = &args[0];
        // `$SHELL -c …`: the user's shell, judged as a shell.
        let written = program
            .span
            .and_then(|(start, end)| self.source.get(start..end))
            .unwrap_or_default()
            .trim_matches('"');
        if matches!(written, "$SHELL" | "${SHELL}") {
            let mut shell = vec![Arg::literal("sh", program.span)];
            shell.extend_from_slice(&args[1..]);
            self.judge(&shell, scope, &Stdin::None);
            return;
        }
        if program.runtime && !program.safe {
            let written = self.quoted(program.span);
            self.find(
                Verdict::Ask,
                Rule::ShellUnresolvedScript,
                format!(
                    "the program to run{written} is produced while the command runs, so the \
                     guard cannot tell what it would do."
                ),
                program.span,
            );
            return;
        }
        let recursive = args[1..]
            .iter()
            .any(|a| is_option(a) && !a.text.starts_with("--") && a.text.contains(['r', 'R']))
            || args[1..]
                .iter()
                .any(|a| a.known && a.text.starts_with("--rec"));
        let protected = args[1..]
            .iter()
            .filter(|a| a.known && !is_option(a))
            .any(|a| {
                scope.cwd.as_ref().is_some_and(|cwd| {
                    let placed = crate::paths::classify(
                        &resolve(cwd, Path::new(&a.text)),
                        self.ctx,
                        self.config,
                    );
                    !placed.allows_file_delete()
                        || placed.relation != crate::paths::Relation::Inside
                            && !placed.allows_recursive_delete()
                            && matches!(
                                placed.zone,
                                crate::paths::Zone::Home | crate::paths::Zone::Root
                            )
                })
            });
        if !(recursive || protected) {
            // `$CMD` from the environment: whatever it holds runs.
            let written = self.quoted(program.span);
            self.find(
                Verdict::Ask,
                Rule::ShellUnresolvedScript,
                format!(
                    "the program to run{written} comes from a variable not set in this \
                     command, so the guard cannot tell what it would do."
                ),
                program.span,
            );
        }
        if recursive || protected {
            let written = self.quoted(program.span);
            self.find(
                Verdict::Ask,
                Rule::RmUnresolvedCommand,
                format!(
                    "the program{written} is not known until the command runs, and its \
                     arguments look like a delete of something outside the project."
                ),
                program.span,
            );
        }
        for arg in &args[1..] {
            self.check_secret(arg, scope, Access::Read);
        }
    }

    /// Judges every operand (not option) as a file the program reads or writes.
    pub(crate) fn check_file_operands(&mut self, rest: &[Arg], scope: &mut Scope, access: Access) {
        let mut options_done = false;
        for arg in rest {
            if !options_done && arg.known && arg.text == "--" {
                options_done = true;
                continue;
            }
            // A program not known to read its operands, given text that mentions a
            // dotfile among other words (`--body 'blocks cat .env'`): data, not a path.
            if access == Access::Mention && arg.known && code::mentions_a_file(&arg.text) {
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

    /// Reports an access to a secret file, if `arg` names one: by name, through a glob
    /// that expands to one (looked at on disk), or through a name produced while the
    /// command runs (asked about).
    pub(crate) fn check_secret(&mut self, arg: &Arg, scope: &Scope, access: Access) {
        if !arg.known {
            self.check_unknown_name(arg, access);
            return;
        }
        let path = self.follow_links(&arg.text, scope);
        if arg.glob {
            if let Some(secret) = pattern_targets_secret(&path, self.config) {
                let verb = access_verb(access);
                self.report_secret(
                    secret,
                    access,
                    &format!(
                        "this {verb} files matching `{}`, which aims at secret files",
                        arg.text
                    ),
                    arg.span,
                );
            } else if pattern_may_match_secret(&path, self.config) {
                self.check_dotglob_secret(arg, &path, access);
                self.check_glob_on_disk(arg, &path, scope, access);
            }
            return;
        }
        if let Some(secret) = secret_file(&path, self.config) {
            let verb = access_verb(access);
            let shown = if path == arg.text {
                format!("`{}`", arg.text)
            } else {
                format!("`{}` (a link to `{path}`)", arg.text)
            };
            self.report_secret(
                secret,
                access,
                &format!("this {verb} the secret file {shown}"),
                arg.span,
            );
        }
    }

    /// A read through a glob aimed at `env` names that reaches a dot-named secret file
    /// only when the shell matches leading dots (`cat *env`, `head ?env*` with bash's
    /// `dotglob`, zsh's `GLOB_DOTS`): whether it does is the user's shell setting, not
    /// in the command. Asked about.
    fn check_dotglob_secret(&mut self, arg: &Arg, pattern: &str, access: Access) {
        if access != Access::Read {
            return;
        }
        let name = pattern.rsplit('/').next().unwrap_or(pattern);
        let aimed = name.starts_with(['*', '?', '['])
            && name.to_ascii_lowercase().contains("env")
            && [".env", ".envrc", ".env.local"]
                .iter()
                .any(|secret| crate::secrets::glob_match(name, secret));
        if aimed {
            let written = self.quoted(arg.span);
            self.find(
                Verdict::Ask,
                Rule::EnvUnresolvedRead,
                format!(
                    "this reads files matching a glob{written} that names `.env` when the shell \
                     matches leading dots (dotglob), so it may read a secret file."
                ),
                arg.span,
            );
        }
    }

    /// A file name not known until the command runs: asked about when it is produced by
    /// the command itself and may be a secret file's name.
    fn check_unknown_name(&mut self, arg: &Arg, access: Access) {
        // A process substitution read as a file is the output of a command judged on
        // its own, not a file name.
        if !arg.runtime
            || arg.safe
            || arg.process_substitution
            || matches!(access, Access::Write | Access::Mention)
        {
            return;
        }
        // A known final name after the unknown part decides: `"$d/config.json"`.
        let suffix = arg.known_suffix.as_str();
        if let Some((_, name)) = suffix.rsplit_once('/')
            && !name.is_empty()
        {
            let glob = crate::secrets::has_glob(name);
            let secret = if glob {
                pattern_may_match_secret(name, self.config)
            } else {
                secret_file(name, self.config).is_some()
            };
            if !secret {
                return;
            }
        }
        let what = if arg.process_substitution {
            "a process substitution's output, used as a file name".to_owned()
        } else {
            "a file name produced while the command runs (command output, piped input or a loop over it)".to_owned()
        };
        let written = self.quoted(arg.span);
        self.find(
            Verdict::Ask,
            Rule::EnvUnresolvedRead,
            format!("this reads {what}{written}, which may name a secret file such as .env."),
            arg.span,
        );
    }

    /// A glob that may expand to a secret file: what it expands to is looked at on disk.
    fn check_glob_on_disk(&mut self, arg: &Arg, pattern: &str, scope: &Scope, access: Access) {
        let (base, glob) = split_glob_base(pattern);
        let look = self.host_path(&base, scope).map(|root| Look {
            root,
            recursive: glob.contains('/'),
        });
        if look.is_none() && scope.container.is_some() {
            return; // the container's own files
        }
        self.note(|| match &look {
            Some(look) => format!(
                "glob `{}` expands in {}: looked at on disk",
                arg.text,
                look.root.display()
            ),
            None => format!("glob `{}`: where is not known", arg.text),
        });
        self.checks.push(SearchCheck {
            look,
            selection: Selection::Glob(glob),
            what: "this command".to_owned(),
            root_shown: arg.text.clone(),
            exclude: crate::look::Exclude::Glob,
            command: None,
            recursive: false,
            write: access == Access::Write,
            span: arg.span,
            field: None,
        });
    }

    pub(crate) fn report_secret(
        &mut self,
        secret: Secret,
        access: Access,
        what: &str,
        span: Option<ByteSpan>,
    ) {
        let rule = match (secret, access) {
            (Secret::Env, Access::Read | Access::Mention) => Rule::EnvRead,
            (Secret::Env, Access::Write) => Rule::EnvWrite,
            (Secret::Env, Access::Search) => Rule::EnvSearch,
            (Secret::Other, Access::Read | Access::Mention) => Rule::SecretRead,
            (Secret::Other, Access::Write) => Rule::SecretWrite,
            (Secret::Other, Access::Search) => Rule::SecretSearch,
        };
        self.find(
            Verdict::Deny,
            rule,
            format!("{what}; secret files must not be read, written or searched by the agent."),
            span,
        );
    }

    /// A file written by a redirection or a writing program: a secret file, a block
    /// device, or (truncated) a file whose loss the policy forbids.
    pub(crate) fn judge_write_target(&mut self, arg: &Arg, truncate: bool, scope: &Scope) {
        self.check_secret(arg, scope, Access::Write);
        self.check_device_write(arg);
        if truncate && arg.known && !arg.glob && !is_device_or_stream(&arg.text) {
            self.judge_file_loss(arg, scope, " (truncated by the write)");
        }
    }

    /// A write to a block device (`> /dev/sda`, `dd of=/dev/nvme0n1`).
    pub(crate) fn check_device_write(&mut self, arg: &Arg) {
        const DEVICES: &[&str] = &[
            "sd", "hd", "vd", "xvd", "nvme", "mmcblk", "disk", "md", "dm-", "mapper/", "loop",
        ];
        if let Some(device) = arg.text.strip_prefix("/dev/")
            && DEVICES.iter().any(|prefix| device.starts_with(prefix))
        {
            // The `disk` pack names it; without it, a device is a system file whose
            // loss takes every file on it.
            let rule = if self.config.has(Pack::Disk) {
                Rule::DiskWriteDevice
            } else {
                Rule::RmSystemDir
            };
            self.find(
                Verdict::Deny,
                rule,
                format!(
                    "this writes straight to the block device {}, destroying the file systems on it.",
                    arg.text
                ),
                arg.span,
            );
        }
    }

    /// The path a name reaches through symlinks made earlier in the command.
    pub(crate) fn follow_links(&self, text: &str, scope: &Scope) -> String {
        let Some(cwd) = &scope.cwd else {
            return text.to_owned();
        };
        if scope.links.is_empty() {
            return text.to_owned();
        }
        let path = resolve(cwd, Path::new(text));
        for (link, target) in scope.links.iter().rev() {
            if let Ok(rest) = path.strip_prefix(link) {
                return target.join(rest).to_string_lossy().into_owned();
            }
        }
        text.to_owned()
    }

    /// The absolute host path of a name: resolved against the working directory, through
    /// links, and through a container's mounts (`None` inside a container when it is
    /// not on a mount, or when the working directory is not known).
    pub(crate) fn host_path(&self, text: &str, scope: &Scope) -> Option<PathBuf> {
        let followed = self.follow_links(text, scope);
        let cwd = match &scope.cwd {
            Some(cwd) => cwd.clone(),
            None if Path::new(&followed).is_absolute() => PathBuf::from("/"),
            None => return None,
        };
        let path = resolve(&cwd, Path::new(&followed));
        match &scope.container {
            None => Some(path),
            Some(mounts) => mounts
                .iter()
                .filter(|(inside, _)| path.starts_with(inside))
                .max_by_key(|(inside, _)| inside.components().count())
                .map(|(inside, host)| {
                    let rest = path.strip_prefix(inside).unwrap_or(Path::new(""));
                    host.join(rest)
                }),
        }
    }
}

/// The families of the catalogue, one module each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Wrapper,
    Shell,
    Launcher,
    Multiplexer,
    Interpreter,
    Deleter,
    Find,
    Search,
    Git,
    Container,
    Editor,
    File,
}

/// The catalogue's index: which family a program belongs to. One lookup, so judging a
/// program touches its own family's code only (in a fresh process, code touched for the
/// first time is most of a decision's cost).
pub(crate) fn family(name: &str) -> Option<Family> {
    Some(match name {
        "sudo" | "doas" | "env" | "flock" | "chroot" | "unshare" | "nsenter" | "bwrap"
        | "proot" | "gdb" | "cgdb" | "lldb" | "perf" | "busybox" | "toybox" | "capsh"
        | "runuser" | "start-stop-daemon" | "command" | "nice" | "builtin" | "nohup"
        | "eatmydata" | "catchsegv" | "tsocks" | "linux32" | "linux64" | "i386" | "x86_64"
        | "valgrind" | "firejail" | "flatpak-spawn" | "retry" | "setsid" | "chronic" | "ifne"
        | "unbuffer" | "nq" | "tini" | "dumb-init" | "catatonit" | "exec" | "time" | "stdbuf"
        | "ionice" | "caffeinate" | "heaptrack" | "proxychains" | "proxychains4" | "torsocks"
        | "rlwrap" | "xvfb-run" | "systemd-inhibit" | "dbus-run-session" | "pkexec" | "setpriv"
        | "prlimit" | "cgexec" | "numactl" | "rr" | "uftrace" | "timeout" | "chrt" | "taskset"
        | "faketime" | "setarch" | "gosu" | "su-exec" | "s6-setuidgid" | "setuidgid" | "lckdo"
        | "with-lock-ex" | "envchain" | "strace" | "ltrace" | "trickle" | "chpst" | "daemonize"
        | "fakeroot" | "fakechroot" | "systemd-run" | "dotenv" | "dotenvx" | "doppler" | "op"
        | "aws-vault" | "infisical" | "devcontainer" | "ssh-agent" | "dbus-launch"
        | "gpg-agent" | "systemd-nspawn" | "cross-env" | "cross-env-shell" | "env-cmd" => {
            Family::Wrapper
        }
        "eval" | "source" | "." | "su" | "trap" | "watch" | "ssh" | "autossh" | "script" | "sg"
        | "at" | "batch" | "crontab" | "alias" | "unalias" | "cd" | "pushd" | "chdir" | "popd"
        | "export" | "declare" | "typeset" | "local" | "readonly" | "read" | "mapfile"
        | "readarray" | "set" | "pwsh" | "powershell" | "pwsh-preview" => Family::Shell,
        _ if shells::SHELLS.contains(&name) => Family::Shell,
        "npx" | "bunx" | "pnpx" | "npm" | "pnpm" | "yarn" | "bun" | "deno" | "uvx" | "pipx"
        | "uv" | "poetry" | "pdm" | "rye" | "pipenv" | "hatch" | "bundle" | "devbox" | "rbenv"
        | "pyenv" | "nodenv" | "goenv" | "jenv" | "asdf" | "volta" | "pixi" | "mise" | "rtx"
        | "fnm" | "distrobox" | "toolbox" | "conda" | "mamba" | "micromamba" | "direnv" | "nvm"
        | "nix" | "devenv" | "nix-shell" | "vagrant" | "mix" | "entr" | "watchexec" | "nodemon"
        | "make" | "gmake" | "remake" | "gem" | "rake" | "mvn" | "mvnw" | "just" | "task"
        | "go-task" | "gradle" | "gradlew" | "invoke" | "inv" | "nox" | "fab" | "ninja"
        | "pytest" | "py.test" => Family::Launcher,
        "tmux" | "byobu" | "byobu-tmux" | "screen" | "zellij" | "dtach" | "abduco"
        | "hyperfine" => Family::Multiplexer,
        "rm" | "unlink" | "srm" | "wipe" | "shred" | "rmdir" | "truncate" | "tar" | "bsdtar"
        | "gtar" | "zip" | "7z" | "7za" | "7zz" | "rsync" | "rclone" | "mv" | "gio"
        | "kioclient" | "kioclient5" | "trash-empty" | "shx" | "fallocate" | "unzip" | "cpio"
        | "cmake" => Family::Deleter,
        _ if deleters::COMPRESSORS.contains(&name) => Family::Deleter,
        _ if deleters::RECURSIVE_DELETERS.contains(&name) => Family::Deleter,
        "find" | "bfs" | "gfind" | "xargs" | "parallel" | "fd" | "fdfind" => Family::Find,
        "grep" | "egrep" | "fgrep" | "zgrep" | "zegrep" | "zfgrep" | "xzgrep" | "bzgrep"
        | "lzgrep" | "zstdgrep" | "ugrep" | "ug" | "ggrep" | "pcregrep" | "pcre2grep" | "rg"
        | "ripgrep" | "rga" | "ag" | "pt" | "sift" | "ack" | "ack-grep" | "diff" | "colordiff" => {
            Family::Search
        }
        "git" => Family::Git,
        "docker" | "podman" | "nerdctl" | "finch" | "kubectl" | "oc" | "lxc" | "incus" => {
            Family::Container
        }
        "vi" | "vim" | "nvim" | "gvim" | "view" | "vimdiff" | "nvi" | "vim.basic" | "vim.tiny"
        | "ex" | "rvim" | "emacs" | "emacsclient" | "emacs-nox" | "ed" | "red" | "sed" | "gsed"
        | "awk" | "gawk" | "mawk" | "nawk" | "busybox-awk" | "m4" | "dc" | "sqlite3" | "psql"
        | "mysql" | "mariadb" | "duckdb" | "gnuplot" | "man" | "less" | "more" | "most" => {
            Family::Editor
        }
        "echo" | "printf" | "which" | "pwd" | "basename" | "dirname" | "realpath" | "ls"
        | "exa" | "eza" | "lsd" | "cat" | "tac" | "zcat" | "bzcat" | "xzcat" | "zstdcat"
        | "tee" | "sponge" | "base64" | "base32" | "basenc" | "xxd" | "rev" | "cp" | "install"
        | "scp" | "sftp" | "ditto" | "ln" | "mount" | "bindfs" | "dd" | "curl" | "wget"
        | "wget2" | "aria2c" | "http" | "https" | "xh" | "mkfs" | "mke2fs" | "mkswap"
        | "wipefs" | "fdisk" | "sfdisk" | "gdisk" | "sgdisk" | "parted" | "cfdisk"
        | "blkdiscard" | "head" | "tail" | "sort" | "uniq" | "cut" | "tr" | "fold" | "column"
        | "nl" | "fmt" | "split" | "yq" => Family::File,
        _ if name.starts_with("mkfs.") || files::METADATA.contains(&name) => Family::File,
        _ if interpreters::is_interpreter(name) => Family::Interpreter,
        _ => return None,
    })
}

/// A PowerShell cmdlet that reads, deletes, copies, moves, writes or evaluates, as the
/// Unix command that does the same (`Remove-Item -Recurse -Force ~` is `rm -r -f ~`);
/// named parameters of paths (`-Path`, `-LiteralPath`, `-Destination`) become operands.
fn powershell_equivalent(name: &str, rest: &[Arg]) -> Option<Vec<Arg>> {
    let lower = name.to_ascii_lowercase();
    let unix = match lower.as_str() {
        "get-content" => "cat",
        "remove-item" | "ri" => "rm",
        "copy-item" | "cpi" => "cp",
        "move-item" | "mi" => "mv",
        "set-content" | "add-content" | "out-file" => "tee",
        "invoke-expression" | "iex" => "eval",
        "select-string" | "sls" => "grep",
        _ => return None,
    };
    let mut args = vec![Arg::literal(unix, rest.first().and_then(|a| a.span))];
    for arg in rest {
        if !(arg.known && arg.text.starts_with('-') && arg.text.len() > 1) {
            args.push(arg.clone());
            continue;
        }
        let parameter = arg.text[1..].to_ascii_lowercase();
        let flag = |full: &str| full.starts_with(&parameter);
        if unix == "rm" && flag("recurse") {
            args.push(Arg::literal("-r", arg.span));
        } else if flag("force") {
            args.push(Arg::literal("-f", arg.span));
        } else if [
            "path",
            "literalpath",
            "destination",
            "filepath",
            "value",
            "pattern",
            "encoding",
        ]
        .iter()
        .any(|full| full.starts_with(&parameter))
        {
            // A named parameter: its value follows as an operand.
        } else {
            args.push(arg.clone());
        }
    }
    Some(args)
}

/// "reads", "writes", "searches".
pub(crate) fn access_verb(access: Access) -> &'static str {
    match access {
        Access::Read | Access::Mention => "reads",
        Access::Write => "writes",
        Access::Search => "searches",
    }
}

/// Device files and streams: writing there truncates nothing.
fn is_device_or_stream(text: &str) -> bool {
    text.starts_with("/dev/") || text.starts_with("/proc/self/") || text == "-"
}

/// Splits a glob into the directory before its first wildcard and the rest.
pub(crate) fn split_glob_base(text: &str) -> (String, String) {
    if !crate::secrets::has_glob(text) {
        return (text.to_owned(), String::new());
    }
    let components: Vec<&str> = text.split('/').collect();
    let first = components
        .iter()
        .position(|c| crate::secrets::has_glob(c))
        .unwrap_or(components.len().saturating_sub(1));
    let base = components[..first].join("/");
    let base = if base.is_empty() {
        if text.starts_with('/') {
            "/".to_owned()
        } else {
            ".".to_owned()
        }
    } else {
        base
    };
    (base, components[first..].join("/"))
}

/// A word as the shell would need it quoted, to rebuild a command line.
pub(crate) fn shell_word(arg: &Arg) -> String {
    if !arg.known {
        return "\"$UNKNOWN\"".to_owned();
    }
    let text = &arg.text;
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@%+,~".contains(c))
    {
        text.clone()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_of_a_family_table_is_in_the_index() {
        for wrapper in wrappers::WRAPPERS {
            for name in wrapper.names {
                assert_eq!(family(name), Some(Family::Wrapper), "{name}");
            }
        }
        for name in shells::SHELLS {
            assert_eq!(family(name), Some(Family::Shell), "{name}");
        }
        for name in deleters::RECURSIVE_DELETERS {
            assert_eq!(family(name), Some(Family::Deleter), "{name}");
        }
        for name in files::METADATA {
            assert!(family(name).is_some(), "{name}");
        }
        for name in [
            "python3.12",
            "pypy3",
            "node",
            "Rscript",
            "perl",
            "osascript",
            "bb",
        ] {
            assert_eq!(family(name), Some(Family::Interpreter), "{name}");
        }
        assert_eq!(family("cargo"), None, "not catalogued: reads its operands");
    }
}
