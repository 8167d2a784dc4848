//! Claude Code settings files, and what this project writes into them.
//!
//! Owns three things: the validation of a settings document against the parts of Claude
//! Code's format that can silently disable hooks ([`validate`]); the pure edit that adds
//! or removes our hooks, telemetry environment and `.env` deny rules ([`install`],
//! [`uninstall`]); and reading and writing the files safely ([`SettingsFile`]).
//!
//! Everything install adds is recorded in the file itself (an env entry,
//! [`MARKER_ENV`]) so uninstall removes exactly that and restores what it replaced, even
//! for a project file copied to another machine.

mod edit;
mod file;
mod scope;
mod validate;

pub use edit::{
    HEADERS_HELPER_KEY, Install, InstallReport, Installed, MARKER_ENV, SECRET_DENY_RULES,
    TRACES_ENV, headers_helper_for, hook_command_for, install, installed, program_of, uninstall,
};
pub use file::{FileError, SettingsFile, unified_diff};
pub use scope::Scope;
pub use validate::{Problem, Severity, validate};
