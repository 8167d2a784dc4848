//! `POST /v1/metrics` and `POST /v1/logs`: OTLP/HTTP, protobuf or JSON, gzip or not,
//! with or without a Content-Length. Answers as the OTLP/HTTP specification says: 200
//! with an export response in the request's encoding (partial success when points were
//! refused), 400 for what will never be accepted, 415 for other encodings, 503 when the
//! store cannot take it now (the exporter retries).

use std::io::Read;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use prost::Message;
use serde_json::{Map, Value, json};

use crate::config::Privacy;
use crate::otlp::json;
use crate::otlp::translate::{self, LabelPolicy, stable_id};
use crate::server::{App, lock, now_ms};
use crate::store::NewEvent;

/// Log attributes the `metadata` privacy mode does not store: prompt and response text,
/// tool inputs.
const CONTENT_ATTRIBUTES: &[&str] = &[
    "prompt",
    "response",
    "tool_input",
    "tool_parameters",
    "body",
];

#[derive(Clone, Copy, PartialEq)]
enum Encoding {
    Protobuf,
    Json,
}

struct Failure {
    status: StatusCode,
    reason: &'static str,
    message: String,
}

fn failure(status: StatusCode, reason: &'static str, message: impl Into<String>) -> Failure {
    Failure {
        status,
        reason,
        message: message.into(),
    }
}

fn reply(app: &App, encoding: Encoding, result: Result<(Vec<u8>, Value), Failure>) -> Response {
    match result {
        Ok((protobuf, json)) => {
            let (content_type, body) = match encoding {
                Encoding::Protobuf => ("application/x-protobuf", protobuf),
                Encoding::Json => ("application/json", json.to_string().into_bytes()),
            };
            ([(header::CONTENT_TYPE, content_type)], Body::from(body)).into_response()
        }
        Err(failure) => {
            lock(&app.self_metrics).reject(failure.reason);
            // OTLP carries errors as a google.rpc.Status; its message is what exporters log.
            let body = match encoding {
                Encoding::Json => json!({"code": 3, "message": failure.message}).to_string(),
                Encoding::Protobuf => failure.message,
            };
            (failure.status, body).into_response()
        }
    }
}

/// The request's encoding and its body, decompressed within the size limit.
fn read_body(
    app: &App,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Encoding, Vec<u8>), (Encoding, Failure)> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let encoding = match media.as_str() {
        "application/x-protobuf" | "application/protobuf" => Encoding::Protobuf,
        "application/json" => Encoding::Json,
        other => {
            return Err((
                Encoding::Json,
                failure(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "content_type",
                    format!(
                        "unsupported content type {other:?}: send application/x-protobuf or application/json"
                    ),
                ),
            ));
        }
    };
    let compression = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity")
        .trim()
        .to_ascii_lowercase();
    let bytes = match compression.as_str() {
        "identity" | "" => body.to_vec(),
        "gzip" => {
            let limit = app.config.max_body_bytes;
            let mut out = Vec::new();
            let mut reader = flate2::read::GzDecoder::new(body).take(limit as u64 + 1);
            reader.read_to_end(&mut out).map_err(|err| {
                (
                    encoding,
                    failure(
                        StatusCode::BAD_REQUEST,
                        "gzip",
                        format!("invalid gzip body: {err}"),
                    ),
                )
            })?;
            if out.len() > limit {
                return Err((
                    encoding,
                    failure(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "too_large",
                        format!("decompressed body over {limit} bytes"),
                    ),
                ));
            }
            out
        }
        other => {
            return Err((
                encoding,
                failure(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "content_encoding",
                    format!("unsupported content encoding {other:?}: send gzip or none"),
                ),
            ));
        }
    };
    Ok((encoding, bytes))
}

fn policy(app: &App) -> LabelPolicy {
    LabelPolicy {
        drop: app.config.otlp_drop_attributes.clone(),
        promote: app.config.otlp_promote_resource_attributes.clone(),
    }
}

pub(crate) async fn metrics(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (encoding, bytes) = match read_body(&app, &headers, &body) {
        Ok(read) => read,
        Err((encoding, failure)) => return reply(&app, encoding, Err(failure)),
    };
    let result = export_metrics(&app, encoding, &bytes).await;
    reply(&app, encoding, result)
}

async fn export_metrics(
    app: &App,
    encoding: Encoding,
    bytes: &[u8],
) -> Result<(Vec<u8>, Value), Failure> {
    let request = match encoding {
        Encoding::Protobuf => ExportMetricsServiceRequest::decode(bytes).map_err(|err| {
            failure(
                StatusCode::BAD_REQUEST,
                "malformed",
                format!("not an OTLP metrics export (protobuf): {err}"),
            )
        })?,
        Encoding::Json => {
            let value: Value = serde_json::from_slice(bytes).map_err(|err| {
                failure(
                    StatusCode::BAD_REQUEST,
                    "malformed",
                    format!("not JSON: {err}"),
                )
            })?;
            json::metrics_request(&value).map_err(|err| {
                failure(
                    StatusCode::BAD_REQUEST,
                    "malformed",
                    format!("not an OTLP metrics export: {err}"),
                )
            })?
        }
    };
    let translated = translate::metrics(&request, &policy(app));
    let accepted = translated.points.len();
    if accepted > 0 {
        let points = serde_json::to_value(&translated.points).unwrap_or(Value::Null);
        let text = points.to_string();
        let latest = translated
            .points
            .iter()
            .map(|p| p.time_ns)
            .max()
            .unwrap_or(0);
        let ts_ms = if latest > 0 {
            i64::try_from(latest / 1_000_000).unwrap_or(i64::MAX)
        } else {
            now_ms()
        };
        let body = json!({ "points": points });
        let event = NewEvent {
            // The same export sent twice is the same event.
            event_id: stable_id(&["metrics", &text]),
            source: "otlp_metrics",
            ts_ms,
            name: "otlp.metrics".to_owned(),
            session_id: None,
            prompt_id: None,
            tool_use_id: None,
            tool_name: None,
            user_name: None,
            user_email: None,
            project: None,
            decision: None,
            rule: None,
            body: body.to_string(),
            parsed: Arc::new(body),
        };
        app.store.append(vec![event]).await.map_err(|err| {
            failure(
                StatusCode::SERVICE_UNAVAILABLE,
                "store",
                format!("not stored, retry later: {err}"),
            )
        })?;
        lock(&app.self_metrics).received.add(
            vec![("source".to_owned(), "otlp_metrics".to_owned())],
            accepted as f64,
        );
    }
    let rejected = translated.rejected.len();
    let message = translated.rejected.join("; ");
    let partial = (rejected > 0).then(|| ExportMetricsPartialSuccess {
        rejected_data_points: i64::try_from(rejected).unwrap_or(i64::MAX),
        error_message: message.clone(),
    });
    let protobuf = ExportMetricsServiceResponse {
        partial_success: partial,
    }
    .encode_to_vec();
    let json = if rejected > 0 {
        json!({"partialSuccess": {"rejectedDataPoints": rejected.to_string(), "errorMessage": message}})
    } else {
        json!({})
    };
    Ok((protobuf, json))
}

pub(crate) async fn logs(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let (encoding, bytes) = match read_body(&app, &headers, &body) {
        Ok(read) => read,
        Err((encoding, failure)) => return reply(&app, encoding, Err(failure)),
    };
    let result = export_logs(&app, encoding, &bytes).await;
    reply(&app, encoding, result)
}

async fn export_logs(
    app: &App,
    encoding: Encoding,
    bytes: &[u8],
) -> Result<(Vec<u8>, Value), Failure> {
    let request = match encoding {
        Encoding::Protobuf => ExportLogsServiceRequest::decode(bytes).map_err(|err| {
            failure(
                StatusCode::BAD_REQUEST,
                "malformed",
                format!("not an OTLP logs export (protobuf): {err}"),
            )
        })?,
        Encoding::Json => {
            let value: Value = serde_json::from_slice(bytes).map_err(|err| {
                failure(
                    StatusCode::BAD_REQUEST,
                    "malformed",
                    format!("not JSON: {err}"),
                )
            })?;
            json::logs_request(&value).map_err(|err| {
                failure(
                    StatusCode::BAD_REQUEST,
                    "malformed",
                    format!("not an OTLP logs export: {err}"),
                )
            })?
        }
    };
    let events: Vec<NewEvent> = translate::logs(&request)
        .into_iter()
        .map(|event| stored(app, event))
        .collect();
    let count = events.len();
    let flags = app.store.append(events).await.map_err(|err| {
        failure(
            StatusCode::SERVICE_UNAVAILABLE,
            "store",
            format!("not stored, retry later: {err}"),
        )
    })?;
    let new = flags.iter().filter(|n| **n).count();
    {
        let mut metrics = lock(&app.self_metrics);
        metrics.received.add(
            vec![("source".to_owned(), "otlp_logs".to_owned())],
            new as f64,
        );
        metrics.duplicates.add(Vec::new(), (count - new) as f64);
    }
    let protobuf = ExportLogsServiceResponse {
        partial_success: None::<ExportLogsPartialSuccess>,
    }
    .encode_to_vec();
    Ok((protobuf, json!({})))
}

fn stored(app: &App, event: translate::LogEvent) -> NewEvent {
    let mut body = event.body;
    let attribute = |body: &Map<String, Value>, key: &str| {
        body.get("attributes")
            .and_then(|a| a.get(key))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let resource = |body: &Map<String, Value>, key: &str| {
        body.get("resource")
            .and_then(|a| a.get(key))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let session_id = attribute(&body, "session.id");
    let prompt_id = attribute(&body, "prompt.id");
    let tool_use_id = attribute(&body, "tool_use_id");
    let tool_name = attribute(&body, "tool_name");
    let user_name = attribute(&body, "user.name").or_else(|| resource(&body, "user.name"));
    let user_email = attribute(&body, "user.email").or_else(|| resource(&body, "user.email"));
    if app.config.privacy == Privacy::Metadata
        && let Some(Value::Object(attributes)) = body.get_mut("attributes")
    {
        let elided: Vec<Value> = CONTENT_ATTRIBUTES
            .iter()
            .filter(|key| attributes.remove(**key).is_some())
            .map(|key| json!(key))
            .collect();
        if !elided.is_empty() {
            body.insert("elided".to_owned(), Value::Array(elided));
        }
    }
    let ts_ms = if event.time_ns > 0 {
        i64::try_from(event.time_ns / 1_000_000).unwrap_or(i64::MAX)
    } else {
        now_ms()
    };
    let body = Value::Object(body);
    NewEvent {
        event_id: event.id,
        source: "otlp",
        ts_ms,
        name: event.name,
        session_id,
        prompt_id,
        tool_use_id,
        tool_name,
        user_name,
        user_email,
        project: None,
        decision: None,
        rule: None,
        body: body.to_string(),
        parsed: Arc::new(body),
    }
}
