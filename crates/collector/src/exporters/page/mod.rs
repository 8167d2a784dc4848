//! The built-in page (`GET /`, `GET /sessions/{id}`), the JSON it is made of
//! (`GET /api/v1/…`), and signing in to it (`POST /login`), read from the event store.
//!
//! Pages are rendered on the server, so every table works with JavaScript off; a few
//! lines of script refresh the page's content in place every few seconds. Nothing is
//! fetched from elsewhere: the page works offline and needs no build step.

pub mod login;
mod overview;
mod view;

use std::collections::HashMap;
use std::path::Path as FsPath;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRef, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::error::{ApiError, Reason};
use crate::query::{self, AuditFilter, GroupBy, Window};
use crate::state::AppState;
use crate::store::StoreError;
use crate::time::now_ms;
use overview::{OverviewCache, SESSIONS_SHOWN};

const TIMELINE_SHOWN: usize = 5_000;

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
        .route("/api/v1/sessions", get(sessions))
        .route("/api/v1/sessions/{id}/timeline", get(timeline))
        .route("/api/v1/audit", get(audit))
        .route("/login", post(login::sign_in))
        .with_state(state)
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

async fn current_overview(page: &PageState) -> Result<Arc<overview::Overview>, ApiError> {
    let now = now_ms();
    page.overview
        .current(
            now,
            read(&page.app, crate::store::high_water_mark),
            read(&page.app, move |dir| overview::read(dir, now)),
        )
        .await
}

/// `GET /`: the overview page.
async fn overview_page(State(page): State<PageState>) -> Result<Response, ApiError> {
    let data = current_overview(&page).await?;
    Ok(html(view::overview(&data)))
}

/// `GET /sessions/{id}`: one session's timeline.
async fn session_page(
    State(page): State<PageState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let session = id.clone();
    let entries = read(&page.app, move |dir| {
        query::timeline(dir, &session, TIMELINE_SHOWN)
    })
    .await?;
    if entries.is_empty() {
        return Ok((StatusCode::NOT_FOUND, html(view::not_found(&id))).into_response());
    }
    Ok(html(view::session(&id, &entries)))
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

/// `GET /api/v1/usage?by=day|model|user|project|session&since=&until=`
async fn usage(State(page): State<PageState>, query: Params) -> Result<Response, ApiError> {
    let params = params(query)?;
    let window = window(&params, now_ms())?;
    let by = match params.get("by").map_or("day", String::as_str) {
        "day" => GroupBy::Day,
        "model" => GroupBy::Model,
        "user" => GroupBy::User,
        "project" => GroupBy::Project,
        "session" => GroupBy::Session,
        other => {
            return Err(ApiError::bad_request(
                Reason::BadParameter,
                format!("by: expected day, model, user, project or session, got {other:?}"),
            ));
        }
    };
    let rows = read(&page.app, move |dir| query::usage(dir, window, by)).await?;
    Ok(Json(rows).into_response())
}

/// `GET /api/v1/overview`: what the overview page shows.
async fn overview_json(State(page): State<PageState>) -> Result<Response, ApiError> {
    let data = current_overview(&page).await?;
    Ok(Json(&*data).into_response())
}

/// `GET /api/v1/sessions?since=&until=`
async fn sessions(State(page): State<PageState>, query: Params) -> Result<Response, ApiError> {
    let window = window(&params(query)?, now_ms())?;
    let rows = read(&page.app, move |dir| {
        query::sessions(dir, window, SESSIONS_SHOWN)
    })
    .await?;
    Ok(Json(rows).into_response())
}

/// `GET /api/v1/sessions/{id}/timeline`
async fn timeline(
    State(page): State<PageState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let entries = read(&page.app, move |dir| {
        query::timeline(dir, &id, TIMELINE_SHOWN)
    })
    .await?;
    Ok(Json(entries).into_response())
}

/// `GET /api/v1/audit?since=&until=&user=&rule=&all=true`
async fn audit(State(page): State<PageState>, query: Params) -> Result<Response, ApiError> {
    let params = params(query)?;
    let window = window(&params, now_ms())?;
    let filter = AuditFilter {
        include_allowed: params.get("all").is_some_and(|v| v == "true"),
        user: params.get("user").cloned(),
        rule: params.get("rule").cloned(),
    };
    let rows = read(&page.app, move |dir| query::audit(dir, window, &filter)).await?;
    Ok(Json(rows).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{call, get, state};

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
        assert_eq!(overview["week"]["sessions"], 0);
        let (status, rows) = call(
            router(state.clone()),
            get("/api/v1/usage?by=model&since=1d"),
        )
        .await;
        assert_eq!(
            (status, rows.as_str()),
            (
                StatusCode::OK,
                r#"[{"key":"TOTAL","sessions":0,"requests":0,"input_tokens":0,"output_tokens":0,"cache_read_tokens":0,"cache_creation_tokens":0,"cost_usd":0.0,"prompts":0,"tool_calls":0,"blocks":0}]"#
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
        assert!(message.contains("by: expected day"), "{message}");
        let (status, message) =
            call(router(state.clone()), get("/api/v1/audit?since=yesterday")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(message.contains("since"), "{message}");
        let (status, page) = call(router(state), get("/sessions/%3Cx%3E")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(page.contains("No session &lt;x&gt;"), "{page}");
    }
}
