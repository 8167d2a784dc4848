//! Which user, project and model an event belongs to: the session join.
//!
//! Hook events know who and where (`USER_NAME`, the project); Claude Code's OTLP events
//! know the model and the cost but often only an anonymous `user.id`. Every event of a
//! session is put under the identity the session's hook events give it, so a session
//! is one user's and one project's in every view (Prometheus labels, the page, `report`),
//! and under the model the session was using at the time.
//!
//! Pure rules over one session's state; who keeps the state (the store's writer, with
//! the sessions table behind it) is not this module's concern. Never reads a clock.

use hook_protocol::KnownEvent;
use serde_json::Value;

use crate::event::{Payload, Source};

/// Who and where.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// `USER_NAME` (hooks) or `user.name` (OTLP).
    pub user_name: String,
    /// `USER_EMAIL` or `user.email`.
    pub user_email: String,
    /// Claude Code's anonymous `user.id`, when an OTLP event gave it.
    pub user_id: String,
    /// The project directory, in full.
    pub project_path: String,
    /// The project as people name it (`acme/api`).
    pub project_name: String,
}

impl Identity {
    /// The one name a user goes by in every table: the name, else the email, else
    /// Claude Code's user id, else `unknown`.
    pub fn user_key(&self) -> String {
        [&self.user_name, &self.user_email, &self.user_id]
            .into_iter()
            .find(|s| !s.is_empty())
            .cloned()
            .unwrap_or_else(|| "unknown".to_owned())
    }
}

/// What the join keeps of one session.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// Its identity: from its first hook event, else from its first event.
    pub identity: Identity,
    /// The store row of the hook event that gave the identity, when one did.
    pub identity_id: Option<i64>,
    /// The model it was last seen using (`""` before any).
    pub model: String,
    /// Its first event, Unix ms.
    pub first_ms: i64,
    /// Its latest event, Unix ms.
    pub last_ms: i64,
    /// The store row of its first event.
    pub first_id: i64,
    /// When a `SessionEnd` came.
    pub ended_ms: Option<i64>,
    /// Its latest event's name.
    pub last_event: String,
    /// The tool of its latest tool event.
    pub last_tool: String,
}

/// What the join says of one event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resolved {
    /// Who and where.
    pub identity: Identity,
    /// The model: the event's own (API requests), else its session's at the time.
    pub model: String,
    /// Whether it is the first event of its session: the session counts here.
    pub first_in_session: bool,
}

/// What an event says about itself, read once from its payload: enough to join it and
/// to count it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Measures {
    /// Which source.
    pub source: Option<Source>,
    /// The hook event or OTLP event name.
    pub name: String,
    /// Its session.
    pub session_id: Option<String>,
    /// Its own identity (the hook's enrichment, or OTLP's attributes and resource).
    pub identity: Identity,
    /// The model it names (`SessionStart.model`, an API request's `model`).
    pub model: String,
    /// Whether its model is the session's main model from now on (SessionStart, or an
    /// API request of the main conversation rather than a subagent or a side query).
    pub sets_session_model: bool,
    /// The tool.
    pub tool: String,
    /// The tool call (hook events of tool calls).
    pub tool_use_id: Option<String>,
    /// The guard's decision, rule and category.
    pub decision: String,
    /// The guard's rule.
    pub rule: String,
    /// The guard's rule family.
    pub category: String,
    /// Milliseconds: a hook's tool call, an API request, a `tool_result`.
    pub duration_ms: Option<f64>,
    /// What an API request used and cost.
    pub usage: ApiUsage,
}

/// What one API request used and cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApiUsage {
    /// Cost in billionths of a dollar: sums of integers are exact in any order.
    pub cost_nano: i64,
    /// Input tokens.
    pub input_tokens: i64,
    /// Output tokens.
    pub output_tokens: i64,
    /// Tokens read from the prompt cache.
    pub cache_read_tokens: i64,
    /// Tokens written to the prompt cache.
    pub cache_creation_tokens: i64,
}

/// A number attribute, as OTLP JSON and protobuf deliver it (numbers or strings).
pub(crate) fn number(value: Option<&Value>) -> Option<f64> {
    match value? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
    .filter(|v: &f64| v.is_finite())
}

/// Dollars as billionths, rounded.
pub fn nano_dollars(usd: f64) -> i64 {
    (usd * 1e9).round() as i64
}

/// The project's name when the event does not carry one: its folder's.
fn name_of_path(path: &str) -> String {
    hook::folder_name(std::path::Path::new(path)).unwrap_or_default()
}

impl Measures {
    /// Reads a stored event's payload.
    pub fn of(payload: &Payload) -> Measures {
        match payload {
            Payload::Hook(record) => {
                let (event, enrichment) = (&record.event, &record.enrichment);
                let project_path = enrichment
                    .project
                    .as_deref()
                    .or(event.cwd())
                    .unwrap_or("")
                    .to_owned();
                let project_name = enrichment
                    .project_name
                    .clone()
                    .unwrap_or_else(|| name_of_path(&project_path));
                let start = event.known_event() == Some(KnownEvent::SessionStart);
                let model = if start {
                    event
                        .fields()
                        .get("model")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned()
                } else {
                    String::new()
                };
                let verdict = record.verdict();
                let guard = verdict.as_deref();
                Measures {
                    source: Some(Source::Hook),
                    name: event.event_name().unwrap_or("unknown").to_owned(),
                    session_id: event.session_id().map(str::to_owned),
                    identity: Identity {
                        user_name: enrichment.user_name.clone(),
                        user_email: enrichment.user_email.clone().unwrap_or_default(),
                        user_id: String::new(),
                        project_path,
                        project_name,
                    },
                    sets_session_model: !model.is_empty(),
                    model,
                    tool: event.tool_name().unwrap_or("").to_owned(),
                    tool_use_id: event.tool_use_id().map(str::to_owned),
                    decision: guard.map(|g| g.decision.clone()).unwrap_or_default(),
                    rule: guard.map(|g| g.rule.clone()).unwrap_or_default(),
                    category: guard.map(|g| g.category.clone()).unwrap_or_default(),
                    duration_ms: event.duration_ms().filter(|ms| ms.is_finite()),
                    usage: ApiUsage::default(),
                }
            }
            Payload::OtlpLog(record) => {
                let text = |key: &str| {
                    record
                        .attributes
                        .get(key)
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned()
                };
                let own = |key: &str| record.attribute_or_resource(key).unwrap_or("").to_owned();
                let attr = |key: &str| number(record.attributes.get(key));
                let name = record.event_name.clone();
                let api = name == "claude_code.api_request";
                let model = text("model");
                let usage = if api {
                    ApiUsage {
                        cost_nano: attr("cost_usd").map_or(0, nano_dollars),
                        input_tokens: attr("input_tokens").map_or(0, |v| v as i64),
                        output_tokens: attr("output_tokens").map_or(0, |v| v as i64),
                        cache_read_tokens: attr("cache_read_tokens").map_or(0, |v| v as i64),
                        cache_creation_tokens: attr("cache_creation_tokens")
                            .map_or(0, |v| v as i64),
                    }
                } else {
                    ApiUsage::default()
                };
                let main_query = matches!(text("query_source").as_str(), "" | "main");
                Measures {
                    source: Some(Source::OtlpLog),
                    session_id: record
                        .attributes
                        .get("session.id")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    identity: Identity {
                        user_name: own("user.name"),
                        user_email: own("user.email"),
                        user_id: own("user.id"),
                        project_path: String::new(),
                        project_name: String::new(),
                    },
                    sets_session_model: api && main_query && !model.is_empty(),
                    model,
                    tool: text("tool_name"),
                    duration_ms: attr("duration_ms"),
                    usage,
                    name,
                    ..Measures::default()
                }
            }
            Payload::OtlpMetrics(_) => Measures {
                source: Some(Source::OtlpMetrics),
                name: "otlp.metrics".to_owned(),
                ..Measures::default()
            },
            // A span is a trace's: its cost and tokens arrive as the API request's log
            // event, so it adds nothing to usage and joins no session here.
            Payload::Span(span) => Measures {
                source: Some(Source::Span),
                name: span.name.clone(),
                ..Measures::default()
            },
        }
    }

    /// Whether the event starts or joins a session (metrics exports belong to many).
    fn joins_session(&self) -> bool {
        self.source != Some(Source::OtlpMetrics) && self.session_id.is_some()
    }

    /// A hook event that finishes a tool call (its duration is that call's).
    pub fn finishes_tool_call(&self) -> bool {
        self.source == Some(Source::Hook)
            && matches!(self.name.as_str(), "PostToolUse" | "PostToolUseFailure")
    }

    /// A hook event that starts a tool call the guard let through.
    pub fn starts_tool_call(&self) -> bool {
        self.source == Some(Source::Hook) && self.name == "PreToolUse" && self.decision != "deny"
    }
}

/// The identity of an OTLP event of `session` (a metrics point's too): the session's
/// hook identity when one had arrived by store row `row_id`, else `own`.
pub fn identity_for(session: Option<&Session>, row_id: i64, own: &Identity) -> Identity {
    match session {
        Some(s) if s.identity_id.is_some_and(|id| id < row_id) => Identity {
            user_id: own.user_id.clone(),
            ..s.identity.clone()
        },
        _ => own.clone(),
    }
}

/// Joins one event to its session as it stands (`None`: not seen yet).
pub fn resolve(measures: &Measures, session: Option<&Session>) -> Resolved {
    let first_in_session = measures.joins_session() && session.is_none();
    let identity = match measures.source {
        // A hook event speaks for itself.
        Some(Source::Hook) => measures.identity.clone(),
        _ => identity_for(session, i64::MAX, &measures.identity),
    };
    let model = if !measures.model.is_empty() {
        measures.model.clone()
    } else {
        session.map(|s| s.model.clone()).unwrap_or_default()
    };
    Resolved {
        identity,
        model,
        first_in_session,
    }
}

/// What changed in a session because of one event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Change {
    /// A hook event gave an identity to a session whose earlier events had only their
    /// own: those events now belong to it (the store moves their figures).
    pub identity_arrived: bool,
}

/// Records one stored event (store row `row_id`, at `ts_ms`) in its session's state,
/// creating it on its first event.
pub fn record(
    session: &mut Option<Session>,
    measures: &Measures,
    resolved: &Resolved,
    ts_ms: i64,
    row_id: i64,
) -> Change {
    if !measures.joins_session() {
        return Change::default();
    }
    let hook = measures.source == Some(Source::Hook);
    let mut change = Change::default();
    let state = session.get_or_insert_with(|| Session {
        identity: resolved.identity.clone(),
        identity_id: None,
        model: String::new(),
        first_ms: ts_ms,
        last_ms: ts_ms,
        first_id: row_id,
        ended_ms: None,
        last_event: String::new(),
        last_tool: String::new(),
    });
    if hook && state.identity_id.is_none() {
        change.identity_arrived = state.first_id < row_id;
        state.identity = Identity {
            user_id: state.identity.user_id.clone(),
            ..measures.identity.clone()
        };
        state.identity_id = Some(row_id);
    }
    if state.identity.user_id.is_empty() && !measures.identity.user_id.is_empty() {
        state.identity.user_id = measures.identity.user_id.clone();
    }
    if measures.sets_session_model {
        state.model = measures.model.clone();
    }
    state.first_ms = state.first_ms.min(ts_ms);
    if ts_ms >= state.last_ms {
        state.last_ms = ts_ms;
        state.last_event = measures.name.clone();
        if !measures.tool.is_empty() {
            state.last_tool = measures.tool.clone();
        }
    }
    if measures.name == "SessionEnd" {
        state.ended_ms = Some(ts_ms);
    }
    change
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(name: &str, user: &str, model: &str) -> Measures {
        Measures {
            source: Some(Source::Hook),
            name: name.to_owned(),
            session_id: Some("s".to_owned()),
            identity: Identity {
                user_name: user.to_owned(),
                project_path: "/home/jane/api".to_owned(),
                project_name: "acme/api".to_owned(),
                ..Identity::default()
            },
            sets_session_model: !model.is_empty(),
            model: model.to_owned(),
            ..Measures::default()
        }
    }

    fn api(model: &str, main: bool) -> Measures {
        Measures {
            source: Some(Source::OtlpLog),
            name: "claude_code.api_request".to_owned(),
            session_id: Some("s".to_owned()),
            identity: Identity {
                user_id: "826e".to_owned(),
                ..Identity::default()
            },
            sets_session_model: main,
            model: model.to_owned(),
            ..Measures::default()
        }
    }

    fn step(session: &mut Option<Session>, m: &Measures, row: i64) -> (Resolved, Change) {
        let resolved = resolve(m, session.as_ref());
        let change = record(session, m, &resolved, row * 1000, row);
        (resolved, change)
    }

    #[test]
    fn otlp_events_take_the_identity_of_their_sessions_hooks() {
        let mut session = None;
        let (start, _) = step(&mut session, &hook("SessionStart", "jane", "opus"), 1);
        assert!(start.first_in_session);
        assert_eq!(start.model, "opus");
        let (request, _) = step(&mut session, &api("sonnet", true), 2);
        assert!(!request.first_in_session);
        assert_eq!(
            request.identity.user_key(),
            "jane",
            "not the anonymous user.id"
        );
        assert_eq!(request.identity.project_name, "acme/api");
        assert_eq!(request.model, "sonnet");
        let (prompt, _) = step(&mut session, &hook("UserPromptSubmit", "jane", ""), 3);
        assert_eq!(prompt.model, "sonnet", "the session's model at the time");
        step(&mut session, &api("haiku", false), 4);
        let (tool, _) = step(&mut session, &hook("PreToolUse", "jane", ""), 5);
        assert_eq!(
            tool.model, "sonnet",
            "a side query does not change the session's model"
        );
    }

    #[test]
    fn a_session_seen_first_through_otlp_gets_its_identity_when_a_hook_arrives() {
        let mut session = None;
        let (request, change) = step(&mut session, &api("sonnet", true), 1);
        assert!(request.first_in_session);
        assert_eq!(request.identity.user_key(), "826e");
        assert!(!change.identity_arrived);
        let (_, change) = step(&mut session, &hook("UserPromptSubmit", "jane", ""), 2);
        assert!(change.identity_arrived, "earlier events move to jane");
        let state = session.clone().unwrap();
        assert_eq!(state.identity.user_key(), "jane");
        assert_eq!(state.identity.user_id, "826e");
        assert_eq!(
            identity_for(Some(&state), 2, &Identity::default()).user_key(),
            "unknown",
            "a point stored before the hook keeps its own identity on replay"
        );
        assert_eq!(
            identity_for(Some(&state), 3, &Identity::default()).user_key(),
            "jane"
        );
        let (_, change) = step(&mut session, &hook("Stop", "jane", ""), 3);
        assert!(!change.identity_arrived, "only once");
    }
}
