//! The collector's metrics about itself (`claude_telemetry_*`): what it received, what
//! it refused and why, what it dropped as duplicates, and the budgets it was given; and
//! the month's spending each budget holds, as the scrape reads it. Each family is a
//! field or a function.
//!
//! Counts requests as they are answered; not kept across restarts (the store's counters
//! are the aggregator's).

use std::sync::Mutex;

use crate::error::Reason;
use crate::exposition::{Encoded, Family, Kind, Labels};
use crate::query::{BudgetLine, Budgets, Scope};
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
                "The month's budget for Claude Code in US dollars: everyone's without labels (monthly_budget_usd), a user's with user (user_monthly_budgets_usd), a project's with project (project_monthly_budgets_usd); absent when none is set.",
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

    /// The month's budgets, as configured.
    pub fn monthly_budgets(&self, budgets: &Budgets) {
        let family = &mut lock(&self.0).monthly_budget;
        if let Some(usd) = budgets.everyone {
            family.set(Vec::new(), usd);
        }
        for (scope, named) in [
            (Scope::User, &budgets.users),
            (Scope::Project, &budgets.projects),
        ] {
            for (name, &usd) in named {
                family.set(budget_labels(scope, Some(name)), usd);
            }
        }
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

/// A budget's labels: none for everyone's, `user` or `project` for one's.
fn budget_labels(scope: Scope, name: Option<&str>) -> Labels {
    let label = match scope {
        Scope::Everyone => return Vec::new(),
        Scope::User => "user",
        Scope::Project => "project",
    };
    vec![(label.to_owned(), name.unwrap_or_default().to_owned())]
}

/// The month's spending of each budget, labelled as its budget is in
/// `claude_telemetry_monthly_budget_usd`, for the budget alerts to compare.
pub fn budget_spending(lines: &[BudgetLine]) -> Vec<Encoded> {
    let mut spent = Family::new(
        "claude_telemetry_month_to_date_cost_usd",
        "What each configured monthly budget holds, spent from the first of the month (UTC) until now, in US dollars; labelled as its budget.",
        Kind::Gauge,
    );
    let mut projected = Family::new(
        "claude_telemetry_month_projected_cost_usd",
        "Where each configured monthly budget's spending ends the month (UTC) at its pace so far, in US dollars; labelled as its budget.",
        Kind::Gauge,
    );
    for line in lines {
        let labels = budget_labels(line.scope, line.name.as_deref());
        spent.set(labels.clone(), line.month_to_date_usd);
        projected.set(labels, line.projected_usd);
    }
    [spent, projected]
        .iter_mut()
        .filter_map(Family::encoded)
        .collect()
}
