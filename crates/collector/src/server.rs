//! The HTTP server: opening the pipeline, binding the address, the middleware every
//! request passes (security headers, the host and origin checks, authentication, the
//! body budget and limits, counting refusals), the periodic work (ending idle sessions,
//! retention), and graceful shutdown.
//!
//! Routes are the receivers' and exporters' own; this module only composes them, and
//! every route gets every check: a new route needs nothing more than its router.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use guard::GuardConfig;
use tokio::net::TcpListener;

use crate::aggregate::pushed::{PushLimits, PushedGroups};
use crate::aggregate::{Aggregator, Limits, SharedAggregator};
use crate::attempts::Attempts;
use crate::auth::{self, PageKey};
use crate::browser;
use crate::budget::{BodyBudget, Share};
use crate::config::{CollectorConfig, ConfigError};
use crate::connections::{self, ConnectionLimits};
use crate::consumer::Onward;
use crate::error::{ApiError, Reason, Rejected};
use crate::exporters::forward::{ForwardSettings, Forwarder};
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
    /// The forwarding thread cannot start.
    #[error("starting the forwarder: {0}")]
    Forwarder(#[source] std::io::Error),
}

/// How long a stopping collector keeps forwarding what it has queued.
const FORWARD_GRACE: Duration = Duration::from_secs(5);

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
        project_labels: config.project_label_limit,
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
        // Prometheus scraped these before the restart: no series is new to it.
        aggregator.settle();
        replayed
    };
    let table = GroupTable::open(&data_dir)?;
    let push_limits = PushLimits {
        groups: config.push_groups_limit,
        series: config.pushed_series_limit,
        series_per_metric: config.series_limit,
    };
    let groups = PushedGroups::new(table.load()?, push_limits);
    let config_budget = config.bodies_in_flight_bytes;
    let page_key = match config.token {
        Some(_) => Some(PageKey::draw().map_err(ServeError::Random)?),
        None => None,
    };
    let forwarder = match ForwardSettings::from_config(&config) {
        Some(settings) => Some(
            Arc::new(Forwarder::start(settings).map_err(ServeError::Forwarder)?) as Arc<dyn Onward>,
        ),
        None => None,
    };
    let telemetry = Telemetry::default();
    telemetry.monthly_budgets(&config.budgets());
    let state = AppState::new(Shared {
        privacy: PrivacyFilter::new(config.privacy),
        config,
        guard,
        data_dir,
        store,
        aggregator,
        telemetry,
        pushed: Mutex::new(Pushed { groups, table }),
        page_key,
        forwarder,
        attempts: Attempts::default(),
        budget: BodyBudget::new(config_budget),
        stopping: tokio::sync::watch::Sender::new(false),
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
        let forwarder = state.forwarder.clone();
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
        let connection_limits = ConnectionLimits {
            max_connections: state.config.max_connections,
            header_timeout: state.config.header_timeout,
        };
        // Open streams hear of the shutdown with the rest; the state goes with this future
        // when every connection has ended.
        let shutdown = {
            let state = state.clone();
            async move {
                shutdown.await;
                state.stopping.send_replace(true);
            }
        };
        connections::serve(listener, app(state), connection_limits, shutdown).await;
        sweeper.abort();
        pruner.abort();
        // Every Store handle is gone with the state: the writer drains its queue and stops.
        tokio::task::spawn_blocking(move || writer.join())
            .await
            .ok();
        // What the store took is forwarded for a few more seconds; the rest is counted.
        if let Some(forwarder) = forwarder {
            tokio::task::spawn_blocking(move || forwarder.shutdown(FORWARD_GRACE))
                .await
                .ok();
        }
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

/// What every request passes, in one layer: the checks of [`admit`] and [`limit`], its
/// body charged to the budget as it is read, the time limit, the security headers on
/// every answer, and the count of every refusal by its reason — the one place
/// rejections are counted.
async fn gate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let admitted = match admit(&state, &request) {
        Ok(Some(attempt)) => verify(&state, attempt).await,
        Ok(None) => Ok(()),
        Err(refused) => Err(refused),
    };
    let mut response = match admitted.and_then(|()| limit(&state, &request)) {
        Err(refused) => refused.into_response(),
        Ok(share) => {
            let request = share.attach(request);
            let timeout = state.config.request_timeout;
            let answer = match tokio::time::timeout(timeout, next.run(request)).await {
                Ok(response) => response,
                Err(_) => ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    Reason::Timeout,
                    "request took too long",
                )
                .into_response(),
            };
            // A body the budget could not hold was cut off there (and its share given
            // back): whatever the route made of what it got, the sender is to retry.
            let answer = match share.refused() {
                Some(over) => ApiError::from(over).into_response(),
                None => answer,
            };
            // The body and what was made of it are gone once answered.
            drop(share);
            answer
        }
    };
    browser::add_security_headers(
        response.headers_mut(),
        exporters::page::content_security_policy(),
    );
    if let Some(Rejected(reason)) = response.extensions().get::<Rejected>() {
        state.telemetry.rejected(*reason);
    }
    response
}

/// A bearer token to compare, from a client.
struct Attempt {
    authorization: axum::http::HeaderValue,
    client: IpAddr,
}

/// Refuses a request addressed by a name this collector is not known by, a write a
/// browser says another site sent, and one without the token when one is configured;
/// returns the token presented, when there is one to compare.
fn admit(state: &AppState, request: &Request) -> Result<Option<Attempt>, ApiError> {
    browser::require_known_host(&state.config.allowed_hosts, request)?;
    browser::refuse_cross_site_writes(request)?;
    authenticate(state, request)
}

/// Refuses, before any of it is read, a body announced over the limit (the body limit
/// alone only trips once that much has been read) and one whose first share does not fit
/// the budget of bodies in flight now; returns the body's share of that budget.
fn limit(state: &AppState, request: &Request) -> Result<Share, ApiError> {
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
    Ok(state.budget.open(request, limit)?)
}

/// Requires the bearer token, when one is configured, on everything but the probes and
/// the sign-in; the page's cookie stands in for it where a browser reads the page. A
/// presented token is compared by [`verify`].
fn authenticate(state: &AppState, request: &Request) -> Result<Option<Attempt>, ApiError> {
    if state.config.token.is_none() {
        return Ok(None);
    }
    let path = request.uri().path();
    let signed_in = auth::cookie_may_open(request.method(), path)
        && state
            .page_key
            .as_ref()
            .is_some_and(|key| auth::has_cookie(request.headers(), key));
    if auth::is_open(path) || signed_in {
        return Ok(None);
    }
    if auth::bearer(request.headers()).is_some()
        && let Some(authorization) = request.headers().get(header::AUTHORIZATION)
    {
        return Ok(Some(Attempt {
            authorization: authorization.clone(),
            client: client_ip(request),
        }));
    }
    if request.method() == Method::GET && auth::is_page(path) {
        let asked = request.uri().path_and_query().map_or("/", |p| p.as_str());
        return Err(login::form(asked, None));
    }
    Err(ApiError::unauthorized())
}

/// Compares a presented token: wrong ones are answered ever later, one at a time per
/// client ([`crate::attempts`]).
async fn verify(state: &AppState, attempt: Attempt) -> Result<(), ApiError> {
    let Some(token) = &state.config.token else {
        return Ok(());
    };
    let presented = auth::bearer_in(&attempt.authorization).unwrap_or("");
    let right = state
        .attempts
        .attempt(attempt.client, || auth::is_token(presented, token))
        .await
        .map_err(ApiError::from)?;
    if right {
        Ok(())
    } else {
        Err(ApiError::unauthorized())
    }
}

/// The client's address (loopback when the server did not say, as in-process tests).
pub(crate) fn client_ip(request: &Request) -> IpAddr {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |info| info.0.ip())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{call, chunked, get, post, respond, sample, state, state_with};
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

    /// `bytes` of hook events as an NDJSON batch, each event its own.
    fn batch(bytes: usize) -> Vec<u8> {
        let mut body = String::new();
        let mut n = 0;
        while body.len() < bytes {
            body.push_str(&EVENT.replace("\"e1\"", &format!("\"e-{n}\"")));
            body.push('\n');
            n += 1;
        }
        body.into_bytes()
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    /// A chunked request: its body in chunks of 16 KiB.
    fn chunked_post(path: &str, content_type: &str, body: &[u8], gzip: bool) -> Request<Body> {
        let chunks = body.chunks(16 * 1024).map(<[u8]>::to_vec).collect();
        let mut request = with_headers(
            post("POST", path, content_type, chunked(chunks)),
            &[("transfer-encoding", "chunked")],
        );
        if gzip {
            request
                .headers_mut()
                .insert("content-encoding", "gzip".parse().unwrap());
        }
        request
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn bodies_are_charged_what_they_hold_and_refused_where_the_budget_ends() {
        const KIB: usize = 1024;
        let dir = tempfile::tempdir().unwrap();
        let config = CollectorConfig {
            max_body_bytes: 256 * KIB,
            bodies_in_flight_bytes: 256 * KIB,
            ..CollectorConfig::default()
        };
        let state = state_with(dir.path(), config);
        let app = app(state.clone());
        // Most of the budget held by a body in flight elsewhere: 64 KiB are left.
        let elsewhere = post("POST", "/v1/hooks", "application/json", "");
        let elsewhere = state.budget.open(&elsewhere, usize::MAX).unwrap();
        elsewhere.hold(192 * KIB).unwrap();

        let large = batch(100 * KIB);
        let export = |bytes: usize| {
            serde_json::json!({"resourceLogs": [{"scopeLogs": [{"logRecords": [{
                "timeUnixNano": "1795491296263000000",
                "attributes": [{"key": "event.name", "value": {"stringValue": "api_request"}}],
                "body": {"stringValue": "x".repeat(bytes)}}]}]}]})
            .to_string()
        };
        // Small chunked bodies fit beside it, gzip or not: they hold a few KiB, not the
        // most they might have become.
        let small = chunked_post("/v1/hooks", "application/x-ndjson", &batch(KIB), false);
        let (status, answer) = call(app.clone(), small).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let small = chunked_post(
            "/v1/logs",
            "application/json",
            &gzip(export(KIB).as_bytes()),
            true,
        );
        let (status, answer) = call(app.clone(), small).await;
        assert_eq!(status, StatusCode::OK, "{answer}");

        // A chunked body larger than what is left, and a small gzip body that inflates to
        // more, are cut off where the budget ends and told to retry.
        let inflating = gzip(export(100 * KIB).as_bytes());
        assert!(inflating.len() < 16 * KIB, "{}", inflating.len());
        for request in [
            chunked_post("/v1/hooks", "application/x-ndjson", &large, false),
            chunked_post("/v1/logs", "application/json", &inflating, true),
        ] {
            let path = request.uri().to_string();
            let (status, headers, answer) = respond(app.clone(), request).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}: {answer}");
            assert_eq!(headers["retry-after"], "1", "{path}");
            assert!(answer.contains("retry"), "{answer}");
        }
        assert_eq!(rejected(&app, "busy").await, Some(2.0));

        // What the refused bodies held was given back: once the other body is answered,
        // the same requests fit.
        drop(elsewhere);
        let (status, answer) = call(
            app.clone(),
            chunked_post("/v1/hooks", "application/x-ndjson", &large, false),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let (status, answer) = call(
            app.clone(),
            chunked_post("/v1/logs", "application/json", &inflating, true),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(rejected(&app, "busy").await, Some(2.0));
    }

    fn with_headers(mut request: Request<Body>, headers: &[(&str, &str)]) -> Request<Body> {
        for (name, value) in headers {
            request.headers_mut().insert(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                axum::http::HeaderValue::from_str(value).unwrap(),
            );
        }
        request
    }

    const EVENT: &str = r#"{"hook_event_name":"UserPromptSubmit","session_id":"s","claude_telemetry":{"event_id":"e1","received_at":"2026-11-24T05:00:00.000Z","host":"h","user_name":"mallory","hook_latency_us":1,"hook_version":"t"}}"#;

    #[tokio::test(flavor = "multi_thread")]
    async fn a_page_on_another_site_cannot_write_by_any_method() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(state(dir.path()));
        let writes = [
            ("POST", "/v1/hooks", "application/json"),
            ("POST", "/v1/metrics", "application/json"),
            ("POST", "/v1/logs", "application/x-protobuf"),
            ("PUT", "/metrics/job/x", "text/plain"),
            ("POST", "/metrics/job/x", "text/plain"),
            ("DELETE", "/metrics/job/x", "text/plain"),
            ("POST", "/login", "application/x-www-form-urlencoded"),
            ("PATCH", "/v1/hooks", "application/json"),
        ];
        let hostile: [&[(&str, &str)]; 4] = [
            &[("sec-fetch-site", "cross-site")],
            &[("sec-fetch-site", "same-site")],
            &[
                ("origin", "http://evil.example"),
                ("host", "127.0.0.1:9091"),
            ],
            &[("origin", "null"), ("host", "127.0.0.1:9091")],
        ];
        for (method, path, content_type) in writes {
            for headers in hostile {
                let request = with_headers(post(method, path, content_type, EVENT), headers);
                let (status, body) = call(app.clone(), request).await;
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{method} {path} {headers:?}: {body}"
                );
            }
        }
        let (_, metrics) = call(app.clone(), get("/metrics")).await;
        assert_eq!(
            sample(
                &metrics,
                "claude_telemetry_requests_rejected_total{reason=\"cross_origin\"}"
            ),
            Some((writes.len() * hostile.len()) as f64)
        );
        assert!(
            !metrics.contains("claude_code_prompts_total"),
            "nothing was stored"
        );
        // The collector's own page, and clients that are not browsers, still write.
        let own = [
            ("sec-fetch-site", "same-origin"),
            ("origin", "http://127.0.0.1:9091"),
            ("host", "127.0.0.1:9091"),
        ];
        let request = with_headers(post("POST", "/v1/hooks", "application/json", EVENT), &own);
        assert_eq!(call(app.clone(), request).await.0, StatusCode::OK);
        let request = post("PUT", "/metrics/job/x", "text/plain", "x 1\n");
        assert_eq!(call(app.clone(), request).await.0, StatusCode::OK);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_blob_or_text_body_is_not_an_event() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(state(dir.path()));
        // What a page can send without asking the browser first: no type, or text/plain.
        let untyped = Request::builder()
            .method("POST")
            .uri("/v1/hooks")
            .body(Body::from(EVENT))
            .unwrap();
        assert_eq!(
            call(app.clone(), untyped).await.0,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        for content_type in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ] {
            let (status, _) =
                call(app.clone(), post("POST", "/v1/hooks", content_type, EVENT)).await;
            assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{content_type}");
            let (status, _) =
                call(app.clone(), post("POST", "/v1/metrics", content_type, "{}")).await;
            assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{content_type}");
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_foreign_host_name_is_refused_everywhere_but_the_probes() {
        let dir = tempfile::tempdir().unwrap();
        let config = CollectorConfig {
            allowed_hosts: vec!["pushgateway".to_owned()],
            ..CollectorConfig::default()
        };
        let app = app(state_with(dir.path(), config));
        let named = |path: &str, host: &str| with_headers(get(path), &[("host", host)]);
        for path in [
            "/api/v1/audit",
            "/",
            "/metrics",
            "/api/v1/overview",
            "/api/v1/metrics",
        ] {
            let (status, body) = call(app.clone(), named(path, "attacker.example:9091")).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
            assert!(!body.contains('['), "nothing of the store: {body}");
        }
        let (status, _) = call(app.clone(), named("/-/healthy", "attacker.example")).await;
        assert_eq!(status, StatusCode::OK, "probes answer any name");
        for host in [
            "localhost:9091",
            "127.0.0.1:9091",
            "[::1]:9091",
            "pushgateway:9091",
        ] {
            assert_eq!(
                call(app.clone(), named("/api/v1/audit", host)).await.0,
                StatusCode::OK,
                "{host}"
            );
        }
        let absolute = Request::builder()
            .uri("http://attacker.example:9091/api/v1/audit")
            .body(Body::empty())
            .unwrap();
        assert_eq!(call(app.clone(), absolute).await.0, StatusCode::FORBIDDEN);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn every_answer_carries_the_security_headers() {
        let dir = tempfile::tempdir().unwrap();
        let config = CollectorConfig {
            token: Some(TOKEN.to_owned()),
            ..CollectorConfig::default()
        };
        let app = app(state_with(dir.path(), config));
        let requests = [
            get("/"),
            get("/sessions/x"),
            get("/api/v1/overview"),
            get("/nowhere"),
            get("/-/healthy"),
            with_headers(get("/"), &[("host", "evil.example")]),
        ];
        for request in requests {
            let path = request.uri().to_string();
            let (_, headers, _) = respond(app.clone(), request).await;
            let header = |name: &str| {
                headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
            };
            assert!(
                header("content-security-policy").contains("frame-ancestors 'none'"),
                "{path}"
            );
            assert!(
                header("content-security-policy").contains("script-src 'sha256-"),
                "{path}"
            );
            assert_eq!(header("x-frame-options"), "DENY", "{path}");
            assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
            assert_eq!(header("referrer-policy"), "no-referrer", "{path}");
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_bearer_scheme_may_be_written_in_any_case() {
        let dir = tempfile::tempdir().unwrap();
        let config = CollectorConfig {
            token: Some(TOKEN.to_owned()),
            ..CollectorConfig::default()
        };
        let app = app(state_with(dir.path(), config));
        for scheme in ["Bearer", "bearer", "BEARER"] {
            let request = with_headers(
                get("/metrics"),
                &[("authorization", &format!("{scheme} {TOKEN}"))],
            );
            assert_eq!(
                call(app.clone(), request).await.0,
                StatusCode::OK,
                "{scheme}"
            );
        }
    }

    #[test]
    fn weak_tokens_and_impossible_limits_stop_the_start() {
        let with_token = |token: &str| CollectorConfig {
            token: Some(token.to_owned()),
            ..CollectorConfig::default()
        };
        for weak in [
            " ".repeat(16),
            "a".repeat(40),
            "abababababababab".to_owned(),
            "short-token".to_owned(),
            "correct horse battery staple".to_owned(),
            "tab\tseparated-token-here".to_owned(),
        ] {
            let err = with_token(&weak).validate().unwrap_err();
            assert!(matches!(err, ConfigError::WeakToken(_)), "{weak:?}");
            assert!(err.to_string().contains("openssl rand -hex 32"), "{err}");
        }
        assert!(with_token(TOKEN).validate().is_ok());
        assert!(
            with_token("3f9c2a7be1d04c58a6e2b7c9d1f08e4a")
                .validate()
                .is_ok()
        );
        let open = CollectorConfig {
            listen: SocketAddr::from(([0, 0, 0, 0], 9091)),
            ..CollectorConfig::default()
        };
        let message = open.validate().unwrap_err().to_string();
        assert!(!message.contains("--token"), "no such flag: {message}");
        assert!(message.contains("CLAUDE_TELEMETRY_TOKEN"), "{message}");
        let tight = CollectorConfig {
            bodies_in_flight_bytes: 1024,
            ..CollectorConfig::default()
        };
        assert!(tight.validate().is_err());
        let odd_host = CollectorConfig {
            allowed_hosts: vec!["http://pushgateway:9091".to_owned()],
            ..CollectorConfig::default()
        };
        assert!(odd_host.validate().is_err());
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
        // The baseline's series, and the replayed events' (which now carry their session's
        // project): together, every request once.
        let requests = |text: &str| -> Option<f64> {
            Some(
                text.lines()
                    .filter(|l| l.starts_with("claude_code_api_requests_total{user_name=\"jane\""))
                    .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                    .sum(),
            )
        };
        let cost = "claude_code_cost_usage_USD_total{model=\"claude-sonnet-4-5\",user_email=\"jane@example.com\"}";
        let text = scrape().await;
        assert_eq!(requests(&text), Some(2.0), "baseline and events: {text}");
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
        assert_eq!(requests(&text), Some(2.0), "{text}");
        assert_eq!(sample(&text, cost), Some(0.025), "{text}");
        assert_eq!(
            sample(&text, "claude_telemetry_events_duplicate_total"),
            Some(5.0),
            "4 log events and the hook event: {text}"
        );
    }
}
