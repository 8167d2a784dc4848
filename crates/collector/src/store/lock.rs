//! One collector per data directory: an exclusive lock on `collector.lock` in it, held
//! for as long as the store's writer runs. A second collector on the same directory would
//! keep counters of its own over one store; it is refused at start instead, told which
//! process holds the directory.
//!
//! Readers (`report`, the page's queries) take no lock: SQLite's WAL lets them read while
//! the writer writes. This module must not be used for them.

use std::fs::{File, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::Path;

use hook::private;

use super::db::StoreError;

/// The lock file's name in the data directory.
const LOCK_FILE: &str = "collector.lock";

/// The held lock; released when dropped (and by the system when the process ends).
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

/// Takes the data directory (creating it, private, if needed) for this process, and
/// writes this process's id into the lock file for whoever is refused next.
pub fn take(data_dir: &Path) -> Result<DataDirLock, StoreError> {
    let path = data_dir.join(LOCK_FILE);
    let io_error = |source| StoreError::Dir {
        path: data_dir.to_owned(),
        source,
    };
    private::dir(data_dir).map_err(io_error)?;
    let mut file = private::file_options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io_error)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            // Best effort: the holder may be writing its id right now.
            let _ = file.read_to_string(&mut holder);
            return Err(StoreError::InUse {
                path: data_dir.to_owned(),
                holder: holder_of(&holder),
            });
        }
        Err(TryLockError::Error(source)) => return Err(io_error(source)),
    }
    file.set_len(0).map_err(io_error)?;
    file.rewind().map_err(io_error)?;
    writeln!(file, "{}", std::process::id()).map_err(io_error)?;
    Ok(DataDirLock { _file: file })
}

/// Who holds the lock, as the lock file says.
fn holder_of(text: &str) -> String {
    match text.trim().parse::<u32>() {
        Ok(pid) => format!("the collector with process id {pid}"),
        Err(_) => "another collector".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::take;

    #[test]
    fn a_second_taker_is_refused_with_the_holders_pid_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let held = take(&data).unwrap();
        let refused = take(&data).unwrap_err().to_string();
        assert!(refused.contains(&data.display().to_string()), "{refused}");
        assert!(
            refused.contains(&format!("process id {}", std::process::id())),
            "{refused}"
        );
        drop(held);
        take(&data).expect("free once the holder is gone");
    }
}
