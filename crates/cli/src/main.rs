//! `claude-telemetry`: observability and guard rails for Claude Code.
//!
//! The binary is thin glue: it parses the command line and hands each subcommand to the
//! crate that owns it, mapping results to exit codes. No policy or protocol lives here.

mod cmd;

use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};

/// Observability and guard rails for Claude Code.
///
/// Claude Code runs `claude-telemetry hook` on every hook event; the hook delivers each
/// event to the collector (spooling it on disk when the collector is away) and, before a
/// tool runs, asks the guard whether it may. `install` wires the hook and Claude Code's own
/// OpenTelemetry export into a settings file; `check` shows what the guard would decide.
#[derive(Debug, Parser)]
#[command(name = "claude-telemetry", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the collector: hook events in, Prometheus metrics out, events stored.
    ///
    /// One port (default 127.0.0.1:9091) serves POST /v1/hooks, GET /metrics and the
    /// probes /-/healthy and /-/ready. Events are stored in SQLite under the data
    /// directory and acknowledged only once durable; counters continue across restarts.
    /// Beyond loopback a bearer token ($CLAUDE_TELEMETRY_TOKEN) is required.
    Serve(cmd::serve::ServeArgs),
    /// Handle one Claude Code hook event from stdin (what Claude Code runs).
    ///
    /// Reads the event JSON, adds an id, time, host, user and project, and posts it to
    /// the collector at $CLAUDE_TELEMETRY_URL, else $PROMETHEUS_PUSH_GATEWAY, else
    /// http://127.0.0.1:9091 (bearer token from $CLAUDE_TELEMETRY_TOKEN). Events the
    /// collector does not acknowledge within $CLAUDE_TELEMETRY_TIMEOUT_MS (default 200)
    /// are spooled under the state directory and delivered by a later invocation.
    /// Prints a JSON answer only when there is something to tell Claude Code.
    Hook,
    /// Add our hooks, telemetry settings and `.env` deny rules to a Claude Code settings file.
    ///
    /// Keeps every other key, backs the file up first, and is idempotent. Refuses to
    /// touch a file it cannot parse or would leave invalid.
    Install(cmd::install::InstallArgs),
    /// Remove exactly what `install` added, restoring values it replaced.
    Uninstall(cmd::install::UninstallArgs),
    /// Print the headers Claude Code adds to its OTLP exports (its `otelHeadersHelper`,
    /// which `install` sets): the collector's bearer token from $CLAUDE_TELEMETRY_TOKEN,
    /// as JSON; `{}` without one.
    OtelHeaders,
    /// What the guard would decide on a tool call, the rule, and why.
    ///
    /// Exit code: 0 allow, 2 deny, 3 ask (1 for errors). Examples:
    /// `claude-telemetry check -- 'rm -rf ~'`,
    /// `claude-telemetry check --tool Read --json '{"file_path":".env"}'`,
    /// `claude-telemetry check --explain -- 'sudo bash -c "rm -rf /"'`.
    Check(cmd::check::CheckArgs),
    /// Usage tables from the event store: cost, tokens, requests, prompts, tool calls and
    /// blocks by day, model, user, project or session, with totals.
    ///
    /// Cost and tokens come from Claude Code's api_request events (OTLP logs), activity
    /// from hook events. Example: `claude-telemetry report --since 30d --by model --csv`.
    Report(cmd::report::ReportArgs),
    /// The guard's audit trail: denied and asked tool calls with time, user, project,
    /// tool, rule, reason and the (redacted) input. `--all` includes allowed calls.
    Audit(cmd::report::AuditArgs),
    /// Check the wiring end to end and say what to fix: our hook in each settings scope
    /// (and each file valid: one bad field disables every hook in it), the binary it runs,
    /// the telemetry settings, the collector and its token, the spool, Claude Code.
    ///
    /// Exit code 1 when something needs fixing.
    Doctor(cmd::doctor::DoctorArgs),
}

fn main() -> ExitCode {
    let started = Instant::now();
    // Claude Code runs `claude-telemetry hook` on every tool call: skip building the whole
    // command-line parser for exactly that (anything more, such as `hook --help`, takes
    // the ordinary path).
    let mut args = std::env::args_os().skip(1);
    if let (Some(first), None) = (args.next(), args.next())
        && first == "hook"
    {
        return cmd::hook::run(started);
    }
    // A usage error exits 1, as every other error does: 2 and 3 are `check`'s and the
    // hook's answers (deny, ask), which a mistyped option must not look like.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Command::Serve(args) => report(cmd::serve::serve(&args)),
        Command::Hook => cmd::hook::run(started),
        Command::Install(args) => report(cmd::install::install(&args)),
        Command::Uninstall(args) => report(cmd::install::uninstall(&args)),
        Command::OtelHeaders => report(cmd::install::otel_headers()),
        Command::Doctor(args) => cmd::doctor::doctor(&args).unwrap_or_else(failure),
        Command::Report(args) => report(cmd::report::report(&args)),
        Command::Audit(args) => report(cmd::report::audit_trail(&args)),
        Command::Check(args) => cmd::check::check(&args).unwrap_or_else(failure),
    }
}

fn report(result: anyhow::Result<()>) -> ExitCode {
    result.map_or_else(failure, |()| ExitCode::SUCCESS)
}

fn failure(err: anyhow::Error) -> ExitCode {
    eprintln!("claude-telemetry: {}", chain(&err));
    ExitCode::FAILURE
}

/// The error and its causes, `: `-separated, each cause left out when the message before
/// it already says it (many errors put their source in their own text as well).
fn chain(err: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    message
}
