//! `claude-telemetry serve`: the real collector, fed by the real hook over HTTP.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::thread;

use serde_json::{Value, json};

use crate::support::collector::{Collector, announce_oversized, parse_metrics, request, spawn};
use crate::support::{Run, sample, stderr, stdout};

const WHO: &str =
    "user_name=\"Jane Doe\",user_email=\"jane@example.com\",project=\"project\",model=\"\"";

/// Runs the real hook for `payload` against the collector, as Jane.
fn hook(collector: &Collector, state: &Path, payload: &Value) -> std::process::Output {
    let output = collector
        .hook_command(state, "Jane Doe")
        .env("CLAUDE_TELEMETRY_RETRY_AFTER_MS", "0")
        .env("USER_EMAIL", "jane@example.com")
        .stdin(payload.to_string());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    output
}

/// One whole session from the captured payloads, plus a call the guard denies.
fn session(collector: &Collector, state: &Path) {
    for name in [
        "SessionStart",
        "UserPromptSubmit",
        "PreToolUse:Bash",
        "PostToolUse:Bash",
        "PreToolUse:Read",
        "PostToolUse:Read",
        "PostToolUseFailure:Bash",
        "PermissionDenied:Bash",
        "SubagentStart",
        "PreCompact",
        "Stop",
    ] {
        let mut payload = sample(name);
        // One session id for the whole story (the captures come from several runs).
        payload["session_id"] = json!("s-jane-1");
        hook(collector, state, &payload);
    }
    let mut denied = sample("PreToolUse:Bash");
    denied["session_id"] = json!("s-jane-1");
    denied["tool_input"]["command"] = json!("rm -rf ~");
    denied["tool_use_id"] = json!("toolu_denied");
    let output = hook(collector, state, &denied);
    assert!(stdout(&output).contains("\"deny\""));
    let mut end = sample("SessionEnd");
    end["session_id"] = json!("s-jane-1");
    hook(collector, state, &end);
}

fn value(metrics: &std::collections::BTreeMap<String, f64>, series: &str) -> f64 {
    *metrics
        .get(series)
        .unwrap_or_else(|| panic!("no series {series}"))
}

#[test]
fn a_session_of_real_payloads_gives_exactly_the_expected_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&dir.path().join("data"));
    session(&collector, dir.path());
    let metrics = parse_metrics(&collector.metrics());
    let m = |series: &str| value(&metrics, series);

    for (event, tool, n) in [
        ("SessionStart", "", 1.0),
        ("UserPromptSubmit", "", 1.0),
        ("PreToolUse", "Bash", 2.0),
        ("PostToolUse", "Bash", 1.0),
        ("PreToolUse", "Read", 1.0),
        ("PostToolUse", "Read", 1.0),
        ("PostToolUseFailure", "Bash", 1.0),
        ("PermissionDenied", "Bash", 1.0),
        ("SubagentStart", "", 1.0),
        ("PreCompact", "", 1.0),
        ("Stop", "", 1.0),
        ("SessionEnd", "", 1.0),
    ] {
        assert_eq!(
            m(&format!(
                "claude_code_hook_events_total{{{WHO},event=\"{event}\",tool=\"{tool}\"}}"
            )),
            n,
            "{event} {tool}"
        );
    }
    assert_eq!(
        m(&format!(
            "claude_code_tool_calls_total{{{WHO},tool=\"Bash\",outcome=\"success\"}}"
        )),
        1.0
    );
    assert_eq!(
        m(&format!(
            "claude_code_tool_calls_total{{{WHO},tool=\"Read\",outcome=\"success\"}}"
        )),
        1.0
    );
    assert_eq!(
        m(&format!(
            "claude_code_tool_calls_total{{{WHO},tool=\"Bash\",outcome=\"failure\"}}"
        )),
        1.0
    );
    assert_eq!(
        m(&format!(
            "claude_code_tool_calls_total{{{WHO},tool=\"Bash\",outcome=\"blocked\"}}"
        )),
        2.0,
        "guard deny and PermissionDenied"
    );
    assert_eq!(
        m(&format!(
            "claude_code_security_blocks_total{{{WHO},category=\"dangerous_rm\",rule=\"rm.home\",tool=\"Bash\"}}"
        )),
        1.0
    );
    assert_eq!(
        m(&format!(
            "claude_code_sessions_started_total{{{WHO},source=\"startup\"}}"
        )),
        1.0
    );
    assert_eq!(
        m(&format!(
            "claude_code_sessions_ended_total{{{WHO},reason=\"other\"}}"
        )),
        1.0
    );
    assert_eq!(m(&format!("claude_code_active_sessions{{{WHO}}}")), 0.0);
    assert_eq!(
        m(&format!(
            "claude_code_session_duration_seconds_count{{{WHO}}}"
        )),
        1.0
    );
    assert_eq!(m(&format!("claude_code_prompts_total{{{WHO}}}")), 1.0);
    assert_eq!(
        m(&format!(
            "claude_code_subagents_total{{{WHO},agent_type=\"general-purpose\"}}"
        )),
        1.0
    );
    assert_eq!(
        m(&format!(
            "claude_code_compactions_total{{{WHO},trigger=\"manual\"}}"
        )),
        1.0
    );
    assert_eq!(
        m(&format!("claude_code_guard_latency_seconds_count{{{WHO}}}")),
        3.0,
        "every PreToolUse was judged"
    );
    // Durations from duration_ms of the captured payloads.
    let bash_ms = [
        sample("PostToolUse:Bash"),
        sample("PostToolUseFailure:Bash"),
    ]
    .iter()
    .map(|p| p["duration_ms"].as_f64().unwrap())
    .sum::<f64>();
    assert_eq!(
        m(&format!(
            "claude_code_tool_duration_seconds_count{{{WHO},tool=\"Bash\"}}"
        )),
        2.0
    );
    assert!(
        (m(&format!(
            "claude_code_tool_duration_seconds_sum{{{WHO},tool=\"Bash\"}}"
        )) - bash_ms / 1000.0)
            .abs()
            < 1e-9
    );
    assert_eq!(
        m("claude_telemetry_events_received_total{source=\"hook\"}"),
        13.0
    );
}

#[test]
fn promtool_finds_nothing_to_complain_about() {
    let dir = tempfile::tempdir().unwrap();
    // Budgets of everyone, a user and a project: their gauges and spending too.
    let collector = Collector::start_with(
        &dir.path().join("data"),
        &[],
        &[
            ("CLAUDE_TELEMETRY_MONTHLY_BUDGET_USD", "2500"),
            // A name with a quote, a backslash and markup: escaped in the labels.
            (
                "CLAUDE_TELEMETRY_USER_MONTHLY_BUDGETS_USD",
                r#"ana@example.com=500,bob=0,we"ird\<b>name=7"#,
            ),
            (
                "CLAUDE_TELEMETRY_PROJECT_MONTHLY_BUDGETS_USD",
                "acme/api=1200",
            ),
        ],
    );
    session(&collector, dir.path());
    let text = collector.metrics();
    for family in [
        "claude_telemetry_monthly_budget_usd{project=\"acme/api\"}",
        "claude_telemetry_month_to_date_cost_usd{user=\"bob\"}",
        "claude_telemetry_month_projected_cost_usd ",
        r#"claude_telemetry_monthly_budget_usd{user="we\"ird\\<b>name"} 7"#,
    ] {
        assert!(text.contains(family), "{family}: {text}");
    }
    let file = dir.path().join("metrics.txt");
    std::fs::write(&file, &text).unwrap();
    let output = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&file).unwrap())
        .output()
        .expect("promtool is needed (Debian package `prometheus`; scripts/test installs it)");
    let complaints = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success() && complaints.trim().is_empty(),
        "promtool: {complaints}"
    );
}

#[test]
fn openmetrics_is_served_to_scrapers_that_ask_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&dir.path().join("data"));
    hook(&collector, dir.path(), &sample("UserPromptSubmit"));
    let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
    let mut response = agent
        .get(format!("{}/metrics", collector.url))
        .header(
            "accept",
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        )
        .call()
        .unwrap();
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = response.body_mut().read_to_string().unwrap();
    assert!(text.ends_with("# EOF\n"));
    assert!(
        text.contains("# TYPE claude_code_prompts counter\n"),
        "{text}"
    );
    assert!(text.contains("claude_code_prompts_total{"), "{text}");
}

#[test]
fn redelivered_events_are_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&dir.path().join("data"));
    let mut event = sample("UserPromptSubmit");
    event["claude_telemetry"] = json!({
        "event_id": "01900000-0000-7000-8000-000000000001", "received_at": "2026-11-24T05:00:00.000Z",
        "host": "h", "user_name": "u", "hook_latency_us": 1, "hook_version": "t"
    });
    let body = event.to_string();
    let (status, answer) = collector.post("/v1/hooks", "application/json", body.as_bytes());
    assert_eq!(
        (status, answer.as_str()),
        (200, "{\"accepted\":1,\"duplicates\":0}")
    );
    let (status, answer) = collector.post(
        "/v1/hooks",
        "application/x-ndjson",
        format!("{body}\n{body}\n").as_bytes(),
    );
    assert_eq!(
        (status, answer.as_str()),
        (200, "{\"accepted\":0,\"duplicates\":2}")
    );
    let metrics = parse_metrics(&collector.metrics());
    assert_eq!(
        value(
            &metrics,
            "claude_code_prompts_total{user_name=\"u\",user_email=\"\",project=\"project\",model=\"\"}"
        ),
        1.0
    );
    assert_eq!(
        value(&metrics, "claude_telemetry_events_duplicate_total"),
        2.0
    );
}

#[test]
fn counters_continue_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let collector = Collector::start(&data);
    session(&collector, dir.path());
    let before = parse_metrics(&collector.metrics());
    collector.stop();
    let collector = Collector::start(&data);
    let after = parse_metrics(&collector.metrics());
    let hook_series: Vec<_> = before
        .keys()
        .filter(|k| k.starts_with("claude_code_"))
        .collect();
    assert!(hook_series.len() > 20);
    for series in hook_series {
        assert_eq!(after.get(series), before.get(series), "{series}");
    }
    session(&collector, dir.path());
    let again = parse_metrics(&collector.metrics());
    assert_eq!(
        value(&again, &format!("claude_code_prompts_total{{{WHO}}}")),
        2.0,
        "continues, not reset"
    );
}

/// Reads `stream` until `text` has come (or the stream ends); what it read.
fn read_until(stream: &mut std::net::TcpStream, text: &str) -> String {
    use std::io::Read;
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains(text) {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => seen.extend_from_slice(&buffer[..n]),
            Err(err) => panic!(
                "reading the stream: {err}; read {}",
                String::from_utf8_lossy(&seen)
            ),
        }
    }
    String::from_utf8_lossy(&seen).into_owned()
}

#[test]
fn sigterm_ends_open_live_streams_and_stops_with_every_event_stored() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let collector = Collector::start(&data);
    let addr = collector.url.trim_start_matches("http://").to_owned();
    // Two listeners, as a page and a `curl -N` hold them.
    let mut streams: Vec<_> = (0..2)
        .map(|_| {
            let mut stream = std::net::TcpStream::connect(&addr).unwrap();
            stream
                .set_read_timeout(Some(std::time::Duration::from_secs(60)))
                .unwrap();
            write!(
                stream,
                "GET /api/v1/events/stream HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n"
            )
            .unwrap();
            let head = read_until(&mut stream, "\r\n\r\n");
            assert!(head.starts_with("HTTP/1.1 200"), "{head}");
            stream
        })
        .collect();
    let ids: BTreeSet<String> = (0..20)
        .map(|n| format!("01900000-0000-7000-8000-0000000000{n:02}"))
        .collect();
    for id in &ids {
        let event = json!({
            "hook_event_name": "UserPromptSubmit", "session_id": "s-streamed",
            "claude_telemetry": {"event_id": id, "received_at": "2026-11-24T05:00:00.000Z",
                "host": "h", "user_name": "streamer", "hook_latency_us": 1, "hook_version": "t"}
        });
        let (status, body) = collector.post(
            "/v1/hooks",
            "application/json",
            event.to_string().as_bytes(),
        );
        assert_eq!(status, 200, "{body}");
    }
    // The streams are live: they carry what was stored.
    for stream in &mut streams {
        assert!(read_until(stream, "s-streamed").contains("s-streamed"));
    }

    let status = collector
        .stop_within(std::time::Duration::from_secs(30))
        .expect("the collector stops within 30 s of SIGTERM though streams are open");
    assert_eq!(status.code(), Some(0), "{status}");
    // Each stream was ended, not left hanging: its connection reaches its end.
    for stream in &mut streams {
        read_until(stream, "never sent");
    }
    let db = rusqlite::Connection::open(data.join("events.sqlite3")).unwrap();
    let stored: BTreeSet<String> = db
        .prepare("SELECT event_id FROM events")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(stored, ids, "every acknowledged event is stored");
}

#[test]
fn a_second_collector_on_the_same_data_directory_is_refused_while_readers_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let first = Collector::start(&data);
    session(&first, dir.path());

    let refused =
        spawn(&data, &[], &[]).expect_err("a second collector on the same directory is refused");
    assert!(
        refused.contains(&data.display().to_string()),
        "names the directory: {refused}"
    );
    assert!(
        refused.contains(&format!("process id {}", first.pid())),
        "names who holds it: {refused}"
    );
    // Another directory is fine.
    drop(Collector::start(&dir.path().join("other")));

    // Reading the store locally does not need the directory to itself.
    let report = Run::new(
        &[
            "report",
            "--json",
            "--data-dir",
            data.to_str().unwrap(),
            "--since",
            "3650d",
        ],
        dir.path(),
    )
    .output();
    assert_eq!(report.status.code(), Some(0), "{}", stderr(&report));
    let rows: Value = serde_json::from_str(&stdout(&report)).unwrap();
    assert_eq!(rows[0]["sessions"], 1, "{rows}");

    // Once the first has stopped, the directory is free again.
    first.stop();
    let next = Collector::start(&data);
    assert!(next.metrics().contains("claude_code_prompts_total"));
}

#[test]
fn after_kill_9_every_acknowledged_event_is_stored_and_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let collector = Collector::start(&data);
    let url = collector.url.clone();
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Load: four senders posting distinct events until the collector dies.
    let senders: Vec<_> = (0..4)
        .map(|sender| {
            let (url, acknowledged, stop) = (url.clone(), acknowledged.clone(), stop.clone());
            thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
                for n in 0..100_000u32 {
                    if stop.load(std::sync::atomic::Ordering::SeqCst) {
                        break;
                    }
                    let id = format!("01900000-0000-7000-8000-{sender:04}{n:08}");
                    let event = json!({
                        "hook_event_name": "UserPromptSubmit", "session_id": format!("load-{sender}"),
                        "claude_telemetry": {"event_id": id, "received_at": "2026-11-24T05:00:00.000Z",
                            "host": "h", "user_name": "load", "hook_latency_us": 1, "hook_version": "t"}
                    });
                    match agent.post(format!("{url}/v1/hooks")).header("content-type", "application/json").send(event.to_string()) {
                        Ok(response) if response.status().as_u16() == 200 => {
                            acknowledged.lock().unwrap().insert(id);
                        }
                        _ => break, // the collector is gone
                    }
                }
            })
        })
        .collect();
    // Let some load through, then crash it mid-stream.
    while acknowledged.lock().unwrap().len() < 500 {
        thread::yield_now();
    }
    collector.crash();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for sender in senders {
        sender.join().unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();

    // Hooks that run while it is down spool their events.
    let state = dir.path().join("hooks");
    for _ in 0..3 {
        let output = Run::new(&["hook"], &state)
            .env("CLAUDE_TELEMETRY_URL", testkit::closed_port_url())
            .env("CLAUDE_TELEMETRY_STATE_DIR", state.join("state"))
            .env("USER_NAME", "spooler")
            .stdin(sample("UserPromptSubmit").to_string());
        assert_eq!(output.status.code(), Some(0));
    }

    let collector = Collector::start(&data);
    let db = rusqlite::Connection::open(data.join("events.sqlite3")).unwrap();
    let stored: BTreeSet<String> = db
        .prepare("SELECT event_id FROM events")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let missing: Vec<_> = acknowledged.difference(&stored).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged events lost, e.g. {:?}",
        missing.len(),
        missing.first()
    );
    let metrics = parse_metrics(&collector.metrics());
    let counted = value(
        &metrics,
        "claude_code_prompts_total{user_name=\"load\",user_email=\"\",project=\"\",model=\"\"}",
    );
    assert_eq!(
        counted as usize,
        stored.len(),
        "each stored event counted exactly once"
    );

    // The next hook with the collector up drains the spool.
    let output = Run::new(&["hook"], &state)
        .env("CLAUDE_TELEMETRY_URL", &collector.url)
        .env("CLAUDE_TELEMETRY_STATE_DIR", state.join("state"))
        .env("USER_NAME", "spooler")
        .stdin(sample("Stop").to_string());
    assert_eq!(output.status.code(), Some(0));
    let metrics = parse_metrics(&collector.metrics());
    assert_eq!(
        value(
            &metrics,
            "claude_code_prompts_total{user_name=\"spooler\",user_email=\"\",project=\"project\",model=\"\"}"
        ),
        3.0
    );
}

#[test]
fn bad_requests_get_clear_4xx_and_the_collector_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&dir.path().join("data"));
    let json = "application/json";
    let cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        (
            "not json",
            json,
            b"{\"hook_event_name\":".to_vec(),
            400,
            "not JSON",
        ),
        (
            "not an object",
            json,
            b"[1,2,3]".to_vec(),
            400,
            "must be a JSON object",
        ),
        (
            "no event name",
            json,
            b"{\"session_id\":\"s\"}".to_vec(),
            400,
            "no hook_event_name",
        ),
        (
            "bad enrichment",
            json,
            b"{\"hook_event_name\":\"Stop\",\"claude_telemetry\":5}".to_vec(),
            400,
            "bad claude_telemetry",
        ),
        ("empty", json, Vec::new(), 400, "not JSON"),
        ("not utf-8", json, vec![0xff, 0xfe, 0x7b], 400, "not UTF-8"),
        (
            "bad ndjson line",
            "application/x-ndjson",
            b"{\"hook_event_name\":\"Stop\"}\nnope\n".to_vec(),
            400,
            "line 2",
        ),
        (
            "raw event in a batch",
            "application/x-ndjson",
            b"{\"hook_event_name\":\"Stop\"}\n".to_vec(),
            400,
            "batched events",
        ),
        (
            "wrong type",
            "text/html",
            b"<html>".to_vec(),
            415,
            "unsupported content type",
        ),
    ];
    for (what, content_type, body, status, needle) in cases {
        let (got, text) = collector.post("/v1/hooks", content_type, &body);
        assert_eq!(got, status, "{what}: {text}");
        assert!(text.contains(needle), "{what}: {text}");
    }
    assert_eq!(
        announce_oversized(&collector.url, "/v1/hooks", json, 9 * 1024 * 1024),
        413
    );
    assert_eq!(collector.get("/v1/hooks").0, 405);
    assert_eq!(collector.get("/nowhere").0, 404);
    // Raw garbage and a body shorter than its Content-Length on the socket.
    let addr = collector.url.trim_start_matches("http://").to_owned();
    for raw in [
        &b"\x00\x01\x02garbage\r\n\r\n"[..],
        &b"POST /v1/hooks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"hook"[..],
    ] {
        use std::io::Write;
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        stream.write_all(raw).unwrap();
        drop(stream);
    }
    assert_eq!(collector.get("/-/healthy"), (200, "OK\n".to_owned()));
    hook(&collector, dir.path(), &sample("Stop"));
    let metrics = parse_metrics(&collector.metrics());
    assert_eq!(
        value(
            &metrics,
            "claude_telemetry_requests_rejected_total{reason=\"malformed\"}"
        ),
        7.0
    );
    assert_eq!(
        value(
            &metrics,
            "claude_telemetry_events_received_total{source=\"hook\"}"
        ),
        1.0
    );
}

#[test]
fn a_token_guards_everything_but_the_probes() {
    let dir = tempfile::tempdir().unwrap();
    let token = "a-long-enough-test-token";
    let collector = Collector::start_with(
        &dir.path().join("data"),
        &[],
        &[("CLAUDE_TELEMETRY_TOKEN", token)],
    );
    for guarded in ["/metrics", "/", "/api/v1/overview", "/api/v1/audit"] {
        assert_eq!(collector.get(guarded).0, 401, "{guarded}");
    }
    assert_eq!(collector.get("/-/healthy").0, 200);
    let bearer = format!("Bearer {token}");
    assert_eq!(
        request(
            "GET",
            &format!("{}/metrics", collector.url),
            None,
            &[("authorization", &bearer)]
        )
        .0,
        200
    );
    assert_eq!(
        request(
            "GET",
            &format!("{}/metrics", collector.url),
            None,
            &[("authorization", "Bearer wrong-token-of-the-same")]
        )
        .0,
        401
    );
    // The hook sends the token it is given.
    let output = Run::new(&["hook"], dir.path())
        .env("CLAUDE_TELEMETRY_URL", &collector.url)
        .env("CLAUDE_TELEMETRY_TOKEN", token)
        .env("CLAUDE_TELEMETRY_STATE_DIR", dir.path().join("state"))
        .stdin(sample("Stop").to_string());
    assert_eq!(output.status.code(), Some(0));
    assert!(stderr(&output).is_empty(), "{}", stderr(&output));
}

/// One HTTP/1.1 exchange over a fresh connection, exactly as written, redirects not
/// followed: the status, the head (lower-cased) and the body.
fn exchange(
    url: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String, String) {
    use std::io::{Read, Write};
    let addr = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_owned())
}

/// The `name=value` a response sets with `Set-Cookie`, if any.
fn set_cookie(head: &str) -> Option<String> {
    head.lines()
        .find_map(|line| line.strip_prefix("set-cookie: "))
        .map(|cookie| cookie.split(';').next().unwrap_or("").trim().to_owned())
}

#[test]
fn a_browser_signs_in_with_the_token_and_the_cookie_opens_only_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let token = "a-long-enough-test-token+/=&";
    let collector = Collector::start_with(&data, &[], &[("CLAUDE_TELEMETRY_TOKEN", token)]);
    collector.hook(dir.path(), "Jane Doe", &sample("PreToolUse:Bash"));
    let url = collector.url.clone();
    let form = [("content-type", "application/x-www-form-urlencoded")];

    // A page asked for without the token: the sign-in form, remembering where to go.
    let (status, head, body) = exchange(&url, "GET", "/sessions/abc?x=1", &[], b"");
    assert_eq!(status, 401);
    assert!(head.contains("content-type: text/html"), "{head}");
    assert!(
        body.contains("action=\"/login\"") && body.contains("value=\"/sessions/abc?x=1\""),
        "{body}"
    );
    assert!(
        !body.contains("setInterval"),
        "a sign-in page does not poll: {body}"
    );
    // Anything else still gets the plain 401.
    let (status, _, body) = exchange(&url, "GET", "/api/v1/overview", &[], b"");
    assert_eq!(status, 401);
    assert!(body.contains("bearer token"), "{body}");

    // A wrong token: the form again with a reason, no cookie.
    let (status, head, body) = exchange(
        &url,
        "POST",
        "/login",
        &form,
        b"token=not-the-token-at-all&next=%2F",
    );
    assert_eq!(status, 401);
    assert!(
        body.contains("not this collector") && set_cookie(&head).is_none(),
        "{head}{body}"
    );

    // The right token (form-encoded, with its `+/=&`): back to the page, with a cookie
    // that is not the token and that scripts cannot read.
    let encoded = "token=a-long-enough-test-token%2B%2F%3D%26&next=%2Fsessions%2Fabc";
    let (status, head, _) = exchange(&url, "POST", "/login", &form, encoded.as_bytes());
    assert_eq!(status, 303, "{head}");
    assert!(head.contains("location: /sessions/abc"), "{head}");
    assert!(
        head.contains("httponly") && head.contains("samesite=strict"),
        "{head}"
    );
    let cookie = set_cookie(&head).unwrap();
    assert!(!cookie.contains("a-long-enough"), "{cookie}");
    let with_cookie = [("cookie", cookie.as_str())];

    // The cookie reads the page and its JSON …
    let (status, _, body) = exchange(&url, "GET", "/", &with_cookie, b"");
    assert_eq!(status, 200);
    assert!(body.contains("data-figure=\"sessions-range\""), "{body}");
    let (status, _, body) = exchange(&url, "GET", "/api/v1/sessions", &with_cookie, b"");
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(sample("PreToolUse:Bash")["session_id"].as_str().unwrap()),
        "{body}"
    );
    // … and nothing else: not the metrics, not a write.
    assert_eq!(exchange(&url, "GET", "/metrics", &with_cookie, b"").0, 401);
    let event = sample("Stop").to_string();
    let json = [("content-type", "application/json"), with_cookie[0]];
    assert_eq!(
        exchange(&url, "POST", "/v1/hooks", &json, event.as_bytes()).0,
        401
    );
    assert_eq!(
        exchange(&url, "DELETE", "/metrics/job/x", &with_cookie, b"").0,
        401
    );

    // Sent elsewhere after signing in? Never: only to a page of this collector.
    for next in [
        "%2F%2Fevil.example%2F",
        "https%3A%2F%2Fevil.example%2F",
        "%2Fmetrics",
    ] {
        let body = format!("token=a-long-enough-test-token%2B%2F%3D%26&next={next}");
        let (status, head, _) = exchange(&url, "POST", "/login", &form, body.as_bytes());
        assert_eq!(status, 303);
        assert!(head.contains("location: /\r\n"), "{next}: {head}");
    }
    // Bad sign-in requests get a 4xx and change nothing.
    for (headers, body) in [
        (&form[..], &b"next=%2F"[..]),
        (&form[..], &b"token=%zz"[..]),
        (
            &[("content-type", "application/json")][..],
            &b"{\"token\": \"x\"}"[..],
        ),
        (&[][..], &b""[..]),
    ] {
        let (status, head, _) = exchange(&url, "POST", "/login", headers, body);
        assert!(
            (400..500).contains(&status),
            "{headers:?} {body:?}: {status}"
        );
        assert!(set_cookie(&head).is_none());
    }
    assert_eq!(
        announce_oversized(
            &url,
            "/login",
            "application/x-www-form-urlencoded",
            64 << 20
        ),
        413
    );
    assert_eq!(
        exchange(&url, "GET", "/", &with_cookie, b"").0,
        200,
        "still serving"
    );

    // A restart draws a new key: the old cookie no longer opens anything.
    collector.stop();
    let collector = Collector::start_with(&data, &[], &[("CLAUDE_TELEMETRY_TOKEN", token)]);
    assert_eq!(
        exchange(&collector.url, "GET", "/", &with_cookie, b"").0,
        401
    );
}

#[test]
fn beyond_loopback_a_token_is_required() {
    let dir = tempfile::tempdir().unwrap();
    let refused = spawn(&dir.path().join("a"), &["--listen", "0.0.0.0:0"], &[]);
    let message = refused.expect_err("refuses to start");
    assert!(message.contains("without a token"), "{message}");
    let (mut child, _) = spawn(
        &dir.path().join("b"),
        &["--listen", "0.0.0.0:0", "--insecure"],
        &[],
    )
    .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let (mut child, _) = spawn(
        &dir.path().join("c"),
        &["--listen", "0.0.0.0:0"],
        &[("CLAUDE_TELEMETRY_TOKEN", "a-long-enough-test-token")],
    )
    .unwrap();
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn a_raw_claude_code_http_hook_is_judged_and_answered() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&dir.path().join("data"));
    let mut event = sample("PreToolUse:Bash");
    event["tool_input"]["command"] = json!("rm -rf ~");
    let (status, answer) = collector.post(
        "/v1/hooks",
        "application/json",
        event.to_string().as_bytes(),
    );
    assert_eq!(status, 200);
    let answer: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["hookSpecificOutput"]["permissionDecision"], "deny");
    assert!(
        answer["hookSpecificOutput"]["permissionDecisionReason"]
            .as_str()
            .unwrap()
            .contains("rm.home")
    );
    let (status, answer) = collector.post(
        "/v1/hooks",
        "application/json",
        sample("PreToolUse:Read").to_string().as_bytes(),
    );
    assert_eq!((status, answer.as_str()), (200, "{}"));
    let metrics = parse_metrics(&collector.metrics());
    assert_eq!(
        value(
            &metrics,
            "claude_code_security_blocks_total{user_name=\"\",user_email=\"\",project=\"project\",model=\"\",category=\"dangerous_rm\",rule=\"rm.home\",tool=\"Bash\"}"
        ),
        1.0
    );
}

/// Claude Code's `http` hooks are judged on the hook's own path: with the configured
/// `[guard]`, and with the places resolved as the hook resolves them.
#[test]
fn a_raw_http_hook_is_judged_with_the_configured_guard_and_resolved_paths() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[guard]\npacks = [\"git\"]\n").unwrap();
    let collector = Collector::start_with(
        &dir.path().join("data"),
        &["--config", config.to_str().unwrap()],
        &[],
    );
    let judge = |command: &str, project_dir: &str| -> Value {
        let mut event = sample("PreToolUse:Bash");
        event["tool_input"]["command"] = json!(command);
        let (status, answer) = request(
            "POST",
            &format!("{}/v1/hooks", collector.url),
            Some(event.to_string().as_bytes()),
            &[
                ("content-type", "application/json"),
                ("x-claude-project-dir", project_dir),
            ],
        );
        assert_eq!(status, 200, "{command}: {answer}");
        serde_json::from_str(&answer).unwrap()
    };
    let project = "/home/dev/project";
    let answer = judge("git reset --hard HEAD~3", project);
    assert_eq!(
        answer["hookSpecificOutput"]["permissionDecision"], "deny",
        "the configured git pack applies: {answer}"
    );
    // Spelled with `..` and a trailing slash, the project is still where `build` is.
    assert_eq!(
        judge("rm -rf build", "/home/dev/elsewhere/../project/"),
        json!({}),
        "a delete inside the project is allowed"
    );
    assert_eq!(judge("rm -rf build", project), json!({}));
    let answer = judge("rm -rf ~", project);
    assert_eq!(answer["hookSpecificOutput"]["permissionDecision"], "deny");

    // A guard configuration that cannot be used stops the collector.
    std::fs::write(&config, "[guard]\nstrikt = true\n").unwrap();
    let refused = spawn(
        &dir.path().join("other"),
        &["--config", config.to_str().unwrap()],
        &[],
    );
    let message = refused.expect_err("refuses to start");
    assert!(
        message.contains("guard") && message.contains("strikt"),
        "{message}"
    );
}

#[test]
fn a_store_that_cannot_be_read_stops_start_up_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let collector = Collector::start(&data);
    hook(&collector, dir.path(), &sample("UserPromptSubmit"));
    collector.stop();
    rusqlite::Connection::open(data.join("events.sqlite3"))
        .unwrap()
        .execute(
            "INSERT INTO baseline (id, through_id, state) VALUES (1, 0, 'not a baseline')",
            [],
        )
        .unwrap();
    let message = spawn(&data, &[], &[]).expect_err("refuses to start with zeroed counters");
    assert!(
        message.contains("baseline") && message.contains("events.sqlite3"),
        "{message}"
    );
}

#[test]
fn the_store_keeps_metadata_only_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let collector = Collector::start(&data);
    hook(&collector, dir.path(), &sample("UserPromptSubmit"));
    hook(&collector, dir.path(), &sample("PostToolUse:Read"));
    let db = rusqlite::Connection::open(data.join("events.sqlite3")).unwrap();
    let bodies: Vec<String> = db
        .prepare("SELECT body FROM events")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let prompt = sample("UserPromptSubmit")["prompt"]
        .as_str()
        .unwrap()
        .to_owned();
    let read = sample("PostToolUse:Read");
    let content = read["tool_response"]["file"]["content"].as_str().unwrap();
    assert_eq!(bodies.len(), 2);
    for body in &bodies {
        let event: Value = serde_json::from_str(body).unwrap();
        assert!(!body.contains(&format!("\"{prompt}\"")), "{body}");
        assert!(!body.contains(content), "{body}");
        match event["hook_event_name"].as_str() {
            Some("UserPromptSubmit") => {
                assert_eq!(event["prompt"], json!({"elided_bytes": prompt.len()}))
            }
            Some("PostToolUse") => {
                let file = &event["tool_response"]["file"];
                assert_eq!(file["content"], json!({"elided_bytes": content.len()}));
                assert_eq!(file["filePath"], read["tool_response"]["file"]["filePath"]);
                assert_eq!(
                    event["tool_input"], read["tool_input"],
                    "paths are metadata"
                );
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn settings_come_from_the_config_file_and_the_environment_and_bad_ones_stop_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "[collector]\nseries_limit = 100\nsession_idle_timeout = \"5m\"\n",
    )
    .unwrap();
    let config_arg = config.to_str().unwrap();
    // The environment wins over the file.
    let collector = Collector::start_with(
        &dir.path().join("data"),
        &["--config", config_arg],
        &[("CLAUDE_TELEMETRY_SERIES_LIMIT", "2")],
    );
    for agent in ["a", "b", "c"] {
        let mut event = sample("SubagentStart");
        event["agent_type"] = json!(agent);
        hook(&collector, dir.path(), &event);
    }
    let metrics = parse_metrics(&collector.metrics());
    assert_eq!(
        value(
            &metrics,
            "claude_telemetry_series_dropped_total{metric=\"claude_code_subagents_total\"}"
        ),
        1.0
    );
    collector.stop();

    std::fs::write(&config, "[collector]\nseries_limt = 100\n").unwrap();
    let refused = spawn(&dir.path().join("data"), &["--config", config_arg], &[])
        .expect_err("an unknown key stops it");
    assert!(refused.contains("series_limt"), "{refused}");
    // A budget written above the table is not silently dropped.
    std::fs::write(
        &config,
        "monthly_budget_usd = 2500\n[guard]\nstrict = true\n[collector]\nretention = \"30d\"\n",
    )
    .unwrap();
    let refused = spawn(&dir.path().join("data"), &["--config", config_arg], &[])
        .expect_err("a key outside [collector] stops it");
    assert!(refused.contains("monthly_budget_usd"), "{refused}");
    let refused = spawn(
        &dir.path().join("data"),
        &[],
        &[("CLAUDE_TELEMETRY_PRIVACY", "secret")],
    )
    .expect_err("a bad value stops it");
    assert!(refused.contains("privacy"), "{refused}");
    // A mistyped separator is not a user named `bob=5;dana`.
    let refused = spawn(
        &dir.path().join("data"),
        &[],
        &[("CLAUDE_TELEMETRY_USER_MONTHLY_BUDGETS_USD", "bob=5;dana=3")],
    )
    .expect_err("a pair that is not name=amount stops it");
    assert!(
        refused.contains("\"bob=5;dana=3\" is not name=amount"),
        "{refused}"
    );
}

#[test]
fn retention_removes_old_events_but_not_what_they_counted() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let collector = Collector::start_with(&data, &[], &[("CLAUDE_TELEMETRY_RETENTION", "0s")]);
    let enriched = |id: u32, at: &str| {
        let mut event = sample("UserPromptSubmit");
        event["session_id"] = json!(format!("s-{id}"));
        event["claude_telemetry"] = json!({"event_id": format!("01900000-0000-7000-8000-{id:012}"), "received_at": at,
            "host": "h", "user_name": "ret", "hook_latency_us": 1, "hook_version": "t"});
        event.to_string()
    };
    let old = "2020-01-01T00:00:00.000Z";
    let now = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
    for (id, at) in [
        (1, old),
        (2, old),
        (3, old),
        (4, now.as_str()),
        (5, now.as_str()),
    ] {
        assert_eq!(
            collector
                .post("/v1/hooks", "application/json", enriched(id, at).as_bytes())
                .0,
            200
        );
    }
    // An old OTLP export too: its cost must survive the pruning.
    let cost = json!({"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "claude_code.cost.usage", "unit": "USD",
        "sum": {"aggregationTemporality": 1, "isMonotonic": true, "dataPoints": [
            {"startTimeUnixNano": "1577836800000000000", "timeUnixNano": "1577836810000000000", "asDouble": 1.25}]}}]}]}]});
    assert_eq!(
        collector
            .post(
                "/v1/metrics",
                "application/json",
                cost.to_string().as_bytes()
            )
            .0,
        200
    );
    collector.stop();
    // The reference: a restart that keeps every event (it also ends the 2020 sessions
    // as idle, which the live collector's periodic sweep would do within seconds).
    let collector = Collector::start_with(&data, &[], &[("CLAUDE_TELEMETRY_RETENTION", "0s")]);
    let before = parse_metrics(&collector.metrics());
    collector.stop();

    let series = |metrics: &std::collections::BTreeMap<String, f64>| -> Vec<(String, f64)> {
        metrics
            .iter()
            .filter(|(k, _)| k.starts_with("claude_code_"))
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    };
    let rows = |path: &std::path::Path| -> i64 {
        let db = rusqlite::Connection::open(path.join("events.sqlite3")).unwrap();
        db.query_row("SELECT count(*) FROM events", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(rows(&data), 6);
    for _ in 0..2 {
        let collector = Collector::start_with(&data, &[], &[("CLAUDE_TELEMETRY_RETENTION", "1d")]);
        let after = parse_metrics(&collector.metrics());
        // The old events that arrived first are removed; the old export that arrived
        // after the recent events waits until they expire too (folding it out of the
        // order it came in could change what it counted).
        assert_eq!(rows(&data), 3, "the old events that came first are gone");
        assert_eq!(series(&after), series(&before), "every counter as it was");
        assert_eq!(
            value(
                &after,
                "claude_code_prompts_total{user_name=\"ret\",user_email=\"\",project=\"project\",model=\"\"}"
            ),
            5.0
        );
        collector.stop();
    }
}
