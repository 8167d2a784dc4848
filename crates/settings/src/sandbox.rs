//! Claude Code's own OS sandbox (the `sandbox` settings): what `install --sandbox` adds,
//! and how uninstall takes exactly that back out.
//!
//! The sandbox runs every Bash command (and a skill's `!` preamble) under bubblewrap on
//! Linux or Seatbelt on macOS: writes only in the working directory and the paths listed,
//! reads everywhere but the paths denied. It is the second line behind the guard, so what
//! is added here is what makes it hold against a model that tries: no way out of it
//! (`allowUnsandboxedCommands: false`), and the guard's secret files unreadable inside.
//! This module edits a document only; it does not look at the machine.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::document::{EditError, array_at, object_at};

/// The settings key.
pub const SANDBOX_KEY: &str = "sandbox";

/// The guard's secret files (`.env`, `.envrc`, `.env.<anything>`, `<name>.env`, any case)
/// as sandbox globs, relative to an anchor. Brackets make them case-insensitive, as the
/// guard is.
const SECRET_GLOBS: &[&str] = &[
    ".[eE][nN][vV]",
    ".[eE][nN][vV][rR][cC]",
    ".[eE][nN][vV].*",
    "*.[eE][nN][vV]",
];

/// The `.env` templates the guard lets through (`.env.example`, …): read back inside the
/// denied globs, which `allowRead` does.
const TEMPLATE_SUFFIXES: &[&str] = &[
    "example", "sample", "template", "dist", "defaults", "schema",
];

/// What `install --sandbox` turns on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sandbox {
    /// Where the secret-file globs start: `~/` (the home of whoever runs Claude Code) for
    /// user, managed and explicit files, whose relative paths Claude Code would resolve
    /// against `~/.claude`; empty (the project root) for project files.
    pub anchor: &'static str,
    /// `failIfUnavailable`: Claude Code refuses to start without a working sandbox rather
    /// than running commands unconfined. Not for a project file, which is shared with
    /// people whose machines nobody here knows.
    pub fail_if_unavailable: bool,
    /// Further secret files the guard is configured to know (its `secret_patterns`, the
    /// `secrets` pack), as globs over final path components: denied like `.env`.
    pub secret_names: Vec<String>,
}

impl Sandbox {
    /// The sandbox for a settings file of `scope`.
    pub fn for_scope(scope: &crate::Scope) -> Sandbox {
        match scope {
            crate::Scope::Project(_) => Sandbox {
                anchor: "",
                fail_if_unavailable: false,
                secret_names: Vec::new(),
            },
            crate::Scope::Local(_) => Sandbox {
                anchor: "",
                fail_if_unavailable: true,
                secret_names: Vec::new(),
            },
            crate::Scope::User { .. } | crate::Scope::Managed | crate::Scope::File(_) => Sandbox {
                anchor: "~/",
                fail_if_unavailable: true,
                secret_names: Vec::new(),
            },
        }
    }

    /// The same, also denying the guard's further secret names.
    pub fn with_secret_names(self, secret_names: Vec<String>) -> Sandbox {
        Sandbox {
            secret_names,
            ..self
        }
    }

    /// The top-level `sandbox` switches and their values.
    fn switches(&self) -> Vec<(&'static str, bool)> {
        let mut switches = vec![("enabled", true)];
        if self.fail_if_unavailable {
            switches.push(("failIfUnavailable", true));
        }
        // Without this the model escapes with `dangerouslyDisableSandbox: true` on any
        // Bash call, and without asking when permissions are bypassed.
        switches.push(("allowUnsandboxedCommands", false));
        switches
    }

    /// The `sandbox.filesystem` lists and what goes into each.
    pub fn filesystem(&self) -> Vec<(&'static str, Vec<String>)> {
        let deny = SECRET_GLOBS
            .iter()
            .map(|glob| (*glob).to_owned())
            .chain(
                self.secret_names
                    .iter()
                    .map(|name| case_insensitive_glob(name)),
            )
            .map(|glob| format!("{}**/{glob}", self.anchor))
            .collect();
        // `.env.example` and a variant's template (`.env.local.example`), as the guard
        // reads them: the name ends in a template suffix.
        let allow = TEMPLATE_SUFFIXES
            .iter()
            .flat_map(|suffix| {
                let suffix = case_insensitive_glob(suffix);
                [
                    format!("{}**/.[eE][nN][vV].{suffix}", self.anchor),
                    format!("{}**/.[eE][nN][vV].*.{suffix}", self.anchor),
                ]
            })
            .collect();
        vec![
            // The working directory is writable already; temp files go here too.
            ("allowWrite", vec!["/tmp".to_owned()]),
            ("denyRead", deny),
            ("allowRead", allow),
        ]
    }
}

/// A glob matching its names in any case, as the guard does: letters outside bracket
/// classes become `[xX]`; a class is kept as written.
pub fn case_insensitive_glob(glob: &str) -> String {
    let mut out = String::new();
    let mut in_class = false;
    for c in glob.chars() {
        match c {
            '[' if !in_class => {
                in_class = true;
                out.push(c);
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            c if c.is_ascii_alphabetic() && !in_class => {
                out.push('[');
                out.push(c.to_ascii_lowercase());
                out.push(c.to_ascii_uppercase());
                out.push(']');
            }
            c => out.push(c),
        }
    }
    out
}

/// What an install added under `sandbox`, kept in the install's marker.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(crate) struct Added {
    /// Switches install set, with the value it set.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    set: Map<String, Value>,
    /// Values those switches had before, restored by uninstall.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    replaced: Map<String, Value>,
    /// Entries install added to each `sandbox.filesystem` list (entries already there
    /// are not listed).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    filesystem: Map<String, Value>,
}

/// Adds `spec` under `sandbox`; containers that existed are recorded in `kept`.
pub(crate) fn add(
    root: &mut Map<String, Value>,
    spec: &Sandbox,
    kept: &mut Vec<String>,
) -> Result<Added, EditError> {
    let mut added = Added::default();
    let sandbox = object_at(root, SANDBOX_KEY, SANDBOX_KEY, kept)?;
    for (key, value) in spec.switches() {
        let value = Value::Bool(value);
        match sandbox.get(key) {
            Some(existing) if *existing == value => continue,
            Some(existing) => {
                added.replaced.insert(key.to_owned(), existing.clone());
            }
            None => {}
        }
        sandbox.insert(key.to_owned(), value.clone());
        added.set.insert(key.to_owned(), value);
    }
    let filesystem = object_at(sandbox, "filesystem", "sandbox/filesystem", kept)?;
    for (key, entries) in spec.filesystem() {
        let path = format!("sandbox/filesystem/{key}");
        let list = array_at(filesystem, key, &path, kept)?;
        let mut ours = Vec::new();
        for entry in entries {
            if !list
                .iter()
                .any(|existing| existing.as_str() == Some(&entry))
            {
                list.push(Value::String(entry.clone()));
                ours.push(Value::String(entry));
            }
        }
        if !ours.is_empty() {
            added.filesystem.insert(key.to_owned(), Value::Array(ours));
        }
    }
    Ok(added)
}

/// Takes out what `added` says install put in: a switch only while it still holds the
/// value install set (a value changed since is the user's), list entries install added,
/// and containers `created` says install made, once empty.
pub(crate) fn remove(root: &mut Map<String, Value>, added: &Added, created: impl Fn(&str) -> bool) {
    let Some(sandbox) = root.get_mut(SANDBOX_KEY).and_then(Value::as_object_mut) else {
        return;
    };
    for (key, value) in &added.set {
        if sandbox.get(key) != Some(value) {
            continue;
        }
        match added.replaced.get(key) {
            Some(previous) => {
                sandbox.insert(key.clone(), previous.clone());
            }
            None => {
                sandbox.shift_remove(key);
            }
        }
    }
    if let Some(filesystem) = sandbox.get_mut("filesystem").and_then(Value::as_object_mut) {
        for (key, ours) in &added.filesystem {
            let Some(list) = filesystem.get_mut(key).and_then(Value::as_array_mut) else {
                continue;
            };
            let ours = ours.as_array().map(Vec::as_slice).unwrap_or_default();
            list.retain(|entry| !ours.contains(entry));
            if list.is_empty() && created(&format!("sandbox/filesystem/{key}")) {
                filesystem.shift_remove(key);
            }
        }
        if filesystem.is_empty() && created("sandbox/filesystem") {
            sandbox.shift_remove("filesystem");
        }
    }
    if sandbox.is_empty() && created(SANDBOX_KEY) {
        root.shift_remove(SANDBOX_KEY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scope;
    use serde_json::json;
    use std::path::PathBuf;

    fn user() -> Sandbox {
        Sandbox::for_scope(&Scope::User {
            home: PathBuf::from("/home/jane"),
        })
    }

    #[test]
    fn the_globs_follow_the_scope() {
        let user = user().filesystem();
        assert!(user[1].1.iter().all(|glob| glob.starts_with("~/**/")));
        assert!(user[1].1.contains(&"~/**/.[eE][nN][vV]".to_owned()));
        assert!(
            user[2]
                .1
                .contains(&"~/**/.[eE][nN][vV].[eE][xX][aA][mM][pP][lL][eE]".to_owned())
        );
        let project = Sandbox::for_scope(&Scope::Project(PathBuf::from("/p")));
        assert!(!project.fail_if_unavailable);
        assert!(
            project.filesystem()[1]
                .1
                .iter()
                .all(|glob| glob.starts_with("**/"))
        );
        assert!(Sandbox::for_scope(&Scope::Local(PathBuf::from("/p"))).fail_if_unavailable);
    }

    #[test]
    fn further_secret_names_are_denied_in_any_case_beside_env() {
        let sandbox = user().with_secret_names(vec![
            "*.pem".to_owned(),
            "id_[re]*".to_owned(),
            ".kube/config".to_owned(),
        ]);
        let denied = &sandbox.filesystem()[1].1;
        assert!(denied.contains(&"~/**/.[eE][nN][vV]".to_owned()));
        for glob in [
            "~/**/*.[pP][eE][mM]",
            "~/**/[iI][dD]_[re]*",
            "~/**/.[kK][uU][bB][eE]/[cC][oO][nN][fF][iI][gG]",
        ] {
            assert!(denied.contains(&glob.to_owned()), "{glob}: {denied:?}");
        }
    }

    #[test]
    fn add_then_remove_restores_a_users_own_sandbox() {
        let original = json!({"sandbox": {
            "enabled": false,
            "excludedCommands": ["docker *"],
            "filesystem": {"allowWrite": ["/tmp", "~/.cargo"]}
        }});
        let mut doc = original.clone();
        let root = doc.as_object_mut().unwrap();
        let mut kept = Vec::new();
        let added = add(root, &user(), &mut kept).unwrap();
        assert_eq!(root["sandbox"]["enabled"], json!(true));
        assert_eq!(root["sandbox"]["allowUnsandboxedCommands"], json!(false));
        assert_eq!(
            root["sandbox"]["filesystem"]["allowWrite"],
            json!(["/tmp", "~/.cargo"]),
            "an entry already there is not added twice"
        );
        assert!(!added.filesystem.contains_key("allowWrite"));
        remove(root, &added, |path| !kept.iter().any(|k| k == path));
        assert_eq!(
            serde_json::to_string(&doc).unwrap(),
            serde_json::to_string(&original).unwrap()
        );
    }

    #[test]
    fn a_switch_changed_after_install_is_left_to_the_user() {
        let mut doc = json!({});
        let root = doc.as_object_mut().unwrap();
        let mut kept = Vec::new();
        let added = add(root, &user(), &mut kept).unwrap();
        root["sandbox"]["allowUnsandboxedCommands"] = json!(true);
        remove(root, &added, |path| !kept.iter().any(|k| k == path));
        assert_eq!(doc, json!({"sandbox": {"allowUnsandboxedCommands": true}}));
    }
}
