//! `claude-telemetry install` / `uninstall` against real files.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use claude_settings::{Severity, validate};
use hook_protocol::KNOWN_EVENTS;
use serde_json::{Value, json};
use testkit::Receiver;

use crate::support::{Run, sample, stderr, stdout};

const TEMPLATE: &str = include_str!("../../../.claude-template/settings.json");

/// A settings file as a person would have it: many keys, hooks of their own, an env.
fn busy_settings() -> String {
    let doc = json!({
        "$schema": "https://json.schemastore.org/claude-code-settings.json",
        "model": "claude-sonnet-4-5",
        "permissions": {
            "allow": ["Bash(npm run lint)", "Bash(npm run test *)"],
            "deny": ["Read(./secrets/**)", "Read(**/.env)"],
            "defaultMode": "acceptEdits"
        },
        "env": {"NODE_ENV": "development", "OTEL_METRICS_EXPORTER": "prometheus"},
        "hooks": {
            "PostToolUse": [{"matcher": "Edit|Write", "hooks": [{"type": "command", "command": "npx prettier --write"}]}],
            "Stop": [{"hooks": [{"type": "command", "command": "/usr/bin/notify-send done", "timeout": 5}]}]
        },
        "statusLine": {"type": "command", "command": "~/.claude/statusline.sh"},
        "includeCoAuthoredBy": false
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap();
    text.push('\n');
    text
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

fn user_settings(home: &Path) -> PathBuf {
    home.join(".claude/settings.json")
}

fn install(home: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["install"];
    args.extend_from_slice(extra);
    Run::new(&args, home).output()
}

#[test]
fn install_then_uninstall_leaves_a_busy_file_exactly_as_it_was() {
    let home = tempfile::tempdir().unwrap();
    let path = user_settings(home.path());
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let original = busy_settings();
    fs::write(&path, &original).unwrap();

    let output = install(home.path(), &["--user", "--url", "http://collector:9091"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("replaced env OTEL_METRICS_EXPORTER"),
        "{}",
        stdout(&output)
    );
    let installed = read(&path);
    assert_eq!(installed["model"], "claude-sonnet-4-5", "other keys kept");
    assert_eq!(installed["env"]["NODE_ENV"], "development");
    assert_eq!(
        installed["hooks"]["PostToolUse"][0]["hooks"][0]["command"],
        "npx prettier --write"
    );

    let output = Run::new(&["uninstall", "--user"], home.path()).output();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        original,
        "byte for byte"
    );
}

#[test]
fn install_wires_every_observable_event_and_the_telemetry_env() {
    let home = tempfile::tempdir().unwrap();
    let output = Run::new(&["install", "--url", "http://127.0.0.1:9999"], home.path())
        .env("USER_NAME", "Jane Doe")
        .env("USER_EMAIL", "jane@example.com")
        .output();
    assert!(output.status.success(), "{}", stderr(&output));
    let doc = read(&user_settings(home.path()));
    assert!(validate(&doc).is_empty(), "{:?}", validate(&doc));

    let command = format!(
        "{} hook",
        crate::support::bin().canonicalize().unwrap().display()
    );
    for event in KNOWN_EVENTS {
        let groups = doc["hooks"].get(event.name());
        if event.is_observable() {
            let handler = &groups.unwrap()[0]["hooks"][0];
            assert_eq!(handler["type"], "command");
            assert_eq!(handler["command"], command.as_str(), "{}", event.name());
            assert!(handler["timeout"].as_u64().unwrap() > 0);
        } else {
            assert!(groups.is_none(), "{} must not be hooked", event.name());
        }
    }
    assert_eq!(doc["hooks"]["PreToolUse"][0]["matcher"], "*");
    let env = &doc["env"];
    assert_eq!(env["CLAUDE_CODE_ENABLE_TELEMETRY"], "1");
    assert_eq!(env["OTEL_METRICS_EXPORTER"], "otlp");
    assert_eq!(env["OTEL_LOGS_EXPORTER"], "otlp");
    assert_eq!(env["OTEL_EXPORTER_OTLP_PROTOCOL"], "http/protobuf");
    assert_eq!(env["OTEL_EXPORTER_OTLP_ENDPOINT"], "http://127.0.0.1:9999");
    assert_eq!(env["CLAUDE_TELEMETRY_URL"], "http://127.0.0.1:9999");
    assert_eq!(
        env["OTEL_RESOURCE_ATTRIBUTES"],
        "user.name=Jane%20Doe,user.email=jane@example.com"
    );
    assert!(
        doc["permissions"]["deny"]
            .as_array()
            .unwrap()
            .contains(&json!("Read(**/.env)"))
    );
}

#[test]
fn the_installed_command_runs_under_sh_as_claude_code_runs_it() {
    let receiver = Receiver::start();
    let home = tempfile::tempdir().unwrap();
    let output = install(home.path(), &["--url", &receiver.url()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let doc = read(&user_settings(home.path()));
    let command = doc["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = doc["env"]["CLAUDE_TELEMETRY_URL"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut child = Command::new("sh")
        .args(["-c", &command])
        .env_clear()
        .env("HOME", home.path())
        .env("CLAUDE_TELEMETRY_URL", url)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(sample("PreToolUse:Bash").to_string().as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(receiver.events().len(), 1);
    assert_eq!(receiver.events()[0]["tool_name"], "Bash");

    // Claude Code's otelHeadersHelper: the hooks' token, as headers for its exports.
    let helper = doc["otelHeadersHelper"].as_str().unwrap();
    let headers = |token: Option<&str>| -> Value {
        let mut command = Command::new("sh");
        command.args(["-c", helper]).env_clear();
        if let Some(token) = token {
            command.env("CLAUDE_TELEMETRY_TOKEN", token);
        }
        let output = command.output().unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        serde_json::from_slice(&output.stdout).unwrap()
    };
    assert_eq!(
        headers(Some("a-team-token-0123456789")),
        json!({"Authorization": "Bearer a-team-token-0123456789"})
    );
    assert_eq!(headers(None), json!({}));
}

#[test]
fn installing_twice_changes_nothing_the_second_time() {
    let home = tempfile::tempdir().unwrap();
    let path = user_settings(home.path());
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, busy_settings()).unwrap();
    assert!(install(home.path(), &[]).status.success());
    let once = fs::read_to_string(&path).unwrap();
    let output = install(home.path(), &[]);
    assert!(output.status.success());
    assert!(
        stdout(&output).contains("already up to date"),
        "{}",
        stdout(&output)
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), once);
}

#[test]
fn log_prompts_turns_on_prompt_logging_and_the_prompts_level_together() {
    let home = tempfile::tempdir().unwrap();
    let install = |extra: &[&str], env: &[(&str, &str)]| {
        let mut args = vec!["install", "--url", "http://127.0.0.1:9999"];
        args.extend_from_slice(extra);
        let mut run = Run::new(&args, home.path());
        for (key, value) in env {
            run = run.env(key, value);
        }
        let output = run.output();
        assert!(output.status.success(), "{}", stderr(&output));
        read(&user_settings(home.path()))["env"].clone()
    };
    let prompts = [
        ("OTEL_LOG_USER_PROMPTS", json!("1")),
        ("OTEL_LOG_ASSISTANT_RESPONSES", json!("0")),
        ("CLAUDE_TELEMETRY_PRIVACY", json!("prompts")),
    ];
    let env = install(&[], &[]);
    for (key, _) in &prompts {
        assert!(env.get(key).is_none(), "off by default: {key}");
    }
    let env = install(&["--log-prompts"], &[]);
    for (key, value) in &prompts {
        assert_eq!(&env[key], value, "{key}");
    }
    // Installed again without it, prompt logging is off again.
    let env = install(&[], &[]);
    assert!(env.get("OTEL_LOG_USER_PROMPTS").is_none(), "{env}");
    assert!(env.get("CLAUDE_TELEMETRY_PRIVACY").is_none(), "{env}");
    // Prompt logging on where install runs (the compose stack passes it through) means
    // the same as the flag.
    let env = install(&[], &[("OTEL_LOG_USER_PROMPTS", "1")]);
    for (key, value) in &prompts {
        assert_eq!(&env[key], value, "{key}");
    }
    let env = install(&[], &[("OTEL_LOG_USER_PROMPTS", "0")]);
    assert!(env.get("CLAUDE_TELEMETRY_PRIVACY").is_none(), "{env}");
}

#[test]
fn install_backs_the_file_up_first() {
    let home = tempfile::tempdir().unwrap();
    let path = user_settings(home.path());
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, busy_settings()).unwrap();
    let output = install(home.path(), &[]);
    assert!(output.status.success());
    let backups: Vec<PathBuf> =
        fs::read_dir(home.path().join(".local/state/claude-telemetry/backups"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
    assert_eq!(backups.len(), 1);
    assert_eq!(fs::read_to_string(&backups[0]).unwrap(), busy_settings());
    assert!(stdout(&output).contains(&backups[0].display().to_string()));
}

#[test]
fn dry_run_shows_a_diff_and_writes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let path = user_settings(home.path());
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, busy_settings()).unwrap();
    let output = install(home.path(), &["--dry-run"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let diff = stdout(&output);
    assert!(
        diff.starts_with(&format!("--- {}", path.display())),
        "{diff}"
    );
    assert!(
        diff.contains("+    \"OTEL_EXPORTER_OTLP_PROTOCOL\": \"http/protobuf\","),
        "{diff}"
    );
    assert!(
        diff.contains("-    \"OTEL_METRICS_EXPORTER\": \"prometheus\""),
        "{diff}"
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), busy_settings());

    assert!(install(home.path(), &[]).status.success());
    let output = Run::new(&["uninstall", "--dry-run"], home.path()).output();
    assert!(
        stdout(&output).contains("-        \"matcher\": \"*\","),
        "{}",
        stdout(&output)
    );
    assert!(
        read(&path)["hooks"]["PreToolUse"].is_array(),
        "uninstall --dry-run wrote nothing"
    );
}

#[test]
fn a_file_that_is_not_json_is_refused_and_left_alone() {
    let home = tempfile::tempdir().unwrap();
    let path = user_settings(home.path());
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let broken = "{\n  // comments are not JSON\n  \"model\": \"x\",\n}\n";
    fs::write(&path, broken).unwrap();
    for args in [&["install"][..], &["uninstall"][..]] {
        let output = Run::new(args, home.path()).output();
        assert_eq!(output.status.code(), Some(1));
        assert!(
            stderr(&output).contains("not valid JSON"),
            "{}",
            stderr(&output)
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), broken);
    }
}

#[test]
fn a_file_whose_hooks_claude_code_would_reject_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let path = user_settings(home.path());
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let cases = [
        json!({"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "x", "timeout": "10"}]}]}}),
        json!({"hooks": {"PreToolUse": {"matcher": "*"}}}),
        json!({"hooks": ["not", "an", "object"]}),
        json!({"env": {"DEBUG": true}}),
        json!([1, 2, 3]),
    ];
    for case in cases {
        let text = case.to_string();
        fs::write(&path, &text).unwrap();
        let output = install(home.path(), &[]);
        assert_eq!(output.status.code(), Some(1), "{text}");
        assert!(!stderr(&output).is_empty());
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            text,
            "untouched: {text}"
        );
    }
}

#[test]
fn project_install_is_the_repositorys_template_and_names_no_one() {
    let home = tempfile::tempdir().unwrap();
    let project = tempfile::tempdir().unwrap();
    let output = Run::new(
        &[
            "install",
            "--project",
            project.path().to_str().unwrap(),
            "--binary",
            "/usr/local/bin/claude-telemetry",
            "--url",
            "http://pushgateway:9091",
        ],
        home.path(),
    )
    .env("USER_NAME", "Jane Doe")
    .env("USER_EMAIL", "jane@example.com")
    .output();
    assert!(output.status.success(), "{}", stderr(&output));
    let written = fs::read_to_string(project.path().join(".claude/settings.json")).unwrap();
    assert_eq!(
        written, TEMPLATE,
        "keep .claude-template/settings.json equal to what install --project writes"
    );
    assert!(
        !written.contains("Jane"),
        "a shared project file names no user"
    );
    let problems: Vec<_> = validate(&serde_json::from_str(TEMPLATE).unwrap())
        .into_iter()
        .filter(|p| p.severity == Severity::Error)
        .collect();
    assert!(problems.is_empty(), "{problems:?}");
}

#[test]
fn local_and_file_scopes_write_where_they_say() {
    let home = tempfile::tempdir().unwrap();
    let project = tempfile::tempdir().unwrap();
    let dir = project.path().to_str().unwrap();
    assert!(
        Run::new(&["install", "--local", dir], home.path())
            .output()
            .status
            .success()
    );
    assert!(project.path().join(".claude/settings.local.json").exists());
    let file = project.path().join("custom.json");
    assert!(
        Run::new(&["install", "--file", file.to_str().unwrap()], home.path())
            .output()
            .status
            .success()
    );
    assert!(read(&file)["hooks"]["Stop"].is_array());
    assert!(
        Run::new(
            &["uninstall", "--file", file.to_str().unwrap()],
            home.path()
        )
        .output()
        .status
        .success()
    );
    assert_eq!(read(&file), json!({}));

    let output = Run::new(&["install", "--managed", "--dry-run"], home.path()).output();
    assert!(
        stdout(&output).contains("/etc/claude-code/managed-settings.json"),
        "{}",
        stdout(&output)
    );
    assert!(
        !stdout(&output).contains("OTEL_RESOURCE_ATTRIBUTES"),
        "managed settings serve every user"
    );
}

#[test]
fn scopes_are_mutually_exclusive() {
    let home = tempfile::tempdir().unwrap();
    let output = Run::new(&["install", "--user", "--managed"], home.path()).output();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("cannot be used with"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn install_sandbox_turns_claude_codes_sandbox_on_and_uninstall_takes_exactly_that_out() {
    let home = tempfile::tempdir().unwrap();
    let path = user_settings(home.path());
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    // A sandbox of the person's own: a switch install changes, a list it adds to.
    let mut doc: Value = serde_json::from_str(&busy_settings()).unwrap();
    doc["sandbox"] = json!({
        "enabled": false,
        "excludedCommands": ["docker *"],
        "filesystem": {"allowWrite": ["~/.cargo"]}
    });
    let original = format!("{}\n", serde_json::to_string_pretty(&doc).unwrap());
    fs::write(&path, &original).unwrap();

    let dry = install(home.path(), &["--sandbox", "--dry-run"]);
    assert!(dry.status.success(), "{}", stderr(&dry));
    let diff = stdout(&dry);
    assert!(
        diff.contains("-    \"enabled\": false,") && diff.contains("+    \"enabled\": true,"),
        "{diff}"
    );
    assert!(
        diff.contains("+    \"allowUnsandboxedCommands\": false"),
        "{diff}"
    );
    assert!(diff.contains("~/**/.[eE][nN][vV]"), "{diff}");
    assert_eq!(fs::read_to_string(&path).unwrap(), original, "dry run");

    let output = install(home.path(), &["--sandbox"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("sandbox is on"),
        "{}",
        stdout(&output)
    );
    let installed = read(&path);
    assert!(
        validate(&installed).is_empty(),
        "{:?}",
        validate(&installed)
    );
    let sandbox = &installed["sandbox"];
    assert_eq!(sandbox["enabled"], true);
    assert_eq!(sandbox["failIfUnavailable"], true);
    assert_eq!(sandbox["allowUnsandboxedCommands"], false);
    assert_eq!(sandbox["excludedCommands"], json!(["docker *"]));
    assert_eq!(
        sandbox["filesystem"]["allowWrite"],
        json!(["~/.cargo", "/tmp"])
    );
    let denied = sandbox["filesystem"]["denyRead"].as_array().unwrap();
    for glob in [
        "~/**/.[eE][nN][vV]",
        "~/**/.[eE][nN][vV][rR][cC]",
        "~/**/.[eE][nN][vV].*",
        "~/**/*.[eE][nN][vV]",
    ] {
        assert!(denied.contains(&json!(glob)), "{glob}: {denied:?}");
    }
    assert!(
        sandbox["filesystem"]["allowRead"]
            .as_array()
            .unwrap()
            .contains(&json!("~/**/.[eE][nN][vV].[eE][xX][aA][mM][pP][lL][eE]"))
    );

    // Installing again without it takes the sandbox out, and says so.
    let output = install(home.path(), &[]);
    assert!(
        stdout(&output).contains("is off now: pass --sandbox to keep it"),
        "{}",
        stdout(&output)
    );
    assert_eq!(read(&path)["sandbox"], doc["sandbox"]);

    install(home.path(), &["--sandbox"]);
    let output = Run::new(&["uninstall", "--user"], home.path()).output();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        original,
        "byte for byte"
    );
}

#[test]
fn a_project_sandbox_is_anchored_at_the_project_and_does_not_stop_a_teammate() {
    let home = tempfile::tempdir().unwrap();
    let project = tempfile::tempdir().unwrap();
    let dir = project.path().to_str().unwrap();
    let output = install(home.path(), &["--project", dir, "--sandbox"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let doc = read(&project.path().join(".claude/settings.json"));
    assert_eq!(doc["sandbox"]["enabled"], true);
    // A teammate without bubblewrap gets Claude Code's warning, not a refusal to start.
    assert!(doc["sandbox"].get("failIfUnavailable").is_none(), "{doc}");
    let denied = doc["sandbox"]["filesystem"]["denyRead"].as_array().unwrap();
    assert!(
        denied
            .iter()
            .all(|glob| glob.as_str().unwrap().starts_with("**/")),
        "{denied:?}"
    );
}

#[test]
fn a_sandbox_claude_code_would_ignore_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let path = user_settings(home.path());
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    // One wrong field and Claude Code drops the whole sandbox, silently: a field install
    // would add to, and one it leaves alone.
    for (original, field) in [
        (
            "{\"sandbox\": {\"filesystem\": {\"denyRead\": \"~/.env\"}}}\n",
            "sandbox/filesystem/denyRead",
        ),
        (
            "{\"sandbox\": {\"network\": {\"allowedDomains\": \"github.com\"}}}\n",
            "/sandbox/network/allowedDomains",
        ),
    ] {
        fs::write(&path, original).unwrap();
        let output = install(home.path(), &["--sandbox"]);
        assert!(!output.status.success());
        assert!(stderr(&output).contains(field), "{}", stderr(&output));
        assert_eq!(fs::read_to_string(&path).unwrap(), original);
    }
}

/// A collector URL nothing can send to is refused before anything is written.
#[test]
fn a_collector_url_that_is_not_http_is_refused_and_nothing_written() {
    let home = tempfile::tempdir().unwrap();
    for url in [
        "not a url",
        "ftp://collector:9091",
        "http://",
        "127.0.0.1:9091",
    ] {
        let output =
            crate::support::Run::new(&["install", "--user", "--url", url], home.path()).output();
        assert_eq!(output.status.code(), Some(1), "{url}");
        assert!(
            crate::support::stderr(&output).contains("not an http:// or https:// URL"),
            "{url}: {}",
            crate::support::stderr(&output)
        );
        assert!(!home.path().join(".claude/settings.json").exists(), "{url}");
    }
    let output = crate::support::Run::new(
        &[
            "install",
            "--user",
            "--url",
            "https://collector.example.com:9091",
        ],
        home.path(),
    )
    .output();
    assert!(
        output.status.success(),
        "{}",
        crate::support::stderr(&output)
    );
}
