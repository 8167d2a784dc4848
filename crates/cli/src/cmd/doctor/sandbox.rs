//! Claude Code's own OS sandbox: whether the settings turn it on, whether it can be left,
//! and whether what it needs on this machine is there and works.
//!
//! On Linux the sandbox is bubblewrap (`bwrap`, run once here with a trivial command in
//! the namespaces Claude Code asks for) and `socat` (its network bridge); on macOS it is
//! Seatbelt (`sandbox-exec`). A sandbox the settings turn on but the machine cannot run
//! either stops Claude Code from starting (`failIfUnavailable`) or leaves every command
//! unconfined, so that is a failure; the same gaps with the sandbox off are only said.
//! This module reads what `doctor` gathered and runs those programs; it edits nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

use claude_settings::SANDBOX_KEY;
use serde_json::Value;

use super::{Level, Report, process_env};

/// A switch, and the settings file that set it last.
type Setting = Option<(bool, PathBuf)>;

/// The `sandbox` settings as Claude Code merges them: a later scope wins.
#[derive(Default)]
pub(super) struct SandboxSettings {
    enabled: Setting,
    allow_unsandboxed: Setting,
    filesystem_disabled: Setting,
    /// `enableWeakerNestedSandbox`: the host's `/proc` instead of a fresh one.
    weaker_nested: Setting,
    /// Every `sandbox.filesystem.denyRead` entry of every file: Claude Code merges the
    /// lists of all scopes.
    deny_read: Vec<String>,
    /// Files whose `sandbox` Claude Code ignores whole, with why.
    invalid: Vec<(PathBuf, String)>,
}

impl SandboxSettings {
    /// Takes in one valid settings file (a later call wins).
    pub(super) fn read(&mut self, path: &Path, doc: &Value) {
        let Some(sandbox) = doc.get(SANDBOX_KEY) else {
            return;
        };
        let take = |slot: &mut Setting, value: Option<&Value>| {
            if let Some(value) = value.and_then(Value::as_bool) {
                *slot = Some((value, path.to_owned()));
            }
        };
        take(&mut self.enabled, sandbox.get("enabled"));
        take(
            &mut self.allow_unsandboxed,
            sandbox.get("allowUnsandboxedCommands"),
        );
        take(
            &mut self.filesystem_disabled,
            sandbox.get("filesystem").and_then(|f| f.get("disabled")),
        );
        take(
            &mut self.weaker_nested,
            sandbox.get("enableWeakerNestedSandbox"),
        );
        let denied = sandbox
            .pointer("/filesystem/denyRead")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str);
        self.deny_read.extend(denied.map(str::to_owned));
    }

    /// Whether some `denyRead` entry keeps files named like `name` from being read
    /// anywhere: the glob `install --sandbox` writes for it, or the name after `**/`.
    fn denies_reading(&self, name: &str) -> bool {
        let written = format!("**/{}", claude_settings::case_insensitive_glob(name));
        let plain = format!("**/{name}");
        self.deny_read
            .iter()
            .any(|entry| entry.ends_with(&written) || entry.ends_with(&plain))
    }

    /// Records a file whose `sandbox` has fields Claude Code rejects.
    pub(super) fn invalid(&mut self, path: &Path, problems: String) {
        self.invalid.push((path.to_owned(), problems));
    }
}

/// What to run for a missing program, on the package managers most Linux users have.
fn install_fix(package: &str) -> String {
    format!(
        "Fix: sudo apt-get install {package} (Debian, Ubuntu) or sudo dnf install {package} (Fedora)"
    )
}

/// `secret_names`: what the guard is configured to treat as secret beyond `.env`, which
/// the sandbox should keep from being read as well.
pub(super) fn check_sandbox(
    settings: &SandboxSettings,
    secret_names: &[String],
    report: &mut Report,
) {
    for (path, problems) in &settings.invalid {
        report.add(
            Level::Fail,
            format!("{}: Claude Code ignores the whole `sandbox` setting in this file because of: {problems}. Whatever it says about the sandbox does not apply. Fix: correct the field", path.display()),
        );
    }
    let on = match &settings.enabled {
        Some((true, path)) => {
            report.add(
                Level::Fine,
                format!("Claude Code's sandbox is on ({})", path.display()),
            );
            true
        }
        Some((false, path)) => {
            report.add(Level::Warn, format!("Claude Code's sandbox is off ({} sets sandbox.enabled to false): Bash commands and skill preambles run with all your rights, and the guard is the only line. Fix: claude-telemetry install --sandbox", path.display()));
            false
        }
        None => {
            report.add(Level::Warn, "Claude Code's sandbox is off: Bash commands and skill preambles run with all your rights, and the guard is the only line. Fix: claude-telemetry install --sandbox");
            false
        }
    };
    if on {
        match &settings.allow_unsandboxed {
            Some((false, _)) => {}
            _ => report.add(Level::Warn, "the sandbox can be left: the model may run any command outside it by asking (dangerouslyDisableSandbox), without a prompt when permissions are bypassed. Fix: claude-telemetry install --sandbox (sets sandbox.allowUnsandboxedCommands to false)"),
        }
        if let Some((true, path)) = &settings.filesystem_disabled {
            report.add(Level::Warn, format!("{} sets sandbox.filesystem.disabled: sandboxed commands read and write every file you can, .env files included. Fix: remove it", path.display()));
        }
        let readable: Vec<&str> = secret_names
            .iter()
            .filter(|name| !settings.denies_reading(name))
            .map(String::as_str)
            .collect();
        if !readable.is_empty() {
            report.add(Level::Warn, format!("the guard treats {} as secret, but sandboxed commands can read such files (no sandbox.filesystem.denyRead entry for them). Fix: claude-telemetry install --sandbox", readable.join(", ")));
        }
        if let Some((true, path)) = &settings.weaker_nested {
            report.add(Level::Warn, format!("{} sets sandbox.enableWeakerNestedSandbox: sandboxed commands see this machine's /proc (other processes, and the environment of your own) rather than a fresh one. Needed where /proc cannot be mounted (a Docker container); elsewhere, remove it", path.display()));
        }
    }
    let weaker = matches!(settings.weaker_nested, Some((true, _)));
    let missing = if on { Level::Fail } else { Level::Warn };
    match std::env::consts::OS {
        "linux" => check_linux(on, weaker, missing, report),
        "macos" => check_macos(missing, report),
        other => report.add(
            missing,
            format!("Claude Code's sandbox runs on Linux and macOS, not on {other}"),
        ),
    }
}

fn check_linux(on: bool, weaker: bool, missing: Level, report: &mut Report) {
    let purpose = if on {
        "Claude Code cannot start its sandbox"
    } else {
        "install --sandbox needs it"
    };
    match on_path("bwrap") {
        None => report.add(
            missing,
            format!(
                "bubblewrap (bwrap) is not on PATH: {purpose}. {}",
                install_fix("bubblewrap")
            ),
        ),
        Some(bwrap) => match try_bwrap(&bwrap, weaker) {
            Ok(()) => report.add(
                Level::Fine,
                format!(
                    "bubblewrap {} runs a command in new user, PID and network namespaces",
                    bwrap.display()
                ),
            ),
            Err(said) => report.add(
                missing,
                format!(
                    "bubblewrap {} cannot sandbox a command here ({said}): {purpose}. {}",
                    bwrap.display(),
                    bwrap_fix(&said)
                ),
            ),
        },
    }
    match on_path("socat") {
        None => report.add(
            missing,
            format!(
                "socat is not on PATH: {purpose} (socat carries sandboxed commands' network traffic). {}",
                install_fix("socat")
            ),
        ),
        Some(socat) => match Command::new(&socat).arg("-V").output() {
            Ok(output) if output.status.success() => {
                report.add(Level::Fine, format!("socat {} runs", socat.display()));
            }
            _ => report.add(
                missing,
                format!(
                    "socat {} does not run: {purpose}. {}",
                    socat.display(),
                    install_fix("socat")
                ),
            ),
        },
    }
}

/// The trivial command bubblewrap is tried with, `/proc` aside.
const BWRAP_PROBE: &[&str] = &[
    "--new-session",
    "--die-with-parent",
    "--ro-bind",
    "/",
    "/",
    "--dev",
    "/dev",
    "--unshare-user",
    "--unshare-pid",
    "--unshare-net",
];

/// How the probe gets `/proc`: fresh, or the host's with `enableWeakerNestedSandbox`.
fn proc_args(weaker: bool) -> &'static [&'static str] {
    if weaker {
        &["--bind", "/proc", "/proc"]
    } else {
        &["--proc", "/proc"]
    }
}

/// Runs `true` the way Claude Code runs a sandboxed command: read-only root, fresh
/// `/dev` and `/proc` (or the host's `/proc`, as `enableWeakerNestedSandbox` asks), new
/// user, PID and network namespaces. The first line bubblewrap printed when it failed.
fn try_bwrap(bwrap: &Path, weaker: bool) -> Result<(), String> {
    let output = Command::new(bwrap)
        .args(BWRAP_PROBE)
        .args(proc_args(weaker))
        .args(["--", "true"])
        .output()
        .map_err(|err| err.to_string())?;
    if output.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&output.stderr);
    Err(said
        .lines()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("it failed and said nothing")
        .trim()
        .to_owned())
}

/// What to change for the ways bubblewrap is known to fail.
fn bwrap_fix(said: &str) -> String {
    let said = said.to_ascii_lowercase();
    if said.contains("uid map") {
        "As root, bubblewrap needs CAP_SETFCAP to map uid 0 into its namespace. Fix: run Claude Code as a non-root user, or grant CAP_SETFCAP (docker run --cap-add SETFCAP)".to_owned()
    } else if said.contains("proc") {
        "The kernel refuses a fresh /proc here (a container masks parts of its own). Fix: set sandbox.enableWeakerNestedSandbox to true in the user or managed settings (weaker: sandboxed commands see the container's /proc)".to_owned()
    } else if said.contains("namespace")
        || said.contains("permission")
        || said.contains("not permitted")
    {
        "User namespaces are not allowed here. Fix: sudo sysctl -w kernel.unprivileged_userns_clone=1 (Debian), or kernel.apparmor_restrict_unprivileged_userns=0 (Ubuntu 23.10 and later); in a container, docker run --security-opt seccomp=unconfined --security-opt apparmor=unconfined".to_owned()
    } else {
        format!(
            "Fix: run `bwrap {} --proc /proc -- true` by hand to see why",
            BWRAP_PROBE.join(" ")
        )
    }
}

fn check_macos(missing: Level, report: &mut Report) {
    let exec = Path::new("/usr/bin/sandbox-exec");
    let runs = Command::new(exec)
        .args(["-p", "(version 1)(allow default)", "/usr/bin/true"])
        .output()
        .is_ok_and(|output| output.status.success());
    if runs {
        report.add(Level::Fine, "Seatbelt (sandbox-exec) runs a command");
    } else {
        report.add(missing, "Seatbelt (/usr/bin/sandbox-exec) does not run a command here, so Claude Code cannot start its sandbox. Fix: it ships with macOS; check that /usr/bin/sandbox-exec exists and is not blocked by a device policy");
    }
}

/// The first executable called `name` on PATH.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = process_env("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| super::is_executable(candidate))
}
