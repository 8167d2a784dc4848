//! The live event stream: a summary of each event as it is stored, for whoever listens
//! (`/api/v1/events/stream`, the page's live list). Keeps nothing: a listener that falls
//! behind skips what it missed. Carries the indexed facts only — names, ids, who, where
//! and decisions — never content, whatever the privacy level.

use serde::Serialize;

use crate::event::{Event, Payload};

/// How many events wait for a slow listener before it skips ahead.
pub const LIVE_BACKLOG: usize = 1_024;

/// One stored event, as the live stream shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveEvent {
    /// When it happened, Unix milliseconds.
    pub ts_ms: i64,
    /// `hook`, `otlp`, `otlp_metrics` or `span`.
    pub source: String,
    /// The hook event or OTLP event name.
    pub name: String,
    /// Its session.
    pub session_id: String,
    /// Who (name, else email).
    pub user: String,
    /// Where: the project's name, as the page, `report` and the JSON name it (its
    /// repository's, else its folder's).
    pub project: String,
    /// The project's path, where the event said.
    pub project_path: String,
    /// The tool, for tool events.
    pub tool: String,
    /// The guard's decision, when it judged the event.
    pub decision: String,
}

impl LiveEvent {
    /// The summary of `event`.
    pub fn of(event: &Event) -> LiveEvent {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let columns = &event.columns;
        LiveEvent {
            ts_ms: event.ts_ms,
            source: event.source().as_str().to_owned(),
            name: event.name.clone(),
            session_id: text(&columns.session_id),
            user: columns
                .user_name
                .clone()
                .filter(|u| !u.is_empty())
                .or_else(|| columns.user_email.clone())
                .unwrap_or_default(),
            project: project_name(event),
            project_path: text(&columns.project),
            tool: text(&columns.tool_name),
            decision: text(&columns.decision),
        }
    }

    /// Whether it is one `filter` asks for.
    pub fn admits(&self, filter: &LiveFilter) -> bool {
        let is = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        is(&filter.user, &self.user)
            && is(&filter.session_id, &self.session_id)
            && filter
                .project
                .as_deref()
                .is_none_or(|p| p == self.project || p == self.project_path)
    }
}

/// The name the hook gave the event's project; else the last part of its path.
fn project_name(event: &Event) -> String {
    if let Payload::Hook(record) = &event.payload
        && let Some(name) = record
            .enrichment
            .project_name
            .as_ref()
            .filter(|n| !n.is_empty())
    {
        return name.clone();
    }
    let path = event.columns.project.as_deref().unwrap_or("");
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Which events a listener wants (`None`: any).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveFilter {
    /// Only this user's.
    pub user: Option<String>,
    /// Only this project's (its name, or its path).
    pub project: Option<String>,
    /// Only this session's.
    pub session_id: Option<String>,
}
