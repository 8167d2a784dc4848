//! The collector's configuration: the `[collector]` table of the TOML config file, then
//! the environment, then the command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// What the store keeps of each event's payload.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Privacy {
    /// Names, ids, commands and decisions; no file contents, no tool output, no prompts.
    #[default]
    Metadata,
    /// Everything the hook delivered (already redacted and bounded by the hook).
    Full,
}

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
    /// What the store keeps of payloads.
    pub privacy: Privacy,
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
    /// OTLP attributes never turned into labels (cardinality).
    pub otlp_drop_attributes: Vec<String>,
    /// OTLP resource attributes turned into labels on every series.
    pub otlp_promote_resource_attributes: Vec<String>,
    /// Forward spans (and, with `forward_logs`, log events) to this OTLP/HTTP endpoint
    /// (`http://tempo:4318`; `/v1/traces` and `/v1/logs` are appended), as stored: the
    /// privacy mode applied. Off when unset.
    pub forward_endpoint: Option<String>,
    /// Headers sent with every forwarded request, `Name=value` (an `Authorization`).
    pub forward_headers: Vec<String>,
    /// Forward Claude Code's log events too.
    pub forward_logs: bool,
    /// Most spans (and, separately, log events) waiting to be forwarded; beyond it new
    /// ones are dropped and counted.
    pub forward_queue_size: usize,
    /// Most spans or log events in one forwarded request.
    pub forward_batch_size: usize,
    /// Longest a span waits for its batch to fill.
    #[serde(with = "humantime_serde_compat")]
    pub forward_batch_timeout: Duration,
    /// First pause after a failed forward; it doubles with each failure.
    #[serde(with = "humantime_serde_compat")]
    pub forward_retry_initial: Duration,
    /// Longest pause between retries.
    #[serde(with = "humantime_serde_compat")]
    pub forward_retry_max: Duration,
    /// Longest one forwarded request may take.
    #[serde(with = "humantime_serde_compat")]
    pub forward_timeout: Duration,
}

impl Default for CollectorConfig {
    fn default() -> Self {
        CollectorConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 9091)),
            data_dir: None,
            token: None,
            insecure: false,
            privacy: Privacy::Metadata,
            session_idle_timeout: Duration::from_secs(30 * 60),
            max_body_bytes: 8 * 1024 * 1024,
            series_limit: 10_000,
            label_value_bytes: 256,
            request_timeout: Duration::from_secs(30),
            retention: Duration::from_secs(30 * 24 * 60 * 60),
            otlp_drop_attributes: vec!["session.id".to_owned()],
            otlp_promote_resource_attributes: vec!["user.name".to_owned(), "user.email".to_owned()],
            forward_endpoint: None,
            forward_headers: Vec::new(),
            forward_logs: false,
            forward_queue_size: 10_000,
            forward_batch_size: 512,
            forward_batch_timeout: Duration::from_secs(1),
            forward_retry_initial: Duration::from_secs(1),
            forward_retry_max: Duration::from_secs(30),
            forward_timeout: Duration::from_secs(10),
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
    /// A forwarding setting that cannot work.
    #[error("forwarding: {0}")]
    Forward(String),
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
        if let Some(endpoint) = self.forward_endpoint() {
            let forward = |message: String| Err(ConfigError::Forward(message));
            if !endpoint.starts_with("http://") {
                return forward(format!(
                    "forward_endpoint {endpoint:?} must be an http:// URL (for https, forward to a local \
                     OpenTelemetry Collector or agent that holds the TLS settings)"
                ));
            }
            if self.forward_batch_size == 0 || self.forward_queue_size < self.forward_batch_size {
                return forward(
                    "forward_batch_size must be at least 1 and at most forward_queue_size"
                        .to_owned(),
                );
            }
            if let Some(bad) = self.forward_headers.iter().find(|h| {
                h.split_once('=')
                    .is_none_or(|(name, _)| name.trim().is_empty())
            }) {
                return forward(format!("forward_headers: {bad:?} is not Name=value"));
            }
        }
        Ok(())
    }

    /// The forwarding endpoint, when forwarding is on (an empty setting is off).
    pub fn forward_endpoint(&self) -> Option<&str> {
        self.forward_endpoint
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
    }
}
