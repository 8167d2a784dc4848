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
    let project = rows
        .iter()
        .find(|r| r["key"] == "/home/dev/project")
        .unwrap();
    assert_eq!(project["prompts"], 1);
    assert_eq!(project["tool_calls"], 2);
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
        "session,sessions,requests,input,output,cache_read,cache_write,cost_usd,prompts,tool_calls,blocks"
    );
    assert!(csv.lines().any(|l| l.starts_with(&store.session)), "{csv}");
    assert!(csv.lines().last().unwrap().starts_with("TOTAL,"));

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
    assert_eq!(
        csv.lines().next().unwrap(),
        "time,user,project,tool,decision,rule,reason,input"
    );
    assert_eq!(csv.lines().count(), 2);
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
