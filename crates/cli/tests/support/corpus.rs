//! The guard's labelled corpora: their format, each case's context, and the files a case
//! needs on disk for the hook's look.
//!
//! Format (TOML): `[[group]]` with `name`, `class` (`must_block`, `allow`, `everyday`,
//! `contested`) and `cases`; each case has `bash` (a Bash command) or `tool` + `input`,
//! optionally `event` (default `PreToolUse`) and `why`. Context overrides on a group or a
//! case: `home`, `project`, `cwd`, `tmpdir` (absolute paths) and `files` (files that
//! exist). Defaults: home `/home/dev`, project and cwd `/home/dev/project`, tmpdir `/tmp`,
//! and the project holds `/home/dev/project/.env`. This repository's own corpora may also
//! say `expect` (`deny`, `ask`, `allow`) and `rule`, checked exactly.
//!
//! Files are made real under a temp directory that the hook looks at as if it were `/`
//! (`CLAUDE_TELEMETRY_GUARD_FS_ROOT`, the hook's documented test seam), so no case depends
//! on where the checkout or HOME lies, or on what this machine's disk holds.

#![allow(dead_code)] // Shared by the corpus test and the decision benchmark.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Value, json};

/// This repository's corpora (the tuned part).
pub const TUNED: &[(&str, &str)] = &[
    (
        "corpus.toml",
        include_str!("../../../guard/corpus/corpus.toml"),
    ),
    (
        "tuned.toml",
        include_str!("../../../guard/corpus/tuned.toml"),
    ),
    // The first outsider's corpus: held out for one run, tuned against since.
    (
        "outsider-1.toml",
        include_str!("../../../guard/corpus/outsider-1.toml"),
    ),
    // The tuning two-thirds of the second outsider's corpus (its other third is held
    // out by the lead).
    (
        "outsider-2.toml",
        include_str!("../../../guard/corpus/outsider-2.toml"),
    ),
    // Its held-out third: run once untouched (recall 96.7 %), fixed by class since.
    (
        "outsider-2-heldout.toml",
        include_str!("../../../guard/corpus/outsider-2-heldout.toml"),
    ),
];

/// Where a held-out corpus is read from when present: `GUARD_HELDOUT_CORPUS`, else this
/// file next to the tuned ones.
pub fn heldout_path() -> PathBuf {
    std::env::var_os("GUARD_HELDOUT_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../guard/corpus/heldout.toml"
            ))
        })
}

/// A case's class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Must be denied or asked about.
    MustBlock,
    /// Must be allowed.
    Allow,
    /// Everyday work: must be allowed.
    Everyday,
    /// Listed, not counted.
    Contested,
}

#[derive(Debug, Default, Clone, Deserialize)]
struct Where {
    home: Option<String>,
    project: Option<String>,
    cwd: Option<String>,
    tmpdir: Option<String>,
    files: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct File {
    group: Vec<Group>,
}

#[derive(Debug, Deserialize)]
struct Group {
    name: String,
    class: Class,
    expect: Option<String>,
    #[serde(flatten)]
    place: Where,
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
struct Case {
    bash: Option<String>,
    tool: Option<String>,
    input: Option<toml::Value>,
    event: Option<String>,
    rule: Option<String>,
    expect: Option<String>,
    #[serde(default)]
    why: String,
    #[serde(flatten)]
    place: Where,
}

/// One labelled case, ready to run.
#[derive(Debug, Clone)]
pub struct Labelled {
    pub group: String,
    pub class: Class,
    pub expect: Option<String>,
    pub rule: Option<String>,
    pub label: String,
    pub tool: String,
    pub input: Value,
    pub event_name: String,
    pub home: String,
    pub project: String,
    pub cwd: String,
    pub tmpdir: String,
    pub files: Vec<String>,
}

/// Reads a corpus file; a bad one is an error naming what is wrong.
pub fn load(name: &str, text: &str) -> Result<Vec<Labelled>, String> {
    let file: File = toml::from_str(text).map_err(|err| format!("{name}: {err}"))?;
    let mut cases = Vec::new();
    for group in file.group {
        for case in group.cases {
            let pick = |field: fn(&Where) -> Option<String>, default: &str| {
                field(&case.place)
                    .or_else(|| field(&group.place))
                    .unwrap_or_else(|| default.to_owned())
            };
            let home = pick(|w| w.home.clone(), "/home/dev");
            let project = pick(|w| w.project.clone(), "/home/dev/project");
            let cwd = pick(|w| w.cwd.clone(), &project);
            let tmpdir = pick(|w| w.tmpdir.clone(), "/tmp");
            let files = case
                .place
                .files
                .clone()
                .or_else(|| group.place.files.clone())
                .unwrap_or_else(|| vec!["/home/dev/project/.env".to_owned()]);
            let (tool, input) = match (&case.bash, &case.tool) {
                (Some(command), _) => (
                    case.tool.clone().unwrap_or_else(|| "Bash".to_owned()),
                    json!({ "command": command }),
                ),
                (None, Some(tool)) => (
                    tool.clone(),
                    serde_json::to_value(
                        case.input
                            .clone()
                            .unwrap_or(toml::Value::Table(Default::default())),
                    )
                    .map_err(|err| format!("{name}: {err}"))?,
                ),
                (None, None) => {
                    return Err(format!(
                        "{name}: a case in `{}` has neither bash nor tool",
                        group.name
                    ));
                }
            };
            for path in [&home, &project, &cwd, &tmpdir]
                .into_iter()
                .chain(files.iter())
            {
                if !path.starts_with('/') {
                    return Err(format!("{name}: `{path}` is not an absolute path"));
                }
            }
            let shown = case
                .bash
                .clone()
                .unwrap_or_else(|| format!("{tool} {input}"));
            cases.push(Labelled {
                group: group.name.clone(),
                class: group.class,
                expect: case.expect.clone().or_else(|| group.expect.clone()),
                rule: case.rule.clone(),
                label: format!("[{}] {}: {shown}", group.name, case.why),
                tool,
                input,
                event_name: case
                    .event
                    .clone()
                    .unwrap_or_else(|| "PreToolUse".to_owned()),
                home,
                project,
                cwd,
                tmpdir,
                files,
            });
        }
    }
    Ok(cases)
}

impl Labelled {
    /// The hook event for this case.
    pub fn event(&self, tool_use_id: &str) -> Value {
        json!({
            "session_id": "corpus",
            "cwd": self.cwd,
            "hook_event_name": self.event_name,
            "tool_name": self.tool,
            "tool_input": self.input,
            "tool_use_id": tool_use_id,
        })
    }

    /// Makes this case's files real under `root` (which stands for `/`); a name ending
    /// in `/` is a directory.
    pub fn materialise(&self, root: &Path) -> std::io::Result<()> {
        for file in &self.files {
            let path = root.join(file.trim_start_matches('/'));
            if file.ends_with('/') {
                std::fs::create_dir_all(&path)?;
            } else {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(&path, "SECRET=corpus\n")?;
            }
        }
        Ok(())
    }

    /// The environment the hook runs with for this case.
    pub fn env(&self, root: &Path) -> Vec<(&'static str, String)> {
        vec![
            ("HOME", self.home.clone()),
            ("CLAUDE_PROJECT_DIR", self.project.clone()),
            ("TMPDIR", self.tmpdir.clone()),
            (
                "CLAUDE_TELEMETRY_GUARD_FS_ROOT",
                root.to_string_lossy().into_owned(),
            ),
        ]
    }
}
