//! Finding, in a slice of a session transcript (JSON lines), the tool calls Claude Code
//! denied.
//!
//! A transcript line is either an assistant message whose content holds `tool_use`
//! blocks, or a user message whose content holds the `tool_result` blocks answering them.
//! A denied call's result is an error. Releases since 2.1.332 say why on the line
//! (`permissionDecision: {decision: "reject", reasonType, ruleSource}`); older ones only in
//! the text given to the model, so for those the known texts of Claude Code's denials are
//! matched. Pure: bytes in, denials out; reading the file is the caller's.

use std::collections::HashMap;

use serde_json::Value;

/// How the guard's own denials begin (see `guard::Decision::message`); they were
/// recorded when the guard made them, so they are not reported again.
const GUARD_DENIAL: &str = "Blocked by claude-telemetry guard";

/// Why Claude Code denied a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DenialKind {
    /// A `permissions.deny` rule matched; `source` names its settings scope when known
    /// (`userSettings`, `projectSettings`, …).
    DenyRule {
        /// Where the rule is, as Claude Code names it.
        source: Option<String>,
    },
    /// The call needed an approval that no one gave: a non-interactive session that
    /// could not ask, or a person who said no.
    NotApproved,
    /// A hook other than ours blocked it.
    OtherHook,
    /// Any other reason Claude Code recorded (its `reasonType`).
    Other(String),
}

/// One denied tool call.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Denial {
    /// The call's id.
    pub tool_use_id: String,
    /// The tool, when its `tool_use` is in the same slice.
    pub tool_name: Option<String>,
    /// Its input, likewise.
    pub tool_input: Option<Value>,
    /// The prompt the call belonged to.
    pub prompt_id: Option<String>,
    /// When Claude Code wrote the denial (RFC 3339), if the line says.
    pub timestamp: Option<String>,
    /// Why.
    pub kind: DenialKind,
    /// The offset, in the slice read, just past the line that holds the denial.
    pub end: usize,
}

/// Whether `haystack` contains `needle` (a cheap test before parsing a line as JSON).
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// A tool call: its tool and input, by call id.
pub(crate) type Calls = HashMap<String, (String, Value)>;

/// The transcript lines that may hold a tool call or result, parsed, each with the
/// offset just past its line.
fn entries(lines: &[u8]) -> impl Iterator<Item = (Value, usize)> + '_ {
    let mut end = 0;
    lines
        .split(|&b| b == b'\n')
        .map(move |line| {
            end += line.len() + 1;
            (line, end)
        })
        .filter(|(line, _)| contains(line, b"\"tool_use\"") || contains(line, b"\"tool_result\""))
        .filter_map(|(line, end)| Some((serde_json::from_slice::<Value>(line).ok()?, end)))
}

/// Adds the tool calls of an assistant entry to `calls`.
fn add_calls(entry: &Value, calls: &mut Calls) {
    if entry["type"] != "assistant" {
        return;
    }
    let blocks = entry["message"]["content"].as_array().into_iter().flatten();
    for block in blocks.filter(|b| b["type"] == "tool_use") {
        if let (Some(id), Some(name)) = (block["id"].as_str(), block["name"].as_str()) {
            calls.insert(id.to_owned(), (name.to_owned(), block["input"].clone()));
        }
    }
}

/// The calls among `ids` made in `lines`: for denials whose call was written before the
/// part of the transcript being read.
pub(crate) fn calls_in(lines: &[u8], ids: &[&str]) -> Calls {
    let mut calls = Calls::new();
    for (entry, _) in entries(lines) {
        add_calls(&entry, &mut calls);
    }
    calls.retain(|id, _| ids.contains(&id.as_str()));
    calls
}

/// The denials in `lines` (complete JSON lines), in transcript order. Lines that are not
/// JSON, or not of the expected shape, are skipped: a transcript is Claude Code's, and
/// its format is not ours to enforce.
pub(crate) fn denials_in(lines: &[u8]) -> Vec<Denial> {
    let mut calls = Calls::new();
    let mut denials = Vec::new();
    for (entry, end) in entries(lines) {
        let Some(blocks) = entry["message"]["content"].as_array() else {
            continue;
        };
        match entry["type"].as_str() {
            Some("assistant") => add_calls(&entry, &mut calls),
            Some("user") => {
                for block in blocks.iter().filter(|b| b["type"] == "tool_result") {
                    let Some(id) = block["tool_use_id"].as_str() else {
                        continue;
                    };
                    let call = calls.remove(id);
                    if block["is_error"] != Value::Bool(true) {
                        continue;
                    }
                    let Some(kind) = classify(&entry, &text_of(&block["content"])) else {
                        continue;
                    };
                    let (tool_name, tool_input) =
                        call.map_or((None, None), |(n, i)| (Some(n), Some(i)));
                    denials.push(Denial {
                        tool_use_id: id.to_owned(),
                        tool_name,
                        tool_input,
                        prompt_id: entry["promptId"].as_str().map(str::to_owned),
                        timestamp: entry["timestamp"].as_str().map(str::to_owned),
                        kind,
                        end,
                    });
                }
            }
            _ => {}
        }
    }
    denials
}

/// The text of a tool result: a string, or its text blocks.
fn text_of(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// Why the error result on `entry` is a denial; `None` when it is not one, or when
/// someone else records it (the guard, or Claude Code's own `PermissionDenied` hook for
/// auto mode's classifier).
fn classify(entry: &Value, text: &str) -> Option<DenialKind> {
    if text.contains(GUARD_DENIAL) {
        return None;
    }
    let decision = &entry["permissionDecision"];
    if decision.is_object() {
        if decision["decision"] != "reject" {
            return None;
        }
        return match decision["reasonType"].as_str() {
            Some("rule" | "subcommandResults") => Some(DenialKind::DenyRule {
                source: decision["ruleSource"].as_str().map(str::to_owned),
            }),
            Some("hook") => Some(DenialKind::OtherHook),
            // Auto mode fires PermissionDenied itself, which the hook records.
            Some("classifier") => None,
            Some(other) => Some(DenialKind::Other(other.to_owned())),
            None => Some(DenialKind::NotApproved),
        };
    }
    classify_text(text)
}

/// Releases before `permissionDecision` (2.1.197): the texts Claude Code gives the model
/// when it denies a call.
fn classify_text(text: &str) -> Option<DenialKind> {
    let text = text.trim();
    let rule = text.contains("is denied by your permission settings")
        || (text.starts_with("Permission to use ") && text.contains(" has been denied"));
    let not_approved = (text.starts_with("Claude requested permissions to ")
        && text.contains("but you haven't granted it yet"))
        || text.contains("was blocked. For security, Claude Code may only")
        || text.starts_with("The user doesn't want to proceed with this tool use");
    if rule {
        Some(DenialKind::DenyRule { source: None })
    } else if not_approved {
        Some(DenialKind::NotApproved)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(id: &str, name: &str, input: Value) -> String {
        json!({"type": "assistant", "timestamp": "2026-11-29T08:00:00.000Z",
            "message": {"role": "assistant", "content": [{"type": "tool_use", "id": id, "name": name, "input": input}]}})
        .to_string()
    }

    fn result(id: &str, text: &str, is_error: bool, decision: Option<Value>) -> String {
        let mut entry = json!({"type": "user", "promptId": "p1", "timestamp": "2026-11-29T08:00:01.500Z",
            "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": id, "content": text, "is_error": is_error}]},
            "toolUseResult": format!("Error: {text}")});
        if let Some(decision) = decision {
            entry["permissionDecision"] = decision;
        }
        entry.to_string()
    }

    fn transcript(lines: &[String]) -> Vec<u8> {
        let mut text = lines.join("\n");
        text.push('\n');
        text.into_bytes()
    }

    /// What 2.1.332 wrote for a session with denials of every kind (texts shortened).
    #[test]
    fn denials_of_a_release_that_says_why() {
        let rule = json!({"decision": "reject", "source": "user_reject", "reasonType": "rule", "ruleSource": "userSettings", "reasonCode": "rule:userSettings"});
        let bash_rule = json!({"decision": "reject", "source": "config", "reasonType": "subcommandResults", "ruleSource": "projectSettings"});
        let hook = json!({"decision": "reject", "source": "hook", "reasonType": "hook", "reasonCode": "hook:PreToolUse"});
        let prompt = json!({"decision": "reject", "source": "config", "reasonCode": "unknown"});
        let auto = json!({"decision": "reject", "reasonType": "classifier"});
        let accepted = json!({"decision": "accept", "source": "config", "reasonType": "mode"});
        let lines = [
            call("t1", "Read", json!({"file_path": "/p/.env"})),
            result(
                "t1",
                "<tool_use_error>File is in a directory that is denied by your permission settings.</tool_use_error>",
                true,
                Some(rule),
            ),
            call("t2", "Bash", json!({"command": "rm -rf ~"})),
            result(
                "t2",
                "PreToolUse:Bash hook error: Blocked by claude-telemetry guard, rule rm.home: …",
                true,
                Some(hook.clone()),
            ),
            call("t3", "Bash", json!({"command": "curl x"})),
            result(
                "t3",
                "Permission to use Bash with command curl x has been denied.",
                true,
                Some(bash_rule),
            ),
            call(
                "t4",
                "Write",
                json!({"file_path": "/p/w.txt", "content": "x"}),
            ),
            result(
                "t4",
                "Claude requested permissions to write to /p/w.txt, but you haven't granted it yet.",
                true,
                Some(prompt),
            ),
            call("t5", "Bash", json!({"command": "make"})),
            result(
                "t5",
                "PreToolUse:Bash hook error: lint says no",
                true,
                Some(hook),
            ),
            call("t6", "Bash", json!({"command": "ls /nope"})),
            result("t6", "Exit code 2", true, Some(accepted)),
            call("t7", "Bash", json!({"command": "deploy"})),
            result(
                "t7",
                "Bash was not run: auto mode's safety check …",
                true,
                Some(auto),
            ),
        ];
        let found = denials_in(&transcript(&lines));
        let kinds: Vec<(&str, &DenialKind)> = found
            .iter()
            .map(|d| (d.tool_use_id.as_str(), &d.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                (
                    "t1",
                    &DenialKind::DenyRule {
                        source: Some("userSettings".into())
                    }
                ),
                (
                    "t3",
                    &DenialKind::DenyRule {
                        source: Some("projectSettings".into())
                    }
                ),
                ("t4", &DenialKind::NotApproved),
                ("t5", &DenialKind::OtherHook),
            ]
        );
        assert_eq!(found[0].tool_name.as_deref(), Some("Read"));
        assert_eq!(found[0].tool_input, Some(json!({"file_path": "/p/.env"})));
        assert_eq!(found[0].prompt_id.as_deref(), Some("p1"));
        assert_eq!(
            found[0].timestamp.as_deref(),
            Some("2026-11-29T08:00:01.500Z")
        );
    }

    /// What 2.1.197 wrote: no `permissionDecision`, only the texts.
    #[test]
    fn denials_of_a_release_that_only_tells_the_model() {
        let lines = [
            call("a", "Read", json!({"file_path": "/p/.env"})),
            result(
                "a",
                "<tool_use_error>File is in a directory that is denied by your permission settings.</tool_use_error>",
                true,
                None,
            ),
            call("b", "Bash", json!({"command": "cat .env"})),
            result(
                "b",
                "Blocked by claude-telemetry guard, rule env.read: …",
                true,
                None,
            ),
            call("c", "Bash", json!({"command": "curl x"})),
            result(
                "c",
                "Permission to use Bash with command curl x has been denied.",
                true,
                None,
            ),
            call("d", "Bash", json!({"command": "touch made.txt"})),
            result(
                "d",
                "touch in '/p/made.txt' was blocked. For security, Claude Code may only create or modify files in the allowed working directories for this session: '/p'.",
                true,
                None,
            ),
            call("e", "Bash", json!({"command": "ls /nope"})),
            result("e", "Exit code 2\nls: cannot access '/nope'", true, None),
            call("f", "Read", json!({"file_path": "/p/notes.md"})),
            result(
                "f",
                "Permission to use Bash with command curl has been denied.",
                false,
                None,
            ),
        ];
        let found = denials_in(&transcript(&lines));
        let kinds: Vec<(&str, &DenialKind)> = found
            .iter()
            .map(|d| (d.tool_use_id.as_str(), &d.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                ("a", &DenialKind::DenyRule { source: None }),
                ("c", &DenialKind::DenyRule { source: None }),
                ("d", &DenialKind::NotApproved),
            ]
        );
    }

    #[test]
    fn hostile_and_partial_lines_are_skipped() {
        let mut bytes = transcript(&[
            call("x", "Read", json!({"file_path": "/p/.env"})),
            "{\"type\": \"user\", \"message\": {\"content\": \"tool_result\"}}".to_owned(),
            "not json but mentions \"tool_result\"".to_owned(),
            json!({"type": "user", "message": {"content": [{"type": "tool_result", "is_error": true, "content": 7}]}}).to_string(),
            json!({"type": "user", "message": {"content": [{"type": "tool_result", "tool_use_id": "y", "is_error": true, "content": [{"type": "text", "text": "Permission to use Bash has been denied."}]}]}}).to_string(),
        ]);
        bytes.extend_from_slice(b"\xff\xfe{\"tool_result\"\n");
        let found = denials_in(&bytes);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].tool_use_id, "y");
        assert_eq!(found[0].tool_name, None, "its call is not in the slice");
        assert!(denials_in(b"").is_empty());
    }

    #[test]
    fn calls_written_before_are_found_by_id() {
        let earlier = transcript(&[
            call("x", "Read", json!({"file_path": "/p/.env"})),
            call("z", "Bash", json!({"command": "ls"})),
        ]);
        let calls = calls_in(&earlier, &["x", "missing"]);
        assert_eq!(calls.len(), 1);
        assert_eq!(
            calls["x"],
            ("Read".to_owned(), json!({"file_path": "/p/.env"}))
        );
    }
}
