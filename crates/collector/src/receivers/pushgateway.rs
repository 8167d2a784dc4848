//! The Pushgateway's push API, with the Pushgateway's semantics (checked side by side
//! against the real one): `PUT` replaces a group, `POST` replaces the families it
//! pushes, `DELETE` removes the group; grouping keys from the path with `@base64`
//! values; an empty `instance` label on every pushed series; `push_time_seconds` and
//! `push_failure_time_seconds` per group; pushes with timestamps, duplicate series or a
//! type that contradicts another group are refused (and recorded as a failed push).
//! Also `GET /api/v1/metrics`, the groups as the Pushgateway lists them.
//!
//! Parses what is pushed; the groups' rules are [`crate::aggregate::pushed`]'s, and a
//! group is kept in the store before it changes in memory, so an answered push survives
//! a restart as the Pushgateway's persistence file would keep it.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use base64::Engine;
use serde_json::{Map, Value, json};

use crate::aggregate::pushed::{GroupKey, Push, Refusal, with_instance};
use crate::error::{ApiError, Reason};
use crate::exposition::parse::{parse_text, valid_label_name};
use crate::exposition::protobuf::parse_delimited;
use crate::exposition::{Kind, Labels, format_float};
use crate::state::AppState;
use crate::telemetry::Intake;
use crate::time::now_ms;

/// The push API and its listing.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics/{*grouping}", put(push).post(push).delete(push))
        .route("/api/v1/metrics", get(list))
        .with_state(state)
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

/// `PUT`, `POST`, `DELETE /metrics/job/…`.
async fn push(
    State(state): State<AppState>,
    method: Method,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body?;
    let key = grouping_key(&path)
        .map_err(|message| ApiError::bad_request(Reason::GroupingKey, message))?;
    if method == Method::DELETE {
        let mut pushed = state.pushed();
        tokio::task::block_in_place(|| pushed.table.save(&key, None)).map_err(|err| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                Reason::Store,
                format!("not deleted, retry later: {err}"),
            )
        })?;
        pushed.groups.put(key, None);
        return Ok(StatusCode::ACCEPTED.into_response());
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
    let families = parsed.map_err(|message| ApiError::bad_request(Reason::Malformed, message))?;
    let now = now_ms() as f64 / 1000.0;
    let owned: Vec<(String, Kind)> = state
        .aggregator
        .lock()
        .families()
        .map(|f| (f.name.clone(), f.kind))
        .collect();
    let how = if method == Method::PUT {
        Push::Replace
    } else {
        Push::Merge
    };
    let mut pushed = state.pushed();
    let (group, outcome) = pushed.groups.after_push(&key, how, &families, &owned, now);
    if let Some(group) = group {
        tokio::task::block_in_place(|| pushed.table.save(&key, Some(&group))).map_err(|err| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                Reason::Store,
                format!("not pushed, retry later: {err}"),
            )
        })?;
        pushed.groups.put(key, Some(group));
    }
    drop(pushed);
    outcome.map_err(|refusal| refused(&state, refusal))?;
    state.telemetry.received(Intake::Pushgateway, 1);
    Ok(StatusCode::OK.into_response())
}

/// The answer to a refused push; a push over a limit is counted as dropped series.
fn refused(state: &AppState, refusal: Refusal) -> ApiError {
    match refusal {
        Refusal::Inconsistent(message) => ApiError::bad_request(
            Reason::Inconsistent,
            format!("pushed metrics are invalid or inconsistent with existing metrics: {message}"),
        ),
        Refusal::SeriesLimit { message, dropped } => {
            over_limit(state, Reason::SeriesLimit, message, dropped)
        }
        Refusal::GroupLimit { message, dropped } => {
            over_limit(state, Reason::GroupLimit, message, dropped)
        }
    }
}

fn over_limit(
    state: &AppState,
    reason: Reason,
    message: String,
    dropped: Vec<(String, usize)>,
) -> ApiError {
    let mut aggregator = state.aggregator.lock();
    for (metric, series) in dropped {
        aggregator.count_dropped(&metric, series);
    }
    ApiError::bad_request(
        reason,
        format!("push refused, nothing of it kept: {message}"),
    )
}

/// `GET /api/v1/metrics`: every group, as the Pushgateway's API lists them.
async fn list(State(state): State<AppState>) -> Response {
    let pushed = state.pushed();
    let series_labels = |labels: &Labels| -> Value {
        Value::Object(labels.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
    };
    let data: Vec<Value> = pushed
        .groups
        .groups()
        .map(|(key, group)| {
            let labels: Map<String, Value> =
                key.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
            let mut entry = Map::new();
            entry.insert("labels".to_owned(), Value::Object(labels));
            entry.insert(
                "last_push_successful".to_owned(),
                json!(group.failure_time <= group.push_time),
            );
            for (name, value) in [
                ("push_time_seconds", group.push_time),
                ("push_failure_time_seconds", group.failure_time),
            ] {
                entry.insert(
                    name.to_owned(),
                    json!({"type": "GAUGE", "metrics": [{"labels": series_labels(&with_instance(key.clone())), "value": format_float(value)}]}),
                );
            }
            for (name, family) in &group.families {
                let metrics: Vec<Value> = family
                    .samples
                    .iter()
                    .map(|(sample, labels, value)| {
                        json!({"name": sample, "labels": series_labels(labels), "value": format_float(*value)})
                    })
                    .collect();
                entry.insert(
                    name.clone(),
                    json!({"type": family.kind.name().to_uppercase(), "help": family.help, "metrics": metrics}),
                );
            }
            Value::Object(entry)
        })
        .collect();
    Json(json!({"status": "success", "data": data})).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{call, get, post, state};

    #[tokio::test(flavor = "multi_thread")]
    async fn pushes_replace_merge_list_and_delete_groups() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path());
        let text = "text/plain; version=0.0.4";
        let push = |method: &'static str, body: &'static str| {
            call(
                router(state.clone()),
                post(method, "/metrics/job/j/instance/i", text, body),
            )
        };
        assert_eq!(
            push("PUT", "# TYPE a_total counter\na_total 1\n").await.0,
            StatusCode::OK
        );
        assert_eq!(
            push("POST", "# TYPE b gauge\nb 2\n").await.0,
            StatusCode::OK
        );
        let (status, listed) = call(router(state.clone()), get("/api/v1/metrics")).await;
        assert_eq!(status, StatusCode::OK);
        let listed: Value = serde_json::from_str(&listed).unwrap();
        let group = &listed["data"][0];
        assert_eq!(group["labels"], json!({"job": "j", "instance": "i"}));
        assert_eq!(group["a_total"]["metrics"][0]["value"], "1");
        assert_eq!(group["b"]["type"], "GAUGE");
        let (status, refused) = push("POST", "# TYPE b counter\nb 2\n").await;
        assert_eq!(
            status,
            StatusCode::OK,
            "another group may not change its type, this one may: {refused}"
        );
        assert_eq!(push("DELETE", "").await.0, StatusCode::ACCEPTED);
        let (_, listed) = call(router(state.clone()), get("/api/v1/metrics")).await;
        assert_eq!(
            serde_json::from_str::<Value>(&listed).unwrap()["data"],
            json!([])
        );
        let kept = crate::store::GroupTable::open(dir.path())
            .unwrap()
            .load()
            .unwrap();
        assert!(kept.is_empty(), "the store follows");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn bad_pushes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path());
        let text = "text/plain";
        let (status, message) = call(
            router(state.clone()),
            post("PUT", "/metrics/job/a/instance", text, ""),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(message.contains("odd number"), "{message}");
        let (status, _) = call(
            router(state.clone()),
            post("PUT", "/metrics/job/a", text, "a{ 1\n"),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, message) = call(
            router(state),
            post(
                "PUT",
                "/metrics/job/a",
                text,
                "# TYPE claude_code_prompts_total gauge\nclaude_code_prompts_total 1\n",
            ),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(message.contains("collector's own counter"), "{message}");
    }

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
