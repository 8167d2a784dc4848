//! Claude Code settings files, and what this project writes into them.
//!
//! Owns three things: the validation of a settings document against the parts of Claude
//! Code's format that can silently disable hooks or the sandbox ([`validate`]); the pure
//! edit that adds or removes our hooks, telemetry environment, `.env` deny rules and,
//! when asked, Claude Code's own sandbox ([`install`], [`uninstall`], [`Sandbox`]); and
//! reading and writing the files safely ([`SettingsFile`]).
//!
//! Everything install adds is recorded in the file itself (an env entry,
//! [`MARKER_ENV`]) so uninstall removes exactly that and restores what it replaced, even
//! for a project file copied to another machine.

mod document;
mod edit;
mod file;
mod sandbox;
mod scope;
mod validate;

pub use edit::{
    HEADERS_HELPER_KEY, Install, InstallReport, Installed, MARKER_ENV, SECRET_DENY_RULES,
    TRACES_ENV, headers_helper_for, hook_command_for, install, installed, program_of, uninstall,
};
pub use file::{FileError, SettingsFile, unified_diff};
pub use sandbox::{SANDBOX_KEY, Sandbox, case_insensitive_glob};
pub use scope::Scope;
pub use validate::{Problem, Severity, validate};
