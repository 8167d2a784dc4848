//! The HTTP server: opening the pipeline, binding the address, the middleware every
//! request passes (limits, authentication, counting refusals), the periodic work
//! (ending idle sessions, retention), and graceful shutdown.
//!
//! Routes are the receivers' and exporters' own; this module only composes them.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use guard::GuardConfig;
use tokio::net::TcpListener;

use crate::aggregate::pushed::PushedGroups;
use crate::aggregate::{Aggregator, Limits, SharedAggregator};
use crate::auth::{self, PageKey};
use crate::config::{CollectorConfig, ConfigError};
use crate::error::{ApiError, Reason, Rejected};
use crate::exporters::{self, page::login};
use crate::processors::privacy::PrivacyFilter;
use crate::receivers;
use crate::state::{AppState, Pushed, Shared};
use crate::store::{self, GroupTable, StoreError};
use crate::telemetry::Telemetry;
use crate::time::{millis, now_ms};

/// Why the collector cannot serve.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The configuration does not allow it.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The store cannot be opened or read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("serving: {0}")]
    Io(#[from] std::io::Error),
    /// No random bytes for the page's sign-in key.
    #[error("reading /dev/urandom for the page's sign-in key: {0}")]
    Random(#[source] std::io::Error),
}

/// A running collector.
pub struct Server {
    state: AppState,
    writer: store::Writer,
    listener: TcpListener,
    replayed: u64,
    limits: Limits,
}

fn limits(config: &CollectorConfig) -> Limits {
    Limits {
        session_idle_ms: millis(config.session_idle_timeout),
        series_per_metric: config.series_limit,
        label_value_bytes: config.label_value_bytes,
    }
}

/// Opens the pipeline: the store (pruned to the retention), the counters rebuilt from
/// it, the pushed groups. Returns the state, the store's writer and how many events
/// were replayed.
pub(crate) fn open(
    config: CollectorConfig,
    guard: GuardConfig,
    data_dir: PathBuf,
) -> Result<(AppState, store::Writer, u64), ServeError> {
    config.validate()?;
    let limits = limits(&config);
    let aggregator = SharedAggregator::new(Aggregator::new(limits));
    let (store, writer) = store::open(&data_dir, aggregator.clone())?;
    // Events older than the retention are folded into the baseline and removed, then
    // counters start from the baseline and the events that remain.
    if !config.retention.is_zero() {
        store::prune(&data_dir, now_ms() - millis(config.retention), limits)?;
    }
    let replayed = {
        let mut aggregator = aggregator.lock();
        let replayed = store::restore(&data_dir, &mut aggregator)?;
        aggregator.sweep(now_ms());
        replayed
    };
    let table = GroupTable::open(&data_dir)?;
    let groups = PushedGroups::new(table.load()?);
    let page_key = match config.token {
        Some(_) => Some(PageKey::draw().map_err(ServeError::Random)?),
        None => None,
    };
    let state = AppState::new(Shared {
        privacy: PrivacyFilter::new(config.privacy),
        config,
        guard,
        data_dir,
        store,
        aggregator,
        telemetry: Telemetry::default(),
        pushed: Mutex::new(Pushed { groups, table }),
        page_key,
    });
    Ok((state, writer, replayed))
}

impl Server {
    /// Opens the store, rebuilds the counters from it, and binds the address. Raw hook
    /// events (Claude Code's `http` hooks) are judged with `guard`.
    pub async fn bind(
        config: CollectorConfig,
        guard: GuardConfig,
        data_dir: PathBuf,
    ) -> Result<Server, ServeError> {
        let limits = limits(&config);
        let listen = config.listen;
        let (state, writer, replayed) = open(config, guard, data_dir)?;
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|source| ServeError::Bind {
                addr: listen,
                source,
            })?;
        Ok(Server {
            state,
            writer,
            listener,
            replayed,
            limits,
        })
    }

    /// The address actually bound (port 0 picks one).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// How many stored events were replayed into the counters at start.
    pub fn replayed(&self) -> u64 {
        self.replayed
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests and waits for
    /// every queued event to be committed.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let Server {
            state,
            writer,
            listener,
            limits,
            ..
        } = self;
        let pruner = tokio::spawn(prune_hourly(state.clone(), limits));
        let sweeper = {
            let aggregator = state.aggregator.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(15));
                loop {
                    tick.tick().await;
                    aggregator.lock().sweep(now_ms());
                }
            })
        };
        axum::serve(
            listener,
            app(state).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await?;
        sweeper.abort();
        pruner.abort();
        // Every Store handle is gone with the state: the writer drains its queue and stops.
        tokio::task::spawn_blocking(move || writer.join())
            .await
            .ok();
        Ok(())
    }
}

/// Removes events past the retention every hour (start-up already did once).
async fn prune_hourly(state: AppState, limits: Limits) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    tick.tick().await; // the first tick is now
    loop {
        tick.tick().await;
        let retention = state.config.retention;
        if retention.is_zero() {
            continue;
        }
        let data_dir = state.data_dir.clone();
        let pruned = tokio::task::spawn_blocking(move || {
            store::prune(&data_dir, now_ms() - millis(retention), limits)
        })
        .await;
        if let Ok(Err(err)) = pruned {
            eprintln!(
                "claude-telemetry collector: pruning old events failed (kept, retried in an hour): {err}"
            );
        }
    }
}

/// Every route, with the middleware every request passes.
pub(crate) fn app(state: AppState) -> Router {
    let max_body = state.config.max_body_bytes;
    Router::new()
        .merge(receivers::router(state.clone()))
        .merge(exporters::router(state.clone()))
        .route("/-/healthy", get(|| async { "OK\n" }))
        .route("/-/ready", get(|| async { "OK\n" }))
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, Reason::NotFound, "no such endpoint")
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                Reason::MethodNotAllowed,
                "this endpoint does not take that method",
            )
        })
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn_with_state(state, gate))
}

/// What every request passes, in one layer: the token, the announced size, the time
/// limit, and the count of every refusal by its reason — the one place rejections are
/// counted.
async fn gate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let response = match admit(&state, &request) {
        Err(refused) => refused.into_response(),
        Ok(()) => match tokio::time::timeout(state.config.request_timeout, next.run(request)).await
        {
            Ok(response) => response,
            Err(_) => ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                Reason::Timeout,
                "request took too long",
            )
            .into_response(),
        },
    };
    if let Some(Rejected(reason)) = response.extensions().get::<Rejected>() {
        state.telemetry.rejected(*reason);
    }
    response
}

/// Refuses a request without the token (when one is configured), then one whose body is
/// announced over the limit, before any of it is read (the body limit alone only trips
/// once that much has been read).
fn admit(state: &AppState, request: &Request) -> Result<(), ApiError> {
    authenticate(state, request)?;
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let limit = state.config.max_body_bytes;
    if announced.is_some_and(|length| length > limit as u64) {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            Reason::TooLarge,
            format!("body larger than {limit} bytes"),
        ));
    }
    Ok(())
}

/// Requires the bearer token, when one is configured, on everything but the probes and
/// the sign-in; the page's cookie stands in for it where a browser reads the page.
fn authenticate(state: &AppState, request: &Request) -> Result<(), ApiError> {
    let Some(token) = &state.config.token else {
        return Ok(());
    };
    let path = request.uri().path();
    let signed_in = auth::cookie_may_open(request.method(), path)
        && state
            .page_key
            .as_ref()
            .is_some_and(|key| auth::has_cookie(request.headers(), key));
    if auth::is_open(path) || auth::has_bearer(request.headers(), token) || signed_in {
        return Ok(());
    }
    if request.method() == Method::GET && auth::is_page(path) {
        let asked = request.uri().path_and_query().map_or("/", |p| p.as_str());
        return Err(login::form(asked, None));
    }
    Err(ApiError::unauthorized())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{call, get, post, sample, state_with};
    use axum::body::Body;
    use axum::http::Request;

    const TOKEN: &str = "a-long-enough-test-token";

    async fn rejected(app: &Router, reason: &str) -> Option<f64> {
        let request = Request::builder()
            .uri("/metrics")
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(Body::empty())
            .unwrap();
        let (_, text) = call(app.clone(), request).await;
        sample(
            &text,
            &format!("claude_telemetry_requests_rejected_total{{reason=\"{reason}\"}}"),
        )
    }

    #[tokio::test]
    async fn every_refusal_is_answered_and_counted_once() {
        let dir = tempfile::tempdir().unwrap();
        let config = CollectorConfig {
            token: Some(TOKEN.to_owned()),
            max_body_bytes: 1024,
            ..CollectorConfig::default()
        };
        let app = app(state_with(dir.path(), config));
        let (status, _) = call(
            app.clone(),
            post("POST", "/v1/hooks", "application/json", "{}"),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, page) = call(app.clone(), get("/")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(
            page.contains("id=\"sign-in\""),
            "a browser gets the form: {page}"
        );
        assert_eq!(rejected(&app, "unauthorized").await, Some(2.0));

        let authorized = |method: &str, path: &str, body: &'static str| {
            Request::builder()
                .method(method)
                .uri(path)
                .header("authorization", format!("Bearer {TOKEN}"))
                .header("content-type", "application/json")
                .body(Body::from(body))
                .unwrap()
        };
        let (status, _) = call(app.clone(), authorized("GET", "/nowhere", "")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(rejected(&app, "not_found").await, Some(1.0));
        let (status, _) = call(app.clone(), authorized("GET", "/v1/hooks", "")).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(rejected(&app, "method_not_allowed").await, Some(1.0));
        let (status, _) = call(app.clone(), authorized("POST", "/v1/hooks", "{")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(rejected(&app, "malformed").await, Some(1.0));
        let mut oversized = authorized("POST", "/v1/hooks", "{}");
        oversized
            .headers_mut()
            .insert("content-length", "4096".parse().unwrap());
        let (status, _) = call(app.clone(), oversized).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(rejected(&app, "too_large").await, Some(1.0));
        let (status, body) = call(app.clone(), get("/-/healthy")).await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::OK, "OK\n"),
            "probes are open"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_store_written_by_0_1_0_opens_and_still_drops_re_exports() {
        let dir = tempfile::tempdir().unwrap();
        rusqlite::Connection::open(store::database_path(dir.path()))
            .unwrap()
            .execute_batch(include_str!("../testdata/store-0.1.0/store.sql"))
            .unwrap();
        let exports: serde_json::Value =
            serde_json::from_str(include_str!("../testdata/store-0.1.0/exports.json")).unwrap();
        let config = CollectorConfig {
            retention: Duration::ZERO,
            ..CollectorConfig::default()
        };
        let app = app(state_with(dir.path(), config));
        let scrape = || async { call(app.clone(), get("/metrics")).await.1 };
        let requests = "claude_code_api_requests_total{user_name=\"jane\",user_email=\"jane@example.com\",model=\"claude-sonnet-4-5\"}";
        let cost = "claude_code_cost_usage_USD_total{model=\"claude-sonnet-4-5\",user_email=\"jane@example.com\"}";
        let text = scrape().await;
        assert_eq!(
            sample(&text, requests),
            Some(2.0),
            "baseline and events: {text}"
        );
        assert_eq!(sample(&text, cost), Some(0.025), "{text}");
        assert_eq!(
            sample(
                &text,
                "builds_total{instance=\"ci\",job=\"build\",result=\"ok\"}"
            ),
            Some(3.0)
        );
        for (name, path) in [
            ("logs_kept", "/v1/logs"),
            ("metrics_kept", "/v1/metrics"),
            ("hook_kept", "/v1/hooks"),
        ] {
            let body = exports[name].to_string();
            let (status, answer) =
                call(app.clone(), post("POST", path, "application/json", body)).await;
            assert_eq!(status, StatusCode::OK, "{name}: {answer}");
        }
        let stored: i64 = store::reader(dir.path())
            .unwrap()
            .query_row("SELECT count(*) FROM events", [], |row| row.get(0))
            .unwrap();
        assert_eq!(stored, 6, "every re-export was recognised as stored");
        let text = scrape().await;
        assert_eq!(sample(&text, requests), Some(2.0), "{text}");
        assert_eq!(sample(&text, cost), Some(0.025), "{text}");
        assert_eq!(
            sample(&text, "claude_telemetry_events_duplicate_total"),
            Some(5.0),
            "4 log events and the hook event: {text}"
        );
    }
}
