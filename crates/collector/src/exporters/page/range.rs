//! The overview's date range (`?range=today|7d|30d|month`, or `?since=&until=` for a
//! custom one): read from the address, turned into the [`Window`] every figure covers,
//! and written back into the page's links. The ends of a custom range are read by
//! [`Window::parse`], like every other window; this module only names the choices.

use std::collections::HashMap;

use serde::Serialize;

use crate::query::Window;
use crate::time;

/// The ranges the page offers by name: (`range=` value, label).
pub const CHOICES: [(&str, &str); 4] = [
    ("today", "today"),
    ("7d", "7 days"),
    ("30d", "30 days"),
    ("month", "this month"),
];

/// The range when the address names none.
pub const DEFAULT: &str = "7d";

/// A date range as the address gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Range {
    /// One of [`CHOICES`]' names, or `custom`.
    pub name: String,
    /// A custom range's start as written (`7d`, `2026-11-01`, an RFC 3339 time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// A custom range's end as written; now when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

impl Default for Range {
    fn default() -> Range {
        Range::named(DEFAULT)
    }
}

impl Range {
    /// The range `name` (one of [`CHOICES`]).
    pub fn named(name: &str) -> Range {
        Range {
            name: name.to_owned(),
            since: None,
            until: None,
        }
    }

    /// The range in `range=`, or the custom one in `since=`/`until=`, or the default.
    /// An empty end (the page's form left blank) is no end.
    pub fn from_params(params: &HashMap<String, String>) -> Result<Range, String> {
        let end = |name: &str| params.get(name).filter(|text| !text.is_empty()).cloned();
        let since = end("since");
        let until = end("until");
        match params.get("range") {
            Some(_) if since.is_some() || until.is_some() => {
                Err("range: give either range= or since=/until=, not both".to_owned())
            }
            Some(name) if name == "custom" => Err(
                "range: a custom range is given by since= (and until=), not range=custom"
                    .to_owned(),
            ),
            Some(name) => match CHOICES.iter().find(|(choice, _)| choice == name) {
                Some((choice, _)) => Ok(Range::named(choice)),
                None => {
                    let names: Vec<&str> = CHOICES.iter().map(|(name, _)| *name).collect();
                    Err(format!(
                        "range: expected one of {}, or since=/until= for a custom range, got {name:?}",
                        names.join(", ")
                    ))
                }
            },
            None if since.is_none() && until.is_none() => Ok(Range::default()),
            None => Ok(Range {
                name: "custom".to_owned(),
                since,
                until,
            }),
        }
    }

    /// The window the range covers as of `now_ms`; an error says which end cannot be
    /// read, or that the range holds no time at all.
    pub fn window(&self, now_ms: i64) -> Result<Window, String> {
        let window = match self.name.as_str() {
            "today" => Window::today(now_ms),
            "7d" => Window::last_days(7, now_ms),
            "30d" => Window::last_days(30, now_ms),
            "month" => Window {
                since_ms: time::month_start(now_ms),
                until_ms: now_ms + 1,
            },
            _ => Window::parse(self.since.as_deref(), self.until.as_deref(), now_ms)
                .map_err(|err| err.to_string())?,
        };
        if window.is_empty() {
            return Err(format!(
                "since: {} is not before until: {}",
                time::timestamp(window.since_ms),
                time::timestamp(window.until_ms)
            ));
        }
        Ok(window)
    }

    /// Whether this is the range shown when the address names none.
    pub fn is_default(&self) -> bool {
        self.name == DEFAULT
    }

    /// How the page names it: `7 days`, or a custom range's ends as written.
    pub fn label(&self) -> String {
        match CHOICES.iter().find(|(name, _)| *name == self.name) {
            Some((_, label)) => (*label).to_owned(),
            None => format!(
                "{} to {}",
                self.since.as_deref().unwrap_or("7d"),
                self.until.as_deref().unwrap_or("now")
            ),
        }
    }

    /// The address parameters that give this range (none for the default).
    pub fn params(&self) -> Vec<(&'static str, &str)> {
        if self.is_default() {
            return Vec::new();
        }
        if self.name != "custom" {
            return vec![("range", self.name.as_str())];
        }
        [("since", &self.since), ("until", &self.until)]
            .into_iter()
            .filter_map(|(key, value)| value.as_deref().map(|v| (key, v)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{DAY_MS, from_civil};

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn each_named_range_covers_its_window() {
        let now = from_civil(2026, 11, 29) + 13 * 3_600_000;
        let window = |pairs: &[(&str, &str)]| {
            Range::from_params(&params(pairs))
                .unwrap()
                .window(now)
                .unwrap()
        };
        assert_eq!(window(&[]), Window::last_days(7, now));
        assert_eq!(window(&[("range", "7d")]), Window::last_days(7, now));
        assert_eq!(window(&[("range", "30d")]).since_ms, now - 30 * DAY_MS);
        assert_eq!(
            window(&[("range", "today")]).since_ms,
            from_civil(2026, 11, 29)
        );
        assert_eq!(
            window(&[("range", "month")]).since_ms,
            from_civil(2026, 11, 1)
        );
        assert_eq!(window(&[("range", "month")]).until_ms, now + 1);
        let custom = window(&[("since", "2026-11-02"), ("until", "2026-11-05")]);
        assert_eq!(
            custom,
            Window {
                since_ms: from_civil(2026, 11, 2),
                until_ms: from_civil(2026, 11, 5)
            }
        );
    }

    #[test]
    fn bad_ranges_say_what_is_wrong() {
        let now = from_civil(2026, 11, 29);
        let refused = |pairs: &[(&str, &str)]| {
            Range::from_params(&params(pairs))
                .and_then(|range| range.window(now))
                .unwrap_err()
        };
        assert!(
            refused(&[("range", "fortnight")]).contains("expected one of today, 7d, 30d, month")
        );
        assert!(refused(&[("range", "7d"), ("since", "1d")]).contains("not both"));
        assert!(refused(&[("range", "custom")]).contains("since="));
        assert!(refused(&[("since", "yesterday")]).starts_with("since:"));
        assert!(
            refused(&[("since", "2026-11-05"), ("until", "2026-11-02")]).contains("not before")
        );
        assert!(refused(&[("since", "9999999999999999d")]).starts_with("since:"));
    }

    #[test]
    fn blank_ends_are_no_ends() {
        let blank = params(&[("since", "3d"), ("until", "")]);
        let range = Range::from_params(&blank).unwrap();
        assert_eq!(range.params(), [("since", "3d")]);
        assert_eq!(
            Range::from_params(&params(&[("since", ""), ("until", "")])),
            Ok(Range::default())
        );
    }

    #[test]
    fn a_range_round_trips_through_its_params() {
        for pairs in [
            vec![],
            vec![("range", "today")],
            vec![("range", "month")],
            vec![("since", "2026-11-01")],
            vec![("since", "2026-11-01"), ("until", "2026-11-03")],
        ] {
            let range = Range::from_params(&params(&pairs)).unwrap();
            assert_eq!(range.params(), pairs);
        }
    }
}
