//! The allowlist of hook events: which fields of each event, tool input and tool response
//! are metadata, and which hold prompt text.
//!
//! Read from Claude Code's hooks reference and from the payloads it sends (2.1.197 and
//! 2.1.332). A field not listed is content. Tools are described by name: the input and
//! response of a tool not listed here (an MCP tool, a tool of a later release) are
//! content, whatever their keys say.

use super::Node::{self, Fields, Meta, Prompt, ToolInput, ToolResponse};
use super::{Call, Level, judge};
use crate::enrichment::ENRICHMENT_KEY;
use crate::event::HookEvent;

/// Fields that mean the same in every event.
const COMMON: &[(&str, Node)] = &[
    ("hook_event_name", Meta),
    ("session_id", Meta),
    ("transcript_path", Meta),
    ("cwd", Meta),
    ("prompt_id", Meta),
    ("permission_mode", Meta),
    ("tool_name", Meta),
    ("tool_use_id", Meta),
    ("agent_id", Meta),
    ("agent_type", Meta),
    ("agent_transcript_path", Meta),
    ("turn_id", Meta),
    ("message_id", Meta),
    ("source", Meta),
    ("trigger", Meta),
    ("model", Meta),
    ("memory_type", Meta),
    ("load_reason", Meta),
    ("file_path", Meta),
    ("trigger_file_path", Meta),
    ("parent_file_path", Meta),
    ("globs", Meta),
    ("command_name", Meta),
    ("command_source", Meta),
    ("invoked_by", Meta),
    ("expansion_type", Meta),
    ("notification_type", Meta),
    ("old_cwd", Meta),
    ("new_cwd", Meta),
    ("directory", Meta),
    ("worktree_path", Meta),
    ("task_id", Meta),
    ("teammate_name", Meta),
    ("team_name", Meta),
    ("mcp_server_name", Meta),
    ("elicitation_id", Meta),
    ("mode", Meta),
    ("action", Meta),
    ("effort", Fields(&[("level", Meta)])),
    ("tool_input", ToolInput),
    ("tool_response", ToolResponse),
    ("tool_calls", Fields(TOOL_CALL)),
    ("background_tasks", Fields(BACKGROUND_TASK)),
    ("session_crons", Fields(&[("id", Meta), ("schedule", Meta)])),
    ("permission_suggestions", Fields(PERMISSION_SUGGESTION)),
    (ENRICHMENT_KEY, Fields(ENRICHMENT)),
];

/// Fields whose meaning depends on the event: prompt text where the user typed it, and
/// words that name a kind of thing in one event but hold a message in others (`error`
/// is an error type on StopFailure, a message on PostToolUseFailure; `reason` a closed
/// set on SessionEnd, the classifier's explanation on PermissionDenied).
const BY_EVENT: &[(&str, &[(&str, Node)])] = &[
    ("UserPromptSubmit", &[("prompt", Prompt)]),
    (
        "UserPromptExpansion",
        &[("prompt", Prompt), ("command_args", Prompt)],
    ),
    ("StopFailure", &[("error", Meta)]),
    ("SessionEnd", &[("reason", Meta)]),
    ("FileChanged", &[("event", Meta)]),
    ("WorktreeCreate", &[("name", Meta)]),
];

/// One call of a PostToolBatch: its own `tool_name` names the tool of its input and
/// response.
const TOOL_CALL: &[(&str, Node)] = &[
    ("tool_name", Meta),
    ("tool_use_id", Meta),
    ("tool_input", ToolInput),
    ("tool_response", ToolResponse),
];

const BACKGROUND_TASK: &[(&str, Node)] = &[
    ("id", Meta),
    ("type", Meta),
    ("status", Meta),
    ("agent_type", Meta),
    ("server", Meta),
    ("tool", Meta),
    ("name", Meta),
];

const PERMISSION_SUGGESTION: &[(&str, Node)] = &[
    ("type", Meta),
    ("behavior", Meta),
    ("destination", Meta),
    ("mode", Meta),
    ("directories", Meta),
    // `ruleContent` is the command or path a rule would allow: content.
    ("rules", Fields(&[("toolName", Meta)])),
];

/// What the hook (or the collector) added: ids, who and where, sizes, and the guard's
/// decision with the part of the input it points at — the audit trail's evidence,
/// redacted like everything kept.
const ENRICHMENT: &[(&str, Node)] = &[
    ("event_id", Meta),
    ("received_at", Meta),
    ("host", Meta),
    ("user_name", Meta),
    ("user_email", Meta),
    ("project", Meta),
    ("project_name", Meta),
    ("hook_version", Meta),
    ("truncated", Fields(&[("path", Meta)])),
    (
        "guard",
        Fields(&[
            ("decision", Meta),
            ("rule", Meta),
            ("category", Meta),
            ("reason", Meta),
            ("version", Meta),
            ("span", Fields(&[("field", Meta), ("text", Meta)])),
        ]),
    ),
];

/// The input fields of the tools Claude Code ships that are paths, names or models.
const TOOL_INPUTS: &[(&str, &[(&str, Node)])] = &[
    ("Read", &[("file_path", Meta)]),
    ("Write", &[("file_path", Meta)]),
    ("Edit", &[("file_path", Meta)]),
    ("MultiEdit", &[("file_path", Meta)]),
    (
        "NotebookEdit",
        &[
            ("notebook_path", Meta),
            ("cell_id", Meta),
            ("cell_type", Meta),
            ("edit_mode", Meta),
        ],
    ),
    ("Glob", &[("pattern", Meta), ("path", Meta)]),
    (
        "Grep",
        &[
            ("path", Meta),
            ("glob", Meta),
            ("type", Meta),
            ("output_mode", Meta),
        ],
    ),
    ("LS", &[("path", Meta), ("ignore", Meta)]),
    (
        "WebSearch",
        &[("allowed_domains", Meta), ("blocked_domains", Meta)],
    ),
    ("Agent", &[("subagent_type", Meta), ("model", Meta)]),
    ("Task", &[("subagent_type", Meta), ("model", Meta)]),
    ("Skill", &[("skill", Meta)]),
    ("ExitPlanMode", &[("planFilePath", Meta)]),
];

/// Token counts of an API response, as the Agent tool reports its subagent's.
const USAGE: &[(&str, Node)] = &[
    ("service_tier", Meta),
    ("speed", Meta),
    ("inference_geo", Meta),
    ("cache_creation", Fields(&[])),
    ("server_tool_use", Fields(&[])),
];

/// The response fields of the tools Claude Code ships that are paths, names, models or
/// hold only numbers.
const TOOL_RESPONSES: &[(&str, &[(&str, Node)])] = &[
    (
        "Read",
        &[("type", Meta), ("file", Fields(&[("filePath", Meta)]))],
    ),
    ("Write", &[("type", Meta), ("filePath", Meta)]),
    ("Edit", &[("type", Meta), ("filePath", Meta)]),
    ("MultiEdit", &[("type", Meta), ("filePath", Meta)]),
    ("Glob", &[("filenames", Meta)]),
    ("Grep", &[("mode", Meta), ("filenames", Meta)]),
    ("Agent", AGENT_RESPONSE),
    ("Task", AGENT_RESPONSE),
];

const AGENT_RESPONSE: &[(&str, Node)] = &[
    ("status", Meta),
    ("agentId", Meta),
    ("agentType", Meta),
    ("resolvedModel", Meta),
    ("modelsUsed", Meta),
    ("usage", Fields(USAGE)),
    ("toolStats", Fields(&[])),
];

fn tool_table(
    tables: &[(&str, &'static [(&'static str, Node)])],
    tool: &str,
) -> &'static [(&'static str, Node)] {
    tables
        .iter()
        .find(|(name, _)| *name == tool)
        .map_or(&[], |(_, fields)| *fields)
}

/// The input of a shell call the guard denied or asked about: the command is the audit
/// trail's evidence of what was stopped, kept (redacted) at every level.
const BLOCKED_SHELL: &[(&str, Node)] = &[("command", Meta)];

/// What of a tool's input is metadata.
pub(super) fn tool_input(call: Call<'_>) -> &'static [(&'static str, Node)] {
    if call.blocked && matches!(call.tool, "Bash" | "PowerShell") {
        return BLOCKED_SHELL;
    }
    tool_table(TOOL_INPUTS, call.tool)
}

/// What of a tool's response is metadata.
pub(super) fn tool_response(tool: &str) -> &'static [(&'static str, Node)] {
    tool_table(TOOL_RESPONSES, tool)
}

fn top_level(event: &str, key: &str) -> Option<Node> {
    BY_EVENT
        .iter()
        .filter(|(name, _)| *name == event)
        .find_map(|(_, fields)| super::field(fields, key))
        .or_else(|| super::field(COMMON, key))
}

impl HookEvent {
    /// Keeps what `level` keeps of the event, its enrichment included, and replaces the
    /// rest by size notes; returns how many values were replaced. `decision` is the
    /// guard's on this call (`allow`, `ask`, `deny`), if it judged it: the command of a
    /// call it stopped is kept as the audit trail's evidence.
    pub fn keep(&mut self, level: Level, decision: Option<&str>) -> usize {
        let event = self.event_name().unwrap_or("").to_owned();
        let tool = self.tool_name().unwrap_or("").to_owned();
        let call = Call {
            tool: &tool,
            blocked: decision.is_some_and(|decision| decision != "allow"),
        };
        self.fields_mut()
            .iter_mut()
            .map(|(key, value)| judge(value, top_level(&event, key), call, level))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn kept(level: Level, value: Value) -> Value {
        let mut event = HookEvent::from_value(value).unwrap();
        event.keep(level, None);
        Value::Object(event.fields().clone())
    }

    #[test]
    fn metadata_keeps_ids_names_paths_and_numbers_and_sizes_the_rest() {
        let event = json!({
            "hook_event_name": "PostToolUse",
            "session_id": "s",
            "cwd": "/p",
            "tool_name": "Write",
            "tool_input": {"file_path": "/p/a.rs", "content": "fn main() {}"},
            "tool_response": {"type": "create", "filePath": "/p/a.rs", "content": "fn main() {}",
                "structuredPatch": [{"lines": ["+x"]}], "userModified": false},
            "duration_ms": 12,
        });
        assert_eq!(
            kept(Level::Metadata, event),
            json!({
                "hook_event_name": "PostToolUse",
                "session_id": "s",
                "cwd": "/p",
                "tool_name": "Write",
                "tool_input": {"file_path": "/p/a.rs", "content": {"elided_bytes": 12}},
                "tool_response": {"type": "create", "filePath": "/p/a.rs",
                    "content": {"elided_bytes": 12}, "structuredPatch": {"elided_bytes": 18},
                    "userModified": false},
                "duration_ms": 12,
            })
        );
    }

    #[test]
    fn commands_are_content() {
        let event = json!({"hook_event_name": "PreToolUse", "tool_name": "Bash",
            "tool_input": {"command": "ls", "description": "List", "timeout": 5}});
        assert_eq!(
            kept(Level::Metadata, event)["tool_input"],
            json!({"command": {"elided_bytes": 2}, "description": {"elided_bytes": 4}, "timeout": 5})
        );
    }

    #[test]
    fn the_command_of_a_call_the_guard_stopped_is_the_audit_trails_evidence() {
        let event = json!({"hook_event_name": "PreToolUse", "tool_name": "Bash",
            "tool_input": {"command": "rm -rf ~", "description": "clean"}});
        for (decision, kept) in [
            (Some("deny"), true),
            (Some("ask"), true),
            (Some("allow"), false),
            (None, false),
        ] {
            let mut judged = HookEvent::from_value(event.clone()).unwrap();
            judged.keep(Level::Metadata, decision);
            let input = &judged.fields()["tool_input"];
            assert_eq!(input["command"] == "rm -rf ~", kept, "{decision:?}");
            assert_eq!(input["description"], json!({"elided_bytes": 5}));
        }
        // A stopped Write keeps its path, never its content.
        let mut write = HookEvent::from_value(json!({"hook_event_name": "PreToolUse",
            "tool_name": "Write", "tool_input": {"file_path": "/p/.env", "content": "A=1"}}))
        .unwrap();
        write.keep(Level::Metadata, Some("deny"));
        assert_eq!(
            write.fields()["tool_input"],
            json!({"file_path": "/p/.env", "content": {"elided_bytes": 3}})
        );
    }

    #[test]
    fn each_call_of_a_batch_is_judged_by_its_own_tool() {
        let event = json!({"hook_event_name": "PostToolBatch", "tool_calls": [
            {"tool_name": "Read", "tool_input": {"file_path": "/a"}, "tool_use_id": "t1",
             "tool_response": "secret text"},
            {"tool_name": "Write", "tool_input": {"file_path": "/b", "content": "body"},
             "tool_use_id": "t2", "tool_response": {"filePath": "/b"}},
        ]});
        assert_eq!(
            kept(Level::Metadata, event)["tool_calls"],
            json!([
                {"tool_name": "Read", "tool_input": {"file_path": "/a"}, "tool_use_id": "t1",
                 "tool_response": {"elided_bytes": 11}},
                {"tool_name": "Write", "tool_input": {"file_path": "/b", "content": {"elided_bytes": 4}},
                 "tool_use_id": "t2", "tool_response": {"filePath": "/b"}},
            ])
        );
    }

    #[test]
    fn tools_not_described_keep_nothing_whatever_their_keys_say() {
        let event = json!({"hook_event_name": "PreToolUse", "tool_name": "mcp__db__query",
            "tool_input": {"file_path": "select secret", "nested": {"id": 1}}});
        assert_eq!(
            kept(Level::Metadata, event)["tool_input"],
            json!({"file_path": {"elided_bytes": 13}, "nested": {"elided_bytes": 8}})
        );
    }

    #[test]
    fn prompts_are_kept_from_the_prompts_level_and_nothing_else_is() {
        let event = json!({"hook_event_name": "UserPromptSubmit", "prompt": "fix it",
            "session_id": "s"});
        assert_eq!(
            kept(Level::Metadata, event.clone())["prompt"],
            json!({"elided_bytes": 6})
        );
        assert_eq!(kept(Level::Prompts, event.clone())["prompt"], "fix it");
        assert_eq!(kept(Level::Full, event.clone()), event);
        // A prompt field elsewhere is not the user's prompt.
        let agent = json!({"hook_event_name": "PreToolUse", "tool_name": "Agent",
            "tool_input": {"prompt": "do x", "subagent_type": "Explore"}});
        assert_eq!(
            kept(Level::Prompts, agent)["tool_input"],
            json!({"prompt": {"elided_bytes": 4}, "subagent_type": "Explore"})
        );
        let display = json!({"hook_event_name": "MessageDisplay", "delta": "the answer"});
        assert_eq!(
            kept(Level::Prompts, display)["delta"],
            json!({"elided_bytes": 10})
        );
    }

    #[test]
    fn words_that_differ_by_event_are_judged_by_event() {
        let failure = json!({"hook_event_name": "StopFailure", "error": "rate_limit",
            "error_details": "429 body"});
        let failure = kept(Level::Metadata, failure);
        assert_eq!(failure["error"], "rate_limit");
        assert_eq!(failure["error_details"], json!({"elided_bytes": 8}));
        let tool_failure = json!({"hook_event_name": "PostToolUseFailure", "error": "ls: x"});
        assert_eq!(
            kept(Level::Metadata, tool_failure)["error"],
            json!({"elided_bytes": 5})
        );
        let end = json!({"hook_event_name": "SessionEnd", "reason": "other"});
        assert_eq!(kept(Level::Metadata, end)["reason"], "other");
        let denied = json!({"hook_event_name": "PermissionDenied", "reason": "it ran rm"});
        assert_eq!(
            kept(Level::Metadata, denied)["reason"],
            json!({"elided_bytes": 9})
        );
    }

    #[test]
    fn events_and_fields_not_known_yet_keep_only_numbers_and_flags() {
        let event = json!({"hook_event_name": "BrandNew", "session_id": "s", "text": "hi",
            "count": 3, "ok": true, "list": ["a"], "obj": {"k": "v"}});
        assert_eq!(
            kept(Level::Metadata, event),
            json!({"hook_event_name": "BrandNew", "session_id": "s", "text": {"elided_bytes": 2},
                "count": 3, "ok": true, "list": {"elided_bytes": 5}, "obj": {"elided_bytes": 9}})
        );
    }

    #[test]
    fn the_enrichment_keeps_its_own_fields_only() {
        let event = json!({"hook_event_name": "PreToolUse", "claude_telemetry": {
            "event_id": "e", "host": "h", "hook_latency_us": 3,
            "guard": {"decision": "deny", "rule": "rm.home", "reason": "why",
                "span": {"field": "command", "start": 0, "end": 8, "text": "rm -rf ~"}},
            "smuggled": "content"}});
        let enrichment = &kept(Level::Metadata, event)["claude_telemetry"];
        assert_eq!(enrichment["guard"]["span"]["text"], "rm -rf ~");
        assert_eq!(enrichment["host"], "h");
        assert_eq!(enrichment["smuggled"], json!({"elided_bytes": 7}));
    }

    #[test]
    fn arrays_of_metadata_and_nested_counts_are_kept() {
        let event = json!({"hook_event_name": "PostToolUse", "tool_name": "Agent",
            "tool_response": {"status": "completed", "content": [{"type": "text", "text": "x"}],
                "usage": {"input_tokens": 3, "service_tier": "standard",
                    "cache_creation": {"ephemeral_5m_input_tokens": 1}},
                "modelsUsed": ["a", "b"]},
            "permission_suggestions": [{"type": "addRules", "rules": [
                {"toolName": "Bash", "ruleContent": "rm -rf x"}], "directories": ["/d"]}]});
        let kept = kept(Level::Metadata, event);
        assert_eq!(
            kept["tool_response"]["usage"]["cache_creation"]["ephemeral_5m_input_tokens"],
            1
        );
        assert_eq!(kept["tool_response"]["modelsUsed"], json!(["a", "b"]));
        assert_eq!(
            kept["tool_response"]["content"],
            json!({"elided_bytes": 28})
        );
        assert_eq!(
            kept["permission_suggestions"][0]["rules"][0],
            json!({"toolName": "Bash", "ruleContent": {"elided_bytes": 8}})
        );
        assert_eq!(
            kept["permission_suggestions"][0]["directories"],
            json!(["/d"])
        );
    }
}
