//! Time: the clock, the one reading of a time window's ends (`7d`, `2026-11-01`,
//! `2026-11-01T12:00:00Z`, `2026-11-01T14:00:00+02:00`), shared by the page's JSON and `report`/`audit`, and the
//! calendar (UTC days, Monday weeks, months) every grouping by date uses.

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
    "{0:?} is neither a duration back from now (7d, 90m) nor a date (2026-11-01) or time (2026-11-01T12:00:00Z, 2026-11-01T14:00:00+02:00)"
)]
pub struct TimeError(pub String);

/// An end of a time window as Unix milliseconds: a duration back from `now_ms` (`7d`,
/// `90m`), a date (`2026-11-01`, midnight UTC) or an RFC 3339 time, in UTC (`Z`) or with
/// an offset (`+02:00`, `-05:30`).
pub fn parse_instant(text: &str, now_ms: i64) -> Result<i64, TimeError> {
    if let Ok(ago) = humantime::parse_duration(text) {
        return Ok(now_ms.saturating_sub(millis(ago)));
    }
    let (local, offset_ms) = match split_offset(text) {
        Some((local, offset_ms)) => (format!("{local}Z"), offset_ms),
        None if text.len() == 10 => (format!("{text}T00:00:00Z"), 0),
        None => (text.to_owned(), 0),
    };
    humantime::parse_rfc3339_weak(&local)
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|t| millis(t) - offset_ms)
        .ok_or_else(|| TimeError(text.to_owned()))
}

/// A time with a numeric offset (`2026-11-01T14:00:00+02:00`): the local time before
/// it and the offset, milliseconds east of UTC. A space stands for `+`: an unescaped
/// `+` in a URL's query string arrives as one.
fn split_offset(text: &str) -> Option<(&str, i64)> {
    let split = text.len().checked_sub(6)?;
    let (local, offset) = (text.get(..split)?, text.get(split..)?.as_bytes());
    // A date and a time before it, at the least `2026-11-01T14:00`, and no zone of its own.
    if local.len() < 16 || !local.ends_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let sign = match offset[0] {
        b'+' | b' ' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digit = |i: usize| {
        offset[i]
            .is_ascii_digit()
            .then(|| i64::from(offset[i] - b'0'))
    };
    let hours = digit(1)? * 10 + digit(2)?;
    let minutes = digit(4)? * 10 + digit(5)?;
    (offset[3] == b':' && hours < 24 && minutes < 60)
        .then_some((local, sign * (hours * 60 + minutes) * 60_000))
}

/// A day, in milliseconds.
pub const DAY_MS: i64 = 86_400_000;

/// The UTC calendar date (year, month 1–12, day 1–31) of an instant.
pub fn civil(ms: i64) -> (i64, u32, u32) {
    // Days since 0000-03-01 in the proleptic Gregorian calendar, counted in 400-year
    // eras of 146,097 days, with March first so the leap day ends a year.
    let days = ms.div_euclid(DAY_MS) + 719_468;
    let era = days.div_euclid(146_097);
    let of_era = days.rem_euclid(146_097);
    let year_of_era = (of_era - of_era / 1_460 + of_era / 36_524 - of_era / 146_096) / 365;
    let day_of_year = of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = u32::try_from(day_of_year - (153 * shifted_month + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    })
    .unwrap_or(1);
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Midnight UTC of a calendar date, Unix milliseconds (the inverse of [`civil`]).
pub fn from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = year - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let shifted_month = i64::from(if month > 2 { month - 3 } else { month + 9 });
    let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    (era * 146_097 + day_of_era - 719_468) * DAY_MS
}

/// Midnight UTC starting the day of `ms`.
pub fn day_start(ms: i64) -> i64 {
    ms - ms.rem_euclid(DAY_MS)
}

/// Midnight UTC starting the Monday of the week of `ms` (ISO weeks).
pub fn week_start(ms: i64) -> i64 {
    let day = ms.div_euclid(DAY_MS);
    // 1970-01-01 was a Thursday: three days after a Monday.
    (day - (day + 3).rem_euclid(7)) * DAY_MS
}

/// Midnight UTC of the first day of the month of `ms`.
pub fn month_start(ms: i64) -> i64 {
    let (year, month, _) = civil(ms);
    from_civil(year, month, 1)
}

/// Midnight UTC of the first day of the month after the month of `ms`.
pub fn next_month_start(ms: i64) -> i64 {
    let (year, month, _) = civil(ms);
    if month == 12 {
        from_civil(year + 1, 1, 1)
    } else {
        from_civil(year, month + 1, 1)
    }
}

/// The date of an instant, `2026-11-24` (UTC).
pub fn date(ms: i64) -> String {
    let (year, month, day) = civil(ms);
    format!("{year:04}-{month:02}-{day:02}")
}

/// An instant as every view shows it: `2026-11-24 14:03:07` (UTC, to the second).
pub fn timestamp(ms: i64) -> String {
    let second = ms.div_euclid(1000).rem_euclid(86_400);
    format!(
        "{} {:02}:{:02}:{:02}",
        date(ms),
        second / 3600,
        second % 3600 / 60,
        second % 60
    )
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

    #[test]
    fn rfc_3339_times_in_utc_and_with_offsets_name_the_same_instant() {
        let noon_utc = 1_793_491_200_000 + 12 * 3_600_000;
        for text in [
            "2026-11-01T12:00:00Z",
            "2026-11-01T12:00:00+00:00",
            "2026-11-01T12:00:00-00:00",
            "2026-11-01T14:00:00+02:00",
            "2026-11-01T17:30:00+05:30",
            "2026-11-01T07:00:00-05:00",
            "2026-11-02T01:00:00+13:00",
            // An unescaped `+` in a URL's query string arrives as a space.
            "2026-11-01T14:00:00 02:00",
        ] {
            assert_eq!(parse_instant(text, 0), Ok(noon_utc), "{text}");
        }
        assert_eq!(
            parse_instant("2026-11-01T14:00:00.250+02:00", 0),
            Ok(noon_utc + 250),
            "fractions of a second"
        );
        for bad in [
            "2026-11-01T14:00:00+2:00",
            "2026-11-01T14:00:00+02",
            "2026-11-01T14:00:00+24:00",
            "2026-11-01T14:00:00+02:60",
            "2026-11-01T14:00:00*02:00",
            "2026-11-01+02:00",
            "2026-11-01T14:00:00Z+02:00",
        ] {
            let err = parse_instant(bad, 0).expect_err(bad);
            assert!(err.to_string().contains("+02:00"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_calendar_agrees_with_rfc_3339_over_centuries() {
        // Every day from 1900 to 2200 (leap years, 2000 and 2100 included), against
        // humantime's formatting.
        let mut ms: i64 = -2_208_988_800_000; // 1900-01-01
        while ms < 7_258_118_400_000 {
            if ms >= 0 {
                let at = UNIX_EPOCH + Duration::from_millis(ms.unsigned_abs());
                let text = humantime::format_rfc3339_seconds(at).to_string();
                assert_eq!(date(ms), text[..10], "{ms}");
            }
            let (y, m, d) = civil(ms);
            assert_eq!(from_civil(y, m, d), ms, "{y}-{m}-{d}");
            ms += DAY_MS;
        }
        assert_eq!(date(1_795_500_000_000 - 1), "2026-11-24");
        assert_eq!(timestamp(1_795_500_007_999), "2026-11-24 06:00:07");
        // 2026-11-24 is a Tuesday; its week starts on Monday the 23rd.
        assert_eq!(date(week_start(1_795_500_000_000)), "2026-11-23");
        assert_eq!(date(month_start(1_795_500_000_000)), "2026-11-01");
        assert_eq!(date(next_month_start(1_795_500_000_000)), "2026-12-01");
        assert_eq!(
            date(next_month_start(from_civil(2026, 12, 31))),
            "2027-01-01"
        );
        assert_eq!(date(from_civil(2028, 2, 29)), "2028-02-29");
    }
}
