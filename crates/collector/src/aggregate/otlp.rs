//! Claude Code's own telemetry as Prometheus series: OTLP points accumulated, and the
//! metrics the design derives from its log events.
//!
//! Claude Code exports DELTA by default, one stream per process and session: the deltas
//! of every stream are added into one cumulative series per label set (`session.id` is
//! not a label). A delta interval seen before (a retried export) is not added twice; an
//! older interval arriving late still counts. CUMULATIVE streams add their increase, and
//! a smaller value or a new start time is a reset, whose whole value is new.

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde_json::Value;

use crate::exposition::{Family, Kind, Labels, Value as Series};
use crate::otlp::translate::{Point, PointKind, PointValue, Temporality};

/// Delta intervals remembered per stream to recognise a retried export.
const SEEN_INTERVALS: usize = 256;
/// A stream silent this long is forgotten (Claude Code keeps one per session; a retry
/// comes within minutes, not hours). Bounds the memory of a long-running collector.
const STREAM_IDLE_NS: u64 = 60 * 60 * 1_000_000_000;
/// Bucket bounds for API requests: 50 ms to 10 minutes.
const API_SECONDS: &[f64] = &[
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

#[derive(Debug, Default)]
struct Stream {
    last_time: u64,
    start: u64,
    last: Option<PointValue>,
    seen: VecDeque<(u64, u64)>,
}

/// The OTLP side of the aggregator.
pub struct OtlpAggregator {
    families: BTreeMap<String, Family>,
    streams: HashMap<String, Stream>,
    gauge_times: HashMap<(String, Labels), u64>,
    series_limit: usize,
}

impl OtlpAggregator {
    /// An empty one, with the log-derived families registered.
    pub fn new(series_limit: usize) -> OtlpAggregator {
        let mut families = BTreeMap::new();
        for family in [
            Family::new(
                "claude_code_api_requests_total",
                "API requests Claude Code made, by model (from api_request events).",
                Kind::Counter,
            ),
            Family::histogram(
                "claude_code_api_request_duration_seconds",
                "API request duration, by model (from api_request events).",
                API_SECONDS,
            ),
            Family::new(
                "claude_code_api_errors_total",
                "Failed API requests, by model and status code (from api_error events).",
                Kind::Counter,
            ),
            Family::new(
                "claude_code_tool_results_total",
                "Tool results, by tool and success (from tool_result events).",
                Kind::Counter,
            ),
            Family::new(
                "claude_code_tool_decisions_total",
                "Permission decisions on tool calls, by tool, decision and source (from tool_decision events).",
                Kind::Counter,
            ),
        ] {
            families.insert(family.name.clone(), family);
        }
        OtlpAggregator {
            families,
            streams: HashMap::new(),
            gauge_times: HashMap::new(),
            series_limit,
        }
    }

    /// Every family with series.
    pub fn families(&self) -> impl Iterator<Item = &Family> {
        self.families.values()
    }

    /// A family by name.
    pub fn family(&self, name: &str) -> Option<&Family> {
        self.families.get(name)
    }

    fn family_for(&mut self, point: &Point) -> Option<&mut Family> {
        let kind = match point.kind {
            PointKind::Counter => Kind::Counter,
            PointKind::Gauge => Kind::Gauge,
            PointKind::Histogram => Kind::Histogram,
        };
        let family =
            self.families
                .entry(point.name.clone())
                .or_insert_with(|| match &point.value {
                    PointValue::Histogram { bounds, .. } => {
                        Family::histogram(point.name.clone(), point.help.clone(), bounds)
                    }
                    PointValue::Number(_) => {
                        Family::new(point.name.clone(), point.help.clone(), kind)
                    }
                });
        // Two OTLP metrics that map to one name with different types: keep the first.
        if family.kind != kind {
            return None;
        }
        if !family.series.contains_key(&point.labels) && family.series.len() >= self.series_limit {
            return None;
        }
        Some(family)
    }

    /// Accumulates points; returns how many were refused (type clash, bucket change,
    /// series limit), not counting retried duplicates, which are simply dropped.
    pub fn apply_points(&mut self, points: &[Point]) -> usize {
        let mut refused = 0;
        for point in points {
            let Some(increment) = self.increment(point) else {
                continue;
            };
            if !self.add(point, increment) {
                refused += 1;
            }
        }
        refused
    }

    /// What a point adds to its series, judged against its stream; `None` when it adds
    /// nothing (a duplicate, an older cumulative value).
    fn increment(&mut self, point: &Point) -> Option<PointValue> {
        let stream = self.streams.entry(point.stream.clone()).or_default();
        match point.temporality {
            Temporality::Last => {
                if point.time_ns < stream.last_time {
                    return None;
                }
                stream.last_time = point.time_ns;
                Some(point.value.clone())
            }
            Temporality::Delta => {
                stream.last_time = stream.last_time.max(point.time_ns);
                let interval = (point.start_ns, point.time_ns);
                if stream.seen.contains(&interval) {
                    return None;
                }
                if stream.seen.len() == SEEN_INTERVALS {
                    stream.seen.pop_front();
                }
                stream.seen.push_back(interval);
                Some(point.value.clone())
            }
            Temporality::Cumulative => {
                if stream.last.is_some()
                    && point.time_ns <= stream.last_time
                    && point.start_ns == stream.start
                {
                    return None; // a retry, or older than what was already counted
                }
                let increment = match (&stream.last, &point.value) {
                    (Some(PointValue::Number(last)), PointValue::Number(now))
                        if point.start_ns == stream.start && now >= last =>
                    {
                        PointValue::Number(now - last)
                    }
                    (
                        Some(PointValue::Histogram {
                            counts: last_counts,
                            sum: last_sum,
                            count: last_count,
                            bounds: last_bounds,
                        }),
                        PointValue::Histogram {
                            counts,
                            sum,
                            count,
                            bounds,
                        },
                    ) if point.start_ns == stream.start
                        && count >= last_count
                        && bounds == last_bounds =>
                    {
                        PointValue::Histogram {
                            bounds: bounds.clone(),
                            counts: counts
                                .iter()
                                .zip(last_counts)
                                .map(|(n, l)| n.saturating_sub(*l))
                                .collect(),
                            sum: sum - last_sum,
                            count: count - last_count,
                        }
                    }
                    // First sight of the stream, or a reset: all of it is new.
                    _ => point.value.clone(),
                };
                stream.last = Some(point.value.clone());
                stream.last_time = point.time_ns;
                stream.start = point.start_ns;
                Some(increment)
            }
        }
    }

    fn add(&mut self, point: &Point, increment: PointValue) -> bool {
        let temporality = point.temporality;
        let time = point.time_ns;
        let key = (point.name.clone(), point.labels.clone());
        if temporality == Temporality::Last {
            let newest = self.gauge_times.get(&key).is_none_or(|t| time >= *t);
            if !newest {
                return true;
            }
            self.gauge_times.insert(key, time);
        }
        let Some(family) = self.family_for(point) else {
            return false;
        };
        match increment {
            PointValue::Number(v) if temporality == Temporality::Last => {
                family.set(point.labels.clone(), v)
            }
            PointValue::Number(v) => family.add(point.labels.clone(), v),
            PointValue::Histogram {
                bounds,
                counts,
                sum,
                count,
            } => {
                if bounds != family.bounds {
                    return false;
                }
                let series = family
                    .series
                    .entry(point.labels.clone())
                    .or_insert_with(|| Series::Histogram {
                        counts: vec![0; bounds.len()],
                        sum: 0.0,
                        count: 0,
                    });
                if let Series::Histogram {
                    counts: have,
                    sum: have_sum,
                    count: have_count,
                } = series
                {
                    // The exposition keeps one count per bound; the overflow bucket is
                    // the count minus them all.
                    for (slot, n) in have.iter_mut().zip(&counts) {
                        *slot += n;
                    }
                    *have_sum += sum;
                    *have_count += count;
                }
            }
        }
        true
    }

    /// Takes a family from the store's baseline.
    pub fn restore(&mut self, family: Family) {
        self.families.insert(family.name.clone(), family);
    }

    /// Forgets streams silent for an hour at `now_ms`.
    pub fn expire_streams(&mut self, now_ms: i64) {
        let now_ns = u64::try_from(now_ms).unwrap_or(0).saturating_mul(1_000_000);
        self.streams
            .retain(|_, stream| now_ns.saturating_sub(stream.last_time) < STREAM_IDLE_NS);
    }

    /// How many streams are remembered.
    pub fn streams(&self) -> usize {
        self.streams.len()
    }

    /// Derives the log-event metrics from one stored OTLP log event.
    pub fn apply_log(&mut self, event: &Value) {
        let attrs = &event["attributes"];
        let text = |key: &str| match &attrs[key] {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        let who = |extra: &[(&str, String)]| -> Labels {
            let resource = &event["resource"];
            let pick = |key: &str| {
                attrs[key]
                    .as_str()
                    .or_else(|| resource[key].as_str())
                    .unwrap_or("")
                    .to_owned()
            };
            let mut labels = vec![
                ("user_name".to_owned(), pick("user.name")),
                ("user_email".to_owned(), pick("user.email")),
            ];
            labels.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
            labels
        };
        let name = event["event_name"].as_str().unwrap_or("");
        let mut bump = |family: &str, labels: Labels| {
            if let Some(f) = self.families.get_mut(family)
                && (f.series.contains_key(&labels) || f.series.len() < self.series_limit)
            {
                f.add(labels, 1.0);
            }
        };
        match name {
            "claude_code.api_request" => {
                let labels = who(&[("model", text("model"))]);
                bump("claude_code_api_requests_total", labels.clone());
                let ms = attrs["duration_ms"]
                    .as_f64()
                    .or_else(|| text("duration_ms").parse().ok());
                if let (Some(ms), Some(f)) = (
                    ms,
                    self.families
                        .get_mut("claude_code_api_request_duration_seconds"),
                ) && (f.series.contains_key(&labels) || f.series.len() < self.series_limit)
                {
                    f.observe(labels, ms / 1000.0);
                }
            }
            "claude_code.api_error" => {
                bump(
                    "claude_code_api_errors_total",
                    who(&[
                        ("model", text("model")),
                        ("status_code", text("status_code")),
                    ]),
                );
            }
            "claude_code.tool_result" => {
                bump(
                    "claude_code_tool_results_total",
                    who(&[("tool", text("tool_name")), ("success", text("success"))]),
                );
            }
            "claude_code.tool_decision" => {
                bump(
                    "claude_code_tool_decisions_total",
                    who(&[
                        ("tool", text("tool_name")),
                        ("decision", text("decision")),
                        ("source", text("source")),
                    ]),
                );
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(value: f64, temporality: Temporality, start: u64, time: u64, stream: &str) -> Point {
        Point {
            name: "c_total".to_owned(),
            help: String::new(),
            kind: PointKind::Counter,
            temporality,
            labels: vec![("model".to_owned(), "m".to_owned())],
            stream: stream.to_owned(),
            start_ns: start,
            time_ns: time,
            value: PointValue::Number(value),
        }
    }

    fn total(agg: &OtlpAggregator) -> f64 {
        match agg.family("c_total").and_then(|f| f.get(&[("model", "m")])) {
            Some(Series::Scalar(v)) => *v,
            _ => 0.0,
        }
    }

    #[test]
    fn deltas_of_many_streams_add_up_and_retries_do_not() {
        let mut agg = OtlpAggregator::new(100);
        agg.apply_points(&[
            point(1.0, Temporality::Delta, 0, 10, "s1"),
            point(2.0, Temporality::Delta, 0, 10, "s2"),
        ]);
        agg.apply_points(&[point(1.0, Temporality::Delta, 0, 10, "s1")]); // retried export
        agg.apply_points(&[
            point(4.0, Temporality::Delta, 20, 30, "s1"),
            point(8.0, Temporality::Delta, 10, 20, "s1"),
        ]); // out of order
        assert_eq!(total(&agg), 15.0);
        agg.expire_streams(0);
        assert_eq!(agg.streams(), 2, "recent streams are kept");
        agg.expire_streams(2 * 60 * 60 * 1000);
        assert_eq!(agg.streams(), 0, "silent streams are forgotten");
        assert_eq!(total(&agg), 15.0, "their sums stay");
    }

    #[test]
    fn cumulative_adds_increases_and_detects_resets() {
        let mut agg = OtlpAggregator::new(100);
        agg.apply_points(&[point(5.0, Temporality::Cumulative, 1, 10, "s")]);
        agg.apply_points(&[point(7.0, Temporality::Cumulative, 1, 20, "s")]);
        agg.apply_points(&[point(7.0, Temporality::Cumulative, 1, 20, "s")]); // duplicate
        agg.apply_points(&[point(6.0, Temporality::Cumulative, 1, 15, "s")]); // older
        agg.apply_points(&[point(3.0, Temporality::Cumulative, 1, 30, "s")]); // reset: went down
        agg.apply_points(&[point(2.0, Temporality::Cumulative, 40, 50, "s")]); // reset: new start
        assert_eq!(total(&agg), 5.0 + 2.0 + 3.0 + 2.0);
    }
}
