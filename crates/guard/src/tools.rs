//! The file tools (Read, Write, Edit, Grep, Glob, …): every field that names a path or
//! a pattern.

use serde_json::Value;

use crate::config::GuardConfig;
use crate::decision::{Category, Verdict};
use crate::secrets::{Secret, has_glob, pattern_targets_secret, secret_file};
use crate::shell::Finding;

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

/// Judges a non-Bash tool's input.
pub fn analyse(tool: &str, input: &Value, config: &GuardConfig) -> Vec<Finding> {
    let Some(fields) = input.as_object() else {
        return Vec::new();
    };
    let (access, verb) = match tool {
        "Write" | "Edit" | "MultiEdit" | "NotebookEdit" => ("write", "writes"),
        "Grep" | "Glob" | "LS" => ("search", "searches"),
        _ => ("read", "reads"),
    };
    let mut findings = Vec::new();
    for (key, value) in fields {
        let key = key.as_str();
        let pattern_field = PATTERN_FIELDS.contains(&key) || (tool == "Glob" && key == "pattern");
        if !(pattern_field || PATH_FIELDS.contains(&key) || PATHS_FIELDS.contains(&key)) {
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
            let (rule, category) = match (secret, access) {
                (Secret::Env, "write") => ("env.write", Category::EnvAccess),
                (Secret::Env, "search") => ("env.search", Category::EnvAccess),
                (Secret::Env, _) => ("env.read", Category::EnvAccess),
                (Secret::Other, "write") => ("secret.write", Category::SecretAccess),
                (Secret::Other, "search") => ("secret.search", Category::SecretAccess),
                (Secret::Other, _) => ("secret.read", Category::SecretAccess),
            };
            findings.push(Finding {
                verdict: Verdict::Deny,
                rule,
                category,
                reason: format!(
                    "{tool} {verb} `{text}` ({key}), a secret file; secret files must not be read, written or searched by the agent."
                ),
                span: Some((0, text.len())),
                field: Some((key.to_owned(), text.to_owned())),
            });
        }
    }
    findings
}
