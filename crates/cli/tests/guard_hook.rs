//! The guard inside `claude-telemetry hook` and `claude-telemetry check`.

use std::fs;

use serde_json::{Value, json};
use testkit::Receiver;

use crate::support::{Run, stderr, stdout};

const PROJECT: &str = "/home/dev/project";

fn pre_tool_use(tool: &str, input: Value) -> String {
    json!({
        "session_id": "s-1",
        "cwd": PROJECT,
        "hook_event_name": "PreToolUse",
        "tool_name": tool,
        "tool_input": input,
        "tool_use_id": "toolu_1",
    })
    .to_string()
}

fn hook(home: &std::path::Path, receiver: &Receiver) -> Run {
    Run::new(&["hook"], home)
        .env("HOME", "/home/dev")
        .env("CLAUDE_PROJECT_DIR", PROJECT)
        .env("CLAUDE_TELEMETRY_URL", receiver.url())
        .env("CLAUDE_TELEMETRY_STATE_DIR", home.join("state"))
        .env("XDG_CONFIG_HOME", home.join("config"))
}

#[test]
fn a_dangerous_delete_is_denied_in_the_hook_protocol_and_recorded() {
    let receiver = Receiver::start();
    let home = tempfile::tempdir().unwrap();
    let output = hook(home.path(), &receiver)
        .stdin(pre_tool_use("Bash", json!({"command": "sudo rm -rf ~"})));
    assert_eq!(output.status.code(), Some(0), "exit 0 with a JSON decision");
    let answer: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let specific = &answer["hookSpecificOutput"];
    assert_eq!(specific["hookEventName"], "PreToolUse");
    assert_eq!(specific["permissionDecision"], "deny");
    let reason = specific["permissionDecisionReason"].as_str().unwrap();
    assert!(reason.contains("rm.home"), "names the rule: {reason}");
    assert!(
        reason.contains("ask the user"),
        "sends the agent to the user: {reason}"
    );
    assert!(
        reason.contains("another way"),
        "tells it not to work around: {reason}"
    );

    let event = &receiver.events()[0];
    let guard = &event["claude_telemetry"]["guard"];
    assert_eq!(guard["decision"], "deny");
    assert_eq!(guard["rule"], "rm.home");
    assert_eq!(guard["category"], "dangerous_rm");
    assert_eq!(guard["version"], env!("CARGO_PKG_VERSION"));
    assert!(guard["latency_us"].as_u64().is_some());
    assert_eq!(guard["span"]["field"], "command");
    assert_eq!(guard["span"]["text"], "~");
}

#[test]
fn home_and_project_are_recognised_however_the_environment_spells_them() {
    let receiver = Receiver::start();
    let home = tempfile::tempdir().unwrap();
    for spelling in ["/home/dev/", "/home/other/../dev", "/home//dev/."] {
        let output = hook(home.path(), &receiver)
            .env("HOME", spelling)
            .env("CLAUDE_PROJECT_DIR", "/home/dev/project/")
            .stdin(pre_tool_use("Bash", json!({"command": "rm -rf ~"})));
        assert!(
            stdout(&output).contains("rm.home"),
            "{spelling}: {}",
            stdout(&output)
        );
    }
}

#[test]
fn allowed_calls_print_nothing_but_are_recorded_as_allowed() {
    let receiver = Receiver::start();
    let home = tempfile::tempdir().unwrap();
    let output =
        hook(home.path(), &receiver).stdin(pre_tool_use("Bash", json!({"command": "cargo test"})));
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        stdout(&output),
        "",
        "saying allow would skip Claude Code's own permission prompt"
    );
    let guard = &receiver.events()[0]["claude_telemetry"]["guard"];
    assert_eq!(guard["decision"], "allow");
    assert_eq!(guard["rule"], "none");
}

#[test]
fn uncertain_calls_ask_the_user() {
    let receiver = Receiver::start();
    let home = tempfile::tempdir().unwrap();
    let output = hook(home.path(), &receiver)
        .stdin(pre_tool_use("Bash", json!({"command": "eval \"$CMD\""})));
    let answer: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(answer["hookSpecificOutput"]["permissionDecision"], "ask");
}

#[test]
fn secret_files_are_denied_through_file_tools() {
    let receiver = Receiver::start();
    let home = tempfile::tempdir().unwrap();
    for (tool, input, rule) in [
        (
            "Read",
            json!({"file_path": "/home/dev/project/.env"}),
            "env.read",
        ),
        (
            "Grep",
            json!({"pattern": "KEY", "glob": "*.{env,ts}"}),
            "env.search",
        ),
        (
            "Edit",
            json!({"file_path": ".env.local", "old_string": "a", "new_string": "b"}),
            "env.write",
        ),
    ] {
        let output = hook(home.path(), &receiver).stdin(pre_tool_use(tool, input));
        let answer: Value = serde_json::from_str(&stdout(&output)).unwrap();
        assert_eq!(
            answer["hookSpecificOutput"]["permissionDecision"], "deny",
            "{tool}"
        );
        assert!(
            answer["hookSpecificOutput"]["permissionDecisionReason"]
                .as_str()
                .unwrap()
                .contains(rule)
        );
    }
}

#[test]
fn credentials_in_the_input_never_reach_the_collector() {
    let receiver = Receiver::start();
    let home = tempfile::tempdir().unwrap();
    let token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";
    let command = format!(
        "GITHUB_TOKEN={token} gh pr list && curl -H 'Authorization: Bearer sk-live-0123456789abcdef' x"
    );
    // At the full level the command is delivered, redacted (at metadata, only its size).
    hook(home.path(), &receiver)
        .env("CLAUDE_TELEMETRY_PRIVACY", "full")
        .stdin(pre_tool_use("Bash", json!({"command": command})));
    let body = String::from_utf8(receiver.requests()[0].body.clone()).unwrap();
    assert!(!body.contains(token), "{body}");
    assert!(!body.contains("sk-live-0123456789abcdef"), "{body}");
    let event = &receiver.events()[0];
    assert!(
        event["tool_input"]["command"]
            .as_str()
            .unwrap()
            .contains("[REDACTED]")
    );
    assert_eq!(event["claude_telemetry"]["redacted"], 2);
}

#[test]
fn the_guard_sees_the_whole_command_even_when_the_stored_copy_is_cut() {
    let receiver = Receiver::start();
    let home = tempfile::tempdir().unwrap();
    // The dangerous part sits past the 16 KiB the stored copy keeps.
    let command = format!("echo {} ; rm -rf ~", "x".repeat(20_000));
    let output = hook(home.path(), &receiver)
        .env("CLAUDE_TELEMETRY_PRIVACY", "full")
        .stdin(pre_tool_use("Bash", json!({"command": command})));
    let answer: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(answer["hookSpecificOutput"]["permissionDecision"], "deny");
    let event = &receiver.events()[0];
    assert_eq!(
        event["claude_telemetry"]["truncated"][0]["path"],
        "/tool_input/command"
    );
}

#[test]
fn a_broken_guard_config_asks_instead_of_allowing_and_says_why() {
    let receiver = Receiver::start();
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config.toml");
    fs::write(&config, "[guard]\nstrikt = true\n").unwrap();
    let output = hook(home.path(), &receiver)
        .env("CLAUDE_TELEMETRY_CONFIG", &config)
        .stdin(pre_tool_use("Bash", json!({"command": "ls"})));
    assert_eq!(output.status.code(), Some(0));
    let answer: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(answer["hookSpecificOutput"]["permissionDecision"], "ask");
    assert!(
        answer["hookSpecificOutput"]["permissionDecisionReason"]
            .as_str()
            .unwrap()
            .contains("strikt")
    );
}

#[test]
fn configured_packs_and_protected_paths_apply() {
    let receiver = Receiver::start();
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config.toml");
    fs::write(&config, "[guard]\npacks = [\"git\", \"disk\", \"secrets\"]\nprotected_paths = [\"/home/dev/project/data\"]\nstrict = true\n").unwrap();
    for (command, expected, rule) in [
        ("git reset --hard HEAD~3", "deny", "git.reset_hard"),
        ("git push --force origin main", "deny", "git.force_push"),
        ("git push --force-with-lease origin main", "", ""),
        (
            "dd if=/dev/zero of=/dev/sda bs=1M",
            "deny",
            "disk.write_device",
        ),
        ("mkfs.ext4 /dev/sdb1", "deny", "disk.mkfs"),
        ("cat ~/.ssh/id_rsa", "deny", "secret.read"),
        ("rm -rf data/raw", "deny", "rm.protected_path"),
        ("rm -rf node_modules", "ask", "rm.strict"),
    ] {
        let output = hook(home.path(), &receiver)
            .env("CLAUDE_TELEMETRY_CONFIG", &config)
            .stdin(pre_tool_use("Bash", json!({"command": command})));
        let out = stdout(&output);
        if expected.is_empty() {
            assert_eq!(out, "", "{command}");
            continue;
        }
        let answer: Value = serde_json::from_str(&out)
            .unwrap_or_else(|_| panic!("{command}: {out} {}", stderr(&output)));
        assert_eq!(
            answer["hookSpecificOutput"]["permissionDecision"], expected,
            "{command}"
        );
        assert!(
            answer["hookSpecificOutput"]["permissionDecisionReason"]
                .as_str()
                .unwrap()
                .contains(rule),
            "{command}: {answer}"
        );
    }
}

#[test]
fn other_events_are_not_judged() {
    let receiver = Receiver::start();
    let home = tempfile::tempdir().unwrap();
    let event = json!({"hook_event_name": "PostToolUse", "cwd": PROJECT, "tool_name": "Bash", "tool_input": {"command": "rm -rf ~"}});
    let output = hook(home.path(), &receiver).stdin(event.to_string());
    assert_eq!(
        stdout(&output),
        "",
        "the tool already ran: nothing to decide"
    );
    assert!(
        receiver.events()[0]["claude_telemetry"]
            .get("guard")
            .is_none()
    );
}

fn check(args: &[&str]) -> std::process::Output {
    let home = tempfile::tempdir().unwrap();
    let mut all = vec!["check", "--cwd", PROJECT, "--project", PROJECT];
    all.extend_from_slice(args);
    Run::new(&all, home.path())
        .env("HOME", "/home/dev")
        .env("XDG_CONFIG_HOME", home.path())
        .output()
}

#[test]
fn check_exits_with_the_verdict_and_names_rule_reason_and_span() {
    let output = check(&["--", "rm -rf ~"]);
    assert_eq!(output.status.code(), Some(2));
    let out = stdout(&output);
    assert!(out.starts_with("DENY  rm.home (dangerous_rm)"), "{out}");
    assert!(out.contains("reason: "), "{out}");
    assert!(out.contains("at:     command[7..8]: ~"), "{out}");

    assert_eq!(check(&["--", "cargo", "test"]).status.code(), Some(0));
    assert_eq!(
        check(&["--", "eval \"$X\""]).status.code(),
        Some(3),
        "ask has its own code"
    );
    // Several words are quoted back together so the guard sees the same command.
    let output = check(&["--", "bash", "-c", "rm -rf /"]);
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
}

#[test]
fn check_takes_tool_inputs_and_whole_hook_events_as_json() {
    let output = check(&["--tool", "Read", "--json", r#"{"file_path":".env"}"#]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stdout(&output).contains("env.read"));
    let event = pre_tool_use("Glob", json!({"pattern": "**/.env*"}));
    let output = check(&["--json", &event]);
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    assert!(stdout(&output).contains("env.search"));

    let output = check(&["--output-json", "--", "rm -rf .."]);
    let decision: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(decision["verdict"], "deny");
    assert_eq!(decision["rule"], "rm.home");
    assert_eq!(decision["span"]["text"], "..");
}

#[test]
fn check_explain_shows_how_the_command_was_read() {
    let output = check(&["--explain", "--", "sudo bash -c 'cd / && rm -rf *'"]);
    let out = stdout(&output);
    assert!(out.contains("unwrapped `sudo`"), "{out}");
    assert!(
        out.contains("nested script (shell -c): cd / && rm -rf *"),
        "{out}"
    );
    assert!(out.contains("cd: now in /"), "{out}");
    assert!(out.contains("recursive delete target `*` -> /"), "{out}");
}

#[test]
fn check_rejects_bad_requests_clearly() {
    for (args, needle) in [
        (vec![], "nothing to check"),
        (vec!["--json", "{not json"], "not valid JSON"),
        (vec!["--json", "[1,2]"], "must be a JSON object"),
        (
            vec!["--json", "/nonexistent/file.json"],
            "reading /nonexistent/file.json",
        ),
    ] {
        let output = check(&args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&output).contains(needle),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}
