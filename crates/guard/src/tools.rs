//! The file tools (Read, Write, Edit, Grep, Glob, …): every field that names a path or
//! a pattern. The Grep tool searches a directory (its `path`, else the working
//! directory) with ripgrep and `--hidden`: it is a recursive search, decided by what the
//! look at the disk finds there.

use std::path::Path;

use serde_json::Value;

use crate::config::GuardConfig;
use crate::context::Context;
use crate::decision::Finding;
use crate::decision::Verdict;
use crate::look::{Exclude, Look, SearchCheck, Selection};
use crate::paths::resolve;
use crate::rules::Rule;
use crate::secrets::{Secret, has_glob, pattern_targets_secret, secret_file};

/// Input fields that hold one path, in any tool (including MCP tools).
const PATH_FIELDS: &[&str] = &[
    "file_path",
    "notebook_path",
    "path",
    "filepath",
    "filename",
    "file",
    "source",
    "destination",
    "target",
];
/// Input fields that hold several paths.
const PATHS_FIELDS: &[&str] = &["paths", "files", "file_paths"];
/// Input fields that hold glob patterns.
const PATTERN_FIELDS: &[&str] = &["glob", "include"];

/// Judges a non-Bash tool's input: findings now, and searches for the look to decide.
pub(crate) fn analyse(
    tool: &str,
    input: &Value,
    ctx: &Context,
    config: &GuardConfig,
) -> (Vec<Finding>, Vec<SearchCheck>) {
    let Some(fields) = input.as_object() else {
        return (Vec::new(), Vec::new());
    };
    let (access, verb) = match tool {
        "Write" | "Edit" | "MultiEdit" | "NotebookEdit" => ("write", "writes"),
        "Grep" | "Glob" | "LS" => ("search", "searches"),
        _ => ("read", "reads"),
    };
    let mut findings = Vec::new();
    let mut checks = Vec::new();
    for (key, value) in fields {
        let key = key.as_str();
        let pattern_field = PATTERN_FIELDS.contains(&key) || (tool == "Glob" && key == "pattern");
        if !(pattern_field || PATH_FIELDS.contains(&key) || PATHS_FIELDS.contains(&key)) {
            continue;
        }
        // The Grep tool's glob selects what its search reads: the look decides.
        if tool == "Grep" && key == "glob" {
            continue;
        }
        let texts: Vec<&str> = match value {
            Value::String(text) => vec![text.as_str()],
            Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
            _ => continue,
        };
        for text in texts {
            let secret = if pattern_field || has_glob(text) {
                pattern_targets_secret(text, config)
            } else {
                secret_file(text, config)
            };
            let Some(secret) = secret else { continue };
            let rule = match (secret, access) {
                (Secret::Env, "write") => Rule::EnvWrite,
                (Secret::Env, "search") => Rule::EnvSearch,
                (Secret::Env, _) => Rule::EnvRead,
                (Secret::Other, "write") => Rule::SecretWrite,
                (Secret::Other, "search") => Rule::SecretSearch,
                (Secret::Other, _) => Rule::SecretRead,
            };
            let what = if pattern_field || has_glob(text) {
                format!("{tool} {verb} files matching `{text}` ({key}), which aims at secret files")
            } else {
                format!("{tool} {verb} the secret file `{text}` ({key})")
            };
            findings.push(Finding {
                verdict: Verdict::Deny,
                rule,
                reason: format!(
                    "{what}; secret files must not be read, written or searched by the agent."
                ),
                span: Some((0, text.len())),
                field: Some((key.to_owned(), text.to_owned())),
            });
        }
    }
    if tool == "Grep" && findings.is_empty() {
        checks.push(grep_search(fields, ctx));
    }
    (findings, checks)
}

/// The Grep tool's search: ripgrep with `--hidden` over `path` (else the working
/// directory), selected by `glob` and `type`.
fn grep_search(fields: &serde_json::Map<String, Value>, ctx: &Context) -> SearchCheck {
    let path = fields.get("path").and_then(Value::as_str).unwrap_or(".");
    let path = if path.is_empty() { "." } else { path };
    let root = resolve(&ctx.cwd, Path::new(path));
    let globs: Vec<(String, bool)> = fields
        .get("glob")
        .and_then(Value::as_str)
        .filter(|g| !g.is_empty())
        .map(|g| vec![(g.to_owned(), false)])
        .unwrap_or_default();
    let types: Vec<String> = fields
        .get("type")
        .and_then(Value::as_str)
        .map(|t| vec![t.to_owned()])
        .unwrap_or_default();
    let field = match fields.get("glob").and_then(Value::as_str) {
        Some(glob) => ("glob".to_owned(), glob.to_owned()),
        None => ("path".to_owned(), path.to_owned()),
    };
    SearchCheck {
        look: Some(Look {
            root,
            recursive: true,
        }),
        selection: Selection::Rg {
            globs,
            types,
            types_not: Vec::new(),
            hidden: true,
        },
        what: "the Grep tool".to_owned(),
        root_shown: path.to_owned(),
        exclude: Exclude::GrepTool,
        command: None,
        recursive: true,
        write: false,
        span: Some((0, field.1.len())),
        field: Some(field),
    }
}
