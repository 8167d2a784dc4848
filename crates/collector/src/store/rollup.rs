//! The rollups: usage by hour, user, project and model (and by session, tool and rule),
//! and the sessions table, kept by the writer in the same transaction as the events, so
//! the page, the JSON and `report` read sums instead of events.
//!
//! Each event is joined to its session ([`join`]) before it is stored; its row carries
//! the join's answer (user, project, model, first of its session) and its measures
//! (cost, tokens, duration), so any part of a window can be summed again from the
//! events alone, and a full recount equals the rollups. The rollups are rebuilt from
//! the events when their definition changes ([`ROLLUP_VERSION`]) and caught up at start
//! when events were stored without them; they outlive the retention of the events.

use std::collections::{BTreeSet, HashMap};

use rusqlite::types::ToSqlOutput;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use crate::aggregate::Joined;
use crate::aggregate::join::{self, Identity, Measures, Session};
use crate::aggregate::usage::{Figures, Histogram, Rollup, Row};
use crate::event::{Payload, Source};

/// The rollups' definition. Changing what an event adds (or how it is joined) means a
/// new version: the rollups are then rebuilt from the stored events at start.
pub const ROLLUP_VERSION: i64 = 3;

/// Sessions kept in memory by the writer; the sessions table holds them all.
const CACHED_SESSIONS: usize = 20_000;
/// Tool calls started and not finished kept in memory; beyond, a finish finds its start
/// in the store.
const PENDING_CALLS: usize = 50_000;

/// The columns an event's [`Row`] is read back from, in [`row_from`]'s order.
pub const ROW_COLUMNS: &str = "ts_ms, source, name, session_id, tool_name, decision, rule, \
    category, user_key, project_name, model, first_in_session, cost_nano, input_tokens, \
    output_tokens, cache_read_tokens, cache_creation_tokens, duration_ms";

/// Columns the events table gained with the rollups: the join's answer and the measures.
const EVENT_COLUMNS: &[(&str, &str); ROW_VALUES] = &[
    ("category", "TEXT"),
    ("user_key", "TEXT"),
    ("project_name", "TEXT"),
    ("model", "TEXT"),
    ("first_in_session", "INTEGER"),
    ("cost_nano", "INTEGER"),
    ("input_tokens", "INTEGER"),
    ("output_tokens", "INTEGER"),
    ("cache_read_tokens", "INTEGER"),
    ("cache_creation_tokens", "INTEGER"),
    ("duration_ms", "REAL"),
];

/// Creates the rollup tables and adds the events' rollup columns (a store written by an
/// earlier version gets them empty; [`catch_up`] fills them).
pub(super) fn create(conn: &Connection) -> rusqlite::Result<()> {
    let figures: String = Figures::COLUMNS
        .iter()
        .map(|c| format!("{c} INTEGER NOT NULL DEFAULT 0"))
        .collect::<Vec<_>>()
        .join(", ");
    conn.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS usage_hourly (
             hour_ms INTEGER NOT NULL, user TEXT NOT NULL, project TEXT NOT NULL,
             model TEXT NOT NULL, {figures}, api_ms BLOB,
             PRIMARY KEY (hour_ms, user, project, model)) WITHOUT ROWID;
         CREATE TABLE IF NOT EXISTS session_hourly (
             session_id TEXT NOT NULL, hour_ms INTEGER NOT NULL, user TEXT NOT NULL,
             project TEXT NOT NULL, model TEXT NOT NULL, {figures},
             PRIMARY KEY (session_id, hour_ms, user, project, model)) WITHOUT ROWID;
         CREATE INDEX IF NOT EXISTS session_hourly_hour ON session_hourly (hour_ms);
         CREATE TABLE IF NOT EXISTS tools_hourly (
             hour_ms INTEGER NOT NULL, user TEXT NOT NULL, project TEXT NOT NULL,
             model TEXT NOT NULL, tool TEXT NOT NULL,
             calls INTEGER NOT NULL DEFAULT 0, failures INTEGER NOT NULL DEFAULT 0,
             blocked INTEGER NOT NULL DEFAULT 0, blocks INTEGER NOT NULL DEFAULT 0,
             hook_ms BLOB, otlp_ms BLOB,
             PRIMARY KEY (hour_ms, user, project, model, tool)) WITHOUT ROWID;
         CREATE TABLE IF NOT EXISTS blocks_hourly (
             hour_ms INTEGER NOT NULL, user TEXT NOT NULL, project TEXT NOT NULL,
             model TEXT NOT NULL, tool TEXT NOT NULL, rule TEXT NOT NULL,
             category TEXT NOT NULL, blocks INTEGER NOT NULL DEFAULT 0,
             PRIMARY KEY (hour_ms, user, project, model, tool, rule, category)) WITHOUT ROWID;
         CREATE TABLE IF NOT EXISTS sessions (
             session_id TEXT PRIMARY KEY,
             user_key TEXT NOT NULL, user_name TEXT NOT NULL, user_email TEXT NOT NULL,
             user_id TEXT NOT NULL, project_name TEXT NOT NULL, project_path TEXT NOT NULL,
             identity_id INTEGER, model TEXT NOT NULL,
             first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL, first_id INTEGER NOT NULL,
             ended_ms INTEGER, last_event TEXT NOT NULL, last_tool TEXT NOT NULL);
         CREATE INDEX IF NOT EXISTS sessions_last ON sessions (last_ms);
         CREATE INDEX IF NOT EXISTS sessions_first ON sessions (first_ms);
         CREATE TABLE IF NOT EXISTS rollup_state (
             id INTEGER PRIMARY KEY CHECK (id = 1),
             version INTEGER NOT NULL, through_id INTEGER NOT NULL);"
    ))?;
    let existing: BTreeSet<String> = conn
        .prepare("SELECT name FROM pragma_table_info('events')")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for (column, kind) in EVENT_COLUMNS {
        if !existing.contains(*column) {
            conn.execute_batch(&format!("ALTER TABLE events ADD COLUMN {column} {kind}"))?;
        }
    }
    Ok(())
}

/// An event's row, read back from [`ROW_COLUMNS`].
pub fn row_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    let text = |i: usize| -> rusqlite::Result<String> {
        Ok(r.get::<_, Option<String>>(i)?.unwrap_or_default())
    };
    let int = |i: usize| -> rusqlite::Result<i64> { Ok(r.get::<_, Option<i64>>(i)?.unwrap_or(0)) };
    Ok(Row {
        ts_ms: r.get(0)?,
        source: Source::from_column(&text(1)?),
        name: text(2)?,
        session_id: r.get(3)?,
        tool: text(4)?,
        decision: text(5)?,
        rule: text(6)?,
        category: text(7)?,
        user: text(8)?,
        project: text(9)?,
        model: text(10)?,
        first_in_session: int(11)? != 0,
        usage: join::ApiUsage {
            cost_nano: int(12)?,
            input_tokens: int(13)?,
            output_tokens: int(14)?,
            cache_read_tokens: int(15)?,
            cache_creation_tokens: int(16)?,
        },
        duration_ms: r.get(17)?,
    })
}

/// Sessions as the writer knows them: a bounded cache over the sessions table, whose
/// changes are written with the batch that made them.
#[derive(Default)]
pub(super) struct Directory {
    cache: HashMap<String, (Option<Session>, u64)>,
    dirty: BTreeSet<String>,
    tick: u64,
}

impl Directory {
    /// A session's state (`None`: never seen).
    fn get(&mut self, conn: &Connection, id: &str) -> rusqlite::Result<Option<Session>> {
        self.tick += 1;
        if let Some((session, used)) = self.cache.get_mut(id) {
            *used = self.tick;
            return Ok(session.clone());
        }
        let session = load_session(conn, id)?;
        self.cache
            .insert(id.to_owned(), (session.clone(), self.tick));
        Ok(session)
    }

    /// A session's state taken out of the cache to be changed (`None`: never seen);
    /// [`Directory::put`] or [`Directory::put_back`] returns it. Nothing reads the
    /// session in between: the writer joins one event at a time.
    fn take(&mut self, conn: &Connection, id: &str) -> rusqlite::Result<Option<Session>> {
        self.tick += 1;
        if let Some((session, used)) = self.cache.get_mut(id) {
            *used = self.tick;
            return Ok(session.take());
        }
        let session = load_session(conn, id)?;
        self.cache.insert(id.to_owned(), (None, self.tick));
        Ok(session)
    }

    /// A session as an event changed it, to be written with the batch.
    fn put(&mut self, id: &str, session: Session) {
        self.put_back(id, session);
        if !self.dirty.contains(id) {
            self.dirty.insert(id.to_owned());
        }
    }

    /// A session taken and not changed.
    fn put_back(&mut self, id: &str, session: Session) {
        self.tick += 1;
        match self.cache.get_mut(id) {
            Some(entry) => *entry = (Some(session), self.tick),
            None => {
                self.cache.insert(id.to_owned(), (Some(session), self.tick));
            }
        }
    }

    /// Writes the sessions changed since the last flush; forgets the least recently
    /// used beyond the cache's size.
    fn flush(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        for id in std::mem::take(&mut self.dirty) {
            if let Some((Some(session), _)) = self.cache.get(&id) {
                save_session(conn, &id, session)?;
            }
        }
        if self.cache.len() > CACHED_SESSIONS {
            let mut ages: Vec<u64> = self.cache.values().map(|(_, used)| *used).collect();
            ages.sort_unstable();
            let keep_from = ages[ages.len() - CACHED_SESSIONS / 2];
            self.cache.retain(|_, (_, used)| *used >= keep_from);
        }
        Ok(())
    }

    /// Forgets everything: what a failed transaction changed is gone from the table.
    pub(super) fn forget(&mut self) {
        self.cache.clear();
        self.dirty.clear();
    }
}

fn load_session(conn: &Connection, id: &str) -> rusqlite::Result<Option<Session>> {
    conn.prepare_cached(
        "SELECT user_name, user_email, user_id, project_path, project_name, identity_id, \
         model, first_ms, last_ms, first_id, ended_ms, last_event, last_tool \
         FROM sessions WHERE session_id = ?1",
    )?
    .query_row(params![id], |r| {
        Ok(Session {
            identity: Identity {
                user_name: r.get(0)?,
                user_email: r.get(1)?,
                user_id: r.get(2)?,
                project_path: r.get(3)?,
                project_name: r.get(4)?,
            },
            identity_id: r.get(5)?,
            model: r.get(6)?,
            first_ms: r.get(7)?,
            last_ms: r.get(8)?,
            first_id: r.get(9)?,
            ended_ms: r.get(10)?,
            last_event: r.get(11)?,
            last_tool: r.get(12)?,
        })
    })
    .optional()
}

fn save_session(conn: &Connection, id: &str, s: &Session) -> rusqlite::Result<()> {
    conn.prepare_cached(
        // An upsert, not a replace: a replace deletes the row and inserts it again,
        // rewriting every index of the table on each batch.
        "INSERT INTO sessions (session_id, user_key, user_name, user_email, user_id, \
         project_name, project_path, identity_id, model, first_ms, last_ms, first_id, ended_ms, \
         last_event, last_tool) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) \
         ON CONFLICT (session_id) DO UPDATE SET user_key = excluded.user_key, \
         user_name = excluded.user_name, user_email = excluded.user_email, \
         user_id = excluded.user_id, project_name = excluded.project_name, \
         project_path = excluded.project_path, identity_id = excluded.identity_id, \
         model = excluded.model, first_ms = excluded.first_ms, last_ms = excluded.last_ms, \
         first_id = excluded.first_id, ended_ms = excluded.ended_ms, \
         last_event = excluded.last_event, last_tool = excluded.last_tool",
    )?
    .execute(params![
        id,
        s.identity.user_key(),
        s.identity.user_name,
        s.identity.user_email,
        s.identity.user_id,
        s.identity.project_name,
        s.identity.project_path,
        s.identity_id,
        s.model,
        s.first_ms,
        s.last_ms,
        s.first_id,
        s.ended_ms,
        s.last_event,
        s.last_tool
    ])?;
    Ok(())
}

/// An event joined to its session, before it is stored.
pub(super) struct Pending {
    measures: Measures,
    session: Option<Session>,
    resolved: join::Resolved,
    /// Its row.
    pub(super) row: Row,
}

impl Pending {
    /// The identity its columns record (`None`: a metrics export, which has many).
    pub(super) fn identity(&self) -> Option<&Identity> {
        (self.measures.source != Some(Source::OtlpMetrics)).then_some(&self.resolved.identity)
    }
}

/// The session join and the rollups as the writer keeps them.
#[derive(Default)]
pub(super) struct Joiner {
    pub(super) directory: Directory,
    /// What the current batch adds to the rollups.
    pub(super) rollup: Rollup,
    /// When each tool call in progress started (by `tool_use_id`).
    started: HashMap<String, i64>,
}

impl Joiner {
    /// Joins an event (its payload, at `ts_ms`) to its session as it stands.
    pub(super) fn join(
        &mut self,
        conn: &Connection,
        ts_ms: i64,
        payload: &Payload,
    ) -> rusqlite::Result<Pending> {
        self.join_measured(conn, ts_ms, Measures::of(payload))
    }

    /// [`Joiner::join`] with the event's measures already read from its payload (the
    /// writer's callers read them on their own threads, outside its serial order).
    pub(super) fn join_measured(
        &mut self,
        conn: &Connection,
        ts_ms: i64,
        mut measures: Measures,
    ) -> rusqlite::Result<Pending> {
        if measures.duration_ms.is_none() && measures.finishes_tool_call() {
            measures.duration_ms = self
                .started_at(conn, &measures)?
                .map(|start| (ts_ms - start).max(0) as f64);
        }
        let session = match (&measures.session_id, measures.source) {
            (Some(id), Some(Source::Hook | Source::OtlpLog)) => self.directory.take(conn, id)?,
            _ => None,
        };
        let resolved = join::resolve(&measures, session.as_ref());
        let row = Row::new(ts_ms, &measures, &resolved);
        Ok(Pending {
            measures,
            session,
            resolved,
            row,
        })
    }

    /// When the tool call an event finishes started: its PreToolUse, remembered or, after
    /// a restart, found in the store. Tool durations of a hooks-only setup come from here
    /// when Claude Code does not send `duration_ms`.
    fn started_at(
        &mut self,
        conn: &Connection,
        measures: &Measures,
    ) -> rusqlite::Result<Option<i64>> {
        let Some(id) = &measures.tool_use_id else {
            return Ok(None);
        };
        if let Some(start) = self.started.remove(id) {
            return Ok(Some(start));
        }
        let Some(session) = &measures.session_id else {
            return Ok(None);
        };
        conn.prepare_cached(
            "SELECT ts_ms FROM events WHERE session_id = ?1 AND tool_use_id = ?2 \
             AND name = 'PreToolUse' AND source = 'hook' ORDER BY id DESC LIMIT 1",
        )?
        .query_row(params![session, id], |r| r.get(0))
        .optional()
    }

    /// Forgets a joined event that was not stored (a duplicate): its session as it was.
    pub(super) fn not_stored(&mut self, pending: Pending) {
        if let (Some(id), Some(session)) = (&pending.measures.session_id, pending.session) {
            self.directory.put_back(id, session);
        }
    }

    /// Records a joined event that was stored as `row_id`: in its session, in the
    /// batch's rollup; moves its session's earlier events to the identity a first hook
    /// event gives it. Returns what the Prometheus families need of it.
    pub(super) fn stored(
        &mut self,
        conn: &Connection,
        pending: Pending,
        row_id: i64,
        payload: &Payload,
    ) -> rusqlite::Result<Joined> {
        let Pending {
            measures,
            mut session,
            resolved,
            row,
        } = pending;
        if let Payload::OtlpMetrics(record) = payload {
            let mut points = Vec::with_capacity(record.points.len());
            for point in &record.points {
                let identity = match point.session_id() {
                    Some(id) => {
                        let session = self.directory.get(conn, &id)?;
                        session
                            .filter(|s| s.identity_id.is_some())
                            .map(|s| join::identity_for(Some(&s), row_id, &Identity::default()))
                    }
                    None => None,
                };
                points.push(identity);
            }
            return Ok(Joined {
                points,
                ..Joined::default()
            });
        }
        self.rollup.add(&row, 1);
        if measures.starts_tool_call()
            && let Some(id) = &measures.tool_use_id
        {
            if self.started.len() >= PENDING_CALLS {
                // Calls that never finished (interrupted, denied by Claude Code) go first
                // in bulk; a finish still finds its start in the store.
                self.started.clear();
            }
            self.started.insert(id.clone(), row.ts_ms);
        }
        let change = join::record(&mut session, &measures, &resolved, row.ts_ms, row_id);
        if let (Some(id), Some(state)) = (&measures.session_id, session) {
            if change.identity_arrived {
                self.move_to_identity(conn, id, row_id, &state.identity)?;
            }
            self.directory.put(id, state);
        }
        Ok(Joined {
            identity: resolved.identity,
            model: resolved.model,
            first_in_session: resolved.first_in_session,
            points: Vec::new(),
        })
    }

    /// The session's events stored before `row_id` that carried their own identity
    /// (OTLP events that came before any hook event) now carry the session's: their
    /// columns and their figures move.
    fn move_to_identity(
        &mut self,
        conn: &Connection,
        session_id: &str,
        row_id: i64,
        identity: &Identity,
    ) -> rusqlite::Result<()> {
        let moved: Vec<Row> = conn
            .prepare_cached(&format!(
                "SELECT {ROW_COLUMNS} FROM events WHERE session_id = ?1 AND id < ?2 AND source = ?3"
            ))?
            .query_map(
                params![session_id, row_id, Source::OtlpLog.as_str()],
                row_from,
            )?
            .collect::<Result<_, _>>()?;
        let user_key = identity.user_key();
        for old in moved {
            self.rollup.add(&old, -1);
            let new = Row {
                user: user_key.clone(),
                project: identity.project_name.clone(),
                ..old
            };
            self.rollup.add(&new, 1);
        }
        conn.prepare_cached(
            "UPDATE events SET user_name = ?4, user_email = ?5, project = ?6, user_key = ?7, \
             project_name = ?8 WHERE session_id = ?1 AND id < ?2 AND source = ?3",
        )?
        .execute(params![
            session_id,
            row_id,
            Source::OtlpLog.as_str(),
            identity.user_name,
            identity.user_email,
            identity.project_path,
            user_key,
            identity.project_name
        ])?;
        Ok(())
    }

    /// Writes the batch's rollup and sessions, and the row the rollups reach, inside the
    /// batch's transaction.
    pub(super) fn write(&mut self, conn: &Connection, through_id: i64) -> rusqlite::Result<()> {
        write_rollup(conn, &std::mem::take(&mut self.rollup))?;
        self.directory.flush(conn)?;
        conn.prepare_cached(
            "INSERT INTO rollup_state (id, version, through_id) VALUES (1, ?1, ?2) \
             ON CONFLICT (id) DO UPDATE SET through_id = max(through_id, excluded.through_id)",
        )?
        .execute(params![ROLLUP_VERSION, through_id])?;
        Ok(())
    }

    /// Drops what the current batch did: its transaction failed.
    pub(super) fn abandon(&mut self) {
        self.rollup = Rollup::default();
        self.directory.forget();
        self.started.clear();
    }
}

fn update_figures() -> String {
    Figures::COLUMNS
        .iter()
        .map(|c| format!("{c} = {c} + excluded.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn blob(histogram: &Histogram) -> Option<Vec<u8>> {
    (!histogram.is_empty()).then(|| histogram.encode())
}

/// Adds a rollup to the tables (histograms are merged with what is there).
fn write_rollup(conn: &Connection, rollup: &Rollup) -> rusqlite::Result<()> {
    let columns = Figures::COLUMNS.join(", ");
    let marks = |from: usize| {
        (from..from + Figures::COLUMNS.len())
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for (key, bucket) in &rollup.usage {
        let api_ms = if bucket.api_ms.is_empty() {
            None
        } else {
            let mut merged = read_histogram(
                conn,
                "SELECT api_ms FROM usage_hourly WHERE hour_ms = ?1 AND user = ?2 AND project = ?3 AND model = ?4",
                params![key.hour_ms, key.user, key.project, key.model],
            )?;
            merged.merge(&bucket.api_ms, 1);
            blob(&merged)
        };
        let mut values: Vec<rusqlite::types::Value> = vec![
            key.hour_ms.into(),
            key.user.clone().into(),
            key.project.clone().into(),
            key.model.clone().into(),
        ];
        values.extend(bucket.figures.values().map(rusqlite::types::Value::from));
        values.push(api_ms.into());
        conn.prepare_cached(&format!(
            "INSERT INTO usage_hourly (hour_ms, user, project, model, {columns}, api_ms) \
             VALUES (?1, ?2, ?3, ?4, {}, ?18) ON CONFLICT (hour_ms, user, project, model) \
             DO UPDATE SET {}, api_ms = coalesce(excluded.api_ms, api_ms)",
            marks(5),
            update_figures()
        ))?
        .execute(params_from_iter(values))?;
    }
    for ((session, key), figures) in &rollup.sessions {
        let mut values: Vec<rusqlite::types::Value> = vec![
            session.clone().into(),
            key.hour_ms.into(),
            key.user.clone().into(),
            key.project.clone().into(),
            key.model.clone().into(),
        ];
        values.extend(figures.values().map(rusqlite::types::Value::from));
        conn.prepare_cached(&format!(
            "INSERT INTO session_hourly (session_id, hour_ms, user, project, model, {columns}) \
             VALUES (?1, ?2, ?3, ?4, ?5, {}) \
             ON CONFLICT (session_id, hour_ms, user, project, model) DO UPDATE SET {}",
            marks(6),
            update_figures()
        ))?
        .execute(params_from_iter(values))?;
    }
    for (key, bucket) in &rollup.tools {
        let u = &key.usage;
        let pk = params![u.hour_ms, u.user, u.project, u.model, key.tool];
        let merged = |column: &str, delta: &Histogram| -> rusqlite::Result<Option<Vec<u8>>> {
            if delta.is_empty() {
                return Ok(None);
            }
            let mut merged = read_histogram(
                conn,
                &format!(
                    "SELECT {column} FROM tools_hourly WHERE hour_ms = ?1 AND user = ?2 \
                     AND project = ?3 AND model = ?4 AND tool = ?5"
                ),
                pk,
            )?;
            merged.merge(delta, 1);
            Ok(blob(&merged))
        };
        let hook_ms = merged("hook_ms", &bucket.hook_ms)?;
        let otlp_ms = merged("otlp_ms", &bucket.otlp_ms)?;
        conn.prepare_cached(
            "INSERT INTO tools_hourly (hour_ms, user, project, model, tool, calls, failures, \
             blocked, blocks, hook_ms, otlp_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
             ON CONFLICT (hour_ms, user, project, model, tool) DO UPDATE SET \
             calls = calls + excluded.calls, failures = failures + excluded.failures, \
             blocked = blocked + excluded.blocked, blocks = blocks + excluded.blocks, \
             hook_ms = coalesce(excluded.hook_ms, hook_ms), otlp_ms = coalesce(excluded.otlp_ms, otlp_ms)",
        )?
        .execute(params![
            u.hour_ms,
            u.user,
            u.project,
            u.model,
            key.tool,
            bucket.calls,
            bucket.failures,
            bucket.blocked,
            bucket.blocks,
            hook_ms,
            otlp_ms
        ])?;
    }
    for (key, blocks) in &rollup.blocks {
        let u = &key.usage;
        conn.prepare_cached(
            "INSERT INTO blocks_hourly (hour_ms, user, project, model, tool, rule, category, blocks) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
             ON CONFLICT (hour_ms, user, project, model, tool, rule, category) \
             DO UPDATE SET blocks = blocks + excluded.blocks",
        )?
        .execute(params![
            u.hour_ms, u.user, u.project, u.model, key.tool, key.rule, key.category, blocks
        ])?;
    }
    Ok(())
}

fn read_histogram(
    conn: &Connection,
    sql: &str,
    key: impl rusqlite::Params,
) -> rusqlite::Result<Histogram> {
    let stored: Option<Option<Vec<u8>>> = conn
        .prepare_cached(sql)?
        .query_row(key, |r| r.get(0))
        .optional()?;
    Ok(stored
        .flatten()
        .map(|bytes| Histogram::decode(&bytes))
        .unwrap_or_default())
}

/// The rollups' version and the last event they include (`None`: never built).
pub(super) fn state(conn: &Connection) -> rusqlite::Result<Option<(i64, i64)>> {
    conn.query_row(
        "SELECT version, through_id FROM rollup_state WHERE id = 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
}

/// Empties the rollups and the sessions table, to be rebuilt from the events.
pub(super) fn clear(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "DELETE FROM usage_hourly; DELETE FROM session_hourly; DELETE FROM tools_hourly;
         DELETE FROM blocks_hourly; DELETE FROM sessions; DELETE FROM rollup_state;",
    )
}

/// How many rollup columns an event's row has.
pub(super) const ROW_VALUES: usize = 11;

/// The rollup columns of an event's row, in [`EVENT_COLUMNS`]' order, borrowed from it.
pub(super) fn row_values(row: &Row) -> [ToSqlOutput<'_>; ROW_VALUES] {
    use rusqlite::types::ValueRef as V;
    let int = |n: i64| ToSqlOutput::Borrowed(if n == 0 { V::Null } else { V::Integer(n) });
    let u = &row.usage;
    [
        ToSqlOutput::Borrowed(if row.category.is_empty() {
            V::Null
        } else {
            V::from(row.category.as_str())
        }),
        ToSqlOutput::from(row.user.as_str()),
        ToSqlOutput::from(row.project.as_str()),
        ToSqlOutput::from(row.model.as_str()),
        ToSqlOutput::from(i64::from(row.first_in_session)),
        int(u.cost_nano),
        int(u.input_tokens),
        int(u.output_tokens),
        int(u.cache_read_tokens),
        int(u.cache_creation_tokens),
        ToSqlOutput::Borrowed(row.duration_ms.map_or(V::Null, V::Real)),
    ]
}

/// `category = ?n, user_key = ?n+1, …` for an UPDATE of the rollup columns.
pub(super) fn set_row_columns(from: usize) -> String {
    EVENT_COLUMNS
        .iter()
        .enumerate()
        .map(|(i, (column, _))| format!("{column} = ?{}", from + i))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The rollup column names, for an INSERT.
pub(super) fn row_column_names() -> String {
    EVENT_COLUMNS
        .iter()
        .map(|(column, _)| *column)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Events stored per transaction while catching up.
const CATCH_UP_CHUNK: i64 = 5_000;

/// Brings the rollups up to the newest event: rebuilds them from every stored event when
/// their definition changed (or they were never built), then joins and adds each event
/// they do not include yet, in order, a transaction per chunk (an interruption resumes
/// where it stopped). Returns how many events were added.
pub(super) fn catch_up(
    conn: &mut Connection,
    corrupt: impl Fn(i64, String) -> super::StoreError,
) -> Result<u64, super::StoreError> {
    let sql = |e: rusqlite::Error| corrupt(0, e.to_string());
    let through = match state(conn).map_err(sql)? {
        Some((version, through)) if version == ROLLUP_VERSION => through,
        _ => {
            clear(conn).map_err(sql)?;
            0
        }
    };
    let (pending, newest): (i64, i64) = conn
        .query_row(
            "SELECT count(*), coalesce(max(id), 0) FROM events WHERE id > ?1",
            params![through],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(sql)?;
    let mut joiner = Joiner::default();
    if pending == 0 {
        joiner.write(conn, newest).map_err(sql)?;
        return Ok(0);
    }
    let mut progress = crate::progress::Progress::stderr(
        "adding stored events to the usage rollups",
        "events",
        u64::try_from(pending).unwrap_or(0),
    );
    let mut done = 0;
    let mut from = through;
    loop {
        let tx = conn.transaction().map_err(sql)?;
        let chunk: Vec<(i64, String, i64, String)> = tx
            .prepare(
                "SELECT id, source, ts_ms, body FROM events WHERE id > ?1 ORDER BY id LIMIT ?2",
            )
            .and_then(|mut s| {
                s.query_map(params![from, CATCH_UP_CHUNK], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?
                .collect()
            })
            .map_err(sql)?;
        let Some(last) = chunk.last().map(|c| c.0) else {
            break;
        };
        for (id, source, ts_ms, body) in chunk {
            let source = Source::from_column(&source)
                .ok_or_else(|| corrupt(id, format!("unknown source {source:?}")))?;
            let payload = Payload::decode(source, &body).map_err(|e| corrupt(id, e.to_string()))?;
            let pending = joiner.join(&tx, ts_ms, &payload).map_err(sql)?;
            let row = row_values(&pending.row);
            let values = std::iter::once(ToSqlOutput::from(id)).chain(row);
            tx.prepare_cached(&format!(
                "UPDATE events SET {} WHERE id = ?1",
                set_row_columns(2)
            ))
            .and_then(|mut s| s.execute(params_from_iter(values)))
            .map_err(sql)?;
            if !pending.row.decision.is_empty() {
                // A `PermissionDenied` stored before it counted as a decision.
                tx.prepare_cached(
                    "UPDATE events SET decision = coalesce(decision, ?2), \
                     rule = coalesce(rule, ?3) WHERE id = ?1",
                )
                .and_then(|mut s| s.execute(params![id, pending.row.decision, pending.row.rule]))
                .map_err(sql)?;
            }
            if let Some(identity) = pending.identity().cloned() {
                tx.prepare_cached(
                    "UPDATE events SET user_name = ?2, user_email = ?3, project = ?4 WHERE id = ?1",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        id,
                        nonempty(&identity.user_name),
                        nonempty(&identity.user_email),
                        nonempty(&identity.project_path)
                    ])
                })
                .map_err(sql)?;
            }
            joiner.stored(&tx, pending, id, &payload).map_err(sql)?;
            progress.tick();
            done += 1;
        }
        joiner.write(&tx, last).map_err(sql)?;
        tx.commit().map_err(sql)?;
        from = last;
    }
    progress.finish();
    Ok(done)
}

/// `None` for an empty text: the column stays NULL, as it was written before the join.
pub(super) fn nonempty(text: &str) -> Option<&str> {
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::aggregate::Limits;
    use crate::aggregate::usage::{BlockKey, ToolBucket, ToolKey, UsageBucket, UsageKey};
    use crate::store::db::reader_writer;
    use crate::store::{self, reader};
    use crate::testing::{feed, workload};

    const START: i64 = 1_795_000_000_000;

    fn key(r: &rusqlite::Row<'_>) -> rusqlite::Result<UsageKey> {
        Ok(UsageKey {
            hour_ms: r.get(0)?,
            user: r.get(1)?,
            project: r.get(2)?,
            model: r.get(3)?,
        })
    }

    fn figures(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<Figures> {
        let mut v = [0; 13];
        for (i, slot) in v.iter_mut().enumerate() {
            *slot = r.get(first + i)?;
        }
        Ok(Figures::from_values(v))
    }

    fn histogram(bytes: Option<Vec<u8>>) -> Histogram {
        bytes.map(|b| Histogram::decode(&b)).unwrap_or_default()
    }

    /// What the rollup tables hold, without the rows that came to nothing.
    fn tables(dir: &Path) -> Rollup {
        let conn = reader(dir).unwrap();
        let columns = Figures::COLUMNS.join(", ");
        let mut out = Rollup::default();
        let mut s = conn
            .prepare(&format!(
                "SELECT hour_ms, user, project, model, {columns}, api_ms FROM usage_hourly"
            ))
            .unwrap();
        for row in s
            .query_map([], |r| {
                Ok((
                    key(r)?,
                    UsageBucket {
                        figures: figures(r, 4)?,
                        api_ms: histogram(r.get(17)?),
                    },
                ))
            })
            .unwrap()
        {
            let (k, b) = row.unwrap();
            out.usage.insert(k, b);
        }
        let mut s = conn
            .prepare(&format!(
                "SELECT session_id, hour_ms, user, project, model, {columns} FROM session_hourly"
            ))
            .unwrap();
        for row in s
            .query_map([], |r| {
                let k = UsageKey {
                    hour_ms: r.get(1)?,
                    user: r.get(2)?,
                    project: r.get(3)?,
                    model: r.get(4)?,
                };
                Ok(((r.get::<_, String>(0)?, k), figures(r, 5)?))
            })
            .unwrap()
        {
            let (k, f) = row.unwrap();
            out.sessions.insert(k, f);
        }
        let mut s = conn
            .prepare("SELECT hour_ms, user, project, model, tool, calls, failures, blocked, blocks, hook_ms, otlp_ms FROM tools_hourly")
            .unwrap();
        for row in s
            .query_map([], |r| {
                Ok((
                    ToolKey {
                        usage: key(r)?,
                        tool: r.get(4)?,
                    },
                    ToolBucket {
                        calls: r.get(5)?,
                        failures: r.get(6)?,
                        blocked: r.get(7)?,
                        blocks: r.get(8)?,
                        hook_ms: histogram(r.get(9)?),
                        otlp_ms: histogram(r.get(10)?),
                    },
                ))
            })
            .unwrap()
        {
            let (k, b) = row.unwrap();
            out.tools.insert(k, b);
        }
        let mut s = conn
            .prepare("SELECT hour_ms, user, project, model, tool, rule, category, blocks FROM blocks_hourly")
            .unwrap();
        for row in s
            .query_map([], |r| {
                Ok((
                    BlockKey {
                        usage: key(r)?,
                        tool: r.get(4)?,
                        rule: r.get(5)?,
                        category: r.get(6)?,
                    },
                    r.get::<_, i64>(7)?,
                ))
            })
            .unwrap()
        {
            let (k, n) = row.unwrap();
            out.blocks.insert(k, n);
        }
        without_zeros(out)
    }

    /// Every stored event counted again, from its row.
    fn recount(dir: &Path) -> Rollup {
        let conn = reader(dir).unwrap();
        let mut rollup = Rollup::default();
        let mut s = conn
            .prepare(&format!("SELECT {ROW_COLUMNS} FROM events ORDER BY id"))
            .unwrap();
        for row in s.query_map([], row_from).unwrap() {
            rollup.add(&row.unwrap(), 1);
        }
        without_zeros(rollup)
    }

    fn without_zeros(mut r: Rollup) -> Rollup {
        r.usage
            .retain(|_, b| !b.figures.is_zero() || !b.api_ms.is_empty());
        r.sessions.retain(|_, f| !f.is_zero());
        r.tools.retain(|_, b| *b != ToolBucket::default());
        r.blocks.retain(|_, n| *n != 0);
        r
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_rollups_equal_a_full_recount_through_restarts_rebuilds_and_pruning() {
        let dir = tempfile::tempdir().unwrap();
        let events = workload::sessions(START, 40, 1);
        let (first, second) = events.split_at(events.len() / 2);
        feed(dir.path(), first.to_vec()).await;
        // A restart, then the rest (sessions go on across it).
        feed(dir.path(), second.to_vec()).await;
        let kept = tables(dir.path());
        assert!(
            kept.usage.len() > 10 && !kept.blocks.is_empty(),
            "a real workload"
        );
        assert_eq!(
            kept,
            recount(dir.path()),
            "kept as events arrived = counted again"
        );

        // A new definition: rebuilt from the events at start, to the same sums.
        reader_writer(dir.path())
            .unwrap()
            .execute("UPDATE rollup_state SET version = 0", [])
            .unwrap();
        feed(dir.path(), Vec::new()).await;
        assert_eq!(tables(dir.path()), kept, "rebuilt from the events");

        // Retention removes events, not what they added up to. (Events go by arrival,
        // which the concurrent feed leaves to chance, up to the first one kept: a cutoff
        // past the newest removes them all, whatever their order.)
        let newest: i64 = reader(dir.path())
            .unwrap()
            .query_row("SELECT max(ts_ms) FROM events", [], |r| r.get(0))
            .unwrap();
        let cutoff = newest + 1;
        assert!(store::prune(dir.path(), cutoff, Limits::default()).unwrap() > 0);
        assert_eq!(tables(dir.path()), kept, "pruning keeps the rollups");
        let before: i64 = reader(dir.path())
            .unwrap()
            .query_row("SELECT coalesce(max(id), 0) FROM events", [], |r| r.get(0))
            .unwrap();
        feed(dir.path(), workload::sessions(START + 10 * 3_600_000, 5, 2)).await;
        let after = tables(dir.path());
        let mut expected = kept.clone();
        let conn = reader(dir.path()).unwrap();
        let mut s = conn
            .prepare(&format!(
                "SELECT {ROW_COLUMNS} FROM events WHERE id > ?1 ORDER BY id"
            ))
            .unwrap();
        for row in s.query_map([before], row_from).unwrap() {
            expected.add(&row.unwrap(), 1);
        }
        assert_eq!(after, without_zeros(expected), "and go on from there");
    }

    /// The sessions table, whole, in order.
    fn sessions_table(dir: &Path) -> Vec<Vec<rusqlite::types::Value>> {
        let conn = reader(dir).unwrap();
        let mut s = conn
            .prepare("SELECT * FROM sessions ORDER BY session_id")
            .unwrap();
        let width = s.column_count();
        s.query_map([], |r| (0..width).map(|i| r.get(i)).collect())
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn sessions_kept_batch_by_batch_equal_sessions_rebuilt_from_the_events() {
        let dir = tempfile::tempdir().unwrap();
        // Many sessions over several hours, fed concurrently: each session's row is
        // written again by many batches.
        let events = workload::sessions(START, 40, 4);
        let (first, second) = events.split_at(events.len() / 3);
        feed(dir.path(), first.to_vec()).await;
        feed(dir.path(), second.to_vec()).await;
        let kept = sessions_table(dir.path());
        assert!(
            kept.len() >= 40,
            "every session has its row: {}",
            kept.len()
        );
        reader_writer(dir.path())
            .unwrap()
            .execute("UPDATE rollup_state SET version = 0", [])
            .unwrap();
        feed(dir.path(), Vec::new()).await;
        assert_eq!(
            sessions_table(dir.path()),
            kept,
            "rebuilt from the events in one pass = kept as the batches came"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_session_is_one_users_however_its_events_name_it() {
        let dir = tempfile::tempdir().unwrap();
        feed(dir.path(), workload::sessions(START, 40, 3)).await;
        let conn = reader(dir.path()).unwrap();
        // Counted directly from the events, with nothing of the rollups: each session's
        // user is the one its hook events name, whatever its OTLP events carry.
        let mut user_of = std::collections::HashMap::new();
        let mut s = conn
            .prepare("SELECT DISTINCT session_id, user_name FROM events WHERE source = 'hook'")
            .unwrap();
        for row in s
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .unwrap()
        {
            let (session, user) = row.unwrap();
            assert!(
                user_of.insert(session, user).is_none(),
                "one user per session"
            );
        }
        let mut expected: BTreeMapCost = Default::default();
        let mut s = conn
            .prepare("SELECT session_id, body FROM events WHERE name = 'claude_code.api_request'")
            .unwrap();
        for row in s
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .unwrap()
        {
            let (session, body) = row.unwrap();
            let body: serde_json::Value = serde_json::from_str(&body).unwrap();
            let entry = expected.entry(user_of[&session].clone()).or_default();
            entry.0 += body["attributes"]["cost_usd"].as_f64().unwrap();
            entry.1 += 1;
        }
        let mut sessions_of: BTreeMapCount = Default::default();
        for user in user_of.values() {
            *sessions_of.entry(user.clone()).or_default() += 1;
        }
        let all = crate::query::Window {
            since_ms: 0,
            until_ms: i64::MAX,
        };
        let rows = crate::query::usage(
            dir.path(),
            all,
            crate::query::GroupBy::User,
            &Default::default(),
        )
        .unwrap();
        let (total, rows) = rows.split_last().unwrap();
        assert_eq!(rows.len(), expected.len(), "{rows:?}");
        for row in rows {
            let (cost, requests) = expected[&row.key];
            assert!(
                (row.cost_usd - cost).abs() < 1e-6,
                "{}: {} vs {cost}",
                row.key,
                row.cost_usd
            );
            assert_eq!(row.requests, requests);
            assert_eq!(row.sessions, sessions_of[&row.key], "{}", row.key);
        }
        assert_eq!(
            total.sessions,
            user_of.len() as u64,
            "no session counted twice"
        );
    }

    type BTreeMapCost = std::collections::BTreeMap<String, (f64, u64)>;
    type BTreeMapCount = std::collections::BTreeMap<String, u64>;
}
