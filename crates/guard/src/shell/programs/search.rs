//! Content search: the grep family (grep, egrep, fgrep, zgrep, ugrep/ug — Claude Code's
//! `grep` is an embedded ugrep with `--hidden`), ripgrep, the Silver Searcher, ack, git
//! grep, and `diff -r`.
//!
//! The pattern is data. Files named are read (a secret one is denied by name). A
//! recursive search is handed to the look at the disk: when its root holds a secret file
//! the search would read, it is denied with the same search excluding secret names as
//! the way forward.

use super::{Access, Opt, OptSpec, parse_opts, value_of, values_of, written_text};
use crate::look::{Exclude, Selection};
use crate::secrets::pattern_targets_secret;
use crate::shell::word::Arg;
use crate::shell::{Scope, Stdin, Walker};

const GREP: OptSpec = OptSpec {
    short: "efmABCdDXtgOM",
    long: &[
        "regexp",
        "file",
        "max-count",
        "after-context",
        "before-context",
        "context",
        "directories",
        "devices",
        "include",
        "exclude",
        "exclude-dir",
        "exclude-from",
        "include-dir",
        "label",
        "binary-files",
        "group-separator",
        "encoding",
        "file-type",
        "file-extension",
        "file-magic",
        "max-depth",
        "min-depth",
        "max-files",
        "glob",
        "iglob",
        "format",
        "sort",
        "tabs",
        "width",
        "jobs",
        "pager",
        "config",
        "save-config",
        "filter",
        "filter-magic-label",
        "index",
        "replace",
        "range",
        "separator",
        "view",
    ],
    flags: &[
        "color",
        "colour",
        "ignore-files",
        "recursive",
        "dereference-recursive",
        "ignore-case",
        "no-ignore-case",
        "invert-match",
        "word-regexp",
        "line-regexp",
        "count",
        "files-with-matches",
        "files-without-match",
        "only-matching",
        "quiet",
        "silent",
        "no-messages",
        "byte-offset",
        "line-number",
        "with-filename",
        "no-filename",
        "null",
        "null-data",
        "text",
        "fixed-strings",
        "basic-regexp",
        "extended-regexp",
        "perl-regexp",
        "hidden",
        "no-hidden",
        "bool",
    ],
};

const RG: OptSpec = OptSpec {
    short: "efmABCgtTEjMrdj",
    long: &[
        "regexp",
        "file",
        "max-count",
        "after-context",
        "before-context",
        "context",
        "glob",
        "iglob",
        "type",
        "type-not",
        "type-add",
        "type-clear",
        "encoding",
        "threads",
        "max-columns",
        "replace",
        "max-depth",
        "max-filesize",
        "color",
        "colors",
        "path-separator",
        "pre",
        "pre-glob",
        "sort",
        "sortr",
        "ignore-file",
        "engine",
        "dfa-size-limit",
        "regex-size-limit",
        "context-separator",
        "field-context-separator",
        "field-match-separator",
        "hostname-bin",
        "hyperlink-format",
        "generate",
        "type-list",
        "ignore",
        "ignore-dir",
        "file-search-regex",
        "pager",
        "path-to-ignore",
        "depth",
    ],
    flags: &[
        "hidden",
        "no-ignore",
        "no-ignore-vcs",
        "no-ignore-dot",
        "no-ignore-parent",
        "no-ignore-global",
        "no-ignore-exclude",
        "no-ignore-files",
        "unrestricted",
        "follow",
        "files",
        "files-with-matches",
        "files-without-match",
        "count",
        "count-matches",
        "ignore-case",
        "smart-case",
        "case-sensitive",
        "fixed-strings",
        "word-regexp",
        "line-regexp",
        "invert-match",
        "only-matching",
        "quiet",
        "json",
        "vimgrep",
        "line-number",
        "no-line-number",
        "with-filename",
        "no-filename",
        "search-zip",
        "text",
        "multiline",
        "all-types",
        "skip-vcs-ignores",
        "all-text",
        "search-binary",
    ],
};

impl Walker<'_> {
    /// A content search; `None` when `args[0]` is not one. `args` includes the program.
    pub(super) fn judge_search(
        &mut self,
        name: &str,
        args: &[Arg],
        scope: &mut Scope,
        stdin: &Stdin,
    ) -> Option<Stdin> {
        let rest = &args[1..];
        match name {
            "grep" | "egrep" | "fgrep" | "zgrep" | "zegrep" | "zfgrep" | "xzgrep" | "bzgrep"
            | "lzgrep" | "zstdgrep" | "ugrep" | "ug" | "ggrep" | "pcregrep" | "pcre2grep" => {
                return Some(self.judge_grep(name, args, scope, stdin));
            }
            "rg" | "ripgrep" | "rga" => self.judge_rg(name, args, scope, stdin, SearchTool::Rg),
            "ag" | "pt" | "sift" => self.judge_rg(name, args, scope, stdin, SearchTool::Ag),
            "ack" | "ack-grep" => self.judge_rg(name, args, scope, stdin, SearchTool::Ack),
            "diff" | "colordiff"
                if rest.iter().any(|a| {
                    a.known
                        && (a.text == "--recursive"
                            || (a.text.starts_with('-')
                                && !a.text.starts_with("--")
                                && a.text.contains('r')))
                }) =>
            {
                self.judge_diff_recursive(args, scope);
            }
            _ => return None,
        }
        Some(Stdin::Output { safe: false })
    }

    /// grep and its kin: `-r`/`-R`/`--directories=recurse` search trees (the working
    /// directory when no file is named, and for `ug` always); `--include`,
    /// `--exclude`, `--exclude-dir` select files.
    pub(super) fn judge_grep(
        &mut self,
        name: &str,
        args: &[Arg],
        scope: &mut Scope,
        stdin: &Stdin,
    ) -> Stdin {
        let rest = &args[1..];
        let (items, _) = parse_opts(rest, &GREP, false);
        let recursive = items
            .iter()
            .any(|i| i.is(&["-r", "-R", "--recursive", "--dereference-recursive"]))
            || value_of(&items, &["-d", "--directories"]).is_some_and(|d| d.text == "recurse")
            || name == "ug";
        let explicit_pattern = items
            .iter()
            .any(|i| i.is(&["-e", "--regexp", "-f", "--file"]));
        for file in values_of(&items, &["-f", "--file", "--exclude-from"]) {
            self.check_secret(&file, scope, Access::Read);
        }
        let include = values_of(&items, &["--include"]);
        for glob in &include {
            if let Some(secret) = pattern_targets_secret(&glob.text, self.config) {
                self.report_secret(
                    secret,
                    Access::Search,
                    &format!("`{name}` searches files matching `{}`", glob.text),
                    glob.span,
                );
            }
        }
        let mut files: Vec<&Arg> = super::operands(&items);
        if !explicit_pattern && !files.is_empty() {
            files.remove(0); // the pattern is data, not a file
        }
        if files.is_empty() {
            // With no file, a recursive grep searches the working directory.
            if recursive && matches!(stdin, Stdin::None) || name == "ug" {
                let dot = Arg::literal(".", args[0].span);
                self.grep_tree(name, args, &dot, &items, scope);
                return Stdin::Output { safe: false };
            }
            return super::files::passthrough(stdin, self.config);
        }
        for file in files {
            self.check_secret(file, scope, Access::Read);
            if recursive {
                self.grep_tree(name, args, file, &items, scope);
            }
        }
        Stdin::Output { safe: false }
    }

    fn grep_tree(
        &mut self,
        name: &str,
        args: &[Arg],
        root: &Arg,
        items: &[Opt<'_>],
        scope: &Scope,
    ) {
        let texts = |names: &[&str]| {
            values_of(items, names)
                .into_iter()
                .map(|a| a.text)
                .collect::<Vec<_>>()
        };
        // ugrep's `-g GLOB` selects, `-g '!GLOB'` excludes.
        let globs = texts(&["-g", "--glob", "--iglob"]);
        let mut include = texts(&["--include"]);
        include.extend(globs.iter().filter(|g| !g.starts_with('!')).cloned());
        include.extend(
            texts(&["-O", "--file-extension"])
                .iter()
                .flat_map(|e| e.split(',').map(|e| format!("*.{e}")).collect::<Vec<_>>()),
        );
        let mut exclude = texts(&["--exclude"]);
        exclude.extend(
            globs
                .iter()
                .filter_map(|g| g.strip_prefix('!'))
                .map(str::to_owned),
        );
        let selection = Selection::Grep {
            include,
            exclude,
            exclude_dir: texts(&["--exclude-dir"]),
        };
        let flags = items
            .iter()
            .filter_map(|i| match i {
                Opt::Flag { arg, .. } => Some(arg.text.as_str()),
                Opt::Operand(_) => None,
            })
            .filter(|f| !f.starts_with("--"))
            .collect::<Vec<_>>();
        let shown = match flags.first() {
            Some(flag) => format!("`{name} {flag}`"),
            None => format!("`{name}`"),
        };
        let command = written_text(self.source, args);
        let (root, selection) = under_glob(root, selection);
        self.push_search(&root, selection, &shown, Exclude::Grep, command, scope);
    }

    /// ripgrep, ag, ack: recursive by default (the working directory when no path is
    /// named); hidden files only with `--hidden`/`-uu` (ack searches them).
    fn judge_rg(
        &mut self,
        name: &str,
        args: &[Arg],
        scope: &mut Scope,
        stdin: &Stdin,
        tool: SearchTool,
    ) {
        let rest = &args[1..];
        let (items, _) = parse_opts(rest, &RG, false);
        // `rg --files` lists names: no content is read.
        let listing_only = items.iter().any(|i| i.is(&["--files", "--type-list"]));
        let unrestricted = items
            .iter()
            .filter(|i| i.is(&["-u", "--unrestricted"]))
            .count();
        let hidden = match tool {
            SearchTool::Ack => true,
            SearchTool::Ag => unrestricted >= 1 || items.iter().any(|i| i.is(&["--hidden"])),
            SearchTool::Rg => unrestricted >= 2 || items.iter().any(|i| i.is(&["--hidden", "-."])),
        };
        for file in values_of(&items, &["-f", "--file", "--ignore-file"]) {
            self.check_secret(&file, scope, Access::Read);
        }
        if let Some(pre) = value_of(&items, &["--pre"]) {
            self.run_words_as_script(&[pre], scope, "rg --pre");
        }
        let mut globs: Vec<(String, bool)> = Vec::new();
        for item in &items {
            if let Opt::Flag {
                name: flag,
                value: Some(value),
                ..
            } = item
            {
                let ignore_case = flag == "--iglob";
                match flag.as_str() {
                    "-g" | "--glob" | "--iglob" => globs.push((value.text.clone(), ignore_case)),
                    "--ignore" | "--ignore-dir" if tool == SearchTool::Ag => {
                        globs.push((format!("!{}", value.text), false))
                    }
                    _ => {}
                }
            }
        }
        let mut types: Vec<String> = values_of(&items, &["-t", "--type"])
            .into_iter()
            .map(|a| a.text)
            .collect();
        let mut types_not: Vec<String> = values_of(&items, &["-T", "--type-not", "--notype"])
            .into_iter()
            .map(|a| a.text)
            .collect();
        // ack(1): `--TYPE` searches only files of that type, `--noTYPE` skips them.
        if tool == SearchTool::Ack {
            for item in &items {
                let Opt::Flag { name: flag, .. } = item else {
                    continue;
                };
                let Some(long) = flag.strip_prefix("--") else {
                    continue;
                };
                match long.strip_prefix("no-").or_else(|| long.strip_prefix("no")) {
                    Some(not) if crate::look::known_type(not) => types_not.push(not.to_owned()),
                    _ if crate::look::known_type(long) => types.push(long.to_owned()),
                    _ => {}
                }
            }
        }
        let selection = Selection::Rg {
            globs,
            types,
            types_not,
            hidden,
        };
        let explicit_pattern = items
            .iter()
            .any(|i| i.is(&["-e", "--regexp", "-f", "--file"]));
        let mut files: Vec<&Arg> = super::operands(&items);
        if !explicit_pattern && !listing_only && !files.is_empty() {
            files.remove(0);
        }
        if listing_only {
            return; // names only, no content
        }
        let exclude = match tool {
            SearchTool::Rg => Exclude::Rg,
            SearchTool::Ag => Exclude::Ag,
            SearchTool::Ack => Exclude::Glob,
        };
        let command = written_text(self.source, args);
        let shown = format!("`{name}`");
        if files.is_empty() {
            if !matches!(stdin, Stdin::None) && tool != SearchTool::Rg {
                return; // ag and ack read a pipe when given one
            }
            let dot = Arg::literal(".", args[0].span);
            self.push_search(&dot, selection, &shown, exclude, command, scope);
            return;
        }
        for file in files {
            self.check_secret(file, scope, Access::Read);
            let (root, selection) = under_glob(file, selection.clone());
            self.push_search(&root, selection, &shown, exclude, command.clone(), scope);
        }
    }

    /// `diff -r A B`: prints what differs in every file of both trees.
    fn judge_diff_recursive(&mut self, args: &[Arg], scope: &Scope) {
        const DIFF: OptSpec = OptSpec {
            short: "xXSIFCUDW",
            long: &[
                "exclude",
                "exclude-from",
                "starting-file",
                "ignore-matching-lines",
                "show-function-line",
                "context",
                "unified",
                "ifdef",
                "width",
                "label",
                "tabsize",
                "line-format",
                "from-file",
                "to-file",
                "color",
                "palette",
                "old-group-format",
                "new-group-format",
                "changed-group-format",
                "unchanged-group-format",
            ],
            flags: &[
                "recursive",
                "brief",
                "report-identical-files",
                "new-file",
                "unidirectional-new-file",
                "text",
            ],
        };
        let (items, _) = parse_opts(&args[1..], &DIFF, false);
        let exclude: Vec<String> = values_of(&items, &["-x", "--exclude"])
            .into_iter()
            .map(|a| a.text)
            .collect();
        let selection = Selection::Grep {
            include: Vec::new(),
            exclude,
            exclude_dir: Vec::new(),
        };
        let command = written_text(self.source, args);
        for tree in super::operands(&items) {
            self.push_search(
                tree,
                selection.clone(),
                "`diff -r`",
                Exclude::Diff,
                command.clone(),
                scope,
            );
        }
    }
}

/// A recursive search's operand: a directory as it is, or a glob the shell expands, as
/// a search of the glob's fixed base restricted to what the glob matches there (`*`
/// skips dotfiles, `*.env` aims at them).
fn under_glob(root: &Arg, selection: Selection) -> (Arg, Selection) {
    if !(root.known && root.glob) {
        return (root.clone(), selection);
    }
    let (base, glob) = super::split_glob_base(&root.text);
    (
        Arg::literal(base, root.span),
        Selection::Under {
            glob: glob.trim_end_matches('/').to_owned(),
            inner: Box::new(selection),
        },
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SearchTool {
    Rg,
    Ag,
    Ack,
}
