//! The guard's look at the disk: which secret files the places it names hold.
//!
//! The guard is pure; when its decision depends on the files present (a recursive
//! search, a glob), it names the places ([`guard::Look`]) and this module looks, within
//! the guard's bounds for one decision ([`guard::look::MAX_ENTRIES`] entries,
//! [`guard::look::MAX_DEPTH`] levels, [`guard::look::BUDGET`] of time, all looks
//! together). A look that hits a bound or cannot read a directory says it is incomplete,
//! and the guard treats what it did not see as holding secret files. Only names are
//! read: directory entries (and where a symlink points), never file contents.
//!
//! Whoever judges without this machine's disk (the collector's HTTP hook, serving another
//! machine) passes [`NothingKnown`].

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use guard::look::{BUDGET, MAX_DEPTH, MAX_ENTRIES, SKIPPED_DIRS};
use guard::{GuardConfig, Look, Seen};

use crate::config::Env;

/// Looks at places for the guard.
pub trait Looker {
    /// What each of `looks` holds, in the same order; `None` for a place not looked at.
    fn look(&self, looks: &[Look], config: &GuardConfig) -> Vec<Option<Seen>>;
}

/// Looks at nothing: every search is treated as reaching secret files.
#[derive(Debug, Clone, Copy, Default)]
pub struct NothingKnown;

impl Looker for NothingKnown {
    fn look(&self, looks: &[Look], _config: &GuardConfig) -> Vec<Option<Seen>> {
        vec![None; looks.len()]
    }
}

/// Looks at this machine's disk.
#[derive(Debug, Clone, Default)]
pub struct Disk {
    /// Where `/` is for the look: `None` on a real machine; a directory in tests, so a
    /// labelled case's files (`/home/dev/project/.env`) can be made real anywhere.
    root: Option<PathBuf>,
}

/// The test seam: the look happens under this directory as if it were `/`.
pub const FS_ROOT_VARIABLE: &str = "CLAUDE_TELEMETRY_GUARD_FS_ROOT";

impl Disk {
    /// The disk, or (when [`FS_ROOT_VARIABLE`] names an absolute directory) the tree
    /// under it standing for the disk.
    pub fn from_env(env: &impl Env) -> Disk {
        Disk {
            root: env
                .var(FS_ROOT_VARIABLE)
                .map(PathBuf::from)
                .filter(|root| root.is_absolute()),
        }
    }

    fn real(&self, path: &Path) -> PathBuf {
        match &self.root {
            None => path.to_path_buf(),
            Some(root) => root.join(path.strip_prefix("/").unwrap_or(path)),
        }
    }

    fn logical(&self, real: &Path) -> PathBuf {
        match &self.root {
            None => real.to_path_buf(),
            Some(root) => Path::new("/").join(real.strip_prefix(root).unwrap_or(real)),
        }
    }
}

/// What is left of the bounds shared by one decision's looks.
struct Budget {
    deadline: Instant,
    entries: usize,
}

impl Budget {
    /// Counts one entry; false once a bound is reached.
    fn spend(&mut self) -> bool {
        self.entries += 1;
        self.entries <= MAX_ENTRIES
            && (!self.entries.is_multiple_of(64) || Instant::now() < self.deadline)
    }
}

impl Looker for Disk {
    fn look(&self, looks: &[Look], config: &GuardConfig) -> Vec<Option<Seen>> {
        if looks.is_empty() {
            return Vec::new();
        }
        let mut budget = Budget {
            deadline: Instant::now() + BUDGET,
            entries: 0,
        };
        looks
            .iter()
            .map(|look| Some(self.look_at(look, config, &mut budget)))
            .collect()
    }
}

impl Disk {
    fn look_at(&self, look: &Look, config: &GuardConfig, budget: &mut Budget) -> Seen {
        let mut seen = Seen {
            secrets: Vec::new(),
            complete: true,
        };
        let root = self.real(&look.root);
        // The root itself is followed when it is a symlink, as searches do.
        let metadata = match fs::metadata(&root) {
            Ok(metadata) => metadata,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return seen,
            Err(_) => {
                seen.complete = false;
                return seen;
            }
        };
        if !metadata.is_dir() {
            if is_secret(&root, config) {
                seen.secrets.push(look.root.clone());
            }
            return seen;
        }
        let mut stack = vec![(root, 0usize)];
        while let Some((dir, depth)) = stack.pop() {
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(_) => {
                    seen.complete = false;
                    continue;
                }
            };
            for entry in entries {
                if !budget.spend() {
                    seen.complete = false;
                    return seen;
                }
                let Ok(entry) = entry else {
                    seen.complete = false;
                    continue;
                };
                let path = entry.path();
                let Ok(kind) = entry.file_type() else {
                    seen.complete = false;
                    continue;
                };
                if kind.is_dir() {
                    let name = entry.file_name();
                    if !look.recursive || SKIPPED_DIRS.iter().any(|skip| name == *skip) {
                        continue;
                    }
                    if depth + 1 > MAX_DEPTH {
                        seen.complete = false;
                        continue;
                    }
                    stack.push((path, depth + 1));
                } else if is_secret(&path, config) {
                    seen.secrets.push(self.logical(&path));
                }
            }
        }
        seen
    }
}

/// A secret file by its name, or a symlink to one.
fn is_secret(path: &Path, config: &GuardConfig) -> bool {
    let named = |path: &Path| {
        path.file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| guard::secrets::secret_file(name, config).is_some())
    };
    named(path) || fs::read_link(path).is_ok_and(|target| named(&target))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn look(root: &str, recursive: bool) -> Look {
        Look {
            root: PathBuf::from(root),
            recursive,
        }
    }

    #[test]
    fn finds_secret_files_by_name_under_a_mapped_root() {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("home/dev/project");
        fs::create_dir_all(project.join("config")).unwrap();
        fs::create_dir_all(project.join("node_modules/pkg")).unwrap();
        fs::write(project.join(".env"), "KEY=1").unwrap();
        fs::write(project.join("config/prod.env"), "KEY=2").unwrap();
        fs::write(project.join("node_modules/pkg/.env"), "public").unwrap();
        fs::write(project.join("main.rs"), "").unwrap();
        std::os::unix::fs::symlink(".env", project.join("notes.txt")).unwrap();
        let disk = Disk {
            root: Some(dir.path().to_path_buf()),
        };
        let config = GuardConfig::default();
        let seen = disk.look(&[look("/home/dev/project", true)], &config);
        let seen = seen[0].clone().unwrap();
        assert!(seen.complete);
        let mut found: Vec<String> = seen
            .secrets
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        found.sort();
        assert_eq!(
            found,
            [
                "/home/dev/project/.env",
                "/home/dev/project/config/prod.env",
                "/home/dev/project/notes.txt"
            ]
        );
        let shallow = disk.look(&[look("/home/dev/project", false)], &config)[0]
            .clone()
            .unwrap();
        assert_eq!(shallow.secrets.len(), 2, "only direct entries: {shallow:?}");
        let missing = disk.look(&[look("/nowhere", true)], &config)[0]
            .clone()
            .unwrap();
        assert!(missing.complete && missing.secrets.is_empty());
    }

    #[test]
    fn a_tree_beyond_the_bound_is_incomplete() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..(MAX_ENTRIES / 100 + 1) {
            let sub = dir.path().join(format!("d{i}"));
            fs::create_dir(&sub).unwrap();
            for j in 0..100 {
                fs::write(sub.join(format!("f{j}")), "").unwrap();
            }
        }
        let disk = Disk::default();
        let root = dir.path().to_string_lossy().into_owned();
        let seen = disk.look(&[look(&root, true)], &GuardConfig::default())[0]
            .clone()
            .unwrap();
        assert!(!seen.complete, "more than {MAX_ENTRIES} entries");
    }

    #[test]
    fn nothing_known_looks_at_nothing() {
        assert_eq!(
            NothingKnown.look(&[look("/", true)], &GuardConfig::default()),
            vec![None]
        );
    }
}
