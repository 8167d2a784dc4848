//! Usage, sessions, tools and blocks in a window, read from the rollups: whole hours
//! from the hourly sums, the parts of hours at a window's ends from the events' rows
//! (which carry the same join and measures), so a reading costs the number of buckets
//! in the window, not the number of events, and equals a count of the events.
//!
//! Before the oldest event the store still holds (retention removed the rest) a window
//! is read by whole hours. Read-only.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::types::Value as Sql;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use serde::{Deserialize, Serialize};

use super::{Window, sqlite};
use crate::aggregate::usage::{Figures, HOUR_MS, Histogram, Rollup, ToolBucket, UsageKey, hour_of};
use crate::event::Source;
use crate::store::{self, ROW_COLUMNS, StoreError, row_from};
use crate::time;

/// What a usage table is grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// Calendar day (UTC).
    Day,
    /// Calendar week (UTC, starting on Monday), named by its Monday.
    Week,
    /// Calendar month (UTC), `2026-11`.
    Month,
    /// Model.
    Model,
    /// User (name, else email, else Claude Code's user id).
    User,
    /// Project, by name.
    Project,
    /// Session.
    Session,
    /// Claude's 5-hour usage window, as ccusage's `blocks` shows it: a window opens at
    /// the hour of the first activity and lasts 5 hours; the first activity after it
    /// opens the next. Named by its start, `2026-11-24 09:00`.
    Block,
}

/// How long one of Claude's usage windows lasts.
pub const USAGE_WINDOW_MS: i64 = 5 * HOUR_MS;

impl GroupBy {
    /// Every grouping, as `by=` and `--by` name them.
    pub const ALL: [GroupBy; 8] = [
        GroupBy::Day,
        GroupBy::Week,
        GroupBy::Month,
        GroupBy::Model,
        GroupBy::User,
        GroupBy::Project,
        GroupBy::Session,
        GroupBy::Block,
    ];

    /// Its name: `day`, `week`, ….
    pub fn name(self) -> &'static str {
        match self {
            GroupBy::Day => "day",
            GroupBy::Week => "week",
            GroupBy::Month => "month",
            GroupBy::Model => "model",
            GroupBy::User => "user",
            GroupBy::Project => "project",
            GroupBy::Session => "session",
            GroupBy::Block => "block",
        }
    }

    /// The grouping of a name.
    pub fn from_name(name: &str) -> Option<GroupBy> {
        GroupBy::ALL.into_iter().find(|by| by.name() == name)
    }

    /// The dimension its rows are read by (weeks and months are read by day).
    fn dim(self) -> Dim {
        match self {
            GroupBy::Day | GroupBy::Week | GroupBy::Month => Dim::Day,
            GroupBy::Model => Dim::Model,
            GroupBy::User => Dim::User,
            GroupBy::Project => Dim::Project,
            GroupBy::Session => Dim::Session,
            GroupBy::Block => Dim::Hour,
        }
    }

    /// The row a cell of [`GroupBy::dim`] belongs to.
    fn group(self, key: &str) -> String {
        let day_ms = || crate::time::parse_instant(key, 0).ok();
        match self {
            GroupBy::Week => {
                day_ms().map_or_else(|| key.to_owned(), |ms| time::date(time::week_start(ms)))
            }
            GroupBy::Month => key.get(..7).unwrap_or(key).to_owned(),
            _ => key.to_owned(),
        }
    }
}

/// What usage can be told apart by: a cell of a reading is one value of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dim {
    /// The day (UTC), `2026-11-24`.
    Day,
    /// The user.
    User,
    /// The project's name.
    Project,
    /// The model.
    Model,
    /// The session.
    Session,
    /// The hour, as Unix milliseconds of its start (`1795000000000`).
    Hour,
}

impl Dim {
    /// Its column in the hourly rollups.
    fn column(self) -> &'static str {
        match self {
            Dim::Day => "hour_ms - hour_ms % 86400000",
            Dim::User => "user",
            Dim::Project => "project",
            Dim::Model => "model",
            Dim::Session => "session_id",
            Dim::Hour => "hour_ms",
        }
    }

    /// Its value for a bucket of a window's partial hours.
    fn of(self, key: &UsageKey, session: Option<&str>) -> String {
        match self {
            Dim::Day => day(key.hour_ms),
            Dim::User => or_unknown(&key.user),
            Dim::Project => or_unknown(&key.project),
            Dim::Model => or_unknown(&key.model),
            Dim::Session => session.unwrap_or("unknown").to_owned(),
            Dim::Hour => key.hour_ms.to_string(),
        }
    }
}

/// Whose usage, where and with which model (`None`: everyone's, everywhere, any).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Filter {
    /// Only this user.
    pub user: Option<String>,
    /// Only this project (by name).
    pub project: Option<String>,
    /// Only this model.
    pub model: Option<String>,
}

impl Filter {
    /// Whether it leaves nothing out.
    pub fn is_everything(&self) -> bool {
        self.user.is_none() && self.project.is_none() && self.model.is_none()
    }

    /// ` AND user = ?n …` for the rollups' columns, and its values.
    fn sql(&self, first: usize) -> (String, Vec<Sql>) {
        let mut clause = String::new();
        let mut values = Vec::new();
        for (column, value) in [
            ("user", &self.user),
            ("project", &self.project),
            ("model", &self.model),
        ] {
            if let Some(value) = value {
                values.push(Sql::Text(value.clone()));
                clause.push_str(&format!(" AND {column} = ?{}", first + values.len() - 1));
            }
        }
        (clause, values)
    }

    fn admits(&self, user: &str, project: &str, model: &str) -> bool {
        let is = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        is(&self.user, user) && is(&self.project, project) && is(&self.model, model)
    }
}

/// One row of a usage table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageRow {
    /// The group: a day, model, user, project or session.
    pub key: String,
    /// Sessions that started here (a session counts once, at its first event).
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
    /// Tool calls blocked: denied by the guard or by Claude Code (`PermissionDenied`).
    pub blocks: u64,
    /// Whether this is the row of every group together (`TOTAL`), not a group.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub total: bool,
    /// The row by model, when asked for (`--breakdown`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<UsageRow>,
    /// A session's user (rows by session).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// A session's project (rows by session).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// A session's first event, or a usage window's start, Unix ms (rows by session,
    /// by block).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_ms: Option<i64>,
    /// A session's latest event, or a usage window's end, Unix ms (rows by session, by
    /// block).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ms: Option<i64>,
    /// The usage window still open: its cost at its end at the pace so far (rows by
    /// block).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projected_cost_usd: Option<f64>,
}

impl UsageRow {
    /// The tokens of every kind.
    pub fn tokens(&self) -> u64 {
        self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_creation_tokens
    }

    /// The share of prompt tokens read from the prompt cache (cache reads over input,
    /// cache reads and cache writes); `None` without any.
    pub fn cache_hit_rate(&self) -> Option<f64> {
        let prompt = self.input_tokens + self.cache_read_tokens + self.cache_creation_tokens;
        (prompt > 0).then(|| self.cache_read_tokens as f64 / prompt as f64)
    }

    pub(crate) fn of(key: String, f: &Figures) -> UsageRow {
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        UsageRow {
            key,
            sessions: n(f.sessions),
            requests: n(f.requests),
            input_tokens: n(f.input_tokens),
            output_tokens: n(f.output_tokens),
            cache_read_tokens: n(f.cache_read_tokens),
            cache_creation_tokens: n(f.cache_creation_tokens),
            cost_usd: f.cost_usd(),
            prompts: n(f.prompts),
            tool_calls: n(f.tool_calls),
            blocks: n(f.blocks),
            ..UsageRow::default()
        }
    }

    /// The `TOTAL` row of `figures`.
    fn total_of(f: &Figures) -> UsageRow {
        UsageRow {
            total: true,
            ..UsageRow::of("TOTAL".to_owned(), f)
        }
    }
}

/// The day (UTC, `2026-11-24`) an instant falls in.
pub fn day(ts_ms: i64) -> String {
    time::date(ts_ms)
}

/// How a window is read: whole hours from the rollups, the rest from the events.
struct Split {
    /// Whole hours `[from, to)`, if any.
    hours: Option<(i64, i64)>,
    /// Parts of hours, `[from, to)` each.
    edges: Vec<(i64, i64)>,
}

fn ceil_hour(ts_ms: i64) -> i64 {
    hour_of(ts_ms.saturating_add(HOUR_MS - 1))
}

/// Splits `window`: an end with no stored event beyond it (retention removed them, or
/// none came yet) takes its whole hour from the rollups, an end inside the stored events
/// takes the part of its hour from them.
fn split(conn: &Connection, window: Window) -> rusqlite::Result<Split> {
    if window.is_empty() {
        return Ok(Split {
            hours: None,
            edges: Vec::new(),
        });
    }
    let oldest: Option<i64> = conn.query_row("SELECT min(ts_ms) FROM events", [], |r| r.get(0))?;
    let newest: Option<i64> = conn.query_row("SELECT max(ts_ms) FROM events", [], |r| r.get(0))?;
    let Window { since_ms, until_ms } = window;
    let from = if oldest.is_none_or(|oldest| since_ms <= oldest) {
        hour_of(since_ms)
    } else {
        ceil_hour(since_ms)
    };
    let to = if newest.is_none_or(|newest| until_ms > newest) {
        ceil_hour(until_ms)
    } else {
        hour_of(until_ms)
    };
    if from >= to {
        return Ok(Split {
            hours: None,
            edges: vec![(since_ms, until_ms)],
        });
    }
    let mut edges = Vec::new();
    if since_ms < from {
        edges.push((since_ms, from));
    }
    if to < until_ms {
        edges.push((to, until_ms));
    }
    Ok(Split {
        hours: Some((from, to)),
        edges,
    })
}

/// The events of the window's partial hours, summed as the rollups sum them.
fn edges(conn: &Connection, split: &Split, filter: &Filter) -> rusqlite::Result<Rollup> {
    let mut rollup = Rollup::default();
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {ROW_COLUMNS} FROM events WHERE ts_ms >= ?1 AND ts_ms < ?2 AND source != ?3"
    ))?;
    for (from, to) in &split.edges {
        let rows =
            statement.query_map(params![from, to, Source::OtlpMetrics.as_str()], row_from)?;
        for row in rows {
            let row = row?;
            if filter.admits(&row.user, &row.project, &row.model) {
                rollup.add(&row, 1);
            }
        }
    }
    Ok(rollup)
}

fn figures_from(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<Figures> {
    let mut values = [0; 13];
    for (i, slot) in values.iter_mut().enumerate() {
        *slot = r.get::<_, Option<i64>>(first + i)?.unwrap_or(0);
    }
    Ok(Figures::from_values(values))
}

fn sums() -> String {
    Figures::COLUMNS
        .iter()
        .map(|c| format!("sum({c})"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn or_unknown(key: &str) -> String {
    if key.is_empty() {
        "unknown".to_owned()
    } else {
        key.to_owned()
    }
}

/// Usage in `window` by the values of `dims`: each event in exactly one cell (cells
/// that come to nothing are left out). What every usage table is read from.
pub fn cells(
    data_dir: &Path,
    window: Window,
    dims: &[Dim],
    filter: &Filter,
) -> Result<BTreeMap<Vec<String>, Figures>, StoreError> {
    let conn = store::reader(data_dir)?;
    let err = sqlite(data_dir);
    let split = split(&conn, window).map_err(&err)?;
    let mut cells: BTreeMap<Vec<String>, Figures> = BTreeMap::new();
    let by_session = dims.contains(&Dim::Session);
    if let Some((from, to)) = split.hours
        && !dims.is_empty()
    {
        let table = if by_session {
            "session_hourly"
        } else {
            "usage_hourly"
        };
        let keys: Vec<&str> = dims.iter().map(|d| d.column()).collect();
        let groups: Vec<String> = (1..=dims.len()).map(|i| i.to_string()).collect();
        let (clause, mut values) = filter.sql(3);
        values.splice(0..0, [Sql::Integer(from), Sql::Integer(to)]);
        let mut statement = conn
            .prepare_cached(&format!(
                "SELECT {}, {} FROM {table} WHERE hour_ms >= ?1 AND hour_ms < ?2{clause} GROUP BY {}",
                keys.join(", "),
                sums(),
                groups.join(", ")
            ))
            .map_err(&err)?;
        let rows = statement
            .query_map(params_from_iter(values), |r| {
                let mut key = Vec::with_capacity(dims.len());
                for (i, dim) in dims.iter().enumerate() {
                    key.push(match r.get::<_, Sql>(i)? {
                        Sql::Integer(ms) if *dim == Dim::Hour => ms.to_string(),
                        Sql::Integer(day_ms) => day(day_ms),
                        Sql::Text(text) => or_unknown(&text),
                        _ => "unknown".to_owned(),
                    });
                }
                Ok((key, figures_from(r, dims.len())?))
            })
            .map_err(&err)?;
        for row in rows {
            let (key, figures) = row.map_err(&err)?;
            cells.entry(key).or_default().add(&figures, 1);
        }
    }
    let rest = edges(&conn, &split, filter).map_err(&err)?;
    if by_session {
        for ((session, key), figures) in &rest.sessions {
            let cell = dims.iter().map(|d| d.of(key, Some(session))).collect();
            cells.entry(cell).or_default().add(figures, 1);
        }
    } else {
        for (key, bucket) in &rest.usage {
            let cell = dims.iter().map(|d| d.of(key, None)).collect();
            cells.entry(cell).or_default().add(&bucket.figures, 1);
        }
    }
    cells.retain(|_, figures| !figures.is_zero());
    Ok(cells)
}

/// Usage in `window`, grouped, with a `TOTAL` row last: every event in exactly one row,
/// so the rows add up to the total in every grouping. Rows are sorted by key; sessions
/// by their start, each with its user and project.
pub fn usage(
    data_dir: &Path,
    window: Window,
    by: GroupBy,
    filter: &Filter,
) -> Result<Vec<UsageRow>, StoreError> {
    table(data_dir, window, by, filter, false)
}

/// [`usage`], each row with its figures by model (`models`), the TOTAL row too.
pub fn usage_by_model(
    data_dir: &Path,
    window: Window,
    by: GroupBy,
    filter: &Filter,
) -> Result<Vec<UsageRow>, StoreError> {
    table(data_dir, window, by, filter, true)
}

fn table(
    data_dir: &Path,
    window: Window,
    by: GroupBy,
    filter: &Filter,
    breakdown: bool,
) -> Result<Vec<UsageRow>, StoreError> {
    // Usage windows are each account's own: read by hour and user, a user's windows
    // from that user's hours alone.
    let by_block = by == GroupBy::Block;
    let mut dims = vec![by.dim()];
    if by_block {
        dims.push(Dim::User);
    }
    if breakdown {
        dims.push(Dim::Model);
    }
    let model_at = dims.len() - 1;
    // Rows keyed by their name and, for windows, their user.
    let mut groups: BTreeMap<(String, String), (Figures, BTreeMap<String, Figures>)> =
        BTreeMap::new();
    let cells = cells(data_dir, window, &dims, filter)?;
    let mut windows: BTreeMap<&str, BTreeMap<i64, i64>> = BTreeMap::new();
    if by_block {
        let mut hours: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
        for cell in cells.keys() {
            if let Ok(hour) = cell[0].parse::<i64>() {
                hours.entry(cell[1].as_str()).or_default().push(hour);
            }
        }
        windows = hours
            .into_iter()
            .map(|(user, hours)| (user, usage_windows(hours)))
            .collect();
    }
    for (cell, figures) in &cells {
        let key = if by_block {
            let start = cell[0]
                .parse::<i64>()
                .ok()
                .and_then(|hour| windows.get(cell[1].as_str())?.get(&hour));
            let name = start.map_or_else(|| "unknown".to_owned(), |start| block_name(*start));
            (name, cell[1].clone())
        } else {
            (by.group(&cell[0]), String::new())
        };
        let group = groups.entry(key).or_default();
        group.0.add(figures, 1);
        if breakdown {
            group
                .1
                .entry(cell[model_at].clone())
                .or_default()
                .add(figures, 1);
        }
    }
    let mut total = Figures::default();
    let mut total_models: BTreeMap<String, Figures> = BTreeMap::new();
    let mut out: Vec<UsageRow> = groups
        .into_iter()
        .map(|((key, user), (figures, models))| {
            total.add(&figures, 1);
            let mut row = UsageRow::of(key, &figures);
            if by_block {
                row.user = Some(user);
            }
            for (model, f) in models {
                total_models.entry(model.clone()).or_default().add(&f, 1);
                row.models.push(UsageRow::of(model, &f));
            }
            row
        })
        .collect();
    if by == GroupBy::Session {
        describe_sessions(data_dir, &mut out)?;
    }
    if by == GroupBy::Block {
        describe_blocks(&mut out, time::now_ms());
    }
    let mut last = UsageRow::total_of(&total);
    last.models = total_models
        .into_iter()
        .map(|(model, f)| UsageRow::of(model, &f))
        .collect();
    out.push(last);
    Ok(out)
}

/// The usage window each of `hours` (starts of hours with activity, any order) falls in,
/// by the start of its window: the first hour opens a window of [`USAGE_WINDOW_MS`];
/// the first hour at or past its end opens the next.
pub fn usage_windows(hours: impl IntoIterator<Item = i64>) -> BTreeMap<i64, i64> {
    let mut hours: Vec<i64> = hours.into_iter().collect();
    hours.sort_unstable();
    let mut out = BTreeMap::new();
    let mut open: Option<i64> = None;
    for hour in hours {
        let start = match open {
            Some(start) if hour < start + USAGE_WINDOW_MS => start,
            _ => hour,
        };
        open = Some(start);
        out.insert(hour, start);
    }
    out
}

/// A usage window's name: its start, `2026-11-24 09:00` (UTC).
fn block_name(start_ms: i64) -> String {
    time::timestamp(start_ms)
        .get(..16)
        .unwrap_or_default()
        .to_owned()
}

/// What `spent` over `[from, now)` comes to at `until` at the same pace; `spent` when
/// no time has passed yet (a pace of one instant says nothing).
pub fn projection(spent: f64, from_ms: i64, now_ms: i64, until_ms: i64) -> f64 {
    let elapsed = now_ms.saturating_sub(from_ms);
    if elapsed <= 0 || now_ms >= until_ms {
        return spent;
    }
    spent * (until_ms - from_ms) as f64 / elapsed as f64
}

/// Gives rows by usage window their start and end (`start_ms`, `last_ms`: the end),
/// and the window still open at `now_ms` its projected cost at its end.
fn describe_blocks(rows: &mut [UsageRow], now_ms: i64) {
    for row in rows.iter_mut() {
        let Ok(start) = time::parse_instant(&format!("{}:00Z", row.key.replace(' ', "T")), 0)
        else {
            continue;
        };
        let end = start + USAGE_WINDOW_MS;
        (row.start_ms, row.last_ms) = (Some(start), Some(end));
        if (start..end).contains(&now_ms) {
            row.projected_cost_usd = Some(projection(row.cost_usd, start, now_ms, end));
        }
    }
}

/// The `limit` sessions that cost most in `window` (what they cost in it), most first,
/// each with its user, project and times: one reading of the rollups by session, then
/// only those few described.
pub fn costliest_sessions(
    data_dir: &Path,
    window: Window,
    limit: usize,
    filter: &Filter,
) -> Result<Vec<UsageRow>, StoreError> {
    let by_cost = |a: &UsageRow, b: &UsageRow| {
        b.cost_usd
            .total_cmp(&a.cost_usd)
            .then_with(|| a.key.cmp(&b.key))
    };
    let mut rows: Vec<UsageRow> = cells(data_dir, window, &[Dim::Session], filter)?
        .into_iter()
        .filter_map(|(mut cell, figures)| Some(UsageRow::of(cell.pop()?, &figures)))
        // Usage no session claims is no session to show.
        .filter(|row| row.cost_usd > 0.0 && row.key != "unknown")
        .collect();
    rows.sort_by(by_cost);
    rows.truncate(limit);
    describe_sessions(data_dir, &mut rows)?;
    rows.sort_by(by_cost);
    Ok(rows)
}

/// Gives rows by session their user, project and times, and orders them by start.
fn describe_sessions(data_dir: &Path, rows: &mut [UsageRow]) -> Result<(), StoreError> {
    let conn = store::reader(data_dir)?;
    let err = sqlite(data_dir);
    let mut statement = conn
        .prepare_cached(
            "SELECT user_key, project_name, first_ms, last_ms FROM sessions WHERE session_id = ?1",
        )
        .map_err(&err)?;
    for row in rows.iter_mut() {
        let found = statement
            .query_row(params![row.key], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .optional()
            .map_err(&err)?;
        if let Some((user, project, first, last)) = found {
            (row.user, row.project, row.start_ms, row.last_ms) =
                (Some(user), Some(project), Some(first), Some(last));
        }
    }
    rows.sort_by(|a, b| {
        (a.start_ms.unwrap_or(i64::MAX), &a.key).cmp(&(b.start_ms.unwrap_or(i64::MAX), &b.key))
    });
    Ok(())
}

/// One session.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionRow {
    /// Claude Code's session id.
    pub session_id: String,
    /// Who.
    pub user: String,
    /// Which project (by name).
    pub project: String,
    /// The project's directory.
    pub project_path: String,
    /// The model it last used.
    pub model: String,
    /// First event, Unix milliseconds.
    pub start_ms: i64,
    /// Latest event, Unix milliseconds.
    pub last_ms: i64,
    /// Last event minus first, milliseconds.
    pub duration_ms: i64,
    /// Whether a `SessionEnd` came.
    pub ended: bool,
    /// The tool of its latest tool event.
    pub last_tool: String,
    /// The whole session's figures.
    pub usage: UsageRow,
}

/// The columns of the session join a [`SessionRow`] is read from.
const SESSION_COLUMNS: &str = "s.session_id, s.user_key, s.project_name, s.project_path, \
     s.model, s.first_ms, s.last_ms, s.ended_ms, s.last_tool";

fn session_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SessionRow> {
    let start_ms: i64 = r.get(5)?;
    let last_ms: i64 = r.get(6)?;
    Ok(SessionRow {
        session_id: r.get(0)?,
        user: r.get(1)?,
        project: r.get(2)?,
        project_path: r.get(3)?,
        model: r.get(4)?,
        start_ms,
        last_ms,
        duration_ms: last_ms - start_ms,
        ended: r.get::<_, Option<i64>>(7)?.is_some(),
        last_tool: r.get(8)?,
        usage: UsageRow::default(),
    })
}

/// A session's whole figures, from its hourly rollups.
fn session_usage(conn: &Connection, session_id: &str) -> rusqlite::Result<UsageRow> {
    let f = conn
        .prepare_cached(&format!(
            "SELECT {} FROM session_hourly WHERE session_id = ?1",
            sums()
        ))?
        .query_row(params![session_id], |r| figures_from(r, 0))?;
    Ok(UsageRow::of(session_id.to_owned(), &f))
}

/// Sessions with an event in `window`, most recent first (at most `limit`), each with
/// its whole figures.
pub fn sessions(
    data_dir: &Path,
    window: Window,
    limit: usize,
    filter: &Filter,
) -> Result<Vec<SessionRow>, StoreError> {
    Ok(select_sessions(data_dir, window, limit, filter, Ended::Included)?.0)
}

/// How long a session may be silent and still count as working now.
pub const WORKING_MS: i64 = 5 * 60_000;

/// Sessions working at `now_ms`: an event within the last [`WORKING_MS`] and no
/// `SessionEnd`, most recent first (at most `limit`), with how many more there are.
pub fn working(
    data_dir: &Path,
    now_ms: i64,
    limit: usize,
    filter: &Filter,
) -> Result<(Vec<SessionRow>, usize), StoreError> {
    let window = Window {
        since_ms: now_ms.saturating_sub(WORKING_MS),
        until_ms: now_ms.saturating_add(1),
    };
    select_sessions(data_dir, window, limit, filter, Ended::Excluded)
}

/// Whether a listing of sessions keeps those a `SessionEnd` closed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ended {
    Included,
    Excluded,
}

/// Sessions with an event in `window` that `filter` and `ended` admit, most recent first
/// (at most `limit`), and how many more there are.
fn select_sessions(
    data_dir: &Path,
    window: Window,
    limit: usize,
    filter: &Filter,
    ended: Ended,
) -> Result<(Vec<SessionRow>, usize), StoreError> {
    let conn = store::reader(data_dir)?;
    let err = sqlite(data_dir);
    let open_only = if ended == Ended::Excluded {
        " AND s.ended_ms IS NULL"
    } else {
        ""
    };
    let admitted = format!(
        "FROM sessions s WHERE s.last_ms >= ?1 AND s.first_ms < ?2{open_only} \
         AND (?3 IS NULL OR s.user_key = ?3) AND (?4 IS NULL OR s.project_name = ?4) \
         AND (?5 IS NULL OR EXISTS (SELECT 1 FROM session_hourly h \
              WHERE h.session_id = s.session_id AND h.model = ?5))"
    );
    let mut statement = conn
        .prepare(&format!(
            "SELECT {SESSION_COLUMNS} {admitted} ORDER BY s.last_ms DESC LIMIT ?6"
        ))
        .map_err(&err)?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = statement
        .query_map(
            params![
                window.since_ms,
                window.until_ms,
                filter.user,
                filter.project,
                filter.model,
                limit
            ],
            session_row,
        )
        .map_err(&err)?;
    let mut found = Vec::new();
    for row in rows {
        let mut session = row.map_err(&err)?;
        session.usage = session_usage(&conn, &session.session_id).map_err(&err)?;
        found.push(session);
    }
    let mut more = 0;
    if i64::try_from(found.len()).unwrap_or(i64::MAX) >= limit {
        let all: i64 = conn
            .query_row(
                &format!("SELECT count(*) {admitted}"),
                params![
                    window.since_ms,
                    window.until_ms,
                    filter.user,
                    filter.project,
                    filter.model
                ],
                |r| r.get(0),
            )
            .map_err(&err)?;
        more = usize::try_from(all)
            .unwrap_or(0)
            .saturating_sub(found.len());
    }
    Ok((found, more))
}

/// One session at a glance: the session join's row with its whole figures, and every
/// model it used.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionSummary {
    /// The session as `/api/v1/sessions` lists it.
    #[serde(flatten)]
    pub session: SessionRow,
    /// The models its API requests used, by name.
    pub models: Vec<String>,
}

/// One session's summary; `None` when the store does not know it.
pub fn session(data_dir: &Path, session_id: &str) -> Result<Option<SessionSummary>, StoreError> {
    let conn = store::reader(data_dir)?;
    let err = sqlite(data_dir);
    let found = conn
        .query_row(
            &format!("SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.session_id = ?1"),
            params![session_id],
            session_row,
        )
        .optional()
        .map_err(&err)?;
    let Some(mut session) = found else {
        return Ok(None);
    };
    session.usage = session_usage(&conn, session_id).map_err(&err)?;
    let mut statement = conn
        .prepare(
            "SELECT DISTINCT model FROM session_hourly WHERE session_id = ?1 AND model != '' \
             ORDER BY model",
        )
        .map_err(&err)?;
    let models = statement
        .query_map(params![session_id], |r| r.get::<_, String>(0))
        .map_err(&err)?
        .collect::<rusqlite::Result<Vec<String>>>()
        .map_err(&err)?;
    Ok(Some(SessionSummary { session, models }))
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
    /// Median duration, milliseconds: the hook's measure where it sent one, else Claude
    /// Code's `tool_result` events'.
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

/// Tool usage and API latency in `window`.
pub fn activity(
    data_dir: &Path,
    window: Window,
    filter: &Filter,
) -> Result<(Vec<ToolRow>, Vec<ApiRow>), StoreError> {
    let conn = store::reader(data_dir)?;
    let err = sqlite(data_dir);
    let split = split(&conn, window).map_err(&err)?;
    let mut tools: BTreeMap<String, ToolBucket> = BTreeMap::new();
    let mut api: BTreeMap<String, (i64, i64, Histogram)> = BTreeMap::new();
    if let Some((from, to)) = split.hours {
        let (clause, mut values) = filter.sql(3);
        values.splice(0..0, [Sql::Integer(from), Sql::Integer(to)]);
        let mut statement = conn
            .prepare(&format!(
                "SELECT tool, calls, failures, blocked, blocks, hook_ms, otlp_ms FROM tools_hourly \
                 WHERE hour_ms >= ?1 AND hour_ms < ?2{clause}"
            ))
            .map_err(&err)?;
        let mut rows = statement
            .query(params_from_iter(values.clone()))
            .map_err(&err)?;
        while let Some(r) = rows.next().map_err(&err)? {
            let tool: String = r.get(0).map_err(&err)?;
            let bucket = tools.entry(tool).or_default();
            bucket.calls += r.get::<_, i64>(1).map_err(&err)?;
            bucket.failures += r.get::<_, i64>(2).map_err(&err)?;
            bucket.blocked += r.get::<_, i64>(3).map_err(&err)?;
            bucket.blocks += r.get::<_, i64>(4).map_err(&err)?;
            for (column, durations) in [(5, &mut bucket.hook_ms), (6, &mut bucket.otlp_ms)] {
                if let Some(bytes) = r
                    .get_ref(column)
                    .map_err(&err)?
                    .as_blob_or_null()
                    .map_err(|e| err(e.into()))?
                {
                    durations.merge_encoded(bytes);
                }
            }
        }
        let mut statement = conn
            .prepare(&format!(
                "SELECT model, requests, api_errors, api_ms FROM usage_hourly \
                 WHERE hour_ms >= ?1 AND hour_ms < ?2{clause} AND (requests > 0 OR api_errors > 0)"
            ))
            .map_err(&err)?;
        let mut rows = statement.query(params_from_iter(values)).map_err(&err)?;
        while let Some(r) = rows.next().map_err(&err)? {
            let model: String = r.get(0).map_err(&err)?;
            let entry = api.entry(or_unknown(&model)).or_default();
            entry.0 += r.get::<_, i64>(1).map_err(&err)?;
            entry.1 += r.get::<_, i64>(2).map_err(&err)?;
            if let Some(bytes) = r
                .get_ref(3)
                .map_err(&err)?
                .as_blob_or_null()
                .map_err(|e| err(e.into()))?
            {
                entry.2.merge_encoded(bytes);
            }
        }
    }
    let rest = edges(&conn, &split, filter).map_err(&err)?;
    for (key, bucket) in &rest.tools {
        tools.entry(key.tool.clone()).or_default().merge(bucket, 1);
    }
    for (key, bucket) in &rest.usage {
        let f = &bucket.figures;
        if f.requests > 0 || f.api_errors > 0 {
            let entry = api.entry(or_unknown(&key.model)).or_default();
            entry.0 += f.requests;
            entry.1 += f.api_errors;
            entry.2.merge(&bucket.api_ms, 1);
        }
    }
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    let tools = tools
        .into_iter()
        .map(|(tool, b)| ToolRow {
            tool,
            calls: n(b.calls),
            failures: n(b.failures),
            blocks: n(b.blocks),
            p50_ms: b.durations().quantile(0.5),
            p95_ms: b.durations().quantile(0.95),
        })
        .collect();
    let api = api
        .into_iter()
        .map(|(model, (requests, errors, durations))| ApiRow {
            model,
            requests: n(requests),
            errors: n(errors),
            p50_ms: durations.quantile(0.5),
            p95_ms: durations.quantile(0.95),
        })
        .collect();
    Ok((tools, api))
}

/// Blocks of one rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BlockRow {
    /// The rule.
    pub rule: String,
    /// Its family.
    pub category: String,
    /// Tool calls it denied.
    pub blocks: u64,
}

/// Blocks in `window` by rule, most first.
pub fn blocks(
    data_dir: &Path,
    window: Window,
    filter: &Filter,
) -> Result<Vec<BlockRow>, StoreError> {
    let conn = store::reader(data_dir)?;
    let err = sqlite(data_dir);
    let split = split(&conn, window).map_err(&err)?;
    let mut rules: BTreeMap<(String, String), i64> = BTreeMap::new();
    if let Some((from, to)) = split.hours {
        let (clause, mut values) = filter.sql(3);
        values.splice(0..0, [Sql::Integer(from), Sql::Integer(to)]);
        let mut statement = conn
            .prepare(&format!(
                "SELECT rule, category, sum(blocks) FROM blocks_hourly \
                 WHERE hour_ms >= ?1 AND hour_ms < ?2{clause} GROUP BY 1, 2"
            ))
            .map_err(&err)?;
        let rows = statement
            .query_map(params_from_iter(values), |r| {
                Ok(((r.get(0)?, r.get(1)?), r.get::<_, i64>(2)?))
            })
            .map_err(&err)?;
        for row in rows {
            let (key, n) = row.map_err(&err)?;
            *rules.entry(key).or_default() += n;
        }
    }
    for (key, n) in &edges(&conn, &split, filter).map_err(&err)?.blocks {
        *rules
            .entry((key.rule.clone(), key.category.clone()))
            .or_default() += n;
    }
    let mut out: Vec<BlockRow> = rules
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|((rule, category), n)| BlockRow {
            rule,
            category,
            blocks: u64::try_from(n).unwrap_or(0),
        })
        .collect();
    out.sort_by(|a, b| b.blocks.cmp(&a.blocks).then_with(|| a.rule.cmp(&b.rule)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::aggregate::usage::Row;
    use crate::testing::{feed, workload};

    const H: i64 = HOUR_MS;

    #[tokio::test(flavor = "multi_thread")]
    async fn the_costliest_sessions_are_what_they_cost_in_the_window_most_first() {
        let dir = tempfile::tempdir().unwrap();
        let t = time::from_civil(2026, 11, 24);
        let mut events = Vec::new();
        // (session, user, [(hours after t, cost)]): the window is [t, t + 10h).
        for (session, user, costs) in [
            ("s-cheap", "ana", vec![(1, 1.0)]),
            ("s-dear", "bob", vec![(2, 5.0)]),
            // $10 before the window, $3 in it.
            ("s-long", "ana", vec![(-5, 10.0), (3, 3.0)]),
            ("s-free", "ana", vec![(4, 0.0)]),
            ("s-later", "bob", vec![(11, 50.0)]),
        ] {
            events.push(workload::hook(
                &format!("{session}-start"),
                t - 6 * H,
                user,
                "api",
                session,
                serde_json::json!({"hook_event_name": "SessionStart", "source": "startup"}),
            ));
            for (i, (hours, usd)) in costs.into_iter().enumerate() {
                events.push(workload::otlp(
                    &format!("{session}-{i}"),
                    t + hours * H,
                    session,
                    "api_request",
                    serde_json::json!({"model": "m", "cost_usd": usd}),
                ));
            }
        }
        feed(dir.path(), events).await;
        let window = Window {
            since_ms: t,
            until_ms: t + 10 * H,
        };
        let costliest = |limit: usize, user: Option<&str>| -> Vec<(String, f64, Option<String>)> {
            let filter = Filter {
                user: user.map(str::to_owned),
                ..Filter::default()
            };
            costliest_sessions(dir.path(), window, limit, &filter)
                .unwrap()
                .into_iter()
                .map(|r| (r.key, r.cost_usd, r.user))
                .collect()
        };
        let row = |s: &str, usd: f64, user: &str| (s.to_owned(), usd, Some(user.to_owned()));
        assert_eq!(
            costliest(10, None),
            [
                row("s-dear", 5.0, "bob"),
                row("s-long", 3.0, "ana"),
                row("s-cheap", 1.0, "ana")
            ]
        );
        assert_eq!(costliest(1, None), [row("s-dear", 5.0, "bob")]);
        assert_eq!(
            costliest(10, Some("ana")),
            [row("s-long", 3.0, "ana"), row("s-cheap", 1.0, "ana")]
        );
    }

    #[test]
    fn usage_windows_open_at_the_first_activity_and_last_five_hours() {
        // A day starting at 0: activity at hours 9, 10, 13 (one window from 9), 14 (the
        // window from 9 ends at 14: a new one), 15, 18 (still 14's), 19 (new), then after
        // a quiet night, 8 the next day; unordered, as cells come.
        let day = 1_795_000_000_000 - 1_795_000_000_000 % (24 * H);
        let hours = [13, 9, 14, 10, 15, 18, 19, 32].map(|h| day + h * H);
        let windows = usage_windows(hours);
        let start_of = |h: i64| (windows[&(day + h * H)] - day) / H;
        let got: Vec<(i64, i64)> = [9, 10, 13, 14, 15, 18, 19, 32]
            .iter()
            .map(|&h| (h, start_of(h)))
            .collect();
        assert_eq!(
            got,
            [
                (9, 9),
                (10, 9),
                (13, 9),
                (14, 14),
                (15, 14),
                (18, 14),
                (19, 19),
                (32, 32)
            ]
        );
        assert!(usage_windows([]).is_empty());
        assert_eq!(block_name(day + 9 * H).len(), "2026-11-24 09:00".len());
        assert!(block_name(day + 9 * H).ends_with(" 09:00"));
    }

    #[test]
    fn a_projection_carries_the_pace_so_far_to_the_end() {
        let month = 30 * 24 * H;
        // $100 in the first 10 days of a 30-day month: $300 at its end.
        assert!((projection(100.0, 0, month / 3, month) - 300.0).abs() < 1e-9);
        // $12 in the first hour of a 5-hour window: $60.
        assert!((projection(12.0, 0, H, 5 * H) - 60.0).abs() < 1e-9);
        // No time passed, or the period over: what was spent.
        assert_eq!(projection(7.0, 0, 0, month), 7.0);
        assert_eq!(projection(7.0, 0, month, month), 7.0);
        assert_eq!(projection(7.0, 0, month + H, month), 7.0);
    }

    const START: i64 = 1_795_000_000_000;

    fn rows(dir: &Path) -> Vec<Row> {
        let conn = store::reader(dir).unwrap();
        let mut s = conn
            .prepare(&format!(
                "SELECT {ROW_COLUMNS} FROM events WHERE source != 'otlp_metrics'"
            ))
            .unwrap();
        s.query_map([], row_from)
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    /// The table counted event by event, as a person would with the events in hand
    /// (with each row's figures by model when `breakdown`).
    fn by_hand(
        rows: &[Row],
        window: Window,
        by: GroupBy,
        filter: &Filter,
        breakdown: bool,
    ) -> Vec<UsageRow> {
        type Group = (Figures, BTreeMap<String, Figures>);
        let mut groups: BTreeMap<String, Group> = BTreeMap::new();
        let mut total: Group = Default::default();
        for row in rows {
            if row.ts_ms < window.since_ms
                || row.ts_ms >= window.until_ms
                || !filter.admits(&row.user, &row.project, &row.model)
            {
                continue;
            }
            let key = match by {
                GroupBy::Day => day(row.ts_ms),
                GroupBy::Week => day(time::week_start(row.ts_ms)),
                GroupBy::Month => day(row.ts_ms)[..7].to_owned(),
                GroupBy::Model => or_unknown(&row.model),
                GroupBy::User => or_unknown(&row.user),
                GroupBy::Project => or_unknown(&row.project),
                GroupBy::Session => match &row.session_id {
                    Some(s) => s.clone(),
                    None => continue,
                },
                GroupBy::Block => format!(
                    "{} {}",
                    block_by_hand(rows, window, filter, &row.user, row.ts_ms),
                    or_unknown(&row.user)
                ),
            };
            for group in [groups.entry(key).or_default(), &mut total] {
                group.0.add(&row.figures(), 1);
                if breakdown {
                    let model = or_unknown(&row.model);
                    group.1.entry(model).or_default().add(&row.figures(), 1);
                }
            }
        }
        let row_of = |key: String, (f, models): &Group| {
            let mut row = UsageRow::of(key, f);
            row.models = models
                .iter()
                .filter(|(_, f)| !f.is_zero())
                .map(|(m, f)| UsageRow::of(m.clone(), f))
                .collect();
            row
        };
        let mut out: Vec<UsageRow> = groups
            .into_iter()
            .filter(|(_, g)| !g.0.is_zero())
            .map(|(k, g)| row_of(k, &g))
            .collect();
        out.push(UsageRow {
            total: true,
            ..row_of("TOTAL".to_owned(), &total)
        });
        out
    }

    /// The usage window of `user`'s event at `ts_ms`, found as a person would: walking
    /// the user's events in time, a window opens at the hour of the first and closes 5
    /// hours later.
    fn block_by_hand(
        rows: &[Row],
        window: Window,
        filter: &Filter,
        user: &str,
        ts_ms: i64,
    ) -> String {
        let mut times: Vec<i64> = rows
            .iter()
            .filter(|r| {
                (window.since_ms..window.until_ms).contains(&r.ts_ms)
                    && r.user == user
                    && filter.admits(&r.user, &r.project, &r.model)
                    && !r.figures().is_zero()
            })
            .map(|r| r.ts_ms)
            .collect();
        times.sort_unstable();
        let mut start = i64::MIN;
        for t in times {
            if t >= start.saturating_add(5 * 3_600_000) {
                start = t - t.rem_euclid(3_600_000);
            }
            if t == ts_ms {
                break;
            }
        }
        block_name(start)
    }

    /// Rows by session as the store describes them, ordered by key as `by_hand` counts
    /// (a usage window named by its start and its user).
    fn by_key(mut read: Vec<UsageRow>, by: GroupBy) -> Vec<UsageRow> {
        for row in &mut read {
            if by == GroupBy::Block
                && !row.total
                && let Some(user) = &row.user
            {
                row.key = format!("{} {user}", row.key);
            }
            (row.user, row.project, row.start_ms, row.last_ms) = (None, None, None, None);
        }
        let total = read.pop();
        read.sort_by(|a, b| a.key.cmp(&b.key));
        read.extend(total);
        read
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn every_window_reads_what_its_events_add_up_to() {
        let dir = tempfile::tempdir().unwrap();
        feed(dir.path(), workload::sessions(START, 30, 7)).await;
        let rows = rows(dir.path());
        let (oldest, newest) = (
            rows.iter().map(|r| r.ts_ms).min().unwrap(),
            rows.iter().map(|r| r.ts_ms).max().unwrap(),
        );
        let windows = [
            (0, i64::MAX),
            (oldest - 1_234_567, newest + 1),
            (oldest + 1_234_567, newest - 2_345_678),
            (oldest + 3_600_000, oldest + 3 * 3_600_000),
            (oldest + 17 * 60_000, oldest + 42 * 60_000),
            (START + 2 * 3_600_000 + 1, newest + 3_600_000),
            (newest - 90 * 60_000, newest + 1),
            (newest, newest),
        ];
        let filters = [
            Filter::default(),
            Filter {
                user: Some("u1".to_owned()),
                ..Filter::default()
            },
            Filter {
                project: Some("acme/p2".to_owned()),
                model: Some("claude-opus-4-5".to_owned()),
                ..Filter::default()
            },
        ];
        for (since_ms, until_ms) in windows {
            let window = Window { since_ms, until_ms };
            for filter in &filters {
                for by in GroupBy::ALL {
                    let read = usage(dir.path(), window, by, filter).unwrap();
                    if by == GroupBy::Session {
                        let starts: Vec<i64> = read.iter().filter_map(|r| r.start_ms).collect();
                        assert!(starts.is_sorted(), "sessions in the order they started");
                        assert!(
                            read.iter().all(|r| r.total || r.user.is_some()),
                            "each session with its user"
                        );
                    }
                    assert_eq!(
                        by_key(read.clone(), by),
                        by_hand(&rows, window, by, filter, false),
                        "{window:?} {by:?} {filter:?}"
                    );
                    assert_eq!(
                        by_key(usage_by_model(dir.path(), window, by, filter).unwrap(), by),
                        by_hand(&rows, window, by, filter, true),
                        "breakdown {window:?} {by:?} {filter:?}"
                    );
                    let total = read.last().unwrap();
                    let mut sum = Figures::default();
                    for r in &read[..read.len() - 1] {
                        sum.requests += i64::try_from(r.requests).unwrap();
                        sum.sessions += i64::try_from(r.sessions).unwrap();
                        sum.blocks += i64::try_from(r.blocks).unwrap();
                    }
                    assert_eq!(
                        (sum.requests, sum.sessions, sum.blocks),
                        (
                            i64::try_from(total.requests).unwrap(),
                            i64::try_from(total.sessions).unwrap(),
                            i64::try_from(total.blocks).unwrap()
                        ),
                        "the rows add up to the total"
                    );
                }
                let (tools, _) = activity(dir.path(), window, filter).unwrap();
                let expected = by_hand(&rows, window, GroupBy::Day, filter, false);
                let expected = expected.last().unwrap();
                assert_eq!(
                    tools.iter().map(|t| t.calls).sum::<u64>(),
                    expected.tool_calls
                );
                assert_eq!(
                    blocks(dir.path(), window, filter)
                        .unwrap()
                        .iter()
                        .map(|b| b.blocks)
                        .sum::<u64>(),
                    expected.blocks
                );
            }
        }
    }
}
