//! Counters from the store: rebuilt at start (the baseline, then every stored event in
//! order) and kept across retention (events past it are folded into the baseline, then
//! removed).
//!
//! Nothing here is lost quietly: a baseline or an event that cannot be read, or a
//! baseline that cannot be written, is an error that names it, and nothing is removed.

use std::path::Path;

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::db::{StoreError, database_path, reader, reader_writer, sqlite};
use crate::aggregate::join::{Identity, Measures};
use crate::aggregate::{Aggregator, Baseline, Joined, Limits};
use crate::event::{Payload, Source};
use crate::progress::Progress;
use crate::time::now_ms;

/// Rebuilds `aggregator` from the store: the baseline, then every stored event in
/// insertion order. Returns how many events were replayed. A baseline or an event that
/// cannot be read stops here: counters built without it would silently be wrong.
pub fn restore(data_dir: &Path, aggregator: &mut Aggregator) -> Result<u64, StoreError> {
    let path = database_path(data_dir);
    let conn = reader(data_dir)?;
    if let Some(state) = baseline(&conn, &path)? {
        aggregator.restore(read_baseline(&state, &path)?);
    }
    let total: i64 = conn
        .query_row("SELECT count(*) FROM events", [], |row| row.get(0))
        .map_err(sqlite(&path))?;
    let mut progress = Progress::stderr(
        "replaying the event store",
        "events",
        u64::try_from(total).unwrap_or(0),
    );
    let count = each_event(&conn, &path, None, |ts_ms, payload, joined| {
        aggregator.apply(ts_ms, &payload, &joined);
        progress.tick();
    })?;
    progress.finish();
    Ok(count)
}

/// How far ahead of the collector's clock an event may be dated and still hold back the
/// pruning of what came after it.
const FUTURE_MS: i64 = 24 * 60 * 60 * 1000;

/// Removes the events older than `cutoff_ms`, folding what they added up to — and the
/// state behind it — into the baseline first, in one transaction: counters rebuilt from
/// baseline and remaining events stay exactly what they were. Returns how many events
/// were removed; on any error, none is.
///
/// Counters depend on the order events arrived in (a cumulative point counts what it
/// adds to the one before it), so only the oldest events *by arrival* are folded, up to
/// the first one still within the retention: an old event that arrived after a recent
/// one (a spooled hook event, a late OTLP export) waits until that one expires too.
/// Events dated more than a day ahead of the clock do not hold the others back.
pub fn prune(data_dir: &Path, cutoff_ms: i64, limits: Limits) -> Result<usize, StoreError> {
    let path = database_path(data_dir);
    let err = sqlite(&path);
    let mut conn = reader_writer(data_dir)?;
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(&err)?;
    let horizon = now_ms().saturating_add(FUTURE_MS).max(cutoff_ms);
    let (first_kept, last): (Option<i64>, Option<i64>) = tx
        .query_row(
            "SELECT (SELECT min(id) FROM events WHERE ts_ms >= ?1 AND ts_ms <= ?2), \
                    (SELECT max(id) FROM events)",
            params![cutoff_ms, horizon],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .map_err(&err)?;
    let Some(through) = first_kept.map(|kept| kept - 1).or(last) else {
        return Ok(0);
    };
    let old: i64 = tx
        .query_row(
            "SELECT count(*) FROM events WHERE id <= ?1",
            params![through],
            |row| row.get(0),
        )
        .map_err(&err)?;
    if old == 0 {
        return Ok(0);
    }
    let mut aggregator = Aggregator::new(limits);
    if let Some(state) = baseline(&tx, &path)? {
        aggregator.restore(read_baseline(&state, &path)?);
    }
    let mut progress = Progress::stderr(
        "folding expired events into the baseline",
        "events",
        u64::try_from(old).unwrap_or(0),
    );
    each_event(&tx, &path, Some(through), |ts_ms, payload, joined| {
        aggregator.apply(ts_ms, &payload, &joined);
        progress.tick();
    })?;
    progress.finish();
    // Sessions whose events are gone have ended by the cutoff (the live collector's
    // sweep ended them long ago).
    aggregator.sweep(cutoff_ms);
    let state =
        serde_json::to_string(&aggregator.snapshot()).map_err(|err| StoreError::Corrupt {
            path: path.clone(),
            what: "the counters' new baseline".to_owned(),
            message: err.to_string(),
        })?;
    tx.execute(
        "INSERT INTO baseline (id, through_id, state) VALUES (1, ?1, ?2) \
         ON CONFLICT (id) DO UPDATE SET through_id = excluded.through_id, state = excluded.state",
        params![through, state],
    )
    .map_err(&err)?;
    let pruned = tx
        .execute("DELETE FROM events WHERE id <= ?1", params![through])
        .map_err(&err)?;
    tx.commit().map_err(&err)?;
    Ok(pruned)
}

/// The baseline's state: what the events pruned so far added up to.
fn baseline(conn: &Connection, path: &Path) -> Result<Option<String>, StoreError> {
    match conn.query_row("SELECT state FROM baseline WHERE id = 1", [], |row| {
        row.get(0)
    }) {
        Ok(state) => Ok(Some(state)),
        Err(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
        Err(source) => Err(sqlite(path)(source)),
    }
}

fn read_baseline(state: &str, path: &Path) -> Result<Baseline, StoreError> {
    Baseline::from_json(state).map_err(|err| StoreError::Corrupt {
        path: path.to_owned(),
        what: "the counters' baseline (what pruned events added up to)".to_owned(),
        message: format!(
            "{err}; the collector will not start with counters that leave it out \
             (restore the database from a backup)"
        ),
    })
}

/// Calls `each` for every stored event (up to row `through_id`, when given) in insertion
/// order, with what the session join said of it when it was stored; an event that
/// cannot be read is an error naming its row.
fn each_event(
    conn: &Connection,
    path: &Path,
    through_id: Option<i64>,
    mut each: impl FnMut(i64, Payload, Joined),
) -> Result<u64, StoreError> {
    let err = sqlite(path);
    let mut statement = conn
        .prepare(
            "SELECT id, source, ts_ms, body, user_name, user_email, project, project_name, \
             user_key, first_in_session, model FROM events WHERE ?1 IS NULL OR id <= ?1 ORDER BY id",
        )
        .map_err(&err)?;
    let mut rows = statement.query(params![through_id]).map_err(&err)?;
    let mut sessions = SessionIdentities::new(conn);
    let mut count = 0;
    while let Some(row) = rows.next().map_err(&err)? {
        let id: i64 = row.get(0).map_err(&err)?;
        let source: String = row.get(1).map_err(&err)?;
        let ts_ms: i64 = row.get(2).map_err(&err)?;
        let body: String = row.get(3).map_err(&err)?;
        let corrupt = |message: String| StoreError::Corrupt {
            path: path.to_owned(),
            what: format!("event {id}"),
            message,
        };
        let source = Source::from_column(&source)
            .ok_or_else(|| corrupt(format!("unknown source {source:?}")))?;
        let payload = Payload::decode(source, &body).map_err(|e| corrupt(e.to_string()))?;
        let text = |i: usize| -> Result<String, StoreError> {
            Ok(row
                .get::<_, Option<String>>(i)
                .map_err(&err)?
                .unwrap_or_default())
        };
        let joined_identity = row.get::<_, Option<String>>(8).map_err(&err)?.is_some();
        let first_in_session = row.get::<_, Option<i64>>(9).map_err(&err)? == Some(1);
        let model = text(10)?;
        let joined = match &payload {
            Payload::OtlpMetrics(record) => {
                let mut points = Vec::with_capacity(record.points.len());
                for point in &record.points {
                    points.push(match point.session_id() {
                        Some(session) => sessions.at(&session, id).map_err(&err)?,
                        None => None,
                    });
                }
                Joined {
                    points,
                    ..Joined::default()
                }
            }
            // Joined as it was stored (an OTLP event moves to its session's identity).
            Payload::OtlpLog(_) if joined_identity => Joined {
                identity: Identity {
                    user_name: text(4)?,
                    user_email: text(5)?,
                    user_id: String::new(),
                    project_path: text(6)?,
                    project_name: text(7)?,
                },
                model,
                first_in_session,
                points: Vec::new(),
            },
            // A hook event speaks for itself.
            _ => Joined {
                identity: Measures::of(&payload).identity,
                model,
                first_in_session,
                points: Vec::new(),
            },
        };
        each(ts_ms, payload, joined);
        count += 1;
    }
    Ok(count)
}

/// The identity a session's hook events gave it, as of a stored row: what a metrics
/// point of that session was labelled with when it arrived.
struct SessionIdentities<'c> {
    conn: &'c Connection,
    known: HashMap<String, Option<(i64, Identity)>>,
}

impl<'c> SessionIdentities<'c> {
    fn new(conn: &'c Connection) -> Self {
        SessionIdentities {
            conn,
            known: HashMap::new(),
        }
    }

    fn at(&mut self, session: &str, row_id: i64) -> rusqlite::Result<Option<Identity>> {
        if self.known.len() > 100_000 {
            self.known.clear();
        }
        if !self.known.contains_key(session) {
            let found = self
                .conn
                .prepare_cached(
                    "SELECT identity_id, user_name, user_email, project_path, project_name \
                     FROM sessions WHERE session_id = ?1 AND identity_id IS NOT NULL",
                )?
                .query_row(params![session], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        Identity {
                            user_name: r.get(1)?,
                            user_email: r.get(2)?,
                            user_id: String::new(),
                            project_path: r.get(3)?,
                            project_name: r.get(4)?,
                        },
                    ))
                })
                .optional()?;
            self.known.insert(session.to_owned(), found);
        }
        Ok(match self.known.get(session) {
            Some(Some((identity_id, identity))) if *identity_id < row_id => Some(identity.clone()),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::SharedAggregator;
    use crate::store::{open, reader};

    /// A store in `dir` with `rows` (ts_ms, body) of hook events, written as the writer
    /// would (the writer is stopped again).
    fn store_with(dir: &Path, rows: &[(i64, &str)]) {
        let aggregator = SharedAggregator::new(Aggregator::new(Limits::default()));
        let (store, writer) = open(dir, aggregator).unwrap();
        drop(store);
        writer.join();
        let conn = reader_writer(dir).unwrap();
        for (n, (ts_ms, body)) in rows.iter().enumerate() {
            conn.execute(
                "INSERT INTO events (event_id, source, ts_ms, name, body) VALUES (?1, 'hook', ?2, 'Stop', ?3)",
                params![format!("e{n}"), ts_ms, body],
            )
            .unwrap();
        }
    }

    const GOOD: &str = r#"{"hook_event_name":"UserPromptSubmit","claude_telemetry":{"event_id":"e","received_at":"2026-11-24T05:00:00.000Z","host":"h","user_name":"jane","hook_latency_us":1,"hook_version":"t"}}"#;

    fn rows(dir: &Path) -> i64 {
        reader(dir)
            .unwrap()
            .query_row("SELECT count(*) FROM events", [], |row| row.get(0))
            .unwrap()
    }

    #[test]
    fn a_baseline_that_cannot_be_read_is_an_error_not_zeroed_counters() {
        let dir = tempfile::tempdir().unwrap();
        store_with(dir.path(), &[(1, GOOD)]);
        reader_writer(dir.path())
            .unwrap()
            .execute(
                "INSERT INTO baseline (id, through_id, state) VALUES (1, 0, '[{\"name\":')",
                [],
            )
            .unwrap();
        let err = restore(dir.path(), &mut Aggregator::new(Limits::default())).unwrap_err();
        assert!(err.to_string().contains("baseline"), "{err}");
    }

    #[test]
    fn an_event_that_cannot_be_read_is_an_error_on_replay() {
        let dir = tempfile::tempdir().unwrap();
        store_with(dir.path(), &[(1, GOOD), (2, "{\"hook_event_name\":")]);
        let err = restore(dir.path(), &mut Aggregator::new(Limits::default())).unwrap_err();
        assert!(err.to_string().contains("event 2"), "{err}");
    }

    #[test]
    fn pruning_folds_everything_it_removes_or_removes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        store_with(dir.path(), &[(1, GOOD), (2, "not json"), (3, GOOD)]);
        let err = prune(dir.path(), 10, Limits::default()).unwrap_err();
        assert!(err.to_string().contains("event 2"), "{err}");
        assert_eq!(rows(dir.path()), 3, "nothing removed");

        let dir = tempfile::tempdir().unwrap();
        store_with(dir.path(), &[(1, GOOD), (2, GOOD), (30, GOOD)]);
        assert_eq!(prune(dir.path(), 10, Limits::default()).unwrap(), 2);
        assert_eq!(rows(dir.path()), 1);
        let mut aggregator = Aggregator::new(Limits::default());
        assert_eq!(restore(dir.path(), &mut aggregator).unwrap(), 1);
        let prompts = aggregator.family("claude_code_prompts_total").unwrap();
        assert_eq!(
            prompts.series().values().next(),
            Some(&crate::exposition::Value::Scalar(3.0)),
            "the baseline holds what was removed"
        );
    }

    /// Everything the aggregator shows, as `/metrics` would.
    fn shown(aggregator: &mut Aggregator, now: i64) -> String {
        aggregator.sweep(now);
        crate::exposition::render(aggregator.families(), crate::exposition::Format::Text)
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn counters_are_the_same_after_a_restart_in_every_retention_edge() {
        use crate::consumer::Consumer;
        use crate::event::{Point, PointValue, Temporality};
        use crate::exposition::Kind;
        use crate::processors::{events, privacy::PrivacyFilter};

        let now = now_ms();
        let day = 86_400_000;
        let ns = |ms: i64| u64::try_from(ms).unwrap() * 1_000_000;
        let point = |temporality, stream: &str, start: i64, at: i64, value: f64| Point {
            name: "c_total".to_owned(),
            help: String::new(),
            kind: Kind::Counter,
            temporality,
            labels: vec![("model".to_owned(), stream.to_owned())],
            stream: stream.to_owned(),
            start_ns: ns(start),
            time_ns: ns(at),
            value: PointValue::Number(value),
        };
        let cumulative =
            |stream, start, at, value| point(Temporality::Cumulative, stream, start, at, value);
        let delta = |stream, start, at, value| point(Temporality::Delta, stream, start, at, value);
        let hook = |name: &str, at: i64, id: &str| {
            let received = std::time::UNIX_EPOCH
                + std::time::Duration::from_millis(u64::try_from(at).unwrap());
            let value = serde_json::json!({
                "hook_event_name": name, "session_id": "s", "tool_name": "Bash", "tool_use_id": "t1",
                "claude_telemetry": {"event_id": id, "received_at": humantime::format_rfc3339_millis(received).to_string(),
                    "host": "h", "user_name": "jane", "hook_latency_us": 1, "hook_version": "t"}
            });
            let event = hook_protocol::HookEvent::from_value(value).unwrap();
            let enrichment = event.enrichment().unwrap().unwrap();
            events::hook(
                event,
                enrichment,
                &PrivacyFilter::new(hook_protocol::privacy::Level::Metadata),
                None,
            )
            .unwrap()
        };
        let exports = |points: Vec<Point>| events::metrics(points).unwrap().unwrap();
        let cutoff = now - 30 * day;
        let (before, after) = (cutoff - 10 * 60_000, cutoff + 10 * 60_000);
        let old = now - 40 * day;
        // In the order they arrive.
        let arriving = vec![
            // Streams, a session and a tool call that span the cutoff: what came before
            // it is folded, what came after continues from it.
            exports(vec![cumulative("spans", before - day, before, 3.0)]),
            exports(vec![delta("retried", before - 60_000, before, 2.0)]),
            hook("PreToolUse", before, "pre"),
            exports(vec![cumulative("spans", before - day, after, 10.0)]),
            exports(vec![
                delta("retried", before - 60_000, before, 2.0),
                delta("retried", after - 60_000, after, 1.0),
            ]),
            hook("PostToolUse", after, "post"),
            // A current point, a 40-day-old one of the same stream, a current one.
            exports(vec![cumulative("late", old - 10 * day, now - 120_000, 5.0)]),
            exports(vec![cumulative("late", old - 10 * day, old, 1.0)]),
            exports(vec![cumulative("late", old - 10 * day, now, 7.0)]),
        ];
        let dir = tempfile::tempdir().unwrap();
        let live = crate::aggregate::SharedAggregator::new(Aggregator::new(Limits::default()));
        let (store, writer) = open(dir.path(), live.clone()).unwrap();
        for event in arriving {
            assert_eq!(store.consume(vec![event]).await.unwrap(), [true]);
        }
        drop(store);
        writer.join();
        let expected = shown(&mut live.lock(), now);
        assert!(
            expected.contains("c_total{model=\"late\"} 7\n"),
            "{expected}"
        );
        assert!(
            expected.contains("c_total{model=\"spans\"} 10\n"),
            "{expected}"
        );
        assert!(
            expected.contains("c_total{model=\"retried\"} 3\n"),
            "{expected}"
        );
        assert!(
            expected.contains("claude_code_tool_duration_seconds_count"),
            "{expected}"
        );

        let restarted = || {
            let mut aggregator = Aggregator::new(Limits::default());
            restore(dir.path(), &mut aggregator).unwrap();
            shown(&mut aggregator, now)
        };
        assert_eq!(restarted(), expected, "a restart keeping every event");
        assert_eq!(
            prune(dir.path(), cutoff, Limits::default()).unwrap(),
            3,
            "the events that arrived before the first recent one"
        );
        assert_eq!(
            restarted(),
            expected,
            "a restart after pruning past the retention"
        );
        assert_eq!(prune(dir.path(), cutoff, Limits::default()).unwrap(), 0);
        assert_eq!(prune(dir.path(), now + 1, Limits::default()).unwrap(), 6);
        assert_eq!(rows(dir.path()), 0);
        assert_eq!(restarted(), expected, "a restart after pruning everything");
    }
}
