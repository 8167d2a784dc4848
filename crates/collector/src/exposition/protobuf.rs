//! The Prometheus client data model in protobuf (`io.prometheus.client`, the encoding the
//! Go client pushes by default), as far as pushes use it, and its conversion to the
//! parsed form the text format gives.
//!
//! The message definitions are the schema of `metrics.proto` written out for prost; no
//! maintained crate ships them as prost types.

use prost::Message;

use super::Kind;
use super::parse::{ParsedFamily, Sample};

/// `LabelPair`.
#[derive(Clone, PartialEq, Message)]
pub struct LabelPair {
    /// Label name.
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    /// Label value.
    #[prost(string, optional, tag = "2")]
    pub value: Option<String>,
}

/// `Gauge`, `Counter`, `Untyped`: one value.
#[derive(Clone, PartialEq, Message)]
pub struct Single {
    /// The value.
    #[prost(double, optional, tag = "1")]
    pub value: Option<f64>,
}

/// `Quantile`.
#[derive(Clone, PartialEq, Message)]
pub struct Quantile {
    /// Which quantile.
    #[prost(double, optional, tag = "1")]
    pub quantile: Option<f64>,
    /// Its value.
    #[prost(double, optional, tag = "2")]
    pub value: Option<f64>,
}

/// `Summary`.
#[derive(Clone, PartialEq, Message)]
pub struct Summary {
    /// Observations.
    #[prost(uint64, optional, tag = "1")]
    pub sample_count: Option<u64>,
    /// Sum of observations.
    #[prost(double, optional, tag = "2")]
    pub sample_sum: Option<f64>,
    /// Quantiles.
    #[prost(message, repeated, tag = "3")]
    pub quantile: Vec<Quantile>,
}

/// `Bucket`.
#[derive(Clone, PartialEq, Message)]
pub struct Bucket {
    /// Observations at or below the bound.
    #[prost(uint64, optional, tag = "1")]
    pub cumulative_count: Option<u64>,
    /// The bound.
    #[prost(double, optional, tag = "2")]
    pub upper_bound: Option<f64>,
}

/// `Histogram` (classic buckets).
#[derive(Clone, PartialEq, Message)]
pub struct Histogram {
    /// Observations.
    #[prost(uint64, optional, tag = "1")]
    pub sample_count: Option<u64>,
    /// Sum of observations.
    #[prost(double, optional, tag = "2")]
    pub sample_sum: Option<f64>,
    /// Buckets.
    #[prost(message, repeated, tag = "3")]
    pub bucket: Vec<Bucket>,
}

/// `Metric`: one series.
#[derive(Clone, PartialEq, Message)]
pub struct Metric {
    /// Labels.
    #[prost(message, repeated, tag = "1")]
    pub label: Vec<LabelPair>,
    /// Gauge value.
    #[prost(message, optional, tag = "2")]
    pub gauge: Option<Single>,
    /// Counter value.
    #[prost(message, optional, tag = "3")]
    pub counter: Option<Single>,
    /// Summary.
    #[prost(message, optional, tag = "4")]
    pub summary: Option<Summary>,
    /// Untyped value.
    #[prost(message, optional, tag = "5")]
    pub untyped: Option<Single>,
    /// Timestamp (pushes must not have one).
    #[prost(int64, optional, tag = "6")]
    pub timestamp_ms: Option<i64>,
    /// Histogram.
    #[prost(message, optional, tag = "7")]
    pub histogram: Option<Histogram>,
}

/// `MetricFamily`.
#[derive(Clone, PartialEq, Message)]
pub struct MetricFamily {
    /// Name.
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    /// HELP.
    #[prost(string, optional, tag = "2")]
    pub help: Option<String>,
    /// COUNTER 0, GAUGE 1, SUMMARY 2, UNTYPED 3, HISTOGRAM 4.
    #[prost(int32, optional, tag = "3")]
    pub r#type: Option<i32>,
    /// Series.
    #[prost(message, repeated, tag = "4")]
    pub metric: Vec<Metric>,
}

/// Decodes a body of length-delimited `MetricFamily` messages.
pub fn parse_delimited(mut body: &[u8]) -> Result<Vec<ParsedFamily>, String> {
    let mut families = Vec::new();
    while !body.is_empty() {
        let family = MetricFamily::decode_length_delimited(&mut body)
            .map_err(|err| format!("invalid protobuf: {err}"))?;
        families.push(convert(family)?);
    }
    Ok(families)
}

fn convert(family: MetricFamily) -> Result<ParsedFamily, String> {
    let name = family.name.unwrap_or_default();
    if !super::parse::valid_metric_name(&name) {
        return Err(format!("invalid metric name {name:?}"));
    }
    let kind = match family.r#type.unwrap_or(3) {
        0 => Kind::Counter,
        1 => Kind::Gauge,
        2 => Kind::Summary,
        3 => Kind::Untyped,
        4 => Kind::Histogram,
        other => return Err(format!("unsupported metric type {other} for {name}")),
    };
    let mut samples = Vec::new();
    for metric in family.metric {
        let labels: Vec<(String, String)> = metric
            .label
            .iter()
            .map(|l| {
                (
                    l.name.clone().unwrap_or_default(),
                    l.value.clone().unwrap_or_default(),
                )
            })
            .collect();
        if let Some((bad, _)) = labels
            .iter()
            .find(|(n, _)| !super::parse::valid_label_name(n))
        {
            return Err(format!("invalid label name {bad:?}"));
        }
        let timestamp = metric.timestamp_ms;
        let sample = |suffix: &str, extra: Option<(&str, String)>, value: f64| {
            let mut labels = labels.clone();
            if let Some((k, v)) = extra {
                labels.push((k.to_owned(), v));
            }
            Sample {
                name: format!("{name}{suffix}"),
                labels,
                value,
                timestamp,
            }
        };
        match kind {
            Kind::Counter => samples.push(sample(
                "",
                None,
                metric.counter.and_then(|c| c.value).unwrap_or(0.0),
            )),
            Kind::Gauge => samples.push(sample(
                "",
                None,
                metric.gauge.and_then(|g| g.value).unwrap_or(0.0),
            )),
            Kind::Untyped => samples.push(sample(
                "",
                None,
                metric.untyped.and_then(|u| u.value).unwrap_or(0.0),
            )),
            Kind::Summary => {
                let summary = metric.summary.unwrap_or_default();
                for q in &summary.quantile {
                    samples.push(sample(
                        "",
                        Some(("quantile", super::format_float(q.quantile.unwrap_or(0.0)))),
                        q.value.unwrap_or(0.0),
                    ));
                }
                samples.push(sample("_sum", None, summary.sample_sum.unwrap_or(0.0)));
                samples.push(sample(
                    "_count",
                    None,
                    summary.sample_count.unwrap_or(0) as f64,
                ));
            }
            Kind::Histogram => {
                let histogram = metric.histogram.unwrap_or_default();
                let count = histogram.sample_count.unwrap_or(0);
                let mut has_inf = false;
                for bucket in &histogram.bucket {
                    let bound = bucket.upper_bound.unwrap_or(f64::INFINITY);
                    has_inf |= bound == f64::INFINITY;
                    samples.push(sample(
                        "_bucket",
                        Some(("le", super::format_float(bound))),
                        bucket.cumulative_count.unwrap_or(0) as f64,
                    ));
                }
                if !has_inf {
                    samples.push(sample(
                        "_bucket",
                        Some(("le", "+Inf".to_owned())),
                        count as f64,
                    ));
                }
                samples.push(sample("_sum", None, histogram.sample_sum.unwrap_or(0.0)));
                samples.push(sample("_count", None, count as f64));
            }
        }
    }
    Ok(ParsedFamily {
        name,
        help: family.help.unwrap_or_default(),
        kind,
        samples,
    })
}
