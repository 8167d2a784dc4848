//! One definition of each window and each count: the page, its JSON, `report` and
//! Prometheus give the same cost, sessions and blocks for every window they share.

use serde_json::Value;

use crate::dashboards::{feed, shipped_config};
use crate::prometheus::Prometheus;
use crate::support::collector::Collector;
use crate::support::{Run, stderr, stdout};

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn f(value: &Value) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("not a number: {value}"))
}

/// The figure a card of the page shows (`$1,234.57`, `12`).
fn card(page: &str, id: &str) -> f64 {
    let marker = format!("data-figure=\"{id}\">");
    let start = page.find(&marker).unwrap_or_else(|| panic!("no card {id}")) + marker.len();
    let text = &page[start..start + page[start..].find('<').unwrap()];
    text.trim_start_matches('$')
        .replace(',', "")
        .parse()
        .unwrap()
}

/// The values the page's cost-by-day chart shows, bar by bar.
fn bars(page: &str) -> Vec<f64> {
    let chart = &page[page.find("id=\"chart-cost-by-day\"").unwrap()..];
    let chart = &chart[..chart.find("</svg>").unwrap()];
    chart
        .split("<title>")
        .skip(1)
        .map(|t| {
            let title = &t[..t.find("</title>").unwrap()];
            title
                .rsplit('$')
                .next()
                .unwrap()
                .replace(',', "")
                .parse()
                .unwrap()
        })
        .collect()
}

fn close(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance * b.abs().max(1e-12)
}

#[test]
fn the_page_its_json_report_and_prometheus_agree_on_cost_sessions_blocks_and_tool_calls() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let collector = Collector::start(&data);
    let prometheus = Prometheus::with_config(&shipped_config("prometheus.yml", &collector, &[]));
    prometheus.query_until("sum(up{job=\"claude-telemetry\"})", |r| !r.is_empty());
    // Two users' sessions with denied calls, and Claude Code's own events and metrics
    // for one of them, which name only its anonymous user.id.
    feed(&collector, dir.path(), 0);
    feed(&collector, dir.path(), 1);

    let (status, overview) = collector.get("/api/v1/overview");
    assert_eq!(status, 200);
    let overview = json(&overview);
    let week = &overview["total"];
    let (cost, sessions, blocks, tool_calls) = (
        f(&week["cost_usd"]),
        f(&week["sessions"]),
        f(&week["blocks"]),
        f(&week["tool_calls"]),
    );
    assert!(
        cost > 0.0 && sessions >= 4.0 && blocks >= 4.0 && tool_calls > blocks,
        "{week}"
    );

    // The page's cards and its chart: the same 7 days, the bars adding up to the card.
    let (status, page) = collector.get("/");
    assert_eq!(status, 200);
    // Money on the page is to the cent.
    assert!((card(&page, "cost-range") - cost).abs() <= 0.005, "{cost}");
    assert_eq!(card(&page, "sessions-range"), sessions);
    assert_eq!(card(&page, "blocks-range"), blocks);
    let bars = bars(&page);
    let shown: f64 = bars.iter().sum();
    assert!(
        (shown - card(&page, "cost-range")).abs() <= 0.005 * (bars.len() + 1) as f64,
        "{shown} vs the card"
    );

    // Every grouping's rows add up to the same totals; a session whose OTLP events
    // carry only Claude Code's user.id is its hook user's, counted once.
    for key in ["by_day", "by_model", "by_user"] {
        let rows = overview[key].as_array().unwrap();
        let sum = |field: &str| rows.iter().map(|r| f(&r[field])).sum::<f64>();
        assert!(close(sum("cost_usd"), cost, 1e-9), "{key}");
        assert_eq!(sum("sessions"), sessions, "{key}");
        assert_eq!(sum("blocks"), blocks, "{key}");
    }
    let users: Vec<&str> = overview["by_user"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["Bob Roe", "Jane Doe"], "no user.id of its own");

    // The JSON API and report, for the same window.
    for by in ["day", "model", "user", "project", "session"] {
        let (status, rows) = collector.get(&format!("/api/v1/usage?since=7d&by={by}"));
        assert_eq!(status, 200);
        let rows = json(&rows);
        let total = rows.as_array().unwrap().last().unwrap();
        let output = Run::new(
            &[
                "report",
                "--json",
                "--by",
                by,
                "--since",
                "7d",
                "--data-dir",
                data.to_str().unwrap(),
            ],
            dir.path(),
        )
        .output();
        assert!(output.status.success(), "{}", stderr(&output));
        let report = json(&stdout(&output));
        let reported = report.as_array().unwrap().last().unwrap();
        for (what, value) in [(total, "api"), (reported, "report")] {
            assert!(close(f(&what["cost_usd"]), cost, 1e-9), "{value} by {by}");
            assert_eq!(f(&what["sessions"]), sessions, "{value} by {by}");
            assert_eq!(f(&what["blocks"]), blocks, "{value} by {by}");
        }
    }

    // Prometheus: the counters hold everything since the collector started (all of it in
    // the window), and increase() over the last hour finds the same within its
    // extrapolation.
    let scalar = |r: &[Value]| -> f64 {
        r.first()
            .and_then(|s| s["value"][1].as_str())
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN)
    };
    for (query, expected, tolerance) in [
        ("sum(claude_code_cost_usage_USD_total)", cost, 1e-9),
        ("sum(claude_code_sessions_started_total)", sessions, 0.0),
        ("sum(claude_code_security_blocks_total)", blocks, 0.0),
        // Blocked calls are tool calls in every view.
        ("sum(claude_code_tool_calls_total)", tool_calls, 0.0),
        (
            "sum(increase(claude_code_cost_usage_USD_total[1h]))",
            cost,
            0.1,
        ),
        (
            "sum(increase(claude_code_sessions_started_total[1h]))",
            sessions,
            0.1,
        ),
        (
            "sum(increase(claude_code_security_blocks_total[1h]))",
            blocks,
            0.1,
        ),
    ] {
        prometheus.query_until(query, |r| close(scalar(r), expected, tolerance));
    }
}
