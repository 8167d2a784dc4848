//! Helpers for the in-crate tests of each router: a collector's state on a real store in
//! a temporary directory, and requests answered in process (`oneshot`).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode};
use tower::ServiceExt;

use crate::config::CollectorConfig;
use crate::state::AppState;

/// A collector's state with its store in `dir`, as the server opens it.
pub fn state(dir: &Path) -> AppState {
    state_with(dir, CollectorConfig::default())
}

/// The same, with `config`.
pub fn state_with(dir: &Path, config: CollectorConfig) -> AppState {
    let (state, _writer, _) =
        crate::server::open(config, guard::GuardConfig::default(), dir.to_owned())
            .expect("the collector opens");
    state
}

/// Answers `request` with `router`, as from a client on loopback.
pub async fn call(router: Router, request: Request<Body>) -> (StatusCode, String) {
    let (status, _, body) = respond(router, request).await;
    (status, body)
}

/// The same, with the answer's headers.
pub async fn respond(router: Router, request: Request<Body>) -> (StatusCode, HeaderMap, String) {
    let router = router.layer(MockConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
    let response = router.oneshot(request).await.expect("infallible");
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("a body");
    (
        status,
        headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

/// A request with a body of `content_type`.
pub fn post(method: &str, path: &str, content_type: &str, body: impl Into<Body>) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", content_type)
        .body(body.into())
        .expect("a request")
}

/// A body that arrives in `chunks`, as a chunked request's does (send it with
/// `Transfer-Encoding: chunked`).
pub fn chunked(chunks: Vec<Vec<u8>>) -> Body {
    struct Chunks(VecDeque<Vec<u8>>);
    impl http_body::Body for Chunks {
        type Data = Bytes;
        type Error = axum::Error;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
            Poll::Ready(
                self.0
                    .pop_front()
                    .map(|chunk| Ok(http_body::Frame::data(Bytes::from(chunk)))),
            )
        }
    }
    Body::new(Chunks(chunks.into()))
}

/// A GET.
pub fn get(path: &str) -> Request<Body> {
    Request::builder()
        .uri(path)
        .body(Body::empty())
        .expect("a request")
}

/// The value of one sample line of `/metrics` text, if present.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.parse().ok())
}

/// Feeds `events` to a store in `dir` through its writer, several requests at once (so
/// batches mix them), then stops it.
pub async fn feed(dir: &Path, events: Vec<crate::event::Event>) {
    use crate::aggregate::{Aggregator, Limits, SharedAggregator};
    use crate::consumer::Consumer;
    let (store, writer) = crate::store::open(
        dir,
        SharedAggregator::new(Aggregator::new(Limits::default())),
    )
    .expect("the store opens");
    let mut tasks = Vec::new();
    for chunk in events.chunks(7) {
        let (store, chunk) = (store.clone(), chunk.to_vec());
        tasks.push(tokio::spawn(async move {
            store.consume(chunk).await.expect("stored")
        }));
    }
    for task in tasks {
        task.await.expect("fed");
    }
    drop(store);
    tokio::task::spawn_blocking(move || writer.join())
        .await
        .expect("stopped");
}

/// Events as the receivers make them, for tests of what the store and the queries
/// make of them: Claude Code sessions of several users in several projects, their hook
/// events and their OTLP events (API requests, errors, tool results), spread over hours.
pub mod workload {
    use hook_protocol::{Enrichment, GuardRecord, HookEvent};
    use serde_json::{Value, json};

    use crate::event::{Event, LogRecord};
    use crate::processors::events;
    use crate::processors::otlp::translate::LogEvent;
    use crate::processors::privacy::PrivacyFilter;
    use hook_protocol::privacy::Level;

    /// A hook event of `session` by `user` in `project` at `ts_ms`.
    pub fn hook(
        id: &str,
        ts_ms: i64,
        user: &str,
        project: &str,
        session: &str,
        fields: Value,
    ) -> Event {
        let mut value = json!({"session_id": session, "cwd": format!("/home/{user}/{project}")});
        if let (Value::Object(into), Value::Object(from)) = (&mut value, fields) {
            into.extend(from);
        }
        let event = HookEvent::from_value(value).expect("an event");
        let guard = event.fields().get("guard").cloned();
        let at = std::time::UNIX_EPOCH
            + std::time::Duration::from_millis(u64::try_from(ts_ms).unwrap_or(0));
        let enrichment = Enrichment {
            event_id: id.to_owned(),
            received_at: humantime::format_rfc3339_millis(at).to_string(),
            host: "h".to_owned(),
            user_name: user.to_owned(),
            user_email: Some(format!("{user}@example.com")),
            project: Some(format!("/home/{user}/{project}")),
            project_name: Some(format!("acme/{project}")),
            hook_latency_us: 1,
            hook_version: "test".to_owned(),
            truncated: Vec::new(),
            lossy_utf8: false,
            redacted: 0,
            spool_pending: 0,
            guard: guard.map(|g| serde_json::from_value::<GuardRecord>(g).expect("a guard record")),
        };
        let mut event = event;
        event.fields_mut().remove("guard");
        event.set_enrichment(&enrichment).expect("enriched");
        events::hook(
            event,
            enrichment,
            &PrivacyFilter::new(Level::Metadata),
            None,
        )
        .expect("stored")
    }

    /// One of Claude Code's OTLP events of `session` at `ts_ms`, whose resource names only
    /// Claude Code's anonymous user id.
    pub fn otlp(id: &str, ts_ms: i64, session: &str, name: &str, attributes: Value) -> Event {
        let mut attributes = attributes.as_object().cloned().unwrap_or_default();
        attributes.insert("session.id".to_owned(), json!(session));
        let record = LogRecord {
            event_name: format!("claude_code.{name}"),
            attributes,
            resource: json!({"user.id": format!("anon-{session}")})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            body: None,
            severity: None,
            trace_id: None,
            span_id: None,
        };
        let event = LogEvent {
            time_ns: u64::try_from(ts_ms).unwrap_or(0) * 1_000_000,
            id: id.to_owned(),
            record,
        };
        events::log(event, &PrivacyFilter::new(Level::Metadata)).expect("stored")
    }

    /// One session per `(id, user, project, usd)`, started at `ts_ms` with one API
    /// request of that cost: a month's spending of known size for budget tests.
    pub fn spending(ts_ms: i64, sessions: &[(&str, &str, &str, f64)]) -> Vec<Event> {
        let mut events = Vec::new();
        for &(id, user, project, usd) in sessions {
            let session = format!("s-{id}");
            events.push(hook(
                &format!("{id}-start"),
                ts_ms,
                user,
                project,
                &session,
                json!({"hook_event_name": "SessionStart", "source": "startup"}),
            ));
            events.push(otlp(
                id,
                ts_ms,
                &session,
                "api_request",
                json!({"model": "m", "cost_usd": usd}),
            ));
        }
        events
    }

    /// A deterministic mix of sessions from `start_ms` on: `sessions` sessions of users
    /// u0…u3 in projects p0…p2, each a few hours long; some sessions' OTLP events come
    /// before their first hook event (hooks spooled), some events twice (retries).
    pub fn sessions(start_ms: i64, sessions: usize, seed: u64) -> Vec<Event> {
        let mut state = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut next = move |n: u64| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) % n.max(1)
        };
        let mut out = Vec::new();
        for s in 0..sessions {
            let user = format!("u{}", next(4));
            let project = format!("p{}", next(3));
            let session = format!("s{seed}-{s}");
            let mut ts = start_ms + i64::try_from(next(6 * 3_600_000)).unwrap_or(0);
            let model =
                ["claude-opus-4-5", "claude-sonnet-4-5"][usize::try_from(next(2)).unwrap_or(0)];
            let id = |n: usize| format!("{session}-{n}");
            let mut n = 0;
            let mut step = |ts: &mut i64, next: &mut dyn FnMut(u64) -> u64| {
                *ts += i64::try_from(next(20 * 60_000)).unwrap_or(0) + 1;
                n += 1;
                n
            };
            let otlp_first = next(4) == 0;
            let mut batch = Vec::new();
            if otlp_first {
                let k = step(&mut ts, &mut next);
                batch.push(otlp(&id(k), ts, &session, "api_request", json!({
                    "model": model, "cost_usd": 0.0123456789, "input_tokens": 10, "output_tokens": 20,
                    "cache_read_tokens": 300, "cache_creation_tokens": 40, "duration_ms": 1500, "query_source": "main"})));
            }
            let k = step(&mut ts, &mut next);
            batch.push(hook(
                &id(k),
                ts,
                &user,
                &project,
                &session,
                json!({"hook_event_name": "SessionStart", "source": "startup", "model": model}),
            ));
            for _ in 0..(2 + next(6)) {
                let k = step(&mut ts, &mut next);
                batch.push(hook(
                    &id(k),
                    ts,
                    &user,
                    &project,
                    &session,
                    json!({"hook_event_name": "UserPromptSubmit"}),
                ));
                for _ in 0..(1 + next(3)) {
                    let k = step(&mut ts, &mut next);
                    let cost = f64::from(u32::try_from(next(90_000)).unwrap_or(0)) / 1e6 + 0.001;
                    let query_source = if next(5) == 0 { "subagent" } else { "main" };
                    let used = if query_source == "main" {
                        model
                    } else {
                        "claude-haiku-4-5"
                    };
                    batch.push(otlp(&id(k), ts, &session, "api_request", json!({
                        "model": used, "cost_usd": cost, "input_tokens": next(5000), "output_tokens": next(2000),
                        "cache_read_tokens": next(90_000), "cache_creation_tokens": next(9000),
                        "duration_ms": 200 + next(9000), "query_source": query_source})));
                    let tool = ["Bash", "Read", "Edit"][usize::try_from(next(3)).unwrap_or(0)];
                    let k = step(&mut ts, &mut next);
                    let pre = if tool == "Bash" && next(6) == 0 {
                        json!({"hook_event_name": "PreToolUse", "tool_name": tool, "tool_use_id": id(k),
                            "tool_input": {"command": "rm -rf ~"},
                            "guard": {"decision": "deny", "rule": "rm.home", "category": "dangerous_rm",
                                "reason": "r", "latency_us": 3, "version": "t"}})
                    } else {
                        json!({"hook_event_name": "PreToolUse", "tool_name": tool, "tool_use_id": id(k)})
                    };
                    let denied = pre.get("guard").is_some();
                    batch.push(hook(&id(k), ts, &user, &project, &session, pre));
                    if denied {
                        continue;
                    }
                    let k = step(&mut ts, &mut next);
                    let name = if next(8) == 0 {
                        "PostToolUseFailure"
                    } else {
                        "PostToolUse"
                    };
                    batch.push(hook(
                        &id(k),
                        ts,
                        &user,
                        &project,
                        &session,
                        json!({"hook_event_name": name,
                        "tool_name": tool, "tool_use_id": id(k - 1), "duration_ms": next(4000)}),
                    ));
                    let k = step(&mut ts, &mut next);
                    batch.push(otlp(
                        &id(k),
                        ts,
                        &session,
                        "tool_result",
                        json!({"tool_name": tool,
                        "success": "true", "duration_ms": next(4000)}),
                    ));
                }
                if next(10) == 0 {
                    let k = step(&mut ts, &mut next);
                    batch.push(otlp(
                        &id(k),
                        ts,
                        &session,
                        "api_error",
                        json!({"model": model, "status_code": "529"}),
                    ));
                }
            }
            let k = step(&mut ts, &mut next);
            batch.push(hook(
                &id(k),
                ts,
                &user,
                &project,
                &session,
                json!({"hook_event_name": "SessionEnd", "reason": "other"}),
            ));
            if next(3) == 0 {
                let again = batch[usize::try_from(next(batch.len() as u64)).unwrap_or(0)].clone();
                batch.push(again);
            }
            out.extend(batch);
        }
        out
    }
}
