//! `claude-telemetry install` and `uninstall`.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use claude_settings::{
    HEADERS_HELPER_KEY, Install, Sandbox, Scope, SettingsFile, headers_helper_for,
    hook_command_for, unified_diff,
};

use hook_protocol::privacy::{LOG_USER_PROMPTS_ENV, is_on};

use super::process_env;

/// Which settings file to edit. Defaults to `--user`.
#[derive(Debug, Args)]
#[group(multiple = false)]
pub struct ScopeArgs {
    /// `~/.claude/settings.json`: all your projects (the default).
    #[arg(long)]
    user: bool,
    /// `DIR/.claude/settings.json`: the project's shared settings (no personal identity).
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,
    /// `DIR/.claude/settings.local.json`: this project on this machine only.
    #[arg(long, value_name = "DIR")]
    local: Option<PathBuf>,
    /// `/etc/claude-code/managed-settings.json`: enforced for every user (needs root).
    #[arg(long)]
    managed: bool,
    /// Any settings file.
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
}

impl ScopeArgs {
    fn scope(&self) -> Result<Scope> {
        Ok(if let Some(dir) = &self.project {
            Scope::Project(dir.clone())
        } else if let Some(dir) = &self.local {
            Scope::Local(dir.clone())
        } else if self.managed {
            Scope::Managed
        } else if let Some(path) = &self.file {
            Scope::File(path.clone())
        } else {
            let home = process_env("HOME").context("HOME is not set; name a file with --file")?;
            Scope::User { home: home.into() }
        })
    }
}

/// Options of `install`.
#[derive(Debug, Args)]
pub struct InstallArgs {
    #[command(flatten)]
    scope: ScopeArgs,
    /// Collector URL [default: $CLAUDE_TELEMETRY_URL, else $PROMETHEUS_PUSH_GATEWAY, else http://127.0.0.1:9091].
    #[arg(long)]
    url: Option<String>,
    /// Path of the claude-telemetry binary the hook runs [default: this binary].
    #[arg(long, value_name = "PATH")]
    binary: Option<PathBuf>,
    /// `user.name` on Claude Code's metrics [default: $USER_NAME, else $USER]; personal scopes only.
    #[arg(long)]
    user_name: Option<String>,
    /// `user.email` on Claude Code's metrics [default: $USER_EMAIL]; personal scopes only.
    #[arg(long)]
    user_email: Option<String>,
    /// Also turn on Claude Code's traces (beta: CLAUDE_CODE_ENHANCED_TELEMETRY_BETA=1,
    /// OTEL_TRACES_EXPORTER=otlp), exported to the collector with its metrics and events.
    #[arg(long, env = "CLAUDE_TELEMETRY_TRACES", value_parser = clap::builder::FalseyValueParser::new())]
    traces: bool,
    /// Turn on Claude Code's own OS sandbox too (bubblewrap and socat on Linux, Seatbelt on
    /// macOS): no way out of it, `.env` files unreadable inside, writes in the project and
    /// /tmp only.
    #[arg(long)]
    sandbox: bool,
    /// Keep the text of prompts: sets Claude Code's OTEL_LOG_USER_PROMPTS=1 (and
    /// OTEL_LOG_ASSISTANT_RESPONSES=0, so its answers stay out) and the hook's privacy
    /// level to `prompts` (CLAUDE_TELEMETRY_PRIVACY); run the collector at the same level.
    /// Prompts are kept redacted, nothing else of content [default: on when
    /// $OTEL_LOG_USER_PROMPTS is on].
    #[arg(long)]
    log_prompts: bool,
    /// Show the change as a diff and write nothing.
    #[arg(long)]
    dry_run: bool,
}

/// Options of `uninstall`.
#[derive(Debug, Args)]
pub struct UninstallArgs {
    #[command(flatten)]
    scope: ScopeArgs,
    /// Show the change as a diff and write nothing.
    #[arg(long)]
    dry_run: bool,
}

/// Runs `install`.
pub fn install(args: &InstallArgs) -> Result<()> {
    let scope = args.scope.scope()?;
    let binary = match &args.binary {
        Some(path) => path.clone(),
        None => std::env::current_exe()
            .and_then(|path| path.canonicalize())
            .context("cannot find this binary's path; pass --binary")?,
    };
    if !binary.is_absolute() {
        bail!("--binary must be an absolute path (Claude Code runs hooks from any directory)");
    }
    let url = args
        .url
        .clone()
        .unwrap_or_else(|| hook::collector_url(&process_env));
    check_collector_url(&url)?;
    let personal = scope.is_personal();
    let spec = Install {
        hook_command: hook_command_for(&binary),
        headers_helper: headers_helper_for(&binary),
        url,
        user_name: personal
            .then(|| {
                args.user_name
                    .clone()
                    .or_else(|| process_env("USER_NAME"))
                    .or_else(|| process_env("USER"))
            })
            .flatten(),
        user_email: personal
            .then(|| {
                args.user_email
                    .clone()
                    .or_else(|| process_env("USER_EMAIL"))
            })
            .flatten(),
        traces: args.traces,
        sandbox: if args.sandbox {
            Some(Sandbox::for_scope(&scope).with_secret_names(guard_secret_names()?))
        } else {
            None
        },
        log_prompts: args.log_prompts
            || process_env(LOG_USER_PROMPTS_ENV).is_some_and(|value| is_on(&value)),
    };
    edit(&scope, args.dry_run, "installed into", |document| {
        let report = claude_settings::install(document, &spec)?;
        let mut notes: Vec<String> = report
            .replaced_env
            .iter()
            .map(|key| format!("replaced env {key} (uninstall restores it)"))
            .collect();
        if report.replaced_headers_helper {
            notes.push(format!(
                "replaced {HEADERS_HELPER_KEY} (uninstall restores it)"
            ));
        }
        if args.sandbox {
            notes.push("Claude Code's sandbox is on; `claude-telemetry doctor` checks what it needs on this machine".to_owned());
        }
        if report.dropped_sandbox {
            notes.push("Claude Code's sandbox, which an earlier install --sandbox turned on, is off now: pass --sandbox to keep it".to_owned());
        }
        Ok(notes)
    })
}

/// Runs `otel-headers`: the same token the hooks send, for Claude Code's own exports.
pub fn otel_headers() -> Result<()> {
    let mut headers = serde_json::Map::new();
    if let Some(token) = hook::collector_token(&process_env) {
        headers.insert(
            "Authorization".to_owned(),
            serde_json::Value::String(format!("Bearer {token}")),
        );
    }
    println!("{}", serde_json::Value::Object(headers));
    Ok(())
}

/// Runs `uninstall`.
pub fn uninstall(args: &UninstallArgs) -> Result<()> {
    let scope = args.scope.scope()?;
    edit(&scope, args.dry_run, "removed from", |document| {
        claude_settings::uninstall(document)?;
        Ok(Vec::new())
    })
}

/// Loads, edits, validates, backs up and writes one settings file.
fn edit(
    scope: &Scope,
    dry_run: bool,
    verb: &str,
    change: impl FnOnce(&mut serde_json::Value) -> Result<Vec<String>>,
) -> Result<()> {
    let path = scope.path();
    let file = SettingsFile::load(&path)?;
    let mut document = file.document.clone();
    let notes = change(&mut document).with_context(|| format!("editing {}", path.display()))?;
    file.check(&document)?;
    let before = file.original.clone().unwrap_or_default();
    let after = if file.original.is_none() && document.as_object().is_some_and(|o| o.is_empty()) {
        String::new()
    } else {
        SettingsFile::render(&document)
    };
    if dry_run {
        print!("{}", unified_diff(&path, &before, &after));
        return Ok(());
    }
    if document == file.document && file.original.is_some() {
        println!("{} already up to date", path.display());
        return Ok(());
    }
    if after.is_empty() {
        println!("nothing to do for {}", path.display());
        return Ok(());
    }
    let state =
        hook::state_dir(&process_env).context("no state directory for backups; set HOME")?;
    hook::private::dir(&state).with_context(|| format!("state directory {}", state.display()))?;
    let backup = file.backup(&state.join("backups"))?;
    file.write(&after)?;
    println!("claude-telemetry {verb} {}", path.display());
    if let Some(backup) = backup {
        println!("  backup: {}", backup.display());
    }
    for note in notes {
        println!("  {note}");
    }
    Ok(())
}

/// The collector's URL must be one Claude Code's OTLP exporter and the hook can send to:
/// http or https with a host. Written as it is, a wrong one would lose every event quietly.
fn check_collector_url(url: &str) -> Result<()> {
    let parsed: Option<ureq::http::Uri> = url.parse().ok();
    let usable = parsed.is_some_and(|uri| {
        matches!(uri.scheme_str(), Some("http" | "https"))
            && uri.host().is_some_and(|host| !host.is_empty())
    });
    if !usable {
        bail!(
            "the collector URL {url:?} is not an http:// or https:// URL with a host (for example http://127.0.0.1:9091)"
        );
    }
    Ok(())
}

/// The secret names the guard is configured with beyond `.env` (as the hook would read its
/// configuration here), so that the sandbox denies reading them too.
fn guard_secret_names() -> Result<Vec<String>> {
    let config = hook::load_guard_config(&|name: &str| process_env(name))
        .context("the guard's configuration, whose secret names the sandbox denies too (`claude-telemetry doctor` explains)")?;
    Ok(guard::secrets::configured_secret_names(&config))
}
