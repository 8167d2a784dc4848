//! Integration tests: they run the real `claude-telemetry` binary as Claude Code would.

// Test code: a failed setup or expectation should stop the test right there.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

mod agreement;

mod claude_code;
mod collector;
mod dashboards;
mod denials;
mod deploy;
mod doctor;
mod guard_corpus;
mod guard_hook;
mod hook;
mod hostile;
mod install;
mod layout;
mod otlp;
mod page;
mod privacy;
mod prometheus;
mod pushgateway;
mod report;
mod sandbox;
mod traces;
mod usage;
