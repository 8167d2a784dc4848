//! What flows through the pipeline: events, where they came from, and their payloads,
//! typed. Receivers and processors make them, the store keeps them (each as one row: the
//! indexed columns and the payload as JSON), the aggregator reads them.
//!
//! Owns the payloads' stored JSON shape: what is written here is read back on every
//! restart, so a change must still read what earlier versions wrote.

use std::borrow::Cow;

use hook_protocol::{Enrichment, GuardRecord, HookEvent, KnownEvent};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::exposition::{Kind, Labels};

/// Where a stored event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// A Claude Code hook event (`POST /v1/hooks`).
    Hook,
    /// An OTLP log record: one of Claude Code's events (`POST /v1/logs`).
    OtlpLog,
    /// An OTLP metrics export (`POST /v1/metrics`), as translated points.
    OtlpMetrics,
    /// One span of Claude Code's traces (`POST /v1/traces`).
    Span,
}

impl Source {
    /// Every source.
    pub const ALL: [Source; 4] = [
        Source::Hook,
        Source::OtlpLog,
        Source::OtlpMetrics,
        Source::Span,
    ];

    /// The name in the store's `source` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Hook => "hook",
            Source::OtlpLog => "otlp",
            Source::OtlpMetrics => "otlp_metrics",
            Source::Span => "otlp_span",
        }
    }

    /// The source a `source` column names.
    pub fn from_column(text: &str) -> Option<Source> {
        Source::ALL
            .into_iter()
            .find(|source| source.as_str() == text)
    }
}

/// One event on its way through the pipeline: the store's indexed columns, the body as
/// stored, and the same payload typed for the aggregator (not parsed twice).
#[derive(Debug, Clone)]
pub struct Event {
    /// Unique id; a second event with the same id is a duplicate.
    pub id: String,
    /// When it happened, Unix milliseconds.
    pub ts_ms: i64,
    /// `hook_event_name`, or the OTLP event name.
    pub name: String,
    /// Indexed facts, for queries.
    pub columns: Columns,
    /// The payload as stored (privacy applied), JSON.
    pub body: String,
    /// The same, typed.
    pub payload: Payload,
}

/// The columns a query selects on, besides id, time and name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Columns {
    /// Session it belongs to.
    pub session_id: Option<String>,
    /// Prompt it belongs to.
    pub prompt_id: Option<String>,
    /// Tool call it belongs to.
    pub tool_use_id: Option<String>,
    /// Tool name.
    pub tool_name: Option<String>,
    /// Who.
    pub user_name: Option<String>,
    /// Who (email).
    pub user_email: Option<String>,
    /// Which project.
    pub project: Option<String>,
    /// Guard decision, if judged.
    pub decision: Option<String>,
    /// Guard rule, if judged.
    pub rule: Option<String>,
}

impl Event {
    /// Where it came from.
    pub fn source(&self) -> Source {
        match self.payload {
            Payload::Hook(_) => Source::Hook,
            Payload::OtlpLog(_) => Source::OtlpLog,
            Payload::OtlpMetrics(_) => Source::OtlpMetrics,
            Payload::Span(_) => Source::Span,
        }
    }
}

/// An event's content, by source.
#[derive(Debug, Clone)]
pub enum Payload {
    /// A hook event with its enrichment.
    Hook(Box<HookRecord>),
    /// One of Claude Code's OTLP log events.
    OtlpLog(Box<LogRecord>),
    /// Translated OTLP metric points.
    OtlpMetrics(MetricsRecord),
    /// One span of Claude Code's traces.
    Span(Box<SpanRecord>),
}

impl Payload {
    /// Reads a stored body back.
    pub fn decode(source: Source, body: &str) -> Result<Payload, PayloadError> {
        Ok(match source {
            Source::Hook => {
                let value: Value = serde_json::from_str(body)?;
                let event = HookEvent::from_value(value)
                    .map_err(|err| PayloadError::Shape(err.to_string()))?;
                Payload::Hook(Box::new(HookRecord::new(event)?))
            }
            Source::OtlpLog => Payload::OtlpLog(Box::new(serde_json::from_str(body)?)),
            Source::OtlpMetrics => Payload::OtlpMetrics(serde_json::from_str(body)?),
            Source::Span => Payload::Span(Box::new(serde_json::from_str(body)?)),
        })
    }
}

/// A stored body that cannot be read back.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    /// Not JSON, or not the shape of its source.
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    /// JSON, but not an event.
    #[error("{0}")]
    Shape(String),
}

/// A hook event and what the hook (or the collector) added to it.
#[derive(Debug, Clone)]
pub struct HookRecord {
    /// The event as stored.
    pub event: HookEvent,
    /// Its enrichment, read once.
    pub enrichment: Enrichment,
}

impl HookRecord {
    /// Reads the enrichment of an enriched event.
    pub fn new(event: HookEvent) -> Result<HookRecord, PayloadError> {
        let enrichment = match event.enrichment() {
            Some(read) => read?,
            None => return Err(PayloadError::Shape("no enrichment".to_owned())),
        };
        Ok(HookRecord { event, enrichment })
    }

    /// The decision on this event as every view counts it (the page, `audit`, `report`,
    /// `/metrics`): the guard's, when it judged the event; for a `PermissionDenied` that
    /// carries none (an older hook, a raw event), Claude Code's own denial, filed under
    /// [`PERMISSION_DENIED_RULE`] — a blocked call like one the guard denied.
    pub fn verdict(&self) -> Option<Cow<'_, GuardRecord>> {
        if let Some(guard) = &self.enrichment.guard {
            return Some(Cow::Borrowed(guard));
        }
        if self.event.known_event() != Some(KnownEvent::PermissionDenied) {
            return None;
        }
        let reason = self
            .event
            .fields()
            .get("reason")
            .and_then(Value::as_str)
            .unwrap_or(PERMISSION_DENIED_REASON);
        Some(Cow::Owned(GuardRecord {
            decision: "deny".to_owned(),
            rule: PERMISSION_DENIED_RULE.to_owned(),
            category: PERMISSION_CATEGORY.to_owned(),
            reason: reason.to_owned(),
            latency_us: 0,
            version: String::new(),
            span: None,
        }))
    }

    /// Whether the guard itself decided (a verdict of Claude Code's own is not timed).
    pub fn judged_by_guard(&self) -> bool {
        // A PermissionDenied's record is the hook's account of Claude Code's decision,
        // read from the transcript: no guard ran on it.
        self.enrichment.guard.is_some()
            && self.event.known_event() != Some(KnownEvent::PermissionDenied)
    }
}

/// The rule of a `PermissionDenied` event no decision of ours came with.
pub const PERMISSION_DENIED_RULE: &str = "claude_code.permission_denied";
/// The reason of Claude Code's denial when its own is not at hand: an older release, or
/// a privacy level that does not keep it (the classifier's explanation is content).
pub const PERMISSION_DENIED_REASON: &str = "Claude Code denied the call.";
/// The family of every denial Claude Code made itself (as the hook files them).
pub const PERMISSION_CATEGORY: &str = "permission";

/// One of Claude Code's OTLP log events, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogRecord {
    /// `claude_code.api_request`, ….
    pub event_name: String,
    /// The record's attributes.
    pub attributes: Map<String, Value>,
    /// The resource's attributes.
    pub resource: Map<String, Value>,
    /// The record's body: text (Claude Code's name the event), or the size note of a body
    /// the privacy level did not keep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// Its severity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// The trace it was recorded in (hex), when Claude Code had an interaction going:
    /// how a prompt id finds its trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// The span it was recorded in (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_id: Option<String>,
}

impl LogRecord {
    /// An attribute of the record as text (numbers and booleans written out; empty when
    /// absent).
    pub fn text(&self, key: &str) -> String {
        match self.attributes.get(key) {
            Some(Value::String(s)) => s.clone(),
            None | Some(Value::Null) => String::new(),
            Some(other) => other.to_string(),
        }
    }

    /// A string attribute of the record, else of its resource.
    pub fn attribute_or_resource(&self, key: &str) -> Option<&str> {
        self.attributes
            .get(key)
            .and_then(Value::as_str)
            .or_else(|| self.resource.get(key).and_then(Value::as_str))
    }
}

/// One span, as stored: ids in hex, times in Unix nanoseconds, attributes as JSON (the
/// privacy mode applied), with its resource and instrumentation scope, so it can be
/// shown and forwarded as it came.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanRecord {
    /// 16 bytes, hex.
    pub trace_id: String,
    /// 8 bytes, hex.
    pub span_id: String,
    /// 8 bytes, hex; empty for a root span.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub parent_span_id: String,
    /// `claude_code.interaction`, `claude_code.llm_request`, ….
    pub name: String,
    /// OTLP `SpanKind` (1 internal, 2 server, 3 client, 4 producer, 5 consumer).
    pub kind: i32,
    /// Start, Unix ns.
    pub start_ns: u64,
    /// End, Unix ns.
    pub end_ns: u64,
    /// OTLP status code: 0 unset, 1 ok, 2 error.
    #[serde(default)]
    pub status_code: i32,
    /// The status message.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status_message: String,
    /// W3C trace flags.
    #[serde(default)]
    pub flags: u32,
    /// W3C trace state.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub trace_state: String,
    /// The span's attributes.
    pub attributes: Map<String, Value>,
    /// Its events (`gen_ai.request.attempt`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<SpanEvent>,
    /// Its links to other spans.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<SpanLink>,
    /// The resource's attributes.
    pub resource: Map<String, Value>,
    /// The instrumentation scope's name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope_name: String,
    /// The instrumentation scope's version.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope_version: String,
    /// What the privacy mode left out: attribute keys, `events.<name>`, `status.message`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub elided: Vec<String>,
}

impl SpanRecord {
    /// A string attribute of the span, else of its resource.
    pub fn attribute_or_resource(&self, key: &str) -> Option<&str> {
        self.attributes
            .get(key)
            .and_then(Value::as_str)
            .or_else(|| self.resource.get(key).and_then(Value::as_str))
    }

    /// A string attribute.
    pub fn text(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).and_then(Value::as_str)
    }

    /// A numeric attribute (numbers, and numbers written as strings).
    pub fn number(&self, key: &str) -> Option<f64> {
        match self.attributes.get(key)? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
    }

    /// Whether its status is an error.
    pub fn failed(&self) -> bool {
        self.status_code == 2
    }
}

/// A span's event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanEvent {
    /// Its name.
    pub name: String,
    /// When, Unix ns.
    pub time_ns: u64,
    /// Its attributes.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub attributes: Map<String, Value>,
}

/// A span's link to another span.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanLink {
    /// The other span's trace, hex.
    pub trace_id: String,
    /// The other span, hex.
    pub span_id: String,
    /// The link's attributes.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub attributes: Map<String, Value>,
}

/// One OTLP metrics export, translated, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsRecord {
    /// Its points.
    pub points: Vec<Point>,
}

/// How a point's value relates to earlier ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Temporality {
    /// The change since the previous point of the stream (Claude Code's default).
    Delta,
    /// The total since `start`; a smaller value or a new start means a reset.
    Cumulative,
    /// The current value.
    Last,
}

/// A point's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PointValue {
    /// A number.
    Number(f64),
    /// A histogram.
    Histogram {
        /// Upper bounds.
        bounds: Vec<f64>,
        /// Per-bucket counts (bounds + 1).
        counts: Vec<u64>,
        /// Sum of observations.
        sum: f64,
        /// Number of observations.
        count: u64,
    },
}

/// One data point, named and labelled as Prometheus will show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Prometheus family name.
    pub name: String,
    /// HELP text.
    pub help: String,
    /// Prometheus type: counter, gauge or histogram.
    pub kind: Kind,
    /// How the value accumulates.
    pub temporality: Temporality,
    /// Labels, sorted, without the dropped attributes.
    pub labels: Labels,
    /// The source stream (metric, every attribute, the resource): what resets and
    /// duplicates are judged against.
    pub stream: String,
    /// Start of the interval, Unix ns.
    pub start_ns: u64,
    /// End of the interval, Unix ns.
    pub time_ns: u64,
    /// Value.
    pub value: PointValue,
}

impl Point {
    /// The session its stream belongs to (`session.id`, kept in the stream even when it
    /// is not a label).
    pub fn session_id(&self) -> Option<String> {
        let stream: Value = serde_json::from_str(&self.stream).ok()?;
        stream
            .get(1)?
            .get("session.id")?
            .as_str()
            .map(str::to_owned)
    }
}

/// A log event as forwarded: its time and the stored record.
#[derive(Debug, Clone)]
pub struct TimedLog {
    /// When, Unix ns.
    pub time_ns: u64,
    /// The record, as stored.
    pub record: LogRecord,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_names_read_back() {
        for source in Source::ALL {
            assert_eq!(Source::from_column(source.as_str()), Some(source));
        }
        assert_eq!(Source::from_column("push"), None);
    }

    #[test]
    fn points_stored_by_earlier_versions_read_back() {
        // As the collector wrote them before the kinds were one type.
        let stored = r#"{"points":[{"name":"c_total","help":"","kind":"counter","temporality":"delta","labels":[["model","m"]],"stream":"s","start_ns":1,"time_ns":2,"value":{"number":1.5}}]}"#;
        let Payload::OtlpMetrics(record) = Payload::decode(Source::OtlpMetrics, stored).unwrap()
        else {
            panic!("not metrics");
        };
        assert_eq!(record.points[0].kind, Kind::Counter);
        assert_eq!(serde_json::to_string(&record).unwrap(), stored);
    }
}
