//! A hook event as Claude Code sends it.

use serde_json::{Map, Value};

use crate::enrichment::{ENRICHMENT_KEY, Enrichment};

/// One hook event: the JSON object Claude Code wrote, kept whole.
///
/// Accessors read the fields this project cares about; every other field, known or not,
/// stays in the map and is serialised back unchanged.
#[derive(Debug, Clone, PartialEq)]
pub struct HookEvent {
    fields: Map<String, Value>,
}

/// Why a body is not a hook event.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// The input was empty or only whitespace.
    #[error("no hook event on input (it was empty)")]
    Empty,
    /// The input is not JSON.
    #[error("hook event is not valid JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    /// The input is JSON but not an object.
    #[error("hook event must be a JSON object, got {0}")]
    NotAnObject(&'static str),
    /// The object names no event: Claude Code always sends `hook_event_name`.
    #[error("not a hook event: no hook_event_name string")]
    NoEventName,
}

impl HookEvent {
    /// Parses one event from bytes.
    ///
    /// Invalid UTF-8 inside strings is not a reason to lose the event: such input is
    /// decoded lossily (U+FFFD for each bad sequence) and `lossy` is reported as `true`.
    /// An object without a `hook_event_name` string is no event (the collector would
    /// refuse it, and it would wait in the spool for ever).
    pub fn parse(bytes: &[u8]) -> Result<(HookEvent, bool), EventError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(EventError::Empty);
        }
        let (event, lossy) = match serde_json::from_slice::<Value>(bytes) {
            Ok(value) => (Self::from_value(value)?, false),
            Err(err) if std::str::from_utf8(bytes).is_err() => {
                let text = String::from_utf8_lossy(bytes);
                let value =
                    serde_json::from_str::<Value>(&text).map_err(|_| EventError::NotJson(err))?;
                (Self::from_value(value)?, true)
            }
            Err(err) => return Err(EventError::NotJson(err)),
        };
        match event.event_name() {
            Some(name) if !name.is_empty() => Ok((event, lossy)),
            _ => Err(EventError::NoEventName),
        }
    }

    /// Wraps an already-parsed JSON value.
    pub fn from_value(value: Value) -> Result<HookEvent, EventError> {
        match value {
            Value::Object(fields) => Ok(HookEvent { fields }),
            Value::Null => Err(EventError::NotAnObject("null")),
            Value::Bool(_) => Err(EventError::NotAnObject("a boolean")),
            Value::Number(_) => Err(EventError::NotAnObject("a number")),
            Value::String(_) => Err(EventError::NotAnObject("a string")),
            Value::Array(_) => Err(EventError::NotAnObject("an array")),
        }
    }

    fn str_field(&self, key: &str) -> Option<&str> {
        self.fields.get(key).and_then(Value::as_str)
    }

    /// `hook_event_name`, e.g. `PreToolUse`; any string Claude Code sends, known or not.
    pub fn event_name(&self) -> Option<&str> {
        self.str_field("hook_event_name")
    }

    /// The event name as one this project knows, if it is one.
    pub fn known_event(&self) -> Option<KnownEvent> {
        self.event_name().and_then(KnownEvent::from_name)
    }

    /// `session_id`.
    pub fn session_id(&self) -> Option<&str> {
        self.str_field("session_id")
    }

    /// `cwd`: Claude Code's working directory when the hook fired.
    pub fn cwd(&self) -> Option<&str> {
        self.str_field("cwd")
    }

    /// `tool_name` on tool events.
    pub fn tool_name(&self) -> Option<&str> {
        self.str_field("tool_name")
    }

    /// `tool_use_id` on tool events: pairs PreToolUse with PostToolUse.
    pub fn tool_use_id(&self) -> Option<&str> {
        self.str_field("tool_use_id")
    }

    /// `tool_input` on tool events.
    pub fn tool_input(&self) -> Option<&Value> {
        self.fields.get("tool_input")
    }

    /// `duration_ms` on PostToolUse and PostToolUseFailure, when Claude Code measured it.
    pub fn duration_ms(&self) -> Option<f64> {
        self.fields.get("duration_ms").and_then(Value::as_f64)
    }

    /// `source` on SessionStart: `startup`, `resume`, `clear` or `compact`.
    pub fn start_source(&self) -> Option<&str> {
        self.str_field("source")
    }

    /// `reason` on SessionEnd: `clear`, `logout`, `prompt_input_exit`, `other`, ….
    pub fn end_reason(&self) -> Option<&str> {
        self.str_field("reason")
    }

    /// `agent_type` on SubagentStart.
    pub fn agent_type(&self) -> Option<&str> {
        self.str_field("agent_type")
    }

    /// `trigger` on PreCompact: `manual` or `auto`.
    pub fn trigger(&self) -> Option<&str> {
        self.str_field("trigger")
    }

    /// The enrichment a hook added, if this event went through one.
    ///
    /// `None` means the body is a raw Claude Code event (an `http` hook, or a foreign sender).
    pub fn enrichment(&self) -> Option<Result<Enrichment, serde_json::Error>> {
        self.fields
            .get(ENRICHMENT_KEY)
            .map(Enrichment::deserialize_from)
    }

    /// Attaches the enrichment, replacing any earlier one.
    pub fn set_enrichment(&mut self, enrichment: &Enrichment) -> Result<(), serde_json::Error> {
        let value = serde_json::to_value(enrichment)?;
        self.fields.insert(ENRICHMENT_KEY.to_owned(), value);
        Ok(())
    }

    /// All fields, for code that needs to walk the whole event.
    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }

    /// All fields, for code that must change what is kept of an event (redaction,
    /// bounds, privacy filtering).
    pub fn fields_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.fields
    }

    /// The event as one line of JSON (no trailing newline).
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(&self.fields)
    }
}

macro_rules! known_events {
    ($($variant:ident),+ $(,)?) => {
        /// The hook events Claude Code fires today (2.1.332).
        ///
        /// Events not listed still flow through the hook untouched; this list decides only
        /// what `install` registers and how the hook answers.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum KnownEvent { $($variant),+ }

        /// Every known event, in Claude Code's lifecycle order.
        pub const KNOWN_EVENTS: &[KnownEvent] = &[$(KnownEvent::$variant),+];

        impl KnownEvent {
            /// The name as it appears in `hook_event_name` and in settings files.
            pub fn name(self) -> &'static str {
                match self { $(KnownEvent::$variant => stringify!($variant)),+ }
            }

            /// Looks up an event by its exact name.
            pub fn from_name(name: &str) -> Option<KnownEvent> {
                match name { $(stringify!($variant) => Some(KnownEvent::$variant),)+ _ => None }
            }
        }
    };
}

known_events!(
    Setup,
    SessionStart,
    InstructionsLoaded,
    UserPromptSubmit,
    UserPromptExpansion,
    MessageDisplay,
    PreToolUse,
    PreSkillShellCommand,
    PermissionRequest,
    PermissionDenied,
    PostToolUse,
    PostToolUseFailure,
    PostToolBatch,
    Notification,
    SubagentStart,
    SubagentStop,
    TaskCreated,
    TaskCompleted,
    Stop,
    StopFailure,
    TeammateIdle,
    ConfigChange,
    CwdChanged,
    DirectoryAdded,
    FileChanged,
    WorktreeCreate,
    WorktreeRemove,
    PreCompact,
    PostCompact,
    PreModelSwitch,
    PostModelSwitch,
    Elicitation,
    ElicitationResult,
    SessionEnd,
);

impl KnownEvent {
    /// Whether a telemetry hook may be registered on this event without changing what
    /// Claude Code does.
    ///
    /// `WorktreeCreate` replaces git's worktree creation with the hook's stdout, so an
    /// observer there would break worktrees; `FileChanged` fires only for file names listed
    /// in its matcher, so it has nothing general to observe. The events a hook may veto
    /// (`PreToolUse`, `PreSkillShellCommand`, `PreModelSwitch`, …) are observable: a hook
    /// that prints nothing lets them through.
    pub fn is_observable(self) -> bool {
        !matches!(self, KnownEvent::WorktreeCreate | KnownEvent::FileChanged)
    }

    /// Whether the event's matcher filters on the tool name (so `"*"` means every tool).
    ///
    /// `PreSkillShellCommand` is one: it names the shell tool (`Bash`, `PowerShell`) that
    /// would run a skill's `!` command.
    pub fn matches_tools(self) -> bool {
        matches!(
            self,
            KnownEvent::PreToolUse
                | KnownEvent::PreSkillShellCommand
                | KnownEvent::PostToolUse
                | KnownEvent::PostToolUseFailure
                | KnownEvent::PermissionRequest
                | KnownEvent::PermissionDenied
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_and_events_round_trip() {
        let raw = br#"{"hook_event_name":"BrandNewEvent","x":{"y":[1,2.5,"z"]},"session_id":"s"}"#;
        let (event, lossy) = HookEvent::parse(raw).unwrap();
        assert!(!lossy);
        assert_eq!(event.event_name(), Some("BrandNewEvent"));
        assert_eq!(event.known_event(), None);
        let back: Value = serde_json::from_str(&event.to_json().unwrap()).unwrap();
        let orig: Value = serde_json::from_slice(raw).unwrap();
        assert_eq!(back, orig);
    }

    #[test]
    fn rejects_what_is_not_an_event() {
        assert!(matches!(HookEvent::parse(b"  \n"), Err(EventError::Empty)));
        assert!(matches!(
            HookEvent::parse(b"{\"a\":"),
            Err(EventError::NotJson(_))
        ));
        assert!(matches!(
            HookEvent::parse(b"[1]"),
            Err(EventError::NotAnObject("an array"))
        ));
        assert!(matches!(
            HookEvent::parse(b"\xff\xfe"),
            Err(EventError::NotJson(_))
        ));
        for no_name in [
            &br#"{"session_id":"x"}"#[..],
            br#"{"hook_event_name":""}"#,
            br#"{"hook_event_name":7}"#,
        ] {
            assert!(matches!(
                HookEvent::parse(no_name),
                Err(EventError::NoEventName)
            ));
        }
    }

    #[test]
    fn invalid_utf8_inside_strings_is_kept_lossily() {
        let (event, lossy) =
            HookEvent::parse(b"{\"hook_event_name\":\"UserPromptSubmit\",\"prompt\":\"caf\xe9\"}")
                .unwrap();
        assert!(lossy);
        assert_eq!(event.fields()["prompt"], "caf\u{FFFD}");
    }

    #[test]
    fn every_known_name_resolves_to_itself() {
        for event in KNOWN_EVENTS {
            assert_eq!(KnownEvent::from_name(event.name()), Some(*event));
        }
        assert!(KNOWN_EVENTS.len() >= 30);
    }
}
