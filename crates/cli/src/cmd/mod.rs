//! One module per subcommand.

pub mod check;
pub mod hook;
pub mod install;
pub mod serve;

/// The process environment as the crates' `Env` sources expect it.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}
