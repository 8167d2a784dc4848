//! What bounds the aggregator: the limits it is configured with, and the series limit
//! applied to every family it owns, with the count of series kept out.

use crate::exposition::{Family, Kind, Labels};

/// Limits the aggregator enforces.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A session with no event for this long has ended.
    pub session_idle_ms: i64,
    /// Most series per metric; further series are dropped and counted.
    pub series_per_metric: usize,
    /// Longest label value kept; longer ones are cut.
    pub label_value_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            session_idle_ms: 30 * 60 * 1000,
            series_per_metric: 10_000,
            label_value_bytes: 256,
        }
    }
}

/// `value` cut to at most `max` bytes, on a character boundary: how every label value
/// is bounded.
pub(super) fn cap(value: &str, max: usize) -> String {
    if value.len() <= max {
        return value.to_owned();
    }
    let mut end = max;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    value[..end].to_owned()
}

/// The series limit, applied to every family the aggregator owns, and the count of
/// series it kept out.
pub(super) struct Cardinality {
    limit: usize,
    /// `claude_telemetry_series_dropped_total`, by metric.
    pub(super) dropped: Family,
}

impl Cardinality {
    pub(super) fn new(limit: usize) -> Cardinality {
        Cardinality {
            limit,
            dropped: Family::new(
                "claude_telemetry_series_dropped_total",
                "Series not created because a metric reached its series limit.",
                Kind::Counter,
            ),
        }
    }

    /// Whether `family` may hold a series with `labels` (existing ones always may);
    /// counts the refusal.
    pub(super) fn admit(&mut self, family: &Family, labels: &Labels) -> bool {
        if family.contains(labels) || family.len() < self.limit {
            return true;
        }
        self.dropped
            .add(vec![("metric".to_owned(), family.name.clone())], 1.0);
        false
    }

    pub(super) fn add(&mut self, family: &mut Family, labels: Labels, delta: f64) {
        if self.admit(family, &labels) {
            family.add(labels, delta);
        }
    }

    pub(super) fn set(&mut self, family: &mut Family, labels: Labels, value: f64) {
        if self.admit(family, &labels) {
            family.set(labels, value);
        }
    }

    pub(super) fn observe(&mut self, family: &mut Family, labels: Labels, value: f64) {
        if self.admit(family, &labels) {
            family.observe(labels, value);
        }
    }
}
