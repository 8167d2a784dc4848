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

/// An end of a time window that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is neither a duration back from now (7d, 90m) nor a date (2026-11-01) or time (2026-11-01T12:00:00Z)"
)]
pub struct TimeError(pub String);

/// An end of a time window as Unix milliseconds: a duration back from `now_ms` (`7d`,
/// `90m`), a date (`2026-11-01`, midnight UTC) or an RFC 3339 time.
pub fn parse_instant(text: &str, now_ms: i64) -> Result<i64, TimeError> {
    if let Ok(ago) = humantime::parse_duration(text) {
        return Ok(now_ms.saturating_sub(millis(ago)));
    }
    let full = if text.len() == 10 {
        format!("{text}T00:00:00Z")
    } else {
        text.to_owned()
    };
    humantime::parse_rfc3339_weak(&full)
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(millis)
        .ok_or_else(|| TimeError(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_of_windows() {
        let now = 1_795_500_000_000;
        assert_eq!(parse_instant("7d", now), Ok(now - 7 * 86_400_000));
        assert_eq!(parse_instant("90m", now), Ok(now - 90 * 60_000));
        assert_eq!(parse_instant("2026-11-01", 0), Ok(1_793_491_200_000));
        assert_eq!(
            parse_instant("2026-11-01T12:00:00Z", 0),
            Ok(1_793_491_200_000 + 12 * 3_600_000)
        );
        let err = parse_instant("yesterday", now).unwrap_err();
        assert!(err.to_string().contains("neither a duration"), "{err}");
    }
}
