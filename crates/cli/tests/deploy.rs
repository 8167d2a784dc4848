//! The shipped deployment files, checked with the real tools.

use std::process::Command;

#[test]
fn promtool_accepts_the_shipped_prometheus_config() {
    let config = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/prometheus/prometheus.yml"
    );
    let output = Command::new("promtool")
        .args(["check", "config", config])
        .output()
        .expect("promtool is needed (Debian package `prometheus`; scripts/test installs it)");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
