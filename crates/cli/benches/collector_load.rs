//! Collector load, side by side with the real Pushgateway, in one run.
//!
//! - `/v1/hooks`: `wrk` over keep-alive HTTP, each event acknowledged only once durable
//!   (group commit), realistic enriched PreToolUse bodies, every id unique;
//! - the real Pushgateway: the same `wrk` pushing one sample per request (the original
//!   stack's pattern);
//! - `/v1/traces`: OTLP/JSON exports of 10 spans shaped like Claude Code's, then reading
//!   one busy session's traces as trees (`/api/v1/sessions/{id}/traces`) and its page;
//! - `GET /metrics` with the same 10,000 pushed series on the collector and on the real
//!   Pushgateway, and with 10,000 hook-derived series in one metric;
//! - the collector's resident memory afterwards.
//!
//! Run: `cargo bench -p claude-telemetry --bench collector_load`
//! (CLIENTS=n connections, SECONDS=n; defaults 32 and 5). Needs `wrk` and
//! `prometheus-pushgateway` (scripts/bench-collector installs them).
//!
//! With `COLLECTOR_BASELINE=/path/to/claude-telemetry` (a release build of the commit to
//! compare with), `/v1/hooks` is also run ROUNDS times (default 3) on this build and on
//! the baseline in turn, each on a fresh store: throughput on a shared machine moves with
//! its load, so the figures that compare are the collector's CPU per stored event, whole
//! and its store writer's thread alone (the serial part), each round's and the median.

// A benchmark binary: a failed setup should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use std::time::{Duration, Instant};
use testkit::process::{free_port, start};

struct Load {
    requests_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

/// Runs `wrk` (2 threads, `connections` keep-alive connections) with a Lua script that
/// makes every request body unique.
fn wrk(url: &str, connections: usize, seconds: u64, script: &str) -> Load {
    let dir = tempfile::tempdir().unwrap();
    let lua = dir.path().join("load.lua");
    std::fs::write(&lua, script).unwrap();
    let output = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--latency",
            "-s",
        ])
        .arg(&lua)
        .arg(url)
        .output()
        .expect("wrk is needed (Debian package `wrk`; scripts/bench-collector installs it)");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(!text.contains("Non-2xx"), "failed requests: {text}");
    let number = |line_start: &str| -> f64 {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(line_start))
            .unwrap_or_else(|| panic!("{line_start} in {text}"));
        line.split_whitespace()
            .nth(1)
            .map(duration_ms)
            .unwrap_or(f64::NAN)
    };
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(f64::NAN);
    let max = text
        .lines()
        .find(|l| l.trim_start().starts_with("Latency"))
        .and_then(|l| l.split_whitespace().nth(3))
        .map_or(f64::NAN, duration_ms);
    Load {
        requests_per_second: rps,
        p50_ms: number("50%"),
        p99_ms: number("99%"),
        max_ms: max,
    }
}

fn duration_ms(text: &str) -> f64 {
    let (number, unit) =
        text.split_at(text.find(|c: char| c.is_alphabetic()).unwrap_or(text.len()));
    let value: f64 = number.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => value / 1000.0,
        "ms" => value,
        "s" => value * 1000.0,
        _ => f64::NAN,
    }
}

const HOOKS_LUA: &str = r#"
local counter = 0
local threads = 0
function setup(thread) thread:set("id", threads); threads = threads + 1 end
function init(args) wrk.method = "POST"; wrk.headers["Content-Type"] = "application/json" end
function request()
  counter = counter + 1
  local body = string.format('{"session_id":"load-%d","transcript_path":"/home/dev/.claude/projects/p/load.jsonl","cwd":"/home/dev/project","prompt_id":"6a0d2efb-c486-494c-8567-5ac809c55d37","permission_mode":"default","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"cargo test --workspace","description":"Run the tests"},"tool_use_id":"toolu_%d_%d","claude_telemetry":{"event_id":"01900000-0000-7000-8000-%04d%08d","received_at":"2026-11-24T05:00:00.000Z","host":"bench","user_name":"Jane Doe","user_email":"jane@example.com","project":"/home/dev/project","hook_latency_us":900,"hook_version":"bench","guard":{"decision":"allow","rule":"none","category":"none","reason":"no rule matched","latency_us":4,"version":"bench"}}}', id, id, counter, id, counter)
  return wrk.format(nil, "/v1/hooks", nil, body)
end
"#;

const PUSH_LUA: &str = r#"
local counter = 0
local threads = 0
function setup(thread) thread:set("id", threads); threads = threads + 1 end
function init(args) wrk.method = "POST"; wrk.headers["Content-Type"] = "text/plain; version=0.0.4" end
function request()
  counter = counter + 1
  local body = string.format('# TYPE claude_code_tool_usage_total counter
claude_code_tool_usage_total{tool="Bash"} %d
', counter)
  return wrk.format(nil, string.format("/metrics/job/load/instance/t%d", id), nil, body)
end
"#;

/// An OTLP/JSON metrics export shaped like Claude Code's: cost, tokens by type and model,
/// active time; 20 data points, a new interval per request so none is a retry.
const OTLP_LUA: &str = r#"
local counter = 0
local threads = 0
function setup(thread) thread:set("id", threads); threads = threads + 1 end
function init(args) wrk.method = "POST"; wrk.headers["Content-Type"] = "application/json" end
local function point(session, start, time, value, extra)
  return string.format('{"startTimeUnixNano":"%d","timeUnixNano":"%d","asDouble":%s,"attributes":[{"key":"session.id","value":{"stringValue":"%s"}},{"key":"user.email","value":{"stringValue":"jane@example.com"}},{"key":"model","value":{"stringValue":"claude-sonnet-4-5"}}%s]}', start, time, value, session, extra)
end
function request()
  counter = counter + 1
  local start = 1795491289000000000 + counter * 1000000
  local time = start + 500000
  local session = string.format("s-%d-%d", id, counter % 50)
  local points = {}
  for i = 1, 5 do points[#points + 1] = point(session .. i, start, time, "0.0125", "") end
  local cost = table.concat(points, ",")
  points = {}
  for _, kind in ipairs({"input", "output", "cacheRead", "cacheCreation"}) do
    for i = 1, 3 do points[#points + 1] = point(session .. i, start, time, "120", string.format(',{"key":"type","value":{"stringValue":"%s"}}', kind)) end
  end
  local tokens = table.concat(points, ",")
  points = {}
  for i = 1, 3 do points[#points + 1] = point(session .. i, start, time, "4.5", ',{"key":"type","value":{"stringValue":"cli"}}') end
  local active = table.concat(points, ",")
  local body = '{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"claude-code"}}]},"scopeMetrics":[{"metrics":['
    .. '{"name":"claude_code.cost.usage","unit":"USD","sum":{"aggregationTemporality":1,"isMonotonic":true,"dataPoints":[' .. cost .. ']}},'
    .. '{"name":"claude_code.token.usage","unit":"tokens","sum":{"aggregationTemporality":1,"isMonotonic":true,"dataPoints":[' .. tokens .. ']}},'
    .. '{"name":"claude_code.active_time.total","unit":"s","sum":{"aggregationTemporality":1,"isMonotonic":true,"dataPoints":[' .. active .. ']}}'
    .. ']}]}]}'
  return wrk.format(nil, "/v1/metrics", nil, body)
end
"#;

/// An OTLP/JSON traces export shaped like Claude Code's: an interaction, model requests,
/// tool calls with their permission wait and execution; a new trace per request, spread
/// over 20 sessions per thread.
const TRACES_LUA: &str = r#"
local counter = 0
local threads = 0
function setup(thread) thread:set("id", threads); threads = threads + 1 end
function init(args) wrk.method = "POST"; wrk.headers["Content-Type"] = "application/json" end
local names = {"claude_code.interaction", "claude_code.llm_request", "claude_code.tool", "claude_code.tool.blocked_on_user", "claude_code.tool.execution",
               "claude_code.llm_request", "claude_code.tool", "claude_code.tool.blocked_on_user", "claude_code.tool.execution", "claude_code.llm_request"}
local parents = {0, 1, 1, 3, 3, 1, 1, 7, 7, 1}
function request()
  counter = counter + 1
  local trace = string.format("%016x%016x", id + 1, counter)
  local session = string.format("trace-s-%d-%d", id, counter % 20)
  local start = 1795491289000000000 + counter * 10000000
  local spans = {}
  for i = 1, 10 do
    local parent = ""
    if parents[i] > 0 then parent = string.format(',"parentSpanId":"%016x"', counter * 16 + parents[i]) end
    spans[i] = string.format('{"traceId":"%s","spanId":"%016x"%s,"name":"%s","kind":1,"startTimeUnixNano":"%d","endTimeUnixNano":"%d","status":{"code":0},"attributes":[{"key":"session.id","value":{"stringValue":"%s"}},{"key":"model","value":{"stringValue":"claude-sonnet-4-5"}},{"key":"tool_name","value":{"stringValue":"Bash"}},{"key":"tool_use_id","value":{"stringValue":"toolu_%d_%d_%d"}},{"key":"duration_ms","value":{"intValue":"%d"}}]}',
      trace, counter * 16 + i, parent, names[i], start + i * 100000, start + i * 100000 + 50000 + (11 - i) * 10000, session, id, counter, i, 1 + i)
  end
  local body = '{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"claude-code"}}]},"scopeSpans":[{"scope":{"name":"com.anthropic.claude_code.tracing","version":"1.0.0"},"spans":['
    .. table.concat(spans, ",") .. ']}]}]}'
  return wrk.format(nil, "/v1/traces", nil, body)
end
"#;

/// Spans in each TRACES_LUA request.
const SPANS_PER_REQUEST: f64 = 10.0;

/// Data points in each OTLP_LUA request.
const OTLP_POINTS_PER_REQUEST: f64 = 20.0;

fn hook_event(client: usize, n: usize) -> (String, String) {
    let body = format!(
        r#"{{"session_id":"load-{client}","transcript_path":"/home/dev/.claude/projects/p/load.jsonl","cwd":"/home/dev/project","prompt_id":"6a0d2efb-c486-494c-8567-5ac809c55d37","permission_mode":"default","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{{"command":"cargo test --workspace","description":"Run the tests"}},"tool_use_id":"toolu_{client}_{n}","claude_telemetry":{{"event_id":"01900000-0000-7000-8000-{client:04}{n:08}","received_at":"2026-11-24T05:00:00.000Z","host":"bench","user_name":"Jane Doe","user_email":"jane@example.com","project":"/home/dev/project","hook_latency_us":900,"hook_version":"bench","guard":{{"decision":"allow","rule":"none","category":"none","reason":"no rule matched","latency_us":4,"version":"bench"}}}}}}"#
    );
    ("/v1/hooks".to_owned(), body)
}

fn wide_event(n: usize) -> (String, String) {
    let (path, body) = hook_event(99, n);
    (
        path,
        body.replace(
            "\"tool_name\":\"Bash\"",
            &format!("\"tool_name\":\"mcp__bench__tool_{n}\""),
        ),
    )
}

/// Events the collector has taken in, from its own `claude_telemetry_events_received_total`.
fn events_received(url: &str) -> f64 {
    let text = ureq::get(format!("{url}/metrics"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with("claude_telemetry_events_received_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// CPU time a process has used (user and system), seconds.
fn cpu_seconds(pid: u32) -> f64 {
    cpu_seconds_of(&format!("/proc/{pid}/stat"))
}

/// CPU time (user and system, seconds) from a `stat` file of /proc.
fn cpu_seconds_of(path: &str) -> f64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // After the command name in parentheses: state is field 3, utime 14, stime 15.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i - 3)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    (ticks(14) + ticks(15)) / 100.0
}

/// CPU time (user and system, seconds) of a process's store writer thread. A listing of
/// /proc/PID/task can end early when one of the runtime's threads exits meanwhile, so
/// it is read again until the writer shows.
fn writer_cpu_seconds(pid: u32) -> f64 {
    for _ in 0..10 {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            return f64::NAN;
        };
        for task in tasks.flatten() {
            let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            if comm.trim() == "store-writer" {
                return cpu_seconds_of(&task.path().join("stat").to_string_lossy());
            }
        }
    }
    f64::NAN
}

/// What a `/v1/hooks` load cost the collector, per stored event, in µs.
struct Cost {
    cpu_us: f64,
    writer_us: f64,
}

/// Runs the `/v1/hooks` load against a running collector; its cost per stored event.
fn hooks_load(pid: u32, url: &str, clients: usize, seconds: u64) -> (Load, Cost) {
    let (cpu_before, writer_before, received_before) = (
        cpu_seconds(pid),
        writer_cpu_seconds(pid),
        events_received(url),
    );
    let load = wrk(url, clients, seconds, HOOKS_LUA);
    let events = events_received(url) - received_before;
    let cost = Cost {
        cpu_us: (cpu_seconds(pid) - cpu_before) / events * 1e6,
        writer_us: (writer_cpu_seconds(pid) - writer_before) / events * 1e6,
    };
    (load, cost)
}

/// Starts `binary` as a collector on a fresh store, runs the `/v1/hooks` load, stops it.
fn hooks_on_fresh_store(binary: &str, clients: usize, seconds: u64) -> (Load, Cost) {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut collector = start(
        binary,
        &[
            "serve".into(),
            "--listen".into(),
            format!("127.0.0.1:{port}"),
            "--data-dir".into(),
            data.path().display().to_string(),
        ],
        "listening on",
    );
    let run = hooks_load(
        collector.id(),
        &format!("http://127.0.0.1:{port}"),
        clients,
        seconds,
    );
    let _ = collector.kill();
    let _ = collector.wait();
    run
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// This build and `baseline` in turn, `rounds` times each, on fresh stores.
fn side_by_side(baseline: &str, rounds: usize, clients: usize, seconds: u64) {
    let builds = [
        ("this build", env!("CARGO_BIN_EXE_claude-telemetry")),
        ("baseline", baseline),
    ];
    let mut runs: [Vec<(Load, Cost)>; 2] = [Vec::new(), Vec::new()];
    println!(
        "
`/v1/hooks`, this build and the baseline ({baseline}) in turn, {rounds} rounds, each on a fresh store"
    );
    println!(
        "| round | build | load average | requests/s | p50 ms | p99 ms | collector CPU µs/event | writer thread CPU µs/event |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for round in 1..=rounds {
        for (index, (name, binary)) in builds.iter().enumerate() {
            let load = load_average();
            let (run, cost) = hooks_on_fresh_store(binary, clients, seconds);
            println!(
                "| {round} | {name} | {load} | {:.0} | {:.2} | {:.2} | {:.1} | {:.1} |",
                run.requests_per_second, run.p50_ms, run.p99_ms, cost.cpu_us, cost.writer_us
            );
            runs[index].push((run, cost));
        }
    }
    for (index, (name, _)) in builds.iter().enumerate() {
        let of = |f: &dyn Fn(&(Load, Cost)) -> f64| median(runs[index].iter().map(f).collect());
        println!(
            "| median | {name} | | {:.0} | {:.2} | {:.2} | {:.1} | {:.1} |",
            of(&|r| r.0.requests_per_second),
            of(&|r| r.0.p50_ms),
            of(&|r| r.0.p99_ms),
            of(&|r| r.1.cpu_us),
            of(&|r| r.1.writer_us)
        );
    }
}

fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The store's disk as the run found it: fsync of a 4 KiB write, median and 90th
/// percentile, in ms. With one request in flight per connection, a commit serves at most
/// one event per connection, so `connections / fsync time` bounds the event rate.
fn fsync_ms(dir: &std::path::Path) -> (f64, f64) {
    use std::io::Write;
    let mut file = std::fs::File::create(dir.join("fsync.probe")).unwrap();
    let mut times: Vec<Duration> = (0..200)
        .map(|_| {
            file.write_all(&[0u8; 4096]).unwrap();
            let started = Instant::now();
            file.sync_all().unwrap();
            started.elapsed()
        })
        .collect();
    times.sort();
    (ms(times[100]), ms(times[180]))
}

/// The machine's load average over the last minute.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .next()
        .unwrap_or("?")
        .to_owned()
}

fn main() {
    let clients: usize = std::env::var("CLIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32);
    let seconds: u64 = std::env::var("SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let data = tempfile::tempdir().unwrap();
    let (collector_port, gateway_port) = (free_port(), free_port());
    let mut collector = start(
        env!("CARGO_BIN_EXE_claude-telemetry"),
        &[
            "serve".into(),
            "--listen".into(),
            format!("127.0.0.1:{collector_port}"),
            "--data-dir".into(),
            data.path().display().to_string(),
        ],
        "listening on",
    );
    let mut gateway = start(
        "prometheus-pushgateway",
        // Its own persistence file: Debian's default is shared under /var/lib.
        &[
            format!("--web.listen-address=127.0.0.1:{gateway_port}"),
            format!(
                "--persistence.file={}",
                data.path().join("pushgateway.data").display()
            ),
        ],
        "Listening on",
    );
    let collector_url = format!("http://127.0.0.1:{collector_port}");
    let gateway_url = format!("http://127.0.0.1:{gateway_port}");

    let (fsync_p50, fsync_p90) = fsync_ms(data.path());
    let load = load_average();
    let (hooks, hooks_cost) = hooks_load(collector.id(), &collector_url, clients, seconds);
    let pushes = wrk(&gateway_url, clients, seconds, PUSH_LUA);
    println!(
        "collector load: wrk, 2 threads, {clients} keep-alive connections, {seconds} s each, same machine, same run"
    );
    println!(
        "machine before the run: load average {load}; the store's disk: fsync of 4 KiB p50 {fsync_p50:.2} ms, p90 {fsync_p90:.2} ms"
    );
    println!("| what | requests/s | p50 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|");
    for (name, run) in [
        (
            "collector POST /v1/hooks (each event fsynced before its 200)",
            &hooks,
        ),
        ("real Pushgateway POST /metrics/job/… (in memory)", &pushes),
    ] {
        println!(
            "| {name} | {:.0} | {:.2} | {:.2} | {:.2} |",
            run.requests_per_second, run.p50_ms, run.p99_ms, run.max_ms
        );
    }

    println!(
        "\ncollector CPU per stored hook event (user + system, request to commit, rollups and counters): {:.1} µs, of which its store writer thread (the serial part): {:.1} µs",
        hooks_cost.cpu_us, hooks_cost.writer_us
    );
    if let Ok(baseline) = std::env::var("COLLECTOR_BASELINE") {
        let rounds = std::env::var("ROUNDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(3);
        side_by_side(&baseline, rounds, clients, seconds);
    }

    let otlp = wrk(&collector_url, clients, seconds, OTLP_LUA);
    println!("\n| OTLP/HTTP JSON metrics exports | requests/s | data points/s | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|");
    println!(
        "| collector POST /v1/metrics (20 points each, stored before the answer) | {:.0} | {:.0} | {:.2} | {:.2} |",
        otlp.requests_per_second,
        otlp.requests_per_second * OTLP_POINTS_PER_REQUEST,
        otlp.p50_ms,
        otlp.p99_ms
    );

    let traces = wrk(&collector_url, clients, seconds, TRACES_LUA);
    println!("\n| OTLP/HTTP JSON traces exports | requests/s | spans/s | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|");
    println!(
        "| collector POST /v1/traces (10 spans each, stored before the answer) | {:.0} | {:.0} | {:.2} | {:.2} |",
        traces.requests_per_second,
        traces.requests_per_second * SPANS_PER_REQUEST,
        traces.p50_ms,
        traces.p99_ms
    );
    // One busy session (thread 0, every 20th export): its trees and its page.
    let mut tree_reads = Vec::new();
    let mut page_reads = Vec::new();
    let mut spans_read = 0;
    for _ in 0..5 {
        let started = Instant::now();
        let text = ureq::get(format!(
            "{collector_url}/api/v1/sessions/trace-s-0-1/traces"
        ))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
        tree_reads.push(started.elapsed());
        spans_read = text.matches("\"span_id\"").count();
        let started = Instant::now();
        ureq::get(format!("{collector_url}/sessions/trace-s-0-1"))
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap();
        page_reads.push(started.elapsed());
    }
    tree_reads.sort();
    page_reads.sort();
    println!(
        "\n| one session's traces ({spans_read} spans) | median ms |\n|---|---|\n| `GET /api/v1/sessions/{{id}}/traces` | {:.1} |\n| `GET /sessions/{{id}}` (the latest 20 drawn) | {:.1} |",
        ms(tree_reads[2]),
        ms(page_reads[2])
    );

    // The page's overview over everything the runs stored: the first read scans the
    // week's events; the next ones, with nothing new stored, reuse it.
    let mut reads = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let mut response = ureq::get(format!("{collector_url}/api/v1/overview"))
            .call()
            .unwrap();
        response.body_mut().read_to_string().unwrap();
        reads.push(started.elapsed());
    }
    let stored = events_received(&collector_url);
    println!(
        "\n| page overview after the runs ({stored} events and data points received) | first read ms | next read ms |\n|---|---|---|\n| `GET /api/v1/overview` | {:.1} | {:.2} |",
        ms(reads[0]),
        ms(reads[1])
    );

    // The same 10,000 pushed series (100 groups of 100) on both, then each scraped in
    // turn, so both are timed under the same load.
    let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
    for url in [&collector_url, &gateway_url] {
        for group in 0..100 {
            let body: String = (0..100)
                .map(|n| format!("bench_pushed_total{{series=\"{n}\"}} {}\n", group * n))
                .collect();
            agent
                .put(format!("{url}/metrics/job/bench/instance/i{group}"))
                .header("content-type", "text/plain; version=0.0.4")
                .send(format!("# TYPE bench_pushed_total counter\n{body}"))
                .unwrap();
        }
    }
    let scrape = |url: &str| {
        let started = Instant::now();
        let text = agent
            .get(format!("{url}/metrics"))
            .call()
            .unwrap()
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_string()
            .unwrap();
        (started.elapsed(), text)
    };
    let series = |text: &str, name: &str| text.lines().filter(|l| l.starts_with(name)).count();
    let mut pushed = [Vec::new(), Vec::new()];
    let mut shown = [0, 0];
    for _ in 0..20 {
        for (index, url) in [&collector_url, &gateway_url].iter().enumerate() {
            let (took, text) = scrape(url);
            pushed[index].push(took);
            shown[index] = series(&text, "bench_pushed_total{");
        }
    }
    println!("\n| /metrics, 10,000 pushed series | series shown | median ms | max ms |");
    println!("|---|---|---|---|");
    for (index, name) in ["collector", "real Pushgateway"].iter().enumerate() {
        let times = &mut pushed[index];
        times.sort();
        println!(
            "| {name} | {} | {:.1} | {:.1} |",
            shown[index],
            ms(times[times.len() / 2]),
            ms(times[times.len() - 1])
        );
    }

    // 10,000 hook-derived series in one metric (distinct tool names), then the scrape.
    for n in 0..10_000 {
        let (path, body) = wide_event(n);
        agent
            .post(format!("{collector_url}{path}"))
            .header("content-type", "application/json")
            .send(body)
            .unwrap();
    }
    let mut renders = Vec::new();
    let mut size = 0;
    let mut lines = 0;
    for _ in 0..20 {
        let (took, text) = scrape(&collector_url);
        renders.push(took);
        size = text.len();
        lines = text.lines().filter(|l| !l.starts_with('#')).count();
    }
    renders.sort();
    println!(
        "\n| /metrics, all of the above and 10,000 hook-derived series in one metric | lines | bytes | median ms | max ms |"
    );
    println!("|---|---|---|---|---|");
    println!(
        "| collector, text format | {lines} | {size} | {:.1} | {:.1} |",
        ms(renders[renders.len() / 2]),
        ms(renders[renders.len() - 1])
    );
    println!(
        "\ncollector resident memory after the runs: {:.1} MB; Pushgateway: {:.1} MB",
        rss_mb(collector.id()),
        rss_mb(gateway.id())
    );
    let _ = collector.kill();
    let _ = gateway.kill();
    let _ = collector.wait();
    let _ = gateway.wait();
}
