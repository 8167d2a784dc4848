//! The shipped deployment files, checked with the real tools, and the container's
//! entrypoint run outside Docker.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::repo;

fn run(program: &str, args: &[&str]) -> (bool, String) {
    let output = Command::new(program)
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap_or_else(|err| panic!("{program} is needed (scripts/test installs it): {err}"));
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

#[test]
fn promtool_accepts_the_configs_and_rules_and_every_alert_has_a_passing_test() {
    for config in [
        "deploy/prometheus/prometheus.yml",
        "deploy/prometheus/prometheus-remote-write.yml",
    ] {
        // As shipped: the token file it names is the repository's empty stand-in (in the
        // stack, a tmpfs over it holds the token).
        let (ok, out) = run("promtool", &["check", "config", config]);
        assert!(ok, "{out}");
        assert!(out.contains("SUCCESS"), "{out}");
    }
    let (ok, out) = run(
        "promtool",
        &[
            "check",
            "rules",
            "deploy/prometheus/rules/claude-telemetry.yml",
        ],
    );
    assert!(ok, "{out}");
    let (ok, out) = run(
        "promtool",
        &["test", "rules", "deploy/prometheus/tests/rules_test.yml"],
    );
    assert!(ok, "{out}");
    let rules =
        std::fs::read_to_string(repo().join("deploy/prometheus/rules/claude-telemetry.yml"))
            .unwrap();
    let tests =
        std::fs::read_to_string(repo().join("deploy/prometheus/tests/rules_test.yml")).unwrap();
    for alert in rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
    {
        assert!(
            tests.contains(&format!("alertname: {alert}")),
            "alert {alert} has no unit test"
        );
    }
}

#[test]
fn the_remote_write_config_is_the_main_one_plus_remote_write() {
    let main = std::fs::read_to_string(repo().join("deploy/prometheus/prometheus.yml")).unwrap();
    let remote =
        std::fs::read_to_string(repo().join("deploy/prometheus/prometheus-remote-write.yml"))
            .unwrap();
    let body = |text: &str| {
        text.lines()
            .skip_while(|l| l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        body(&remote).starts_with(&body(&main)),
        "prometheus-remote-write.yml drifted from prometheus.yml"
    );
    assert!(remote.contains("remote_write:"));
}

#[test]
fn docker_compose_accepts_the_stack_in_every_profile() {
    for profiles in [
        &[][..],
        &["--profile", "direct"][..],
        &["--profile", "remote-write"][..],
        &["--profile", "direct", "--profile", "remote-write"][..],
        &["--profile", "tracing"][..],
        &[
            "--profile",
            "direct",
            "--profile",
            "remote-write",
            "--profile",
            "tracing",
        ][..],
    ] {
        let mut args = profiles.to_vec();
        args.extend_from_slice(&["config", "-q"]);
        let (ok, out) = run("docker-compose", &args);
        assert!(ok, "{profiles:?}: {out}");
    }
    let (ok, out) = run("docker-compose", &["config", "--services"]);
    assert!(ok);
    for service in ["prometheus", "grafana", "pushgateway", "claude-code"] {
        assert!(out.lines().any(|l| l == service), "{service} in {out}");
    }
}

#[test]
fn prompt_logging_on_the_host_reaches_claude_code_the_hook_and_the_collector() {
    let config = |value: &str| {
        let output = Command::new("docker-compose")
            .args(["--profile", "direct", "config"])
            .current_dir(repo())
            .env("OTEL_LOG_USER_PROMPTS", value)
            .output()
            .unwrap();
        assert!(output.status.success());
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    // The lines of one service's section of `docker-compose config`.
    let section = |text: &str, service: &str| -> Vec<String> {
        text.lines()
            .skip_while(|l| *l != format!("  {service}:"))
            .skip(1)
            .take_while(|l| l.starts_with("    "))
            .map(str::to_owned)
            .collect()
    };
    let on = config("1");
    for service in ["pushgateway", "claude-code", "claude-code-direct"] {
        assert!(
            section(&on, service)
                .iter()
                .any(|l| l.trim() == "OTEL_LOG_USER_PROMPTS: '1'"),
            "{service}: {on}"
        );
    }
    let off = config("");
    assert!(
        !section(&off, "claude-code")
            .iter()
            .any(|l| l.contains("OTEL_LOG_USER_PROMPTS: '1'")),
        "{off}"
    );

    // In the container, install takes it as --log-prompts: the hook keeps prompts too.
    let home = tempfile::tempdir().unwrap();
    let output = entrypoint(
        home.path(),
        &[
            ("USER_NAME", "Jane Doe"),
            ("USER_EMAIL", "jane@example.com"),
            ("OTEL_LOG_USER_PROMPTS", "1"),
        ],
        &[],
    );
    assert!(output.status.success());
    let settings: Value = serde_json::from_str(
        &std::fs::read_to_string(home.path().join(".claude/settings.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(settings["env"]["CLAUDE_TELEMETRY_PRIVACY"], "prompts");
    assert_eq!(settings["env"]["OTEL_LOG_USER_PROMPTS"], "1");
    assert_eq!(settings["env"]["OTEL_LOG_ASSISTANT_RESPONSES"], "0");
}

#[test]
fn shellcheck_is_clean_on_every_shell_script() {
    let scripts = [
        "deploy/claude-code/entrypoint.sh",
        "deploy/prometheus/with-token.sh",
        "scripts/test",
        "scripts/test-stack",
        "scripts/build-release",
        "scripts/bench-hook",
        "scripts/bench-collector",
        ".ci/run",
    ];
    let (ok, out) = run("shellcheck", &scripts);
    assert!(ok, "{out}");
}

/// The entrypoint with a temporary HOME, this build of claude-telemetry, and a stand-in
/// `claude` that prints its arguments.
fn entrypoint(home: &Path, env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    let bin = home.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let claude = bin.join("claude");
    std::fs::write(&claude, "#!/bin/sh\necho \"claude $*\"\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&claude, std::fs::Permissions::from_mode(0o755)).unwrap();
    let ours = Path::new(env!("CARGO_BIN_EXE_claude-telemetry"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}:{}",
        bin.display(),
        ours.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("bash")
        .arg(repo().join("deploy/claude-code/entrypoint.sh"))
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("PATH", path)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

#[test]
fn the_container_entrypoint_wires_hooks_telemetry_and_git_for_the_user() {
    let home = tempfile::tempdir().unwrap();
    let who = [
        ("USER_NAME", "Jane Doe"),
        ("USER_EMAIL", "jane@example.com"),
        ("CLAUDE_TELEMETRY_URL", "http://pushgateway:9091"),
    ];
    let output = entrypoint(home.path(), &who, &[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "claude --dangerously-skip-permissions",
        "runs Claude Code by default"
    );
    let settings: Value = serde_json::from_str(
        &std::fs::read_to_string(home.path().join(".claude/settings.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        settings["env"]["OTEL_EXPORTER_OTLP_ENDPOINT"],
        "http://pushgateway:9091"
    );
    assert_eq!(
        settings["env"]["OTEL_RESOURCE_ATTRIBUTES"],
        "user.name=Jane%20Doe,user.email=jane@example.com"
    );
    assert!(
        settings["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
            .as_str()
            .unwrap()
            .ends_with("claude-telemetry hook")
    );
    // Claude Code's own sandbox, with no way out of it.
    assert_eq!(settings["sandbox"]["enabled"], true);
    assert_eq!(settings["sandbox"]["allowUnsandboxedCommands"], false);
    let gitconfig = std::fs::read_to_string(home.path().join(".gitconfig")).unwrap();
    assert!(
        gitconfig.contains("name = Jane Doe") && gitconfig.contains("email = jane@example.com"),
        "{gitconfig}"
    );

    // The direct mode asks Claude Code for its own exporter on :9464.
    let output = entrypoint(
        home.path(),
        &[who[0], who[1], ("CLAUDE_TELEMETRY_MODE", "direct")],
        &[],
    );
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        said.contains("\"OTEL_METRICS_EXPORTER\":\"prometheus\"") && said.contains("9464"),
        "{said}"
    );
    // Any other command runs as given.
    let output = entrypoint(home.path(), &who, &["echo", "hello"]);
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "hello");
}

#[test]
fn the_container_entrypoint_refuses_to_start_without_a_user() {
    let home = tempfile::tempdir().unwrap();
    for env in [&[][..], &[("USER_NAME", "Jane Doe")][..]] {
        let output = entrypoint(home.path(), env, &[]);
        assert_eq!(output.status.code(), Some(64));
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(
            said.contains("is not set") && said.contains("export USER_NAME="),
            "{said}"
        );
        assert!(
            !home.path().join(".claude/settings.json").exists(),
            "nothing wired for nobody"
        );
    }
}
