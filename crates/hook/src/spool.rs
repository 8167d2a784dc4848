//! Events the collector has not acknowledged yet, kept on local disk.
//!
//! One file per event, named by its time-ordered id, written to a temporary name, synced
//! and renamed into place: concurrent hook processes never interleave bytes, a crash never
//! leaves half an event, and sorting the names gives the oldest first. Draining takes an
//! advisory lock so two hooks do not send the same files at once; if a crash still causes a
//! second delivery, the collector drops the duplicate id.
//!
//! Events hold prompts and tool output before the collector filters them: the spool, its
//! files and the state directory holding it are private to their owner ([`private`]).

use std::fs::{self, File, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::config::HookConfig;
use crate::deliver::{Collector, DeliveryError};
use crate::private;

/// Most events one drain sends, so a hook invocation does bounded work.
pub const DRAIN_MAX_EVENTS: usize = 200;
/// Most bytes one drain sends.
pub const DRAIN_MAX_BYTES: usize = 2 * 1024 * 1024;

/// The spool directory and its bookkeeping files.
#[derive(Debug, Clone)]
pub struct Spool {
    dir: PathBuf,
}

/// The spool could not be written or read.
#[derive(Debug, thiserror::Error)]
#[error("spool at {path}: {source}")]
pub struct SpoolError {
    path: PathBuf,
    #[source]
    source: io::Error,
}

/// What one drain did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DrainReport {
    /// Events the collector acknowledged and that were removed from the spool.
    pub delivered: usize,
    /// Events the collector refused for good, moved to `rejected/`.
    pub rejected: usize,
    /// Another process was draining; this one left the spool alone.
    pub busy: bool,
}

fn at(path: &Path) -> impl FnOnce(io::Error) -> SpoolError + '_ {
    move |source| SpoolError {
        path: path.to_owned(),
        source,
    }
}

impl Spool {
    /// The spool under a state directory.
    pub fn in_state_dir(state_dir: &Path) -> Spool {
        Spool {
            dir: state_dir.join("spool"),
        }
    }

    /// The directory holding pending events.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where permanently rejected events are kept for a person to look at.
    pub fn rejected_dir(&self) -> PathBuf {
        self.dir.join("rejected")
    }

    fn down_marker(&self) -> PathBuf {
        self.dir.join(".collector-down")
    }

    /// The state directory and the spool in it, private (an earlier version, or the
    /// user's umask, may have left them readable by others).
    fn private_dirs(&self) -> Result<(), SpoolError> {
        if let Some(state) = self.dir.parent() {
            private::dir(state).map_err(at(state))?;
        }
        private::dir(&self.dir).map_err(at(&self.dir))
    }

    /// Stores one event durably; returns its file.
    pub fn put(&self, event_id: &str, line: &str) -> Result<PathBuf, SpoolError> {
        self.private_dirs()?;
        write_durably(&self.dir, event_id, line)
    }

    /// Keeps an event the collector refused for good, with nothing lost.
    pub fn put_rejected(&self, event_id: &str, line: &str) -> Result<PathBuf, SpoolError> {
        self.private_dirs()?;
        write_durably(&self.rejected_dir(), event_id, line)
    }

    /// Pending event files, oldest first.
    pub fn pending(&self) -> Result<Vec<PathBuf>, SpoolError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(at(&self.dir)(err)),
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| is_event_file(path))
            .collect();
        files.sort();
        Ok(files)
    }

    /// How many events are pending (0 when the spool cannot be read).
    pub fn pending_count(&self) -> usize {
        fs::read_dir(&self.dir).map_or(0, |entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| is_event_file(&e.path()))
                .count()
        })
    }

    /// Whether anything is pending, without listing everything.
    pub fn has_pending(&self) -> bool {
        fs::read_dir(&self.dir).is_ok_and(|mut entries| {
            entries.any(|entry| entry.is_ok_and(|entry| is_event_file(&entry.path())))
        })
    }

    /// Records that the collector just timed out.
    pub fn mark_collector_down(&self) -> Result<(), SpoolError> {
        let marker = self.down_marker();
        self.private_dirs()?;
        private::create(&marker).map(drop).map_err(at(&marker))
    }

    /// How long ago the collector last timed out, if it did and nobody has heard from it
    /// since. A marker from the future (clock change) counts as just now.
    pub fn collector_down_for(&self) -> Option<Duration> {
        let when = fs::metadata(self.down_marker())
            .and_then(|meta| meta.modified())
            .ok()?;
        Some(SystemTime::now().duration_since(when).unwrap_or_default())
    }

    /// Forgets an earlier timeout once the collector answered again.
    pub fn clear_collector_down(&self) {
        // Absent is the usual case and fine.
        let _ = fs::remove_file(self.down_marker());
    }

    /// Sends pending events, oldest first, in one batch of bounded size.
    pub fn drain(&self, collector: &Collector) -> Result<DrainReport, SpoolError> {
        let lock_path = self.dir.join(".drain.lock");
        let lock = private::file_options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(at(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Ok(DrainReport {
                    busy: true,
                    ..DrainReport::default()
                });
            }
            Err(TryLockError::Error(err)) => return Err(at(&lock_path)(err)),
        }
        // The lock is released when `lock` is dropped at the end of this function.
        let mut report = DrainReport::default();
        let mut batch: Vec<(PathBuf, String)> = Vec::new();
        let mut bytes = 0;
        for path in self.pending()? {
            if batch.len() >= DRAIN_MAX_EVENTS || bytes >= DRAIN_MAX_BYTES {
                break;
            }
            let Ok(text) = fs::read_to_string(&path) else {
                // Unreadable or not UTF-8: not an event this hook wrote. Keep it for a person.
                self.quarantine(&path)?;
                report.rejected += 1;
                continue;
            };
            let line = text.trim_end().to_owned();
            bytes += line.len() + 1;
            batch.push((path, line));
        }
        if batch.is_empty() {
            return Ok(report);
        }
        let mut body = Vec::with_capacity(bytes);
        for (_, line) in &batch {
            body.extend_from_slice(line.as_bytes());
            body.push(b'\n');
        }
        match collector.send_batch(&body) {
            Ok(()) => {
                for (path, _) in &batch {
                    remove(path)?;
                    report.delivered += 1;
                }
            }
            Err(DeliveryError::Retryable { .. }) => {}
            // One bad event must not hold back the others: find it by sending one at a time.
            Err(DeliveryError::Rejected { .. }) => {
                for (path, line) in &batch {
                    match collector.send_one(line) {
                        Ok(()) => {
                            remove(path)?;
                            report.delivered += 1;
                        }
                        Err(DeliveryError::Rejected { .. }) => {
                            self.quarantine(path)?;
                            report.rejected += 1;
                        }
                        Err(DeliveryError::Retryable { .. }) => break,
                    }
                }
            }
        }
        drop(lock);
        Ok(report)
    }

    fn quarantine(&self, path: &Path) -> Result<(), SpoolError> {
        let rejected = self.rejected_dir();
        private::dir(&rejected).map_err(at(&rejected))?;
        let target = rejected.join(path.file_name().unwrap_or_default());
        fs::rename(path, &target).map_err(at(path))
    }
}

fn is_event_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| !name.starts_with('.') && name.ends_with(".json"))
}

fn remove(path: &Path) -> Result<(), SpoolError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(at(path)(err)),
    }
}

fn write_durably(dir: &Path, event_id: &str, line: &str) -> Result<PathBuf, SpoolError> {
    private::dir(dir).map_err(at(dir))?;
    let target = dir.join(format!("{event_id}.json"));
    let temp = dir.join(format!(".tmp-{event_id}-{}", std::process::id()));
    let write = || -> io::Result<()> {
        let mut file = private::create(&temp)?;
        file.write_all(line.as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        fs::rename(&temp, &target)?;
        // The rename is durable only once the directory entry is.
        File::open(dir)?.sync_all()
    };
    write().map_err(|err| {
        let _ = fs::remove_file(&temp);
        at(dir)(err)
    })?;
    Ok(target)
}

/// Sends one enriched event, or spools it when the collector is away (then drains the
/// spool after a success); returns a warning for the user when it was lost.
pub(crate) fn send_or_spool(
    event_id: &str,
    line: &str,
    config: &HookConfig,
    stderr: &mut Vec<String>,
) -> Option<String> {
    let spool = Spool::in_state_dir(&config.state_dir);
    let collector = Collector::new(config);

    let down_for = spool.collector_down_for();
    let result = if down_for.is_some_and(|age| age < config.retry_after) {
        stderr.push(format!(
            "claude-telemetry hook: the collector timed out recently; event spooled without trying (retry after {} ms)",
            config.retry_after.as_millis()
        ));
        Err(None)
    } else {
        collector.send_one(line).map_err(Some)
    };
    let stored = match result {
        Ok(()) => {
            if down_for.is_some() {
                spool.clear_collector_down();
            }
            if spool.has_pending() {
                match spool.drain(&collector) {
                    Ok(report) if report.rejected > 0 => stderr.push(format!(
                        "claude-telemetry hook: the collector refused {} spooled event(s); kept in {}",
                        report.rejected,
                        spool.rejected_dir().display()
                    )),
                    Ok(_) => {}
                    Err(err) => stderr.push(format!("claude-telemetry hook: draining the spool: {err}")),
                }
            }
            return None;
        }
        Err(Some(err @ DeliveryError::Rejected { .. })) => {
            stderr.push(format!(
                "claude-telemetry hook: {err}; kept in {}",
                spool.rejected_dir().display()
            ));
            spool.put_rejected(event_id, line)
        }
        Err(failure) => {
            if let Some(err) = &failure {
                stderr.push(format!(
                    "claude-telemetry hook: {err}; spooled for later delivery"
                ));
                if err.timed_out()
                    && let Err(err) = spool.mark_collector_down()
                {
                    stderr.push(format!("claude-telemetry hook: {err}"));
                }
            }
            spool.put(event_id, line)
        }
    };
    match stored {
        Ok(_) => None,
        Err(err) => {
            let message = format!(
                "claude-telemetry: event {event_id} could not be delivered to {} nor spooled ({err}); telemetry is being lost",
                collector.endpoint()
            );
            stderr.push(message.clone());
            Some(message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_is_oldest_first_and_ignores_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::in_state_dir(dir.path());
        spool.put("0002", "{\"b\":1}").unwrap();
        spool.put("0001", "{\"a\":1}").unwrap();
        fs::write(spool.dir().join(".tmp-0003-1"), "partial").unwrap();
        let names: Vec<_> = spool
            .pending()
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["0001.json", "0002.json"]);
        assert!(spool.has_pending());
    }

    #[test]
    fn missing_spool_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::in_state_dir(&dir.path().join("nope"));
        assert!(spool.pending().unwrap().is_empty());
        assert!(!spool.has_pending());
    }

    #[test]
    fn down_marker_records_and_clears() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::in_state_dir(dir.path());
        assert_eq!(spool.collector_down_for(), None);
        spool.mark_collector_down().unwrap();
        assert!(spool.collector_down_for().unwrap() < Duration::from_secs(60));
        spool.clear_collector_down();
        assert_eq!(spool.collector_down_for(), None);
    }
}
