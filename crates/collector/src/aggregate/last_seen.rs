//! When each source last sent something: the time of its latest stored event, kept as the
//! aggregator is fed (live and on replay) and in its baseline, so the page can say it
//! without reading the store. One comparison per event; it must not do more.

use serde::{Deserialize, Serialize};

use crate::event::Payload;

/// The time of each source's latest event, Unix milliseconds; none before its first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastSeen {
    /// Hook events (`POST /v1/hooks`).
    pub hooks: Option<i64>,
    /// OTLP metrics exports (`POST /v1/metrics`).
    pub otlp_metrics: Option<i64>,
    /// OTLP log events (`POST /v1/logs`).
    pub otlp_logs: Option<i64>,
    /// Spans (`POST /v1/traces`).
    pub traces: Option<i64>,
}

impl LastSeen {
    /// Whether Claude Code's own telemetry, where cost and tokens come from, ever
    /// arrived (hooks do not carry them).
    pub fn has_telemetry(&self) -> bool {
        self.otlp_logs.is_some() || self.otlp_metrics.is_some()
    }

    /// Notes an event of `payload`'s source at `ts_ms`.
    pub(super) fn saw(&mut self, payload: &Payload, ts_ms: i64) {
        let latest = match payload {
            Payload::Hook(_) => &mut self.hooks,
            Payload::OtlpMetrics(_) => &mut self.otlp_metrics,
            Payload::OtlpLog(_) => &mut self.otlp_logs,
            Payload::Span(_) => &mut self.traces,
        };
        *latest = Some(latest.map_or(ts_ms, |seen| seen.max(ts_ms)));
    }

    /// Whether no source has sent anything.
    pub fn is_empty(&self) -> bool {
        *self == LastSeen::default()
    }
}
