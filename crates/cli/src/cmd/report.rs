//! `claude-telemetry report` and `audit`: the store, or a collector's `/api/v1/`, as
//! tables for people, CSV and JSON.

mod table;

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use collector::query::{
    AuditFilter, AuditRow, Filter, GroupBy, UsageRow, Window, audit, usage, usage_by_model,
};
use collector::time::{now_ms, timestamp};
use serde::de::DeserializeOwned;
use table::{Column, Emphasis, Line, count, money};

use super::process_env;

/// Output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns.
    #[default]
    Table,
    /// A JSON array.
    Json,
    /// CSV with a header.
    Csv,
}

/// Where and when.
#[derive(Debug, Args)]
pub struct Scope {
    /// From (a duration back from now such as `7d`, `24h`, a date `2026-11-01`, or a time
    /// `2026-11-01T09:00:00+02:00`; dates and times without an offset are UTC).
    #[arg(long, default_value = "7d")]
    since: String,
    /// Until, not included (same forms) [default: now].
    #[arg(long)]
    until: Option<String>,
    /// Ask this collector over HTTP (with $CLAUDE_TELEMETRY_TOKEN) [default: $CLAUDE_TELEMETRY_URL, unless a data directory is named].
    #[arg(long, value_name = "URL", conflicts_with = "data_dir")]
    url: Option<String>,
    /// Read the store in this data directory [default: $CLAUDE_TELEMETRY_DATA_DIR, else the collector at $CLAUDE_TELEMETRY_URL, else ~/.local/share/claude-telemetry].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Output as JSON.
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Output as CSV.
    #[arg(long)]
    csv: bool,
    /// Colour in tables: when the output is a terminal and NO_COLOR is unset (`auto`).
    #[arg(long, value_enum, default_value = "auto")]
    color: Colour,
}

/// When tables are coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Colour {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Options of `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    scope: Scope,
    /// Group by.
    #[arg(long, value_enum, default_value = "day")]
    by: By,
    /// Each row's figures by model, inside it.
    #[arg(long)]
    breakdown: bool,
    /// Only this user's usage.
    #[arg(long)]
    user: Option<String>,
    /// Only this project's usage (by name, as the rows by project show it).
    #[arg(long)]
    project: Option<String>,
    /// Only this model's usage.
    #[arg(long)]
    model: Option<String>,
}

/// Groupings of `report`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum By {
    /// Calendar day (UTC).
    Day,
    /// Calendar week (UTC, from Monday), named by its Monday.
    Week,
    /// Calendar month (UTC).
    Month,
    /// Model.
    Model,
    /// User.
    User,
    /// Project.
    Project,
    /// Session, in the order they started, with their user and project.
    Session,
    /// Claude's 5-hour usage windows, as ccusage's `blocks`, each user's own: one opens at
    /// the hour of the user's first activity and lasts 5 hours; the open one with its
    /// projected cost.
    Block,
}

impl By {
    fn group(self) -> GroupBy {
        match self {
            By::Day => GroupBy::Day,
            By::Week => GroupBy::Week,
            By::Month => GroupBy::Month,
            By::Model => GroupBy::Model,
            By::User => GroupBy::User,
            By::Project => GroupBy::Project,
            By::Session => GroupBy::Session,
            By::Block => GroupBy::Block,
        }
    }
}

/// Options of `audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    scope: Scope,
    /// Include allowed calls too (by default: denied and asked).
    #[arg(long)]
    all: bool,
    /// Only this user.
    #[arg(long)]
    user: Option<String>,
    /// Only rules starting with this (`rm.`, `env.read`).
    #[arg(long)]
    rule: Option<String>,
}

impl Scope {
    fn window(&self) -> Result<Window> {
        let window = Window::parse(Some(&self.since), self.until.as_deref(), now_ms())?;
        if window.is_empty() {
            bail!("--since must be before --until");
        }
        Ok(window)
    }

    /// Where the figures come from: the collector named by `--url` or
    /// `$CLAUDE_TELEMETRY_URL`, unless a data directory is named (`--data-dir`,
    /// `$CLAUDE_TELEMETRY_DATA_DIR`); else the local store.
    fn origin(&self) -> Result<Origin> {
        let named = |name: &str| process_env(name).filter(|v| !v.trim().is_empty());
        if let Some(url) = &self.url {
            return Ok(Origin::collector(url));
        }
        let dir = match self
            .data_dir
            .clone()
            .or_else(|| named("CLAUDE_TELEMETRY_DATA_DIR").map(PathBuf::from))
        {
            Some(dir) => dir,
            None => match named("CLAUDE_TELEMETRY_URL") {
                Some(url) => return Ok(Origin::collector(&url)),
                None => super::default_data_dir()
                    .context("no data directory: pass --data-dir or --url, or set HOME")?,
            },
        };
        if !collector::store::database_path(&dir).exists() {
            bail!(
                "no event store in {}: start the collector (claude-telemetry serve), pass --data-dir, \
                 or name a running collector with --url or CLAUDE_TELEMETRY_URL",
                dir.display()
            );
        }
        Ok(Origin::Store(dir))
    }

    /// Whether tables are coloured.
    fn colour(&self) -> bool {
        match self.color {
            Colour::Always => true,
            Colour::Never => false,
            Colour::Auto => {
                std::io::stdout().is_terminal()
                    && process_env("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        }
    }

    fn format(&self) -> Format {
        if self.json {
            Format::Json
        } else if self.csv {
            Format::Csv
        } else {
            Format::Table
        }
    }
}

/// Where `report` and `audit` read: a collector over HTTP, or a store on this machine.
enum Origin {
    /// A collector's `/api/v1/`, with the bearer token when there is one.
    Collector { url: String, token: Option<String> },
    /// A data directory.
    Store(PathBuf),
}

impl Origin {
    fn collector(url: &str) -> Origin {
        let url = url.trim().trim_end_matches('/');
        let url = if url.contains("://") {
            url.to_owned()
        } else {
            format!("http://{url}")
        };
        Origin::Collector {
            url,
            token: process_env("CLAUDE_TELEMETRY_TOKEN").filter(|t| !t.is_empty()),
        }
    }

    /// Every row of `GET {path}?{query}` of the collector: its pages one after the
    /// other, following each answer's `Link: <…>; rel="next"`.
    fn get_all<T: DeserializeOwned>(
        url: &str,
        token: Option<&str>,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Vec<T>> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(std::time::Duration::from_secs(30)))
            .http_status_as_error(false)
            .proxy(None)
            .build()
            .into();
        let mut rows = Vec::new();
        let mut request = agent.get(format!("{url}{path}"));
        for (key, value) in query {
            request = request.query(*key, value);
        }
        // A collector pages at 1,000 rows; a bound on the pages ends a loop a broken
        // server could make.
        for _ in 0..100_000 {
            if let Some(token) = token {
                request = request.header("Authorization", format!("Bearer {token}"));
            }
            let mut response = request.call().with_context(|| {
                format!(
                    "cannot reach the collector at {url} (pass --data-dir to read a local store)"
                )
            })?;
            let status = response.status();
            let next = response
                .headers()
                .get_all("link")
                .iter()
                .filter_map(|value| value.to_str().ok())
                .find_map(next_link);
            let body = response
                .body_mut()
                .read_to_string()
                .with_context(|| format!("reading the answer of {url}{path}"))?;
            match status.as_u16() {
                200 => rows.extend(serde_json::from_str::<Vec<T>>(&body).with_context(|| {
                    format!("{url}{path} did not answer with the expected JSON")
                })?),
                401 => bail!(
                    "the collector at {url} wants its token: set CLAUDE_TELEMETRY_TOKEN to the collector's token"
                ),
                _ => bail!("the collector at {url} answered {status}: {}", body.trim()),
            }
            match next {
                // The collector's links are its own paths; this client talks to it alone.
                Some(next) if next.starts_with('/') => request = agent.get(format!("{url}{next}")),
                Some(next) => bail!("the collector at {url} linked elsewhere: {next}"),
                None => return Ok(rows),
            }
        }
        bail!("the collector at {url} sent more pages than any store holds")
    }
}

/// The target of a `Link` header value's `rel="next"` link.
fn next_link(value: &str) -> Option<String> {
    value.split(',').find_map(|link| {
        let (target, params) = link.trim().split_once(';')?;
        let next = params
            .split(';')
            .any(|p| matches!(p.trim(), "rel=\"next\"" | "rel=next"));
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        next.then(|| target.to_owned())
    })
}

/// An instant as the collector's `since`/`until` read it, to the millisecond.
fn instant(ms: i64) -> String {
    let at =
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    humantime::format_rfc3339_millis(at).to_string()
}

/// The window's ends, as query parameters.
fn window_query(window: Window) -> Vec<(&'static str, String)> {
    vec![
        ("since", instant(window.since_ms)),
        ("until", instant(window.until_ms)),
    ]
}

/// Prints `text`; a reader that went away (`| head`) ends the output quietly.
fn emit(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
}

/// RFC 4180 CSV: a header line, then the rows; a field with a comma, a quote or a line
/// break (`\n` or `\r`) is quoted, and text a spreadsheet would run as a formula is
/// kept as text.
fn csv(header: &[&str], rows: &[Vec<String>]) -> Result<String> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    writer.write_record(header)?;
    for row in rows {
        writer.write_record(row.iter().map(|cell| inert(cell)))?;
    }
    let bytes = writer.into_inner().context("writing CSV")?;
    String::from_utf8(bytes).context("CSV of text is text")
}

/// A cell as a spreadsheet takes it: text that starts like a formula (`=`, `+`, `-`,
/// `@`, a tab or a carriage return) gets a leading `'`, so that a user, project or
/// command named by someone else cannot run as one when the file is opened. Numbers are
/// left as they are.
fn inert(cell: &str) -> String {
    let formula = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if formula && cell.parse::<f64>().is_err() {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

/// The terminal's width: `$COLUMNS`, else the width of the terminal the output goes
/// to; none when it goes elsewhere (a file keeps every column).
fn terminal_width() -> Option<usize> {
    process_env("COLUMNS")
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|w| *w > 0)
        .or_else(|| {
            terminal_size::terminal_size_of(std::io::stdout())
                .map(|(terminal_size::Width(w), _)| usize::from(w))
        })
}

/// Runs `report`.
pub fn report(args: &ReportArgs) -> Result<()> {
    let by = args.by.group();
    let filter = Filter {
        user: args.user.clone(),
        project: args.project.clone(),
        model: args.model.clone(),
    };
    let window = args.scope.window()?;
    let rows: Vec<UsageRow> = match args.scope.origin()? {
        Origin::Store(dir) if args.breakdown => usage_by_model(&dir, window, by, &filter)?,
        Origin::Store(dir) => usage(&dir, window, by, &filter)?,
        Origin::Collector { url, token } => {
            let mut query = window_query(window);
            query.push(("by", by.name().to_owned()));
            if args.breakdown {
                query.push(("breakdown", "true".to_owned()));
            }
            query.extend(filter.user.clone().map(|v| ("user", v)));
            query.extend(filter.project.clone().map(|v| ("project", v)));
            query.extend(filter.model.clone().map(|v| ("model", v)));
            let mut rows: Vec<UsageRow> =
                Origin::get_all(&url, token.as_deref(), "/api/v1/usage", &query)?;
            // Every page ends with the whole window's TOTAL: keep the last.
            let total = rows.iter().rposition(|r| r.total);
            let mut at = 0;
            rows.retain(|r| {
                at += 1;
                !r.total || Some(at - 1) == total
            });
            rows
        }
    };
    let text = match args.scope.format() {
        Format::Json => serde_json::to_string_pretty(&rows).context("encoding the report")? + "\n",
        Format::Csv => usage_csv(by, args.breakdown, &rows)?,
        Format::Table => usage_table(by, &rows, terminal_width(), args.scope.colour()),
    };
    emit(&text);
    Ok(())
}

/// The figures of a usage row, as CSV fields: whole numbers, dollars unrounded.
fn figures(r: &UsageRow) -> Vec<String> {
    vec![
        r.sessions.to_string(),
        r.requests.to_string(),
        r.input_tokens.to_string(),
        r.output_tokens.to_string(),
        r.cache_read_tokens.to_string(),
        r.cache_creation_tokens.to_string(),
        r.cost_usd.to_string(),
        r.prompts.to_string(),
        r.tool_calls.to_string(),
        r.blocks.to_string(),
    ]
}

/// Usage as CSV for a spreadsheet: one line per group (per group and model with a
/// breakdown), no TOTAL line, so a column's sum is the total; rows by session carry
/// their user, project and start.
fn usage_csv(by: GroupBy, breakdown: bool, rows: &[UsageRow]) -> Result<String> {
    let mut header = vec![by.name()];
    if by == GroupBy::Session {
        header.extend(["user", "project", "start"]);
    }
    let blocks = by == GroupBy::Block;
    if blocks {
        // A usage window is its user's.
        header.push("user");
    }
    if breakdown {
        header.push("model");
    }
    header.extend([
        "sessions",
        "requests",
        "input",
        "output",
        "cache_read",
        "cache_write",
        "cost_usd",
        "prompts",
        "tool_calls",
        "blocks",
    ]);
    if blocks {
        header.push("projected_cost_usd");
    }
    let mut lines = Vec::new();
    for row in rows.iter().filter(|r| !r.total) {
        let mut first = vec![row.key.clone()];
        if by == GroupBy::Session {
            first.push(row.user.clone().unwrap_or_default());
            first.push(row.project.clone().unwrap_or_default());
            first.push(row.start_ms.map(instant).unwrap_or_default());
        }
        if blocks {
            first.push(row.user.clone().unwrap_or_default());
        }
        let projected = || {
            row.projected_cost_usd
                .map(|usd| usd.to_string())
                .unwrap_or_default()
        };
        if breakdown {
            for model in &row.models {
                let mut line = first.clone();
                line.push(model.key.clone());
                line.extend(figures(model));
                if blocks {
                    line.push(projected());
                }
                lines.push(line);
            }
        } else {
            first.extend(figures(row));
            if blocks {
                first.push(projected());
            }
            lines.push(first);
        }
    }
    csv(&header, &lines)
}

/// Usage as a table for people: money to the cent, counts with separators, the TOTAL
/// line last, each row's models inside it (with a breakdown), fitted to `width`.
fn usage_table(by: GroupBy, rows: &[UsageRow], width: Option<usize>, colour: bool) -> String {
    let sessions = by == GroupBy::Session;
    let mut columns = vec![Column::key(by.name())];
    if sessions {
        columns.extend([
            Column::text("started", 2),
            Column::text("user", 3),
            Column::text("project", 4),
        ]);
    } else {
        if by == GroupBy::Block {
            columns.push(Column::text("user", 3));
        }
        columns.push(Column::number("sessions", 5));
    }
    columns.extend([
        Column::number("requests", 10),
        Column::number("input", 8),
        Column::number("output", 7),
        Column::number("cache read", 9),
        Column::number("cache write", 11),
        Column::number("tokens", 0),
        Column::number("cost", 0),
    ]);
    let blocks = by == GroupBy::Block;
    if blocks {
        columns.push(Column::number("projected", 2));
    }
    columns.extend([
        Column::number("prompts", 6),
        Column::number("tools", 6),
        Column::number("blocks", 1),
    ]);
    let cells = |key: String, r: &UsageRow, described: bool| {
        let mut cells = vec![key];
        if sessions {
            let known = |v: &Option<String>| {
                if described {
                    v.clone().unwrap_or_default()
                } else {
                    String::new()
                }
            };
            cells.push(match (described, r.start_ms) {
                (true, Some(ms)) => timestamp(ms).get(..16).unwrap_or_default().to_owned(),
                _ => String::new(),
            });
            cells.push(known(&r.user));
            cells.push(known(&r.project));
        } else {
            if blocks {
                cells.push(if described {
                    r.user.clone().unwrap_or_default()
                } else {
                    String::new()
                });
            }
            cells.push(count(r.sessions));
        }
        cells.extend([
            count(r.requests),
            count(r.input_tokens),
            count(r.output_tokens),
            count(r.cache_read_tokens),
            count(r.cache_creation_tokens),
            count(r.tokens()),
            money(r.cost_usd),
        ]);
        if blocks {
            cells.push(r.projected_cost_usd.map(money).unwrap_or_default());
        }
        cells.extend([count(r.prompts), count(r.tool_calls), count(r.blocks)]);
        cells
    };
    let mut lines = Vec::new();
    for row in rows {
        let key = if sessions && !row.total {
            // A session id is long and unique early: its first 8 characters.
            row.key.chars().take(8).collect()
        } else {
            row.key.clone()
        };
        lines.push(Line {
            cells: cells(key, row, !row.total),
            emphasis: if row.total {
                Emphasis::Strong
            } else {
                Emphasis::Plain
            },
        });
        for model in &row.models {
            lines.push(Line {
                cells: cells(format!("  └ {}", model.key), model, false),
                emphasis: Emphasis::Faint,
            });
        }
    }
    table::render(&columns, &lines, width, colour)
}

/// Runs `audit`.
pub fn audit_trail(args: &AuditArgs) -> Result<()> {
    let filter = AuditFilter {
        include_allowed: args.all,
        user: args.user.clone(),
        rule: args.rule.clone(),
        last: None,
    };
    let window = args.scope.window()?;
    let rows: Vec<AuditRow> = match args.scope.origin()? {
        Origin::Store(dir) => audit(&dir, window, &filter)?,
        Origin::Collector { url, token } => {
            let mut query = window_query(window);
            if filter.include_allowed {
                query.push(("all", "true".to_owned()));
            }
            query.extend(filter.user.clone().map(|user| ("user", user)));
            query.extend(filter.rule.clone().map(|rule| ("rule", rule)));
            Origin::get_all(&url, token.as_deref(), "/api/v1/audit", &query)?
        }
    };
    // Every field of the JSON rows, in the same order: a spreadsheet joins on the session
    // and sorts by the category as a script would.
    let header = [
        "time",
        "user",
        "project",
        "session_id",
        "tool",
        "decision",
        "rule",
        "category",
        "reason",
        "input",
    ];
    let cells = |r: &AuditRow| {
        vec![
            r.time.clone(),
            r.user.clone(),
            r.project.clone(),
            r.session_id.clone(),
            r.tool.clone(),
            r.decision.clone(),
            r.rule.clone(),
            r.category.clone(),
            r.reason.clone(),
            r.input.clone(),
        ]
    };
    let text = match args.scope.format() {
        Format::Json => {
            serde_json::to_string_pretty(&rows).context("encoding the audit trail")? + "\n"
        }
        Format::Csv => csv(&header, &rows.iter().map(cells).collect::<Vec<_>>())?,
        Format::Table if rows.is_empty() => "no guard decisions in this window\n".to_owned(),
        Format::Table => {
            // The rule and the input are never left out; a narrow terminal loses the session
            // and the category first (`--json`/`--csv` keep them), then the reason.
            let columns = [
                Column::text("time", 4),
                Column::text("user", 2),
                Column::text("project", 3),
                Column::text("session", 8),
                Column::text("tool", 5),
                Column::text("decision", 1),
                Column::key("rule"),
                Column::text("category", 7),
                Column::text("reason", 6),
                Column::key("input"),
            ];
            let lines: Vec<Line> = rows
                .iter()
                .map(|r| Line {
                    cells: cells(r),
                    emphasis: Emphasis::Plain,
                })
                .collect();
            table::render(&columns, &lines, terminal_width(), args.scope.colour())
        }
    };
    emit(&text);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_would_break_a_row() {
        let rows = vec![vec![
            "plain".to_owned(),
            "a,b".to_owned(),
            "say \"hi\"".to_owned(),
            "line\nbreak".to_owned(),
            "carriage\rreturn".to_owned(),
        ]];
        assert_eq!(
            csv(&["a", "b", "c", "d", "e"], &rows).unwrap(),
            "a,b,c,d,e\nplain,\"a,b\",\"say \"\"hi\"\"\",\"line\nbreak\",\"carriage\rreturn\"\n"
        );
    }

    #[test]
    fn csv_keeps_text_that_looks_like_a_formula_as_text() {
        let rows = vec![vec![
            "=HYPERLINK(\"http://x\")".to_owned(),
            "+1 phone".to_owned(),
            "-rf".to_owned(),
            "@SUM(A1)".to_owned(),
            "-0.5".to_owned(),
            "12".to_owned(),
        ]];
        assert_eq!(
            csv(&["a", "b", "c", "d", "e", "f"], &rows).unwrap(),
            "a,b,c,d,e,f\n\"'=HYPERLINK(\"\"http://x\"\")\",'+1 phone,'-rf,'@SUM(A1),-0.5,12\n"
        );
    }
}
