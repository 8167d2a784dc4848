//! `GET /metrics`: every family — the aggregator's, the collector's own, the pushed
//! groups' — in the Prometheus text format, or OpenMetrics when the scraper asks.
//!
//! A counter or histogram series born since a scraper's last scrape is shown to that
//! scraper at zero first, then at its value from the next scrape on: Prometheus counts
//! `increase()` from a series' first sample, so a series that appeared at its value
//! would never count the events that made it (a new user's first prompts, a new rule's
//! first block). A scraper is a client that says how long it waits
//! (`X-Prometheus-Scrape-Timeout-Seconds`: Prometheus, vmagent, Grafana Alloy, the
//! OpenTelemetry Collector's Prometheus receiver), so a person reading `/metrics` sees
//! values. Scrapers are told apart by address, `User-Agent` and query string (two
//! Prometheus servers on one host: `params: {scraper: [a]}`). One never seen (a new
//! Prometheus, or any after the collector restarts) gets the series born in the last
//! [`NEW_SCRAPER_HOLD_MS`] at zero. This works with every Prometheus version and format
//! (created timestamps need feature flags and the protobuf format in Prometheus 2).
//!
//! Each family keeps its sample lines encoded until it changes, so a scrape holds the
//! aggregator's lock only to re-encode what changed since the last scrape and to take
//! the encodings (shared, not copied); the answer is put together after the lock is
//! released, so a large scrape does not hold up ingestion.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::exposition::{self, Birth, Encoded, Family, Format, Kind};
use crate::state::AppState;
use crate::sync::lock;
use crate::time::now_ms;
use crate::{query, store, telemetry};

/// The header every Prometheus-compatible scraper sends.
const SCRAPE_TIMEOUT: &str = "x-prometheus-scrape-timeout-seconds";

/// How far back a scraper never seen before gets new series at zero: longer than any
/// usual scrape interval (Prometheus' default is a minute).
pub const NEW_SCRAPER_HOLD_MS: i64 = 120_000;
/// A scraper silent this long is forgotten (and new again when it comes back).
const FORGET_SCRAPER_MS: i64 = 24 * 3_600_000;
/// Scrapers remembered at most (the least recent is forgotten).
const MAX_SCRAPERS: usize = 64;

/// What each scraper has seen: the births up to its last scrape, and when that was.
#[derive(Default)]
struct Scrapers {
    seen: HashMap<String, (u64, i64)>,
}

impl Scrapers {
    /// Which births `scraper` has not seen, scraping at `now_ms`.
    fn unseen_by(&self, scraper: &str, now_ms: i64) -> impl Fn(&Birth) -> bool + use<> {
        let last = self.seen.get(scraper).map(|(births, _)| *births);
        move |birth: &Birth| match last {
            Some(births) => birth.seq > births,
            None => birth.at_ms > now_ms - NEW_SCRAPER_HOLD_MS,
        }
    }

    /// Births every scraper remembered has seen, and that a new one would not be held.
    fn seen_by_all(&mut self, now_ms: i64) -> impl Fn(&Birth) -> bool + use<> {
        self.seen
            .retain(|_, (_, at)| now_ms - *at < FORGET_SCRAPER_MS);
        let everyone = self.seen.values().map(|(births, _)| *births).min();
        move |birth: &Birth| {
            everyone.is_none_or(|seen| birth.seq <= seen)
                && birth.at_ms <= now_ms - NEW_SCRAPER_HOLD_MS
        }
    }

    fn scraped(&mut self, scraper: String, births: u64, now_ms: i64) {
        if self.seen.len() >= MAX_SCRAPERS && !self.seen.contains_key(&scraper) {
            let oldest = self
                .seen
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(id, _)| id.clone());
            if let Some(oldest) = oldest {
                self.seen.remove(&oldest);
            }
        }
        self.seen.insert(scraper, (births, now_ms));
    }
}

/// What `/metrics`' handler shares: the collector's state and what each scraper saw.
#[derive(Clone)]
struct MetricsState {
    app: AppState,
    scrapers: Arc<Mutex<Scrapers>>,
}

/// The scrape endpoint.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(MetricsState {
            app: state,
            scrapers: Arc::default(),
        })
}

/// Who is scraping: address, `User-Agent` and query (bounded).
fn scraper(peer: SocketAddr, headers: &HeaderMap, query: Option<&str>) -> String {
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    format!("{} {agent} {}", peer.ip(), query.unwrap_or(""))
        .chars()
        .take(512)
        .collect()
}

async fn metrics(
    State(metrics): State<MetricsState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let state = &metrics.app;
    let format = Format::negotiate(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    let scraping = headers.contains_key(SCRAPE_TIMEOUT);
    let scraper = scraper(peer, &headers, uri.query());
    let now = now_ms();
    let mut ours = if !scraping {
        state.aggregator.lock().encoded_for(&|_| false, &|_| false)
    } else {
        let mut scrapers = lock(&metrics.scrapers);
        let unseen = scrapers.unseen_by(&scraper, now);
        let seen_by_all = scrapers.seen_by_all(now);
        let mut aggregator = state.aggregator.lock();
        let encoded = aggregator.encoded_for(&unseen, &seen_by_all);
        scrapers.scraped(scraper, aggregator.births(), now);
        encoded
    };
    ours.extend(state.telemetry.encoded());
    ours.extend(budget_spending(state).await);
    if let Some(forwarder) = &state.forwarder {
        ours.extend(forwarder.encoded());
    }
    ours.extend(about_the_collector(state));
    let pushed = state.pushed().groups.encoded();
    let text = exposition::write(&merge(ours, pushed), format);
    (
        [(header::CONTENT_TYPE, format.content_type())],
        Body::from(text),
    )
        .into_response()
}

/// The month's spending of each configured budget, read from the store now (three
/// readings of the rollups at most, however many budgets); nothing without a budget.
/// A failed reading leaves the families out and says why on stderr: the scrape goes on.
async fn budget_spending(state: &AppState) -> Vec<Encoded> {
    let budgets = state.config.budgets();
    if budgets.is_empty() {
        return Vec::new();
    }
    let dir = state.data_dir.clone();
    let now = now_ms();
    let lines = tokio::task::spawn_blocking(move || query::budget_lines(&dir, now, &budgets)).await;
    match lines {
        Ok(Ok(lines)) => telemetry::budget_spending(&lines),
        Ok(Err(err)) => {
            eprintln!(
                "claude-telemetry collector: reading the month's spending for /metrics failed: {err}"
            );
            Vec::new()
        }
        Err(_) => Vec::new(),
    }
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

    /// A scrape by Prometheus (`agent`) through `metrics` (one router: one memory of
    /// what each scraper saw).
    async fn scrape_as(metrics: &Router, accept: &str, agent: &str) -> String {
        let request = Request::builder()
            .uri("/metrics")
            .header("accept", accept)
            .header("user-agent", agent)
            .header("x-prometheus-scrape-timeout-seconds", "10")
            .body(Body::empty())
            .unwrap();
        let (status, text) = call(metrics.clone(), request).await;
        assert_eq!(status, StatusCode::OK);
        text
    }

    async fn scrape(metrics: &Router, accept: &str) -> String {
        scrape_as(metrics, accept, "Prometheus/2.42.0").await
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
    async fn each_budget_and_the_months_spending_it_holds_are_gauges() {
        use crate::testing::workload;
        let dir = tempfile::tempdir().unwrap();
        let now = now_ms();
        // Spent a minute ago, unless the month began since: this month's either way.
        let at = (now - 60_000).max(crate::time::month_start(now));
        let events = workload::spending(at, &[("a", "ana", "api", 40.0), ("b", "bob", "web", 2.5)]);
        crate::testing::feed(dir.path(), events).await;
        let mut config = crate::config::CollectorConfig {
            monthly_budget_usd: Some(250.0),
            ..Default::default()
        };
        config.user_monthly_budgets_usd =
            [("ana".to_owned(), 300.0), ("cat".to_owned(), 0.0)].into();
        config.project_monthly_budgets_usd = [("acme/web".to_owned(), 120.0)].into();
        let metrics = router(crate::testing::state_with(dir.path(), config));
        let text = scrape(&metrics, "text/plain").await;
        for (series, value) in [
            ("claude_telemetry_monthly_budget_usd", 250.0),
            ("claude_telemetry_monthly_budget_usd{user=\"ana\"}", 300.0),
            ("claude_telemetry_monthly_budget_usd{user=\"cat\"}", 0.0),
            (
                "claude_telemetry_monthly_budget_usd{project=\"acme/web\"}",
                120.0,
            ),
            ("claude_telemetry_month_to_date_cost_usd", 42.5),
            (
                "claude_telemetry_month_to_date_cost_usd{user=\"ana\"}",
                40.0,
            ),
            ("claude_telemetry_month_to_date_cost_usd{user=\"cat\"}", 0.0),
            (
                "claude_telemetry_month_to_date_cost_usd{project=\"acme/web\"}",
                2.5,
            ),
            (
                "claude_telemetry_month_projected_cost_usd{user=\"cat\"}",
                0.0,
            ),
        ] {
            assert_eq!(sample(&text, series), Some(value), "{series}\n{text}");
        }
        // The projection carries the month to date to the month's end.
        let projected = sample(
            &text,
            "claude_telemetry_month_projected_cost_usd{user=\"ana\"}",
        );
        assert!(projected.is_some_and(|p| p >= 40.0), "{text}");
        assert!(
            !text.contains("user=\"bob\""),
            "only budgets are series: a user without one has none\n{text}"
        );
        // No budget, no series of spending (and no reading of the store for them).
        let text = scrape(&router(state(dir.path())), "text/plain").await;
        assert!(!text.contains("claude_telemetry_month_"), "{text}");
        assert!(
            !text.contains("claude_telemetry_monthly_budget_usd "),
            "{text}"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn every_family_once_and_each_change_shows() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path());
        let metrics = router(state.clone());
        hook_event(&state, "e1", "Read").await;
        let series = "claude_code_tool_calls_total{user_name=\"jane\",user_email=\"\",project=\"\",model=\"\",tool=\"Read\",outcome=\"success\"}";
        let text = scrape(&metrics, "text/plain").await;
        assert_eq!(sample(&text, series), Some(0.0), "new: at zero first");
        let text = scrape(&metrics, "text/plain").await;
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
        let text = scrape(&metrics, "text/plain").await;
        assert_eq!(sample(&text, series), Some(2.0), "{text}");
        // A pushed family with the name of one of ours is written inside ours.
        let (status, _) = call(
            crate::server::app(state.clone()),
            post("PUT", "/metrics/job/j", "text/plain", "# TYPE claude_code_tool_calls_total counter\nclaude_code_tool_calls_total{tool=\"x\"} 5\n"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let text = scrape(&metrics, "text/plain").await;
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
        let open = scrape(&metrics, "application/openmetrics-text; version=1.0.0").await;
        assert!(
            open.contains("# TYPE claude_code_tool_calls counter\n"),
            "{open}"
        );
        assert!(open.ends_with("# EOF\n"), "{open}");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_new_series_is_shown_at_zero_once_to_each_scraper() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path());
        let metrics = router(state.clone());
        let series = |tool: &str| {
            format!(
                "claude_code_tool_calls_total{{user_name=\"jane\",user_email=\"\",project=\"\",model=\"\",tool=\"{tool}\",outcome=\"success\"}}"
            )
        };
        let active = "claude_code_active_sessions{user_name=\"jane\",user_email=\"\",project=\"\",model=\"\"}";
        hook_event(&state, "e1", "Read").await;
        let a = scrape_as(&metrics, "text/plain", "Prometheus/a").await;
        assert_eq!(sample(&a, &series("Read")), Some(0.0));
        assert_eq!(
            sample(&a, active),
            Some(1.0),
            "a gauge's level is news at once"
        );
        let a = scrape_as(&metrics, "text/plain", "Prometheus/a").await;
        assert_eq!(sample(&a, &series("Read")), Some(1.0));
        // Born between two of a's scrapes: zero once for a, whatever else it shows.
        hook_event(&state, "e2", "Edit").await;
        hook_event(&state, "e3", "Read").await;
        let a = scrape_as(&metrics, "text/plain", "Prometheus/a").await;
        assert_eq!(sample(&a, &series("Edit")), Some(0.0));
        assert_eq!(sample(&a, &series("Read")), Some(2.0));
        let a = scrape_as(&metrics, "text/plain; version=0.0.4", "Prometheus/a").await;
        assert_eq!(sample(&a, &series("Edit")), Some(1.0));
        // A second Prometheus sees them at zero first too, on its own schedule; the
        // OpenMetrics form holds them the same way.
        let b = scrape_as(&metrics, "application/openmetrics-text", "Prometheus/b").await;
        assert_eq!(sample(&b, &series("Edit")), Some(0.0));
        assert_eq!(sample(&b, &series("Read")), Some(0.0));
        let b = scrape_as(&metrics, "application/openmetrics-text", "Prometheus/b").await;
        assert_eq!(sample(&b, &series("Edit")), Some(1.0));
        assert_eq!(sample(&b, &series("Read")), Some(2.0));
        let a = scrape_as(&metrics, "text/plain", "Prometheus/a").await;
        assert_eq!(
            sample(&a, &series("Read")),
            Some(2.0),
            "a is not held back by b"
        );
        // A person reading /metrics sees values, and is no scraper.
        hook_event(&state, "e4", "Grep").await;
        let request = Request::builder()
            .uri("/metrics")
            .body(Body::empty())
            .unwrap();
        let (_, curl) = call(metrics.clone(), request).await;
        assert_eq!(sample(&curl, &series("Grep")), Some(1.0));
        let a = scrape_as(&metrics, "text/plain", "Prometheus/a").await;
        assert_eq!(
            sample(&a, &series("Grep")),
            Some(0.0),
            "and takes no scrape's zero"
        );
    }

    #[test]
    fn a_scraper_never_seen_gets_only_recent_births_at_zero() {
        let mut scrapers = Scrapers::default();
        let now = 10_000_000;
        let recent = Birth {
            seq: 2,
            at_ms: now - 1_000,
        };
        let old = Birth {
            seq: 1,
            at_ms: now - NEW_SCRAPER_HOLD_MS - 1,
        };
        let new = scrapers.unseen_by("c", now);
        assert!(
            new(&recent) && !new(&old),
            "a restarted collector or a new Prometheus"
        );
        scrapers.scraped("c".to_owned(), 1, now);
        let known = scrapers.unseen_by("c", now + 1);
        assert!(
            known(&recent) && !known(&old),
            "by what it saw, not by time"
        );
        let forget = scrapers.seen_by_all(now + NEW_SCRAPER_HOLD_MS);
        assert!(
            forget(&old) && !forget(&recent),
            "recent births are kept until all saw them"
        );
        let much_later = now + FORGET_SCRAPER_MS + 1;
        let _ = scrapers.seen_by_all(much_later);
        assert!(
            scrapers.seen.is_empty(),
            "a scraper silent for a day is forgotten"
        );
    }
}
