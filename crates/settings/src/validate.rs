//! Checking a settings document against the parts of Claude Code's format that matter.
//!
//! Claude Code drops a whole file's hooks when one field is invalid, silently, and drops
//! the whole `sandbox` setting (the sandbox is then off) when one of its fields is. This
//! checks the structure of `hooks`, `env`, `permissions` and `sandbox` the way the
//! settings reference and Claude Code's own schema describe them, so `install` never
//! writes such a file and `doctor` can point at one.

use hook_protocol::KnownEvent;
use serde_json::{Map, Value};

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Claude Code rejects the file or disables its hooks.
    Error,
    /// Claude Code skips one entry and keeps the rest.
    Warning,
}

/// One problem, located by a JSON Pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// Where, e.g. `/hooks/PreToolUse/0/hooks/1/timeout`.
    pub path: String,
    /// What is wrong, in words.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{level} at {}: {}", self.path, self.message)
    }
}

struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn error(&mut self, path: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            severity: Severity::Error,
            path: path.to_owned(),
            message: message.into(),
        });
    }

    fn warning(&mut self, path: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            severity: Severity::Warning,
            path: path.to_owned(),
            message: message.into(),
        });
    }

    fn expect_string(&mut self, map: &Map<String, Value>, key: &str, path: &str, required: bool) {
        match map.get(key) {
            Some(Value::String(_)) => {}
            Some(_) => self.error(&format!("{path}/{key}"), "must be a string"),
            None if required => self.error(path, format!("`{key}` is required")),
            None => {}
        }
    }

    fn expect_bool(&mut self, map: &Map<String, Value>, key: &str, path: &str) {
        if map.get(key).is_some_and(|value| !value.is_boolean()) {
            self.error(&format!("{path}/{key}"), "must be true or false");
        }
    }

    fn expect_strings(&mut self, value: Option<&Value>, path: &str) {
        match value {
            None => {}
            Some(Value::Array(items)) => {
                for (index, item) in items.iter().enumerate() {
                    if !item.is_string() {
                        self.error(&format!("{path}/{index}"), "must be a string");
                    }
                }
            }
            Some(_) => self.error(path, "must be an array of strings"),
        }
    }
}

/// All problems in a settings document; empty when it is sound.
pub fn validate(doc: &Value) -> Vec<Problem> {
    let mut check = Checker {
        problems: Vec::new(),
    };
    let Some(root) = doc.as_object() else {
        check.error("", "a settings file must hold a JSON object");
        return check.problems;
    };
    if let Some(hooks) = root.get("hooks") {
        check_hooks(&mut check, hooks);
    }
    match root.get("env") {
        None => {}
        Some(Value::Object(env)) => {
            for (key, value) in env {
                if !value.is_string() {
                    check.error(&format!("/env/{key}"), "environment values must be strings");
                }
            }
        }
        Some(_) => check.error("/env", "must be an object of strings"),
    }
    match root.get("permissions") {
        None => {}
        Some(Value::Object(permissions)) => {
            for key in ["allow", "deny", "ask", "additionalDirectories"] {
                check.expect_strings(permissions.get(key), &format!("/permissions/{key}"));
            }
        }
        Some(_) => check.error("/permissions", "must be an object"),
    }
    if let Some(sandbox) = root.get(crate::SANDBOX_KEY) {
        check_sandbox(&mut check, sandbox);
    }
    if root.get("disableAllHooks") == Some(&Value::Bool(true)) {
        check.warning("/disableAllHooks", "every hook in this scope is disabled");
    }
    check.problems
}

/// What Claude Code's schema says of each `sandbox` field it knows (2.1.332); fields it
/// does not know pass, as they do there.
const SANDBOX_SWITCHES: &[&str] = &[
    "enabled",
    "failIfUnavailable",
    "autoAllowBashIfSandboxed",
    "allowUnsandboxedCommands",
    "enableWeakerNestedSandbox",
    "allowNestedUserNamespaces",
    "enableWeakerNetworkIsolation",
    "allowAppleEvents",
];
const SANDBOX_FILESYSTEM_LISTS: &[&str] = &["allowWrite", "denyWrite", "denyRead", "allowRead"];
const SANDBOX_FILESYSTEM_SWITCHES: &[&str] = &["allowManagedReadPathsOnly", "disabled"];
const SANDBOX_NETWORK_LISTS: &[&str] = &[
    "allowedDomains",
    "deniedDomains",
    "allowUnixSockets",
    "allowMachLookup",
];
const SANDBOX_NETWORK_SWITCHES: &[&str] = &[
    "strictAllowlist",
    "allowManagedDomainsOnly",
    "allowAllUnixSockets",
    "allowLocalBinding",
];

fn check_sandbox(check: &mut Checker, sandbox: &Value) {
    let Some(sandbox) = sandbox.as_object() else {
        check.error(
            "/sandbox",
            "must be an object (Claude Code ignores it, and the sandbox is off)",
        );
        return;
    };
    for key in SANDBOX_SWITCHES {
        check.expect_bool(sandbox, key, "/sandbox");
    }
    check.expect_strings(sandbox.get("excludedCommands"), "/sandbox/excludedCommands");
    for (section, lists, switches) in [
        (
            "filesystem",
            SANDBOX_FILESYSTEM_LISTS,
            SANDBOX_FILESYSTEM_SWITCHES,
        ),
        ("network", SANDBOX_NETWORK_LISTS, SANDBOX_NETWORK_SWITCHES),
    ] {
        let path = format!("/sandbox/{section}");
        match sandbox.get(section) {
            None => {}
            Some(Value::Object(fields)) => {
                for key in lists {
                    check.expect_strings(fields.get(*key), &format!("{path}/{key}"));
                }
                for key in switches {
                    check.expect_bool(fields, key, &path);
                }
            }
            Some(_) => check.error(&path, "must be an object"),
        }
    }
    if let Some(network) = sandbox.get("network").and_then(Value::as_object) {
        for key in ["httpProxyPort", "socksProxyPort"] {
            if network.get(key).is_some_and(|port| !port.is_number()) {
                check.error(&format!("/sandbox/network/{key}"), "must be a number");
            }
        }
    }
}

fn check_hooks(check: &mut Checker, hooks: &Value) {
    let Some(events) = hooks.as_object() else {
        check.error(
            "/hooks",
            "must be an object mapping event names to matcher groups",
        );
        return;
    };
    for (event, groups) in events {
        let path = format!("/hooks/{event}");
        if KnownEvent::from_name(event).is_none() {
            check.warning(
                &path,
                format!("`{event}` is not a hook event this version knows"),
            );
        }
        let Some(groups) = groups.as_array() else {
            check.error(&path, "must be an array of matcher groups");
            continue;
        };
        for (index, group) in groups.iter().enumerate() {
            check_group(check, group, &format!("{path}/{index}"));
        }
    }
}

fn check_group(check: &mut Checker, group: &Value, path: &str) {
    let Some(group) = group.as_object() else {
        check.error(path, "a matcher group must be an object");
        return;
    };
    check.expect_string(group, "matcher", path, false);
    match group.get("hooks") {
        Some(Value::Array(handlers)) => {
            for (index, handler) in handlers.iter().enumerate() {
                check_handler(check, handler, &format!("{path}/hooks/{index}"));
            }
        }
        Some(_) => check.error(
            &format!("{path}/hooks"),
            "must be an array of hook handlers",
        ),
        None => check.error(path, "`hooks` is required"),
    }
}

fn check_handler(check: &mut Checker, handler: &Value, path: &str) {
    let Some(handler) = handler.as_object() else {
        check.error(path, "a hook handler must be an object");
        return;
    };
    match handler.get("timeout") {
        None => {}
        Some(Value::Number(n)) if n.as_f64().is_some_and(|secs| secs > 0.0) => {}
        Some(_) => check.error(
            &format!("{path}/timeout"),
            "must be a positive number of seconds",
        ),
    }
    check.expect_string(handler, "if", path, false);
    check.expect_string(handler, "statusMessage", path, false);
    check.expect_bool(handler, "once", path);
    match handler.get("type").and_then(Value::as_str) {
        Some("command") => {
            check.expect_string(handler, "command", path, true);
            check.expect_strings(handler.get("args"), &format!("{path}/args"));
            check.expect_bool(handler, "async", path);
            check.expect_bool(handler, "asyncRewake", path);
            if let Some(shell) = handler.get("shell")
                && !matches!(shell.as_str(), Some("bash" | "powershell"))
            {
                check.error(
                    &format!("{path}/shell"),
                    "must be \"bash\" or \"powershell\"",
                );
            }
        }
        Some("http") => {
            check.expect_string(handler, "url", path, true);
            check.expect_strings(
                handler.get("allowedEnvVars"),
                &format!("{path}/allowedEnvVars"),
            );
            match handler.get("headers") {
                None => {}
                Some(Value::Object(headers)) if headers.values().all(Value::is_string) => {}
                Some(_) => check.error(&format!("{path}/headers"), "must be an object of strings"),
            }
        }
        Some("mcp_tool") => {
            check.expect_string(handler, "server", path, true);
            check.expect_string(handler, "tool", path, true);
        }
        Some("prompt" | "agent") => {
            check.expect_string(handler, "prompt", path, true);
            check.expect_string(handler, "model", path, false);
        }
        Some(other) => check.error(
            &format!("{path}/type"),
            format!("unknown hook type `{other}` (command, http, mcp_tool, prompt or agent)"),
        ),
        None => check.error(path, "`type` is required"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errors(doc: Value) -> Vec<String> {
        validate(&doc)
            .into_iter()
            .filter(|p| p.severity == Severity::Error)
            .map(|p| p.path)
            .collect()
    }

    #[test]
    fn a_sound_file_has_no_problems() {
        let doc = json!({
            "hooks": {"PreToolUse": [{"matcher": "*", "hooks": [
                {"type": "command", "command": "x hook", "timeout": 10},
                {"type": "http", "url": "http://h/v1/hooks", "headers": {"A": "b"}, "allowedEnvVars": ["T"]}
            ]}]},
            "env": {"A": "1"},
            "permissions": {"deny": ["Read(**/.env)"]}
        });
        assert!(validate(&doc).is_empty(), "{:?}", validate(&doc));
    }

    #[test]
    fn each_field_that_disables_hooks_is_found() {
        assert_eq!(errors(json!({"hooks": []})), ["/hooks"]);
        assert_eq!(errors(json!({"hooks": {"Stop": {}}})), ["/hooks/Stop"]);
        assert_eq!(
            errors(json!({"hooks": {"Stop": [{"matcher": 1, "hooks": []}]}})),
            ["/hooks/Stop/0/matcher"]
        );
        assert_eq!(errors(json!({"hooks": {"Stop": [{}]}})), ["/hooks/Stop/0"]);
        assert_eq!(
            errors(json!({"hooks": {"Stop": [{"hooks": [{"type": "command"}]}]}})),
            ["/hooks/Stop/0/hooks/0"]
        );
        assert_eq!(
            errors(
                json!({"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "x", "timeout": "10"}]}]}})
            ),
            ["/hooks/Stop/0/hooks/0/timeout"]
        );
        assert_eq!(
            errors(json!({"hooks": {"Stop": [{"hooks": [{"type": "shell", "command": "x"}]}]}})),
            ["/hooks/Stop/0/hooks/0/type"]
        );
        assert_eq!(errors(json!({"env": {"A": 1}})), ["/env/A"]);
        assert_eq!(
            errors(json!({"permissions": {"deny": "Read(.env)"}})),
            ["/permissions/deny"]
        );
        assert_eq!(errors(json!(["not", "an", "object"])), [""]);
    }

    #[test]
    fn each_sandbox_field_that_turns_the_sandbox_off_is_found() {
        assert!(errors(json!({"sandbox": {"enabled": true, "someday": 1}})).is_empty());
        assert_eq!(errors(json!({"sandbox": true})), ["/sandbox"]);
        assert_eq!(
            errors(json!({"sandbox": {"enabled": "yes"}})),
            ["/sandbox/enabled"]
        );
        assert_eq!(
            errors(json!({"sandbox": {"filesystem": {"denyRead": "~/.env"}}})),
            ["/sandbox/filesystem/denyRead"]
        );
        assert_eq!(
            errors(json!({"sandbox": {"filesystem": {"allowWrite": [1]}}})),
            ["/sandbox/filesystem/allowWrite/0"]
        );
        assert_eq!(
            errors(json!({"sandbox": {"network": {"httpProxyPort": "3128"}}})),
            ["/sandbox/network/httpProxyPort"]
        );
        assert_eq!(
            errors(json!({"sandbox": {"network": []}})),
            ["/sandbox/network"]
        );
    }

    #[test]
    fn unknown_events_are_warnings() {
        let problems = validate(&json!({"hooks": {"Someday": []}}));
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].severity, Severity::Warning);
    }
}
