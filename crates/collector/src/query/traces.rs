//! A session's traces as trees: each prompt's spans nested by their parent ids, joined to
//! the session's log events (the prompt id by trace id, a model request's cost by its
//! request id) and hook events (a tool call's guard decision by its `tool_use_id`).
//!
//! Read-only, like the rest of [`crate::query`]. Spans arrive children first and
//! sometimes without their parent (not exported yet, or started by a caller's
//! `TRACEPARENT`): a span whose parent is not stored is a root of its trace, marked as
//! an orphan. Parent ids that loop, and chains deeper than anyone can read, are cut so
//! every stored span appears exactly once.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use rusqlite::{Connection, params};
use serde::Serialize;
use serde_json::{Map, Value};

use super::sqlite;
use crate::event::{LogRecord, Source, SpanEvent, SpanLink, SpanRecord};
use crate::processors::otlp::spans::event_id_range;
use crate::store::{self, StoreError};

/// Deepest nesting shown; spans below it are listed flat under the span at this depth.
const MAX_DEPTH: usize = 48;

/// Every trace of a session, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionTraces {
    /// The session.
    pub session_id: String,
    /// Its traces (one per prompt, plus one per background completion).
    pub traces: Vec<Trace>,
    /// Whether the session has more spans than were read.
    pub truncated: bool,
}

/// One trace: a prompt's spans as a tree.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trace {
    /// 16 bytes, hex.
    pub trace_id: String,
    /// The prompt it answers (`prompt.id` of the log events recorded in it).
    pub prompt_id: Option<String>,
    /// The earliest start, Unix ns (a string: JSON numbers lose nanoseconds).
    pub start_time_unix_nano: String,
    /// The latest end, Unix ns.
    pub end_time_unix_nano: String,
    /// From the earliest start to the latest end, milliseconds.
    pub duration_ms: f64,
    /// Spans in the trace.
    pub span_count: usize,
    /// Spans with status ERROR.
    pub error_count: usize,
    /// What its model requests cost, from the joined `api_request` events.
    pub cost_usd: f64,
    /// Top-level spans: the interaction, and any span whose parent is not stored.
    pub roots: Vec<SpanNode>,
}

/// One span and the spans it started.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpanNode {
    /// 8 bytes, hex.
    pub span_id: String,
    /// The parent's id as exported; `None` for a root span.
    pub parent_span_id: Option<String>,
    /// Whether it names a parent that is not stored (yet).
    pub orphan: bool,
    /// `claude_code.llm_request`, ….
    pub name: String,
    /// OTLP `SpanKind` number.
    pub kind: i32,
    /// Start, Unix ns (a string).
    pub start_time_unix_nano: String,
    /// End, Unix ns (a string).
    pub end_time_unix_nano: String,
    /// Start, milliseconds after the trace's start.
    pub offset_ms: f64,
    /// Duration, milliseconds.
    pub duration_ms: f64,
    /// `UNSET`, `OK` or `ERROR`.
    pub status: &'static str,
    /// The status message (left out in the metadata privacy mode).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub status_message: String,
    /// The subagent that made it (`agent_id`, or a conversation that is not the
    /// session's), for spans of a subagent.
    pub subagent: Option<String>,
    /// The model request's cost, from its `api_request` event.
    pub cost_usd: Option<f64>,
    /// The guard's decision on the tool call, from its hook events.
    pub guard: Option<GuardJoin>,
    /// The span's attributes, as stored.
    pub attributes: Map<String, Value>,
    /// Its events.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<SpanEvent>,
    /// Its links.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<SpanLink>,
    /// What the privacy mode left out.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub elided: Vec<String>,
    /// Spans it started, by start time.
    pub children: Vec<SpanNode>,
}

/// A tool call's hook events, joined by `tool_use_id`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GuardJoin {
    /// The guard's decision on PreToolUse: allow, ask or deny.
    pub decision: Option<String>,
    /// The rule that decided.
    pub rule: Option<String>,
    /// The hook events seen for the call (`PreToolUse`, `PostToolUse`, …).
    pub hook_events: Vec<String>,
}

impl SpanNode {
    /// Every span of this subtree, this one first, depth first.
    pub fn walk(&self) -> Vec<&SpanNode> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(node) = stack.pop() {
            out.push(node);
            stack.extend(node.children.iter().rev());
        }
        out
    }

    /// A numeric attribute (numbers, and numbers written as strings).
    pub fn number(&self, key: &str) -> Option<f64> {
        match self.attributes.get(key)? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
    }

    /// A string attribute.
    pub fn text(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).and_then(Value::as_str)
    }
}

/// What the session's other events add to its spans.
#[derive(Default)]
struct Joins {
    prompt_by_trace: HashMap<String, String>,
    cost_by_request: HashMap<String, f64>,
    guard_by_tool_use: HashMap<String, GuardJoin>,
}

/// The traces of `session_id`, reading at most `limit` spans (the first ones).
pub fn session_traces(
    data_dir: &Path,
    session_id: &str,
    limit: usize,
) -> Result<SessionTraces, StoreError> {
    let conn = store::reader(data_dir)?;
    let err = sqlite(data_dir);
    let limit_sql = i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX);
    let mut statement = conn
        .prepare(
            "SELECT id, body FROM events WHERE session_id = ?1 AND source = ?2 \
             ORDER BY ts_ms, id LIMIT ?3",
        )
        .map_err(&err)?;
    let rows = statement
        .query(params![session_id, Source::Span.as_str(), limit_sql])
        .map_err(&err)?;
    let mut spans = read_spans(data_dir, rows)?;
    let truncated = spans.len() > limit;
    spans.truncate(limit);
    let joins = joins(&conn, data_dir, session_id)?;
    Ok(SessionTraces {
        session_id: session_id.to_owned(),
        traces: build(spans, &joins),
        truncated,
    })
}

/// One trace by its id, with the joins of the session its spans name; `None` when no
/// span of it is stored.
pub fn trace(data_dir: &Path, trace_id: &str) -> Result<Option<Trace>, StoreError> {
    let conn = store::reader(data_dir)?;
    let err = sqlite(data_dir);
    let (low, high) = event_id_range(&trace_id.to_ascii_lowercase());
    let mut statement = conn
        .prepare(
            "SELECT id, body FROM events WHERE event_id > ?1 AND event_id < ?2 AND source = ?3 \
             ORDER BY ts_ms, id",
        )
        .map_err(&err)?;
    let rows = statement
        .query(params![low, high, Source::Span.as_str()])
        .map_err(&err)?;
    let spans = read_spans(data_dir, rows)?;
    let session = spans
        .iter()
        .find_map(|s| s.text("session.id").map(str::to_owned));
    let joins = match session {
        Some(session) => joins(&conn, data_dir, &session)?,
        None => Joins::default(),
    };
    Ok(build(spans, &joins).into_iter().next())
}

/// The spans of rows of (row id, body); a body that is not a span is an error naming it.
fn read_spans(
    data_dir: &Path,
    mut rows: rusqlite::Rows<'_>,
) -> Result<Vec<SpanRecord>, StoreError> {
    let err = sqlite(data_dir);
    let mut spans = Vec::new();
    while let Some(row) = rows.next().map_err(&err)? {
        let id: i64 = row.get(0).map_err(&err)?;
        let body: String = row.get(1).map_err(&err)?;
        let span = serde_json::from_str(&body).map_err(|e| StoreError::Corrupt {
            path: store::database_path(data_dir),
            what: format!("event {id}"),
            message: e.to_string(),
        })?;
        spans.push(span);
    }
    Ok(spans)
}

fn joins(conn: &Connection, data_dir: &Path, session_id: &str) -> Result<Joins, StoreError> {
    let err = sqlite(data_dir);
    let mut joins = Joins::default();
    let mut statement = conn
        .prepare("SELECT body FROM events WHERE session_id = ?1 AND source = ?2")
        .map_err(&err)?;
    let rows = statement
        .query_map(params![session_id, Source::OtlpLog.as_str()], |r| {
            r.get::<_, String>(0)
        })
        .map_err(&err)?;
    for body in rows {
        let Ok(record) = serde_json::from_str::<LogRecord>(&body.map_err(&err)?) else {
            continue;
        };
        if let (Some(trace), Some(prompt)) = (
            &record.trace_id,
            record.attributes.get("prompt.id").and_then(Value::as_str),
        ) {
            joins
                .prompt_by_trace
                .entry(trace.clone())
                .or_insert_with(|| prompt.to_owned());
        }
        if record.event_name == "claude_code.api_request" {
            let request = record.text("request_id");
            let cost = record.attributes.get("cost_usd").and_then(|v| match v {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.parse().ok(),
                _ => None,
            });
            if let (false, Some(cost)) = (request.is_empty(), cost) {
                joins.cost_by_request.insert(request, cost);
            }
        }
    }
    let mut statement = conn
        .prepare(
            "SELECT tool_use_id, name, decision, rule FROM events \
             WHERE session_id = ?1 AND source = ?2 AND tool_use_id IS NOT NULL ORDER BY id",
        )
        .map_err(&err)?;
    let rows = statement
        .query_map(params![session_id, Source::Hook.as_str()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
            ))
        })
        .map_err(&err)?;
    for row in rows {
        let (tool_use_id, name, decision, rule) = row.map_err(&err)?;
        let join = joins
            .guard_by_tool_use
            .entry(tool_use_id)
            .or_insert_with(|| GuardJoin {
                decision: None,
                rule: None,
                hook_events: Vec::new(),
            });
        if decision.is_some() {
            join.decision = decision;
            join.rule = rule;
        }
        join.hook_events.push(name);
    }
    Ok(joins)
}

/// Spans grouped by trace, each trace a tree, traces by start.
fn build(spans: Vec<SpanRecord>, joins: &Joins) -> Vec<Trace> {
    let mut by_trace: BTreeMap<String, Vec<SpanRecord>> = BTreeMap::new();
    for span in spans {
        by_trace
            .entry(span.trace_id.clone())
            .or_default()
            .push(span);
    }
    let mut traces: Vec<Trace> = by_trace
        .into_iter()
        .map(|(trace_id, spans)| tree(trace_id, spans, joins))
        .collect();
    traces.sort_by(|a, b| {
        (a.start_time_unix_nano.len(), &a.start_time_unix_nano)
            .cmp(&(b.start_time_unix_nano.len(), &b.start_time_unix_nano))
            .then_with(|| a.trace_id.cmp(&b.trace_id))
    });
    traces
}

fn tree(trace_id: String, mut spans: Vec<SpanRecord>, joins: &Joins) -> Trace {
    spans.sort_by(|a, b| (a.start_ns, &a.span_id).cmp(&(b.start_ns, &b.span_id)));
    spans.dedup_by(|a, b| a.span_id == b.span_id);
    let start = spans.iter().map(|s| s.start_ns).min().unwrap_or(0);
    let end = spans.iter().map(|s| s.end_ns).max().unwrap_or(0);
    let index: HashMap<&str, usize> = spans
        .iter()
        .enumerate()
        .map(|(i, s)| (s.span_id.as_str(), i))
        .collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); spans.len()];
    let mut roots = Vec::new();
    for (i, span) in spans.iter().enumerate() {
        match index.get(span.parent_span_id.as_str()) {
            Some(&parent) if parent != i => children[parent].push(i),
            _ => roots.push(i),
        }
    }
    let context = Context {
        spans: &spans,
        index: &index,
        children: &children,
        joins,
        trace_start: start,
    };
    let mut placed = HashSet::new();
    let mut nodes: Vec<SpanNode> = roots
        .iter()
        .map(|&i| context.node(i, 0, &mut placed))
        .collect();
    // Spans whose parent ids loop have no root: each loop is shown from its first span.
    for i in 0..spans.len() {
        if !placed.contains(&i) {
            nodes.push(context.node(i, 0, &mut placed));
        }
    }
    nodes.sort_by(|a, b| {
        (a.start_time_unix_nano.len(), &a.start_time_unix_nano)
            .cmp(&(b.start_time_unix_nano.len(), &b.start_time_unix_nano))
    });
    let all: Vec<&SpanNode> = nodes.iter().flat_map(SpanNode::walk).collect();
    Trace {
        prompt_id: joins.prompt_by_trace.get(&trace_id).cloned(),
        trace_id,
        start_time_unix_nano: start.to_string(),
        end_time_unix_nano: end.to_string(),
        duration_ms: end.saturating_sub(start) as f64 / 1e6,
        span_count: all.len(),
        error_count: all.iter().filter(|n| n.status == "ERROR").count(),
        cost_usd: all.iter().filter_map(|n| n.cost_usd).sum(),
        roots: nodes,
    }
}

struct Context<'a> {
    spans: &'a [SpanRecord],
    index: &'a HashMap<&'a str, usize>,
    children: &'a [Vec<usize>],
    joins: &'a Joins,
    trace_start: u64,
}

impl Context<'_> {
    /// The node of span `i` with its subtree; spans below [`MAX_DEPTH`] come flat.
    fn node(&self, i: usize, depth: usize, placed: &mut HashSet<usize>) -> SpanNode {
        placed.insert(i);
        let mut node = self.leaf(i);
        if depth + 1 >= MAX_DEPTH {
            let mut stack: Vec<usize> = self.children[i].clone();
            while let Some(child) = stack.pop() {
                if placed.insert(child) {
                    node.children.push(self.leaf(child));
                    stack.extend(&self.children[child]);
                }
            }
            node.children.sort_by_key(|n| n.offset_ms.to_bits());
            return node;
        }
        for &child in &self.children[i] {
            if !placed.contains(&child) {
                node.children.push(self.node(child, depth + 1, placed));
            }
        }
        node
    }

    fn leaf(&self, i: usize) -> SpanNode {
        let span = &self.spans[i];
        let session = span.text("session.id");
        let subagent = span.text("agent_id").map(str::to_owned).or_else(|| {
            span.text("gen_ai.conversation.id")
                .filter(|conversation| Some(*conversation) != session)
                .map(str::to_owned)
        });
        let cost_usd = span
            .text("request_id")
            .and_then(|request| self.joins.cost_by_request.get(request))
            .copied();
        let guard = span
            .text("tool_use_id")
            .filter(|_| span.name == "claude_code.tool")
            .and_then(|id| self.joins.guard_by_tool_use.get(id))
            .cloned();
        let parent = (!span.parent_span_id.is_empty()).then(|| span.parent_span_id.clone());
        let orphan = parent.is_some() && !self.index.contains_key(span.parent_span_id.as_str());
        SpanNode {
            span_id: span.span_id.clone(),
            orphan,
            parent_span_id: parent,
            name: span.name.clone(),
            kind: span.kind,
            start_time_unix_nano: span.start_ns.to_string(),
            end_time_unix_nano: span.end_ns.to_string(),
            offset_ms: span.start_ns.saturating_sub(self.trace_start) as f64 / 1e6,
            duration_ms: span.end_ns.saturating_sub(span.start_ns) as f64 / 1e6,
            status: match span.status_code {
                1 => "OK",
                2 => "ERROR",
                _ => "UNSET",
            },
            status_message: span.status_message.clone(),
            subagent,
            cost_usd,
            guard,
            attributes: span.attributes.clone(),
            events: span.events.clone(),
            links: span.links.clone(),
            elided: span.elided.clone(),
            children: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn span(id: &str, parent: &str, start: u64, end: u64) -> SpanRecord {
        SpanRecord {
            trace_id: "ab".repeat(16),
            span_id: id.repeat(8),
            parent_span_id: parent.repeat(8),
            name: format!("span {id}"),
            kind: 1,
            start_ns: start,
            end_ns: end,
            status_code: 0,
            status_message: String::new(),
            flags: 0,
            trace_state: String::new(),
            attributes: json!({"session.id": "s"}).as_object().unwrap().clone(),
            events: Vec::new(),
            links: Vec::new(),
            resource: Map::new(),
            scope_name: String::new(),
            scope_version: String::new(),
            elided: Vec::new(),
        }
    }

    fn names(nodes: &[SpanNode]) -> Vec<String> {
        nodes.iter().map(|n| n.span_id[..2].to_owned()).collect()
    }

    #[test]
    fn children_first_orphans_and_loops_all_appear_once() {
        let spans = vec![
            span("0c", "0b", 30, 40), // arrives before its parent
            span("0b", "0a", 20, 50),
            span("0a", "", 10, 100),
            span("0d", "0a", 15, 16),
            span("0e", "ff", 60, 70),       // its parent is not stored
            span("01", "02", 1_000, 1_001), // a loop
            span("02", "01", 1_002, 1_003),
        ];
        let traces = build(spans, &Joins::default());
        assert_eq!(traces.len(), 1);
        let trace = &traces[0];
        assert_eq!(trace.span_count, 7);
        assert_eq!(names(&trace.roots), ["0a", "0e", "01"]);
        assert_eq!(names(&trace.roots[0].children), ["0d", "0b"]);
        assert_eq!(names(&trace.roots[0].children[1].children), ["0c"]);
        assert!(trace.roots[1].orphan && !trace.roots[0].orphan);
        assert_eq!(names(&trace.roots[2].children), ["02"]);
        assert_eq!(trace.roots[0].children[1].offset_ms, 10.0 / 1e6);
        assert_eq!(trace.duration_ms, (1_003 - 10) as f64 / 1e6);
    }

    #[test]
    fn a_chain_deeper_than_anyone_reads_is_cut_not_lost() {
        let spans: Vec<SpanRecord> = (0..500u64)
            .map(|i| {
                let mut s = span("00", "", i, i + 1);
                s.span_id = format!("{:016x}", i + 1);
                s.parent_span_id = if i == 0 {
                    String::new()
                } else {
                    format!("{i:016x}")
                };
                s
            })
            .collect();
        let traces = build(spans, &Joins::default());
        assert_eq!(traces[0].span_count, 500);
        let json = serde_json::to_string(&traces).unwrap();
        assert!(json.len() > 1000);
    }

    proptest::proptest! {
        /// Whatever the parent ids say (loops, self-parents, missing parents, chains),
        /// every span is in the tree exactly once, and under the parent it names when
        /// that parent is there and no loop is in the way.
        #[test]
        fn any_parent_graph_shows_each_span_once(
            parents in proptest::collection::vec(proptest::option::of(0usize..80), 1..80),
            starts in proptest::collection::vec(0u64..1000, 80),
        ) {
            let spans: Vec<SpanRecord> = parents
                .iter()
                .enumerate()
                .map(|(i, parent)| {
                    let mut s = span("00", "", starts[i], starts[i] + 5);
                    s.span_id = format!("{:016x}", i + 1);
                    s.parent_span_id = parent.map_or(String::new(), |p| format!("{:016x}", p + 1));
                    s
                })
                .collect();
            let traces = build(spans, &Joins::default());
            proptest::prop_assert_eq!(traces.len(), 1);
            let mut seen: Vec<String> = traces[0]
                .roots
                .iter()
                .flat_map(SpanNode::walk)
                .map(|n| n.span_id.clone())
                .collect();
            proptest::prop_assert_eq!(seen.len(), parents.len());
            seen.sort();
            seen.dedup();
            proptest::prop_assert_eq!(seen.len(), parents.len());
            let mut stack: Vec<(&SpanNode, usize)> = traces[0].roots.iter().map(|r| (r, 0)).collect();
            while let Some((node, depth)) = stack.pop() {
                for child in &node.children {
                    // Below the deepest nesting shown, descendants are listed flat.
                    if depth + 1 < MAX_DEPTH {
                        proptest::prop_assert_eq!(
                            child.parent_span_id.as_deref(),
                            Some(node.span_id.as_str())
                        );
                    }
                    stack.push((child, depth + 1));
                }
            }
        }
    }
}
