//! Reading the event store for people: usage tables (from the rollups, [`rollups`]),
//! the audit trail, session timelines and tool calls (from the events), and each
//! session's traces ([`traces`]).
//!
//! Read-only, on its own connection (WAL lets it read while the collector writes), so
//! `claude-telemetry report` and `audit` work beside a running collector or without one.

mod budget;
mod rollups;

use std::path::Path;

use hook_protocol::privacy::{ELIDED_KEY, is_size_note};
use rusqlite::params;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::event::Source;
use crate::store::{self, StoreError};
use crate::time;

pub mod traces;

pub use crate::time::DAY_MS;
pub use budget::{BudgetLine, BudgetStatus, Budgets, Scope, budget, budget_lines};
pub use rollups::{
    ApiRow, BlockRow, Dim, Filter, GroupBy, SessionRow, SessionSummary, ToolRow, USAGE_WINDOW_MS,
    UsageRow, WORKING_MS, activity, blocks, cells, costliest_sessions, day, projection, session,
    sessions, usage, usage_by_model, usage_windows, working,
};

/// A time window, Unix milliseconds, `since` included, `until` excluded: the one
/// definition of every window the page, `/api/v1/` and `report` read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Window {
    /// Start.
    pub since_ms: i64,
    /// End.
    pub until_ms: i64,
}

impl Window {
    /// The window between `since` and `until` as people write them
    /// ([`time::parse_instant`]); by default the last 7 days up to `now_ms`.
    pub fn parse(
        since: Option<&str>,
        until: Option<&str>,
        now_ms: i64,
    ) -> Result<Window, WindowError> {
        let end = |name: &'static str, text: Option<&str>, default: i64| match text {
            Some(text) => time::parse_instant(text, now_ms)
                .map_err(|source| WindowError { end: name, source }),
            None => Ok(default),
        };
        let last_week = Window::last_days(7, now_ms);
        Ok(Window {
            since_ms: end("since", since, last_week.since_ms)?,
            until_ms: end("until", until, last_week.until_ms)?,
        })
    }

    /// The last `days` days: `days` × 24 hours back from `now_ms`, up to now included —
    /// what `7d` means everywhere (`--since 7d`, `?since=7d`, the page's "7 days",
    /// Prometheus' `[7d]`, Grafana's "Last 7 days").
    pub fn last_days(days: i64, now_ms: i64) -> Window {
        Window {
            since_ms: now_ms - days * DAY_MS,
            until_ms: now_ms + 1,
        }
    }

    /// Today: since midnight UTC, up to now included.
    pub fn today(now_ms: i64) -> Window {
        Window {
            since_ms: now_ms - now_ms.rem_euclid(DAY_MS),
            until_ms: now_ms + 1,
        }
    }

    /// Every day (UTC, `2026-11-24`) the window touches, oldest first: a chart of the
    /// window by day has these bars, the first and last possibly partial, and they add
    /// up to the window.
    pub fn days(&self) -> Vec<String> {
        if self.is_empty() {
            return Vec::new();
        }
        let first = self.since_ms - self.since_ms.rem_euclid(DAY_MS);
        (0..)
            .map(|n| first + n * DAY_MS)
            .take_while(|start| *start < self.until_ms)
            .map(day)
            .collect()
    }

    /// Whether nothing can fall in it.
    pub fn is_empty(&self) -> bool {
        self.since_ms >= self.until_ms
    }
}

/// An end of a window that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{end}: {source}")]
pub struct WindowError {
    /// `since` or `until`.
    pub end: &'static str,
    /// Why.
    #[source]
    pub source: time::TimeError,
}

pub(crate) fn sqlite(data_dir: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |source| StoreError::Sqlite {
        path: store::database_path(data_dir),
        source,
    }
}

/// A stored body, parsed; one that cannot be is an error naming its event, never skipped.
fn body(data_dir: &Path, id: i64, text: &str) -> Result<Value, StoreError> {
    serde_json::from_str(text).map_err(|err| StoreError::Corrupt {
        path: store::database_path(data_dir),
        what: format!("event {id}"),
        message: err.to_string(),
    })
}

/// What a tool call works on, in a line: the command, the file or the pattern (or its
/// size, when the privacy level did not keep it).
fn input_of(body: &Value) -> Option<String> {
    let input = &body["tool_input"];
    ["command", "file_path", "pattern"]
        .iter()
        .find_map(|key| match &input[*key] {
            Value::String(text) => Some(text.clone()),
            note if is_size_note(note) => Some(format!("({} bytes, not kept)", note[ELIDED_KEY])),
            _ => None,
        })
}

/// The text of the prompt an event carries, when the privacy level kept it: a hook
/// event's `prompt`, a `user_prompt` event's `prompt_text` or `prompt` (`<REDACTED>` from
/// Claude Code unless prompt logging is on).
fn prompt_of(body: &Value) -> Option<String> {
    let attributes = &body["attributes"];
    [
        &body["prompt"],
        &attributes["prompt_text"],
        &attributes["prompt"],
    ]
    .into_iter()
    .filter_map(Value::as_str)
    .find(|text| !text.is_empty() && *text != "<REDACTED>")
    .map(str::to_owned)
}

/// One guard decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRow {
    /// When, RFC 3339.
    pub time: String,
    /// Who.
    pub user: String,
    /// Where.
    pub project: String,
    /// Session.
    pub session_id: String,
    /// Tool.
    pub tool: String,
    /// allow, ask or deny.
    pub decision: String,
    /// Rule id.
    pub rule: String,
    /// Rule family.
    pub category: String,
    /// The reason given.
    pub reason: String,
    /// The input, as stored (credentials redacted by the hook).
    pub input: String,
}

/// What the audit trail shows.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Include allowed calls (by default only deny and ask).
    pub include_allowed: bool,
    /// Only this user.
    pub user: Option<String>,
    /// Only rules starting with this (`rm.`, `env.read`).
    pub rule: Option<String>,
    /// Only the most recent this many (still oldest first): what a page shows reads
    /// that many, however many the window holds.
    pub last: Option<usize>,
}

/// Guard decisions in `window`, oldest first.
pub fn audit(
    data_dir: &Path,
    window: Window,
    filter: &AuditFilter,
) -> Result<Vec<AuditRow>, StoreError> {
    let conn = store::reader(data_dir)?;
    let err = sqlite(data_dir);
    // The decisions first, newest first when only the last few are wanted, through the
    // (decision, ts_ms) index; then the rows they name.
    let mut ids = conn
        .prepare(
            "SELECT id FROM events \
             WHERE decision IN ('deny', 'ask', CASE WHEN ?3 THEN 'allow' END) \
             AND ts_ms >= ?1 AND ts_ms < ?2 AND source = ?7 \
             AND (?4 IS NULL OR user_name = ?4) AND (?5 IS NULL OR rule LIKE ?5 || '%') \
             ORDER BY ts_ms DESC, id DESC LIMIT ?6",
        )
        .map_err(&err)?
        .query_map(
            params![
                window.since_ms,
                window.until_ms,
                filter.include_allowed,
                filter.user,
                filter.rule,
                filter
                    .last
                    .map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX)),
                Source::Hook.as_str()
            ],
            |r| r.get::<_, i64>(0),
        )
        .map_err(&err)?
        .collect::<Result<Vec<i64>, _>>()
        .map_err(&err)?;
    ids.reverse();
    let mut statement = conn
        .prepare(
            "SELECT ts_ms, user_name, project, session_id, tool_name, decision, rule, body, id, \
             category FROM events WHERE id = ?1",
        )
        .map_err(&err)?;
    let mut rows = Vec::with_capacity(ids.len());
    for id in ids {
        rows.push(statement.query_row(params![id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, Option<String>>(6)?,
                r.get::<_, String>(7)?,
                r.get::<_, i64>(8)?,
                r.get::<_, Option<String>>(9)?,
            ))
        }));
    }
    let mut out = Vec::new();
    for row in rows {
        let (ts, user, project, session, tool, decision, rule, text, id, category) =
            row.map_err(&err)?;
        let body = body(data_dir, id, &text)?;
        let guard = &body["claude_telemetry"]["guard"];
        // Claude Code's own denial, when no decision of ours came with it (its reason
        // when the privacy level kept it).
        let reason = guard["reason"].as_str().unwrap_or_else(|| {
            body["reason"]
                .as_str()
                .unwrap_or(crate::event::PERMISSION_DENIED_REASON)
        });
        let input = input_of(&body).unwrap_or_else(|| body["tool_input"].to_string());
        let time = std::time::UNIX_EPOCH
            + std::time::Duration::from_millis(u64::try_from(ts).unwrap_or(0));
        out.push(AuditRow {
            time: humantime::format_rfc3339_millis(time).to_string(),
            user: user.unwrap_or_default(),
            project: project.unwrap_or_default(),
            session_id: session.unwrap_or_default(),
            tool: tool.unwrap_or_default(),
            decision,
            rule: rule.unwrap_or_default(),
            category: category
                .or_else(|| guard["category"].as_str().map(str::to_owned))
                .unwrap_or_default(),
            reason: reason.to_owned(),
            input,
        });
    }
    Ok(out)
}

/// One event in a session's timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineEntry {
    /// When, Unix milliseconds.
    pub ts_ms: i64,
    /// `hook` or `otlp`.
    pub source: String,
    /// The hook event or OTLP event name.
    pub name: String,
    /// The tool, for tool events.
    pub tool: String,
    /// The guard's decision, for PreToolUse.
    pub decision: String,
    /// What happened, in a line: the command or file, the model, the rule.
    pub detail: String,
    /// What an API request cost, US dollars as Claude Code reports it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
}

/// A session's events in order (at most `limit`, the first ones).
pub fn timeline(
    data_dir: &Path,
    session_id: &str,
    limit: usize,
) -> Result<Vec<TimelineEntry>, StoreError> {
    let conn = store::reader(data_dir)?;
    let err = sqlite(data_dir);
    let mut statement = conn
        .prepare(
            "SELECT ts_ms, source, name, tool_name, decision, rule, body, id FROM events \
             WHERE session_id = ?1 AND source != ?3 ORDER BY ts_ms, id LIMIT ?2",
        )
        .map_err(&err)?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    // Spans are shown as traces, not one by one.
    let spans = Source::Span.as_str();
    let rows = statement
        .query_map(params![session_id, limit, spans], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, i64>(7)?,
            ))
        })
        .map_err(&err)?;
    let mut out = Vec::new();
    for row in rows {
        let (ts_ms, source, name, tool, decision, rule, text, id) = row.map_err(&err)?;
        let body = body(data_dir, id, &text)?;
        let attrs = &body["attributes"];
        let detail = if let Some(prompt) = prompt_of(&body) {
            prompt
        } else if source == Source::OtlpLog.as_str() {
            [
                "model",
                "tool_name",
                "duration_ms",
                "status_code",
                "success",
            ]
            .iter()
            .filter_map(|key| {
                attrs.get(*key).filter(|v| !v.is_null()).map(|v| {
                    format!(
                        "{key}={}",
                        v.as_str().map_or_else(|| v.to_string(), str::to_owned)
                    )
                })
            })
            .collect::<Vec<_>>()
            .join(" ")
        } else {
            let what: String = input_of(&body)
                .unwrap_or_default()
                .chars()
                .take(200)
                .collect();
            match rule.filter(|_| decision.as_deref().is_some_and(|d| d != "allow")) {
                Some(rule) => format!(
                    "{what} — {rule}: {}",
                    body["claude_telemetry"]["guard"]["reason"]
                        .as_str()
                        .unwrap_or("")
                ),
                None => what,
            }
        };
        out.push(TimelineEntry {
            ts_ms,
            source,
            name,
            tool: tool
                .or_else(|| attrs["tool_name"].as_str().map(str::to_owned))
                .unwrap_or_default(),
            decision: decision.unwrap_or_default(),
            detail,
            cost_usd: crate::aggregate::join::number(attrs.get("cost_usd")),
        });
    }
    Ok(out)
}

/// The hook events of a tool call: its start and the ways it ends.
pub const TOOL_CALL_EVENTS: [&str; 4] = [
    "PreToolUse",
    "PostToolUse",
    "PostToolUseFailure",
    "PermissionDenied",
];

/// One tool call of a session: its PreToolUse paired by `tool_use_id` with how it ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolCall {
    /// Claude Code's id of the call (empty when the hook did not send one).
    pub tool_use_id: String,
    /// The tool.
    pub tool: String,
    /// Its first hook event, Unix milliseconds.
    pub ts_ms: i64,
    /// Milliseconds: the hook's `duration_ms` where Claude Code sent one, else from its
    /// PreToolUse to its end (the measure of the tool durations in the rollups).
    pub duration_ms: Option<f64>,
    /// `succeeded`, `failed`, `blocked` (the guard denied it), `denied` (Claude Code's
    /// permission check did) or `unfinished` (no end seen).
    pub outcome: String,
    /// The guard's rule, for a blocked call.
    pub rule: String,
    /// What it worked on, in a line, as far as the privacy level kept it.
    pub input: String,
}

/// A session's tool calls in the order they started (at most `limit` hook events read,
/// the first ones).
pub fn tool_calls(
    data_dir: &Path,
    session_id: &str,
    limit: usize,
) -> Result<Vec<ToolCall>, StoreError> {
    let conn = store::reader(data_dir)?;
    let err = sqlite(data_dir);
    let mut statement = conn
        .prepare(
            "SELECT ts_ms, name, tool_name, tool_use_id, decision, rule, body, id FROM events \
             WHERE session_id = ?1 AND source = ?3 AND name IN (?4, ?5, ?6, ?7) \
             ORDER BY ts_ms, id LIMIT ?2",
        )
        .map_err(&err)?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let [pre, post, failure, denied] = TOOL_CALL_EVENTS;
    let rows = statement
        .query_map(
            params![
                session_id,
                limit,
                Source::Hook.as_str(),
                pre,
                post,
                failure,
                denied
            ],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, i64>(7)?,
                ))
            },
        )
        .map_err(&err)?;
    let mut calls: Vec<ToolCall> = Vec::new();
    let mut by_id: std::collections::HashMap<String, usize> = Default::default();
    // When each call's PreToolUse came: a call whose start was not seen has no duration.
    let mut started: std::collections::HashMap<usize, i64> = Default::default();
    for row in rows {
        let (ts_ms, name, tool, tool_use_id, decision, rule, text, id) = row.map_err(&err)?;
        let body = body(data_dir, id, &text)?;
        let index = match tool_use_id.as_deref().and_then(|key| by_id.get(key)) {
            Some(index) => *index,
            None => {
                if let Some(key) = &tool_use_id {
                    by_id.insert(key.clone(), calls.len());
                }
                calls.push(ToolCall {
                    tool_use_id: tool_use_id.clone().unwrap_or_default(),
                    tool: String::new(),
                    ts_ms,
                    duration_ms: None,
                    outcome: "unfinished".to_owned(),
                    rule: String::new(),
                    input: String::new(),
                });
                calls.len() - 1
            }
        };
        let call = &mut calls[index];
        if call.tool.is_empty() {
            call.tool = tool.unwrap_or_default();
        }
        if call.input.is_empty() {
            call.input = input_of(&body)
                .unwrap_or_default()
                .chars()
                .take(200)
                .collect();
        }
        let outcome = match name.as_str() {
            "PreToolUse" => {
                started.insert(index, ts_ms);
                if decision.as_deref() != Some("deny") {
                    continue;
                }
                call.rule = rule.unwrap_or_default();
                "blocked"
            }
            "PostToolUse" => "succeeded",
            "PostToolUseFailure" => "failed",
            _ => "denied",
        };
        call.outcome = outcome.to_owned();
        if matches!(outcome, "succeeded" | "failed") {
            call.duration_ms = body["duration_ms"]
                .as_f64()
                .filter(|ms| ms.is_finite())
                .or_else(|| {
                    started
                        .get(&index)
                        .map(|start| (ts_ms - start).max(0) as f64)
                });
        }
    }
    Ok(calls)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::{Aggregator, Limits, SharedAggregator};

    fn store_with(dir: &Path, inserts: &[&str]) {
        let (store, writer) = store::open(
            dir,
            SharedAggregator::new(Aggregator::new(Limits::default())),
        )
        .unwrap();
        drop(store);
        writer.join();
        let conn = rusqlite::Connection::open(store::database_path(dir)).unwrap();
        for insert in inserts {
            conn.execute(insert, []).unwrap();
        }
    }

    const ALL_TIME: Window = Window {
        since_ms: 0,
        until_ms: i64::MAX,
    };

    #[test]
    fn a_row_that_cannot_be_read_is_an_error_not_a_smaller_figure() {
        let dir = tempfile::tempdir().unwrap();
        store_with(
            dir.path(),
            &[
                "INSERT INTO events (event_id, source, ts_ms, name, session_id, body) VALUES ('a', 'hook', 1, 'UserPromptSubmit', 's', '{}')",
                "INSERT INTO events (event_id, source, ts_ms, name, session_id, body) VALUES ('b', 'hook', 5, 'UserPromptSubmit', x'00ff', '{}')",
                "INSERT INTO events (event_id, source, ts_ms, name, session_id, body) VALUES ('c', 'hook', 9, 'UserPromptSubmit', 's', '{}')",
                "INSERT INTO sessions (session_id, user_key, user_name, user_email, user_id, project_name, project_path, model, first_ms, last_ms, first_id, last_event, last_tool) VALUES ('s', 'u', 'u', '', '', 'p', '/p', '', 1, 'x', 1, '', '')",
            ],
        );
        // Inside the hour, the window is read from the events, the unreadable one too.
        let part_of_an_hour = Window {
            since_ms: 2,
            until_ms: 8,
        };
        for by in [GroupBy::Day, GroupBy::Session] {
            let err = usage(dir.path(), part_of_an_hour, by, &Filter::default()).unwrap_err();
            assert!(err.to_string().contains("event store"), "{err}");
        }
        assert!(activity(dir.path(), part_of_an_hour, &Filter::default()).is_err());
        let err = sessions(dir.path(), ALL_TIME, 10, &Filter::default()).unwrap_err();
        assert!(err.to_string().contains("event store"), "{err}");
        assert!(
            timeline(dir.path(), "s", 10).is_ok(),
            "the readable session reads"
        );
    }

    #[test]
    fn a_body_that_cannot_be_read_is_an_error_naming_its_event() {
        let dir = tempfile::tempdir().unwrap();
        store_with(
            dir.path(),
            &[
                "INSERT INTO events (event_id, source, ts_ms, name, session_id, decision, body) VALUES ('a', 'hook', 1, 'PreToolUse', 's', 'deny', '{\"tool_input\":')",
            ],
        );
        let err = audit(dir.path(), ALL_TIME, &AuditFilter::default()).unwrap_err();
        assert!(err.to_string().contains("event 1"), "{err}");
        assert!(timeline(dir.path(), "s", 10).is_err());
    }

    #[test]
    fn windows_from_what_people_write() {
        let now = 1_795_500_000_000;
        assert_eq!(
            Window::parse(None, None, now),
            Ok(Window {
                since_ms: now - 7 * 86_400_000,
                until_ms: now + 1
            })
        );
        let window = Window::parse(Some("2026-11-02"), Some("2026-11-01"), now).unwrap();
        assert!(window.is_empty());
        let err = Window::parse(Some("1d"), Some("soon"), now).unwrap_err();
        assert_eq!(err.end, "until");
        // Every documented form of a time: UTC, an offset east and west, a date.
        let utc = Window::parse(
            Some("2026-11-25T10:00:00Z"),
            Some("2026-11-26T00:00:00Z"),
            now,
        )
        .unwrap();
        let offsets = Window::parse(
            Some("2026-11-25T12:00:00+02:00"),
            Some("2026-11-25T19:00:00-05:00"),
            now,
        )
        .unwrap();
        assert_eq!(offsets, utc);
        assert_eq!(
            Window::parse(Some("2026-11-26"), None, now)
                .unwrap()
                .since_ms,
            utc.until_ms
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn hooks_alone_time_tool_calls_and_every_denial_counts_once_everywhere() {
        use crate::aggregate::{Aggregator, Limits, SharedAggregator};
        use crate::consumer::Consumer;
        use crate::exposition::Value as V;
        use crate::testing::workload::hook;
        use serde_json::json;

        let dir = tempfile::tempdir().unwrap();
        let t = 1_795_000_000_000;
        let call = |id: &str, ts: i64, name: &str, extra: serde_json::Value| {
            let mut fields = json!({"hook_event_name": name, "tool_name": "Bash",
                "tool_use_id": format!("call-{}", &id[..2]), "tool_input": {"command": "make"}});
            if let (Some(into), Some(from)) = (fields.as_object_mut(), extra.as_object()) {
                into.extend(from.clone());
            }
            hook(id, ts, "jane", "api", "s1", fields)
        };
        let aggregator = SharedAggregator::new(Aggregator::new(Limits::default()));
        let (store, writer) = store::open(dir.path(), aggregator.clone()).unwrap();
        store
            .consume(vec![
                // No duration_ms: timed from its PreToolUse, 1.5 s earlier.
                call("c1-pre", t, "PreToolUse", json!({})),
                call("c1-post", t + 1_500, "PostToolUse", json!({})),
                // Its own duration_ms wins.
                call("c2-pre", t + 2_000, "PreToolUse", json!({})),
                call("c2-post", t + 9_000, "PostToolUseFailure", json!({"duration_ms": 300})),
                // Claude Code's denial, from an older hook: no decision attached.
                call("c3-den", t + 10_000, "PermissionDenied", json!({"reason": "Blocked by classifier"})),
                // The same with the hook's record (read from the transcript).
                call("c4-den", t + 11_000, "PermissionDenied", json!({"guard": {
                    "decision": "deny", "rule": "claude_code.permission_rule", "category": "permission",
                    "reason": "A permissions.deny rule stopped it.", "latency_us": 0, "version": "t"}})),
                call("c5-pre", t + 12_000, "PreToolUse", json!({})),
            ])
            .await
            .unwrap();
        drop(store);
        writer.join();
        // A restart forgets the calls in progress: the finish finds its start in the store.
        let (store, writer) = store::open(
            dir.path(),
            SharedAggregator::new(Aggregator::new(Limits::default())),
        )
        .unwrap();
        store
            .consume(vec![call("c5-post", t + 12_250, "PostToolUse", json!({}))])
            .await
            .unwrap();
        drop(store);
        writer.join();

        let window = Window {
            since_ms: t - 1,
            until_ms: t + 60_000,
        };
        let (tools, _) = activity(dir.path(), window, &Filter::default()).unwrap();
        let bash = &tools[0];
        assert_eq!(
            (bash.calls, bash.failures, bash.blocks),
            // Three that ran and two blocked, as `claude_code_tool_calls_total` counts.
            (5, 1, 2),
            "{bash:?}"
        );
        let p50 = bash.p50_ms.unwrap();
        assert!(
            (p50 / 300.0 - 1.0).abs() < 0.05,
            "median of 1500, 300 and 250 ms: {p50}"
        );
        let p95 = bash.p95_ms.unwrap();
        assert!((p95 / 1500.0 - 1.0).abs() < 0.05, "{p95}");

        let total = usage(dir.path(), window, GroupBy::Day, &Filter::default())
            .unwrap()
            .pop()
            .unwrap();
        assert_eq!(total.blocks, 2, "both denials are blocks");
        assert_eq!(total.tool_calls, 5, "blocked calls are tool calls too");
        let rules: Vec<String> = blocks(dir.path(), window, &Filter::default())
            .unwrap()
            .into_iter()
            .map(|b| format!("{}/{}", b.category, b.rule))
            .collect();
        assert_eq!(
            rules,
            [
                "permission/claude_code.permission_denied",
                "permission/claude_code.permission_rule"
            ]
        );
        let trail = audit(dir.path(), window, &AuditFilter::default()).unwrap();
        let reasons: Vec<(&str, &str)> = trail
            .iter()
            .map(|r| (r.rule.as_str(), r.reason.as_str()))
            .collect();
        assert_eq!(
            reasons,
            [
                // The classifier's explanation is content: not kept at the metadata level.
                (
                    "claude_code.permission_denied",
                    "Claude Code denied the call."
                ),
                (
                    "claude_code.permission_rule",
                    "A permissions.deny rule stopped it."
                )
            ]
        );

        // /metrics, as the first run counted: each denial a security block and one
        // blocked call.
        let aggregator = aggregator.lock();
        let sum = |name: &str, want: &[(&str, &str)]| -> f64 {
            aggregator
                .family(name)
                .unwrap()
                .series()
                .iter()
                .filter(|(labels, _)| {
                    want.iter()
                        .all(|(k, v)| labels.iter().any(|(lk, lv)| lk == k && lv == v))
                })
                .map(|(_, v)| match v {
                    V::Scalar(x) => *x,
                    _ => 0.0,
                })
                .sum()
        };
        assert_eq!(sum("claude_code_security_blocks_total", &[]), 2.0);
        assert_eq!(
            sum(
                "claude_code_security_blocks_total",
                &[
                    ("rule", "claude_code.permission_denied"),
                    ("category", "permission")
                ]
            ),
            1.0
        );
        assert_eq!(
            sum("claude_code_tool_calls_total", &[("outcome", "blocked")]),
            2.0,
            "a denial is one blocked call, not two"
        );
    }
}
