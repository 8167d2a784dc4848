//! The Grafana dashboards: their structure, and every panel's query answered by a real
//! Prometheus (and by VictoriaMetrics through remote write) scraping the real collector
//! fed with realistic sessions.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use prost::Message;
use serde_json::{Value, json};

use crate::prometheus::Prometheus;
use crate::support::collector::{Collector, request};
use crate::support::{Run, sample};

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

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

/// Realistic data in two waves, so that increases over the scrape interval are real.
fn feed(collector: &Collector, dir: &std::path::Path, wave: u32) {
    let hook = |event: &Value, user: &str| {
        let output = Run::new(&["hook"], dir)
            .env("CLAUDE_TELEMETRY_URL", &collector.url)
            .env("CLAUDE_TELEMETRY_STATE_DIR", dir.join("state"))
            .env("USER_NAME", user)
            .env("HOME", "/home/dev")
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .stdin(event.to_string());
        assert_eq!(output.status.code(), Some(0));
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
            hook(&event, user);
        }
        let mut denied = sample("PreToolUse:Bash");
        denied["session_id"] = json!(format!("{user}-{wave}"));
        denied["tool_input"]["command"] = json!(if wave == 0 { "rm -rf ~" } else { "cat .env" });
        hook(&denied, user);
    }
    if wave == 0 {
        return;
    }
    // Claude Code's own exports, as captured, in protobuf.
    for line in include_str!("data/otlp_protobuf_decoded.jsonl").lines() {
        let record: Value = serde_json::from_str(line).unwrap();
        let body = match record["path"].as_str().unwrap() {
            "/v1/metrics" => collector::otlp::json::metrics_request(&record["body"])
                .unwrap()
                .encode_to_vec(),
            "/v1/logs" => collector::otlp::json::logs_request(&record["body"])
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

fn shipped_config(file: &str, collector: &Collector, extra: &[(&str, &str)]) -> String {
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
    let collector = Collector::start(&dir.path().join("data"));
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
        let result = prometheus.query_until(expr, |r| !r.is_empty());
        assert!(!result.is_empty(), "{panel}: {expr}");
    }
    // The long-term store must hold every series the dashboards read, and accept every
    // query. (Its `increase` does not extrapolate like Prometheus's, so a ratio over a
    // few seconds of samples may legitimately be empty there; the names are what
    // remote write is responsible for.)
    let names: BTreeSet<String> = all
        .iter()
        .flat_map(|(_, expr)| metric_names(expr))
        .collect();
    assert!(names.len() >= 10, "{names:?}");
    let deadline = Instant::now() + Duration::from_secs(60);
    for name in &names {
        let url = format!(
            "{vm_url}/api/v1/query?query={}",
            encode(&format!("count({{__name__=\"{name}\"}})"))
        );
        loop {
            let (status, body) = request("GET", &url, None, &[]);
            let found = serde_json::from_str::<Value>(&body)
                .ok()
                .and_then(|v| v["data"]["result"].as_array().map(|r| !r.is_empty()))
                .unwrap_or(false);
            if status == 200 && found {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "VictoriaMetrics never received {name}: {body}"
            );
            std::thread::sleep(Duration::from_millis(500)); // waiting for remote write, bounded
        }
    }
    for (panel, expr) in &all {
        let (status, body) = request(
            "GET",
            &format!("{vm_url}/api/v1/query?query={}", encode(expr)),
            None,
            &[],
        );
        assert!(
            status == 200 && body.contains("\"success\""),
            "VictoriaMetrics rejected {panel}: {expr}: {body}"
        );
    }
    let _ = vm.kill();
    let _ = vm.wait();
}

/// Series names an expression reads: ours and Claude Code's, plus recording rules.
fn metric_names(expr: &str) -> Vec<String> {
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|word| word.starts_with("claude_code") || word.starts_with("claude_telemetry"))
        .map(str::to_owned)
        .collect()
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
