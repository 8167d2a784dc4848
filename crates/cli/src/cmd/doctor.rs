//! `claude-telemetry doctor`: checks what can silently break, and says what to fix.

mod content;
mod events;
mod sandbox;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use claude_settings::{
    HEADERS_HELPER_KEY, Scope, SettingsFile, Severity, installed, program_of, validate,
};
use hook_protocol::Release;
use serde_json::Value;

use super::process_env;

/// Options of `doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The project whose `.claude/` settings to check [default: the current directory].
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Fine,
    Warn,
    Fail,
}

struct Report {
    lines: Vec<(Level, String)>,
}

impl Report {
    fn add(&mut self, level: Level, text: impl Into<String>) {
        self.lines.push((level, text.into()));
    }

    fn failures(&self) -> usize {
        self.lines.iter().filter(|(l, _)| *l == Level::Fail).count()
    }
}

/// Runs `doctor`; exits 1 when something needs fixing.
pub fn doctor(args: &DoctorArgs) -> Result<ExitCode> {
    let mut report = Report { lines: Vec::new() };
    let project = match &args.project {
        Some(dir) => dir.clone(),
        None => std::env::current_dir()?,
    };
    let home = process_env("HOME").map(PathBuf::from);
    let mut scopes = Vec::new();
    if let Some(home) = &home {
        scopes.push(("user", Scope::User { home: home.clone() }));
    }
    scopes.push(("project", Scope::Project(project.clone())));
    scopes.push(("local", Scope::Local(project)));
    scopes.push(("managed", Scope::Managed));

    // Claude Code's precedence, lowest first: what a later scope sets wins.
    let mut merged = Merged::default();
    let mut hooked = false;
    for (name, scope) in &scopes {
        let path = scope.path();
        if !path.exists() {
            continue;
        }
        check_settings(name, &path, &mut report, &mut merged, &mut hooked);
    }
    if !hooked {
        report.add(Level::Fail, "no settings file runs the claude-telemetry hook: nothing is recorded or guarded. Fix: claude-telemetry install");
    }
    check_telemetry_env(&merged.env, &mut report);
    content::check_content(&merged, &mut report);
    let secret_names = check_guard_config(&mut report);
    sandbox::check_sandbox(&merged.sandbox, &secret_names, &mut report);
    check_collector(&merged, &mut report);
    check_spool(&mut report);
    let release = check_claude_code(&mut report);
    events::check_events(release, &merged.hooked_events, &mut report);

    for (level, text) in &report.lines {
        let mark = match level {
            Level::Fine => "ok  ",
            Level::Warn => "warn",
            Level::Fail => "FAIL",
        };
        println!("{mark}  {text}");
    }
    let failures = report.failures();
    if failures == 0 {
        println!("\nall checks passed");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("\n{failures} problem(s) to fix");
        Ok(ExitCode::from(1))
    }
}

/// What the settings files say together, a later scope winning.
#[derive(Default)]
struct Merged {
    env: BTreeMap<String, String>,
    /// Which settings file set each `env` value.
    env_origin: BTreeMap<String, PathBuf>,
    headers_helper: Option<String>,
    /// Events some valid settings file runs the claude-telemetry hook on.
    hooked_events: BTreeSet<String>,
    /// The `sandbox` settings.
    sandbox: sandbox::SandboxSettings,
}

fn check_settings(
    name: &str,
    path: &Path,
    report: &mut Report,
    merged: &mut Merged,
    hooked: &mut bool,
) {
    let shown = path.display();
    let file = match SettingsFile::load(path) {
        Ok(file) => file,
        Err(err) => {
            report.add(Level::Fail, format!("{name} settings: {err}"));
            return;
        }
    };
    let doc = &file.document;
    // A bad `sandbox` field costs the sandbox, not the hooks: said with the sandbox.
    let (sandbox_errors, errors): (Vec<_>, Vec<_>) = validate(doc)
        .into_iter()
        .filter(|p| p.severity == Severity::Error)
        .partition(|p| p.path.starts_with("/sandbox"));
    let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
    if sandbox_errors.is_empty() {
        merged.sandbox.read(path, doc);
    } else {
        let said: Vec<String> = sandbox_errors.iter().map(ToString::to_string).collect();
        merged.sandbox.invalid(path, said.join("; "));
    }
    if !errors.is_empty() {
        report.add(
            Level::Fail,
            format!("{name} settings {shown}: Claude Code ignores every hook in this file because of: {}", errors.join("; ")),
        );
        return;
    }
    if doc.get("disableAllHooks") == Some(&Value::Bool(true)) {
        report.add(
            Level::Fail,
            format!(
                "{name} settings {shown}: disableAllHooks is true, so no hook runs. Fix: remove it"
            ),
        );
    }
    let ours = installed(doc);
    if let Some(vars) = doc.get("env").and_then(Value::as_object) {
        for (key, value) in vars {
            if let Some(value) = value.as_str() {
                merged.env.insert(key.clone(), value.to_owned());
                merged.env_origin.insert(key.clone(), path.to_owned());
            }
        }
    }
    if let Some(helper) = doc.get(HEADERS_HELPER_KEY).and_then(Value::as_str) {
        merged.headers_helper = Some(helper.to_owned());
    }
    merged.hooked_events.extend(ours.events.iter().cloned());
    if ours.events.is_empty() {
        report.add(
            Level::Fine,
            format!("{name} settings {shown}: valid, no claude-telemetry hook"),
        );
        return;
    }
    *hooked = true;
    report.add(
        Level::Fine,
        format!(
            "{name} settings {shown}: claude-telemetry hook on {} events",
            ours.events.len()
        ),
    );
    if !ours.events.iter().any(|e| e == "PreToolUse") {
        report.add(Level::Warn, format!("{name} settings: no PreToolUse hook, so the guard never sees a tool call. Fix: claude-telemetry install"));
    }
    for command in &ours.commands {
        let program = program_of(command);
        if !is_executable(Path::new(&program)) {
            report.add(
                Level::Fail,
                format!("{name} settings: the hook runs {program}, which is not an executable file: every event is lost. Fix: claude-telemetry install (writes this binary's path)"),
            );
        }
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.is_absolute()
        && std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn check_telemetry_env(env: &BTreeMap<String, String>, report: &mut Report) {
    // Claude Code reads these from its own environment too; settings win.
    let get = |key: &str| {
        env.get(key)
            .cloned()
            .or_else(|| process_env(key))
            .unwrap_or_default()
    };
    let fix = "Fix: claude-telemetry install";
    if get("CLAUDE_CODE_ENABLE_TELEMETRY") != "1" {
        report.add(Level::Fail, format!("CLAUDE_CODE_ENABLE_TELEMETRY is not 1: Claude Code sends no cost or token metrics. {fix}"));
        return;
    }
    let protocol = get("OTEL_EXPORTER_OTLP_PROTOCOL");
    match protocol.as_str() {
        "http/protobuf" | "http/json" => report.add(Level::Fine, format!("telemetry on, OTLP over {protocol} to {}", get("OTEL_EXPORTER_OTLP_ENDPOINT"))),
        "" => report.add(Level::Fail, format!("OTEL_EXPORTER_OTLP_PROTOCOL is not set, and Claude Code has no default: nothing is exported. {fix}")),
        other => report.add(Level::Fail, format!("OTEL_EXPORTER_OTLP_PROTOCOL is {other}; the collector speaks http/protobuf and http/json. {fix}")),
    }
    if get("OTEL_EXPORTER_OTLP_ENDPOINT").is_empty() {
        report.add(
            Level::Fail,
            format!("OTEL_EXPORTER_OTLP_ENDPOINT is not set. {fix}"),
        );
    }
    if !get("OTEL_METRICS_EXPORTER")
        .split(',')
        .any(|e| e.trim() == "otlp")
    {
        report.add(Level::Fail, format!("OTEL_METRICS_EXPORTER does not include otlp: no cost or token metrics reach the collector. {fix}"));
    }
    if !get("OTEL_LOGS_EXPORTER")
        .split(',')
        .any(|e| e.trim() == "otlp")
    {
        report.add(Level::Warn, format!("OTEL_LOGS_EXPORTER does not include otlp: no API request events, so `report` has no cost per request. {fix}"));
    }
}

/// The guard's configuration as the hook reads it: one it cannot use makes every judged
/// tool call an ask (`guard.config_error`), which nobody sees until it happens. Returns
/// the secret names it configures beyond `.env` (none when it cannot be used).
fn check_guard_config(report: &mut Report) -> Vec<String> {
    let env = |name: &str| process_env(name);
    let shown = hook::config_path(&env).map_or_else(
        || "the guard's configuration".to_owned(),
        |(path, _)| path.display().to_string(),
    );
    match hook::load_guard_config(&env) {
        Ok(config) => {
            report.add(Level::Fine, format!("guard configuration usable ({shown})"));
            guard::secrets::configured_secret_names(&config)
        }
        Err(err) => {
            report.add(Level::Fail, format!("guard configuration: {err}. Every tool call the guard judges is asked about (guard.config_error) until it is fixed"));
            Vec::new()
        }
    }
}

fn check_collector(merged: &Merged, report: &mut Report) {
    let lookup = |name: &str| {
        process_env(name)
            .filter(|v| !v.is_empty())
            .or_else(|| merged.env.get(name).cloned())
    };
    let url = hook::collector_url(&lookup);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(3)))
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .into();
    match agent.get(format!("{url}/-/healthy")).call() {
        Ok(response) if response.status().is_success() => {}
        Ok(response) => {
            report.add(Level::Fail, format!("collector {url} answers /-/healthy with {}: is it a claude-telemetry collector?", response.status()));
            return;
        }
        Err(err) => {
            report.add(Level::Fail, format!("collector {url} is not reachable ({err}): events wait in the spool. Fix: start it (claude-telemetry serve) or set CLAUDE_TELEMETRY_URL"));
            return;
        }
    }
    let mut request = agent.get(format!("{url}/metrics"));
    let token = lookup("CLAUDE_TELEMETRY_TOKEN");
    if let Some(token) = &token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    match request.call() {
        Ok(response) if response.status().is_success() => {
            report.add(Level::Fine, format!("collector {url} reachable{}", if token.is_some() { ", token accepted" } else { "" }));
            // Claude Code's own exports need the token too, and CLAUDE_TELEMETRY_TOKEN means
            // nothing to its exporter: the helper or OTEL_EXPORTER_OTLP_HEADERS must carry it.
            let exports_authenticate = merged.headers_helper.is_some()
                || lookup("OTEL_EXPORTER_OTLP_HEADERS").is_some_and(|h| h.to_ascii_lowercase().contains("authorization="));
            if token.is_some() && !exports_authenticate {
                report.add(Level::Fail, format!("Claude Code's OTLP exports carry no token ({HEADERS_HELPER_KEY} not set): the collector refuses its cost and token metrics. Fix: claude-telemetry install"));
            }
        }
        Ok(response) if response.status().as_u16() == 401 => report.add(
            Level::Fail,
            format!("collector {url} refuses the {}: hooks' events are refused and wait in the spool. Fix: set CLAUDE_TELEMETRY_TOKEN to the collector's token", if token.is_some() { "token" } else { "requests without a token" }),
        ),
        Ok(response) => report.add(Level::Fail, format!("collector {url} answers /metrics with {}", response.status())),
        Err(err) => report.add(Level::Fail, format!("collector {url}: {err}")),
    }
}

fn check_spool(report: &mut Report) {
    let Some(state) = hook::state_dir(&process_env) else {
        return;
    };
    let spool = hook::Spool::in_state_dir(&state);
    let pending = spool.pending().map(|p| p.len()).unwrap_or(0);
    let rejected = std::fs::read_dir(spool.rejected_dir())
        .map(|d| d.count())
        .unwrap_or(0);
    if pending > 0 {
        report.add(
            Level::Warn,
            format!("{pending} event(s) wait in {}; the next hook delivers them once the collector answers", spool.dir().display()),
        );
    } else {
        report.add(Level::Fine, "no events waiting in the spool");
    }
    if rejected > 0 {
        report.add(
            Level::Warn,
            format!(
                "{rejected} event(s) the collector refused for good are kept in {}",
                spool.rejected_dir().display()
            ),
        );
    }
}

/// The installed Claude Code's release, when `claude --version` says one.
fn check_claude_code(report: &mut Report) -> Option<Release> {
    match std::process::Command::new("claude")
        .arg("--version")
        .output()
    {
        Ok(output) if output.status.success() => {
            let said = String::from_utf8_lossy(&output.stdout).trim().to_owned();
            report.add(Level::Fine, format!("Claude Code {said}"));
            Release::parse(&said).ok()
        }
        _ => {
            report.add(Level::Warn, "Claude Code (`claude`) is not on PATH here");
            None
        }
    }
}
