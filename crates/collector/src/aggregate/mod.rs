//! The aggregator: hook events in, Prometheus families out.
//!
//! Owns every hook-derived metric of the contract, with exactly its name and labels, and
//! the state behind them: sessions (started, active, ended, idle), pending tool calls
//! (to pair PreToolUse with PostToolUse when there is no `duration_ms`). It is fed only
//! events the store has just stored for the first time, in order, and the same events
//! again on restart, so counters continue instead of resetting. Time comes from the
//! events themselves, which makes a replay reach the same state as the live run.

pub mod otlp;
mod pending;

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::exposition::{Family, FamilySnapshot, Kind, Labels};
use crate::otlp::translate::Point;
use pending::PendingTools;

/// Bucket bounds for tool calls: milliseconds to tens of minutes.
const TOOL_SECONDS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
    1800.0,
];
/// Bucket bounds for sessions: seconds to a working day.
const SESSION_SECONDS: &[f64] = &[
    10.0, 30.0, 60.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 86400.0,
];
/// Bucket bounds for guard decisions: microseconds to tens of milliseconds.
const GUARD_SECONDS: &[f64] = &[
    0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01, 0.05,
];
/// Pending PreToolUse events kept for pairing; beyond this the first received are forgotten.
const MAX_PENDING_TOOLS: usize = 100_000;

/// Limits the aggregator enforces.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A session with no event for this long has ended.
    pub session_idle_ms: i64,
    /// Most series per metric; further series are dropped and counted.
    pub series_per_metric: usize,
    /// Longest label value kept; longer ones are cut.
    pub label_value_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            session_idle_ms: 30 * 60 * 1000,
            series_per_metric: 10_000,
            label_value_bytes: 256,
        }
    }
}

#[derive(Debug, Clone)]
struct Session {
    start_ms: i64,
    last_ms: i64,
    who: Labels,
}

/// Hook events turned into metrics.
pub struct Aggregator {
    limits: Limits,
    families: BTreeMap<String, Family>,
    sessions: HashMap<String, Session>,
    pending_tools: PendingTools,
    dropped: Family,
    otlp: otlp::OtlpAggregator,
}

impl Aggregator {
    /// An aggregator with every family registered (empty families are not rendered).
    pub fn new(limits: Limits) -> Aggregator {
        let mut families = BTreeMap::new();
        let mut register = |family: Family| {
            families.insert(family.name.clone(), family);
        };
        register(Family::new(
            "claude_code_hook_events_total",
            "Hook events received, by event and tool.",
            Kind::Counter,
        ));
        register(Family::new(
            "claude_code_tool_calls_total",
            "Tool calls by outcome: success, failure, or blocked (by the guard or a permission denial).",
            Kind::Counter,
        ));
        register(Family::histogram(
            "claude_code_tool_duration_seconds",
            "Tool call duration.",
            TOOL_SECONDS,
        ));
        register(Family::new(
            "claude_code_security_blocks_total",
            "Tool calls the guard denied, by category and rule.",
            Kind::Counter,
        ));
        register(Family::new(
            "claude_code_sessions_started_total",
            "Sessions started, by source (startup, resume, clear, compact).",
            Kind::Counter,
        ));
        register(Family::new(
            "claude_code_sessions_ended_total",
            "Sessions ended, by reason (idle_timeout when no SessionEnd came).",
            Kind::Counter,
        ));
        register(Family::new(
            "claude_code_active_sessions",
            "Sessions started and not yet ended.",
            Kind::Gauge,
        ));
        register(Family::histogram(
            "claude_code_session_duration_seconds",
            "Session duration, start to end.",
            SESSION_SECONDS,
        ));
        register(Family::new(
            "claude_code_prompts_total",
            "Prompts submitted.",
            Kind::Counter,
        ));
        register(Family::new(
            "claude_code_subagents_total",
            "Subagents started, by agent type.",
            Kind::Counter,
        ));
        register(Family::new(
            "claude_code_compactions_total",
            "Context compactions, by trigger.",
            Kind::Counter,
        ));
        register(Family::new(
            "claude_telemetry_hook_spool_pending",
            "Events waiting in a hook's spool, as its latest event reported.",
            Kind::Gauge,
        ));
        register(Family::histogram(
            "claude_code_guard_latency_seconds",
            "Time the guard took to decide.",
            GUARD_SECONDS,
        ));
        Aggregator {
            limits,
            families,
            sessions: HashMap::new(),
            pending_tools: PendingTools::new(MAX_PENDING_TOOLS),
            dropped: Family::new(
                "claude_telemetry_series_dropped_total",
                "Series not created because a metric reached its series limit.",
                Kind::Counter,
            ),
            otlp: otlp::OtlpAggregator::new(limits.series_per_metric),
        }
    }

    /// Applies a stored event of any source: how the store feeds the aggregator, live
    /// and on replay.
    pub fn apply_stored(&mut self, source: &str, body: &Value, ts_ms: i64) {
        match source {
            "hook" => self.apply(body, ts_ms),
            "otlp" => self.otlp.apply_log(body),
            "otlp_metrics" => {
                if let Ok(points) = serde_json::from_value::<Vec<Point>>(body["points"].clone()) {
                    self.otlp.apply_points(&points);
                }
            }
            _ => {}
        }
    }

    /// Every family's values, for the store's baseline.
    pub fn snapshot(&self) -> Vec<FamilySnapshot> {
        self.families()
            .filter(|f| !f.series.is_empty())
            .map(FamilySnapshot::from)
            .collect()
    }

    /// Starts from a baseline: the families of events no longer in the store.
    pub fn restore(&mut self, snapshot: Vec<FamilySnapshot>) {
        for family in snapshot.into_iter().map(Family::from) {
            if family.name == self.dropped.name {
                self.dropped = family;
            } else if self.families.contains_key(&family.name) {
                self.families.insert(family.name.clone(), family);
            } else {
                self.otlp.restore(family);
            }
        }
    }

    /// The OTLP side (Claude Code's own metrics and events).
    pub fn otlp(&self) -> &otlp::OtlpAggregator {
        &self.otlp
    }

    /// Every family, including the collector's count of dropped series.
    pub fn families(&self) -> impl Iterator<Item = &Family> {
        self.families
            .values()
            .chain(self.otlp.families())
            .chain(std::iter::once(&self.dropped))
    }

    /// A family by name (for tests and the JSON API).
    pub fn family(&self, name: &str) -> Option<&Family> {
        self.families.get(name)
    }

    fn cap(&self, value: &str) -> String {
        let max = self.limits.label_value_bytes;
        if value.len() <= max {
            return value.to_owned();
        }
        let mut end = max;
        while !value.is_char_boundary(end) {
            end -= 1;
        }
        value[..end].to_owned()
    }

    /// Whether a new series may be created in `name` (existing ones always may).
    fn admit(&mut self, name: &str, labels: &Labels) -> bool {
        let Some(family) = self.families.get(name) else {
            return false;
        };
        if family.series.contains_key(labels) || family.series.len() < self.limits.series_per_metric
        {
            return true;
        }
        self.dropped
            .add(vec![("metric".to_owned(), name.to_owned())], 1.0);
        false
    }

    fn add(&mut self, name: &str, labels: Labels, delta: f64) {
        if self.admit(name, &labels)
            && let Some(family) = self.families.get_mut(name)
        {
            family.add(labels, delta);
        }
    }

    fn observe(&mut self, name: &str, labels: Labels, value: f64) {
        if self.admit(name, &labels)
            && let Some(family) = self.families.get_mut(name)
        {
            family.observe(labels, value);
        }
    }

    /// `user_name`, `user_email`, `project` of an event, then `extra`.
    fn labels_for(&self, event: &Value, extra: &[(&str, &str)]) -> Labels {
        let enrichment = &event["claude_telemetry"];
        let project = enrichment["project"]
            .as_str()
            .or_else(|| event["cwd"].as_str())
            .unwrap_or("");
        let mut out = vec![
            (
                "user_name".to_owned(),
                self.cap(enrichment["user_name"].as_str().unwrap_or("")),
            ),
            (
                "user_email".to_owned(),
                self.cap(enrichment["user_email"].as_str().unwrap_or("")),
            ),
            ("project".to_owned(), self.cap(project)),
        ];
        out.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), self.cap(v))));
        out
    }

    /// Applies one stored hook event that happened at `ts_ms`.
    pub fn apply(&mut self, event: &Value, ts_ms: i64) {
        let name = event["hook_event_name"].as_str().unwrap_or("unknown");
        let enrichment = &event["claude_telemetry"];
        if let Some(host) = enrichment["host"].as_str() {
            let labels = vec![
                ("host".to_owned(), self.cap(host)),
                (
                    "user_name".to_owned(),
                    self.cap(enrichment["user_name"].as_str().unwrap_or("")),
                ),
            ];
            let pending = enrichment["spool_pending"].as_f64().unwrap_or(0.0);
            if self.admit("claude_telemetry_hook_spool_pending", &labels)
                && let Some(family) = self.families.get_mut("claude_telemetry_hook_spool_pending")
            {
                family.set(labels, pending);
            }
        }
        let tool = event["tool_name"].as_str().unwrap_or("");
        let hook_labels = self.labels_for(event, &[("event", name), ("tool", tool)]);
        self.add("claude_code_hook_events_total", hook_labels, 1.0);
        self.track_session(event, name, ts_ms);
        match name {
            "PreToolUse" => self.pre_tool_use(event, tool, ts_ms),
            "PostToolUse" | "PostToolUseFailure" => {
                let outcome = if name == "PostToolUse" {
                    "success"
                } else {
                    "failure"
                };
                let labels = self.labels_for(event, &[("tool", tool), ("outcome", outcome)]);
                self.add("claude_code_tool_calls_total", labels, 1.0);
                let paired = event["tool_use_id"]
                    .as_str()
                    .and_then(|id| self.pending_tools.finish(id));
                let seconds = match event["duration_ms"].as_f64() {
                    Some(ms) => Some(ms / 1000.0),
                    None => paired.map(|pre| (ts_ms - pre).max(0) as f64 / 1000.0),
                };
                if let Some(seconds) = seconds {
                    let labels = self.labels_for(event, &[("tool", tool)]);
                    self.observe("claude_code_tool_duration_seconds", labels, seconds);
                }
            }
            "PermissionDenied" => {
                let labels = self.labels_for(event, &[("tool", tool), ("outcome", "blocked")]);
                self.add("claude_code_tool_calls_total", labels, 1.0);
                if let Some(id) = event["tool_use_id"].as_str() {
                    self.pending_tools.finish(id);
                }
            }
            "UserPromptSubmit" => {
                let labels = self.labels_for(event, &[]);
                self.add("claude_code_prompts_total", labels, 1.0);
            }
            "SubagentStart" => {
                let agent = event["agent_type"].as_str().unwrap_or("");
                let labels = self.labels_for(event, &[("agent_type", agent)]);
                self.add("claude_code_subagents_total", labels, 1.0);
            }
            "PreCompact" => {
                let trigger = event["trigger"].as_str().unwrap_or("");
                let labels = self.labels_for(event, &[("trigger", trigger)]);
                self.add("claude_code_compactions_total", labels, 1.0);
            }
            _ => {}
        }
    }

    fn pre_tool_use(&mut self, event: &Value, tool: &str, ts_ms: i64) {
        let guard = &event["claude_telemetry"]["guard"];
        if let Some(micros) = guard["latency_us"].as_f64() {
            let labels = self.labels_for(event, &[]);
            self.observe("claude_code_guard_latency_seconds", labels, micros / 1e6);
        }
        if guard["decision"].as_str() == Some("deny") {
            let category = guard["category"].as_str().unwrap_or("");
            let rule = guard["rule"].as_str().unwrap_or("");
            let labels = self.labels_for(
                event,
                &[("category", category), ("rule", rule), ("tool", tool)],
            );
            self.add("claude_code_security_blocks_total", labels, 1.0);
            let labels = self.labels_for(event, &[("tool", tool), ("outcome", "blocked")]);
            self.add("claude_code_tool_calls_total", labels, 1.0);
            return;
        }
        if let Some(id) = event["tool_use_id"].as_str() {
            self.pending_tools.start(id, ts_ms);
        }
    }

    fn track_session(&mut self, event: &Value, name: &str, ts_ms: i64) {
        let Some(id) = event["session_id"].as_str() else {
            return;
        };
        // A session silent for longer than the idle timeout ended back then.
        if let Some(session) = self.sessions.get(id)
            && ts_ms - session.last_ms > self.limits.session_idle_ms
        {
            self.end_session(id, "idle_timeout", None);
        }
        match name {
            "SessionStart" => {
                let source = event["source"].as_str().unwrap_or("");
                let labels = self.labels_for(event, &[("source", source)]);
                self.add("claude_code_sessions_started_total", labels, 1.0);
                if self.sessions.contains_key(id) {
                    // `resume` or `clear` of a session still open: one session, not two.
                    if let Some(session) = self.sessions.get_mut(id) {
                        session.last_ms = session.last_ms.max(ts_ms);
                    }
                } else {
                    self.open_session(id, event, ts_ms);
                }
            }
            "SessionEnd" => {
                if !self.sessions.contains_key(id) {
                    self.open_session(id, event, ts_ms);
                }
                if let Some(session) = self.sessions.get_mut(id) {
                    session.last_ms = session.last_ms.max(ts_ms);
                }
                let reason = event["reason"].as_str().unwrap_or("other").to_owned();
                self.end_session(id, &reason, Some(event));
            }
            _ => {
                if let Some(session) = self.sessions.get_mut(id) {
                    session.last_ms = session.last_ms.max(ts_ms);
                } else {
                    // Events of a session whose start we did not see (hooks installed
                    // mid-session, or it resumed after an idle end): it is active.
                    self.open_session(id, event, ts_ms);
                }
            }
        }
    }

    fn open_session(&mut self, id: &str, event: &Value, ts_ms: i64) {
        let who = self.labels_for(event, &[]);
        if let Some(active) = self.families.get_mut("claude_code_active_sessions") {
            active.add(who.clone(), 1.0);
        }
        self.sessions.insert(
            id.to_owned(),
            Session {
                start_ms: ts_ms,
                last_ms: ts_ms,
                who,
            },
        );
    }

    fn end_session(&mut self, id: &str, reason: &str, event: Option<&Value>) {
        let Some(session) = self.sessions.remove(id) else {
            return;
        };
        if let Some(active) = self.families.get_mut("claude_code_active_sessions") {
            active.add(session.who.clone(), -1.0);
        }
        let mut ended = match event {
            Some(event) => self.labels_for(event, &[]),
            None => session.who.clone(),
        };
        ended.push(("reason".to_owned(), reason.to_owned()));
        self.add("claude_code_sessions_ended_total", ended, 1.0);
        let seconds = (session.last_ms - session.start_ms).max(0) as f64 / 1000.0;
        self.observe("claude_code_session_duration_seconds", session.who, seconds);
    }

    /// Ends sessions idle at `now_ms` (called periodically, and after a replay).
    pub fn sweep(&mut self, now_ms: i64) {
        let idle: Vec<String> = self
            .sessions
            .iter()
            .filter(|(_, s)| now_ms - s.last_ms > self.limits.session_idle_ms)
            .map(|(id, _)| id.clone())
            .collect();
        for id in idle {
            self.end_session(&id, "idle_timeout", None);
        }
        self.otlp.expire_streams(now_ms);
    }

    /// Number of sessions open.
    pub fn open_sessions(&self) -> usize {
        self.sessions.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::Value as V;
    use serde_json::json;

    fn ev(value: Value) -> Value {
        let mut value = value;
        value["claude_telemetry"] =
            json!({"user_name": "jane", "user_email": "j@x", "project": "/p"});
        value
    }

    fn scalar(agg: &Aggregator, name: &str, extra: &[(&str, &str)]) -> f64 {
        let mut pairs = vec![
            ("user_name", "jane"),
            ("user_email", "j@x"),
            ("project", "/p"),
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
        agg.apply(
            &ev(json!({"hook_event_name": "SessionStart", "session_id": "a", "source": "startup"})),
            0,
        );
        agg.apply(
            &ev(json!({"hook_event_name": "SessionStart", "session_id": "b", "source": "startup"})),
            0,
        );
        assert_eq!(scalar(&agg, "claude_code_active_sessions", &[]), 2.0);
        agg.apply(
            &ev(json!({"hook_event_name": "SessionEnd", "session_id": "a", "reason": "clear"})),
            500,
        );
        assert_eq!(scalar(&agg, "claude_code_active_sessions", &[]), 1.0);
        assert_eq!(
            scalar(
                &agg,
                "claude_code_sessions_ended_total",
                &[("reason", "clear")]
            ),
            1.0
        );
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
                ("project", "/p"),
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
        agg.apply(&ev(json!({"hook_event_name": "PreToolUse", "session_id": "s", "tool_name": "Read", "tool_use_id": "t1"})), 1000);
        agg.apply(&ev(json!({"hook_event_name": "PostToolUse", "session_id": "s", "tool_name": "Read", "tool_use_id": "t1"})), 1250);
        agg.apply(&ev(json!({"hook_event_name": "PostToolUseFailure", "session_id": "s", "tool_name": "Bash", "tool_use_id": "t2", "duration_ms": 58})), 2000);
        let mut denied = ev(
            json!({"hook_event_name": "PreToolUse", "session_id": "s", "tool_name": "Bash", "tool_use_id": "t3"}),
        );
        denied["claude_telemetry"]["guard"] = json!({"decision": "deny", "rule": "rm.home", "category": "dangerous_rm", "latency_us": 12});
        agg.apply(&denied, 3000);
        assert_eq!(
            scalar(
                &agg,
                "claude_code_tool_calls_total",
                &[("tool", "Read"), ("outcome", "success")]
            ),
            1.0
        );
        assert_eq!(
            scalar(
                &agg,
                "claude_code_tool_calls_total",
                &[("tool", "Bash"), ("outcome", "failure")]
            ),
            1.0
        );
        assert_eq!(
            scalar(
                &agg,
                "claude_code_tool_calls_total",
                &[("tool", "Bash"), ("outcome", "blocked")]
            ),
            1.0
        );
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
            ("project", "/p"),
            ("tool", "Read"),
        ]) {
            Some(V::Histogram { sum, .. }) => {
                assert!((sum - 0.25).abs() < 1e-9, "paired by tool_use_id")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_series_limit_drops_and_counts() {
        let mut agg = Aggregator::new(Limits {
            series_per_metric: 2,
            ..Limits::default()
        });
        for agent in ["a", "b", "c", "d"] {
            agg.apply(
                &ev(json!({"hook_event_name": "SubagentStart", "agent_type": agent})),
                0,
            );
        }
        assert_eq!(
            agg.family("claude_code_subagents_total")
                .unwrap()
                .series
                .len(),
            2
        );
        let dropped = agg
            .dropped
            .get(&[("metric", "claude_code_subagents_total")]);
        assert_eq!(dropped, Some(&V::Scalar(2.0)));
    }
}
