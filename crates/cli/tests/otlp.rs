//! Claude Code's own telemetry into the real collector over OTLP/HTTP.

use std::collections::BTreeMap;
use std::io::Write;

use prost::Message;
use serde_json::{Value, json};

use crate::support::collector::{Collector, announce_oversized, parse_metrics, request};
use crate::support::{Run, sample};

/// Captured exports: (path, content type, body as OTLP JSON).
fn captures(file: &str) -> Vec<(String, Value)> {
    let text = match file {
        "json" => include_str!("data/otlp_http_json_v2.1.330.jsonl"),
        "2.1.332" => include_str!("data/otlp_traces_v2.1.332.jsonl"),
        _ => include_str!("data/otlp_protobuf_decoded.jsonl"),
    };
    text.lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|r| r["path"] != "/v1/traces")
        .map(|r| (r["path"].as_str().unwrap().to_owned(), r["body"].clone()))
        .collect()
}

/// The protobuf bytes of a captured export (the capture stores their OTLP-JSON form).
fn protobuf(path: &str, body: &Value) -> Vec<u8> {
    if path == "/v1/metrics" {
        collector::processors::otlp::json::metrics_request(body)
            .unwrap()
            .encode_to_vec()
    } else {
        collector::processors::otlp::json::logs_request(body)
            .unwrap()
            .encode_to_vec()
    }
}

fn post(collector: &Collector, path: &str, content_type: &str, body: &[u8]) -> (u16, String) {
    collector.post(path, content_type, body)
}

/// Sum of every data point of metric `name` in the captures, computed from the raw JSON.
fn captured_sum(exports: &[(String, Value)], name: &str, filter: &dyn Fn(&Value) -> bool) -> f64 {
    let mut total = 0.0;
    for (path, body) in exports {
        if path != "/v1/metrics" {
            continue;
        }
        for rm in body["resourceMetrics"].as_array().unwrap() {
            for sm in rm["scopeMetrics"].as_array().unwrap() {
                for m in sm["metrics"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|m| m["name"] == name)
                {
                    for p in m["sum"]["dataPoints"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(|p| filter(p))
                    {
                        total += p["asDouble"]
                            .as_f64()
                            .or_else(|| p["asInt"].as_str().and_then(|s| s.parse().ok()))
                            .unwrap();
                    }
                }
            }
        }
    }
    total
}

fn attr<'a>(point: &'a Value, key: &str) -> Option<&'a str> {
    point["attributes"]
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)?["value"]["stringValue"]
        .as_str()
}

fn family_sum(metrics: &BTreeMap<String, f64>, name: &str, needle: &str) -> f64 {
    metrics
        .iter()
        .filter(|(k, _)| k.starts_with(&format!("{name}{{")) && k.contains(needle))
        .map(|(_, v)| v)
        .sum()
}

#[test]
fn captured_exports_give_the_same_cost_and_tokens_in_both_encodings() {
    let dir = tempfile::tempdir().unwrap();
    let exports = captures("protobuf");
    assert!(exports.len() >= 10);
    let as_json = Collector::start(&dir.path().join("json"));
    let as_protobuf = Collector::start(&dir.path().join("protobuf"));
    for (path, body) in &exports {
        let (status, answer) = post(
            &as_json,
            path,
            "application/json",
            body.to_string().as_bytes(),
        );
        assert_eq!(status, 200, "{path}: {answer}");
        assert_eq!(answer, "{}", "{path}: nothing refused");
        let (status, _) = post(
            &as_protobuf,
            path,
            "application/x-protobuf",
            &protobuf(path, body),
        );
        assert_eq!(status, 200, "{path}");
    }
    let json_metrics = parse_metrics(&as_json.metrics());
    let protobuf_metrics = parse_metrics(&as_protobuf.metrics());
    let claude: BTreeMap<_, _> = json_metrics
        .iter()
        .filter(|(k, _)| k.starts_with("claude_code_"))
        .collect();
    assert!(claude.len() > 10, "{claude:#?}");
    for (series, value) in &claude {
        assert_eq!(protobuf_metrics.get(*series), Some(*value), "{series}");
    }

    let cost = captured_sum(&exports, "claude_code.cost.usage", &|_| true);
    assert!(cost > 0.0);
    assert!(
        (family_sum(&json_metrics, "claude_code_cost_usage_USD_total", "") - cost).abs() < 1e-12,
        "cost"
    );
    for kind in ["input", "output", "cacheRead", "cacheCreation"] {
        let expected = captured_sum(&exports, "claude_code.token.usage", &|p| {
            attr(p, "type") == Some(kind)
        });
        let got = family_sum(
            &json_metrics,
            "claude_code_token_usage_tokens_total",
            &format!("type=\"{kind}\""),
        );
        assert_eq!(got, expected, "{kind} tokens");
    }
    assert_eq!(
        family_sum(&json_metrics, "claude_code_session_count_total", ""),
        captured_sum(&exports, "claude_code.session.count", &|_| true)
    );
    assert!(
        json_metrics
            .keys()
            .any(|k| k.starts_with("claude_code_active_time_seconds_total{"))
    );
    assert!(
        json_metrics
            .keys()
            .any(|k| k.starts_with("claude_code_lines_of_code_count_total{"))
    );
    assert!(
        !json_metrics.keys().any(|k| k.contains("session_id")),
        "session.id is not a label"
    );
    assert!(
        json_metrics
            .keys()
            .any(|k| k.starts_with("target_info{") && k.contains("job=\"claude-code\""))
    );

    // Log events feed the derived metrics.
    let api_requests: usize = exports
        .iter()
        .filter(|(p, _)| p == "/v1/logs")
        .map(|(_, b)| b.to_string().matches("\"claude_code.api_request\"").count())
        .sum();
    assert!(api_requests > 0);
    assert_eq!(
        family_sum(
            &json_metrics,
            "claude_code_api_requests_total",
            "model=\"claude-sonnet-4-5\""
        ) as usize,
        api_requests
    );
    assert!(
        family_sum(
            &json_metrics,
            "claude_code_tool_results_total",
            "tool=\"Bash\""
        ) > 0.0
    );
    assert!(
        family_sum(
            &json_metrics,
            "claude_code_tool_decisions_total",
            "decision=\"accept\""
        ) > 0.0
    );
    assert!(json_metrics.contains_key("claude_code_api_request_duration_seconds_count{user_name=\"\",user_email=\"\",project=\"\",model=\"claude-sonnet-4-5\"}"));

    // promtool is content with the result.
    let file = dir.path().join("m.txt");
    std::fs::write(&file, as_json.metrics()).unwrap();
    let output = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&file).unwrap())
        .output()
        .unwrap();
    assert!(
        output.status.success() && output.stdout.is_empty() && output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_json_capture_from_claude_code_2_1_330_is_understood() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&dir.path().join("data"));
    let exports = captures("json");
    for (path, body) in &exports {
        let (status, answer) = post(
            &collector,
            path,
            "application/json",
            body.to_string().as_bytes(),
        );
        assert_eq!((status, answer.as_str()), (200, "{}"), "{path}");
    }
    let metrics = parse_metrics(&collector.metrics());
    assert_eq!(
        family_sum(&metrics, "claude_code_cost_usage_USD_total", ""),
        captured_sum(&exports, "claude_code.cost.usage", &|_| true)
    );
}

/// The value of attribute `key` of every log record named `event` in the captures.
fn log_attribute(exports: &[(String, Value)], event: &str, key: &str) -> Vec<Value> {
    let mut found = Vec::new();
    for (_, body) in exports.iter().filter(|(path, _)| path == "/v1/logs") {
        for rl in body["resourceLogs"].as_array().unwrap() {
            for sl in rl["scopeLogs"].as_array().unwrap() {
                for record in sl["logRecords"].as_array().unwrap() {
                    let attributes = record["attributes"].as_array().unwrap();
                    let get = |name: &str| {
                        attributes
                            .iter()
                            .find(|a| a["key"] == name)
                            .and_then(|a| a["value"].as_object()?.values().next().cloned())
                    };
                    if get("event.name").as_ref().and_then(Value::as_str) == Some(event) {
                        found.extend(get(key));
                    }
                }
            }
        }
    }
    found
}

fn number(value: &Value) -> f64 {
    value
        .as_f64()
        .or_else(|| value.as_str()?.parse().ok())
        .unwrap()
}

#[test]
fn todays_events_and_attributes_from_claude_code_2_1_332_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&dir.path().join("data"));
    // Both sessions: one sent http/json, one http/protobuf (kept in its OTLP-JSON form).
    let exports = captures("2.1.332");
    assert!(exports.len() >= 30);
    for (path, body) in &exports {
        let (status, answer) = post(
            &collector,
            path,
            "application/json",
            body.to_string().as_bytes(),
        );
        assert_eq!((status, answer.as_str()), (200, "{}"), "{path}");
    }
    let metrics = parse_metrics(&collector.metrics());
    let model = "model=\"claude-sonnet-4-5\"";

    // Time to first token: one observation per API request.
    let ttft = log_attribute(&exports, "api_request", "ttft_ms");
    assert_eq!(ttft.len(), 18);
    assert_eq!(
        family_sum(
            &metrics,
            "claude_code_api_time_to_first_token_seconds_count",
            model
        ),
        ttft.len() as f64
    );
    let seconds: f64 = ttft.iter().map(number).sum::<f64>() / 1000.0;
    assert!(
        (family_sum(
            &metrics,
            "claude_code_api_time_to_first_token_seconds_sum",
            model
        ) - seconds)
            .abs()
            < 1e-9
    );
    // TTFTs of about 1.2 s: below the 1.5 s bound, above 1 s.
    assert_eq!(
        family_sum(
            &metrics,
            "claude_code_api_time_to_first_token_seconds_bucket",
            "le=\"1.5\""
        ),
        18.0
    );
    assert_eq!(
        family_sum(
            &metrics,
            "claude_code_api_time_to_first_token_seconds_bucket",
            "le=\"1\""
        ),
        0.0
    );

    // Tool decisions by permission mode and the tool's provenance.
    let decisions = log_attribute(&exports, "tool_decision", "permission_mode");
    assert_eq!(decisions.len(), 12);
    assert_eq!(
        family_sum(
            &metrics,
            "claude_code_tool_decisions_total",
            "permission_mode=\"bypassPermissions\",tool_source=\"builtin\""
        ),
        12.0
    );

    // The startup events that mean something are counted; the retention sweep is kept
    // in the store only.
    assert_eq!(
        family_sum(
            &metrics,
            "claude_code_plugins_loaded_total",
            "plugin=\"cc-plugin-privacy\",marketplace=\"builtin\",scope=\"default-bundle\",enabled_via=\"default-enable\""
        ),
        2.0
    );
    assert_eq!(
        family_sum(&metrics, "claude_code_plugins_loaded_total", ""),
        log_attribute(&exports, "plugin_loaded", "plugin.name").len() as f64
    );
    assert_eq!(
        family_sum(
            &metrics,
            "claude_code_managed_settings_resolved_total",
            "trigger=\"startup\",source_behavior=\"first-wins\",helper_state=\"none\",helper_applied=\"none\""
        ),
        2.0
    );
    assert!(!metrics.keys().any(|k| k.contains("retention")));
    let db = rusqlite::Connection::open(dir.path().join("data/events.sqlite3")).unwrap();
    let sweeps: i64 = db
        .query_row(
            "SELECT count(*) FROM events WHERE name = 'claude_code.retention_sweep'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(sweeps, 2);

    // The provider attributes 2.1.330 added do not split the series.
    assert!(
        !metrics
            .keys()
            .any(|k| k.contains("anthropic_provider") || k.contains("anthropic_custom_base_url")),
        "{:#?}",
        metrics
            .keys()
            .filter(|k| k.contains("anthropic"))
            .collect::<Vec<_>>()
    );

    // Cache writes by time to live (the captured session wrote none: one request that did).
    let request = json!({"resourceLogs": [{"scopeLogs": [{"logRecords": [{
    "timeUnixNano": "1795491296263000000",
    "attributes": [
        {"key": "event.name", "value": {"stringValue": "api_request"}},
        {"key": "model", "value": {"stringValue": "claude-sonnet-4-5"}},
        {"key": "cache_creation_5m_tokens", "value": {"intValue": 300}},
        {"key": "cache_creation_1h_tokens", "value": {"stringValue": "700"}},
        {"key": "ttft_ms", "value": {"stringValue": "250"}}
    ]}]}]}]});
    let (status, _) = post(
        &collector,
        "/v1/logs",
        "application/json",
        request.to_string().as_bytes(),
    );
    assert_eq!(status, 200);
    let metrics = parse_metrics(&collector.metrics());
    for (ttl, tokens) in [("5m", 300.0), ("1h", 700.0)] {
        assert_eq!(
            family_sum(
                &metrics,
                "claude_code_api_cache_creation_tokens_total",
                &format!("{model},ttl=\"{ttl}\"")
            ),
            tokens,
            "{ttl}"
        );
    }
    assert_eq!(
        family_sum(
            &metrics,
            "claude_code_api_time_to_first_token_seconds_bucket",
            "le=\"0.25\""
        ),
        1.0
    );

    let file = dir.path().join("m.txt");
    std::fs::write(&file, collector.metrics()).unwrap();
    let output = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&file).unwrap())
        .output()
        .unwrap();
    assert!(
        output.status.success() && output.stdout.is_empty() && output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn sum_export(name: &str, unit: &str, temporality: u8, points: Value) -> Value {
    json!({"resourceMetrics": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "claude-code"}},
        {"key": "user.email", "value": {"stringValue": "jane@example.com"}}]},
        "scopeMetrics": [{"metrics": [{"name": name, "unit": unit,
            "sum": {"aggregationTemporality": temporality, "isMonotonic": true, "dataPoints": points}}]}]}]})
}

fn dp(session: &str, start: u64, time: u64, value: f64) -> Value {
    json!({"startTimeUnixNano": start.to_string(), "timeUnixNano": time.to_string(), "asDouble": value,
           "attributes": [{"key": "session.id", "value": {"stringValue": session}}, {"key": "model", "value": {"stringValue": "m"}}]})
}

const COST: &str = "claude_code_cost_usage_USD_total{model=\"m\",user_email=\"jane@example.com\"}";

#[test]
fn delta_and_cumulative_accumulate_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&dir.path().join("data"));
    let send = |body: Value| {
        let (status, answer) = post(
            &collector,
            "/v1/metrics",
            "application/json",
            body.to_string().as_bytes(),
        );
        assert_eq!(status, 200, "{answer}");
    };
    // DELTA from two sessions, a retried export, an export arriving late.
    send(sum_export(
        "claude_code.cost.usage",
        "USD",
        1,
        json!([dp("a", 0, 10, 0.25), dp("b", 0, 10, 0.5)]),
    ));
    send(sum_export(
        "claude_code.cost.usage",
        "USD",
        1,
        json!([dp("a", 0, 10, 0.25), dp("b", 0, 10, 0.5)]),
    ));
    send(sum_export(
        "claude_code.cost.usage",
        "USD",
        1,
        json!([dp("a", 20, 30, 1.0)]),
    ));
    send(sum_export(
        "claude_code.cost.usage",
        "USD",
        1,
        json!([dp("a", 10, 20, 2.0)]),
    ));
    let metrics = parse_metrics(&collector.metrics());
    assert_eq!(metrics[COST], 0.25 + 0.5 + 1.0 + 2.0);

    // CUMULATIVE with a duplicate, an older value, and two kinds of reset.
    let c = |body| send(body);
    c(sum_export(
        "claude_code.cost.usage",
        "USD",
        2,
        json!([dp("c", 1, 100, 3.0)]),
    ));
    c(sum_export(
        "claude_code.cost.usage",
        "USD",
        2,
        json!([dp("c", 1, 110, 5.0)]),
    ));
    c(sum_export(
        "claude_code.cost.usage",
        "USD",
        2,
        json!([dp("c", 1, 110, 5.0)]),
    ));
    c(sum_export(
        "claude_code.cost.usage",
        "USD",
        2,
        json!([dp("c", 1, 105, 4.0)]),
    ));
    c(sum_export(
        "claude_code.cost.usage",
        "USD",
        2,
        json!([dp("c", 1, 120, 1.0)]),
    ));
    c(sum_export(
        "claude_code.cost.usage",
        "USD",
        2,
        json!([dp("c", 200, 210, 2.0)]),
    ));
    let metrics = parse_metrics(&collector.metrics());
    assert_eq!(metrics[COST], 3.75 + 5.0 + 1.0 + 2.0);

    // The same after a restart: the exports were stored and are replayed.
    collector.stop();
    let collector = Collector::start(&dir.path().join("data"));
    assert_eq!(parse_metrics(&collector.metrics())[COST], 11.75);
}

#[test]
fn histograms_and_refused_points() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&dir.path().join("data"));
    let histogram = |start: u64, time: u64, counts: [u64; 3], sum: f64, temporality: u8| {
        json!({"resourceMetrics": [{"scopeMetrics": [{"metrics": [
            {"name": "tool.latency", "unit": "ms", "histogram": {"aggregationTemporality": temporality, "dataPoints": [
                {"startTimeUnixNano": start.to_string(), "timeUnixNano": time.to_string(), "count": counts.iter().sum::<u64>().to_string(),
                 "sum": sum, "bucketCounts": counts.iter().map(|c| c.to_string()).collect::<Vec<_>>(), "explicitBounds": [10.0, 100.0]}]}},
            {"name": "weird", "summary": {"dataPoints": [{"count": "1", "sum": 1.0}]}}
        ]}]}]})
    };
    let (status, answer) = post(
        &collector,
        "/v1/metrics",
        "application/json",
        histogram(0, 10, [1, 2, 3], 700.0, 1).to_string().as_bytes(),
    );
    assert_eq!(status, 200);
    let answer: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(
        answer["partialSuccess"]["rejectedDataPoints"], "1",
        "the summary is refused, the rest kept"
    );
    assert!(
        answer["partialSuccess"]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("summaries are not supported")
    );
    post(
        &collector,
        "/v1/metrics",
        "application/json",
        histogram(10, 20, [1, 0, 0], 5.0, 1).to_string().as_bytes(),
    );
    let metrics = parse_metrics(&collector.metrics());
    assert_eq!(metrics["tool_latency_milliseconds_bucket{le=\"10\"}"], 2.0);
    assert_eq!(metrics["tool_latency_milliseconds_bucket{le=\"100\"}"], 4.0);
    assert_eq!(
        metrics["tool_latency_milliseconds_bucket{le=\"+Inf\"}"],
        7.0
    );
    assert_eq!(metrics["tool_latency_milliseconds_sum"], 705.0);
    assert_eq!(metrics["tool_latency_milliseconds_count"], 7.0);
}

#[test]
fn log_events_are_stored_joined_with_hook_events_and_private() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let collector = Collector::start(&data);
    let exports = captures("protobuf");
    let session = exports
        .iter()
        .filter(|(p, _)| p == "/v1/logs")
        .flat_map(|(_, b)| {
            b["resourceLogs"][0]["scopeLogs"][0]["logRecords"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .find_map(|r| attr(&r, "session.id").map(str::to_owned))
        .unwrap();
    for (path, body) in exports.iter().filter(|(p, _)| p == "/v1/logs") {
        assert_eq!(
            post(
                &collector,
                path,
                "application/x-protobuf",
                &protobuf(path, body)
            )
            .0,
            200
        );
        // Exporters retry: the same records again are stored once.
        assert_eq!(
            post(
                &collector,
                path,
                "application/x-protobuf",
                &protobuf(path, body)
            )
            .0,
            200
        );
    }
    let mut hook_event = sample("UserPromptSubmit");
    hook_event["session_id"] = json!(session);
    let output = Run::new(&["hook"], dir.path())
        .env("CLAUDE_TELEMETRY_URL", &collector.url)
        .env("CLAUDE_TELEMETRY_STATE_DIR", dir.path().join("state"))
        .stdin(hook_event.to_string());
    assert_eq!(output.status.code(), Some(0));

    let db = rusqlite::Connection::open(data.join("events.sqlite3")).unwrap();
    let timeline: Vec<(String, String, String)> = db
        .prepare("SELECT source, name, body FROM events WHERE session_id = ?1 ORDER BY ts_ms, id")
        .unwrap()
        .query_map([&session], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(
        timeline.iter().any(|(source, _, _)| source == "hook"),
        "the hook event is on the session's timeline"
    );
    assert!(
        timeline
            .iter()
            .any(|(_, name, _)| name == "claude_code.api_request")
    );
    assert!(
        timeline
            .iter()
            .any(|(_, name, _)| name == "claude_code.user_prompt")
    );
    let total: i64 = db
        .query_row(
            "SELECT count(*) FROM events WHERE source = 'otlp'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let records: usize = exports
        .iter()
        .filter(|(p, _)| p == "/v1/logs")
        .map(|(_, b)| b.to_string().matches("\"timeUnixNano\"").count())
        .sum();
    assert_eq!(total as usize, records, "each record once, retries dropped");
    for (_, name, body) in &timeline {
        if name == "claude_code.user_prompt" {
            let stored: Value = serde_json::from_str(body).unwrap();
            assert!(
                stored["attributes"]["prompt"]["elided_bytes"].is_u64(),
                "prompt text is not stored in metadata mode: {body}"
            );
        }
    }
}

#[test]
fn gzip_and_chunked_bodies_work() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&dir.path().join("data"));
    let body = sum_export(
        "claude_code.cost.usage",
        "USD",
        1,
        json!([dp("a", 0, 10, 1.5)]),
    )
    .to_string();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(body.as_bytes()).unwrap();
    let compressed = gz.finish().unwrap();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    // A reader body has no length: ureq sends it chunked, as Claude Code's exporter does.
    let response = agent
        .post(format!("{}/v1/metrics", collector.url))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .send(ureq::SendBody::from_reader(&mut compressed.as_slice()))
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(parse_metrics(&collector.metrics())[COST], 1.5);
}

#[test]
fn bad_otlp_requests_get_clear_4xx_and_nothing_breaks() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&dir.path().join("data"));
    let gzip_header = |body: &[u8]| {
        request(
            "POST",
            &format!("{}/v1/metrics", collector.url),
            Some(body),
            &[
                ("content-type", "application/json"),
                ("content-encoding", "gzip"),
            ],
        )
    };
    let cases: Vec<(&str, &str, Vec<u8>, u16)> = vec![
        ("/v1/metrics", "application/x-protobuf", vec![0xff, 0xff, 0xff, 0xff, 0x0f], 400),
        ("/v1/logs", "application/x-protobuf", b"\x0a\x05\x0a\x03".to_vec(), 400),
        ("/v1/metrics", "application/json", b"{\"resourceMetrics\": 5}".to_vec(), 400),
        ("/v1/metrics", "application/json", b"{\"resourceMetrics\":[{\"scopeMetrics\":[{\"metrics\":[{\"name\":\"x\",\"sum\":{\"dataPoints\":[{\"asInt\":\"many\"}]}}]}]}]}".to_vec(), 400),
        ("/v1/logs", "application/json", b"not json".to_vec(), 400),
        ("/v1/metrics", "text/plain", b"x 1".to_vec(), 415),
    ];
    for (path, content_type, body, status) in cases {
        let (got, text) = post(&collector, path, content_type, &body);
        assert_eq!(got, status, "{path} {content_type}: {text}");
    }
    assert_eq!(gzip_header(b"definitely not gzip").0, 400);
    assert_eq!(
        announce_oversized(
            &collector.url,
            "/v1/metrics",
            "application/json",
            9 * 1024 * 1024
        ),
        413
    );
    let (status, text) = post(
        &collector,
        "/v1/metrics",
        "application/json",
        b"{\"resourceMetrics\": 5}",
    );
    assert!(text.contains("resourceMetrics") && status == 400, "{text}");
    // Still serving, and what was accepted before is intact.
    let body = sum_export(
        "claude_code.cost.usage",
        "USD",
        1,
        json!([dp("a", 0, 10, 2.0)]),
    )
    .to_string();
    assert_eq!(
        post(
            &collector,
            "/v1/metrics",
            "application/json",
            body.as_bytes()
        )
        .0,
        200
    );
    assert_eq!(parse_metrics(&collector.metrics())[COST], 2.0);
}
