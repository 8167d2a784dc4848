//! Metric families and their text exposition, in the Prometheus text format (0.0.4) and
//! OpenMetrics 1.0.
//!
//! A small model rather than a metrics library: the collector's series are not known
//! at compile time (pushed groups, OTLP metrics of any name), and the same families must
//! render in both formats.

pub mod parse;
pub mod protobuf;

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::{Deserialize, Serialize};

/// A metric type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// Only goes up; the name ends in `_total`.
    Counter,
    /// Goes up and down.
    Gauge,
    /// Observations in cumulative buckets, with `_sum` and `_count`.
    Histogram,
    /// Quantiles, with `_sum` and `_count` (only ever pushed by clients).
    Summary,
    /// Anything else a client pushed.
    Untyped,
}

/// Label pairs in the order they are rendered.
pub type Labels = Vec<(String, String)>;

/// One series' value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    /// Counter or gauge or untyped.
    Scalar(f64),
    /// Samples as a client pushed them: `(suffix, extra labels, value)`, e.g.
    /// `("_bucket", [le="1"], 3)` or `("", [quantile="0.5"], 0.2)`.
    Raw(Vec<(String, Labels, f64)>),
    /// Histogram: counts per upper bound (not cumulative), sum and count.
    Histogram {
        /// Observations per bucket, parallel to the family's bounds.
        counts: Vec<u64>,
        /// Sum of observations.
        sum: f64,
        /// Number of observations.
        count: u64,
    },
}

/// A metric family: one name, one type, many series.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    /// The name as Prometheus shows it (counters include `_total`).
    pub name: String,
    /// HELP text.
    pub help: String,
    /// The type.
    pub kind: Kind,
    /// Histogram upper bounds (without +Inf).
    pub bounds: Vec<f64>,
    /// The series, by labels.
    pub series: BTreeMap<Labels, Value>,
}

/// A family as kept in the store's baseline (series as a list: JSON maps need string keys).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FamilySnapshot {
    name: String,
    help: String,
    kind: Kind,
    bounds: Vec<f64>,
    series: Vec<(Labels, Value)>,
}

impl From<&Family> for FamilySnapshot {
    fn from(family: &Family) -> FamilySnapshot {
        FamilySnapshot {
            name: family.name.clone(),
            help: family.help.clone(),
            kind: family.kind,
            bounds: family.bounds.clone(),
            series: family
                .series
                .iter()
                .map(|(l, v)| (l.clone(), v.clone()))
                .collect(),
        }
    }
}

impl From<FamilySnapshot> for Family {
    fn from(snapshot: FamilySnapshot) -> Family {
        Family {
            name: snapshot.name,
            help: snapshot.help,
            kind: snapshot.kind,
            bounds: snapshot.bounds,
            series: snapshot.series.into_iter().collect(),
        }
    }
}

impl Family {
    /// An empty family.
    pub fn new(name: impl Into<String>, help: impl Into<String>, kind: Kind) -> Family {
        Family {
            name: name.into(),
            help: help.into(),
            kind,
            bounds: Vec::new(),
            series: BTreeMap::new(),
        }
    }

    /// An empty histogram family with these bucket bounds.
    pub fn histogram(name: impl Into<String>, help: impl Into<String>, bounds: &[f64]) -> Family {
        Family {
            bounds: bounds.to_vec(),
            ..Family::new(name, help, Kind::Histogram)
        }
    }

    /// Adds to a counter or gauge series, creating it at zero.
    pub fn add(&mut self, labels: Labels, delta: f64) {
        let value = self.series.entry(labels).or_insert(Value::Scalar(0.0));
        if let Value::Scalar(v) = value {
            *v += delta;
        }
    }

    /// Sets a gauge series.
    pub fn set(&mut self, labels: Labels, value: f64) {
        self.series.insert(labels, Value::Scalar(value));
    }

    /// Records one observation in a histogram series.
    pub fn observe(&mut self, labels: Labels, observation: f64) {
        let buckets = self.bounds.len();
        let value = self
            .series
            .entry(labels)
            .or_insert_with(|| Value::Histogram {
                counts: vec![0; buckets],
                sum: 0.0,
                count: 0,
            });
        if let Value::Histogram { counts, sum, count } = value {
            if let Some(index) = self.bounds.iter().position(|bound| observation <= *bound) {
                counts[index] += 1;
            }
            *sum += observation;
            *count += 1;
        }
    }

    /// The value of a series, if it exists.
    pub fn get(&self, labels: &[(&str, &str)]) -> Option<&Value> {
        self.series.iter().find_map(|(key, value)| {
            let same = key.len() == labels.len()
                && key
                    .iter()
                    .zip(labels)
                    .all(|((k, v), (lk, lv))| k == lk && v == lv);
            same.then_some(value)
        })
    }
}

/// The exposition format a scraper asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`.
    Text,
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
}

impl Format {
    /// Picks the format from an `Accept` header, as Prometheus negotiates it.
    pub fn negotiate(accept: Option<&str>) -> Format {
        match accept {
            Some(accept) if accept.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Text,
        }
    }

    /// The `Content-Type` of this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// Renders families, in order, in `format`. Families with no series are left out.
pub fn render<'a>(families: impl IntoIterator<Item = &'a Family>, format: Format) -> String {
    let mut out = String::with_capacity(64 * 1024);
    for family in families {
        if family.series.is_empty() {
            continue;
        }
        render_family(&mut out, family, format);
    }
    if format == Format::OpenMetrics {
        out.push_str("# EOF\n");
    }
    out
}

fn render_family(out: &mut String, family: &Family, format: Format) {
    let (type_name, kind) = match (format, family.kind) {
        (Format::OpenMetrics, Kind::Counter) => (
            family.name.strip_suffix("_total").unwrap_or(&family.name),
            "counter",
        ),
        (Format::OpenMetrics, Kind::Untyped) => (family.name.as_str(), "unknown"),
        (_, Kind::Counter) => (family.name.as_str(), "counter"),
        (_, Kind::Gauge) => (family.name.as_str(), "gauge"),
        (_, Kind::Histogram) => (family.name.as_str(), "histogram"),
        (_, Kind::Summary) => (family.name.as_str(), "summary"),
        (_, Kind::Untyped) => (family.name.as_str(), "untyped"),
    };
    if !family.help.is_empty() {
        let _ = writeln!(out, "# HELP {type_name} {}", escape_help(&family.help));
    }
    let _ = writeln!(out, "# TYPE {type_name} {kind}");
    for (labels, value) in &family.series {
        match value {
            Value::Scalar(v) => sample(out, &family.name, labels, None, *v),
            Value::Raw(samples) => {
                for (suffix, extra, v) in samples {
                    let mut all = labels.clone();
                    all.extend(extra.iter().cloned());
                    sample(out, &format!("{}{suffix}", family.name), &all, None, *v);
                }
            }
            Value::Histogram { counts, sum, count } => {
                let bucket = format!("{}_bucket", family.name);
                let mut cumulative = 0;
                for (bound, n) in family.bounds.iter().zip(counts) {
                    cumulative += n;
                    sample(
                        out,
                        &bucket,
                        labels,
                        Some(&format_float(*bound)),
                        cumulative as f64,
                    );
                }
                sample(out, &bucket, labels, Some("+Inf"), *count as f64);
                sample(out, &format!("{}_sum", family.name), labels, None, *sum);
                sample(
                    out,
                    &format!("{}_count", family.name),
                    labels,
                    None,
                    *count as f64,
                );
            }
        }
    }
}

fn sample(out: &mut String, name: &str, labels: &Labels, le: Option<&str>, value: f64) {
    out.push_str(name);
    if !labels.is_empty() || le.is_some() {
        out.push('{');
        let mut first = true;
        for (key, val) in labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(le.map(|le| ("le", le)))
        {
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(key);
            out.push_str("=\"");
            escape_label_into(out, val);
            out.push('"');
        }
        out.push('}');
    }
    out.push(' ');
    out.push_str(&format_float(value));
    out.push('\n');
}

/// A float as the exposition formats write it.
pub fn format_float(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value == f64::INFINITY {
        "+Inf".to_owned()
    } else if value == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else {
        format!("{value}")
    }
}

fn escape_label_into(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn text_format() {
        let mut counter = Family::new("x_total", "Things.\nMore.", Kind::Counter);
        counter.add(labels(&[("a", "q\"\\\n")]), 2.0);
        let mut histogram = Family::histogram("d_seconds", "Durations.", &[0.1, 1.0]);
        histogram.observe(labels(&[]), 0.05);
        histogram.observe(labels(&[]), 0.5);
        histogram.observe(labels(&[]), 5.0);
        let text = render([&counter, &histogram], Format::Text);
        assert_eq!(
            text,
            "# HELP x_total Things.\\nMore.\n# TYPE x_total counter\nx_total{a=\"q\\\"\\\\\\n\"} 2\n\
             # HELP d_seconds Durations.\n# TYPE d_seconds histogram\n\
             d_seconds_bucket{le=\"0.1\"} 1\nd_seconds_bucket{le=\"1\"} 2\nd_seconds_bucket{le=\"+Inf\"} 3\n\
             d_seconds_sum 5.55\nd_seconds_count 3\n"
        );
    }

    #[test]
    fn openmetrics_format() {
        let mut counter = Family::new("x_total", "Things.", Kind::Counter);
        counter.add(labels(&[]), 1.0);
        let mut gauge = Family::new("g", "Level.", Kind::Gauge);
        gauge.set(labels(&[]), -1.5);
        let text = render([&counter, &gauge], Format::OpenMetrics);
        assert_eq!(
            text,
            "# HELP x Things.\n# TYPE x counter\nx_total 1\n# HELP g Level.\n# TYPE g gauge\ng -1.5\n# EOF\n"
        );
    }

    #[test]
    fn negotiation() {
        assert_eq!(Format::negotiate(None), Format::Text);
        assert_eq!(
            Format::negotiate(Some(
                "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
            )),
            Format::OpenMetrics
        );
        assert_eq!(Format::negotiate(Some("text/plain")), Format::Text);
    }
}
