//! What of each event the store keeps: the one place that decides, for every source.
//!
//! In the `metadata` mode (the default) content is left out — prompts, tool output,
//! file contents, edit strings, assistant messages — and what was left out is listed
//! with the event (`claude_telemetry.elided` on hook events, `elided` on OTLP events),
//! so nobody mistakes a filtered copy for the original. `full` keeps everything the
//! sender delivered (the hook has already redacted credentials and bounded sizes).
//! OTLP metric points carry only labels, whose attributes the label policy of the
//! translation chooses.
//!
//! Spans ([`PrivacyFilter::span`], the one entry point for span attributes and events)
//! keep, in `metadata`, only the attributes known to be metadata; any other string,
//! list or map is left out and named in `elided` (numbers and flags say nothing of
//! content and stay). In every mode the strings kept have their credentials redacted.

use hook_protocol::{ENRICHMENT_KEY, HookEvent, redact_text};
use serde_json::{Map, Value};

use crate::config::Privacy;
use crate::event::{LogRecord, SpanRecord};

/// Hook event fields that hold content: prompts, output, prose.
const HOOK_CONTENT_FIELDS: &[&str] = &[
    "prompt",
    "tool_response",
    "last_assistant_message",
    "compact_summary",
    "error",
];
/// `tool_input` fields that hold content: what is written, edited or asked.
const HOOK_CONTENT_INPUT_FIELDS: &[&str] = &[
    "content",
    "old_string",
    "new_string",
    "edits",
    "new_source",
    "prompt",
];
/// OTLP log attributes that hold content: prompt and response text, tool inputs.
const LOG_CONTENT_ATTRIBUTES: &[&str] = &[
    "prompt",
    "response",
    "tool_input",
    "tool_parameters",
    "body",
];

/// Span attributes known to be metadata (Claude Code's span schema: ids, names, models,
/// counts, timings, decisions; commands and file paths are metadata, as in hook events).
/// Prompt text, tool input and output, error messages and hook definitions are not.
const SPAN_METADATA_ATTRIBUTES: &[&str] = &[
    // On every span.
    "user.id",
    "user.email",
    "user.name",
    "user.account_uuid",
    "user.account_id",
    "organization.id",
    "session.id",
    "prompt.id",
    "app.version",
    "terminal.type",
    "anthropic.provider",
    "anthropic.custom_base_url",
    "gen_ai.provider.name",
    "gen_ai.conversation.id",
    "gen_ai.operation.name",
    "span.type",
    // claude_code.interaction
    "user_prompt_length",
    "interaction.sequence",
    "interaction.duration_ms",
    "parent.source",
    "queued_sends",
    // claude_code.llm_request
    "model",
    "gen_ai.system",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "gen_ai.response.id",
    "gen_ai.response.finish_reasons",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_write.input_tokens",
    "query_source",
    "query_source_safe",
    "agent_id",
    "parent_agent_id",
    "workflow.run_id",
    "workflow.name",
    "speed",
    "llm_request.context",
    "duration_ms",
    "ttft_ms",
    "first_content_ms",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_creation_tokens",
    "request_id",
    "client_request_id",
    "attempt",
    "success",
    "status_code",
    "response.has_tool_call",
    "stop_reason",
    // claude_code.tool, .blocked_on_user, .execution
    "tool_name",
    "tool_name_safe",
    "gen_ai.tool.name",
    "gen_ai.tool.call.id",
    "tool_use_id",
    "result_tokens",
    "bash_command_class",
    "bash_argv0",
    "full_command",
    "file_path",
    "skill_name",
    "subagent_type",
    "decision",
    "source",
    "error.type",
    "error_class",
    // claude_code.hook
    "hook_event",
    "hook_name",
    "num_hooks",
    "num_success",
    "num_blocking",
    "num_non_blocking_error",
    "num_cancelled",
];
/// Span events whose attributes are metadata (`gen_ai.request.attempt`: the attempt
/// number and request id); any other event keeps its name and time only.
const SPAN_METADATA_EVENTS: &[&str] = &["gen_ai.request.attempt"];

/// The privacy mode, applied to each event before it is stored.
#[derive(Debug, Clone, Copy)]
pub struct PrivacyFilter {
    mode: Privacy,
}

impl PrivacyFilter {
    /// A filter for `mode`.
    pub fn new(mode: Privacy) -> PrivacyFilter {
        PrivacyFilter { mode }
    }

    /// Leaves out what a hook event must not keep; lists it in its enrichment. Returns
    /// whether anything was left out.
    pub fn hook_event(&self, event: &mut HookEvent) -> bool {
        if self.mode == Privacy::Full {
            return false;
        }
        let fields = event.fields_mut();
        let mut elided = Vec::new();
        for field in HOOK_CONTENT_FIELDS {
            if fields.remove(*field).is_some() {
                elided.push(Value::String((*field).to_owned()));
            }
        }
        if let Some(Value::Object(input)) = fields.get_mut("tool_input") {
            for field in HOOK_CONTENT_INPUT_FIELDS {
                if input.remove(*field).is_some() {
                    elided.push(Value::String(format!("tool_input.{field}")));
                }
            }
        }
        if elided.is_empty() {
            return false;
        }
        if let Some(Value::Object(enrichment)) = fields.get_mut(ENRICHMENT_KEY) {
            enrichment.insert("elided".to_owned(), Value::Array(elided));
        }
        true
    }

    /// Leaves out what an OTLP log event must not keep; lists it in the record.
    pub fn log_record(&self, record: &mut LogRecord) {
        if self.mode == Privacy::Full {
            return;
        }
        for key in LOG_CONTENT_ATTRIBUTES {
            if record.attributes.remove(*key).is_some() {
                record.elided.push((*key).to_owned());
            }
        }
    }
}

impl PrivacyFilter {
    /// Leaves out what a span must not keep (its attributes', events' and status's
    /// content) and lists it in the span; redacts credentials in what stays.
    pub fn span(&self, span: &mut SpanRecord) {
        let metadata = self.mode == Privacy::Metadata;
        let mut elided = Vec::new();
        keep_metadata(&mut span.attributes, metadata, "", &mut elided);
        for event in &mut span.events {
            let known = SPAN_METADATA_EVENTS.contains(&event.name.as_str());
            if metadata && !known && !event.attributes.is_empty() {
                event.attributes.clear();
                elided.push(format!("events.{}", event.name));
            } else {
                let prefix = format!("events.{}.", event.name);
                keep_metadata(&mut event.attributes, metadata, &prefix, &mut elided);
            }
        }
        for link in &mut span.links {
            keep_metadata(&mut link.attributes, metadata, "links.", &mut elided);
        }
        // With tool details on, the status message is the error's own text.
        if metadata && !span.status_message.is_empty() {
            span.status_message.clear();
            elided.push("status.message".to_owned());
        } else {
            redact(&mut span.status_message);
        }
        elided.dedup();
        span.elided = elided;
    }
}

/// In `metadata`, removes what is not known metadata (strings, lists and maps under other
/// keys) and names it in `elided`; in every mode redacts credentials in what stays.
fn keep_metadata(
    attributes: &mut Map<String, Value>,
    metadata: bool,
    prefix: &str,
    elided: &mut Vec<String>,
) {
    attributes.retain(|key, value| {
        let content = !matches!(value, Value::Number(_) | Value::Bool(_) | Value::Null);
        let keep = !metadata || !content || SPAN_METADATA_ATTRIBUTES.contains(&key.as_str());
        if !keep {
            elided.push(format!("{prefix}{key}"));
        }
        keep
    });
    for value in attributes.values_mut() {
        redact_json(value);
    }
}

fn redact(text: &mut String) {
    let (redacted, count) = redact_text(text);
    if count > 0 {
        *text = redacted;
    }
}

fn redact_json(value: &mut Value) {
    match value {
        Value::String(text) => redact(text),
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        Value::Object(map) => map.values_mut().for_each(redact_json),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::SpanEvent;
    use serde_json::json;

    fn hook(value: Value) -> HookEvent {
        HookEvent::from_value(value).unwrap()
    }

    #[test]
    fn metadata_leaves_content_out_of_hook_events_and_says_so() {
        let mut event = hook(json!({
            "hook_event_name": "PostToolUse",
            "tool_name": "Write",
            "tool_input": {"file_path": "/p/a.rs", "content": "secret code"},
            "tool_response": {"ok": true},
            "claude_telemetry": {"event_id": "e"}
        }));
        assert!(PrivacyFilter::new(Privacy::Metadata).hook_event(&mut event));
        let fields = event.fields();
        assert_eq!(fields["tool_input"], json!({"file_path": "/p/a.rs"}));
        assert!(!fields.contains_key("tool_response"));
        assert_eq!(
            fields["claude_telemetry"]["elided"],
            json!(["tool_response", "tool_input.content"])
        );
    }

    #[test]
    fn full_keeps_everything() {
        let original = json!({"hook_event_name": "UserPromptSubmit", "prompt": "hi"});
        let mut event = hook(original.clone());
        assert!(!PrivacyFilter::new(Privacy::Full).hook_event(&mut event));
        assert_eq!(Value::Object(event.fields().clone()), original);
    }

    #[test]
    fn metadata_leaves_content_out_of_log_events() {
        let mut record = LogRecord {
            event_name: "claude_code.user_prompt".to_owned(),
            attributes: json!({"prompt": "hi", "prompt_length": 2})
                .as_object()
                .unwrap()
                .clone(),
            resource: Default::default(),
            body: None,
            severity: None,
            elided: Vec::new(),
            trace_id: None,
            span_id: None,
        };
        PrivacyFilter::new(Privacy::Metadata).log_record(&mut record);
        assert_eq!(
            Value::Object(record.attributes.clone()),
            json!({"prompt_length": 2})
        );
        assert_eq!(record.elided, ["prompt"]);
    }

    fn span(attributes: Value) -> SpanRecord {
        SpanRecord {
            trace_id: "01".repeat(16),
            span_id: "02".repeat(8),
            parent_span_id: String::new(),
            name: "claude_code.tool.execution".to_owned(),
            kind: 1,
            start_ns: 1,
            end_ns: 2,
            status_code: 2,
            status_message: "Shell command failed: cat secret.txt".to_owned(),
            flags: 0,
            trace_state: String::new(),
            attributes: attributes.as_object().unwrap().clone(),
            events: vec![
                SpanEvent {
                    name: "tool.output".to_owned(),
                    time_ns: 2,
                    attributes: json!({"output": "file contents"})
                        .as_object()
                        .unwrap()
                        .clone(),
                },
                SpanEvent {
                    name: "gen_ai.request.attempt".to_owned(),
                    time_ns: 1,
                    attributes: json!({"attempt": 1}).as_object().unwrap().clone(),
                },
            ],
            links: Vec::new(),
            resource: Map::new(),
            scope_name: String::new(),
            scope_version: String::new(),
            elided: Vec::new(),
        }
    }

    #[test]
    fn spans_keep_only_metadata_and_say_what_went() {
        let mut record = span(json!({
            "session.id": "s", "tool_use_id": "t", "success": false, "duration_ms": 12,
            "error": "cat: secret.txt: No such file", "user_prompt": "my prompt",
            "full_command": "curl -H 'Authorization: Bearer sk-ant-abcdefghijklmnop' x",
            "something_new": "unknown text", "something_numeric": 3
        }));
        PrivacyFilter::new(Privacy::Metadata).span(&mut record);
        let kept: Vec<&str> = record.attributes.keys().map(String::as_str).collect();
        assert_eq!(
            kept,
            [
                "session.id",
                "tool_use_id",
                "success",
                "duration_ms",
                "full_command",
                "something_numeric"
            ]
        );
        assert!(
            !record.attributes["full_command"]
                .to_string()
                .contains("sk-ant-"),
            "credentials redacted: {}",
            record.attributes["full_command"]
        );
        assert_eq!(
            record.elided,
            [
                "error",
                "user_prompt",
                "something_new",
                "events.tool.output",
                "status.message"
            ]
        );
        assert!(record.events[0].attributes.is_empty());
        assert_eq!(record.events[1].attributes["attempt"], 1);
        assert_eq!(record.status_message, "");
        assert_eq!(record.status_code, 2, "the failure itself is metadata");
    }

    #[test]
    fn full_keeps_span_content_but_not_credentials() {
        let mut record = span(json!({"user_prompt": "token=ghp_abcdefghijklmnopqrstuvwx please"}));
        PrivacyFilter::new(Privacy::Full).span(&mut record);
        assert!(record.elided.is_empty());
        let prompt = record.attributes["user_prompt"].as_str().unwrap();
        assert!(
            prompt.contains("please") && !prompt.contains("ghp_"),
            "{prompt}"
        );
        assert_eq!(record.events[0].attributes["output"], "file contents");
        assert_eq!(
            record.status_message,
            "Shell command failed: cat secret.txt"
        );
    }
}
