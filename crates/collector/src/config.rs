//! The collector's configuration: the `[collector]` table of the TOML config file, then
//! the environment, then the command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use hook_protocol::privacy::Level;
use serde::Deserialize;

/// Collector settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CollectorConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Where the event store lives.
    pub data_dir: Option<PathBuf>,
    /// Bearer token required on every request but the probes.
    pub token: Option<String>,
    /// Listen beyond loopback without a token (not recommended).
    pub insecure: bool,
    /// What the store keeps of payloads: `metadata` (the default), `prompts` or `full`.
    pub privacy: Level,
    /// A session with no event for this long has ended (`30m`, `2h`).
    #[serde(with = "humantime_serde_compat")]
    pub session_idle_timeout: Duration,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// Most series per metric.
    pub series_limit: usize,
    /// Longest label value kept.
    pub label_value_bytes: usize,
    /// Longest time a request may take.
    #[serde(with = "humantime_serde_compat")]
    pub request_timeout: Duration,
    /// How long events are kept (`30d`); older ones are folded into the counters'
    /// baseline and removed. `0s` keeps everything.
    #[serde(with = "humantime_serde_compat")]
    pub retention: Duration,
    /// OTLP attributes never turned into labels: `session.id` (cardinality), and the
    /// provider attributes newer Claude Code releases add (`anthropic.provider`,
    /// `anthropic.custom_base_url`), so a fleet mixing releases keeps one series per
    /// label set. Setting the list replaces these defaults.
    pub otlp_drop_attributes: Vec<String>,
    /// OTLP resource attributes turned into labels on every series.
    pub otlp_promote_resource_attributes: Vec<String>,
}

impl Default for CollectorConfig {
    fn default() -> Self {
        CollectorConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 9091)),
            data_dir: None,
            token: None,
            insecure: false,
            privacy: Level::Metadata,
            session_idle_timeout: Duration::from_secs(30 * 60),
            max_body_bytes: 8 * 1024 * 1024,
            series_limit: 10_000,
            label_value_bytes: 256,
            request_timeout: Duration::from_secs(30),
            retention: Duration::from_secs(30 * 24 * 60 * 60),
            otlp_drop_attributes: crate::processors::otlp::translate::LabelPolicy::default().drop,
            otlp_promote_resource_attributes: vec!["user.name".to_owned(), "user.email".to_owned()],
        }
    }
}

/// Durations written the way people write them (`30m`, `1h30m`, `500ms`).
mod humantime_serde_compat {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

/// A setting that stops the collector from starting.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Listening beyond loopback needs a token.
    #[error(
        "refusing to listen on {0} without a token: anyone who can reach it could read and write telemetry. \
         Set CLAUDE_TELEMETRY_TOKEN (or --token), listen on 127.0.0.1, or pass --insecure"
    )]
    TokenRequired(SocketAddr),
    /// The token is too short to be one.
    #[error("the token must be at least 16 characters")]
    WeakToken,
}

impl CollectorConfig {
    /// Checks what must hold before serving.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(token) = &self.token
            && token.len() < 16
        {
            return Err(ConfigError::WeakToken);
        }
        if !self.listen.ip().is_loopback() && self.token.is_none() && !self.insecure {
            return Err(ConfigError::TokenRequired(self.listen));
        }
        Ok(())
    }
}
