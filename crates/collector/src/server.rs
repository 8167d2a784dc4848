//! The HTTP server: routes, authentication, limits, self metrics, graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;

use crate::aggregate::{Aggregator, Limits};
use crate::config::{CollectorConfig, ConfigError};
use crate::exposition::{Family, Format, Kind, render};
use crate::progress::Progress;
use crate::store::{self, Store, StoreError};
use crate::{receivers, web};

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

/// Counters about the collector itself (`claude_telemetry_*`).
pub(crate) struct SelfMetrics {
    pub received: Family,
    pub rejected: Family,
    pub duplicates: Family,
}

impl SelfMetrics {
    fn new() -> SelfMetrics {
        SelfMetrics {
            received: Family::new(
                "claude_telemetry_events_received_total",
                "Events stored, by source.",
                Kind::Counter,
            ),
            rejected: Family::new(
                "claude_telemetry_requests_rejected_total",
                "Requests refused, by reason.",
                Kind::Counter,
            ),
            duplicates: Family::new(
                "claude_telemetry_events_duplicate_total",
                "Events dropped because their id was already stored.",
                Kind::Counter,
            ),
        }
    }

    pub fn reject(&mut self, reason: &str) {
        self.rejected
            .add(vec![("reason".to_owned(), reason.to_owned())], 1.0);
    }
}

/// What every request handler shares.
pub(crate) struct App {
    pub config: CollectorConfig,
    pub store: Store,
    pub aggregator: Arc<Mutex<Aggregator>>,
    pub self_metrics: Mutex<SelfMetrics>,
    pub pushed: Mutex<receivers::pushgateway::Pushed>,
    pub data_dir: PathBuf,
    /// What the page's sign-in cookie holds, when there is a token to sign in with.
    pub page_key: Option<web::login::PageKey>,
    /// The overview last read for the page.
    pub overview_cache: web::OverviewCache,
}

/// Locks a mutex even if a previous holder panicked: the data is counters, still usable.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Unix time now, in milliseconds.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Removes events older than `retention`, folding what they added up to into the
/// store's baseline. The live counters do not change: they already count those events.
fn prune(
    data_dir: &std::path::Path,
    limits: Limits,
    retention: Duration,
) -> Result<usize, StoreError> {
    let cutoff = now_ms() - i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
    store::prune(data_dir, cutoff, |previous, total, events| {
        let mut aggregator = Aggregator::new(limits);
        if let Some(state) = previous.and_then(|s| serde_json::from_str(s).ok()) {
            aggregator.restore(state);
        }
        let mut progress =
            Progress::stderr("folding expired events into the baseline", "events", total);
        for event in events {
            if let Ok(body) = serde_json::from_str(&event.body) {
                aggregator.apply_stored(&event.source, &body, event.ts_ms);
            }
            progress.tick();
        }
        progress.finish();
        // Sessions whose events are gone have ended by the cutoff.
        aggregator.sweep(cutoff);
        serde_json::to_string(&aggregator.snapshot()).unwrap_or_else(|_| "[]".to_owned())
    })
}

/// A running collector.
pub struct Server {
    app: Arc<App>,
    writer: store::Writer,
    listener: TcpListener,
    replayed: u64,
    limits: Limits,
}

impl Server {
    /// Opens the store, rebuilds the counters from it, and binds the address.
    pub async fn bind(config: CollectorConfig, data_dir: PathBuf) -> Result<Server, ServeError> {
        config.validate()?;
        let limits = Limits {
            session_idle_ms: i64::try_from(config.session_idle_timeout.as_millis())
                .unwrap_or(i64::MAX),
            series_per_metric: config.series_limit,
            label_value_bytes: config.label_value_bytes,
        };
        let aggregator = Arc::new(Mutex::new(Aggregator::new(limits)));
        let sink = aggregator.clone();
        let (store, writer) = store::open(
            &data_dir,
            Box::new(move |events| {
                let mut aggregator = lock(&sink);
                for event in events {
                    aggregator.apply_stored(event.source, &event.parsed, event.ts_ms);
                }
            }),
        )?;
        // Events older than the retention are folded into the baseline and removed, then
        // counters start from the baseline and the events that remain.
        if !config.retention.is_zero() {
            prune(&data_dir, limits, config.retention)?;
        }
        let replayed = {
            let mut aggregator = lock(&aggregator);
            if let Some((_, state)) = store::baseline(&data_dir)? {
                aggregator.restore(serde_json::from_str(&state).unwrap_or_default());
            }
            let mut progress = Progress::stderr(
                "replaying the event store",
                "events",
                store::count(&data_dir)?,
            );
            let count = store::replay(&data_dir, |event| {
                if let Ok(body) = serde_json::from_str(&event.body) {
                    aggregator.apply_stored(&event.source, &body, event.ts_ms);
                }
                progress.tick();
            })?;
            progress.finish();
            aggregator.sweep(now_ms());
            count
        };
        let pushed = store::reader_writer(&data_dir).and_then(|db| {
            receivers::pushgateway::Pushed::load(db).map_err(|source| StoreError::Sqlite {
                path: store::database_path(&data_dir),
                source,
            })
        })?;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ServeError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let page_key = match config.token {
            Some(_) => Some(web::login::PageKey::draw().map_err(ServeError::Random)?),
            None => None,
        };
        let app = Arc::new(App {
            page_key,
            overview_cache: web::OverviewCache::default(),
            config,
            store,
            aggregator,
            self_metrics: Mutex::new(SelfMetrics::new()),
            pushed: Mutex::new(pushed),
            data_dir,
        });
        Ok(Server {
            app,
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
            app,
            writer,
            listener,
            limits,
            ..
        } = self;
        let pruner = {
            let (data_dir, retention) = (app.data_dir.clone(), app.config.retention);
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(3600));
                tick.tick().await; // the first tick is now; start-up already pruned
                loop {
                    tick.tick().await;
                    if retention.is_zero() {
                        continue;
                    }
                    let data_dir = data_dir.clone();
                    let pruned =
                        tokio::task::spawn_blocking(move || prune(&data_dir, limits, retention))
                            .await;
                    if let Ok(Err(err)) = pruned {
                        eprintln!(
                            "claude-telemetry collector: pruning old events failed (kept, retried in an hour): {err}"
                        );
                    }
                }
            })
        };
        let sweeper = {
            let app = app.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(15));
                loop {
                    tick.tick().await;
                    lock(&app.aggregator).sweep(now_ms());
                }
            })
        };
        let router = router(app.clone());
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await?;
        sweeper.abort();
        pruner.abort();
        drop(app);
        // Every Store handle is gone with the app: the writer drains its queue and stops.
        tokio::task::spawn_blocking(move || writer.join())
            .await
            .ok();
        Ok(())
    }
}

fn router(app: Arc<App>) -> Router {
    let max_body = app.config.max_body_bytes;
    let timeout = app.config.request_timeout;
    Router::new()
        .route("/v1/hooks", post(receivers::hooks::receive))
        .route("/metrics", get(metrics))
        .route(
            "/metrics/{*grouping}",
            axum::routing::put(receivers::pushgateway::push)
                .post(receivers::pushgateway::push)
                .delete(receivers::pushgateway::push),
        )
        .route("/api/v1/metrics", get(receivers::pushgateway::list))
        .route("/v1/metrics", post(receivers::otlp::metrics))
        .route("/v1/logs", post(receivers::otlp::logs))
        .route("/", get(web::overview_page))
        .route("/sessions/{id}", get(web::session_page))
        .route("/api/v1/overview", get(web::overview_json))
        .route("/api/v1/usage", get(web::usage))
        .route("/api/v1/sessions", get(web::sessions))
        .route("/api/v1/sessions/{id}/timeline", get(web::timeline))
        .route("/api/v1/audit", get(web::audit))
        .route("/login", post(web::login::sign_in))
        .route("/-/healthy", get(|| async { "OK\n" }))
        .route("/-/ready", get(|| async { "OK\n" }))
        .fallback(|| async { (StatusCode::NOT_FOUND, "no such endpoint\n") })
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn_with_state(
            app.clone(),
            refuse_announced_oversize,
        ))
        .layer(middleware::from_fn_with_state(app.clone(), authenticate))
        .layer(middleware::from_fn(
            move |request: Request, next: Next| async move {
                match tokio::time::timeout(timeout, next.run(request)).await {
                    Ok(response) => response,
                    Err(_) => {
                        (StatusCode::REQUEST_TIMEOUT, "request took too long\n").into_response()
                    }
                }
            },
        ))
        .with_state(app)
}

/// Refuses a body whose announced length is over the limit before reading any of it
/// (the body limit alone only trips once that much has been read).
async fn refuse_announced_oversize(
    State(app): State<Arc<App>>,
    request: Request,
    next: Next,
) -> Response {
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let limit = app.config.max_body_bytes;
    if announced.is_some_and(|length| length > limit as u64) {
        lock(&app.self_metrics).reject("too_large");
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("body larger than {limit} bytes\n"),
        )
            .into_response();
    }
    next.run(request).await
}

/// Requires the bearer token, when one is configured, on everything but the probes and
/// the sign-in; the page's cookie stands in for it where a browser reads the page.
async fn authenticate(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let Some(token) = &app.config.token else {
        return next.run(request).await;
    };
    let path = request.uri().path();
    let open = matches!(path, "/-/healthy" | "/-/ready" | "/login");
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or("");
    let bearer = bool::from(presented.as_bytes().ct_eq(token.as_bytes()));
    let signed_in = web::login::cookie_may_open(request.method(), path)
        && app
            .page_key
            .as_ref()
            .is_some_and(|key| web::login::has_cookie(request.headers(), key));
    let browser_page = request.method() == Method::GET && web::login::is_page(path);
    if open || bearer || signed_in {
        return next.run(request).await;
    }
    lock(&app.self_metrics).reject("unauthorized");
    if browser_page {
        let asked = request.uri().path_and_query().map_or("/", |p| p.as_str());
        return web::login::form(asked, None);
    }
    let mut response = (
        StatusCode::UNAUTHORIZED,
        "a valid bearer token is required\n",
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

async fn metrics(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let format = Format::negotiate(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    let mut own = Vec::new();
    let mut store_bytes = Family::new(
        "claude_telemetry_store_bytes",
        "Size of the event store on disk.",
        Kind::Gauge,
    );
    store_bytes.set(Vec::new(), store::size_bytes(&app.data_dir) as f64);
    own.push(store_bytes);
    let mut build = Family::new(
        "claude_telemetry_build_info",
        "Version of the collector.",
        Kind::Gauge,
    );
    build.set(
        vec![("version".to_owned(), env!("CARGO_PKG_VERSION").to_owned())],
        1.0,
    );
    own.push(build);
    let pushed = lock(&app.pushed).families();
    let text = {
        let aggregator = lock(&app.aggregator);
        let self_metrics = lock(&app.self_metrics);
        // A pushed family with the name of one of ours (same type: pushes of another
        // type are refused) is rendered inside ours, so each name appears once.
        let mut ours: Vec<Family> = aggregator
            .families()
            .chain([
                &self_metrics.received,
                &self_metrics.rejected,
                &self_metrics.duplicates,
            ])
            .cloned()
            .chain(own)
            .collect();
        let mut rest = Vec::new();
        for family in pushed {
            match ours.iter_mut().find(|f| f.name == family.name) {
                Some(mine) => mine.series.extend(family.series),
                None => rest.push(family),
            }
        }
        render(ours.iter().chain(rest.iter()), format)
    };
    (
        [(header::CONTENT_TYPE, format.content_type())],
        Body::from(text),
    )
        .into_response()
}
