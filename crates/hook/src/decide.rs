//! Asking the guard about a PreToolUse event.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use guard::{Category, Context, Decision, Verdict};
use hook_protocol::{GuardRecord, HookAnswer, HookEvent, KnownEvent};

use crate::config::Env;
use crate::guard_config::load_guard_config;

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

/// The guard's context for an event: its cwd, the project, home and temp dirs.
pub fn context_for(event: &HookEvent, env: &impl Env) -> Context {
    // Spelled as the environment gives them (`/home/dev/`, `/a/b/../dev`), these are
    // compared with resolved targets: resolve them the same way first.
    let clean = |path: PathBuf| guard::paths::resolve(std::path::Path::new("/"), &path);
    let project = env
        .var("CLAUDE_PROJECT_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .map(clean);
    let cwd = event
        .cwd()
        .map(PathBuf::from)
        .filter(|cwd| cwd.is_absolute())
        .map(clean)
        .or_else(|| project.clone())
        .unwrap_or_else(|| PathBuf::from("/"));
    let home = clean(
        env.var("HOME")
            .map(PathBuf::from)
            .filter(|h| h.is_absolute())
            .unwrap_or_else(|| PathBuf::from("/root")),
    );
    let mut temp_dirs = vec![PathBuf::from("/tmp"), PathBuf::from("/var/tmp")];
    if let Some(tmp) = env
        .var("TMPDIR")
        .map(PathBuf::from)
        .filter(|t| t.is_absolute())
    {
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
    }
}

/// Judges a PreToolUse event; `None` for every other event.
pub fn judge(event: &HookEvent, env: &impl Env) -> Option<Judged> {
    if event.known_event() != Some(KnownEvent::PreToolUse) {
        return None;
    }
    let tool = event.tool_name()?;
    let input = event.tool_input()?;
    let started = Instant::now();
    let decision = match load_guard_config(env) {
        Err(err) => Decision {
            verdict: Verdict::Ask,
            rule: "guard.config_error",
            category: Category::Uncertain,
            reason: format!(
                "the guard's configuration is invalid ({err}), so it cannot judge this call."
            ),
            span: None,
        },
        Ok(config) => {
            let ctx = context_for(event, env);
            // The guard is pure and tested against arbitrary input; should it still
            // panic, the call is not silently allowed.
            catch_unwind(AssertUnwindSafe(|| {
                guard::decide(tool, input, &ctx, &config)
            }))
            .unwrap_or_else(|_| Decision {
                verdict: Verdict::Ask,
                rule: "guard.internal_error",
                category: Category::Uncertain,
                reason: "the guard failed on this input, so it cannot judge it.".to_owned(),
                span: None,
            })
        }
    };
    Some(Judged {
        decision,
        latency: started.elapsed(),
    })
}
