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
        let mut run = Run::new(
            &["doctor", "--project", self.project.path().to_str().unwrap()],
            self.home.path(),
        );
        for (k, v) in env {
            run = run.env(k, v);
        }
        let output = run.output();
        (output.status.code().unwrap(), stdout(&output))
    }
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
    assert!(out.contains("claude-telemetry hook on 29 events"), "{out}");
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
