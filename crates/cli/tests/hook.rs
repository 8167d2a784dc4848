//! `claude-telemetry hook` end to end: real payloads through the real binary into a real
//! HTTP receiver, and every way delivery can go wrong.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::thread;

use serde_json::{Value, json};
use testkit::{Garbage, Hanging, Receiver, closed_port_url};

use crate::support::{Run, sample, samples, stderr, stdout};

/// A temporary HOME with the hook's state under it.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        Home {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn spool(&self) -> PathBuf {
        self.path().join(".local/state/claude-telemetry/spool")
    }

    /// Pending spool files, oldest first.
    fn pending(&self) -> Vec<PathBuf> {
        let Ok(entries) = fs::read_dir(self.spool()) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = entries
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
            .collect();
        files.sort();
        files
    }

    fn pending_ids(&self) -> Vec<String> {
        self.pending()
            .iter()
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .collect()
    }

    /// The hook as Claude Code runs it, pointed at `url`.
    fn hook(&self, url: &str) -> Run {
        Run::new(&["hook"], self.path())
            .env("CLAUDE_TELEMETRY_URL", url)
            // Tests exercise the hung-collector backoff explicitly; elsewhere retry at once.
            .env("CLAUDE_TELEMETRY_RETRY_AFTER_MS", "0")
    }
}

fn id_of(event: &Value) -> String {
    event["claude_telemetry"]["event_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn without_enrichment(event: &Value) -> Value {
    let mut event = event.clone();
    event.as_object_mut().unwrap().remove("claude_telemetry");
    event
}

fn assert_delivered_once_each(receiver: &Receiver, expected: &BTreeSet<String>) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for event in receiver.events() {
        *seen.entry(id_of(&event)).or_default() += 1;
    }
    let duplicates: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        duplicates.is_empty(),
        "delivered more than once: {duplicates:?}"
    );
    let got: BTreeSet<String> = seen.into_keys().collect();
    assert_eq!(&got, expected, "every event exactly once");
}

#[test]
fn every_captured_payload_arrives_intact_and_enriched() {
    let receiver = Receiver::start();
    let home = Home::new();
    let samples = samples();
    assert!(samples.len() >= 25);
    let host = gethostname();
    for (index, (name, payload)) in samples.iter().enumerate() {
        // Half the events run with CLAUDE_PROJECT_DIR, half fall back to the event's cwd.
        // Transport, not privacy: at the full level every field arrives as sent.
        let mut run = home
            .hook(&receiver.url())
            .env("CLAUDE_TELEMETRY_PRIVACY", "full")
            .env("USER_NAME", "Jane Doe")
            .env("USER_EMAIL", "jane@example.com");
        if index % 2 == 0 {
            run = run.env("CLAUDE_PROJECT_DIR", "/work/project-dir");
        }
        let output = run.stdin(payload.to_string());
        assert_eq!(output.status.code(), Some(0), "{name}: {}", stderr(&output));
        assert_eq!(stdout(&output), "", "{name}: nothing to tell Claude Code");

        let requests = receiver.requests();
        assert_eq!(requests.len(), index + 1, "{name}: one request per event");
        let request = &requests[index];
        assert_eq!(request.method, "POST");
        assert_eq!(request.url, "/v1/hooks");
        assert_eq!(request.header("content-type"), Some("application/json"));
        assert_eq!(request.header("authorization"), None);

        let events = request.events();
        assert_eq!(events.len(), 1);
        let event = &events[0];
        assert_eq!(
            &without_enrichment(event),
            payload,
            "{name}: Claude Code's fields intact"
        );

        let enrichment = &event["claude_telemetry"];
        let id = enrichment["event_id"].as_str().unwrap();
        assert_eq!(id.len(), 36, "{name}: UUID");
        assert_eq!(&id[14..15], "7", "{name}: UUIDv7, time-ordered");
        let at = enrichment["received_at"].as_str().unwrap();
        assert!(
            at.ends_with('Z') && at.len() == 24,
            "{name}: RFC 3339 ms UTC, got {at}"
        );
        assert_eq!(enrichment["host"], host.as_str());
        assert_eq!(enrichment["user_name"], "Jane Doe");
        assert_eq!(enrichment["user_email"], "jane@example.com");
        let expected_project = if index % 2 == 0 {
            json!("/work/project-dir")
        } else {
            payload["cwd"].clone()
        };
        assert_eq!(enrichment["project"], expected_project, "{name}");
        assert!(enrichment["hook_latency_us"].as_u64().is_some(), "{name}");
        assert_eq!(enrichment["hook_version"], env!("CARGO_PKG_VERSION"));
        assert!(enrichment.get("truncated").is_none(), "{name}: nothing cut");
    }
    let ids: BTreeSet<String> = receiver.events().iter().map(id_of).collect();
    assert_eq!(ids.len(), samples.len(), "ids are unique");
    assert!(home.pending().is_empty());
}

fn gethostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_owned()
}

#[test]
fn unknown_events_pass_through_with_their_fields_kept_as_the_level_says() {
    let receiver = Receiver::start();
    let home = Home::new();
    let payload = json!({
        "hook_event_name": "SomethingNew",
        "session_id": "s-1",
        "brand_new": {"nested": [1, 2.5, null, "x"], "flag": true},
        "unicode": "日本語 ✓ \u{1F600}"
    });
    // At the full level, untouched.
    let output = home
        .hook(&receiver.url())
        .env("CLAUDE_TELEMETRY_PRIVACY", "full")
        .stdin(payload.to_string());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "");
    let events = receiver.events();
    assert_eq!(without_enrichment(&events[0]), payload);
    // Older Claude Code versions omit cwd and more: the hook still enriches.
    assert_eq!(events[0]["claude_telemetry"]["user_name"], "tester");
    assert!(events[0]["claude_telemetry"].get("project").is_none());

    // At the default metadata level, a field nobody knows yet is only its size.
    home.hook(&receiver.url()).stdin(payload.to_string());
    let events = receiver.events();
    assert_eq!(
        without_enrichment(&events[1]),
        json!({
            "hook_event_name": "SomethingNew",
            "session_id": "s-1",
            "brand_new": {"elided_bytes": payload["brand_new"].to_string().len()},
            "unicode": {"elided_bytes": "日本語 ✓ \u{1F600}".len()}
        })
    );
}

#[test]
fn token_is_sent_as_a_bearer_only_when_set() {
    let receiver = Receiver::start();
    let home = Home::new();
    let payload = sample("Stop").to_string();
    home.hook(&receiver.url())
        .env("CLAUDE_TELEMETRY_TOKEN", "s3cret")
        .stdin(payload.clone());
    home.hook(&receiver.url()).stdin(payload);
    let requests = receiver.requests();
    assert_eq!(requests[0].header("authorization"), Some("Bearer s3cret"));
    assert_eq!(requests[1].header("authorization"), None);
}

#[test]
fn the_original_stacks_pushgateway_variable_is_honoured_and_ours_wins() {
    let ours = Receiver::start();
    let original = Receiver::start();
    let home = Home::new();
    let payload = sample("Stop").to_string();
    let base = Run::new(&["hook"], home.path()).env("CLAUDE_TELEMETRY_RETRY_AFTER_MS", "0");
    let output = base
        .env("PROMETHEUS_PUSH_GATEWAY", original.url())
        .stdin(payload.clone());
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(original.events().len(), 1);

    Run::new(&["hook"], home.path())
        .env("PROMETHEUS_PUSH_GATEWAY", original.url())
        .env("CLAUDE_TELEMETRY_URL", ours.url())
        .stdin(payload);
    assert_eq!(ours.events().len(), 1);
    assert_eq!(original.events().len(), 1);
}

#[test]
fn with_no_collector_events_spool_then_drain_exactly_once() {
    let home = Home::new();
    let down = closed_port_url();
    let mut spooled = BTreeSet::new();
    for (count, name) in [
        "SessionStart",
        "UserPromptSubmit",
        "PreToolUse:Bash",
        "PostToolUse:Bash",
        "Stop",
    ]
    .into_iter()
    .enumerate()
    {
        let output = home.hook(&down).stdin(sample(name).to_string());
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        assert_eq!(
            stdout(&output),
            "",
            "delivery trouble is not Claude Code's business"
        );
        assert!(
            stderr(&output).contains("spooled for later delivery"),
            "{}",
            stderr(&output)
        );
        assert_eq!(
            home.pending().len(),
            count + 1,
            "the spool grows by one per event"
        );
        spooled.extend(home.pending_ids());
    }
    // Each spool file holds the full enriched event.
    let first: Value =
        serde_json::from_str(&fs::read_to_string(&home.pending()[0]).unwrap()).unwrap();
    assert_eq!(without_enrichment(&first), sample("SessionStart"));

    let receiver = Receiver::start();
    let output = home
        .hook(&receiver.url())
        .stdin(sample("SessionEnd").to_string());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(home.pending().is_empty(), "drained");

    let current = id_of(&receiver.requests()[0].events()[0]);
    assert_eq!(
        receiver.requests()[0].events()[0]["claude_telemetry"]["spool_pending"],
        5,
        "it reports the backlog it found"
    );
    let mut expected = spooled.clone();
    expected.insert(current);
    assert_delivered_once_each(&receiver, &expected);
    // The spooled events went as one NDJSON batch, oldest first.
    let batch = &receiver.requests()[1];
    assert_eq!(batch.header("content-type"), Some("application/x-ndjson"));
    let order: Vec<String> = batch.events().iter().map(id_of).collect();
    assert_eq!(order, spooled.into_iter().collect::<Vec<_>>());

    // A later event finds nothing left to send.
    home.hook(&receiver.url()).stdin(sample("Stop").to_string());
    assert_eq!(receiver.requests().len(), 3);
}

#[test]
fn draining_is_bounded_per_invocation_and_oldest_first() {
    let home = Home::new();
    let down = closed_port_url();
    let total = 230; // more than one drain takes (200)
    for _ in 0..total {
        let output = home
            .hook(&down)
            .stdin(sample("PreToolUse:Read").to_string());
        assert_eq!(output.status.code(), Some(0));
    }
    let spooled = home.pending_ids();
    assert_eq!(spooled.len(), total);

    let receiver = Receiver::start();
    home.hook(&receiver.url()).stdin(sample("Stop").to_string());
    let first_batch: Vec<String> = receiver.requests()[1].events().iter().map(id_of).collect();
    assert_eq!(first_batch, spooled[..200], "the 200 oldest first");
    assert_eq!(
        home.pending_ids(),
        spooled[200..],
        "the rest waits for the next hook"
    );

    home.hook(&receiver.url()).stdin(sample("Stop").to_string());
    assert!(home.pending().is_empty());
    let mut expected: BTreeSet<String> = spooled.into_iter().collect();
    expected.insert(id_of(&receiver.requests()[0].events()[0]));
    expected.insert(id_of(&receiver.requests()[2].events()[0]));
    assert_delivered_once_each(&receiver, &expected);
}

#[test]
fn concurrent_hooks_lose_nothing_and_deliver_nothing_twice() {
    let home = Home::new();
    let down = closed_port_url();
    let payload = sample("PostToolUse:Bash").to_string();
    thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                for _ in 0..6 {
                    let output = home.hook(&down).stdin(payload.clone());
                    assert_eq!(output.status.code(), Some(0));
                }
            });
        }
    });
    let spooled: BTreeSet<String> = home.pending_ids().into_iter().collect();
    assert_eq!(
        spooled.len(),
        48,
        "every concurrent event spooled, none overwritten"
    );

    let receiver = Receiver::start();
    thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                let output = home.hook(&receiver.url()).stdin(payload.clone());
                assert_eq!(output.status.code(), Some(0));
            });
        }
    });
    // A drain that found the lock busy left its share to the next invocation.
    home.hook(&receiver.url()).stdin(payload.clone());
    assert!(home.pending().is_empty());

    let mut expected = spooled;
    for request in receiver.requests() {
        if request.header("content-type") == Some("application/json") {
            expected.insert(id_of(&request.events()[0]));
        }
    }
    assert_eq!(expected.len(), 48 + 9);
    assert_delivered_once_each(&receiver, &expected);
}

#[test]
fn a_hanging_collector_costs_one_timeout_then_events_go_straight_to_the_spool() {
    let hanging = Hanging::start();
    let home = Home::new();
    let run = || {
        Run::new(&["hook"], home.path())
            .env("CLAUDE_TELEMETRY_URL", hanging.url())
            .env("CLAUDE_TELEMETRY_TIMEOUT_MS", "100")
            .env("CLAUDE_TELEMETRY_RETRY_AFTER_MS", "600000")
            .stdin(sample("PreToolUse:Bash").to_string())
    };
    let first = run();
    assert_eq!(first.status.code(), Some(0));
    assert_eq!(stdout(&first), "");
    assert!(
        stderr(&first).contains("within 100 ms (timed out)"),
        "{}",
        stderr(&first)
    );
    assert_eq!(home.pending().len(), 1);
    assert_eq!(hanging.connections(), 1);

    let second = run();
    assert_eq!(second.status.code(), Some(0));
    assert!(stderr(&second).contains("recently"), "{}", stderr(&second));
    assert_eq!(home.pending().len(), 2);
    assert_eq!(
        hanging.connections(),
        1,
        "the second hook did not wait on the hung collector"
    );
}

#[test]
fn garbage_answers_and_server_errors_spool_the_event() {
    let home = Home::new();
    let garbage = Garbage::start();
    let output = home.hook(&garbage.url()).stdin(sample("Stop").to_string());
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(home.pending().len(), 1, "{}", stderr(&output));

    let failing = Receiver::start();
    failing.respond_with(500);
    let output = home.hook(&failing.url()).stdin(sample("Stop").to_string());
    assert_eq!(output.status.code(), Some(0));
    assert!(stderr(&output).contains("HTTP 500"), "{}", stderr(&output));
    assert_eq!(home.pending().len(), 2);

    failing.respond_with(200);
    home.hook(&failing.url()).stdin(sample("Stop").to_string());
    assert!(home.pending().is_empty());
}

#[test]
fn an_event_the_collector_refuses_for_good_is_kept_aside_not_retried() {
    let home = Home::new();
    let receiver = Receiver::start();
    receiver.respond_with(400);
    let output = home.hook(&receiver.url()).stdin(sample("Stop").to_string());
    assert_eq!(output.status.code(), Some(0));
    assert!(stderr(&output).contains("rejected"), "{}", stderr(&output));
    assert!(home.pending().is_empty(), "not retried forever");
    let kept: Vec<_> = fs::read_dir(home.spool().join("rejected"))
        .unwrap()
        .collect();
    assert_eq!(kept.len(), 1, "but not lost either");
}

#[test]
fn input_that_is_not_a_hook_event_is_a_clear_non_blocking_error() {
    let receiver = Receiver::start();
    let home = Home::new();
    let half = sample("PreToolUse:Bash").to_string();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("whitespace", b"  \n\t".to_vec()),
        ("not json", b"rm -rf /".to_vec()),
        ("truncated", half.as_bytes()[..half.len() / 2].to_vec()),
        ("array", b"[{\"hook_event_name\":\"Stop\"}]".to_vec()),
        ("string", b"\"Stop\"".to_vec()),
        ("binary", vec![0xff, 0xfe, 0x00, 0x01]),
        ("no event name", b"{\"session_id\":\"x\"}".to_vec()),
        ("empty event name", b"{\"hook_event_name\":\"\"}".to_vec()),
    ];
    for (what, input) in cases {
        let output = home.hook(&receiver.url()).stdin(input);
        // 1 is Claude Code's non-blocking error: the flow goes on, the user sees why.
        assert_eq!(output.status.code(), Some(1), "{what}");
        assert_eq!(stdout(&output), "", "{what}");
        assert!(
            stderr(&output).starts_with("claude-telemetry hook: "),
            "{what}: {}",
            stderr(&output)
        );
        assert!(!stderr(&output).contains("panicked"), "{what}");
    }
    assert!(receiver.requests().is_empty());
    assert!(home.pending().is_empty());
}

#[test]
fn a_privacy_level_that_is_not_one_records_nothing_and_says_so() {
    let receiver = Receiver::start();
    let home = Home::new();
    let output = home
        .hook(&receiver.url())
        .env("CLAUDE_TELEMETRY_PRIVACY", "everything")
        .stdin(sample("UserPromptSubmit").to_string());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let answer: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let message = answer["systemMessage"].as_str().unwrap();
    assert!(
        message.contains("CLAUDE_TELEMETRY_PRIVACY") && message.contains("not recorded"),
        "{message}"
    );
    assert!(receiver.requests().is_empty());
    assert!(home.pending().is_empty(), "nor spooled");
}

#[test]
fn invalid_utf8_inside_a_string_is_kept_and_flagged() {
    let receiver = Receiver::start();
    let home = Home::new();
    let mut input =
        br#"{"hook_event_name":"UserPromptSubmit","session_id":"s","prompt":"caf"#.to_vec();
    input.extend_from_slice(b"\xe9 \xff ok\"}");
    let output = home
        .hook(&receiver.url())
        .env("CLAUDE_TELEMETRY_PRIVACY", "prompts")
        .stdin(input);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let event = &receiver.events()[0];
    assert_eq!(event["prompt"], "caf\u{FFFD} \u{FFFD} ok");
    assert_eq!(event["claude_telemetry"]["lossy_utf8"], true);
}

#[test]
fn a_fifty_megabyte_payload_is_delivered_as_a_bounded_copy_that_says_so() {
    let receiver = Receiver::start();
    let home = Home::new();
    let mut payload = sample("PostToolUse:Read");
    let content = "x".repeat(50 * 1024 * 1024);
    payload["tool_response"] =
        json!({"type": "text", "file": {"filePath": "/big.log", "content": content}});
    // At the full level the content is kept, as much of it as the bounds allow.
    let output = home
        .hook(&receiver.url())
        .env("CLAUDE_TELEMETRY_PRIVACY", "full")
        .stdin(payload.to_string());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "");

    let request = &receiver.requests()[0];
    assert!(
        request.body.len() < 300 * 1024,
        "bounded copy, got {} bytes",
        request.body.len()
    );
    let event = &request.events()[0];
    assert_eq!(event["tool_response"]["file"]["filePath"], "/big.log");
    assert_eq!(
        event["tool_input"], payload["tool_input"],
        "small fields intact"
    );
    let cuts = event["claude_telemetry"]["truncated"].as_array().unwrap();
    assert_eq!(cuts.len(), 1);
    assert_eq!(cuts[0]["path"], "/tool_response/file/content");
    assert_eq!(cuts[0]["original_bytes"], 50 * 1024 * 1024);
}

#[test]
fn an_unwritable_spool_tells_the_user_events_are_being_lost() {
    let home = Home::new();
    // A regular file where the state directory should be: not writable even for root.
    let blocked = home.path().join("state-is-a-file");
    fs::write(&blocked, "").unwrap();
    let output = home
        .hook(&closed_port_url())
        .env("CLAUDE_TELEMETRY_STATE_DIR", &blocked)
        .stdin(sample("PreToolUse:Bash").to_string());
    assert_eq!(
        output.status.code(),
        Some(0),
        "never breaks Claude Code's flow"
    );
    let answer: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let message = answer["systemMessage"].as_str().unwrap();
    assert!(message.contains("being lost"), "{message}");
    assert!(
        answer.get("hookSpecificOutput").is_none(),
        "no permission decision implied"
    );
    assert!(
        stderr(&output).contains("nor spooled"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_bad_setting_is_reported_without_blocking() {
    let receiver = Receiver::start();
    let home = Home::new();
    let output = home
        .hook(&receiver.url())
        .env("CLAUDE_TELEMETRY_TIMEOUT_MS", "soon")
        .stdin(sample("Stop").to_string());
    assert_eq!(output.status.code(), Some(0));
    let answer: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert!(
        answer["systemMessage"]
            .as_str()
            .unwrap()
            .contains("CLAUDE_TELEMETRY_TIMEOUT_MS")
    );
}
