//! When a command does not parse: a cautious scan, and never a silent allow.

use super::Walker;
use crate::decision::Verdict;
use crate::rules::Rule;
use crate::secrets::secret_file;

/// Programs whose presence makes an unparseable command worth denying outright when
/// they come with a recursive flag or a sweeping target.
const DELETERS: &[&str] = &[
    "rm", "unlink", "shred", "rmdir", "find", "rmtree", "rm_rf", "rmSync", "rimraf", "srm",
    "truncate", "rsync",
];

/// Scans text brush could not parse. Words are cut at shell punctuation with quotes and
/// backslashes dropped, so `r''m -rf "/"` is still seen as `rm -rf /`.
pub(super) fn scan(walker: &mut Walker<'_>, script: &str, span: Option<(usize, usize)>) {
    let cleaned: String = script
        .chars()
        .filter(|c| !matches!(c, '\'' | '"' | '\\'))
        .collect();
    let words: Vec<&str> = cleaned
        .split(|c: char| {
            c.is_whitespace()
                || matches!(
                    c,
                    ';' | '|' | '&' | '(' | ')' | '`' | '<' | '>' | '{' | '}' | ','
                )
        })
        .filter(|w| !w.is_empty())
        .collect();
    let deleter = words
        .iter()
        .any(|w| DELETERS.contains(&w.rsplit('/').next().unwrap_or(w)));
    let sweeping = words.iter().any(|w| {
        matches!(
            *w,
            "/" | "~" | "~/" | "." | "./" | ".." | "*" | "/*" | "~/*" | "$HOME" | "${HOME}"
        ) || w.starts_with('$')
            || (w.starts_with('-') && !w.starts_with("--") && w.contains(['r', 'R']))
            || *w == "--recursive"
            || *w == "-delete"
    });
    if deleter && sweeping {
        walker.find(
            Verdict::Deny,
            Rule::RmUnparsed,
            "the command does not parse as shell, and it looks like a recursive or sweeping delete.".to_owned(),
            span,
        );
        return;
    }
    if let Some(secret) = words
        .iter()
        .find(|w| secret_file(w, walker.config).is_some())
    {
        walker.find(
            Verdict::Deny,
            Rule::EnvUnparsed,
            format!(
                "the command does not parse as shell, and it names the secret file `{secret}`."
            ),
            span,
        );
        return;
    }
    walker.find(
        Verdict::Ask,
        Rule::GuardUnparsed,
        "the command does not parse as shell, so the guard cannot tell what it would run."
            .to_owned(),
        span,
    );
}
