//! The built-in page (`GET /`, `GET /sessions/{id}`) and the JSON it is made of
//! (`GET /api/v1/…`), read from the event store.
//!
//! Pages are rendered on the server, so every table works with JavaScript off; a few
//! lines of script refresh the page's content in place every few seconds. Nothing is
//! fetched from elsewhere: the page works offline and needs no build step.

pub(crate) mod login;
mod page;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::query::{self, AuditFilter, GroupBy, Window};
use crate::server::{App, now_ms};

const DAY_MS: i64 = 86_400_000;
const MINUTE_MS: i64 = 60_000;
/// An overview slower than this to read is not read again sooner than
/// [`RECOMPUTE_FACTOR`] times its reading time, however many pages ask.
const SLOW_OVERVIEW: Duration = Duration::from_millis(100);
const RECOMPUTE_FACTOR: u32 = 4;
const SESSIONS_SHOWN: usize = 100;
const TIMELINE_SHOWN: usize = 5_000;

/// Everything the overview shows.
#[derive(Debug, Serialize)]
pub(crate) struct Overview {
    /// When this was read, Unix milliseconds.
    pub now_ms: i64,
    /// Totals since midnight UTC.
    pub today: query::UsageRow,
    /// Totals over the last 7 days.
    pub week: query::UsageRow,
    /// The last 7 days, by day.
    pub by_day: Vec<query::UsageRow>,
    /// The last 7 days, by model.
    pub by_model: Vec<query::UsageRow>,
    /// The last 7 days, by user.
    pub by_user: Vec<query::UsageRow>,
    /// Recent sessions.
    pub sessions: Vec<query::SessionRow>,
    /// Tool usage over the last 7 days.
    pub tools: Vec<query::ToolRow>,
    /// API latency and errors over the last 7 days.
    pub api: Vec<query::ApiRow>,
    /// Blocked operations over the last 7 days, most recent first.
    pub blocked: Vec<query::AuditRow>,
}

/// Why a request failed: a bad parameter (400) or a failed store read (500, with the
/// store path and SQLite's reason).
pub(crate) enum Failure {
    BadParameter(String),
    Read(String),
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        match self {
            Failure::BadParameter(reason) => {
                (StatusCode::BAD_REQUEST, format!("{reason}\n")).into_response()
            }
            Failure::Read(reason) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("reading the event store: {reason}\n"),
            )
                .into_response(),
        }
    }
}

/// Runs a store read off the async workers.
async fn read<T: Send + 'static>(
    app: &Arc<App>,
    work: impl FnOnce(&std::path::Path) -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, Failure> {
    let dir = app.data_dir.clone();
    tokio::task::spawn_blocking(move || work(&dir))
        .await
        .map_err(|e| Failure::Read(e.to_string()))?
        .map_err(|e| Failure::Read(e.to_string()))
}

fn week(now: i64) -> Window {
    Window {
        since_ms: now - 7 * DAY_MS,
        until_ms: now + 1,
    }
}

fn split_total(mut rows: Vec<query::UsageRow>) -> (Vec<query::UsageRow>, query::UsageRow) {
    let total = rows.pop().unwrap_or_default();
    (rows, total)
}

pub(crate) fn overview(
    dir: &std::path::Path,
    now: i64,
) -> Result<Overview, crate::store::StoreError> {
    let week = week(now);
    let today = Window {
        since_ms: now - now.rem_euclid(DAY_MS),
        until_ms: now + 1,
    };
    let (by_day, week_total) = split_total(query::usage(dir, week, GroupBy::Day)?);
    let (_, today_total) = split_total(query::usage(dir, today, GroupBy::Day)?);
    let (by_model, _) = split_total(query::usage(dir, week, GroupBy::Model)?);
    let (by_user, _) = split_total(query::usage(dir, week, GroupBy::User)?);
    let (tools, api) = query::activity(dir, week)?;
    let mut blocked = query::audit(dir, week, &AuditFilter::default())?;
    blocked.reverse();
    blocked.truncate(50);
    Ok(Overview {
        now_ms: now,
        today: today_total,
        week: week_total,
        by_day,
        by_model,
        by_user,
        sessions: query::sessions(dir, week, SESSIONS_SHOWN)?,
        tools,
        api,
        blocked,
    })
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

/// The last overview read, shared by every page and JSON client.
///
/// An overview is a scan of the week's events, and every open page asks for it every few
/// seconds. Requests that arrive together wait for one read; a read is reused while no
/// event has been stored since and the minute (which moves the windows) is the same; and
/// a slow one (a large store) is reused for a few times its reading time even when
/// events keep arriving, so open pages cannot keep the collector busy reading.
#[derive(Default)]
pub(crate) struct OverviewCache(tokio::sync::Mutex<Option<Cached>>);

struct Cached {
    /// The store's high-water mark and the minute it was read for.
    key: (i64, i64),
    at: Instant,
    took: Duration,
    overview: Arc<Overview>,
}

async fn current_overview(app: &Arc<App>) -> Result<Arc<Overview>, Failure> {
    let mut cached = app.overview_cache.0.lock().await;
    let now = now_ms();
    let mark = read(app, crate::store::high_water_mark).await?;
    let key = (mark, now.div_euclid(MINUTE_MS));
    if let Some(last) = cached.as_ref() {
        let fresh = last.key == key;
        let resting = last.took > SLOW_OVERVIEW && last.at.elapsed() < last.took * RECOMPUTE_FACTOR;
        if fresh || resting {
            return Ok(last.overview.clone());
        }
    }
    let started = Instant::now();
    let overview = Arc::new(read(app, move |dir| overview(dir, now)).await?);
    *cached = Some(Cached {
        key,
        at: Instant::now(),
        took: started.elapsed(),
        overview: overview.clone(),
    });
    Ok(overview)
}

/// `GET /`: the overview page.
pub(crate) async fn overview_page(State(app): State<Arc<App>>) -> Result<Response, Failure> {
    let data = current_overview(&app).await?;
    Ok(html(page::overview(&data)))
}

/// `GET /sessions/{id}`: one session's timeline.
pub(crate) async fn session_page(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let session = id.clone();
    let entries = read(&app, move |dir| {
        query::timeline(dir, &session, TIMELINE_SHOWN)
    })
    .await?;
    if entries.is_empty() {
        return Ok((StatusCode::NOT_FOUND, html(page::not_found(&id))).into_response());
    }
    Ok(html(page::session(&id, &entries)))
}

/// `since`/`until`: RFC 3339 (`2026-11-01`, `2026-11-01T12:00:00Z`) or a duration ago
/// (`7d`, `90m`). The default window is the last 7 days.
fn window(params: &HashMap<String, String>, now: i64) -> Result<Window, Failure> {
    let at = |name: &str, default: i64| -> Result<i64, Failure> {
        let Some(text) = params.get(name) else {
            return Ok(default);
        };
        if let Ok(ago) = humantime::parse_duration(text) {
            return Ok(now - i64::try_from(ago.as_millis()).unwrap_or(i64::MAX / 2));
        }
        let text = if text.len() == 10 {
            format!("{text}T00:00:00Z")
        } else {
            text.clone()
        };
        humantime::parse_rfc3339_weak(&text)
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .and_then(|d| i64::try_from(d.as_millis()).ok())
            .ok_or_else(|| Failure::BadParameter(format!("{name}: expected a date (2026-11-01), a time (2026-11-01T12:00:00Z) or a duration ago (7d), got {text:?}")))
    };
    Ok(Window {
        since_ms: at("since", now - 7 * DAY_MS)?,
        until_ms: at("until", now + 1)?,
    })
}

/// `GET /api/v1/usage?by=day|model|user|project|session&since=&until=`
pub(crate) async fn usage(
    State(app): State<Arc<App>>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, Failure> {
    let window = window(&params, now_ms())?;
    let by = match params.get("by").map_or("day", String::as_str) {
        "day" => GroupBy::Day,
        "model" => GroupBy::Model,
        "user" => GroupBy::User,
        "project" => GroupBy::Project,
        "session" => GroupBy::Session,
        other => {
            return Err(Failure::BadParameter(format!(
                "by: expected day, model, user, project or session, got {other:?}"
            )));
        }
    };
    let rows = read(&app, move |dir| query::usage(dir, window, by)).await?;
    Ok(Json(rows).into_response())
}

/// `GET /api/v1/overview`: what the overview page shows.
pub(crate) async fn overview_json(State(app): State<Arc<App>>) -> Result<Response, Failure> {
    let data = current_overview(&app).await?;
    Ok(Json(&*data).into_response())
}

/// `GET /api/v1/sessions?since=&until=`
pub(crate) async fn sessions(
    State(app): State<Arc<App>>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, Failure> {
    let window = window(&params, now_ms())?;
    let rows = read(&app, move |dir| {
        query::sessions(dir, window, SESSIONS_SHOWN)
    })
    .await?;
    Ok(Json(rows).into_response())
}

/// `GET /api/v1/sessions/{id}/timeline`
pub(crate) async fn timeline(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let entries = read(&app, move |dir| query::timeline(dir, &id, TIMELINE_SHOWN)).await?;
    Ok(Json(entries).into_response())
}

/// `GET /api/v1/audit?since=&until=&user=&rule=&all=true`
pub(crate) async fn audit(
    State(app): State<Arc<App>>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, Failure> {
    let window = window(&params, now_ms())?;
    let filter = AuditFilter {
        include_allowed: params.get("all").is_some_and(|v| v == "true"),
        user: params.get("user").cloned(),
        rule: params.get("rule").cloned(),
    };
    let rows = read(&app, move |dir| query::audit(dir, window, &filter)).await?;
    Ok(Json(rows).into_response())
}
