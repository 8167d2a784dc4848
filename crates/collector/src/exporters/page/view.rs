//! HTML for the built-in page: plain server-rendered tables, inline SVG charts, one
//! stylesheet and a few lines of script, all in the binary.

use std::fmt::Write;

use super::overview::Overview;
use crate::query::{TimelineEntry, UsageRow};

pub(super) const STYLE: &str = r#"
:root { color-scheme: light dark; --muted: #6b7280; --line: #d1d5db; --accent: #d97706; --deny: #dc2626; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; padding: 1rem; max-width: 80rem; }
header { display: flex; justify-content: space-between; align-items: baseline; flex-wrap: wrap; gap: .5rem; }
h1 { font-size: 1.3rem; margin: 0; } h2 { font-size: 1.05rem; margin: 1.6rem 0 .5rem; }
.muted { color: var(--muted); }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(9.5rem, 1fr)); gap: .75rem; margin-top: 1rem; }
.card { border: 1px solid var(--line); border-radius: .5rem; padding: .6rem .8rem; }
.card .figure { font-size: 1.5rem; font-variant-numeric: tabular-nums; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(22rem, 1fr)); gap: 0 1.5rem; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); white-space: nowrap; }
td.num, th.num { text-align: right; }
td:first-child { max-width: 18rem; overflow: hidden; text-overflow: ellipsis; }
td.detail { white-space: normal; word-break: break-all; font-family: ui-monospace, monospace; font-size: 12px; }
tr.deny td, p.deny { color: var(--deny); }
svg { width: 100%; height: auto; max-height: 14rem; }
svg .bar { fill: var(--accent); } svg text { fill: currentColor; font-size: 11px; }
a { color: inherit; }
"#;

/// Refreshes `<main>` from the same URL every few seconds: new events appear without a
/// reload, and without JavaScript the page is the same tables, current when loaded. The
/// pause grows with how long the collector took to answer, so a large store is asked
/// less often.
pub(super) const SCRIPT: &str = r#"
(function () {
  var pause = 2000;
  async function refresh() {
    var started = Date.now();
    if (document.hidden) return schedule(started);
    try {
      var response = await fetch(location.href, { cache: "no-store", credentials: "same-origin" });
      if (response.ok) {
        var next = new DOMParser().parseFromString(await response.text(), "text/html").querySelector("main");
        var main = document.querySelector("main");
        if (next && main && next.innerHTML !== main.innerHTML) main.innerHTML = next.innerHTML;
        document.body.dataset.refreshed = String(Date.now());
      }
    } catch (e) {
      /* the collector restarting: try again next time */
    }
    schedule(started);
  }
  function schedule(started) {
    setTimeout(refresh, Math.max(pause, 10 * (Date.now() - started)));
  }
  setTimeout(refresh, pause);
})();
"#;

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a path segment.
fn segment(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Dollars, as the page shows them everywhere.
pub(crate) fn dollars(value: f64) -> String {
    format!("${value:.4}")
}

/// A count with thousands separated.
pub(crate) fn count(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn tokens(row: &UsageRow) -> u64 {
    row.input_tokens + row.output_tokens + row.cache_read_tokens + row.cache_creation_tokens
}

fn time(ms: i64) -> String {
    let at =
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    let text = humantime::format_rfc3339_seconds(at).to_string();
    text.replace('T', " ").trim_end_matches('Z').to_owned()
}

fn duration(ms: i64) -> String {
    let seconds = ms / 1000;
    match seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {}s", s / 60, s % 60),
        s => format!("{}h {}m", s / 3600, (s % 3600) / 60),
    }
}

fn millis(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_owned(), |v| format!("{v:.0} ms"))
}

/// A page that keeps itself current.
fn document(title: &str, main: &str) -> String {
    html_page(title, main, SCRIPT)
}

fn html_page(title: &str, main: &str, script: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head>\
         <body><main>{main}</main><script>{script}</script></body></html>\n",
        escape(title)
    )
}

fn card(out: &mut String, id: &str, label: &str, value: &str) {
    let _ = write!(
        out,
        "<div class=\"card\"><div class=\"muted\">{}</div><div class=\"figure\" data-figure=\"{id}\">{}</div></div>",
        escape(label),
        escape(value)
    );
}

/// A table with a header row; `numeric` columns are right-aligned.
fn table(
    out: &mut String,
    id: &str,
    headers: &[&str],
    numeric: &[usize],
    rows: &[(String, Vec<String>)],
) {
    let _ = write!(out, "<div class=\"scroll\"><table id=\"{id}\"><thead><tr>");
    for (i, h) in headers.iter().enumerate() {
        let class = if numeric.contains(&i) {
            " class=\"num\""
        } else {
            ""
        };
        let _ = write!(out, "<th{class}>{}</th>", escape(h));
    }
    out.push_str("</tr></thead><tbody>");
    if rows.is_empty() {
        let _ = write!(
            out,
            "<tr><td colspan=\"{}\" class=\"muted\">nothing yet</td></tr>",
            headers.len()
        );
    }
    for (class, cells) in rows {
        let _ = write!(out, "<tr class=\"{class}\">");
        for (i, cell) in cells.iter().enumerate() {
            // Cells arrive escaped: some hold a link.
            let class = if numeric.contains(&i) {
                " class=\"num\""
            } else if headers.get(i) == Some(&"detail") || headers.get(i) == Some(&"input") {
                " class=\"detail\""
            } else {
                ""
            };
            let _ = write!(out, "<td{class}>{cell}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
}

/// Vertical bars with labels under them, scaled to the largest value.
fn bars(out: &mut String, id: &str, title: &str, points: &[(String, f64, String)]) {
    let width = 640.0;
    let height = 180.0;
    let max = points.iter().map(|(_, v, _)| *v).fold(0.0_f64, f64::max);
    let slot = width / points.len().max(1) as f64;
    let _ = write!(
        out,
        "<svg id=\"{id}\" viewBox=\"0 0 {width} {}\" role=\"img\" aria-label=\"{}\">",
        height + 34.0,
        escape(title)
    );
    for (i, (label, value, shown)) in points.iter().enumerate() {
        let h = if max > 0.0 {
            value / max * (height - 16.0)
        } else {
            0.0
        };
        let x = i as f64 * slot + slot * 0.15;
        let w = slot * 0.7;
        let _ = write!(
            out,
            "<rect class=\"bar\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{h:.1}\"><title>{} {}</title></rect>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            height - h,
            escape(label),
            escape(shown),
            x + w / 2.0,
            height - h - 3.0,
            escape(shown),
            x + w / 2.0,
            height + 16.0,
            escape(label)
        );
    }
    out.push_str("</svg>");
}

fn usage_rows(rows: &[UsageRow]) -> Vec<(String, Vec<String>)> {
    rows.iter()
        .map(|r| {
            (
                String::new(),
                vec![
                    escape(&r.key),
                    count(r.sessions),
                    count(r.requests),
                    count(tokens(r)),
                    dollars(r.cost_usd),
                ],
            )
        })
        .collect()
}

/// The overview page.
pub(crate) fn overview(data: &Overview) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<header><h1>claude-telemetry</h1><span class=\"muted\">as of {} UTC · refreshes itself</span></header>",
        time(data.now_ms)
    );
    out.push_str("<div class=\"cards\">");
    card(
        &mut out,
        "cost-today",
        "cost today",
        &dollars(data.today.cost_usd),
    );
    card(
        &mut out,
        "tokens-today",
        "tokens today",
        &count(tokens(&data.today)),
    );
    card(
        &mut out,
        "cost-week",
        "cost, 7 days",
        &dollars(data.week.cost_usd),
    );
    card(
        &mut out,
        "tokens-week",
        "tokens, 7 days",
        &count(tokens(&data.week)),
    );
    card(
        &mut out,
        "sessions-week",
        "sessions, 7 days",
        &count(data.week.sessions),
    );
    card(
        &mut out,
        "blocks-week",
        "blocked, 7 days",
        &count(data.week.blocks),
    );
    out.push_str("</div><div class=\"grid\"><section><h2>Cost by day</h2>");
    // Every one of the 7 days, quiet ones too, so the bars line up with the calendar.
    let days: Vec<(String, f64, String)> = (0..7)
        .rev()
        .map(|ago| {
            let day = time(data.now_ms - ago * 86_400_000);
            let day = day.get(..10).unwrap_or(&day);
            let cost = data
                .by_day
                .iter()
                .find(|r| r.key == day)
                .map_or(0.0, |r| r.cost_usd);
            (day.get(5..).unwrap_or(day).to_owned(), cost, dollars(cost))
        })
        .collect();
    bars(&mut out, "chart-cost-by-day", "cost by day", &days);
    out.push_str("</section><section><h2>Tokens by type, 7 days</h2>");
    let w = &data.week;
    let kinds = [
        ("input", w.input_tokens),
        ("output", w.output_tokens),
        ("cache read", w.cache_read_tokens),
        ("cache write", w.cache_creation_tokens),
    ];
    let kinds: Vec<(String, f64, String)> = kinds
        .iter()
        .map(|(k, v)| ((*k).to_owned(), *v as f64, count(*v)))
        .collect();
    bars(&mut out, "chart-tokens-by-type", "tokens by type", &kinds);
    out.push_str("</section></div><div class=\"grid\"><section><h2>By model, 7 days</h2>");
    let headers = ["model", "sessions", "requests", "tokens", "cost"];
    table(
        &mut out,
        "by-model",
        &headers,
        &[1, 2, 3, 4],
        &usage_rows(&data.by_model),
    );
    out.push_str("</section><section><h2>By user, 7 days</h2>");
    let headers = ["user", "sessions", "requests", "tokens", "cost"];
    table(
        &mut out,
        "by-user",
        &headers,
        &[1, 2, 3, 4],
        &usage_rows(&data.by_user),
    );
    out.push_str("</section></div><h2>Sessions</h2>");
    let sessions: Vec<(String, Vec<String>)> = data
        .sessions
        .iter()
        .map(|s| {
            let link = format!(
                "<a href=\"sessions/{}\">{}</a>",
                segment(&s.session_id),
                escape(&s.session_id)
            );
            (
                String::new(),
                vec![
                    link,
                    escape(&s.user),
                    escape(&s.project),
                    time(s.start_ms),
                    duration(s.duration_ms),
                    count(s.usage.prompts),
                    count(s.usage.tool_calls),
                    dollars(s.usage.cost_usd),
                    count(s.usage.blocks),
                ],
            )
        })
        .collect();
    table(
        &mut out,
        "sessions",
        &[
            "session",
            "user",
            "project",
            "start",
            "duration",
            "prompts",
            "tool calls",
            "cost",
            "blocks",
        ],
        &[5, 6, 7, 8],
        &sessions,
    );
    out.push_str("<div class=\"grid\"><section><h2>Tools, 7 days</h2>");
    let tools: Vec<(String, Vec<String>)> = data
        .tools
        .iter()
        .map(|t| {
            (
                String::new(),
                vec![
                    escape(&t.tool),
                    count(t.calls),
                    count(t.failures),
                    count(t.blocks),
                    millis(t.p50_ms),
                    millis(t.p95_ms),
                ],
            )
        })
        .collect();
    table(
        &mut out,
        "tools",
        &["tool", "calls", "failed", "blocked", "p50", "p95"],
        &[1, 2, 3, 4, 5],
        &tools,
    );
    out.push_str("</section><section><h2>API, 7 days</h2>");
    let api: Vec<(String, Vec<String>)> = data
        .api
        .iter()
        .map(|a| {
            (
                String::new(),
                vec![
                    escape(&a.model),
                    count(a.requests),
                    count(a.errors),
                    millis(a.p50_ms),
                    millis(a.p95_ms),
                ],
            )
        })
        .collect();
    table(
        &mut out,
        "api",
        &["model", "requests", "errors", "p50", "p95"],
        &[1, 2, 3, 4],
        &api,
    );
    out.push_str("</section></div><h2>Blocked operations</h2>");
    let blocked: Vec<(String, Vec<String>)> = data
        .blocked
        .iter()
        .map(|b| {
            (
                "deny".to_owned(),
                vec![
                    escape(&b.time),
                    escape(&b.user),
                    escape(&b.tool),
                    escape(&b.rule),
                    escape(&b.reason),
                    escape(&b.input),
                ],
            )
        })
        .collect();
    table(
        &mut out,
        "blocked",
        &["time", "user", "tool", "rule", "reason", "input"],
        &[],
        &blocked,
    );
    document("claude-telemetry", &out)
}

/// One session's timeline.
pub(crate) fn session(id: &str, entries: &[TimelineEntry]) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<header><h1>Session {}</h1><a href=\"../\">overview</a></header>",
        escape(id)
    );
    let rows: Vec<(String, Vec<String>)> = entries
        .iter()
        .map(|e| {
            let class = if e.decision == "deny" { "deny" } else { "" };
            (
                class.to_owned(),
                vec![
                    time(e.ts_ms),
                    escape(&e.source),
                    escape(&e.name),
                    escape(&e.tool),
                    escape(&e.decision),
                    escape(&e.detail),
                ],
            )
        })
        .collect();
    table(
        &mut out,
        "timeline",
        &["time", "source", "event", "tool", "decision", "detail"],
        &[],
        &rows,
    );
    document(&format!("session {id}"), &out)
}

/// The sign-in form of a collector with a token; `next` is where to go afterwards.
pub(crate) fn sign_in(next: &str, message: Option<&str>) -> String {
    let message = message.map_or_else(String::new, |m| {
        format!("<p class=\"deny\" role=\"alert\">{}</p>", escape(m))
    });
    // No refreshing script: it would only be refused every few seconds.
    html_page(
        "sign in",
        &format!(
            "<h1>claude-telemetry</h1>\
             <p>This collector asks for its token (<code>CLAUDE_TELEMETRY_TOKEN</code>).</p>{message}\
             <form method=\"post\" action=\"/login\" id=\"sign-in\">\
             <input type=\"hidden\" name=\"next\" value=\"{}\">\
             <label>Token <input type=\"password\" name=\"token\" autocomplete=\"current-password\" required autofocus></label> \
             <button type=\"submit\">Sign in</button></form>",
            escape(next)
        ),
        "",
    )
}

/// A session the store does not know.
pub(crate) fn not_found(id: &str) -> String {
    document(
        "not found",
        &format!(
            "<h1>No session {}</h1><p><a href=\"../\">overview</a></p>",
            escape(id)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_data_is_escaped() {
        assert_eq!(
            escape("<script>\"a\" & 'b'</script>"),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
        let page = session(
            "<x>",
            &[TimelineEntry {
                ts_ms: 0,
                source: "hook".into(),
                name: "PreToolUse".into(),
                tool: "Bash".into(),
                decision: "deny".into(),
                detail: "<img src=x onerror=alert(1)>".into(),
            }],
        );
        assert!(!page.contains("<img"), "{page}");
        assert!(!page.contains("<x>"), "{page}");
    }

    #[test]
    fn counts_and_dollars_read_like_figures() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(dollars(0.123_456), "$0.1235");
    }
}
