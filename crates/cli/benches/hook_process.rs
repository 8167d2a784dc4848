//! Whole-process cost of `claude-telemetry hook`, side by side with `/bin/true`.
//!
//! Claude Code spawns the hook on every event and waits for it to exit, so the number that
//! matters is spawn-to-exit wall time. Each round spawns `/bin/true`, then the hook with a
//! real PreToolUse Bash payload (guard decision included) delivered to a local HTTP
//! receiver, the same with a command the guard denies, then the hook with no collector
//! (the spool path), then a PostToolUse of a 71 KiB file read at the `full` privacy level
//! (the most there is to redact); rounds interleave so all see the same machine state.
//!
//! Run: `scripts/bench-hook` (installs the binary with the README's command and passes
//! it as `HOOK_BIN_INSTALLED`), or `cargo bench -p claude-telemetry --bench hook_process`
//! for the plain cargo build alone. `ROUNDS=n` changes the number of rounds (500);
//! `HOOK_BIN_BASELINE=path` adds an earlier build beside them, for a before/after in one run.

// A benchmark binary: a failed setup should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use testkit::process::spawn_once;
use testkit::{Receiver, closed_port_url};

struct Summary {
    median: f64,
    p90: f64,
    p99: f64,
    mean: f64,
}

fn summarise(samples: &mut [Duration]) -> Summary {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let at = |q: f64| ms(samples[((samples.len() - 1) as f64 * q).round() as usize]);
    Summary {
        median: at(0.5),
        p90: at(0.9),
        p99: at(0.99),
        mean: samples.iter().map(|d| ms(*d)).sum::<f64>() / samples.len() as f64,
    }
}

fn main() {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(500);
    let hook = Path::new(env!("CARGO_BIN_EXE_claude-telemetry"));
    let payload = r#"{"session_id":"39ffbbaf-dc84-42db-a429-e16f1adb663c","transcript_path":"/home/dev/.claude/projects/-home-dev-project/39ffbbaf.jsonl","cwd":"/home/dev/project","prompt_id":"6a0d2efb-c486-494c-8567-5ac809c55d37","permission_mode":"default","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"cargo test --workspace","description":"Run the tests"},"tool_use_id":"toolu_01ABC123"}"#;
    let denied = payload.replace("cargo test --workspace", "rm -rf ~");
    // A file read whole: the largest string a hook redacts (then cuts to 16 KiB).
    let file: String = (0..1600)
        .map(|line| format!("{line:>6}\tlet value_{line} = compute(&input, {line});\n"))
        .collect();
    let read = serde_json::json!({"session_id": "39ffbbaf-dc84-42db-a429-e16f1adb663c",
        "cwd": "/home/dev/project", "hook_event_name": "PostToolUse", "tool_name": "Read",
        "tool_input": {"file_path": "/home/dev/project/src/lib.rs"},
        "tool_response": {"type": "text", "file": {"filePath": "/home/dev/project/src/lib.rs",
            "content": file, "numLines": 1600, "startLine": 1, "totalLines": 1600}},
        "tool_use_id": "toolu_01ABC124"})
    .to_string();
    let receiver = Receiver::start();
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().to_str().unwrap();
    let up = receiver.url();
    let down = closed_port_url();
    // One acknowledgement slower than the 200 ms budget on a busy machine would spool the
    // rest of the run (the hook then skips the collector for 5 s), and the rows would
    // measure the spool: the budget is raised; a delivery takes what it takes.
    let delivered_env = [
        ("CLAUDE_TELEMETRY_URL", up.as_str()),
        ("CLAUDE_TELEMETRY_STATE_DIR", state_dir),
        ("CLAUDE_TELEMETRY_TIMEOUT_MS", "5000"),
    ];
    let full_env = [
        ("CLAUDE_TELEMETRY_URL", up.as_str()),
        ("CLAUDE_TELEMETRY_STATE_DIR", state_dir),
        ("CLAUDE_TELEMETRY_TIMEOUT_MS", "5000"),
        ("CLAUDE_TELEMETRY_PRIVACY", "full"),
    ];
    let down_state = tempfile::tempdir().unwrap();
    let spooled_env = [
        ("CLAUDE_TELEMETRY_URL", down.as_str()),
        (
            "CLAUDE_TELEMETRY_STATE_DIR",
            down_state.path().to_str().unwrap(),
        ),
    ];
    let bin_true = Path::new("/bin/true");
    let installed = std::env::var_os("HOOK_BIN_INSTALLED").map(std::path::PathBuf::from);
    let baseline_bin = std::env::var_os("HOOK_BIN_BASELINE").map(std::path::PathBuf::from);
    let mut hooks: Vec<(&str, &Path)> = vec![("cargo build (dynamic glibc)", hook)];
    if let Some(path) = &installed {
        hooks.push(("README's install (static glibc, non-PIE)", path));
    }
    if let Some(path) = &baseline_bin {
        hooks.push(("baseline build (HOOK_BIN_BASELINE)", path));
    }

    for _ in 0..20 {
        spawn_once(bin_true, &[], &[], payload.as_bytes());
        for (_, bin) in &hooks {
            spawn_once(bin, &["hook"], &delivered_env, payload.as_bytes());
        }
    }
    let before = receiver.requests().len();
    let mut t_true = Vec::new();
    let mut t_delivered = vec![Vec::new(); hooks.len()];
    let mut t_spooled = vec![Vec::new(); hooks.len()];
    let mut t_denied = vec![Vec::new(); hooks.len()];
    let mut t_read = vec![Vec::new(); hooks.len()];
    for _ in 0..rounds {
        t_true.push(spawn_once(bin_true, &[], &[], payload.as_bytes()));
        for (index, (_, bin)) in hooks.iter().enumerate() {
            t_delivered[index].push(spawn_once(
                bin,
                &["hook"],
                &delivered_env,
                payload.as_bytes(),
            ));
            t_denied[index].push(spawn_once(
                bin,
                &["hook"],
                &delivered_env,
                denied.as_bytes(),
            ));
            t_spooled[index].push(spawn_once(bin, &["hook"], &spooled_env, payload.as_bytes()));
            t_read[index].push(spawn_once(bin, &["hook"], &full_env, read.as_bytes()));
        }
    }
    assert_eq!(
        receiver.requests().len() - before,
        3 * rounds * hooks.len(),
        "every delivering hook delivered its event"
    );

    let base = summarise(&mut t_true);
    println!("hook whole-process time, spawn to exit, {rounds} interleaved rounds (ms)");
    println!("| what | median | p90 | p99 | mean | median vs /bin/true |");
    println!("|---|---|---|---|---|---|");
    let mut rows: Vec<(String, &mut Vec<Duration>)> = vec![("/bin/true".to_owned(), &mut t_true)];
    for ((label, _), samples) in hooks.iter().zip(t_delivered.iter_mut()) {
        rows.push((format!("hook, {label}, PreToolUse Bash delivered"), samples));
    }
    for ((label, _), samples) in hooks.iter().zip(t_denied.iter_mut()) {
        rows.push((
            format!("hook, {label}, PreToolUse `rm -rf ~` denied, delivered"),
            samples,
        ));
    }
    for ((label, _), samples) in hooks.iter().zip(t_spooled.iter_mut()) {
        rows.push((
            format!("hook, {label}, collector down (spooled, fsync)"),
            samples,
        ));
    }
    for ((label, _), samples) in hooks.iter().zip(t_read.iter_mut()) {
        rows.push((
            format!("hook, {label}, PostToolUse Read of a 71 KiB file, full level, delivered"),
            samples,
        ));
    }
    for (name, samples) in rows {
        let s = summarise(samples);
        println!(
            "| {name} | {:.3} | {:.3} | {:.3} | {:.3} | {:.2}x |",
            s.median,
            s.p90,
            s.p99,
            s.mean,
            s.median / base.median
        );
    }
}
