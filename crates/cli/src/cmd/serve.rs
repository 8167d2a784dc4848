//! `claude-telemetry serve`: the collector.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use collector::{CollectorConfig, Server};
use hook_protocol::privacy::{LOG_USER_PROMPTS_ENV, Level};

use super::process_env;

/// Options of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on, `IP:PORT` or `NAME:PORT` (`localhost:9091`) [default:
    /// 127.0.0.1:9091, the Pushgateway's port].
    #[arg(long, value_name = "ADDR", value_parser = listen_address)]
    listen: Option<SocketAddr>,
    /// Where the event store lives [default: $XDG_DATA_HOME/claude-telemetry, else ~/.local/share/claude-telemetry].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Config file; its `[collector]` table [default: $CLAUDE_TELEMETRY_CONFIG, else ~/.config/claude-telemetry/config.toml].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Listen beyond loopback without a token (anyone who can reach it can read and write).
    #[arg(long)]
    insecure: bool,
}

/// The tables a config file may hold: the collector's, and the guard's (read by the hook
/// and by the collector for raw hook events). Anything else at the top is a mistake —
/// most likely a `[collector]` key written above the table — and is refused.
const FILE_TABLES: &[&str] = &["collector", "guard"];

/// Every `[collector]` key can also be set as `CLAUDE_TELEMETRY_<KEY>` (upper case).
/// Lists are comma-separated; tables of amounts are `name=amount` pairs, comma-separated
/// (`ana@example.com=500,bob=300`); numbers and booleans are read as such.
const ENV_KEYS: &[&str] = &[
    "listen",
    "data_dir",
    "insecure",
    "privacy",
    "session_idle_timeout",
    "max_body_bytes",
    "bodies_in_flight_bytes",
    "max_connections",
    "header_timeout",
    "allowed_hosts",
    "series_limit",
    "push_groups_limit",
    "pushed_series_limit",
    "label_value_bytes",
    "project_label_limit",
    "monthly_budget_usd",
    "user_monthly_budgets_usd",
    "project_monthly_budgets_usd",
    "request_timeout",
    "retention",
    "otlp_drop_attributes",
    "otlp_promote_resource_attributes",
    "forward_endpoint",
    "forward_headers",
    "forward_logs",
    "forward_queue_size",
    "forward_batch_size",
    "forward_batch_timeout",
    "forward_retry_initial",
    "forward_retry_max",
    "forward_timeout",
];
const LIST_KEYS: &[&str] = &[
    "allowed_hosts",
    "otlp_drop_attributes",
    "otlp_promote_resource_attributes",
    "forward_headers",
];
/// Tables of amounts by name.
const AMOUNT_TABLE_KEYS: &[&str] = &["user_monthly_budgets_usd", "project_monthly_budgets_usd"];

/// Runs the collector until SIGTERM or SIGINT.
pub fn serve(args: &ServeArgs) -> Result<()> {
    let mut config = load_config(args)?;
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(token) = process_env("CLAUDE_TELEMETRY_TOKEN").filter(|t| !t.is_empty()) {
        config.token = Some(token);
    }
    config.insecure |= args.insecure;
    let data_dir = args
        .data_dir
        .clone()
        .or_else(|| config.data_dir.clone())
        .or_else(super::default_data_dir)
        .context("no data directory: pass --data-dir or set HOME")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let guard = guard_config(args)?;
    let privacy = config.privacy;
    runtime.block_on(async move {
        let server = Server::bind(config, guard, data_dir.clone()).await?;
        let addr = server.local_addr()?;
        eprintln!(
            "claude-telemetry collector listening on http://{addr} (store {}, {} events replayed, privacy {privacy})",
            data_dir.display(),
            server.replayed()
        );
        server.run(shutdown_signal()).await?;
        eprintln!("claude-telemetry collector stopped; every acknowledged event is stored");
        Ok(())
    })
}

/// The `[guard]` table of the same config file, with the same environment overrides the
/// hook reads: raw hook events (Claude Code's `http` hooks) are judged by it. An invalid
/// one stops the collector rather than judging with another policy.
fn guard_config(args: &ServeArgs) -> Result<guard::GuardConfig> {
    let file = args.config.as_ref().map(|path| path.display().to_string());
    let env = |name: &str| match (name, &file) {
        ("CLAUDE_TELEMETRY_CONFIG", Some(file)) => Some(file.clone()),
        _ => process_env(name),
    };
    hook::load_guard_config(&env).context("invalid guard configuration")
}

fn load_config(args: &ServeArgs) -> Result<CollectorConfig> {
    merged_config(file_table(args)?)
}

/// The `[collector]` table of the config file, empty when there is none.
fn file_table(args: &ServeArgs) -> Result<toml::Table> {
    let (path, explicit) = match &args.config {
        Some(path) => (path.clone(), true),
        None => match hook::config_path(&process_env) {
            Some(found) => found,
            None => return Ok(toml::Table::new()),
        },
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound && !explicit => {
            return Ok(toml::Table::new());
        }
        Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
    };
    collector_table(&text).with_context(|| format!("{} is not a valid config", path.display()))
}

/// The `[collector]` table of a config file's text; a key outside `[collector]` and
/// `[guard]` is refused by name.
fn collector_table(text: &str) -> Result<toml::Table> {
    let mut file: toml::Table = toml::from_str(text)?;
    if let Some(unknown) = file.keys().find(|key| !FILE_TABLES.contains(&key.as_str())) {
        anyhow::bail!(
            "unknown key {unknown:?} at the top of the file: the collector's settings go in its [collector] table ([collector.{unknown}] for a table of its own), the guard's in [guard]"
        );
    }
    match file.remove("collector") {
        None => Ok(toml::Table::new()),
        Some(toml::Value::Table(table)) => Ok(table),
        Some(_) => anyhow::bail!("collector is not a table: write its settings under [collector]"),
    }
}

/// The file's `[collector]` table with the environment's values on top, validated as one.
fn merged_config(mut table: toml::Table) -> Result<CollectorConfig> {
    for key in ENV_KEYS {
        let name = format!("CLAUDE_TELEMETRY_{}", key.to_ascii_uppercase());
        let Some(raw) = process_env(&name).filter(|v| !v.is_empty()) else {
            continue;
        };
        let value = if AMOUNT_TABLE_KEYS.contains(key) {
            amount_table(key, &raw)?
        } else if LIST_KEYS.contains(key) {
            toml::Value::Array(
                raw.split(',')
                    .map(|item| toml::Value::String(item.trim().to_owned()))
                    .collect(),
            )
        } else if let Ok(number) = raw.parse::<i64>() {
            toml::Value::Integer(number)
        } else if let Ok(flag) = raw.parse::<bool>() {
            toml::Value::Boolean(flag)
        } else if let Ok(amount) = raw.parse::<f64>() {
            toml::Value::Float(amount)
        } else {
            toml::Value::String(raw)
        };
        table.insert((*key).to_owned(), value);
    }
    // Prompt logging turned on for Claude Code, and no level said: keep the prompts it
    // sends (the compose stack passes OTEL_LOG_USER_PROMPTS to both).
    if !table.contains_key("privacy") {
        let level = Level::from_settings(None, process_env(LOG_USER_PROMPTS_ENV).as_deref())?;
        table.insert(
            "privacy".to_owned(),
            toml::Value::String(level.as_str().to_owned()),
        );
    }
    toml::Value::Table(table)
        .try_into()
        .context("invalid collector configuration (config file [collector] table, or CLAUDE_TELEMETRY_* variables)")
}

/// `name=amount,name=amount` as a TOML table; an amount that is not a number is kept as
/// text, for the configuration's check to refuse with the rest. A pair with no `=`, or
/// more than one, is refused: `bob=5;dana=3` is a mistyped list, not a user named
/// `bob=5;dana` (names in the environment cannot hold `=`; the config file's can).
fn amount_table(key: &str, raw: &str) -> Result<toml::Value> {
    let mut table = toml::Table::new();
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, amount) = pair
            .split_once('=')
            .filter(|(_, amount)| !amount.contains('='))
            .with_context(|| {
                format!(
                    "CLAUDE_TELEMETRY_{}: {pair:?} is not name=amount; expected comma-separated pairs such as \"ana@example.com=500,bob=300\" (a name cannot hold '=' here; use the config file's table for one that does)",
                    key.to_ascii_uppercase()
                )
            })?;
        let amount = amount.trim();
        let value = amount.parse::<f64>().map_or_else(
            |_| toml::Value::String(amount.to_owned()),
            toml::Value::Float,
        );
        table.insert(name.trim().to_owned(), value);
    }
    Ok(toml::Value::Table(table))
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

/// `--listen`: an address, or a name resolved to its first address (`localhost:9091`
/// is loopback, and keeps the loopback rule: no token needed).
fn listen_address(text: &str) -> Result<SocketAddr, String> {
    if let Ok(address) = text.parse() {
        return Ok(address);
    }
    text.to_socket_addrs()
        .map_err(|err| format!("{text:?} is not IP:PORT or NAME:PORT ({err})"))?
        .next()
        .ok_or_else(|| format!("{text:?} resolves to no address"))
}

#[cfg(test)]
mod tests {
    use super::{amount_table, collector_table, listen_address, merged_config};

    /// The collector's configuration from a config file's text, checked as at start.
    fn configured(text: &str) -> Result<collector::CollectorConfig, String> {
        let table = collector_table(text).map_err(|e| format!("{e:#}"))?;
        let config = merged_config(table).map_err(|e| format!("{e:#}"))?;
        config.validate().map_err(|e| e.to_string())?;
        Ok(config)
    }

    #[test]
    fn budgets_by_user_and_project_are_read_and_bad_ones_refused_by_name() {
        let config = configured(
            r#"
[collector]
monthly_budget_usd = 2500

[collector.user_monthly_budgets_usd]
"ana@example.com" = 500
bob = 0

[collector.project_monthly_budgets_usd]
"acme/api" = 1200.5
"#,
        )
        .unwrap();
        let budgets = config.budgets();
        assert_eq!(budgets.everyone, Some(2500.0));
        assert_eq!(
            budgets.users,
            [
                ("ana@example.com".to_owned(), 500.0),
                ("bob".to_owned(), 0.0)
            ]
            .into()
        );
        assert_eq!(budgets.projects, [("acme/api".to_owned(), 1200.5)].into());

        for (table, why) in [
            ("[collector.user_monthly_budgets_usd]\nbob = -1", "bob"),
            ("[collector.user_monthly_budgets_usd]\nbob = nan", "NaN"),
            ("[collector.project_monthly_budgets_usd]\napi = inf", "inf"),
            (
                "[collector.project_monthly_budgets_usd]\napi = -0.01",
                "api",
            ),
            ("[collector.user_monthly_budgets_usd]\n\" \" = 5", "name"),
            ("[collector.user_monthly_budgets_usd]\nbob = \"500\"", "bob"),
            ("[collector.user_monthly_budgets_usd.bob]\nusd = 5", "bob"),
            ("[collector.budgets.users]\nbob = 5", "budgets"),
            (
                "[collector]\nuser_monthly_budgets_usd = 5",
                "user_monthly_budgets_usd",
            ),
        ] {
            let error = configured(table).expect_err(table);
            assert!(error.contains(why), "{table}: {error}");
            let key = if table.contains("project") {
                "project_monthly_budgets_usd"
            } else {
                "user_monthly_budgets_usd"
            };
            assert!(
                error.contains(key) || why == "budgets",
                "the error names the setting: {table}: {error}"
            );
        }
    }

    #[test]
    fn keys_outside_the_collector_and_guard_tables_are_refused_by_name() {
        for (text, key) in [
            (
                "monthly_budget_usd = 2500\n[collector]\nretention = \"30d\"",
                "monthly_budget_usd",
            ),
            (
                "[user_monthly_budgets_usd]\nbob = 5",
                "user_monthly_budgets_usd",
            ),
            ("[colector]\nretention = \"30d\"", "colector"),
            ("collector = 5", "collector"),
        ] {
            let error = configured(text).expect_err(text);
            assert!(error.contains(key), "{text}: {error}");
            assert!(error.contains("[collector]"), "says where: {text}: {error}");
        }
        // The guard's table shares the file; keys inside it are the guard's to check.
        let config =
            configured("[guard]\nstrict = true\n[collector]\nmonthly_budget_usd = 2500").unwrap();
        assert_eq!(config.budgets().everyone, Some(2500.0));
        assert!(configured("").is_ok());
    }

    #[test]
    fn budgets_in_the_environment_are_name_amount_pairs() {
        let table = amount_table(
            "user_monthly_budgets_usd",
            "ana@example.com=500, Jane Doe=3 ,,bob=0",
        )
        .unwrap();
        let expected: toml::Table = toml::from_str(
            r#"
"ana@example.com" = 500.0
"Jane Doe" = 3.0
bob = 0.0
"#,
        )
        .unwrap();
        assert_eq!(table, toml::Value::Table(expected));
        // No `=`, or one too many (a mistyped separator): refused, showing the form.
        for pair in ["ana", "bob=5;dana=3", "a=b=3"] {
            let error = amount_table("user_monthly_budgets_usd", pair).unwrap_err();
            let error = format!("{error:#}");
            assert!(
                error.contains("CLAUDE_TELEMETRY_USER_MONTHLY_BUDGETS_USD")
                    && error.contains(pair)
                    && error.contains("ana@example.com=500,bob=300"),
                "{error}"
            );
        }
        // Not a number: kept as text for the configuration's check to refuse.
        assert_eq!(
            amount_table("project_monthly_budgets_usd", "api=lots").unwrap(),
            toml::Value::Table(
                [("api".to_owned(), toml::Value::String("lots".to_owned()))]
                    .into_iter()
                    .collect()
            )
        );
    }

    #[test]
    fn listen_takes_addresses_and_names() {
        assert_eq!(
            listen_address("0.0.0.0:9091"),
            Ok(std::net::SocketAddr::from(([0, 0, 0, 0], 9091)))
        );
        let named = listen_address("localhost:9091").unwrap();
        assert!(named.ip().is_loopback() && named.port() == 9091, "{named}");
        assert!(listen_address("localhost").is_err());
        assert!(listen_address("127.0.0.1:port").is_err());
    }
}
