//! The hook reporting the tool calls Claude Code denied without a hook seeing it, read
//! from the session transcript, through the real binary and the real collector: each
//! denial once however often the transcript is read, hostile transcripts, a collector
//! away, many hooks at once. (The real Claude Code CLI's denials: `claude_code.rs`.)

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::support::collector::{Collector, parse_metrics};
use crate::support::{Run, sample, stderr, stdout};

/// Transcript lines as Claude Code 2.1.332 writes them for a Read that a
/// `permissions.deny` rule stopped (shortened to the fields that matter).
fn denied_read(id: &str, path: &str) -> String {
    let call = json!({"type": "assistant", "timestamp": "2026-11-29T08:00:00.000Z", "sessionId": "s-1",
        "message": {"role": "assistant", "content": [{"type": "tool_use", "id": id, "name": "Read", "input": {"file_path": path}}]}});
    let result = json!({"type": "user", "timestamp": "2026-11-29T08:00:00.250Z", "promptId": "p-1", "sessionId": "s-1",
        "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": id, "is_error": true,
            "content": "<tool_use_error>File is in a directory that is denied by your permission settings.</tool_use_error>"}]},
        "toolUseResult": "Error: File is in a directory that is denied by your permission settings.",
        "permissionDecision": {"decision": "reject", "source": "user_reject", "reasonType": "rule", "ruleSource": "userSettings", "reasonCode": "rule:userSettings"}});
    format!("{call}\n{result}\n")
}

/// A turn's end as Claude Code sends it, for `transcript`.
fn closing(event: &str, transcript: &Path) -> Value {
    let mut payload = sample(event);
    payload["session_id"] = json!("s-1");
    payload["transcript_path"] = json!(transcript);
    payload
}

fn blocked(collector: &Collector) -> f64 {
    parse_metrics(&collector.metrics())
        .iter()
        .filter(|(series, _)| {
            series.starts_with("claude_code_tool_calls_total{")
                && series.contains("outcome=\"blocked\"")
        })
        .map(|(_, v)| v)
        .sum()
}

fn audit(data: &Path) -> Vec<collector::query::AuditRow> {
    let all_time = collector::query::Window {
        since_ms: 0,
        until_ms: i64::MAX,
    };
    collector::query::audit(data, all_time, &collector::query::AuditFilter::default()).unwrap()
}

struct Setup {
    dir: tempfile::TempDir,
    data: PathBuf,
    transcript: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let transcript = dir.path().join("s-1.jsonl");
        Setup {
            dir,
            data,
            transcript,
        }
    }

    fn append(&self, text: &str) {
        use std::io::Write;
        let mut file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.transcript)
            .unwrap();
        file.write_all(text.as_bytes()).unwrap();
    }
}

#[test]
fn each_denial_is_reported_once_however_often_the_transcript_is_read() {
    let setup = Setup::new();
    let collector = Collector::start(&setup.data);
    let here = setup.dir.path();
    setup.append(&denied_read("toolu_1", "/home/dev/project/.env"));

    let output = collector.hook(here, "Jane Doe", &closing("Stop", &setup.transcript));
    assert!(stdout(&output).is_empty(), "an observer says nothing");
    assert_eq!(blocked(&collector), 1.0);
    let rows = audit(&setup.data);
    assert_eq!(rows.len(), 1, "{rows:#?}");
    let row = &rows[0];
    assert_eq!(
        (
            row.tool.as_str(),
            row.decision.as_str(),
            row.rule.as_str(),
            row.category.as_str()
        ),
        ("Read", "deny", "claude_code.deny_rule", "permission")
    );
    assert_eq!(row.input, "/home/dev/project/.env");
    assert!(row.reason.contains("userSettings"), "{row:?}");
    // At the denial's time, not the hook's.
    assert_eq!(row.time, "2026-11-29T08:00:00.250Z");

    // Read again at the session's end: nothing new.
    collector.hook(here, "Jane Doe", &closing("SessionEnd", &setup.transcript));
    assert_eq!(blocked(&collector), 1.0);
    // The hook forgot how far it had read: it reads everything again, and the collector
    // knows the denial by its id.
    fs::remove_dir_all(here.join("state/transcripts")).unwrap();
    collector.hook(here, "Jane Doe", &closing("Stop", &setup.transcript));
    assert_eq!(blocked(&collector), 1.0);
    assert_eq!(audit(&setup.data).len(), 1);

    // A later turn's denial, whose call was written before the last look.
    let later = denied_read("toolu_2", "/home/dev/project/.envrc");
    let (call, result) = later.split_once('\n').unwrap();
    setup.append(&format!("{call}\n"));
    collector.hook(here, "Jane Doe", &closing("Stop", &setup.transcript));
    setup.append(result);
    collector.hook(here, "Jane Doe", &closing("Stop", &setup.transcript));
    assert_eq!(blocked(&collector), 2.0);
    let rows = audit(&setup.data);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].tool, "Read", "its call found: {rows:#?}");
    assert_eq!(rows[1].input, "/home/dev/project/.envrc");
}

#[test]
fn a_subagents_transcript_is_read_when_it_stops() {
    let setup = Setup::new();
    let collector = Collector::start(&setup.data);
    let agent = setup.dir.path().join("agent-a1.jsonl");
    fs::write(&agent, denied_read("toolu_sub", "/home/dev/project/.env")).unwrap();
    let mut stop = sample("SubagentStop");
    stop["session_id"] = json!("s-1");
    stop["transcript_path"] = json!(setup.transcript);
    stop["agent_transcript_path"] = json!(agent);
    collector.hook(setup.dir.path(), "Jane Doe", &stop);
    assert_eq!(blocked(&collector), 1.0);
    assert_eq!(audit(&setup.data)[0].rule, "claude_code.deny_rule");
}

#[test]
fn auto_modes_own_denials_get_an_audit_record() {
    let setup = Setup::new();
    let collector = Collector::start(&setup.data);
    let output = collector.hook(
        setup.dir.path(),
        "Jane Doe",
        &sample("PermissionDenied:Bash"),
    );
    assert!(stdout(&output).is_empty());
    assert_eq!(blocked(&collector), 1.0);
    let rows = audit(&setup.data);
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].rule.as_str(), rows[0].decision.as_str()),
        ("claude_code.auto_mode", "deny")
    );
}

#[test]
fn a_transcript_that_cannot_be_read_changes_nothing_and_says_why() {
    let setup = Setup::new();
    let collector = Collector::start(&setup.data);
    let here = setup.dir.path();
    let fifo = here.join("fifo.jsonl");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let garbage = here.join("garbage.jsonl");
    let mut bytes = b"\xff\xfe\x00not json \"tool_result\" {{{\n".repeat(20_000);
    bytes.extend_from_slice(
        b"{\"type\": \"user\", \"message\": {\"content\": [{\"type\": \"tool_result\"",
    );
    fs::write(&garbage, &bytes).unwrap();
    let cases: [(Value, Option<&str>); 6] = [
        (json!(fifo), Some("not a regular file")),
        (json!("/dev/zero"), Some("not a regular file")),
        (json!(here), Some("not a regular file")),
        (json!(garbage), None),
        (json!("relative/s-1.jsonl"), None),
        (json!(["not", "a", "path"]), None),
    ];
    for (path, complaint) in &cases {
        let mut stop = closing("Stop", &setup.transcript);
        stop["transcript_path"] = path.clone();
        let output = collector.hook(here, "Jane Doe", &stop);
        assert!(stdout(&output).is_empty(), "{path}: {}", stdout(&output));
        match complaint {
            Some(text) => assert!(
                stderr(&output).contains(text),
                "{path}: {}",
                stderr(&output)
            ),
            None => assert!(stderr(&output).is_empty(), "{path}: {}", stderr(&output)),
        }
    }
    let metrics = parse_metrics(&collector.metrics());
    let stops: f64 = metrics
        .iter()
        .filter(|(s, _)| s.contains("event=\"Stop\""))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(stops, cases.len() as f64, "every Stop itself was delivered");
    assert_eq!(blocked(&collector), 0.0);
}

#[test]
fn denials_found_while_the_collector_is_away_wait_in_the_spool() {
    let setup = Setup::new();
    let here = setup.dir.path();
    setup.append(&denied_read("toolu_1", "/home/dev/project/.env"));
    let away = testkit::closed_port_url();
    let output = Run::new(&["hook"], here)
        .env("CLAUDE_TELEMETRY_URL", &away)
        .env("CLAUDE_TELEMETRY_STATE_DIR", here.join("state"))
        .stdin(closing("Stop", &setup.transcript).to_string());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let spooled = fs::read_dir(here.join("state/spool"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_file())
        .count();
    assert_eq!(spooled, 2, "the Stop and the denial");

    let collector = Collector::start(&setup.data);
    collector.hook(here, "Jane Doe", &sample("UserPromptSubmit"));
    assert_eq!(blocked(&collector), 1.0);
    assert_eq!(audit(&setup.data).len(), 1);
}

#[test]
fn many_hooks_reading_one_transcript_at_once_count_each_denial_once() {
    let setup = Setup::new();
    let collector = Collector::start(&setup.data);
    for n in 0..20 {
        setup.append(&denied_read(
            &format!("toolu_{n}"),
            "/home/dev/project/.env",
        ));
    }
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                collector.hook(
                    setup.dir.path(),
                    "Jane Doe",
                    &closing("Stop", &setup.transcript),
                );
            });
        }
    });
    assert_eq!(blocked(&collector), 20.0);
    assert_eq!(audit(&setup.data).len(), 20);
}

#[test]
fn a_transcript_full_of_denials_is_reported_in_bounded_steps() {
    let setup = Setup::new();
    let collector = Collector::start(&setup.data);
    for n in 0..250 {
        setup.append(&denied_read(
            &format!("toolu_{n}"),
            "/home/dev/project/.env",
        ));
    }
    let here = setup.dir.path();
    collector.hook(here, "Jane Doe", &closing("Stop", &setup.transcript));
    assert_eq!(blocked(&collector), 200.0, "at most 200 after one event");
    collector.hook(here, "Jane Doe", &closing("SessionEnd", &setup.transcript));
    assert_eq!(blocked(&collector), 250.0, "the rest after the next");
    collector.hook(here, "Jane Doe", &closing("Stop", &setup.transcript));
    assert_eq!(blocked(&collector), 250.0);
}
