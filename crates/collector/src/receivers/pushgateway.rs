//! The Pushgateway's push API, with the Pushgateway's semantics (checked side by side
//! against the real one): `PUT` replaces a group, `POST` replaces the families it
//! pushes, `DELETE` removes the group; grouping keys from the path with `@base64`
//! values; an empty `instance` label on every pushed series; `push_time_seconds` and
//! `push_failure_time_seconds` per group; pushes with timestamps, duplicate series or a
//! type that contradicts another group are refused (and recorded as a failed push).
//! Groups persist in the store, so a restart keeps them as the Pushgateway's
//! persistence file would.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::exposition::parse::{ParsedFamily, parse_text, valid_label_name};
use crate::exposition::protobuf::parse_delimited;
use crate::exposition::{Family, Kind, Labels, Value as Sample, format_float};
use crate::server::{App, lock, now_ms};

/// Families the gateway itself maintains per group; pushed copies are ignored.
const OWN_FAMILIES: &[&str] = &["push_time_seconds", "push_failure_time_seconds"];

/// A group's grouping key: label pairs sorted by name, `job` among them.
pub type GroupKey = Vec<(String, String)>;

/// One group of pushed metrics.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Group {
    families: BTreeMap<String, StoredFamily>,
    push_time: f64,
    failure_time: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredFamily {
    help: String,
    kind: String,
    /// (sample name, labels sorted by name, value)
    samples: Vec<(String, Labels, f64)>,
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Counter => "counter",
        Kind::Gauge => "gauge",
        Kind::Histogram => "histogram",
        Kind::Summary => "summary",
        Kind::Untyped => "untyped",
    }
}

fn kind_of(name: &str) -> Kind {
    match name {
        "counter" => Kind::Counter,
        "gauge" => Kind::Gauge,
        "histogram" => Kind::Histogram,
        "summary" => Kind::Summary,
        _ => Kind::Untyped,
    }
}

/// Every pushed group, and where they are kept.
pub struct Pushed {
    groups: BTreeMap<GroupKey, Group>,
    db: Connection,
}

impl Pushed {
    /// Loads the groups kept in the store.
    pub fn load(db: Connection) -> rusqlite::Result<Pushed> {
        let mut groups = BTreeMap::new();
        {
            let mut statement = db.prepare("SELECT grouping_key, body FROM pushed_groups")?;
            let rows = statement.query_map([], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })?;
            for row in rows {
                let (key, body) = row?;
                if let (Ok(key), Ok(group)) = (
                    serde_json::from_str::<GroupKey>(&key),
                    serde_json::from_str::<Group>(&body),
                ) {
                    groups.insert(key, group);
                }
            }
        }
        Ok(Pushed { groups, db })
    }

    fn persist(&self, key: &GroupKey) -> rusqlite::Result<()> {
        let key_text = serde_json::to_string(key).unwrap_or_default();
        match self.groups.get(key) {
            Some(group) => {
                let body = serde_json::to_string(group).unwrap_or_default();
                self.db.execute(
                    "INSERT INTO pushed_groups (grouping_key, body) VALUES (?1, ?2) \
                     ON CONFLICT (grouping_key) DO UPDATE SET body = excluded.body",
                    params![key_text, body],
                )?;
            }
            None => {
                self.db.execute(
                    "DELETE FROM pushed_groups WHERE grouping_key = ?1",
                    params![key_text],
                )?;
            }
        }
        Ok(())
    }

    /// The pushed families as exposition families, merged across groups by name.
    pub fn families(&self) -> Vec<Family> {
        let mut merged: BTreeMap<String, Family> = BTreeMap::new();
        let mut push_time = Family::new(
            "push_time_seconds",
            "Last Unix time when changing this group in the Pushgateway succeeded.",
            Kind::Gauge,
        );
        let mut failure_time = Family::new(
            "push_failure_time_seconds",
            "Last Unix time when changing this group in the Pushgateway failed.",
            Kind::Gauge,
        );
        for (key, group) in &self.groups {
            let labels = with_instance(key.clone());
            push_time.set(labels.clone(), group.push_time);
            failure_time.set(labels, group.failure_time);
            for (name, stored) in &group.families {
                let kind = kind_of(&stored.kind);
                let family = merged
                    .entry(name.clone())
                    .or_insert_with(|| Family::new(name.clone(), stored.help.clone(), kind));
                for (sample_name, labels, value) in &stored.samples {
                    if matches!(kind, Kind::Histogram | Kind::Summary) {
                        let suffix = sample_name
                            .strip_prefix(name.as_str())
                            .unwrap_or("")
                            .to_owned();
                        let (base, extra): (Labels, Labels) = labels
                            .iter()
                            .cloned()
                            .partition(|(k, _)| k != "le" && k != "quantile");
                        let entry = family
                            .series
                            .entry(base)
                            .or_insert_with(|| Sample::Raw(Vec::new()));
                        if let Sample::Raw(samples) = entry {
                            samples.push((suffix, extra, *value));
                        }
                    } else {
                        family.series.insert(labels.clone(), Sample::Scalar(*value));
                    }
                }
            }
        }
        merged.insert(push_time.name.clone(), push_time);
        merged.insert(failure_time.name.clone(), failure_time);
        merged.into_values().collect()
    }

    /// The type a family name has in any group other than `except`.
    fn kind_elsewhere(&self, name: &str, except: &GroupKey) -> Option<String> {
        self.groups
            .iter()
            .filter(|(key, _)| *key != except)
            .find_map(|(_, group)| group.families.get(name).map(|f| f.kind.clone()))
    }
}

/// Adds `instance=""` when the key has no instance, as the Pushgateway does.
fn with_instance(mut labels: Labels) -> Labels {
    if !labels.iter().any(|(k, _)| k == "instance") {
        labels.push(("instance".to_owned(), String::new()));
    }
    labels.sort();
    labels
}

/// Parses `job/<job>{/<label>/<value>}` (after `/metrics/`), with `@base64` names.
fn grouping_key(path: &str) -> Result<GroupKey, String> {
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    if !parts.len().is_multiple_of(2) {
        return Err(format!(
            "odd number of components in label string {:?}",
            format!("/{}", parts[1..].join("/"))
        ));
    }
    let mut key = GroupKey::new();
    for pair in parts.chunks(2) {
        let (name, raw) = (pair[0], pair[1]);
        let (name, value) = match name.strip_suffix("@base64") {
            Some(name) => (
                name,
                decode_base64(raw)
                    .ok_or_else(|| format!("invalid base64 encoding in label value {raw:?}"))?,
            ),
            None => (name, raw.to_owned()),
        };
        if !valid_label_name(name) || name.starts_with("__") {
            return Err(format!("improper label name {name:?}"));
        }
        if key.iter().any(|(k, _)| k == name) {
            return Err(format!("duplicate label name {name:?}"));
        }
        key.push((name.to_owned(), value));
    }
    match key.first() {
        Some((name, value)) if name == "job" && !value.is_empty() => {}
        _ => return Err("the grouping key must start with a non-empty job".to_owned()),
    }
    key.sort();
    Ok(key)
}

fn decode_base64(text: &str) -> Option<String> {
    let engines = [
        base64::engine::general_purpose::URL_SAFE,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
        base64::engine::general_purpose::STANDARD,
    ];
    if text == "=" {
        return Some(String::new());
    }
    engines
        .iter()
        .find_map(|engine| engine.decode(text).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
}

fn rejected(status: StatusCode, message: String) -> Response {
    (status, format!("{message}\n")).into_response()
}

/// `PUT`, `POST`, `DELETE /metrics/job/…`.
pub(crate) async fn push(
    State(app): State<Arc<App>>,
    method: Method,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let key = match grouping_key(&path) {
        Ok(key) => key,
        Err(message) => {
            lock(&app.self_metrics).reject("grouping_key");
            return rejected(StatusCode::BAD_REQUEST, message);
        }
    };
    if method == Method::DELETE {
        let mut pushed = lock(&app.pushed);
        pushed.groups.remove(&key);
        return match tokio::task::block_in_place(|| pushed.persist(&key)) {
            Ok(()) => StatusCode::ACCEPTED.into_response(),
            Err(err) => rejected(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not deleted, retry later: {err}"),
            ),
        };
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // The Go client's default: length-delimited io.prometheus.client.MetricFamily.
    let parsed = if content_type.contains("protobuf") {
        parse_delimited(&body)
    } else {
        match std::str::from_utf8(&body) {
            Ok(text) => parse_text(text).map_err(|err| err.to_string()),
            Err(err) => Err(format!("the body is not UTF-8: {err}")),
        }
    };
    let families = match parsed {
        Ok(families) => families,
        Err(message) => {
            lock(&app.self_metrics).reject("malformed");
            return rejected(StatusCode::BAD_REQUEST, message);
        }
    };
    let now = now_ms() as f64 / 1000.0;
    let owned: Vec<(String, Kind)> = lock(&app.aggregator)
        .families()
        .map(|f| (f.name.clone(), f.kind))
        .collect();
    let mut pushed = lock(&app.pushed);
    let outcome = validate(&pushed, &key, &families, &owned);
    let group = pushed.groups.entry(key.clone()).or_default();
    let status = match outcome {
        Ok(new_families) => {
            if method == Method::PUT {
                group.families = new_families;
            } else {
                group.families.extend(new_families);
            }
            group.push_time = now;
            Ok(())
        }
        Err(message) => {
            group.failure_time = now;
            Err(message)
        }
    };
    let persisted = tokio::task::block_in_place(|| pushed.persist(&key));
    drop(pushed);
    match (status, persisted) {
        (Ok(()), Ok(())) => {
            lock(&app.self_metrics)
                .received
                .add(vec![("source".to_owned(), "push".to_owned())], 1.0);
            StatusCode::OK.into_response()
        }
        (Ok(()), Err(err)) => rejected(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("pushed but not persisted: {err}"),
        ),
        (Err(message), _) => {
            lock(&app.self_metrics).reject("inconsistent");
            rejected(
                StatusCode::BAD_REQUEST,
                format!(
                    "pushed metrics are invalid or inconsistent with existing metrics: {message}"
                ),
            )
        }
    }
}

/// Checks a push against the Pushgateway's rules; returns the families to store.
fn validate(
    pushed: &Pushed,
    key: &GroupKey,
    families: &[ParsedFamily],
    owned: &[(String, Kind)],
) -> Result<BTreeMap<String, StoredFamily>, String> {
    let mut out = BTreeMap::new();
    let mut seen = std::collections::HashSet::new();
    for family in families
        .iter()
        .filter(|f| !OWN_FAMILIES.contains(&f.name.as_str()))
    {
        let kind = kind_name(family.kind).to_owned();
        if let Some(other) = pushed.kind_elsewhere(&family.name, key)
            && other != kind
        {
            return Err(format!(
                "collected metric {:?} is not a {}",
                family.name,
                other.to_uppercase()
            ));
        }
        if let Some((_, owned_kind)) = owned.iter().find(|(name, _)| *name == family.name)
            && *owned_kind != family.kind
        {
            return Err(format!(
                "metric {:?} is the collector's own {}",
                family.name,
                kind_name(*owned_kind)
            ));
        }
        let mut samples = Vec::with_capacity(family.samples.len());
        for sample in &family.samples {
            if sample.timestamp.is_some() {
                return Err("pushed metrics must not have timestamps".to_owned());
            }
            let mut labels: Labels = sample
                .labels
                .iter()
                .filter(|(k, _)| !key.iter().any(|(g, _)| g == k))
                .cloned()
                .collect();
            labels.extend(key.iter().cloned());
            let labels = with_instance(labels);
            if !seen.insert((sample.name.clone(), labels.clone())) {
                return Err(format!(
                    "collected metric {:?} was collected before with the same name and label values",
                    sample.name
                ));
            }
            samples.push((sample.name.clone(), labels, sample.value));
        }
        out.insert(
            family.name.clone(),
            StoredFamily {
                help: family.help.clone(),
                kind,
                samples,
            },
        );
    }
    Ok(out)
}

/// `GET /api/v1/metrics`: every group, as the Pushgateway's API lists them.
pub(crate) async fn list(State(app): State<Arc<App>>) -> Response {
    let pushed = lock(&app.pushed);
    let data: Vec<Value> = pushed
        .groups
        .iter()
        .map(|(key, group)| {
            let labels: Map<String, Value> = key.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
            let mut entry = Map::new();
            entry.insert("labels".to_owned(), Value::Object(labels));
            entry.insert("last_push_successful".to_owned(), json!(group.failure_time <= group.push_time));
            let series_labels = |labels: &Labels| -> Value { Value::Object(labels.iter().map(|(k, v)| (k.clone(), json!(v))).collect()) };
            for (name, value) in [("push_time_seconds", group.push_time), ("push_failure_time_seconds", group.failure_time)] {
                entry.insert(name.to_owned(), json!({"type": "GAUGE", "metrics": [{"labels": series_labels(&with_instance(key.clone())), "value": format_float(value)}]}));
            }
            for (name, family) in &group.families {
                let metrics: Vec<Value> = family
                    .samples
                    .iter()
                    .map(|(sample, labels, value)| json!({"name": sample, "labels": series_labels(labels), "value": format_float(*value)}))
                    .collect();
                entry.insert(name.clone(), json!({"type": family.kind.to_uppercase(), "help": family.help, "metrics": metrics}));
            }
            Value::Object(entry)
        })
        .collect();
    Json(json!({"status": "success", "data": data})).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping_keys() {
        assert_eq!(
            grouping_key("job/a").unwrap(),
            vec![("job".to_owned(), "a".to_owned())]
        );
        assert_eq!(
            grouping_key("job@base64/L3Zhci90bXA/path@base64/=").unwrap(),
            vec![
                ("job".to_owned(), "/var/tmp".to_owned()),
                ("path".to_owned(), String::new())
            ]
        );
        assert!(
            grouping_key("job/a/instance")
                .unwrap_err()
                .contains("odd number")
        );
        assert!(
            grouping_key("job/a/1bad/x")
                .unwrap_err()
                .contains("improper label name")
        );
        assert!(grouping_key("instance/x/job/a").is_err());
        assert!(grouping_key("job@base64/!!!").is_err());
    }
}
