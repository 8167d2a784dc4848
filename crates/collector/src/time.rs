//! Time: the clock, and the one reading of a time window's ends (`7d`, `2026-11-01`,
//! `2026-11-01T12:00:00Z`), shared by the page's JSON and `report`/`audit`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Unix time now, in milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Milliseconds of a duration, saturating.
pub fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
