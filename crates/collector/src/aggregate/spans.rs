//! Span-derived metrics, as the OpenTelemetry Collector's span-metrics connector makes
//! them: every stored span counts one call and one duration observation, by span name,
//! kind and status code, and by the model and tool it names.
//!
//! `traces_span_metrics_calls_total` and `traces_span_metrics_duration_seconds` (the
//! connector's names with its `unit: s` histogram, so `promtool` finds base units);
//! errors are the calls with `status_code="STATUS_CODE_ERROR"`, as in every span-metrics
//! dashboard. Session, trace and span ids never become labels. Only the span's own
//! attributes are read: a span that arrives before its parent is counted the same.

use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;

use super::limits::{Cardinality, cap};
use crate::event::SpanRecord;
use crate::exposition::{Family, Kind, Labels};

/// The connector's default duration buckets, in seconds, extended to the minutes a model
/// request or a tool can take.
const DURATION_SECONDS: &[f64] = &[
    0.002, 0.004, 0.006, 0.008, 0.01, 0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.4, 2.0, 5.0, 10.0, 15.0,
    30.0, 60.0, 120.0, 300.0, 600.0,
];

/// The span-derived families.
pub(super) struct SpanMetrics {
    calls: Family,
    duration: Family,
    label_value_bytes: usize,
}

impl SpanMetrics {
    pub(super) fn new(label_value_bytes: usize) -> SpanMetrics {
        SpanMetrics {
            calls: Family::new(
                "traces_span_metrics_calls_total",
                "Spans received, by span name, kind, status code, model and tool (as the OpenTelemetry Collector's span-metrics connector counts them).",
                Kind::Counter,
            ),
            duration: Family::histogram(
                "traces_span_metrics_duration_seconds",
                "Span durations, by span name, kind, status code, model and tool.",
                DURATION_SECONDS,
            ),
            label_value_bytes,
        }
    }

    pub(super) fn families(&self) -> [&Family; 2] {
        [&self.calls, &self.duration]
    }

    pub(super) fn families_mut(&mut self) -> [&mut Family; 2] {
        [&mut self.calls, &mut self.duration]
    }

    /// The labels of a span's series.
    fn labels(&self, span: &SpanRecord) -> Labels {
        // The names OTLP gives them (`SPAN_KIND_INTERNAL`, `STATUS_CODE_ERROR`), as the
        // connector writes them; a number OTLP does not know stays a number.
        let kind = SpanKind::try_from(span.kind)
            .map_or_else(|_| span.kind.to_string(), |k| k.as_str_name().to_owned());
        let status = StatusCode::try_from(span.status_code).map_or_else(
            |_| span.status_code.to_string(),
            |s| s.as_str_name().to_owned(),
        );
        let attribute = |keys: &[&str]| {
            keys.iter()
                .find_map(|key| span.text(key))
                .unwrap_or_default()
        };
        let service = span
            .resource
            .get("service.name")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        [
            ("service_name", service.to_owned()),
            ("span_name", span.name.clone()),
            ("span_kind", kind),
            ("status_code", status),
            (
                "model",
                attribute(&["model", "gen_ai.request.model"]).to_owned(),
            ),
            (
                "tool",
                attribute(&["tool_name", "gen_ai.tool.name"]).to_owned(),
            ),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), cap(&value, self.label_value_bytes)))
        .collect()
    }

    /// Counts one stored span.
    pub(super) fn apply(&mut self, span: &SpanRecord, limit: &mut Cardinality) {
        let labels = self.labels(span);
        let seconds = span.end_ns.saturating_sub(span.start_ns) as f64 / 1e9;
        limit.add(&mut self.calls, labels.clone(), 1.0);
        limit.observe(&mut self.duration, labels, seconds);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::Value as Series;
    use serde_json::json;

    fn span(name: &str, attributes: serde_json::Value, status: i32, ms: u64) -> SpanRecord {
        SpanRecord {
            trace_id: "01".repeat(16),
            span_id: "02".repeat(8),
            parent_span_id: String::new(),
            name: name.to_owned(),
            kind: 1,
            start_ns: 1_000_000_000,
            end_ns: 1_000_000_000 + ms * 1_000_000,
            status_code: status,
            status_message: String::new(),
            flags: 0,
            trace_state: String::new(),
            attributes: attributes.as_object().unwrap().clone(),
            events: Vec::new(),
            links: Vec::new(),
            resource: json!({"service.name": "claude-code"})
                .as_object()
                .unwrap()
                .clone(),
            scope_name: String::new(),
            scope_version: String::new(),
            elided: Vec::new(),
        }
    }

    #[test]
    fn calls_errors_and_durations_by_name_model_and_tool() {
        let (mut metrics, mut limit) = (SpanMetrics::new(256), Cardinality::new(100));
        let ids = json!({"session.id": "s1", "tool_use_id": "t1"});
        metrics.apply(
            &span("claude_code.tool.execution", ids.clone(), 2, 250),
            &mut limit,
        );
        metrics.apply(&span("claude_code.tool.execution", ids, 2, 750), &mut limit);
        let request = json!({"model": "claude-sonnet-4-5", "session.id": "s2"});
        metrics.apply(
            &span("claude_code.llm_request", request, 0, 1200),
            &mut limit,
        );
        metrics.apply(
            &span("claude_code.tool", json!({"tool_name": "Bash"}), 0, 5),
            &mut limit,
        );
        let series = |name: &str, status: &str, model: &str, tool: &str| {
            let labels = [
                ("service_name", "claude-code"),
                ("span_name", name),
                ("span_kind", "SPAN_KIND_INTERNAL"),
                ("status_code", status),
                ("model", model),
                ("tool", tool),
            ];
            (
                metrics.calls.get(&labels).cloned(),
                metrics.duration.get(&labels).cloned(),
            )
        };
        let (calls, duration) = series("claude_code.tool.execution", "STATUS_CODE_ERROR", "", "");
        assert_eq!(calls, Some(Series::Scalar(2.0)));
        match duration {
            Some(Series::Histogram { count, sum, .. }) => {
                assert_eq!(count, 2);
                assert!((sum - 1.0).abs() < 1e-9, "{sum}");
            }
            other => panic!("{other:?}"),
        }
        let (calls, _) = series(
            "claude_code.llm_request",
            "STATUS_CODE_UNSET",
            "claude-sonnet-4-5",
            "",
        );
        assert_eq!(calls, Some(Series::Scalar(1.0)));
        let (calls, _) = series("claude_code.tool", "STATUS_CODE_UNSET", "", "Bash");
        assert_eq!(calls, Some(Series::Scalar(1.0)));
        let text = format!("{:?}", metrics.calls);
        assert!(
            !text.contains("s1") && !text.contains("t1"),
            "no ids as labels"
        );
    }

    #[test]
    fn series_are_capped_like_every_family() {
        let (mut metrics, mut limit) = (SpanMetrics::new(8), Cardinality::new(2));
        for tool in ["a", "b", "c", "a-very-long-tool-name"] {
            metrics.apply(
                &span("claude_code.tool", json!({"tool_name": tool}), 0, 1),
                &mut limit,
            );
        }
        assert_eq!(metrics.calls.len(), 2);
        assert_eq!(
            limit
                .dropped
                .get(&[("metric", "traces_span_metrics_calls_total")]),
            Some(&Series::Scalar(2.0))
        );
        let (mut metrics, mut limit) = (SpanMetrics::new(8), Cardinality::new(10));
        metrics.apply(
            &span(
                "claude_code.tool",
                json!({"tool_name": "a-very-long-tool-name"}),
                0,
                1,
            ),
            &mut limit,
        );
        assert!(format!("{:?}", metrics.calls).contains("\"a-very-l\""));
    }
}
