//! Blocking delivery of events to the collector's `POST /v1/hooks`.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

use crate::config::HookConfig;

/// A connection to the collector for the length of one hook invocation.
pub struct Collector {
    agent: ureq::Agent,
    timeout: Duration,
    endpoint: String,
    authorization: Option<String>,
}

/// Why the collector did not acknowledge a delivery.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// Worth trying again later: unreachable, timed out, overloaded, or not authorised yet
    /// (a token can be fixed without losing what was spooled meanwhile).
    #[error("collector at {endpoint} did not take the event: {reason}")]
    Retryable {
        /// Where we sent it.
        endpoint: String,
        /// What went wrong.
        reason: String,
        /// The budget ran out (as opposed to a refusal that came back at once).
        timed_out: bool,
    },
    /// The collector looked at the event and will never take it (4xx other than auth,
    /// timeout and rate limit). Retrying would loop forever.
    #[error("collector at {endpoint} rejected the event with HTTP {status}")]
    Rejected {
        /// Where we sent it.
        endpoint: String,
        /// The status it answered.
        status: u16,
    },
}

impl DeliveryError {
    /// Whether the attempt ended by running out of time.
    pub fn timed_out(&self) -> bool {
        matches!(
            self,
            DeliveryError::Retryable {
                timed_out: true,
                ..
            }
        )
    }
}

/// Resolves IP literals in place and hands host names to ureq's resolver.
///
/// ureq resolves every host on a helper thread so a slow DNS server cannot outlast the
/// timeout; for `127.0.0.1` that thread is pure cost (about a tenth of a millisecond of
/// the hook's budget), and the collector is usually addressed by IP.
#[derive(Debug, Default)]
struct LiteralFirst {
    names: DefaultResolver,
}

impl Resolver for LiteralFirst {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let literal = uri.authority().and_then(|authority| {
            let host = authority
                .host()
                .trim_start_matches('[')
                .trim_end_matches(']');
            let ip: IpAddr = host.parse().ok()?;
            let port = authority.port_u16().or_else(|| match uri.scheme_str() {
                Some("https") => Some(443),
                _ => Some(80),
            })?;
            Some(SocketAddr::new(ip, port))
        });
        match literal {
            Some(addr) => {
                let mut addrs = self.empty();
                addrs.push(addr);
                Ok(addrs)
            }
            None => self.names.resolve(uri, config, timeout),
        }
    }
}

impl Collector {
    /// A client for `config.url` with the configured time budget.
    pub fn new(config: &HookConfig) -> Collector {
        Collector::with_timeout(config, config.timeout)
    }

    /// A client with an explicit budget per request.
    pub fn with_timeout(config: &HookConfig, timeout: Duration) -> Collector {
        let agent_config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .timeout_connect(Some(timeout))
            // Non-2xx answers are classified below, not turned into errors by ureq.
            .http_status_as_error(false)
            // The collector is on the local network; a corporate proxy from the
            // environment would only add latency or break delivery.
            .proxy(None)
            .user_agent(concat!("claude-telemetry-hook/", env!("CARGO_PKG_VERSION")))
            // ureq's 128 KiB default buffers are mmapped and unmapped on every request;
            // 16 KiB comes from the allocator and still holds any acknowledgement.
            .input_buffer_size(16 * 1024)
            .output_buffer_size(16 * 1024)
            .build();
        Collector {
            agent: ureq::Agent::with_parts(
                agent_config,
                DefaultConnector::new(),
                LiteralFirst::default(),
            ),
            timeout,
            endpoint: format!("{}/v1/hooks", config.url),
            authorization: config.token.as_ref().map(|token| format!("Bearer {token}")),
        }
    }

    /// The URL events are posted to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Posts one event (a JSON object).
    pub fn send_one(&self, event_json: &str) -> Result<(), DeliveryError> {
        self.post("application/json", event_json.as_bytes())
    }

    /// Posts several events as NDJSON, one object per line.
    pub fn send_batch(&self, ndjson: &[u8]) -> Result<(), DeliveryError> {
        self.post("application/x-ndjson", ndjson)
    }

    fn post(&self, content_type: &str, body: &[u8]) -> Result<(), DeliveryError> {
        let mut request = self
            .agent
            .post(&self.endpoint)
            .header("content-type", content_type);
        if let Some(authorization) = &self.authorization {
            request = request.header("authorization", authorization);
        }
        let response = request.send(body).map_err(|err| {
            let timed_out = matches!(err, ureq::Error::Timeout(_));
            DeliveryError::Retryable {
                endpoint: self.endpoint.clone(),
                reason: if timed_out {
                    format!(
                        "no acknowledgement within {} ms (timed out)",
                        self.timeout.as_millis()
                    )
                } else {
                    err.to_string()
                },
                timed_out,
            }
        })?;
        let status = response.status().as_u16();
        match status {
            200..=299 => Ok(()),
            401 | 403 | 404 | 408 | 429 | 500..=599 => Err(DeliveryError::Retryable {
                endpoint: self.endpoint.clone(),
                reason: format!("HTTP {status}"),
                timed_out: false,
            }),
            _ => Err(DeliveryError::Rejected {
                endpoint: self.endpoint.clone(),
                status,
            }),
        }
    }
}
