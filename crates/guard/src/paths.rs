//! Where a path is: resolved lexically, then placed in the nearest zone that holds it.
//!
//! Purely lexical: `.` and `..` are collapsed, symlinks are not followed (that would be
//! I/O, and the guard decides on what the command says). Zones nest on real machines (a
//! home or a checkout under `/tmp`, a temp dir under home): the deepest zone that contains
//! a path decides, never the first rule that matches.

use std::path::{Component, Path, PathBuf};

use crate::config::GuardConfig;
use crate::context::Context;
use crate::rules::Rule;

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

/// The kinds of places the policy knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// `/` itself.
    Root,
    /// A system directory (`/etc`, `/usr`, …).
    System,
    /// The user's home directory.
    Home,
    /// The project.
    Project,
    /// A temp dir (`/tmp`, `$TMPDIR`, …).
    Temp,
    /// A configured allowed path.
    Allowed,
    /// A configured protected path.
    Protected,
    /// None of the above.
    Outside,
}

/// How a path relates to the zone that decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// The path is the zone's root.
    Is,
    /// The path is strictly inside the zone.
    Inside,
    /// The path is a directory that holds the zone's root.
    Holds,
}

/// Where a path was placed, and by which zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The zone that decided.
    pub zone: Zone,
    /// The path's relation to it.
    pub relation: Relation,
    /// The zone's root (for `Outside`, the project).
    pub root: PathBuf,
}

impl Placement {
    /// Whether everything under the path may be deleted.
    pub fn allows_recursive_delete(&self) -> bool {
        matches!(
            (self.zone, self.relation),
            (Zone::Project | Zone::Temp, Relation::Inside)
                | (Zone::Allowed, Relation::Is | Relation::Inside)
        )
    }

    /// Whether files selected by a filter (a glob such as `*.log`, `find -name`) under the
    /// path may be deleted: as for a recursive delete, and also in the project or a temp
    /// dir itself.
    pub fn allows_selected_delete(&self) -> bool {
        self.allows_recursive_delete()
            || matches!(
                (self.zone, self.relation),
                (Zone::Project | Zone::Temp, Relation::Is)
            )
    }

    /// Whether one file there may be deleted (or truncated): not in the system, a
    /// protected path, or home outside the project.
    pub fn allows_file_delete(&self) -> bool {
        !matches!(
            self.zone,
            Zone::Root | Zone::System | Zone::Protected | Zone::Home
        )
    }

    /// The rule for a delete that is not allowed here.
    pub fn rule(&self) -> Rule {
        match (self.zone, self.relation) {
            (Zone::Root | Zone::System, _) | (Zone::Temp, _) => Rule::RmSystemDir,
            (Zone::Home, _) => Rule::RmHome,
            (Zone::Project, Relation::Is) => Rule::RmProjectRoot,
            (Zone::Project, _) => Rule::RmParentDir,
            (Zone::Protected, _) => Rule::RmProtectedPath,
            (Zone::Outside, _) => Rule::RmOutsideProject,
            (Zone::Allowed, _) => Rule::RmOutsideProject,
        }
    }

    /// Names the zone that decided, for a reason: "in your home directory /home/dev".
    pub fn describe(&self, ctx: &Context) -> String {
        let root = self.root.display();
        let project = ctx.project_dir.display();
        match (self.zone, self.relation) {
            (Zone::Root, _) => "the root of the file system".to_owned(),
            (Zone::System, Relation::Is) => format!("the system directory {root}"),
            (Zone::System, _) => format!("in the system directory {root}"),
            (Zone::Home, Relation::Is) => "your home directory".to_owned(),
            (Zone::Home, Relation::Inside) if !ctx.cwd_known => {
                format!("in your home directory {root}, and the project is not known")
            }
            (Zone::Home, Relation::Inside) => {
                format!("in your home directory {root}, outside the project {project}")
            }
            (Zone::Home, Relation::Holds) => {
                format!("a directory that holds your home directory {root}")
            }
            (Zone::Project, Relation::Is) => "the whole project".to_owned(),
            (Zone::Project, Relation::Inside) => format!("inside the project {root}"),
            (Zone::Project, Relation::Holds) => {
                format!("a directory that holds the project {root}")
            }
            (Zone::Temp, Relation::Is) => {
                format!("the shared temp directory {root} itself")
            }
            (Zone::Temp, _) => format!("in the temp directory {root}"),
            (Zone::Allowed, _) => format!("in the allowed path {root}"),
            (Zone::Protected, Relation::Holds) => {
                format!("a directory that holds the protected path {root}")
            }
            (Zone::Protected, _) => format!("the protected path {root}"),
            (Zone::Outside, _) if !ctx.cwd_known => {
                "in no temp dir or allowed path, and the project is not known".to_owned()
            }
            (Zone::Outside, _) => {
                format!("outside the project {project}, and in no temp dir or allowed path")
            }
        }
    }
}

/// Places an absolute, normalised path in the nearest zone that holds it.
pub fn classify(path: &Path, ctx: &Context, config: &GuardConfig) -> Placement {
    let place = |zone, relation, root: &Path| Placement {
        zone,
        relation,
        root: root.to_path_buf(),
    };
    // Configured protection is absolute: inside it, or holding it, at any depth.
    for protected in &config.protected_paths {
        if path.starts_with(protected) {
            let relation = if path == protected {
                Relation::Is
            } else {
                Relation::Inside
            };
            return place(Zone::Protected, relation, protected);
        }
        if protected.starts_with(path) {
            return place(Zone::Protected, Relation::Holds, protected);
        }
    }
    if path == Path::new("/") {
        return place(Zone::Root, Relation::Is, path);
    }
    let project_known = ctx.cwd_known;
    // A directory that holds the project or home takes them with it.
    if project_known && path == ctx.project_dir {
        return place(Zone::Project, Relation::Is, &ctx.project_dir);
    }
    if ctx.home.starts_with(path) {
        let relation = if path == ctx.home {
            Relation::Is
        } else {
            Relation::Holds
        };
        return place(Zone::Home, relation, &ctx.home);
    }
    if project_known && ctx.project_dir.starts_with(path) {
        return match system_root(path) {
            Some(system) if system == path => place(Zone::System, Relation::Is, &system),
            _ => place(Zone::Project, Relation::Holds, &ctx.project_dir),
        };
    }
    // The deepest zone that contains the path decides; on equal depth, the more specific
    // kind (project, allowed, temp, home, system) does.
    let mut candidates: Vec<(Zone, &Path)> = Vec::new();
    if project_known && path.starts_with(&ctx.project_dir) {
        candidates.push((Zone::Project, &ctx.project_dir));
    }
    for allowed in &config.allowed_paths {
        if path.starts_with(allowed) {
            candidates.push((Zone::Allowed, allowed));
        }
    }
    for temp in &ctx.temp_dirs {
        if path.starts_with(temp) {
            candidates.push((Zone::Temp, temp));
        }
    }
    if path.starts_with(&ctx.home) {
        candidates.push((Zone::Home, &ctx.home));
    }
    let system = system_root(path);
    if let Some(system) = &system {
        candidates.push((Zone::System, system));
    }
    let nearest = candidates
        .iter()
        .enumerate()
        .max_by_key(|(order, (_, root))| (root.components().count(), std::cmp::Reverse(*order)));
    match nearest {
        Some((_, (zone, root))) => {
            let relation = if path == *root {
                Relation::Is
            } else {
                Relation::Inside
            };
            place(*zone, relation, root)
        }
        None => place(Zone::Outside, Relation::Inside, &ctx.project_dir),
    }
}

/// The top-level system directory a path is in (or is), if any.
fn system_root(path: &Path) -> Option<PathBuf> {
    match path.components().nth(1) {
        Some(Component::Normal(name))
            if name
                .to_str()
                .is_some_and(|name| SYSTEM_DIRS.contains(&name)) =>
        {
            Some(Path::new("/").join(name))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context {
        Context::new("/home/dev/project", "/home/dev")
    }

    fn zone_in(ctx: &Context, path: &str) -> (Zone, Relation) {
        let placed = classify(
            &resolve(&ctx.cwd, Path::new(path)),
            ctx,
            &GuardConfig::default(),
        );
        (placed.zone, placed.relation)
    }

    fn zone(path: &str) -> (Zone, Relation) {
        zone_in(&ctx(), path)
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
    fn zones_of_an_ordinary_machine() {
        use Relation::*;
        assert_eq!(zone("/"), (Zone::Root, Is));
        assert_eq!(zone("/etc"), (Zone::System, Is));
        assert_eq!(zone("/usr/local/lib"), (Zone::System, Inside));
        assert_eq!(zone("/home/dev"), (Zone::Home, Is));
        assert_eq!(zone("/home"), (Zone::Home, Holds));
        assert_eq!(zone("/home/dev/other"), (Zone::Home, Inside));
        assert_eq!(zone("."), (Zone::Project, Is));
        assert_eq!(zone("node_modules"), (Zone::Project, Inside));
        assert_eq!(zone("../project/build"), (Zone::Project, Inside));
        assert_eq!(zone("/tmp"), (Zone::Temp, Is));
        assert_eq!(zone("/tmp/x"), (Zone::Temp, Inside));
        assert_eq!(zone("/data/x"), (Zone::Outside, Inside));
    }

    #[test]
    fn the_nearest_zone_wins_when_zones_nest() {
        use Relation::*;
        // Home, and the project, under a temp dir (a CI clone).
        let ctx = Context::new("/tmp/h/project", "/tmp/h");
        assert_eq!(zone_in(&ctx, "/tmp/h"), (Zone::Home, Is));
        assert_eq!(zone_in(&ctx, "/tmp/h/other"), (Zone::Home, Inside));
        assert_eq!(zone_in(&ctx, "/tmp"), (Zone::Home, Holds));
        assert_eq!(zone_in(&ctx, "/tmp/elsewhere"), (Zone::Temp, Inside));
        assert_eq!(zone_in(&ctx, "/tmp/h/project/x"), (Zone::Project, Inside));
        // A temp dir under home.
        let mut ctx = Context::new("/home/dev/project", "/home/dev");
        ctx.temp_dirs.insert(0, PathBuf::from("/home/dev/tmp"));
        assert_eq!(zone_in(&ctx, "/home/dev/tmp/x"), (Zone::Temp, Inside));
        assert_eq!(zone_in(&ctx, "/home/dev/tmp"), (Zone::Temp, Is));
        assert_eq!(zone_in(&ctx, "/home/dev/tmpx"), (Zone::Home, Inside));
        // A project under a temp dir, home elsewhere.
        let ctx = Context::new("/tmp/work/proj", "/root");
        assert_eq!(zone_in(&ctx, "/tmp/work"), (Zone::Project, Holds));
        assert_eq!(zone_in(&ctx, "/tmp/work/proj/x"), (Zone::Project, Inside));
        assert_eq!(zone_in(&ctx, "/root/x"), (Zone::Home, Inside));
        // A project in a system directory; a home of `/`.
        let ctx = Context::new("/srv/app", "/");
        assert_eq!(zone_in(&ctx, "/srv"), (Zone::System, Is));
        assert_eq!(zone_in(&ctx, "/srv/app/build"), (Zone::Project, Inside));
        assert_eq!(zone_in(&ctx, "/etc/passwd"), (Zone::System, Inside));
    }

    #[test]
    fn reasons_name_the_zone_that_decided() {
        let ctx = ctx();
        let placed = classify(
            Path::new("/home/dev/other-repo"),
            &ctx,
            &GuardConfig::default(),
        );
        assert_eq!(
            placed.describe(&ctx),
            "in your home directory /home/dev, outside the project /home/dev/project"
        );
        let ctx = Context::new("/work/proj", "/home/dev");
        let placed = classify(Path::new("/work/other-repo"), &ctx, &GuardConfig::default());
        assert_eq!(placed.rule(), Rule::RmOutsideProject);
        assert!(
            placed
                .describe(&ctx)
                .starts_with("outside the project /work/proj")
        );
    }

    #[test]
    fn configured_paths() {
        let config = GuardConfig {
            protected_paths: vec![PathBuf::from("/home/dev/project/data")],
            allowed_paths: vec![PathBuf::from("/scratch")],
            ..GuardConfig::default()
        };
        let ctx = ctx();
        let at = |path: &str| classify(Path::new(path), &ctx, &config).zone;
        assert_eq!(at("/home/dev/project/data/x"), Zone::Protected);
        assert_eq!(
            at("/home/dev/project"),
            Zone::Protected,
            "holds a protected path"
        );
        assert_eq!(at("/scratch/y"), Zone::Allowed);
    }
}
