//! Events as the store keeps them: the indexed columns, the time, and the body with the
//! privacy mode applied, made from a hook event, an OTLP log record, a metrics export or
//! a span.

use std::time::SystemTime;

use hook_protocol::{Enrichment, HookEvent};
use serde_json::Value;

use super::otlp::spans::event_id;
use super::otlp::translate::LogEvent;
use super::privacy::PrivacyFilter;
use crate::event::{Columns, Event, HookRecord, MetricsRecord, Payload, Point, SpanRecord};
use crate::ids::stable_id;
use crate::time::now_ms;

/// Why an event cannot be stored.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// Its id is empty or too long to be one.
    #[error("event_id must be 1 to 128 characters")]
    BadId,
    /// It cannot be written as JSON.
    #[error("cannot encode the event: {0}")]
    Encode(#[from] serde_json::Error),
}

/// An enriched hook event, ready to store. `received` is the event's JSON as it
/// arrived, when it arrived enriched: stored as it is when the privacy mode leaves
/// everything in (the same JSON, not written out again).
pub fn hook(
    event: HookEvent,
    enrichment: Enrichment,
    privacy: &PrivacyFilter,
    received: Option<&str>,
) -> Result<Event, EventError> {
    if enrichment.event_id.is_empty() || enrichment.event_id.len() > 128 {
        return Err(EventError::BadId);
    }
    let ts_ms = humantime::parse_rfc3339_weak(&enrichment.received_at)
        .ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .and_then(|d| i64::try_from(d.as_millis()).ok())
        .unwrap_or_else(now_ms);
    let text = |value: Option<&str>| value.map(str::to_owned);
    let record = HookRecord { event, enrichment };
    let verdict = record
        .verdict()
        .map(|v| (v.decision.clone(), v.rule.clone()));
    let HookRecord {
        mut event,
        enrichment,
    } = record;
    let columns = Columns {
        session_id: text(event.session_id()),
        prompt_id: text(event.fields().get("prompt_id").and_then(Value::as_str)),
        tool_use_id: text(event.tool_use_id()),
        tool_name: text(event.tool_name()),
        user_name: Some(enrichment.user_name.clone()),
        user_email: enrichment.user_email.clone(),
        project: enrichment.project.clone(),
        decision: verdict.as_ref().map(|(decision, _)| decision.clone()),
        rule: verdict.map(|(_, rule)| rule),
    };
    let name = event.event_name().unwrap_or("unknown").to_owned();
    let filtered = privacy.hook_event(
        &mut event,
        enrichment.guard.as_ref().map(|g| g.decision.as_str()),
    );
    let body = match received {
        Some(text) if !filtered => text.to_owned(),
        _ => event.to_json()?,
    };
    Ok(Event {
        id: enrichment.event_id.clone(),
        ts_ms,
        name,
        columns,
        body,
        payload: Payload::Hook(Box::new(HookRecord { event, enrichment })),
    })
}

/// One of Claude Code's OTLP log events, ready to store.
pub fn log(event: LogEvent, privacy: &PrivacyFilter) -> Result<Event, EventError> {
    let LogEvent {
        time_ns,
        id,
        mut record,
    } = event;
    let attribute = |key: &str| {
        record
            .attributes
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let columns = Columns {
        session_id: attribute("session.id"),
        prompt_id: attribute("prompt.id"),
        tool_use_id: attribute("tool_use_id"),
        tool_name: attribute("tool_name"),
        user_name: record.attribute_or_resource("user.name").map(str::to_owned),
        user_email: record
            .attribute_or_resource("user.email")
            .map(str::to_owned),
        ..Columns::default()
    };
    privacy.log_record(&mut record);
    let body = serde_json::to_string(&record)?;
    Ok(Event {
        id,
        ts_ms: millis_or_now(time_ns),
        name: record.event_name.clone(),
        columns,
        body,
        payload: Payload::OtlpLog(Box::new(record)),
    })
}

/// One span, ready to store: its id is its trace and span id, so a re-export is a
/// duplicate. Joined to its session (`session.id`) and tool call (`tool_use_id`) by
/// columns, to log events by its trace id (which log records carry).
pub fn span(mut record: SpanRecord, privacy: &PrivacyFilter) -> Result<Event, EventError> {
    let text = |key: &str| record.text(key).map(str::to_owned);
    let columns = Columns {
        session_id: text("session.id"),
        prompt_id: text("prompt.id"),
        tool_use_id: text("tool_use_id"),
        user_name: record.attribute_or_resource("user.name").map(str::to_owned),
        user_email: record
            .attribute_or_resource("user.email")
            .map(str::to_owned),
        ..Columns::default()
    };
    privacy.span(&mut record);
    let body = serde_json::to_string(&record)?;
    Ok(Event {
        id: event_id(&record.trace_id, &record.span_id),
        ts_ms: millis_or_now(record.start_ns),
        name: record.name.clone(),
        columns,
        body,
        payload: Payload::Span(Box::new(record)),
    })
}

/// A translated metrics export, ready to store; `None` when it has no point.
pub fn metrics(points: Vec<Point>) -> Result<Option<Event>, EventError> {
    if points.is_empty() {
        return Ok(None);
    }
    let latest = points.iter().map(|p| p.time_ns).max().unwrap_or(0);
    let text = serde_json::to_string(&points)?;
    let record = MetricsRecord { points };
    Ok(Some(Event {
        // The same export sent twice is the same event.
        id: stable_id(&["metrics", &text]),
        ts_ms: millis_or_now(latest),
        name: "otlp.metrics".to_owned(),
        columns: Columns::default(),
        body: serde_json::to_string(&record)?,
        payload: Payload::OtlpMetrics(record),
    }))
}

fn millis_or_now(time_ns: u64) -> i64 {
    if time_ns > 0 {
        i64::try_from(time_ns / 1_000_000).unwrap_or(i64::MAX)
    } else {
        now_ms()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hook_protocol::privacy::Level;

    fn enriched(extra: &str) -> (String, HookEvent, Enrichment) {
        let text = format!(
            r#"{{"hook_event_name":"PreToolUse","tool_name":"Bash",{extra}"claude_telemetry":{{"event_id":"e","received_at":"2026-11-24T05:00:00.000Z","host":"h","user_name":"jane","hook_latency_us":1,"hook_version":"t"}}}}"#
        );
        let event = HookEvent::parse(text.as_bytes()).unwrap().0;
        let enrichment = event.enrichment().unwrap().unwrap();
        (text, event, enrichment)
    }

    #[test]
    fn an_event_kept_whole_is_stored_as_it_came_and_a_filtered_one_as_filtered() {
        let privacy = PrivacyFilter::new(Level::Metadata);
        let (text, event, enrichment) = enriched(r#""tool_use_id":"t1","cwd":"/p","#);
        let stored = hook(event, enrichment, &privacy, Some(&text)).unwrap();
        assert_eq!(stored.body, text);
        let (text, event, enrichment) = enriched(r#""tool_response":{"stdout":"secret"},"#);
        let stored = hook(event, enrichment, &privacy, Some(&text)).unwrap();
        assert!(!stored.body.contains("secret"), "{}", stored.body);
        assert!(
            stored.body.contains(r#""stdout":{"elided_bytes":6}"#),
            "{}",
            stored.body
        );
        // Nothing to leave out, a credential to redact: stored as redacted.
        let (text, event, enrichment) = enriched(r#""cwd":"/p/TOKEN=abcd1234efgh","#);
        let stored = hook(event, enrichment, &privacy, Some(&text)).unwrap();
        assert!(stored.body.contains("TOKEN=[REDACTED]"), "{}", stored.body);
        assert_eq!(stored.ts_ms, 1_795_496_400_000);
    }
}
