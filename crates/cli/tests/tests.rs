//! Integration tests: they run the real `claude-telemetry` binary as Claude Code would.

mod support;

mod hook;
mod install;
