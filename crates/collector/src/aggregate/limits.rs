//! What bounds the aggregator: the limits it is configured with, and the series limit
//! applied to every family it owns, with the count of series kept out.

use std::collections::HashSet;

use crate::exposition::{Birth, Family, Kind, Labels};

/// Limits the aggregator enforces.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A session with no event for this long has ended.
    pub session_idle_ms: i64,
    /// Most series per metric; further series are dropped and counted.
    pub series_per_metric: usize,
    /// Longest label value kept; longer ones are cut.
    pub label_value_bytes: usize,
    /// Most projects named in `project` labels.
    pub project_labels: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            session_idle_ms: 30 * 60 * 1000,
            series_per_metric: 10_000,
            label_value_bytes: 256,
            project_labels: 200,
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
/// What `claude_telemetry_series_dropped_total` names a metric once it names
/// [`NAMED_METRICS`] (a flood of new metric names must not make it grow without bound).
pub const OTHER_METRICS: &str = "_other";
/// Metrics `claude_telemetry_series_dropped_total` names at most: more than the collector
/// can hold (its own, and at most a thousand from OTLP), fewer than a flood of pushes.
pub const NAMED_METRICS: usize = 2_000;

/// The series limit, applied to every family the aggregator owns, and the count of
/// series it kept out; where every new series passes, so where births are noted.
pub(super) struct Cardinality {
    limit: usize,
    /// `claude_telemetry_series_dropped_total`, by metric.
    pub(super) dropped: Family,
    /// The collector's clock, as the aggregator was last told it.
    pub(super) now_ms: i64,
    /// Series born so far.
    pub(super) births: u64,
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
            now_ms: 0,
            births: 0,
        }
    }

    /// Whether `family` may hold a series with `labels` (existing ones always may);
    /// counts the refusal, notes the birth of an admitted new one.
    pub(super) fn admit(&mut self, family: &mut Family, labels: &Labels) -> bool {
        if family.contains(labels) {
            return true;
        }
        if family.len() < self.limit {
            self.births += 1;
            let birth = Birth {
                seq: self.births,
                at_ms: self.now_ms,
            };
            family.born(labels, birth);
            return true;
        }
        self.count(&family.name, 1);
        false
    }

    /// Counts `series` kept out of `metric`. The count is a family too, and bounded:
    /// once it names [`NAMED_METRICS`], further ones are counted as [`OTHER_METRICS`].
    pub(super) fn count(&mut self, metric: &str, series: usize) {
        let mut labels = vec![("metric".to_owned(), metric.to_owned())];
        if !self.dropped.contains(&labels) && self.dropped.len() >= NAMED_METRICS {
            labels = vec![("metric".to_owned(), OTHER_METRICS.to_owned())];
        }
        self.dropped.add(labels, series as f64);
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

/// The label value a project goes by: its name while fewer than the limit have been
/// named, `(other)` beyond (first come, first named: a replay names the same ones).
pub(super) struct ProjectLabels {
    named: HashSet<String>,
    limit: usize,
}

/// The `project` label of projects beyond the limit.
pub const OTHER_PROJECTS: &str = "(other)";

impl ProjectLabels {
    pub(super) fn new(limit: usize) -> ProjectLabels {
        ProjectLabels {
            named: HashSet::new(),
            limit,
        }
    }

    /// The label value for the project named `name` (`""` stays empty).
    pub(super) fn label(&mut self, name: &str) -> String {
        if name.is_empty() || self.named.contains(name) {
            return name.to_owned();
        }
        if self.named.len() < self.limit {
            self.named.insert(name.to_owned());
            return name.to_owned();
        }
        OTHER_PROJECTS.to_owned()
    }

    /// Names again the projects a restored family names.
    pub(super) fn restore(&mut self, family: &Family) {
        for labels in family.series().keys() {
            for (key, value) in labels {
                if key == "project" && !value.is_empty() && value != OTHER_PROJECTS {
                    self.named.insert(value.clone());
                }
            }
        }
    }
}
