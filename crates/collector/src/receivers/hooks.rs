//! `POST /v1/hooks`: hook events from `claude-telemetry hook` (one JSON object, or an
//! NDJSON batch from its spool), or a raw event from a Claude Code `type: "http"` hook,
//! which is enriched here, judged by the guard and answered in the hook protocol.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hook_protocol::{Bounds, ENRICHMENT_KEY, Enrichment, HookEvent, KnownEvent, new_event_id};
use serde_json::{Value, json};

use crate::config::Privacy;
use crate::server::{App, lock, now_ms};
use crate::store::NewEvent;

/// Most events in one batch.
const MAX_BATCH_EVENTS: usize = 10_000;

/// Payload fields the `metadata` privacy mode does not store: contents, output, prose.
const CONTENT_FIELDS: &[&str] = &[
    "prompt",
    "tool_response",
    "last_assistant_message",
    "compact_summary",
    "error",
];
const CONTENT_INPUT_FIELDS: &[&str] = &[
    "content",
    "old_string",
    "new_string",
    "edits",
    "new_source",
    "prompt",
];

/// A request this endpoint refuses, with the reason a client can act on.
struct Rejection {
    status: StatusCode,
    reason: &'static str,
    message: String,
}

impl Rejection {
    fn bad(reason: &'static str, message: String) -> Rejection {
        Rejection {
            status: StatusCode::BAD_REQUEST,
            reason,
            message,
        }
    }
}

pub(crate) async fn receive(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match handle(&app, peer, &headers, &body).await {
        Ok(response) => response,
        Err(rejection) => {
            lock(&app.self_metrics).reject(rejection.reason);
            (
                rejection.status,
                Json(json!({ "error": rejection.message })),
            )
                .into_response()
        }
    }
}

async fn handle(
    app: &App,
    peer: SocketAddr,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, Rejection> {
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
    let ndjson = match content_type.as_deref() {
        None | Some("application/json") => false,
        Some("application/x-ndjson" | "application/jsonl" | "application/ndjson") => true,
        Some(other) => {
            return Err(Rejection {
                status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                reason: "content_type",
                message: format!(
                    "unsupported content type {other:?}: send application/json or application/x-ndjson"
                ),
            });
        }
    };
    let text = std::str::from_utf8(body)
        .map_err(|err| Rejection::bad("encoding", format!("the body is not UTF-8: {err}")))?;
    let values: Vec<Value> = if ndjson {
        let mut values = Vec::new();
        for (index, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            if values.len() == MAX_BATCH_EVENTS {
                return Err(Rejection::bad(
                    "batch_too_large",
                    format!("more than {MAX_BATCH_EVENTS} events in one batch"),
                ));
            }
            let value = serde_json::from_str(line).map_err(|err| {
                Rejection::bad("malformed", format!("line {}: not JSON: {err}", index + 1))
            })?;
            values.push(value);
        }
        values
    } else {
        vec![
            serde_json::from_str(text)
                .map_err(|err| Rejection::bad("malformed", format!("not JSON: {err}")))?,
        ]
    };
    if values.is_empty() {
        return Err(Rejection::bad("empty", "no events in the body".to_owned()));
    }
    let mut events = Vec::with_capacity(values.len());
    let mut raw_answer = None;
    for (index, value) in values.into_iter().enumerate() {
        let mut event = HookEvent::from_value(value)
            .map_err(|err| Rejection::bad("malformed", format!("event {}: {err}", index + 1)))?;
        if event.event_name().is_none() {
            return Err(Rejection::bad(
                "malformed",
                format!("event {}: no hook_event_name", index + 1),
            ));
        }
        match event.enrichment() {
            Some(Ok(enrichment)) => events.push(stored(app, &event, &enrichment)?),
            Some(Err(err)) => {
                return Err(Rejection::bad(
                    "malformed",
                    format!("event {}: bad {ENRICHMENT_KEY}: {err}", index + 1),
                ));
            }
            None if !ndjson => {
                let (enrichment, answer) = enrich_raw(&mut event, peer, headers);
                raw_answer = Some(answer);
                events.push(stored(app, &event, &enrichment)?);
            }
            None => {
                return Err(Rejection::bad(
                    "malformed",
                    format!(
                        "event {}: batched events must come from claude-telemetry hook",
                        index + 1
                    ),
                ));
            }
        }
    }
    let count = events.len();
    let flags = app.store.append(events).await.map_err(|err| Rejection {
        status: StatusCode::SERVICE_UNAVAILABLE,
        reason: "store",
        message: format!("not stored, retry later: {err}"),
    })?;
    let duplicates = flags.iter().filter(|new| !**new).count();
    {
        let mut metrics = lock(&app.self_metrics);
        metrics.received.add(
            vec![("source".to_owned(), "hook".to_owned())],
            (count - duplicates) as f64,
        );
        metrics.duplicates.add(Vec::new(), duplicates as f64);
    }
    Ok(match raw_answer {
        Some(answer) => Json(answer).into_response(),
        None => Json(json!({ "accepted": count - duplicates, "duplicates": duplicates }))
            .into_response(),
    })
}

/// The store's row for an event: indexed columns, and the body in the privacy mode.
fn stored(app: &App, event: &HookEvent, enrichment: &Enrichment) -> Result<NewEvent, Rejection> {
    if enrichment.event_id.is_empty() || enrichment.event_id.len() > 128 {
        return Err(Rejection::bad(
            "malformed",
            "event_id must be 1 to 128 characters".to_owned(),
        ));
    }
    let ts_ms = humantime::parse_rfc3339_weak(&enrichment.received_at)
        .ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .and_then(|d| i64::try_from(d.as_millis()).ok())
        .unwrap_or_else(now_ms);
    let mut body = event.fields().clone();
    if app.config.privacy == Privacy::Metadata {
        let mut elided = Vec::new();
        for field in CONTENT_FIELDS {
            if body.remove(*field).is_some() {
                elided.push(json!(field));
            }
        }
        if let Some(Value::Object(input)) = body.get_mut("tool_input") {
            for field in CONTENT_INPUT_FIELDS {
                if input.remove(*field).is_some() {
                    elided.push(json!(format!("tool_input.{field}")));
                }
            }
        }
        if !elided.is_empty()
            && let Some(Value::Object(enrichment)) = body.get_mut(ENRICHMENT_KEY)
        {
            enrichment.insert("elided".to_owned(), Value::Array(elided));
        }
    }
    let text = |key: &str| {
        event
            .fields()
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    Ok(NewEvent {
        event_id: enrichment.event_id.clone(),
        source: "hook",
        ts_ms,
        name: event.event_name().unwrap_or("unknown").to_owned(),
        session_id: text("session_id"),
        prompt_id: text("prompt_id"),
        tool_use_id: text("tool_use_id"),
        tool_name: text("tool_name"),
        user_name: Some(enrichment.user_name.clone()),
        user_email: enrichment.user_email.clone(),
        project: enrichment.project.clone(),
        decision: enrichment.guard.as_ref().map(|g| g.decision.clone()),
        rule: enrichment.guard.as_ref().map(|g| g.rule.clone()),
        body: serde_json::to_string(&body).unwrap_or_else(|_| "{}".to_owned()),
        parsed: std::sync::Arc::new(Value::Object(body)),
    })
}

/// Enriches a raw Claude Code event (an `http` hook) here, and judges it if it is a
/// PreToolUse. Returns the enrichment and the hook-protocol answer.
fn enrich_raw(event: &mut HookEvent, peer: SocketAddr, headers: &HeaderMap) -> (Enrichment, Value) {
    let started = Instant::now();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let cwd = event.cwd().map(PathBuf::from).filter(|p| p.is_absolute());
    let project = header("x-claude-project-dir")
        .map(PathBuf::from)
        .or_else(|| cwd.clone());
    let mut answer = json!({});
    let mut guard_record = None;
    if event.known_event() == Some(KnownEvent::PreToolUse)
        && let (Some(tool), Some(input)) = (event.tool_name(), event.tool_input())
    {
        let cwd = cwd.clone().unwrap_or_else(|| PathBuf::from("/"));
        let ctx = guard::Context {
            project_dir: project.clone().unwrap_or_else(|| cwd.clone()),
            home: home_of(event).unwrap_or_else(|| PathBuf::from("/root")),
            temp_dirs: vec![PathBuf::from("/tmp"), PathBuf::from("/var/tmp")],
            cwd,
        };
        let judged_at = Instant::now();
        let decision = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            guard::decide(tool, input, &ctx, &guard::GuardConfig::default())
        }))
        .unwrap_or_else(|_| guard::Decision {
            verdict: guard::Verdict::Ask,
            rule: "guard.internal_error",
            category: guard::Category::Uncertain,
            reason: "the guard failed on this input, so it cannot judge it.".to_owned(),
            span: None,
        });
        guard_record = Some(decision.record(judged_at.elapsed()));
        if let Some(json) = decision.answer().to_json("PreToolUse") {
            answer = json;
        }
    }
    let redacted = event.redact();
    let truncated = event.bound(Bounds::default());
    let enrichment = Enrichment {
        event_id: new_event_id(),
        received_at: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        host: header("x-claude-host").unwrap_or_else(|| peer.ip().to_string()),
        user_name: header("x-claude-user-name").unwrap_or_default(),
        user_email: header("x-claude-user-email"),
        project: project.map(|p| p.to_string_lossy().into_owned()),
        hook_latency_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        hook_version: format!("collector/{}", env!("CARGO_PKG_VERSION")),
        truncated,
        lossy_utf8: false,
        redacted,
        spool_pending: 0,
        guard: guard_record,
    };
    let _ = event.set_enrichment(&enrichment);
    (enrichment, answer)
}

/// The user's home, from the transcript path Claude Code sends
/// (`/home/jane/.claude/projects/…`): the collector's own HOME is not the user's.
fn home_of(event: &HookEvent) -> Option<PathBuf> {
    let transcript = event.fields().get("transcript_path")?.as_str()?;
    let (home, _) = transcript.split_once("/.claude/")?;
    (!home.is_empty()).then(|| PathBuf::from(home))
}
