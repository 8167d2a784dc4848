//! The guard: decides whether a Claude Code tool call may run.
//!
//! Owns the policy: Bash commands parsed with a real shell grammar and judged by what
//! would execute ([`shell`]), file tools judged by every field that names a path or
//! pattern ([`tools`]), delete targets placed relative to the project, home, temp and
//! system directories ([`paths`]), secret files recognised by name ([`secrets`]).
//!
//! Pure by construction: the caller passes the tool input, the [`Context`] (cwd,
//! project, home, temp dirs) and the [`GuardConfig`]; the guard reads no environment,
//! clock or file, so the same input always gets the same [`Decision`]. Limits on size,
//! nesting and work end in `ask` or `deny`, never `allow`.

mod config;
mod context;
mod decision;
pub mod paths;
pub mod secrets;
pub mod shell;
mod tools;

use serde_json::Value;

pub use config::{ConfigError, GuardConfig, Pack};
pub use context::Context;
pub use decision::{Category, Decision, Span, Verdict};

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

/// Decides on one tool call.
pub fn decide(tool: &str, input: &Value, ctx: &Context, config: &GuardConfig) -> Decision {
    explain(tool, input, ctx, config, false).decision
}

/// Decides on one tool call, with the findings and (if `trace`) the parse trace.
pub fn explain(
    tool: &str,
    input: &Value,
    ctx: &Context,
    config: &GuardConfig,
    trace: bool,
) -> Explained {
    let command = input
        .get("command")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let (mut findings, steps) = if tool == "Bash" {
        shell::analyse(command, ctx, config, trace)
    } else {
        (tools::analyse(tool, input, config), Vec::new())
    };
    // Most severe first; among equals, the first found.
    findings.sort_by_key(|finding| std::cmp::Reverse(finding.verdict));
    let decision = match findings.first() {
        None => Decision::allow(),
        Some(top) => Decision {
            verdict: top.verdict,
            rule: top.rule,
            category: top.category,
            reason: top.reason.clone(),
            span: top.span.map(|(start, end)| {
                let (field, text) = match &top.field {
                    Some((field, text)) => (field.clone(), text.as_str()),
                    None => ("command".to_owned(), command),
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
        trace: steps,
    }
}
