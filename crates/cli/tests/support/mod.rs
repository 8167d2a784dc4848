//! Running the real binary with a hermetic environment and a hang detector.

pub mod collector;
pub mod corpus;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use serde_json::Value;

/// Longest any single invocation may take before the test calls it hung. This is a hang
/// detector, not a performance assertion: the hook's speed is measured by the benchmark.
const HANG: Duration = Duration::from_secs(30);

/// The repository's root.
pub fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_claude-telemetry"))
}

/// The captured payloads, by the sample's name (`PreToolUse:Bash`, …).
pub fn samples() -> Vec<(String, Value)> {
    let text = include_str!("../data/hook_payloads.json");
    let all: serde_json::Map<String, Value> = serde_json::from_str(text).unwrap();
    all.into_iter()
        .map(|(name, sample)| (name, sample["payload"].clone()))
        .collect()
}

pub fn sample(name: &str) -> Value {
    samples().into_iter().find(|(n, _)| n == name).unwrap().1
}

/// A command with only the variables a test gives it (plus PATH), so nothing from the
/// developer's shell leaks in.
pub struct Run {
    command: Command,
}

impl Run {
    pub fn new(args: &[&str], home: &Path) -> Run {
        let mut command = Command::new(bin());
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("USER", "tester")
            // The hook's delivery budget (200 ms by default) is a real user's; on a busy
            // test machine a slow acknowledgement would make the hook spool, and then skip
            // the collector for a while. Tests that are about timeouts set their own.
            .env("CLAUDE_TELEMETRY_TIMEOUT_MS", "5000");
        Run { command }
    }

    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Run {
        self.command.env(key, value);
        self
    }

    pub fn stdin(self, input: impl Into<Vec<u8>>) -> Output {
        finish(self.command, Some(input.into()))
    }

    pub fn output(self) -> Output {
        finish(self.command, None)
    }
}

fn finish(mut command: Command, input: Option<Vec<u8>>) -> Output {
    command
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("spawn claude-telemetry");
    let pid = child.id();
    if let Some(bytes) = input {
        let mut stdin = child.stdin.take().unwrap();
        // The child may exit before reading everything (that is its right); ignore EPIPE.
        thread::spawn(move || {
            let _ = stdin.write_all(&bytes);
        });
    }
    let (done, finished) = mpsc::channel();
    thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    match finished.recv_timeout(HANG) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("claude-telemetry hung for more than {HANG:?}");
        }
    }
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}
