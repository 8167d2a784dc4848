//! Which settings file a scope means.

use std::path::{Path, PathBuf};

/// A Claude Code settings scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// `~/.claude/settings.json`: every project of this user.
    User {
        /// The user's home directory.
        home: PathBuf,
    },
    /// `DIR/.claude/settings.json`: shared with the team through the repository.
    Project(PathBuf),
    /// `DIR/.claude/settings.local.json`: this machine only, git-ignored.
    Local(PathBuf),
    /// `/etc/claude-code/managed-settings.json`: enforced for every user of the machine.
    Managed,
    /// An explicit file.
    File(PathBuf),
}

/// Where Linux reads managed settings from.
pub const MANAGED_SETTINGS: &str = "/etc/claude-code/managed-settings.json";

impl Scope {
    /// The settings file of this scope.
    pub fn path(&self) -> PathBuf {
        match self {
            Scope::User { home } => home.join(".claude").join("settings.json"),
            Scope::Project(dir) => dir.join(".claude").join("settings.json"),
            Scope::Local(dir) => dir.join(".claude").join("settings.local.json"),
            Scope::Managed => Path::new(MANAGED_SETTINGS).to_owned(),
            Scope::File(path) => path.clone(),
        }
    }

    /// Whether the file belongs to one person, so it may carry their identity.
    ///
    /// A project file is committed and shared, and a managed file serves every user of the
    /// machine: neither may name one user.
    pub fn is_personal(&self) -> bool {
        matches!(self, Scope::User { .. } | Scope::Local(_) | Scope::File(_))
    }
}
