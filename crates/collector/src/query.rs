//! Reading the event store for people: usage tables, the audit trail, and each
//! session's traces ([`traces`]).
//!
//! Read-only, on its own connection (WAL lets it read while the collector writes), so
//! `claude-telemetry report` and `audit` work beside a running collector or without one.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use hook_protocol::privacy::{ELIDED_KEY, is_size_note};
use rusqlite::params;
use serde::Serialize;
use serde_json::Value;

use crate::event::Source;
use crate::store::{self, StoreError};
use crate::time;

pub mod traces;

/// A time window, Unix milliseconds, `since` included, `until` excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
        Ok(Window {
            since_ms: end("since", since, now_ms - 7 * 86_400_000)?,
            until_ms: end("until", until, now_ms + 1)?,
        })
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

/// What a usage table is grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// Calendar day (UTC).
    Day,
    /// Model.
    Model,
    /// User (name, else email, else Claude Code's user id).
    User,
    /// Project directory.
    Project,
    /// Session.
    Session,
}

/// One row of a usage table.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UsageRow {
    /// The group: a day, model, user, project or session.
    pub key: String,
    /// Sessions seen.
    pub sessions: u64,
    /// API requests.
    pub requests: u64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Tokens read from the prompt cache.
    pub cache_read_tokens: u64,
    /// Tokens written to the prompt cache.
    pub cache_creation_tokens: u64,
    /// Cost in US dollars, as Claude Code reports it.
    pub cost_usd: f64,
    /// Prompts submitted.
    pub prompts: u64,
    /// Tool calls finished (succeeded or failed).
    pub tool_calls: u64,
    /// Tool calls the guard denied.
    pub blocks: u64,
}

struct Row {
    source: String,
    name: String,
    ts_ms: i64,
    session_id: Option<String>,
    user_name: Option<String>,
    user_email: Option<String>,
    project: Option<String>,
    decision: Option<String>,
    body: String,
    id: i64,
}

fn sqlite(data_dir: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
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

fn number(value: &Value) -> f64 {
    value
        .as_f64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(0.0)
}

fn day(ts_ms: i64) -> String {
    let time =
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(ts_ms).unwrap_or(0));
    humantime::format_rfc3339_seconds(time).to_string()[..10].to_owned()
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

/// Usage in `window`, grouped, sorted by key, with a `TOTAL` row last.
pub fn usage(data_dir: &Path, window: Window, by: GroupBy) -> Result<Vec<UsageRow>, StoreError> {
    let conn = store::reader(data_dir)?;
    let err = sqlite(data_dir);
    // Projects come from hook events; OTLP events find theirs through the session.
    let mut project_of: HashMap<String, String> = HashMap::new();
    {
        let mut statement = conn
            .prepare("SELECT session_id, project FROM events WHERE source = ?1 AND session_id IS NOT NULL AND project IS NOT NULL GROUP BY session_id")
            .map_err(&err)?;
        let rows = statement
            .query_map(params![Source::Hook.as_str()], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(&err)?;
        for row in rows {
            let (session, project) = row.map_err(&err)?;
            project_of.insert(session, project);
        }
    }
    let mut statement = conn
        .prepare(
            "SELECT source, name, ts_ms, session_id, user_name, user_email, project, decision, \
             CASE WHEN name = 'claude_code.api_request' THEN body ELSE '' END, id \
             FROM events WHERE ts_ms >= ?1 AND ts_ms < ?2 AND source IN (?3, ?4) ORDER BY id",
        )
        .map_err(&err)?;
    let sources = (Source::Hook.as_str(), Source::OtlpLog.as_str());
    let rows = statement
        .query_map(
            params![window.since_ms, window.until_ms, sources.0, sources.1],
            |r| {
                Ok(Row {
                    source: r.get(0)?,
                    name: r.get(1)?,
                    ts_ms: r.get(2)?,
                    session_id: r.get(3)?,
                    user_name: r.get(4)?,
                    user_email: r.get(5)?,
                    project: r.get(6)?,
                    decision: r.get(7)?,
                    body: r.get(8)?,
                    id: r.get(9)?,
                })
            },
        )
        .map_err(&err)?;
    let mut table: BTreeMap<String, UsageRow> = BTreeMap::new();
    let mut sessions: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut all_sessions = BTreeSet::new();
    let mut total = UsageRow {
        key: "TOTAL".to_owned(),
        ..UsageRow::default()
    };
    for row in rows {
        let row = row.map_err(&err)?;
        let api = row.name == "claude_code.api_request";
        let body: Value = if api {
            body(data_dir, row.id, &row.body)?
        } else {
            Value::Null
        };
        let attrs = &body["attributes"];
        let key = match by {
            GroupBy::Day => day(row.ts_ms),
            GroupBy::Model if api => attrs["model"].as_str().unwrap_or("unknown").to_owned(),
            // Hook events do not know the model.
            GroupBy::Model => continue,
            GroupBy::User => row
                .user_name
                .clone()
                .filter(|u| !u.is_empty())
                .or_else(|| row.user_email.clone())
                .or_else(|| attrs["user.id"].as_str().map(str::to_owned))
                .unwrap_or_else(|| "unknown".to_owned()),
            GroupBy::Project => row
                .project
                .clone()
                .or_else(|| {
                    row.session_id
                        .as_ref()
                        .and_then(|s| project_of.get(s).cloned())
                })
                .unwrap_or_else(|| "unknown".to_owned()),
            GroupBy::Session => row
                .session_id
                .clone()
                .unwrap_or_else(|| "unknown".to_owned()),
        };
        let entry = table.entry(key.clone()).or_insert_with(|| UsageRow {
            key: key.clone(),
            ..UsageRow::default()
        });
        if let Some(session) = &row.session_id {
            sessions.entry(key).or_default().insert(session.clone());
            all_sessions.insert(session.clone());
        }
        for target in [&mut *entry, &mut total] {
            if api {
                target.requests += 1;
                target.input_tokens += number(&attrs["input_tokens"]) as u64;
                target.output_tokens += number(&attrs["output_tokens"]) as u64;
                target.cache_read_tokens += number(&attrs["cache_read_tokens"]) as u64;
                target.cache_creation_tokens += number(&attrs["cache_creation_tokens"]) as u64;
                target.cost_usd += number(&attrs["cost_usd"]);
            } else if row.source == Source::Hook.as_str() {
                match row.name.as_str() {
                    "UserPromptSubmit" => target.prompts += 1,
                    "PostToolUse" | "PostToolUseFailure" => target.tool_calls += 1,
                    _ => {}
                }
                if row.decision.as_deref() == Some("deny") {
                    target.blocks += 1;
                }
            }
        }
    }
    for (key, row) in table.iter_mut() {
        row.sessions = sessions.get(key).map_or(0, |s| s.len() as u64);
    }
    total.sessions = all_sessions.len() as u64;
    let mut out: Vec<UsageRow> = table.into_values().collect();
    out.push(total);
    Ok(out)
}

/// One guard decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
}

/// Guard decisions in `window`, oldest first.
pub fn audit(
    data_dir: &Path,
    window: Window,
    filter: &AuditFilter,
) -> Result<Vec<AuditRow>, StoreError> {
    let conn = store::reader(data_dir)?;
    let err = sqlite(data_dir);
    let mut statement = conn
        .prepare(
            "SELECT ts_ms, user_name, project, session_id, tool_name, decision, rule, body, id FROM events \
             WHERE source = ?6 AND decision IS NOT NULL AND ts_ms >= ?1 AND ts_ms < ?2 \
             AND (?3 OR decision != 'allow') AND (?4 IS NULL OR user_name = ?4) AND (?5 IS NULL OR rule LIKE ?5 || '%') \
             ORDER BY ts_ms, id",
        )
        .map_err(&err)?;
    let rows = statement
        .query_map(
            params![
                window.since_ms,
                window.until_ms,
                filter.include_allowed,
                filter.user,
                filter.rule,
                Source::Hook.as_str()
            ],
            |r| {
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
                ))
            },
        )
        .map_err(&err)?;
    let mut out = Vec::new();
    for row in rows {
        let (ts, user, project, session, tool, decision, rule, text, id) = row.map_err(&err)?;
        let body = body(data_dir, id, &text)?;
        let guard = &body["claude_telemetry"]["guard"];
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
            category: guard["category"].as_str().unwrap_or("").to_owned(),
            reason: guard["reason"].as_str().unwrap_or("").to_owned(),
            input,
        });
    }
    Ok(out)
}

/// One session, for the live page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionRow {
    /// Claude Code's session id.
    pub session_id: String,
    /// Who.
    pub user: String,
    /// Where.
    pub project: String,
    /// First event, Unix milliseconds.
    pub start_ms: i64,
    /// Last event minus first, milliseconds.
    pub duration_ms: i64,
    /// Figures, as in the usage table.
    pub usage: UsageRow,
}

/// Sessions active in `window`, most recent first (at most `limit`).
pub fn sessions(
    data_dir: &Path,
    window: Window,
    limit: usize,
) -> Result<Vec<SessionRow>, StoreError> {
    let conn = store::reader(data_dir)?;
    let err = sqlite(data_dir);
    let mut statement = conn
        .prepare(
            "SELECT session_id, MIN(ts_ms), MAX(ts_ms), MAX(user_name), MAX(project) FROM events \
             WHERE session_id IS NOT NULL AND ts_ms >= ?1 AND ts_ms < ?2 \
             GROUP BY session_id ORDER BY MAX(ts_ms) DESC LIMIT ?3",
        )
        .map_err(&err)?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let found: Result<Vec<SessionRow>, _> = statement
        .query_map(params![window.since_ms, window.until_ms, limit], |r| {
            let start_ms: i64 = r.get(1)?;
            Ok(SessionRow {
                session_id: r.get(0)?,
                start_ms,
                duration_ms: r.get::<_, i64>(2)? - start_ms,
                user: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                project: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                usage: UsageRow::default(),
            })
        })
        .map_err(&err)?
        .collect();
    let mut found = found.map_err(&err)?;
    let mut figures: HashMap<String, UsageRow> = usage(data_dir, window, GroupBy::Session)?
        .into_iter()
        .map(|row| (row.key.clone(), row))
        .collect();
    for session in &mut found {
        session.usage = figures.remove(&session.session_id).unwrap_or_default();
    }
    Ok(found)
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
    /// What happened, in a line: the command or file, the model and cost, the rule.
    pub detail: String,
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
                "cost_usd",
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
        });
    }
    Ok(out)
}

/// How one tool was used.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ToolRow {
    /// The tool.
    pub tool: String,
    /// Calls finished (hook PostToolUse and PostToolUseFailure).
    pub calls: u64,
    /// Of which failed.
    pub failures: u64,
    /// Calls the guard denied.
    pub blocks: u64,
    /// Median duration, milliseconds, from Claude Code's `tool_result` events.
    pub p50_ms: Option<f64>,
    /// 95th percentile duration, milliseconds.
    pub p95_ms: Option<f64>,
}

/// API requests and errors for one model.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ApiRow {
    /// The model.
    pub model: String,
    /// Requests.
    pub requests: u64,
    /// Errors.
    pub errors: u64,
    /// Median latency, milliseconds.
    pub p50_ms: Option<f64>,
    /// 95th percentile latency, milliseconds.
    pub p95_ms: Option<f64>,
}

fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    Some(sorted[((last as f64) * q).round() as usize])
}

/// A tool's row and its durations, created on first sight (from a hook event or an
/// OTLP `tool_result`, whichever comes first).
fn tool_entry(
    tools: &mut BTreeMap<String, (ToolRow, Vec<f64>)>,
    tool: String,
) -> &mut (ToolRow, Vec<f64>) {
    tools.entry(tool.clone()).or_insert_with(|| {
        (
            ToolRow {
                tool,
                ..ToolRow::default()
            },
            Vec::new(),
        )
    })
}

/// Tool usage and API latency in `window`.
pub fn activity(
    data_dir: &Path,
    window: Window,
) -> Result<(Vec<ToolRow>, Vec<ApiRow>), StoreError> {
    let conn = store::reader(data_dir)?;
    let err = sqlite(data_dir);
    let mut statement = conn
        .prepare(
            "SELECT source, name, tool_name, decision, \
             CASE WHEN source = ?3 THEN body ELSE '' END, id FROM events \
             WHERE ts_ms >= ?1 AND ts_ms < ?2 AND (source = ?3 OR tool_name IS NOT NULL) ORDER BY id",
        )
        .map_err(&err)?;
    let otlp = Source::OtlpLog.as_str();
    let rows = statement
        .query_map(params![window.since_ms, window.until_ms, otlp], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })
        .map_err(&err)?;
    let mut tools: BTreeMap<String, (ToolRow, Vec<f64>)> = BTreeMap::new();
    let mut api: BTreeMap<String, (ApiRow, Vec<f64>)> = BTreeMap::new();
    for row in rows {
        let (source, name, tool, decision, text, id) = row.map_err(&err)?;
        if source == Source::Hook.as_str() {
            let Some(tool) = tool else { continue };
            let (row, _) = tool_entry(&mut tools, tool);
            match name.as_str() {
                "PostToolUse" => row.calls += 1,
                "PostToolUseFailure" => {
                    row.calls += 1;
                    row.failures += 1;
                }
                _ => {}
            }
            if decision.as_deref() == Some("deny") {
                row.blocks += 1;
            }
            continue;
        }
        let body = body(data_dir, id, &text)?;
        let attrs = &body["attributes"];
        let duration = attrs.get("duration_ms").map(number);
        match name.as_str() {
            "claude_code.tool_result" => {
                let tool = attrs["tool_name"].as_str().unwrap_or("unknown").to_owned();
                let (_, durations) = tool_entry(&mut tools, tool);
                durations.extend(duration);
            }
            "claude_code.api_request" | "claude_code.api_error" => {
                let model = attrs["model"].as_str().unwrap_or("unknown").to_owned();
                let (row, durations) = api.entry(model.clone()).or_insert_with(|| {
                    (
                        ApiRow {
                            model,
                            ..ApiRow::default()
                        },
                        Vec::new(),
                    )
                });
                if name == "claude_code.api_error" {
                    row.errors += 1;
                } else {
                    row.requests += 1;
                    durations.extend(duration);
                }
            }
            _ => {}
        }
    }
    let finish = |durations: &mut Vec<f64>| {
        durations.sort_by(f64::total_cmp);
        (percentile(durations, 0.5), percentile(durations, 0.95))
    };
    let tools = tools
        .into_values()
        .map(|(mut row, mut durations)| {
            (row.p50_ms, row.p95_ms) = finish(&mut durations);
            row
        })
        .collect();
    let api = api
        .into_values()
        .map(|(mut row, mut durations)| {
            (row.p50_ms, row.p95_ms) = finish(&mut durations);
            row
        })
        .collect();
    Ok((tools, api))
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
                "INSERT INTO events (event_id, source, ts_ms, name, session_id, body) VALUES ('b', 'hook', 2, 'UserPromptSubmit', x'00ff', '{}')",
            ],
        );
        for by in [GroupBy::Day, GroupBy::Session] {
            let err = usage(dir.path(), ALL_TIME, by).unwrap_err();
            assert!(err.to_string().contains("event store"), "{err}");
        }
        assert!(sessions(dir.path(), ALL_TIME, 10).is_err());
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
    }
}
