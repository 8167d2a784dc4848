//! What reading the transcript for denials costs the hook at the end of a turn.
//!
//! On `Stop` (and `SubagentStop`, `StopFailure`, `SessionEnd`) the hook reads what the
//! session's transcript gained since it last looked. Each round spawns, interleaved:
//! `/bin/true`; the hook with a `Stop` whose transcript does not exist (the cost of the
//! event alone); the hook with a `Stop` whose transcript gained one turn of 2.1.332's
//! shape (tool calls, results and the large request records it writes) and no denial;
//! and the same turn with two denials to deliver. The cursor is removed before each run,
//! so every run reads the whole turn.
//!
//! Run: `cargo bench -p claude-telemetry --bench turn_end` (`ROUNDS=n`, default 200).

// A benchmark binary: a failed setup should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use serde_json::json;
use testkit::Receiver;
use testkit::process::spawn_once;

/// One turn as 2.1.332 writes it: six tool calls and their results, each followed by the
/// request record it keeps (about 40 KB each), `denials` of the results denied by a rule.
fn turn(denials: usize) -> String {
    let mut lines = Vec::new();
    for n in 0..6 {
        let id = format!("toolu_{n:020}");
        lines.push(json!({"type": "assistant", "timestamp": "2026-11-29T08:00:00.000Z",
            "message": {"role": "assistant", "content": [{"type": "tool_use", "id": id, "name": "Read", "input": {"file_path": format!("/home/dev/project/file{n}.rs")}}]}}));
        let result = if n < denials {
            json!({"type": "user", "timestamp": "2026-11-29T08:00:00.100Z", "promptId": "p",
                "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": id, "is_error": true, "content": "<tool_use_error>File is in a directory that is denied by your permission settings.</tool_use_error>"}]},
                "permissionDecision": {"decision": "reject", "reasonType": "rule", "ruleSource": "userSettings"}})
        } else {
            json!({"type": "user", "timestamp": "2026-11-29T08:00:00.100Z", "promptId": "p",
                "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": id, "content": "fn main() {}\n".repeat(200)}]},
                "permissionDecision": {"decision": "accept", "reasonType": "mode"}})
        };
        lines.push(result);
        lines.push(json!({"type": "api-request-blob", "hash": n, "content": [{"type": "text", "text": "context ".repeat(5_000)}]}));
    }
    lines.iter().map(|l| format!("{l}\n")).collect()
}

fn median(samples: &mut [Duration]) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1e3
}

fn main() {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(200);
    let hook = Path::new(env!("CARGO_BIN_EXE_claude-telemetry"));
    let dir = tempfile::tempdir().unwrap();
    let quiet = dir.path().join("quiet.jsonl");
    let denied = dir.path().join("denied.jsonl");
    std::fs::write(&quiet, turn(0)).unwrap();
    std::fs::write(&denied, turn(2)).unwrap();
    let stop = |transcript: &Path| {
        json!({"session_id": "s", "transcript_path": transcript, "cwd": "/home/dev/project",
            "prompt_id": "p", "hook_event_name": "Stop", "stop_hook_active": false})
        .to_string()
    };
    let inputs = [
        (
            "Stop, no transcript",
            stop(&dir.path().join("missing.jsonl")),
        ),
        ("Stop, a turn without denials", stop(&quiet)),
        ("Stop, a turn with 2 denials", stop(&denied)),
    ];
    let receiver = Receiver::start();
    let state = dir.path().join("state");
    let url = receiver.url();
    let env = [
        ("CLAUDE_TELEMETRY_URL", url.as_str()),
        ("CLAUDE_TELEMETRY_STATE_DIR", state.to_str().unwrap()),
    ];
    let bin_true = Path::new("/bin/true");
    let mut times = vec![Vec::new(); inputs.len() + 1];
    for round in 0..rounds + 10 {
        let _ = std::fs::remove_dir_all(state.join("transcripts"));
        let took = spawn_once(bin_true, &[], &[], b"{}");
        if round >= 10 {
            times[0].push(took);
        }
        for (index, (_, input)) in inputs.iter().enumerate() {
            let _ = std::fs::remove_dir_all(state.join("transcripts"));
            let took = spawn_once(hook, &["hook"], &env, input.as_bytes());
            if round >= 10 {
                times[index + 1].push(took);
            }
        }
    }
    let events = receiver.events();
    let denials = events
        .iter()
        .filter(|e| e["hook_event_name"] == "PermissionDenied")
        .count();
    assert_eq!(
        denials,
        2 * (rounds + 10),
        "each denial delivered once a run"
    );

    println!(
        "turn_end: hook spawn to exit, {rounds} interleaved rounds, a turn of {} KB (median ms)",
        turn(0).len() / 1024
    );
    let base = median(&mut times[0]);
    println!("  /bin/true                          {base:>7.2}");
    for ((label, _), samples) in inputs.iter().zip(times.iter_mut().skip(1)) {
        let took = median(samples);
        println!(
            "  hook, {label:<28} {took:>7.2}   (+{:.2} over /bin/true)",
            took - base
        );
    }
}
