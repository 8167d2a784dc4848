//! What the guard decides, and why.

use std::time::Duration;

use hook_protocol::{GuardRecord, GuardSpan, HookAnswer, PermissionDecision, redact_text};
use serde::Serialize;

use crate::rules::{Category, Rule};

/// The verdict on a tool call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Nothing the policy objects to.
    Allow,
    /// The user must confirm.
    Ask,
    /// Must not run.
    Deny,
}

impl Verdict {
    /// The lowercase word, as Claude Code's hook protocol spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Ask => "ask",
            Verdict::Deny => "deny",
        }
    }
}

/// A byte range in the outermost command.
pub type ByteSpan = (usize, usize);

/// One thing the walk found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What it means.
    pub verdict: Verdict,
    /// The rule.
    pub rule: Rule,
    /// For people.
    pub reason: String,
    /// Byte range in the command, or in `field`'s text.
    pub span: Option<ByteSpan>,
    /// For file tools: the input field and its text; `None` for the Bash command.
    pub field: Option<(String, String)>,
}

/// Where in the input the decision was triggered: a byte range of the Bash command, or
/// the tool input field that held the path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Span {
    /// The tool input field (`command`, `file_path`, `pattern`, …).
    pub field: String,
    /// Byte offset of the start, within that field's text.
    pub start: usize,
    /// Byte offset just past the end.
    pub end: usize,
    /// The text itself.
    pub text: String,
}

/// The guard's answer for one tool call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Allow, ask or deny.
    pub verdict: Verdict,
    /// Stable rule id, e.g. `rm.home`, `env.read`; `none` when nothing matched.
    pub rule: &'static str,
    /// The rule's family.
    pub category: Category,
    /// A sentence for people (and, on deny, for the model).
    pub reason: String,
    /// What triggered it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span: Option<Span>,
}

impl Decision {
    /// The decision when no rule matched.
    pub fn allow() -> Decision {
        Decision {
            verdict: Verdict::Allow,
            rule: "none",
            category: Category::None,
            reason: "no rule matched".to_owned(),
            span: None,
        }
    }

    /// A decision that could not be reached (the configuration, or the guard itself,
    /// failed): the user is asked.
    pub fn uncertain(rule: Rule, reason: impl Into<String>) -> Decision {
        Decision {
            verdict: Verdict::Ask,
            rule: rule.id(),
            category: rule.category(),
            reason: reason.into(),
            span: None,
        }
    }

    /// The text Claude Code shows: for a deny, it goes to the model, so it names the rule
    /// and sends the agent to the user instead of around the block (or, where the reason
    /// gives one, to the allowed way forward).
    pub fn message(&self) -> String {
        match self.verdict {
            Verdict::Allow => self.reason.clone(),
            Verdict::Ask => format!(
                "claude-telemetry guard ({}): {} Confirm only if you intended this.",
                self.rule, self.reason
            ),
            Verdict::Deny if self.reason.contains("ask the user") => format!(
                "Blocked by claude-telemetry guard, rule {}: {} Do not reach the secret files \
                 another way (other commands, scripts or tools).",
                self.rule, self.reason
            ),
            Verdict::Deny => format!(
                "Blocked by claude-telemetry guard, rule {}: {} Do not try to achieve this another way \
                 (other commands, scripts or tools). Stop and ask the user: they can run it themselves \
                 or change the guard's policy.",
                self.rule, self.reason
            ),
        }
    }
}

impl Decision {
    /// The answer in Claude Code's hook protocol: deny and ask are said; allow is not,
    /// because saying `allow` would skip Claude Code's own permission prompt.
    pub fn answer(&self) -> HookAnswer {
        match self.verdict {
            Verdict::Allow => HookAnswer::nothing(),
            Verdict::Ask => HookAnswer::permission(PermissionDecision::Ask, self.message()),
            Verdict::Deny => HookAnswer::permission(PermissionDecision::Deny, self.message()),
        }
    }

    /// The decision as recorded with its event (the audit trail), reason and span
    /// redacted like the input.
    pub fn record(&self, latency: Duration) -> GuardRecord {
        GuardRecord {
            decision: self.verdict.as_str().to_owned(),
            rule: self.rule.to_owned(),
            category: self.category.as_str().to_owned(),
            reason: redact_text(&self.reason).0,
            latency_us: u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
            version: crate::VERSION.to_owned(),
            span: self.span.as_ref().map(|span| GuardSpan {
                field: span.field.clone(),
                start: span.start,
                end: span.end,
                text: redact_text(&span.text).0,
            }),
        }
    }
}
