//! OTLP spans as the store keeps them: ids checked and written in hex, attributes,
//! events and links as JSON, each span with its resource and scope.
//!
//! A span the trace model cannot hold (an id of the wrong length or all zero, an end
//! before its start) is refused and reported, never stored half-right; the rest of the
//! export is kept. The privacy mode is the privacy processor's, applied later.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;

use super::translate::{attributes_json, hex};
use crate::event::{SpanEvent, SpanLink, SpanRecord};

/// The spans of one export, and the ones refused.
#[derive(Debug, Default)]
pub struct TranslatedSpans {
    /// Spans to store, in the order they came.
    pub spans: Vec<SpanRecord>,
    /// Why each refused span was refused.
    pub rejected: Vec<String>,
}

/// The store's id for a span: the same span exported twice is stored once.
pub fn event_id(trace_id: &str, span_id: &str) -> String {
    format!("span-{trace_id}-{span_id}")
}

/// The first and last store ids a trace's spans can have (for a range scan).
pub fn event_id_range(trace_id: &str) -> (String, String) {
    (format!("span-{trace_id}-"), format!("span-{trace_id}."))
}

/// An id of `len` bytes that is not all zero, as hex.
fn id(bytes: &[u8], len: usize, what: &str, name: &str) -> Result<String, String> {
    if bytes.len() != len {
        return Err(format!(
            "span {name:?}: {what} must be {len} bytes, got {}",
            bytes.len()
        ));
    }
    if bytes.iter().all(|b| *b == 0) {
        return Err(format!("span {name:?}: {what} is all zero (invalid)"));
    }
    Ok(hex(bytes))
}

fn record(
    span: &Span,
    resource: &serde_json::Map<String, serde_json::Value>,
    scope: (&str, &str),
) -> Result<SpanRecord, String> {
    let name = &span.name;
    let trace_id = id(&span.trace_id, 16, "traceId", name)?;
    let span_id = id(&span.span_id, 8, "spanId", name)?;
    // Some exporters write "no parent" as zero bytes.
    let parent_span_id = if span.parent_span_id.iter().all(|b| *b == 0) {
        String::new()
    } else {
        id(&span.parent_span_id, 8, "parentSpanId", name)?
    };
    if span.end_time_unix_nano < span.start_time_unix_nano {
        return Err(format!("span {name:?}: ends before it starts"));
    }
    let status = span.status.as_ref();
    Ok(SpanRecord {
        trace_id,
        span_id,
        parent_span_id,
        name: name.clone(),
        kind: span.kind,
        start_ns: span.start_time_unix_nano,
        end_ns: span.end_time_unix_nano,
        status_code: status.map_or(0, |s| s.code),
        status_message: status.map(|s| s.message.clone()).unwrap_or_default(),
        flags: span.flags,
        trace_state: span.trace_state.clone(),
        attributes: attributes_json(&span.attributes),
        events: span
            .events
            .iter()
            .map(|event| SpanEvent {
                name: event.name.clone(),
                time_ns: event.time_unix_nano,
                attributes: attributes_json(&event.attributes),
            })
            .collect(),
        links: span
            .links
            .iter()
            .map(|link| SpanLink {
                trace_id: hex(&link.trace_id),
                span_id: hex(&link.span_id),
                attributes: attributes_json(&link.attributes),
            })
            .collect(),
        resource: resource.clone(),
        scope_name: scope.0.to_owned(),
        scope_version: scope.1.to_owned(),
        elided: Vec::new(),
    })
}

/// Translates a traces export into span records, in the order they came.
pub fn spans(request: &ExportTraceServiceRequest) -> TranslatedSpans {
    let mut out = TranslatedSpans::default();
    for resource_spans in &request.resource_spans {
        let resource = resource_spans
            .resource
            .as_ref()
            .map(|r| attributes_json(&r.attributes))
            .unwrap_or_default();
        for scope_spans in &resource_spans.scope_spans {
            let scope = scope_spans
                .scope
                .as_ref()
                .map_or(("", ""), |s| (s.name.as_str(), s.version.as_str()));
            for span in &scope_spans.spans {
                match record(span, &resource, scope) {
                    Ok(record) => out.spans.push(record),
                    Err(why) => out.rejected.push(why),
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Status};

    fn export(spans: Vec<Span>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            }],
        }
    }

    fn span(trace: &[u8], id: &[u8], parent: &[u8]) -> Span {
        Span {
            trace_id: trace.to_vec(),
            span_id: id.to_vec(),
            parent_span_id: parent.to_vec(),
            name: "claude_code.tool".to_owned(),
            start_time_unix_nano: 10,
            end_time_unix_nano: 20,
            status: Some(Status {
                message: "ShellError".to_owned(),
                code: 2,
            }),
            ..Span::default()
        }
    }

    #[test]
    fn ids_are_hex_and_bad_ones_are_refused_alone() {
        let good = span(&[1; 16], &[2; 8], &[3; 8]);
        let mut backwards = span(&[1; 16], &[4; 8], &[]);
        backwards.end_time_unix_nano = 5;
        let translated = spans(&export(vec![
            good,
            span(&[1; 15], &[2; 8], &[]),
            span(&[0; 16], &[2; 8], &[]),
            span(&[1; 16], &[2; 9], &[]),
            span(&[1; 16], &[2; 8], &[0; 8]),
            backwards,
        ]));
        assert_eq!(translated.spans.len(), 2);
        assert_eq!(translated.spans[1].parent_span_id, "", "zero bytes: a root");
        let kept = &translated.spans[0];
        assert_eq!(kept.trace_id, "01".repeat(16));
        assert_eq!(kept.parent_span_id, "03".repeat(8));
        assert_eq!(
            (kept.status_code, kept.status_message.as_str()),
            (2, "ShellError")
        );
        assert_eq!(translated.rejected.len(), 4, "{:?}", translated.rejected);
        assert!(translated.rejected[0].contains("traceId must be 16 bytes"));
        assert!(translated.rejected[1].contains("all zero"));
        assert!(translated.rejected[2].contains("spanId must be 8 bytes"));
        assert!(translated.rejected[3].contains("ends before it starts"));
        assert_eq!(
            event_id(&kept.trace_id, &kept.span_id),
            format!("span-{}-{}", "01".repeat(16), "02".repeat(8))
        );
        let (low, high) = event_id_range(&kept.trace_id);
        let id = event_id(&kept.trace_id, &kept.span_id);
        assert!(low < id && id < high);
    }

    proptest::proptest! {
        /// Whatever bytes arrive, decoding either refuses them or gives spans whose ids
        /// are what the store keys on: a valid export with bytes flipped, cut or added
        /// never panics nor stores a malformed id.
        #[test]
        fn mangled_exports_are_refused_or_give_valid_spans(
            flips in proptest::collection::vec((0usize..4096, proptest::prelude::any::<u8>()), 0..8),
            cut in 0usize..4096,
            tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
        ) {
            use prost::Message;
            let mut valid = span(&[1; 16], &[2; 8], &[3; 8]);
            valid.attributes.push(opentelemetry_proto::tonic::common::v1::KeyValue {
                key: "session.id".to_owned(),
                value: Some(opentelemetry_proto::tonic::common::v1::AnyValue {
                    value: Some(opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue("s".to_owned())),
                }),
                ..Default::default()
            });
            let mut bytes = export(vec![valid.clone(), valid]).encode_to_vec();
            for (at, byte) in flips {
                let len = bytes.len();
                bytes[at % len] = byte;
            }
            bytes.truncate(cut.max(1));
            bytes.extend(tail);
            if let Ok(request) = ExportTraceServiceRequest::decode(bytes.as_slice()) {
                for kept in spans(&request).spans {
                    proptest::prop_assert_eq!(kept.trace_id.len(), 32);
                    proptest::prop_assert_eq!(kept.span_id.len(), 16);
                    proptest::prop_assert!(kept.parent_span_id.is_empty() || kept.parent_span_id.len() == 16);
                    proptest::prop_assert!(kept.end_ns >= kept.start_ns);
                    let id = event_id(&kept.trace_id, &kept.span_id);
                    proptest::prop_assert!(id.len() <= 128);
                }
            }
        }
    }
}
