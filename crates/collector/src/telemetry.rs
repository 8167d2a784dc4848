//! The collector's metrics about itself (`claude_telemetry_*`): what it received, what
//! it refused and why, what it dropped as duplicates, and the budget it was given. Each
//! family is a field.
//!
//! Counts requests as they are answered; not kept across restarts (the store's counters
//! are the aggregator's).

use std::sync::Mutex;

use crate::error::Reason;
use crate::exposition::{Encoded, Family, Kind};
use crate::sync::lock;

/// What took events in: the `source` label of `claude_telemetry_events_received_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intake {
    /// `POST /v1/hooks`.
    Hooks,
    /// `POST /v1/logs`.
    OtlpLogs,
    /// `POST /v1/metrics` (counted in data points).
    OtlpMetrics,
    /// `POST /v1/traces` (counted in spans).
    OtlpTraces,
    /// The Pushgateway API (counted in pushes).
    Pushgateway,
}

impl Intake {
    fn label(self) -> &'static str {
        match self {
            Intake::Hooks => "hook",
            Intake::OtlpLogs => "otlp_logs",
            Intake::OtlpMetrics => "otlp_metrics",
            Intake::OtlpTraces => "otlp_traces",
            Intake::Pushgateway => "push",
        }
    }
}

struct Families {
    received: Family,
    rejected: Family,
    duplicates: Family,
    otlp_points_rejected: Family,
    spans_rejected: Family,
    monthly_budget: Family,
}

/// Counters about the collector itself, shared by every handler.
pub struct Telemetry(Mutex<Families>);

impl Default for Telemetry {
    fn default() -> Self {
        Telemetry(Mutex::new(Families {
            received: Family::new(
                "claude_telemetry_events_received_total",
                "Events stored, by source.",
                Kind::Counter,
            ),
            rejected: Family::new(
                "claude_telemetry_requests_rejected_total",
                "Requests refused, by reason.",
                Kind::Counter,
            ),
            duplicates: Family::new(
                "claude_telemetry_events_duplicate_total",
                "Events dropped because their id was already stored.",
                Kind::Counter,
            ),
            otlp_points_rejected: Family::new(
                "claude_telemetry_otlp_points_rejected_total",
                "OTLP data points refused on arrival (reported to the sender as a partial success), by reason: unsupported or invalid.",
                Kind::Counter,
            ),
            spans_rejected: Family::new(
                "claude_telemetry_spans_rejected_total",
                "OTLP spans refused on arrival (reported to the sender as a partial success): an id of the wrong length or all zero, or an end before the start.",
                Kind::Counter,
            ),
            monthly_budget: Family::new(
                "claude_telemetry_monthly_budget_usd",
                "The month's budget for Claude Code in US dollars (monthly_budget_usd); absent when none is set.",
                Kind::Gauge,
            ),
        }))
    }
}

impl Telemetry {
    /// `count` events taken in by `intake`.
    pub fn received(&self, intake: Intake, count: usize) {
        lock(&self.0).received.add(
            vec![("source".to_owned(), intake.label().to_owned())],
            count as f64,
        );
    }

    /// `count` events that were already stored.
    pub fn duplicates(&self, count: usize) {
        lock(&self.0).duplicates.add(Vec::new(), count as f64);
    }

    /// A refused request.
    pub fn rejected(&self, reason: Reason) {
        lock(&self.0)
            .rejected
            .add(vec![("reason".to_owned(), reason.as_str().to_owned())], 1.0);
    }

    /// OTLP data points refused on arrival.
    pub fn otlp_points_rejected(&self, reason: &str, points: usize) {
        lock(&self.0).otlp_points_rejected.add(
            vec![("reason".to_owned(), reason.to_owned())],
            points as f64,
        );
    }

    /// OTLP spans refused on arrival.
    pub fn spans_rejected(&self, spans: usize) {
        if spans > 0 {
            lock(&self.0).spans_rejected.add(Vec::new(), spans as f64);
        }
    }

    /// The month's budget, as configured.
    pub fn monthly_budget(&self, usd: f64) {
        lock(&self.0).monthly_budget.set(Vec::new(), usd);
    }

    /// Every family with series, encoded for `/metrics`.
    pub fn encoded(&self) -> Vec<Encoded> {
        let mut families = lock(&self.0);
        let Families {
            received,
            rejected,
            duplicates,
            otlp_points_rejected,
            spans_rejected,
            monthly_budget,
        } = &mut *families;
        [
            received,
            rejected,
            duplicates,
            otlp_points_rejected,
            spans_rejected,
            monthly_budget,
        ]
        .into_iter()
        .filter_map(Family::encoded)
        .collect()
    }
}
