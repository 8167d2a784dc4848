//! The guard's decision as the hook records it, in a cold process: every case of the
//! labelled corpora (tuned part, and the held-out part when present) run through the real
//! `claude-telemetry hook` binary, each a fresh process as under Claude Code, and the
//! `latency_us` the hook records with the event read back (loading the guard's
//! configuration, parsing, judging and looking at the disk included). Budget: median under
//! 100 µs.
//!
//! Run: `cargo bench -p claude-telemetry --bench guard_decision` (`ROUNDS=n` runs each
//! case n times and keeps its median; default 3). With `HOOK_BIN_STATIC` (the shipped
//! build, as `scripts/bench-hook` makes it) that binary is measured beside cargo's.

// A benchmark binary: a failed setup should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/support/corpus.rs"]
mod corpus;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use corpus::{Class, Labelled, TUNED, heldout_path, load};
use testkit::Receiver;

fn run(hook: &Path, dir: &Path, url: &str, case: &Labelled, id: &str) {
    let root = dir.join("root");
    let _ = std::fs::remove_dir_all(&root);
    case.materialise(&root).unwrap();
    let mut child = Command::new(hook)
        .arg("hook")
        .env_clear()
        .envs(case.env(&root))
        .env("CLAUDE_TELEMETRY_URL", url)
        // A slow moment on a busy machine must not send events to the spool.
        .env("CLAUDE_TELEMETRY_TIMEOUT_MS", "5000")
        .env("CLAUDE_TELEMETRY_RETRY_AFTER_MS", "0")
        .env("CLAUDE_TELEMETRY_STATE_DIR", dir.join("state"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(case.event(id).to_string().as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
}

fn median(samples: &mut [u64]) -> u64 {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn main() {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let mut hooks = vec![(
        "cargo build",
        std::path::PathBuf::from(env!("CARGO_BIN_EXE_claude-telemetry")),
    )];
    if let Some(shipped) = std::env::var_os("HOOK_BIN_STATIC") {
        hooks.push(("shipped build", std::path::PathBuf::from(shipped)));
    }
    let mut parts: Vec<(&str, Vec<Labelled>)> = Vec::new();
    let mut tuned = Vec::new();
    for (name, text) in TUNED {
        tuned.extend(load(name, text).unwrap());
    }
    parts.push(("tuned part", tuned));
    if let Ok(text) = std::fs::read_to_string(heldout_path()) {
        parts.push(("held-out part", load("heldout", &text).unwrap()));
    }
    println!(
        "guard decision as the hook records it (latency_us), cold process per case, median of {rounds} runs each (µs)"
    );
    println!("| binary | corpus | cases | median | p90 | p99 | max |");
    println!("|---|---|---|---|---|---|---|");
    for (binary, hook) in &hooks {
        for (part, cases) in &parts {
            let receiver = Receiver::start();
            let dir = tempfile::tempdir().unwrap();
            for (index, case) in cases.iter().enumerate() {
                for round in 0..rounds {
                    run(
                        hook,
                        dir.path(),
                        &receiver.url(),
                        case,
                        &format!("toolu_bench_{index}_{round}"),
                    );
                }
            }
            let mut recorded: Vec<Vec<u64>> = vec![Vec::new(); cases.len()];
            for event in receiver.events() {
                let id = event["tool_use_id"].as_str().unwrap_or_default();
                let index: usize = id.split('_').nth(2).and_then(|i| i.parse().ok()).unwrap();
                recorded[index].push(
                    event["claude_telemetry"]["guard"]["latency_us"]
                        .as_u64()
                        .unwrap(),
                );
            }
            let per_case: Vec<(Class, u64)> = cases
                .iter()
                .zip(recorded.iter_mut())
                .map(|(case, samples)| {
                    assert_eq!(samples.len(), rounds, "every run recorded its decision");
                    (case.class, median(samples))
                })
                .collect();
            let mut all: Vec<u64> = per_case.iter().map(|(_, us)| *us).collect();
            all.sort_unstable();
            let at = |q: f64| all[((all.len() - 1) as f64 * q).round() as usize];
            println!(
                "| {binary} | {part} | {} | **{}** | {} | {} | {} |",
                all.len(),
                at(0.5),
                at(0.9),
                at(0.99),
                at(1.0)
            );
            for class in [Class::MustBlock, Class::Allow, Class::Everyday] {
                let mut times: Vec<u64> = per_case
                    .iter()
                    .filter(|(c, _)| *c == class)
                    .map(|(_, us)| *us)
                    .collect();
                if !times.is_empty() {
                    println!(
                        "| {binary} | {part}, {class:?} | {} | {} | | | |",
                        times.len(),
                        median(&mut times)
                    );
                }
            }
        }
    }
}
