//! What the overview page shows, read from the store, and the last reading shared by
//! every page and JSON client.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::ApiError;
use crate::query::{self, AuditFilter, GroupBy, Window};
use crate::store::StoreError;

const DAY_MS: i64 = 86_400_000;
const MINUTE_MS: i64 = 60_000;
/// An overview slower than this to read is not read again sooner than
/// [`RECOMPUTE_FACTOR`] times its reading time, however many pages ask.
const SLOW_OVERVIEW: Duration = Duration::from_millis(100);
const RECOMPUTE_FACTOR: u32 = 4;
const SESSIONS_SHOWN: usize = 100;
/// Rows of each other table the overview holds at most, whatever the store holds: the
/// rest are in the JSON API's pages (`/api/v1/usage?by=user`), and [`Omitted`] says how
/// many.
const ROWS_SHOWN: usize = 50;
const BLOCKS_SHOWN: usize = 50;

/// Everything the overview shows.
#[derive(Debug, Serialize)]
pub struct Overview {
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
    /// Rows of each table left out ([`ROWS_SHOWN`] at most are shown).
    pub omitted: Omitted,
}

/// How many rows of each table the overview left out.
#[derive(Debug, Default, Serialize)]
pub struct Omitted {
    /// Models (in `/api/v1/usage?by=model`).
    pub by_model: usize,
    /// Users (in `/api/v1/usage?by=user`).
    pub by_user: usize,
    /// Tools.
    pub tools: usize,
    /// Models in the API table.
    pub api: usize,
    /// Blocked operations (in `/api/v1/audit`).
    pub blocked: usize,
}

/// Keeps the first `shown` rows; returns how many were left out.
fn shorten<T>(rows: &mut Vec<T>, shown: usize) -> usize {
    let left_out = rows.len().saturating_sub(shown);
    rows.truncate(shown);
    left_out
}

/// The last 7 days up to `now`.
pub(super) fn week(now: i64) -> Window {
    Window {
        since_ms: now - 7 * DAY_MS,
        until_ms: now + 1,
    }
}

fn split_total(mut rows: Vec<query::UsageRow>) -> (Vec<query::UsageRow>, query::UsageRow) {
    let total = rows.pop().unwrap_or_default();
    (rows, total)
}

/// Reads the overview as of `now`.
pub fn read(dir: &std::path::Path, now: i64) -> Result<Overview, StoreError> {
    let week = week(now);
    let today = Window {
        since_ms: now - now.rem_euclid(DAY_MS),
        until_ms: now + 1,
    };
    let (by_day, week_total) = split_total(query::usage(dir, week, GroupBy::Day)?);
    let (_, today_total) = split_total(query::usage(dir, today, GroupBy::Day)?);
    let (by_model, _) = split_total(query::usage(dir, week, GroupBy::Model)?);
    let (by_user, _) = split_total(query::usage(dir, week, GroupBy::User)?);
    let (mut tools, mut api) = query::activity(dir, week)?;
    let mut blocked = query::audit(dir, week, &AuditFilter::default())?;
    blocked.reverse();
    let (mut by_model, mut by_user) = (by_model, by_user);
    let omitted = Omitted {
        by_model: shorten(&mut by_model, ROWS_SHOWN),
        by_user: shorten(&mut by_user, ROWS_SHOWN),
        tools: shorten(&mut tools, ROWS_SHOWN),
        api: shorten(&mut api, ROWS_SHOWN),
        blocked: shorten(&mut blocked, BLOCKS_SHOWN),
    };
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
        omitted,
    })
}

/// The last overview read, shared by every page and JSON client.
///
/// An overview is a scan of the week's events, and every open page asks for it every few
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
