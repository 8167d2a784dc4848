//! `claude-telemetry check`: what the guard would decide, and why.

use std::fmt::Write as _;
use std::io::{Read, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use clap::Args;
use guard::Verdict;
use hook_protocol::HookEvent;
use serde_json::{Value, json};

use super::process_env;

/// Exit code for `ask`; 0 is allow and 2 deny, as for a hook.
pub const EXIT_ASK: u8 = 3;

/// Options of `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The tool the input is for (Bash, Read, Write, Edit, Grep, Glob, …).
    #[arg(long, default_value = "Bash")]
    tool: String,
    /// The tool input as JSON, or a whole hook event (`tool_name`, `tool_input`, `cwd`):
    /// inline (`{…}`), a file, or `-` for stdin.
    #[arg(long, value_name = "JSON|FILE")]
    json: Option<String>,
    /// Working directory of the call [default: the current directory].
    #[arg(long, value_name = "DIR")]
    cwd: Option<PathBuf>,
    /// Project root [default: $CLAUDE_PROJECT_DIR, else the working directory].
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,
    /// Show how the command was parsed and unwrapped, and every finding.
    #[arg(long)]
    explain: bool,
    /// Print the decision as JSON.
    #[arg(long = "output-json")]
    output_json: bool,
    /// The Bash command (quote it to keep `~`, `$VAR` and globs for the guard to judge).
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<String>,
}

/// Runs `check`; the exit code is the verdict.
pub fn check(args: &CheckArgs) -> Result<ExitCode> {
    let (tool, input, event_cwd) = input(args)?;
    let cwd = match args.cwd.clone().or(event_cwd) {
        Some(dir) => absolute(dir)?,
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    let mut event = json!({"hook_event_name": "PreToolUse", "tool_name": tool, "tool_input": input, "cwd": cwd});
    if let Some(project) = &args.project {
        event["project"] = json!(absolute(project.clone())?);
    }
    let event = HookEvent::from_value(event).context("building the event")?;
    let project = args.project.clone().map(absolute).transpose()?;
    let env = |name: &str| match (name, &project) {
        ("CLAUDE_PROJECT_DIR", Some(dir)) => Some(dir.to_string_lossy().into_owned()),
        _ => process_env(name),
    };
    let config = hook::load_guard_config(&env).context("the guard's configuration")?;
    let ctx = hook::context_for(&event, &env);
    // Like the hook: what depends on the files present is looked at on disk.
    let explained = hook::decide(
        &tool,
        &input,
        &ctx,
        &config,
        &hook::Disk::from_env(&env),
        args.explain,
    );
    let decision = &explained.decision;
    let mut out = String::new();
    if args.output_json {
        let mut value = serde_json::to_value(decision).context("encoding the decision")?;
        value["message"] = json!(decision.message());
        if args.explain {
            value["trace"] = json!(explained.trace);
        }
        out = serde_json::to_string_pretty(&value).context("encoding the decision")?;
        out.push('\n');
    } else {
        let _ = writeln!(
            out,
            "{:<5} {} ({})",
            decision.verdict.as_str().to_uppercase(),
            decision.rule,
            decision.category.as_str()
        );
        let _ = writeln!(out, "reason: {}", decision.reason);
        if let Some(span) = &decision.span {
            let _ = writeln!(
                out,
                "at:     {}[{}..{}]: {}",
                span.field, span.start, span.end, span.text
            );
        }
        if args.explain {
            let _ = writeln!(
                out,
                "\nhow it was read (cwd {}, project {}, home {}):",
                ctx.cwd.display(),
                ctx.project_dir.display(),
                ctx.home.display()
            );
            for line in &explained.trace {
                let _ = writeln!(out, "  {line}");
            }
            if explained.findings.len() > 1 {
                let _ = writeln!(out, "\nall findings:");
                for finding in &explained.findings {
                    let _ = writeln!(
                        out,
                        "  {} {}: {}",
                        finding.verdict.as_str(),
                        finding.rule,
                        finding.reason
                    );
                }
            }
        }
    }
    // A reader that stopped reading (`| head`) is not an error worth a panic.
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush());
    Ok(match decision.verdict {
        Verdict::Allow => ExitCode::SUCCESS,
        Verdict::Deny => ExitCode::from(2),
        Verdict::Ask => ExitCode::from(EXIT_ASK),
    })
}

/// The tool, its input, and the cwd a hook event names.
fn input(args: &CheckArgs) -> Result<(String, Value, Option<PathBuf>)> {
    match (&args.json, args.command.is_empty()) {
        (Some(_), false) => bail!("give either --json or a command after --, not both"),
        (None, true) => {
            bail!("nothing to check: give a command after -- (e.g. check -- 'rm -rf ~') or --json")
        }
        (None, false) => {
            let command = if args.command.len() == 1 {
                args.command[0].clone()
            } else {
                args.command
                    .iter()
                    .map(|word| shell_quote(word))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            Ok((args.tool.clone(), json!({"command": command}), None))
        }
        (Some(source), true) => {
            let text = if source.trim_start().starts_with(['{', '[']) {
                source.clone()
            } else if source == "-" {
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .context("reading stdin")?;
                text
            } else {
                std::fs::read_to_string(source).with_context(|| format!("reading {source}"))?
            };
            let value: Value = serde_json::from_str(&text).context("--json is not valid JSON")?;
            if !value.is_object() {
                bail!("--json must be a JSON object (a tool input or a hook event)");
            }
            if let Some(tool_input) = value.get("tool_input") {
                let tool = value
                    .get("tool_name")
                    .and_then(Value::as_str)
                    .unwrap_or(&args.tool)
                    .to_owned();
                let cwd = value.get("cwd").and_then(Value::as_str).map(PathBuf::from);
                Ok((tool, tool_input.clone(), cwd))
            } else {
                Ok((args.tool.clone(), value, None))
            }
        }
    }
}

fn absolute(dir: PathBuf) -> Result<PathBuf> {
    if dir.is_absolute() {
        Ok(dir)
    } else {
        Ok(std::env::current_dir()
            .context("cannot read the current directory")?
            .join(dir))
    }
}

/// Quotes a word for the shell when it needs it, so `check -- bash -c 'rm -rf ~'` keeps
/// its words.
fn shell_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@%+,".contains(c))
    {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}
