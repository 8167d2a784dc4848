//! `claude-telemetry install` / `uninstall` against real files.
