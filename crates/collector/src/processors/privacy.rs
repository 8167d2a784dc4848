//! What of each event the store keeps: the one place in the collector that decides, for
//! every source — hook events, OTLP log events, OTLP metric points, and attribute maps of
//! any other OTLP signal (spans, span events) through [`PrivacyFilter::attributes`].
//!
//! The privacy level's allowlist (`hook_protocol::privacy`, shared with the hook) keeps
//! metadata and, from the `prompts` level up, prompt text; everything else is replaced by
//! its size. Every string that is kept then has its credentials redacted, at every level,
//! OTLP attributes and label values included. The hook has applied its own level before
//! delivering; the collector applies its own again, so what it stores never exceeds its
//! level whatever a sender did.

use hook_protocol::privacy::{Level, keep_attributes, keep_content};
use hook_protocol::{HookEvent, redact_text};
use serde_json::{Map, Value};

use crate::event::{LogRecord, Point, SpanRecord};

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

/// The privacy level, applied to each event before it is stored.
#[derive(Debug, Clone, Copy)]
pub struct PrivacyFilter {
    level: Level,
}

impl PrivacyFilter {
    /// A filter for `level`.
    pub fn new(level: Level) -> PrivacyFilter {
        PrivacyFilter { level }
    }

    /// The level.
    pub fn level(&self) -> Level {
        self.level
    }

    /// Keeps what the level keeps of a hook event (its enrichment included) and redacts
    /// what is kept; `decision` is the guard's on the call. Returns whether anything
    /// changed (an event from the hook at the same level arrives as it will be stored).
    pub fn hook_event(&self, event: &mut HookEvent, decision: Option<&str>) -> bool {
        let elided = event.keep(self.level, decision);
        let redacted = event.redact();
        elided + redacted > 0
    }

    /// Keeps what the level keeps of an OTLP log event and redacts what is kept. The body
    /// is kept when it only names the event, as Claude Code's do.
    pub fn log_record(&self, record: &mut LogRecord) {
        self.attributes(&record.event_name, &mut record.attributes, &record.resource);
        if let Some(body) = &mut record.body
            && !names_event(body, &record.event_name)
        {
            keep_content(self.level, body);
            redact(body);
        }
        for value in record.resource.values_mut() {
            redact(value);
        }
    }

    /// Keeps what the level keeps of the attributes of an OTLP log event or span named
    /// `name` and redacts what is kept. `resource` is the resource's attributes: their
    /// copies on the record are configuration, kept.
    pub fn attributes(
        &self,
        name: &str,
        attributes: &mut Map<String, Value>,
        resource: &Map<String, Value>,
    ) {
        keep_attributes(self.level, name, attributes, resource);
        for value in attributes.values_mut() {
            redact(value);
        }
    }

    /// Redacts credentials in the labels of translated metric points (and in the stream
    /// they are judged by, made of the same attributes). Metric attributes are
    /// dimensions, metadata by nature, and are kept.
    pub fn points(&self, points: &mut [Point]) {
        for point in points {
            for (_, value) in &mut point.labels {
                let (redacted, found) = redact_text(value);
                if found > 0 {
                    *value = redacted;
                }
            }
            let (stream, found) = redact_text(&point.stream);
            if found > 0 {
                point.stream = stream;
            }
        }
    }

    /// Keeps what the level keeps of a span: below `full`, only the attributes known to
    /// be metadata (numbers and flags say nothing of content and stay), events other than
    /// the known metadata ones lose their attributes, and the status message (the error's
    /// own text when tool details are on) goes; what went is named in `elided`. Credentials
    /// are redacted in what stays, at every level.
    pub fn span(&self, span: &mut SpanRecord) {
        let metadata = self.level != Level::Full;
        let mut elided = Vec::new();
        keep_span_metadata(&mut span.attributes, metadata, "", &mut elided);
        for event in &mut span.events {
            let known = SPAN_METADATA_EVENTS.contains(&event.name.as_str());
            if metadata && !known && !event.attributes.is_empty() {
                event.attributes.clear();
                elided.push(format!("events.{}", event.name));
            } else {
                let prefix = format!("events.{}.", event.name);
                keep_span_metadata(&mut event.attributes, metadata, &prefix, &mut elided);
            }
        }
        for link in &mut span.links {
            keep_span_metadata(&mut link.attributes, metadata, "links.", &mut elided);
        }
        if metadata && !span.status_message.is_empty() {
            span.status_message.clear();
            elided.push("status.message".to_owned());
        } else {
            let (redacted, found) = redact_text(&span.status_message);
            if found > 0 {
                span.status_message = redacted;
            }
        }
        elided.dedup();
        span.elided = elided;
    }
}

fn names_event(body: &Value, event_name: &str) -> bool {
    body.as_str().is_some_and(|body| {
        body == event_name || event_name.strip_prefix("claude_code.") == Some(body)
    })
}

fn redact(value: &mut Value) {
    hook_protocol::redact_value(value);
}

/// Below `full`, removes what is not known span metadata (strings, lists and maps under
/// other keys) and names it in `elided`; at every level redacts credentials in what stays.
fn keep_span_metadata(
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
        redact(value);
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

    fn log(name: &str, attributes: Value, body: Option<&str>) -> LogRecord {
        LogRecord {
            event_name: name.to_owned(),
            attributes: attributes.as_object().unwrap().clone(),
            resource: json!({"service.name": "claude-code", "team.id": "token=s3cr3tv4lue"})
                .as_object()
                .unwrap()
                .clone(),
            body: body.map(Value::from),
            severity: None,
            trace_id: None,
            span_id: None,
        }
    }

    #[test]
    fn metadata_sizes_content_of_hook_events_and_redacts_what_is_kept() {
        let mut event = hook(json!({
            "hook_event_name": "PostToolUse",
            "tool_name": "Write",
            "cwd": "/p/api_key=abcd1234efgh",
            "tool_input": {"file_path": "/p/a.rs", "content": "secret code"},
            "tool_response": {"ok": true},
            "claude_telemetry": {"event_id": "e"}
        }));
        assert!(PrivacyFilter::new(Level::Metadata).hook_event(&mut event, None));
        let fields = event.fields();
        assert_eq!(
            fields["tool_input"],
            json!({"file_path": "/p/a.rs", "content": {"elided_bytes": 11}})
        );
        assert_eq!(fields["tool_response"], json!({"ok": true}));
        assert_eq!(fields["cwd"], "/p/api_key=[REDACTED]");
    }

    #[test]
    fn full_keeps_content_and_still_redacts() {
        let mut event = hook(
            json!({"hook_event_name": "PostToolUse", "tool_name": "Bash",
            "tool_input": {"command": "mysql -u root -phunter22 shop"},
            "tool_response": {"stdout": "ok"}}),
        );
        PrivacyFilter::new(Level::Full).hook_event(&mut event, None);
        assert_eq!(
            event.fields()["tool_input"]["command"],
            "mysql -u root -p[REDACTED] shop"
        );
        assert_eq!(event.fields()["tool_response"]["stdout"], "ok");
    }

    #[test]
    fn otlp_attributes_are_sized_or_redacted_at_every_level() {
        let attributes = json!({"model": "m", "status_code": "401",
            "error": "401 invalid x-api-key sk-ant-api03-abcdefghijklmnopqrstuvwxyz; Authorization: Bearer abcdefgh12345678"});
        let mut metadata = log(
            "claude_code.api_error",
            attributes.clone(),
            Some("claude_code.api_error"),
        );
        PrivacyFilter::new(Level::Metadata).log_record(&mut metadata);
        assert_eq!(metadata.attributes["error"], json!({"elided_bytes": 101}));
        assert_eq!(metadata.body, Some(json!("claude_code.api_error")));
        assert_eq!(metadata.resource["team.id"], "token=[REDACTED]");

        let mut full = log("claude_code.api_error", attributes, None);
        PrivacyFilter::new(Level::Full).log_record(&mut full);
        let error = full.attributes["error"].as_str().unwrap();
        assert!(
            !error.contains("sk-ant") && !error.contains("abcdefgh1234"),
            "{error}"
        );
        assert!(error.contains("401 invalid"), "{error}");
    }

    #[test]
    fn a_body_that_is_not_the_events_name_is_content() {
        let mut record = log(
            "claude_code.user_prompt",
            json!({}),
            Some("the prompt text"),
        );
        PrivacyFilter::new(Level::Prompts).log_record(&mut record);
        assert_eq!(record.body, Some(json!({"elided_bytes": 15})));
        let mut named = log("claude_code.user_prompt", json!({}), Some("user_prompt"));
        PrivacyFilter::new(Level::Metadata).log_record(&mut named);
        assert_eq!(named.body, Some(json!("user_prompt")));
    }

    #[test]
    fn metric_labels_are_redacted() {
        let mut points = vec![Point {
            name: "c_total".to_owned(),
            help: String::new(),
            kind: crate::exposition::Kind::Counter,
            temporality: crate::event::Temporality::Delta,
            labels: vec![("team".to_owned(), "token=abcd1234efgh".to_owned())],
            stream: r#"["c",{"team":"token=abcd1234efgh"}]"#.to_owned(),
            start_ns: 0,
            time_ns: 1,
            value: crate::event::PointValue::Number(1.0),
        }];
        PrivacyFilter::new(Level::Metadata).points(&mut points);
        assert_eq!(points[0].labels[0].1, "token=[REDACTED]");
        assert!(!points[0].stream.contains("abcd1234efgh"));
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
        PrivacyFilter::new(Level::Metadata).span(&mut record);
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
        PrivacyFilter::new(Level::Full).span(&mut record);
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
