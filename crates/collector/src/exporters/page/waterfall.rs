//! The waterfall of a session's traces: one block per trace (a prompt), one row per span,
//! nested by parent, each with a bar placed on the trace's time axis — the interaction,
//! its model requests (duration, time to first token, tokens, cost), its tool calls with
//! their permission wait and execution, failures marked, a subagent's spans under the
//! call that started it.
//!
//! Self-contained (its markup and its stylesheet), so the page can place it anywhere.
//! Reads the tree [`crate::query::traces`] builds, the same one `/api/v1/` serves. On a
//! narrow screen each row stacks its label over its bar.

use maud::{Markup, PreEscaped, html};

use super::view::{count, money, segment};
use crate::query::traces::{SessionTraces, SpanNode, Trace};

/// Traces drawn on the page: the latest ones (a long session's earlier ones are in the
/// JSON). Keeps the page, which refreshes itself, small.
const TRACES_SHOWN: usize = 20;

pub(super) const STYLE: &str = r#"
.traces { --bar: #2563eb; --sub: #7c3aed; --fail: #dc2626; }
.trace { border: 1px solid var(--line); border-radius: .5rem; margin: .75rem 0; padding: .5rem .75rem; }
.trace > header { display: flex; flex-wrap: wrap; gap: .25rem 1rem; align-items: baseline; justify-content: flex-start; }
.trace h3 { font-size: 1rem; margin: 0; }
.waterfall { list-style: none; margin: .5rem 0 0; padding: 0; }
.waterfall li { display: grid; grid-template-columns: minmax(12rem, 38%) 1fr minmax(9rem, 22%); gap: .5rem;
  align-items: center; padding: .1rem 0; border-top: 1px solid var(--line); font-variant-numeric: tabular-nums; }
.waterfall .label { padding-left: calc(var(--depth, 0) * .85rem); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.waterfall .track { position: relative; height: .8rem; background: color-mix(in srgb, var(--line) 35%, transparent); border-radius: 2px; }
.waterfall .bar { position: absolute; top: 0; bottom: 0; min-width: 2px; background: var(--bar); border-radius: 2px; }
.waterfall .figures { font-size: 12px; color: var(--muted); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.waterfall li.subagent .bar { background: var(--sub); }
.waterfall li.failed .bar { background: var(--fail); }
.waterfall li.failed .label, .traces .mark { color: var(--fail); font-weight: 600; }
.waterfall .badge { font-size: 11px; border: 1px solid currentColor; border-radius: .6rem; padding: 0 .35rem; margin-left: .3rem; }
@media (max-width: 40rem) {
  .waterfall li { grid-template-columns: 1fr; gap: .1rem; padding: .3rem 0; }
  .waterfall .label, .waterfall .figures { white-space: normal; }
  .waterfall .track, .waterfall .figures { margin-left: calc(var(--depth, 0) * .85rem); }
}
"#;

/// The section showing every trace of a session.
pub(crate) fn section(traces: &SessionTraces) -> Markup {
    let hidden = traces.traces.len().saturating_sub(TRACES_SHOWN);
    html! {
        section.traces id="traces" {
            style { (PreEscaped(STYLE)) }
            h2 { "Traces" }
            @if traces.traces.is_empty() {
                p.muted {
                    "No traces for this session. Claude Code sends them with tracing on: "
                    code { "claude-telemetry install --traces" } "."
                }
            }
            @if traces.truncated {
                p.muted { "The session has more spans than are shown here; the first ones are." }
            }
            @if hidden > 0 {
                p.muted {
                    (hidden) " earlier traces are not drawn; "
                    a href={ "../api/v1/sessions/" (segment(&traces.session_id)) "/traces" } { "all of them as JSON" } "."
                }
            }
            @for (number, trace) in traces.traces.iter().enumerate().skip(hidden) {
                (block(number + 1, trace))
            }
        }
    }
}

fn block(number: usize, trace: &Trace) -> Markup {
    let span = trace.duration_ms.max(0.001);
    let rows: Vec<(usize, &SpanNode)> = trace.roots.iter().flat_map(|root| depths(root)).collect();
    let prompt = trace
        .roots
        .iter()
        .find(|root| root.name == "claude_code.interaction")
        .and_then(|root| root.number("interaction.sequence"))
        .map_or_else(|| format!("Trace {number}"), |n| format!("Prompt {n}"));
    html! {
        article.trace id={ "trace-" (trace.trace_id) } data-trace-id=(trace.trace_id) {
            header {
                h3 { (prompt) }
                span.muted { (seconds(trace.duration_ms)) }
                span.muted { (count(trace.span_count as u64)) " spans" }
                @if trace.error_count > 0 {
                    span.mark { (trace.error_count) " failed" }
                }
                @if trace.cost_usd > 0.0 {
                    span.muted { (money(trace.cost_usd)) }
                }
                @if let Some(prompt_id) = &trace.prompt_id {
                    span.muted title="prompt.id" { "prompt " (prompt_id) }
                }
            }
            ol.waterfall {
                @for (depth, node) in rows {
                    (row(depth, node, span))
                }
            }
        }
    }
}

/// Every span of a subtree with its depth, parents before children.
fn depths(root: &SpanNode) -> Vec<(usize, &SpanNode)> {
    let mut out = Vec::new();
    let mut stack = vec![(0, root)];
    while let Some((depth, node)) = stack.pop() {
        out.push((depth, node));
        stack.extend(node.children.iter().rev().map(|child| (depth + 1, child)));
    }
    out
}

fn row(depth: usize, node: &SpanNode, trace_ms: f64) -> Markup {
    let left = (node.offset_ms / trace_ms * 100.0).clamp(0.0, 100.0);
    let width = (node.duration_ms / trace_ms * 100.0).clamp(0.0, 100.0 - left);
    let failed = node.status == "ERROR";
    let class = [
        failed.then_some("failed"),
        node.subagent.is_some().then_some("subagent"),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    let short = node.name.strip_prefix("claude_code.").unwrap_or(&node.name);
    html! {
        li class=[(!class.is_empty()).then_some(class.as_str())]
            style={ "--depth:" (depth) }
            data-span-id=(node.span_id)
            data-name=(node.name) {
            span.label title=(node.name) {
                (short)
                @if let Some(what) = subject(node) { " " b { (what) } }
                @if failed { span.badge.mark { "failed" } }
                @if node.subagent.is_some() { span.badge { "subagent" } }
                @if node.orphan { span.badge title="its parent span has not arrived" { "orphan" } }
                @if let Some(guard) = node.guard.as_ref().and_then(|g| g.decision.as_deref()).filter(|d| *d != "allow") {
                    span.badge.mark { "guard: " (guard) }
                }
            }
            span.track {
                span.bar style=(format!("left:{left:.3}%;width:{width:.3}%")) title=(tooltip(node)) {}
            }
            span.figures { (figures(node)) }
        }
    }
}

/// What a span is about: the tool, the model, the permission decision.
fn subject(node: &SpanNode) -> Option<String> {
    match node.name.as_str() {
        "claude_code.llm_request" => node.text("model").map(str::to_owned),
        "claude_code.tool" => node
            .text("tool_name")
            .map(|tool| match node.text("bash_argv0") {
                Some(program) => format!("{tool} ({program})"),
                None => tool.to_owned(),
            }),
        "claude_code.tool.blocked_on_user" => node.text("decision").map(str::to_owned),
        _ => None,
    }
}

/// The figures at the end of a row.
fn figures(node: &SpanNode) -> String {
    let mut parts = vec![seconds(node.duration_ms)];
    if let Some(ttft) = node.number("ttft_ms") {
        parts.push(format!("TTFT {}", seconds(ttft)));
    }
    let tokens: f64 = [
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_creation_tokens",
    ]
    .iter()
    .filter_map(|key| node.number(key))
    .sum();
    if tokens > 0.0 {
        parts.push(format!("{} tok", count(tokens as u64)));
    }
    if let Some(cost) = node.cost_usd {
        parts.push(money(cost));
    }
    parts.join(" · ")
}

/// Everything known about a span, for the bar's tooltip.
fn tooltip(node: &SpanNode) -> String {
    let mut lines = vec![format!("{} — {}", node.name, seconds(node.duration_ms))];
    lines.push(format!("starts at +{}", seconds(node.offset_ms)));
    for key in [
        "model",
        "tool_name",
        "full_command",
        "file_path",
        "stop_reason",
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_creation_tokens",
        "ttft_ms",
        "decision",
        "source",
        "error.type",
        "error_class",
        "agent_id",
    ] {
        if let Some(value) = node.attributes.get(key) {
            let value = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            lines.push(format!("{key}: {value}"));
        }
    }
    if !node.status_message.is_empty() {
        lines.push(format!("status: {}", node.status_message));
    }
    lines.join("\n")
}

/// Milliseconds as the page writes durations: `850 ms`, `1.25 s`, `2m 05s`.
pub(super) fn seconds(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else if ms < 60_000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        let s = (ms / 1000.0).round() as u64;
        format!("{}m {:02}s", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(name: &str, offset: f64, duration: f64, attributes: serde_json::Value) -> SpanNode {
        SpanNode {
            span_id: format!("{:016x}", offset as u64),
            parent_span_id: None,
            orphan: false,
            name: name.to_owned(),
            kind: 1,
            start_time_unix_nano: "0".to_owned(),
            end_time_unix_nano: "0".to_owned(),
            offset_ms: offset,
            duration_ms: duration,
            status: "UNSET",
            status_message: String::new(),
            subagent: None,
            cost_usd: None,
            guard: None,
            attributes: attributes.as_object().cloned().unwrap_or_default(),
            events: Vec::new(),
            links: Vec::new(),
            elided: Vec::new(),
            children: Vec::new(),
        }
    }

    #[test]
    fn rows_nest_mark_failures_and_escape_what_spans_say() {
        let mut root = node(
            "claude_code.interaction",
            0.0,
            1000.0,
            json!({"interaction.sequence": 1}),
        );
        let mut tool = node(
            "claude_code.tool",
            100.0,
            400.0,
            json!({"tool_name": "<script>x</script>"}),
        );
        let mut execution = node("claude_code.tool.execution", 150.0, 300.0, json!({}));
        execution.status = "ERROR";
        let mut sub = node(
            "claude_code.llm_request",
            600.0,
            400.0,
            json!({"model": "m", "ttft_ms": 120, "input_tokens": 1000, "output_tokens": 80}),
        );
        sub.subagent = Some("agent-1".to_owned());
        sub.cost_usd = Some(0.0125);
        execution.children.push(sub);
        tool.children.push(execution);
        root.children.push(tool);
        let traces = SessionTraces {
            session_id: "s".to_owned(),
            traces: vec![Trace {
                trace_id: "ab".repeat(16),
                prompt_id: Some("p-1".to_owned()),
                start_time_unix_nano: "0".to_owned(),
                end_time_unix_nano: "1000000000".to_owned(),
                duration_ms: 1000.0,
                span_count: 4,
                error_count: 1,
                cost_usd: 0.0125,
                roots: vec![root],
            }],
            truncated: false,
        };
        let html = section(&traces).into_string();
        assert!(!html.contains("<script>x"), "{html}");
        assert!(html.contains("Prompt 1"));
        let rows: Vec<&str> = html.split("<li").skip(1).collect();
        assert_eq!(rows.len(), 4);
        assert!(rows[1].contains("--depth:1") && rows[3].contains("--depth:3"));
        assert!(rows[2].contains("class=\"failed\"") && rows[2].contains(">failed<"));
        assert!(rows[3].contains("class=\"subagent\""));
        assert!(
            rows[3].contains("left:60.000%;width:40.000%"),
            "{}",
            rows[3]
        );
        assert!(
            rows[3].contains("TTFT 120 ms")
                && rows[3].contains("1,080 tok")
                && rows[3].contains("$0.01")
        );
    }

    #[test]
    fn a_long_session_draws_its_latest_traces() {
        let trace = |i: usize| Trace {
            trace_id: format!("{i:032x}"),
            prompt_id: None,
            start_time_unix_nano: i.to_string(),
            end_time_unix_nano: i.to_string(),
            duration_ms: 1.0,
            span_count: 1,
            error_count: 0,
            cost_usd: 0.0,
            roots: vec![node("claude_code.interaction", 0.0, 1.0, json!({}))],
        };
        let traces = SessionTraces {
            session_id: "a b".to_owned(),
            traces: (0..25).map(trace).collect(),
            truncated: false,
        };
        let html = section(&traces).into_string();
        assert_eq!(html.matches("<article").count(), TRACES_SHOWN);
        assert!(html.contains("5 earlier traces"), "{html}");
        assert!(html.contains("Trace 25") && !html.contains("Trace 5<"));
        assert!(html.contains("../api/v1/sessions/a%20b/traces"));
    }

    #[test]
    fn durations_read_like_durations() {
        assert_eq!(seconds(850.4), "850 ms");
        assert_eq!(seconds(1250.0), "1.25 s");
        assert_eq!(seconds(125_000.0), "2m 05s");
    }
}
