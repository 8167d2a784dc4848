//! Starting real servers (the collector, the Pushgateway, …) for tests and benchmarks,
//! and timing whole processes.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Starts `program` and waits until a line of its stderr contains `ready_marker`.
pub fn start(program: &str, args: &[String], ready_marker: &str) -> Child {
    start_within(program, args, ready_marker, Duration::from_secs(60))
}

/// The same, waiting up to `within` (a collector replaying a large store).
pub fn start_within(program: &str, args: &[String], ready_marker: &str, within: Duration) -> Child {
    let mut child = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {program}: {e}"));
    let stderr = child.stderr.take().expect("stderr is piped");
    let (ready, wait) = mpsc::channel();
    let marker = ready_marker.to_owned();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains(&marker) {
                let _ = ready.send(());
            }
        }
    });
    wait.recv_timeout(within)
        .unwrap_or_else(|_| panic!("{program} never said {ready_marker:?}"));
    child
}

/// A loopback port free right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Spawns `program` with `input` on stdin and waits for it: the wall time from spawn to
/// exit, as Claude Code sees a hook. It must exit 0.
pub fn spawn_once(program: &Path, args: &[&str], envs: &[(&str, &str)], input: &[u8]) -> Duration {
    let started = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .envs(envs.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {}: {e}", program.display()));
    let mut stdin = child.stdin.take().expect("stdin is piped");
    // /bin/true exits without reading: a broken pipe is expected there.
    let _ = stdin.write_all(input);
    drop(stdin);
    let status = child.wait().expect("wait for the child");
    let elapsed = started.elapsed();
    assert!(status.success(), "{} failed", program.display());
    elapsed
}
