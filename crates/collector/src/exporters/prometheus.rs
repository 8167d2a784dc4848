//! `GET /metrics`: every family — the aggregator's, the collector's own, the pushed
//! groups' — in the Prometheus text format, or OpenMetrics when the scraper asks.
//!
//! Each family keeps its sample lines encoded until it changes, so a scrape holds the
//! aggregator's lock only to re-encode what changed since the last scrape and to take
//! the encodings (shared, not copied); the answer is put together after the lock is
//! released, so a large scrape does not hold up ingestion.

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::exposition::{self, Encoded, Family, Format, Kind};
use crate::state::AppState;
use crate::store;

/// The scrape endpoint.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let format = Format::negotiate(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    let mut ours = state.aggregator.lock().encoded();
    ours.extend(state.telemetry.encoded());
    if let Some(forwarder) = &state.forwarder {
        ours.extend(forwarder.encoded());
    }
    ours.extend(about_the_collector(&state));
    let pushed = state.pushed().groups.encoded();
    let text = exposition::write(&merge(ours, pushed), format);
    (
        [(header::CONTENT_TYPE, format.content_type())],
        Body::from(text),
    )
        .into_response()
}

/// The store's size and the build.
fn about_the_collector(state: &AppState) -> Vec<Encoded> {
    let mut store_bytes = Family::new(
        "claude_telemetry_store_bytes",
        "Size of the event store on disk.",
        Kind::Gauge,
    );
    store_bytes.set(Vec::new(), store::size_bytes(&state.data_dir) as f64);
    let mut build = Family::new(
        "claude_telemetry_build_info",
        "Version of the collector.",
        Kind::Gauge,
    );
    build.set(
        vec![("version".to_owned(), env!("CARGO_PKG_VERSION").to_owned())],
        1.0,
    );
    [store_bytes, build]
        .iter_mut()
        .filter_map(Family::encoded)
        .collect()
}

/// The collector's families, then the pushed ones; a pushed family with the name of one
/// of ours (same type: pushes of another type are refused) is written inside ours, so
/// each name appears once.
fn merge(mut ours: Vec<Encoded>, pushed: Vec<Encoded>) -> Vec<Encoded> {
    let mut rest = Vec::new();
    for family in pushed {
        match ours.iter_mut().find(|f| f.name == family.name) {
            Some(mine) => mine.samples.extend(family.samples),
            None => rest.push(family),
        }
    }
    ours.extend(rest);
    ours
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{call, post, sample, state};
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use serde_json::json;

    async fn scrape(state: &AppState, accept: &str) -> String {
        let request = Request::builder()
            .uri("/metrics")
            .header("accept", accept)
            .body(Body::empty())
            .unwrap();
        let (status, text) = call(router(state.clone()), request).await;
        assert_eq!(status, StatusCode::OK);
        text
    }

    async fn hook_event(state: &AppState, id: &str, tool: &str) {
        let event = json!({
            "hook_event_name": "PostToolUse", "tool_name": tool, "session_id": "s",
            "claude_telemetry": {"event_id": id, "received_at": "2026-11-24T05:00:00.000Z",
                "host": "h", "user_name": "jane", "hook_latency_us": 1, "hook_version": "t"}
        });
        let (status, _) = call(
            crate::server::app(state.clone()),
            post("POST", "/v1/hooks", "application/json", event.to_string()),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn every_family_once_and_each_change_shows() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path());
        hook_event(&state, "e1", "Read").await;
        let series = "claude_code_tool_calls_total{user_name=\"jane\",user_email=\"\",project=\"\",tool=\"Read\",outcome=\"success\"}";
        let text = scrape(&state, "text/plain").await;
        assert_eq!(sample(&text, series), Some(1.0), "{text}");
        assert_eq!(
            sample(
                &text,
                "claude_telemetry_events_received_total{source=\"hook\"}"
            ),
            Some(1.0)
        );
        assert!(
            text.contains("claude_telemetry_build_info{version="),
            "{text}"
        );
        // Unchanged families are written from their kept encoding; a change shows.
        hook_event(&state, "e2", "Read").await;
        let text = scrape(&state, "text/plain").await;
        assert_eq!(sample(&text, series), Some(2.0), "{text}");
        // A pushed family with the name of one of ours is written inside ours.
        let (status, _) = call(
            crate::server::app(state.clone()),
            post("PUT", "/metrics/job/j", "text/plain", "# TYPE claude_code_tool_calls_total counter\nclaude_code_tool_calls_total{tool=\"x\"} 5\n"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let text = scrape(&state, "text/plain").await;
        assert_eq!(
            text.matches("# TYPE claude_code_tool_calls_total ").count(),
            1,
            "{text}"
        );
        assert_eq!(
            sample(
                &text,
                "claude_code_tool_calls_total{instance=\"\",job=\"j\",tool=\"x\"}"
            ),
            Some(5.0),
            "{text}"
        );
        let open = scrape(&state, "application/openmetrics-text; version=1.0.0").await;
        assert!(
            open.contains("# TYPE claude_code_tool_calls counter\n"),
            "{open}"
        );
        assert!(open.ends_with("# EOF\n"), "{open}");
    }
}
