//! Reading and writing a settings file without ever leaving a broken one behind.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use crate::validate::{Severity, validate};

/// A settings file as read from disk.
#[derive(Debug, Clone)]
pub struct SettingsFile {
    /// Where it lives.
    pub path: PathBuf,
    /// Its text, or `None` when it does not exist yet.
    pub original: Option<String>,
    /// Its parsed content (an empty object for a missing or empty file).
    pub document: Value,
}

/// Why a settings file cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The file is not JSON; it is left alone.
    #[error("{path} is not valid JSON ({source}); not touching it — fix it first")]
    NotJson {
        /// The file.
        path: PathBuf,
        /// The parser's complaint.
        #[source]
        source: serde_json::Error,
    },
    /// The content would make Claude Code ignore the file's hooks.
    #[error("{path} would be invalid for Claude Code:\n{problems}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// One problem per line.
        problems: String,
    },
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> FileError + '_ {
    move |source| FileError::Io {
        path: path.to_owned(),
        source,
    }
}

impl SettingsFile {
    /// Reads and parses `path`; a missing or empty file is an empty object.
    pub fn load(path: &Path) -> Result<SettingsFile, FileError> {
        let original = match fs::read_to_string(path) {
            Ok(text) => Some(text),
            Err(err) if err.kind() == io::ErrorKind::NotFound => None,
            Err(err) => return Err(io_at(path)(err)),
        };
        let document = match original.as_deref() {
            None => Value::Object(Map::new()),
            Some(text) if text.trim().is_empty() => Value::Object(Map::new()),
            Some(text) => serde_json::from_str(text).map_err(|source| FileError::NotJson {
                path: path.to_owned(),
                source,
            })?,
        };
        Ok(SettingsFile {
            path: path.to_owned(),
            original,
            document,
        })
    }

    /// The document as Claude Code writes settings: two-space JSON and a final newline.
    pub fn render(document: &Value) -> String {
        let mut text = serde_json::to_string_pretty(document).unwrap_or_else(|_| "{}".to_owned());
        text.push('\n');
        text
    }

    /// Refuses documents with errors that would disable hooks.
    pub fn check(&self, document: &Value) -> Result<(), FileError> {
        let problems: Vec<String> = validate(document)
            .into_iter()
            .filter(|problem| problem.severity == Severity::Error)
            .map(|problem| format!("  {problem}"))
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(FileError::Invalid {
                path: self.path.clone(),
                problems: problems.join("\n"),
            })
        }
    }

    /// Copies the current file into `backup_dir` (if it exists); returns the copy's path.
    /// Settings may hold tokens: the directory and the copy are readable only by their
    /// owner (0700, 0600), the directory narrowed if it was wider.
    pub fn backup(&self, backup_dir: &Path) -> Result<Option<PathBuf>, FileError> {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
        let Some(original) = &self.original else {
            return Ok(None);
        };
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(backup_dir)
            .and_then(|()| fs::set_permissions(backup_dir, fs::Permissions::from_mode(0o700)))
            .map_err(io_at(backup_dir))?;
        let stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_millis());
        let flat: String = self
            .path
            .to_string_lossy()
            .chars()
            .map(|c| if c == '/' || c == '\\' { '_' } else { c })
            .collect();
        let target = backup_dir.join(format!("{}.{stamp}", flat.trim_start_matches('_')));
        fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&target)
            .and_then(|mut file| file.write_all(original.as_bytes()))
            .map_err(io_at(&target))?;
        Ok(Some(target))
    }

    /// Replaces the file atomically with `text` (write aside, sync, rename).
    pub fn write(&self, text: &str) -> Result<(), FileError> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir).map_err(io_at(dir))?;
        let temp = dir.join(format!(
            ".{}.claude-telemetry-{}",
            self.path
                .file_name()
                .map_or_else(|| "settings".into(), |n| n.to_string_lossy()),
            std::process::id()
        ));
        let result = (|| -> io::Result<()> {
            let mut file = fs::File::create(&temp)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            if let Ok(meta) = fs::metadata(&self.path) {
                fs::set_permissions(&temp, meta.permissions())?;
            }
            fs::rename(&temp, &self.path)
        })();
        result.map_err(|err| {
            let _ = fs::remove_file(&temp);
            io_at(&self.path)(err)
        })
    }
}

/// A unified diff between two texts, labelled with `path`; empty when equal.
pub fn unified_diff(path: &Path, before: &str, after: &str) -> String {
    if before == after {
        return String::new();
    }
    let label = path.display().to_string();
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&label, &label)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_empty_files_are_empty_objects() {
        let dir = tempfile::tempdir().unwrap();
        let missing = SettingsFile::load(&dir.path().join("none.json")).unwrap();
        assert!(missing.original.is_none());
        assert_eq!(missing.document, Value::Object(Map::new()));
        let empty = dir.path().join("empty.json");
        fs::write(&empty, "\n").unwrap();
        assert_eq!(
            SettingsFile::load(&empty).unwrap().document,
            Value::Object(Map::new())
        );
    }

    #[test]
    fn unparseable_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        fs::write(&path, "{ \"a\": 1, }").unwrap();
        let err = SettingsFile::load(&path).unwrap_err();
        assert!(err.to_string().contains("not valid JSON"), "{err}");
    }

    #[test]
    fn write_replaces_atomically_and_backup_keeps_the_old_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        fs::write(&path, "{\"old\": true}\n").unwrap();
        let file = SettingsFile::load(&path).unwrap();
        let backup = file.backup(&dir.path().join("backups")).unwrap().unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&backup), 0o600, "settings may hold tokens");
        assert_eq!(mode(&dir.path().join("backups")), 0o700);
        file.write("{}\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "{}\n");
        assert_eq!(fs::read_to_string(backup).unwrap(), "{\"old\": true}\n");
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .collect();
        assert_eq!(leftovers.len(), 2, "no temporary file left behind");
    }
}
