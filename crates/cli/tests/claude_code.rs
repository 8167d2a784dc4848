//! End to end with the real Claude Code CLI (npm `@anthropic-ai/claude-code`, pinned),
//! run offline against the project's fake Messages API, wired to the real collector by
//! `claude-telemetry install`. Every scenario runs on the newest release the project
//! supports and on the oldest (`testkit::claude_code`): modules `newest` and `oldest`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use testkit::messages_api::{MessagesApi, Reply, Usage};

use crate::dashboards::shipped_config;
use crate::prometheus::Prometheus;
use crate::support::Run;
use crate::support::collector::{Collector, parse_metrics};

/// In every project's `.env`: must never reach the API.
const SECRET: &str = "sk-live-THIS-MUST-NEVER-LEAVE-THE-MACHINE";
/// In every home dir: must survive every scenario.
const PRECIOUS: &str = "precious.txt";

/// Each scenario once per release: `newest::NAME` and `oldest::NAME` call `NAME(version)`.
macro_rules! on_both_releases {
    ($($scenario:ident),+ $(,)?) => {
        mod newest {
            $(#[test]
            fn $scenario() {
                super::$scenario(&testkit::claude_code::newest());
            })+
        }
        mod oldest {
            $(#[test]
            fn $scenario() {
                super::$scenario(testkit::claude_code::OLDEST);
            })+
        }
    };
}

on_both_releases!(
    a_real_session_over_otlp_protobuf_is_guarded_and_counted_exactly,
    a_real_session_over_otlp_json_is_guarded_and_counted_exactly,
    api_errors_are_retried_and_a_final_one_is_counted,
    a_subagent_and_a_resumed_session_are_counted,
    two_users_at_once_are_told_apart,
    the_direct_scrape_mode_gives_the_canonical_names,
    a_compaction_is_counted,
    with_a_token_hooks_claude_codes_export_and_prometheus_all_get_in,
    a_session_that_cannot_ask_counts_each_refusal,
    every_event_the_release_fires_is_hooked_and_counted,
    prompts_are_kept_redacted_only_with_log_prompts,
);

#[test]
fn the_newest_release_pinned_is_the_one_the_project_knows() {
    assert_eq!(
        testkit::claude_code::NEWEST,
        hook_protocol::NEWEST_TESTED.to_string()
    );
    assert_eq!(
        testkit::claude_code::OLDEST,
        hook_protocol::OLDEST_SUPPORTED.to_string()
    );
}

/// The `claude` binary of `version`, installed into `target/claude-code` once and shared
/// by every test.
pub(crate) fn claude(version: &str) -> PathBuf {
    let cache = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../target/claude-code"
    ));
    testkit::claude_code::installed(&cache, version)
}

/// A user's machine: a HOME with our hooks and telemetry installed, and a project.
struct Machine {
    /// The `claude` binary this user runs.
    claude: PathBuf,
    home: PathBuf,
    project: PathBuf,
    /// The collector's token, in the environment as a team would set it.
    token: Option<String>,
}

impl Machine {
    fn new(
        root: &Path,
        user: &str,
        collector: &Collector,
        protocol: &str,
        claude: PathBuf,
        install_args: &[&str],
    ) -> Machine {
        let home = root.join(format!("home-{}", user.replace(' ', "-")));
        let project = home.join("project");
        std::fs::create_dir_all(&project).unwrap();
        // What every scenario must leave alone: a secret and a file in the home dir.
        std::fs::write(project.join(".env"), format!("API_KEY={SECRET}\n")).unwrap();
        std::fs::write(home.join(PRECIOUS), "keep me").unwrap();
        let output = Run::new(
            &[
                "install",
                "--user",
                "--url",
                &collector.url,
                "--user-name",
                user,
                "--user-email",
                "dev@example.com",
            ]
            .into_iter()
            .chain(install_args.iter().copied())
            .collect::<Vec<_>>(),
            &home,
        )
        .output();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        // Exports every second, in the protocol under test, so a short session is seen.
        let path = home.join(".claude/settings.json");
        let mut settings: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        settings["env"]["OTEL_METRIC_EXPORT_INTERVAL"] = json!("1000");
        settings["env"]["OTEL_LOGS_EXPORT_INTERVAL"] = json!("1000");
        settings["env"]["OTEL_EXPORTER_OTLP_PROTOCOL"] = json!(protocol);
        std::fs::write(&path, settings.to_string()).unwrap();
        Machine {
            claude,
            home,
            project,
            token: collector.token.clone(),
        }
    }

    /// Adds a `permissions.deny` rule of the person's own to their settings.
    fn deny(&self, rule: &str) {
        let path = self.home.join(".claude/settings.json");
        let mut settings: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        settings["permissions"]["deny"]
            .as_array_mut()
            .unwrap()
            .push(json!(rule));
        std::fs::write(&path, settings.to_string()).unwrap();
    }

    /// The whole environment Claude Code runs in: offline, against the fake API.
    fn env(&self, api: &MessagesApi, state_dir: &Path) -> Vec<(String, std::ffi::OsString)> {
        let token = self
            .token
            .iter()
            .map(|token| ("CLAUDE_TELEMETRY_TOKEN".to_owned(), token.into()));
        vec![
            ("PATH".into(), std::env::var_os("PATH").unwrap_or_default()),
            ("HOME".into(), self.home.clone().into()),
            ("ANTHROPIC_BASE_URL".into(), api.url().into()),
            ("ANTHROPIC_API_KEY".into(), "sk-ant-test-offline".into()),
            (
                "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC".into(),
                "1".into(),
            ),
            ("DISABLE_AUTOUPDATER".into(), "1".into()),
            ("IS_SANDBOX".into(), "1".into()),
            ("CLAUDE_TELEMETRY_STATE_DIR".into(), state_dir.into()),
            // Several real sessions, collectors and Prometheus share 2 cores here: one
            // acknowledgement slower than the default 200 ms budget would spool the rest
            // of a short session (the collector counts as away for 5 s) and leave it
            // there. The budget itself is the hook's tests' business.
            ("CLAUDE_TELEMETRY_TIMEOUT_MS".into(), "3000".into()),
        ]
        .into_iter()
        .chain(token)
        .collect()
    }

    /// `claude -p prompt [extra…]` in the project, run to the end.
    fn run(&self, api: &MessagesApi, prompt: &str, extra: &[&str], state_dir: &Path) -> Output {
        self.command(api, state_dir)
            .args([
                "-p",
                prompt,
                "--output-format",
                "json",
                "--model",
                "claude-sonnet-4-5",
                "--dangerously-skip-permissions",
            ])
            .args(extra)
            .output()
            .expect("run claude")
    }

    /// `claude` in the project, in its environment, with no arguments yet.
    fn command(&self, api: &MessagesApi, state_dir: &Path) -> Command {
        let mut command = Command::new(&self.claude);
        command
            .current_dir(&self.project)
            .env_clear()
            .envs(self.env(api, state_dir));
        command
    }

    /// A session that must succeed; its `--output-format json` result.
    fn claude_with(
        &self,
        api: &MessagesApi,
        prompt: &str,
        extra: &[&str],
        state_dir: &Path,
    ) -> Value {
        let output = self.run(api, prompt, extra, state_dir);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "claude failed: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("claude's result is not JSON ({e}): {stdout}"))
    }

    /// `claude -p prompt` in the project.
    fn claude(&self, api: &MessagesApi, prompt: &str, state_dir: &Path) -> Value {
        self.claude_with(api, prompt, &[], state_dir)
    }
}

/// Polls the collector's `/metrics` until `accept` takes the parsed series.
fn metrics_until(
    collector: &Collector,
    accept: impl Fn(&std::collections::BTreeMap<String, f64>) -> bool,
) -> std::collections::BTreeMap<String, f64> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let metrics = parse_metrics(&collector.metrics());
        if accept(&metrics) {
            return metrics;
        }
        assert!(
            Instant::now() < deadline,
            "metrics never settled:\n{}",
            collector.metrics()
        );
        std::thread::sleep(Duration::from_millis(200)); // waiting for Claude Code's last export, bounded
    }
}

/// The sum of every series of `name` whose labels contain all of `labels`.
fn total(metrics: &std::collections::BTreeMap<String, f64>, name: &str, labels: &[&str]) -> f64 {
    metrics
        .iter()
        .filter(|(series, _)| {
            series.split('{').next() == Some(name) && labels.iter().all(|l| series.contains(l))
        })
        .map(|(_, v)| v)
        .sum()
}

/// Where the scenarios' users live: not under a temp dir (the guard lets deletes inside
/// temp dirs through, and Claude Code's sandbox lets commands write in /tmp, so a place
/// "outside the project" there is not outside anything). The build's target dir, else the
/// runner's cache under HOME, else (a CI clone with HOME under /tmp too) a cache
/// directory of the system's, whichever is first outside the temp dirs and writable.
pub(crate) fn scratch() -> PathBuf {
    let in_temp = |path: &Path| path.starts_with("/tmp") || path.starts_with("/var/tmp");
    let target = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target"));
    let target = target.canonicalize().unwrap_or(target);
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let candidates = [
        Some(target.join("e2e")),
        home.map(|home| home.join(".cache/claude-telemetry-tests/e2e")),
        Some(PathBuf::from("/var/cache/claude-telemetry-tests/e2e")),
    ];
    candidates
        .into_iter()
        .flatten()
        .filter(|dir| !in_temp(dir))
        .find(|dir| std::fs::create_dir_all(dir).is_ok())
        .unwrap_or_else(|| {
            panic!(
                "no writable scratch dir outside the temp dirs: the target dir, HOME and \
                 /var/cache are all in /tmp or not writable"
            )
        })
}

/// A collector and a fake API, and room for machines.
struct World {
    /// The Claude Code release every machine here runs.
    version: String,
    root: tempfile::TempDir,
    data: PathBuf,
    collector: Collector,
    prometheus: Prometheus,
    api: MessagesApi,
}

impl World {
    fn new(version: &str) -> World {
        World::with_token(version, None)
    }

    /// A world whose collector requires `token`: the machines have it in their
    /// environment, Prometheus in its token file.
    fn with_token(version: &str, token: Option<&str>) -> World {
        World::with_env(version, token, &[])
    }

    /// A world whose collector has `env` besides the token, if any.
    fn with_env(version: &str, token: Option<&str>, env: &[(&str, &str)]) -> World {
        let scratch = scratch();
        std::fs::create_dir_all(&scratch).unwrap();
        let root = tempfile::tempdir_in(&scratch).unwrap();
        let data = root.path().join("data");
        let env: Vec<(&str, &str)> = token
            .iter()
            .map(|token| ("CLAUDE_TELEMETRY_TOKEN", *token))
            .chain(env.iter().copied())
            .collect();
        let collector = Collector::start_with(&data, &[], &env);
        let prometheus =
            Prometheus::with_token(&shipped_config("prometheus.yml", &collector, &[]), token);
        World {
            version: version.to_owned(),
            data,
            collector,
            prometheus,
            api: MessagesApi::start(Usage::default()),
            root,
        }
    }

    fn machine(&self, user: &str, protocol: &str) -> Machine {
        self.machine_with(user, protocol, &[])
    }

    /// A machine where `install` ran with `install_args` besides the usual ones.
    fn machine_with(&self, user: &str, protocol: &str, install_args: &[&str]) -> Machine {
        Machine::new(
            self.root.path(),
            user,
            &self.collector,
            protocol,
            claude(&self.version),
            install_args,
        )
    }

    fn state(&self, user: &str) -> PathBuf {
        self.root
            .path()
            .join(format!("state-{}", user.replace(' ', "-")))
    }

    /// What must hold after every scenario: no `.env` content in any request to the API;
    /// every home dir intact; Prometheus, scraping the collector with the shipped
    /// configuration, holds the same figures as `/metrics`; every session's timeline
    /// joins hook and OTLP events; no hook left anything in its spool.
    fn finish(&self, metrics: &std::collections::BTreeMap<String, f64>) {
        for request in self.api.requests() {
            let leaks: Vec<String> = request["messages"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|m| m["content"].as_array().cloned().unwrap_or_default())
                .map(|block| block.to_string())
                .filter(|block| block.contains(SECRET))
                .collect();
            assert!(
                leaks.is_empty(),
                "the .env content reached the API: {leaks:#?}"
            );
        }
        for entry in std::fs::read_dir(self.root.path()).unwrap().flatten() {
            if entry.file_name().to_string_lossy().starts_with("home-") {
                let kept = std::fs::read_to_string(entry.path().join(PRECIOUS));
                assert_eq!(
                    kept.ok().as_deref(),
                    Some("keep me"),
                    "{} lost its files",
                    entry.path().display()
                );
            }
        }
        for name in [
            "claude_code_tool_calls_total",
            "claude_code_security_blocks_total",
            "claude_code_sessions_started_total",
            "claude_code_prompts_total",
            "claude_code_subagents_total",
            "claude_code_compactions_total",
            "claude_code_cost_usage_USD_total",
            "claude_code_token_usage_tokens_total",
        ] {
            let expected = total(metrics, name, &[]);
            self.prometheus
                .query_until(&format!("sum({name}) or vector(0)"), |r| {
                    r.first()
                        .and_then(|s| s["value"][1].as_str())
                        .and_then(|v| v.parse::<f64>().ok())
                        .is_some_and(|v| (v - expected).abs() < 1e-9)
                });
        }
        let all_time = collector::query::Window {
            since_ms: 0,
            until_ms: i64::MAX,
        };
        for session in
            collector::query::sessions(&self.data, all_time, 1_000, &Default::default()).unwrap()
        {
            let timeline =
                collector::query::timeline(&self.data, &session.session_id, 100_000).unwrap();
            assert!(
                timeline.iter().any(|e| e.source == "hook")
                    && timeline.iter().any(|e| e.source == "otlp"),
                "{}: {timeline:#?}",
                session.session_id
            );
            assert!(timeline.windows(2).all(|w| w[0].ts_ms <= w[1].ts_ms));
        }
        for entry in std::fs::read_dir(self.root.path()).unwrap().flatten() {
            if entry.file_name().to_string_lossy().starts_with("state-") {
                assert_eq!(
                    spooled(&entry.path()),
                    0,
                    "{} holds spooled events",
                    entry.path().display()
                );
            }
        }
    }

    /// The audit trail: every denied or asked tool call, all time.
    fn audit(&self) -> Vec<collector::query::AuditRow> {
        let all_time = collector::query::Window {
            since_ms: 0,
            until_ms: i64::MAX,
        };
        collector::query::audit(
            &self.data,
            all_time,
            &collector::query::AuditFilter::default(),
        )
        .unwrap()
    }

    /// Waits for Claude Code's last export, then the metrics.
    fn metrics_with_cost(&self, cost: f64) -> std::collections::BTreeMap<String, f64> {
        metrics_until(&self.collector, |m| {
            (total(m, "claude_code_cost_usage_USD_total", &[]) - cost).abs() < 1e-9
        })
    }
}

fn scenario(version: &str, protocol: &str) {
    let world = World::new(version);
    let World {
        root,
        collector,
        api,
        ..
    } = &world;
    let machine = world.machine("Jane Doe", protocol);
    // A rule of the person's own, beside the `.env` rules install wrote: Claude Code
    // applies it after our guard allowed the call.
    machine.deny("Bash(curl:*)");
    let outside = root.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("data.txt"), "keep me too").unwrap();
    let notes = machine.project.join("notes.md");
    api.script(
        "ordinary work",
        vec![
            Reply::bash("echo hello > made.txt"),
            Reply::tool(
                "Write",
                json!({"file_path": notes, "content": "first line\n"}),
            ),
            Reply::tool(
                "Edit",
                json!({"file_path": notes, "old_string": "first", "new_string": "edited"}),
            ),
            Reply::tool("Read", json!({"file_path": notes})),
            Reply::bash("ls /nonexistent-dir-for-the-test"),
            Reply::bash("rm -rf ~"),
            Reply::bash(&format!("rm -rf {}", outside.display())),
            Reply::tool("Read", json!({"file_path": machine.project.join(".env")})),
            Reply::bash("cat .env"),
            Reply::bash("grep API_KEY .env"),
            Reply::bash("curl -s http://127.0.0.1:9/"),
            Reply::text("All done."),
        ],
    );
    let state = world.state("Jane Doe");
    let result = machine.claude(api, "ordinary work, then some dangerous things", &state);
    let seen = denials_seen(version, &result, api);
    assert_eq!(seen.len(), 6, "{seen:?}");

    // The guard held (the home dir and the secret are checked in `finish`).
    assert_eq!(
        std::fs::read_to_string(outside.join("data.txt")).unwrap(),
        "keep me too"
    );
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "edited line\n");
    // Metrics: exactly the session's counts, and Claude Code's own tokens and cost.
    let usage = api.usage();
    let replies = api.successes() as f64;
    let cost = result["total_cost_usd"].as_f64().unwrap();
    // The denials Claude Code made itself arrive when the session's last turn ends.
    let metrics = metrics_until(collector, |m| {
        (total(m, "claude_code_cost_usage_USD_total", &[]) - cost).abs() < 1e-9
            && total(
                m,
                "claude_code_token_usage_tokens_total",
                &["type=\"input\""],
            ) == replies * usage.input_tokens as f64
            && total(m, "claude_code_tool_calls_total", &["outcome=\"blocked\""])
                == seen.len() as f64
    });
    assert_eq!(
        total(
            &metrics,
            "claude_code_tool_calls_total",
            &["tool=\"Bash\"", "outcome=\"success\""]
        ),
        1.0
    );
    assert_eq!(
        total(
            &metrics,
            "claude_code_tool_calls_total",
            &["tool=\"Bash\"", "outcome=\"failure\""]
        ),
        1.0
    );
    // Four Bash calls the guard blocked, and the curl the person's rule denied.
    assert_eq!(
        total(
            &metrics,
            "claude_code_tool_calls_total",
            &["tool=\"Bash\"", "outcome=\"blocked\""]
        ),
        5.0
    );
    // The Read of `.env` never reached PreToolUse: the deny rule `install` wrote into the
    // settings stopped it inside Claude Code (its content is not in any request, above).
    // The hook found the denial in the transcript when the session's turn ended.
    assert_eq!(
        total(
            &metrics,
            "claude_code_hook_events_total",
            &["event=\"PreToolUse\"", "tool=\"Read\""]
        ),
        1.0
    );
    assert_eq!(
        total(
            &metrics,
            "claude_code_tool_calls_total",
            &["tool=\"Read\"", "outcome=\"blocked\""]
        ),
        1.0
    );
    // Every denial a person saw is one blocked tool call, of the same tools.
    let mut blocked_tools: Vec<String> = metrics
        .iter()
        .filter(|(series, _)| {
            series.starts_with("claude_code_tool_calls_total{")
                && series.contains("outcome=\"blocked\"")
        })
        .flat_map(|(series, count)| {
            let tool = label(series, "tool");
            std::iter::repeat_n(tool, *count as usize)
        })
        .collect();
    blocked_tools.sort();
    assert_eq!(blocked_tools, tools_of(&seen));
    // Hook-derived and Claude Code's own series name the same person.
    assert!(
        metrics
            .keys()
            .filter(|s| s.starts_with("claude_code_tool_calls_total"))
            .all(|s| s.contains("user_name=\"Jane Doe\"")),
        "{metrics:#?}"
    );
    for tool in ["Write", "Edit", "Read"] {
        assert_eq!(
            total(
                &metrics,
                "claude_code_tool_calls_total",
                &[&format!("tool=\"{tool}\""), "outcome=\"success\""]
            ),
            1.0,
            "{tool}"
        );
    }
    assert_eq!(
        total(
            &metrics,
            "claude_code_security_blocks_total",
            &["rule=\"rm.home\""]
        ),
        1.0,
        "{metrics:#?}"
    );
    // One definition of a block: the guard's four, and each call Claude Code denied
    // itself (the curl and the Read of `.env`) under category permission, once each.
    assert_eq!(
        total(
            &metrics,
            "claude_code_security_blocks_total",
            &["category=\"permission\""]
        ),
        2.0
    );
    assert_eq!(
        total(&metrics, "claude_code_security_blocks_total", &[]),
        6.0
    );
    assert_eq!(total(&metrics, "claude_code_prompts_total", &[]), 1.0);
    assert_eq!(
        total(&metrics, "claude_code_sessions_started_total", &[]),
        1.0
    );
    for (kind, per_reply) in [
        ("output", usage.output_tokens),
        ("cacheRead", usage.cache_read_input_tokens),
        ("cacheCreation", usage.cache_creation_input_tokens),
    ] {
        assert_eq!(
            total(
                &metrics,
                "claude_code_token_usage_tokens_total",
                &[&format!("type=\"{kind}\"")]
            ),
            replies * per_reply as f64,
            "{kind}"
        );
    }
    assert_eq!(
        result["usage"]["input_tokens"].as_f64(),
        Some(replies * usage.input_tokens as f64)
    );
    // The same tokens as Claude Code's own totals by model, and one API request per reply.
    for (kind, field) in [
        ("input", "inputTokens"),
        ("output", "outputTokens"),
        ("cacheRead", "cacheReadInputTokens"),
        ("cacheCreation", "cacheCreationInputTokens"),
    ] {
        assert_eq!(
            total(
                &metrics,
                "claude_code_token_usage_tokens_total",
                &[&format!("type=\"{kind}\"")]
            ),
            cli_tokens(&result, field),
            "{kind}"
        );
    }
    assert_eq!(
        total(&metrics, "claude_code_api_requests_total", &[]),
        replies
    );

    // The audit trail lists each block with its rule; the store holds one joined timeline.
    let audit = world.audit();
    let rules: Vec<&str> = audit.iter().map(|a| a.rule.as_str()).collect();
    assert!(audit.iter().all(|a| a.decision == "deny"), "{audit:#?}");
    let mut audited_tools: Vec<String> = audit.iter().map(|a| a.tool.clone()).collect();
    audited_tools.sort();
    assert_eq!(audited_tools, tools_of(&seen), "{audit:#?}");
    assert!(
        rules.contains(&"rm.home") && rules.iter().filter(|r| r.starts_with("rm.")).count() == 2,
        "{rules:?}"
    );
    assert_eq!(
        rules
            .iter()
            .filter(|r| r.starts_with("env.") || r.starts_with("secret."))
            .count(),
        2,
        "{rules:?}"
    );
    assert_eq!(
        rules
            .iter()
            .filter(|r| **r == "claude_code.deny_rule")
            .count(),
        2,
        "the .env Read and the curl: {rules:?}"
    );
    world.finish(&metrics);
}

/// The tool calls a person saw denied in a `claude -p` run, as (tool, call id), sorted:
/// Claude Code's own `permission_denials`, and on releases that report a file tool's
/// read denied by a rule as a tool error rather than a denial (2.1.197) those reads too,
/// found in what the model was told. On the newest release its own list is the whole.
fn denials_seen(version: &str, result: &Value, api: &MessagesApi) -> Vec<(String, String)> {
    let mut seen: Vec<(String, String)> = result["permission_denials"]
        .as_array()
        .unwrap_or_else(|| panic!("no permission_denials in {result}"))
        .iter()
        .map(|d| {
            (
                d["tool_name"].as_str().unwrap().to_owned(),
                d["tool_use_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let own = seen.len();
    let mut tools = std::collections::HashMap::new();
    for request in api.requests() {
        for message in request["messages"].as_array().into_iter().flatten() {
            for block in message["content"].as_array().into_iter().flatten() {
                if block["type"] == "tool_use" {
                    tools.insert(
                        block["id"].as_str().unwrap_or("").to_owned(),
                        block["name"].as_str().unwrap_or("").to_owned(),
                    );
                }
                let told = block["content"].to_string();
                if block["type"] == "tool_result"
                    && block["is_error"] == json!(true)
                    && told.contains("is denied by your permission settings")
                {
                    let id = block["tool_use_id"].as_str().unwrap_or("").to_owned();
                    let tool = tools.get(&id).cloned().unwrap_or_default();
                    if !seen.iter().any(|(_, known)| *known == id) {
                        seen.push((tool, id));
                    }
                }
            }
        }
    }
    if hook_protocol::Release::parse(version).unwrap() >= hook_protocol::NEWEST_TESTED {
        assert_eq!(
            seen.len(),
            own,
            "the newest release lists every denial itself: {seen:?} beyond {}",
            result["permission_denials"]
        );
    }
    seen.sort();
    seen
}

/// The tools of `denials`, sorted.
fn tools_of(denials: &[(String, String)]) -> Vec<String> {
    let mut tools: Vec<String> = denials.iter().map(|(tool, _)| tool.clone()).collect();
    tools.sort();
    tools
}

/// The value of `name` in a series' labels.
fn label(series: &str, name: &str) -> String {
    let key = format!("{name}=\"");
    series
        .split_once(&key)
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(value, _)| value.to_owned())
        .unwrap_or_default()
}

/// Claude Code's own count of `field` tokens (`inputTokens`, …) over every model it used.
fn cli_tokens(result: &Value, field: &str) -> f64 {
    result["modelUsage"]
        .as_object()
        .unwrap_or_else(|| panic!("no modelUsage in {result}"))
        .values()
        .map(|usage| usage[field].as_f64().unwrap())
        .sum()
}

/// Claude Code's own cost of a session run in two parts (a run, then `--resume`). 2.1.332
/// restores a resumed session's cost, so its second result already holds the whole
/// session; 2.1.197 reports each run alone. (Which release between them changed it is not
/// known: releases before the newest tested are taken to report each run alone.)
fn session_cost(version: &str, first: &Value, resumed: &Value) -> f64 {
    let cost = |result: &Value| result["total_cost_usd"].as_f64().unwrap();
    let release = hook_protocol::Release::parse(version).unwrap();
    if release >= hook_protocol::NEWEST_TESTED {
        cost(resumed)
    } else {
        cost(first) + cost(resumed)
    }
}

fn a_session_that_cannot_ask_counts_each_refusal(version: &str) {
    let world = World::new(version);
    let machine = world.machine("Jane Doe", "http/protobuf");
    let made = machine.project.join("made.txt");
    world.api.script(
        "no one to ask",
        vec![
            Reply::tool("Write", json!({"file_path": made, "content": "x"})),
            Reply::bash("rm -rf ~"),
            Reply::bash("echo allowed without asking"),
            Reply::text("Done."),
        ],
    );
    // `-p` in the default permission mode: a write needs an approval no one can give.
    let output = machine
        .command(&world.api, &world.state("Jane Doe"))
        .args(["-p", "no one to ask", "--output-format", "json"])
        .args(["--model", "claude-sonnet-4-5"])
        .output()
        .expect("run claude");
    let result: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)));
    assert!(!made.exists(), "the write was not approved");
    let seen = denials_seen(version, &result, &world.api);
    assert_eq!(tools_of(&seen), ["Bash", "Write"], "{result}");
    let metrics = metrics_until(&world.collector, |m| {
        (total(m, "claude_code_cost_usage_USD_total", &[])
            - result["total_cost_usd"].as_f64().unwrap())
        .abs()
            < 1e-9
            && total(m, "claude_code_tool_calls_total", &["outcome=\"blocked\""]) == 2.0
    });
    for tool in ["Write", "Bash"] {
        assert_eq!(
            total(
                &metrics,
                "claude_code_tool_calls_total",
                &[&format!("tool=\"{tool}\""), "outcome=\"blocked\""]
            ),
            1.0,
            "{tool}"
        );
    }
    let audit = world.audit();
    let mut rules: Vec<(&str, &str)> = audit
        .iter()
        .map(|a| (a.tool.as_str(), a.rule.as_str()))
        .collect();
    rules.sort_unstable();
    assert_eq!(
        rules,
        [("Bash", "rm.home"), ("Write", "claude_code.not_approved")]
    );
    world.finish(&metrics);
}

fn every_event_the_release_fires_is_hooked_and_counted(version: &str) {
    let world = World::new(version);
    let machine = world.machine("Jane Doe", "http/json");
    // A skill whose `!` line runs a shell command when it loads (PreSkillShellCommand).
    let skill = machine.home.join(".claude/skills/probe");
    std::fs::create_dir_all(&skill).unwrap();
    std::fs::write(
        skill.join("SKILL.md"),
        "---\nname: probe\ndescription: a probe skill\n---\nThe output: !`echo skill-shell-ran`\n",
    )
    .unwrap();
    world.api.script(
        "use the skill",
        vec![
            Reply::tool("Skill", json!({"skill": "probe"})),
            Reply::text("Done."),
        ],
    );
    // Through the SDK's stream: switch the model (PreModelSwitch, PostModelSwitch), add a
    // working directory (DirectoryAdded), then the prompt.
    let added = machine.project.join("sub");
    std::fs::create_dir_all(&added).unwrap();
    let input = [
        json!({"type": "control_request", "request_id": "1", "request": {"subtype": "initialize"}}),
        json!({"type": "control_request", "request_id": "2", "request": {"subtype": "set_model", "model": "claude-opus-4-1"}}),
        json!({"type": "control_request", "request_id": "3", "request": {"subtype": "register_repo_root", "directory": added}}),
        json!({"type": "user", "message": {"role": "user", "content": "use the skill"}}),
    ];
    let mut child = machine
        .command(&world.api, &world.state("Jane Doe"))
        .args(["-p", "--input-format", "stream-json"])
        .args(["--output-format", "stream-json", "--verbose"])
        .args([
            "--model",
            "claude-sonnet-4-5",
            "--dangerously-skip-permissions",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run claude");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        for line in &input {
            writeln!(stdin, "{line}").unwrap();
        }
    }
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let result: Value = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|message| message["type"] == "result")
        .unwrap_or_else(|| panic!("no result: {stdout}"));
    // The skill's command ran on every release; only newer ones tell a hook first.
    assert!(
        world
            .api
            .requests()
            .iter()
            .any(|r| r["messages"].to_string().contains("skill-shell-ran")),
        "the skill's command did not run"
    );
    let metrics = world.metrics_with_cost(result["total_cost_usd"].as_f64().unwrap());
    let fired = hook_protocol::Release::parse(version)
        .unwrap()
        .fired_events();
    for event in [
        hook_protocol::KnownEvent::PreSkillShellCommand,
        hook_protocol::KnownEvent::PreModelSwitch,
        hook_protocol::KnownEvent::PostModelSwitch,
        hook_protocol::KnownEvent::DirectoryAdded,
    ] {
        let expected = if fired.contains(&event) { 1.0 } else { 0.0 };
        assert_eq!(
            total(
                &metrics,
                "claude_code_hook_events_total",
                &[&format!("event=\"{}\"", event.name())]
            ),
            expected,
            "{} on {version}",
            event.name()
        );
    }
    world.finish(&metrics);
}

/// Events waiting in a hook spool.
fn spooled(state: &Path) -> usize {
    std::fs::read_dir(state.join("spool"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().is_file())
                .count()
        })
        .unwrap_or(0)
}

fn a_real_session_over_otlp_protobuf_is_guarded_and_counted_exactly(version: &str) {
    scenario(version, "http/protobuf");
}

fn a_real_session_over_otlp_json_is_guarded_and_counted_exactly(version: &str) {
    scenario(version, "http/json");
}

fn api_errors_are_retried_and_a_final_one_is_counted(version: &str) {
    let world = World::new(version);
    let machine = world.machine("Jane Doe", "http/protobuf");
    // Overloaded, then rate-limited: Claude Code retries both and carries on.
    world.api.script(
        "flaky api",
        vec![
            Reply::Error {
                status: 529,
                kind: "overloaded_error".to_owned(),
            },
            Reply::Error {
                status: 429,
                kind: "rate_limit_error".to_owned(),
            },
            Reply::bash("echo after the retries"),
            Reply::text("Done."),
        ],
    );
    let state = world.state("Jane Doe");
    let result = machine.claude(&world.api, "flaky api, keep going", &state);
    assert_eq!(
        world.api.requests().len() as u64,
        world.api.successes() + 2,
        "both errors were retried"
    );
    // A request the API refuses for good ends the turn with an error Claude Code reports.
    // (A 400 is not final for every release: 2.1.332 retries it five times.)
    world.api.script(
        "refused",
        vec![
            Reply::Error {
                status: 403,
                kind: "permission_error".to_owned(),
            },
            Reply::text("unreachable"),
        ],
    );
    let refused = machine.run(&world.api, "refused request", &[], &state);
    let refused: Value = serde_json::from_slice(&refused.stdout).unwrap_or(Value::Null);
    assert_eq!(refused["is_error"], json!(true), "{refused}");

    let cost = result["total_cost_usd"].as_f64().unwrap();
    let metrics = metrics_until(&world.collector, |m| {
        (total(m, "claude_code_cost_usage_USD_total", &[]) - cost).abs() < 1e-9
            && total(m, "claude_code_api_errors_total", &["status_code=\"403\""]) == 1.0
    });
    assert_eq!(
        total(&metrics, "claude_code_api_requests_total", &[]),
        world.api.successes() as f64,
        "every successful reply is one API request"
    );
    assert_eq!(
        total(&metrics, "claude_code_api_errors_total", &[]),
        1.0,
        "retried errors are not failures"
    );
    assert_eq!(
        total(
            &metrics,
            "claude_code_tool_calls_total",
            &["tool=\"Bash\"", "outcome=\"success\""]
        ),
        1.0
    );
    world.finish(&metrics);
}

fn a_subagent_and_a_resumed_session_are_counted(version: &str) {
    let world = World::new(version);
    let machine = world.machine("Jane Doe", "http/protobuf");
    world.api.script(
        "delegate",
        vec![
            Reply::tool("Agent", json!({"description": "look around", "prompt": "subagent task: list the files", "subagent_type": "general-purpose"})),
            Reply::text("The helper looked around."),
        ],
    );
    // The subagent's Read of `.env` is stopped by install's deny rule, in its own
    // transcript: the hook reads that one when the subagent stops.
    world.api.script(
        "subagent task",
        vec![
            Reply::tool("Read", json!({"file_path": machine.project.join(".env")})),
            Reply::bash("ls"),
            Reply::text("Two files."),
        ],
    );
    let state = world.state("Jane Doe");
    let first = machine.claude(&world.api, "delegate some work", &state);
    let session = first["session_id"].as_str().unwrap().to_owned();
    let resumed = machine.claude_with(
        &world.api,
        "and one more thing",
        &["--resume", &session],
        &state,
    );
    let metrics = world.metrics_with_cost(session_cost(version, &first, &resumed));
    assert_eq!(
        total(&metrics, "claude_code_subagents_total", &[]),
        1.0,
        "{metrics:#?}"
    );
    assert_eq!(
        total(
            &metrics,
            "claude_code_sessions_started_total",
            &["source=\"startup\""]
        ),
        1.0
    );
    // Resumed, it is the same session: counted once, at its first event (the page's and
    // `report`'s definition of a session).
    assert_eq!(
        total(&metrics, "claude_code_sessions_started_total", &[]),
        1.0
    );
    // Two typed prompts, and on releases that run the subagent in the background (2.1.332
    // in `-p` mode) a third: the `<task-notification>` that hands its result back.
    let background = first["subagent_stats"]["started_in_background"]
        .as_f64()
        .unwrap_or(0.0);
    assert_eq!(
        total(&metrics, "claude_code_prompts_total", &[]),
        2.0 + background
    );
    // The subagent's Bash call counts like any other.
    assert_eq!(
        total(
            &metrics,
            "claude_code_tool_calls_total",
            &["tool=\"Bash\"", "outcome=\"success\""]
        ),
        1.0
    );
    let metrics = metrics_until(&world.collector, |m| {
        total(m, "claude_code_tool_calls_total", &["outcome=\"blocked\""]) >= 1.0
    });
    assert_eq!(
        total(
            &metrics,
            "claude_code_tool_calls_total",
            &["tool=\"Read\"", "outcome=\"blocked\""]
        ),
        1.0,
        "{metrics:#?}"
    );
    let audit = world.audit();
    assert_eq!(audit.len(), 1, "{audit:#?}");
    assert_eq!(
        (audit[0].tool.as_str(), audit[0].rule.as_str()),
        ("Read", "claude_code.deny_rule")
    );
    assert!(audit[0].input.ends_with("/project/.env"), "{audit:#?}");
    let timeline = collector::query::timeline(&world.data, &session, 10_000).unwrap();
    assert!(
        timeline.iter().any(|e| e.name == "SubagentStop"),
        "{timeline:#?}"
    );
    assert_eq!(spooled(&state), 0);
    world.finish(&metrics);
}

fn two_users_at_once_are_told_apart(version: &str) {
    let world = World::new(version);
    world.api.script(
        "jane's task",
        vec![
            Reply::bash("echo jane"),
            Reply::bash("rm -rf ~"),
            Reply::text("Done."),
        ],
    );
    world.api.script(
        "bob's task",
        vec![
            Reply::bash("echo bob"),
            Reply::bash("echo again"),
            Reply::text("Done."),
        ],
    );
    let users = [("Jane Doe", "jane's task"), ("Bob Roe", "bob's task")];
    let results: Vec<Value> = std::thread::scope(|scope| {
        let runs: Vec<_> = users
            .iter()
            .map(|(user, prompt)| {
                let machine = world.machine(user, "http/json");
                let state = world.state(user);
                let api = &world.api;
                scope.spawn(move || machine.claude(api, prompt, &state))
            })
            .collect();
        runs.into_iter().map(|run| run.join().unwrap()).collect()
    });
    let cost: f64 = results
        .iter()
        .map(|r| r["total_cost_usd"].as_f64().unwrap())
        .sum();
    let metrics = world.metrics_with_cost(cost);
    let calls = |user: &str, outcome: &str| {
        total(
            &metrics,
            "claude_code_tool_calls_total",
            &[
                &format!("user_name=\"{user}\""),
                &format!("outcome=\"{outcome}\""),
            ],
        )
    };
    assert_eq!(calls("Jane Doe", "success"), 1.0);
    assert_eq!(calls("Jane Doe", "blocked"), 1.0);
    assert_eq!(calls("Bob Roe", "success"), 2.0);
    assert_eq!(calls("Bob Roe", "blocked"), 0.0);
    for ((user, _), result) in users.iter().zip(&results) {
        let own = total(
            &metrics,
            "claude_code_cost_usage_USD_total",
            &[&format!("user_name=\"{user}\"")],
        );
        assert!(
            (own - result["total_cost_usd"].as_f64().unwrap()).abs() < 1e-9,
            "{user}: {own}"
        );
    }
    world.finish(&metrics);
}

fn the_direct_scrape_mode_gives_the_canonical_names(version: &str) {
    let world = World::new(version);
    let machine = world.machine("Jane Doe", "http/protobuf");
    // The original stack's direct mode: Claude Code serves its own Prometheus exporter.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let path = machine.home.join(".claude/settings.json");
    let mut settings: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    settings["env"]["OTEL_METRICS_EXPORTER"] = json!("prometheus");
    settings["env"]["OTEL_EXPORTER_PROMETHEUS_HOST"] = json!("127.0.0.1");
    settings["env"]["OTEL_EXPORTER_PROMETHEUS_PORT"] = json!(port.to_string());
    std::fs::write(&path, settings.to_string()).unwrap();
    let target = format!("127.0.0.1:{port}");
    let config = crate::dashboards::shipped_config(
        "prometheus.yml",
        &world.collector,
        &[("claude-code:9464", &target)],
    );
    let prometheus = crate::prometheus::Prometheus::with_config(&config);
    // The exporter lives as long as the session: a tool call keeps it up while scraped.
    world.api.script(
        "direct mode",
        vec![Reply::bash("sleep 6"), Reply::text("Done.")],
    );
    std::thread::scope(|scope| {
        let session = scope
            .spawn(|| machine.claude(&world.api, "direct mode session", &world.state("Jane Doe")));
        let canonical = prometheus.query_until(
            "claude_code_cost_usage_USD_total{job=\"claude-code\"}",
            |r| !r.is_empty(),
        );
        assert!(
            canonical
                .iter()
                .all(|s| s["metric"].get("session_id").is_none()),
            "{canonical:?}"
        );
        let tokens = prometheus.query_until(
            "claude_code_token_usage_tokens_total{job=\"claude-code\",type=\"input\"}",
            |r| !r.is_empty(),
        );
        assert_eq!(tokens[0]["metric"]["model"], "claude-sonnet-4-5");
        // The exporter's own spellings are gone.
        let raw = prometheus.query_until("{job=\"claude-code\",__name__=~\"claude_code_(cost_usage|token_usage|active_time)_total\"}", |_| true);
        assert!(raw.is_empty(), "{raw:?}");
        session.join().unwrap();
    });
}

fn a_compaction_is_counted(version: &str) {
    let world = World::new(version);
    let machine = world.machine("Jane Doe", "http/protobuf");
    world.api.script(
        "long conversation",
        vec![Reply::bash("echo some work"), Reply::text("Worked.")],
    );
    let state = world.state("Jane Doe");
    let first = machine.claude(&world.api, "long conversation to compact later", &state);
    let session = first["session_id"].as_str().unwrap().to_owned();
    machine.claude_with(&world.api, "/compact", &["--resume", &session], &state);
    let metrics = metrics_until(&world.collector, |m| {
        total(m, "claude_code_compactions_total", &[]) >= 1.0
    });
    assert_eq!(
        total(
            &metrics,
            "claude_code_compactions_total",
            &["trigger=\"manual\""]
        ),
        1.0,
        "{metrics:#?}"
    );
    world.finish(&metrics);
}

fn with_a_token_hooks_claude_codes_export_and_prometheus_all_get_in(version: &str) {
    let world = World::with_token(version, Some("a-team-token-0123456789"));
    let machine = world.machine("Jane Doe", "http/protobuf");
    world.api.script(
        "work behind a token",
        vec![
            Reply::bash("echo behind a token"),
            Reply::bash("rm -rf ~"),
            Reply::text("Done."),
        ],
    );
    let state = world.state("Jane Doe");
    let result = machine.claude(&world.api, "work behind a token", &state);
    // Cost and tokens come only through Claude Code's OTLP export, which carries the
    // token from `claude-telemetry otel-headers` (the otelHeadersHelper install set).
    let metrics = world.metrics_with_cost(result["total_cost_usd"].as_f64().unwrap());
    for (outcome, count) in [("success", 1.0), ("blocked", 1.0)] {
        assert_eq!(
            total(
                &metrics,
                "claude_code_tool_calls_total",
                &["tool=\"Bash\"", &format!("outcome=\"{outcome}\"")]
            ),
            count,
            "{outcome}"
        );
    }
    assert_eq!(
        total(
            &metrics,
            "claude_telemetry_requests_rejected_total",
            &["reason=\"unauthorized\""]
        ),
        0.0,
        "{metrics:#?}"
    );
    world.finish(&metrics);
}

/// With `install --log-prompts` (and the collector at the `prompts` level), a real
/// session's prompt is in its timeline and JSON, redacted, from the hook and from Claude
/// Code's own `user_prompt` event, and its answers nowhere; without it, nothing of the
/// prompt is on disk. Store, WAL, spool and state are searched byte by byte.
fn prompts_are_kept_redacted_only_with_log_prompts(version: &str) {
    const PROMPT: &str = "PROMPTKEPTMARK tidy up";
    const ANSWER: &str = "ANSWERNEVERKEPTMARK";
    const PASSWORD: &str = "promptdbpassword01";
    let prompt = format!("{PROMPT}; the db is mysql -u root -p{PASSWORD} shop");
    let redacted = format!("{PROMPT}; the db is mysql -u root -p[REDACTED] shop");
    for log_prompts in [true, false] {
        let (collector_env, install_args): (&[(&str, &str)], &[&str]) = if log_prompts {
            (
                &[("CLAUDE_TELEMETRY_PRIVACY", "prompts")],
                &["--log-prompts"],
            )
        } else {
            (&[], &[])
        };
        let world = World::with_env(version, None, collector_env);
        let machine = world.machine_with("Jane Doe", "http/json", install_args);
        world.api.script(
            PROMPT,
            vec![
                Reply::bash("echo tidy > tidy.txt"),
                Reply::text(&format!("{ANSWER}: all tidy.")),
            ],
        );
        let state = world.state("Jane Doe");
        let result = machine.claude(&world.api, &prompt, &state);
        let session = result["session_id"].as_str().unwrap().to_owned();
        let cost = result["total_cost_usd"].as_f64().unwrap();
        let requests = world.api.successes() as f64;
        let metrics = metrics_until(&world.collector, |m| {
            (total(m, "claude_code_cost_usage_USD_total", &[]) - cost).abs() < 1e-9
                && total(m, "claude_code_api_requests_total", &[]) == requests
        });
        world.finish(&metrics);

        let timeline = collector::query::timeline(&world.data, &session, 100_000).unwrap();
        let shown: Vec<(String, String)> = timeline
            .iter()
            .filter(|entry| entry.detail == redacted)
            .map(|entry| (entry.source.clone(), entry.name.clone()))
            .collect();
        let (status, json) = world
            .collector
            .get(&format!("/api/v1/sessions/{session}/timeline"));
        assert_eq!(status, 200, "{json}");
        let in_json = json.contains(&serde_json::to_string(&redacted).unwrap());
        if log_prompts {
            for from in [
                ("hook", "UserPromptSubmit"),
                ("otlp", "claude_code.user_prompt"),
            ] {
                assert!(
                    shown.contains(&(from.0.to_owned(), from.1.to_owned())),
                    "{from:?} not in the timeline: {timeline:#?}"
                );
            }
            assert!(in_json, "{json}");
        } else {
            assert!(shown.is_empty() && !in_json, "{timeline:#?}");
        }

        let mut on_disk = Vec::new();
        let mut pending = vec![world.data.clone(), state.clone()];
        while let Some(path) = pending.pop() {
            if path.is_dir() {
                pending.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            } else if let Ok(bytes) = std::fs::read(&path) {
                on_disk.extend(bytes);
            }
        }
        let on_disk = String::from_utf8_lossy(&on_disk);
        assert_eq!(on_disk.contains(PROMPT), log_prompts, "the prompt on disk");
        assert!(!on_disk.contains(PASSWORD), "the password in the prompt");
        assert!(!on_disk.contains(ANSWER), "the answer");
    }
}
