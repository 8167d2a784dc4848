//! `POST /v1/metrics`, `POST /v1/logs` and `POST /v1/traces`: OTLP/HTTP, protobuf or JSON, gzip or not,
//! with or without a Content-Length. Answers as the OTLP/HTTP specification says: 200
//! with an export response in the request's encoding (partial success when points or
//! spans were refused), 400 for what will never be accepted, 415 for other encodings, 503 when the
//! store cannot take it now (the exporter retries).
//!
//! Decodes; the processors translate and make stored events, the store (as consumer)
//! keeps them. What a gzip body inflates to is charged, piece by piece, to the body's
//! share of the budget of bodies in flight ([`crate::budget`]), which the server's gate
//! gives every request.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use serde_json::{Value, json};

use super::body::inflate;
use crate::budget::Share;
use crate::consumer::Consumer;
use crate::error::{ApiError, Reason};
use crate::event::{Event, Payload, SpanRecord, TimedLog};
use crate::processors::events;
use crate::processors::otlp::translate::{self, LabelPolicy};
use crate::processors::otlp::{json, spans};
use crate::state::AppState;
use crate::telemetry::Intake;

/// The OTLP/HTTP endpoints.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/metrics", post(metrics))
        .route("/v1/logs", post(logs))
        .route("/v1/traces", post(traces))
        .with_state(state)
}

#[derive(Clone, Copy, PartialEq)]
enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    /// An error as this encoding's clients read it: a `google.rpc.Status` in JSON, a
    /// line of text otherwise.
    fn error(self, error: ApiError) -> ApiError {
        match self {
            Encoding::Json => error.rpc_status(),
            Encoding::Protobuf => error,
        }
    }

    /// An export response: `protobuf` or `json`, as the request came.
    fn answer(self, protobuf: Vec<u8>, json: Value) -> Response {
        let (content_type, body) = match self {
            Encoding::Protobuf => ("application/x-protobuf", protobuf),
            Encoding::Json => ("application/json", json.to_string().into_bytes()),
        };
        ([(header::CONTENT_TYPE, content_type)], Body::from(body)).into_response()
    }
}

/// The request's encoding, from its `Content-Type`.
fn encoding(headers: &HeaderMap) -> Result<Encoding, ApiError> {
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
    match media.as_str() {
        "application/x-protobuf" | "application/protobuf" => Ok(Encoding::Protobuf),
        "application/json" => Ok(Encoding::Json),
        other => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Reason::ContentType,
            format!(
                "unsupported content type {other:?}: send application/x-protobuf or application/json"
            ),
        )
        .rpc_status()),
    }
}

/// A JSON body, or a protobuf one, decoded into the request type.
fn decode<T: Message + Default>(
    encoding: Encoding,
    bytes: &[u8],
    what: &str,
    from_json: impl FnOnce(&Value) -> Result<T, json::JsonError>,
) -> Result<T, ApiError> {
    let malformed = |message: String| ApiError::bad_request(Reason::Malformed, message);
    match encoding {
        Encoding::Protobuf => T::decode(bytes)
            .map_err(|err| malformed(format!("not an OTLP {what} export (protobuf): {err}"))),
        Encoding::Json => {
            let value: Value = serde_json::from_slice(bytes)
                .map_err(|err| malformed(format!("not JSON: {err}")))?;
            from_json(&value).map_err(|err| malformed(format!("not an OTLP {what} export: {err}")))
        }
    }
}

/// The items whose event the store had not seen before (`flags`, in the same order).
fn only_new<T>(items: Vec<T>, flags: &[bool]) -> Vec<T> {
    items
        .into_iter()
        .zip(flags)
        .filter_map(|(item, new)| new.then_some(item))
        .collect()
}

/// Stores events; returns how many were new.
async fn store(state: &AppState, events: Vec<Event>) -> Result<usize, ApiError> {
    let flags = state.store.consume(events).await.map_err(ApiError::store)?;
    Ok(flags.iter().filter(|n| **n).count())
}

/// A request's encoding and its body, inflated.
fn request(
    state: &AppState,
    headers: &HeaderMap,
    share: &Share,
    body: Result<Bytes, BytesRejection>,
) -> Result<(Encoding, Bytes), ApiError> {
    let body = body.map_err(|e| ApiError::from(e).rpc_status())?;
    let encoding = encoding(headers)?;
    let bytes = inflate(state.config.max_body_bytes, headers, body, share)
        .map_err(|error| encoding.error(error))?;
    Ok((encoding, bytes))
}

async fn metrics(
    State(state): State<AppState>,
    Extension(share): Extension<Share>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let (encoding, bytes) = request(&state, &headers, &share, body)?;
    let result = export_metrics(&state, encoding, &bytes).await;
    result.map_err(|error| encoding.error(error))
}

async fn export_metrics(
    state: &AppState,
    encoding: Encoding,
    bytes: &[u8],
) -> Result<Response, ApiError> {
    let request: ExportMetricsServiceRequest =
        decode(encoding, bytes, "metrics", json::metrics_request)?;
    let policy = LabelPolicy {
        drop: state.config.otlp_drop_attributes.clone(),
        promote: state.config.otlp_promote_resource_attributes.clone(),
    };
    let mut translated = translate::metrics(&request, &policy);
    state.privacy.points(&mut translated.points);
    let rejected = translated.rejected_points();
    let message = translated
        .rejected
        .iter()
        .map(|r| r.message.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    for refused in &translated.rejected {
        state
            .telemetry
            .otlp_points_rejected(refused.reason, refused.points);
    }
    let accepted = translated.points.len();
    let event = events::metrics(translated.points)
        .map_err(|err| ApiError::bad_request(Reason::Malformed, err.to_string()))?;
    if let Some(event) = event {
        store(state, vec![event]).await?;
        state.telemetry.received(Intake::OtlpMetrics, accepted);
    }
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
    Ok(encoding.answer(protobuf, json))
}

async fn logs(
    State(state): State<AppState>,
    Extension(share): Extension<Share>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let (encoding, bytes) = request(&state, &headers, &share, body)?;
    let result = export_logs(&state, encoding, &bytes).await;
    result.map_err(|error| encoding.error(error))
}

async fn export_logs(
    state: &AppState,
    encoding: Encoding,
    bytes: &[u8],
) -> Result<Response, ApiError> {
    let request: ExportLogsServiceRequest = decode(encoding, bytes, "logs", json::logs_request)?;
    let translated = translate::logs(&request);
    // Decoded exports take several times the body's size: not held while the store works.
    drop(request);
    let times: Vec<u64> = translated.iter().map(|event| event.time_ns).collect();
    let events = translated
        .into_iter()
        .map(|event| events::log(event, &state.privacy))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| ApiError::bad_request(Reason::Malformed, err.to_string()))?;
    let count = events.len();
    let forwarder = state.forwarder.as_ref().filter(|f| f.wants_logs());
    let forward: Vec<TimedLog> = match forwarder {
        Some(_) => events
            .iter()
            .zip(times)
            .filter_map(|(event, time_ns)| match &event.payload {
                Payload::OtlpLog(record) => Some(TimedLog {
                    time_ns,
                    record: (**record).clone(),
                }),
                _ => None,
            })
            .collect(),
        None => Vec::new(),
    };
    let flags = state.store.consume(events).await.map_err(ApiError::store)?;
    let new = flags.iter().filter(|n| **n).count();
    if let Some(forwarder) = forwarder {
        forwarder.logs(only_new(forward, &flags));
    }
    state.telemetry.received(Intake::OtlpLogs, new);
    state.telemetry.duplicates(count - new);
    let protobuf = ExportLogsServiceResponse {
        partial_success: None::<ExportLogsPartialSuccess>,
    }
    .encode_to_vec();
    Ok(encoding.answer(protobuf, json!({})))
}

async fn traces(
    State(state): State<AppState>,
    Extension(share): Extension<Share>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let (encoding, bytes) = request(&state, &headers, &share, body)?;
    let result = export_traces(&state, encoding, &bytes).await;
    result.map_err(|error| encoding.error(error))
}

async fn export_traces(
    state: &AppState,
    encoding: Encoding,
    bytes: &[u8],
) -> Result<Response, ApiError> {
    let request: ExportTraceServiceRequest =
        decode(encoding, bytes, "traces", json::traces_request)?;
    let translated = spans::spans(&request);
    // Decoded exports take several times the body's size: not held while the store works.
    drop(request);
    let events = translated
        .spans
        .into_iter()
        .map(|span| events::span(span, &state.privacy))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| ApiError::bad_request(Reason::Malformed, err.to_string()))?;
    let count = events.len();
    let forward: Vec<SpanRecord> = match &state.forwarder {
        Some(_) => events
            .iter()
            .filter_map(|event| match &event.payload {
                Payload::Span(span) => Some((**span).clone()),
                _ => None,
            })
            .collect(),
        None => Vec::new(),
    };
    let flags = state.store.consume(events).await.map_err(ApiError::store)?;
    let new = flags.iter().filter(|n| **n).count();
    if let Some(forwarder) = &state.forwarder {
        forwarder.spans(only_new(forward, &flags));
    }
    state.telemetry.received(Intake::OtlpTraces, new);
    state.telemetry.duplicates(count - new);
    let rejected = translated.rejected.len();
    state.telemetry.spans_rejected(rejected);
    let message = translated.rejected.join("; ");
    let partial = (rejected > 0).then(|| ExportTracePartialSuccess {
        rejected_spans: i64::try_from(rejected).unwrap_or(i64::MAX),
        error_message: message.clone(),
    });
    let protobuf = ExportTraceServiceResponse {
        partial_success: partial,
    }
    .encode_to_vec();
    let json = if rejected > 0 {
        json!({"partialSuccess": {"rejectedSpans": rejected.to_string(), "errorMessage": message}})
    } else {
        json!({})
    };
    Ok(encoding.answer(protobuf, json))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::app;
    use crate::testing::{call, post, sample, state};

    fn export(metrics: Value) -> String {
        json!({"resourceMetrics": [{"scopeMetrics": [{"metrics": metrics}]}]}).to_string()
    }

    #[tokio::test]
    async fn a_metrics_export_is_stored_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path());
        let body = export(
            json!([{"name": "claude_code.cost.usage", "unit": "USD", "sum": {
            "aggregationTemporality": 1, "isMonotonic": true,
            "dataPoints": [{"startTimeUnixNano": "1", "timeUnixNano": "2", "asDouble": 0.5}]}}]),
        );
        let (status, answer) = call(
            app(state.clone()),
            post("POST", "/v1/metrics", "application/json", body),
        )
        .await;
        assert_eq!((status, answer.as_str()), (StatusCode::OK, "{}"));
        let aggregator = state.aggregator.lock();
        let cost = aggregator
            .family("claude_code_cost_usage_USD_total")
            .unwrap();
        assert_eq!(cost.len(), 1);
    }

    #[tokio::test]
    async fn refused_points_are_answered_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path());
        let body = export(json!([{"name": "weird", "summary": {"dataPoints": [
            {"count": "1", "sum": 1.0}, {"count": "2", "sum": 2.0}]}}]));
        let (status, answer) = call(
            app(state.clone()),
            post("POST", "/v1/metrics", "application/json", body),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let answer: Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(answer["partialSuccess"]["rejectedDataPoints"], "2");
        let own =
            crate::exposition::write(&state.telemetry.encoded(), crate::exposition::Format::Text);
        assert_eq!(
            sample(
                &own,
                "claude_telemetry_otlp_points_rejected_total{reason=\"unsupported\"}"
            ),
            Some(2.0),
            "{own}"
        );
    }

    #[tokio::test]
    async fn log_events_are_stored_without_their_content() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path());
        let body = json!({"resourceLogs": [{"scopeLogs": [{"logRecords": [{
        "timeUnixNano": "1795491296263000000",
        "attributes": [
            {"key": "event.name", "value": {"stringValue": "user_prompt"}},
            {"key": "prompt", "value": {"stringValue": "a secret prompt"}}
        ]}]}]}]})
        .to_string();
        let (status, _) = call(
            app(state.clone()),
            post("POST", "/v1/logs", "application/json", body),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let stored: String = crate::store::reader(dir.path())
            .unwrap()
            .query_row("SELECT body FROM events", [], |row| row.get(0))
            .unwrap();
        assert!(!stored.contains("secret"), "{stored}");
        assert!(
            stored.contains(r#""prompt":{"elided_bytes":15}"#),
            "{stored}"
        );
    }

    #[tokio::test]
    async fn errors_take_the_shape_of_the_request() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path());
        let (status, answer) = call(
            app(state.clone()),
            post("POST", "/v1/metrics", "application/json", "{"),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let answer: Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(answer["code"], 3, "a google.rpc.Status: {answer}");
        let (status, answer) = call(
            app(state.clone()),
            post(
                "POST",
                "/v1/logs",
                "application/x-protobuf",
                &b"\xff\xff"[..],
            ),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(answer.contains("protobuf"), "{answer}");
        let (status, _) = call(app(state), post("POST", "/v1/logs", "text/plain", "x")).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }

    fn traces_export(spans: Value) -> String {
        json!({"resourceSpans": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "claude-code"}}]},
            "scopeSpans": [{"scope": {"name": "com.anthropic.claude_code.tracing"}, "spans": spans}]}]})
        .to_string()
    }

    #[tokio::test]
    async fn spans_are_stored_once_counted_and_bad_ones_refused() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path());
        let spans = json!([
            {"traceId": "ab".repeat(16), "spanId": "01".repeat(8), "parentSpanId": "02".repeat(8),
             "name": "claude_code.tool.execution", "kind": 1, "startTimeUnixNano": "1795936690007000000",
             "endTimeUnixNano": "1795936690023546455", "status": {"code": 2, "message": "ShellError"},
             "attributes": [{"key": "session.id", "value": {"stringValue": "s-1"}},
                            {"key": "tool_use_id", "value": {"stringValue": "toolu_1"}},
                            {"key": "error", "value": {"stringValue": "ls: cannot access"}}]},
            {"traceId": "ab".repeat(15), "spanId": "03".repeat(8), "name": "short id"}
        ]);
        for _ in 0..2 {
            let (status, answer) = call(
                app(state.clone()),
                post(
                    "POST",
                    "/v1/traces",
                    "application/json",
                    traces_export(spans.clone()),
                ),
            )
            .await;
            assert_eq!(status, StatusCode::OK);
            let answer: Value = serde_json::from_str(&answer).unwrap();
            assert_eq!(answer["partialSuccess"]["rejectedSpans"], "1", "{answer}");
            assert!(
                answer["partialSuccess"]["errorMessage"]
                    .as_str()
                    .unwrap()
                    .contains("traceId must be 16 bytes")
            );
        }
        let stored: Vec<(String, String, String)> = crate::store::reader(dir.path())
            .unwrap()
            .prepare("SELECT source, session_id, body FROM events")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(stored.len(), 1, "the re-export is a duplicate");
        assert_eq!(
            (stored[0].0.as_str(), stored[0].1.as_str()),
            ("otlp_span", "s-1")
        );
        assert!(!stored[0].2.contains("cannot access"), "{}", stored[0].2);
        let families = state.aggregator.lock().encoded_for(&|_| false, &|_| false);
        let text = crate::exposition::write(&families, crate::exposition::Format::Text);
        assert_eq!(
            sample(
                &text,
                "traces_span_metrics_calls_total{service_name=\"claude-code\",span_name=\"claude_code.tool.execution\",span_kind=\"SPAN_KIND_INTERNAL\",status_code=\"STATUS_CODE_ERROR\",model=\"\",tool=\"\"}"
            ),
            Some(1.0),
            "{text}"
        );
        let own =
            crate::exposition::write(&state.telemetry.encoded(), crate::exposition::Format::Text);
        assert_eq!(
            sample(&own, "claude_telemetry_spans_rejected_total"),
            Some(2.0)
        );
        assert_eq!(
            sample(&own, "claude_telemetry_events_duplicate_total"),
            Some(1.0)
        );

        // Protobuf too, answered in protobuf.
        let request =
            json::traces_request(&serde_json::from_str(&traces_export(spans)).unwrap()).unwrap();
        let (status, _) = call(
            app(state.clone()),
            post(
                "POST",
                "/v1/traces",
                "application/x-protobuf",
                request.encode_to_vec(),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = call(
            app(state),
            post(
                "POST",
                "/v1/traces",
                "application/json",
                r#"{"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": 7}]}]}]}"#,
            ),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
}
