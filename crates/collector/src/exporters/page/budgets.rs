//! The overview's budget panel: this month (UTC) against each configured budget the
//! page's filters narrow to, with its month to date, projection and a bar; without any
//! budget, how to set one. Renders what the overview read ([`BudgetStatus`], the same
//! as `/api/v1/budget`); reads nothing itself.

use maud::{Markup, html};

use super::overview::Overview;
use super::view::{Row, filter_link, money, table, text};
use crate::query::{BudgetLine, BudgetStatus, Scope};

/// The panel.
pub(super) fn panel(data: &Overview) -> Markup {
    let status = &data.budget;
    let rows: Vec<Row> = status
        .budgets
        .iter()
        .filter(|line| line.within(&data.filter))
        .map(|line| {
            let whose = match (line.scope, line.name.as_deref()) {
                (Scope::User, Some(name)) => html! { "user " (filter_link(data, "user", name)) },
                (Scope::Project, Some(name)) => {
                    html! { "project " (filter_link(data, "project", name)) }
                }
                _ => text("everyone"),
            };
            // The bar under the name: the numbers keep their columns on a phone.
            Row::of(vec![
                html! { (whose) (meter(line)) },
                text(money(line.budget_usd)),
                text(money(line.month_to_date_usd)),
                text(money(line.projected_usd)),
            ])
        })
        .collect();
    html! {
        section id="budget" {
            h2 { "Budget, " (status.month) " (UTC) to date" }
            @if status.budgets.is_empty() {
                p id="budget-unset" {
                    "No monthly budget is set. Set everyone's with "
                    code { "monthly_budget_usd = 2500" } " in the config file's "
                    code { "[collector]" } " table (or " code { "CLAUDE_TELEMETRY_MONTHLY_BUDGET_USD" }
                    "), a user's or a project's under " code { "[collector.user_monthly_budgets_usd]" }
                    " or " code { "[collector.project_monthly_budgets_usd]" }
                    ", and restart the collector. " (so_far(status))
                }
            } @else {
                @if status.monthly_budget_usd.is_none() {
                    p id="budget-none" { "No budget holds " (whose(status)) ". " (so_far(status)) }
                }
                @if !rows.is_empty() {
                    (table(
                        "budgets",
                        &["budget of", "budget", "month to date", "projected"],
                        &[1, 2, 3],
                        &rows,
                    ))
                }
            }
        }
    }
}

/// What the filter admits this month: spent, and where it ends.
fn so_far(status: &BudgetStatus) -> Markup {
    html! {
        "This month so far: "
        span data-figure="month-to-date" { (money(status.month_to_date_usd)) }
        ", on course for "
        span data-figure="month-projected" { (money(status.projected_usd)) }
        " by its end."
    }
}

/// Whose spending the filter shows, as the budget that would hold it.
fn whose(status: &BudgetStatus) -> String {
    match (status.scope, status.name.as_deref()) {
        (Some(Scope::Everyone), _) => "everyone's spending together".to_owned(),
        (Some(Scope::User), Some(name)) => format!("user {name}"),
        (Some(Scope::Project), Some(name)) => format!("project {name}"),
        _ => "what these filters show (budgets are kept for everyone, a user or a project)"
            .to_owned(),
    }
}

/// The month to date and the projection as shares of the budget: two bars, the
/// projection's paler, red once over; their percentages in words for every reader.
fn meter(line: &BudgetLine) -> Markup {
    // A budget of zero: any spending fills it.
    let width = |share: Option<f64>, usd: f64| match share {
        Some(share) => (share * 100.0).clamp(0.0, 100.0),
        None if usd > 0.0 => 100.0,
        None => 0.0,
    };
    let spent = width(line.spent_share, line.month_to_date_usd);
    let projected = width(line.projected_share, line.projected_usd);
    let percent =
        |share: Option<f64>| share.map_or_else(|| "–".to_owned(), |s| format!("{:.0}%", s * 100.0));
    let label = format!(
        "{} spent, {} projected",
        percent(line.spent_share),
        percent(line.projected_share)
    );
    let class = if line.over_budget || line.projected_over_budget {
        "meter over"
    } else {
        "meter"
    };
    html! {
        div class=(class) role="img" aria-label=(label) title=(label) {
            span.projected style=(format!("width: {projected:.1}%")) {}
            span.spent style=(format!("width: {spent:.1}%")) {}
        }
        div.muted { (label) }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use serde_json::Value;

    use crate::config::CollectorConfig;
    use crate::exporters::page::{router, view::money};
    use crate::testing::{call, feed, get, state_with, workload};
    use crate::time::{month_start, now_ms};

    /// The text of each element `marker` opens, up to its first closing tag, tags left
    /// out and entities read.
    fn texts(page: &str, marker: &str) -> Vec<String> {
        page.match_indices(marker)
            .map(|(at, _)| {
                let rest = &page[at..];
                let inner = &rest[rest.find('>').unwrap() + 1..];
                let end = inner.find("</").unwrap_or(inner.len());
                let mut text = String::new();
                let mut in_tag = false;
                for c in inner[..end].chars() {
                    match c {
                        '<' => in_tag = true,
                        '>' => in_tag = false,
                        c if !in_tag => text.push(c),
                        _ => {}
                    }
                }
                text.replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&amp;", "&")
            })
            .collect()
    }

    /// The budgets table's rows, as cell texts.
    fn panel_rows(page: &str) -> Vec<Vec<String>> {
        let Some(start) = page.find("id=\"budgets\"") else {
            return Vec::new();
        };
        let table = &page[start..start + page[start..].find("</table>").unwrap()];
        let body = &table[table.find("<tbody>").unwrap()..];
        body.split("<tr")
            .skip(1)
            .map(|row| texts(row, "<td"))
            .collect()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_panel_shows_each_budget_the_filters_narrow_to_as_the_api_does() {
        let dir = tempfile::tempdir().unwrap();
        let at = (now_ms() - 60_000).max(month_start(now_ms()));
        let events = workload::spending(
            at,
            &[("a", "ana", "api", 1_234.5), ("b", "bob", "web", 0.004)],
        );
        feed(dir.path(), events).await;
        let mut config = CollectorConfig {
            monthly_budget_usd: Some(5_000.0),
            ..CollectorConfig::default()
        };
        config.user_monthly_budgets_usd = [
            ("ana".to_owned(), 1_000.0),
            ("cat".to_owned(), 0.0),
            ("<script>alert(1)</script>".to_owned(), 1.0),
        ]
        .into();
        config.project_monthly_budgets_usd = [("acme/web".to_owned(), 20.0)].into();
        let state = state_with(dir.path(), config);
        let page_of = |address: &'static str| {
            let state = state.clone();
            async move {
                let (status, page) = call(router(state), get(address)).await;
                assert_eq!(status, StatusCode::OK, "{address}");
                page
            }
        };
        let budget_of = |address: &'static str| {
            let state = state.clone();
            async move {
                let (status, body) = call(router(state), get(address)).await;
                assert_eq!(status, StatusCode::OK, "{address}: {body}");
                serde_json::from_str::<Value>(&body).unwrap()
            }
        };
        let expected = |budget: &Value, filter: &dyn Fn(&Value) -> bool| -> Vec<Vec<String>> {
            budget["budgets"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|line| filter(line))
                .map(|line| {
                    let whose = match line["scope"].as_str().unwrap() {
                        "everyone" => "everyone".to_owned(),
                        scope => format!("{scope} {}", line["name"].as_str().unwrap()),
                    };
                    let usd = |key: &str| money(line[key].as_f64().unwrap());
                    vec![
                        whose,
                        usd("budget_usd"),
                        usd("month_to_date_usd"),
                        usd("projected_usd"),
                    ]
                })
                .collect()
        };
        let shown = |page: &str| -> Vec<Vec<String>> {
            panel_rows(page)
                .into_iter()
                .map(|row| row[..4].to_vec())
                .collect()
        };

        // Unfiltered: every budget, as the API lists it.
        let page = page_of("/").await;
        let budget = budget_of("/api/v1/budget").await;
        let all = expected(&budget, &|_| true);
        assert_eq!(all.len(), 5, "{budget}");
        assert_eq!(shown(&page), all);
        assert!(
            !page.contains("<script>alert"),
            "a name from the config is escaped"
        );
        assert_eq!(all[2], ["user ana", "$1,000.00", "$1,234.50", &all[2][3]]);
        assert_eq!(all[4][..3], ["project acme/web", "$20.00", "<$0.01"]);
        assert!(page.contains("class=\"meter over\""), "ana is over");
        assert!(!page.contains("id=\"budget-none\""));

        // A user with a budget: that budget alone.
        let page = page_of("/?user=ana").await;
        let budget = budget_of("/api/v1/budget?user=ana").await;
        assert_eq!(budget["monthly_budget_usd"], 1_000.0);
        assert_eq!(
            shown(&page),
            expected(&budget, &|l| l["name"] == "ana"),
            "{page}"
        );
        // A user without one: says so, with the user's month.
        let page = page_of("/?user=bob").await;
        assert!(shown(&page).is_empty());
        let none = &page[page.find("id=\"budget-none\"").expect("no budget said")..];
        assert!(none.contains("No budget holds user bob"), "{none}");
        assert_eq!(texts(none, "data-figure=\"month-to-date\"")[0], "<$0.01");

        // A model: budgets cover every model, so all show, and none holds the model's
        // own spending.
        let page = page_of("/?model=m").await;
        assert_eq!(shown(&page), all);
        let none = &page[page.find("id=\"budget-none\"").expect("no budget said")..];
        assert!(none.contains("what these filters show"), "{none}");
        assert_eq!(texts(none, "data-figure=\"month-to-date\"")[0], "$1,234.50");

        // No budget at all: how to set one, not zeros.
        let dir = tempfile::tempdir().unwrap();
        let state = state_with(dir.path(), CollectorConfig::default());
        let (_, page) = call(router(state), get("/")).await;
        let unset = &page[page.find("id=\"budget-unset\"").expect("how to set one")..];
        assert!(unset.contains("monthly_budget_usd"), "{unset}");
        assert!(
            unset.contains("[collector.user_monthly_budgets_usd]"),
            "{unset}"
        );
        assert!(!page.contains("id=\"budgets\""));
    }
}
