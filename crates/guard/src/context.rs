//! The facts about the machine a decision depends on, passed in explicitly.

use std::path::PathBuf;

/// Where the tool call happens. The guard never reads these from the environment itself:
/// the caller (the hook) does, so the same input always gives the same decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// The working directory of the call (the event's `cwd`), absolute.
    pub cwd: PathBuf,
    /// The project root (`CLAUDE_PROJECT_DIR`, else `cwd`), absolute.
    pub project_dir: PathBuf,
    /// The user's home directory, absolute.
    pub home: PathBuf,
    /// Temporary directories where recursive deletes are fine (`/tmp`, `$TMPDIR`, …).
    pub temp_dirs: Vec<PathBuf>,
    /// Whether `cwd` and `project_dir` are really known. A caller that cannot tell (a
    /// hook event without an absolute `cwd`, and no project directory) says `false`:
    /// there is then no project zone, and a name relative to the working directory is
    /// not placed anywhere (a recursive delete of one is denied), so nothing is allowed
    /// for being "inside the project" of a made-up directory.
    pub cwd_known: bool,
}

impl Context {
    /// A context for a project at `project`, working in it, with `home` and `/tmp`.
    pub fn new(project: impl Into<PathBuf>, home: impl Into<PathBuf>) -> Context {
        let project = project.into();
        Context {
            cwd: project.clone(),
            project_dir: project,
            home: home.into(),
            temp_dirs: vec![PathBuf::from("/tmp"), PathBuf::from("/var/tmp")],
            cwd_known: true,
        }
    }
}
