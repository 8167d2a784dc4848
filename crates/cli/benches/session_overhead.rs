//! What our hooks cost a real Claude Code session: the same scripted `claude -p` session
//! (the real CLI against the project's fake Messages API) without hooks, with every hook
//! replaced by `/bin/true` (what any hook costs: Claude Code spawning a process), and
//! with `claude-telemetry install` (hooks, guard, delivery and Claude Code's OTLP
//! export), interleaved in one run.
//!
//! Run: `cargo bench -p claude-telemetry --bench session_overhead` (RUNS=n per variant,
//! default 7). Installs Claude Code from npm into `target/claude-code` on first use.

// A benchmark binary: a failed setup should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;
use testkit::messages_api::{MessagesApi, Reply, Usage};
use testkit::process::{free_port, start};

/// The variants, by the HOME they run in.
const VARIANTS: [&str; 3] = ["without hooks", "/bin/true hooks", "claude-telemetry"];

fn session_script(project: &Path) -> Vec<Reply> {
    let notes = project.join("notes.md");
    vec![
        Reply::bash("echo hello"),
        Reply::tool("Write", json!({"file_path": notes, "content": "one\n"})),
        Reply::tool("Read", json!({"file_path": notes})),
        Reply::tool(
            "Edit",
            json!({"file_path": notes, "old_string": "one", "new_string": "two"}),
        ),
        Reply::bash("ls"),
        Reply::bash("git status --short || true"),
        Reply::text("Done."),
    ]
}

/// Tool calls in the script: each fires PreToolUse and PostToolUse.
const TOOL_CALLS: u32 = 6;

fn run(claude: &Path, home: &Path, api: &MessagesApi) -> Duration {
    let project = home.join("project");
    let prompt = prompt_for(home);
    let started = Instant::now();
    let output = Command::new(claude)
        .args([
            "-p",
            &prompt,
            "--output-format",
            "json",
            "--model",
            "claude-sonnet-4-5",
            "--dangerously-skip-permissions",
        ])
        .current_dir(&project)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("ANTHROPIC_BASE_URL", api.url())
        .env("ANTHROPIC_API_KEY", "sk-ant-bench-offline")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("DISABLE_AUTOUPDATER", "1")
        .env("IS_SANDBOX", "1")
        .output()
        .expect("run claude");
    let took = started.elapsed();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    took
}

/// Each HOME's session has its own script (its files are in its own project).
fn prompt_for(home: &Path) -> String {
    format!("benchmark session in {}", home.display())
}

fn median(values: &mut [Duration]) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn main() {
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let target = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target"));
    // The newest release the project supports (`CLAUDE_CODE_VERSION` picks another).
    let version = testkit::claude_code::newest();
    let claude = testkit::claude_code::installed(&target.join("claude-code"), &version);
    let scratch = tempfile::tempdir_in(&target).unwrap();
    let port = free_port();
    let mut collector = start(
        env!("CARGO_BIN_EXE_claude-telemetry"),
        &[
            "serve".into(),
            "--listen".into(),
            format!("127.0.0.1:{port}"),
            "--data-dir".into(),
            scratch.path().join("data").display().to_string(),
        ],
        "listening on",
    );
    let api = MessagesApi::start(Usage::default());
    let homes: Vec<PathBuf> = (0..VARIANTS.len())
        .map(|i| scratch.path().join(format!("home-{i}")))
        .collect();
    for home in &homes {
        std::fs::create_dir_all(home.join("project")).unwrap();
        api.script(&prompt_for(home), session_script(&home.join("project")));
    }
    for home in &homes[1..] {
        let status = Command::new(env!("CARGO_BIN_EXE_claude-telemetry"))
            .args([
                "install",
                "--user",
                "--url",
                &format!("http://127.0.0.1:{port}"),
                "--user-name",
                "Bench",
            ])
            .env("HOME", home)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
    }
    // The floor: the same hook entries running /bin/true, and no telemetry export.
    let settings = homes[1].join(".claude/settings.json");
    let text = std::fs::read_to_string(&settings).unwrap();
    let mut floor: serde_json::Value = serde_json::from_str(&text.replace(
        &format!("{} hook", env!("CARGO_BIN_EXE_claude-telemetry")),
        "/bin/true",
    ))
    .unwrap();
    floor.as_object_mut().unwrap().remove("env");
    assert!(!floor.to_string().contains("claude-telemetry hook"));
    std::fs::write(&settings, floor.to_string()).unwrap();

    // One warm-up each (Node's compile cache, the page cache), then interleaved runs.
    for home in &homes {
        run(&claude, home, &api);
    }
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); VARIANTS.len()];
    for _ in 0..runs {
        for (home, took) in homes.iter().zip(&mut times) {
            took.push(run(&claude, home, &api));
        }
    }
    let medians: Vec<Duration> = times.iter_mut().map(|t| median(t)).collect();
    println!(
        "session_overhead: Claude Code {version}, {TOOL_CALLS} tool calls, {runs} runs per variant (median wall time)"
    );
    for (name, took) in VARIANTS.iter().zip(&medians) {
        let extra = took.saturating_sub(medians[0]);
        println!(
            "  {name:<18} {:>8.1} ms   +{:>6.1} ms over no hooks ({:.1} ms per tool call)",
            took.as_secs_f64() * 1e3,
            extra.as_secs_f64() * 1e3,
            extra.as_secs_f64() * 1e3 / f64::from(TOOL_CALLS)
        );
    }
    let _ = collector.kill();
    let _ = collector.wait();
}
