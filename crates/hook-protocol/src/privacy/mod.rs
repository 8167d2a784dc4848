//! What of an event each privacy level keeps: the one definition, shared by the hook
//! (before an event is delivered or spooled) and the collector (before anything is stored,
//! for every source).
//!
//! An allowlist. A string is kept only where it is known to be metadata — ids, names,
//! sizes, counts, durations, decisions, paths, models — or, from the `prompts` level up,
//! where it is the text of a prompt the user typed. Every other string, fields of events
//! that do not exist yet included, is replaced by a note of its size
//! (`{"elided_bytes": N}`); so is every object or array the allowlist does not describe,
//! whole, since its keys can be content too. Numbers, booleans and nulls are kept: they
//! are sizes, counts, durations and flags. `full` keeps everything.
//!
//! Which fields are which is in [`hook`] (hook events) and [`otlp`] (OTLP log events and
//! span attributes). Redaction of credentials is not decided here: it runs at every level
//! over what is kept (`crate::redact`).

mod hook;
mod otlp;

use std::fmt;

use serde::Deserialize;
use serde_json::{Map, Value};

pub use otlp::keep_attributes;

/// The setting that names the level, for the hook (in Claude Code's settings `env`) and
/// for the collector (`[collector] privacy` in the config file, or this variable).
pub const PRIVACY_ENV: &str = "CLAUDE_TELEMETRY_PRIVACY";

/// Claude Code's switch that puts prompt text in its telemetry. Set without a level, it
/// means the `prompts` level: whoever turned prompt logging on wants prompts kept.
pub const LOG_USER_PROMPTS_ENV: &str = "OTEL_LOG_USER_PROMPTS";

/// The key of a size note: what replaces a value a level does not keep.
pub const ELIDED_KEY: &str = "elided_bytes";

/// How much content is kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Metadata only: ids, names, sizes, counts, durations, decisions, paths, models.
    #[default]
    Metadata,
    /// Metadata and the text of the user's prompts (redacted); no other content.
    Prompts,
    /// Everything the sender delivered (redacted and bounded).
    Full,
}

/// A level name that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("privacy level must be metadata, prompts or full, got {0:?}")]
pub struct LevelError(String);

impl Level {
    /// Every level, least kept first.
    pub const ALL: [Level; 3] = [Level::Metadata, Level::Prompts, Level::Full];

    /// The level's name, as settings spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Metadata => "metadata",
            Level::Prompts => "prompts",
            Level::Full => "full",
        }
    }

    /// Reads a level's name (case and surrounding blanks ignored).
    pub fn parse(text: &str) -> Result<Level, LevelError> {
        let wanted = text.trim().to_ascii_lowercase();
        Level::ALL
            .into_iter()
            .find(|level| level.as_str() == wanted)
            .ok_or_else(|| LevelError(text.chars().take(40).collect()))
    }

    /// The level settings ask for: [`PRIVACY_ENV`]'s value when set, else `prompts` when
    /// Claude Code's [`LOG_USER_PROMPTS_ENV`] is on, else `metadata`.
    pub fn from_settings(
        explicit: Option<&str>,
        log_user_prompts: Option<&str>,
    ) -> Result<Level, LevelError> {
        match explicit.filter(|text| !text.trim().is_empty()) {
            Some(text) => Level::parse(text),
            None if log_user_prompts.is_some_and(is_on) => Ok(Level::Prompts),
            None => Ok(Level::Metadata),
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a Claude Code switch's value turns it on: `1`, `true` and any other value but
/// an empty one, `0`, `false`, `no` or `off` (as Claude Code reads them).
pub fn is_on(value: &str) -> bool {
    let value = value.trim().to_ascii_lowercase();
    !matches!(value.as_str(), "" | "0" | "false" | "no" | "off")
}

/// The note that replaces a value of `bytes` bytes.
pub fn size_note(bytes: usize) -> Value {
    let mut note = Map::new();
    note.insert(ELIDED_KEY.to_owned(), Value::from(bytes));
    Value::Object(note)
}

/// Whether a value is a size note.
pub fn is_size_note(value: &Value) -> bool {
    value
        .as_object()
        .is_some_and(|map| map.len() == 1 && map.get(ELIDED_KEY).is_some_and(Value::is_u64))
}

/// Replaces `value` by its size note unless `level` keeps content; returns how many values
/// were replaced (0 or 1). For content that has no place in the allowlist at all, such as
/// an OTLP record's free-form body.
pub fn keep_content(level: Level, value: &mut Value) -> usize {
    judge(value, None, Call::NONE, level)
}

/// The tool call a value belongs to, as far as the allowlist cares.
#[derive(Debug, Clone, Copy)]
struct Call<'a> {
    /// The tool's name (empty when the event is not a tool call).
    tool: &'a str,
    /// Whether the guard denied the call or asked about it: what it judged is then the
    /// audit trail's evidence.
    blocked: bool,
}

impl Call<'_> {
    const NONE: Call<'static> = Call {
        tool: "",
        blocked: false,
    };
}

/// What the allowlist says a value is.
#[derive(Debug, Clone, Copy)]
enum Node {
    /// Metadata: its strings (an array's too) are kept at every level.
    Meta,
    /// Prompt text: kept from the `prompts` level up.
    Prompt,
    /// An object with these known fields; any other field is content.
    Fields(&'static [(&'static str, Node)]),
    /// A tool's input, described by the tool's name.
    ToolInput,
    /// A tool's response, described by the tool's name.
    ToolResponse,
}

fn field(fields: &[(&'static str, Node)], key: &str) -> Option<Node> {
    fields
        .iter()
        .find(|(name, _)| *name == key)
        .map(|(_, node)| *node)
}

/// Keeps or replaces `value` as `node` says (`None`: not in the allowlist, content), for
/// `call`; returns how many values were replaced by size notes.
fn judge(value: &mut Value, node: Option<Node>, call: Call<'_>, level: Level) -> usize {
    // Full keeps all; a size note is what an earlier pass (the hook's) left.
    if level == Level::Full || is_size_note(value) {
        return 0;
    }
    let kept = match (&*value, node) {
        (Value::Null | Value::Bool(_) | Value::Number(_), _) => return 0,
        (Value::Array(_), Some(_)) => {
            let Value::Array(items) = value else { return 0 };
            return items
                .iter_mut()
                .map(|item| judge(item, node, call, level))
                .sum();
        }
        (Value::String(_), Some(Node::Meta)) => true,
        (Value::String(_), Some(Node::Prompt)) => level >= Level::Prompts,
        (Value::Object(_), Some(Node::Fields(fields))) => {
            return judge_fields(value, fields, call, level);
        }
        (Value::Object(_), Some(Node::ToolInput)) => {
            return judge_fields(value, hook::tool_input(call), call, level);
        }
        (Value::Object(_), Some(Node::ToolResponse)) => {
            return judge_fields(value, hook::tool_response(call.tool), call, level);
        }
        _ => false,
    };
    if kept {
        return 0;
    }
    let bytes = match &*value {
        Value::String(text) => text.len(),
        other => serde_json::to_string(other).map_or(0, |text| text.len()),
    };
    *value = size_note(bytes);
    1
}

/// Judges each field of an object; an object with its own `tool_name` (a call of a
/// PostToolBatch) is a call of that tool, which the guard never judged.
fn judge_fields(
    value: &mut Value,
    fields: &'static [(&'static str, Node)],
    call: Call<'_>,
    level: Level,
) -> usize {
    let Value::Object(map) = value else { return 0 };
    let own_tool = map
        .get("tool_name")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let call = match &own_tool {
        Some(tool) => Call {
            tool,
            blocked: false,
        },
        None => call,
    };
    map.iter_mut()
        .map(|(key, item)| judge(item, field(fields, key), call, level))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn levels_read_as_settings_spell_them() {
        for level in Level::ALL {
            assert_eq!(Level::parse(level.as_str()), Ok(level));
            assert_eq!(level.to_string(), level.as_str());
        }
        assert_eq!(Level::parse(" Prompts\n"), Ok(Level::Prompts));
        assert!(Level::parse("secret").is_err());
        assert!(Level::parse("").is_err());
    }

    #[test]
    fn prompt_logging_without_a_level_means_prompts() {
        assert_eq!(Level::from_settings(None, None), Ok(Level::Metadata));
        assert_eq!(Level::from_settings(None, Some("0")), Ok(Level::Metadata));
        assert_eq!(Level::from_settings(None, Some("1")), Ok(Level::Prompts));
        assert_eq!(
            Level::from_settings(Some(""), Some("1")),
            Ok(Level::Prompts)
        );
        // A level said explicitly wins, either way.
        assert_eq!(
            Level::from_settings(Some("metadata"), Some("1")),
            Ok(Level::Metadata)
        );
        assert_eq!(Level::from_settings(Some("full"), None), Ok(Level::Full));
        assert!(Level::from_settings(Some("all"), Some("1")).is_err());
    }

    #[test]
    fn off_spellings_are_off_and_the_rest_is_on() {
        for off in ["", " ", "0", "false", "FALSE", "no", "off"] {
            assert!(!is_on(off), "{off:?}");
        }
        for on in ["1", "true", "yes", "file:/tmp/bodies"] {
            assert!(is_on(on), "{on:?}");
        }
    }

    #[test]
    fn content_is_replaced_by_its_size_unless_full() {
        let mut text = json!("héllo");
        assert_eq!(keep_content(Level::Prompts, &mut text), 1);
        assert_eq!(text, json!({"elided_bytes": 6}));
        assert!(is_size_note(&text));
        let mut object = json!({"a": [1, "b"]});
        keep_content(Level::Metadata, &mut object);
        assert_eq!(object, json!({"elided_bytes": 13}));
        // Applied twice (hook, then collector), the note stays the first one's.
        assert_eq!(keep_content(Level::Metadata, &mut object), 0);
        assert_eq!(object, json!({"elided_bytes": 13}));
        let mut number = json!(42);
        assert_eq!(keep_content(Level::Metadata, &mut number), 0);
        let mut kept = json!("all of it");
        assert_eq!(keep_content(Level::Full, &mut kept), 0);
        assert_eq!(kept, "all of it");
        assert!(!is_size_note(&json!({"elided_bytes": 1, "x": 2})));
    }
}
