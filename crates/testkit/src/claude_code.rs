//! The real Claude Code CLI for tests and benchmarks: installed from npm, pinned, once.
//!
//! Two releases are pinned: the newest this project supports ([`NEWEST`], which the
//! `CLAUDE_CODE_VERSION` environment variable replaces, so the suite can try another
//! release without an edit) and the oldest ([`OLDEST`]). The real-CLI tests run on both.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The newest Claude Code release the project is tested against (a native binary that
/// npm's postinstall links from `@anthropic-ai/claude-code-linux-x64`; it runs on Node 20
/// after an engines warning).
pub const NEWEST: &str = "2.1.332";

/// The oldest Claude Code release the project supports.
pub const OLDEST: &str = "2.1.197";

/// The release the suite runs as the newest: `CLAUDE_CODE_VERSION` when set, else
/// [`NEWEST`].
pub fn newest() -> String {
    std::env::var("CLAUDE_CODE_VERSION")
        .ok()
        .filter(|version| !version.trim().is_empty())
        .map_or_else(|| NEWEST.to_owned(), |version| version.trim().to_owned())
}

/// The `claude` binary of `@anthropic-ai/claude-code@version`, installed under
/// `cache/version` on first use. Concurrent callers (nextest runs tests as separate
/// processes) wait for the one that installs it.
pub fn installed(cache: &Path, version: &str) -> PathBuf {
    let dir = cache.join(version);
    let binary = dir.join("node_modules/.bin/claude");
    // The binary appears before npm has finished (its postinstall copies the native
    // executable): only this marker, written after a successful install, means ready.
    let complete = dir.join(".complete");
    if complete.exists() {
        return binary;
    }
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    let lock = dir.join(".installing");
    let deadline = Instant::now() + Duration::from_secs(600);
    while std::fs::create_dir(&lock).is_err() {
        if complete.exists() {
            return binary;
        }
        assert!(
            Instant::now() < deadline,
            "another process never finished installing Claude Code (remove {})",
            lock.display()
        );
        std::thread::sleep(Duration::from_millis(500)); // waiting for the other installer, bounded
    }
    if complete.exists() {
        // Installed by another process between our first look and taking the lock.
        let _ = std::fs::remove_dir(&lock);
        return binary;
    }
    let status = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
        .arg(&dir)
        .arg(format!("@anthropic-ai/claude-code@{version}"))
        .status();
    let installed = matches!(&status, Ok(status) if status.success()) && binary.exists();
    if installed {
        std::fs::write(&complete, version)
            .unwrap_or_else(|e| panic!("writing {}: {e}", complete.display()));
    }
    let _ = std::fs::remove_dir(&lock);
    match status {
        _ if installed => binary,
        Ok(status) => panic!("npm install @anthropic-ai/claude-code@{version} failed: {status}"),
        Err(e) => panic!("npm is needed to install Claude Code: {e}"),
    }
}
