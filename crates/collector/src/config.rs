//! The collector's configuration: the `[collector]` table of the TOML config file, then
//! the environment, then the command line.

use std::collections::BTreeMap;
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
    /// Most bytes of request bodies held at once, across every connection; a request
    /// beyond it is answered 503 with `Retry-After` (senders retry, the hook spools).
    pub bodies_in_flight_bytes: usize,
    /// Most connections open at once; when all are taken, the one idle longest is closed
    /// to make room.
    pub max_connections: usize,
    /// Longest a connection may take to send a request's head, and longest an idle
    /// keep-alive connection is kept (`10s`).
    #[serde(with = "humantime_serde_compat")]
    pub header_timeout: Duration,
    /// Host names, besides loopback names and IP addresses, that requests may be
    /// addressed to (`pushgateway`, `telemetry.example.com`); any other `Host` is refused,
    /// which is what defeats DNS rebinding.
    pub allowed_hosts: Vec<String>,
    /// Most series per metric, pushed metrics included.
    pub series_limit: usize,
    /// Most groups pushed through the Pushgateway API.
    pub push_groups_limit: usize,
    /// Most series in all pushed groups together (and so in one push).
    pub pushed_series_limit: usize,
    /// Longest label value kept.
    pub label_value_bytes: usize,
    /// The month's budget for Claude Code, US dollars: `/api/v1/budget` compares the
    /// month to date and its projection with it, `/metrics` exposes it
    /// (`claude_telemetry_monthly_budget_usd`) for the budget alert. None when unset.
    pub monthly_budget_usd: Option<f64>,
    /// The month's budget of single users, US dollars, by user as the page and
    /// `report --by user` name them (name, else email): `[collector.user_monthly_budgets_usd]`,
    /// `"ana@example.com" = 500`. Zero is a budget too (nothing to spend).
    pub user_monthly_budgets_usd: BTreeMap<String, f64>,
    /// The month's budget of single projects, US dollars, by project name as the page
    /// and `report --by project` name them: `[collector.project_monthly_budgets_usd]`,
    /// `"acme/api" = 1200`.
    pub project_monthly_budgets_usd: BTreeMap<String, f64>,
    /// Most projects named in labels; events of further projects are labelled
    /// `project="(other)"` (the store and the page keep every name).
    pub project_label_limit: usize,
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
            privacy: Level::Metadata,
            session_idle_timeout: Duration::from_secs(30 * 60),
            max_body_bytes: 8 * 1024 * 1024,
            // Four of the largest bodies at once: each takes about three times its size
            // once parsed, so 60 of them at once stay under 200 MB resident.
            bodies_in_flight_bytes: 32 * 1024 * 1024,
            max_connections: 512,
            header_timeout: Duration::from_secs(10),
            allowed_hosts: Vec::new(),
            series_limit: 10_000,
            push_groups_limit: 1_000,
            pushed_series_limit: 100_000,
            label_value_bytes: 256,
            monthly_budget_usd: None,
            user_monthly_budgets_usd: BTreeMap::new(),
            project_monthly_budgets_usd: BTreeMap::new(),
            project_label_limit: 200,
            request_timeout: Duration::from_secs(30),
            retention: Duration::from_secs(30 * 24 * 60 * 60),
            otlp_drop_attributes: crate::processors::otlp::translate::LabelPolicy::default().drop,
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
         Set CLAUDE_TELEMETRY_TOKEN (or `token` in the config file's [collector] table), \
         listen on 127.0.0.1, or pass --insecure"
    )]
    TokenRequired(SocketAddr),
    /// The token is too easy to guess, or cannot be sent in a header.
    #[error(
        "the token is too weak: {0}. Use at least {MIN_TOKEN_CHARS} printable characters \
         without spaces and with at least {MIN_DISTINCT_TOKEN_CHARS} different ones, \
         for example the output of `openssl rand -hex 32`"
    )]
    WeakToken(&'static str),
    /// A forwarding setting that cannot work.
    #[error("forwarding: {0}")]
    Forward(String),
    /// A limit that leaves nothing to serve with.
    #[error("{0}")]
    Limit(String),
    /// An allowed host that is not a host name.
    #[error("allowed_hosts: {0:?} is not a host name (write it without scheme, port or path)")]
    AllowedHost(String),
}

/// The fewest characters a token may have.
pub const MIN_TOKEN_CHARS: usize = 16;
/// The fewest different characters a token may have (`aaaa…` is not a secret).
pub const MIN_DISTINCT_TOKEN_CHARS: usize = 8;

/// Why `token` is too weak to guard the collector, if it is.
fn token_weakness(token: &str) -> Option<&'static str> {
    if token.chars().count() < MIN_TOKEN_CHARS {
        return Some("it is shorter than 16 characters");
    }
    // It travels in an `Authorization` header and a form: visible ASCII only, so what
    // the user typed is what is compared (no trimmed spaces, no encoding surprises).
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Some("it holds spaces, control or non-ASCII characters");
    }
    let distinct: std::collections::BTreeSet<u8> = token.bytes().collect();
    if distinct.len() < MIN_DISTINCT_TOKEN_CHARS {
        return Some("it repeats too few different characters");
    }
    None
}

impl CollectorConfig {
    /// Every configured monthly budget.
    pub fn budgets(&self) -> crate::query::Budgets {
        crate::query::Budgets {
            everyone: self.monthly_budget_usd,
            users: self.user_monthly_budgets_usd.clone(),
            projects: self.project_monthly_budgets_usd.clone(),
        }
    }

    /// Checks what must hold before serving.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(weakness) = self.token.as_deref().and_then(token_weakness) {
            return Err(ConfigError::WeakToken(weakness));
        }
        if self.bodies_in_flight_bytes < self.max_body_bytes {
            return Err(ConfigError::Limit(format!(
                "bodies_in_flight_bytes ({}) must be at least max_body_bytes ({})",
                self.bodies_in_flight_bytes, self.max_body_bytes
            )));
        }
        if let Some(budget) = self.monthly_budget_usd
            && !(budget.is_finite() && budget > 0.0)
        {
            return Err(ConfigError::Limit(format!(
                "monthly_budget_usd must be a positive amount of dollars, got {budget}"
            )));
        }
        for (key, budgets) in [
            ("user_monthly_budgets_usd", &self.user_monthly_budgets_usd),
            (
                "project_monthly_budgets_usd",
                &self.project_monthly_budgets_usd,
            ),
        ] {
            for (name, &usd) in budgets {
                if name.trim().is_empty() {
                    return Err(ConfigError::Limit(format!(
                        "{key}: a budget needs the name of whose it is, got {name:?}"
                    )));
                }
                if !(usd.is_finite() && usd >= 0.0) {
                    return Err(ConfigError::Limit(format!(
                        "{key}: the budget of {name:?} must be an amount of dollars, zero or more, got {usd}"
                    )));
                }
            }
        }
        if self.max_connections == 0 || self.header_timeout.is_zero() {
            return Err(ConfigError::Limit(
                "max_connections and header_timeout must be more than zero".to_owned(),
            ));
        }
        if let Some(bad) = self.allowed_hosts.iter().find(|host| !is_host_name(host)) {
            return Err(ConfigError::AllowedHost(bad.clone()));
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

/// Whether `name` can be an allowed host: a DNS name (letters, digits, `-`, `.`, `_`).
pub fn is_host_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
}
