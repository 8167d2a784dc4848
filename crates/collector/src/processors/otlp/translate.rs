//! OTLP data, as Prometheus names it and as the store keeps it.
//!
//! Names follow the OpenTelemetry Collector's Prometheus exporter, so public Claude Code
//! dashboards work unchanged: the name's words joined by `_`, the unit appended when the
//! name does not already say it (`s` → `seconds`, `By` → `bytes`, `{…}` annotations
//! dropped, `a/b` → `a_per_b`), `ratio` for unit `1` gauges, `total` moved to the end of
//! monotonic sums. `claude_code.cost.usage` in `USD` becomes
//! `claude_code_cost_usage_USD_total`; `claude_code.active_time.total` in `s` becomes
//! `claude_code_active_time_seconds_total`.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{AggregationTemporality, metric, number_data_point};
use serde_json::{Map, Value, json};

use crate::event::{LogRecord, Point, PointValue, Temporality};
use crate::exposition::{Kind, Labels};
use crate::ids::stable_id;

/// What attributes become labels.
#[derive(Debug, Clone)]
pub struct LabelPolicy {
    /// Attributes never turned into labels: by default `session.id` (cardinality) and
    /// the provider attributes 2.1.330 added, which would split every series of a fleet
    /// mixing releases.
    pub drop: Vec<String>,
    /// Resource attributes turned into labels on every point (`user.name`, `user.email`).
    pub promote: Vec<String>,
}

impl Default for LabelPolicy {
    fn default() -> Self {
        LabelPolicy {
            drop: vec![
                "session.id".to_owned(),
                "anthropic.provider".to_owned(),
                "anthropic.custom_base_url".to_owned(),
            ],
            promote: vec!["user.name".to_owned(), "user.email".to_owned()],
        }
    }
}

/// The result of translating one metrics export.
#[derive(Debug, Default)]
pub struct Translated {
    /// Points to accumulate, `target_info` included.
    pub points: Vec<Point>,
    /// Points refused, with why.
    pub rejected: Vec<Rejected>,
}

/// Data points of one metric refused, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    /// `unsupported` (a type Prometheus has no equivalent for here) or `invalid`.
    pub reason: &'static str,
    /// What is wrong, naming the metric.
    pub message: String,
    /// How many data points.
    pub points: usize,
}

impl Translated {
    fn reject(&mut self, reason: &'static str, points: usize, message: String) {
        self.rejected.push(Rejected {
            reason,
            message,
            points: points.max(1),
        });
    }

    /// How many data points were refused.
    pub fn rejected_points(&self) -> usize {
        self.rejected.iter().map(|r| r.points).sum()
    }
}

const UNITS: &[(&str, &str)] = &[
    ("d", "days"),
    ("h", "hours"),
    ("min", "minutes"),
    ("s", "seconds"),
    ("ms", "milliseconds"),
    ("us", "microseconds"),
    ("ns", "nanoseconds"),
    ("By", "bytes"),
    ("KiBy", "kibibytes"),
    ("MiBy", "mebibytes"),
    ("GiBy", "gibibytes"),
    ("TiBy", "tebibytes"),
    ("KBy", "kilobytes"),
    ("MBy", "megabytes"),
    ("GBy", "gigabytes"),
    ("TBy", "terabytes"),
    ("m", "meters"),
    ("V", "volts"),
    ("A", "amperes"),
    ("J", "joules"),
    ("W", "watts"),
    ("g", "grams"),
    ("Cel", "celsius"),
    ("Hz", "hertz"),
    ("%", "percent"),
];
const PER_UNITS: &[(&str, &str)] = &[
    ("s", "second"),
    ("m", "minute"),
    ("h", "hour"),
    ("d", "day"),
    ("w", "week"),
    ("mo", "month"),
    ("y", "year"),
];

fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// The Prometheus name of an OTLP metric.
pub fn prometheus_name(name: &str, unit: &str, kind: Kind) -> String {
    let mut tokens: Vec<String> = words(name).map(str::to_owned).collect();
    if kind == Kind::Counter {
        tokens.retain(|t| t != "total");
    }
    // `{packets}/s`: annotations in braces say nothing Prometheus keeps.
    let unit = strip_annotations(unit);
    let (main, per) = match unit.split_once('/') {
        Some((main, per)) => (main.trim(), per.trim()),
        None => (unit.trim(), ""),
    };
    let main = UNITS
        .iter()
        .find(|(u, _)| *u == main)
        .map_or(main, |(_, word)| *word);
    for word in words(main) {
        if word != "1" && !tokens.iter().any(|t| t == word) {
            tokens.push(word.to_owned());
        }
    }
    if !per.is_empty() {
        let per = PER_UNITS
            .iter()
            .find(|(u, _)| *u == per)
            .map_or(per, |(_, word)| *word);
        if per.chars().any(|c| c.is_ascii_alphanumeric()) {
            tokens.push("per".to_owned());
            tokens.extend(words(per).map(str::to_owned));
        }
    }
    if kind == Kind::Gauge && unit == "1" && !tokens.iter().any(|t| t == "ratio") {
        tokens.push("ratio".to_owned());
    }
    if kind == Kind::Counter {
        tokens.push("total".to_owned());
    }
    let joined = tokens.join("_");
    if joined.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{joined}")
    } else {
        joined
    }
}

fn strip_annotations(unit: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in unit.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = (depth - 1).max(0),
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// An attribute key as a Prometheus label name.
pub fn label_name(key: &str) -> String {
    let mut out: String = key
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out = format!("key_{out}");
    }
    if out.is_empty() {
        out = "key_".to_owned();
    }
    out
}

/// An attribute value as text.
pub fn value_text(value: Option<&AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        None => String::new(),
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        Some(other) => json_of(other).to_string(),
    }
}

/// Bytes as lower-case hex: how trace and span ids are written everywhere.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An id as hex, unless it is absent (empty or all zero, as OTLP writes "none").
fn nonzero_hex(bytes: &[u8]) -> Option<String> {
    bytes.iter().any(|b| *b != 0).then(|| hex(bytes))
}

/// Attributes as a JSON object, values as JSON.
pub fn attributes_json(attributes: &[KeyValue]) -> Map<String, Value> {
    attributes
        .iter()
        .map(|kv| {
            (
                kv.key.clone(),
                kv.value
                    .as_ref()
                    .and_then(|v| v.value.as_ref())
                    .map_or(Value::Null, json_of),
            )
        })
        .collect()
}

fn json_of(value: &any_value::Value) -> Value {
    match value {
        any_value::Value::StringValue(s) => json!(s),
        any_value::Value::BoolValue(b) => json!(b),
        any_value::Value::IntValue(i) => json!(i),
        any_value::Value::DoubleValue(d) => json!(d),
        any_value::Value::ArrayValue(a) => Value::Array(
            a.values
                .iter()
                .filter_map(|v| v.value.as_ref().map(json_of))
                .collect(),
        ),
        any_value::Value::KvlistValue(kv) => Value::Object(
            kv.values
                .iter()
                .map(|p| {
                    (
                        p.key.clone(),
                        p.value
                            .as_ref()
                            .and_then(|v| v.value.as_ref())
                            .map_or(Value::Null, json_of),
                    )
                })
                .collect(),
        ),
        any_value::Value::BytesValue(b) => json!(hex(b)),
        any_value::Value::StringValueStrindex(i) => json!(i),
    }
}

fn attribute_map(attributes: &[KeyValue]) -> BTreeMap<String, String> {
    attributes
        .iter()
        .map(|kv| (kv.key.clone(), value_text(kv.value.as_ref())))
        .collect()
}

fn labels_for(
    point: &BTreeMap<String, String>,
    resource: &BTreeMap<String, String>,
    policy: &LabelPolicy,
) -> Labels {
    let mut labels: BTreeMap<String, String> = BTreeMap::new();
    for key in &policy.promote {
        if let Some(value) = resource.get(key) {
            labels.insert(label_name(key), value.clone());
        }
    }
    for (key, value) in point {
        if !policy.drop.contains(key) {
            labels.insert(label_name(key), value.clone());
        }
    }
    labels.into_iter().collect()
}

fn stream_id(
    metric: &str,
    point: &BTreeMap<String, String>,
    resource: &BTreeMap<String, String>,
) -> String {
    serde_json::to_string(&(metric, point, resource)).unwrap_or_default()
}

/// Translates a metrics export into points.
pub fn metrics(request: &ExportMetricsServiceRequest, policy: &LabelPolicy) -> Translated {
    let mut out = Translated::default();
    for rm in &request.resource_metrics {
        let resource = rm
            .resource
            .as_ref()
            .map(|r| attribute_map(&r.attributes))
            .unwrap_or_default();
        // `target_info`: the resource's other attributes, once per resource.
        let mut info: BTreeMap<String, String> = BTreeMap::new();
        for (key, value) in &resource {
            if policy.promote.contains(key) {
                continue;
            }
            let name = match key.as_str() {
                "service.name" => "job".to_owned(),
                "service.instance.id" => "instance".to_owned(),
                other => label_name(other),
            };
            info.insert(name, value.clone());
        }
        let mut latest = 0;
        for sm in &rm.scope_metrics {
            for m in &sm.metrics {
                translate_metric(m, &resource, policy, &mut out, &mut latest);
            }
        }
        if !resource.is_empty() {
            out.points.push(Point {
                name: "target_info".to_owned(),
                help: "Target metadata: the OpenTelemetry resource's attributes.".to_owned(),
                kind: Kind::Gauge,
                temporality: Temporality::Last,
                labels: info.into_iter().collect(),
                stream: stream_id("target_info", &BTreeMap::new(), &resource),
                start_ns: 0,
                time_ns: latest,
                value: PointValue::Number(1.0),
            });
        }
    }
    out
}

fn translate_metric(
    m: &opentelemetry_proto::tonic::metrics::v1::Metric,
    resource: &BTreeMap<String, String>,
    policy: &LabelPolicy,
    out: &mut Translated,
    latest: &mut u64,
) {
    let temporality = |t: i32| match AggregationTemporality::try_from(t) {
        Ok(AggregationTemporality::Delta) => Some(Temporality::Delta),
        Ok(AggregationTemporality::Cumulative) => Some(Temporality::Cumulative),
        _ => None,
    };
    match &m.data {
        Some(metric::Data::Sum(sum)) => {
            let kind = if sum.is_monotonic {
                Kind::Counter
            } else {
                Kind::Gauge
            };
            let Some(t) = temporality(sum.aggregation_temporality) else {
                out.reject(
                    "invalid",
                    sum.data_points.len(),
                    format!("{}: unspecified aggregation temporality", m.name),
                );
                return;
            };
            // A non-monotonic cumulative sum is a level; a delta one still adds up.
            let t = if kind == Kind::Gauge && t == Temporality::Cumulative {
                Temporality::Last
            } else {
                t
            };
            let name = prometheus_name(&m.name, &m.unit, kind);
            for p in &sum.data_points {
                number_point(m, &name, kind, t, p, resource, policy, out, latest);
            }
        }
        Some(metric::Data::Gauge(gauge)) => {
            let name = prometheus_name(&m.name, &m.unit, Kind::Gauge);
            for p in &gauge.data_points {
                number_point(
                    m,
                    &name,
                    Kind::Gauge,
                    Temporality::Last,
                    p,
                    resource,
                    policy,
                    out,
                    latest,
                );
            }
        }
        Some(metric::Data::Histogram(histogram)) => {
            let Some(t) = temporality(histogram.aggregation_temporality) else {
                out.reject(
                    "invalid",
                    histogram.data_points.len(),
                    format!("{}: unspecified aggregation temporality", m.name),
                );
                return;
            };
            let name = prometheus_name(&m.name, &m.unit, Kind::Histogram);
            for p in &histogram.data_points {
                if p.bucket_counts.len() != p.explicit_bounds.len() + 1 {
                    out.reject(
                        "invalid",
                        1,
                        format!(
                            "{}: {} bucket counts for {} bounds",
                            m.name,
                            p.bucket_counts.len(),
                            p.explicit_bounds.len()
                        ),
                    );
                    continue;
                }
                let attrs = attribute_map(&p.attributes);
                *latest = (*latest).max(p.time_unix_nano);
                out.points.push(Point {
                    name: name.clone(),
                    help: m.description.clone(),
                    kind: Kind::Histogram,
                    temporality: t,
                    labels: labels_for(&attrs, resource, policy),
                    stream: stream_id(&m.name, &attrs, resource),
                    start_ns: p.start_time_unix_nano,
                    time_ns: p.time_unix_nano,
                    value: PointValue::Histogram {
                        bounds: p.explicit_bounds.clone(),
                        counts: p.bucket_counts.clone(),
                        sum: p.sum.unwrap_or(0.0),
                        count: p.count,
                    },
                });
            }
        }
        Some(metric::Data::ExponentialHistogram(h)) => {
            out.reject(
                "unsupported",
                h.data_points.len(),
                format!(
                    "{}: exponential histograms are not supported ({} points)",
                    m.name,
                    h.data_points.len().max(1)
                ),
            );
        }
        Some(metric::Data::Summary(s)) => {
            out.reject(
                "unsupported",
                s.data_points.len(),
                format!(
                    "{}: summaries are not supported ({} points)",
                    m.name,
                    s.data_points.len().max(1)
                ),
            );
        }
        None => out.reject("invalid", 1, format!("{}: no data", m.name)),
    }
}

#[allow(clippy::too_many_arguments)]
fn number_point(
    m: &opentelemetry_proto::tonic::metrics::v1::Metric,
    name: &str,
    kind: Kind,
    temporality: Temporality,
    p: &opentelemetry_proto::tonic::metrics::v1::NumberDataPoint,
    resource: &BTreeMap<String, String>,
    policy: &LabelPolicy,
    out: &mut Translated,
    latest: &mut u64,
) {
    let value = match p.value {
        Some(number_data_point::Value::AsDouble(v)) => v,
        Some(number_data_point::Value::AsInt(v)) => v as f64,
        None => {
            out.reject(
                "invalid",
                1,
                format!("{}: a data point without a value", m.name),
            );
            return;
        }
    };
    if !value.is_finite() || (kind == Kind::Counter && value < 0.0) {
        let what = if kind == Kind::Counter {
            "counter value"
        } else {
            "value"
        };
        out.reject(
            "invalid",
            1,
            format!("{}: {value} is not a valid {what}", m.name),
        );
        return;
    }
    let attrs = attribute_map(&p.attributes);
    *latest = (*latest).max(p.time_unix_nano);
    out.points.push(Point {
        name: name.to_owned(),
        help: m.description.clone(),
        kind,
        temporality,
        labels: labels_for(&attrs, resource, policy),
        stream: stream_id(&m.name, &attrs, resource),
        start_ns: p.start_time_unix_nano,
        time_ns: p.time_unix_nano,
        value: PointValue::Number(value),
    });
}

/// Whether a record's body is one of Claude Code's event names (`claude_code.user_prompt`).
fn names_an_event(body: &str) -> bool {
    body.strip_prefix("claude_code.").is_some_and(|name| {
        !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    })
}

/// One OTLP log record, translated.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEvent {
    /// When it happened, Unix ns.
    pub time_ns: u64,
    /// A stable id: the same record exported twice is stored once.
    pub id: String,
    /// The record.
    pub record: LogRecord,
}

/// Translates a logs export into events.
pub fn logs(request: &ExportLogsServiceRequest) -> Vec<LogEvent> {
    let mut events = Vec::new();
    for rl in &request.resource_logs {
        let resource: Map<String, Value> = rl
            .resource
            .as_ref()
            .map(|r| attributes_json(&r.attributes))
            .unwrap_or_default();
        for sl in &rl.scope_logs {
            for record in &sl.log_records {
                let attributes = attributes_json(&record.attributes);
                let body_text = value_text(record.body.as_ref());
                let name = match attributes.get("event.name").and_then(Value::as_str) {
                    Some(name) if name.contains('.') => name.to_owned(),
                    Some(name) => format!("claude_code.{name}"),
                    None if !record.event_name.is_empty() => record.event_name.clone(),
                    // Claude Code's bodies name the event; another sender's may be any
                    // text, which must not become a name (names are metadata).
                    None if names_an_event(&body_text) => body_text.clone(),
                    None => "otlp.log".to_owned(),
                };
                let time_ns = if record.time_unix_nano > 0 {
                    record.time_unix_nano
                } else {
                    record.observed_time_unix_nano
                };
                let id = stable_id(&[
                    &name,
                    &time_ns.to_string(),
                    attributes
                        .get("session.id")
                        .and_then(Value::as_str)
                        .unwrap_or(""),
                    &attributes
                        .get("event.sequence")
                        .map(Value::to_string)
                        .unwrap_or_default(),
                    &serde_json::to_string(&attributes).unwrap_or_default(),
                ]);
                events.push(LogEvent {
                    time_ns,
                    id,
                    record: LogRecord {
                        event_name: name,
                        attributes,
                        resource: resource.clone(),
                        body: (!body_text.is_empty()).then_some(Value::String(body_text)),
                        severity: (!record.severity_text.is_empty())
                            .then(|| record.severity_text.clone()),
                        trace_id: nonzero_hex(&record.trace_id),
                        span_id: nonzero_hex(&record.span_id),
                    },
                });
            }
        }
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_the_collector_exporter_gives_them() {
        let counter = Kind::Counter;
        assert_eq!(
            prometheus_name("claude_code.cost.usage", "USD", counter),
            "claude_code_cost_usage_USD_total"
        );
        assert_eq!(
            prometheus_name("claude_code.token.usage", "tokens", counter),
            "claude_code_token_usage_tokens_total"
        );
        assert_eq!(
            prometheus_name("claude_code.active_time.total", "s", counter),
            "claude_code_active_time_seconds_total"
        );
        assert_eq!(
            prometheus_name("claude_code.session.count", "", counter),
            "claude_code_session_count_total"
        );
        assert_eq!(
            prometheus_name("claude_code.lines_of_code.count", "count", counter),
            "claude_code_lines_of_code_count_total"
        );
        assert_eq!(
            prometheus_name("claude_code.commit.count", "{commit}", counter),
            "claude_code_commit_count_total"
        );
        assert_eq!(
            prometheus_name("http.server.duration", "ms", Kind::Histogram),
            "http_server_duration_milliseconds"
        );
        assert_eq!(
            prometheus_name("cpu.utilization", "1", Kind::Gauge),
            "cpu_utilization_ratio"
        );
        assert_eq!(
            prometheus_name("net.io", "By/s", Kind::Gauge),
            "net_io_bytes_per_second"
        );
        assert_eq!(
            prometheus_name("2xx.count", "", counter),
            "_2xx_count_total"
        );
        assert_eq!(label_name("user.email"), "user_email");
        assert_eq!(label_name("9lives"), "key_9lives");
    }

    #[test]
    fn only_a_body_that_names_an_event_names_the_event() {
        use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
        let record = |body: &str| LogRecord {
            time_unix_nano: 1,
            body: Some(AnyValue {
                value: Some(any_value::Value::StringValue(body.to_owned())),
            }),
            ..Default::default()
        };
        let request = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![ScopeLogs {
                    log_records: vec![
                        record("claude_code.user_prompt"),
                        record("the user typed hunter2 here"),
                        record("claude_code.has space"),
                    ],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let names: Vec<String> = logs(&request)
            .into_iter()
            .map(|event| event.record.event_name)
            .collect();
        assert_eq!(names, ["claude_code.user_prompt", "otlp.log", "otlp.log"]);
    }
}
