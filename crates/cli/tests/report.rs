//! `claude-telemetry report` and `audit` against a store the real collector filled.

use prost::Message;
use serde_json::{Value, json};

use crate::support::collector::Collector;
use crate::support::{Run, sample, stderr, stdout};

struct Filled {
    dir: tempfile::TempDir,
    session: String,
    api: Vec<Value>,
}

impl Filled {
    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        let mut all: Vec<&str> = args.to_vec();
        let data = self.data();
        all.extend_from_slice(&["--data-dir", &data, "--since", "3650d"]);
        Run::new(&all, self.dir.path()).output()
    }
}

/// A store with Claude Code's captured log events and a hook session on the same
/// session id, one call denied.
fn filled() -> Filled {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&dir.path().join("data"));
    let text = include_str!("data/otlp_protobuf_decoded.jsonl");
    let mut api = Vec::new();
    let mut session = String::new();
    for line in text.lines() {
        let record: Value = serde_json::from_str(line).unwrap();
        if record["path"] != "/v1/logs" {
            continue;
        }
        let body = collector::processors::otlp::json::logs_request(&record["body"])
            .unwrap()
            .encode_to_vec();
        assert_eq!(
            collector
                .post("/v1/logs", "application/x-protobuf", &body)
                .0,
            200
        );
        for rl in record["body"]["resourceLogs"].as_array().unwrap() {
            for lr in rl["scopeLogs"][0]["logRecords"].as_array().unwrap() {
                let attrs: serde_json::Map<String, Value> = lr["attributes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| {
                        (
                            a["key"].as_str().unwrap().to_owned(),
                            a["value"]
                                .as_object()
                                .unwrap()
                                .values()
                                .next()
                                .unwrap()
                                .clone(),
                        )
                    })
                    .collect();
                if attrs["event.name"] == "api_request" {
                    session = attrs["session.id"].as_str().unwrap().to_owned();
                    api.push(Value::Object(attrs));
                }
            }
        }
    }
    for name in [
        "SessionStart",
        "UserPromptSubmit",
        "PreToolUse:Bash",
        "PostToolUse:Bash",
        "PostToolUseFailure:Read",
        "Stop",
    ] {
        let mut event = sample(name);
        event["session_id"] = json!(session);
        collector.hook(dir.path(), "Jane Doe", &event);
    }
    let mut denied = sample("PreToolUse:Bash");
    denied["session_id"] = json!(session);
    denied["tool_input"]["command"] = json!("rm -rf ~");
    collector.hook(dir.path(), "Jane Doe", &denied);
    collector.stop();
    Filled { dir, session, api }
}

fn sum(api: &[Value], key: &str) -> f64 {
    // intValue arrives as a string (64-bit), doubleValue as a number.
    api.iter()
        .map(|a| {
            a[key]
                .as_f64()
                .or_else(|| a[key].as_str().and_then(|s| s.parse().ok()))
                .unwrap()
        })
        .sum()
}

#[test]
fn report_figures_equal_what_the_store_holds_in_every_format() {
    let store = filled();
    assert!(!store.api.is_empty());
    let output = store.run(&["report", "--by", "model", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let rows: Vec<Value> = serde_json::from_str(&stdout(&output)).unwrap();
    let model = rows
        .iter()
        .find(|r| r["key"] == "claude-sonnet-4-5")
        .unwrap();
    assert_eq!(model["requests"], store.api.len());
    assert!((model["cost_usd"].as_f64().unwrap() - sum(&store.api, "cost_usd")).abs() < 1e-12);
    assert_eq!(
        model["input_tokens"].as_f64().unwrap(),
        sum(&store.api, "input_tokens")
    );
    assert_eq!(
        model["output_tokens"].as_f64().unwrap(),
        sum(&store.api, "output_tokens")
    );
    assert_eq!(
        model["cache_read_tokens"].as_f64().unwrap(),
        sum(&store.api, "cache_read_tokens")
    );
    assert_eq!(
        model["cache_creation_tokens"].as_f64().unwrap(),
        sum(&store.api, "cache_creation_tokens")
    );
    assert_eq!(rows.last().unwrap()["key"], "TOTAL");

    // By project: the API requests find the project through their session.
    let output = store.run(&["report", "--by", "project", "--json"]);
    let rows: Vec<Value> = serde_json::from_str(&stdout(&output)).unwrap();
    let project = rows.iter().find(|r| r["key"] == "project").unwrap();
    assert_eq!(project["prompts"], 1);
    // Two that ran and the one blocked.
    assert_eq!(project["tool_calls"], 3);
    assert_eq!(project["blocks"], 1);
    assert!(
        project["requests"].as_u64().unwrap()
            >= store
                .api
                .iter()
                .filter(|a| a["session.id"] == store.session.as_str())
                .count() as u64
    );

    let output = store.run(&["report", "--by", "session", "--csv"]);
    let csv = stdout(&output);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "session,user,project,start,sessions,requests,input,output,cache_read,cache_write,cost_usd,prompts,tool_calls,blocks"
    );
    assert!(
        csv.lines()
            .any(|l| l.starts_with(&format!("{},Jane Doe,project,", store.session))),
        "{csv}"
    );
    assert!(!csv.contains("TOTAL"), "no TOTAL line in CSV: {csv}");

    let output = store.run(&["report", "--by", "user"]);
    let table = stdout(&output);
    assert!(table.starts_with("user "), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("Jane Doe") && l.trim_end().ends_with('1')),
        "{table}"
    );
    assert!(table.lines().last().unwrap().starts_with("TOTAL"));
}

#[test]
fn audit_lists_each_block_with_its_rule() {
    let store = filled();
    let output = store.run(&["audit", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let rows: Vec<Value> = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0]["decision"], "deny");
    assert_eq!(rows[0]["rule"], "rm.home");
    assert_eq!(rows[0]["category"], "dangerous_rm");
    assert_eq!(rows[0]["user"], "Jane Doe");
    assert_eq!(rows[0]["input"], "rm -rf ~");
    assert!(rows[0]["reason"].as_str().unwrap().contains("home"));

    let all: Vec<Value> =
        serde_json::from_str(&stdout(&store.run(&["audit", "--all", "--json"]))).unwrap();
    assert_eq!(all.len(), 2, "the allowed PreToolUse too");
    let csv = stdout(&store.run(&["audit", "--csv"]));
    // The CSV has every field the JSON has, in its order.
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let fields: Vec<String> = rows[0].as_object().unwrap().keys().cloned().collect();
    assert_eq!(header, fields);
    assert_eq!(csv.lines().count(), 2);
    assert!(csv.contains(",dangerous_rm,"), "{csv}");
    assert!(stdout(&store.run(&["audit", "--rule", "env."])).contains("no guard decisions"));
    let table = stdout(&store.run(&["audit"]));
    assert!(
        table.contains("rm.home") && table.contains("rm -rf ~"),
        "{table}"
    );
}

#[test]
fn report_and_audit_explain_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let output = Run::new(
        &["report", "--data-dir", dir.path().to_str().unwrap()],
        dir.path(),
    )
    .output();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("no event store"),
        "{}",
        stderr(&output)
    );
    let store = filled();
    let output = Run::new(
        &[
            "audit",
            "--data-dir",
            &store.data(),
            "--since",
            "last tuesday",
        ],
        dir.path(),
    )
    .output();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("neither a duration"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn report_and_audit_ask_a_named_collector_and_print_what_its_store_holds() {
    let store = filled();
    let token = "a-token-for-report-1234";
    let collector = Collector::start_with(
        &store.dir.path().join("data"),
        &[],
        &[("CLAUDE_TELEMETRY_TOKEN", token)],
    );
    // Run from a HOME that has no store: beside the compose stack, the store is in the
    // collector's volume.
    let elsewhere = tempfile::tempdir().unwrap();
    let data = store.data();
    let commands: [&[&str]; 8] = [
        &["report", "--by", "day", "--json"],
        &["report", "--by", "model", "--json"],
        &["report", "--by", "user", "--json"],
        &["report", "--by", "project", "--json"],
        &["report", "--by", "session", "--csv"],
        &["report", "--by", "user"],
        &["audit", "--json"],
        &[
            "audit", "--all", "--user", "Jane Doe", "--rule", "rm.", "--json",
        ],
    ];
    for command in commands {
        let with = || -> Vec<String> {
            let mut args: Vec<&str> = command.to_vec();
            args.extend_from_slice(&["--since", "3650d"]);
            args.into_iter().map(str::to_owned).collect()
        };
        let run = |args: Vec<String>| {
            Run::new(
                &args.iter().map(String::as_str).collect::<Vec<_>>(),
                elsewhere.path(),
            )
        };
        let mut local = with();
        local.extend(["--data-dir".to_owned(), data.clone()]);
        let local = run(local).output();
        assert!(local.status.success(), "{}", stderr(&local));
        let mut by_flag = with();
        by_flag.extend(["--url".to_owned(), collector.url.clone()]);
        let by_flag = run(by_flag).env("CLAUDE_TELEMETRY_TOKEN", token).output();
        assert!(
            by_flag.status.success(),
            "{command:?}: {}",
            stderr(&by_flag)
        );
        let by_env = run(with())
            .env("CLAUDE_TELEMETRY_URL", &collector.url)
            .env("CLAUDE_TELEMETRY_TOKEN", token)
            .output();
        assert!(by_env.status.success(), "{command:?}: {}", stderr(&by_env));
        assert_eq!(stdout(&by_flag), stdout(&local), "{command:?}");
        assert_eq!(stdout(&by_env), stdout(&local), "{command:?}");
        assert!(stdout(&local).len() > 40, "{command:?}: {}", stdout(&local));
    }
    // A named data directory wins over the environment's collector.
    let output = Run::new(
        &["report", "--json", "--data-dir", &data, "--since", "3650d"],
        elsewhere.path(),
    )
    .env("CLAUDE_TELEMETRY_URL", "http://127.0.0.1:9")
    .output();
    assert!(output.status.success(), "{}", stderr(&output));
    // Without the token, or with no collector there, a clear word.
    let output = Run::new(&["report", "--url", &collector.url], elsewhere.path()).output();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("CLAUDE_TELEMETRY_TOKEN"),
        "{}",
        stderr(&output)
    );
    let output = Run::new(&["audit", "--url", "http://127.0.0.1:9"], elsewhere.path()).output();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("cannot reach the collector"),
        "{}",
        stderr(&output)
    );
}

/// One of Claude Code's `api_request` log records, as OTLP/JSON.
fn api_request(
    at: &str,
    session: &str,
    user: &str,
    model: &str,
    tokens: [u64; 4],
    usd: f64,
) -> Value {
    let ns = humantime::parse_rfc3339(at)
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let text = |key: &str, value: &str| json!({"key": key, "value": {"stringValue": value}});
    let int = |key: &str, value: u64| json!({"key": key, "value": {"intValue": value.to_string()}});
    json!({"timeUnixNano": ns.to_string(), "attributes": [
        text("event.name", "api_request"),
        text("session.id", session),
        text("user.email", user),
        text("model", model),
        int("input_tokens", tokens[0]),
        int("output_tokens", tokens[1]),
        int("cache_read_tokens", tokens[2]),
        int("cache_creation_tokens", tokens[3]),
        {"key": "cost_usd", "value": {"doubleValue": usd}},
    ]})
}

fn logs(records: Vec<Value>) -> Vec<u8> {
    json!({"resourceLogs": [{"resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": "claude-code"}}]},
        "scopeLogs": [{"logRecords": records}]}]})
    .to_string()
    .into_bytes()
}

const SONNET: &str = "claude-sonnet-4-5";
const OPUS: &str = "claude-opus-4-1";

/// A constructed history with known answers: three users, two models, six sessions over
/// two weeks of March 2025 and one day of April.
fn history() -> Vec<Value> {
    vec![
        api_request(
            "2025-03-03T09:00:00Z",
            "s-ana-1",
            "ana@example.com",
            SONNET,
            [1_200, 800, 45_000, 3_000],
            0.4213,
        ),
        api_request(
            "2025-03-03T09:05:00Z",
            "s-ana-1",
            "ana@example.com",
            OPUS,
            [2_500, 1_900, 120_000, 8_000],
            2.875,
        ),
        api_request(
            "2025-03-04T14:00:00Z",
            "s-bo-1",
            "bo@example.com",
            SONNET,
            [900, 400, 30_000, 0],
            0.1999,
        ),
        api_request(
            "2025-03-09T23:59:00Z",
            "s-cy-1",
            "cy@example.com",
            OPUS,
            [1_000_000, 250_000, 9_000_000, 400_000],
            1_234.565,
        ),
        api_request(
            "2025-03-10T00:01:00Z",
            "s-ana-2",
            "ana@example.com",
            SONNET,
            [3_000, 1_000, 0, 2_000],
            0.05,
        ),
        api_request(
            "2025-03-12T10:00:00Z",
            "s-bo-2",
            "bo@example.com",
            OPUS,
            [10, 20, 30, 40],
            0.004,
        ),
        api_request(
            "2025-04-01T08:00:00Z",
            "s-cy-2",
            "cy@example.com",
            SONNET,
            [5_000, 5_000, 5_000, 5_000],
            12.0,
        ),
    ]
}

/// A store holding [`history`], and its collector.
fn history_store() -> (tempfile::TempDir, Collector) {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start_with(
        &dir.path().join("data"),
        &[],
        &[("CLAUDE_TELEMETRY_RETENTION", "0s")],
    );
    let (status, body) = collector.post("/v1/logs", "application/json", &logs(history()));
    assert_eq!(status, 200, "{body}");
    (dir, collector)
}

/// `report ARGS` over the whole history, on the store in `dir`.
fn report_on(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let data = dir.join("data").display().to_string();
    let mut all = vec![
        "report",
        "--data-dir",
        &data,
        "--since",
        "2025-03-01",
        "--until",
        "2025-05-01",
    ];
    all.extend_from_slice(args);
    let mut run = Run::new(&all, dir);
    for (key, value) in env {
        run = run.env(key, value);
    }
    let output = run.output();
    assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    stdout(&output)
}

fn rows_of(text: &str) -> Vec<collector::query::UsageRow> {
    serde_json::from_str(text).unwrap()
}

/// The known answer: cost in the history's requests that `keep` admits.
fn cost_where(keep: impl Fn(&Value) -> bool) -> f64 {
    history()
        .iter()
        .filter(|r| keep(r))
        .map(|r| {
            r["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["key"] == "cost_usd")
                .unwrap()["value"]["doubleValue"]
                .as_f64()
                .unwrap()
        })
        .sum()
}

fn attribute<'a>(record: &'a Value, key: &str) -> &'a str {
    record["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"] == key)
        .unwrap()["value"]["stringValue"]
        .as_str()
        .unwrap()
}

#[test]
fn report_groups_filters_and_breaks_down_a_constructed_history_to_its_known_answers() {
    let (dir, collector) = history_store();
    collector.stop();
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    let day = |r: &Value| -> String {
        let ns: u128 = r["timeUnixNano"].as_str().unwrap().parse().unwrap();
        collector::time::date(i64::try_from(ns / 1_000_000).unwrap())
    };

    // Weeks from Monday: the 9th (a Sunday, 23:59) is the week of the 3rd; the 10th opens the next.
    let weeks = rows_of(&report_on(dir.path(), &["--by", "week", "--json"], &[]));
    let keys: Vec<&str> = weeks.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, ["2025-03-03", "2025-03-10", "2025-03-31", "TOTAL"]);
    assert!(close(
        weeks[0].cost_usd,
        cost_where(|r| day(r).as_str() <= "2025-03-09")
    ));
    assert!(close(
        weeks[1].cost_usd,
        cost_where(|r| ("2025-03-10".."2025-03-17").contains(&day(r).as_str()))
    ));
    assert_eq!(weeks[0].sessions, 3);
    assert!(weeks[3].total && close(weeks[3].cost_usd, cost_where(|_| true)));
    assert_eq!(weeks[3].sessions, 6);

    let months = rows_of(&report_on(dir.path(), &["--by", "month", "--json"], &[]));
    let keys: Vec<&str> = months.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, ["2025-03", "2025-04", "TOTAL"]);
    assert!(close(months[1].cost_usd, 12.0));
    assert_eq!(
        months[0].input_tokens,
        1_200 + 2_500 + 900 + 1_000_000 + 3_000 + 10
    );

    // Claude's 5-hour windows, each account's own: one opens at the hour of a user's
    // first activity. Ana's request at 00:01 on the 10th opens her own window, not a
    // part of the one Cy opened at 23:00 the day before.
    let blocks = rows_of(&report_on(dir.path(), &["--by", "block", "--json"], &[]));
    let keys: Vec<(&str, Option<&str>)> = blocks
        .iter()
        .map(|r| (r.key.as_str(), r.user.as_deref()))
        .collect();
    assert_eq!(
        keys,
        [
            ("2025-03-03 09:00", Some("ana@example.com")),
            ("2025-03-04 14:00", Some("bo@example.com")),
            ("2025-03-09 23:00", Some("cy@example.com")),
            ("2025-03-10 00:00", Some("ana@example.com")),
            ("2025-03-12 10:00", Some("bo@example.com")),
            ("2025-04-01 08:00", Some("cy@example.com")),
            ("TOTAL", None)
        ]
    );
    assert!(close(blocks[2].cost_usd, 1_234.565));
    assert!(close(blocks[3].cost_usd, 0.05));
    assert_eq!((blocks[0].requests, blocks[0].sessions), (2, 1));
    assert_eq!(
        blocks[2].last_ms.unwrap() - blocks[2].start_ms.unwrap(),
        5 * 3_600_000
    );
    assert!(
        blocks.iter().all(|b| b.projected_cost_usd.is_none()),
        "all closed"
    );

    // Filters: a user, a model, both.
    for (args, keep) in [
        (
            vec!["--user", "ana@example.com"],
            Box::new(|r: &Value| attribute(r, "user.email") == "ana@example.com")
                as Box<dyn Fn(&Value) -> bool>,
        ),
        (
            vec!["--model", OPUS],
            Box::new(|r: &Value| attribute(r, "model") == OPUS),
        ),
        (
            vec!["--user", "bo@example.com", "--model", OPUS],
            Box::new(|r: &Value| {
                attribute(r, "user.email") == "bo@example.com" && attribute(r, "model") == OPUS
            }),
        ),
    ] {
        let mut all = vec!["--by", "day", "--json"];
        all.extend(args.iter().copied());
        let rows = rows_of(&report_on(dir.path(), &all, &[]));
        let total = rows.last().unwrap();
        assert!(
            close(total.cost_usd, cost_where(&keep)),
            "{args:?}: {rows:#?}"
        );
        let days: Vec<String> = history()
            .iter()
            .filter(|r| keep(r))
            .map(day)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let keys: Vec<String> = rows
            .iter()
            .filter(|r| !r.total)
            .map(|r| r.key.clone())
            .collect();
        assert_eq!(keys, days, "{args:?}");
    }

    // Inside each row, by model: the models add up to the row.
    let rows = rows_of(&report_on(
        dir.path(),
        &["--by", "user", "--breakdown", "--json"],
        &[],
    ));
    for row in &rows {
        assert!(!row.models.is_empty(), "{row:?}");
        assert!(
            close(row.models.iter().map(|m| m.cost_usd).sum(), row.cost_usd),
            "{row:?}"
        );
        assert_eq!(
            row.models.iter().map(|m| m.requests).sum::<u64>(),
            row.requests
        );
    }
    let ana = rows.iter().find(|r| r.key == "ana@example.com").unwrap();
    let models: Vec<&str> = ana.models.iter().map(|m| m.key.as_str()).collect();
    assert_eq!(models, [OPUS, SONNET]);

    // Sessions in the order they started, with their user.
    let sessions = rows_of(&report_on(dir.path(), &["--by", "session", "--json"], &[]));
    let order: Vec<(&str, Option<&str>)> = sessions
        .iter()
        .filter(|r| !r.total)
        .map(|r| (r.key.as_str(), r.user.as_deref()))
        .collect();
    assert_eq!(
        order,
        [
            ("s-ana-1", Some("ana@example.com")),
            ("s-bo-1", Some("bo@example.com")),
            ("s-cy-1", Some("cy@example.com")),
            ("s-ana-2", Some("ana@example.com")),
            ("s-bo-2", Some("bo@example.com")),
            ("s-cy-2", Some("cy@example.com")),
        ]
    );

    // CSV: no TOTAL line, so a spreadsheet's sum is the total; with a breakdown, one
    // line per group and model.
    let csv = report_on(dir.path(), &["--by", "user", "--breakdown", "--csv"], &[]);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "user,model,sessions,requests,input,output,cache_read,cache_write,cost_usd,prompts,tool_calls,blocks"
    );
    let sum: f64 = lines
        .map(|l| l.split(',').nth(8).unwrap().parse::<f64>().unwrap())
        .sum();
    assert!(close(sum, cost_where(|_| true)), "{csv}");
    assert!(!csv.contains("TOTAL"), "{csv}");
}

/// The table at `columns` characters, as a person sees it in a terminal of that width.
fn table_at(dir: &std::path::Path, args: &[&str], columns: usize) -> String {
    let mut all = args.to_vec();
    all.extend_from_slice(&["--color", "never"]);
    report_on(dir, &all, &[("COLUMNS", &columns.to_string())])
}

#[test]
fn the_report_table_at_80_and_120_columns_matches_its_snapshot() {
    let (dir, collector) = history_store();
    collector.stop();
    let snapshots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/report");
    let mut differ = Vec::new();
    for (name, args) in [
        ("by_day_breakdown", vec!["--by", "day", "--breakdown"]),
        ("by_session", vec!["--by", "session"]),
        ("by_user", vec!["--by", "user"]),
    ] {
        for columns in [80, 120] {
            let table = table_at(dir.path(), &args, columns);
            for line in table.lines() {
                assert!(
                    line.chars().count() <= columns,
                    "wider than {columns}: {line:?}\n{table}"
                );
            }
            let file = snapshots.join(format!("{name}_{columns}.txt"));
            if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
                std::fs::create_dir_all(&snapshots).unwrap();
                std::fs::write(&file, &table).unwrap();
                continue;
            }
            let expected = std::fs::read_to_string(&file).unwrap_or_default();
            if table != expected {
                let artifacts = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../../target/test-artifacts/report");
                std::fs::create_dir_all(&artifacts).unwrap();
                std::fs::write(artifacts.join(format!("{name}_{columns}.txt")), &table).unwrap();
                differ.push(format!(
                    "{name} at {columns}:\n{table}\nexpected:\n{expected}"
                ));
            }
        }
    }
    assert!(
        differ.is_empty(),
        "tables differ from tests/data/report (UPDATE_SNAPSHOTS=1 rewrites them after a deliberate change):\n{}",
        differ.join("\n")
    );
    // Colour when asked, none when not.
    let coloured = report_on(dir.path(), &["--by", "user", "--color", "always"], &[]);
    assert!(coloured.starts_with("\x1b[1muser"), "{coloured:?}");
    assert!(coloured.contains("\x1b[1mTOTAL"), "{coloured:?}");
    let plain = report_on(dir.path(), &["--by", "user"], &[]);
    assert!(!plain.contains('\x1b'), "not a terminal: no colour");
}

#[test]
fn report_over_http_reads_every_page_of_a_collector_that_pages() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start_with(
        &dir.path().join("data"),
        &[],
        &[("CLAUDE_TELEMETRY_RETENTION", "0s")],
    );
    // More sessions than a page of /api/v1/ holds (1,000).
    let records: Vec<Value> = (0..1_205)
        .map(|i| {
            let at = format!(
                "2025-03-{:02}T{:02}:{:02}:00Z",
                3 + i / 600,
                i / 60 % 10,
                i % 60
            );
            api_request(
                &at,
                &format!("s-{i:05}"),
                "ana@example.com",
                SONNET,
                [10, 10, 0, 0],
                0.01,
            )
        })
        .collect();
    let (status, body) = collector.post("/v1/logs", "application/json", &logs(records));
    assert_eq!(status, 200, "{body}");
    let local = report_on(dir.path(), &["--by", "session", "--json"], &[]);
    let over_http = Run::new(
        &[
            "report",
            "--url",
            &collector.url,
            "--by",
            "session",
            "--json",
            "--since",
            "2025-03-01",
            "--until",
            "2025-05-01",
        ],
        dir.path(),
    )
    .output();
    assert!(over_http.status.success(), "{}", stderr(&over_http));
    let rows = rows_of(&stdout(&over_http));
    assert_eq!(rows.len(), 1_206, "every session and one TOTAL");
    assert_eq!(rows.iter().filter(|r| r.total).count(), 1);
    assert_eq!(stdout(&over_http), local);
}

#[test]
fn the_budget_reaches_the_api_and_prometheus_and_a_bad_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start_with(
        &dir.path().join("data"),
        &[],
        &[
            ("CLAUDE_TELEMETRY_MONTHLY_BUDGET_USD", "2500"),
            (
                "CLAUDE_TELEMETRY_USER_MONTHLY_BUDGETS_USD",
                "ana@example.com=100, nobody=0",
            ),
            (
                "CLAUDE_TELEMETRY_PROJECT_MONTHLY_BUDGETS_USD",
                "acme/api=10",
            ),
        ],
    );
    // Spent an hour ago: this month's, unless the month began within the hour.
    let now = std::time::SystemTime::now();
    let at =
        humantime::format_rfc3339_seconds(now - std::time::Duration::from_secs(3_600)).to_string();
    let (status, body) = collector.post(
        "/v1/logs",
        "application/json",
        &logs(vec![api_request(
            &at,
            "s-1",
            "ana@example.com",
            SONNET,
            [1, 1, 0, 0],
            42.0,
        )]),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = collector.get("/api/v1/budget");
    assert_eq!(status, 200, "{body}");
    let budget: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(budget["monthly_budget_usd"], 2500.0);
    let this_month = collector::time::date(collector::time::now_ms())[..7].to_owned();
    assert_eq!(budget["month"], this_month.as_str());
    if at[..7] == this_month {
        assert_eq!(budget["month_to_date_usd"], 42.0, "{budget}");
        let projected = budget["projected_usd"].as_f64().unwrap();
        assert!(projected >= 42.0, "{budget}");
        assert!((budget["projected_share"].as_f64().unwrap() - projected / 2500.0).abs() < 1e-9);
    }
    // Every budget, each with its own month; filtered by a user, that user's budget.
    let names: Vec<&str> = budget["budgets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap_or("(everyone)"))
        .collect();
    assert_eq!(
        names,
        ["(everyone)", "ana@example.com", "nobody", "acme/api"]
    );
    let (status, body) = collector.get("/api/v1/budget?user=ana%40example.com");
    assert_eq!(status, 200, "{body}");
    let ana: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (&ana["scope"], &ana["name"], &ana["monthly_budget_usd"]),
        (&json!("user"), &json!("ana@example.com"), &json!(100.0)),
        "{ana}"
    );
    let (_, body) = collector.get("/api/v1/budget?user=zed");
    let zed: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (
            &zed["scope"],
            &zed["monthly_budget_usd"],
            &zed["month_to_date_usd"]
        ),
        (&json!("user"), &Value::Null, &json!(0.0)),
        "a user without a budget has none: {zed}"
    );
    let metrics = crate::support::collector::parse_metrics(&collector.metrics());
    assert_eq!(metrics["claude_telemetry_monthly_budget_usd"], 2500.0);
    assert_eq!(
        metrics["claude_telemetry_monthly_budget_usd{user=\"ana@example.com\"}"],
        100.0
    );
    assert_eq!(
        metrics["claude_telemetry_monthly_budget_usd{project=\"acme/api\"}"],
        10.0
    );
    if at[..7] == this_month {
        assert_eq!(ana["month_to_date_usd"], 42.0, "{ana}");
        assert_eq!(
            metrics["claude_telemetry_month_to_date_cost_usd{user=\"ana@example.com\"}"],
            42.0
        );
        assert_eq!(metrics["claude_telemetry_month_to_date_cost_usd"], 42.0);
    }
    collector.stop();

    for bad in ["0", "-5", "NaN", "lots"] {
        match crate::support::collector::spawn(
            &dir.path().join("other"),
            &[],
            &[("CLAUDE_TELEMETRY_MONTHLY_BUDGET_USD", bad)],
        ) {
            Ok((mut child, _)) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("a budget of {bad} was taken");
            }
            Err(output) => assert!(
                output.to_lowercase().contains("monthly_budget_usd"),
                "{bad}: {output}"
            ),
        }
    }
    for bad in ["ana=-5", "ana=NaN", "ana=inf", "ana=lots", "ana", "=5"] {
        match crate::support::collector::spawn(
            &dir.path().join("other"),
            &[],
            &[("CLAUDE_TELEMETRY_USER_MONTHLY_BUDGETS_USD", bad)],
        ) {
            Ok((mut child, _)) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("a user budget of {bad} was taken");
            }
            Err(output) => assert!(
                output.to_lowercase().contains("user_monthly_budgets_usd"),
                "{bad}: {output}"
            ),
        }
    }
}
