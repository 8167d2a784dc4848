//! Claude Code's own telemetry as Prometheus series: OTLP points accumulated, and the
//! metrics the design derives from its log events.
//!
//! Claude Code exports DELTA by default, one stream per process and session: the deltas
//! of every stream are added into one cumulative series per label set (`session.id` is
//! not a label). A delta interval seen before (a retried export) is not added twice; an
//! older interval arriving late still counts. CUMULATIVE streams add their increase, and
//! a smaller value or a new start time is a reset, whose whole value is new. A point that
//! cannot be added (its type or buckets contradict the family's) is counted, never
//! dropped silently.

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::Joined;
use super::limits::Cardinality;
use crate::event::{LogRecord, Point, PointValue, Temporality};
use crate::exposition::{Family, Kind, Labels, Value as Series};

/// Delta intervals remembered per stream to recognise a retried export.
const SEEN_INTERVALS: usize = 256;
/// A stream silent this long is forgotten (Claude Code keeps one per session; a retry
/// comes within minutes, not hours). Bounds the memory of a long-running collector.
/// Measured in the stored events' own time, so a replay forgets exactly what the live
/// run forgot.
const STREAM_IDLE_MS: i64 = 60 * 60 * 1000;
/// How often, in the events' time, silent streams are looked for.
const EXPIRY_EVERY_MS: i64 = 60 * 1000;
/// Streams remembered at most, whatever the rate they come at; beyond it the tenth
/// touched longest ago is forgotten.
const MAX_STREAMS: usize = 100_000;
/// Metric names taken from OTLP at most (Claude Code sends about ten); points of further
/// names are dropped and counted.
pub(super) const MAX_OTLP_METRICS: usize = 1_000;
/// Bucket bounds for API requests: 50 ms to 10 minutes.
const API_SECONDS: &[f64] = &[
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];
/// Bucket bounds for the time to a response's first token: 50 ms to 2 minutes.
const FIRST_TOKEN_SECONDS: &[f64] = &[
    0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0,
];
/// The prompt cache's times to live, and the `api_request` attribute counting each.
const CACHE_TTLS: &[(&str, &str)] = &[
    ("5m", "cache_creation_5m_tokens"),
    ("1h", "cache_creation_1h_tokens"),
];

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Stream {
    last_time: u64,
    start: u64,
    last: Option<PointValue>,
    seen: VecDeque<(u64, u64)>,
    /// The time of the stored event that last touched it (Unix ms).
    touched_ms: i64,
    /// The order it was last touched in, for forgetting the oldest at the cap.
    touched: u64,
}

/// Why a stored point added nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// Its type is not the family's (two OTLP metrics mapping to one name).
    TypeConflict,
    /// Its histogram buckets are not the family's.
    BucketsChanged,
    /// Its series would pass the series limit, or its name the limit on OTLP metric
    /// names (counted as a dropped series).
    SeriesLimit,
}

/// A numeric attribute of a log event: Claude Code sends some as numbers, some as text.
fn number(record: &LogRecord, key: &str) -> Option<f64> {
    record
        .attributes
        .get(key)
        .and_then(serde_json::Value::as_f64)
        .or_else(|| record.text(key).parse().ok())
        .filter(|n: &f64| n.is_finite())
}

/// The families derived from Claude Code's log events.
struct LogFamilies {
    api_requests: Family,
    api_request_duration: Family,
    api_first_token: Family,
    api_cache_creation: Family,
    api_errors: Family,
    tool_results: Family,
    tool_decisions: Family,
    plugins_loaded: Family,
    managed_settings_resolved: Family,
}

impl LogFamilies {
    fn new() -> LogFamilies {
        LogFamilies {
            api_requests: Family::new(
                "claude_code_api_requests_total",
                "API requests Claude Code made, by model (from api_request events).",
                Kind::Counter,
            ),
            api_request_duration: Family::histogram(
                "claude_code_api_request_duration_seconds",
                "API request duration, by model (from api_request events).",
                API_SECONDS,
            ),
            api_first_token: Family::histogram(
                "claude_code_api_time_to_first_token_seconds",
                "Time from an API request to the first token of its response, by model (from api_request events' ttft_ms).",
                FIRST_TOKEN_SECONDS,
            ),
            api_cache_creation: Family::new(
                "claude_code_api_cache_creation_tokens_total",
                "Tokens written to the prompt cache, by model and time to live (from api_request events' cache_creation_5m_tokens and cache_creation_1h_tokens).",
                Kind::Counter,
            ),
            api_errors: Family::new(
                "claude_code_api_errors_total",
                "Failed API requests, by model and status code (from api_error events).",
                Kind::Counter,
            ),
            tool_results: Family::new(
                "claude_code_tool_results_total",
                "Tool results, by tool and success (from tool_result events).",
                Kind::Counter,
            ),
            tool_decisions: Family::new(
                "claude_code_tool_decisions_total",
                "Permission decisions on tool calls, by tool, decision, source, permission mode and the tool's provenance (from tool_decision events).",
                Kind::Counter,
            ),
            plugins_loaded: Family::new(
                "claude_code_plugins_loaded_total",
                "Plugins Claude Code loaded, by plugin, marketplace, scope and how it was enabled (from plugin_loaded events; third-party names arrive as third-party).",
                Kind::Counter,
            ),
            managed_settings_resolved: Family::new(
                "claude_code_managed_settings_resolved_total",
                "Times Claude Code resolved its managed settings, by trigger, source behavior and settings helper state (from managed_settings_resolved events).",
                Kind::Counter,
            ),
        }
    }

    fn all(&self) -> [&Family; 9] {
        [
            &self.api_requests,
            &self.api_request_duration,
            &self.api_first_token,
            &self.api_cache_creation,
            &self.api_errors,
            &self.tool_results,
            &self.tool_decisions,
            &self.plugins_loaded,
            &self.managed_settings_resolved,
        ]
    }

    fn all_mut(&mut self) -> [&mut Family; 9] {
        [
            &mut self.api_requests,
            &mut self.api_request_duration,
            &mut self.api_first_token,
            &mut self.api_cache_creation,
            &mut self.api_errors,
            &mut self.tool_results,
            &mut self.tool_decisions,
            &mut self.plugins_loaded,
            &mut self.managed_settings_resolved,
        ]
    }
}

/// The state behind the OTLP families, as the store's baseline keeps it: what each
/// stream counted last, and when each gauge was last set.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct OtlpState {
    streams: Vec<(String, Stream)>,
    gauge_times: Vec<((String, Labels), u64)>,
    next_expiry_ms: i64,
    touches: u64,
}

/// Claude Code's metrics, and those derived from its events.
pub(super) struct OtlpMetrics {
    log: LogFamilies,
    /// OTLP metrics by Prometheus name: any name Claude Code sends.
    metrics: BTreeMap<String, Family>,
    /// Points stored but not added, by why.
    points_dropped: Family,
    streams: HashMap<String, Stream>,
    gauge_times: HashMap<(String, Labels), u64>,
    /// When (in the events' time) silent streams are next looked for.
    next_expiry_ms: i64,
    /// How many times streams were touched: the order of touches.
    touches: u64,
}

impl OtlpMetrics {
    pub(super) fn new() -> OtlpMetrics {
        OtlpMetrics {
            log: LogFamilies::new(),
            metrics: BTreeMap::new(),
            points_dropped: Family::new(
                "claude_telemetry_otlp_points_dropped_total",
                "OTLP data points stored but not added to a series: type_conflict (another metric of that name has another type) or buckets_changed.",
                Kind::Counter,
            ),
            streams: HashMap::new(),
            gauge_times: HashMap::new(),
            next_expiry_ms: i64::MIN,
            touches: 0,
        }
    }

    /// Every family.
    pub(super) fn families(&self) -> impl Iterator<Item = &Family> {
        self.log
            .all()
            .into_iter()
            .chain(self.metrics.values())
            .chain(std::iter::once(&self.points_dropped))
    }

    pub(super) fn families_mut(&mut self) -> impl Iterator<Item = &mut Family> {
        self.log
            .all_mut()
            .into_iter()
            .chain(self.metrics.values_mut())
            .chain(std::iter::once(&mut self.points_dropped))
    }

    /// Takes a family from the store's baseline.
    pub(super) fn restore(&mut self, family: Family) {
        if family.name == self.points_dropped.name {
            self.points_dropped = family;
        } else if let Some(mine) = self
            .log
            .all_mut()
            .into_iter()
            .find(|f| f.name == family.name)
        {
            *mine = family;
        } else {
            self.metrics.insert(family.name.clone(), family);
        }
    }

    /// The state behind the families, for the baseline.
    pub(super) fn state(&self) -> OtlpState {
        let mut streams: Vec<(String, Stream)> = self
            .streams
            .iter()
            .map(|(key, stream)| (key.clone(), stream.clone()))
            .collect();
        streams.sort_by(|a, b| a.0.cmp(&b.0));
        let mut gauge_times: Vec<((String, Labels), u64)> = self
            .gauge_times
            .iter()
            .map(|(key, time)| (key.clone(), *time))
            .collect();
        gauge_times.sort();
        OtlpState {
            streams,
            gauge_times,
            next_expiry_ms: self.next_expiry_ms,
            touches: self.touches,
        }
    }

    /// Continues from a baseline's state.
    pub(super) fn restore_state(&mut self, state: OtlpState) {
        self.streams = state.streams.into_iter().collect();
        self.gauge_times = state.gauge_times.into_iter().collect();
        self.next_expiry_ms = state.next_expiry_ms;
        self.touches = state.touches;
    }

    /// Forgets streams silent for an hour before `ts_ms` (looked for once a minute of
    /// the events' time), and the tenth touched longest ago when there are too many.
    fn expire_streams(&mut self, ts_ms: i64) {
        if ts_ms >= self.next_expiry_ms {
            self.next_expiry_ms = ts_ms.saturating_add(EXPIRY_EVERY_MS);
            self.streams
                .retain(|_, stream| ts_ms.saturating_sub(stream.touched_ms) < STREAM_IDLE_MS);
        }
        if self.streams.len() >= MAX_STREAMS {
            let mut order: Vec<u64> = self.streams.values().map(|s| s.touched).collect();
            let tenth = MAX_STREAMS / 10;
            order.select_nth_unstable(tenth);
            let oldest_kept = order[tenth];
            self.streams
                .retain(|_, stream| stream.touched >= oldest_kept);
        }
    }

    /// Accumulates the points of an export stored at `ts_ms`; a point that adds nothing
    /// because it contradicts its family is counted (retried duplicates are simply
    /// dropped), as is one over a limit (by `limit`).
    pub(super) fn apply_points(&mut self, points: &[Point], ts_ms: i64, limit: &mut Cardinality) {
        self.expire_streams(ts_ms);
        for point in points {
            let refusal = match self.family_for(point, limit) {
                Ok(family) => {
                    if !limit.admit(family, &point.labels) {
                        continue;
                    }
                    None
                }
                Err(Refusal::SeriesLimit) => continue,
                Err(refusal) => Some(refusal),
            };
            let refusal = match refusal {
                Some(refusal) => Some(refusal),
                None => match self.increment(point, ts_ms) {
                    Some(increment) => self.add(point, increment, limit).err(),
                    None => continue,
                },
            };
            let reason = match refusal {
                None | Some(Refusal::SeriesLimit) => continue,
                Some(Refusal::TypeConflict) => "type_conflict",
                Some(Refusal::BucketsChanged) => "buckets_changed",
            };
            self.points_dropped
                .add(vec![("reason".to_owned(), reason.to_owned())], 1.0);
        }
    }

    /// What a point adds to its series, judged against its stream; `None` when it adds
    /// nothing (a duplicate, an older cumulative value).
    fn increment(&mut self, point: &Point, ts_ms: i64) -> Option<PointValue> {
        self.touches += 1;
        let stream = self.streams.entry(point.stream.clone()).or_default();
        stream.touched = self.touches;
        stream.touched_ms = stream.touched_ms.max(ts_ms);
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

    /// The family a point lands in, created on first sight (within the limit on names,
    /// whose refusals `limit` counts).
    fn family_for(
        &mut self,
        point: &Point,
        limit: &mut Cardinality,
    ) -> Result<&mut Family, Refusal> {
        let typed = self
            .log
            .all_mut()
            .into_iter()
            .find(|f| f.name == point.name);
        let new_name = typed.is_none() && !self.metrics.contains_key(&point.name);
        if new_name && self.metrics.len() >= MAX_OTLP_METRICS {
            limit.count(&point.name, 1);
            return Err(Refusal::SeriesLimit);
        }
        let family = match typed {
            Some(family) => family,
            None => self
                .metrics
                .entry(point.name.clone())
                .or_insert_with(|| match &point.value {
                    PointValue::Histogram { bounds, .. } => {
                        Family::histogram(point.name.clone(), point.help.clone(), bounds)
                    }
                    PointValue::Number(_) => {
                        Family::new(point.name.clone(), point.help.clone(), point.kind)
                    }
                }),
        };
        // Two OTLP metrics that map to one name with different types: keep the first.
        if family.kind != point.kind {
            return Err(Refusal::TypeConflict);
        }
        Ok(family)
    }

    fn add(
        &mut self,
        point: &Point,
        increment: PointValue,
        limit: &mut Cardinality,
    ) -> Result<(), Refusal> {
        let temporality = point.temporality;
        let time = point.time_ns;
        if temporality == Temporality::Last {
            let key = (point.name.clone(), point.labels.clone());
            let newest = self.gauge_times.get(&key).is_none_or(|t| time >= *t);
            if !newest {
                return Ok(());
            }
            self.gauge_times.insert(key, time);
        }
        let family = self.family_for(point, limit)?;
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
                    return Err(Refusal::BucketsChanged);
                }
                let series = family.series_mut(point.labels.clone(), || Series::Histogram {
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
        Ok(())
    }

    /// Derives the log-event metrics from one stored OTLP log event, labelled with its
    /// session's user and project (`project`: the label the project goes by).
    pub(super) fn apply_log(
        &mut self,
        record: &LogRecord,
        joined: &Joined,
        project: &str,
        limit: &mut Cardinality,
    ) {
        let who = |extra: &[(&str, String)]| -> Labels {
            let mut labels = vec![
                ("user_name".to_owned(), joined.identity.user_name.clone()),
                ("user_email".to_owned(), joined.identity.user_email.clone()),
                ("project".to_owned(), project.to_owned()),
            ];
            labels.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
            labels
        };
        let log = &mut self.log;
        match record.event_name.as_str() {
            "claude_code.api_request" => {
                let labels = who(&[("model", record.text("model"))]);
                limit.add(&mut log.api_requests, labels.clone(), 1.0);
                if let Some(ms) = number(record, "duration_ms") {
                    limit.observe(&mut log.api_request_duration, labels.clone(), ms / 1000.0);
                }
                if let Some(ms) = number(record, "ttft_ms").filter(|ms| *ms >= 0.0) {
                    limit.observe(&mut log.api_first_token, labels, ms / 1000.0);
                }
                for (ttl, attribute) in CACHE_TTLS {
                    // Counted when sent, zero too, so the series exist from the first request.
                    if let Some(tokens) = number(record, attribute).filter(|n| *n >= 0.0) {
                        let labels =
                            who(&[("model", record.text("model")), ("ttl", (*ttl).to_owned())]);
                        limit.add(&mut log.api_cache_creation, labels, tokens);
                    }
                }
            }
            "claude_code.api_error" => {
                let labels = who(&[
                    ("model", record.text("model")),
                    ("status_code", record.text("status_code")),
                ]);
                limit.add(&mut log.api_errors, labels, 1.0);
            }
            "claude_code.tool_result" => {
                let labels = who(&[
                    ("tool", record.text("tool_name")),
                    ("success", record.text("success")),
                ]);
                limit.add(&mut log.tool_results, labels, 1.0);
            }
            "claude_code.tool_decision" => {
                let labels = who(&[
                    ("tool", record.text("tool_name")),
                    ("decision", record.text("decision")),
                    ("source", record.text("source")),
                    ("permission_mode", record.text("permission_mode")),
                    ("tool_source", record.text("tool_source")),
                ]);
                limit.add(&mut log.tool_decisions, labels, 1.0);
            }
            "claude_code.plugin_loaded" => {
                let labels = who(&[
                    ("plugin", record.text("plugin.name")),
                    ("marketplace", record.text("marketplace.name")),
                    ("scope", record.text("plugin.scope")),
                    ("enabled_via", record.text("enabled_via")),
                ]);
                limit.add(&mut log.plugins_loaded, labels, 1.0);
            }
            "claude_code.managed_settings_resolved" => {
                let labels = who(&[
                    ("trigger", record.text("managed_settings.trigger")),
                    (
                        "source_behavior",
                        record.text("managed_settings.source_behavior"),
                    ),
                    ("helper_state", record.text("managed_settings.helper.state")),
                    (
                        "helper_applied",
                        record.text("managed_settings.helper.applied"),
                    ),
                ]);
                limit.add(&mut log.managed_settings_resolved, labels, 1.0);
            }
            _ => {}
        }
    }

    #[cfg(test)]
    fn streams(&self) -> usize {
        self.streams.len()
    }

    #[cfg(test)]
    fn family(&self, name: &str) -> Option<&Family> {
        self.families().find(|f| f.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(value: f64, temporality: Temporality, start: u64, time: u64, stream: &str) -> Point {
        Point {
            name: "c_total".to_owned(),
            help: String::new(),
            kind: Kind::Counter,
            temporality,
            labels: vec![("model".to_owned(), "m".to_owned())],
            stream: stream.to_owned(),
            start_ns: start,
            time_ns: time,
            value: PointValue::Number(value),
        }
    }

    fn total(agg: &OtlpMetrics) -> f64 {
        match agg.family("c_total").and_then(|f| f.get(&[("model", "m")])) {
            Some(Series::Scalar(v)) => *v,
            _ => 0.0,
        }
    }

    #[test]
    fn deltas_of_many_streams_add_up_and_retries_do_not() {
        let (mut agg, mut limit) = (OtlpMetrics::new(), Cardinality::new(100));
        agg.apply_points(
            &[
                point(1.0, Temporality::Delta, 0, 10, "s1"),
                point(2.0, Temporality::Delta, 0, 10, "s2"),
            ],
            0,
            &mut limit,
        );
        agg.apply_points(
            &[point(1.0, Temporality::Delta, 0, 10, "s1")],
            0,
            &mut limit,
        ); // retried export
        agg.apply_points(
            &[
                point(4.0, Temporality::Delta, 20, 30, "s1"),
                point(8.0, Temporality::Delta, 10, 20, "s1"),
            ],
            0,
            &mut limit,
        ); // out of order
        assert_eq!(total(&agg), 15.0);
        agg.apply_points(&[], 30 * 60 * 1000, &mut limit);
        assert_eq!(agg.streams(), 2, "recent streams are kept");
        agg.apply_points(&[], 2 * 60 * 60 * 1000, &mut limit);
        assert_eq!(
            agg.streams(),
            0,
            "streams silent for an hour of the events' time are forgotten"
        );
        assert_eq!(total(&agg), 15.0, "their sums stay");
    }

    #[test]
    fn cumulative_adds_increases_and_detects_resets() {
        let (mut agg, mut limit) = (OtlpMetrics::new(), Cardinality::new(100));
        agg.apply_points(
            &[point(5.0, Temporality::Cumulative, 1, 10, "s")],
            0,
            &mut limit,
        );
        agg.apply_points(
            &[point(7.0, Temporality::Cumulative, 1, 20, "s")],
            0,
            &mut limit,
        );
        agg.apply_points(
            &[point(7.0, Temporality::Cumulative, 1, 20, "s")],
            0,
            &mut limit,
        ); // duplicate
        agg.apply_points(
            &[point(6.0, Temporality::Cumulative, 1, 15, "s")],
            0,
            &mut limit,
        ); // older
        agg.apply_points(
            &[point(3.0, Temporality::Cumulative, 1, 30, "s")],
            0,
            &mut limit,
        ); // reset: went down
        agg.apply_points(
            &[point(2.0, Temporality::Cumulative, 40, 50, "s")],
            0,
            &mut limit,
        ); // reset: new start
        assert_eq!(total(&agg), 5.0 + 2.0 + 3.0 + 2.0);
    }

    #[test]
    fn points_that_contradict_their_family_are_counted() {
        let (mut agg, mut limit) = (OtlpMetrics::new(), Cardinality::new(1));
        let mut gauge = point(1.0, Temporality::Last, 0, 10, "g");
        gauge.kind = Kind::Gauge;
        let mut other_series = point(1.0, Temporality::Delta, 0, 10, "s2");
        other_series.labels = vec![("model".to_owned(), "other".to_owned())];
        agg.apply_points(
            &[
                point(1.0, Temporality::Delta, 0, 10, "s1"),
                gauge,
                other_series,
            ],
            0,
            &mut limit,
        );
        assert_eq!(total(&agg), 1.0);
        assert_eq!(
            agg.points_dropped.get(&[("reason", "type_conflict")]),
            Some(&Series::Scalar(1.0))
        );
        assert_eq!(
            limit.dropped.get(&[("metric", "c_total")]),
            Some(&Series::Scalar(1.0)),
            "a series over the limit is counted where every family's are"
        );
    }

    #[test]
    fn metric_names_are_capped_and_their_points_counted() {
        let (mut agg, mut limit) = (OtlpMetrics::new(), Cardinality::new(MAX_OTLP_METRICS + 10));
        let points: Vec<Point> = (0..=MAX_OTLP_METRICS)
            .map(|n| {
                let mut p = point(1.0, Temporality::Delta, 0, 10, &format!("s{n}"));
                p.name = format!("m{n}_total");
                p
            })
            .collect();
        agg.apply_points(&points, 0, &mut limit);
        assert_eq!(agg.metrics.len(), MAX_OTLP_METRICS);
        let last = format!("m{MAX_OTLP_METRICS}_total");
        assert_eq!(
            limit.dropped.get(&[("metric", last.as_str())]),
            Some(&Series::Scalar(1.0))
        );
        assert_eq!(
            agg.streams(),
            MAX_OTLP_METRICS,
            "no stream kept for what was dropped"
        );
    }
}
