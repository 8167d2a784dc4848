//! What `claude-telemetry hook` adds to an event before delivering it.

use std::hash::{BuildHasher, Hasher, RandomState};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The key under which the enrichment travels inside the event object.
///
/// A single namespaced key keeps Claude Code's own fields untouched and cannot collide
/// with a field Claude Code adds later. Its presence is how the collector tells an event
/// that went through our hook from a raw Claude Code `http` hook body.
pub const ENRICHMENT_KEY: &str = "claude_telemetry";

/// Facts the hook knows and Claude Code does not send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Enrichment {
    /// Unique, time-ordered id (UUIDv7): the collector drops an id it already stored, so
    /// re-delivery from the spool is safe.
    pub event_id: String,
    /// When the hook received the event, RFC 3339 with milliseconds, UTC.
    pub received_at: String,
    /// Host name of the machine the hook ran on.
    pub host: String,
    /// Who is working: `USER_NAME`, else the OS user.
    pub user_name: String,
    /// `USER_EMAIL`, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_email: Option<String>,
    /// The project: `CLAUDE_PROJECT_DIR`, else the event's `cwd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// The project as people name it: its repository's `origin` (`acme/api`), else the
    /// repository's or the project's folder name. The `project` label of every series.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_name: Option<String>,
    /// Time from hook start to the moment the event was ready to send, in microseconds.
    pub hook_latency_us: u64,
    /// Version of the hook that handled the event.
    pub hook_version: String,
    /// Fields cut short to keep the stored copy bounded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub truncated: Vec<Truncation>,
    /// Whether invalid UTF-8 in the input was replaced by U+FFFD.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lossy_utf8: bool,
    /// How many credentials were replaced by `[REDACTED]` in the delivered copy.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub redacted: usize,
    /// Events waiting in this hook's spool when it ran: a collector that sees this grow
    /// knows deliveries are failing somewhere.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub spool_pending: usize,
    /// The guard's decision, on events it judged (PreToolUse).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard: Option<GuardRecord>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// One cut: where, and how large the original was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truncation {
    /// JSON Pointer (RFC 6901) to the field that was cut.
    pub path: String,
    /// Size of the original value in bytes (its JSON text for non-strings).
    pub original_bytes: usize,
}

/// A guard decision as recorded with the event: the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuardRecord {
    /// `allow`, `ask` or `deny`.
    pub decision: String,
    /// Rule id, e.g. `rm.home`; `none` when nothing matched.
    pub rule: String,
    /// Rule family, e.g. `dangerous_rm`.
    pub category: String,
    /// The reason given.
    pub reason: String,
    /// Time the decision took, in microseconds.
    pub latency_us: u64,
    /// Version of the guard that decided.
    pub version: String,
    /// What in the input triggered it (redacted like the input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span: Option<GuardSpan>,
}

/// The part of a tool input a decision points at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuardSpan {
    /// The tool input field.
    pub field: String,
    /// Byte offset of the start.
    pub start: usize,
    /// Byte offset just past the end.
    pub end: usize,
    /// The text.
    pub text: String,
}

impl GuardRecord {
    /// The record with credentials redacted in its reason and the text it points at
    /// (which quote the input).
    pub fn redacted(mut self) -> GuardRecord {
        self.reason = crate::redact_text(&self.reason).0;
        if let Some(span) = &mut self.span {
            span.text = crate::redact_text(&span.text).0;
        }
        self
    }
}

impl Enrichment {
    pub(crate) fn deserialize_from(value: &Value) -> Result<Enrichment, serde_json::Error> {
        Enrichment::deserialize(value)
    }
}

/// A UUIDv7: 48 bits of Unix milliseconds, then 74 random bits.
///
/// The random bits come from std's `RandomState`, whose keys the OS provides once per
/// process; the `getrandom` crate would instead open and poll `/dev/random` in a static
/// binary, several system calls on every tool call for the same guarantee.
pub fn new_event_id() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let keys = RandomState::new();
    let mut random = [0u8; 10];
    for (index, chunk) in random.chunks_mut(8).enumerate() {
        let mut hasher = keys.build_hasher();
        hasher.write_u128(now.as_nanos());
        hasher.write_u32(std::process::id());
        hasher.write_usize(index);
        let bytes = hasher.finish().to_le_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
    let millis = u64::try_from(now.as_millis()).unwrap_or(u64::MAX);
    uuid::Builder::from_unix_timestamp_millis(millis, &random)
        .into_uuid()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_unique_time_ordered_uuid_v7() {
        let ids: Vec<String> = (0..1000).map(|_| new_event_id()).collect();
        let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
        for id in &ids {
            let parsed = uuid::Uuid::parse_str(id).unwrap();
            assert_eq!(parsed.get_version_num(), 7);
            assert_eq!(parsed.get_variant(), uuid::Variant::RFC4122);
        }
        // The first 48 bits are the time: ids never go backwards across calls.
        let stamps: Vec<&str> = ids.iter().map(|id| &id[..13]).collect();
        assert!(stamps.windows(2).all(|pair| pair[0] <= pair[1]));
    }
}
