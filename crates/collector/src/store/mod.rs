//! The event store: SQLite (bundled), WAL, one writer thread with group commit.
//!
//! An event is acknowledged only after the transaction holding it has committed with
//! `synchronous = FULL`, so an acknowledged event survives a crash of the process or the
//! machine. Requests queue their events for the writer, which commits everything queued
//! in one transaction: one fsync serves many requests. Duplicate event ids are ignored
//! by the database (`INSERT OR IGNORE` on a unique id), which makes re-delivery safe.
//!
//! After each commit the writer hands the newly inserted events to a callback (the
//! aggregator) before acknowledging, so a scrape that follows an acknowledgement sees
//! the event counted.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;

use rusqlite::{Connection, OpenFlags, params};
use tokio::sync::oneshot;

/// Most events committed in one transaction.
const MAX_BATCH: usize = 4096;

/// One event ready to store: the indexed columns and the JSON body.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// Unique id; a second event with the same id is a duplicate.
    pub event_id: String,
    /// `hook`, `otlp`, ….
    pub source: &'static str,
    /// When it happened, Unix milliseconds.
    pub ts_ms: i64,
    /// `hook_event_name`, or the OTLP event name.
    pub name: String,
    /// Session it belongs to.
    pub session_id: Option<String>,
    /// Prompt it belongs to.
    pub prompt_id: Option<String>,
    /// Tool call it belongs to.
    pub tool_use_id: Option<String>,
    /// Tool name.
    pub tool_name: Option<String>,
    /// Who.
    pub user_name: Option<String>,
    /// Who (email).
    pub user_email: Option<String>,
    /// Which project.
    pub project: Option<String>,
    /// Guard decision, if judged.
    pub decision: Option<String>,
    /// Guard rule, if judged.
    pub rule: Option<String>,
    /// The event as stored (privacy mode applied), JSON.
    pub body: String,
    /// The same, parsed, for the aggregator (not stored twice, not parsed twice).
    pub parsed: std::sync::Arc<serde_json::Value>,
}

/// The store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite said no.
    #[error("event store {path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: rusqlite::Error,
    },
    /// The data directory cannot be used.
    #[error("event store directory {path}: {source}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A commit failed; nothing of the batch was stored.
    #[error("{0}")]
    Write(String),
    /// The writer is gone (shutting down, or it failed).
    #[error("the event store is closed")]
    Closed,
}

/// What the writer does with newly stored events before acknowledging them.
pub type OnCommit = Box<dyn FnMut(&[NewEvent]) + Send>;

struct Job {
    events: Vec<NewEvent>,
    reply: oneshot::Sender<Result<Vec<bool>, String>>,
}

/// A handle for appending events; cheap to clone.
#[derive(Clone)]
pub struct Store {
    jobs: mpsc::Sender<Job>,
    path: PathBuf,
}

/// The writer thread, to wait for on shutdown.
pub struct Writer {
    thread: thread::JoinHandle<()>,
}

impl Writer {
    /// Waits until every queued event is committed and the writer has stopped. The
    /// writer stops once every [`Store`] handle is dropped.
    pub fn join(self) {
        let _ = self.thread.join();
    }
}

fn sqlite(path: &Path) -> impl FnOnce(rusqlite::Error) -> StoreError + '_ {
    move |source| StoreError::Sqlite {
        path: path.to_owned(),
        source,
    }
}

/// The database file in a data directory.
pub fn database_path(data_dir: &Path) -> PathBuf {
    data_dir.join("events.sqlite3")
}

/// Opens (creating if needed) the store in `data_dir` and starts its writer.
pub fn open(data_dir: &Path, mut on_commit: OnCommit) -> Result<(Store, Writer), StoreError> {
    std::fs::create_dir_all(data_dir).map_err(|source| StoreError::Dir {
        path: data_dir.to_owned(),
        source,
    })?;
    let path = database_path(data_dir);
    let mut conn = Connection::open(&path).map_err(sqlite(&path))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA busy_timeout = 5000;
         CREATE TABLE IF NOT EXISTS events (
             id INTEGER PRIMARY KEY,
             event_id TEXT NOT NULL UNIQUE,
             source TEXT NOT NULL,
             ts_ms INTEGER NOT NULL,
             name TEXT NOT NULL,
             session_id TEXT,
             prompt_id TEXT,
             tool_use_id TEXT,
             tool_name TEXT,
             user_name TEXT,
             user_email TEXT,
             project TEXT,
             decision TEXT,
             rule TEXT,
             body TEXT NOT NULL
         );
         CREATE INDEX IF NOT EXISTS events_session ON events (session_id, ts_ms);
         CREATE INDEX IF NOT EXISTS events_time ON events (ts_ms);
         CREATE INDEX IF NOT EXISTS events_decision ON events (decision, ts_ms) WHERE decision IS NOT NULL;
         CREATE TABLE IF NOT EXISTS baseline (
             id INTEGER PRIMARY KEY CHECK (id = 1),
             through_id INTEGER NOT NULL,
             state TEXT NOT NULL
         );
         CREATE TABLE IF NOT EXISTS pushed_groups (
             grouping_key TEXT PRIMARY KEY,
             body TEXT NOT NULL
         );
         PRAGMA user_version = 1;",
    )
    .map_err(sqlite(&path))?;
    let (jobs, queue) = mpsc::channel::<Job>();
    let writer_path = path.clone();
    let thread = thread::Builder::new()
        .name("store-writer".to_owned())
        .spawn(move || {
            // Everything queued while the last commit ran goes into the next one; no
            // waiting for more (measured: a linger only lengthens each round trip).
            while let Ok(first) = queue.recv() {
                let mut batch = vec![first];
                let mut queued = batch[0].events.len();
                while queued < MAX_BATCH {
                    match queue.try_recv() {
                        Ok(job) => {
                            queued += job.events.len();
                            batch.push(job);
                        }
                        Err(_) => break,
                    }
                }
                match commit(&mut conn, &batch) {
                    Ok(flags) => {
                        let inserted: Vec<NewEvent> = batch
                            .iter()
                            .zip(&flags)
                            .flat_map(|(job, flags)| {
                                job.events
                                    .iter()
                                    .zip(flags)
                                    .filter(|(_, new)| **new)
                                    .map(|(e, _)| e.clone())
                            })
                            .collect();
                        if !inserted.is_empty() {
                            on_commit(&inserted);
                        }
                        for (job, flags) in batch.into_iter().zip(flags) {
                            let _ = job.reply.send(Ok(flags));
                        }
                    }
                    Err(err) => {
                        let message = format!("event store {}: {err}", writer_path.display());
                        for job in batch {
                            let _ = job.reply.send(Err(message.clone()));
                        }
                    }
                }
            }
        })
        .map_err(|source| StoreError::Dir {
            path: data_dir.to_owned(),
            source,
        })?;
    Ok((Store { jobs, path }, Writer { thread }))
}

fn commit(conn: &mut Connection, batch: &[Job]) -> rusqlite::Result<Vec<Vec<bool>>> {
    let tx = conn.transaction()?;
    let mut flags = Vec::with_capacity(batch.len());
    {
        let mut insert = tx.prepare_cached(
            "INSERT OR IGNORE INTO events (event_id, source, ts_ms, name, session_id, prompt_id, tool_use_id, \
             tool_name, user_name, user_email, project, decision, rule, body) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )?;
        for job in batch {
            let mut job_flags = Vec::with_capacity(job.events.len());
            for e in &job.events {
                let changed = insert.execute(params![
                    e.event_id,
                    e.source,
                    e.ts_ms,
                    e.name,
                    e.session_id,
                    e.prompt_id,
                    e.tool_use_id,
                    e.tool_name,
                    e.user_name,
                    e.user_email,
                    e.project,
                    e.decision,
                    e.rule,
                    e.body
                ])?;
                job_flags.push(changed == 1);
            }
            flags.push(job_flags);
        }
    }
    tx.commit()?;
    Ok(flags)
}

impl Store {
    /// Stores events durably; returns, per event, whether it was new (false: duplicate).
    pub async fn append(&self, events: Vec<NewEvent>) -> Result<Vec<bool>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { events, reply })
            .map_err(|_| StoreError::Closed)?;
        match answer.await {
            Ok(Ok(flags)) => Ok(flags),
            Ok(Err(message)) => Err(StoreError::Write(message)),
            Err(_) => Err(StoreError::Closed),
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A stored event as read back.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    /// `hook`, `otlp`, ….
    pub source: String,
    /// Unix milliseconds.
    pub ts_ms: i64,
    /// The stored JSON body.
    pub body: String,
}

/// A read-only connection (WAL lets it read while the writer writes).
pub fn reader(data_dir: &Path) -> Result<Connection, StoreError> {
    let path = database_path(data_dir);
    let conn = Connection::open_with_flags(
        &path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite(&path))?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(sqlite(&path))?;
    Ok(conn)
}

/// A read-write connection beside the writer thread, for small state such as pushed
/// groups (WAL serialises writers; the busy timeout waits for the event writer).
pub fn reader_writer(data_dir: &Path) -> Result<Connection, StoreError> {
    let path = database_path(data_dir);
    let conn = Connection::open(&path).map_err(sqlite(&path))?;
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;")
        .map_err(sqlite(&path))?;
    Ok(conn)
}

/// The baseline: what the events pruned so far added up to, and the newest pruned id.
pub fn baseline(data_dir: &Path) -> Result<Option<(i64, String)>, StoreError> {
    let path = database_path(data_dir);
    let conn = reader(data_dir)?;
    match conn.query_row(
        "SELECT through_id, state FROM baseline WHERE id = 1",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    ) {
        Ok(found) => Ok(Some(found)),
        Err(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
        Err(source) => Err(StoreError::Sqlite { path, source }),
    }
}

/// Removes events older than `cutoff_ms`, folding them into the baseline first, in one
/// transaction: counters rebuilt from baseline and remaining events stay what they were.
/// The baseline's `through_id` records the newest id folded in so far.
/// `fold` gets the previous baseline and the events being pruned, oldest first, and
/// returns the new baseline. Returns how many events were pruned.
pub fn prune(
    data_dir: &Path,
    cutoff_ms: i64,
    fold: impl FnOnce(Option<&str>, u64, &mut dyn Iterator<Item = StoredEvent>) -> String,
) -> Result<usize, StoreError> {
    let path = database_path(data_dir);
    let err = |source| StoreError::Sqlite {
        path: path.clone(),
        source,
    };
    let mut conn = reader_writer(data_dir)?;
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(err)?;
    let (old, through): (i64, Option<i64>) = tx
        .query_row(
            "SELECT count(*), max(id) FROM events WHERE ts_ms < ?1",
            params![cutoff_ms],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .map_err(err)?;
    let Some(through) = through.filter(|_| old > 0) else {
        return Ok(0);
    };
    let previous: Option<String> =
        match tx.query_row("SELECT state FROM baseline WHERE id = 1", [], |row| {
            row.get(0)
        }) {
            Ok(state) => Some(state),
            Err(rusqlite::Error::QueryReturnedNoRows) => None,
            Err(source) => return Err(err(source)),
        };
    let state = {
        let mut statement = tx
            .prepare("SELECT source, ts_ms, body FROM events WHERE ts_ms < ?1 ORDER BY id")
            .map_err(err)?;
        let rows = statement
            .query_map(params![cutoff_ms], |row| {
                Ok(StoredEvent {
                    source: row.get(0)?,
                    ts_ms: row.get(1)?,
                    body: row.get(2)?,
                })
            })
            .map_err(err)?;
        let mut events = rows.filter_map(Result::ok);
        fold(
            previous.as_deref(),
            u64::try_from(old).unwrap_or(0),
            &mut events,
        )
    };
    tx.execute(
        "INSERT INTO baseline (id, through_id, state) VALUES (1, ?1, ?2) \
         ON CONFLICT (id) DO UPDATE SET through_id = excluded.through_id, state = excluded.state",
        params![through, state],
    )
    .map_err(err)?;
    let pruned = tx
        .execute("DELETE FROM events WHERE ts_ms < ?1", params![cutoff_ms])
        .map_err(err)?;
    tx.commit().map_err(err)?;
    Ok(pruned)
}

/// How many events the store holds.
pub fn count(data_dir: &Path) -> Result<u64, StoreError> {
    let total: i64 = reader(data_dir)?
        .query_row("SELECT count(*) FROM events", [], |row| row.get(0))
        .map_err(sqlite(&database_path(data_dir)))?;
    Ok(u64::try_from(total).unwrap_or(0))
}

/// The newest event's row id (0 for an empty store): it changes whenever an event is
/// stored, so it tells whether anything read from the store may have changed.
pub fn high_water_mark(data_dir: &Path) -> Result<i64, StoreError> {
    reader(data_dir)?
        .query_row("SELECT coalesce(max(id), 0) FROM events", [], |row| {
            row.get(0)
        })
        .map_err(sqlite(&database_path(data_dir)))
}

/// Calls `each` for every stored event in insertion order: how counters are rebuilt
/// after a restart.
pub fn replay(data_dir: &Path, mut each: impl FnMut(StoredEvent)) -> Result<u64, StoreError> {
    let path = database_path(data_dir);
    let conn = reader(data_dir)?;
    let mut statement = conn
        .prepare("SELECT source, ts_ms, body FROM events ORDER BY id")
        .map_err(sqlite(&path))?;
    let rows = statement
        .query_map([], |row| {
            Ok(StoredEvent {
                source: row.get(0)?,
                ts_ms: row.get(1)?,
                body: row.get(2)?,
            })
        })
        .map_err(sqlite(&path))?;
    let mut count = 0;
    for row in rows {
        each(row.map_err(sqlite(&path))?);
        count += 1;
    }
    Ok(count)
}

/// Size of the database and its WAL, in bytes.
pub fn size_bytes(data_dir: &Path) -> u64 {
    let base = database_path(data_dir);
    ["", "-wal"]
        .iter()
        .filter_map(|suffix| std::fs::metadata(format!("{}{suffix}", base.display())).ok())
        .map(|meta| meta.len())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    fn event(id: &str) -> NewEvent {
        NewEvent {
            event_id: id.to_owned(),
            source: "hook",
            ts_ms: 1,
            name: "Stop".to_owned(),
            session_id: Some("s".to_owned()),
            prompt_id: None,
            tool_use_id: None,
            tool_name: None,
            user_name: None,
            user_email: None,
            project: None,
            decision: None,
            rule: None,
            body: format!("{{\"id\":\"{id}\"}}"),
            parsed: std::sync::Arc::new(serde_json::Value::Null),
        }
    }

    #[tokio::test]
    async fn duplicates_are_stored_once_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let (store, writer) = open(
            dir.path(),
            Box::new(move |events| {
                sink.lock()
                    .unwrap()
                    .extend(events.iter().map(|e| e.event_id.clone()));
            }),
        )
        .unwrap();
        assert_eq!(
            store.append(vec![event("a"), event("b")]).await.unwrap(),
            [true, true]
        );
        assert_eq!(
            store.append(vec![event("b"), event("c")]).await.unwrap(),
            [false, true]
        );
        assert_eq!(
            *seen.lock().unwrap(),
            ["a", "b", "c"],
            "only new events reach the aggregator"
        );
        drop(store);
        writer.join();
        let mut replayed = Vec::new();
        assert_eq!(replay(dir.path(), |e| replayed.push(e.body)).unwrap(), 3);
        assert_eq!(replayed[2], "{\"id\":\"c\"}");
        assert!(size_bytes(dir.path()) > 0);
    }
}
