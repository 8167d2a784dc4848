//! `claude-telemetry doctor` on a healthy setup and on each broken one it detects.

use std::fs;
use std::path::Path;

use serde_json::{Value, json};

use crate::support::collector::Collector;
use crate::support::{Run, sample, stdout};

struct Setup {
    home: tempfile::TempDir,
    project: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        Setup {
            home: tempfile::tempdir().unwrap(),
            project: tempfile::tempdir().unwrap(),
        }
    }

    fn install(&self, extra: &[&str]) {
        let mut args = vec!["install", "--user"];
        args.extend_from_slice(extra);
        let output = Run::new(&args, self.home.path()).output();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn settings(&self) -> std::path::PathBuf {
        self.home.path().join(".claude/settings.json")
    }

    fn edit(&self, change: impl FnOnce(&mut Value)) {
        let mut doc: Value =
            serde_json::from_str(&fs::read_to_string(self.settings()).unwrap()).unwrap();
        change(&mut doc);
        fs::write(self.settings(), serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    }

    fn doctor(&self, env: &[(&str, &str)]) -> (i32, String) {
        let run = Run::new(
            &["doctor", "--project", self.project.path().to_str().unwrap()],
            self.home.path(),
        );
        self.doctor_with(run, env)
    }

    /// `doctor` with the real Claude Code `version` as the `claude` on PATH.
    fn doctor_beside(&self, version: &str, env: &[(&str, &str)]) -> (i32, String) {
        let bin = self.home.path().join(format!("bin-{version}"));
        if !bin.exists() {
            fs::create_dir_all(&bin).unwrap();
            std::os::unix::fs::symlink(claude_code(version), bin.join("claude")).unwrap();
        }
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let run = Run::new(
            &["doctor", "--project", self.project.path().to_str().unwrap()],
            self.home.path(),
        )
        .env("PATH", path);
        self.doctor_with(run, env)
    }

    fn doctor_with(&self, mut run: Run, env: &[(&str, &str)]) -> (i32, String) {
        for (k, v) in env {
            run = run.env(k, v);
        }
        let output = run.output();
        (output.status.code().unwrap(), stdout(&output))
    }
}

/// The real `claude` of `version`, shared with the end-to-end tests.
fn claude_code(version: &str) -> std::path::PathBuf {
    let cache = std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../target/claude-code"
    ));
    testkit::claude_code::installed(&cache, version)
}

fn collector_in(dir: &Path) -> Collector {
    Collector::start(&dir.join("data"))
}

#[test]
fn a_healthy_setup_passes() {
    let setup = Setup::new();
    let collector = collector_in(setup.home.path());
    setup.install(&["--url", &collector.url]);
    let (code, out) = setup.doctor(&[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("claude-telemetry hook on 32 events"), "{out}");
    assert!(
        out.contains("telemetry on, OTLP over http/protobuf"),
        "{out}"
    );
    assert!(
        out.contains(&format!("collector {} reachable", collector.url)),
        "{out}"
    );
    assert!(out.contains("no events waiting in the spool"), "{out}");
    assert!(out.contains("all checks passed"), "{out}");
}

#[test]
fn each_broken_setup_is_named_with_its_fix() {
    let setup = Setup::new();
    let collector = collector_in(setup.home.path());

    // Nothing installed.
    let (code, out) = setup.doctor(&[]);
    assert_eq!(code, 1);
    assert!(
        out.contains("no settings file runs the claude-telemetry hook")
            && out.contains("claude-telemetry install"),
        "{out}"
    );

    // An invalid field disables every hook in the file.
    setup.install(&["--url", &collector.url]);
    setup.edit(|doc| doc["hooks"]["Stop"][0]["hooks"][0]["timeout"] = json!("10"));
    let (code, out) = setup.doctor(&[]);
    assert_eq!(code, 1);
    assert!(
        out.contains("Claude Code ignores every hook in this file")
            && out.contains("/hooks/Stop/0/hooks/0/timeout"),
        "{out}"
    );

    // The hook's binary is gone.
    setup.install(&[
        "--url",
        &collector.url,
        "--binary",
        "/nonexistent/claude-telemetry",
    ]);
    let (code, out) = setup.doctor(&[]);
    assert_eq!(code, 1);
    assert!(
        out.contains("/nonexistent/claude-telemetry, which is not an executable file"),
        "{out}"
    );

    // Telemetry that exports nothing.
    setup.install(&["--url", &collector.url]);
    setup.edit(|doc| doc["env"]["OTEL_EXPORTER_OTLP_PROTOCOL"] = json!("grpc"));
    let (code, out) = setup.doctor(&[]);
    assert_eq!(code, 1);
    assert!(out.contains("OTEL_EXPORTER_OTLP_PROTOCOL is grpc"), "{out}");
    setup.edit(|doc| {
        doc["env"]
            .as_object_mut()
            .unwrap()
            .remove("OTEL_EXPORTER_OTLP_PROTOCOL");
    });
    assert!(setup.doctor(&[]).1.contains("has no default"));

    // Hooks switched off in the project.
    setup.install(&["--url", &collector.url]);
    let project_settings = setup.project.path().join(".claude/settings.json");
    fs::create_dir_all(project_settings.parent().unwrap()).unwrap();
    fs::write(&project_settings, "{\"disableAllHooks\": true}").unwrap();
    let (code, out) = setup.doctor(&[]);
    assert_eq!(code, 1);
    assert!(out.contains("disableAllHooks is true"), "{out}");
    fs::remove_file(&project_settings).unwrap();
    assert_eq!(setup.doctor(&[]).0, 0);

    // The collector is away: events pile up in the spool.
    let down = testkit::closed_port_url();
    setup.install(&["--url", &down]);
    Run::new(&["hook"], setup.home.path())
        .env("CLAUDE_TELEMETRY_URL", &down)
        .stdin(sample("Stop").to_string());
    let (code, out) = setup.doctor(&[]);
    assert_eq!(code, 1);
    assert!(
        out.contains(&format!("collector {down} is not reachable")),
        "{out}"
    );
    assert!(out.contains("1 event(s) wait in"), "{out}");
}

#[test]
fn a_collector_with_a_token_is_checked_with_it() {
    let setup = Setup::new();
    let token = "a-long-enough-test-token";
    let collector = Collector::start_with(
        &setup.home.path().join("data"),
        &[],
        &[("CLAUDE_TELEMETRY_TOKEN", token)],
    );
    setup.install(&["--url", &collector.url]);
    let (code, out) = setup.doctor(&[]);
    assert_eq!(code, 1);
    assert!(
        out.contains("refuses the requests without a token"),
        "{out}"
    );
    let (code, out) = setup.doctor(&[("CLAUDE_TELEMETRY_TOKEN", "not-the-right-token-at-all")]);
    assert_eq!(code, 1);
    assert!(out.contains("refuses the token"), "{out}");
    let (code, out) = setup.doctor(&[("CLAUDE_TELEMETRY_TOKEN", token)]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("token accepted"), "{out}");

    // The hooks have the token but Claude Code's own exports would go without it.
    setup.edit(|doc| {
        doc.as_object_mut().unwrap().remove("otelHeadersHelper");
    });
    let (code, out) = setup.doctor(&[("CLAUDE_TELEMETRY_TOKEN", token)]);
    assert_eq!(code, 1);
    assert!(
        out.contains("OTLP exports carry no token") && out.contains("claude-telemetry install"),
        "{out}"
    );
    // Headers set by hand do it as well.
    setup.edit(|doc| {
        doc["env"]["OTEL_EXPORTER_OTLP_HEADERS"] = json!(format!("Authorization=Bearer {token}"));
    });
    let (code, out) = setup.doctor(&[("CLAUDE_TELEMETRY_TOKEN", token)]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn the_events_the_installed_claude_code_fires_and_the_settings_miss_are_named() {
    let setup = Setup::new();
    let collector = collector_in(setup.home.path());
    setup.install(&["--url", &collector.url]);
    let newest = testkit::claude_code::newest();
    let oldest = testkit::claude_code::OLDEST;
    for version in [newest.as_str(), oldest] {
        let (code, out) = setup.doctor_beside(version, &[]);
        assert_eq!(code, 0, "{out}");
        assert!(
            out.contains(&format!("Claude Code {version} (Claude Code)")),
            "{out}"
        );
        assert!(
            out.contains(&format!(
                "the claude-telemetry hook is on every event Claude Code {version} fires"
            )),
            "{out}"
        );
    }

    // Settings written by an install that knew only 2.1.197's events.
    let newer = [
        "PreSkillShellCommand",
        "PreModelSwitch",
        "PostModelSwitch",
        "DirectoryAdded",
    ];
    setup.edit(|doc| {
        for event in newer {
            doc["hooks"].as_object_mut().unwrap().remove(event).unwrap();
        }
    });
    let (code, out) = setup.doctor_beside(&newest, &[]);
    assert_eq!(code, 0, "missing events are a warning: {out}");
    let line = out
        .lines()
        .find(|l| l.contains("hook event(s) no settings file runs the claude-telemetry hook on"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.starts_with("warn"), "{line}");
    assert!(
        line.contains(&format!("Claude Code {newest} fires 4 hook event(s)")),
        "{line}"
    );
    for event in newer {
        assert!(line.contains(event), "{line}");
    }
    assert!(
        line.contains("the guard never sees PreSkillShellCommand")
            && line.ends_with("Fix: claude-telemetry install"),
        "{line}"
    );
    // 2.1.197 fires none of them: nothing is missing there.
    let (_, out) = setup.doctor_beside(oldest, &[]);
    assert!(
        out.contains(&format!(
            "the claude-telemetry hook is on every event Claude Code {oldest} fires"
        )),
        "{out}"
    );
    // The fix it names fixes it.
    setup.install(&["--url", &collector.url]);
    let (_, out) = setup.doctor_beside(&newest, &[]);
    assert!(!out.contains("hook event(s) no settings file"), "{out}");
}

#[test]
fn settings_that_make_content_flow_are_named_with_where_they_are_set() {
    let setup = Setup::new();
    let collector = collector_in(setup.home.path());
    setup.install(&["--url", &collector.url]);
    let (code, out) = setup.doctor(&[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(
            "ok    no setting makes Claude Code send prompts, answers, commands or file content"
        ),
        "{out}"
    );

    setup.edit(|doc| {
        doc["env"]["OTEL_LOG_USER_PROMPTS"] = json!("1");
        doc["env"]["OTEL_LOG_TOOL_DETAILS"] = json!("true");
        doc["env"]["OTEL_LOG_ASSISTANT_RESPONSES"] = json!("0");
    });
    let project_settings = setup.project.path().join(".claude/settings.json");
    fs::create_dir_all(project_settings.parent().unwrap()).unwrap();
    fs::write(
        &project_settings,
        r#"{"env": {"OTEL_LOG_RAW_API_BODIES": "file:/var/tmp/bodies"}}"#,
    )
    .unwrap();
    let (code, out) = setup.doctor(&[("OTEL_LOG_TOOL_CONTENT", "1")]);
    assert_eq!(code, 0, "content is the user's choice, a warning: {out}");
    let user_file = setup.settings().display().to_string();
    let line = |name: &str| {
        out.lines()
            .find(|l| l.contains(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no line for {name}: {out}"))
            .to_owned()
    };
    let prompts = line("OTEL_LOG_USER_PROMPTS");
    assert!(
        prompts.starts_with("warn")
            && prompts.contains(&user_file)
            && prompts.contains("prompt text flows")
            && prompts.ends_with("Fix: delete \"OTEL_LOG_USER_PROMPTS\" from that file's \"env\""),
        "{prompts}"
    );
    let details = line("OTEL_LOG_TOOL_DETAILS");
    assert!(
        details.contains(&user_file) && details.contains("Bash commands, file paths"),
        "{details}"
    );
    let bodies = line("OTEL_LOG_RAW_API_BODIES");
    assert!(
        bodies.contains(&project_settings.display().to_string())
            && bodies.contains("whole conversations flow"),
        "{bodies}"
    );
    let content = line("OTEL_LOG_TOOL_CONTENT");
    assert!(
        content.contains("in the environment")
            && content.contains("tool content flows")
            && content.contains("Fix: unset OTEL_LOG_TOOL_CONTENT"),
        "{content}"
    );
    assert!(
        !out.lines()
            .any(|l| l.contains("  OTEL_LOG_ASSISTANT_RESPONSES=")),
        "a switch set to 0 is off: {out}"
    );
    assert!(!out.contains("no setting makes Claude Code send"), "{out}");
    assert!(
        out.contains("ok    privacy level metadata: hook events keep ids, names, paths"),
        "{out}"
    );
}

#[test]
fn the_privacy_level_is_named_and_prompt_logging_with_it_is_no_leak() {
    let setup = Setup::new();
    let collector = collector_in(setup.home.path());
    setup.install(&["--url", &collector.url, "--log-prompts"]);
    let (code, out) = setup.doctor(&[]);
    assert_eq!(code, 0, "{out}");
    let user_file = setup.settings().display().to_string();
    assert!(
        out.contains(&format!(
            "ok    privacy level prompts (CLAUDE_TELEMETRY_PRIVACY in {user_file}): hook events keep the text of prompts, redacted, and no other content"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "ok    OTEL_LOG_USER_PROMPTS=1 in {user_file}: prompt logging is on (claude-telemetry install --log-prompts)"
        )),
        "{out}"
    );
    assert!(!out.contains("warn  OTEL_LOG"), "answers stay off: {out}");

    // Prompt logging without the level: the text flows and is dropped.
    setup.edit(|doc| {
        doc["env"]
            .as_object_mut()
            .unwrap()
            .remove("CLAUDE_TELEMETRY_PRIVACY");
    });
    let (_, out) = setup.doctor(&[]);
    let prompts = out
        .lines()
        .find(|l| l.contains("OTEL_LOG_USER_PROMPTS="))
        .unwrap();
    assert!(
        prompts.starts_with("warn") && prompts.contains("keeps only its size"),
        "{prompts}"
    );

    setup.edit(|doc| doc["env"]["CLAUDE_TELEMETRY_PRIVACY"] = json!("full"));
    let (code, out) = setup.doctor(&[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("warn  privacy level full"), "{out}");

    setup.edit(|doc| doc["env"]["CLAUDE_TELEMETRY_PRIVACY"] = json!("everything"));
    let (code, out) = setup.doctor(&[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("FAIL  CLAUDE_TELEMETRY_PRIVACY=everything in")
            && out.contains("the hook records no event"),
        "{out}"
    );
}

#[test]
fn secret_names_configured_for_the_guard_must_be_hidden_by_the_sandbox_too() {
    let setup = Setup::new();
    let collector = collector_in(setup.home.path());
    let config = setup
        .home
        .path()
        .join(".config/claude-telemetry/config.toml");
    fs::create_dir_all(config.parent().unwrap()).unwrap();
    fs::write(
        &config,
        "[guard]\nsecret_patterns = [\"*.secret\", \"vault-token\"]\n",
    )
    .unwrap();
    setup.install(&["--url", &collector.url, "--sandbox"]);
    let (_, out) = setup.doctor(&[]);
    assert!(
        !out.contains("treats"),
        "install --sandbox denies them: {out}"
    );

    // Configured after the sandbox was installed: said, with the fix.
    fs::write(
        &config,
        "[guard]\nsecret_patterns = [\"*.secret\", \"vault-token\", \"*.kdbx\"]\n",
    )
    .unwrap();
    let (_, out) = setup.doctor(&[]);
    let line = out
        .lines()
        .find(|l| l.contains("the guard treats"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.starts_with("warn")
            && line.contains("*.kdbx")
            && !line.contains("vault-token")
            && line.ends_with("Fix: claude-telemetry install --sandbox"),
        "{line}"
    );
    setup.install(&["--url", &collector.url, "--sandbox"]);
    let (_, out) = setup.doctor(&[]);
    assert!(!out.contains("the guard treats"), "{out}");
}

#[test]
fn the_sandbox_and_what_it_needs_are_named_with_their_fixes() {
    let setup = Setup::new();
    let collector = collector_in(setup.home.path());
    setup.install(&["--url", &collector.url]);
    let line = |out: &str, words: &str| {
        out.lines()
            .find(|l| l.contains(words))
            .unwrap_or_else(|| panic!("no line with {words:?}: {out}"))
            .to_owned()
    };
    let (code, out) = setup.doctor(&[]);
    assert_eq!(code, 0, "the sandbox is the user's choice: {out}");
    assert!(
        line(&out, "sandbox is off").starts_with("warn")
            && out.contains("Fix: claude-telemetry install --sandbox"),
        "{out}"
    );

    setup.install(&["--url", &collector.url, "--sandbox"]);
    let (code, out) = setup.doctor(&[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        line(&out, "Claude Code's sandbox is on").starts_with("ok")
            && line(&out, "bubblewrap /")
                .ends_with("runs a command in new user, PID and network namespaces")
            && line(&out, "socat /").starts_with("ok"),
        "{out}"
    );
    assert!(!out.contains("can be left"), "{out}");

    // A way out of it.
    setup.edit(|doc| doc["sandbox"]["allowUnsandboxedCommands"] = json!(true));
    let (_, out) = setup.doctor(&[]);
    assert!(
        line(&out, "the sandbox can be left").starts_with("warn")
            && out.contains("dangerouslyDisableSandbox"),
        "{out}"
    );

    // One bad field, and Claude Code drops the sandbox (not the hooks).
    setup.edit(|doc| doc["sandbox"]["enabled"] = json!("yes"));
    let (code, out) = setup.doctor(&[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        line(&out, "ignores the whole `sandbox` setting").contains("/sandbox/enabled"),
        "{out}"
    );
    assert!(!out.contains("ignores every hook"), "{out}");
    assert!(out.contains("claude-telemetry hook on 32 events"), "{out}");

    // Turned on, and nothing it needs on PATH: Claude Code cannot start it.
    setup.install(&["--url", &collector.url, "--sandbox"]);
    let empty = tempfile::tempdir().unwrap();
    let (code, out) = setup.doctor(&[("PATH", empty.path().to_str().unwrap())]);
    assert_eq!(code, 1, "{out}");
    let bwrap = line(&out, "bubblewrap (bwrap) is not on PATH");
    assert!(
        bwrap.starts_with("FAIL") && bwrap.contains("Fix: sudo apt-get install bubblewrap"),
        "{bwrap}"
    );
    assert!(
        line(&out, "socat is not on PATH").contains("sudo apt-get install socat"),
        "{out}"
    );

    // Bubblewrap there but unable to make its namespaces: as uid 0 without CAP_SETFCAP
    // (a user namespace of its own makes this so whoever runs the test).
    let output = std::process::Command::new("unshare")
        .args([
            "--user",
            "--map-root-user",
            "setpriv",
            "--bounding-set",
            "-setfcap",
            "--",
        ])
        .arg(crate::support::bin())
        .args([
            "doctor",
            "--project",
            setup.project.path().to_str().unwrap(),
        ])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", setup.home.path())
        .output()
        .expect("unshare and setpriv (util-linux)");
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    let bwrap = line(&out, "cannot sandbox a command here");
    assert!(
        bwrap.starts_with("FAIL")
            && bwrap.contains("setting up uid map")
            && bwrap.contains("CAP_SETFCAP"),
        "{bwrap}"
    );

    // A /proc with a masked path, as Docker leaves it: no fresh /proc can be mounted,
    // until the settings bind the one there is (enableWeakerNestedSandbox).
    let in_a_masked_proc = || {
        let doctor = format!(
            "mount --bind /dev/null /proc/timer_list && exec '{}' doctor --project '{}'",
            crate::support::bin().display(),
            setup.project.path().display()
        );
        let output = std::process::Command::new("unshare")
            .args(["--user", "--map-root-user", "--mount", "--pid", "--fork"])
            .args(["--mount-proc", "sh", "-c", &doctor])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", setup.home.path())
            .output()
            .expect("unshare (util-linux)");
        stdout(&output)
    };
    let out = in_a_masked_proc();
    let bwrap = line(&out, "bubblewrap /");
    assert!(
        bwrap.starts_with("FAIL")
            && bwrap.contains("Can't mount proc")
            && bwrap.contains("sandbox.enableWeakerNestedSandbox"),
        "{out}"
    );
    setup.edit(|doc| doc["sandbox"]["enableWeakerNestedSandbox"] = json!(true));
    let out = in_a_masked_proc();
    assert!(
        line(&out, "bubblewrap /").starts_with("ok")
            && line(&out, "sets sandbox.enableWeakerNestedSandbox").starts_with("warn"),
        "{out}"
    );
}

#[test]
fn a_guard_configuration_the_hook_cannot_use_fails() {
    let setup = Setup::new();
    let collector = collector_in(setup.home.path());
    setup.install(&["--url", &collector.url]);
    let config = setup
        .home
        .path()
        .join(".config/claude-telemetry/config.toml");
    fs::create_dir_all(config.parent().unwrap()).unwrap();
    fs::write(&config, "[guard]\nstrict = true\n").unwrap();
    let (code, out) = setup.doctor(&[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ok    guard configuration usable"), "{out}");
    fs::write(&config, "[guard]\nstrictt = true\n").unwrap();
    let (code, out) = setup.doctor(&[]);
    assert_eq!(code, 1, "{out}");
    let line = out
        .lines()
        .find(|line| line.contains("guard configuration"))
        .unwrap();
    assert!(line.starts_with("FAIL"), "{out}");
    // TOML's message spans lines: it quotes the line at fault.
    assert!(
        out.contains("strictt") && out.contains("guard.config_error"),
        "{out}"
    );
}
