//! Checks that depend on the files present: a recursive search over a directory holding
//! secret files, a glob that expands to one.
//!
//! The guard stays pure: it says which directories it needs looked at ([`Look`]), the
//! caller looks (bounded: [`MAX_ENTRIES`], [`MAX_DEPTH`], [`BUDGET`]) and hands back what
//! it [`Seen`], and the guard decides. What was not seen completely is treated as holding
//! secret files (fail closed): a search is denied with the same search excluding them
//! as the way forward, a glob read is asked about.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::GuardConfig;
use crate::decision::Verdict;
use crate::decision::{ByteSpan, Finding};
use crate::rules::Rule;
use crate::secrets::{Secret, exclusion_globs, secret_file};

/// Most directory entries one decision's looks visit together.
pub const MAX_ENTRIES: usize = 5_000;
/// Deepest directory level a look descends to below its root.
pub const MAX_DEPTH: usize = 16;
/// Longest time one decision's looks may take together.
pub const BUDGET: Duration = Duration::from_millis(3);
/// Directories a look does not descend into: version control data, and installed
/// packages (public files from a registry, and too many of them to look through).
pub const SKIPPED_DIRS: &[&str] = &[".git", ".hg", ".svn", "node_modules", ".venv", "venv"];

/// A place the guard needs looked at.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Look {
    /// An absolute path: a directory, or a file.
    pub root: PathBuf,
    /// Everything below `root`, or only its direct entries.
    pub recursive: bool,
}

/// What a look found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    /// Secret files at or under the root (absolute paths), named so by
    /// [`secret_file`] on the entry's name or on the name a symlink points to.
    pub secrets: Vec<PathBuf>,
    /// The whole root was seen: no bound was hit and nothing was unreadable.
    pub complete: bool,
}

/// A three-valued answer: what a selection does with a file it cannot fully judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tri {
    Yes,
    No,
    Maybe,
}

impl Tri {
    fn not(self) -> Tri {
        match self {
            Tri::Yes => Tri::No,
            Tri::No => Tri::Yes,
            Tri::Maybe => Tri::Maybe,
        }
    }

    fn and(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::No, _) | (_, Tri::No) => Tri::No,
            (Tri::Yes, Tri::Yes) => Tri::Yes,
            _ => Tri::Maybe,
        }
    }

    fn or(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::Yes, _) | (_, Tri::Yes) => Tri::Yes,
            (Tri::No, Tri::No) => Tri::No,
            _ => Tri::Maybe,
        }
    }
}

/// A `find` expression, as far as it decides which files are selected by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FindExpr {
    /// A test the guard does not evaluate, or an action: may be true.
    Maybe,
    /// `-true`, `-type f` (secret files are files).
    True,
    /// `-false`, `-type d`.
    False,
    /// `-name`/`-iname`: the base name.
    Name {
        pattern: String,
        ignore_case: bool,
    },
    /// `-path`/`-ipath`/`-wholename`: the whole name as find prints it.
    Path {
        pattern: String,
        ignore_case: bool,
    },
    Not(Box<FindExpr>),
    And(Box<FindExpr>, Box<FindExpr>),
    Or(Box<FindExpr>, Box<FindExpr>),
}

impl FindExpr {
    /// Whether a file `printed` (as find prints it: the start point joined with the
    /// path below it) is selected.
    pub(crate) fn selects(&self, printed: &str) -> Tri {
        let name = printed.rsplit('/').next().unwrap_or(printed);
        match self {
            FindExpr::Maybe => Tri::Maybe,
            FindExpr::True => Tri::Yes,
            FindExpr::False => Tri::No,
            FindExpr::Name {
                pattern,
                ignore_case,
            } => tri(fnmatch(pattern, name, !ignore_case, false)),
            FindExpr::Path {
                pattern,
                ignore_case,
            } => tri(fnmatch(pattern, printed, !ignore_case, false)),
            FindExpr::Not(inner) => inner.selects(printed).not(),
            FindExpr::And(a, b) => a.selects(printed).and(b.selects(printed)),
            FindExpr::Or(a, b) => a.selects(printed).or(b.selects(printed)),
        }
    }
}

fn tri(yes: bool) -> Tri {
    if yes { Tri::Yes } else { Tri::No }
}

/// Which files under a root a program reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Selection {
    /// A shell glob relative to the root (the shell expands it; `*` skips dotfiles).
    Glob(String),
    /// grep's `--include`, `--exclude`, `--exclude-dir` (base names, case-sensitive).
    Grep {
        include: Vec<String>,
        exclude: Vec<String>,
        exclude_dir: Vec<String>,
    },
    /// ripgrep's `-g`/`--iglob` (later wins, `!` excludes), `-t`/`-T` types, hidden.
    Rg {
        globs: Vec<(String, bool)>,
        types: Vec<String>,
        types_not: Vec<String>,
        hidden: bool,
    },
    /// `find`'s expression, with the start point as written.
    Find { start: String, expr: FindExpr },
    /// A recursive search given a glob operand (`grep -r KEY *`, `rg KEY src/*`): the
    /// shell expands `glob` (relative to the root) to the operands, and the search reads
    /// what `inner` selects at or below each of them.
    Under { glob: String, inner: Box<Selection> },
}

impl Selection {
    /// Whether the file at `rel` (relative to the root; empty when the root is the file)
    /// may be read. `file_name` is its base name.
    pub(crate) fn selects(&self, rel: &str, file_name: &str) -> bool {
        let components: Vec<&str> = rel.split('/').filter(|c| !c.is_empty()).collect();
        let dirs = components.len().saturating_sub(1);
        match self {
            Selection::Glob(pattern) => glob_path_match(pattern, rel),
            Selection::Grep {
                include,
                exclude,
                exclude_dir,
            } => {
                let included =
                    include.is_empty() || include.iter().any(|g| fnmatch(g, file_name, true, true));
                let excluded = exclude.iter().any(|g| fnmatch(g, file_name, true, true))
                    || components[..dirs]
                        .iter()
                        .any(|dir| exclude_dir.iter().any(|g| fnmatch(g, dir, true, true)));
                included && !excluded
            }
            Selection::Rg {
                globs,
                types,
                types_not,
                hidden,
            } => {
                // Globs override every other filter, hidden files included (ripgrep's
                // `--glob`: "always overrides any other ignore logic").
                let mut decided = None;
                for (glob, ignore_case) in globs {
                    let (negated, glob) = match glob.strip_prefix('!') {
                        Some(rest) => (true, rest),
                        None => (false, glob.as_str()),
                    };
                    if gitignore_match(glob, &components, !ignore_case) {
                        decided = Some(!negated);
                    }
                }
                let by_glob = match decided {
                    Some(decision) => decision,
                    None if globs.iter().any(|(g, _)| !g.starts_with('!')) => false,
                    None => *hidden || !components.iter().any(|c| c.starts_with('.')),
                };
                let by_type = (types.is_empty()
                    || types.iter().any(|t| type_may_match(t, file_name)))
                    && !types_not.iter().any(|t| type_matches(t, file_name));
                by_glob && by_type
            }
            Selection::Under { glob, inner } => {
                let depth = glob.split('/').filter(|c| !c.is_empty()).count();
                components.len() >= depth
                    && glob_path_match(glob, &components[..depth].join("/"))
                    && inner.selects(rel, file_name)
            }
            Selection::Find { start, expr } => {
                let printed = if rel.is_empty() {
                    start.clone()
                } else {
                    format!("{}/{rel}", start.trim_end_matches('/'))
                };
                expr.selects(&printed) != Tri::No
            }
        }
    }
}

/// How the same search is written without secret files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exclude {
    /// grep, ugrep: `--exclude=GLOB`.
    Grep,
    /// ripgrep: `-g '!GLOB'`.
    Rg,
    /// The Silver Searcher: `--ignore GLOB`.
    Ag,
    /// diff -r: `-x GLOB`.
    Diff,
    /// find: `-not -name GLOB` after the start points.
    Find,
    /// git grep: exclude pathspecs after `--`.
    GitGrep,
    /// The Grep tool: its `glob` field.
    GrepTool,
    /// A glob operand: name the files instead.
    Glob,
}

/// A check the walk could not finish without knowing which files exist.
#[derive(Debug, Clone)]
pub(crate) struct SearchCheck {
    /// Where to look; `None` when the place is not known (a `cd` to an unknown dir).
    pub look: Option<Look>,
    /// Which files there the program reads.
    pub selection: Selection,
    /// The program, for the reason: "`grep -rn`", "the Grep tool".
    pub what: String,
    /// The root as the command wrote it, for the reason.
    pub root_shown: String,
    /// How to exclude secret files, and the command text to add the exclusion to.
    pub exclude: Exclude,
    pub command: Option<String>,
    /// A recursive search (denied with the way forward) or a glob operand (its files
    /// read or written, `write` when written).
    pub recursive: bool,
    pub write: bool,
    pub span: Option<ByteSpan>,
    pub field: Option<(String, String)>,
}

impl SearchCheck {
    /// Decides the check with what was seen at its root (`None`: not looked at).
    pub(crate) fn resolve(&self, seen: Option<&Seen>, config: &GuardConfig) -> Option<Finding> {
        let root = self.look.as_ref().map(|look| look.root.as_path());
        let matched: Vec<&PathBuf> = match (seen, root) {
            (Some(seen), Some(root)) => seen
                .secrets
                .iter()
                .filter(|path| {
                    let Ok(rel) = path.strip_prefix(root) else {
                        return false;
                    };
                    let name = path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    self.selection.selects(&rel.to_string_lossy(), &name)
                })
                .collect(),
            _ => Vec::new(),
        };
        let complete = seen.is_some_and(|seen| seen.complete) && root.is_some();
        if matched.is_empty() && (complete || self.excludes_every_secret_name(config)) {
            return None;
        }
        let finding = |verdict, rule, reason| Finding {
            verdict,
            rule,
            reason,
            span: self.span,
            field: self.field.clone(),
        };
        if matched.is_empty() {
            let why = match (seen, root) {
                (_, None) => "its directory is not known until the command runs".to_owned(),
                (None, _) => "the guard could not look at the files there".to_owned(),
                (Some(_), _) => format!(
                    "there are too many files there to check in time (the guard looks at \
                     {MAX_ENTRIES} entries, {MAX_DEPTH} levels deep, for {} ms at most)",
                    BUDGET.as_millis()
                ),
            };
            if !self.recursive {
                return Some(finding(
                    Verdict::Ask,
                    Rule::EnvUnresolvedRead,
                    format!(
                        "{} expands `{}` to files on disk, and {why}, so it may name a secret file.",
                        self.what, self.root_shown
                    ),
                ));
            }
            let globs = vec![".env*".to_owned(), "*.env".to_owned()];
            return Some(finding(
                Verdict::Deny,
                Rule::EnvSearchUnchecked,
                format!(
                    "{} searches `{}`, and {why}, so it may read secret files (.env and the like). {}",
                    self.what,
                    self.root_shown,
                    self.way_forward(&globs)
                ),
            ));
        }
        let names: Vec<String> = matched
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        let first = matched[0];
        let shown = match root.and_then(|root| first.strip_prefix(root).ok()) {
            Some(rel) if !rel.as_os_str().is_empty() => {
                format!(
                    "{}/{}",
                    self.root_shown.trim_end_matches('/'),
                    rel.display()
                )
            }
            _ => self.root_shown.clone(),
        };
        let more = match matched.len() {
            1 => String::new(),
            2 => " and 1 more".to_owned(),
            n => format!(" and {} more", n - 1),
        };
        let secret = secret_file(&names[0], config).unwrap_or(Secret::Env);
        if !self.recursive {
            let (rule, verb) = match (secret, self.write) {
                (Secret::Env, false) => (Rule::EnvRead, "reads"),
                (Secret::Env, true) => (Rule::EnvWrite, "writes"),
                (Secret::Other, false) => (Rule::SecretRead, "reads"),
                (Secret::Other, true) => (Rule::SecretWrite, "writes"),
            };
            return Some(finding(
                Verdict::Deny,
                rule,
                format!(
                    "{} {verb} `{shown}`{more}, a secret file (the glob `{}` expands to it); \
                     secret files must not be read, written or searched by the agent.",
                    self.what, self.root_shown
                ),
            ));
        }
        let rule = match secret {
            Secret::Env => Rule::EnvSearch,
            Secret::Other => Rule::SecretSearch,
        };
        let globs = exclusion_globs(names.iter().map(String::as_str), config);
        Some(finding(
            Verdict::Deny,
            rule,
            format!(
                "{} would read the secret file `{shown}`{more}, and secret files must not \
                 be read by the agent. {}",
                self.what,
                self.way_forward(&globs)
            ),
        ))
    }

    /// Whether no secret file name could be selected, wherever it lies: then what was not
    /// seen does not matter.
    fn excludes_every_secret_name(&self, config: &GuardConfig) -> bool {
        let mut names: Vec<String> = [
            ".env",
            ".env.local",
            ".env.production",
            "prod.env",
            ".envrc",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        names.extend(
            config
                .secret_patterns
                .iter()
                .map(|p| p.replace(['*', '?'], "x")),
        );
        if config.has(crate::config::Pack::Secrets) {
            names.extend(
                ["id_rsa", "server.pem", "tls.key", "credentials"]
                    .iter()
                    .map(|s| (*s).to_owned()),
            );
        }
        names.iter().all(|name| {
            [name.clone(), format!("a/{name}"), format!("a/b/{name}")]
                .iter()
                .all(|rel| !self.selection.selects(rel, name))
        })
    }

    /// The same search without secret files: the command to run instead, or what to add.
    fn way_forward(&self, globs: &[String]) -> String {
        let quoted = |glob: &String| format!("'{glob}'");
        let addition = match self.exclude {
            Exclude::Grep => globs
                .iter()
                .map(|g| format!("--exclude={}", quoted(g)))
                .collect::<Vec<_>>()
                .join(" "),
            Exclude::Rg => globs
                .iter()
                .map(|g| format!("-g '!{g}'"))
                .collect::<Vec<_>>()
                .join(" "),
            Exclude::Ag => globs
                .iter()
                .map(|g| format!("--ignore {}", quoted(g)))
                .collect::<Vec<_>>()
                .join(" "),
            Exclude::Diff => globs
                .iter()
                .map(|g| format!("-x {}", quoted(g)))
                .collect::<Vec<_>>()
                .join(" "),
            Exclude::Find => globs
                .iter()
                .map(|g| format!("-not -name {}", quoted(g)))
                .collect::<Vec<_>>()
                .join(" "),
            Exclude::GitGrep => globs
                .iter()
                .map(|g| format!("':(exclude,glob)**/{g}'"))
                .collect::<Vec<_>>()
                .join(" "),
            Exclude::GrepTool => {
                let glob = if globs.len() == 1 {
                    format!("!{}", globs[0])
                } else {
                    format!("!{{{}}}", globs.join(","))
                };
                return format!(
                    "The same search without them is allowed: set the Grep tool's `glob` to \
                     `{glob}` (or narrow the search with `type` or a `glob` that selects the \
                     files you want). If you need the secret files themselves, stop and ask the user."
                );
            }
            Exclude::Glob => String::new(),
        };
        let command = match (&self.command, self.exclude) {
            (Some(command), Exclude::Find) => Some(command.clone()),
            (Some(command), Exclude::GitGrep) => Some(if command.contains(" -- ") {
                format!("{command} {addition}")
            } else {
                format!("{command} -- . {addition}")
            }),
            (Some(command), _) => Some(format!("{command} {addition}")),
            (None, _) => None,
        };
        let how = match (command, self.exclude) {
            (Some(command), Exclude::Find) => {
                format!("add `{addition}` after the start points of `{command}`")
            }
            (Some(command), _) => format!("`{command}`"),
            (None, Exclude::GitGrep) => format!("add the pathspecs `-- . {addition}`"),
            (None, _) => format!("add `{addition}` to it"),
        };
        format!(
            "The same search without them is allowed: {how}. If you need the secret files \
             themselves, stop and ask the user."
        )
    }
}

/// Case-(in)sensitive wildcard matching as `fnmatch`: `*` crosses `/` unless
/// `literal_separator`. A pattern that is not a valid glob matches only itself.
pub(crate) fn fnmatch(
    pattern: &str,
    name: &str,
    case_sensitive: bool,
    literal_separator: bool,
) -> bool {
    let options = glob::MatchOptions {
        case_sensitive,
        require_literal_separator: literal_separator,
        require_literal_leading_dot: false,
    };
    // `{a,b}` alternatives, as ripgrep, ugrep and bash's globs have them.
    crate::secrets::expand_braces(pattern)
        .iter()
        .any(|pattern| match glob::Pattern::new(pattern) {
            Ok(compiled) => compiled.matches_with(name, options),
            Err(_) => pattern == name,
        })
}

/// A shell glob (relative, possibly several components) against a relative path, as
/// bash expands it: `*` does not match a leading dot, nor cross `/`.
fn glob_path_match(pattern: &str, rel: &str) -> bool {
    let options = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: true,
    };
    let pattern = pattern.trim_start_matches("./");
    glob::Pattern::new(pattern).is_ok_and(|p| p.matches_with(rel, options))
}

/// A gitignore-style glob (ripgrep's `-g`) against a relative path's components: with a
/// `/` it matches the whole path (anchored, `**` for any depth), without one any
/// component's name.
fn gitignore_match(glob: &str, components: &[&str], case_sensitive: bool) -> bool {
    let glob = glob.trim_end_matches('/');
    let path = components.join("/");
    if glob.contains('/') {
        let anchored = glob.trim_start_matches('/');
        return fnmatch(anchored, &path, case_sensitive, true)
            || fnmatch(&format!("{anchored}/**"), &path, case_sensitive, true);
    }
    components
        .iter()
        .any(|component| fnmatch(glob, component, case_sensitive, true))
}

/// File types of ripgrep (`-t`), by their globs, for the common ones.
const TYPES: &[(&str, &[&str])] = &[
    ("c", &["*.c", "*.h"]),
    (
        "cpp",
        &["*.cpp", "*.cc", "*.cxx", "*.hpp", "*.hh", "*.h", "*.hxx"],
    ),
    ("css", &["*.css", "*.scss"]),
    ("go", &["*.go"]),
    ("html", &["*.html", "*.htm"]),
    ("java", &["*.java"]),
    ("js", &["*.js", "*.jsx", "*.mjs", "*.cjs", "*.vue"]),
    ("json", &["*.json"]),
    ("kotlin", &["*.kt", "*.kts"]),
    ("markdown", &["*.md", "*.markdown", "*.mdx"]),
    ("md", &["*.md", "*.markdown", "*.mdx"]),
    ("perl", &["*.pl", "*.pm", "*.t"]),
    ("php", &["*.php"]),
    ("py", &["*.py", "*.pyi"]),
    ("python", &["*.py", "*.pyi"]),
    ("ruby", &["*.rb", "Gemfile", "*.gemspec", "Rakefile"]),
    ("rust", &["*.rs"]),
    ("sh", &["*.sh", "*.bash", "*.zsh"]),
    ("sql", &["*.sql"]),
    ("swift", &["*.swift"]),
    ("toml", &["*.toml"]),
    ("ts", &["*.ts", "*.tsx", "*.cts", "*.mts"]),
    ("typescript", &["*.ts", "*.tsx", "*.cts", "*.mts"]),
    ("txt", &["*.txt"]),
    ("yaml", &["*.yaml", "*.yml"]),
];

/// Whether ripgrep and ack know this file type by this name (`rg -t py`, `ack --python`).
pub(crate) fn known_type(name_of_type: &str) -> bool {
    TYPES.iter().any(|(t, _)| *t == name_of_type)
}

/// Whether a file of this name may be of the type (unknown types: it may).
fn type_may_match(name_of_type: &str, file_name: &str) -> bool {
    match TYPES.iter().find(|(t, _)| *t == name_of_type) {
        Some((_, globs)) => globs.iter().any(|g| fnmatch(g, file_name, true, true)),
        None => true,
    }
}

/// Whether a file of this name is certainly of the type (unknown types: it is not).
fn type_matches(name_of_type: &str, file_name: &str) -> bool {
    TYPES
        .iter()
        .find(|(t, _)| *t == name_of_type)
        .is_some_and(|(_, globs)| globs.iter().any(|g| fnmatch(g, file_name, true, true)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grep(include: &[&str], exclude: &[&str], exclude_dir: &[&str]) -> Selection {
        let own = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect();
        Selection::Grep {
            include: own(include),
            exclude: own(exclude),
            exclude_dir: own(exclude_dir),
        }
    }

    #[test]
    fn grep_selections() {
        assert!(grep(&[], &[], &[]).selects(".env", ".env"));
        assert!(!grep(&[], &[".env*"], &[]).selects("a/.env.local", ".env.local"));
        assert!(!grep(&["*.ts"], &[], &[]).selects(".env", ".env"));
        assert!(!grep(&[], &[], &["config"]).selects("config/.env", ".env"));
        assert!(
            !grep(&[], &["*.env"], &[]).selects(".env", ".env"),
            "`*` matches the empty name"
        );
    }

    #[test]
    fn rg_selections() {
        let rg = |globs: &[&str], hidden: bool| Selection::Rg {
            globs: globs.iter().map(|g| ((*g).to_owned(), false)).collect(),
            types: Vec::new(),
            types_not: Vec::new(),
            hidden,
        };
        assert!(
            !rg(&[], false).selects(".env", ".env"),
            "hidden files are skipped"
        );
        assert!(rg(&[], false).selects("prod.env", "prod.env"));
        assert!(rg(&[], true).selects("a/.env", ".env"));
        assert!(!rg(&["!.env*", "!*.env"], true).selects("a/.env", ".env"));
        assert!(!rg(&["*.ts"], true).selects(".env", ".env"));
        assert!(rg(&[".env*"], true).selects("x/.env.local", ".env.local"));
    }

    #[test]
    fn find_expressions() {
        let name = |p: &str| FindExpr::Name {
            pattern: p.to_owned(),
            ignore_case: false,
        };
        let py = name("*.py");
        assert_eq!(py.selects("./.env"), Tri::No);
        let not_env = FindExpr::And(
            Box::new(FindExpr::True),
            Box::new(FindExpr::Not(Box::new(name(".env*")))),
        );
        assert_eq!(not_env.selects("./a/.env"), Tri::No);
        assert_eq!(FindExpr::Maybe.selects("./.env"), Tri::Maybe);
        let either = FindExpr::Or(Box::new(py), Box::new(name(".env")));
        assert_eq!(either.selects("./.env"), Tri::Yes);
    }

    #[test]
    fn shell_globs_skip_dotfiles() {
        assert!(!Selection::Glob("*".into()).selects(".env", ".env"));
        assert!(Selection::Glob("*".into()).selects("prod.env", "prod.env"));
        assert!(Selection::Glob(".*".into()).selects(".env", ".env"));
        assert!(!Selection::Glob("*".into()).selects("a/prod.env", "prod.env"));
        assert!(Selection::Glob("*/*".into()).selects("a/prod.env", "prod.env"));
    }
}
