//! Asking the guard about an event that would run something: `PreToolUse`, a skill's
//! shell preamble (`PreSkillShellCommand`), and any other `Pre…` event carrying a
//! command. The one judging path, shared by the hook and the collector (for Claude
//! Code's `http` hooks): no process-global state, and the look at the disk is a
//! parameter.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use guard::{Context, Decision, Explained, GuardConfig, Rule};
use hook_protocol::{GuardRecord, HookAnswer, HookEvent, KnownEvent};
use serde_json::Value;

use crate::config::Env;
use crate::guard_config::load_guard_config;
use crate::look::Looker;

/// A decision and how long it took.
#[derive(Debug, Clone)]
pub struct Judged {
    /// The decision.
    pub decision: Decision,
    /// Time to decide (including loading the guard's configuration).
    pub latency: Duration,
}

impl Judged {
    /// The hook protocol's answer.
    pub fn answer(&self) -> HookAnswer {
        self.decision.answer()
    }

    /// The decision as recorded with the event.
    pub fn record(&self) -> GuardRecord {
        self.decision.record(self.latency)
    }
}

/// Where a call happens, as whoever runs the guard knows it. The hook reads it from its
/// environment ([`Place::from_env`]); the collector, judging a Claude Code `http` hook,
/// from the request (its own environment is not the user's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Place {
    /// The project root (`CLAUDE_PROJECT_DIR`); the event's `cwd` when unknown.
    pub project_dir: Option<PathBuf>,
    /// The user's home; `/root` when unknown.
    pub home: Option<PathBuf>,
    /// The user's `TMPDIR`, a temp dir besides `/tmp` and `/var/tmp`.
    pub temp_dir: Option<PathBuf>,
}

impl Place {
    /// `CLAUDE_PROJECT_DIR`, `HOME` and `TMPDIR` of the hook's environment.
    pub fn from_env(env: &impl Env) -> Place {
        Place {
            project_dir: env.var("CLAUDE_PROJECT_DIR").map(PathBuf::from),
            home: env.var("HOME").map(PathBuf::from),
            temp_dir: env.var("TMPDIR").map(PathBuf::from),
        }
    }
}

/// The guard's context for an event in the hook's environment.
pub fn context_for(event: &HookEvent, env: &impl Env) -> Context {
    context(event, &Place::from_env(env))
}

/// The guard's context for an event: its cwd, the project, home and temp dirs, each
/// absolute and resolved; relative paths are ignored.
pub fn context(event: &HookEvent, place: &Place) -> Context {
    // Spelled as the environment gives them (`/home/dev/`, `/a/b/../dev`), these are
    // compared with resolved targets: resolve them the same way first.
    let clean = |path: PathBuf| guard::paths::resolve(std::path::Path::new("/"), &path);
    let absolute = |path: &Option<PathBuf>| path.clone().filter(|p| p.is_absolute());
    let project = absolute(&place.project_dir).map(clean);
    let event_cwd = event
        .cwd()
        .map(PathBuf::from)
        .filter(|cwd| cwd.is_absolute())
        .map(clean);
    // Without an absolute `cwd` (missing, empty, null, relative) the project directory
    // stands in for it; without either, nothing is known: the guard then places no name
    // relative to it and knows no project (fail closed), rather than calling `/` the
    // project, which would put every path "inside the project".
    let cwd_known = event_cwd.is_some() || project.is_some();
    let cwd = event_cwd
        .or_else(|| project.clone())
        .unwrap_or_else(|| PathBuf::from("/"));
    let home = clean(absolute(&place.home).unwrap_or_else(|| PathBuf::from("/root")));
    let mut temp_dirs = vec![PathBuf::from("/tmp"), PathBuf::from("/var/tmp")];
    if let Some(tmp) = absolute(&place.temp_dir) {
        let tmp = guard::paths::resolve(&tmp, std::path::Path::new("."));
        if !temp_dirs.contains(&tmp) && tmp != std::path::Path::new("/") {
            temp_dirs.insert(0, tmp);
        }
    }
    Context {
        project_dir: project.unwrap_or_else(|| cwd.clone()),
        cwd,
        home,
        temp_dirs,
        cwd_known,
    }
}

/// The events the guard judges: `PreToolUse`, `PreSkillShellCommand`, and any other
/// event named `Pre…` (one Claude Code adds later) whose input carries a command.
pub fn is_judged(event: &HookEvent) -> bool {
    let Some(name) = event.event_name() else {
        return false;
    };
    if event.known_event() == Some(KnownEvent::PreToolUse) || name == "PreSkillShellCommand" {
        return true;
    }
    event.known_event().is_none()
        && name.starts_with("Pre")
        && event
            .tool_input()
            .and_then(|input| input.get("command"))
            .is_some_and(Value::is_string)
}

/// Judges an event that would run something with the guard's configuration from the
/// hook's environment; `None` for every other event.
pub fn judge(event: &HookEvent, env: &impl Env, looker: &dyn Looker) -> Option<Judged> {
    let (tool, input) = judged_call(event)?;
    let started = Instant::now();
    let decision = match load_guard_config(env) {
        Err(err) => Decision::uncertain(
            Rule::GuardConfigError,
            format!("the guard's configuration is invalid ({err}), so it cannot judge this call."),
        ),
        Ok(config) => {
            let ctx = context_for(event, env);
            decide(tool, input, &ctx, &config, looker, false).decision
        }
    };
    Some(Judged {
        decision,
        latency: started.elapsed(),
    })
}

/// Judges an event that would run something with a configuration already loaded, for a
/// call at `place`; `None` for every other event. What the collector runs for Claude
/// Code's `http` hooks (with [`crate::NothingKnown`]: its disk is not the user's).
pub fn judge_with(
    event: &HookEvent,
    config: &GuardConfig,
    place: &Place,
    looker: &dyn Looker,
) -> Option<Judged> {
    let (tool, input) = judged_call(event)?;
    let started = Instant::now();
    let decision = decide(tool, input, &context(event, place), config, looker, false).decision;
    Some(Judged {
        decision,
        latency: started.elapsed(),
    })
}

/// The tool call of an event the guard judges (a skill's preamble has no tool name: it
/// runs in the shell, as Bash does).
fn judged_call(event: &HookEvent) -> Option<(&str, &Value)> {
    if !is_judged(event) {
        return None;
    }
    Some((event.tool_name().unwrap_or("Bash"), event.tool_input()?))
}

/// The guard's decision on one tool input, with the look at the disk it asks for.
pub fn decide(
    tool: &str,
    input: &Value,
    ctx: &Context,
    config: &GuardConfig,
    looker: &dyn Looker,
    trace: bool,
) -> Explained {
    // The guard is pure and tested against arbitrary input; should it still panic, the
    // call is not silently allowed.
    catch_unwind(AssertUnwindSafe(|| {
        let prepared = guard::prepare(tool, input, ctx, config, trace);
        let seen = looker.look(prepared.looks(), config);
        prepared.finish(&seen)
    }))
    .unwrap_or_else(|_| Explained {
        decision: Decision::uncertain(
            Rule::GuardInternalError,
            "the guard failed on this input, so it cannot judge it.",
        ),
        findings: Vec::new(),
        trace: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    // Test code: a failed expectation stops the test.
    #![allow(clippy::unwrap_used)]

    use guard::Verdict;
    use serde_json::json;

    use super::*;
    use crate::NothingKnown;

    fn judged(cwd: Option<Value>, command: &str, place: &Place) -> Decision {
        let mut event = json!({
            "session_id": "s",
            "hook_event_name": "PreToolUse",
            "tool_name": "Bash",
            "tool_input": { "command": command },
        });
        if let Some(cwd) = cwd {
            event["cwd"] = cwd;
        }
        let event = HookEvent::from_value(event).unwrap();
        judge_with(&event, &GuardConfig::default(), place, &NothingKnown)
            .unwrap()
            .decision
    }

    /// An event whose `cwd` is missing, empty, null or relative, with no project
    /// directory, is judged as if nothing were known about where it runs: no made-up
    /// project at `/` that would put every path inside it.
    #[test]
    fn an_event_without_a_usable_cwd_is_judged_fail_closed() {
        let place = Place {
            project_dir: None,
            home: Some(PathBuf::from("/home/dev")),
            temp_dir: None,
        };
        let cwds = [
            None,
            Some(json!("")),
            Some(Value::Null),
            Some(json!("relative/dir")),
            Some(json!(".")),
        ];
        for cwd in cwds {
            for command in [
                "rm -rf /usr",
                "rm -rf /work",
                "rm -rf /opt/app",
                "rm -rf ~/docs",
                "rm -rf build",
                "rm -rf .",
                "rm -rf *",
            ] {
                let decision = judged(cwd.clone(), command, &place);
                assert_eq!(
                    decision.verdict,
                    Verdict::Deny,
                    "cwd {cwd:?}: `{command}` is {:?} ({}: {})",
                    decision.verdict,
                    decision.rule,
                    decision.reason
                );
            }
            let harmless = judged(cwd.clone(), "rm -rf /tmp/build-1 && ls", &place);
            assert_eq!(
                harmless.verdict,
                Verdict::Allow,
                "cwd {cwd:?}: {}",
                harmless.reason
            );
        }
    }

    /// The project directory stands in for a missing `cwd`, as before.
    #[test]
    fn the_project_stands_in_for_a_missing_cwd() {
        let place = Place {
            project_dir: Some(PathBuf::from("/home/dev/project")),
            home: Some(PathBuf::from("/home/dev")),
            temp_dir: None,
        };
        assert_eq!(judged(None, "rm -rf build", &place).verdict, Verdict::Allow);
        assert_eq!(judged(None, "rm -rf /usr", &place).verdict, Verdict::Deny);
        assert_eq!(
            judged(Some(json!("")), "rm -rf .", &place).rule,
            "rm.project_root"
        );
    }
}
