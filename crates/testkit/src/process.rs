//! Starting real servers (the collector, the Pushgateway, …) for tests and benchmarks.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

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
