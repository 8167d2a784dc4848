//! Claude Code's traces into the real collector over OTLP/HTTP `/v1/traces`: stored as
//! exported, shown as trees, counted as span metrics, kept across restarts, pruned with
//! the retention, refused clearly when malformed, and forwarded to a second OTLP
//! receiver.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine;
use prost::Message;
use serde_json::{Value, json};

use crate::support::collector::{Collector, announce_oversized, parse_metrics, request};

/// One captured request of Claude Code 2.1.332: its session (`a` json, `b` protobuf
/// with the content flags on), path and body (OTLP JSON; `b`'s as json_format wrote it).
pub struct Capture {
    pub session: String,
    pub path: String,
    pub body: Value,
}

pub fn captures() -> Vec<Capture> {
    include_str!("data/otlp_traces_v2.1.332.jsonl")
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .map(|r| Capture {
            session: r["session"].as_str().unwrap().to_owned(),
            path: r["path"].as_str().unwrap().to_owned(),
            body: r["body"].clone(),
        })
        .collect()
}

/// The protobuf bytes of a captured export.
pub fn protobuf(path: &str, body: &Value) -> Vec<u8> {
    use collector::processors::otlp::json;
    match path {
        "/v1/traces" => json::traces_request(body).unwrap().encode_to_vec(),
        "/v1/logs" => json::logs_request(body).unwrap().encode_to_vec(),
        _ => json::metrics_request(body).unwrap().encode_to_vec(),
    }
}

/// An id as hex, whether the capture wrote it as hex or base64.
fn hex_id(text: &str) -> String {
    let hex = text.bytes().all(|b| b.is_ascii_hexdigit()) && matches!(text.len(), 16 | 32);
    if hex {
        return text.to_ascii_lowercase();
    }
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A span as the tree must give it back: trace, id, parent, name, start, end.
pub type SpanKey = (String, String, String, String, String, String);

/// Every span in OTLP export bodies, keyed as [`SpanKey`], with its `session.id`.
pub fn exported_spans<'a>(bodies: impl Iterator<Item = &'a Value>) -> Vec<(String, SpanKey)> {
    let mut out = Vec::new();
    for body in bodies {
        for rs in body["resourceSpans"].as_array().into_iter().flatten() {
            for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                for span in ss["spans"].as_array().into_iter().flatten() {
                    let session = span["attributes"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|a| a["key"] == "session.id")
                        .and_then(|a| a["value"]["stringValue"].as_str())
                        .unwrap_or_default()
                        .to_owned();
                    let text = |key: &str| match &span[key] {
                        Value::String(s) => s.clone(),
                        Value::Number(n) => n.to_string(),
                        _ => String::new(),
                    };
                    let parent = span["parentSpanId"].as_str().map_or(String::new(), hex_id);
                    out.push((
                        session,
                        (
                            hex_id(span["traceId"].as_str().unwrap()),
                            hex_id(span["spanId"].as_str().unwrap()),
                            parent,
                            text("name"),
                            text("startTimeUnixNano"),
                            text("endTimeUnixNano"),
                        ),
                    ));
                }
            }
        }
    }
    out
}

/// The spans of `/api/v1/sessions/{id}/traces`, keyed as [`SpanKey`]; checks on the way
/// that every child names its parent and sits in its parent's trace.
pub fn tree_spans(traces: &Value) -> Vec<SpanKey> {
    fn walk(trace: &str, node: &Value, parent: Option<&str>, out: &mut Vec<SpanKey>) {
        let id = node["span_id"].as_str().unwrap();
        let named = node["parent_span_id"].as_str();
        match parent {
            Some(parent) => assert_eq!(named, Some(parent), "{node}"),
            None => assert!(named.is_none() || node["orphan"] == true, "{node}"),
        }
        out.push((
            trace.to_owned(),
            id.to_owned(),
            named.unwrap_or_default().to_owned(),
            node["name"].as_str().unwrap().to_owned(),
            node["start_time_unix_nano"].as_str().unwrap().to_owned(),
            node["end_time_unix_nano"].as_str().unwrap().to_owned(),
        ));
        for child in node["children"].as_array().unwrap() {
            walk(trace, child, Some(id), out);
        }
    }
    let mut out = Vec::new();
    for trace in traces["traces"].as_array().unwrap() {
        let id = trace["trace_id"].as_str().unwrap();
        for root in trace["roots"].as_array().unwrap() {
            walk(id, root, None, &mut out);
        }
    }
    out
}

/// Every node of a trace tree, depth first.
pub fn nodes(trace: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    let mut stack: Vec<Value> = trace["roots"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .cloned()
        .collect();
    while let Some(node) = stack.pop() {
        stack.extend(node["children"].as_array().unwrap().iter().rev().cloned());
        out.push(node);
    }
    out
}

/// `GET` as JSON, 200 required.
pub fn get_json(collector: &Collector, path: &str) -> Value {
    let (status, body) = collector.get(path);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// The stored spans' bodies, read from the store directly.
fn stored_spans(data: &Path) -> Vec<String> {
    let db = rusqlite::Connection::open(data.join("events.sqlite3")).unwrap();
    db.prepare("SELECT body FROM events WHERE source = 'otlp_span'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Span metrics equal a count over the stored spans: calls and durations by span name
/// and status, from the store read directly.
pub fn assert_span_metrics_match_the_store(collector: &Collector, data: &Path) {
    let bodies = stored_spans(data);
    assert!(!bodies.is_empty());
    let mut expected: BTreeMap<(String, String), (f64, f64)> = BTreeMap::new();
    for body in &bodies {
        let span: Value = serde_json::from_str(body).unwrap();
        let status = match span["status_code"].as_i64().unwrap_or(0) {
            2 => "STATUS_CODE_ERROR",
            1 => "STATUS_CODE_OK",
            _ => "STATUS_CODE_UNSET",
        };
        let seconds =
            (span["end_ns"].as_u64().unwrap() - span["start_ns"].as_u64().unwrap()) as f64 / 1e9;
        let entry = expected
            .entry((span["name"].as_str().unwrap().to_owned(), status.to_owned()))
            .or_default();
        entry.0 += 1.0;
        entry.1 += seconds;
    }
    let metrics = parse_metrics(&collector.metrics());
    let label = |series: &str, name: &str| {
        let start = series.find(&format!("{name}=\""))? + name.len() + 2;
        let end = series[start..].find('"')? + start;
        Some(series[start..end].to_owned())
    };
    // (calls, duration sum, duration count) by span name and status, over every series.
    let mut calls: BTreeMap<(String, String), (f64, f64, f64)> = BTreeMap::new();
    for (series, value) in &metrics {
        let key = || {
            (
                label(series, "span_name").unwrap(),
                label(series, "status_code").unwrap(),
            )
        };
        if series.starts_with("traces_span_metrics_calls_total{") {
            calls.entry(key()).or_default().0 += value;
            assert!(
                !series.contains("session") && !series.contains("trace_id"),
                "no ids as labels: {series}"
            );
        } else if series.starts_with("traces_span_metrics_duration_seconds_sum{") {
            calls.entry(key()).or_default().1 += value;
        } else if series.starts_with("traces_span_metrics_duration_seconds_count{") {
            calls.entry(key()).or_default().2 += value;
        }
    }
    assert_eq!(calls.len(), expected.len(), "{calls:?} {expected:?}");
    for (key, (count, seconds)) in &expected {
        let (got_count, got_seconds, observed) = calls[key];
        assert_eq!(got_count, *count, "{key:?}");
        assert_eq!(observed, *count, "{key:?}");
        assert!(
            (got_seconds - seconds).abs() < 1e-6,
            "{key:?}: {got_seconds} {seconds}"
        );
    }
}

/// `promtool check metrics` on the collector's `/metrics`.
pub fn promtool_clean(collector: &Collector, dir: &Path) {
    let file = dir.join("metrics.txt");
    std::fs::write(&file, collector.metrics()).unwrap();
    let output = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&file).unwrap())
        .output()
        .unwrap();
    assert!(
        output.status.success() && output.stdout.is_empty() && output.stderr.is_empty(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Sends every captured request of `session` (json as JSON, b as protobuf).
fn replay(collector: &Collector, session: &str) {
    for capture in captures().iter().filter(|c| c.session == session) {
        let (content_type, body) = if session == "a" {
            ("application/json", capture.body.to_string().into_bytes())
        } else {
            (
                "application/x-protobuf",
                protobuf(&capture.path, &capture.body),
            )
        };
        let (status, answer) = collector.post(&capture.path, content_type, &body);
        assert_eq!(status, 200, "{}: {answer}", capture.path);
    }
}

fn session_of(session: &str) -> String {
    let spans = captures();
    let bodies = spans
        .iter()
        .filter(|c| c.session == session && c.path == "/v1/traces")
        .map(|c| &c.body);
    exported_spans(bodies)[0].0.clone()
}

#[test]
fn captured_traces_of_2_1_332_are_stored_joined_and_counted_as_exported() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let collector = Collector::start(&data);
    for session in ["a", "b"] {
        replay(&collector, session);
        // Exporters retry: the same spans again are stored once.
        replay(&collector, session);
    }
    let all = captures();
    for session in ["a", "b"] {
        let id = session_of(session);
        let exported: BTreeSet<SpanKey> = exported_spans(
            all.iter()
                .filter(|c| c.session == session && c.path == "/v1/traces")
                .map(|c| &c.body),
        )
        .into_iter()
        .map(|(_, key)| key)
        .collect();
        assert_eq!(exported.len(), 29, "the capture's spans");
        let traces = get_json(&collector, &format!("/api/v1/sessions/{id}/traces"));
        let shown = tree_spans(&traces);
        assert_eq!(shown.len(), 29, "each span once");
        assert_eq!(
            shown.iter().cloned().collect::<BTreeSet<_>>(),
            exported,
            "the tree holds what was exported"
        );
        let traces = traces["traces"].as_array().unwrap();
        assert_eq!(
            traces.len(),
            2,
            "the prompt, then the subagent's completion"
        );
        let first = &traces[0];
        assert!(
            first["prompt_id"].is_string(),
            "joined to its prompt: {first}"
        );
        assert!(
            first["cost_usd"].as_f64().unwrap() > 0.0,
            "joined to api_request costs"
        );
        assert_eq!(first["error_count"], 1, "the failing Bash");
        let all_nodes = nodes(first);
        let failed: Vec<&Value> = all_nodes
            .iter()
            .filter(|n| n["status"] == "ERROR")
            .collect();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0]["name"], "claude_code.tool.execution");
        // The subagent's spans sit under the Agent call's execution.
        let agent = all_nodes
            .iter()
            .find(|n| n["name"] == "claude_code.tool" && n["attributes"]["tool_name"] == "Agent")
            .unwrap();
        let execution = agent["children"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["name"] == "claude_code.tool.execution")
            .unwrap();
        let under: Vec<&Value> = execution["children"].as_array().unwrap().iter().collect();
        assert_eq!(under.len(), 3, "two model requests and a Bash call");
        assert!(under.iter().all(|n| n["subagent"].is_string()));
        // Model requests carry what the waterfall shows.
        let request = all_nodes
            .iter()
            .find(|n| n["name"] == "claude_code.llm_request")
            .unwrap();
        assert!(request["attributes"]["ttft_ms"].is_number() && request["cost_usd"].is_number());
        let by_id = get_json(
            &collector,
            &format!("/api/v1/traces/{}", first["trace_id"].as_str().unwrap()),
        );
        assert_eq!(&by_id, first, "one trace by its id");
    }
    // Session b had OTEL_LOG_USER_PROMPTS and OTEL_LOG_TOOL_DETAILS: the metadata mode
    // keeps no prompt and no error message.
    let stored = stored_spans(&data);
    assert_eq!(stored.len(), 58);
    assert!(stored.iter().all(|b| !b.contains("tidy up the project")));
    assert!(stored.iter().all(|b| !b.contains("Shell command failed")));
    assert!(
        stored
            .iter()
            .any(|b| b.contains("\"elided\":[\"user_prompt\""))
    );
    assert_span_metrics_match_the_store(&collector, &data);
    promtool_clean(&collector, dir.path());

    // A restart keeps the traces and the span metrics.
    let before_metrics: BTreeMap<String, f64> = parse_metrics(&collector.metrics())
        .into_iter()
        .filter(|(k, _)| k.starts_with("traces_span_metrics"))
        .collect();
    let id = session_of("a");
    let before = get_json(&collector, &format!("/api/v1/sessions/{id}/traces"));
    collector.stop();
    let collector = Collector::start(&data);
    assert_eq!(
        get_json(&collector, &format!("/api/v1/sessions/{id}/traces")),
        before
    );
    let after_metrics: BTreeMap<String, f64> = parse_metrics(&collector.metrics())
        .into_iter()
        .filter(|(k, _)| k.starts_with("traces_span_metrics"))
        .collect();
    assert_eq!(after_metrics, before_metrics);

    // Past the retention the spans go (the capture is from a day ago); their counts stay.
    collector.stop();
    let collector = Collector::start_with(&data, &[], &[("CLAUDE_TELEMETRY_RETENTION", "1h")]);
    let gone = get_json(&collector, &format!("/api/v1/sessions/{id}/traces"));
    assert_eq!(gone["traces"], json!([]), "pruned");
    let (status, _) = collector.get(&format!("/api/v1/traces/{}", "ab".repeat(16)));
    assert_eq!(status, 404);
    let kept: BTreeMap<String, f64> = parse_metrics(&collector.metrics())
        .into_iter()
        .filter(|(k, _)| k.starts_with("traces_span_metrics"))
        .collect();
    let differ: Vec<_> = before_metrics
        .iter()
        .filter(|(k, v)| kept.get(*k).is_none_or(|n| (n - *v).abs() > 1e-9))
        .collect();
    assert!(
        differ.is_empty() && kept.len() == before_metrics.len(),
        "counters keep what pruned spans added: {differ:?} {:?}",
        kept.keys()
            .filter(|k| !before_metrics.contains_key(*k))
            .collect::<Vec<_>>()
    );
}

fn gunzip(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(body), &mut out).unwrap();
    out
}

fn gzip(body: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(body).unwrap();
    gz.finish().unwrap()
}

/// A span whose attribute nests `depth` kvlists.
fn nested(depth: usize) -> Value {
    let mut value = json!({"stringValue": "bottom"});
    for _ in 0..depth {
        value = json!({"kvlistValue": {"values": [{"key": "k", "value": value}]}});
    }
    json!({"resourceSpans": [{"scopeSpans": [{"spans": [{
        "traceId": "cd".repeat(16), "spanId": "ef".repeat(8), "name": "nested",
        "startTimeUnixNano": "1795936690000000000", "endTimeUnixNano": "1795936690000000001",
        "attributes": [{"key": "session.id", "value": {"stringValue": "nested-session"}},
                       {"key": "deep", "value": value}]}]}]}]})
}

#[test]
fn bad_trace_exports_get_clear_4xx_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let collector = Collector::start(&data);
    let good = captures()
        .into_iter()
        .find(|c| c.session == "b" && c.path == "/v1/traces")
        .unwrap();
    let bytes = protobuf(&good.path, &good.body);
    let post = |content_type: &str, body: &[u8]| collector.post("/v1/traces", content_type, body);
    let json = "application/json";
    let proto = "application/x-protobuf";
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        (
            "garbage protobuf",
            proto,
            vec![0xff, 0xff, 0xff, 0xff, 0x0f],
            400,
            "protobuf",
        ),
        (
            "truncated protobuf",
            proto,
            bytes[..bytes.len() / 2].to_vec(),
            400,
            "protobuf",
        ),
        (
            "not json",
            json,
            b"{\"resourceSpans\": [".to_vec(),
            400,
            "not JSON",
        ),
        (
            "wrong type",
            json,
            b"{\"resourceSpans\": 5}".to_vec(),
            400,
            "resourceSpans",
        ),
        (
            "bad id",
            json,
            br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz!"}]}]}]}"#.to_vec(),
            400,
            "traceId",
        ),
        (
            "bad kind",
            json,
            br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":"SIDEWAYS"}]}]}]}"#.to_vec(),
            400,
            "kind",
        ),
        (
            "nested beyond JSON's limit",
            json,
            nested(200).to_string().into_bytes(),
            400,
            "recursion",
        ),
        ("text", "text/plain", b"span".to_vec(), 415, "content type"),
    ];
    for (what, content_type, body, status, says) in cases {
        let (got, text) = post(content_type, &body);
        assert_eq!(got, status, "{what}: {text}");
        assert!(text.contains(says), "{what}: {text}");
    }
    // Protobuf nested deeper than the decoder follows.
    let deep = collector::processors::otlp::json::traces_request(&nested(60)).unwrap();
    let (status, text) = post(proto, &deep.encode_to_vec());
    assert_eq!(status, 400, "{text}");
    let (status, text) = request(
        "POST",
        &format!("{}/v1/traces", collector.url),
        Some(b"not gzip at all"),
        &[("content-type", json), ("content-encoding", "gzip")],
    );
    assert_eq!(status, 400, "{text}");
    let bomb = gzip(&vec![b' '; 20 * 1024 * 1024]);
    let (status, _) = request(
        "POST",
        &format!("{}/v1/traces", collector.url),
        Some(&bomb),
        &[("content-type", json), ("content-encoding", "gzip")],
    );
    assert_eq!(status, 413);
    assert_eq!(
        announce_oversized(&collector.url, "/v1/traces", proto, 9 * 1024 * 1024),
        413
    );
    // Nesting the decoders accept is stored and read back after a restart.
    let (status, text) = post(json, nested(20).to_string().as_bytes());
    assert_eq!(status, 200, "{text}");
    // An empty export is a valid one.
    assert_eq!(post(proto, b"").0, 200);
    assert_eq!(post(json, b"{}").0, 200);

    // Many clients at once, gzip and chunked: every span stored once.
    let all = captures();
    let exports: Vec<&Capture> = all
        .iter()
        .filter(|c| c.session == "a" && c.path == "/v1/traces")
        .collect();
    std::thread::scope(|scope| {
        for client in 0..8 {
            let exports = &exports;
            let url = &collector.url;
            scope.spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .build()
                    .into();
                for export in exports.iter().cycle().skip(client).take(exports.len()) {
                    let compressed = gzip(export.body.to_string().as_bytes());
                    // A compressed body reserves the most it may inflate to: past the
                    // collector's body budget a sender is told 503 at once (its body
                    // unread, so the sending may break off) and retries, as OTLP
                    // exporters do.
                    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
                    loop {
                        let sent = agent
                            .post(format!("{url}/v1/traces"))
                            .header("content-type", "application/json")
                            .header("content-encoding", "gzip")
                            .send(ureq::SendBody::from_reader(&mut compressed.as_slice()));
                        let status = sent.as_ref().map_or(0, |r| r.status().as_u16());
                        if matches!(status, 0 | 503) && std::time::Instant::now() < deadline {
                            std::thread::sleep(std::time::Duration::from_millis(50));
                            continue;
                        }
                        assert_eq!(status, 200, "{sent:?}");
                        break;
                    }
                }
            });
        }
    });
    let id = session_of("a");
    let traces = get_json(&collector, &format!("/api/v1/sessions/{id}/traces"));
    assert_eq!(tree_spans(&traces).len(), 29);
    let metrics = parse_metrics(&collector.metrics());
    assert!(metrics["claude_telemetry_requests_rejected_total{reason=\"malformed\"}"] >= 8.0);
    collector.stop();
    let collector = Collector::start(&data);
    let nested = get_json(&collector, "/api/v1/sessions/nested-session/traces");
    assert_eq!(nested["traces"].as_array().unwrap().len(), 1, "{nested}");
}

/// The spans in forwarded request bodies (gzip protobuf), in arrival order.
fn forwarded(requests: &[testkit::Received]) -> Vec<(String, String)> {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    let mut out = Vec::new();
    for received in requests.iter().filter(|r| r.url == "/v1/traces") {
        assert_eq!(
            received.header("content-type"),
            Some("application/x-protobuf")
        );
        assert_eq!(received.header("content-encoding"), Some("gzip"));
        let body = gunzip(&received.body);
        let request = ExportTraceServiceRequest::decode(body.as_slice()).unwrap();
        for rs in &request.resource_spans {
            for ss in &rs.scope_spans {
                for span in &ss.spans {
                    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
                    out.push((hex(&span.trace_id), hex(&span.span_id)));
                }
            }
        }
    }
    out
}

/// The event names of forwarded log records, in arrival order.
fn forwarded_logs(requests: &[testkit::Received]) -> Vec<String> {
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    let mut out = Vec::new();
    for received in requests.iter().filter(|r| r.url == "/v1/logs") {
        let body = gunzip(&received.body);
        let request = ExportLogsServiceRequest::decode(body.as_slice()).unwrap();
        for rl in &request.resource_logs {
            for sl in &rl.scope_logs {
                out.extend(sl.log_records.iter().map(|r| r.event_name.clone()));
            }
        }
    }
    out
}

/// The spans of the captured exports of session `a`, in export order.
fn export_order() -> Vec<(String, String)> {
    let all = captures();
    exported_spans(
        all.iter()
            .filter(|c| c.session == "a" && c.path == "/v1/traces")
            .map(|c| &c.body),
    )
    .into_iter()
    .map(|(_, key)| (key.0, key.1))
    .collect()
}

/// Polls until `accept` holds, or fails after a deadline.
fn until<T>(what: &str, mut probe: impl FnMut() -> T, accept: impl Fn(&T) -> bool) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let value = probe();
        if accept(&value) {
            return value;
        }
        assert!(Instant::now() < deadline, "{what}: never happened");
        std::thread::sleep(Duration::from_millis(100)); // polling a forwarder, bounded
    }
}

fn forwarding_env(endpoint: &str, queue: &str) -> Vec<(&'static str, String)> {
    vec![
        ("CLAUDE_TELEMETRY_FORWARD_ENDPOINT", endpoint.to_owned()),
        ("CLAUDE_TELEMETRY_FORWARD_QUEUE_SIZE", queue.to_owned()),
        ("CLAUDE_TELEMETRY_FORWARD_BATCH_SIZE", "5".to_owned()),
        ("CLAUDE_TELEMETRY_FORWARD_BATCH_TIMEOUT", "50ms".to_owned()),
        ("CLAUDE_TELEMETRY_FORWARD_RETRY_INITIAL", "50ms".to_owned()),
        ("CLAUDE_TELEMETRY_FORWARD_RETRY_MAX", "200ms".to_owned()),
        (
            "CLAUDE_TELEMETRY_FORWARD_HEADERS",
            "Authorization=Bearer backend-token".to_owned(),
        ),
    ]
}

fn start_forwarding(data: &Path, env: &[(&'static str, String)]) -> Collector {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Collector::start_with(data, &[], &env)
}

#[test]
fn forwarding_delivers_every_span_once_in_export_order() {
    let dir = tempfile::tempdir().unwrap();
    let backend = testkit::Receiver::start();
    let mut env = forwarding_env(&backend.url(), "1000");
    env.push(("CLAUDE_TELEMETRY_FORWARD_LOGS", "true".to_owned()));
    let collector = start_forwarding(&dir.path().join("a"), &env);
    replay(&collector, "a");
    replay(&collector, "a"); // retried exports are not forwarded twice
    let order = export_order();
    let got = until(
        "every span forwarded",
        || forwarded(&backend.requests()),
        |got| got.len() >= order.len(),
    );
    assert_eq!(got, order, "once each, in export order");
    assert!(
        backend
            .requests()
            .iter()
            .all(|r| r.header("authorization") == Some("Bearer backend-token"))
    );
    // Log events too, when asked: each record once.
    let records: usize = captures()
        .iter()
        .filter(|c| c.session == "a" && c.path == "/v1/logs")
        .map(|c| c.body.to_string().matches("\"timeUnixNano\"").count())
        .sum();
    let logs = until(
        "every log record forwarded",
        || forwarded_logs(&backend.requests()),
        |logs| logs.len() >= records,
    );
    assert_eq!(logs.len(), records);
    assert!(
        logs.iter().all(|name| name.starts_with("claude_code.")),
        "{logs:?}"
    );
    let metrics = parse_metrics(&collector.metrics());
    assert_eq!(
        metrics["claude_telemetry_forward_sent_total{signal=\"traces\"}"],
        29.0
    );
    assert_eq!(
        metrics["claude_telemetry_forward_sent_total{signal=\"logs\"}"],
        records as f64
    );

    // An independent decoder (Python's opentelemetry-proto) reads the same spans.
    let bodies = dir.path().join("bodies");
    std::fs::create_dir_all(&bodies).unwrap();
    let requests = backend.requests();
    let traces = requests.iter().filter(|r| r.url == "/v1/traces");
    for (i, received) in traces.enumerate() {
        std::fs::write(bodies.join(format!("{i:04}.pb.gz")), &received.body).unwrap();
    }
    let script = r#"
import gzip, pathlib, sys
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
for path in sorted(pathlib.Path(sys.argv[1]).iterdir()):
    request = ExportTraceServiceRequest()
    request.ParseFromString(gzip.decompress(path.read_bytes()))
    for rs in request.resource_spans:
        for ss in rs.scope_spans:
            for span in ss.spans:
                print(span.trace_id.hex(), span.span_id.hex(), span.parent_span_id.hex() or "-", span.name, span.start_time_unix_nano, span.end_time_unix_nano)
"#;
    let output = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&bodies)
        .output()
        .expect("python3");
    assert!(
        output.status.success(),
        "python's opentelemetry-proto (scripts/test installs it): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let all = captures();
    let expected: Vec<String> = exported_spans(
        all.iter()
            .filter(|c| c.session == "a" && c.path == "/v1/traces")
            .map(|c| &c.body),
    )
    .into_iter()
    .map(|(_, (trace, span, parent, name, start, end))| {
        let parent = if parent.is_empty() {
            "-".to_owned()
        } else {
            parent
        };
        format!("{trace} {span} {parent} {name} {start} {end}")
    })
    .collect();
    let decoded: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(decoded, expected);

    // A second real collector as the backend: it holds the same trees.
    let second = Collector::start(&dir.path().join("b"));
    let relay = start_forwarding(&dir.path().join("c"), &forwarding_env(&second.url, "1000"));
    replay(&relay, "a");
    let id = session_of("a");
    let path = format!("/api/v1/sessions/{id}/traces");
    let ours = get_json(&relay, &path);
    // The same spans, nested the same, with the same attributes and status (what the
    // relay's privacy mode left out never reached the second one to be listed there).
    let shape = |traces: &Value| {
        let spans = tree_spans(traces);
        let details: BTreeMap<String, (Value, Value)> = traces["traces"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(nodes)
            .map(|n| {
                (
                    n["span_id"].as_str().unwrap().to_owned(),
                    (n["attributes"].clone(), n["status"].clone()),
                )
            })
            .collect();
        (spans, details)
    };
    let expected = shape(&ours);
    assert_eq!(expected.0.len(), 29);
    until(
        "the second collector holds the traces",
        || shape(&get_json(&second, &path)),
        |theirs| *theirs == expected,
    );
}

#[test]
fn a_backend_that_is_down_loses_nothing_within_the_queue_and_counts_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let away = testkit::closed_port_url();
    let collector = start_forwarding(&dir.path().join("a"), &forwarding_env(&away, "20"));
    replay(&collector, "a");
    let metrics = until(
        "retries and drops counted",
        || parse_metrics(&collector.metrics()),
        |m| {
            m.get("claude_telemetry_forward_failures_total{signal=\"traces\"}")
                .is_some_and(|n| *n >= 2.0)
        },
    );
    assert_eq!(
        metrics["claude_telemetry_forward_dropped_total{signal=\"traces\",reason=\"queue_full\"}"],
        9.0,
        "29 spans, 20 fit"
    );
    assert_eq!(
        metrics["claude_telemetry_forward_queue_size{signal=\"traces\"}"],
        20.0
    );
    // The backend comes up where it was expected: the 20 queued arrive, in order.
    let backend = testkit::Receiver::start_on(away.trim_start_matches("http://"));
    let got = until(
        "the queue drained",
        || forwarded(&backend.requests()),
        |got| got.len() >= 20,
    );
    assert_eq!(got, export_order()[..20].to_vec());
    let metrics = until(
        "the queue empty",
        || parse_metrics(&collector.metrics()),
        |m| m["claude_telemetry_forward_queue_size{signal=\"traces\"}"] == 0.0,
    );
    assert_eq!(
        metrics["claude_telemetry_forward_sent_total{signal=\"traces\"}"],
        20.0
    );
    // A backend that refuses for good: dropped and counted, not retried forever.
    backend.respond_with(400);
    let more = nested(1);
    assert_eq!(
        collector
            .post(
                "/v1/traces",
                "application/json",
                more.to_string().as_bytes()
            )
            .0,
        200
    );
    until(
        "the refusal counted",
        || parse_metrics(&collector.metrics()),
        |m| {
            m.get("claude_telemetry_forward_dropped_total{signal=\"traces\",reason=\"refused\"}")
                == Some(&1.0)
        },
    );
    promtool_clean(&collector, dir.path());
}

#[test]
fn the_traces_dashboard_links_a_session_to_its_traces_and_its_queries_answer() {
    let repo = crate::support::repo();
    let text =
        std::fs::read_to_string(repo.join("deploy/grafana/dashboards/claude-code-traces.json"))
            .unwrap();
    let dashboard: Value = serde_json::from_str(&text).unwrap();
    let datasources =
        std::fs::read_to_string(repo.join("deploy/grafana/provisioning/datasources/jaeger.yml"))
            .unwrap();
    assert!(
        datasources.contains("uid: jaeger") && datasources.contains("url: http://jaeger:16686")
    );
    let compose = std::fs::read_to_string(repo.join("docker-compose.yml")).unwrap();
    assert!(compose.contains("profiles: [\"tracing\"]") && compose.contains("jaeger:"));
    assert_eq!(dashboard["uid"], "claude-code-traces");
    assert!(dashboard.get("dashboard").is_none(), "plain dashboard JSON");
    let variables = dashboard["templating"]["list"].as_array().unwrap();
    assert_eq!(variables[0]["name"], "session");
    let mut ids = BTreeSet::new();
    let mut prometheus_queries = Vec::new();
    let mut session_panel = false;
    for panel in dashboard["panels"].as_array().unwrap() {
        assert!(ids.insert(panel["id"].as_u64().unwrap()), "{panel}");
        let uid = panel["datasource"]["uid"].as_str().unwrap();
        assert!(matches!(uid, "prometheus" | "jaeger"), "{panel}");
        for target in panel["targets"].as_array().unwrap() {
            assert_eq!(target["datasource"]["uid"], uid);
            if uid == "prometheus" {
                prometheus_queries.push(target["expr"].as_str().unwrap().to_owned());
            } else {
                assert_eq!(target["queryType"], "search");
                assert_eq!(target["service"], "claude-code");
                session_panel |= target["tags"] == "session.id=$session";
            }
        }
    }
    assert!(
        session_panel,
        "a panel finds the session's traces by session.id"
    );
    assert!(
        dashboard["links"][0]["url"]
            .as_str()
            .unwrap()
            .ends_with("/sessions/${session}"),
        "and links to the session on the collector's page"
    );

    // Every Prometheus query answers from a real Prometheus scraping a collector that
    // took the captured spans, in two waves so rates are real.
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&dir.path().join("data"));
    let prometheus =
        crate::prometheus::Prometheus::scraping(collector.url.trim_start_matches("http://"));
    replay(&collector, "a");
    prometheus.query_until("traces_span_metrics_calls_total", |r| !r.is_empty());
    replay(&collector, "b");
    for expr in prometheus_queries {
        let expr = expr.replace("$__rate_interval", "1m");
        prometheus.query_until(&expr, |r| {
            r.iter().any(|s| {
                s["value"][1]
                    .as_str()
                    .and_then(|v| v.parse::<f64>().ok())
                    .is_some_and(|v| v > 0.0)
            })
        });
    }
}

#[test]
fn install_traces_sets_what_claude_code_needs_and_uninstall_removes_it() {
    let home = tempfile::tempdir().unwrap();
    let settings = home.path().join(".claude/settings.json");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    let mine = json!({"env": {"MY_VAR": "kept"}, "model": "claude-sonnet-4-5"});
    std::fs::write(&settings, mine.to_string()).unwrap();
    let run = |args: &[&str]| {
        let output = crate::support::Run::new(args, home.path()).output();
        assert!(
            output.status.success(),
            "{}",
            crate::support::stderr(&output)
        );
    };
    run(&[
        "install",
        "--user",
        "--url",
        "http://127.0.0.1:9091",
        "--traces",
    ]);
    let installed: Value =
        serde_json::from_str(&std::fs::read_to_string(&settings).unwrap()).unwrap();
    for (key, value) in [
        ("CLAUDE_CODE_ENABLE_TELEMETRY", "1"),
        ("CLAUDE_CODE_ENHANCED_TELEMETRY_BETA", "1"),
        ("OTEL_TRACES_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9091"),
    ] {
        assert_eq!(installed["env"][key], value, "{key}");
    }
    run(&["uninstall", "--user"]);
    let after: Value = serde_json::from_str(&std::fs::read_to_string(&settings).unwrap()).unwrap();
    assert_eq!(after, mine);
}

/// CLAUDE_TELEMETRY_TRACES as the compose file passes it: empty (unset on the host) is
/// off and no error, `1` is on, an unknown spelling of off is off.
#[test]
fn install_reads_claude_telemetry_traces_as_compose_passes_it() {
    for (value, on) in [
        ("", false),
        ("0", false),
        ("false", false),
        ("1", true),
        ("yes", true),
    ] {
        let home = tempfile::tempdir().unwrap();
        let output = crate::support::Run::new(
            &["install", "--user", "--url", "http://127.0.0.1:9091"],
            home.path(),
        )
        .env("CLAUDE_TELEMETRY_TRACES", value)
        .output();
        assert!(
            output.status.success(),
            "CLAUDE_TELEMETRY_TRACES={value:?}: {}",
            crate::support::stderr(&output)
        );
        let settings = std::fs::read_to_string(home.path().join(".claude/settings.json")).unwrap();
        let installed: Value = serde_json::from_str(&settings).unwrap();
        let exporter = installed["env"]["OTEL_TRACES_EXPORTER"].as_str();
        assert_eq!(
            exporter == Some("otlp"),
            on,
            "CLAUDE_TELEMETRY_TRACES={value:?}"
        );
    }
}

/// What the waterfall shows of each span, measured in the browser: its id, depth, class,
/// the bar's and track's boxes, the label's box and left padding, the bar's colour.
const MEASURE: &str = r#"[...document.querySelectorAll('#traces article.trace')].map(article => ({
  trace: article.dataset.traceId,
  rows: [...article.querySelectorAll('.waterfall li')].map(li => {
    const box = e => { const r = li.querySelector(e).getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; };
    return {
      span: li.dataset.spanId,
      depth: Number(li.style.getPropertyValue('--depth')),
      class: li.className,
      bar: box('.bar'), track: box('.track'), label: box('.label'),
      labelText: li.querySelector('.label').textContent,
      figures: li.querySelector('.figures').textContent,
      colour: getComputedStyle(li.querySelector('.bar')).backgroundColor,
      padding: parseFloat(getComputedStyle(li.querySelector('.label')).paddingLeft),
    };
  }),
}))"#;

#[test]
fn the_waterfall_reads_on_a_laptop_and_a_phone() {
    use crate::page::Browser;
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&dir.path().join("data"));
    replay(&collector, "b");
    let session = session_of("b");
    let api = get_json(&collector, &format!("/api/v1/sessions/{session}/traces"));
    let traces = api["traces"].as_array().unwrap();
    let browser = Browser::launch(&[]);
    let mut tab = browser.tab();
    tab.call("Page.enable", json!({}));
    for (name, screen, height, mobile) in [
        ("laptop", 1366_u32, 900_u32, false),
        ("phone", 390, 844, true),
    ] {
        tab.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": screen, "height": height, "deviceScaleFactor": if mobile { 3 } else { 1 }, "mobile": mobile}),
        );
        tab.open(&format!("{}/sessions/{session}", collector.url));
        let shown = tab.eval(MEASURE);
        let shown = shown.as_array().unwrap();
        assert_eq!(shown.len(), traces.len(), "{name}: one block per trace");
        for (block, trace) in shown.iter().zip(traces) {
            assert_eq!(block["trace"], trace["trace_id"]);
            let rows = block["rows"].as_array().unwrap();
            let spans = nodes(trace);
            assert_eq!(rows.len(), spans.len(), "{name}: a row per span");
            let total = trace["duration_ms"].as_f64().unwrap();
            for (row, span) in rows.iter().zip(&spans) {
                assert_eq!(row["span"], span["span_id"], "{name}: rows in tree order");
                let at = |key: &str, i: usize| row[key][i].as_f64().unwrap();
                let track = (at("track", 0), at("track", 2));
                let left = (at("bar", 0) - track.0) / track.1;
                let width = at("bar", 2) / track.1;
                let offset = span["offset_ms"].as_f64().unwrap() / total;
                let length = span["duration_ms"].as_f64().unwrap() / total;
                let pixel = 1.5 / track.1;
                assert!(
                    (left - offset).abs() <= pixel,
                    "{name}: {row} starts at {offset}"
                );
                assert!(
                    (width - length).abs() <= pixel
                        || (length * track.1 < 2.0 && at("bar", 2) <= 2.5),
                    "{name}: {row} lasts {length}"
                );
                assert!(
                    at("bar", 0) + at("bar", 2) <= track.0 + track.1 + 1.0,
                    "{name}: inside"
                );
                let failed = span["status"] == "ERROR";
                assert_eq!(
                    row["class"].as_str().unwrap().contains("failed"),
                    failed,
                    "{row}"
                );
                if failed {
                    assert_eq!(row["colour"], "rgb(220, 38, 38)", "{name}: failures in red");
                    assert!(
                        row["labelText"].as_str().unwrap().contains("failed"),
                        "and in words"
                    );
                }
                if span["subagent"].is_string() {
                    assert!(row["class"].as_str().unwrap().contains("subagent"));
                    assert!(row["depth"].as_u64().unwrap() >= 3, "under the Agent call");
                }
                if span["name"] == "claude_code.llm_request" {
                    let figures = row["figures"].as_str().unwrap();
                    assert!(
                        figures.contains("TTFT") && figures.contains("tok"),
                        "{figures}"
                    );
                }
                if mobile {
                    // Stacked: the label over its bar, each the screen's width.
                    assert!(
                        at("track", 1) >= at("label", 1) + at("label", 3) - 1.0,
                        "{row}"
                    );
                    assert!(at("label", 2) > 0.6 * f64::from(screen), "{row}");
                } else {
                    assert!(
                        (at("track", 1) - at("label", 1)).abs() < at("label", 3),
                        "one line: {row}"
                    );
                }
            }
            // Deeper rows are indented further.
            let padding = |depth: u64| {
                rows.iter()
                    .filter(|r| r["depth"].as_u64() == Some(depth))
                    .map(|r| r["padding"].as_f64().unwrap())
                    .next()
            };
            if let (Some(top), Some(deeper)) = (padding(0), padding(2)) {
                assert!(deeper > top, "{name}: {top} {deeper}");
            }
        }
        let overflow = tab.eval("document.documentElement.scrollWidth - window.innerWidth");
        assert!(
            overflow.as_f64().unwrap() <= 0.0,
            "{name}: no sideways scrolling ({overflow})"
        );
        tab.eval("document.querySelector('#traces').scrollIntoView()");
        tab.screenshot(&format!("waterfall-{name}.png"));
    }
}

/// The newest Claude Code release, the one whose traces the capture holds.
const CLAUDE_CODE_TRACES_VERSION: &str = "2.1.332";

/// The spans in OTLP export requests as a client sent them (protobuf or JSON, gzip or
/// not), keyed as [`SpanKey`], with their session.
fn spans_in(requests: &[testkit::Received]) -> Vec<(String, SpanKey)> {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    let mut bodies = Vec::new();
    for received in requests.iter().filter(|r| r.url.starts_with("/v1/traces")) {
        let mut body = received.body.clone();
        if received.header("content-encoding") == Some("gzip") {
            body = gunzip(&body);
        }
        let json = received
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json"));
        let request = if json {
            let value: Value = serde_json::from_slice(&body).unwrap();
            collector::processors::otlp::json::traces_request(&value).unwrap()
        } else {
            ExportTraceServiceRequest::decode(body.as_slice()).unwrap()
        };
        bodies.push(request);
    }
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let mut out = Vec::new();
    for request in &bodies {
        for rs in &request.resource_spans {
            for ss in &rs.scope_spans {
                for span in &ss.spans {
                    let session = span
                        .attributes
                        .iter()
                        .find(|a| a.key == "session.id")
                        .map(|a| {
                            collector::processors::otlp::translate::value_text(a.value.as_ref())
                        })
                        .unwrap_or_default();
                    out.push((
                        session,
                        (
                            hex(&span.trace_id),
                            hex(&span.span_id),
                            hex(&span.parent_span_id),
                            span.name.clone(),
                            span.start_time_unix_nano.to_string(),
                            span.end_time_unix_nano.to_string(),
                        ),
                    ));
                }
            }
        }
    }
    out
}

/// A real Claude Code session with tracing on: a tool call that fails and a subagent
/// among its calls, its OTLP export passing through a recording relay to the collector.
fn real_session_is_traced_as_exported(protocol: &str) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let collector = Collector::start(&data);
    let relay = testkit::Relay::start(&collector.url);
    let api = testkit::messages_api::MessagesApi::start(testkit::messages_api::Usage::default());
    use testkit::messages_api::Reply;
    api.script(
        "trace this work",
        vec![
            Reply::bash("ls"),
            Reply::bash("ls /nonexistent-dir-for-the-trace"),
            Reply::tool(
                "Agent",
                json!({"description": "look around", "prompt": "subagent task for the trace: say hello", "subagent_type": "general-purpose"}),
            ),
            Reply::text("All done."),
        ],
    );
    api.script(
        "subagent task for the trace",
        vec![
            Reply::bash("echo from-subagent"),
            Reply::text("Said hello."),
        ],
    );
    let home = dir.path().join("home");
    let project = home.join("project");
    std::fs::create_dir_all(&project).unwrap();
    let output = crate::support::Run::new(
        &[
            "install",
            "--user",
            "--url",
            &collector.url,
            "--traces",
            "--user-name",
            "Jane Doe",
        ],
        &home,
    )
    .output();
    assert!(
        output.status.success(),
        "{}",
        crate::support::stderr(&output)
    );
    // Exports every second, through the relay, in the protocol under test.
    let path = home.join(".claude/settings.json");
    let mut settings: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for (key, value) in [
        ("OTEL_METRIC_EXPORT_INTERVAL", "1000"),
        ("OTEL_LOGS_EXPORT_INTERVAL", "1000"),
        ("OTEL_TRACES_EXPORT_INTERVAL", "1000"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
    ] {
        settings["env"][key] = json!(value);
    }
    settings["env"]["OTEL_EXPORTER_OTLP_ENDPOINT"] = json!(relay.url());
    std::fs::write(&path, settings.to_string()).unwrap();
    let cache = crate::support::repo().join("target/claude-code");
    let claude = testkit::claude_code::installed(&cache, CLAUDE_CODE_TRACES_VERSION);
    let output = std::process::Command::new(claude)
        .args([
            "-p",
            "trace this work, please",
            "--output-format",
            "json",
            "--model",
            "claude-sonnet-4-5",
            "--dangerously-skip-permissions",
        ])
        .current_dir(&project)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("ANTHROPIC_BASE_URL", api.url())
        .env("ANTHROPIC_API_KEY", "sk-ant-test-offline")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("DISABLE_AUTOUPDATER", "1")
        .env("IS_SANDBOX", "1")
        .env("CLAUDE_TELEMETRY_STATE_DIR", dir.path().join("state"))
        .output()
        .expect("run claude");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "claude failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: Value = serde_json::from_str(&stdout).unwrap();
    let session = result["session_id"].as_str().unwrap().to_owned();

    // Every exported span stored: the tree holds exactly what went out.
    let exported = || -> BTreeSet<SpanKey> {
        spans_in(&relay.requests())
            .into_iter()
            .filter(|(s, _)| *s == session)
            .map(|(_, key)| key)
            .collect()
    };
    let path = format!("/api/v1/sessions/{session}/traces");
    let traces = until(
        "every exported span in the tree",
        || get_json(&collector, &path),
        |traces| {
            let sent = exported();
            !sent.is_empty() && tree_spans(traces).into_iter().collect::<BTreeSet<_>>() == sent
        },
    );
    assert!(
        relay.statuses().iter().all(|s| *s == 200),
        "the collector took every export: {:?}",
        relay.statuses()
    );
    let shown = tree_spans(&traces);
    assert_eq!(shown.len(), exported().len(), "each span once");
    let all: Vec<Value> = traces["traces"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(nodes)
        .collect();
    let interactions = all
        .iter()
        .filter(|n| n["name"] == "claude_code.interaction")
        .count();
    assert!(interactions >= 1);
    // The failing tool call is marked, and the subagent's spans sit under the call that
    // started it.
    let failed: Vec<&Value> = all.iter().filter(|n| n["status"] == "ERROR").collect();
    assert_eq!(failed.len(), 1, "{failed:#?}");
    let agent = all
        .iter()
        .find(|n| n["name"] == "claude_code.tool" && n["attributes"]["tool_name"] == "Agent")
        .expect("the Agent call");
    let under_agent: Vec<Value> = nodes(&json!({"roots": [agent]}));
    let subagent: Vec<&Value> = all.iter().filter(|n| n["subagent"].is_string()).collect();
    assert!(
        subagent.len() >= 3,
        "the subagent's request, Bash call and answer"
    );
    for span in &subagent {
        assert!(
            under_agent.iter().any(|n| n["span_id"] == span["span_id"]),
            "{} is under the Agent call",
            span["name"]
        );
    }
    // Joined to hook events by tool_use_id, and to log events by prompt.
    for tool in all.iter().filter(|n| n["name"] == "claude_code.tool") {
        let hooks = tool["guard"]["hook_events"].as_array();
        assert!(
            hooks.is_some_and(|h| h.iter().any(|e| e == "PreToolUse")),
            "{} joined to its hook events: {tool}",
            tool["attributes"]["tool_name"]
        );
    }
    assert!(
        traces["traces"][0]["prompt_id"].is_string(),
        "joined to its prompt"
    );
    // Span metrics are a count over what is stored; the page shows every trace.
    assert_span_metrics_match_the_store(&collector, &data);
    promtool_clean(&collector, dir.path());
    let (status, page) = collector.get(&format!("/sessions/{session}"));
    assert_eq!(status, 200);
    assert_eq!(
        page.matches("<article class=\"trace\"").count(),
        traces["traces"].as_array().unwrap().len()
    );
}

#[test]
fn a_real_traced_session_over_protobuf_ends_with_every_span_stored_as_exported() {
    real_session_is_traced_as_exported("http/protobuf");
}

#[test]
fn a_real_traced_session_over_json_ends_with_every_span_stored_as_exported() {
    real_session_is_traced_as_exported("http/json");
}

#[test]
fn behind_a_token_traces_need_it_like_every_export() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start_with(
        &dir.path().join("data"),
        &[],
        &[("CLAUDE_TELEMETRY_TOKEN", "a-long-enough-test-token")],
    );
    let export = captures()
        .into_iter()
        .find(|c| c.session == "a" && c.path == "/v1/traces")
        .unwrap();
    let body = export.body.to_string();
    let url = format!("{}/v1/traces", collector.url);
    let json = ("content-type", "application/json");
    let (status, _) = request("POST", &url, Some(body.as_bytes()), &[json]);
    assert_eq!(status, 401);
    let wrong = ("authorization", "Bearer not-the-token-at-all");
    let (status, _) = request("POST", &url, Some(body.as_bytes()), &[json, wrong]);
    assert_eq!(status, 401);
    assert_eq!(
        collector
            .post("/v1/traces", "application/json", body.as_bytes())
            .0,
        200
    );
    // The page's JSON needs it too.
    let (status, _) = collector.get(&format!("/api/v1/sessions/{}/traces", session_of("a")));
    assert_eq!(status, 401);
}
