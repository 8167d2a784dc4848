//! Every rule the guard can name, with its stable id and its category, in one table, and
//! the categories themselves.
//!
//! The id is a contract: it is recorded with every decision, becomes a metric label and
//! is what `audit` and the docs show. Adding a rule here is the only way to add one.

use serde::{Serialize, Serializer};

macro_rules! rules {
    ($( $(#[$doc:meta])* $variant:ident = $id:literal, $category:ident; )+) => {
        /// A rule of the policy.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Rule {
            $( $(#[$doc])* $variant, )+
        }

        impl Rule {
            /// Every rule, in the order of the table.
            pub const ALL: &'static [Rule] = &[$(Rule::$variant),+];

            /// The stable id (`rm.home`, `env.read`, …).
            pub fn id(self) -> &'static str {
                match self { $(Rule::$variant => $id,)+ }
            }

            /// The family the rule belongs to.
            pub fn category(self) -> Category {
                match self { $(Rule::$variant => Category::$category,)+ }
            }
        }
    };
}

rules! {
    /// Nothing matched.
    None = "none", None;
    /// A recursive or bulk delete of `/`, a system directory or a shared temp dir itself;
    /// any delete of a system file.
    RmSystemDir = "rm.system_dir", DangerousRm;
    /// The home directory, anything in it outside the project, or a directory holding it.
    RmHome = "rm.home", DangerousRm;
    /// The project root itself.
    RmProjectRoot = "rm.project_root", DangerousRm;
    /// A directory that contains the project (outside home).
    RmParentDir = "rm.parent_dir", DangerousRm;
    /// Elsewhere outside the project and temp dirs.
    RmOutsideProject = "rm.outside_project", DangerousRm;
    /// A configured protected path.
    RmProtectedPath = "rm.protected_path", DangerousRm;
    /// A delete target not known until the command runs.
    RmUnresolvedTarget = "rm.unresolved_target", DangerousRm;
    /// The program itself is not known until the command runs, and looks like a delete.
    RmUnresolvedCommand = "rm.unresolved_command", DangerousRm;
    /// Strict mode: any allowed recursive delete.
    RmStrict = "rm.strict", DangerousRm;
    /// Unparseable, and looks like a sweeping delete.
    RmUnparsed = "rm.unparsed", DangerousRm;
    /// A `.env`-style file read.
    EnvRead = "env.read", EnvAccess;
    /// A `.env`-style file written or deleted.
    EnvWrite = "env.write", EnvAccess;
    /// A search that would read a `.env`-style file.
    EnvSearch = "env.search", EnvAccess;
    /// A recursive search whose root could not be checked for secret files in time.
    EnvSearchUnchecked = "env.search_unchecked", EnvAccess;
    /// A read whose target is produced while the command runs and may be a secret file.
    EnvUnresolvedRead = "env.unresolved_read", EnvAccess;
    /// Unparseable, and names a secret file.
    EnvUnparsed = "env.unparsed", EnvAccess;
    /// A secret of the `secrets` pack read.
    SecretRead = "secret.read", SecretAccess;
    /// A secret of the `secrets` pack written or deleted.
    SecretWrite = "secret.write", SecretAccess;
    /// A search that would read a secret of the `secrets` pack.
    SecretSearch = "secret.search", SecretAccess;
    /// `git reset --hard`.
    GitResetHard = "git.reset_hard", DestructiveGit;
    /// `git clean -f`.
    GitClean = "git.clean", DestructiveGit;
    /// `git push --force` without lease.
    GitForcePush = "git.force_push", DestructiveGit;
    /// `git branch -D`.
    GitBranchDelete = "git.branch_delete", DestructiveGit;
    /// `git checkout -- .`, `git restore .`.
    GitDiscardChanges = "git.discard_changes", DestructiveGit;
    /// `git stash clear`.
    GitStashClear = "git.stash_clear", DestructiveGit;
    /// `git filter-branch`.
    GitRewriteHistory = "git.rewrite_history", DestructiveGit;
    /// `mkfs` and friends.
    DiskMkfs = "disk.mkfs", Disk;
    /// Partition tools.
    DiskPartition = "disk.partition", Disk;
    /// A write to a block device.
    DiskWriteDevice = "disk.write_device", Disk;
    /// A shell or interpreter runs text that is not known until the command runs.
    ShellUnresolvedScript = "shell.unresolved_script", Uncertain;
    /// `eval` of text not known until the command runs.
    ShellUnresolvedEval = "shell.unresolved_eval", Uncertain;
    /// A container or namespace gets a protected part of the host's file system.
    ContainerHostAccess = "container.host_access", Uncertain;
    /// Unparseable, with nothing dangerous seen.
    GuardUnparsed = "guard.unparsed", Uncertain;
    /// Over the size limit.
    GuardTooLarge = "guard.too_large", Uncertain;
    /// Over the nesting limits.
    GuardTooDeep = "guard.too_deep", Uncertain;
    /// Over the work limit.
    GuardTooComplex = "guard.too_complex", Uncertain;
    /// The hook could not load the guard's configuration.
    GuardConfigError = "guard.config_error", Uncertain;
    /// The guard failed on the input.
    GuardInternalError = "guard.internal_error", Uncertain;
}

impl Serialize for Rule {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.id())
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

/// The family a rule belongs to; becomes a metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// A recursive or bulk delete aimed where it must not go.
    DangerousRm,
    /// Reading, writing or searching `.env`-style secret files.
    EnvAccess,
    /// Other secret files (opt-in pack: SSH keys, cloud credentials, certificates).
    SecretAccess,
    /// History-destroying git commands (opt-in pack).
    DestructiveGit,
    /// Commands that overwrite disks or file systems (opt-in pack).
    Disk,
    /// The guard could not judge the input (unparseable, too deep, too large).
    Uncertain,
    /// No rule matched.
    None,
}

impl Category {
    /// The snake_case name used in metrics and the audit trail.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::DangerousRm => "dangerous_rm",
            Category::EnvAccess => "env_access",
            Category::SecretAccess => "secret_access",
            Category::DestructiveGit => "destructive_git",
            Category::Disk => "disk",
            Category::Uncertain => "uncertain",
            Category::None => "none",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_categories_follow_their_prefix() {
        let mut seen = std::collections::HashSet::new();
        for rule in Rule::ALL {
            assert!(seen.insert(rule.id()), "duplicate id {}", rule.id());
            let prefix = rule.id().split('.').next().unwrap_or_default();
            let expected = match prefix {
                "rm" => Category::DangerousRm,
                "env" => Category::EnvAccess,
                "secret" => Category::SecretAccess,
                "git" => Category::DestructiveGit,
                "disk" => Category::Disk,
                "none" => Category::None,
                _ => Category::Uncertain,
            };
            assert_eq!(rule.category(), expected, "{}", rule.id());
        }
    }
}
