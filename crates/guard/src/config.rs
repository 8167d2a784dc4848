//! The guard's configuration: what a team may change in the default policy.

use std::path::PathBuf;

use serde::Deserialize;

/// Guard settings, as written in the `[guard]` table of the TOML config.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GuardConfig {
    /// Ask before any recursive delete, even one the policy allows.
    pub strict: bool,
    /// Extra paths no recursive delete may touch (the paths and everything under them),
    /// even inside the project.
    pub protected_paths: Vec<PathBuf>,
    /// Extra places where recursive deletes are fine, like the temp dirs.
    pub allowed_paths: Vec<PathBuf>,
    /// Extra secret file name patterns (globs on the final path component, e.g.
    /// `*.secret`, `credentials.json`), guarded like `.env`.
    pub secret_patterns: Vec<String>,
    /// Opt-in rule packs beyond the default two (`rm`, `env`): `git`, `disk`, `secrets`.
    pub packs: Vec<Pack>,
}

/// An opt-in rule pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pack {
    /// `git reset --hard`, `git clean -f`, `git push --force` without lease, ….
    Git,
    /// `mkfs`, `dd of=/dev/…`, `wipefs`, `fdisk`, writes to block devices.
    Disk,
    /// `~/.ssh/id_*`, `~/.aws/credentials`, `*.pem`, `*.key`, kube and gcloud credentials.
    Secrets,
}

/// A configuration value that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A path that is not absolute.
    #[error("guard.{key}: `{path}` must be an absolute path")]
    RelativePath {
        /// The key.
        key: &'static str,
        /// The path.
        path: String,
    },
    /// A pattern that is not a valid glob.
    #[error("guard.secret_patterns: `{pattern}` is not a valid glob: {message}")]
    BadPattern {
        /// The pattern.
        pattern: String,
        /// The parser's message.
        message: String,
    },
}

impl GuardConfig {
    /// Checks what serde cannot: paths absolute, patterns valid. A guard with a bad
    /// config must not start with a policy other than the one written.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (key, paths) in [
            ("protected_paths", &self.protected_paths),
            ("allowed_paths", &self.allowed_paths),
        ] {
            if let Some(path) = paths.iter().find(|p| !p.is_absolute()) {
                return Err(ConfigError::RelativePath {
                    key,
                    path: path.display().to_string(),
                });
            }
        }
        for pattern in &self.secret_patterns {
            glob::Pattern::new(pattern).map_err(|err| ConfigError::BadPattern {
                pattern: pattern.clone(),
                message: err.msg.to_owned(),
            })?;
        }
        Ok(())
    }

    /// Whether a pack is on.
    pub fn has(&self, pack: Pack) -> bool {
        self.packs.contains(&pack)
    }
}
