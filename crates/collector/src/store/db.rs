//! The database: where it is, its schema, its connections, and what goes wrong with it.

use std::path::{Path, PathBuf};

use hook::private;
use rusqlite::{Connection, OpenFlags};

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
    /// Something stored cannot be read back, or written: counters built without it
    /// would be wrong, so nothing goes on.
    #[error("event store {path}: {what}: {message}")]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What cannot be read (`event 42`, `the counters' baseline`).
        what: String,
        /// Why.
        message: String,
    },
    /// Another collector is using the data directory.
    #[error(
        "data directory {path} is in use by {holder}: stop it first, or give this one another --data-dir"
    )]
    InUse {
        /// The data directory.
        path: PathBuf,
        /// Who holds it (`the collector with process id 42`).
        holder: String,
    },
    /// A commit failed; nothing of the batch was stored.
    #[error("{0}")]
    Write(String),
    /// The writer is gone (shutting down, or it failed).
    #[error("the event store is closed")]
    Closed,
}

pub(super) fn sqlite(path: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |source| StoreError::Sqlite {
        path: path.to_owned(),
        source,
    }
}

/// The database file in a data directory.
pub fn database_path(data_dir: &Path) -> PathBuf {
    data_dir.join("events.sqlite3")
}

/// Creates the database in `data_dir` if needed, with its schema; returns the writer's
/// connection (WAL, `synchronous = FULL`).
///
/// The store holds what Claude Code did and said: its directory and files are readable
/// only by their owner (0700, 0600), narrowed when an earlier run left them wider. SQLite
/// gives the WAL and shared-memory files the database file's mode.
pub(super) fn create(data_dir: &Path) -> Result<Connection, StoreError> {
    let dir_error = |source| StoreError::Dir {
        path: data_dir.to_owned(),
        source,
    };
    private::dir(data_dir).map_err(dir_error)?;
    let path = database_path(data_dir);
    private::file_options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(dir_error)?;
    for suffix in ["", "-wal", "-shm", "-journal"] {
        private::narrow(
            Path::new(&format!("{}{suffix}", path.display())),
            private::FILE_MODE,
        )
        .map_err(dir_error)?;
    }
    let conn = Connection::open(&path).map_err(sqlite(&path))?;
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
    super::rollup::create(&conn).map_err(sqlite(&path))?;
    Ok(conn)
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
pub(super) fn reader_writer(data_dir: &Path) -> Result<Connection, StoreError> {
    let path = database_path(data_dir);
    let conn = Connection::open(&path).map_err(sqlite(&path))?;
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;")
        .map_err(sqlite(&path))?;
    Ok(conn)
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
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn the_store_is_private_even_when_it_was_not() {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        std::fs::create_dir(&data).unwrap();
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
        let db = database_path(&data);
        for suffix in ["", "-wal"] {
            let file = format!("{}{suffix}", db.display());
            std::fs::write(&file, "").unwrap();
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        let conn = create(&data).unwrap();
        conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
        assert_eq!(mode(&data), 0o700);
        for suffix in ["", "-wal", "-shm"] {
            let file = format!("{}{suffix}", db.display());
            assert_eq!(mode(Path::new(&file)), 0o600, "{file}");
        }
        let fresh = root.path().join("fresh/data");
        drop(create(&fresh).unwrap());
        assert_eq!(mode(&fresh), 0o700);
        assert_eq!(mode(&database_path(&fresh)), 0o600);
    }
}
