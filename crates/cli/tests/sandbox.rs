//! Claude Code's own sandbox as the second line behind the guard, with the real CLI (the
//! newest release and the oldest supported, `newest::…` and `oldest::…`) and bubblewrap,
//! offline against the fake Messages API: what the guard
//! is configured to let through still cannot delete outside the project, secrets reach
//! the API neither by a recursive search, nor a skill's `!` preamble, nor a read through
//! Bash, and the files the sandbox hides are the guard's secret files.
//!
//! They need bubblewrap and socat (`scripts/test` installs them) and a kernel that lets
//! bubblewrap create user namespaces; where it cannot, they fail with `doctor`'s words
//! for why. As root (CI) Claude Code refuses `--dangerously-skip-permissions` unless
//! `IS_SANDBOX=1`; that variable does not turn its command sandbox off (each test below
//! sees bubblewrap refuse a write). Sandboxed commands get no network but through Claude
//! Code's proxy, so nothing here needs one: the fake API is reached by Claude Code itself.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use testkit::messages_api::{MessagesApi, Reply, Usage};

use crate::claude_code::{claude, scratch};
use crate::support::collector::Collector;
use crate::support::{Run, stderr, stdout};

/// Each test once per release: `newest::NAME` and `oldest::NAME` call `NAME(version)`.
macro_rules! on_both_releases {
    ($($test:ident),+ $(,)?) => {
        mod newest {
            $(#[test]
            fn $test() {
                super::$test(&testkit::claude_code::newest());
            })+
        }
        mod oldest {
            $(#[test]
            fn $test() {
                super::$test(testkit::claude_code::OLDEST);
            })+
        }
    };
}

on_both_releases!(
    a_delete_the_guard_lets_through_cannot_leave_the_project_with_the_sandbox_on,
    secrets_reach_the_api_by_no_route_with_the_guard_and_the_sandbox,
    the_files_the_sandbox_hides_are_the_guards_secret_files,
);

/// One user's machine: a home with a project, a directory outside both, a collector.
struct Machine {
    version: String,
    root: tempfile::TempDir,
    home: PathBuf,
    project: PathBuf,
    /// Outside the home and the project: nothing here may delete it.
    outside: PathBuf,
    data: PathBuf,
    collector: Collector,
    api: MessagesApi,
}

impl Machine {
    fn new(version: &str) -> Machine {
        sandbox_runs_here();
        let scratch = scratch();
        fs::create_dir_all(&scratch).unwrap();
        let root = tempfile::tempdir_in(&scratch).unwrap();
        let home = root.path().join("home");
        let project = home.join("project");
        let outside = root.path().join("outside");
        fs::create_dir_all(&project).unwrap();
        fs::create_dir_all(&outside).unwrap();
        let data = root.path().join("data");
        Machine {
            version: version.to_owned(),
            collector: Collector::start(&data),
            api: MessagesApi::start(Usage::default()),
            data,
            home,
            project,
            outside,
            root,
        }
    }

    /// `claude-telemetry install --user` with `extra`, run as this user.
    fn install(&self, extra: &[&str]) {
        let mut args = vec!["install", "--user", "--url", &self.collector.url];
        args.extend_from_slice(extra);
        let output = Run::new(&args, &self.home).output();
        assert!(output.status.success(), "{}", stderr(&output));
    }

    /// What Claude Code and its hooks run with: offline, against the fake API; the guard
    /// configured by `guard_env`.
    fn env(&self, guard_env: &[(&str, &Path)]) -> Vec<(String, OsString)> {
        let mut env: Vec<(String, OsString)> = vec![
            ("PATH".into(), std::env::var_os("PATH").unwrap_or_default()),
            ("HOME".into(), self.home.clone().into()),
            ("ANTHROPIC_BASE_URL".into(), self.api.url().into()),
            ("ANTHROPIC_API_KEY".into(), "sk-ant-test-offline".into()),
            (
                "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC".into(),
                "1".into(),
            ),
            ("DISABLE_AUTOUPDATER".into(), "1".into()),
            ("IS_SANDBOX".into(), "1".into()),
            (
                "CLAUDE_TELEMETRY_STATE_DIR".into(),
                self.root.path().join("state").into(),
            ),
            ("CLAUDE_TELEMETRY_TIMEOUT_MS".into(), "3000".into()),
        ];
        env.extend(
            guard_env
                .iter()
                .map(|(name, value)| ((*name).to_owned(), value.as_os_str().to_owned())),
        );
        env
    }

    /// `claude -p prompt`, permissions bypassed, in the project; its JSON result.
    fn claude(&self, prompt: &str, guard_env: &[(&str, &Path)]) -> Value {
        let output: Output = std::process::Command::new(claude(&self.version))
            .current_dir(&self.project)
            .env_clear()
            .envs(self.env(guard_env))
            .args(["-p", prompt, "--output-format", "json"])
            .args([
                "--model",
                "claude-sonnet-4-5",
                "--dangerously-skip-permissions",
            ])
            .output()
            .expect("run claude");
        assert!(
            output.status.success(),
            "claude failed: {}\n{}",
            stdout(&output),
            stderr(&output)
        );
        serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("claude's result is not JSON ({e}): {}", stdout(&output)))
    }

    /// What the tools told the model in the conversation opened by `opening`, in order.
    fn tool_results(&self, opening: &str) -> Vec<String> {
        let requests = self.api.requests();
        let last = requests
            .iter()
            .rfind(|r| r["messages"][0].to_string().contains(opening))
            .unwrap_or_else(|| panic!("no conversation opened by {opening:?}"));
        last["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|m| m["content"].as_array().cloned().unwrap_or_default())
            .filter(|block| block["type"] == "tool_result")
            .map(|block| match &block["content"] {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            })
            .collect()
    }

    /// Which of `secrets` any request to the API holds, anywhere in it.
    fn leaked<'a>(&self, secrets: &[&'a str]) -> Vec<&'a str> {
        let sent: Vec<String> = self.api.requests().iter().map(Value::to_string).collect();
        secrets
            .iter()
            .filter(|secret| sent.iter().any(|request| request.contains(*secret)))
            .copied()
            .collect()
    }

    /// The guard's decisions on Bash calls, as the hooks recorded them, once `count` are in.
    fn bash_decisions(&self, count: usize) -> Vec<collector::query::AuditRow> {
        let all_time = collector::query::Window {
            since_ms: 0,
            until_ms: i64::MAX,
        };
        let filter = collector::query::AuditFilter {
            include_allowed: true,
            ..Default::default()
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let rows: Vec<_> = collector::query::audit(&self.data, all_time, &filter)
                .unwrap_or_default()
                .into_iter()
                .filter(|row| row.tool == "Bash")
                .collect();
            if rows.len() >= count {
                return rows;
            }
            assert!(
                Instant::now() < deadline,
                "the hooks recorded {} Bash decision(s), not {count}: {rows:#?}",
                rows.len()
            );
            std::thread::sleep(Duration::from_millis(100)); // the store catching up, bounded
        }
    }
}

/// Bubblewrap and socat are here and bubblewrap can sandbox a command; else the test fails
/// with what `doctor` says about it (and its fix), never silently.
fn sandbox_runs_here() {
    let home = tempfile::tempdir().unwrap();
    let output = Run::new(&["doctor"], home.path()).output();
    let said = stdout(&output);
    assert!(
        said.contains("runs a command in new user, PID and network namespaces")
            && said.contains("ok    socat "),
        "Claude Code's sandbox cannot run on this machine, so this test cannot show it:\n{said}"
    );
}

fn a_delete_the_guard_lets_through_cannot_leave_the_project_with_the_sandbox_on(version: &str) {
    let machine = Machine::new(version);
    let victim = machine.outside.join("data.txt");
    let target = machine.outside.display().to_string();
    // The person's own guard configuration lets deletes there through.
    let guard_env = [(
        "CLAUDE_TELEMETRY_GUARD_ALLOWED_PATHS",
        machine.outside.as_path(),
    )];
    let delete = format!("rm -rf {target}");
    let check = Run::new(&["check", "--", &delete], &machine.home)
        .env("CLAUDE_TELEMETRY_GUARD_ALLOWED_PATHS", &machine.outside)
        .output();
    assert_eq!(check.status.code(), Some(0), "{}", stdout(&check));

    // Without the sandbox the delete goes through: the guard is not what stops it below.
    machine.install(&[]);
    fs::write(&victim, "keep me").unwrap();
    machine.api.script(
        "delete without",
        vec![Reply::bash(&delete), Reply::text("Done.")],
    );
    machine.claude("delete without the sandbox", &guard_env);
    assert!(!machine.outside.exists(), "the control run deleted nothing");

    machine.install(&["--sandbox"]);
    fs::create_dir_all(&machine.outside).unwrap();
    fs::write(&victim, "keep me").unwrap();
    machine.api.script(
        "delete with",
        vec![
            Reply::bash(&delete),
            // Asking to leave the sandbox is refused: install set allowUnsandboxedCommands.
            Reply::tool(
                "Bash",
                json!({"command": delete, "description": "scripted", "dangerouslyDisableSandbox": true}),
            ),
            Reply::bash(&format!("find {target} -delete")),
            Reply::text("Done."),
        ],
    );
    machine.claude("delete with the sandbox", &guard_env);
    assert_eq!(
        fs::read_to_string(&victim).ok().as_deref(),
        Some("keep me"),
        "the sandbox let a delete outside the project through"
    );
    let told = machine.tool_results("delete with");
    assert_eq!(told.len(), 3, "{told:#?}");
    for result in &told {
        assert!(result.contains("Read-only file system"), "{told:#?}");
    }
    // The guard allowed every one of them, both runs: the sandbox was the line that held.
    let decisions = machine.bash_decisions(4);
    assert!(
        decisions.iter().all(|row| row.decision == "allow"),
        "{decisions:#?}"
    );
}

/// The `.env` of the project in the secret-leak test: one secret per route.
const SEARCH_SECRET: &str = "sk-live-found-by-a-recursive-search";
const SKILL_SECRET: &str = "sk-live-read-by-a-skill-preamble";
const BASH_SECRET: &str = "sk-live-read-through-bash";

fn secrets_reach_the_api_by_no_route_with_the_guard_and_the_sandbox(version: &str) {
    let machine = Machine::new(version);
    fs::write(
        machine.project.join(".env"),
        format!(
            "SEARCH_TOKEN={SEARCH_SECRET}\nSKILL_TOKEN={SKILL_SECRET}\nBASH_TOKEN={BASH_SECRET}\n"
        ),
    )
    .unwrap();
    fs::write(machine.project.join("main.py"), "print('hello')\n").unwrap();
    // A skill whose `!` preamble runs when it loads (PreSkillShellCommand).
    let skill = machine.home.join(".claude/skills/env-probe");
    fs::create_dir_all(&skill).unwrap();
    fs::write(
        skill.join("SKILL.md"),
        "---\nname: env-probe\ndescription: reads the environment\n---\nThe settings: !`F=.e; grep SKILL_TOKEN ${F}nv`\n",
    )
    .unwrap();
    let routes = |machine: &Machine, opening: &str| {
        machine.api.script(
            opening,
            vec![
                // Reads dot files: 2.1.332's grep is an embedded ugrep with --hidden, and
                // GNU grep's -r reads them anyway.
                Reply::bash("grep -rn SEARCH_TOKEN ."),
                Reply::tool("Skill", json!({"skill": "env-probe"})),
                // A name found at run time: no rule sees `.env` in the command.
                Reply::bash("grep BASH_TOKEN $(ls -A | grep '^.e')"),
                Reply::text("Done."),
            ],
        );
    };
    let secrets = [SEARCH_SECRET, SKILL_SECRET, BASH_SECRET];
    // Names made at run time in the skill's preamble and the Bash call keep Claude Code's
    // own `Read(**/.env)` rules (which `install` writes) from seeing them.

    // With neither line, each route carries its secret to the API: the routes are real.
    routes(&machine, "unguarded routes");
    machine.claude("unguarded routes to the secrets", &[]);
    assert_eq!(machine.leaked(&secrets), secrets, "a route leaked nothing");

    let machine = Machine::new_beside(machine);
    machine.install(&["--sandbox"]);
    routes(&machine, "guarded routes");
    machine.claude("guarded routes to the secrets", &[]);
    assert_eq!(
        machine.leaked(&secrets),
        Vec::<&str>::new(),
        "{:#?}",
        machine.tool_results("guarded routes")
    );
}

impl Machine {
    /// The same home and project with a fresh fake API (whose log then holds only what
    /// follows) and collector.
    fn new_beside(old: Machine) -> Machine {
        let data = old.root.path().join("data-2");
        Machine {
            collector: Collector::start(&data),
            api: MessagesApi::start(Usage::default()),
            data,
            ..old
        }
    }
}

fn the_files_the_sandbox_hides_are_the_guards_secret_files(version: &str) {
    let machine = Machine::new(version);
    // Secret names configured for the guard beyond `.env`, and its keys-and-credentials
    // pack: the sandbox hides those too.
    let config = machine.home.join(".config/claude-telemetry/config.toml");
    fs::create_dir_all(config.parent().unwrap()).unwrap();
    fs::write(
        &config,
        "[guard]\nsecret_patterns = [\"*.secret\", \"vault-token\"]\npacks = [\"secrets\"]\n",
    )
    .unwrap();
    machine.install(&["--sandbox"]);
    // Hooks out: what is read here is decided by the sandbox alone.
    let settings = machine.home.join(".claude/settings.json");
    let mut doc: Value = serde_json::from_str(&fs::read_to_string(&settings).unwrap()).unwrap();
    doc.as_object_mut().unwrap().remove("hooks");
    fs::write(&settings, doc.to_string()).unwrap();

    let names = [
        ".env",
        ".ENV",
        ".env.local",
        ".Env.Local",
        ".env.production",
        ".env.staging",
        ".env.prod.local",
        "prod.env",
        "Prod.ENV",
        ".envrc",
        ".ENVRC",
        ".env.example",
        ".env.sample",
        ".env.template",
        ".env.dist",
        ".env.defaults",
        ".env.schema",
        ".ENV.Example",
        ".env.example.bak",
        ".env.local.example",
        ".Env.Prod.Sample",
        ".envfile",
        "env",
        "env.txt",
        "environment.ts",
        "dotenv.js",
        ".environment",
        "README.md",
        "api.secret",
        "API.Secret",
        "vault-token",
        "vault-token.txt",
        "server.pem",
        "id_ed25519",
        "id_ed25519.pub",
        "notes.key.md",
    ];
    // In the project, deeper in it, and in another project of the same person.
    let other = machine.home.join("other-project");
    let dirs = [
        machine.project.clone(),
        machine.project.join("deploy/staging"),
        other.clone(),
    ];
    let mut listed = String::new();
    for dir in &dirs {
        fs::create_dir_all(dir).unwrap();
        for name in names {
            let path = dir.join(name);
            fs::write(&path, "VALUE=1\n").unwrap();
            listed.push_str(&format!("{}\n", path.display()));
        }
    }
    // The names reach the command through a file, so no permission rule sees them.
    fs::write(machine.root.path().join("names.txt"), &listed).unwrap();
    let list = machine.root.path().join("names.txt").display().to_string();
    machine.api.script(
        "which files",
        vec![
            Reply::bash(&format!(
                "while IFS= read -r f; do if cat -- \"$f\" >/dev/null 2>&1; then echo \"READ $f\"; else echo \"DENIED $f\"; fi; done < {list}"
            )),
            Reply::text("Done."),
        ],
    );
    machine.claude("which files can be read", &[]);
    let told = machine.tool_results("which files");
    let lines: Vec<&str> = told[0]
        .lines()
        .filter(|l| l.starts_with("READ ") || l.starts_with("DENIED "))
        .collect();
    assert_eq!(lines.len(), names.len() * dirs.len(), "{told:#?}");
    let mut wrong = Vec::new();
    for line in lines {
        let (verdict, path) = line.split_once(' ').unwrap();
        let check = Run::new(
            &[
                "check",
                "--tool",
                "Read",
                "--json",
                &json!({"file_path": path}).to_string(),
            ],
            &machine.home,
        )
        .output();
        let secret = check.status.code() == Some(2);
        if secret != (verdict == "DENIED") {
            wrong.push(format!("{line} (the guard: {})", stdout(&check).trim()));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
