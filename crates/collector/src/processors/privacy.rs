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

use crate::event::{LogRecord, Point};

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
}

fn names_event(body: &Value, event_name: &str) -> bool {
    body.as_str().is_some_and(|body| {
        body == event_name || event_name.strip_prefix("claude_code.") == Some(body)
    })
}

fn redact(value: &mut Value) {
    hook_protocol::redact_value(value);
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
