//! The month's spending against its budget: the month to date, and where it ends at the
//! pace so far. Read from the usage rollups like every other figure; read-only.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Window;
use super::rollups::{Filter, GroupBy, projection, usage};
use crate::store::StoreError;
use crate::time;

/// The month's spending, and the budget it is held to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetStatus {
    /// The month (UTC), `2026-11`.
    pub month: String,
    /// The configured budget, US dollars (none when unset).
    pub monthly_budget_usd: Option<f64>,
    /// Spent from the first of the month until now.
    pub month_to_date_usd: f64,
    /// Where the month ends at the pace so far.
    pub projected_usd: f64,
    /// The projection as a share of the budget (`1.2`: 20 % over).
    pub projected_share: Option<f64>,
}

/// The month of `now_ms` against `budget_usd`.
pub fn budget(
    data_dir: &Path,
    now_ms: i64,
    budget_usd: Option<f64>,
    filter: &Filter,
) -> Result<BudgetStatus, StoreError> {
    let start = time::month_start(now_ms);
    let end = time::next_month_start(now_ms);
    let window = Window {
        since_ms: start,
        until_ms: now_ms.max(start + 1),
    };
    let spent = usage(data_dir, window, GroupBy::Month, filter)?
        .last()
        .map_or(0.0, |total| total.cost_usd);
    let projected = projection(spent, start, now_ms, end);
    Ok(BudgetStatus {
        month: time::date(start)[..7].to_owned(),
        monthly_budget_usd: budget_usd,
        month_to_date_usd: spent,
        projected_usd: projected,
        projected_share: budget_usd.map(|b| projected / b),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::testing::{feed, workload};

    #[tokio::test(flavor = "multi_thread")]
    async fn the_month_to_date_and_its_projection_on_a_constructed_history() {
        let dir = tempfile::tempdir().unwrap();
        let day = |d: u32, h: i64| time::from_civil(2026, 11, d) + h * 3_600_000;
        let cost = |id: &str, ts: i64, usd: f64| {
            workload::otlp(
                id,
                ts,
                "s1",
                "api_request",
                json!({"model": "m", "cost_usd": usd}),
            )
        };
        feed(
            dir.path(),
            vec![
                // The month before: not this month's.
                cost(
                    "a",
                    time::from_civil(2026, 10, 31) + 23 * 3_600_000,
                    1_000.0,
                ),
                cost("b", day(2, 9), 40.0),
                cost("c", day(10, 23), 60.0),
                // After now: not yet spent.
                cost("d", day(20, 0), 500.0),
            ],
        )
        .await;
        // Ten days of November's thirty gone: $100 spent, $300 at this pace.
        let now = day(11, 0);
        let status = budget(dir.path(), now, Some(250.0), &Filter::default()).unwrap();
        assert_eq!(status.month, "2026-11");
        assert!(
            (status.month_to_date_usd - 100.0).abs() < 1e-9,
            "{status:?}"
        );
        assert!((status.projected_usd - 300.0).abs() < 1e-9, "{status:?}");
        assert!(
            (status.projected_share.unwrap() - 1.2).abs() < 1e-9,
            "{status:?}"
        );
        // At the last moment of the month, the projection is what was spent.
        let last = time::from_civil(2026, 12, 1) - 1;
        let status = budget(dir.path(), last, None, &Filter::default()).unwrap();
        assert!((status.projected_usd - 600.0).abs() < 1e-6, "{status:?}");
        assert_eq!(status.projected_share, None);
        // The first instant of a month: nothing spent, nothing projected.
        let status = budget(
            dir.path(),
            time::from_civil(2026, 12, 1),
            Some(1.0),
            &Filter::default(),
        )
        .unwrap();
        assert_eq!((status.month_to_date_usd, status.projected_usd), (0.0, 0.0));
    }
}
