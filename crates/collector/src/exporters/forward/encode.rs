//! Stored spans and log events back into OTLP export requests, in the order given:
//! consecutive records of one resource and scope share their `ResourceSpans` /
//! `ScopeSpans` (or logs), so order is kept and nothing is repeated needlessly.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord as OtlpLogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};
use serde_json::{Map, Value};

use crate::event::{LogRecord, SpanRecord, TimedLog};

/// The scope Claude Code's log events come under (the stored record does not keep it).
const LOG_SCOPE: &str = "com.anthropic.claude_code.events";

fn any_value(value: &Value) -> AnyValue {
    let value = match value {
        Value::Null => None,
        Value::Bool(b) => Some(any_value::Value::BoolValue(*b)),
        Value::Number(n) => Some(match n.as_i64() {
            Some(i) => any_value::Value::IntValue(i),
            None => any_value::Value::DoubleValue(n.as_f64().unwrap_or(0.0)),
        }),
        Value::String(s) => Some(any_value::Value::StringValue(s.clone())),
        Value::Array(items) => Some(any_value::Value::ArrayValue(ArrayValue {
            values: items.iter().map(any_value).collect(),
        })),
        Value::Object(map) => Some(any_value::Value::KvlistValue(KeyValueList {
            values: key_values(map),
        })),
    };
    AnyValue { value }
}

fn key_values(map: &Map<String, Value>) -> Vec<KeyValue> {
    map.iter()
        .map(|(key, value)| KeyValue {
            key: key.clone(),
            value: Some(any_value(value)),
            ..KeyValue::default()
        })
        .collect()
}

/// Hex back into bytes (the store wrote it; anything else becomes empty).
fn bytes(hex: &str) -> Vec<u8> {
    if !hex.len().is_multiple_of(2) {
        return Vec::new();
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
        .unwrap_or_default()
}

fn resource(attributes: &Map<String, Value>) -> Option<Resource> {
    Some(Resource {
        attributes: key_values(attributes),
        ..Resource::default()
    })
}

fn scope(name: &str, version: &str) -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: name.to_owned(),
        version: version.to_owned(),
        ..InstrumentationScope::default()
    })
}

fn span(record: &SpanRecord) -> Span {
    Span {
        trace_id: bytes(&record.trace_id),
        span_id: bytes(&record.span_id),
        trace_state: record.trace_state.clone(),
        parent_span_id: bytes(&record.parent_span_id),
        flags: record.flags,
        name: record.name.clone(),
        kind: record.kind,
        start_time_unix_nano: record.start_ns,
        end_time_unix_nano: record.end_ns,
        attributes: key_values(&record.attributes),
        dropped_attributes_count: 0,
        events: record
            .events
            .iter()
            .map(|event| span::Event {
                time_unix_nano: event.time_ns,
                name: event.name.clone(),
                attributes: key_values(&event.attributes),
                dropped_attributes_count: 0,
            })
            .collect(),
        dropped_events_count: 0,
        links: record
            .links
            .iter()
            .map(|link| span::Link {
                trace_id: bytes(&link.trace_id),
                span_id: bytes(&link.span_id),
                attributes: key_values(&link.attributes),
                ..span::Link::default()
            })
            .collect(),
        dropped_links_count: 0,
        status: Some(Status {
            message: record.status_message.clone(),
            code: record.status_code,
        }),
    }
}

/// Spans as one export request, in order.
pub fn traces(records: &[SpanRecord]) -> ExportTraceServiceRequest {
    let mut resource_spans: Vec<ResourceSpans> = Vec::new();
    let mut last: Option<&SpanRecord> = None;
    for record in records {
        let same_resource = last.is_some_and(|l| l.resource == record.resource);
        let same_scope = same_resource
            && last.is_some_and(|l| {
                (&l.scope_name, &l.scope_version) == (&record.scope_name, &record.scope_version)
            });
        if !same_resource {
            resource_spans.push(ResourceSpans {
                resource: resource(&record.resource),
                ..ResourceSpans::default()
            });
        }
        if let Some(current) = resource_spans.last_mut() {
            if !same_scope {
                current.scope_spans.push(ScopeSpans {
                    scope: scope(&record.scope_name, &record.scope_version),
                    ..ScopeSpans::default()
                });
            }
            if let Some(scope_spans) = current.scope_spans.last_mut() {
                scope_spans.spans.push(span(record));
            }
        }
        last = Some(record);
    }
    ExportTraceServiceRequest { resource_spans }
}

/// Log events as one export request, in order.
pub fn logs(records: &[TimedLog]) -> ExportLogsServiceRequest {
    let mut resource_logs: Vec<ResourceLogs> = Vec::new();
    let mut last: Option<&LogRecord> = None;
    for TimedLog { time_ns, record } in records {
        if last.is_none_or(|l| l.resource != record.resource) {
            resource_logs.push(ResourceLogs {
                resource: resource(&record.resource),
                scope_logs: vec![ScopeLogs {
                    scope: scope(LOG_SCOPE, ""),
                    ..ScopeLogs::default()
                }],
                ..ResourceLogs::default()
            });
        }
        let log = OtlpLogRecord {
            time_unix_nano: *time_ns,
            observed_time_unix_nano: *time_ns,
            severity_text: record.severity.clone().unwrap_or_default(),
            body: record.body.as_ref().map(any_value),
            attributes: key_values(&record.attributes),
            trace_id: record.trace_id.as_deref().map(bytes).unwrap_or_default(),
            span_id: record.span_id.as_deref().map(bytes).unwrap_or_default(),
            event_name: record.event_name.clone(),
            ..OtlpLogRecord::default()
        };
        if let Some(scope_logs) = resource_logs
            .last_mut()
            .and_then(|r| r.scope_logs.last_mut())
        {
            scope_logs.log_records.push(log);
        }
        last = Some(record);
    }
    ExportLogsServiceRequest { resource_logs }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::processors::otlp::spans::spans;
    use serde_json::json;

    #[test]
    fn a_span_goes_back_out_as_it_came() {
        let body = json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "claude-code"}}]},
        "scopeSpans": [{"scope": {"name": "com.anthropic.claude_code.tracing", "version": "1.0.0"}, "spans": [
            {"traceId": "ab".repeat(16), "spanId": "01".repeat(8), "parentSpanId": "02".repeat(8),
             "name": "claude_code.llm_request", "kind": 1, "startTimeUnixNano": "1795936690070000000",
             "endTimeUnixNano": "1795936691285600659", "flags": 257, "status": {"code": 2, "message": "m"},
             "attributes": [
                {"key": "model", "value": {"stringValue": "claude-sonnet-4-5"}},
                {"key": "input_tokens", "value": {"intValue": "1210"}},
                {"key": "ratio", "value": {"doubleValue": 0.5}},
                {"key": "success", "value": {"boolValue": true}},
                {"key": "gen_ai.response.finish_reasons", "value": {"arrayValue": {"values": [{"stringValue": "tool_use"}]}}}],
             "events": [{"name": "gen_ai.request.attempt", "timeUnixNano": "1795936690070000000",
                 "attributes": [{"key": "attempt", "value": {"intValue": "1"}}]}]},
            {"traceId": "ab".repeat(16), "spanId": "02".repeat(8), "name": "claude_code.interaction",
             "kind": 1, "startTimeUnixNano": "1", "endTimeUnixNano": "2"}
        ]}]}]});
        let request = crate::processors::otlp::json::traces_request(&body).unwrap();
        let records = spans(&request).spans;
        let again = traces(&records);
        assert_eq!(again.resource_spans.len(), 1, "one resource, one scope");
        assert_eq!(again.resource_spans[0].scope_spans[0].spans.len(), 2);
        let mut expected = request.clone();
        // What OTLP says "no status" with is the same as an unset one.
        expected.resource_spans[0].scope_spans[0].spans[1].status = Some(Status::default());
        assert_eq!(again, expected);
    }
}
