//! The collector against hostile clients, through the real binary: a web page on another
//! site (in real headless Chromium), a DNS-rebinding name, many large bodies at once
//! (announced, chunked and gzip) and many small chunked gzip exports at once,
//! connections that send nothing, floods of series, guessed tokens, files left readable,
//! and counters that must read the same after a restart. Each test fails on the
//! collector as it was before issue #16 (the small exports: before bodies were charged
//! what they hold rather than the most they may become).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::page::Browser;
use crate::support::collector::{Collector, parse_metrics, request, spawn};
use crate::support::sample;

/// How long a test waits for something that should happen, before calling it broken
/// (a hang detector, not a performance assertion).
const DEADLINE: Duration = Duration::from_secs(60);

fn now_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// A hook event as `claude-telemetry hook` delivers it (enriched), by `user`.
fn enriched(name: &str, id: &str, user: &str) -> Value {
    json!({
        "hook_event_name": name, "session_id": format!("session-{id}"), "source": "startup",
        "claude_telemetry": {"event_id": id,
            "received_at": humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            "host": "h", "user_name": user, "hook_latency_us": 1, "hook_version": "t"}
    })
}

fn value(metrics: &str, series: &str) -> Option<f64> {
    parse_metrics(metrics).get(series).copied()
}

/// Waits until `/metrics` satisfies `ready`, or fails after the deadline.
fn metrics_until(collector: &Collector, what: &str, ready: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let text = collector.metrics();
        if ready(&text) {
            return text;
        }
        assert!(Instant::now() < deadline, "never {what}:\n{text}");
        thread::sleep(Duration::from_millis(100)); // polling, bounded by the deadline
    }
}

/// An HTTP server that answers every request with `html`: the attacker's site.
fn serve_page(html: String) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let html = html.clone();
            thread::spawn(move || {
                let mut stream = stream;
                let mut head = [0u8; 4096];
                let _ = stream.read(&mut head);
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{html}",
                    html.len()
                );
            });
        }
    });
    port
}

/// The names a browser is made to resolve to this machine: an attacker's site, and a
/// name whose DNS the attacker points here (rebinding).
const RESOLVE_HERE: &str =
    "--host-resolver-rules=MAP evil.example 127.0.0.1, MAP rebind.example 127.0.0.1";

#[test]
fn a_page_on_another_site_cannot_write_to_the_collector() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&dir.path().join("data"));
    let forged = enriched("PreToolUse", "forged-1", "someone-else").to_string();
    // What any page can do without asking the browser first: a no-cors fetch of a Blob
    // (no Content-Type), a text/plain fetch, and an HTML form posted as text/plain.
    let html = format!(
        r#"<!doctype html><html><body>
<iframe name="sink"></iframe>
<form id="push" method="post" enctype="text/plain" target="sink" action="{url}/metrics/job/forged">
<input name="forged_metric 1&#10;#" value="">
</form>
<script>
const event = {forged};
window.sent = (async () => {{
  await fetch("{url}/v1/hooks", {{method: "POST", mode: "no-cors", body: new Blob([JSON.stringify(event)])}}).catch(() => {{}});
  await fetch("{url}/v1/hooks", {{method: "POST", mode: "no-cors", headers: {{"Content-Type": "text/plain"}}, body: JSON.stringify(event)}}).catch(() => {{}});
  document.getElementById("push").submit();
  return "sent";
}})();
</script></body></html>"#,
        url = collector.url,
    );
    let port = serve_page(html);
    let browser = Browser::launch(&[RESOLVE_HERE]);
    let mut tab = browser.tab();
    tab.open(&format!("http://evil.example:{port}/"));
    tab.eval_until("window.sent && 'started'", |v| v == "started");
    // The three writes arrive, and are refused.
    let text = metrics_until(&collector, "refused three cross-site writes", |text| {
        value(
            text,
            "claude_telemetry_requests_rejected_total{reason=\"cross_origin\"}",
        ) >= Some(3.0)
    });
    assert!(
        !text.contains("someone-else"),
        "a forged event was stored:\n{text}"
    );
    assert!(!text.contains("claude_code_hook_events_total{"), "{text}");
    assert!(
        !text.contains("forged_metric"),
        "a forged push was kept:\n{text}"
    );
}

#[test]
fn a_rebinding_host_name_reads_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&dir.path().join("data"));
    let mut denied = enriched("PreToolUse", "audited-1", "jane");
    denied["tool_name"] = json!("Bash");
    denied["claude_telemetry"]["guard"] = json!({"decision": "deny", "rule": "rm.home",
        "category": "dangerous_rm", "reason": "secret reason", "latency_us": 3, "version": "t"});
    let (status, body) = collector.post(
        "/v1/hooks",
        "application/json",
        denied.to_string().as_bytes(),
    );
    assert_eq!(status, 200, "{body}");
    assert!(collector.get("/api/v1/audit").1.contains("secret reason"));
    // The attacker's page, served from this collector's address under the attacker's
    // name, reads it "same-origin": the Host is what gives it away.
    let port = collector.url.rsplit(':').next().unwrap();
    let browser = Browser::launch(&[RESOLVE_HERE]);
    let mut tab = browser.tab();
    let url = format!("http://rebind.example:{port}/api/v1/audit");
    tab.open(&url);
    let read = tab
        .eval("fetch('/api/v1/audit').then(async r => ({status: r.status, body: await r.text()}))");
    assert_eq!(read["status"], 403, "{read}");
    let body = read["body"].as_str().unwrap();
    assert!(!body.contains("secret reason"), "{body}");
    assert!(body.contains("allowed_hosts"), "says what to do: {body}");
    let shown = tab.eval("document.body.textContent");
    assert!(
        !shown.as_str().unwrap().contains("secret reason"),
        "{shown}"
    );
}

/// Resident memory at its peak so far, in MiB (the kernel's high-water mark).
fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    kib / 1024
}

/// A POST sent by hand, framed as a client chooses.
struct Post {
    path: &'static str,
    content_type: &'static str,
    gzip: bool,
    /// Sent in chunks of this size without a length (chunked), or with its length.
    chunk: Option<usize>,
    body: Vec<u8>,
}

impl Post {
    /// Sends it on a new connection, waiting at `midway` (when given) once its head and
    /// first chunk are sent; the answer as it came, in lower case. A body the collector
    /// refuses is answered before all of it is read, so the rest may not go in: what
    /// fails to be written is left unsent.
    fn send(&self, addr: &str, midway: Option<&Barrier>) -> String {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(DEADLINE)).unwrap();
        let mut head = format!(
            "POST {} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {}\r\nConnection: close\r\n",
            self.path, self.content_type
        );
        if self.gzip {
            head.push_str("Content-Encoding: gzip\r\n");
        }
        match self.chunk {
            Some(_) => head.push_str("Transfer-Encoding: chunked\r\n"),
            None => head.push_str(&format!("Content-Length: {}\r\n", self.body.len())),
        }
        head.push_str("\r\n");
        let mut sent = stream.write_all(head.as_bytes());
        match self.chunk {
            None => {
                if let Some(midway) = midway {
                    midway.wait();
                }
                sent = sent.and_then(|()| stream.write_all(&self.body));
            }
            Some(size) => {
                for (n, chunk) in self.body.chunks(size).enumerate() {
                    sent = sent.and_then(|()| {
                        write!(stream, "{:x}\r\n", chunk.len())?;
                        stream.write_all(chunk)?;
                        stream.write_all(b"\r\n")
                    });
                    if n == 0
                        && let Some(midway) = midway
                    {
                        midway.wait();
                    }
                }
                sent = sent.and_then(|()| stream.write_all(b"0\r\n\r\n"));
            }
        }
        drop(sent);
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).to_ascii_lowercase()
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// An NDJSON batch of about `bytes` of hook events, as a spool sends them (each event
/// its own, by `batch`); and how many events it holds.
fn hook_batch(batch: usize, bytes: usize) -> (Vec<u8>, usize) {
    let mut template = enriched("PostToolUse", "EVENT-ID", "load");
    template["tool_name"] = json!("Bash");
    template["tool_input"] = json!({"command": "x".repeat(600)});
    let template = template.to_string();
    let mut body = String::new();
    let mut n = 0;
    while body.len() < bytes {
        body.push_str(&template.replace("EVENT-ID", &format!("b{batch}-{n}")));
        body.push('\n');
        n += 1;
    }
    (body.into_bytes(), n)
}

/// An OTLP/JSON logs export of about `bytes`, Claude Code's tool results (each record
/// its own, by `batch`); and how many records it holds. Written out from one record,
/// as building millions of JSON values would take most of the test's time.
fn logs_export(batch: usize, bytes: usize) -> (Vec<u8>, usize) {
    let now_ns = now_ms() * 1_000_000;
    let attribute = |key: &str, value: Value| json!({"key": key, "value": value});
    let template = json!({
        "timeUnixNano": "TIME",
        "body": {"stringValue": "claude_code.tool_result"},
        "attributes": [
            attribute("session.id", json!({"stringValue": format!("load-{batch}")})),
            attribute("event.name", json!({"stringValue": "tool_result"})),
            attribute("event.sequence", json!({"intValue": "SEQUENCE"})),
            attribute("tool_name", json!({"stringValue": "Bash"})),
            attribute("success", json!({"stringValue": "true"})),
            attribute("tool_parameters", json!({"stringValue": json!({
                "bash_command": format!("cargo test -p crate-{batch} -- case_SEQUENCE {}", "--nocapture ".repeat(40)),
            }).to_string()})),
        ],
    })
    .to_string();
    let mut records = String::new();
    let mut count = 0;
    while records.len() < bytes {
        if count > 0 {
            records.push(',');
        }
        records.push_str(
            &template
                .replace("\"TIME\"", &format!("\"{}\"", now_ns + count as u64))
                .replace("SEQUENCE", &count.to_string()),
        );
        count += 1;
    }
    let export = format!(
        r#"{{"resourceLogs": [{{"resource": {{"attributes": [{{"key": "service.name", "value": {{"stringValue": "claude-code"}}}}]}}, "scopeLogs": [{{"scope": {{"name": "com.anthropic.claude_code.events"}}, "logRecords": [{records}]}}]}}]}}"#
    );
    (export.into_bytes(), count)
}

/// What became of a load of bodies sent at once.
struct Outcome {
    accepted: usize,
    refused: usize,
    peak_mib: u64,
}

/// Sends `posts` at once to a fresh collector (each with how many events it holds);
/// checks that each is stored or told to retry, and that what was acknowledged is
/// stored, counted under `source`.
fn all_at_once(posts: Vec<(Post, usize)>, source: &str) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&dir.path().join("data"));
    let addr = collector.url.trim_start_matches("http://").to_owned();
    let start = Arc::new(Barrier::new(posts.len()));
    let senders: Vec<_> = posts
        .into_iter()
        .map(|(post, events)| {
            let (addr, start) = (addr.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                (post.send(&addr, None), events)
            })
        })
        .collect();
    let answered: Vec<(String, usize)> = senders.into_iter().map(|s| s.join().unwrap()).collect();
    let stored: usize = answered
        .iter()
        .filter(|(a, _)| a.starts_with("http/1.1 200"))
        .map(|(_, events)| events)
        .sum();
    let accepted = answered
        .iter()
        .filter(|(a, _)| a.starts_with("http/1.1 200"))
        .count();
    let refused = answered
        .iter()
        .filter(|(a, _)| a.starts_with("http/1.1 503") && a.contains("retry-after: 1"))
        .count();
    assert_eq!(
        accepted + refused,
        answered.len(),
        "each is stored or told to retry; the others: {:?}",
        answered
            .iter()
            .filter(|(a, _)| {
                let answered_as_meant = a.starts_with("http/1.1 200")
                    || (a.starts_with("http/1.1 503") && a.contains("retry-after: 1"));
                !answered_as_meant
            })
            .map(|(a, _)| a.as_str())
            .collect::<Vec<_>>()
    );
    assert!(accepted >= 1, "some fit in the budget");
    let peak_mib = peak_rss_mib(collector.pid());
    let text = collector.metrics();
    assert_eq!(
        value(
            &text,
            &format!("claude_telemetry_events_received_total{{source=\"{source}\"}}")
        ),
        Some(stored as f64),
        "what was acknowledged is stored"
    );
    assert_eq!(
        value(
            &text,
            "claude_telemetry_requests_rejected_total{reason=\"busy\"}"
        ),
        (refused > 0).then_some(refused as f64)
    );
    Outcome {
        accepted,
        refused,
        peak_mib,
    }
}

/// Makes the post of batch `n`, with how many events it holds.
type MakePost = fn(usize) -> (Post, usize);

#[test]
fn sixty_large_bodies_at_once_stay_within_one_budget() {
    const SIZE: usize = 7 * 1024 * 1024 - 2048;
    const CHUNK: usize = 64 * 1024;
    // NDJSON batches as a spool sends them (with their length), the same sent chunked,
    // and Claude Code's log events as it sends them: chunked, gzip, 7 MiB inflated.
    let loads: [(&str, &str, MakePost); 3] = [
        ("announced", "hook", |batch| {
            let (body, events) = hook_batch(batch, SIZE);
            let post = Post {
                path: "/v1/hooks",
                content_type: "application/x-ndjson",
                gzip: false,
                chunk: None,
                body,
            };
            (post, events)
        }),
        ("chunked", "hook", |batch| {
            let (body, events) = hook_batch(batch, SIZE);
            let post = Post {
                path: "/v1/hooks",
                content_type: "application/x-ndjson",
                gzip: false,
                chunk: Some(CHUNK),
                body,
            };
            (post, events)
        }),
        ("chunked gzip", "otlp_logs", |batch| {
            let (body, records) = logs_export(batch, SIZE);
            let post = Post {
                path: "/v1/logs",
                content_type: "application/json",
                gzip: true,
                chunk: Some(CHUNK),
                body: gzip(&body),
            };
            (post, records)
        }),
    ];
    for (name, source, make) in loads {
        let posts: Vec<(Post, usize)> = (0..60).map(make).collect();
        let sent: usize = posts.iter().map(|(post, _)| post.body.len()).sum();
        let Outcome {
            accepted,
            refused,
            peak_mib,
        } = all_at_once(posts, source);
        eprintln!(
            "60 concurrent 7 MiB bodies, {name} ({} MiB sent): {accepted} stored, {refused} told to retry; peak resident memory {peak_mib} MiB",
            sent / (1024 * 1024)
        );
        assert!(
            peak_mib < 300,
            "{name}: peak resident memory {peak_mib} MiB"
        );
    }
}

#[test]
fn many_small_chunked_gzip_exports_at_once_are_all_taken() {
    // Claude Code's exports as it sends them: chunked, gzip, a few KiB. Each client
    // sends its head and first chunk, then waits until every other has too: all of them
    // are in flight at once.
    const CLIENTS: usize = 200;
    let posts: Vec<(Post, usize)> = (0..CLIENTS)
        .map(|batch| {
            let (body, records) = logs_export(batch, 8 * 1024);
            let body = gzip(&body);
            let post = Post {
                path: "/v1/logs",
                content_type: "application/json",
                gzip: true,
                chunk: Some(body.len() / 2 + 1),
                body,
            };
            (post, records)
        })
        .collect();
    let records: usize = posts.iter().map(|(_, records)| records).sum();
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&dir.path().join("data"));
    let addr = collector.url.trim_start_matches("http://").to_owned();
    let midway = Arc::new(Barrier::new(CLIENTS));
    let senders: Vec<_> = posts
        .into_iter()
        .map(|(post, _)| {
            let (addr, midway) = (addr.clone(), midway.clone());
            thread::spawn(move || post.send(&addr, Some(&midway)))
        })
        .collect();
    let answers: Vec<String> = senders.into_iter().map(|s| s.join().unwrap()).collect();
    let refused: Vec<&str> = answers
        .iter()
        .filter(|a| !a.starts_with("http/1.1 200"))
        .filter_map(|a| a.lines().next())
        .collect();
    assert!(
        refused.is_empty(),
        "{} of {CLIENTS} refused: {refused:?}",
        refused.len()
    );
    let text = collector.metrics();
    assert_eq!(
        value(
            &text,
            "claude_telemetry_events_received_total{source=\"otlp_logs\"}"
        ),
        Some(records as f64),
        "every record stored"
    );
    eprintln!(
        "{CLIENTS} chunked gzip exports in flight at once: all stored; peak resident memory {} MiB",
        peak_rss_mib(collector.pid())
    );
}

#[test]
fn silent_connections_are_closed_while_others_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&dir.path().join("data"));
    // As in the report: more silent connections than the collector may open files.
    let limited = Command::new("prlimit")
        .args(["--pid", &collector.pid().to_string(), "--nofile=1024:1024"])
        .status()
        .expect("prlimit (util-linux)");
    assert!(limited.success());
    let addr = collector.url.trim_start_matches("http://").to_owned();
    let opened = Instant::now();
    let silent: Vec<TcpStream> = (0..1100)
        .map(|_| {
            let stream = TcpStream::connect(&addr).unwrap();
            stream.set_nonblocking(true).unwrap();
            stream
        })
        .collect();
    // Others are served meanwhile, each promptly (the request helper gives up after 30 s).
    for _ in 0..20 {
        assert_eq!(collector.get("/-/healthy").0, 200);
        thread::sleep(Duration::from_millis(100)); // spreading requests over the wait
    }
    let mut open: Vec<TcpStream> = silent;
    let mut last_closed = Duration::ZERO;
    while !open.is_empty() {
        assert!(
            opened.elapsed() < Duration::from_secs(30),
            "{} silent connections still open after 30 s",
            open.len()
        );
        open.retain(|mut stream| {
            let mut byte = [0u8; 1];
            matches!(stream.read(&mut byte), Err(err) if err.kind() == std::io::ErrorKind::WouldBlock)
        });
        last_closed = opened.elapsed();
        thread::sleep(Duration::from_millis(100)); // polling the sockets, bounded above
    }
    eprintln!(
        "1,100 silent connections (file limit 1,024): all closed within {:.1} s while others were served",
        last_closed.as_secs_f64()
    );
    assert_eq!(collector.get("/-/ready").0, 200);
}

#[test]
fn every_family_is_capped_and_every_drop_counted() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start_with(
        &dir.path().join("data"),
        &[],
        &[
            ("CLAUDE_TELEMETRY_SERIES_LIMIT", "20"),
            ("CLAUDE_TELEMETRY_PUSH_GROUPS_LIMIT", "3"),
        ],
    );
    // 30 users, each with a session: 30 series of claude_code_active_sessions.
    let batch: String = (0..30)
        .map(|n| {
            enriched("SessionStart", &format!("s{n}"), &format!("user-{n}")).to_string() + "\n"
        })
        .collect();
    let (status, body) = collector.post("/v1/hooks", "application/x-ndjson", batch.as_bytes());
    assert_eq!(status, 200, "{body}");
    // A gauge with 30 label values, from OTLP.
    let time = (now_ms() * 1_000_000).to_string();
    let points: Vec<Value> = (0..30)
        .map(|n| {
            json!({"attributes": [{"key": "queue", "value": {"stringValue": format!("q{n}")}}],
            "timeUnixNano": time, "asDouble": 1.0})
        })
        .collect();
    let export = json!({"resourceMetrics": [{"scopeMetrics": [{"metrics": [
        {"name": "queue.depth", "gauge": {"dataPoints": points}}]}]}]});
    let (status, body) = collector.post(
        "/v1/metrics",
        "application/json",
        export.to_string().as_bytes(),
    );
    assert_eq!(status, 200, "{body}");
    // A push of 30 series, then more groups than allowed.
    let push: String = (0..30)
        .map(|n| format!("pushed{{n=\"{n}\"}} 1\n"))
        .collect();
    let (status, body) = collector.post("/metrics/job/big", "text/plain", push.as_bytes());
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("series_limit"), "{body}");
    // The refused push left its group (with its failure time), as the Pushgateway does:
    // two more fit.
    for (job, expected) in [("a", 200), ("b", 200), ("c", 400)] {
        let (status, body) =
            collector.post(&format!("/metrics/job/{job}"), "text/plain", b"small 1\n");
        assert_eq!(status, expected, "{job}: {body}");
    }

    let text = collector.metrics();
    let count = |family: &str| {
        text.lines()
            .filter(|l| l.starts_with(&format!("{family}{{")))
            .count()
    };
    let dropped = |metric: &str| {
        value(
            &text,
            &format!("claude_telemetry_series_dropped_total{{metric=\"{metric}\"}}"),
        )
    };
    assert_eq!(count("claude_code_active_sessions"), 20);
    assert_eq!(dropped("claude_code_active_sessions"), Some(10.0));
    assert_eq!(count("queue_depth"), 20);
    assert_eq!(dropped("queue_depth"), Some(10.0));
    assert_eq!(count("pushed"), 0, "a push over the limit is refused whole");
    assert_eq!(dropped("pushed"), Some(30.0));
    assert_eq!(
        dropped("small"),
        Some(1.0),
        "the push that would open a fourth group"
    );
    assert_eq!(
        value(
            &text,
            "claude_telemetry_requests_rejected_total{reason=\"group_limit\"}"
        ),
        Some(1.0)
    );
    eprintln!(
        "what capped families report:\n{}",
        text.lines()
            .filter(|l| l.starts_with("claude_telemetry_series_dropped_total{"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn what_the_collector_and_the_hook_keep_is_private() {
    let dir = tempfile::tempdir().unwrap();
    // As an earlier version (or a umask of 022) left them.
    let data = dir.path().join("data");
    let state = dir.path().join("state");
    for wide in [&data, &state, &state.join("spool")] {
        std::fs::create_dir_all(wide).unwrap();
        std::fs::set_permissions(wide, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let db = data.join("events.sqlite3");
    std::fs::write(&db, "").unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let collector = Collector::start(&data);
    let (status, _) = collector.post(
        "/v1/hooks",
        "application/json",
        enriched("UserPromptSubmit", "p1", "jane")
            .to_string()
            .as_bytes(),
    );
    assert_eq!(status, 200);
    assert_eq!(mode(&data), 0o700, "{}", data.display());
    for file in ["events.sqlite3", "events.sqlite3-wal", "events.sqlite3-shm"] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
    collector.stop();

    // The hook, with the collector away: the event is spooled, privately.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let event = json!({"hook_event_name": "UserPromptSubmit", "session_id": "s",
        "prompt": "my secret plans", "cwd": "/home/dev/project"});
    let output = crate::support::Run::new(&["hook"], dir.path())
        .env("CLAUDE_TELEMETRY_URL", &url)
        .env("CLAUDE_TELEMETRY_STATE_DIR", &state)
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .stdin(event.to_string());
    assert_eq!(output.status.code(), Some(0));
    let spool = state.join("spool");
    let files: Vec<_> = std::fs::read_dir(&spool)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    assert_eq!(files.len(), 1, "spooled");
    assert_eq!(mode(&state), 0o700);
    assert_eq!(mode(&spool), 0o700);
    assert_eq!(mode(&files[0]), 0o600);
}

#[test]
fn weak_tokens_are_refused_at_start_with_an_accurate_message() {
    let dir = tempfile::tempdir().unwrap();
    for weak in [" ".repeat(16), "a".repeat(32)] {
        match spawn(
            &dir.path().join("weak"),
            &[],
            &[("CLAUDE_TELEMETRY_TOKEN", weak.as_str())],
        ) {
            Err(refused) => assert!(refused.contains("too weak"), "{refused}"),
            Ok((mut child, _)) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("started with the token {weak:?}");
            }
        }
    }
    let open = spawn(&dir.path().join("open"), &["--listen", "0.0.0.0:0"], &[])
        .expect_err("no token beyond loopback");
    assert!(!open.contains("--token"), "no such flag: {open}");
}

#[test]
fn guessing_the_token_is_slowed() {
    let dir = tempfile::tempdir().unwrap();
    let token = "f0e1d2c3b4a5968778695a4b3c2d1e0f";
    let collector = Collector::start_with(
        &dir.path().join("data"),
        &[],
        &[("CLAUDE_TELEMETRY_TOKEN", token)],
    );
    let metrics = |authorization: &str| {
        request(
            "GET",
            &format!("{}/metrics", collector.url),
            None,
            &[("authorization", authorization)],
        )
    };
    // Each wrong token is answered later than the last: 250 ms, 500 ms, 1 s, 2 s.
    let started = Instant::now();
    for _ in 0..4 {
        assert_eq!(metrics("Bearer not-the-token-at-all").0, 401);
    }
    let slowed = started.elapsed();
    eprintln!("4 wrong tokens in a row took {:.2} s", slowed.as_secs_f64());
    assert!(slowed >= Duration::from_millis(3750), "{slowed:?}");
    // The right one is not slowed while nobody is guessing, its scheme in any case.
    assert_eq!(metrics(&format!("Bearer {token}")).0, 200);
    assert_eq!(metrics(&format!("bearer {token}")).0, 200);
    // Guesses in parallel queue behind each other, and beyond the queue are refused.
    let guesses: Vec<_> = (0..12)
        .map(|_| {
            let url = collector.url.clone();
            thread::spawn(move || {
                request(
                    "GET",
                    &format!("{url}/metrics"),
                    None,
                    &[("authorization", "Bearer another-wrong-token")],
                )
                .0
            })
        })
        .collect();
    let statuses: Vec<u16> = guesses.into_iter().map(|g| g.join().unwrap()).collect();
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    // The right token still gets in, once its turn comes.
    let deadline = Instant::now() + DEADLINE;
    loop {
        let (status, _) = metrics(&format!("Bearer {token}"));
        if status == 200 {
            break;
        }
        assert_eq!(status, 429);
        assert!(Instant::now() < deadline, "never let in");
        thread::sleep(Duration::from_secs(1)); // as Retry-After asks
    }
}

/// The head of the answer to `GET path`, in lower case.
fn head_of(url: &str, path: &str) -> String {
    let addr = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).to_ascii_lowercase();
    answer.split("\r\n\r\n").next().unwrap_or("").to_owned()
}

#[test]
fn every_page_carries_the_security_headers() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&dir.path().join("data"));
    for path in [
        "/",
        "/api/v1/overview",
        "/metrics",
        "/sessions/none",
        "/nowhere",
    ] {
        let head = head_of(&collector.url, path);
        for header in [
            "content-security-policy: default-src 'none'",
            "x-frame-options: deny",
            "x-content-type-options: nosniff",
            "referrer-policy: no-referrer",
        ] {
            assert!(head.contains(header), "{path}: {header} missing:\n{head}");
        }
    }
}

#[test]
fn a_counter_reads_the_same_after_a_restart_with_an_old_point_between_current_ones() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let collector = Collector::start(&data);
    let now = now_ms() * 1_000_000;
    let day = 86_400_000_000_000u64;
    let start = now - 50 * day;
    let cumulative = |time: u64, value: f64| {
        json!({"resourceMetrics": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "claude-code"}}]},
            "scopeMetrics": [{"metrics": [{"name": "claude_code.cost.usage", "unit": "USD",
            "sum": {"aggregationTemporality": 2, "isMonotonic": true, "dataPoints": [
                {"attributes": [{"key": "model", "value": {"stringValue": "m"}}],
                 "startTimeUnixNano": start.to_string(), "timeUnixNano": time.to_string(), "asDouble": value}]}}]}]}]})
        .to_string()
    };
    for (time, value) in [
        (now - 120_000_000_000, 5.0),
        (now - 40 * day, 1.0),
        (now, 7.0),
    ] {
        let (status, body) = collector.post(
            "/v1/metrics",
            "application/json",
            cumulative(time, value).as_bytes(),
        );
        assert_eq!(status, 200, "{body}");
    }
    let series = "claude_code_cost_usage_USD_total{model=\"m\"}";
    let live = value(&collector.metrics(), series);
    assert_eq!(live, Some(7.0));
    collector.stop();
    // The default retention (30 days) runs at start.
    let collector = Collector::start(&data);
    assert_eq!(value(&collector.metrics(), series), live, "after a restart");
}

#[test]
fn an_event_sent_untyped_as_text_or_as_a_form_is_not_taken() {
    // A raw Claude Code event in what a page may send without asking the browser first:
    // no type (a Blob), text/plain, a form. Refused by its type alone, even from a client
    // that names no origin.
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&dir.path().join("data"));
    let raw = sample("PreToolUse:Bash").to_string();
    let addr = collector.url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    write!(
        stream,
        "POST /v1/hooks HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{raw}",
        raw.len()
    )
    .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 415"), "{answer}");
    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        let (status, body) = collector.post("/v1/hooks", content_type, raw.as_bytes());
        assert_eq!(status, 415, "{content_type}: {body}");
    }
    let text = collector.metrics();
    assert!(!text.contains("claude_code_hook_events_total{"), "{text}");
}
