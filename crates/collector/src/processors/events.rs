//! Events as the store keeps them: the indexed columns, the time, and the body with the
//! privacy mode applied, made from a hook event, an OTLP log record or a metrics export.

use std::time::SystemTime;

use hook_protocol::{Enrichment, HookEvent};
use serde_json::Value;

use super::otlp::translate::LogEvent;
use super::privacy::PrivacyFilter;
use crate::event::{Columns, Event, HookRecord, MetricsRecord, Payload, Point};
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

/// An enriched hook event, ready to store.
pub fn hook(
    mut event: HookEvent,
    enrichment: Enrichment,
    privacy: &PrivacyFilter,
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
    let columns = Columns {
        session_id: text(event.session_id()),
        prompt_id: text(event.fields().get("prompt_id").and_then(Value::as_str)),
        tool_use_id: text(event.tool_use_id()),
        tool_name: text(event.tool_name()),
        user_name: Some(enrichment.user_name.clone()),
        user_email: enrichment.user_email.clone(),
        project: enrichment.project.clone(),
        decision: enrichment.guard.as_ref().map(|g| g.decision.clone()),
        rule: enrichment.guard.as_ref().map(|g| g.rule.clone()),
    };
    let name = event.event_name().unwrap_or("unknown").to_owned();
    privacy.hook_event(
        &mut event,
        enrichment.guard.as_ref().map(|g| g.decision.as_str()),
    );
    let body = event.to_json()?;
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
