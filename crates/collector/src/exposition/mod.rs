//! Metric families and their text exposition, in the Prometheus text format (0.0.4) and
//! OpenMetrics 1.0.
//!
//! A small model rather than a metrics library: the collector's series are not known
//! at compile time (pushed groups, OTLP metrics of any name), and the same families must
//! render in both formats. Owns no state of its own and knows nothing of where series
//! come from.

pub mod parse;
pub mod protobuf;

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// A metric type: the one representation of it, from a push, an OTLP point, the
/// aggregator's own families and the store's baseline alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Only goes up; the name ends in `_total`.
    #[serde(alias = "Counter")]
    Counter,
    /// Goes up and down.
    #[serde(alias = "Gauge")]
    Gauge,
    /// Observations in cumulative buckets, with `_sum` and `_count`.
    #[serde(alias = "Histogram")]
    Histogram,
    /// Quantiles, with `_sum` and `_count` (only ever pushed by clients).
    #[serde(alias = "Summary")]
    Summary,
    /// Anything else a client pushed.
    #[serde(alias = "Untyped")]
    Untyped,
}

impl Kind {
    /// The name the text format's `# TYPE` line gives it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
            Kind::Summary => "summary",
            Kind::Untyped => "untyped",
        }
    }

    /// The kind a `# TYPE` line names.
    pub fn from_name(name: &str) -> Option<Kind> {
        [
            Kind::Counter,
            Kind::Gauge,
            Kind::Histogram,
            Kind::Summary,
            Kind::Untyped,
        ]
        .into_iter()
        .find(|kind| kind.name() == name)
    }
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

/// When a series was born: its place in the order of births, and the collector's clock
/// then (Unix ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Birth {
    /// Births so far, this one included.
    pub seq: u64,
    /// When.
    pub at_ms: i64,
}

/// A metric family: one name, one type, many series.
///
/// Keeps its sample lines encoded until a series changes, so a scrape re-encodes only
/// the families that changed since the last one. Remembers when its recent counter and
/// histogram series were born, so a scrape can show them at zero first
/// ([`Family::encoded_holding`]): Prometheus counts a series' increase only from its
/// first sample, and a series first seen at its value would never count the events
/// that made it.
#[derive(Debug, Clone)]
pub struct Family {
    /// The name as Prometheus shows it (counters include `_total`).
    pub name: String,
    /// HELP text.
    pub help: String,
    /// The type.
    pub kind: Kind,
    /// Histogram upper bounds (without +Inf).
    pub bounds: Vec<f64>,
    series: BTreeMap<Labels, Value>,
    encoded: Option<Arc<str>>,
    births: BTreeMap<Labels, Birth>,
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
            encoded: None,
            births: BTreeMap::new(),
        }
    }
}

impl FamilySnapshot {
    /// The family's name.
    pub fn name(&self) -> &str {
        &self.name
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
            encoded: None,
            births: BTreeMap::new(),
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
        if let Value::Scalar(v) = self.series_mut(labels, || Value::Scalar(0.0)) {
            *v += delta;
        }
    }

    /// Sets a gauge series.
    pub fn set(&mut self, labels: Labels, value: f64) {
        self.encoded = None;
        self.series.insert(labels, Value::Scalar(value));
    }

    /// Records one observation in a histogram series.
    pub fn observe(&mut self, labels: Labels, observation: f64) {
        let buckets = self.bounds.len();
        let index = self.bounds.iter().position(|bound| observation <= *bound);
        let value = self.series_mut(labels, || Value::Histogram {
            counts: vec![0; buckets],
            sum: 0.0,
            count: 0,
        });
        if let Value::Histogram { counts, sum, count } = value {
            if let Some(index) = index {
                counts[index] += 1;
            }
            *sum += observation;
            *count += 1;
        }
    }

    /// A series to change in place, created with `default` when new.
    pub fn series_mut(&mut self, labels: Labels, default: impl FnOnce() -> Value) -> &mut Value {
        self.encoded = None;
        self.series.entry(labels).or_insert_with(default)
    }

    /// Every series, by labels.
    pub fn series(&self) -> &BTreeMap<Labels, Value> {
        &self.series
    }

    /// Whether a series with these labels exists.
    pub fn contains(&self, labels: &Labels) -> bool {
        self.series.contains_key(labels)
    }

    /// How many series there are.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// Whether there is no series (such a family is not rendered).
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
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

    /// Notes that the series `labels`, not yet in the family, is born now. Only
    /// counters and histograms are held at zero; a gauge's level is news at once.
    pub fn born(&mut self, labels: &Labels, birth: Birth) {
        if matches!(self.kind, Kind::Counter | Kind::Histogram) && !self.series.contains_key(labels)
        {
            self.births.insert(labels.clone(), birth);
        }
    }

    /// Forgets the births every scraper has seen.
    pub fn forget_births(&mut self, seen_by_all: &dyn Fn(&Birth) -> bool) {
        self.births.retain(|_, birth| !seen_by_all(birth));
    }

    /// Forgets every birth: what exists now, every scraper is taken to have seen (after
    /// a replay, Prometheus already holds these series).
    pub fn settle(&mut self) {
        self.births.clear();
    }

    /// The family ready to write, its sample lines encoded once per change; `None` when
    /// it has no series.
    pub fn encoded(&mut self) -> Option<Encoded> {
        self.encoded_holding(&|_| false)
    }

    /// The family ready to write for one scraper: series whose birth `held` says this
    /// scraper has not seen yet are written at zero (their first sample), the others as
    /// they are. `None` when it has no series.
    pub fn encoded_holding(&mut self, held: &dyn Fn(&Birth) -> bool) -> Option<Encoded> {
        if self.series.is_empty() {
            return None;
        }
        let holding = self.births.values().any(held);
        let samples = match &self.encoded {
            _ if holding => {
                encode_samples(self, &|labels| self.births.get(labels).is_some_and(held)).into()
            }
            Some(samples) => samples.clone(),
            None => {
                let samples: Arc<str> = encode_samples(self, &|_| false).into();
                self.encoded = Some(samples.clone());
                samples
            }
        };
        Some(Encoded {
            name: self.name.clone(),
            help: self.help.clone(),
            kind: self.kind,
            samples: vec![samples],
        })
    }
}

/// A family ready to write in either format: its name, help and type, and its sample
/// lines (the same in both formats), possibly in several parts (a pushed family with the
/// name of one of the collector's own is written inside it).
#[derive(Debug, Clone)]
pub struct Encoded {
    /// The name.
    pub name: String,
    /// HELP text.
    pub help: String,
    /// The type.
    pub kind: Kind,
    /// Sample lines, each part ending in a newline.
    pub samples: Vec<Arc<str>>,
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
    let encoded: Vec<Encoded> = families
        .into_iter()
        .filter(|family| !family.is_empty())
        .map(|family| Encoded {
            name: family.name.clone(),
            help: family.help.clone(),
            kind: family.kind,
            samples: vec![encode_samples(family, &|_| false).into()],
        })
        .collect();
    write(&encoded, format)
}

/// Writes encoded families, in order, in `format`.
pub fn write(families: &[Encoded], format: Format) -> String {
    let size: usize = families
        .iter()
        .flat_map(|f| &f.samples)
        .map(|s| s.len())
        .sum();
    let mut out = String::with_capacity(size + families.len() * 128 + 8);
    for family in families {
        write_header(&mut out, family, format);
        for part in &family.samples {
            out.push_str(part);
        }
    }
    if format == Format::OpenMetrics {
        out.push_str("# EOF\n");
    }
    out
}

fn write_header(out: &mut String, family: &Encoded, format: Format) {
    let name = family.name.as_str();
    let (type_name, kind) = match (format, family.kind) {
        (Format::OpenMetrics, Kind::Counter) => {
            (name.strip_suffix("_total").unwrap_or(name), "counter")
        }
        (Format::OpenMetrics, Kind::Untyped) => (name, "unknown"),
        (_, kind) => (name, kind.name()),
    };
    if !family.help.is_empty() {
        let _ = writeln!(out, "# HELP {type_name} {}", escape_help(&family.help));
    }
    let _ = writeln!(out, "# TYPE {type_name} {kind}");
}

/// A family's sample lines, the same in both formats; `at_zero` series are written as
/// if nothing had happened yet.
fn encode_samples(family: &Family, at_zero: &dyn Fn(&Labels) -> bool) -> String {
    let mut out = String::with_capacity(family.series.len() * 96);
    for (labels, value) in &family.series {
        let zero;
        let value = if at_zero(labels) {
            zero = match value {
                Value::Histogram { counts, .. } => Value::Histogram {
                    counts: vec![0; counts.len()],
                    sum: 0.0,
                    count: 0,
                },
                _ => Value::Scalar(0.0),
            };
            &zero
        } else {
            value
        };
        match value {
            Value::Scalar(v) => sample(&mut out, &family.name, "", labels, &[], None, *v),
            Value::Raw(samples) => {
                for (suffix, extra, v) in samples {
                    sample(&mut out, &family.name, suffix, labels, extra, None, *v);
                }
            }
            Value::Histogram { counts, sum, count } => {
                let mut cumulative = 0;
                for (bound, n) in family.bounds.iter().zip(counts) {
                    cumulative += n;
                    let le = format_float(*bound);
                    sample(
                        &mut out,
                        &family.name,
                        "_bucket",
                        labels,
                        &[],
                        Some(&le),
                        cumulative as f64,
                    );
                }
                sample(
                    &mut out,
                    &family.name,
                    "_bucket",
                    labels,
                    &[],
                    Some("+Inf"),
                    *count as f64,
                );
                sample(&mut out, &family.name, "_sum", labels, &[], None, *sum);
                sample(
                    &mut out,
                    &family.name,
                    "_count",
                    labels,
                    &[],
                    None,
                    *count as f64,
                );
            }
        }
    }
    out
}

fn sample(
    out: &mut String,
    name: &str,
    suffix: &str,
    labels: &[(String, String)],
    extra: &[(String, String)],
    le: Option<&str>,
    value: f64,
) {
    out.push_str(name);
    out.push_str(suffix);
    let mut pairs = labels
        .iter()
        .chain(extra)
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain(le.map(|le| ("le", le)))
        .peekable();
    if pairs.peek().is_some() {
        out.push('{');
        let mut first = true;
        for (key, val) in pairs {
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
    write_float(out, value);
    out.push('\n');
}

/// A float as the exposition formats write it.
pub fn format_float(value: f64) -> String {
    let mut out = String::new();
    write_float(&mut out, value);
    out
}

fn write_float(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value == f64::INFINITY {
        out.push_str("+Inf");
    } else if value == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else {
        let _ = write!(out, "{value}");
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
