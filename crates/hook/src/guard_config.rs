//! The guard's configuration: the `[guard]` table of the TOML config file, then
//! environment overrides.

use std::path::{Path, PathBuf};

use guard::{GuardConfig, Pack};
use serde::Deserialize;

use crate::config::Env;

/// The config file, as far as the hook reads it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ConfigFile {
    guard: GuardConfig,
}

/// Why the guard's configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum GuardConfigError {
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML for this configuration.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A value is not usable.
    #[error("{0}")]
    Invalid(String),
}

/// `CLAUDE_TELEMETRY_CONFIG`, else `$XDG_CONFIG_HOME/claude-telemetry/config.toml`, else
/// `~/.config/claude-telemetry/config.toml`; `(path, explicit)`.
pub fn config_path(env: &impl Env) -> Option<(PathBuf, bool)> {
    if let Some(path) = env.var("CLAUDE_TELEMETRY_CONFIG") {
        return Some((PathBuf::from(path), true));
    }
    let base = match env.var("XDG_CONFIG_HOME") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env.var("HOME")?).join(".config"),
    };
    Some((base.join("claude-telemetry").join("config.toml"), false))
}

/// Loads the guard's configuration. A missing default file is the default policy; a
/// missing explicit file, a parse error or an invalid value is an error, never a quietly
/// different policy.
pub fn load_guard_config(env: &impl Env) -> Result<GuardConfig, GuardConfigError> {
    let mut config = match config_path(env) {
        None => GuardConfig::default(),
        Some((path, explicit)) => read_file(&path, explicit)?,
    };
    apply_env(&mut config, env)?;
    config
        .validate()
        .map_err(|err| GuardConfigError::Invalid(err.to_string()))?;
    Ok(config)
}

fn read_file(path: &Path, explicit: bool) -> Result<GuardConfig, GuardConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound && !explicit => {
            return Ok(GuardConfig::default());
        }
        Err(source) => {
            return Err(GuardConfigError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    toml::from_str::<ConfigFile>(&text)
        .map(|file| file.guard)
        .map_err(|err| GuardConfigError::Parse {
            path: path.to_owned(),
            message: err.to_string(),
        })
}

/// `CLAUDE_TELEMETRY_GUARD_STRICT`, `_PACKS` (comma-separated), `_PROTECTED_PATHS` and
/// `_ALLOWED_PATHS` (colon-separated), `_SECRET_PATTERNS` (comma-separated).
fn apply_env(config: &mut GuardConfig, env: &impl Env) -> Result<(), GuardConfigError> {
    if let Some(value) = env.var("CLAUDE_TELEMETRY_GUARD_STRICT") {
        config.strict = match value.trim() {
            "1" | "true" | "yes" | "on" => true,
            "0" | "false" | "no" | "off" => false,
            other => {
                return Err(GuardConfigError::Invalid(format!(
                    "CLAUDE_TELEMETRY_GUARD_STRICT must be true or false, got {other:?}"
                )));
            }
        };
    }
    if let Some(value) = env.var("CLAUDE_TELEMETRY_GUARD_PACKS") {
        config.packs = value
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|pack| match pack {
                "git" => Ok(Pack::Git),
                "disk" => Ok(Pack::Disk),
                "secrets" => Ok(Pack::Secrets),
                other => Err(GuardConfigError::Invalid(format!(
                    "CLAUDE_TELEMETRY_GUARD_PACKS: unknown pack {other:?} (git, disk, secrets)"
                ))),
            })
            .collect::<Result<_, _>>()?;
    }
    if let Some(value) = env.var("CLAUDE_TELEMETRY_GUARD_PROTECTED_PATHS") {
        config.protected_paths.extend(
            value
                .split(':')
                .filter(|p| !p.is_empty())
                .map(PathBuf::from),
        );
    }
    if let Some(value) = env.var("CLAUDE_TELEMETRY_GUARD_ALLOWED_PATHS") {
        config.allowed_paths.extend(
            value
                .split(':')
                .filter(|p| !p.is_empty())
                .map(PathBuf::from),
        );
    }
    if let Some(value) = env.var("CLAUDE_TELEMETRY_GUARD_SECRET_PATTERNS") {
        config.secret_patterns.extend(
            value
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::fixed_env as env;

    #[test]
    fn file_then_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "[guard]\nstrict = true\npacks = [\"git\"]\nprotected_paths = [\"/data\"]\n",
        )
        .unwrap();
        let p = path.to_str().unwrap();
        let config = load_guard_config(&env(&[("CLAUDE_TELEMETRY_CONFIG", p)])).unwrap();
        assert!(config.strict);
        assert_eq!(config.packs, [Pack::Git]);
        let config = load_guard_config(&env(&[
            ("CLAUDE_TELEMETRY_CONFIG", p),
            ("CLAUDE_TELEMETRY_GUARD_STRICT", "false"),
            ("CLAUDE_TELEMETRY_GUARD_PACKS", "disk,secrets"),
        ]))
        .unwrap();
        assert!(!config.strict);
        assert_eq!(config.packs, [Pack::Disk, Pack::Secrets]);
    }

    #[test]
    fn a_missing_default_file_is_the_default_policy() {
        let dir = tempfile::tempdir().unwrap();
        let config = load_guard_config(&env(&[("HOME", dir.path().to_str().unwrap())])).unwrap();
        assert_eq!(config, GuardConfig::default());
    }

    #[test]
    fn bad_configs_are_errors_that_name_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        let p = path.to_str().unwrap();
        let err = load_guard_config(&env(&[("CLAUDE_TELEMETRY_CONFIG", p)])).unwrap_err();
        assert!(err.to_string().contains("cannot read"), "{err}");
        std::fs::write(&path, "[guard]\nstrikt = true\n").unwrap();
        let err = load_guard_config(&env(&[("CLAUDE_TELEMETRY_CONFIG", p)])).unwrap_err();
        assert!(err.to_string().contains("strikt"), "{err}");
        std::fs::write(&path, "[guard]\nprotected_paths = [\"relative\"]\n").unwrap();
        let err = load_guard_config(&env(&[("CLAUDE_TELEMETRY_CONFIG", p)])).unwrap_err();
        assert!(err.to_string().contains("absolute"), "{err}");
        let err = load_guard_config(&env(&[
            ("HOME", "/nonexistent"),
            ("CLAUDE_TELEMETRY_GUARD_PACKS", "fs"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("unknown pack"), "{err}");
    }
}
