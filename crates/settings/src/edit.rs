//! The pure edit: add or remove our hooks, telemetry env and deny rules in a document.

use std::path::Path;

use hook_protocol::KNOWN_EVENTS;
use hook_protocol::privacy::{LOG_USER_PROMPTS_ENV, Level, PRIVACY_ENV};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::document::{EditError, array_at, object_at};
use crate::sandbox::{self, Sandbox};

/// The env entry that records what install added, so uninstall removes exactly that.
///
/// It lives in `env` because that is the one place where Claude Code accepts an arbitrary
/// string key; an unknown top-level key could make the file fail validation.
pub const MARKER_ENV: &str = "CLAUDE_TELEMETRY_INSTALLED";

/// `permissions.deny` rules for secret files, as defence in depth: hooks never see
/// `@file` mentions. Templates such as `.env.example` stay readable.
pub const SECRET_DENY_RULES: &[&str] = &[
    "Read(**/.env)",
    "Read(**/.env.local)",
    "Read(**/.env.*.local)",
    "Read(**/.env.production)",
    "Read(**/.env.development)",
    "Read(**/.envrc)",
];

/// Seconds Claude Code waits for our hook before going on without it. The hook's own
/// delivery budget is a fraction of a second; this is the backstop.
const HOOK_TIMEOUT_SECS: u64 = 10;

/// The top-level setting naming a program whose JSON output Claude Code adds as headers to
/// its OTLP exports: how the collector's bearer token reaches them without being written
/// into a settings file.
pub const HEADERS_HELPER_KEY: &str = "otelHeadersHelper";

/// What to install.
#[derive(Debug, Clone)]
pub struct Install {
    /// The shell command Claude Code runs, e.g. `/usr/local/bin/claude-telemetry hook`.
    pub hook_command: String,
    /// The command for [`HEADERS_HELPER_KEY`], e.g.
    /// `/usr/local/bin/claude-telemetry otel-headers`.
    pub headers_helper: String,
    /// The collector's base URL, for the hook and for Claude Code's OTLP exporter.
    pub url: String,
    /// `user.name` resource attribute (personal scopes only).
    pub user_name: Option<String>,
    /// `user.email` resource attribute (personal scopes only).
    pub user_email: Option<String>,
    /// Turn on Claude Code's traces (beta) and export them to the collector too.
    pub traces: bool,
    /// Claude Code's own OS sandbox, when asked for (`install --sandbox`).
    pub sandbox: Option<Sandbox>,
    /// Prompt logging: Claude Code puts prompt text in its telemetry (and not its answers),
    /// and the hook keeps prompts at the `prompts` privacy level.
    pub log_prompts: bool,
}

/// What Claude Code needs to export spans (its traces beta), with the common OTLP
/// settings install already writes (endpoint, protocol, headers helper).
pub const TRACES_ENV: &[(&str, &str)] = &[
    ("CLAUDE_CODE_ENHANCED_TELEMETRY_BETA", "1"),
    ("OTEL_TRACES_EXPORTER", "otlp"),
];

/// What an install changed besides adding.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct InstallReport {
    /// Env keys that had another value; uninstall restores them.
    pub replaced_env: Vec<String>,
    /// Whether another [`HEADERS_HELPER_KEY`] was there; uninstall restores it.
    pub replaced_headers_helper: bool,
    /// Whether an earlier install had turned the sandbox on and this one, without it,
    /// took it out.
    pub dropped_sandbox: bool,
}

/// What install did, kept in the document under [`MARKER_ENV`].
#[derive(Debug, Default, Serialize, Deserialize)]
struct Marker {
    hook_command: String,
    /// Env keys install set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    env: Vec<String>,
    /// The [`HEADERS_HELPER_KEY`] install set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    headers_helper: Option<String>,
    /// The [`HEADERS_HELPER_KEY`] value before, restored by uninstall.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    replaced_headers_helper: Option<Value>,
    /// Values those keys had before, restored by uninstall.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    replaced: Map<String, Value>,
    /// Deny rules install added (rules the user already had are not listed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    deny: Vec<String>,
    /// Containers (`hooks`, `hooks/Stop`, `env`, …) that existed before install; any
    /// other container install touched was created by it, and uninstall removes it once
    /// it is empty again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    kept: Vec<String>,
    /// What `--sandbox` added under `sandbox`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sandbox: Option<sandbox::Added>,
}

/// The hook command for a binary at `binary`, quoted for `sh -c`.
pub fn hook_command_for(binary: &Path) -> String {
    command_for(binary, "hook")
}

/// The [`HEADERS_HELPER_KEY`] command for a binary at `binary`, quoted for `sh -c`.
pub fn headers_helper_for(binary: &Path) -> String {
    command_for(binary, "otel-headers")
}

fn command_for(binary: &Path, subcommand: &str) -> String {
    let path = binary.to_string_lossy();
    let plain = path
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@".contains(c));
    if plain {
        format!("{path} {subcommand}")
    } else {
        format!("'{}' {subcommand}", path.replace('\'', r"'\''"))
    }
}

impl Install {
    fn env_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = vec![
            ("CLAUDE_CODE_ENABLE_TELEMETRY", "1".to_owned()),
            ("OTEL_METRICS_EXPORTER", "otlp".to_owned()),
            ("OTEL_LOGS_EXPORTER", "otlp".to_owned()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_owned()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", self.url.clone()),
            ("OTEL_METRIC_EXPORT_INTERVAL", "10000".to_owned()),
            ("CLAUDE_TELEMETRY_URL", self.url.clone()),
        ];
        let attributes: Vec<String> = [
            ("user.name", &self.user_name),
            ("user.email", &self.user_email),
        ]
        .into_iter()
        .filter_map(|(key, value)| {
            value
                .as_ref()
                .map(|v| format!("{key}={}", baggage_encode(v)))
        })
        .collect();
        if !attributes.is_empty() {
            pairs.push(("OTEL_RESOURCE_ATTRIBUTES", attributes.join(",")));
        }
        // The same identity for our hooks, which never see `OTEL_*` (Claude Code strips
        // them from hook environments): without these, hook-derived series would carry
        // the OS user while Claude Code's own carry the name given here.
        if let Some(name) = &self.user_name {
            pairs.push(("USER_NAME", name.clone()));
        }
        if let Some(email) = &self.user_email {
            pairs.push(("USER_EMAIL", email.clone()));
        }
        if self.traces {
            pairs.extend(TRACES_ENV.iter().map(|(k, v)| (*k, (*v).to_owned())));
        }
        if self.log_prompts {
            // Prompt text, and not the answers, which Claude Code would otherwise send
            // along once prompt logging is on.
            pairs.push((LOG_USER_PROMPTS_ENV, "1".to_owned()));
            pairs.push(("OTEL_LOG_ASSISTANT_RESPONSES", "0".to_owned()));
            pairs.push((PRIVACY_ENV, Level::Prompts.as_str().to_owned()));
        }
        pairs
    }
}

/// Percent-encodes what the W3C baggage format (used by `OTEL_RESOURCE_ATTRIBUTES`)
/// does not allow in a value: controls, space, `"`, `,`, `;`, `\`, `%` and non-ASCII.
fn baggage_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        let allowed =
            (0x21..=0x7e).contains(&byte) && !matches!(byte, b'"' | b',' | b';' | b'\\' | b'%');
        if allowed {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Adds our hooks on every observable event, the telemetry env and the deny rules.
///
/// Idempotent: an earlier install is removed first, so installing twice gives the same
/// document as installing once.
pub fn install(doc: &mut Value, spec: &Install) -> Result<InstallReport, EditError> {
    let had_sandbox = marker_of(doc).is_some_and(|marker| marker.sandbox.is_some());
    uninstall(doc)?;
    let root = doc.as_object_mut().ok_or(EditError::NotAnObject)?;
    let mut marker = Marker {
        hook_command: spec.hook_command.clone(),
        ..Marker::default()
    };
    let mut report = InstallReport {
        dropped_sandbox: had_sandbox && spec.sandbox.is_none(),
        ..InstallReport::default()
    };

    let hooks = object_at(root, "hooks", "hooks", &mut marker.kept)?;
    for event in KNOWN_EVENTS.iter().filter(|event| event.is_observable()) {
        let path = format!("hooks/{}", event.name());
        let groups = array_at(hooks, event.name(), &path, &mut marker.kept)?;
        let handler =
            json!({"type": "command", "command": spec.hook_command, "timeout": HOOK_TIMEOUT_SECS});
        groups.push(if event.matches_tools() {
            json!({"matcher": "*", "hooks": [handler]})
        } else {
            json!({"hooks": [handler]})
        });
    }

    let env = object_at(root, "env", "env", &mut marker.kept)?;
    for (key, value) in spec.env_pairs() {
        match env.get(key) {
            Some(Value::String(existing)) if *existing == value => continue,
            Some(existing) => {
                marker.replaced.insert(key.to_owned(), existing.clone());
                report.replaced_env.push(key.to_owned());
            }
            None => {}
        }
        // `insert` on an existing key keeps its position, so uninstall can restore in place.
        env.insert(key.to_owned(), Value::String(value));
        marker.env.push(key.to_owned());
    }

    let helper = Value::String(spec.headers_helper.clone());
    match root.get(HEADERS_HELPER_KEY) {
        Some(existing) if *existing == helper => {}
        Some(existing) => {
            marker.replaced_headers_helper = Some(existing.clone());
            report.replaced_headers_helper = true;
        }
        None => {}
    }
    root.insert(HEADERS_HELPER_KEY.to_owned(), helper);
    marker.headers_helper = Some(spec.headers_helper.clone());

    let permissions = object_at(root, "permissions", "permissions", &mut marker.kept)?;
    let deny = array_at(permissions, "deny", "permissions/deny", &mut marker.kept)?;
    for rule in SECRET_DENY_RULES {
        if !deny.iter().any(|existing| existing.as_str() == Some(rule)) {
            deny.push(Value::String((*rule).to_owned()));
            marker.deny.push((*rule).to_owned());
        }
    }

    if let Some(spec) = &spec.sandbox {
        marker.sandbox = Some(sandbox::add(root, spec, &mut marker.kept)?);
    }

    let marker_text = serde_json::to_string(&marker).map_err(|_| EditError::NotAnObject)?;
    // `env` exists by now; this lookup records nothing.
    let env = object_at(root, "env", "env", &mut Vec::new())?;
    env.insert(MARKER_ENV.to_owned(), Value::String(marker_text));
    Ok(report)
}

/// Removes what install added and restores what it replaced. Returns whether anything
/// changed.
pub fn uninstall(doc: &mut Value) -> Result<bool, EditError> {
    let marker = marker_of(doc);
    let root = doc.as_object_mut().ok_or(EditError::NotAnObject)?;
    // Without a marker nothing says which containers install created: keep them all.
    let created = |path: &str| {
        marker
            .as_ref()
            .is_some_and(|m| !m.kept.iter().any(|k| k == path))
    };
    let mut changed = false;

    if let Some(hooks) = root.get_mut("hooks").and_then(Value::as_object_mut) {
        let marker_command = marker.as_ref().map(|m| m.hook_command.as_str());
        let events: Vec<String> = hooks.keys().cloned().collect();
        for event in events {
            let Some(groups) = hooks.get_mut(&event).and_then(Value::as_array_mut) else {
                continue;
            };
            changed |= remove_our_handlers(groups, marker_command);
            if groups.is_empty() && created(&format!("hooks/{event}")) {
                hooks.shift_remove(&event);
            }
        }
        if hooks.is_empty() && created("hooks") {
            root.shift_remove("hooks");
        }
    }

    let Some(marker) = &marker else {
        return Ok(changed);
    };
    // The helper goes only if it is still the one install set; a value changed since is
    // the user's.
    if marker.headers_helper.is_some()
        && root.get(HEADERS_HELPER_KEY).and_then(Value::as_str) == marker.headers_helper.as_deref()
    {
        match &marker.replaced_headers_helper {
            Some(previous) => {
                root.insert(HEADERS_HELPER_KEY.to_owned(), previous.clone());
            }
            None => {
                root.shift_remove(HEADERS_HELPER_KEY);
            }
        }
    }
    if let Some(env) = root.get_mut("env").and_then(Value::as_object_mut) {
        for key in &marker.env {
            match marker.replaced.get(key) {
                Some(previous) => {
                    env.insert(key.clone(), previous.clone());
                }
                None => {
                    env.shift_remove(key);
                }
            }
        }
        env.shift_remove(MARKER_ENV);
        if env.is_empty() && created("env") {
            root.shift_remove("env");
        }
    }
    if let Some(permissions) = root.get_mut("permissions").and_then(Value::as_object_mut) {
        if let Some(deny) = permissions.get_mut("deny").and_then(Value::as_array_mut) {
            deny.retain(|rule| {
                !rule
                    .as_str()
                    .is_some_and(|rule| marker.deny.iter().any(|ours| ours == rule))
            });
            if deny.is_empty() && created("permissions/deny") {
                permissions.shift_remove("deny");
            }
        }
        if permissions.is_empty() && created("permissions") {
            root.shift_remove("permissions");
        }
    }
    if let Some(added) = &marker.sandbox {
        sandbox::remove(root, added, created);
    }
    Ok(true)
}

/// The record an earlier install left in the document, if any.
fn marker_of(doc: &Value) -> Option<Marker> {
    doc.get("env")
        .and_then(|env| env.get(MARKER_ENV))
        .and_then(Value::as_str)
        .and_then(|text| serde_json::from_str(text).ok())
}

/// What of ours a settings document holds.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Installed {
    /// Events with a `claude-telemetry hook` handler.
    pub events: Vec<String>,
    /// The distinct commands those handlers run.
    pub commands: Vec<String>,
}

/// Finds our handlers in a document (any shape: it is read, not trusted).
pub fn installed(doc: &Value) -> Installed {
    let mut found = Installed::default();
    let Some(hooks) = doc.get("hooks").and_then(Value::as_object) else {
        return found;
    };
    for (event, groups) in hooks {
        let handlers = groups
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|group| group.get("hooks").and_then(Value::as_array))
            .flatten()
            .filter(|handler| is_our_handler(handler, None));
        let mut any = false;
        for handler in handlers {
            any = true;
            if let Some(command) = handler.get("command").and_then(Value::as_str)
                && !found.commands.iter().any(|c| c == command)
            {
                found.commands.push(command.to_owned());
            }
        }
        if any {
            found.events.push(event.clone());
        }
    }
    found
}

/// The program a hook command runs: its first word, unquoted.
pub fn program_of(command: &str) -> String {
    let command = command.trim();
    if let Some(rest) = command.strip_prefix('\'') {
        return rest.split('\'').next().unwrap_or("").to_owned();
    }
    if let Some(rest) = command.strip_prefix('"') {
        return rest.split('"').next().unwrap_or("").to_owned();
    }
    command.split_whitespace().next().unwrap_or("").to_owned()
}

/// Removes our handlers from an event's matcher groups, and groups they leave empty.
fn remove_our_handlers(groups: &mut Vec<Value>, marker_command: Option<&str>) -> bool {
    let before = groups.len();
    let mut removed_handler = false;
    groups.retain_mut(|group| {
        let Some(handlers) = group.get_mut("hooks").and_then(Value::as_array_mut) else {
            return true;
        };
        let count = handlers.len();
        handlers.retain(|handler| !is_our_handler(handler, marker_command));
        if handlers.len() == count {
            return true;
        }
        removed_handler = true;
        !handlers.is_empty()
    });
    removed_handler || groups.len() != before
}

/// Whether a handler runs `claude-telemetry hook`: the recorded command, or any command of
/// that shape (a template copied by hand, an install from another path).
pub(crate) fn is_our_handler(handler: &Value, marker_command: Option<&str>) -> bool {
    if handler.get("type").and_then(Value::as_str) != Some("command") {
        return false;
    }
    let Some(command) = handler.get("command").and_then(Value::as_str) else {
        return false;
    };
    if marker_command == Some(command) {
        return true;
    }
    let Some(program) = command.trim().strip_suffix(" hook") else {
        return false;
    };
    let program = program.trim().trim_matches(|c| c == '\'' || c == '"');
    Path::new(program)
        .file_name()
        .is_some_and(|name| name == "claude-telemetry")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Install {
        Install {
            hook_command: "/opt/ct/claude-telemetry hook".into(),
            headers_helper: "/opt/ct/claude-telemetry otel-headers".into(),
            url: "http://127.0.0.1:9091".into(),
            user_name: Some("Jane Doe".into()),
            user_email: Some("jane@example.com".into()),
            traces: false,
            sandbox: None,
            log_prompts: false,
        }
    }

    #[test]
    fn traces_are_turned_on_and_off_with_the_rest() {
        let original = busy_document();
        let mut doc = original.clone();
        install(
            &mut doc,
            &Install {
                traces: true,
                ..spec()
            },
        )
        .unwrap();
        assert_eq!(doc["env"]["CLAUDE_CODE_ENHANCED_TELEMETRY_BETA"], "1");
        assert_eq!(doc["env"]["OTEL_TRACES_EXPORTER"], "otlp");
        assert_eq!(
            doc["env"]["OTEL_EXPORTER_OTLP_ENDPOINT"],
            "http://127.0.0.1:9091"
        );
        // Installing again without --traces turns them off.
        install(&mut doc, &spec()).unwrap();
        assert!(doc["env"].get("OTEL_TRACES_EXPORTER").is_none());
        install(
            &mut doc,
            &Install {
                traces: true,
                ..spec()
            },
        )
        .unwrap();
        uninstall(&mut doc).unwrap();
        assert_eq!(
            doc, original,
            "uninstall removes exactly what install added"
        );
    }

    fn busy_document() -> Value {
        json!({
            "model": "claude-sonnet-4-5",
            "env": {"FOO": "bar", "OTEL_METRICS_EXPORTER": "prometheus"},
            "hooks": {
                "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "./lint.sh"}]}],
                "Stop": []
            },
            "permissions": {"allow": ["Bash(npm test)"], "deny": ["Read(**/.env)"]},
            "statusLine": {"type": "command", "command": "echo hi"}
        })
    }

    #[test]
    fn install_then_uninstall_restores_the_document_exactly() {
        let original = busy_document();
        let mut doc = original.clone();
        let report = install(&mut doc, &spec()).unwrap();
        assert_eq!(report.replaced_env, ["OTEL_METRICS_EXPORTER"]);
        assert_ne!(doc, original);
        assert!(uninstall(&mut doc).unwrap());
        assert_eq!(
            serde_json::to_string(&doc).unwrap(),
            serde_json::to_string(&original).unwrap()
        );
    }

    #[test]
    fn install_into_an_empty_document_and_back() {
        let mut doc = json!({});
        install(&mut doc, &spec()).unwrap();
        assert_eq!(doc["env"]["OTEL_EXPORTER_OTLP_PROTOCOL"], "http/protobuf");
        assert_eq!(
            doc["env"]["OTEL_RESOURCE_ATTRIBUTES"],
            "user.name=Jane%20Doe,user.email=jane@example.com"
        );
        assert_eq!(doc["env"]["USER_NAME"], "Jane Doe");
        assert_eq!(doc["env"]["USER_EMAIL"], "jane@example.com");
        assert_eq!(doc["hooks"]["PreToolUse"][0]["matcher"], "*");
        assert!(doc["hooks"].get("WorktreeCreate").is_none());
        assert_eq!(
            doc[HEADERS_HELPER_KEY],
            "/opt/ct/claude-telemetry otel-headers"
        );
        uninstall(&mut doc).unwrap();
        assert_eq!(doc, json!({}));
    }

    #[test]
    fn prompt_logging_sets_claude_codes_switch_and_the_hooks_level_together() {
        let mut doc = json!({"env": {"OTEL_LOG_ASSISTANT_RESPONSES": "1"}});
        let report = install(
            &mut doc,
            &Install {
                log_prompts: true,
                ..spec()
            },
        )
        .unwrap();
        assert_eq!(doc["env"]["OTEL_LOG_USER_PROMPTS"], "1");
        assert_eq!(doc["env"]["OTEL_LOG_ASSISTANT_RESPONSES"], "0");
        assert_eq!(doc["env"]["CLAUDE_TELEMETRY_PRIVACY"], "prompts");
        assert_eq!(report.replaced_env, ["OTEL_LOG_ASSISTANT_RESPONSES"]);
        // Installing again without it takes it back, and the user's own value returns.
        install(&mut doc, &spec()).unwrap();
        assert!(doc["env"].get("OTEL_LOG_USER_PROMPTS").is_none());
        assert!(doc["env"].get("CLAUDE_TELEMETRY_PRIVACY").is_none());
        assert_eq!(doc["env"]["OTEL_LOG_ASSISTANT_RESPONSES"], "1");
        uninstall(&mut doc).unwrap();
        assert_eq!(doc, json!({"env": {"OTEL_LOG_ASSISTANT_RESPONSES": "1"}}));
    }

    #[test]
    fn a_headers_helper_of_the_users_is_replaced_then_restored_in_place() {
        let original = json!({"otelHeadersHelper": "/usr/bin/get-token", "model": "opus"});
        let mut doc = original.clone();
        let report = install(&mut doc, &spec()).unwrap();
        assert!(report.replaced_headers_helper);
        assert_eq!(
            doc[HEADERS_HELPER_KEY],
            "/opt/ct/claude-telemetry otel-headers"
        );
        // Installing again keeps the user's value for uninstall.
        install(&mut doc, &spec()).unwrap();
        uninstall(&mut doc).unwrap();
        assert_eq!(
            serde_json::to_string(&doc).unwrap(),
            serde_json::to_string(&original).unwrap()
        );
    }

    #[test]
    fn a_headers_helper_changed_after_install_is_left_to_the_user() {
        let mut doc = json!({});
        install(&mut doc, &spec()).unwrap();
        doc[HEADERS_HELPER_KEY] = json!("/usr/bin/get-token");
        uninstall(&mut doc).unwrap();
        assert_eq!(doc, json!({"otelHeadersHelper": "/usr/bin/get-token"}));
    }

    #[test]
    fn install_is_idempotent_even_with_a_new_path() {
        let mut once = busy_document();
        install(&mut once, &spec()).unwrap();
        let mut twice = once.clone();
        install(&mut twice, &spec()).unwrap();
        assert_eq!(
            serde_json::to_string(&once).unwrap(),
            serde_json::to_string(&twice).unwrap()
        );

        let moved = Install {
            hook_command: "/usr/bin/claude-telemetry hook".into(),
            ..spec()
        };
        install(&mut twice, &moved).unwrap();
        let commands: Vec<&str> = twice["hooks"]["PreToolUse"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["hooks"].as_array().unwrap())
            .map(|h| h["command"].as_str().unwrap())
            .collect();
        assert_eq!(commands, ["./lint.sh", "/usr/bin/claude-telemetry hook"]);
    }

    #[test]
    fn the_sandbox_goes_in_with_the_rest_and_comes_out_exactly() {
        let mut original = busy_document();
        original["sandbox"] = json!({"filesystem": {"denyWrite": ["/srv"]}});
        let mut doc = original.clone();
        let with_sandbox = Install {
            sandbox: Some(Sandbox::for_scope(&crate::Scope::Managed)),
            ..spec()
        };
        install(&mut doc, &with_sandbox).unwrap();
        assert_eq!(doc["sandbox"]["enabled"], json!(true));
        assert_eq!(doc["sandbox"]["failIfUnavailable"], json!(true));
        assert_eq!(doc["sandbox"]["filesystem"]["denyWrite"], json!(["/srv"]));
        assert!(
            doc["sandbox"]["filesystem"]["denyRead"]
                .as_array()
                .unwrap()
                .contains(&json!("~/**/.[eE][nN][vV]"))
        );
        let mut twice = doc.clone();
        install(&mut twice, &with_sandbox).unwrap();
        assert_eq!(twice, doc, "idempotent");
        uninstall(&mut doc).unwrap();
        assert_eq!(
            serde_json::to_string(&doc).unwrap(),
            serde_json::to_string(&original).unwrap()
        );
    }

    #[test]
    fn an_install_without_the_sandbox_says_it_took_an_earlier_one_out() {
        let mut doc = json!({});
        let with_sandbox = Install {
            sandbox: Some(Sandbox::for_scope(&crate::Scope::Managed)),
            ..spec()
        };
        assert!(!install(&mut doc, &with_sandbox).unwrap().dropped_sandbox);
        assert!(install(&mut doc, &spec()).unwrap().dropped_sandbox);
        assert!(doc.get("sandbox").is_none());
        assert!(!install(&mut doc, &spec()).unwrap().dropped_sandbox);
    }

    #[test]
    fn keeps_the_users_own_deny_rule_after_uninstall() {
        let mut doc = busy_document();
        install(&mut doc, &spec()).unwrap();
        uninstall(&mut doc).unwrap();
        assert_eq!(doc["permissions"]["deny"], json!(["Read(**/.env)"]));
    }

    #[test]
    fn recognises_handlers_copied_by_hand() {
        let ours =
            |command: &str| is_our_handler(&json!({"type": "command", "command": command}), None);
        assert!(ours("/usr/local/bin/claude-telemetry hook"));
        assert!(ours("'/a b/claude-telemetry' hook"));
        assert!(!ours("/usr/local/bin/claude-telemetry-other hook"));
        assert!(!ours("./lint.sh hook"));
        assert!(!is_our_handler(&json!({"type": "http", "url": "x"}), None));
    }

    #[test]
    fn wrong_types_are_refused_not_overwritten() {
        let mut doc = json!({"hooks": "nope"});
        assert!(matches!(install(&mut doc, &spec()), Err(EditError::WrongType(p)) if p == "hooks"));
        assert!(matches!(
            install(&mut json!([]), &spec()),
            Err(EditError::NotAnObject)
        ));
    }

    #[test]
    fn hook_commands_are_quoted_for_the_shell() {
        assert_eq!(
            hook_command_for(Path::new("/usr/local/bin/claude-telemetry")),
            "/usr/local/bin/claude-telemetry hook"
        );
        assert_eq!(
            hook_command_for(Path::new("/a b/it's/claude-telemetry")),
            r"'/a b/it'\''s/claude-telemetry' hook"
        );
        assert_eq!(
            headers_helper_for(Path::new("/a b/claude-telemetry")),
            "'/a b/claude-telemetry' otel-headers"
        );
    }
}
