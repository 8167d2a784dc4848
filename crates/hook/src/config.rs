//! The hook's settings, read from the environment.
//!
//! Claude Code strips `OTEL_*` from hook processes, so the hook has variables of its own.
//! Environment only, on purpose: reading and parsing a file on every tool call costs time
//! the hook does not have.

use std::path::PathBuf;
use std::time::Duration;

use hook_protocol::privacy::{LOG_USER_PROMPTS_ENV, Level, LevelError, PRIVACY_ENV};

/// Where the hook sends events when nothing says otherwise: the collector's default port,
/// which is also the Pushgateway's, so the original stack's URL keeps working.
pub const DEFAULT_URL: &str = "http://127.0.0.1:9091";

/// A source of environment variables (the process environment, or a map in tests).
pub trait Env {
    /// The value of `name`, if set and not empty.
    fn var(&self, name: &str) -> Option<String>;
}

impl<F: Fn(&str) -> Option<String>> Env for F {
    fn var(&self, name: &str) -> Option<String> {
        self(name).filter(|value| !value.is_empty())
    }
}

/// Everything the hook needs to know, resolved once per invocation.
#[derive(Debug, Clone)]
pub struct HookConfig {
    /// Base URL of the collector (no trailing slash).
    pub url: String,
    /// Bearer token for the collector.
    pub token: Option<String>,
    /// Total budget for one delivery: connect, send, and the acknowledgement.
    pub timeout: Duration,
    /// After a delivery timed out, go straight to the spool for this long, so a hung
    /// collector costs one timeout instead of one per tool call.
    pub retry_after: Duration,
    /// Directory for the spool and other state.
    pub state_dir: PathBuf,
    /// `USER_NAME`, else the OS user.
    pub user_name: String,
    /// `USER_EMAIL`.
    pub user_email: Option<String>,
    /// `CLAUDE_PROJECT_DIR`.
    pub project_dir: Option<String>,
    /// What of each event is delivered or spooled: `CLAUDE_TELEMETRY_PRIVACY`, which
    /// `install` writes (`metadata` unless said otherwise).
    pub privacy: Level,
}

/// A setting that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A number was expected.
    #[error("{name} must be a whole number of milliseconds, got {value:?}")]
    NotMillis {
        /// The variable.
        name: &'static str,
        /// What it held.
        value: String,
    },
    /// The privacy level is not one: nothing is recorded rather than more than asked.
    #[error("{PRIVACY_ENV}: {0}")]
    Privacy(#[from] LevelError),
    /// No state directory could be derived.
    #[error(
        "cannot find a state directory: set CLAUDE_TELEMETRY_STATE_DIR, XDG_STATE_HOME or HOME"
    )]
    NoStateDir,
}

impl HookConfig {
    /// Reads the configuration from `env`.
    pub fn from_env(env: &impl Env) -> Result<HookConfig, ConfigError> {
        Ok(HookConfig {
            url: collector_url(env),
            token: collector_token(env),
            timeout: millis(env, "CLAUDE_TELEMETRY_TIMEOUT_MS", 200)?,
            retry_after: millis(env, "CLAUDE_TELEMETRY_RETRY_AFTER_MS", 5_000)?,
            state_dir: state_dir(env).ok_or(ConfigError::NoStateDir)?,
            user_name: env
                .var("USER_NAME")
                .or_else(|| env.var("USER"))
                .or_else(|| env.var("LOGNAME"))
                .unwrap_or_else(os_user),
            user_email: env.var("USER_EMAIL"),
            project_dir: env.var("CLAUDE_PROJECT_DIR"),
            privacy: Level::from_settings(
                env.var(PRIVACY_ENV).as_deref(),
                env.var(LOG_USER_PROMPTS_ENV).as_deref(),
            )?,
        })
    }
}

/// `CLAUDE_TELEMETRY_URL`, else `PROMETHEUS_PUSH_GATEWAY`, else the default; a bare
/// `host:port` gets `http://`.
pub fn collector_url(env: &impl Env) -> String {
    let raw = env
        .var("CLAUDE_TELEMETRY_URL")
        .or_else(|| env.var("PROMETHEUS_PUSH_GATEWAY"))
        .unwrap_or_else(|| DEFAULT_URL.to_owned());
    let trimmed = raw.trim().trim_end_matches('/');
    if trimmed.contains("://") {
        trimmed.to_owned()
    } else {
        format!("http://{trimmed}")
    }
}

/// The collector's bearer token: `CLAUDE_TELEMETRY_TOKEN`.
pub fn collector_token(env: &impl Env) -> Option<String> {
    env.var("CLAUDE_TELEMETRY_TOKEN")
}

/// `CLAUDE_TELEMETRY_STATE_DIR`, else `$XDG_STATE_HOME/claude-telemetry`, else
/// `$HOME/.local/state/claude-telemetry`.
pub fn state_dir(env: &impl Env) -> Option<PathBuf> {
    if let Some(dir) = env.var("CLAUDE_TELEMETRY_STATE_DIR") {
        return Some(PathBuf::from(dir));
    }
    let base = match env.var("XDG_STATE_HOME") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env.var("HOME")?).join(".local/state"),
    };
    Some(base.join("claude-telemetry"))
}

/// The name of the user this process runs as, from the password database; only consulted
/// when neither `USER_NAME`, `USER` nor `LOGNAME` is set (as in some containers).
fn os_user() -> String {
    use std::os::unix::fs::MetadataExt;
    let Ok(uid) = std::fs::metadata("/proc/self").map(|meta| meta.uid()) else {
        return "unknown".to_owned();
    };
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| {
            passwd.lines().find_map(|line| {
                let mut fields = line.split(':');
                let name = fields.next()?;
                (fields.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_owned())
            })
        })
        .unwrap_or_else(|| format!("uid-{uid}"))
}

fn millis(env: &impl Env, name: &'static str, default: u64) -> Result<Duration, ConfigError> {
    match env.var(name) {
        None => Ok(Duration::from_millis(default)),
        Some(value) => value
            .trim()
            .parse()
            .map(Duration::from_millis)
            .map_err(|_| ConfigError::NotMillis { name, value }),
    }
}

/// An environment of fixed pairs, for tests.
#[cfg(test)]
pub(crate) fn fixed_env(pairs: &[(&str, &str)]) -> impl Env {
    let map: std::collections::HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name: &str| map.get(name).cloned()
}

#[cfg(test)]
mod tests {
    use super::fixed_env as env;
    use super::*;

    #[test]
    fn url_precedence_follows_the_contract() {
        assert_eq!(collector_url(&env(&[])), DEFAULT_URL);
        assert_eq!(
            collector_url(&env(&[(
                "PROMETHEUS_PUSH_GATEWAY",
                "http://pushgateway:9091/"
            )])),
            "http://pushgateway:9091"
        );
        assert_eq!(
            collector_url(&env(&[
                ("PROMETHEUS_PUSH_GATEWAY", "http://pushgateway:9091"),
                ("CLAUDE_TELEMETRY_URL", "collector:9091"),
            ])),
            "http://collector:9091"
        );
    }

    #[test]
    fn state_dir_follows_xdg() {
        assert_eq!(
            state_dir(&env(&[("HOME", "/h")])),
            Some(PathBuf::from("/h/.local/state/claude-telemetry"))
        );
        assert_eq!(
            state_dir(&env(&[("HOME", "/h"), ("XDG_STATE_HOME", "/x")])),
            Some(PathBuf::from("/x/claude-telemetry"))
        );
        assert_eq!(
            state_dir(&env(&[("CLAUDE_TELEMETRY_STATE_DIR", "/s")])),
            Some(PathBuf::from("/s"))
        );
        assert_eq!(state_dir(&env(&[])), None);
    }

    #[test]
    fn bad_numbers_are_named() {
        let err = HookConfig::from_env(&env(&[
            ("HOME", "/h"),
            ("CLAUDE_TELEMETRY_TIMEOUT_MS", "fast"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("CLAUDE_TELEMETRY_TIMEOUT_MS"));
    }

    #[test]
    fn the_privacy_level_is_metadata_unless_said_and_a_bad_one_is_refused() {
        let level = |pairs: &[(&str, &str)]| {
            let mut all = vec![("HOME", "/h")];
            all.extend_from_slice(pairs);
            HookConfig::from_env(&env(&all)).map(|config| config.privacy)
        };
        assert_eq!(level(&[]).unwrap(), Level::Metadata);
        assert_eq!(
            level(&[("CLAUDE_TELEMETRY_PRIVACY", "prompts")]).unwrap(),
            Level::Prompts
        );
        assert_eq!(
            level(&[("CLAUDE_TELEMETRY_PRIVACY", "full")]).unwrap(),
            Level::Full
        );
        let err = level(&[("CLAUDE_TELEMETRY_PRIVACY", "everything")]).unwrap_err();
        assert!(
            err.to_string().contains("CLAUDE_TELEMETRY_PRIVACY"),
            "{err}"
        );
    }

    #[test]
    fn identity_prefers_user_name_then_os_user() {
        let config = HookConfig::from_env(&env(&[("HOME", "/h"), ("USER", "os")])).unwrap();
        assert_eq!(config.user_name, "os");
        let config = HookConfig::from_env(&env(&[
            ("HOME", "/h"),
            ("USER", "os"),
            ("USER_NAME", "Jane Doe"),
        ]))
        .unwrap();
        assert_eq!(config.user_name, "Jane Doe");
    }
}
