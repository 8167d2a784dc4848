//! A real Prometheus scrapes the real collector; PromQL sees the expected numbers.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::collector::{Collector, request};
use crate::support::{Run, sample};

/// A Prometheus process on a free port, scraping `target` every second.
pub struct Prometheus {
    child: Child,
    pub url: String,
    launch: Launch,
    _dir: tempfile::TempDir,
}

/// How a Prometheus was started, to start it again the same way (same port, same data).
struct Launch {
    config: std::path::PathBuf,
    data: std::path::PathBuf,
    token_file: std::path::PathBuf,
    token: Option<String>,
    port: u16,
}

impl Launch {
    fn spawn(&self) -> Child {
        let mut launcher = Command::new("sh");
        launcher
            .arg(crate::support::repo().join("deploy/prometheus/with-token.sh"))
            .arg("prometheus")
            .env("CLAUDE_TELEMETRY_TOKEN_FILE", &self.token_file)
            .env_remove("CLAUDE_TELEMETRY_TOKEN");
        if let Some(token) = &self.token {
            launcher.env("CLAUDE_TELEMETRY_TOKEN", token);
        }
        let mut child = launcher
            .arg(format!("--config.file={}", self.config.display()))
            .arg(format!("--storage.tsdb.path={}", self.data.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{}", self.port))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("prometheus is needed (Debian package `prometheus`; scripts/test installs it)");
        // Ready once it says so; no fixed sleep.
        let stderr = child.stderr.take().unwrap();
        let (ready, wait) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("Server is ready to receive web requests") {
                    let _ = ready.send(());
                }
            }
        });
        wait.recv_timeout(Duration::from_secs(60))
            .expect("prometheus became ready");
        child
    }
}

impl Prometheus {
    pub fn scraping(target: &str) -> Prometheus {
        Prometheus::with_config(&format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: collector\n    honor_labels: true\n    static_configs:\n      - targets: ['{target}']\n"
        ))
    }

    pub fn with_config(yaml: &str) -> Prometheus {
        Prometheus::with_token(yaml, None)
    }

    /// Started as the stack starts it: through `deploy/prometheus/with-token.sh`, which
    /// writes the collector's token (`token`, or nothing) where the shipped config reads it.
    pub fn with_token(yaml: &str, token: Option<&str>) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        // As in the stack: the config's `secrets/token` is beside it, written at start.
        let token_file = dir.path().join("secrets/token");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(&config, yaml).unwrap();
        let launch = Launch {
            config,
            data: dir.path().join("data"),
            token_file,
            token: token.map(str::to_owned),
            port,
        };
        Prometheus {
            child: launch.spawn(),
            url: format!("http://127.0.0.1:{port}"),
            launch,
            _dir: dir,
        }
    }

    /// Stops it (SIGTERM, as a container stop does), runs `meanwhile`, and starts it
    /// again with the same configuration and data.
    pub fn restart_after(&mut self, meanwhile: impl FnOnce()) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        meanwhile();
        self.child = self.launch.spawn();
    }

    /// Polls an instant query until `accept` takes its result, or fails after a deadline.
    pub fn query_until(&self, promql: &str, accept: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        query_until(&self.url, promql, accept)
    }
}

/// Polls an instant query against any Prometheus-compatible API (Prometheus itself,
/// VictoriaMetrics) until `accept` takes its result, or fails after a deadline.
pub fn query_until(base_url: &str, promql: &str, accept: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let url = format!("{base_url}/api/v1/query?query={}", encode(promql));
    loop {
        let (status, body) = request("GET", &url, None, &[]);
        let result = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v["data"]["result"].as_array().cloned())
            .unwrap_or_default();
        if status == 200 && accept(&result) {
            return result;
        }
        assert!(
            Instant::now() < deadline,
            "{base_url}: {promql}: never accepted, last {body}"
        );
        std::thread::sleep(Duration::from_millis(250)); // waiting for the next scrape or write, bounded
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Percent-encodes everything but unreserved characters (a query value, a path segment).
pub fn encode(text: &str) -> String {
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

fn scalar(result: &[Value]) -> f64 {
    result
        .first()
        .and_then(|r| r["value"][1].as_str())
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

#[test]
fn prometheus_scrapes_the_collector_and_promql_returns_the_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&dir.path().join("data"));
    for (user, prompts) in [("alice", 3), ("bob", 2)] {
        for _ in 0..prompts {
            let output = Run::new(&["hook"], dir.path())
                .env("CLAUDE_TELEMETRY_URL", &collector.url)
                .env("CLAUDE_TELEMETRY_STATE_DIR", dir.path().join("state"))
                .env("USER_NAME", user)
                .stdin(sample("UserPromptSubmit").to_string());
            assert_eq!(output.status.code(), Some(0));
        }
    }
    let mut denied = sample("PreToolUse:Bash");
    denied["tool_input"] = json!({"command": "rm -rf /"});
    Run::new(&["hook"], dir.path())
        .env("CLAUDE_TELEMETRY_URL", &collector.url)
        .env("CLAUDE_TELEMETRY_STATE_DIR", dir.path().join("state"))
        .env("USER_NAME", "alice")
        .stdin(denied.to_string());

    let prometheus = Prometheus::scraping(collector.url.trim_start_matches("http://"));
    let total = prometheus.query_until("sum(claude_code_prompts_total)", |r| scalar(r) == 5.0);
    assert_eq!(scalar(&total), 5.0);
    let by_user = prometheus.query_until("sum by (user_name) (claude_code_prompts_total)", |r| {
        r.len() == 2
    });
    for series in by_user {
        let expected = if series["metric"]["user_name"] == "alice" {
            3.0
        } else {
            2.0
        };
        assert_eq!(
            series["value"][1].as_str().unwrap().parse::<f64>().unwrap(),
            expected
        );
    }
    let blocks = prometheus.query_until("sum by (rule) (claude_code_security_blocks_total)", |r| {
        !r.is_empty()
    });
    assert_eq!(blocks[0]["metric"]["rule"], "rm.system_dir");
    assert_eq!(scalar(&blocks), 1.0);
    let up = prometheus.query_until("up{job=\"collector\"}", |r| scalar(r) == 1.0);
    assert_eq!(scalar(&up), 1.0);
}

#[test]
fn the_shipped_config_gives_the_direct_mode_canonical_names() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&dir.path().join("data"));
    let exporter = testkit::Static::serving(
        include_str!("data/claude_code_prometheus_exporter.txt"),
        "text/plain; version=0.0.4",
    );
    // The shipped configuration, only the addresses rewritten to loopback and the
    // intervals shortened.
    let shipped = include_str!("../../../deploy/prometheus/prometheus.yml")
        .replace(
            "pushgateway:9091",
            collector.url.trim_start_matches("http://"),
        )
        .replace("claude-code:9464", &exporter.address())
        .replace("scrape_interval: 15s", "scrape_interval: 1s")
        .replace("scrape_interval: 10s", "scrape_interval: 1s")
        .replace("scrape_interval: 5s", "scrape_interval: 1s");
    let prometheus = Prometheus::with_config(&shipped);
    let cost = prometheus.query_until(
        "sum(claude_code_cost_usage_USD_total{job=\"claude-code\"})",
        |r| !r.is_empty(),
    );
    assert!(
        (scalar(&cost) - 0.04180949999999999).abs() < 1e-12,
        "{cost:?}"
    );
    let input = prometheus.query_until(
        "sum(claude_code_token_usage_tokens_total{type=\"input\"})",
        |r| !r.is_empty(),
    );
    assert_eq!(scalar(&input), 7350.0);
    let old = prometheus.query_until("count(claude_code_cost_usage_total) or vector(0)", |r| {
        !r.is_empty()
    });
    assert_eq!(scalar(&old), 0.0, "the unit-less name is gone");
    let up = prometheus.query_until("sum(up{job=\"claude-telemetry\"})", |r| scalar(r) == 1.0);
    assert_eq!(scalar(&up), 1.0, "the collector is scraped too");
}

/// Claude Code's cost for `session`, as its OTLP exporter sends it: a delta, with only the
/// anonymous user id in the resource (the collector joins the session's user and project).
fn cost_export(session: &str, usd: f64, at_ns: u128) -> String {
    json!({"resourceMetrics": [{"resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": "claude-code"}}]},
        "scopeMetrics": [{"metrics": [{"name": "claude_code.cost.usage", "unit": "USD",
            "sum": {"aggregationTemporality": 1, "isMonotonic": true, "dataPoints": [{
                "startTimeUnixNano": (at_ns - 1_000_000_000).to_string(),
                "timeUnixNano": at_ns.to_string(), "asDouble": usd,
                "attributes": [
                    {"key": "user.id", "value": {"stringValue": "anonymous-id"}},
                    {"key": "session.id", "value": {"stringValue": session}},
                    {"key": "model", "value": {"stringValue": "claude-sonnet-4-5"}}]}]}}]}]}]})
    .to_string()
}

/// One wave of a new user's work in a new project: 5 prompts, 2 calls denied by `rule`'s
/// command, $0.75 in two exports; what Prometheus must find.
struct Wave {
    user: String,
    project: String,
    rule: &'static str,
}

fn work(
    collector: &Collector,
    dir: &std::path::Path,
    n: usize,
    command: &str,
    rule: &'static str,
) -> Wave {
    let wave = Wave {
        user: format!("newcomer-{n}"),
        project: format!("project-{n}"),
        rule,
    };
    let session = format!("session-{n}");
    let cwd = format!("/home/dev/{}", wave.project);
    let mut events = vec![sample("SessionStart")];
    events.extend((0..5).map(|_| sample("UserPromptSubmit")));
    for _ in 0..2 {
        let mut denied = sample("PreToolUse:Bash");
        denied["tool_input"]["command"] = json!(command);
        events.push(denied);
    }
    for mut event in events {
        event["session_id"] = json!(session);
        event["cwd"] = json!(cwd);
        collector.hook(dir, &wave.user, &event);
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    for (i, usd) in [0.25, 0.5].into_iter().enumerate() {
        let body = cost_export(&session, usd, now + i as u128 * 1_000_000_000);
        assert_eq!(
            collector
                .post("/v1/metrics", "application/json", body.as_bytes())
                .0,
            200
        );
    }
    wave
}

/// Within Prometheus' extrapolation of `increase()` (±10 %).
fn close_to(expected: f64) -> impl Fn(&[Value]) -> bool {
    move |r: &[Value]| (scalar(r) - expected).abs() <= expected * 0.1
}

#[test]
fn new_series_count_from_their_first_event_for_every_scraper_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let collector = Collector::start(&data);
    let address = collector.url.trim_start_matches("http://").to_owned();
    // Two Prometheus servers on one host, told apart by a scrape parameter.
    let config = |name: &str| {
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: collector\n    honor_labels: true\n    params:\n      scraper: [{name}]\n    static_configs:\n      - targets: ['{address}']\n"
        )
    };
    let mut a = Prometheus::with_config(&config("a"));
    let b = Prometheus::with_config(&config("b"));
    for prometheus in [&a, &b] {
        prometheus.query_until("up{job=\"collector\"}", |r| scalar(r) == 1.0);
    }
    let mut waves = vec![work(&collector, dir.path(), 1, "rm -rf ~", "rm.home")];
    // Series born while a Prometheus is down count once it is back.
    a.restart_after(|| waves.push(work(&collector, dir.path(), 2, "rm -rf /", "rm.system_dir")));
    for prometheus in [&a, &b] {
        for wave in &waves {
            counted(prometheus, wave);
        }
    }
    // Series born after the collector restarts count, and those born before count once.
    collector.stop();
    let collector = Collector::start_with(&data, &["--listen", &address], &[]);
    waves.push(work(&collector, dir.path(), 3, "cat .env", "env.read"));
    for prometheus in [&a, &b] {
        for wave in &waves {
            counted(prometheus, wave);
        }
    }
}

/// Prometheus' `increase()` over the last hour finds the wave's prompts, blocks, cost
/// and session, by user, project and rule.
fn counted(prometheus: &Prometheus, wave: &Wave) {
    let (user, project, rule) = (&wave.user, &wave.project, wave.rule);
    prometheus.query_until(
        &format!("sum(increase(claude_code_prompts_total{{user_name=\"{user}\",project=\"{project}\"}}[1h]))"),
        close_to(5.0),
    );
    prometheus.query_until(
        &format!("sum(increase(claude_code_security_blocks_total{{user_name=\"{user}\",rule=\"{rule}\"}}[1h]))"),
        close_to(2.0),
    );
    prometheus.query_until(
        &format!("sum(increase(claude_code_cost_usage_USD_total{{user_name=\"{user}\",project=\"{project}\"}}[1h]))"),
        close_to(0.75),
    );
    prometheus.query_until(
        &format!("sum(increase(claude_code_sessions_started_total{{project=\"{project}\"}}[1h]))"),
        close_to(1.0),
    );
}

#[test]
fn the_shipped_config_scrapes_a_collector_with_a_token_through_with_token_sh() {
    let dir = tempfile::tempdir().unwrap();
    let token = "a-stack-token-0123456789";
    let collector = Collector::start_with(
        &dir.path().join("data"),
        &[],
        &[("CLAUDE_TELEMETRY_TOKEN", token)],
    );
    collector.hook(dir.path(), "Jane Doe", &sample("UserPromptSubmit"));
    let shipped = crate::dashboards::shipped_config("prometheus.yml", &collector, &[]);
    let with = Prometheus::with_token(&shipped, Some(token));
    with.query_until("sum(up{job=\"claude-telemetry\"})", |r| scalar(r) == 1.0);
    with.query_until(
        "sum(claude_code_prompts_total{job=\"claude-telemetry\"})",
        |r| scalar(r) == 1.0,
    );
    // Without it the collector refuses the scrape: the token is what opened it.
    let without = Prometheus::with_token(&shipped, None);
    without.query_until("sum(up{job=\"claude-telemetry\"})", |r| scalar(r) == 0.0);
}
