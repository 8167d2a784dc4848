//! `claude-telemetry report` and `audit`: the store, as tables for people.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use collector::query::{AuditFilter, AuditRow, Filter, GroupBy, UsageRow, Window, audit, usage};
use collector::time::now_ms;

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
    /// From (a duration back from now such as `7d`, `24h`, or a date `2026-11-01`).
    #[arg(long, default_value = "7d")]
    since: String,
    /// Until (same forms) [default: now].
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
}

/// Options of `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    scope: Scope,
    /// Group by.
    #[arg(long, value_enum, default_value = "day")]
    by: By,
}

/// Groupings of `report`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum By {
    /// Calendar day (UTC).
    Day,
    /// Model.
    Model,
    /// User.
    User,
    /// Project.
    Project,
    /// Session.
    Session,
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

    /// `GET {path}?{query}` of the collector, read as JSON.
    fn get<T: serde::de::DeserializeOwned>(
        url: &str,
        token: Option<&str>,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(std::time::Duration::from_secs(30)))
            .http_status_as_error(false)
            .proxy(None)
            .build()
            .into();
        let mut request = agent.get(format!("{url}{path}"));
        for (key, value) in query {
            request = request.query(*key, value);
        }
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let mut response = request.call().with_context(|| {
            format!("cannot reach the collector at {url} (pass --data-dir to read a local store)")
        })?;
        let status = response.status();
        let body = response
            .body_mut()
            .read_to_string()
            .with_context(|| format!("reading the answer of {url}{path}"))?;
        match status.as_u16() {
            200 => serde_json::from_str(&body)
                .with_context(|| format!("{url}{path} did not answer with the expected JSON")),
            401 => bail!(
                "the collector at {url} wants its token: set CLAUDE_TELEMETRY_TOKEN to the collector's token"
            ),
            _ => bail!("the collector at {url} answered {status}: {}", body.trim()),
        }
    }
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
/// break (`\n` or `\r`) is quoted.
fn csv(header: &[&str], rows: &[Vec<String>]) -> Result<String> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    writer.write_record(header)?;
    for row in rows {
        writer.write_record(row)?;
    }
    let bytes = writer.into_inner().context("writing CSV")?;
    String::from_utf8(bytes).context("CSV of text is text")
}

/// Columns as left-aligned text, numbers right-aligned.
fn table(header: &[&str], rows: &[Vec<String>], numeric: &[bool]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: &[String]| {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if numeric[i] {
                    format!("{c:>w$}", w = widths[i])
                } else {
                    format!("{c:<w$}", w = widths[i])
                }
            })
            .collect();
        let _ = writeln!(out, "{}", parts.join("  ").trim_end());
    };
    line(
        &mut out,
        &header.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>(),
    );
    for row in rows {
        line(&mut out, row);
    }
    out
}

/// How a grouping is named in a header and in the collector's `by=`.
fn by_name(by: By) -> &'static str {
    match by {
        By::Day => "day",
        By::Model => "model",
        By::User => "user",
        By::Project => "project",
        By::Session => "session",
    }
}

/// Runs `report`.
pub fn report(args: &ReportArgs) -> Result<()> {
    let by = match args.by {
        By::Day => GroupBy::Day,
        By::Model => GroupBy::Model,
        By::User => GroupBy::User,
        By::Project => GroupBy::Project,
        By::Session => GroupBy::Session,
    };
    let window = args.scope.window()?;
    let rows: Vec<UsageRow> = match args.scope.origin()? {
        Origin::Store(dir) => usage(&dir, window, by, &Filter::default())?,
        Origin::Collector { url, token } => {
            let mut query = window_query(window);
            query.push(("by", by_name(args.by).to_owned()));
            Origin::get(&url, token.as_deref(), "/api/v1/usage", &query)?
        }
    };
    let header = [
        by_name(args.by),
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
    ];
    let cells = |r: &UsageRow| {
        vec![
            r.key.clone(),
            r.sessions.to_string(),
            r.requests.to_string(),
            r.input_tokens.to_string(),
            r.output_tokens.to_string(),
            r.cache_read_tokens.to_string(),
            r.cache_creation_tokens.to_string(),
            format!("{:.4}", r.cost_usd),
            r.prompts.to_string(),
            r.tool_calls.to_string(),
            r.blocks.to_string(),
        ]
    };
    let text = match args.scope.format() {
        Format::Json => serde_json::to_string_pretty(&rows).context("encoding the report")? + "\n",
        Format::Csv => csv(&header, &rows.iter().map(cells).collect::<Vec<_>>())?,
        Format::Table => {
            let mut numeric = vec![true; header.len()];
            numeric[0] = false;
            table(
                &header,
                &rows.iter().map(cells).collect::<Vec<_>>(),
                &numeric,
            )
        }
    };
    emit(&text);
    Ok(())
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
            Origin::get(&url, token.as_deref(), "/api/v1/audit", &query)?
        }
    };
    let header = [
        "time", "user", "project", "tool", "decision", "rule", "reason", "input",
    ];
    let cells = |r: &AuditRow| {
        vec![
            r.time.clone(),
            r.user.clone(),
            r.project.clone(),
            r.tool.clone(),
            r.decision.clone(),
            r.rule.clone(),
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
        Format::Table => table(
            &header,
            &rows.iter().map(cells).collect::<Vec<_>>(),
            &[false; 8],
        ),
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
}
