//! Where a path is, relative to the places the policy cares about.
//!
//! Purely lexical: `.` and `..` are collapsed, symlinks are not followed (that would be
//! I/O, and the guard decides on what the command says).

use std::path::{Component, Path, PathBuf};

use crate::config::GuardConfig;
use crate::context::Context;

/// Top-level directories of the system: deleting them, or anything in them, breaks the
/// machine.
const SYSTEM_DIRS: &[&str] = &[
    "bin",
    "boot",
    "dev",
    "etc",
    "home",
    "lib",
    "lib32",
    "lib64",
    "libx32",
    "lost+found",
    "media",
    "mnt",
    "nix",
    "opt",
    "proc",
    "root",
    "run",
    "sbin",
    "snap",
    "srv",
    "sys",
    "usr",
    "var",
    "Applications",
    "Library",
    "System",
    "Users",
    "Volumes",
    "private",
];

/// Collapses `.` and `..` and joins onto `base` when relative. `..` above `/` stays `/`.
pub fn resolve(base: &Path, path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    };
    let mut out = PathBuf::from("/");
    for component in joined.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// Where a path sits, from the point of view of a recursive delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// `/` itself.
    Root,
    /// A system directory or something inside one.
    System,
    /// The home directory, an ancestor of it, or something in it outside the project.
    Home,
    /// The project root itself.
    ProjectRoot,
    /// A directory that contains the project.
    ProjectParent,
    /// Strictly inside the project.
    InProject,
    /// A temp dir itself (shared with every other program).
    TempRoot,
    /// Strictly inside a temp dir.
    InTemp,
    /// Inside a configured allowed path.
    Allowed,
    /// A configured protected path, inside one, or containing one.
    Protected,
    /// Anywhere else outside the project.
    Outside,
}

impl Place {
    /// Whether a recursive delete may go here.
    pub fn allows_recursive_delete(self) -> bool {
        matches!(self, Place::InProject | Place::InTemp | Place::Allowed)
    }

    /// The rule id for a recursive delete aimed here.
    pub fn rule(self) -> &'static str {
        match self {
            Place::Root | Place::System | Place::TempRoot => "rm.system_dir",
            Place::Home => "rm.home",
            Place::ProjectRoot => "rm.project_root",
            Place::ProjectParent => "rm.parent_dir",
            Place::Protected => "rm.protected_path",
            Place::Outside => "rm.outside_project",
            Place::InProject | Place::InTemp | Place::Allowed => "rm.allowed",
        }
    }

    /// How to say where the target is, for the reason.
    pub fn describe(self) -> &'static str {
        match self {
            Place::Root => "the root of the file system",
            Place::System => "a system directory",
            Place::Home => "your home directory (outside the project)",
            Place::ProjectRoot => "the whole project",
            Place::ProjectParent => "a directory that contains the project",
            Place::InProject => "inside the project",
            Place::TempRoot => "a shared temp directory itself",
            Place::InTemp => "inside a temp directory",
            Place::Allowed => "inside an allowed path",
            Place::Protected => "a protected path",
            Place::Outside => "outside the project",
        }
    }
}

/// Classifies an absolute, normalised path.
pub fn classify(path: &Path, ctx: &Context, config: &GuardConfig) -> Place {
    let under = |base: &Path| path != base && path.starts_with(base);
    if config
        .protected_paths
        .iter()
        .any(|protected| path.starts_with(protected) || protected.starts_with(path))
    {
        return Place::Protected;
    }
    if path == Path::new("/") {
        return Place::Root;
    }
    if path == ctx.project_dir {
        return Place::ProjectRoot;
    }
    if ctx.project_dir.starts_with(path) {
        return if ctx.home.starts_with(path) && path != Path::new("/") {
            Place::Home
        } else if is_system(path) && !ctx.home.starts_with(path) {
            Place::System
        } else {
            Place::ProjectParent
        };
    }
    if under(&ctx.project_dir) {
        return Place::InProject;
    }
    if config
        .allowed_paths
        .iter()
        .any(|allowed| path.starts_with(allowed))
    {
        return Place::Allowed;
    }
    if ctx.temp_dirs.iter().any(|temp| path == temp) {
        return Place::TempRoot;
    }
    if ctx.temp_dirs.iter().any(|temp| under(temp)) {
        return Place::InTemp;
    }
    if ctx.home.starts_with(path) || under(&ctx.home) {
        return Place::Home;
    }
    if is_system(path) {
        return Place::System;
    }
    Place::Outside
}

fn is_system(path: &Path) -> bool {
    path.components().nth(1).is_some_and(|first| match first {
        Component::Normal(name) => name
            .to_str()
            .is_some_and(|name| SYSTEM_DIRS.contains(&name)),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context {
        Context::new("/home/dev/project", "/home/dev")
    }

    fn place(path: &str) -> Place {
        classify(
            &resolve(Path::new("/home/dev/project"), Path::new(path)),
            &ctx(),
            &GuardConfig::default(),
        )
    }

    #[test]
    fn resolution_is_lexical() {
        assert_eq!(
            resolve(Path::new("/a/b"), Path::new("../c/./d")),
            PathBuf::from("/a/c/d")
        );
        assert_eq!(
            resolve(Path::new("/a"), Path::new("../../..")),
            PathBuf::from("/")
        );
        assert_eq!(
            resolve(Path::new("/a"), Path::new("/x//y/")),
            PathBuf::from("/x/y")
        );
    }

    #[test]
    fn places() {
        assert_eq!(place("/"), Place::Root);
        assert_eq!(place("/etc"), Place::System);
        assert_eq!(place("/usr/local/lib"), Place::System);
        assert_eq!(place("/home/dev"), Place::Home);
        assert_eq!(place("/home"), Place::Home);
        assert_eq!(place("/home/dev/other"), Place::Home);
        assert_eq!(place("."), Place::ProjectRoot);
        assert_eq!(place("node_modules"), Place::InProject);
        assert_eq!(place("../project/build"), Place::InProject);
        assert_eq!(place("/tmp"), Place::TempRoot);
        assert_eq!(place("/tmp/x"), Place::InTemp);
        assert_eq!(place("/data/x"), Place::Outside);
    }

    #[test]
    fn a_project_in_temp_or_under_system_dirs() {
        let ctx = Context::new("/tmp/work/proj", "/root");
        let config = GuardConfig::default();
        assert_eq!(
            classify(Path::new("/tmp/work"), &ctx, &config),
            Place::ProjectParent
        );
        assert_eq!(
            classify(Path::new("/tmp/work/proj/x"), &ctx, &config),
            Place::InProject
        );
        let ctx = Context::new("/srv/app", "/root");
        assert_eq!(classify(Path::new("/srv"), &ctx, &config), Place::System);
    }

    #[test]
    fn configured_paths() {
        let config = GuardConfig {
            protected_paths: vec![PathBuf::from("/home/dev/project/data")],
            allowed_paths: vec![PathBuf::from("/scratch")],
            ..GuardConfig::default()
        };
        assert_eq!(
            classify(Path::new("/home/dev/project/data/x"), &ctx(), &config),
            Place::Protected
        );
        assert_eq!(
            classify(Path::new("/scratch/y"), &ctx(), &config),
            Place::Allowed
        );
    }
}
