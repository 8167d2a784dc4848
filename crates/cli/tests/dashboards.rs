//! The Grafana dashboards: their structure, and every panel's query answered by a real
//! Prometheus (and by VictoriaMetrics through remote write) scraping the real collector
//! fed with realistic sessions.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use prost::Message;
use serde_json::{Value, json};

use crate::prometheus::{Prometheus, query_until};
use crate::support::collector::Collector;
use crate::support::{repo, sample};

fn dashboards() -> Vec<(String, Value)> {
    [
        "claude-code-overview.json",
        "claude-code-tools-security.json",
    ]
    .iter()
    .map(|f| {
        let text =
            std::fs::read_to_string(repo().join("deploy/grafana/dashboards").join(f)).unwrap();
        ((*f).to_owned(), serde_json::from_str(&text).unwrap())
    })
    .collect()
}

/// Every panel query, variables substituted as Grafana would with "All" selected.
fn queries() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (file, dashboard) in dashboards() {
        for panel in dashboard["panels"].as_array().unwrap() {
            for target in panel["targets"].as_array().unwrap() {
                let expr = target["expr"]
                    .as_str()
                    .unwrap()
                    .replace("$user", ".*")
                    .replace("$model", ".*")
                    .replace("$project", ".*")
                    .replace("$__rate_interval", "1m")
                    .replace("$__range", "1h");
                out.push((
                    format!("{file} / {}", panel["title"].as_str().unwrap()),
                    expr,
                ));
            }
        }
    }
    out
}

#[test]
fn dashboards_are_plain_provisionable_json_with_resolvable_datasources() {
    let datasources = std::fs::read_to_string(
        repo().join("deploy/grafana/provisioning/datasources/prometheus.yml"),
    )
    .unwrap();
    assert!(
        datasources.contains("uid: prometheus")
            && datasources.contains("url: http://prometheus:9090")
    );
    let provider = std::fs::read_to_string(
        repo().join("deploy/grafana/provisioning/dashboards/claude-telemetry.yml"),
    )
    .unwrap();
    let compose = std::fs::read_to_string(repo().join("docker-compose.yml")).unwrap();
    assert!(provider.contains("path: /var/lib/grafana/dashboards"));
    assert!(
        compose.contains("./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro"),
        "the provider's path is where compose mounts them"
    );

    let mut uids = BTreeSet::new();
    for (file, dashboard) in dashboards() {
        assert!(
            dashboard.get("dashboard").is_none(),
            "{file}: plain dashboard JSON, not the HTTP API wrapper"
        );
        assert!(
            uids.insert(dashboard["uid"].as_str().unwrap().to_owned()),
            "{file}: duplicate uid"
        );
        assert!(
            dashboard["schemaVersion"].as_u64().unwrap() >= 36,
            "{file}: a current schemaVersion"
        );
        let variables: Vec<&str> = dashboard["templating"]["list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap())
            .collect();
        assert_eq!(variables, ["user", "model", "project"], "{file}");
        for variable in dashboard["templating"]["list"].as_array().unwrap() {
            assert_eq!(variable["datasource"]["uid"], "prometheus", "{file}");
        }
        let mut ids = BTreeSet::new();
        for panel in dashboard["panels"].as_array().unwrap() {
            let title = panel["title"].as_str().unwrap();
            assert!(
                ids.insert(panel["id"].as_u64().unwrap()),
                "{file}: duplicate panel id at {title}"
            );
            assert_eq!(panel["datasource"]["uid"], "prometheus", "{file}: {title}");
            let targets = panel["targets"].as_array().unwrap();
            assert!(!targets.is_empty(), "{file}: {title} has no query");
            for target in targets {
                assert_eq!(target["datasource"]["uid"], "prometheus", "{file}: {title}");
                assert!(
                    !target["expr"].as_str().unwrap().trim().is_empty(),
                    "{file}: {title}"
                );
            }
        }
    }
}

/// Realistic data in two waves, so that increases over the scrape interval are real:
/// two users' hook sessions with a denied call each, and Claude Code's captured exports.
pub fn feed(collector: &Collector, dir: &std::path::Path, wave: u32) {
    let hook = |event: &Value, user: &str| {
        collector.hook(dir, user, event);
    };
    for user in ["Jane Doe", "Bob Roe"] {
        for name in [
            "SessionStart",
            "UserPromptSubmit",
            "PreToolUse:Bash",
            "PostToolUse:Bash",
            "PreToolUse:Read",
            "PostToolUse:Read",
            "PostToolUseFailure:Bash",
            "Stop",
        ] {
            let mut event = sample(name);
            event["session_id"] = json!(format!("{user}-{wave}"));
            if name == "SessionStart" {
                event["model"] = json!("claude-sonnet-4-5");
            }
            hook(&event, user);
        }
        let mut denied = sample("PreToolUse:Bash");
        denied["session_id"] = json!(format!("{user}-{wave}"));
        denied["tool_input"]["command"] = json!(if wave == 0 { "rm -rf ~" } else { "cat .env" });
        hook(&denied, user);
    }
    // Claude Code's own exports, as captured, in protobuf; the second wave is the same
    // session a minute later, so that its delta counters really grow between scrapes.
    for line in include_str!("data/otlp_protobuf_decoded.jsonl").lines() {
        let mut record: Value = serde_json::from_str(line).unwrap();
        shift_times(&mut record["body"], u64::from(wave) * 60_000_000_000);
        // Jane's session, as its hook events name it: its usage is hers, in her project.
        set_session(&mut record["body"], &format!("Jane Doe-{wave}"));
        let body = match record["path"].as_str().unwrap() {
            "/v1/metrics" => collector::processors::otlp::json::metrics_request(&record["body"])
                .unwrap()
                .encode_to_vec(),
            "/v1/logs" => collector::processors::otlp::json::logs_request(&record["body"])
                .unwrap()
                .encode_to_vec(),
            _ => continue,
        };
        assert_eq!(
            collector
                .post(
                    record["path"].as_str().unwrap(),
                    "application/x-protobuf",
                    &body
                )
                .0,
            200
        );
    }
    if wave == 0 {
        return;
    }
    // What a short capture lacks: commits, pull requests, an API error.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let point = |v: f64| {
        json!({"startTimeUnixNano": (now - 1_000_000_000).to_string(), "timeUnixNano": now.to_string(), "asDouble": v,
        "attributes": [{"key": "session.id", "value": {"stringValue": "extra"}}]})
    };
    let metrics = json!({"resourceMetrics": [{"resource": {"attributes": [{"key": "user.name", "value": {"stringValue": "Jane Doe"}}]},
        "scopeMetrics": [{"metrics": [
            {"name": "claude_code.commit.count", "sum": {"aggregationTemporality": 1, "isMonotonic": true, "dataPoints": [point(2.0)]}},
            {"name": "claude_code.pull_request.count", "sum": {"aggregationTemporality": 1, "isMonotonic": true, "dataPoints": [point(1.0)]}}]}]}]});
    assert_eq!(
        collector
            .post(
                "/v1/metrics",
                "application/json",
                metrics.to_string().as_bytes()
            )
            .0,
        200
    );
    let error = json!({"resourceLogs": [{"resource": {"attributes": [{"key": "user.name", "value": {"stringValue": "Jane Doe"}}]},
        "scopeLogs": [{"logRecords": [{"timeUnixNano": now.to_string(), "body": {"stringValue": "claude_code.api_error"},
            "attributes": [{"key": "event.name", "value": {"stringValue": "api_error"}}, {"key": "model", "value": {"stringValue": "claude-sonnet-4-5"}},
                {"key": "status_code", "value": {"stringValue": "529"}}, {"key": "session.id", "value": {"stringValue": "extra"}}]}]}]}]});
    assert_eq!(
        collector
            .post("/v1/logs", "application/json", error.to_string().as_bytes())
            .0,
        200
    );
}

/// Sets every OTLP `session.id` attribute in `body` to `session`.
fn set_session(body: &mut Value, session: &str) {
    match body {
        Value::Object(fields) => {
            if fields.get("key").and_then(Value::as_str) == Some("session.id") {
                fields.insert("value".to_owned(), json!({"stringValue": session}));
            }
            fields.values_mut().for_each(|v| set_session(v, session));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| set_session(v, session)),
        _ => {}
    }
}

/// Moves every OTLP timestamp in `body` forward by `offset_ns`.
fn shift_times(body: &mut Value, offset_ns: u64) {
    match body {
        Value::Object(fields) => {
            for (key, value) in fields.iter_mut() {
                match (
                    key.ends_with("UnixNano"),
                    value.as_str().and_then(|t| t.parse::<u64>().ok()),
                ) {
                    (true, Some(time)) => *value = json!((time + offset_ns).to_string()),
                    _ => shift_times(value, offset_ns),
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| shift_times(item, offset_ns)),
        _ => {}
    }
}

/// A shipped Prometheus configuration with the collector's address and 1 s scrapes, and
/// `extra` replacements (other targets) applied.
pub fn shipped_config(file: &str, collector: &Collector, extra: &[(&str, &str)]) -> String {
    let mut text = std::fs::read_to_string(repo().join("deploy/prometheus").join(file))
        .unwrap()
        .replace(
            "pushgateway:9091",
            collector.url.trim_start_matches("http://"),
        )
        .replace("scrape_interval: 15s", "scrape_interval: 1s")
        .replace("scrape_interval: 10s", "scrape_interval: 1s")
        .replace("scrape_interval: 5s", "scrape_interval: 1s");
    for (from, to) in extra {
        text = text.replace(from, to);
    }
    text
}

#[test]
fn every_panel_query_returns_data_from_prometheus_and_its_series_reach_victoriametrics() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start_with(&dir.path().join("data"), &[], BUDGETS);
    feed(&collector, dir.path(), 0);

    let vm_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut vm = Command::new("victoria-metrics")
        .arg(format!("-httpListenAddr=127.0.0.1:{vm_port}"))
        .arg(format!(
            "-storageDataPath={}",
            dir.path().join("vm").display()
        ))
        .arg("-search.latencyOffset=0s")
        .arg("-search.disableCache") // results are polled while remote write fills the store
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("victoria-metrics is needed (Debian package; scripts/test installs it)");
    let stderr = vm.stderr.take().unwrap();
    let (ready, wait) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("started server at") || line.contains("starting http server") {
                let _ = ready.send(());
            }
        }
    });
    wait.recv_timeout(Duration::from_secs(60))
        .expect("victoria-metrics started");
    let vm_url = format!("http://127.0.0.1:{vm_port}");

    // The shipped remote-write configuration, addresses rewritten to loopback.
    let config = shipped_config(
        "prometheus-remote-write.yml",
        &collector,
        &[("victoriametrics:8428", &format!("127.0.0.1:{vm_port}"))],
    );
    let prometheus = Prometheus::with_config(&config);
    prometheus.query_until("sum(claude_code_hook_events_total)", |r| !r.is_empty());
    feed(&collector, dir.path(), 1);
    prometheus.query_until("sum(claude_code_prompts_total)", |r| {
        r.first().and_then(|s| s["value"][1].as_str()) == Some("4")
    });

    let all = queries();
    assert!(all.len() >= 30, "{}", all.len());
    for (panel, expr) in &all {
        // Every panel shows numbers from Prometheus, and the long-term store answers
        // the same query with the same series (values may differ in the last digits, as
        // VictoriaMetrics' `increase` does not extrapolate).
        let wanted = series(&prometheus.query_until(expr, finite));
        let got = query_until(&vm_url, expr, |r| series(r) == wanted);
        assert_eq!(series(&got), wanted, "{panel}: {expr}");
    }
    let _ = vm.kill();
    let _ = vm.wait();
}

/// Budgets of everyone, of Jane (spent beyond), of Bob (zero) and of a project.
const BUDGETS: &[(&str, &str)] = &[
    ("CLAUDE_TELEMETRY_MONTHLY_BUDGET_USD", "2500"),
    (
        "CLAUDE_TELEMETRY_USER_MONTHLY_BUDGETS_USD",
        "Jane Doe=0.01,Bob Roe=0",
    ),
    (
        "CLAUDE_TELEMETRY_PROJECT_MONTHLY_BUDGETS_USD",
        "acme/api=1200",
    ),
];

#[test]
fn the_budget_panels_show_each_budget_as_the_collector_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start_with(&dir.path().join("data"), &[], BUDGETS);
    feed(&collector, dir.path(), 0);
    feed(&collector, dir.path(), 1);
    let prometheus = Prometheus::with_config(&shipped_config("prometheus.yml", &collector, &[]));
    let (status, body) = collector.get("/api/v1/budget");
    assert_eq!(status, 200, "{body}");
    let budget: Value = serde_json::from_str(&body).unwrap();
    let lines = budget["budgets"].as_array().unwrap();
    let name = |line: &Value| match line["scope"].as_str().unwrap() {
        "everyone" => "everyone".to_owned(),
        scope => format!("{scope} {}", line["name"].as_str().unwrap()),
    };
    // The panels' queries as Grafana sends them with `user` and `project` chosen.
    let targets = |title: &str, user: &str, project: &str| -> Vec<String> {
        let (_, dashboard) = dashboards()
            .into_iter()
            .find(|(file, _)| file == "claude-code-overview.json")
            .unwrap();
        let panel = dashboard["panels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["title"] == title)
            .unwrap_or_else(|| panic!("no panel {title}"))
            .clone();
        panel["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                t["expr"]
                    .as_str()
                    .unwrap()
                    .replace("$user", user)
                    .replace("$project", project)
            })
            .collect()
    };
    let by_budget = |expr: &str, count: usize| {
        values_by(
            &prometheus.query_until(expr, |r| finite(r) && r.len() == count),
            "budget",
        )
    };

    // In dollars: every budget, the month to date as the collector's API has it.
    let dollars = targets("Budgets in dollars", ".*", ".*");
    let spent = by_budget(&dollars[0], lines.len());
    let budgets = by_budget(&dollars[2], lines.len());
    for line in lines {
        let name = name(line);
        assert_eq!(
            budgets[&name],
            line["budget_usd"].as_f64().unwrap(),
            "{name}"
        );
        assert!(
            (spent[&name] - line["month_to_date_usd"].as_f64().unwrap()).abs() < 1e-9,
            "{name}: {spent:?} {budget}"
        );
    }
    assert_eq!(by_budget(&dollars[1], lines.len()).len(), lines.len());

    // As shares: every budget above zero (Bob's of zero has no share).
    let shares = targets("Budgets: month to date and projection", ".*", ".*");
    let spent_share = by_budget(&shares[0], lines.len() - 1);
    assert!(!spent_share.contains_key("user Bob Roe"), "{spent_share:?}");
    for line in lines
        .iter()
        .filter(|l| l["budget_usd"].as_f64() > Some(0.0))
    {
        let name = name(line);
        let want = line["spent_share"].as_f64().unwrap();
        assert!(
            (spent_share[&name] - want).abs() <= 1e-9 * want.max(1.0),
            "{name}: {spent_share:?} {budget}"
        );
    }
    assert!(spent_share["user Jane Doe"] > 1.0, "Jane spent beyond hers");

    // Narrowed to Jane: her budget alone; to a project: that project's alone.
    let janes = by_budget(
        &targets("Budgets: month to date and projection", "Jane Doe", ".*")[0],
        1,
    );
    assert_eq!(janes.keys().collect::<Vec<_>>(), ["user Jane Doe"]);
    let projects = by_budget(&targets("Budgets in dollars", ".*", "acme/api")[2], 1);
    assert_eq!(projects, [("project acme/api".to_owned(), 1200.0)].into());
}

/// Data, and no NaN from a division by nothing.
fn finite(result: &[Value]) -> bool {
    !result.is_empty()
        && result.iter().all(|s| {
            s["value"][1]
                .as_str()
                .and_then(|v| v.parse::<f64>().ok())
                .is_some_and(f64::is_finite)
        })
}

/// The label sets of a query result, the part two stores must agree on exactly.
fn series(result: &[Value]) -> BTreeSet<String> {
    result.iter().map(|s| s["metric"].to_string()).collect()
}

/// Each metric selector in a query (`name{matchers}`), with its matchers.
fn selectors(expr: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = expr;
    while let Some(open) = rest.find('{') {
        let name_start = rest[..open]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .map_or(0, |i| i + 1);
        let name = rest[name_start..open].to_owned();
        let close = open + rest[open..].find('}').unwrap();
        if !name.is_empty() {
            out.push((name, rest[open + 1..close].to_owned()));
        }
        rest = &rest[close + 1..];
    }
    out
}

#[test]
fn every_variable_filters_every_panel_whose_series_carry_its_label() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start_with(&dir.path().join("data"), &[], BUDGETS);
    feed(&collector, dir.path(), 0);
    let prometheus = Prometheus::with_config(&shipped_config("prometheus.yml", &collector, &[]));
    prometheus.query_until("sum(claude_code_prompts_total)", |r| !r.is_empty());
    feed(&collector, dir.path(), 1);
    prometheus.query_until("sum(claude_code_prompts_total)", |r| {
        r.first().and_then(|s| s["value"][1].as_str()) == Some("4")
    });
    let variables = [
        ("user", "user_name"),
        ("project", "project"),
        ("model", "model"),
    ];
    let mut carried: std::collections::BTreeMap<(String, &str), bool> = Default::default();
    let mut checked = 0;
    for (file, dashboard) in dashboards() {
        for panel in dashboard["panels"].as_array().unwrap() {
            let title = panel["title"].as_str().unwrap();
            for target in panel["targets"].as_array().unwrap() {
                let expr = target["expr"].as_str().unwrap();
                for (metric, matchers) in selectors(expr) {
                    for (variable, label) in variables {
                        // Whether the real series of this metric carry the label.
                        let carries =
                            *carried.entry((metric.clone(), label)).or_insert_with(|| {
                                let query = format!(
                                    "count({{__name__=\"{metric}\",{label}!=\"\"}}) or vector(0)"
                                );
                                let result = prometheus.query_until(&query, |r| !r.is_empty());
                                result[0]["value"][1].as_str() != Some("0")
                            });
                        let filters = matchers.contains(&format!("{label}=~\"${variable}\""));
                        assert!(
                            filters || !carries,
                            "{file} / {title}: {metric} carries {label}, but ${variable} does not filter it: {expr}"
                        );
                        checked += usize::from(carries);
                    }
                }
            }
        }
    }
    for (metric, label) in [
        ("claude_code_cost_usage_USD_total", "project"),
        ("claude_code_api_requests_total", "project"),
        ("claude_code_tool_calls_total", "model"),
    ] {
        assert!(
            carried[&(metric.to_owned(), label)],
            "{metric} has no {label}"
        );
    }
    assert!(checked > 60, "{checked}");
}

/// The query of the panel titled `title`, variables substituted as in [`queries`].
fn panel_query(title: &str) -> String {
    let suffix = format!(" / {title}");
    let found: Vec<String> = queries()
        .into_iter()
        .filter(|(panel, _)| panel.ends_with(&suffix))
        .map(|(_, expr)| expr)
        .collect();
    assert!(!found.is_empty(), "no panel titled {title}");
    found.join("\n")
}

/// Each series' value in a query result, by the value of `label` (`""` without it).
fn values_by(result: &[Value], label: &str) -> BTreeMap<String, f64> {
    result
        .iter()
        .map(|s| {
            (
                s["metric"][label].as_str().unwrap_or_default().to_owned(),
                s["value"][1].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn the_adoption_cost_and_failure_rate_panels_answer_what_the_sessions_hold() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&dir.path().join("data"));
    feed(&collector, dir.path(), 0);
    let prometheus = Prometheus::with_config(&shipped_config("prometheus.yml", &collector, &[]));
    prometheus.query_until("sum(claude_code_prompts_total)", |r| !r.is_empty());
    feed(&collector, dir.path(), 1);
    prometheus.query_until("sum(claude_code_prompts_total)", |r| {
        r.first().and_then(|s| s["value"][1].as_str()) == Some("4")
    });
    let near = |got: f64, want: f64| (got - want).abs() <= want.abs() * 0.1;
    // A panel's series by `label`, once they are what `holds` wants: Prometheus
    // extrapolates `increase` to the window's end, by as much as a scrape interval in
    // series seconds old, so the figures settle as scrapes accumulate (within its
    // ±10 %); the poll has a deadline and fails with the last answer.
    let settled = |title: &str, label: &str, holds: &dyn Fn(&BTreeMap<String, f64>) -> bool| {
        let expr = panel_query(title);
        values_by(
            &prometheus.query_until(&expr, |r| finite(r) && holds(&values_by(r, label))),
            label,
        )
    };

    // Jane and Bob both prompted today, so both are daily and weekly active users.
    let adoption = panel_query("Daily and weekly active users");
    let (daily, weekly) = adoption.split_once('\n').unwrap();
    for expr in [daily, weekly] {
        let users = prometheus.query_until(expr, finite);
        assert_eq!(
            values_by(&users, ""),
            [(String::new(), 2.0)].into(),
            "{expr}"
        );
    }

    // Each user ran Bash twice (one failure) and Read once per wave; the denied Bash
    // call did not run, so Bash fails half of its calls and Read none.
    let rate = settled("Tool failure rate by tool", "tool", &|rate| {
        rate.keys().eq(["Bash", "Read"]) && near(rate["Bash"], 0.5) && rate["Read"] == 0.0
    });
    assert_eq!(rate.len(), 2, "{rate:?}");
    settled("Tool failure rate over time", "tool", &|rate| {
        rate.values().all(|r| (0.0..=1.0).contains(r))
    });

    // Claude Code's usage is Jane's session's: the day's cost is hers alone, and her cost
    // per session is her cost over the sessions she started.
    // The truth is the collector's own /metrics (read as a person, every series at its
    // value at once), not Prometheus', which sees a new series at zero first.
    let metrics = crate::support::collector::parse_metrics(&collector.metrics());
    let janes = |metric: &str| -> f64 {
        metrics
            .iter()
            .filter(|(series, _)| {
                series.starts_with(&format!("{metric}{{"))
                    && series.contains("user_name=\"Jane Doe\"")
            })
            .map(|(_, value)| value)
            .sum()
    };
    let cost = janes("claude_code_cost_usage_USD_total");
    let sessions = janes("claude_code_sessions_started_total");
    assert!(cost > 0.0 && sessions >= 2.0, "{cost} {sessions}");
    settled("Cost per user per day", "user_name", &|per_day| {
        per_day.keys().eq(["Jane Doe"]) && near(per_day["Jane Doe"], cost)
    });
    settled("Cost per session by user", "user_name", &|per_session| {
        per_session.keys().eq(["Jane Doe"]) && near(per_session["Jane Doe"], cost / sessions)
    });
}
