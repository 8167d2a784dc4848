//! What of each event the store keeps: the one place that decides, for every source.
//!
//! In the `metadata` mode (the default) content is left out — prompts, tool output,
//! file contents, edit strings, assistant messages — and what was left out is listed
//! with the event (`claude_telemetry.elided` on hook events, `elided` on OTLP events),
//! so nobody mistakes a filtered copy for the original. `full` keeps everything the
//! sender delivered (the hook has already redacted credentials and bounded sizes).
//! OTLP metric points carry only labels, whose attributes the label policy of the
//! translation chooses.

use hook_protocol::{ENRICHMENT_KEY, HookEvent};
use serde_json::Value;

use crate::config::Privacy;
use crate::event::LogRecord;

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

#[cfg(test)]
mod tests {
    use super::*;
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
        };
        PrivacyFilter::new(Privacy::Metadata).log_record(&mut record);
        assert_eq!(
            Value::Object(record.attributes.clone()),
            json!({"prompt_length": 2})
        );
        assert_eq!(record.elided, ["prompt"]);
    }
}
