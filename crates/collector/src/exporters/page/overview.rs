//! What the overview page shows, read from the store, and the last reading shared by
//! every page and JSON client.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::aggregate::LastSeen;
use crate::error::ApiError;
use crate::query::{self, AuditFilter, Budgets, Filter, GroupBy, Window};
use crate::store::StoreError;

use super::range::Range;

const MINUTE_MS: i64 = 60_000;
/// An overview slower than this to read is not read again sooner than
/// [`RECOMPUTE_FACTOR`] times its reading time, however many pages ask.
const SLOW_OVERVIEW: Duration = Duration::from_millis(100);
const RECOMPUTE_FACTOR: u32 = 4;
const SESSIONS_SHOWN: usize = 100;
/// The most expensive sessions the overview names; `/api/v1/usage?by=session` has all.
const COSTLIEST_SHOWN: usize = 10;
/// Rows of each other table the overview holds at most, whatever the store holds: the
/// rest are in the JSON API's pages (`/api/v1/usage?by=user`), and [`Omitted`] says how
/// many.
const ROWS_SHOWN: usize = 50;
const BLOCKS_SHOWN: usize = 50;
/// Sessions working now the overview holds at most; [`Omitted`] says how many more.
const WORKING_SHOWN: usize = 50;

/// Everything the overview shows.
#[derive(Debug, Serialize)]
pub struct Overview {
    /// When this was read, Unix milliseconds.
    pub now_ms: i64,
    /// Whose usage, where, with which model: every figure is of these (blocked
    /// operations by user and project; they have no model).
    pub filter: Filter,
    /// The date range asked for (`7d` unless the address names another).
    pub range: Range,
    /// The window the range covers, which every figure covers.
    pub window: Window,
    /// Totals over the window.
    pub total: query::UsageRow,
    /// The window, by day, each day with its figures by model (`models`).
    pub by_day: Vec<query::UsageRow>,
    /// The window, by model.
    pub by_model: Vec<query::UsageRow>,
    /// The window, by user.
    pub by_user: Vec<query::UsageRow>,
    /// The window, by project (its name).
    pub by_project: Vec<query::UsageRow>,
    /// Who is working now, whatever the range: sessions of what `filter` admits with an
    /// event within [`query::WORKING_MS`] of `now_ms` and no `SessionEnd`, most recent
    /// first, each with its user, project, last tool and whole cost so far.
    pub working: Vec<query::SessionRow>,
    /// The most recent sessions with activity in the window.
    pub sessions: Vec<query::SessionRow>,
    /// The sessions that cost most in the window (what they cost in it), most first.
    pub costliest: Vec<query::UsageRow>,
    /// Tool usage over the window.
    pub tools: Vec<query::ToolRow>,
    /// API latency and errors over the window.
    pub api: Vec<query::ApiRow>,
    /// Blocked operations over the window, most recent first.
    pub blocked: Vec<query::AuditRow>,
    /// Rows of each table left out ([`ROWS_SHOWN`] at most are shown).
    pub omitted: Omitted,
    /// When each source last sent something, whatever the range and filters; all none
    /// while the store has never held an event.
    pub last_seen: LastSeen,
    /// This month (UTC, whatever the range) against the budget that holds what `filter`
    /// admits, and every configured budget: what `/api/v1/budget` answers.
    pub budget: query::BudgetStatus,
}

/// How many rows of each table the overview left out.
#[derive(Debug, Default, Serialize)]
pub struct Omitted {
    /// Models (in `/api/v1/usage?by=model`).
    pub by_model: usize,
    /// Users (in `/api/v1/usage?by=user`).
    pub by_user: usize,
    /// Projects (in `/api/v1/usage?by=project`).
    pub by_project: usize,
    /// Tools.
    pub tools: usize,
    /// Models in the API table.
    pub api: usize,
    /// Blocked operations (in `/api/v1/audit`).
    pub blocked: usize,
    /// Sessions working now.
    pub working: usize,
}

/// Keeps the first `shown` rows; returns how many were left out.
fn shorten<T>(rows: &mut Vec<T>, shown: usize) -> usize {
    let left_out = rows.len().saturating_sub(shown);
    rows.truncate(shown);
    left_out
}

fn split_total(mut rows: Vec<query::UsageRow>) -> (Vec<query::UsageRow>, query::UsageRow) {
    let total = rows.pop().unwrap_or_default();
    (rows, total)
}

/// Reads the overview as of `now` over `window` (what `range` covers then), of what
/// `filter` admits, this month against `budgets`; `last_seen` is the aggregator's.
pub fn read(
    dir: &std::path::Path,
    now: i64,
    filter: &Filter,
    range: Range,
    window: Window,
    last_seen: LastSeen,
    budgets: &Budgets,
) -> Result<Overview, StoreError> {
    let everyone = filter;
    let (by_day, mut total) =
        split_total(query::usage_by_model(dir, window, GroupBy::Day, everyone)?);
    // The total's breakdown is the window by model: one reading gives both.
    let by_model = std::mem::take(&mut total.models);
    let (by_user, _) = split_total(query::usage(dir, window, GroupBy::User, everyone)?);
    let (mut by_project, _) = split_total(query::usage(dir, window, GroupBy::Project, everyone)?);
    let (tools, api) = query::activity(dir, window, everyone)?;
    let recent = AuditFilter {
        last: Some(50),
        user: filter.user.clone(),
        ..AuditFilter::default()
    };
    let mut blocked = query::audit(dir, window, &recent)?;
    if let Some(project) = &filter.project {
        // The audit trail holds the project's path; a filter names the project.
        blocked
            .retain(|row| row.project == *project || row.project.ends_with(&format!("/{project}")));
    }
    blocked.reverse();
    let (mut by_model, mut by_user, mut tools, mut api) = (by_model, by_user, tools, api);
    let (working, working_omitted) = query::working(dir, now, WORKING_SHOWN, filter)?;
    let omitted = Omitted {
        by_model: shorten(&mut by_model, ROWS_SHOWN),
        by_user: shorten(&mut by_user, ROWS_SHOWN),
        by_project: shorten(&mut by_project, ROWS_SHOWN),
        tools: shorten(&mut tools, ROWS_SHOWN),
        api: shorten(&mut api, ROWS_SHOWN),
        blocked: shorten(&mut blocked, BLOCKS_SHOWN),
        working: working_omitted,
    };
    Ok(Overview {
        now_ms: now,
        filter: filter.clone(),
        range,
        window,
        total,
        by_day,
        by_model,
        by_user,
        by_project,
        working,
        sessions: query::sessions(dir, window, SESSIONS_SHOWN, everyone)?,
        costliest: query::costliest_sessions(dir, window, COSTLIEST_SHOWN, everyone)?,
        tools,
        api,
        blocked,
        omitted,
        last_seen,
        budget: query::budget(dir, now, budgets, filter)?,
    })
}

/// The last overview of everyone over the default range, shared by every page and
/// JSON client that asks for it.
///
/// An overview is a scan of the window's events, and every open page asks for it every few
/// seconds. Requests that arrive together wait for one read; a read is reused while no
/// event has been stored since and the minute (which moves the windows) is the same; and
/// a slow one (a large store) is reused for a few times its reading time even when
/// events keep arriving, so open pages cannot keep the collector busy reading.
#[derive(Default)]
pub struct OverviewCache(tokio::sync::Mutex<Option<Cached>>);

struct Cached {
    /// The store's high-water mark and the minute it was read for.
    key: (i64, i64),
    at: Instant,
    took: Duration,
    overview: Arc<Overview>,
}

impl OverviewCache {
    /// The overview as of `now`: the last one read, when it is still current (`mark`
    /// gives the store's high-water mark), else `read_overview`'s.
    pub async fn current<F, M>(
        &self,
        now: i64,
        mark: M,
        read_overview: F,
    ) -> Result<Arc<Overview>, ApiError>
    where
        M: Future<Output = Result<i64, ApiError>>,
        F: Future<Output = Result<Overview, ApiError>>,
    {
        let mut cached = self.0.lock().await;
        let key = (mark.await?, now.div_euclid(MINUTE_MS));
        if let Some(last) = cached.as_ref() {
            let fresh = last.key == key;
            let resting =
                last.took > SLOW_OVERVIEW && last.at.elapsed() < last.took * RECOMPUTE_FACTOR;
            if fresh || resting {
                return Ok(last.overview.clone());
            }
        }
        let started = Instant::now();
        let overview = Arc::new(read_overview.await?);
        *cached = Some(Cached {
            key,
            at: Instant::now(),
            took: started.elapsed(),
            overview: overview.clone(),
        });
        Ok(overview)
    }
}
