//! Programs that run a command on each of many inputs: `find` (`-delete`, `-exec`,
//! `-execdir`, `-ok`, `-okdir`, `-fprint`), `fd -x`, `xargs`, `parallel`.
//!
//! find's expression is read into a [`FindExpr`] that tells, for a file name, whether it
//! is selected: a `-name '*.py'` filter keeps secret files out, so the files it lists are
//! safe to read; without one, a command run on every file may read one.

use std::path::Path;

use super::deleters::Removal;
use super::{Access, OptSpec, is_option, parse_opts, program_name, written_text};
use crate::decision::Verdict;
use crate::look::{Exclude, FindExpr, Look, SearchCheck, Selection, Tri};
use crate::rules::Rule;
use crate::shell::word::Arg;
use crate::shell::{Scope, Stdin, Walker};

/// Whether the files a `find` lists can be secret files.
#[derive(Debug, Clone)]
pub(crate) struct FindSelection {
    pub expr: FindExpr,
}

impl FindSelection {
    /// No secret file name is selected (tried on sample names and configured patterns).
    pub(crate) fn excludes_secrets(&self, config: &crate::config::GuardConfig) -> bool {
        let mut samples: Vec<String> = [
            ".env",
            ".env.local",
            "prod.env",
            ".envrc",
            ".env.production",
        ]
        .iter()
        .map(|s| format!("./{s}"))
        .collect();
        samples.extend(
            config
                .secret_patterns
                .iter()
                .map(|p| format!("./{}", p.replace(['*', '?'], "x"))),
        );
        if config.has(crate::config::Pack::Secrets) {
            samples.extend(
                ["./id_rsa", "./server.pem", "./tls.key"]
                    .iter()
                    .map(|s| (*s).to_owned()),
            );
        }
        samples
            .iter()
            .all(|sample| self.expr.selects(sample) == Tri::No)
    }
}

/// Predicates of find that take one argument; `-fprintf` takes two.
const ONE_ARGUMENT: &[&str] = &[
    "-name",
    "-iname",
    "-path",
    "-ipath",
    "-wholename",
    "-iwholename",
    "-regex",
    "-iregex",
    "-type",
    "-xtype",
    "-newer",
    "-anewer",
    "-cnewer",
    "-mtime",
    "-mmin",
    "-atime",
    "-amin",
    "-ctime",
    "-cmin",
    "-size",
    "-user",
    "-group",
    "-perm",
    "-links",
    "-inum",
    "-samefile",
    "-lname",
    "-ilname",
    "-used",
    "-uid",
    "-gid",
    "-fstype",
    "-maxdepth",
    "-mindepth",
    "-context",
    "-printf",
    "-fprint",
    "-fprint0",
    "-fls",
    "-regextype",
    "-files0-from",
    "-newermt",
    "-newerat",
    "-newerct",
    "-newermm",
    "-newerBt",
];

/// Parses find's expression (`!`/`-not` over `-a` over `-o` over `,`).
struct ExprParser<'a> {
    args: &'a [Arg],
    at: usize,
}

impl ExprParser<'_> {
    fn peek(&self) -> Option<&str> {
        self.args
            .get(self.at)
            .map(|a| if a.known { a.text.as_str() } else { "" })
    }

    fn list(&mut self) -> FindExpr {
        let mut left = self.or();
        while self.peek() == Some(",") {
            self.at += 1;
            let right = self.or();
            // `a , b`: both are evaluated; what either selects is selected.
            left = FindExpr::Or(Box::new(left), Box::new(right));
        }
        left
    }

    fn or(&mut self) -> FindExpr {
        let mut left = self.and();
        while matches!(self.peek(), Some("-o" | "-or")) {
            self.at += 1;
            let right = self.and();
            left = FindExpr::Or(Box::new(left), Box::new(right));
        }
        left
    }

    fn and(&mut self) -> FindExpr {
        let mut left = self.not();
        loop {
            match self.peek() {
                Some("-a" | "-and") => self.at += 1,
                None | Some("-o" | "-or" | ")" | ",") => return left,
                _ => {}
            }
            let right = self.not();
            left = FindExpr::And(Box::new(left), Box::new(right));
        }
    }

    fn not(&mut self) -> FindExpr {
        if matches!(self.peek(), Some("!" | "-not")) {
            self.at += 1;
            return FindExpr::Not(Box::new(self.not()));
        }
        self.primary()
    }

    fn primary(&mut self) -> FindExpr {
        let Some(word) = self.peek().map(str::to_owned) else {
            return FindExpr::True;
        };
        self.at += 1;
        let value = |parser: &mut Self| {
            let value = parser.args.get(parser.at).cloned();
            parser.at += 1;
            value
        };
        match word.as_str() {
            "(" => {
                let inner = self.list();
                if self.peek() == Some(")") {
                    self.at += 1;
                }
                inner
            }
            "-name" | "-iname" => match value(self) {
                Some(arg) if arg.known => FindExpr::Name {
                    pattern: arg.text,
                    ignore_case: word == "-iname",
                },
                _ => FindExpr::Maybe,
            },
            "-path" | "-ipath" | "-wholename" | "-iwholename" => match value(self) {
                Some(arg) if arg.known => FindExpr::Path {
                    pattern: arg.text,
                    ignore_case: word.starts_with("-i"),
                },
                _ => FindExpr::Maybe,
            },
            "-type" | "-xtype" => match value(self) {
                // Secret files are plain files (or links to them).
                Some(arg) if arg.known => {
                    if arg.text.split(',').any(|t| t == "f" || t == "l") {
                        FindExpr::True
                    } else {
                        FindExpr::False
                    }
                }
                _ => FindExpr::Maybe,
            },
            "-true" => FindExpr::True,
            "-false" => FindExpr::False,
            "-exec" | "-execdir" | "-ok" | "-okdir" => {
                while let Some(next) = self.peek().map(str::to_owned) {
                    self.at += 1;
                    if next == ";" || next == "+" {
                        break;
                    }
                }
                FindExpr::Maybe
            }
            "-fprintf" => {
                self.at += 2;
                FindExpr::True
            }
            _ if ONE_ARGUMENT.contains(&word.as_str()) => {
                self.at += 1;
                FindExpr::Maybe
            }
            // Actions and flags: -print, -delete, -prune, -empty, -depth, …
            _ => FindExpr::Maybe,
        }
    }
}

/// The parts of a `find` command.
struct FindCommand<'a> {
    roots: Vec<Arg>,
    expression: &'a [Arg],
    expr: FindExpr,
}

fn parse_find(rest: &[Arg]) -> FindCommand<'_> {
    let mut index = 0;
    while rest.get(index).is_some_and(|a| {
        a.known
            && (matches!(a.text.as_str(), "-H" | "-L" | "-P")
                || a.text.starts_with("-O")
                || a.text.starts_with("-D"))
    }) {
        index += 1;
    }
    let mut roots = Vec::new();
    while let Some(arg) = rest.get(index) {
        if arg.known && (arg.text.starts_with('-') || arg.text == "(" || arg.text == "!") {
            break;
        }
        roots.push(arg.clone());
        index += 1;
    }
    if roots.is_empty() {
        roots.push(Arg::literal(".", None));
    }
    let expression = &rest[index..];
    let expr = ExprParser {
        args: expression,
        at: 0,
    }
    .list();
    FindCommand {
        roots,
        expression,
        expr,
    }
}

/// Programs that only look at names or metadata: `find -exec ls {}` reads nothing.
const NAME_ONLY: &[&str] = &[
    "ls",
    "stat",
    "file",
    "echo",
    "printf",
    "basename",
    "dirname",
    "realpath",
    "readlink",
    "du",
    "test",
    "[",
    "touch",
    "chmod",
    "chown",
    "chgrp",
    "wc",
    "md5sum",
    "sha256sum",
    "sha1sum",
    "mkdir",
    "true",
];

impl Walker<'_> {
    /// The find family; `None` when `name` is not one.
    pub(super) fn judge_find_family(
        &mut self,
        name: &str,
        rest: &[Arg],
        scope: &mut Scope,
        stdin: &Stdin,
    ) -> Option<Stdin> {
        Some(match name {
            "find" | "bfs" | "gfind" => self.judge_find(rest, scope),
            "xargs" => self.judge_xargs(rest, scope, stdin),
            "parallel" => self.judge_parallel(rest, scope, stdin),
            "fd" | "fdfind" => self.judge_fd(rest, scope),
            _ => return None,
        })
    }

    fn judge_find(&mut self, rest: &[Arg], scope: &mut Scope) -> Stdin {
        let mut find = parse_find(rest);
        // `-L` (or the `-follow` primary) descends through symbolic links (find(1)):
        // what a link made earlier in this command points to is searched, run on and
        // deleted as if it were under the root.
        let follows = rest
            .iter()
            .take_while(|a| a.known && a.text.starts_with('-'))
            .any(|a| a.text == "-L")
            || find
                .expression
                .iter()
                .any(|a| a.known && a.text == "-follow");
        if follows {
            let targets = self.link_targets_under(&find.roots, scope);
            find.roots.extend(targets);
        }
        let selection = FindSelection {
            expr: find.expr.clone(),
        };
        let safe = selection.excludes_secrets(self.config);
        let filtered = find.expression.iter().any(|a| {
            a.known
                && matches!(
                    a.text.as_str(),
                    "-name"
                        | "-iname"
                        | "-path"
                        | "-ipath"
                        | "-wholename"
                        | "-iwholename"
                        | "-regex"
                        | "-iregex"
                        | "-newer"
                        | "-mtime"
                        | "-mmin"
                        | "-atime"
                        | "-amin"
                        | "-ctime"
                        | "-cmin"
                        | "-size"
                        | "-empty"
                        | "-user"
                        | "-group"
                        | "-perm"
                        | "-links"
                        | "-inum"
                        | "-samefile"
                        | "-lname"
                        | "-ilname"
                        | "-newermt"
                        | "-used"
                        | "-uid"
                        | "-gid"
                )
        });
        let removal = if filtered {
            Removal::Selected
        } else {
            Removal::Recursive
        };
        if find
            .expression
            .iter()
            .any(|a| a.known && a.text == "-delete")
        {
            for root in &find.roots {
                self.judge_removal(root, removal, scope, " (find -delete)");
            }
        }
        // `-fprint FILE` and friends write a file.
        for pair in find.expression.windows(2) {
            if pair[0].known
                && matches!(
                    pair[0].text.as_str(),
                    "-fprint" | "-fprint0" | "-fls" | "-fprintf"
                )
            {
                self.judge_write_target(&pair[1], true, scope);
            }
        }
        let mut at = 0;
        while at < find.expression.len() {
            let arg = &find.expression[at];
            at += 1;
            if !(arg.known && matches!(arg.text.as_str(), "-exec" | "-execdir" | "-ok" | "-okdir"))
            {
                continue;
            }
            let start = at;
            while at < find.expression.len()
                && !(find.expression[at].known
                    && matches!(find.expression[at].text.as_str(), ";" | "+"))
            {
                at += 1;
            }
            let template: Vec<Arg> = find.expression[start..at].to_vec();
            at += 1;
            self.judge_find_exec(&template, &find, removal, safe, rest, scope);
        }
        self.listed = Some((find.roots.clone(), removal));
        Stdin::Output { safe }
    }

    /// The targets of links made earlier in the command that lie under `roots`.
    fn link_targets_under(&mut self, roots: &[Arg], scope: &Scope) -> Vec<Arg> {
        let mut targets = Vec::new();
        for root in roots.iter().filter(|r| r.known) {
            let Some(base) = self.host_path(&root.text, scope) else {
                continue;
            };
            for (link, target) in &scope.links {
                if link.starts_with(&base)
                    && !targets.iter().any(|t: &Arg| Path::new(&t.text) == target)
                {
                    self.note(|| {
                        format!(
                            "find follows `{}` to `{}`",
                            link.display(),
                            target.display()
                        )
                    });
                    targets.push(Arg::literal(target.to_string_lossy(), root.span));
                }
            }
        }
        targets
    }

    /// A command find runs on each file: a delete of the roots' files, a read of every
    /// file (a search over the roots), or a command judged with `{}` unknown.
    fn judge_find_exec(
        &mut self,
        template: &[Arg],
        find: &FindCommand<'_>,
        removal: Removal,
        safe: bool,
        rest: &[Arg],
        scope: &mut Scope,
    ) {
        let Some(program) = template.first() else {
            return;
        };
        self.note(|| format!("find -exec: {}", crate::shell::show_args(template)));
        let name = program_name(&program.text).to_owned();
        if program.known && matches!(name.as_str(), "rm" | "unlink" | "shred" | "srm") {
            let recursive = name == "rm"
                && template[1..].iter().any(|a| {
                    is_option(a)
                        && (a.text.starts_with("--rec")
                            || (!a.text.starts_with("--") && a.text.contains(['r', 'R'])))
                });
            let removal = if recursive {
                removal
            } else {
                Removal::Selected
            };
            for root in &find.roots {
                self.judge_removal(root, removal, scope, &format!(" (find -exec {name})"));
            }
            return;
        }
        let uses_file = template.iter().any(|a| a.known && a.text.contains("{}"));
        let reads = program.known && !NAME_ONLY.contains(&name.as_str()) && uses_file && !safe;
        // `find . -name .env -exec cat {} \;`: the filter picks secret files by name.
        let aimed = [".env", ".env.local", "prod.env", ".envrc"]
            .iter()
            .any(|sample| find.expr.selects(&format!("./{sample}")) != Tri::No)
            && ["main.rs", "README.md", "package.json", "src/index.ts"]
                .iter()
                .all(|ordinary| find.expr.selects(&format!("./{ordinary}")) == Tri::No);
        if reads && aimed {
            self.report_secret(
                crate::secrets::Secret::Env,
                Access::Read,
                &format!("find selects secret files by name and runs `{name}` on each"),
                program.span,
            );
        } else if reads {
            // Every file find selects is read: a search over its roots.
            let command = written_text(self.source, rest).map(|text| format!("find {text}"));
            for root in &find.roots {
                self.push_search(
                    root,
                    Selection::Find {
                        start: root.text.clone(),
                        expr: find.expr.clone(),
                    },
                    &format!("`find -exec {name}`"),
                    Exclude::Find,
                    command.clone(),
                    scope,
                );
            }
        }
        let args: Vec<Arg> = template
            .iter()
            .map(|a| {
                if a.known && a.text.contains("{}") {
                    // Already judged as a search above when it reads.
                    Arg::produced(a.span, true)
                } else {
                    a.clone()
                }
            })
            .collect();
        self.judge(&args, scope, &Stdin::None);
    }

    /// A search over `root` the look at the disk decides.
    pub(super) fn push_search(
        &mut self,
        root: &Arg,
        selection: Selection,
        what: &str,
        exclude: Exclude,
        command: Option<String>,
        scope: &Scope,
    ) {
        if !root.known {
            if root.runtime && !root.safe {
                self.find(
                    Verdict::Ask,
                    Rule::EnvUnresolvedRead,
                    format!("{what} searches a place produced while the command runs, which may hold secret files."),
                    root.span,
                );
            }
            return;
        }
        let look = self.host_path(&root.text, scope).map(|path| Look {
            root: path,
            recursive: true,
        });
        if scope.container.is_some() && look.is_none() {
            return; // the container's own files
        }
        self.note(|| match &look {
            Some(look) => format!(
                "search by {what} over `{}`: {} is looked at on disk",
                root.text,
                look.root.display()
            ),
            None => format!("search by {what} over `{}`: where is not known", root.text),
        });
        self.checks.push(SearchCheck {
            look,
            selection,
            what: what.to_owned(),
            root_shown: root.text.clone(),
            exclude,
            command,
            recursive: true,
            write: false,
            span: root.span.or(self.findings.last().and_then(|f| f.span)),
            field: None,
        });
    }

    fn judge_xargs(&mut self, rest: &[Arg], scope: &mut Scope, stdin: &Stdin) -> Stdin {
        const XARGS: OptSpec = OptSpec {
            short: "nLPsdaEeI",
            long: &[
                "max-args",
                "max-lines",
                "max-procs",
                "max-chars",
                "delimiter",
                "arg-file",
                "eof",
                "replace",
                "process-slot-var",
            ],
            flags: &[
                "null",
                "no-run-if-empty",
                "interactive",
                "verbose",
                "exit",
                "open-tty",
                "show-limits",
            ],
        };
        let (items, start) = parse_opts(rest, &XARGS, true);
        let replace = super::value_of(&items, &["-I", "--replace", "-i"]).map(|r| r.text);
        let template = rest.get(start..).unwrap_or_default();
        let inputs = match super::value_of(&items, &["-a", "--arg-file"]) {
            Some(file) => {
                self.check_secret(&file, scope, Access::Read);
                vec![Arg::produced(file.span, false)]
            }
            None => {
                // xargs(1): `-0` splits on NUL, `-d C` on C, `-I` and `-L` take whole
                // lines; otherwise blanks and newlines separate the items.
                let separator = if items.iter().any(|i| i.is(&["-0", "--null"])) {
                    Some('\0')
                } else if let Some(delimiter) = super::value_of(&items, &["-d", "--delimiter"]) {
                    match delimiter.text.as_str() {
                        "\\n" => Some('\n'),
                        "\\0" => Some('\0'),
                        text => text.chars().next(),
                    }
                } else if replace.is_some() || items.iter().any(|i| i.is(&["-L", "--max-lines"])) {
                    Some('\n')
                } else {
                    None
                };
                inputs_of(stdin, rest.first().and_then(|a| a.span), separator)
            }
        };
        self.judge_with_inputs(template, replace.as_deref(), &inputs, scope);
        Stdin::Output { safe: false }
    }

    fn judge_parallel(&mut self, rest: &[Arg], scope: &mut Scope, stdin: &Stdin) -> Stdin {
        let split = rest
            .iter()
            .position(|a| a.known && matches!(a.text.as_str(), ":::" | "::::" | ":::+"));
        let (before, after) = match split {
            Some(at) => (&rest[..at], Some(&rest[at + 1..])),
            None => (rest, None),
        };
        // parallel(1)'s options that take a value, so the command after them is found.
        const PARALLEL: OptSpec = OptSpec {
            short: "jSadEINPCnsL",
            long: &[
                "jobs",
                "sshlogin",
                "arg-file",
                "delimiter",
                "eof",
                "max-args",
                "max-replace-args",
                "max-procs",
                "colsep",
                "max-chars",
                "max-lines",
                "joblog",
                "results",
                "tmpdir",
                "workdir",
                "wd",
                "tag-string",
                "timeout",
                "retries",
                "delay",
                "load",
                "memfree",
                "sshloginfile",
                "slf",
                "basefile",
                "bf",
                "return",
                "env",
                "halt",
                "nice",
                "header",
                "limit",
                "rpl",
                "shellquote",
            ],
            flags: &[],
        };
        let (items, template_start) = parse_opts(before, &PARALLEL, true);
        let template = &before[template_start..];
        let arg_files = super::values_of(&items, &["-a", "--arg-file"]);
        let inputs: Vec<Arg> = match (after, split.map(|at| rest[at].text.as_str())) {
            (Some(values), Some(":::" | ":::+")) => values
                .iter()
                .filter(|a| !(a.known && matches!(a.text.as_str(), ":::" | ":::+" | "::::")))
                .cloned()
                .collect(),
            (Some(files), _) => {
                for file in files {
                    self.check_secret(file, scope, Access::Read);
                }
                vec![Arg::produced(None, false)]
            }
            (None, _) if !arg_files.is_empty() => {
                for file in &arg_files {
                    self.check_secret(file, scope, Access::Read);
                }
                vec![Arg::produced(None, false)]
            }
            // No input at all (`parallel --version`): nothing runs.
            (None, _) if matches!(stdin, Stdin::None) && template.is_empty() => Vec::new(),
            // Piped lines that are themselves the commands: one per line, not per word.
            (None, _) if template.is_empty() && matches!(stdin, Stdin::Text(..)) => match stdin {
                Stdin::Text(text, span) => text.lines().map(|l| Arg::literal(l, *span)).collect(),
                _ => Vec::new(),
            },
            // parallel(1) reads one argument per line.
            (None, _) => inputs_of(stdin, rest.first().and_then(|a| a.span), Some('\n')),
        };
        // No command: each input line is itself a command line (parallel(1): "If command
        // is not given, the line of input is executed").
        if template.is_empty() {
            for input in &inputs {
                if input.known {
                    self.walk_nested_script(&input.text, scope, input.span, "parallel");
                } else {
                    self.find(
                        Verdict::Ask,
                        Rule::ShellUnresolvedScript,
                        "`parallel` without a command runs each input line as a command, and \
                         its input is not known until the command runs."
                            .to_owned(),
                        input.span.or(rest.first().and_then(|a| a.span)),
                    );
                }
            }
            return Stdin::Output { safe: false };
        }
        // One word alone is a command line for the shell (`parallel 'rm -rf {}'`).
        if let [only] = template
            && only.known
            && only.text.contains(' ')
        {
            for input in &inputs {
                let line = match input.known {
                    true => only.text.replace("{}", &input.text),
                    false => only.text.replace("{}", "\"$UNKNOWN\""),
                };
                self.walk_nested_script(&line, scope, only.span, "parallel");
            }
            return Stdin::Output { safe: false };
        }
        self.judge_with_inputs(template, Some("{}"), &inputs, scope);
        Stdin::Output { safe: false }
    }

    /// `fd [pattern] [path] -x|-X command`: like find -exec; hidden files only with `-H`.
    fn judge_fd(&mut self, rest: &[Arg], scope: &mut Scope) -> Stdin {
        const FD: OptSpec = OptSpec {
            short: "dtejxXESc",
            long: &[
                "max-depth",
                "min-depth",
                "exact-depth",
                "type",
                "extension",
                "exclude",
                "ignore-file",
                "threads",
                "exec",
                "exec-batch",
                "size",
                "changed-within",
                "changed-before",
                "owner",
                "search-path",
                "base-directory",
                "path-separator",
                "color",
                "format",
                "max-results",
            ],
            flags: &[
                "hidden",
                "no-ignore",
                "unrestricted",
                "case-sensitive",
                "ignore-case",
                "glob",
                "regex",
                "fixed-strings",
                "absolute-path",
                "list-details",
                "follow",
                "full-path",
                "print0",
                "show-errors",
                "one-file-system",
                "prune",
                "quiet",
            ],
        };
        let Some(exec_at) = rest.iter().position(|a| {
            a.known && matches!(a.text.as_str(), "-x" | "--exec" | "-X" | "--exec-batch")
        }) else {
            return Stdin::Output { safe: false };
        };
        let (items, _) = parse_opts(&rest[..exec_at], &FD, false);
        let hidden = items
            .iter()
            .any(|i| i.is(&["-H", "--hidden", "-u", "--unrestricted"]));
        let extensions = super::values_of(&items, &["-e", "--extension"]);
        let template = &rest[exec_at + 1..];
        let name = template
            .first()
            .map(|a| program_name(&a.text).to_owned())
            .unwrap_or_default();
        let positional = super::operands(&items);
        let root = positional
            .get(1)
            .map_or_else(|| Arg::literal(".", None), |a| (*a).clone());
        let reads = !NAME_ONLY.contains(&name.as_str()) && extensions.is_empty();
        if reads {
            let selection = Selection::Rg {
                globs: Vec::new(),
                types: Vec::new(),
                types_not: Vec::new(),
                hidden,
            };
            self.push_search(
                &root,
                selection,
                &format!("`fd -x {name}`"),
                Exclude::Glob,
                None,
                scope,
            );
        }
        let args: Vec<Arg> = template
            .iter()
            .filter(|a| {
                !(a.known && matches!(a.text.as_str(), "{}" | "{/}" | "{//}" | "{.}" | "{/.}"))
            })
            .cloned()
            .chain(std::iter::once(Arg::produced(None, true)))
            .collect();
        if name == "rm" || name == "rimraf" {
            self.judge_removal(&root, Removal::Selected, scope, " (fd -x rm)");
            return Stdin::None;
        }
        self.judge(&args, scope, &Stdin::None);
        Stdin::Output { safe: false }
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
        // `find ~ -name '*.bak' | xargs rm`: the names deleted are found under find's
        // roots, judged as `find ~ -name '*.bak' -delete` would be.
        let deletes = template.first().is_some_and(|program| {
            program.known
                && matches!(
                    program_name(&program.text),
                    "rm" | "unlink" | "shred" | "srm" | "rmdir" | "trash" | "trash-put" | "rimraf"
                )
        });
        // A recursive delete of names not known (`xargs rm -rf`) is denied as such.
        let recursive = template[1..].iter().any(|a| {
            a.known
                && (a.text == "--recursive"
                    || (a.text.starts_with('-')
                        && !a.text.starts_with("--")
                        && a.text.contains(['r', 'R'])))
        });
        if deletes
            && !recursive
            && inputs.iter().any(|input| !input.known)
            && let Some((roots, removal)) = self.listed.take()
        {
            for root in &roots {
                self.judge_removal(
                    root,
                    removal,
                    scope,
                    " (names listed by find, deleted by xargs)",
                );
            }
        }
        for input in inputs.iter().take(16) {
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
                                known_prefix: a.text.split(r).next().unwrap_or("").to_owned(),
                                known_suffix: a.text.rsplit(r).next().unwrap_or("").to_owned(),
                                ..input.clone()
                            }
                        }
                    }
                    _ => a.clone(),
                })
                .collect();
            if !substituted {
                args.push(input.clone());
            }
            self.judge(&args, scope, &Stdin::None);
        }
    }
}

/// What xargs or parallel gets from stdin: known items (split on `separator`, else on
/// blanks), or unknown names.
fn inputs_of(
    stdin: &Stdin,
    span: Option<crate::shell::ByteSpan>,
    separator: Option<char>,
) -> Vec<Arg> {
    match stdin {
        Stdin::Text(text, span) => match separator {
            None => text
                .split_whitespace()
                .map(|word| Arg::literal(word, *span))
                .collect(),
            Some(separator) => text
                .split(separator)
                .map(|item| {
                    if separator == '\n' {
                        item.trim_start()
                    } else {
                        item
                    }
                })
                .filter(|item| !item.trim().is_empty())
                .map(|item| Arg::literal(item, *span))
                .collect(),
        },
        Stdin::Output { safe } => vec![Arg::produced(span, *safe)],
        Stdin::File(..) => vec![Arg::produced(span, false)],
        Stdin::None => vec![Arg::produced(span, true)],
    }
}
