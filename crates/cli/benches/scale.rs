//! The page, its JSON and `report` at a team's scale, beside counting the events
//! themselves, in one run.
//!
//! Builds a store of `SCALE_EVENTS` events (default 1,000,000): Claude Code sessions of
//! 60 users in 20 projects over the last 30 days — hook events, and about one in seven
//! an `api_request` event — through the collector's own writer (the rollups kept as in
//! production). Then, with the real collector serving that store:
//! - its start (the Prometheus counters replayed from every stored event);
//! - `GET /api/v1/overview` right after each of 15 new events (the page reads the same);
//! - `report --by user` (the last 7 days) from the store, process start to exit;
//! - beside them, the same 7-day totals by user counted from the events' rows in SQL
//!   (what a reading costs without the rollups; the previous code also parsed each
//!   event's JSON);
//! - store size per event, ingest rate with the rollups, resident memory.
//!
//! Run: `SCALE_EVENTS=10000000 cargo bench -p claude-telemetry --bench scale`. The store
//! is built under `target/scale-bench/` and kept (`SCALE_KEEP=1` reuses it next time).

// A benchmark binary: a failed setup should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use collector::aggregate::{Aggregator, Limits, SharedAggregator};
use collector::consumer::Consumer;
use collector::event::{Event, LogRecord};
use collector::processors::events;
use collector::processors::otlp::translate::LogEvent;
use collector::processors::privacy::PrivacyFilter;
use hook_protocol::{Enrichment, GuardRecord, HookEvent};
use serde_json::{Value, json};
use testkit::process::{free_port, start_within};

const USERS: u64 = 60;
const PROJECTS: u64 = 20;
const DAYS: i64 = 30;
const DAY_MS: i64 = 86_400_000;

/// A small deterministic generator (the same store every run).
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }
}

fn rfc3339(ms: i64) -> String {
    let at = UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap());
    humantime::format_rfc3339_millis(at).to_string()
}

fn now_ms() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

struct Session {
    user: u64,
    project: u64,
    id: String,
    model: &'static str,
}

fn hook(n: u64, ts: i64, s: &Session, fields: Value, guard: Option<GuardRecord>) -> Event {
    let cwd = format!("/home/user{}/work/project-{}", s.user, s.project);
    let mut value = json!({
        "session_id": s.id, "cwd": cwd, "permission_mode": "default",
        "transcript_path": format!("/home/user{}/.claude/projects/p/{}.jsonl", s.user, s.id),
    });
    if let (Value::Object(into), Value::Object(from)) = (&mut value, fields) {
        into.extend(from);
    }
    let mut event = HookEvent::from_value(value).unwrap();
    let enrichment = Enrichment {
        event_id: format!("01900000-0000-7000-8000-{n:012x}"),
        received_at: rfc3339(ts),
        host: format!("laptop-{}", s.user),
        user_name: format!("User {}", s.user),
        user_email: Some(format!("user{}@example.com", s.user)),
        project: Some(cwd),
        project_name: Some(format!("acme/project-{}", s.project)),
        hook_latency_us: 900,
        hook_version: "bench".to_owned(),
        truncated: Vec::new(),
        lossy_utf8: false,
        redacted: 0,
        spool_pending: 0,
        guard,
    };
    event.set_enrichment(&enrichment).unwrap();
    events::hook(
        event,
        enrichment,
        &PrivacyFilter::new(hook_protocol::privacy::Level::Metadata),
        None,
    )
    .unwrap()
}

fn api_request(n: u64, ts: i64, s: &Session, dice: &mut Dice) -> Event {
    let input = 1 + dice.below(4000);
    let output = 1 + dice.below(1500);
    let cache_read = dice.below(80_000);
    let cache_creation = dice.below(6000);
    let cost = (input as f64 * 3.0
        + output as f64 * 15.0
        + cache_read as f64 * 0.3
        + cache_creation as f64 * 3.75)
        / 1e6;
    let record = LogRecord {
        event_name: "claude_code.api_request".to_owned(),
        attributes: json!({
            "event.name": "api_request", "session.id": s.id, "user.id": format!("{:064x}", s.user),
            "model": s.model, "cost_usd": cost, "duration_ms": 800 + dice.below(20_000),
            "input_tokens": input, "output_tokens": output, "cache_read_tokens": cache_read,
            "cache_creation_tokens": cache_creation, "query_source": "main",
            "terminal.type": "xterm", "prompt.id": format!("p-{n}"),
        })
        .as_object()
        .cloned()
        .unwrap(),
        resource: json!({"service.name": "claude-code", "service.version": "2.1.332",
            "user.name": format!("User {}", s.user), "user.email": format!("user{}@example.com", s.user)})
        .as_object()
        .cloned()
        .unwrap(),
        body: Some(Value::from("claude_code.api_request")),
        severity: None,
        trace_id: None,
        span_id: None,
    };
    let event = LogEvent {
        time_ns: u64::try_from(ts).unwrap() * 1_000_000,
        id: format!("log-{n:012x}"),
        record,
    };
    events::log(
        event,
        &PrivacyFilter::new(hook_protocol::privacy::Level::Metadata),
    )
    .unwrap()
}

/// One session's events, from `start` on: prompts, tool calls (one in a hundred denied),
/// API requests.
fn session_events(first: u64, start: i64, s: &Session, budget: u64, dice: &mut Dice) -> Vec<Event> {
    let mut out = Vec::with_capacity(usize::try_from(budget).unwrap() + 8);
    let mut n = first;
    let mut ts = start;
    let mut next = |ts: &mut i64, dice: &mut Dice| {
        *ts += 1 + i64::try_from(dice.below(30_000)).unwrap();
        n += 1;
        n
    };
    let k = next(&mut ts, dice);
    out.push(hook(
        k,
        ts,
        s,
        json!({"hook_event_name": "SessionStart", "source": "startup", "model": s.model}),
        None,
    ));
    while (out.len() as u64) < budget {
        let k = next(&mut ts, dice);
        out.push(hook(
            k,
            ts,
            s,
            json!({"hook_event_name": "UserPromptSubmit", "prompt_id": format!("p{k}")}),
            None,
        ));
        let k = next(&mut ts, dice);
        out.push(api_request(k, ts, s, dice));
        for _ in 0..1 + dice.below(8) {
            let tool =
                ["Bash", "Read", "Edit", "Grep", "Write"][usize::try_from(dice.below(5)).unwrap()];
            let k = next(&mut ts, dice);
            let denied = tool == "Bash" && dice.below(100) == 0;
            let guard = GuardRecord {
                decision: if denied { "deny" } else { "allow" }.to_owned(),
                rule: if denied { "rm.home" } else { "none" }.to_owned(),
                category: if denied { "dangerous_rm" } else { "none" }.to_owned(),
                reason: "bench".to_owned(),
                latency_us: 4,
                version: "bench".to_owned(),
                span: None,
            };
            let input =
                json!({"command": "cargo test --workspace", "description": "Run the tests"});
            out.push(hook(
                k,
                ts,
                s,
                json!({"hook_event_name": "PreToolUse", "tool_name": tool,
                "tool_use_id": format!("t{k}"), "tool_input": input}),
                Some(guard),
            ));
            if denied {
                continue;
            }
            let id = format!("t{k}");
            let k = next(&mut ts, dice);
            out.push(hook(
                k,
                ts,
                s,
                json!({"hook_event_name": "PostToolUse", "tool_name": tool,
                "tool_use_id": id, "duration_ms": dice.below(5000)}),
                None,
            ));
            if dice.below(5) == 0 {
                let k = next(&mut ts, dice);
                out.push(api_request(k, ts, s, dice));
            }
        }
        let k = next(&mut ts, dice);
        out.push(hook(k, ts, s, json!({"hook_event_name": "Stop"}), None));
    }
    let k = next(&mut ts, dice);
    out.push(hook(
        k,
        ts,
        s,
        json!({"hook_event_name": "SessionEnd", "reason": "other"}),
        None,
    ));
    out
}

/// Builds the store: sessions spread over the last 30 days, in time order, through the
/// collector's writer. Returns events stored and the time it took.
fn build(dir: &Path, total: u64, now: i64) -> (u64, Duration) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (store, writer) = collector::store::open(
        dir,
        SharedAggregator::new(Aggregator::new(Limits::default())),
    )
    .unwrap();
    let mut dice = Dice(14);
    let per_session = (total / (USERS * u64::try_from(DAYS).unwrap() * 4)).max(20);
    let sessions = total / per_session;
    let start = now - DAYS * DAY_MS;
    let started = Instant::now();
    let mut stored = 0;
    let mut batch = Vec::with_capacity(8192);
    for i in 0..sessions {
        // Session i begins at its share of the 30 days, within a user's working hours.
        let day_start =
            start + i64::try_from(i * u64::try_from(DAYS).unwrap() / sessions).unwrap() * DAY_MS;
        let begin = day_start + 8 * 3_600_000 + i64::try_from(dice.below(9 * 3_600_000)).unwrap();
        let user = dice.below(USERS);
        let session = Session {
            user,
            project: (user * 3 + dice.below(3)) % PROJECTS,
            id: format!("session-{i:08}"),
            model: ["claude-sonnet-4-5", "claude-opus-4-5", "claude-haiku-4-5"]
                [usize::try_from(dice.below(3)).unwrap()],
        };
        let events = session_events(
            i * 1_000_000,
            begin.min(now - 60_000 * 60),
            &session,
            per_session,
            &mut dice,
        );
        stored += events.len() as u64;
        batch.extend(events);
        if batch.len() >= 4096 {
            let flags = runtime
                .block_on(store.consume(std::mem::take(&mut batch)))
                .unwrap();
            assert!(flags.iter().all(|new| *new));
        }
        if i % 1000 == 0 {
            eprint!("\rbuilding the store: {stored} of {total} events");
        }
    }
    if !batch.is_empty() {
        runtime.block_on(store.consume(batch)).unwrap();
    }
    drop(store);
    writer.join();
    eprintln!();
    (stored, started.elapsed())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(mut v: Vec<Duration>) -> (f64, f64, f64) {
    v.sort();
    (
        ms(v[v.len() / 2]),
        ms(v[(v.len() * 9) / 10]),
        ms(v[v.len() - 1]),
    )
}

fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The 7-day totals by user, counted from the events' rows (no rollups).
fn counted_from_events(dir: &Path, since: i64, until: i64) -> usize {
    let conn = rusqlite::Connection::open_with_flags(
        collector::store::database_path(dir),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut statement = conn
        .prepare(
            "SELECT user_key, count(DISTINCT session_id), sum(name = 'UserPromptSubmit'), \
             sum(cost_nano), sum(input_tokens), sum(decision = 'deny') FROM events \
             WHERE ts_ms >= ?1 AND ts_ms < ?2 GROUP BY user_key",
        )
        .unwrap();
    statement
        .query_map([since, until], |r| r.get::<_, Option<String>>(0))
        .unwrap()
        .count()
}

fn main() {
    let total: u64 = std::env::var("SCALE_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../target/scale-bench/{total}"));
    let keep = std::env::var("SCALE_KEEP").is_ok_and(|v| v == "1");
    let now = now_ms();
    if !(keep && collector::store::database_path(&dir).exists()) {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (stored, took) = build(&dir, total, now);
        println!(
            "built: {stored} events in {:.0} s through the writer with the rollups: {:.0} events/s (batches of 4096)",
            took.as_secs_f64(),
            stored as f64 / took.as_secs_f64()
        );
    }
    let bytes = collector::store::size_bytes(&dir);
    let conn = collector::store::reader(&dir).unwrap();
    let (events, hooks): (i64, i64) = conn
        .query_row(
            "SELECT count(*), sum(source = 'hook') FROM events",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let rollup_rows: i64 = conn
        .query_row(
            "SELECT (SELECT count(*) FROM usage_hourly) + (SELECT count(*) FROM session_hourly) + \
             (SELECT count(*) FROM tools_hourly) + (SELECT count(*) FROM blocks_hourly)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let sessions: i64 = conn
        .query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))
        .unwrap();
    drop(conn);
    println!(
        "store: {events} events ({hooks} hook, {} api_request), {sessions} sessions, {rollup_rows} rollup rows; {:.2} GB on disk, {:.0} bytes per event",
        events - hooks,
        bytes as f64 / 1e9,
        bytes as f64 / events as f64
    );

    // The collector serving this store, keeping every event (30 days of them).
    let config = dir.join("collector.toml");
    std::fs::write(&config, "[collector]\nretention = \"0s\"\n").unwrap();
    let port = free_port();
    let started = Instant::now();
    let mut serving = start_within(
        env!("CARGO_BIN_EXE_claude-telemetry"),
        &[
            "serve".into(),
            "--listen".into(),
            format!("127.0.0.1:{port}"),
            "--data-dir".into(),
            dir.display().to_string(),
            "--config".into(),
            config.display().to_string(),
        ],
        "listening on",
        Duration::from_secs(3600),
    );
    let start_time = started.elapsed();
    let url = format!("http://127.0.0.1:{port}");
    let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
    let mut answers = Vec::new();
    let mut last = Duration::ZERO;
    for n in 0..15 {
        // A shared overview read that was slow is reused for 4 times its reading time:
        // wait that out, so each read below is a fresh one.
        std::thread::sleep((last * 5).max(Duration::from_millis(200)));
        let session = Session {
            user: 1,
            project: 3,
            id: "bench-live".to_owned(),
            model: "claude-sonnet-4-5",
        };
        let event = hook(
            u64::try_from(now_ms()).unwrap() * 100 + n,
            now_ms(),
            &session,
            json!({"hook_event_name": "UserPromptSubmit"}),
            None,
        );
        agent
            .post(format!("{url}/v1/hooks"))
            .header("content-type", "application/json")
            .send(event.body.clone())
            .unwrap();
        let asked = Instant::now();
        let text = agent
            .get(format!("{url}/api/v1/overview"))
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap();
        last = asked.elapsed();
        answers.push(last);
        assert!(text.contains("\"week\""));
    }
    let rss = rss_mb(serving.id());
    let mut reports = Vec::new();
    let mut sql = Vec::new();
    for _ in 0..10 {
        let began = Instant::now();
        let output = Command::new(env!("CARGO_BIN_EXE_claude-telemetry"))
            .args(["report", "--by", "user", "--data-dir"])
            .arg(&dir)
            .env_remove("CLAUDE_TELEMETRY_URL")
            .output()
            .unwrap();
        reports.push(began.elapsed());
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let began = Instant::now();
        let users = counted_from_events(&dir, now_ms() - 7 * DAY_MS, now_ms() + 1);
        sql.push(began.elapsed());
        assert!(users > 1);
    }
    let _ = serving.kill();
    let _ = serving.wait();
    let (o50, o90, omax) = median(answers);
    let (r50, r90, rmax) = median(reports);
    let (s50, s90, smax) = median(sql);
    println!("\n{events} events, 60 users, 20 projects, 30 days; same machine, same run");
    println!("| what | median ms | p90 ms | max ms |");
    println!("|---|---|---|---|");
    println!(
        "| `GET /api/v1/overview` right after a new event (15 events) | {o50:.1} | {o90:.1} | {omax:.1} |"
    );
    println!(
        "| `claude-telemetry report --by user` (7 days), process start to exit (10 runs) | {r50:.1} | {r90:.1} | {rmax:.1} |"
    );
    println!(
        "| the same 7 days by user counted from the events' rows in SQL, no JSON (10 runs) | {s50:.1} | {s90:.1} | {smax:.1} |"
    );
    println!(
        "\ncollector start on this store (every event replayed into the Prometheus counters): {:.1} s; resident memory after the reads: {rss:.0} MB",
        start_time.as_secs_f64()
    );
}
