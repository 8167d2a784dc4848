//! The hook-derived metrics of the contract: tool calls, sessions, prompts, subagents,
//! compactions, guard blocks and latency, each family a field (a misspelt family does
//! not compile), read from the hook-protocol types rather than JSON paths.
//!
//! Keeps the state behind them: open sessions (started, active, ended, idle) and tool
//! calls waiting for their PostToolUse.

use std::collections::HashMap;

use hook_protocol::{HookEvent, KnownEvent};
use serde::{Deserialize, Serialize};

use super::Joined;
use super::limits::{Cardinality, Limits, cap};
use super::pending::PendingTools;
use crate::event::HookRecord;
use crate::exposition::{Family, Kind, Labels};

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

/// Every hook-derived family.
struct Families {
    active_sessions: Family,
    compactions: Family,
    guard_latency: Family,
    hook_events: Family,
    prompts: Family,
    security_blocks: Family,
    session_duration: Family,
    sessions_ended: Family,
    sessions_started: Family,
    subagents: Family,
    tool_calls: Family,
    tool_duration: Family,
    spool_pending: Family,
}

impl Families {
    fn new() -> Families {
        Families {
            active_sessions: Family::new(
                "claude_code_active_sessions",
                "Sessions started and not yet ended.",
                Kind::Gauge,
            ),
            compactions: Family::new(
                "claude_code_compactions_total",
                "Context compactions, by trigger.",
                Kind::Counter,
            ),
            guard_latency: Family::histogram(
                "claude_code_guard_latency_seconds",
                "Time the guard took to decide.",
                GUARD_SECONDS,
            ),
            hook_events: Family::new(
                "claude_code_hook_events_total",
                "Hook events received, by event and tool.",
                Kind::Counter,
            ),
            prompts: Family::new(
                "claude_code_prompts_total",
                "Prompts submitted.",
                Kind::Counter,
            ),
            security_blocks: Family::new(
                "claude_code_security_blocks_total",
                "Tool calls denied, by the guard or by Claude Code (category permission), by category and rule.",
                Kind::Counter,
            ),
            session_duration: Family::histogram(
                "claude_code_session_duration_seconds",
                "Session duration, start to end.",
                SESSION_SECONDS,
            ),
            sessions_ended: Family::new(
                "claude_code_sessions_ended_total",
                "Sessions ended, by reason (idle_timeout when no SessionEnd came).",
                Kind::Counter,
            ),
            sessions_started: Family::new(
                "claude_code_sessions_started_total",
                "Sessions started, each once, at its first event: by how it started (startup, resume, clear, compact, fork), unknown when its first event was not a SessionStart.",
                Kind::Counter,
            ),
            subagents: Family::new(
                "claude_code_subagents_total",
                "Subagents started, by agent type.",
                Kind::Counter,
            ),
            tool_calls: Family::new(
                "claude_code_tool_calls_total",
                "Tool calls by outcome: success, failure, or blocked (by the guard or a permission denial).",
                Kind::Counter,
            ),
            tool_duration: Family::histogram(
                "claude_code_tool_duration_seconds",
                "Tool call duration.",
                TOOL_SECONDS,
            ),
            spool_pending: Family::new(
                "claude_telemetry_hook_spool_pending",
                "Events waiting in a hook's spool, as its latest event reported.",
                Kind::Gauge,
            ),
        }
    }

    /// Every family, by name.
    fn all(&self) -> [&Family; 13] {
        [
            &self.active_sessions,
            &self.compactions,
            &self.guard_latency,
            &self.hook_events,
            &self.prompts,
            &self.security_blocks,
            &self.session_duration,
            &self.sessions_ended,
            &self.sessions_started,
            &self.subagents,
            &self.tool_calls,
            &self.tool_duration,
            &self.spool_pending,
        ]
    }

    fn all_mut(&mut self) -> [&mut Family; 13] {
        [
            &mut self.active_sessions,
            &mut self.compactions,
            &mut self.guard_latency,
            &mut self.hook_events,
            &mut self.prompts,
            &mut self.security_blocks,
            &mut self.session_duration,
            &mut self.sessions_ended,
            &mut self.sessions_started,
            &mut self.subagents,
            &mut self.tool_calls,
            &mut self.tool_duration,
            &mut self.spool_pending,
        ]
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Session {
    start_ms: i64,
    last_ms: i64,
    who: Labels,
    /// Whether it is counted in `claude_code_active_sessions` (its series may have been
    /// over the series limit).
    counted: bool,
}

/// The state behind the hook-derived metrics, as the store's baseline keeps it.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct HookState {
    sessions: Vec<(String, Session)>,
    pending_tools: PendingTools,
}

/// The hook-derived metrics and the state behind them.
pub(super) struct HookMetrics {
    families: Families,
    sessions: HashMap<String, Session>,
    pending_tools: PendingTools,
    session_idle_ms: i64,
    label_value_bytes: usize,
}

/// The labels every hook-derived series starts with: who, where, with which model.
struct Who<'a> {
    user_name: &'a str,
    user_email: &'a str,
    project: &'a str,
    /// The model the session was using (`""` before one is known).
    model: &'a str,
}

impl HookMetrics {
    pub(super) fn new(limits: Limits) -> HookMetrics {
        HookMetrics {
            families: Families::new(),
            sessions: HashMap::new(),
            pending_tools: PendingTools::new(MAX_PENDING_TOOLS),
            session_idle_ms: limits.session_idle_ms,
            label_value_bytes: limits.label_value_bytes,
        }
    }

    pub(super) fn families(&self) -> [&Family; 13] {
        self.families.all()
    }

    pub(super) fn families_mut(&mut self) -> [&mut Family; 13] {
        self.families.all_mut()
    }

    /// The family with this name, for restoring a baseline.
    pub(super) fn family_mut(&mut self, name: &str) -> Option<&mut Family> {
        self.families.all_mut().into_iter().find(|f| f.name == name)
    }

    /// The state behind the families (open sessions, tool calls waiting), for the
    /// baseline.
    pub(super) fn state(&self) -> HookState {
        let mut sessions: Vec<(String, Session)> = self
            .sessions
            .iter()
            .map(|(id, session)| (id.clone(), session.clone()))
            .collect();
        sessions.sort_by(|a, b| a.0.cmp(&b.0));
        HookState {
            sessions,
            pending_tools: self.pending_tools.clone(),
        }
    }

    /// Continues from a baseline's state.
    pub(super) fn restore_state(&mut self, state: HookState) {
        self.sessions = state.sessions.into_iter().collect();
        self.pending_tools = state.pending_tools;
    }

    fn cap(&self, value: &str) -> String {
        cap(value, self.label_value_bytes)
    }

    /// `user_name`, `user_email`, `project`, then `extra`.
    fn labels(&self, who: &Who<'_>, extra: &[(&str, &str)]) -> Labels {
        let mut out = Vec::with_capacity(4 + extra.len());
        out.push(("user_name".to_owned(), self.cap(who.user_name)));
        out.push(("user_email".to_owned(), self.cap(who.user_email)));
        out.push(("project".to_owned(), self.cap(who.project)));
        out.push(("model".to_owned(), self.cap(who.model)));
        out.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), self.cap(v))));
        out
    }

    /// Applies one stored hook event that happened at `ts_ms`, joined to its session
    /// (`project`: the label its project goes by).
    pub(super) fn apply(
        &mut self,
        record: &HookRecord,
        ts_ms: i64,
        joined: &Joined,
        project: &str,
        limit: &mut Cardinality,
    ) {
        let (event, enrichment) = (&record.event, &record.enrichment);
        let name = event.event_name().unwrap_or("unknown");
        let who = Who {
            user_name: &joined.identity.user_name,
            user_email: &joined.identity.user_email,
            project,
            model: &joined.model,
        };
        let spool = vec![
            ("host".to_owned(), self.cap(&enrichment.host)),
            ("user_name".to_owned(), self.cap(&enrichment.user_name)),
        ];
        limit.set(
            &mut self.families.spool_pending,
            spool,
            enrichment.spool_pending as f64,
        );
        let tool = event.tool_name().unwrap_or("");
        let labels = self.labels(&who, &[("event", name), ("tool", tool)]);
        limit.add(&mut self.families.hook_events, labels, 1.0);
        if joined.first_in_session {
            let source = match event.known_event() {
                Some(KnownEvent::SessionStart) => event.start_source().unwrap_or("unknown"),
                _ => "unknown",
            };
            self.count_session(&who, source, limit);
        }
        self.track_session(event, &who, ts_ms, limit);
        // Every event the guard denied is a block, whichever event it judged.
        let denied = self.judged(record, &who, tool, limit);
        match event.known_event() {
            Some(KnownEvent::PreToolUse) if !denied => {
                if let Some(id) = event.tool_use_id() {
                    self.pending_tools.start(id, ts_ms);
                }
            }
            Some(known @ (KnownEvent::PostToolUse | KnownEvent::PostToolUseFailure)) => {
                let outcome = if known == KnownEvent::PostToolUse {
                    "success"
                } else {
                    "failure"
                };
                let labels = self.labels(&who, &[("tool", tool), ("outcome", outcome)]);
                limit.add(&mut self.families.tool_calls, labels, 1.0);
                let paired = event
                    .tool_use_id()
                    .and_then(|id| self.pending_tools.finish(id));
                let seconds = match event.duration_ms() {
                    Some(ms) => Some(ms / 1000.0),
                    None => paired.map(|pre| (ts_ms - pre).max(0) as f64 / 1000.0),
                };
                if let Some(seconds) = seconds {
                    let labels = self.labels(&who, &[("tool", tool)]);
                    limit.observe(&mut self.families.tool_duration, labels, seconds);
                }
            }
            // Counted as blocked by `judged`, like every denial.
            Some(KnownEvent::PermissionDenied) => {
                if let Some(id) = event.tool_use_id() {
                    self.pending_tools.finish(id);
                }
            }
            Some(KnownEvent::UserPromptSubmit) => {
                let labels = self.labels(&who, &[]);
                limit.add(&mut self.families.prompts, labels, 1.0);
            }
            Some(KnownEvent::SubagentStart) => {
                let agent = event.agent_type().unwrap_or("");
                let labels = self.labels(&who, &[("agent_type", agent)]);
                limit.add(&mut self.families.subagents, labels, 1.0);
            }
            Some(KnownEvent::PreCompact) => {
                let trigger = event.trigger().unwrap_or("");
                let labels = self.labels(&who, &[("trigger", trigger)]);
                limit.add(&mut self.families.compactions, labels, 1.0);
            }
            _ => {}
        }
    }

    /// A session first seen through one of Claude Code's own events.
    pub(super) fn session_seen(&mut self, joined: &Joined, project: &str, limit: &mut Cardinality) {
        let who = Who {
            user_name: &joined.identity.user_name,
            user_email: &joined.identity.user_email,
            project,
            model: &joined.model,
        };
        self.count_session(&who, "unknown", limit);
    }

    /// A session counts once, at its first event, however often it starts again later
    /// (`resume`, `compact`): the page's and `report`'s definition too.
    fn count_session(&mut self, who: &Who<'_>, source: &str, limit: &mut Cardinality) {
        let labels = self.labels(who, &[("source", source)]);
        limit.add(&mut self.families.sessions_started, labels, 1.0);
    }

    /// Counts the decision on an event ([`HookRecord::verdict`]: the guard's, or Claude
    /// Code's own `PermissionDenied`); whether it was a denial.
    fn judged(
        &mut self,
        record: &HookRecord,
        who: &Who<'_>,
        tool: &str,
        limit: &mut Cardinality,
    ) -> bool {
        let Some(verdict) = record.verdict() else {
            return false;
        };
        if record.judged_by_guard() {
            let labels = self.labels(who, &[]);
            let seconds = verdict.latency_us as f64 / 1e6;
            limit.observe(&mut self.families.guard_latency, labels, seconds);
        }
        if verdict.decision != "deny" {
            return false;
        }
        let labels = self.labels(
            who,
            &[
                ("category", &verdict.category),
                ("rule", &verdict.rule),
                ("tool", tool),
            ],
        );
        limit.add(&mut self.families.security_blocks, labels, 1.0);
        let labels = self.labels(who, &[("tool", tool), ("outcome", "blocked")]);
        limit.add(&mut self.families.tool_calls, labels, 1.0);
        true
    }

    fn track_session(
        &mut self,
        event: &HookEvent,
        who: &Who<'_>,
        ts_ms: i64,
        limit: &mut Cardinality,
    ) {
        let Some(id) = event.session_id() else {
            return;
        };
        // A session silent for longer than the idle timeout ended back then.
        if let Some(session) = self.sessions.get(id)
            && ts_ms - session.last_ms > self.session_idle_ms
        {
            self.end_session(id, "idle_timeout", None, limit);
        }
        match event.known_event() {
            Some(KnownEvent::SessionStart) => {
                match self.sessions.get_mut(id) {
                    // `resume` or `clear` of a session still open: one session, not two.
                    Some(session) => session.last_ms = session.last_ms.max(ts_ms),
                    None => self.open_session(id, who, ts_ms, limit),
                }
            }
            Some(KnownEvent::SessionEnd) => {
                if !self.sessions.contains_key(id) {
                    self.open_session(id, who, ts_ms, limit);
                }
                if let Some(session) = self.sessions.get_mut(id) {
                    session.last_ms = session.last_ms.max(ts_ms);
                }
                let reason = event.end_reason().unwrap_or("other");
                self.end_session(id, reason, Some(who), limit);
            }
            _ => match self.sessions.get_mut(id) {
                Some(session) => session.last_ms = session.last_ms.max(ts_ms),
                // Events of a session whose start we did not see (hooks installed
                // mid-session, or it resumed after an idle end): it is active.
                None => self.open_session(id, who, ts_ms, limit),
            },
        }
    }

    fn open_session(&mut self, id: &str, who: &Who<'_>, ts_ms: i64, limit: &mut Cardinality) {
        let who = self.labels(who, &[]);
        let counted = limit.admit(&mut self.families.active_sessions, &who);
        if counted {
            self.families.active_sessions.add(who.clone(), 1.0);
        }
        self.sessions.insert(
            id.to_owned(),
            Session {
                start_ms: ts_ms,
                last_ms: ts_ms,
                who,
                counted,
            },
        );
    }

    fn end_session(
        &mut self,
        id: &str,
        reason: &str,
        ended_by: Option<&Who<'_>>,
        limit: &mut Cardinality,
    ) {
        let Some(session) = self.sessions.remove(id) else {
            return;
        };
        if session.counted {
            self.families.active_sessions.add(session.who.clone(), -1.0);
        }
        let mut ended = match ended_by {
            Some(who) => self.labels(who, &[]),
            None => session.who.clone(),
        };
        ended.push(("reason".to_owned(), reason.to_owned()));
        limit.add(&mut self.families.sessions_ended, ended, 1.0);
        let seconds = (session.last_ms - session.start_ms).max(0) as f64 / 1000.0;
        limit.observe(&mut self.families.session_duration, session.who, seconds);
    }

    /// Ends sessions idle at `now_ms`.
    pub(super) fn sweep(&mut self, now_ms: i64, limit: &mut Cardinality) {
        let idle: Vec<String> = self
            .sessions
            .iter()
            .filter(|(_, s)| now_ms - s.last_ms > self.session_idle_ms)
            .map(|(id, _)| id.clone())
            .collect();
        for id in idle {
            self.end_session(&id, "idle_timeout", None, limit);
        }
    }
}
