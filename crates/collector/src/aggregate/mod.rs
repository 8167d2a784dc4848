//! The aggregator: stored events in, Prometheus families out.
//!
//! Owns every metric the collector derives from events — the hook-derived ones
//! ([`hooks`]), Claude Code's own ([`otlp`]) and the span-derived ones ([`spans`]) — each a typed field with exactly its
//! contract name and labels, and the state behind them. It is fed only events the store
//! has just stored for the first time, in commit order, and the same events again on
//! restart, so counters continue instead of resetting; time comes from the events
//! themselves, which makes a replay reach the same state as the live run.
//!
//! It must not read the store or the clock: whoever owns it passes events and time in.

mod hooks;
pub mod join;
mod last_seen;
mod limits;
mod otlp;
mod pending;
pub mod pushed;
mod spans;
pub mod usage;

use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use crate::event::{Payload, Point};
use crate::exposition::{Birth, Encoded, Family, FamilySnapshot};
use crate::sync::lock;
use hooks::{HookMetrics, HookState};
use join::Identity;
pub use last_seen::LastSeen;
use limits::{Cardinality, ProjectLabels};
pub use limits::{Limits, OTHER_PROJECTS};
use otlp::{OtlpMetrics, OtlpState};
use spans::SpanMetrics;

/// Events turned into metrics.
pub struct Aggregator {
    hooks: HookMetrics,
    otlp: OtlpMetrics,
    spans: SpanMetrics,
    cardinality: Cardinality,
    projects: ProjectLabels,
    last_seen: LastSeen,
}

/// What the session join said of an event when it was stored: the user and project
/// its series are labelled with, whatever the event itself carries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Joined {
    /// Who and where (a hook event's own; an OTLP event's session's).
    pub identity: Identity,
    /// The model its session was using then (hook events are labelled with it).
    pub model: String,
    /// Whether it is its session's first event: the session starts here.
    pub first_in_session: bool,
    /// For a metrics export, per point: its session's identity, when the session's hook
    /// events had given it one by then.
    pub points: Vec<Option<Identity>>,
}

/// What the store keeps of the aggregator when it prunes events: every family's values
/// and the state behind them (open sessions, tool calls waiting for their end, what each
/// OTLP stream counted last), so counters continue from it exactly as they would have
/// from the events it replaces.
#[derive(Debug, Serialize, Deserialize)]
pub struct Baseline {
    /// Every family with series.
    families: Vec<FamilySnapshot>,
    /// The state behind them; none in baselines versions before 0.2 wrote (a stream or
    /// session continued across that pruning may count differently once).
    state: Option<Box<State>>,
}

impl Baseline {
    /// Reads a baseline as this version writes it (an object), or as versions before 0.2
    /// wrote it (the families alone, an array).
    pub fn from_json(text: &str) -> serde_json::Result<Baseline> {
        if text.trim_start().starts_with('[') {
            let families = serde_json::from_str(text)?;
            return Ok(Baseline {
                families,
                state: None,
            });
        }
        serde_json::from_str(text)
    }
}

/// The state behind the families.
#[derive(Debug, Serialize, Deserialize)]
pub struct State {
    hooks: HookState,
    otlp: OtlpState,
    /// None in baselines written before it was kept.
    #[serde(default)]
    last_seen: LastSeen,
}

/// The aggregator as the store (which feeds it) and `/metrics` (which reads it) share it.
#[derive(Clone)]
pub struct SharedAggregator(Arc<Mutex<Aggregator>>);

impl SharedAggregator {
    /// Shares `aggregator`.
    pub fn new(aggregator: Aggregator) -> SharedAggregator {
        SharedAggregator(Arc::new(Mutex::new(aggregator)))
    }

    /// Locks it (a panicked holder leaves counters that are still usable).
    pub fn lock(&self) -> MutexGuard<'_, Aggregator> {
        lock(&self.0)
    }
}

impl Aggregator {
    /// An aggregator with every family registered (empty families are not rendered).
    pub fn new(limits: Limits) -> Aggregator {
        Aggregator {
            hooks: HookMetrics::new(limits),
            otlp: OtlpMetrics::new(),
            spans: SpanMetrics::new(limits.label_value_bytes),
            cardinality: Cardinality::new(limits.series_per_metric),
            projects: ProjectLabels::new(limits.project_labels),
            last_seen: LastSeen::default(),
        }
    }

    /// Applies one stored event that happened at `ts_ms`, joined to its session: how
    /// the store feeds the aggregator, live and on replay.
    pub fn apply(&mut self, ts_ms: i64, payload: &Payload, joined: &Joined) {
        self.last_seen.saw(payload, ts_ms);
        let project = self.projects.label(&joined.identity.project_name);
        match payload {
            Payload::Hook(record) => {
                self.hooks
                    .apply(record, ts_ms, joined, &project, &mut self.cardinality)
            }
            Payload::OtlpLog(record) => {
                if joined.first_in_session {
                    self.hooks
                        .session_seen(joined, &project, &mut self.cardinality);
                }
                self.otlp
                    .apply_log(record, joined, &project, &mut self.cardinality)
            }
            Payload::OtlpMetrics(record) => {
                let mut labelled: Vec<Point> = record.points.clone();
                for (point, identity) in labelled.iter_mut().zip(&joined.points) {
                    if let Some(identity) = identity {
                        let project = self.projects.label(&identity.project_name);
                        label_with(point, identity, &project);
                    }
                }
                self.otlp
                    .apply_points(&labelled, ts_ms, &mut self.cardinality)
            }
            Payload::Span(span) => self.spans.apply(span, &mut self.cardinality),
        }
    }

    /// The collector's clock for the series born from now on (the store's writer tells
    /// it before each batch).
    pub fn clock(&mut self, now_ms: i64) {
        self.cardinality.now_ms = now_ms;
    }

    /// Takes every series there is as seen by every scraper: after a replay, they are
    /// what Prometheus scraped before the restart.
    pub fn settle(&mut self) {
        for family in self.families_mut() {
            family.settle();
        }
    }

    /// When each source's latest event happened.
    pub fn last_seen(&self) -> LastSeen {
        self.last_seen
    }

    /// Series born so far: a scrape that has seen this many has seen them all.
    pub fn births(&self) -> u64 {
        self.cardinality.births
    }

    /// Ends sessions idle at `now_ms` (called periodically, and after a replay). OTLP
    /// streams are forgotten in the events' own time, as they are applied.
    pub fn sweep(&mut self, now_ms: i64) {
        self.clock(now_ms);
        self.hooks.sweep(now_ms, &mut self.cardinality);
    }

    /// Every family's values and the state behind them, for the store's baseline.
    pub fn snapshot(&self) -> Baseline {
        Baseline {
            families: self
                .families()
                .filter(|f| !f.is_empty())
                .map(FamilySnapshot::from)
                .collect(),
            state: Some(Box::new(State {
                hooks: self.hooks.state(),
                otlp: self.otlp.state(),
                last_seen: self.last_seen,
            })),
        }
    }

    /// Starts from a baseline: the families and state of events no longer in the store.
    pub fn restore(&mut self, baseline: Baseline) {
        if let Some(state) = baseline.state {
            self.hooks.restore_state(state.hooks);
            self.otlp.restore_state(state.otlp);
            self.last_seen = state.last_seen;
        }
        for family in baseline.families.into_iter().map(Family::from) {
            self.projects.restore(&family);
            if family.name == self.cardinality.dropped.name {
                self.cardinality.dropped = family;
            } else if let Some(mine) = self.hooks.family_mut(&family.name) {
                *mine = family;
            } else if let Some(mine) = self
                .spans
                .families_mut()
                .into_iter()
                .find(|f| f.name == family.name)
            {
                *mine = family;
            } else {
                self.otlp.restore(family);
            }
        }
    }

    /// Every family, in the order `/metrics` shows them.
    pub fn families(&self) -> impl Iterator<Item = &Family> {
        self.hooks
            .families()
            .into_iter()
            .chain(self.otlp.families())
            .chain(self.spans.families())
            .chain(std::iter::once(&self.cardinality.dropped))
    }

    fn families_mut(&mut self) -> impl Iterator<Item = &mut Family> {
        self.hooks
            .families_mut()
            .into_iter()
            .chain(self.otlp.families_mut())
            .chain(self.spans.families_mut())
            .chain(std::iter::once(&mut self.cardinality.dropped))
    }

    /// Every family with series, encoded for one scrape: series whose birth `held`
    /// says the scraper has not seen are written at zero (only families changed since
    /// the last call, or holding a series, are encoded again). Births every scraper has
    /// seen (`seen_by_all`) are forgotten.
    pub fn encoded_for(
        &mut self,
        held: &dyn Fn(&Birth) -> bool,
        seen_by_all: &dyn Fn(&Birth) -> bool,
    ) -> Vec<Encoded> {
        self.families_mut()
            .filter_map(|family| {
                family.forget_births(seen_by_all);
                family.encoded_holding(held)
            })
            .collect()
    }

    /// A family by name (for tests and the Pushgateway's type checks).
    pub fn family(&self, name: &str) -> Option<&Family> {
        self.families().find(|f| f.name == name)
    }

    /// Counts `series` of `metric` kept out elsewhere (pushes over a limit), in
    /// `claude_telemetry_series_dropped_total` with the aggregator's own drops. They
    /// count from the collector's start: pushes are not events, and are not replayed.
    pub fn count_dropped(&mut self, metric: &str, series: usize) {
        self.cardinality.count(metric, series);
    }
}

/// Labels a point with its session's user and project (in the sorted order the
/// translation gives labels).
fn label_with(point: &mut Point, identity: &Identity, project: &str) {
    let joined = [
        ("user_name", identity.user_name.as_str()),
        ("user_email", identity.user_email.as_str()),
        ("project", project),
    ];
    point
        .labels
        .retain(|(key, _)| !joined.iter().any(|(name, _)| name == key));
    for (key, value) in joined {
        if !value.is_empty() {
            point.labels.push((key.to_owned(), value.to_owned()));
        }
    }
    point.labels.sort();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::HookRecord;
    use crate::exposition::Value as V;
    use hook_protocol::HookEvent;
    use serde_json::{Value, json};

    /// A stored hook event by jane, in project /p.
    fn ev(mut value: Value) -> Payload {
        let guard = value.get("guard").cloned();
        value["claude_telemetry"] = json!({
            "event_id": "e", "received_at": "2026-11-24T05:00:00.000Z", "host": "h",
            "user_name": "jane", "user_email": "j@x", "project": "/p",
            "hook_latency_us": 1, "hook_version": "test"
        });
        if let Some(guard) = guard {
            value["claude_telemetry"]["guard"] = guard;
        }
        let event = HookEvent::from_value(value).unwrap();
        Payload::Hook(Box::new(HookRecord::new(event).unwrap()))
    }

    /// Applies an event as the store feeds it: joined, here to its own identity.
    fn apply(agg: &mut Aggregator, ts_ms: i64, payload: &Payload) {
        let joined = Joined {
            identity: join::Measures::of(payload).identity,
            ..Joined::default()
        };
        agg.apply(ts_ms, payload, &joined);
    }

    fn scalar(agg: &Aggregator, name: &str, extra: &[(&str, &str)]) -> f64 {
        let mut pairs = vec![
            ("user_name", "jane"),
            ("user_email", "j@x"),
            ("project", "p"),
            ("model", ""),
        ];
        pairs.extend_from_slice(extra);
        match agg.family(name).and_then(|f| f.get(&pairs)) {
            Some(V::Scalar(v)) => *v,
            _ => 0.0,
        }
    }

    #[test]
    fn sessions_start_end_and_time_out() {
        let mut agg = Aggregator::new(Limits {
            session_idle_ms: 1000,
            ..Limits::default()
        });
        let start = |id: &str| {
            ev(json!({"hook_event_name": "SessionStart", "session_id": id, "source": "startup"}))
        };
        apply(&mut agg, 0, &start("a"));
        apply(&mut agg, 0, &start("b"));
        assert_eq!(scalar(&agg, "claude_code_active_sessions", &[]), 2.0);
        apply(
            &mut agg,
            500,
            &ev(json!({"hook_event_name": "SessionEnd", "session_id": "a", "reason": "clear"})),
        );
        assert_eq!(scalar(&agg, "claude_code_active_sessions", &[]), 1.0);
        let ended = |reason| {
            scalar(
                &agg,
                "claude_code_sessions_ended_total",
                &[("reason", reason)],
            )
        };
        assert_eq!(ended("clear"), 1.0);
        agg.sweep(5000);
        assert_eq!(scalar(&agg, "claude_code_active_sessions", &[]), 0.0);
        assert_eq!(
            scalar(
                &agg,
                "claude_code_sessions_ended_total",
                &[("reason", "idle_timeout")]
            ),
            1.0
        );
        match agg
            .family("claude_code_session_duration_seconds")
            .unwrap()
            .get(&[
                ("user_name", "jane"),
                ("user_email", "j@x"),
                ("project", "p"),
                ("model", ""),
            ]) {
            Some(V::Histogram { count, sum, .. }) => {
                assert_eq!(*count, 2);
                assert!((sum - 0.5).abs() < 1e-9, "{sum}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn tool_outcomes_and_durations() {
        let mut agg = Aggregator::new(Limits::default());
        apply(
            &mut agg,
            1000,
            &ev(
                json!({"hook_event_name": "PreToolUse", "session_id": "s", "tool_name": "Read", "tool_use_id": "t1"}),
            ),
        );
        apply(
            &mut agg,
            1250,
            &ev(
                json!({"hook_event_name": "PostToolUse", "session_id": "s", "tool_name": "Read", "tool_use_id": "t1"}),
            ),
        );
        apply(
            &mut agg,
            2000,
            &ev(
                json!({"hook_event_name": "PostToolUseFailure", "session_id": "s", "tool_name": "Bash", "tool_use_id": "t2", "duration_ms": 58}),
            ),
        );
        apply(
            &mut agg,
            3000,
            &ev(
                json!({"hook_event_name": "PreToolUse", "session_id": "s", "tool_name": "Bash", "tool_use_id": "t3",
            "guard": {"decision": "deny", "rule": "rm.home", "category": "dangerous_rm", "reason": "r", "latency_us": 12, "version": "v"}}),
            ),
        );
        let calls = |tool, outcome| {
            scalar(
                &agg,
                "claude_code_tool_calls_total",
                &[("tool", tool), ("outcome", outcome)],
            )
        };
        assert_eq!(calls("Read", "success"), 1.0);
        assert_eq!(calls("Bash", "failure"), 1.0);
        assert_eq!(calls("Bash", "blocked"), 1.0);
        assert_eq!(
            scalar(
                &agg,
                "claude_code_security_blocks_total",
                &[
                    ("category", "dangerous_rm"),
                    ("rule", "rm.home"),
                    ("tool", "Bash")
                ]
            ),
            1.0
        );
        let read = agg.family("claude_code_tool_duration_seconds").unwrap();
        match read.get(&[
            ("user_name", "jane"),
            ("user_email", "j@x"),
            ("project", "p"),
            ("model", ""),
            ("tool", "Read"),
        ]) {
            Some(V::Histogram { sum, .. }) => {
                assert!((sum - 0.25).abs() < 1e-9, "paired by tool_use_id")
            }
            other => panic!("{other:?}"),
        }
        let guard = agg.family("claude_code_guard_latency_seconds").unwrap();
        assert!(matches!(
            guard.get(&[
                ("user_name", "jane"),
                ("user_email", "j@x"),
                ("project", "p"),
                ("model", "")
            ]),
            Some(V::Histogram { count: 1, .. })
        ));
    }

    #[test]
    fn the_series_limit_drops_and_counts() {
        let mut agg = Aggregator::new(Limits {
            series_per_metric: 2,
            ..Limits::default()
        });
        for agent in ["a", "b", "c", "d"] {
            apply(
                &mut agg,
                0,
                &ev(json!({"hook_event_name": "SubagentStart", "agent_type": agent})),
            );
        }
        assert_eq!(agg.family("claude_code_subagents_total").unwrap().len(), 2);
        let dropped = agg
            .cardinality
            .dropped
            .get(&[("metric", "claude_code_subagents_total")]);
        assert_eq!(dropped, Some(&V::Scalar(2.0)));
    }

    #[test]
    fn active_sessions_are_capped_and_what_is_dropped_is_counted() {
        let mut agg = Aggregator::new(Limits {
            series_per_metric: 2,
            ..Limits::default()
        });
        let event = |name: &str, session: &str, user: &str| {
            let mut payload =
                ev(json!({"hook_event_name": name, "session_id": session, "source": "startup"}));
            if let Payload::Hook(record) = &mut payload {
                record.enrichment.user_name = user.to_owned();
            }
            payload
        };
        for user in ["a", "b", "c", "d"] {
            apply(&mut agg, 0, &event("SessionStart", user, user));
        }
        let active = agg.family("claude_code_active_sessions").unwrap();
        assert_eq!(active.len(), 2, "capped like every family");
        let dropped = |agg: &Aggregator, metric: &str| {
            agg.cardinality.dropped.get(&[("metric", metric)]).cloned()
        };
        assert_eq!(
            dropped(&agg, "claude_code_active_sessions"),
            Some(V::Scalar(2.0))
        );
        for user in ["a", "b", "c", "d"] {
            apply(&mut agg, 1, &event("SessionEnd", user, user));
        }
        let active = agg.family("claude_code_active_sessions").unwrap();
        assert!(
            active.series().values().all(|v| *v == V::Scalar(0.0)),
            "uncounted sessions end without taking a counted one away: {:?}",
            active.series()
        );
        // The count of drops is bounded too.
        for n in 0..limits::NAMED_METRICS + 3 {
            agg.count_dropped(&format!("m{n}"), 1);
        }
        assert_eq!(agg.cardinality.dropped.len(), limits::NAMED_METRICS + 1);
        assert!(dropped(&agg, limits::OTHER_METRICS).is_some());
    }

    #[test]
    fn each_source_is_last_seen_at_its_latest_event_and_a_baseline_keeps_it() {
        let mut agg = Aggregator::new(Limits::default());
        assert!(agg.last_seen().is_empty());
        let prompt = || ev(json!({"hook_event_name": "UserPromptSubmit", "session_id": "s"}));
        agg.apply(2_000, &prompt(), &Joined::default());
        agg.apply(1_000, &prompt(), &Joined::default()); // a spooled, older one
        assert_eq!(
            agg.last_seen(),
            LastSeen {
                hooks: Some(2_000),
                ..LastSeen::default()
            }
        );
        let baseline = serde_json::to_string(&agg.snapshot()).unwrap();
        let mut restarted = Aggregator::new(Limits::default());
        restarted.restore(Baseline::from_json(&baseline).unwrap());
        assert_eq!(restarted.last_seen(), agg.last_seen());
    }

    #[test]
    fn a_baseline_written_by_earlier_versions_restores() {
        // As the collector wrote it before the kinds were one type (capitalised).
        let state = r#"[{"name":"claude_code_prompts_total","help":"Prompts submitted.","kind":"Counter","bounds":[],"series":[[[["user_name","jane"],["user_email","j@x"],["project","p"],["model",""]],{"Scalar":3.0}]]},{"name":"claude_code_cost_usage_USD_total","help":"","kind":"Counter","bounds":[],"series":[[[["model","m"]],{"Scalar":1.5}]]}]"#;
        let mut agg = Aggregator::new(Limits::default());
        agg.restore(Baseline::from_json(state).unwrap());
        assert_eq!(scalar(&agg, "claude_code_prompts_total", &[]), 3.0);
        let cost = agg.family("claude_code_cost_usage_USD_total").unwrap();
        assert_eq!(cost.get(&[("model", "m")]), Some(&V::Scalar(1.5)));
        let again = Baseline::from_json(&serde_json::to_string(&agg.snapshot()).unwrap()).unwrap();
        assert_eq!(again.families.len(), 2, "and survives the next baseline");
        assert!(again.state.is_some(), "now with the state behind them");
    }
}

#[cfg(test)]
mod joined_labels {
    use serde_json::json;

    use crate::consumer::Consumer;
    use crate::exposition::Value as V;
    use crate::processors::events;
    use crate::processors::otlp::{json as otlp_json, translate};
    use crate::testing::{state, workload};

    #[tokio::test(flavor = "multi_thread")]
    async fn usage_series_carry_their_sessions_user_and_project_and_hook_series_its_model() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path());
        let start = 1_795_000_000_000;
        let hooks = vec![
            workload::hook(
                "h1",
                start,
                "jane",
                "api",
                "s1",
                json!({"hook_event_name": "SessionStart", "source": "startup", "model": "claude-opus-4-5"}),
            ),
            workload::hook(
                "h2",
                start + 1,
                "jane",
                "api",
                "s1",
                json!({"hook_event_name": "UserPromptSubmit"}),
            ),
        ];
        state.store.consume(hooks).await.unwrap();
        // Claude Code's own data for that session carries only its anonymous user id.
        let request = otlp_json::metrics_request(&json!({"resourceMetrics": [{"resource": {"attributes": []},
            "scopeMetrics": [{"metrics": [{"name": "claude_code.cost.usage", "unit": "USD",
                "sum": {"aggregationTemporality": 1, "isMonotonic": true, "dataPoints": [{
                    "startTimeUnixNano": "1795000000000000000", "timeUnixNano": "1795000001000000000", "asDouble": 0.5,
                    "attributes": [{"key": "user.id", "value": {"stringValue": "anon"}},
                        {"key": "session.id", "value": {"stringValue": "s1"}},
                        {"key": "model", "value": {"stringValue": "claude-sonnet-4-5"}}]}]}}]}]}]}))
        .unwrap();
        let points = translate::metrics(&request, &translate::LabelPolicy::default()).points;
        let metrics = events::metrics(points).unwrap().unwrap();
        let api = workload::otlp(
            "o1",
            start + 2,
            "s1",
            "api_request",
            json!({"model": "claude-sonnet-4-5", "cost_usd": 0.5}),
        );
        state.store.consume(vec![metrics, api]).await.unwrap();
        let aggregator = state.aggregator.lock();
        let cost = aggregator
            .family("claude_code_cost_usage_USD_total")
            .unwrap();
        let (labels, value) = cost.series().iter().next().unwrap();
        let get = |key: &str| {
            labels
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(
            (get("user_name"), get("project"), get("model")),
            (Some("jane"), Some("acme/api"), Some("claude-sonnet-4-5")),
            "{labels:?}"
        );
        assert_eq!(get("user_id"), Some("anon"), "its own labels stay");
        assert_eq!(value, &V::Scalar(0.5));
        let requests = aggregator.family("claude_code_api_requests_total").unwrap();
        assert_eq!(
            requests.get(&[
                ("user_name", "jane"),
                ("user_email", "jane@example.com"),
                ("project", "acme/api"),
                ("model", "claude-sonnet-4-5")
            ]),
            Some(&V::Scalar(1.0))
        );
        let prompts = aggregator.family("claude_code_prompts_total").unwrap();
        assert_eq!(
            prompts.get(&[
                ("user_name", "jane"),
                ("user_email", "jane@example.com"),
                ("project", "acme/api"),
                ("model", "claude-opus-4-5")
            ]),
            Some(&V::Scalar(1.0)),
            "the model the session started with"
        );
        let sessions = aggregator
            .family("claude_code_sessions_started_total")
            .unwrap();
        assert_eq!(sessions.len(), 1, "one session, counted at its first event");
    }
}
