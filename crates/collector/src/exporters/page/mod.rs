//! The built-in page (`GET /`, `GET /sessions/{id}`), the JSON it is made of
//! (`GET /api/v1/…`), and signing in to it (`POST /login`), read from the event store.
//!
//! Pages are rendered on the server, so every table works with JavaScript off; a few
//! lines of script refresh the page's content in place every few seconds. Nothing is
//! fetched from elsewhere: the page works offline and needs no build step.
//!
//! Every answer stays small whatever the store holds: the overview shows the first
//! rows of each table and says how many it left out; the JSON lists come in pages
//! (`limit`, at most 1,000 rows, from `offset`), the next one named by a `Link` header.

mod budgets;
pub mod login;
mod overview;
mod range;
mod view;
mod waterfall;

use std::collections::HashMap;
use std::path::Path as FsPath;
use std::sync::{Arc, LazyLock};

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRef, Path, Query, State};
use axum::http::Uri;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response, sse};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::broadcast::error::RecvError;

use crate::error::{ApiError, Reason};
use crate::live::LiveFilter;
use crate::query::{self, AuditFilter, Filter, GroupBy, Window};
use crate::state::AppState;
use crate::store::StoreError;
use crate::time::now_ms;
use overview::OverviewCache;
use range::Range;

const TIMELINE_SHOWN: usize = 5_000;
/// Spans read for one session's traces.
const SPANS_SHOWN: usize = 20_000;
/// Rows of a JSON list in one answer, at most and by default.
const PAGE_ROWS: usize = 1_000;

/// What the page's handlers share: the collector's state and the last overview read.
#[derive(Clone)]
struct PageState {
    app: AppState,
    overview: Arc<OverviewCache>,
}

impl FromRef<PageState> for AppState {
    fn from_ref(page: &PageState) -> AppState {
        page.app.clone()
    }
}

/// The page, its JSON and the sign-in.
pub fn router(state: AppState) -> Router {
    let state = PageState {
        app: state,
        overview: Arc::default(),
    };
    Router::new()
        .route("/", get(overview_page))
        .route("/sessions/{id}", get(session_page))
        .route("/api/v1/overview", get(overview_json))
        .route("/api/v1/usage", get(usage))
        .route("/api/v1/budget", get(budget))
        .route("/api/v1/events/stream", get(live_stream))
        .route("/api/v1/sessions", get(sessions))
        .route("/api/v1/sessions/{id}", get(session_summary))
        .route("/api/v1/sessions/{id}/timeline", get(timeline))
        .route("/api/v1/sessions/{id}/tool_calls", get(tool_calls))
        .route("/api/v1/sessions/{id}/traces", get(session_traces))
        .route("/api/v1/traces/{trace_id}", get(trace))
        .route("/api/v1/audit", get(audit))
        .route("/login", post(login::sign_in))
        .with_state(state)
}

/// The Content-Security-Policy of every answer: nothing loads but the page's own
/// stylesheets and script (inline, so allowed by their hashes), it talks only to this
/// collector, posts forms only here, and no site may frame it. Inline `style`
/// attributes are allowed (`style-src-attr`): the waterfall places its bars with them,
/// everything in them is escaped markup of our own, and with `default-src 'none'` a
/// style can fetch nothing.
pub fn content_security_policy() -> &'static HeaderValue {
    static POLICY: LazyLock<HeaderValue> = LazyLock::new(|| {
        let hash = |text: &str| {
            let digest = Sha256::digest(text.as_bytes());
            let digest = base64::engine::general_purpose::STANDARD.encode(digest);
            format!("'sha256-{digest}'")
        };
        let policy = format!(
            "default-src 'none'; script-src {script}; style-src {styles}; \
             style-src-elem {styles}; style-src-attr 'unsafe-inline'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            script = hash(view::SCRIPT),
            styles = format!("{} {}", hash(view::STYLE), hash(waterfall::STYLE)),
        );
        HeaderValue::from_str(&policy).unwrap_or(HeaderValue::from_static("default-src 'none'"))
    });
    &POLICY
}

/// Runs a store read off the async workers.
async fn read<T: Send + 'static>(
    app: &AppState,
    work: impl FnOnce(&FsPath) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    let dir = app.data_dir.clone();
    let failed = |message: String| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            Reason::StoreRead,
            format!("reading the event store: {message}"),
        )
    };
    tokio::task::spawn_blocking(move || work(&dir))
        .await
        .map_err(|e| failed(e.to_string()))?
        .map_err(|e| failed(e.to_string()))
}

fn html(body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// The overview of what `filter` admits over `range`: everyone's over the default range
/// is read once for every page that asks ([`overview::OverviewCache`]); any other (a
/// few buckets) each time. A range that cannot be read is refused with `refuse`'s answer.
async fn current_overview(
    page: &PageState,
    filter: Filter,
    range: Range,
    refuse: impl FnOnce(String) -> ApiError,
) -> Result<Arc<overview::Overview>, ApiError> {
    let now = now_ms();
    let window = range.window(now).map_err(refuse)?;
    let shared = filter.is_everything() && range.is_default();
    let last_seen = page.app.aggregator.lock().last_seen();
    let budgets = page.app.config.budgets();
    let read_overview = read(&page.app, move |dir| {
        overview::read(dir, now, &filter, range, window, last_seen, &budgets)
    });
    if !shared {
        return read_overview.await.map(Arc::new);
    }
    page.overview
        .current(
            now,
            read(&page.app, crate::store::high_water_mark),
            read_overview,
        )
        .await
}

/// `GET /?range=today|7d|30d|month&since=&until=&user=&project=&model=`: the overview
/// page, of what the filters admit over the range; a range that cannot be read gets a
/// page saying why.
async fn overview_page(State(page): State<PageState>, query: Params) -> Result<Response, ApiError> {
    let params = params(query)?;
    if let Some(message) = unknown_parameter(&params, OVERVIEW_PARAMETERS) {
        return Err(ApiError::page(
            StatusCode::BAD_REQUEST,
            Reason::BadParameter,
            view::bad_parameter(&message),
        ));
    }
    let refuse = |message: String| {
        ApiError::page(
            StatusCode::BAD_REQUEST,
            Reason::BadParameter,
            view::bad_range(&message),
        )
    };
    let range = Range::from_params(&params).map_err(refuse)?;
    let data = current_overview(&page, filter(&params), range, refuse).await?;
    Ok(html(view::overview(&data)))
}

/// `GET /sessions/{id}`: one session's summary, tool calls, traces and timeline.
async fn session_page(
    State(page): State<PageState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let session = id.clone();
    let (summary, calls, entries, traces) = read(&page.app, move |dir| {
        Ok((
            query::session(dir, &session)?,
            query::tool_calls(dir, &session, TIMELINE_SHOWN)?,
            query::timeline(dir, &session, TIMELINE_SHOWN)?,
            query::traces::session_traces(dir, &session, SPANS_SHOWN)?,
        ))
    })
    .await?;
    if summary.is_none() && entries.is_empty() && traces.traces.is_empty() {
        return Ok((StatusCode::NOT_FOUND, html(view::not_found(&id))).into_response());
    }
    Ok(html(view::session(
        &id,
        summary.as_ref(),
        &calls,
        &entries,
        waterfall::section(&traces),
    )))
}

type Params = Result<Query<HashMap<String, String>>, QueryRejection>;

fn params(params: Params) -> Result<HashMap<String, String>, ApiError> {
    params
        .map(|Query(params)| params)
        .map_err(|err| ApiError::bad_request(Reason::BadParameter, err.body_text()))
}

/// `since`/`until`: a duration ago (`7d`, `90m`), a date or an RFC 3339 time; the
/// default window is the last 7 days.
fn window(params: &HashMap<String, String>, now: i64) -> Result<Window, ApiError> {
    let end = |name: &str| params.get(name).map(String::as_str);
    Window::parse(end("since"), end("until"), now)
        .map_err(|err| ApiError::bad_request(Reason::BadParameter, err.to_string()))
}

/// What the overview (page and JSON) takes.
const OVERVIEW_PARAMETERS: &[&str] = &["range", "since", "until", "user", "project", "model"];

/// The first of `params` that is not one of `known`, as a message naming those: a
/// misspelt filter is said, never quietly dropped.
fn unknown_parameter(params: &HashMap<String, String>, known: &[&str]) -> Option<String> {
    let mut names: Vec<&String> = params.keys().collect();
    names.sort();
    names
        .into_iter()
        .find(|name| !known.contains(&name.as_str()))
        .map(|name| format!("{name}: not a parameter here ({})", known.join(", ")))
}

/// `user=`, `project=`, `model=`: whose usage, where, with which model.
fn filter(params: &HashMap<String, String>) -> Filter {
    Filter {
        user: params.get("user").cloned(),
        project: params.get("project").cloned(),
        model: params.get("model").cloned(),
    }
}

/// A page of a JSON list: `limit` rows (by default and at most [`PAGE_ROWS`]) from
/// `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Page {
    offset: usize,
    limit: usize,
}

impl Page {
    fn from(params: &HashMap<String, String>) -> Result<Page, ApiError> {
        let number = |name: &str, default: usize| match params.get(name) {
            None => Ok(default),
            Some(text) => text.parse::<usize>().map_err(|_| {
                ApiError::bad_request(
                    Reason::BadParameter,
                    format!("{name}: expected a whole number, got {text:?}"),
                )
            }),
        };
        let page = Page {
            offset: number("offset", 0)?,
            limit: number("limit", PAGE_ROWS)?,
        };
        if page.limit == 0 || page.limit > PAGE_ROWS {
            return Err(ApiError::bad_request(
                Reason::BadParameter,
                format!("limit: from 1 to {PAGE_ROWS}, got {}", page.limit),
            ));
        }
        Ok(page)
    }

    /// How many rows to read to answer this page and know whether another follows.
    fn rows_to_read(self) -> usize {
        self.offset.saturating_add(self.limit).saturating_add(1)
    }

    /// This page of `rows` (which start at the list's first row), with `last` after it
    /// (usage's TOTAL row), and a `Link` to the next page when there is one.
    fn answer<T: Serialize>(self, uri: &Uri, mut rows: Vec<T>, last: Option<T>) -> Response {
        let more = rows.len() > self.offset.saturating_add(self.limit);
        rows.truncate(self.offset.saturating_add(self.limit));
        let mut rows: Vec<T> = rows.into_iter().skip(self.offset).collect();
        rows.extend(last);
        let mut response = Json(rows).into_response();
        if more {
            let next = Page {
                offset: self.offset + self.limit,
                ..self
            };
            if let Ok(link) = HeaderValue::from_str(&format!("<{}>; rel=\"next\"", next.uri(uri))) {
                response.headers_mut().insert(header::LINK, link);
            }
        }
        response
    }

    /// `uri` asking for this page: its other parameters as they were written.
    fn uri(self, uri: &Uri) -> String {
        let kept: Vec<&str> = uri
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|pair| {
                let name = pair.split('=').next().unwrap_or("");
                !pair.is_empty() && name != "offset" && name != "limit"
            })
            .collect();
        let mut query = kept.join("&");
        if !query.is_empty() {
            query.push('&');
        }
        format!(
            "{}?{query}offset={}&limit={}",
            uri.path(),
            self.offset,
            self.limit
        )
    }
}

/// `GET /api/v1/usage?by=day|week|month|model|user|project|session|block&since=&until=&user=&project=&model=&breakdown=true`:
/// a page of the groups, then the TOTAL row of the whole window (on every page).
async fn usage(
    State(page): State<PageState>,
    uri: Uri,
    query: Params,
) -> Result<Response, ApiError> {
    let params = params(query)?;
    let window = window(&params, now_ms())?;
    let rows_page = Page::from(&params)?;
    let by_name = params.get("by").map_or("day", String::as_str);
    let Some(by) = GroupBy::from_name(by_name) else {
        let names: Vec<&str> = GroupBy::ALL.iter().map(|by| by.name()).collect();
        return Err(ApiError::bad_request(
            Reason::BadParameter,
            format!("by: expected one of {}, got {by_name:?}", names.join(", ")),
        ));
    };
    let breakdown = match params.get("breakdown").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::bad_request(
                Reason::BadParameter,
                format!("breakdown: expected true or false, got {other:?}"),
            ));
        }
    };
    let filter = filter(&params);
    let mut rows = read(&page.app, move |dir| {
        if breakdown {
            query::usage_by_model(dir, window, by, &filter)
        } else {
            query::usage(dir, window, by, &filter)
        }
    })
    .await?;
    let total = rows.pop();
    Ok(rows_page.answer(&uri, rows, total))
}

/// `GET /api/v1/budget?user=&project=&model=`: this month's spending of what the
/// filter admits against the budget that holds it (everyone's, the user's or the
/// project's), its projection to the month's end, and every configured budget.
async fn budget(State(page): State<PageState>, query: Params) -> Result<Response, ApiError> {
    let params = params(query)?;
    let filter = filter(&params);
    let budgets = page.app.config.budgets();
    let now = now_ms();
    let status = read(&page.app, move |dir| {
        query::budget(dir, now, &budgets, &filter)
    })
    .await?;
    Ok(Json(status).into_response())
}

/// `GET /api/v1/events/stream?user=&project=&session=`: server-sent events, one `event`
/// (JSON: [`LiveEvent`]) per event stored from now on; a listener that falls behind is
/// told how many it missed (`lagged`). The page's own range parameters are let through
/// (a stream starts now whatever the range); `model` and anything else unknown are
/// refused rather than quietly not applied.
async fn live_stream(State(page): State<PageState>, query: Params) -> Result<Response, ApiError> {
    let params = params(query)?;
    if params.contains_key("model") {
        return Err(ApiError::bad_request(
            Reason::BadParameter,
            "model: the live stream cannot be narrowed by model (hook events do not say which model a session uses); narrow it by user, project or session".to_owned(),
        ));
    }
    if let Some(message) = unknown_parameter(
        &params,
        &["user", "project", "session", "range", "since", "until"],
    ) {
        return Err(ApiError::bad_request(Reason::BadParameter, message));
    }
    let filter = LiveFilter {
        user: params.get("user").cloned(),
        project: params.get("project").cloned(),
        session_id: params.get("session").cloned(),
    };
    let receiver = page.app.store.subscribe();
    let stopping = page.app.stopping.subscribe();
    let events = futures_util::stream::unfold(
        (receiver, stopping, filter),
        |(mut receiver, mut stopping, filter)| async move {
            loop {
                let received = tokio::select! {
                    received = receiver.recv() => received,
                    // The collector is stopping: the stream ends, and with it the response.
                    _ = stopping.wait_for(|stop| *stop) => return None,
                };
                let message = match received {
                    Ok(event) if event.admits(&filter) => {
                        sse::Event::default().event("event").json_data(&*event)
                    }
                    Ok(_) => continue,
                    Err(RecvError::Lagged(missed)) => Ok(sse::Event::default()
                        .event("lagged")
                        .data(missed.to_string())),
                    Err(RecvError::Closed) => return None,
                };
                return Some((message, (receiver, stopping, filter)));
            }
        },
    );
    Ok(sse::Sse::new(events)
        .keep_alive(sse::KeepAlive::default())
        .into_response())
}

/// `GET /api/v1/overview?range=today|7d|30d|month&since=&until=&user=&project=&model=`:
/// what the overview page shows.
async fn overview_json(State(page): State<PageState>, query: Params) -> Result<Response, ApiError> {
    let params = params(query)?;
    let refuse = |message: String| ApiError::bad_request(Reason::BadParameter, message).json();
    if let Some(message) = unknown_parameter(&params, OVERVIEW_PARAMETERS) {
        return Err(refuse(message));
    }
    let range = Range::from_params(&params).map_err(refuse)?;
    let data = current_overview(&page, filter(&params), range, refuse).await?;
    Ok(Json(&*data).into_response())
}

/// `GET /api/v1/sessions?since=&until=&user=&project=&model=`: most recent first.
async fn sessions(
    State(page): State<PageState>,
    uri: Uri,
    query: Params,
) -> Result<Response, ApiError> {
    let params = params(query)?;
    let window = window(&params, now_ms())?;
    let rows_page = Page::from(&params)?;
    let filter = filter(&params);
    let rows = read(&page.app, move |dir| {
        query::sessions(dir, window, rows_page.rows_to_read(), &filter)
    })
    .await?;
    Ok(rows_page.answer(&uri, rows, None))
}

/// `GET /api/v1/sessions/{id}`: the session's summary (what the top of its page shows);
/// 404 when the store does not know it.
async fn session_summary(
    State(page): State<PageState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    match read(&page.app, move |dir| query::session(dir, &id)).await? {
        Some(summary) => Ok(Json(summary).into_response()),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            Reason::NotFound,
            "no such session is stored",
        )),
    }
}

/// `GET /api/v1/sessions/{id}/tool_calls`: one row per tool call, in the order they
/// started.
async fn tool_calls(
    State(page): State<PageState>,
    uri: Uri,
    Path(id): Path<String>,
    query: Params,
) -> Result<Response, ApiError> {
    let rows_page = Page::from(&params(query)?)?;
    let calls = read(&page.app, move |dir| {
        query::tool_calls(dir, &id, TIMELINE_SHOWN)
    })
    .await?;
    Ok(rows_page.answer(&uri, calls, None))
}

/// `GET /api/v1/sessions/{id}/timeline`
async fn timeline(
    State(page): State<PageState>,
    uri: Uri,
    Path(id): Path<String>,
    query: Params,
) -> Result<Response, ApiError> {
    let rows_page = Page::from(&params(query)?)?;
    let entries = read(&page.app, move |dir| {
        query::timeline(dir, &id, rows_page.rows_to_read())
    })
    .await?;
    Ok(rows_page.answer(&uri, entries, None))
}

/// `GET /api/v1/sessions/{id}/traces`: the session's traces as trees, oldest first.
async fn session_traces(
    State(page): State<PageState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let traces = read(&page.app, move |dir| {
        query::traces::session_traces(dir, &id, SPANS_SHOWN)
    })
    .await?;
    Ok(Json(traces).into_response())
}

/// `GET /api/v1/traces/{trace_id}`: one trace as a tree; 404 when none of its spans is
/// stored.
async fn trace(
    State(page): State<PageState>,
    Path(trace_id): Path<String>,
) -> Result<Response, ApiError> {
    if trace_id.len() != 32 || !trace_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::bad_request(
            Reason::BadParameter,
            "a trace id is 32 hex digits",
        ));
    }
    let found = read(&page.app, move |dir| query::traces::trace(dir, &trace_id)).await?;
    match found {
        Some(trace) => Ok(Json(trace).into_response()),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            Reason::NotFound,
            "no span of that trace is stored",
        )),
    }
}

/// `GET /api/v1/audit?since=&until=&user=&rule=&all=true`: oldest first.
async fn audit(
    State(page): State<PageState>,
    uri: Uri,
    query: Params,
) -> Result<Response, ApiError> {
    let params = params(query)?;
    let window = window(&params, now_ms())?;
    let rows_page = Page::from(&params)?;
    let filter = AuditFilter {
        include_allowed: params.get("all").is_some_and(|v| v == "true"),
        user: params.get("user").cloned(),
        rule: params.get("rule").cloned(),
        last: None,
    };
    let rows = read(&page.app, move |dir| query::audit(dir, window, &filter)).await?;
    Ok(rows_page.answer(&uri, rows, None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{call, feed, get, respond, state};

    #[tokio::test]
    async fn the_page_and_its_json_read_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path());
        let (status, page) = call(router(state.clone()), get("/")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("<table id=\"sessions\""), "{page}");
        let (status, overview) = call(router(state.clone()), get("/api/v1/overview")).await;
        assert_eq!(status, StatusCode::OK);
        let overview: serde_json::Value = serde_json::from_str(&overview).unwrap();
        assert_eq!(overview["total"]["sessions"], 0);
        assert_eq!(overview["range"]["name"], "7d");
        let (status, rows) = call(
            router(state.clone()),
            get("/api/v1/usage?by=model&since=1d"),
        )
        .await;
        assert_eq!(
            (status, rows.as_str()),
            (
                StatusCode::OK,
                r#"[{"key":"TOTAL","sessions":0,"requests":0,"input_tokens":0,"output_tokens":0,"cache_read_tokens":0,"cache_creation_tokens":0,"cost_usd":0.0,"prompts":0,"tool_calls":0,"blocks":0,"total":true}]"#
            )
        );
    }

    #[tokio::test]
    async fn signing_in_takes_the_token_and_sets_the_cookie() {
        let dir = tempfile::tempdir().unwrap();
        let token = "a-long-enough-test-token";
        let config = crate::CollectorConfig {
            token: Some(token.to_owned()),
            ..crate::CollectorConfig::default()
        };
        let state = crate::testing::state_with(dir.path(), config);
        let form = "application/x-www-form-urlencoded";
        let (status, page) = call(
            router(state.clone()),
            crate::testing::post("POST", "/login", form, "token=wrong&next=/sessions/a"),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(page.contains("not this collector"), "{page}");
        let request = crate::testing::post(
            "POST",
            "/login",
            form,
            format!("token={token}&next=/sessions/a"),
        );
        let response = tower::ServiceExt::oneshot(router(state), request)
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()["location"], "/sessions/a");
        let cookie = response.headers()["set-cookie"].to_str().unwrap();
        assert!(cookie.starts_with("claude_telemetry_page=") && cookie.contains("HttpOnly"));
        assert!(!cookie.contains(token), "the cookie is never the token");
    }

    #[tokio::test]
    async fn bad_parameters_and_unknown_sessions_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path());
        let (status, message) = call(router(state.clone()), get("/api/v1/usage?by=planet")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            message.contains(
                "by: expected one of day, week, month, model, user, project, session, block"
            ),
            "{message}"
        );
        let (status, message) = call(
            router(state.clone()),
            get("/api/v1/usage?by=day&breakdown=maybe"),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(message.contains("breakdown"), "{message}");
        let (status, message) =
            call(router(state.clone()), get("/api/v1/audit?since=yesterday")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(message.contains("since"), "{message}");
        // A misspelt filter is said, not dropped (which would show everything).
        let (status, message) = call(router(state.clone()), get("/api/v1/overview?usr=bob")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(message.contains("usr: not a parameter here"), "{message}");
        let (status, page) = call(router(state.clone()), get("/?range=7d&projcet=api")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            page.contains("That view cannot be shown: projcet: not a parameter here"),
            "{page}"
        );
        let (status, page) = call(router(state), get("/sessions/%3Cx%3E")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(page.contains("No session &lt;x&gt;"), "{page}");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn an_empty_store_says_what_to_do_and_each_source_says_when_it_last_sent() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path());
        let (status, page) = call(router(state.clone()), get("/")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("id=\"empty\""), "{page}");
        for next in ["claude-telemetry install", "claude-telemetry doctor"] {
            assert!(page.contains(next), "{next}: {page}");
        }
        for source in ["hooks", "OTLP metrics", "OTLP logs", "traces"] {
            assert!(
                page.contains(&format!("data-source=\"{source}\">never<")),
                "{source}: {page}"
            );
        }
        let (_, overview) = call(router(state.clone()), get("/api/v1/overview")).await;
        let overview: serde_json::Value = serde_json::from_str(&overview).unwrap();
        assert_eq!(
            overview["last_seen"],
            serde_json::json!({"hooks": null, "otlp_metrics": null, "otlp_logs": null, "traces": null})
        );

        let at = "2026-11-20T10:00:00.000Z";
        let hook = serde_json::json!({
            "hook_event_name": "UserPromptSubmit", "session_id": "s",
            "claude_telemetry": {"event_id": "e1", "received_at": at, "host": "h",
                "user_name": "u", "hook_latency_us": 1, "hook_version": "t"}
        });
        let (status, body) = call(
            crate::server::app(state.clone()),
            crate::testing::post(
                "POST",
                "/v1/hooks",
                "application/x-ndjson",
                hook.to_string(),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        // Outside the default range: the store is not empty for all that.
        let (_, page) = call(router(state.clone()), get("/")).await;
        assert!(!page.contains("id=\"empty\""), "{page}");
        assert!(
            page.contains("data-source=\"hooks\">2026-11-20 10:00:00 UTC<"),
            "{page}"
        );
        assert!(page.contains("data-source=\"traces\">never<"), "{page}");
        // Hooks alone: cost is not known rather than nothing, and the page says why.
        assert!(
            page.contains("id=\"no-cost\"") && page.contains("data-figure=\"cost-range\">–<"),
            "{page}"
        );
        let (_, overview) = call(router(state.clone()), get("/api/v1/overview?range=today")).await;
        let overview: serde_json::Value = serde_json::from_str(&overview).unwrap();
        let expected = humantime::parse_rfc3339(at)
            .unwrap()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis();
        assert_eq!(
            overview["last_seen"]["hooks"].as_u64(),
            Some(expected as u64)
        );
        assert_eq!(overview["last_seen"]["otlp_logs"], serde_json::Value::Null);
        assert!(!page.contains("id=\"no-hooks\""), "{page}");
    }

    /// Claude Code's telemetry alone: the page says where prompts and tool calls come
    /// from instead of showing them as none.
    #[tokio::test(flavor = "multi_thread")]
    async fn telemetry_without_hooks_says_what_the_hooks_would_add() {
        let dir = tempfile::tempdir().unwrap();
        let request = crate::testing::workload::otlp(
            "r",
            now_ms() - 60_000,
            "s",
            "api_request",
            serde_json::json!({"model": "m", "cost_usd": 0.5}),
        );
        feed(dir.path(), vec![request]).await;
        let (_, page) = call(router(state(dir.path())), get("/")).await;
        assert!(
            page.contains("id=\"no-hooks\"") && page.contains("claude-telemetry install"),
            "{page}"
        );
        assert!(!page.contains("id=\"no-cost\""), "{page}");
        assert!(page.contains("data-figure=\"cost-range\">$0.50<"), "{page}");
    }

    /// Who is working now: of four sessions, one ended and one silent for longer than
    /// [`query::WORKING_MS`]; the two left are listed, most recent first, with their user,
    /// project, last tool and cost so far, and the filters narrow the list.
    #[tokio::test(flavor = "multi_thread")]
    async fn the_overview_lists_who_is_working_now() {
        use crate::testing::workload::{hook, otlp};
        use serde_json::json;
        let dir = tempfile::tempdir().unwrap();
        let now = now_ms();
        let min = 60_000;
        let tool = |id: &str, ts, user, project, session, name: &str, tool: &str| {
            hook(
                id,
                ts,
                user,
                project,
                session,
                json!({"hook_event_name": name, "tool_name": tool, "tool_input": {}, "tool_use_id": format!("t-{id}")}),
            )
        };
        let start = |id: &str, ts, user, project, session| {
            hook(
                id,
                ts,
                user,
                project,
                session,
                json!({"hook_event_name": "SessionStart", "source": "startup"}),
            )
        };
        let cost = |id: &str, ts, session, usd: f64| {
            otlp(
                id,
                ts,
                session,
                "api_request",
                json!({"model": "claude-opus-4-5", "cost_usd": usd,
                "input_tokens": 1, "output_tokens": 1, "duration_ms": 10}),
            )
        };
        feed(
            dir.path(),
            vec![
                start("a1", now - 20 * min, "ann", "web", "s-ann"),
                cost("a2", now - 3 * min, "s-ann", 0.5),
                tool(
                    "a3",
                    now - 2 * min,
                    "ann",
                    "web",
                    "s-ann",
                    "PreToolUse",
                    "Bash",
                ),
                tool(
                    "a4",
                    now - 2 * min + 10,
                    "ann",
                    "web",
                    "s-ann",
                    "PostToolUse",
                    "Bash",
                ),
                start("b1", now - 4 * min, "bob", "web", "s-bob"),
                tool(
                    "b2",
                    now - min / 2,
                    "bob",
                    "web",
                    "s-bob",
                    "PreToolUse",
                    "Read",
                ),
                cost("b3", now - min / 2 + 5, "s-bob", 0.25),
                start("c1", now - 4 * min, "cat", "api", "s-ended"),
                tool(
                    "c2",
                    now - 3 * min,
                    "cat",
                    "api",
                    "s-ended",
                    "PreToolUse",
                    "Edit",
                ),
                hook(
                    "c3",
                    now - 2 * min,
                    "cat",
                    "api",
                    "s-ended",
                    json!({"hook_event_name": "SessionEnd", "reason": "exit"}),
                ),
                start("d1", now - 30 * min, "dan", "api", "s-stale"),
                tool(
                    "d2",
                    now - 6 * min,
                    "dan",
                    "api",
                    "s-stale",
                    "PreToolUse",
                    "Grep",
                ),
            ],
        )
        .await;
        let state = state(dir.path());
        let working = |query: &'static str| {
            let state = state.clone();
            async move {
                let (status, body) = call(router(state), get(query)).await;
                assert_eq!(status, StatusCode::OK, "{body}");
                let overview: serde_json::Value = serde_json::from_str(&body).unwrap();
                assert_eq!(overview["omitted"]["working"], 0, "{body}");
                overview["working"].as_array().unwrap().clone()
            }
        };
        let everyone = working("/api/v1/overview").await;
        let listed: Vec<(&str, &str, &str, &str, f64)> = everyone
            .iter()
            .map(|s| {
                (
                    s["session_id"].as_str().unwrap(),
                    s["user"].as_str().unwrap(),
                    s["project"].as_str().unwrap(),
                    s["last_tool"].as_str().unwrap(),
                    s["usage"]["cost_usd"].as_f64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            listed,
            [
                ("s-bob", "bob", "acme/web", "Read", 0.25),
                ("s-ann", "ann", "acme/web", "Bash", 0.5),
            ]
        );
        assert_eq!(everyone[0]["last_ms"], now - min / 2 + 5);
        assert_eq!(everyone[0]["ended"], false);
        let only_ann = working("/api/v1/overview?user=ann").await;
        assert_eq!(only_ann.len(), 1);
        assert_eq!(only_ann[0]["session_id"], "s-ann");
        assert!(
            working("/api/v1/overview?project=acme%2Fapi")
                .await
                .is_empty()
        );
        assert_eq!(
            working("/api/v1/overview?model=claude-opus-4-5&range=30d")
                .await
                .len(),
            2
        );
        let (_, page) = call(router(state.clone()), get("/")).await;
        let table = page.split("<table id=\"working\"").nth(1).unwrap();
        let table = table.split("</table>").next().unwrap();
        for shown in ["s-ann", "s-bob", "$0.50", "$0.25", "Bash", "Read"] {
            assert!(table.contains(shown), "{shown}: {table}");
        }
        for left_out in ["s-ended", "s-stale"] {
            assert!(!table.contains(left_out), "{left_out}: {table}");
        }
    }

    /// 1,205 users, each with a prompt in a session of their own.
    async fn crowd(state: &AppState) {
        let now = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
        let batch: String = (0..1205)
            .map(|n| {
                serde_json::json!({
                    "hook_event_name": "UserPromptSubmit", "session_id": format!("s{n}"),
                    "claude_telemetry": {"event_id": format!("e{n}"), "received_at": now,
                        "host": "h", "user_name": format!("user-{n:05}"), "hook_latency_us": 1,
                        "hook_version": "t"}
                })
                .to_string()
                    + "\n"
            })
            .collect();
        let (status, body) = call(
            crate::server::app(state.clone()),
            crate::testing::post("POST", "/v1/hooks", "application/x-ndjson", batch),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_page_and_its_json_stay_small_whatever_the_store_holds() {
        let dir = tempfile::tempdir().unwrap();
        let state = state(dir.path());
        crowd(&state).await;
        let (status, headers, first) =
            respond(router(state.clone()), get("/api/v1/usage?by=user&since=1d")).await;
        assert_eq!(status, StatusCode::OK);
        let first: Vec<serde_json::Value> = serde_json::from_str(&first).unwrap();
        assert_eq!(first.len(), PAGE_ROWS + 1, "a page, then the TOTAL row");
        assert_eq!(first[PAGE_ROWS]["key"], "TOTAL");
        assert_eq!(
            first[PAGE_ROWS]["prompts"], 1205,
            "the total of the whole window"
        );
        let link = headers.get("link").unwrap().to_str().unwrap();
        assert_eq!(
            link,
            "</api/v1/usage?by=user&since=1d&offset=1000&limit=1000>; rel=\"next\""
        );
        let next = link.trim_start_matches('<').split('>').next().unwrap();
        let (status, headers, second) = respond(router(state.clone()), get(next)).await;
        assert_eq!(status, StatusCode::OK);
        let second: Vec<serde_json::Value> = serde_json::from_str(&second).unwrap();
        assert_eq!(second.len(), 205 + 1);
        assert_eq!(second[0]["key"], "user-01000", "the page after the first");
        assert!(headers.get("link").is_none(), "the last page");

        let (_, headers, sessions) = respond(
            router(state.clone()),
            get("/api/v1/sessions?limit=10&offset=5"),
        )
        .await;
        let sessions: Vec<serde_json::Value> = serde_json::from_str(&sessions).unwrap();
        assert_eq!(sessions.len(), 10);
        assert!(headers.get("link").is_some());

        let (_, overview) = call(router(state.clone()), get("/api/v1/overview")).await;
        assert!(overview.len() < 64 * 1024, "{} bytes", overview.len());
        let overview: serde_json::Value = serde_json::from_str(&overview).unwrap();
        assert_eq!(overview["by_user"].as_array().unwrap().len(), 50);
        assert_eq!(overview["omitted"]["by_user"], 1155);
        assert_eq!(overview["working"].as_array().unwrap().len(), 50);
        assert_eq!(overview["omitted"]["working"], 1155);
        let (_, page) = call(router(state.clone()), get("/")).await;
        assert!(page.len() < 128 * 1024, "{} bytes", page.len());
        assert!(
            page.contains("1,155 more rows"),
            "the page says what it left out"
        );

        for bad in ["limit=0", "limit=1001", "offset=-1", "limit=many"] {
            let (status, message) =
                call(router(state.clone()), get(&format!("/api/v1/audit?{bad}"))).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {message}");
        }
    }
}

#[cfg(test)]
mod windows {
    use serde_json::json;

    use super::*;
    use crate::query::DAY_MS;
    use crate::testing::{feed, workload};

    /// Three days of two models' requests with known costs: each day of the range has its
    /// cost by model, in the JSON and in the page's table, most recent day first.
    #[tokio::test(flavor = "multi_thread")]
    async fn cost_by_model_per_day_comes_from_the_rollups() {
        let dir = tempfile::tempdir().unwrap();
        let now = now_ms();
        let cost = |id: &str, ts: i64, model: &str, usd: f64| {
            workload::otlp(
                id,
                ts,
                "s",
                "api_request",
                json!({"model": model, "cost_usd": usd, "input_tokens": 100}),
            )
        };
        let midnight = now - now.rem_euclid(DAY_MS);
        feed(
            dir.path(),
            vec![
                cost("a", midnight - 2 * DAY_MS + 1000, "opus", 1.0),
                cost("b", midnight - 2 * DAY_MS + 2000, "opus", 2.0),
                cost("c", midnight - 2 * DAY_MS + 3000, "sonnet", 0.5),
                cost("d", midnight - DAY_MS + 1000, "sonnet", 0.25),
                cost("e", midnight + 1, "haiku", 0.125),
                // Before the range: in no row.
                cost("f", midnight - 10 * DAY_MS, "opus", 64.0),
                // A prompt in a session that made no request: a row in the JSON, with
                // nothing for the page's table to show.
                workload::hook(
                    "g",
                    midnight - DAY_MS + 5000,
                    "u",
                    "p",
                    "quiet",
                    json!({"hook_event_name": "UserPromptSubmit"}),
                ),
            ],
        )
        .await;
        let state = crate::testing::state(dir.path());
        let (status, body) = crate::testing::call(
            router(state.clone()),
            crate::testing::get("/api/v1/overview?range=7d"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let overview: serde_json::Value = serde_json::from_str(&body).unwrap();
        let cells: Vec<(String, String, u64, f64)> = overview["by_day"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|day| {
                day["models"].as_array().unwrap().iter().map(|m| {
                    (
                        day["key"].as_str().unwrap().to_owned(),
                        m["key"].as_str().unwrap().to_owned(),
                        m["requests"].as_u64().unwrap(),
                        m["cost_usd"].as_f64().unwrap(),
                    )
                })
            })
            .collect();
        let day = |ms| crate::query::day(ms);
        let expected = vec![
            (day(midnight - 2 * DAY_MS), "opus".to_owned(), 2, 3.0),
            (day(midnight - 2 * DAY_MS), "sonnet".to_owned(), 1, 0.5),
            (day(midnight - DAY_MS), "sonnet".to_owned(), 1, 0.25),
            (day(midnight - DAY_MS), "unknown".to_owned(), 0, 0.0),
            (day(midnight), "haiku".to_owned(), 1, 0.125),
        ];
        assert_eq!(cells, expected);
        let (_, page) =
            crate::testing::call(router(state), crate::testing::get("/?range=7d")).await;
        let table = page
            .split("<table id=\"cost-by-model-by-day\"")
            .nth(1)
            .unwrap();
        let table = table.split("</table>").next().unwrap();
        let rows: Vec<String> = table
            .split("<tr")
            .skip(2)
            .map(|row| {
                row.split("<td")
                    .skip(1)
                    .map(|cell| {
                        let cell = &cell[cell.find('>').unwrap() + 1..];
                        let cell = cell
                            .strip_prefix("<a")
                            .map_or(cell, |a| &a[a.find('>').unwrap() + 1..]);
                        cell[..cell.find('<').unwrap()].to_owned()
                    })
                    .collect::<Vec<_>>()
                    .join(" | ")
            })
            .collect();
        let today = day(midnight);
        let yesterday = day(midnight - DAY_MS);
        let before = day(midnight - 2 * DAY_MS);
        assert_eq!(
            rows,
            [
                format!("{today} | haiku | 1 | 100 | $0.13"),
                format!("{yesterday} | sonnet | 1 | 100 | $0.25"),
                format!("{before} | opus | 2 | 200 | $3.00"),
                format!("{before} | sonnet | 1 | 100 | $0.50"),
            ]
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_7_day_cards_and_the_chart_cover_the_same_window() {
        let dir = tempfile::tempdir().unwrap();
        let now = now_ms();
        let cost = |id: &str, ts: i64, usd: f64| {
            workload::otlp(
                id,
                ts,
                "s",
                "api_request",
                json!({"model": "m", "cost_usd": usd}),
            )
        };
        feed(
            dir.path(),
            vec![
                // Just inside the last 7 × 24 hours: on the 8th calendar day back.
                cost("a", now - 7 * DAY_MS + 60_000, 0.5),
                cost("b", now - 8 * DAY_MS, 4.0),
                cost("c", now - 1000, 0.25),
            ],
        )
        .await;
        let week = Window::last_days(7, now);
        let data = overview::read(
            dir.path(),
            now,
            &Filter::default(),
            Range::default(),
            week,
            Default::default(),
            &Default::default(),
        )
        .unwrap();
        assert!(
            (data.total.cost_usd - 0.75).abs() < 1e-9,
            "{:?}",
            data.total
        );
        let page = view::overview(&data);
        let chart = &page[page.find("id=\"chart-cost-by-day\"").unwrap()..];
        let chart = &chart[..chart.find("</svg>").unwrap()];
        let bars: Vec<f64> = chart
            .split("<title>")
            .skip(1)
            .map(|t| {
                t[..t.find("</title>").unwrap()]
                    .rsplit('$')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap()
            })
            .collect();
        assert_eq!(bars.len(), 8, "every day the window touches: {chart}");
        assert!((bars.iter().sum::<f64>() - 0.75).abs() < 1e-9, "{bars:?}");
        assert_eq!(data.window, Window::last_days(7, now));
        assert_eq!(data.window.days().len(), 8);
    }

    fn json(text: &str) -> serde_json::Value {
        serde_json::from_str(text).unwrap_or_else(|err| panic!("{err}: {text}"))
    }

    /// Costs of 2^k dollars, one event each just inside and just outside the ends of
    /// every range, so each range's total names exactly the events it counted; the
    /// overview (page and JSON, over HTTP) must give what the store gives for that
    /// window and what the history says it holds.
    #[tokio::test(flavor = "multi_thread")]
    async fn every_range_counts_exactly_the_events_inside_it() {
        let dir = tempfile::tempdir().unwrap();
        let now = now_ms();
        let minute = 60_000;
        let today = crate::time::day_start(now);
        let month = crate::time::month_start(now);
        // Each range's start, with an event just after it and one just before.
        let starts = [
            ("range=today", today, minute),
            ("range=7d", now - 7 * DAY_MS, 10 * minute),
            ("", now - 7 * DAY_MS, 10 * minute),
            // At the default 30-day retention the events before 30 days are gone and a
            // window's start there is read by whole hours (the rollups): its markers
            // are more than an hour away.
            ("range=30d", now - 30 * DAY_MS, 70 * minute),
            ("range=month", month, minute),
            ("since=10d&until=5d", now - 10 * DAY_MS, 10 * minute),
            ("since=10d&until=5d&model=m", now - 10 * DAY_MS, 10 * minute),
        ];
        let mut instants: Vec<i64> = starts
            .iter()
            .flat_map(|(_, start, margin)| [start + margin, start - margin])
            .collect();
        // The custom range's end, 5 days back, is excluded; and one event before all.
        let custom_end = now - 5 * DAY_MS;
        instants.extend([
            now - 5_000,
            custom_end - 10 * minute,
            custom_end + 10 * minute,
        ]);
        instants.extend([now - 40 * DAY_MS]);
        // Near midnight or the first of the month two instants could be in the future.
        instants.retain(|ts| *ts < now - 1_000);
        instants.sort_unstable();
        instants.dedup();
        let history: Vec<(i64, f64)> = instants
            .iter()
            .enumerate()
            .map(|(k, ts)| (*ts, f64::from(1_u32 << k)))
            .collect();
        let events = history
            .iter()
            .enumerate()
            .map(|(k, (ts, usd))| {
                workload::otlp(
                    &format!("e{k}"),
                    *ts,
                    &format!("s{k}"),
                    "api_request",
                    json!({"model": "m", "cost_usd": usd}),
                )
            })
            .collect();
        feed(dir.path(), events).await;
        let state = crate::testing::state(dir.path());
        for (address, start, margin) in starts {
            let (status, body) = crate::testing::call(
                router(state.clone()),
                crate::testing::get(&format!("/api/v1/overview?{address}")),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{address}: {body}");
            let overview = json(&body);
            let window: Window = Window {
                since_ms: overview["window"]["since_ms"].as_i64().unwrap(),
                until_ms: overview["window"]["until_ms"].as_i64().unwrap(),
            };
            let expected: f64 = history
                .iter()
                .filter(|(ts, _)| window.since_ms <= *ts && *ts < window.until_ms)
                .map(|(_, usd)| usd)
                .sum();
            let inside = history
                .iter()
                .filter(|(ts, _)| window.since_ms <= *ts && *ts < window.until_ms)
                .count();
            assert!(inside > 0 && inside < history.len(), "{address}: {inside}");
            // The window starts where the range does (give or take the time between
            // this test's clock and the handler's): the event just after is in, the
            // one just before is out.
            assert!(
                window.since_ms <= start + margin && window.since_ms > start - margin,
                "{address}: {window:?} starts at {start}"
            );
            let until = if address.contains("until") {
                custom_end
            } else {
                now
            };
            assert!(
                (until..until + 60_000).contains(&window.until_ms),
                "{address}: {window:?} ends at {until}"
            );
            let total = &overview["total"];
            assert_eq!(total["cost_usd"].as_f64(), Some(expected), "{address}");
            assert_eq!(total["requests"].as_u64(), Some(inside as u64), "{address}");
            assert_eq!(total["sessions"].as_u64(), Some(inside as u64), "{address}");
            let store = query::usage(dir.path(), window, GroupBy::Day, &Filter::default())
                .unwrap()
                .pop()
                .unwrap();
            assert_eq!(
                store.cost_usd, expected,
                "{address}: the store over the window"
            );
            let by_day: f64 = overview["by_day"]
                .as_array()
                .unwrap()
                .iter()
                .map(|row| row["cost_usd"].as_f64().unwrap())
                .sum();
            assert_eq!(by_day, expected, "{address}: by day");
            assert_eq!(
                overview["by_model"][0]["cost_usd"].as_f64(),
                Some(expected),
                "{address}: by model"
            );
            assert_eq!(
                overview["sessions"].as_array().unwrap().len(),
                inside,
                "{address}: sessions"
            );
            let (status, page) = crate::testing::call(
                router(state.clone()),
                crate::testing::get(&format!("/?{address}")),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{address}");
            let card = &page[page.find("data-figure=\"cost-range\"").unwrap()..];
            let shown = &card[card.find('>').unwrap() + 1..card.find('<').unwrap()];
            assert_eq!(shown, view::money(expected), "{address}: the page's card");
        }
    }

    #[tokio::test]
    async fn bad_ranges_are_refused_with_a_reason_never_a_failure() {
        let dir = tempfile::tempdir().unwrap();
        let state = crate::testing::state(dir.path());
        for (address, reason) in [
            ("range=fortnight", "expected one of today, 7d, 30d, month"),
            ("range=custom", "since="),
            ("range=7d&since=1d", "not both"),
            ("since=yesterday", "since:"),
            ("until=%00%FF", "until:"),
            ("since=2026-11-05&until=2026-11-02", "not before"),
            ("since=2026-13-45", "since:"),
            ("range=%3Cscript%3E", "expected one of"),
        ] {
            let (status, body) = crate::testing::call(
                router(state.clone()),
                crate::testing::get(&format!("/api/v1/overview?{address}")),
            )
            .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{address}: {body}");
            let error = json(&body)["error"].as_str().unwrap().to_owned();
            assert!(error.contains(reason), "{address}: {error}");
            let (status, page) = crate::testing::call(
                router(state.clone()),
                crate::testing::get(&format!("/?{address}")),
            )
            .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{address}: {page}");
            assert!(page.contains("That date range cannot be shown"), "{page}");
            assert!(!page.contains("<script>"), "escaped: {page}");
            assert!(page.contains("href=\"?range=7d\""), "a way back: {page}");
        }
    }
}

#[cfg(test)]
mod session_page {
    use serde_json::{Value, json};

    use super::*;
    use crate::testing::{call, feed, get, workload};

    /// The rows of the table `id` in `page`, each as its cells' text (tags dropped).
    fn table_rows(page: &str, id: &str) -> Vec<Vec<String>> {
        let start = page
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("no table {id}: {page}"));
        let table = &page[start..];
        let body = &table[table.find("<tbody>").unwrap()..table.find("</tbody>").unwrap()];
        body.split("<tr")
            .skip(1)
            .map(|row| {
                row.split("<td")
                    .skip(1)
                    .map(|cell| {
                        let cell = &cell[cell.find('>').unwrap() + 1..cell.find("</td>").unwrap()];
                        let mut text = String::new();
                        let mut in_tag = false;
                        for c in cell.chars() {
                            match c {
                                '<' => in_tag = true,
                                '>' => in_tag = false,
                                c if !in_tag => text.push(c),
                                _ => {}
                            }
                        }
                        text
                    })
                    .collect()
            })
            .collect()
    }

    fn shown<'a>(page: &'a str, attribute: &str) -> &'a str {
        let at = &page[page
            .find(attribute)
            .unwrap_or_else(|| panic!("{attribute}: {page}"))..];
        &at[at.find('>').unwrap() + 1..at.find('<').unwrap()]
    }

    /// A session with five tool calls ending five ways, two models, a cost with float
    /// noise, Claude Code's bookkeeping, and a hostile command.
    async fn session(dir: &std::path::Path, t: i64) {
        let hook =
            |id: &str, ts: i64, fields: Value| workload::hook(id, ts, "jane", "api", "s1", fields);
        let tool = |id: &str, ts: i64, name: &str, call: &str, extra: Value| {
            let mut fields = json!({"hook_event_name": name, "tool_name": "Bash",
                "tool_use_id": call, "tool_input": {"command": "make"}});
            if let (Some(into), Some(from)) = (fields.as_object_mut(), extra.as_object()) {
                into.extend(from.clone());
            }
            hook(id, ts, fields)
        };
        let otlp = |id: &str, ts: i64, name: &str, attributes: Value| {
            workload::otlp(id, ts, "s1", name, attributes)
        };
        feed(
            dir,
            vec![
                hook(
                    "start",
                    t,
                    json!({"hook_event_name": "SessionStart", "source": "startup",
                    "model": "claude-opus-4-5"}),
                ),
                otlp(
                    "plugin",
                    t + 50,
                    "plugin_loaded",
                    json!({"plugin.name": "fmt"}),
                ),
                otlp("settings", t + 60, "managed_settings_resolved", json!({})),
                otlp("sweep", t + 70, "retention_sweep", json!({})),
                hook(
                    "prompt",
                    t + 100,
                    json!({"hook_event_name": "UserPromptSubmit"}),
                ),
                otlp(
                    "req1",
                    t + 500,
                    "api_request",
                    json!({"model": "claude-opus-4-5",
                    "cost_usd": 0.046_367_85, "input_tokens": 1200, "output_tokens": 34}),
                ),
                otlp(
                    "req2",
                    t + 600,
                    "api_request",
                    json!({"model": "claude-haiku-4-5",
                    "cost_usd": 0.01, "input_tokens": 10, "output_tokens": 5}),
                ),
                // Timed from its PreToolUse.
                tool("c1-pre", t + 1_000, "PreToolUse", "c1", json!({})),
                tool("c1-post", t + 2_500, "PostToolUse", "c1", json!({})),
                // Its own duration_ms wins.
                tool("c2-pre", t + 3_000, "PreToolUse", "c2", json!({})),
                tool(
                    "c2-end",
                    t + 9_000,
                    "PostToolUseFailure",
                    "c2",
                    json!({"duration_ms": 300}),
                ),
                tool(
                    "c3-pre",
                    t + 10_000,
                    "PreToolUse",
                    "c3",
                    json!({
                    "tool_input": {"command": "rm -rf ~ <script>alert(1)</script>"},
                    "guard": {"decision": "deny", "rule": "rm_home<b>", "category": "destructive",
                        "reason": "would delete <i>home</i>", "latency_us": 0, "version": "t"}}),
                ),
                tool(
                    "c4-den",
                    t + 11_000,
                    "PermissionDenied",
                    "c4",
                    json!({"reason": "classifier"}),
                ),
                // Its command not kept by the privacy level: only its size is stored.
                tool(
                    "c5-pre",
                    t + 12_000,
                    "PreToolUse",
                    "c5",
                    json!({"tool_input": {"command": {"elided_bytes": 42}}}),
                ),
            ],
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_session_page_sums_up_pairs_tool_calls_and_folds_internal_events() {
        let dir = tempfile::tempdir().unwrap();
        let t = now_ms() - 3_600_000;
        session(dir.path(), t).await;
        let state = crate::testing::state(dir.path());
        let window = Window {
            since_ms: t - 1,
            until_ms: t + 60_000,
        };
        let store = query::sessions(dir.path(), window, 10, &Filter::default()).unwrap();
        assert_eq!(store.len(), 1, "{store:?}");
        let store = &store[0];

        // The summary as JSON: the store's session join and rollups.
        let (status, body) = call(router(state.clone()), get("/api/v1/sessions/s1")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let summary: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(summary["user"], store.user.as_str());
        assert_eq!(summary["user"], "jane");
        assert_eq!(summary["project"], store.project.as_str());
        assert_eq!(
            summary["models"],
            json!(["claude-haiku-4-5", "claude-opus-4-5"])
        );
        assert_eq!(summary["start_ms"], t);
        assert_eq!(summary["last_ms"], store.last_ms);
        assert_eq!(summary["duration_ms"], store.duration_ms);
        assert_eq!(
            summary["usage"]["cost_usd"].as_f64(),
            Some(store.usage.cost_usd)
        );
        assert_eq!(summary["usage"]["tool_calls"], store.usage.tool_calls);
        assert_eq!(summary["usage"]["blocks"], store.usage.blocks);
        assert_eq!(
            store.usage.blocks, 2,
            "the guard's block and Claude Code's denial"
        );
        let (status, _) = call(router(state.clone()), get("/api/v1/sessions/nope")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // The page's summary: the same figures, money to the cent.
        let (status, page) = call(router(state.clone()), get("/sessions/s1")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(shown(&page, "data-field=\"user\""), "jane");
        assert_eq!(
            shown(&page, "data-field=\"models\""),
            "claude-haiku-4-5, claude-opus-4-5"
        );
        assert_eq!(shown(&page, "data-field=\"start\""), view::time(t));
        assert_eq!(shown(&page, "data-figure=\"cost\""), "$0.06");
        assert_eq!(
            shown(&page, "data-figure=\"cost\""),
            view::money(store.usage.cost_usd)
        );
        assert_eq!(
            shown(&page, "data-figure=\"tokens\""),
            view::count(store.usage.tokens())
        );
        assert_eq!(shown(&page, "data-figure=\"tokens\""), "1,249");
        assert_eq!(
            shown(&page, "data-figure=\"tool-calls\""),
            view::count(store.usage.tool_calls)
        );
        assert_eq!(shown(&page, "data-figure=\"blocks\""), "2");
        assert!(!page.contains("0.0463"), "no float noise: {page}");

        // One row per tool call, paired by tool_use_id, with its duration and outcome.
        let calls = table_rows(&page, "tool-calls");
        let outcomes: Vec<(&str, &str, &str)> = calls
            .iter()
            .map(|row| (row[2].as_str(), row[3].as_str(), row[4].as_str()))
            .collect();
        assert_eq!(
            outcomes,
            [
                ("succeeded", "1.50 s", ""),
                ("failed", "300 ms", ""),
                ("blocked", "–", "rm_home&lt;b&gt;"),
                ("denied", "–", ""),
                ("unfinished", "–", ""),
            ],
            "{calls:?}"
        );
        assert_eq!(calls[0][0], view::time(t + 1_000), "one timestamp format");
        assert_eq!(
            calls[4][5], "(42 bytes, not kept)",
            "only what the store kept"
        );
        let (_, json_calls) =
            call(router(state.clone()), get("/api/v1/sessions/s1/tool_calls")).await;
        let json_calls: Vec<Value> = serde_json::from_str(&json_calls).unwrap();
        let durations: Vec<Option<f64>> = json_calls
            .iter()
            .map(|c| c["duration_ms"].as_f64())
            .collect();
        assert_eq!(durations, [Some(1500.0), Some(300.0), None, None, None]);

        // The timeline: no tool call's four rows, Claude Code's bookkeeping folded away.
        let timeline: Vec<String> = table_rows(&page, "timeline")
            .into_iter()
            .map(|row| row[2].clone())
            .collect();
        assert_eq!(
            timeline,
            [
                "SessionStart",
                "UserPromptSubmit",
                "claude_code.api_request",
                "claude_code.api_request"
            ]
        );
        let folded = &page[page.find("<details id=\"internal\">").unwrap()..];
        let internal: Vec<String> = table_rows(folded, "internal-events")
            .into_iter()
            .map(|row| row[2].clone())
            .collect();
        assert_eq!(
            internal,
            [
                "claude_code.plugin_loaded",
                "claude_code.managed_settings_resolved",
                "claude_code.retention_sweep"
            ]
        );

        // Hostile strings are text, never markup.
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(!page.contains("<b>") && !page.contains("<i>"), "{page}");
        assert!(
            page.contains("rm -rf ~ &lt;script&gt;alert(1)&lt;/script&gt;"),
            "{page}"
        );

        // The overview's blocked row links to this page.
        let (_, overview) = call(router(state.clone()), get("/")).await;
        let blocked = &overview[overview.find("id=\"blocked\"").unwrap()..];
        let blocked = &blocked[..blocked.find("</table>").unwrap()];
        assert!(blocked.contains("href=\"sessions/s1\""), "{blocked}");
    }
}
