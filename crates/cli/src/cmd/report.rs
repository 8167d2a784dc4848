//! `claude-telemetry report` and `audit`: the store, as tables for people.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use collector::query::{AuditFilter, AuditRow, GroupBy, UsageRow, Window, audit, usage};
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
    /// The collector's data directory [default: $CLAUDE_TELEMETRY_DATA_DIR, else ~/.local/share/claude-telemetry].
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

    fn data_dir(&self) -> Result<PathBuf> {
        let dir = self
            .data_dir
            .clone()
            .or_else(|| {
                process_env("CLAUDE_TELEMETRY_DATA_DIR")
                    .filter(|d| !d.is_empty())
                    .map(PathBuf::from)
            })
            .or_else(super::default_data_dir)
            .context("no data directory: pass --data-dir or set HOME")?;
        if !collector::store::database_path(&dir).exists() {
            bail!(
                "no event store in {}: start the collector (claude-telemetry serve) or pass --data-dir",
                dir.display()
            );
        }
        Ok(dir)
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

/// Runs `report`.
pub fn report(args: &ReportArgs) -> Result<()> {
    let by = match args.by {
        By::Day => GroupBy::Day,
        By::Model => GroupBy::Model,
        By::User => GroupBy::User,
        By::Project => GroupBy::Project,
        By::Session => GroupBy::Session,
    };
    let rows = usage(&args.scope.data_dir()?, args.scope.window()?, by)?;
    let header = [
        match args.by {
            By::Day => "day",
            By::Model => "model",
            By::User => "user",
            By::Project => "project",
            By::Session => "session",
        },
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
    };
    let rows = audit(&args.scope.data_dir()?, args.scope.window()?, &filter)?;
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
