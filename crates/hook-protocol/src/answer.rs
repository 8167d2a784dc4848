//! What a hook answers Claude Code.

use serde_json::{Map, Value, json};

/// A PreToolUse permission decision, as Claude Code spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PermissionDecision {
    /// Run without asking (other permission rules still apply).
    Allow,
    /// Do not run; the reason is shown to the model.
    Deny,
    /// Ask the user; the reason is shown to the user.
    Ask,
}

impl PermissionDecision {
    /// The protocol's word for the decision.
    pub fn as_str(self) -> &'static str {
        match self {
            PermissionDecision::Allow => "allow",
            PermissionDecision::Deny => "deny",
            PermissionDecision::Ask => "ask",
        }
    }
}

/// The answer a command hook prints on stdout (exit code 0).
///
/// Claude Code reads stdout as JSON only when there is something to say; an empty answer
/// prints nothing, which is what every observing-only event gets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HookAnswer {
    permission: Option<(PermissionDecision, String)>,
    system_message: Option<String>,
}

impl HookAnswer {
    /// Nothing to say: the hook prints nothing and exits 0.
    pub fn nothing() -> HookAnswer {
        HookAnswer::default()
    }

    /// A PreToolUse decision with its reason.
    pub fn permission(decision: PermissionDecision, reason: impl Into<String>) -> HookAnswer {
        HookAnswer {
            permission: Some((decision, reason.into())),
            system_message: None,
        }
    }

    /// Adds a warning shown to the user (not to the model).
    pub fn with_system_message(mut self, message: impl Into<String>) -> HookAnswer {
        self.system_message = Some(message.into());
        self
    }

    /// The JSON object to print, or `None` when there is nothing to say.
    pub fn to_json(&self, event_name: &str) -> Option<Value> {
        if self.permission.is_none() && self.system_message.is_none() {
            return None;
        }
        let mut out = Map::new();
        if let Some((decision, reason)) = &self.permission {
            out.insert(
                "hookSpecificOutput".into(),
                json!({
                    "hookEventName": event_name,
                    "permissionDecision": decision.as_str(),
                    "permissionDecisionReason": reason,
                }),
            );
        }
        if let Some(message) = &self.system_message {
            out.insert("systemMessage".into(), Value::String(message.clone()));
        }
        Some(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_prints_nothing() {
        assert_eq!(HookAnswer::nothing().to_json("Stop"), None);
    }

    #[test]
    fn deny_has_the_documented_shape() {
        let answer = HookAnswer::permission(PermissionDecision::Deny, "no");
        assert_eq!(
            answer.to_json("PreToolUse").unwrap(),
            json!({"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny", "permissionDecisionReason": "no"}})
        );
    }

    #[test]
    fn system_message_stands_alone() {
        let answer = HookAnswer::nothing().with_system_message("careful");
        assert_eq!(
            answer.to_json("Stop").unwrap(),
            json!({"systemMessage": "careful"})
        );
    }
}
