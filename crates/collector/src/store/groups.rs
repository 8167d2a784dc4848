//! Where pushed groups are kept: one row per group, so a restart keeps them as the
//! Pushgateway's persistence file would.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, params};

use super::db::{StoreError, database_path, reader_writer, sqlite};
use crate::aggregate::pushed::{Group, GroupKey};

/// The `pushed_groups` table, on its own connection beside the event writer (WAL
/// serialises writers; the busy timeout waits for the event writer).
pub struct GroupTable {
    conn: Connection,
    path: PathBuf,
}

impl GroupTable {
    /// Opens the table of the store in `data_dir` (the store creates it).
    pub fn open(data_dir: &Path) -> Result<GroupTable, StoreError> {
        Ok(GroupTable {
            conn: reader_writer(data_dir)?,
            path: database_path(data_dir),
        })
    }

    /// Every group kept; a group that cannot be read is an error naming it.
    pub fn load(&self) -> Result<Vec<(GroupKey, Group)>, StoreError> {
        let err = sqlite(&self.path);
        let mut statement = self
            .conn
            .prepare("SELECT grouping_key, body FROM pushed_groups")
            .map_err(&err)?;
        let rows = statement
            .query_map([], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })
            .map_err(&err)?;
        let mut groups = Vec::new();
        for row in rows {
            let (key, body) = row.map_err(&err)?;
            let corrupt = |message: String| StoreError::Corrupt {
                path: self.path.clone(),
                what: format!("pushed group {key}"),
                message,
            };
            let parsed_key = serde_json::from_str(&key).map_err(|e| corrupt(e.to_string()))?;
            let group = serde_json::from_str(&body).map_err(|e| corrupt(e.to_string()))?;
            groups.push((parsed_key, group));
        }
        Ok(groups)
    }

    /// Keeps `group` under `key`, or removes the group when `None`.
    pub fn save(&self, key: &GroupKey, group: Option<&Group>) -> Result<(), StoreError> {
        let encode = |what: &str, result: serde_json::Result<String>| {
            result.map_err(|err| StoreError::Corrupt {
                path: self.path.clone(),
                what: what.to_owned(),
                message: err.to_string(),
            })
        };
        let key_text = encode("a pushed group's key", serde_json::to_string(key))?;
        let err = sqlite(&self.path);
        match group {
            Some(group) => {
                let body = encode("a pushed group", serde_json::to_string(group))?;
                self.conn
                    .execute(
                        "INSERT INTO pushed_groups (grouping_key, body) VALUES (?1, ?2) \
                         ON CONFLICT (grouping_key) DO UPDATE SET body = excluded.body",
                        params![key_text, body],
                    )
                    .map_err(&err)?;
            }
            None => {
                self.conn
                    .execute(
                        "DELETE FROM pushed_groups WHERE grouping_key = ?1",
                        params![key_text],
                    )
                    .map_err(&err)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::{Aggregator, Limits, SharedAggregator};

    #[test]
    fn groups_are_kept_and_an_unreadable_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let aggregator = SharedAggregator::new(Aggregator::new(Limits::default()));
        let (store, writer) = crate::store::open(dir.path(), aggregator).unwrap();
        drop(store);
        writer.join();
        let table = GroupTable::open(dir.path()).unwrap();
        let key: GroupKey = vec![("job".to_owned(), "j".to_owned())];
        table.save(&key, Some(&Group::default())).unwrap();
        assert_eq!(table.load().unwrap(), vec![(key.clone(), Group::default())]);
        table
            .conn
            .execute("UPDATE pushed_groups SET body = '{'", [])
            .unwrap();
        let err = table.load().unwrap_err();
        assert!(err.to_string().contains("pushed group"), "{err}");
        table.save(&key, None).unwrap();
        assert!(table.load().unwrap().is_empty());
    }
}
