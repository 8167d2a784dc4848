//! `POST /v1/hooks`: hook events from `claude-telemetry hook` (one JSON object, or an
//! NDJSON batch from its spool), or a raw event from a Claude Code `type: "http"` hook,
//! which is judged and enriched here and answered in the hook protocol.
//!
//! Parses and validates; the processors make stored events of what arrives, the store
//! (as consumer) keeps them. Errors are answered as `{"error": …}`.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, Extension, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use hook_protocol::{ENRICHMENT_KEY, HookEvent};
use serde_json::{Value, json};

use super::body::inflate;
use crate::budget::Share;
use crate::consumer::Consumer;
use crate::error::{ApiError, Reason};
use crate::processors::enrich::{RequestOrigin, judge_and_enrich};
use crate::processors::events;
use crate::state::AppState;
use crate::telemetry::Intake;

/// Most events in one batch.
const MAX_BATCH_EVENTS: usize = 10_000;

/// The hook endpoint.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/hooks", post(receive))
        .with_state(state)
}

fn bad(reason: Reason, message: String) -> ApiError {
    ApiError::bad_request(reason, message).json()
}

async fn receive(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(share): Extension<Share>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|e| ApiError::from(e).json())?;
    let body =
        inflate(state.config.max_body_bytes, &headers, body, &share).map_err(ApiError::json)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    // Exactly these: a web page cannot send them without the browser asking first (a
    // CORS preflight, which this collector never grants).
    let ndjson = match content_type.as_deref() {
        Some("application/json") => false,
        Some("application/x-ndjson" | "application/jsonl" | "application/ndjson") => true,
        other => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Reason::ContentType,
                format!(
                    "unsupported content type {}: send application/json or application/x-ndjson",
                    other.map_or_else(|| "(none)".to_owned(), |t| format!("{t:?}"))
                ),
            )
            .json());
        }
    };
    let text = std::str::from_utf8(&body)
        .map_err(|err| bad(Reason::Encoding, format!("the body is not UTF-8: {err}")))?;
    let values = if ndjson {
        lines(text)?
    } else {
        let value = serde_json::from_str(text)
            .map_err(|err| bad(Reason::Malformed, format!("not JSON: {err}")))?;
        vec![(text, value)]
    };
    if values.is_empty() {
        return Err(bad(Reason::Empty, "no events in the body".to_owned()));
    }
    let mut stored = Vec::with_capacity(values.len());
    let mut raw_answer = None;
    for (index, (received, value)) in values.into_iter().enumerate() {
        let malformed =
            |message: String| bad(Reason::Malformed, format!("event {}: {message}", index + 1));
        let mut event = HookEvent::from_value(value).map_err(|err| malformed(err.to_string()))?;
        if event.event_name().is_none() {
            return Err(malformed("no hook_event_name".to_owned()));
        }
        // What arrived, when it is what is stored (not when it is enriched here).
        let (enrichment, received) = match event.enrichment() {
            Some(Ok(enrichment)) => (enrichment, Some(received)),
            Some(Err(err)) => return Err(malformed(format!("bad {ENRICHMENT_KEY}: {err}"))),
            None if !ndjson => {
                let (enrichment, answer) = judge_and_enrich(
                    &mut event,
                    &state.guard,
                    origin(peer, &headers),
                    state.privacy.level(),
                )
                .map_err(|err| malformed(err.to_string()))?;
                raw_answer = Some(answer);
                (enrichment, None)
            }
            None => {
                return Err(malformed(
                    "batched events must come from claude-telemetry hook".to_owned(),
                ));
            }
        };
        let event = events::hook(event, enrichment, &state.privacy, received)
            .map_err(|err| bad(Reason::Malformed, err.to_string()))?;
        stored.push(event);
    }
    let count = stored.len();
    let flags = state
        .store
        .consume(stored)
        .await
        .map_err(|err| ApiError::store(err).json())?;
    let duplicates = flags.iter().filter(|new| !**new).count();
    state.telemetry.received(Intake::Hooks, count - duplicates);
    state.telemetry.duplicates(duplicates);
    Ok(match raw_answer {
        Some(answer) => Json(answer).into_response(),
        None => Json(json!({ "accepted": count - duplicates, "duplicates": duplicates }))
            .into_response(),
    })
}

/// An NDJSON batch's events, each with its line.
fn lines(text: &str) -> Result<Vec<(&str, Value)>, ApiError> {
    let mut values = Vec::new();
    for (index, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        if values.len() == MAX_BATCH_EVENTS {
            return Err(bad(
                Reason::BatchTooLarge,
                format!("more than {MAX_BATCH_EVENTS} events in one batch"),
            ));
        }
        let value = serde_json::from_str(line).map_err(|err| {
            bad(
                Reason::Malformed,
                format!("line {}: not JSON: {err}", index + 1),
            )
        })?;
        values.push((line, value));
    }
    Ok(values)
}

/// What the request tells about a raw event's origin.
fn origin(peer: SocketAddr, headers: &HeaderMap) -> RequestOrigin {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    RequestOrigin {
        host: header("x-claude-host").unwrap_or_else(|| peer.ip().to_string()),
        user_name: header("x-claude-user-name"),
        user_email: header("x-claude-user-email"),
        project_dir: header("x-claude-project-dir"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::app;
    use crate::testing::{call, post, state};

    fn enriched(id: &str, name: &str) -> Value {
        json!({
            "hook_event_name": name, "session_id": "s", "cwd": "/home/dev/project",
            "tool_name": "Read", "tool_use_id": "t", "prompt": "a secret prompt",
            "claude_telemetry": {
                "event_id": id, "received_at": "2026-11-24T05:00:00.000Z", "host": "h",
                "user_name": "jane", "hook_latency_us": 1, "hook_version": "test"
            }
        })
    }

    #[tokio::test]
    async fn events_are_stored_once_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path());
        let body = enriched("e1", "UserPromptSubmit").to_string();
        for (attempt, expected) in [
            (1, r#"{"accepted":1,"duplicates":0}"#),
            (2, r#"{"accepted":0,"duplicates":1}"#),
        ] {
            let (status, answer) = call(
                app(state.clone()),
                post("POST", "/v1/hooks", "application/json", body.clone()),
            )
            .await;
            assert_eq!(
                (status, answer.as_str()),
                (StatusCode::OK, expected),
                "{attempt}"
            );
        }
        let families = state.aggregator.lock();
        let prompts = families.family("claude_code_prompts_total").unwrap();
        assert_eq!(prompts.len(), 1, "counted once");
    }

    #[tokio::test]
    async fn a_batch_from_the_spool_is_stored_whole() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path());
        let batch = format!("{}\n\n{}\n", enriched("b1", "Stop"), enriched("b2", "Stop"));
        let (status, answer) = call(
            app(state),
            post("POST", "/v1/hooks", "application/x-ndjson", batch),
        )
        .await;
        assert_eq!(
            (status, answer.as_str()),
            (StatusCode::OK, r#"{"accepted":2,"duplicates":0}"#)
        );
    }

    #[tokio::test]
    async fn a_raw_event_is_judged_enriched_and_answered() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path());
        let raw = json!({
            "hook_event_name": "PreToolUse", "session_id": "s", "cwd": "/home/dev/project",
            "transcript_path": "/home/dev/.claude/projects/p/s.jsonl",
            "tool_name": "Bash", "tool_input": {"command": "rm -rf ~"}, "tool_use_id": "t"
        });
        let (status, answer) = call(
            app(state.clone()),
            post("POST", "/v1/hooks", "application/json", raw.to_string()),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let answer: Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(answer["hookSpecificOutput"]["permissionDecision"], "deny");
        let aggregator = state.aggregator.lock();
        let blocks = aggregator
            .family("claude_code_security_blocks_total")
            .unwrap();
        assert_eq!(blocks.len(), 1, "stored with its decision and counted");
    }

    #[tokio::test]
    async fn a_gzip_body_is_inflated_and_an_unknown_encoding_refused() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path());
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder
            .write_all(enriched("gz1", "UserPromptSubmit").to_string().as_bytes())
            .unwrap();
        let mut request = post(
            "POST",
            "/v1/hooks",
            "application/json",
            encoder.finish().unwrap(),
        );
        request
            .headers_mut()
            .insert(header::CONTENT_ENCODING, "gzip".parse().unwrap());
        let (status, answer) = call(app(state.clone()), request).await;
        assert_eq!(
            (status, answer.as_str()),
            (StatusCode::OK, r#"{"accepted":1,"duplicates":0}"#)
        );
        let mut request = post("POST", "/v1/hooks", "application/json", "{}");
        request
            .headers_mut()
            .insert(header::CONTENT_ENCODING, "br".parse().unwrap());
        let (status, answer) = call(app(state), request).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{answer}");
        assert!(answer.starts_with(r#"{"error":"#), "{answer}");
    }

    #[tokio::test]
    async fn what_is_not_an_event_is_refused_as_json() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path());
        for (content_type, body, status, reason) in [
            ("application/json", "{", StatusCode::BAD_REQUEST, "not JSON"),
            (
                "application/json",
                "{\"a\":1}",
                StatusCode::BAD_REQUEST,
                "no hook_event_name",
            ),
            (
                "application/x-ndjson",
                "",
                StatusCode::BAD_REQUEST,
                "no events",
            ),
            (
                "text/html",
                "<p>",
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported content type",
            ),
        ] {
            let (got, answer) = call(
                app(state.clone()),
                post("POST", "/v1/hooks", content_type, body),
            )
            .await;
            assert_eq!(got, status, "{body}");
            let answer: Value = serde_json::from_str(&answer).unwrap();
            assert!(
                answer["error"].as_str().unwrap().contains(reason),
                "{answer}"
            );
        }
    }
}
