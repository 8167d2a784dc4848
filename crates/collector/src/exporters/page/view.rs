//! HTML for the built-in page: plain server-rendered tables, inline SVG charts, one
//! stylesheet and a few lines of script, all in the binary.
//!
//! Written with maud: the markup is Rust, compiled into the binary and checked by the
//! compiler, and every value spliced into it is escaped by construction. The only markup
//! not escaped is this file's own stylesheet and script (`PreEscaped`).

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::overview::Overview;
use super::range::{self, Range};
use crate::event::Source;
use crate::query::{Filter, SessionSummary, TOOL_CALL_EVENTS, TimelineEntry, ToolCall, UsageRow};

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
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
td.num, th.num { text-align: right; }
td.num { white-space: nowrap; } th { overflow-wrap: normal; }
td.detail { font-family: ui-monospace, monospace; font-size: 12px; }
@media (max-width: 40rem) { body { padding: .5rem; } th, td { padding: .25rem .3rem; } .wide { display: none; } }
tr.deny td, p.deny { color: var(--deny); }
svg { width: 100%; height: auto; max-height: 14rem; }
svg .bar { fill: var(--accent); } svg text { fill: currentColor; font-size: 11px; }
a { color: inherit; }
dl.summary { display: grid; grid-template-columns: repeat(auto-fit, minmax(12rem, 1fr)); gap: .4rem 1.5rem; margin: 1rem 0 0; }
dl.summary dt { color: var(--muted); font-size: 12px; } dl.summary dd { margin: 0; overflow-wrap: anywhere; }
details > summary { cursor: pointer; margin: 1.6rem 0 .5rem; font-weight: 600; }
.meter { position: relative; height: .6rem; margin-top: .2rem; max-width: 16rem; background: var(--line); border-radius: .35rem; overflow: hidden; }
.meter span { position: absolute; top: 0; bottom: 0; left: 0; }
.meter .projected { background: var(--accent); opacity: .35; } .meter .spent { background: var(--accent); }
.meter.over .spent, .meter.over .projected { background: var(--deny); }
"#;

/// Refreshes `<main>` from the same URL every few seconds: new events appear without a
/// reload, and without JavaScript the page is the same tables, current when loaded. The
/// pause grows with how long the collector took to answer, so a large store is asked
/// less often.
pub(super) const SCRIPT: &str = r##"
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
        // The live list is the stream's, not the server's: keep it as it is.
        var kept = main && main.querySelector("#live"), slot = next && next.querySelector("#live");
        if (kept && slot) slot.replaceWith(kept.cloneNode(true));
        // A section a person opened or closed stays so.
        if (main && next) main.querySelectorAll("details[id]").forEach(function (shown) {
          var fresh = next.querySelector("#" + shown.id);
          if (fresh) fresh.open = shown.open;
        });
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

  // The live list: each event as it is stored (server-sent events), newest first.
  if (document.getElementById("live") && window.EventSource) {
    // Every filter of the page but the model, which the stream cannot apply.
    var wanted = new URLSearchParams(location.search);
    wanted.delete("model");
    var stream = new EventSource("api/v1/events/stream?" + wanted.toString());
    stream.onopen = function () { document.body.dataset.live = "open"; };
    // A page left closes its stream: a browser holds a few connections to a host, and
    // the collector max_connections, so streams of pages gone must not keep them.
    window.addEventListener("pagehide", function () { stream.close(); });
    stream.addEventListener("event", function (message) {
      var e = JSON.parse(message.data);
      var body = document.querySelector("#live tbody");
      if (!body) return;
      var empty = body.querySelector("td.muted");
      if (empty) empty.parentElement.remove();
      var row = document.createElement("tr");
      if (e.decision === "deny") row.className = "deny";
      var time = new Date(e.ts_ms).toISOString().slice(0, 19).replace("T", " ");
      [time, e.user, e.project, e.name, e.tool, e.decision].forEach(function (text) {
        var cell = document.createElement("td");
        cell.textContent = text;
        row.appendChild(cell);
      });
      body.insertBefore(row, body.firstChild);
      while (body.rows.length > 50) body.deleteRow(-1);
    });
  }
})();
"##;

/// Percent-encodes a path segment.
pub(crate) fn segment(text: &str) -> String {
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

/// US dollars as the page shows money everywhere: to the cent, thousands separated
/// (`$1,234.57`); an amount above zero that rounds to no cent reads `<$0.01`, so a
/// little spending never looks like none.
pub(crate) fn money(usd: f64) -> String {
    let usd = usd.max(0.0);
    let cents = (usd * 100.0).round() as u64;
    if cents == 0 && usd > 0.0 {
        return "<$0.01".to_owned();
    }
    format!("${}.{:02}", count(cents / 100), cents % 100)
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

pub(crate) fn time(ms: i64) -> String {
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

/// Days a window may span and still have a bar for each of them, quiet ones too.
const CHART_DAYS: i64 = 92;
/// Rows of the table of cost by model per day the page shows at most (the most recent
/// days); the rest are in `/api/v1/usage?by=day&breakdown=true`.
const DAY_MODEL_ROWS: usize = 50;

/// A whole page; `refresh` adds the script that keeps it current.
fn page(title: &str, main: Markup, refresh: bool) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                main { (main) }
                @if refresh {
                    script { (PreEscaped(SCRIPT)) }
                }
            }
        }
    }
    .into_string()
}

fn card(id: &str, label: &str, value: &str) -> Markup {
    html! {
        div.card {
            div.muted { (label) }
            div.figure data-figure=(id) { (value) }
        }
    }
}

/// A table row: its class (`deny` for blocked calls) and its cells.
pub(super) struct Row {
    class: Option<&'static str>,
    cells: Vec<Markup>,
}

impl Row {
    pub(super) fn of(cells: Vec<Markup>) -> Row {
        Row { class: None, cells }
    }
}

/// A table with a header row; `numeric` columns are right-aligned, `detail` and `input`
/// columns in a monospace font; text wraps wherever it must, so the table never
/// overflows its container.
pub(super) fn table(id: &str, headers: &[&str], numeric: &[usize], rows: &[Row]) -> Markup {
    table_keeping(id, headers, numeric, &[], rows)
}

/// [`table`], with the `wide_only` columns left out on a narrow screen, so the key
/// columns keep their room.
fn table_keeping(
    id: &str,
    headers: &[&str],
    numeric: &[usize],
    wide_only: &[usize],
    rows: &[Row],
) -> Markup {
    let class = |i: usize| {
        let mut classes = Vec::new();
        if numeric.contains(&i) {
            classes.push("num");
        } else if matches!(headers.get(i), Some(&"detail" | &"input")) {
            classes.push("detail");
        }
        if wide_only.contains(&i) {
            classes.push("wide");
        }
        (!classes.is_empty()).then(|| classes.join(" "))
    };
    html! {
        div.scroll {
            table id=(id) {
                thead {
                    tr {
                        @for (i, header) in headers.iter().enumerate() {
                            th class=[class(i)] { (header) }
                        }
                    }
                }
                tbody {
                    @if rows.is_empty() {
                        tr { td colspan=(headers.len()) class="muted" { "nothing yet" } }
                    }
                    @for row in rows {
                        tr class=[row.class] {
                            @for (i, cell) in row.cells.iter().enumerate() {
                                td class=[class(i)] { (cell) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Vertical bars with labels under them, scaled to the largest value.
fn bars(id: &str, title: &str, points: &[(String, f64, String)]) -> Markup {
    let width = 640.0;
    let height = 180.0;
    let max = points.iter().map(|(_, v, _)| *v).fold(0.0_f64, f64::max);
    let slot = width / points.len().max(1) as f64;
    let view_box = format!("0 0 {width} {}", height + 34.0);
    // Labels fit about 12 to the width: past that, every n-th label, and the values
    // only in each bar's title (shown on hover), or they run into each other.
    let step = points.len().div_ceil(12).max(1);
    html! {
        svg id=(id) viewBox=(view_box) role="img" aria-label=(title) {
            @for (i, (label, value, shown)) in points.iter().enumerate() {
                @let h = if max > 0.0 { value / max * (height - 16.0) } else { 0.0 };
                @let x = i as f64 * slot + slot * 0.15;
                @let w = slot * 0.7;
                rect class="bar" x=(format!("{x:.1}")) y=(format!("{:.1}", height - h))
                    width=(format!("{w:.1}")) height=(format!("{h:.1}")) {
                    title { (label) " " (shown) }
                }
                @if step == 1 {
                    text x=(format!("{:.1}", x + w / 2.0)) y=(format!("{:.1}", height - h - 3.0))
                        text-anchor="middle" { (shown) }
                }
                @if i % step == 0 {
                    text x=(format!("{:.1}", x + w / 2.0)) y=(format!("{:.1}", height + 16.0))
                        text-anchor="middle" { (label) }
                }
            }
        }
    }
}

pub(super) fn text(value: impl AsRef<str>) -> Markup {
    html! { (value.as_ref()) }
}

/// The overview's address showing what `filter` admits over `range`.
fn address(filter: &Filter, range: &Range) -> String {
    let mut pairs: Vec<(&str, &str)> = [
        ("user", filter.user.as_deref()),
        ("project", filter.project.as_deref()),
        ("model", filter.model.as_deref()),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.map(|v| (name, v)))
    .collect();
    pairs.extend(range.params());
    if pairs.is_empty() {
        return "./".to_owned();
    }
    let query: Vec<String> = pairs
        .iter()
        .map(|(name, value)| format!("{name}={}", segment(value)))
        .collect();
    format!("?{}", query.join("&"))
}

/// A name that narrows the overview to it (over the same range) when clicked.
pub(super) fn filter_link(data: &Overview, key: &str, value: &str) -> Markup {
    if value.is_empty() || value == "unknown" {
        return text(value);
    }
    let mut filter = data.filter.clone();
    let field = match key {
        "user" => &mut filter.user,
        "project" => &mut filter.project,
        _ => &mut filter.model,
    };
    *field = Some(value.to_owned());
    html! { a.filter href=(address(&filter, &data.range)) { (value) } }
}

/// When each source last sent something.
fn last_seen(data: &Overview) -> Markup {
    let seen = &data.last_seen;
    let sources = [
        ("hooks", seen.hooks),
        ("OTLP metrics", seen.otlp_metrics),
        ("OTLP logs", seen.otlp_logs),
        ("traces", seen.traces),
    ];
    html! {
        p.muted id="last-seen" {
            "Last received: "
            @for (i, (name, at)) in sources.into_iter().enumerate() {
                @if i > 0 { " · " }
                (name) " "
                span data-source=(name) { (at.map_or_else(|| "never".to_owned(), |ms| format!("{} UTC", time(ms)))) }
            }
        }
    }
}

/// The ranges to switch to, the one shown marked, and a form for a custom one; each
/// keeps the filters.
fn range_switch(data: &Overview) -> Markup {
    let filter = &data.filter;
    html! {
        nav id="range" aria-label="date range" {
            @for (name, label) in range::CHOICES {
                @if data.range.name == name {
                    strong aria-current="page" { (label) }
                } @else {
                    a href=(address(filter, &Range::named(name))) { (label) }
                }
                " · "
            }
            form method="get" action="./" {
                @for (name, value) in [("user", &filter.user), ("project", &filter.project), ("model", &filter.model)] {
                    @if let Some(value) = value { input type="hidden" name=(name) value=(value); }
                }
                label { "since " input type="text" name="since" size="10" placeholder="2026-11-01 or 3d" value=[data.range.since.as_deref()]; }
                " "
                label { "until " input type="text" name="until" size="10" placeholder="now" value=[data.range.until.as_deref()]; }
                " "
                button type="submit" { "show" }
            }
        }
    }
}

fn usage_rows(rows: &[UsageRow], data: &Overview, key: &str) -> Vec<Row> {
    rows.iter()
        .map(|r| {
            Row::of(vec![
                filter_link(data, key, &r.key),
                text(count(r.sessions)),
                text(count(r.requests)),
                text(count(tokens(r))),
                text(money(r.cost_usd)),
            ])
        })
        .collect()
}

/// The overview page.
pub(crate) fn overview(data: &Overview) -> String {
    let total = &data.total;
    let span = data.range.label();
    // Every day the window touches, quiet ones too: the bars add up to the cards (the
    // first day is counted from the window's start); a window longer than a chart can
    // show (a custom one) has a bar for each day with usage.
    let window_days = (data.window.until_ms - data.window.since_ms) / crate::query::DAY_MS;
    let days_shown = if window_days <= CHART_DAYS {
        data.window.days()
    } else {
        data.by_day.iter().map(|r| r.key.clone()).collect()
    };
    let days: Vec<(String, f64, String)> = days_shown
        .into_iter()
        .map(|day| {
            let cost = data
                .by_day
                .iter()
                .find(|r| r.key == day)
                .map_or(0.0, |r| r.cost_usd);
            (day.get(5..).unwrap_or(&day).to_owned(), cost, money(cost))
        })
        .collect();
    let kinds: Vec<(String, f64, String)> = [
        ("input", total.input_tokens),
        ("output", total.output_tokens),
        ("cache read", total.cache_read_tokens),
        ("cache write", total.cache_creation_tokens),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), *v as f64, count(*v)))
    .collect();
    let usage_headers = |first| [first, "sessions", "requests", "tokens", "cost"];
    let sessions: Vec<Row> = data
        .sessions
        .iter()
        .map(|s| {
            let link = html! { a href={ "sessions/" (segment(&s.session_id)) } { (s.session_id) } };
            Row::of(vec![
                link,
                filter_link(data, "user", &s.user),
                filter_link(data, "project", &s.project),
                text(time(s.start_ms)),
                text(duration(s.duration_ms)),
                text(count(s.usage.prompts)),
                text(count(s.usage.tool_calls)),
                text(money(s.usage.cost_usd)),
                text(count(s.usage.blocks)),
            ])
        })
        .collect();
    let costliest: Vec<Row> = data
        .costliest
        .iter()
        .map(|s| {
            let link = html! { a href={ "sessions/" (segment(&s.key)) } { (s.key) } };
            let or_blank = |value: &Option<String>| value.clone().unwrap_or_default();
            Row::of(vec![
                link,
                filter_link(data, "user", &or_blank(&s.user)),
                filter_link(data, "project", &or_blank(&s.project)),
                text(s.start_ms.map(time).unwrap_or_default()),
                text(money(s.cost_usd)),
            ])
        })
        .collect();
    // Most recent day first: the last weeks of a long range are the ones shown.
    let day_models: Vec<Row> = data
        .by_day
        .iter()
        .rev()
        .flat_map(|day| {
            // A model the day only prompted or ran tools under has nothing to show here.
            let used =
                |m: &&crate::query::UsageRow| m.requests > 0 || tokens(m) > 0 || m.cost_usd > 0.0;
            day.models.iter().filter(used).map(|m| {
                Row::of(vec![
                    text(&day.key),
                    filter_link(data, "model", &m.key),
                    text(count(m.requests)),
                    text(count(tokens(m))),
                    text(money(m.cost_usd)),
                ])
            })
        })
        .collect();
    let day_models_omitted = day_models.len().saturating_sub(DAY_MODEL_ROWS);
    let day_models = &day_models[..day_models.len().min(DAY_MODEL_ROWS)];
    let working: Vec<Row> = data
        .working
        .iter()
        .map(|s| {
            let link = html! { a href={ "sessions/" (segment(&s.session_id)) } { (s.session_id) } };
            Row::of(vec![
                filter_link(data, "user", &s.user),
                filter_link(data, "project", &s.project),
                text(&s.last_tool),
                text(money(s.usage.cost_usd)),
                text(time(s.last_ms)),
                link,
            ])
        })
        .collect();
    let tools: Vec<Row> = data
        .tools
        .iter()
        .map(|t| {
            Row::of(vec![
                text(&t.tool),
                text(count(t.calls)),
                text(count(t.failures)),
                text(count(t.blocks)),
                text(millis(t.p50_ms)),
                text(millis(t.p95_ms)),
            ])
        })
        .collect();
    let api: Vec<Row> = data
        .api
        .iter()
        .map(|a| {
            Row::of(vec![
                text(&a.model),
                text(count(a.requests)),
                text(count(a.errors)),
                text(millis(a.p50_ms)),
                text(millis(a.p95_ms)),
            ])
        })
        .collect();
    let blocked: Vec<Row> = data
        .blocked
        .iter()
        .map(|b| Row {
            class: Some("deny"),
            cells: std::iter::once(session_link(
                &b.session_id,
                // The audit's RFC 3339 time, shown like every other time here.
                &crate::time::parse_instant(&b.time, 0).map_or_else(|_| b.time.clone(), time),
            ))
            .chain(
                [&b.user, &b.tool, &b.rule, &b.reason, &b.input]
                    .into_iter()
                    .map(text),
            )
            .collect(),
        })
        .collect();
    let main = html! {
        header {
            h1 { "claude-telemetry" }
            span.muted { "as of " (time(data.now_ms)) " UTC · refreshes itself" }
        }
        @if !data.filter.is_everything() {
            p id="filter" {
                "Showing only "
                @for (name, value) in [("user", &data.filter.user), ("project", &data.filter.project), ("model", &data.filter.model)] {
                    @if let Some(value) = value { (name) " " strong { (value) } " " }
                }
                "· " a href=(address(&Filter::default(), &data.range)) { "everyone" }
            }
        }
        @if data.last_seen.is_empty() {
            section id="empty" {
                h2 { "Nothing has arrived yet" }
                p {
                    "To send Claude Code's hooks and telemetry here, run "
                    code { "claude-telemetry install" }
                    " (with " code { "--dry-run" } " it shows what it would change) and start a new Claude Code session. "
                    "Then " code { "claude-telemetry doctor" } " checks every part and says how to fix what fails."
                }
            }
        }
        @if data.last_seen.has_telemetry() && data.last_seen.hooks.is_none() {
            p id="no-hooks" {
                "Prompts, tool calls, blocks and who did what come from Claude Code's hooks, and none has arrived: Claude Code's telemetry alone does not say them. "
                code { "claude-telemetry install" } " adds the hooks (and the guard); " code { "claude-telemetry doctor" } " checks them."
            }
        }
        @if !data.last_seen.is_empty() && !data.last_seen.has_telemetry() {
            p id="no-cost" {
                "Cost and tokens come from Claude Code's own telemetry (OpenTelemetry), and none has arrived: hook events do not carry them. "
                code { "claude-telemetry install" } " turns it on; " code { "claude-telemetry doctor" } " checks it."
            }
        }
        (last_seen(data))
        (range_switch(data))
        div.cards {
            @if data.last_seen.has_telemetry() {
                (card("cost-range", &format!("cost, {span}"), &money(total.cost_usd)))
                (card("tokens-range", &format!("tokens, {span}"), &count(tokens(total))))
            } @else {
                (card("cost-range", &format!("cost, {span}"), "–"))
                (card("tokens-range", &format!("tokens, {span}"), "–"))
            }
            (card("sessions-range", &format!("sessions, {span}"), &count(total.sessions)))
            (card("blocks-range", &format!("blocked, {span}"), &count(total.blocks)))
            (card(
                "cache-hit-range",
                &format!("cache hit rate, {span}"),
                &total.cache_hit_rate().map_or_else(|| "–".to_owned(), |rate| format!("{:.1}%", rate * 100.0)),
            ))
        }
        (super::budgets::panel(data))
        div.grid {
            section {
                h2 { "Cost by day" }
                (bars("chart-cost-by-day", "cost by day", &days))
            }
            section {
                h2 { "Tokens by type, " (span) }
                (bars("chart-tokens-by-type", "tokens by type", &kinds))
            }
        }
        h2 { "Cost by model per day" }
        (table("cost-by-model-by-day", &["day", "model", "requests", "tokens", "cost"], &[2, 3, 4], day_models))
        (omitted(day_models_omitted, "api/v1/usage?by=day&breakdown=true"))
        div.grid {
            section {
                h2 { "By model, " (span) }
                (table("by-model", &usage_headers("model"), &[1, 2, 3, 4], &usage_rows(&data.by_model, data, "model")))
                (omitted(data.omitted.by_model, "api/v1/usage?by=model"))
            }
            section {
                h2 { "By user, " (span) }
                (table("by-user", &usage_headers("user"), &[1, 2, 3, 4], &usage_rows(&data.by_user, data, "user")))
                (omitted(data.omitted.by_user, "api/v1/usage?by=user"))
            }
            section {
                h2 { "By project, " (span) }
                (table("by-project", &usage_headers("project"), &[1, 2, 3, 4], &usage_rows(&data.by_project, data, "project")))
                (omitted(data.omitted.by_project, "api/v1/usage?by=project"))
            }
        }
        h2 { "Working now" }
        (table_keeping(
            "working",
            &["user", "project", "last tool", "cost so far", "last event", "session"],
            &[3],
            &[4, 5],
            &working,
        ))
        (omitted(data.omitted.working, "api/v1/overview"))
        h2 {
            "Live"
            @if data.filter.model.is_some() {
                " " span.muted { "(every model: hook events do not say which model a session uses)" }
            }
        }
        (table("live", &["time", "user", "project", "event", "tool", "decision"], &[], &[]))
        h2 { "Sessions" }
        (table_keeping(
            "sessions",
            &["session", "user", "project", "start", "duration", "prompts", "tool calls", "cost", "blocks"],
            &[5, 6, 7, 8],
            &[3, 4, 5, 6],
            &sessions,
        ))
        h2 { "Most expensive sessions, " (span) }
        (table_keeping(
            "costliest",
            &["session", "user", "project", "start", "cost"],
            &[4],
            &[3],
            &costliest,
        ))
        div.grid {
            section {
                h2 { "Tools, " (span) }
                (table("tools", &["tool", "calls", "failed", "blocked", "p50", "p95"], &[1, 2, 3, 4, 5], &tools))
                (omitted(data.omitted.tools, "api/v1/overview"))
            }
            section {
                h2 { "API, " (span) }
                (table("api", &["model", "requests", "errors", "p50", "p95"], &[1, 2, 3, 4], &api))
                (omitted(data.omitted.api, "api/v1/overview"))
            }
        }
        h2 { "Blocked operations" }
        (table("blocked", &["time", "user", "tool", "rule", "reason", "input"], &[], &blocked))
        (omitted(data.omitted.blocked, "api/v1/audit"))
    };
    page("claude-telemetry", main, true)
}

/// `label` linking to a session's page (plain text when the event named no session).
fn session_link(session_id: &str, label: &str) -> Markup {
    html! {
        @if session_id.is_empty() { (label) } @else { a href={ "sessions/" (segment(session_id)) } { (label) } }
    }
}

/// How many rows a table of the overview left out, and where they all are.
fn omitted(rows: usize, all_in: &str) -> Markup {
    html! {
        @if rows > 0 {
            p.muted.omitted { (count(rows as u64)) " more rows: " a href=(all_in) { (all_in) } }
        }
    }
}

/// Claude Code's OTLP events a person reads in a session's timeline; its other events
/// (plugins loaded, settings resolved, hooks run, each tool call's own bookkeeping) are
/// folded away, and the tool calls have a table of their own.
const TIMELINE_EVENTS: [&str; 3] = ["user_prompt", "api_request", "api_error"];

/// Where a session's event goes on its page.
enum Place {
    /// The tool calls' table shows it.
    ToolCall,
    /// The timeline.
    Timeline,
    /// Folded away: Claude Code's own bookkeeping.
    Internal,
}

fn place(entry: &TimelineEntry) -> Place {
    if entry.source == Source::Hook.as_str() {
        return if TOOL_CALL_EVENTS.contains(&entry.name.as_str()) {
            Place::ToolCall
        } else {
            Place::Timeline
        };
    }
    let name = entry
        .name
        .strip_prefix("claude_code.")
        .unwrap_or(&entry.name);
    if TIMELINE_EVENTS.contains(&name) {
        Place::Timeline
    } else {
        Place::Internal
    }
}

fn timeline_rows<'a>(entries: impl Iterator<Item = &'a TimelineEntry>) -> Vec<Row> {
    entries
        .map(|e| Row {
            class: (e.decision == "deny").then_some("deny"),
            cells: vec![
                text(time(e.ts_ms)),
                text(&e.source),
                text(&e.name),
                text(&e.tool),
                html! {
                    (e.detail)
                    @if let Some(cost) = e.cost_usd { " cost " (money(cost)) }
                },
            ],
        })
        .collect()
}

/// The top of a session's page: who, where, with what, when, and what it cost.
fn summary(summary: &SessionSummary) -> Markup {
    let session = &summary.session;
    let usage = &session.usage;
    let fields: [(&str, &str, String); 6] = [
        ("user", "user", session.user.clone()),
        ("project", "project", session.project.clone()),
        ("models", "models", summary.models.join(", ")),
        ("start", "started", time(session.start_ms)),
        (
            "end",
            if session.ended { "ended" } else { "last event" },
            time(session.last_ms),
        ),
        ("last-tool", "last tool", session.last_tool.clone()),
    ];
    html! {
        dl.summary id="summary" {
            @for (id, label, value) in &fields {
                div { dt { (label) } dd data-field=(id) { (value) } }
            }
        }
        div.cards {
            (card("duration", "duration", &duration(session.duration_ms)))
            (card("cost", "cost", &money(usage.cost_usd)))
            (card("tokens", "tokens", &count(usage.tokens())))
            (card("requests", "API requests", &count(usage.requests)))
            (card("prompts", "prompts", &count(usage.prompts)))
            (card("tool-calls", "tool calls", &count(usage.tool_calls)))
            (card("blocks", "blocked", &count(usage.blocks)))
        }
    }
}

/// One session: its summary, its tool calls, its traces (the waterfall, made
/// elsewhere), its timeline, and Claude Code's internal events folded away.
pub(crate) fn session(
    id: &str,
    about: Option<&SessionSummary>,
    calls: &[ToolCall],
    entries: &[TimelineEntry],
    traces: Markup,
) -> String {
    let call_rows: Vec<Row> = calls
        .iter()
        .map(|call| Row {
            class: matches!(call.outcome.as_str(), "blocked" | "denied").then_some("deny"),
            cells: vec![
                text(time(call.ts_ms)),
                text(&call.tool),
                html! { span data-outcome=(call.outcome) { (call.outcome) } },
                text(
                    call.duration_ms
                        .map_or_else(|| "–".to_owned(), super::waterfall::seconds),
                ),
                text(&call.rule),
                text(&call.input),
            ],
        })
        .collect();
    let timeline = timeline_rows(
        entries
            .iter()
            .filter(|e| matches!(place(e), Place::Timeline)),
    );
    let internal = timeline_rows(
        entries
            .iter()
            .filter(|e| matches!(place(e), Place::Internal)),
    );
    let main = html! {
        header {
            h1 { "Session " (id) }
            a href="../" { "overview" }
        }
        @if let Some(about) = about {
            (summary(about))
        }
        h2 { "Tool calls" }
        (table_keeping("tool-calls", &["time", "tool", "outcome", "duration", "rule", "input"], &[3], &[0, 4], &call_rows))
        (traces)
        h2 { "Timeline" }
        (table_keeping("timeline", &["time", "source", "event", "tool", "detail"], &[], &[1], &timeline))
        details id="internal" {
            summary { "Claude Code's internal events (" (count(internal.len() as u64)) ")" }
            (table_keeping("internal-events", &["time", "source", "event", "tool", "detail"], &[], &[1], &internal))
        }
    };
    page(&format!("session {id}"), main, true)
}

/// The sign-in form of a collector with a token; `next` is where to go afterwards.
pub(crate) fn sign_in(next: &str, message: Option<&str>) -> String {
    let main = html! {
        h1 { "claude-telemetry" }
        p { "This collector asks for its token (" code { "CLAUDE_TELEMETRY_TOKEN" } ")." }
        @if let Some(message) = message {
            p.deny role="alert" { (message) }
        }
        form method="post" action="/login" id="sign-in" {
            input type="hidden" name="next" value=(next);
            label { "Token " input type="password" name="token" autocomplete="current-password" required autofocus; }
            " "
            button type="submit" { "Sign in" }
        }
    };
    // No refreshing script: it would only be refused every few seconds.
    page("sign in", main, false)
}

/// An overview asked for over a range that cannot be read: why, and the way back.
pub(crate) fn bad_range(message: &str) -> String {
    refused("That date range cannot be shown", message)
}

/// An overview address with a parameter the page does not take (a misspelt filter
/// would otherwise show everything as if it were the filtered view).
pub(crate) fn bad_parameter(message: &str) -> String {
    refused("That view cannot be shown", message)
}

fn refused(what: &str, message: &str) -> String {
    let main = html! {
        h1 { "claude-telemetry" }
        p.deny role="alert" id="range-error" { (what) ": " (message) }
        p {
            "Ranges: "
            @for (name, label) in range::CHOICES {
                a href={ "?range=" (name) } { (label) } " · "
            }
            "or " code { "?since=2026-11-01&until=2026-11-08" } " (dates, times, or durations back from now such as " code { "3d" } ")."
        }
    };
    page("bad date range", main, false)
}

/// A session the store does not know.
pub(crate) fn not_found(id: &str) -> String {
    let main = html! {
        h1 { "No session " (id) }
        p { a href="../" { "overview" } }
    };
    page("not found", main, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_data_is_escaped() {
        let page = session(
            "<x>",
            None,
            &[],
            &[TimelineEntry {
                ts_ms: 0,
                source: "hook".into(),
                name: "UserPromptSubmit".into(),
                tool: String::new(),
                decision: String::new(),
                detail: "<img src=x onerror=alert(1)>".into(),
                cost_usd: None,
            }],
            html! {},
        );
        assert!(!page.contains("<img"), "{page}");
        assert!(!page.contains("<x>"), "{page}");
        assert!(
            page.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{page}"
        );
        let form = sign_in("/\"><script>alert(1)</script>", Some("<b>no</b>"));
        assert!(!form.contains("<script>alert"), "{form}");
        assert!(!form.contains("<b>"), "{form}");
        assert!(form.contains("value=\"/&quot;&gt;&lt;script&gt;"), "{form}");
    }

    #[test]
    fn counts_and_dollars_read_like_figures() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(money(0.123_456), "$0.12");
        assert_eq!(money(0.046_367_85), "$0.05");
        assert_eq!(money(1_234.567_8), "$1,234.57");
        assert_eq!(money(1_234_567.004), "$1,234,567.00");
        assert_eq!(money(0.005), "$0.01");
        assert_eq!(money(0.004_9), "<$0.01");
        assert_eq!(money(0.000_001), "<$0.01");
        assert_eq!(money(0.0), "$0.00");
        assert_eq!(money(-3.0), "$0.00", "no cost is negative");
    }
}
