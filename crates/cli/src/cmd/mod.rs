//! One module per subcommand.

pub mod check;
pub mod doctor;
pub mod hook;
pub mod install;
pub mod report;
pub mod serve;

/// The process environment as the crates' `Env` sources expect it.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// `$XDG_DATA_HOME/claude-telemetry`, else `~/.local/share/claude-telemetry`: where the
/// collector keeps its store unless told otherwise.
pub fn default_data_dir() -> Option<std::path::PathBuf> {
    match process_env("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        Some(dir) => Some(std::path::PathBuf::from(dir).join("claude-telemetry")),
        None => Some(
            std::path::PathBuf::from(process_env("HOME")?).join(".local/share/claude-telemetry"),
        ),
    }
}
