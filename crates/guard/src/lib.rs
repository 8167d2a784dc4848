//! The guard: decides whether a Claude Code tool call may run.
//!
//! Owns the policy: shell commands parsed with a real shell grammar and judged by what
//! would execute ([`shell`]), file tools judged by every field that names a path or
//! pattern ([`tools`]), delete targets placed in the nearest zone that holds them
//! ([`paths`]), secret files recognised by name ([`secrets`]), every rule in one table
//! ([`rules`]).
//!
//! Pure by construction: the caller passes the tool input, the [`Context`] (cwd,
//! project, home, temp dirs) and the [`GuardConfig`]; the guard reads no environment,
//! clock or file, so the same input always gets the same [`Decision`]. What depends on
//! the files present (a recursive search over a directory holding `.env`) is asked of
//! the caller: [`prepare`] says which places it needs [`Look`]ed at, the caller looks,
//! and [`Prepared::finish`] decides with what was [`Seen`]. Limits on size, nesting and
//! work end in `ask` or `deny`, never `allow`.

mod config;
mod context;
mod decision;
pub mod look;
pub mod paths;
mod rules;
pub mod secrets;
pub mod shell;
mod tools;

use serde_json::Value;

pub use config::{ConfigError, GuardConfig, Pack};
pub use context::Context;
pub use decision::{Decision, Span, Verdict};
pub use look::{Look, Seen};
pub use rules::{Category, Rule};

/// The guard's version, recorded with every decision.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A decision and, when asked for, how the input was read.
#[derive(Debug, Clone)]
pub struct Explained {
    /// The decision.
    pub decision: Decision,
    /// Every finding, most severe first.
    pub findings: Vec<shell::Finding>,
    /// How the command was parsed and unwrapped (empty unless requested).
    pub trace: Vec<String>,
}

/// A tool call judged as far as the input alone allows, waiting for what the caller
/// finds on disk at [`Prepared::looks`].
#[derive(Debug, Clone)]
pub struct Prepared {
    findings: Vec<shell::Finding>,
    checks: Vec<look::SearchCheck>,
    looks: Vec<Look>,
    trace: Vec<String>,
    command: String,
    config: GuardConfig,
}

/// Whether a tool runs its `command` field in a shell: Bash, the Monitor tool, a skill's
/// shell preamble (`tool_name` Bash or PowerShell), and MCP tools that take a command.
pub fn runs_shell_command(tool: &str, input: &Value) -> bool {
    let has_command = input.get("command").is_some_and(Value::is_string);
    match tool {
        "Bash" | "Monitor" | "PowerShell" => true,
        _ => tool.starts_with("mcp__") && has_command,
    }
}

/// Judges one tool call as far as the input allows; the result names the places to look
/// at on disk before [`Prepared::finish`] decides.
pub fn prepare(
    tool: &str,
    input: &Value,
    ctx: &Context,
    config: &GuardConfig,
    trace: bool,
) -> Prepared {
    let command = input
        .get("command")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let (findings, checks, steps) = if runs_shell_command(tool, input) {
        let analysis = shell::analyse(command, ctx, config, trace);
        (analysis.findings, analysis.checks, analysis.trace)
    } else {
        let (findings, checks) = tools::analyse(tool, input, ctx, config);
        (findings, checks, Vec::new())
    };
    let mut looks: Vec<Look> = Vec::new();
    for check in &checks {
        if let Some(look) = &check.look
            && !looks.contains(look)
        {
            looks.push(look.clone());
        }
    }
    Prepared {
        findings,
        checks,
        looks,
        trace: steps,
        command: command.to_owned(),
        config: config.clone(),
    }
}

impl Prepared {
    /// The places whose files the decision depends on.
    pub fn looks(&self) -> &[Look] {
        &self.looks
    }

    /// Decides, with what was seen at each of [`Prepared::looks`] (same order; `None` or a
    /// missing entry: not looked at, which is treated as possibly holding secret files).
    pub fn finish(self, seen: &[Option<Seen>]) -> Explained {
        let Prepared {
            mut findings,
            checks,
            looks,
            mut trace,
            command,
            config,
        } = self;
        for check in &checks {
            let found = check.look.as_ref().and_then(|look| {
                let at = looks.iter().position(|l| l == look)?;
                seen.get(at)?.as_ref()
            });
            if !trace.is_empty()
                && let Some(look) = &check.look
            {
                trace.push(match found {
                    Some(seen) => format!(
                        "looked at {}: {} secret file(s){}",
                        look.root.display(),
                        seen.secrets.len(),
                        if seen.complete {
                            ""
                        } else {
                            ", not all of it (a bound was hit)"
                        }
                    ),
                    None => format!("{}: not looked at", look.root.display()),
                });
            }
            if let Some(finding) = check.resolve(found, &config) {
                if !trace.is_empty() {
                    trace.push(format!(
                        "finding: {} {}: {}",
                        finding.verdict.as_str(),
                        finding.rule,
                        finding.reason
                    ));
                }
                findings.push(finding);
            }
        }
        // Most severe first; among equals, the first found.
        findings.sort_by_key(|finding| std::cmp::Reverse(finding.verdict));
        let decision = match findings.first() {
            None => Decision::allow(),
            Some(top) => Decision {
                verdict: top.verdict,
                rule: top.rule.id(),
                category: top.rule.category(),
                reason: top.reason.clone(),
                span: top.span.map(|(start, end)| {
                    let (field, text) = match &top.field {
                        Some((field, text)) => (field.clone(), text.as_str()),
                        None => ("command".to_owned(), command.as_str()),
                    };
                    let end = end.min(text.len());
                    let start = start.min(end);
                    Span {
                        field,
                        start,
                        end,
                        text: text.get(start..end).unwrap_or_default().to_owned(),
                    }
                }),
            },
        };
        Explained {
            decision,
            findings,
            trace,
        }
    }
}

/// Decides on one tool call with nothing known about the files on disk (a search over a
/// directory is then treated as reaching secret files).
pub fn decide(tool: &str, input: &Value, ctx: &Context, config: &GuardConfig) -> Decision {
    prepare(tool, input, ctx, config, false)
        .finish(&[])
        .decision
}

/// Decides on one tool call, with the findings and (if `trace`) the parse trace, with
/// nothing known about the files on disk.
pub fn explain(
    tool: &str,
    input: &Value,
    ctx: &Context,
    config: &GuardConfig,
    trace: bool,
) -> Explained {
    prepare(tool, input, ctx, config, trace).finish(&[])
}
