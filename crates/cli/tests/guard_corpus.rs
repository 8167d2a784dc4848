//! The guard's labelled corpus, every case through the real `claude-telemetry hook`
//! binary as Claude Code runs it, with the figures printed.

use std::collections::BTreeMap;
use std::thread;

use serde::Deserialize;
use serde_json::{Value, json};
use testkit::Receiver;

use crate::support::{Run, stderr, stdout};

const CORPUS: &str = include_str!("../../guard/corpus/corpus.toml");
const PROJECT: &str = "/home/dev/project";
const HOME: &str = "/home/dev";

#[derive(Debug, Deserialize)]
struct Corpus {
    group: Vec<Group>,
}

#[derive(Debug, Deserialize)]
struct Group {
    name: String,
    class: String,
    expect: String,
    cases: Vec<Case>,
}

#[derive(Debug, Clone, Deserialize)]
struct Case {
    bash: Option<String>,
    tool: Option<String>,
    input: Option<toml::Value>,
    rule: Option<String>,
    why: String,
}

struct Outcome {
    class: String,
    expected: String,
    got: String,
    rule: Option<String>,
    expected_rule: Option<String>,
    label: String,
}

fn run_case(home: &std::path::Path, url: &str, group: &Group, case: &Case) -> Outcome {
    let (tool, input) = match (&case.bash, &case.tool) {
        (Some(command), _) => ("Bash".to_owned(), json!({ "command": command })),
        (None, Some(tool)) => (
            tool.clone(),
            serde_json::to_value(
                case.input
                    .clone()
                    .unwrap_or(toml::Value::Table(Default::default())),
            )
            .unwrap(),
        ),
        (None, None) => panic!("case without bash or tool: {}", case.why),
    };
    let event = json!({
        "session_id": "corpus",
        "cwd": PROJECT,
        "hook_event_name": "PreToolUse",
        "tool_name": tool,
        "tool_input": input,
        "tool_use_id": format!("toolu_{}", case.why.len()),
    });
    let output = Run::new(&["hook"], home)
        .env("HOME", HOME)
        .env("CLAUDE_PROJECT_DIR", PROJECT)
        .env("CLAUDE_TELEMETRY_URL", url)
        .env("CLAUDE_TELEMETRY_STATE_DIR", home.join("state"))
        // The delivered events are matched to the cases by their input: keep it whole.
        .env("CLAUDE_TELEMETRY_PRIVACY", "full")
        .env("XDG_CONFIG_HOME", home.join("config"))
        .stdin(event.to_string());
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}: {}",
        case.why,
        stderr(&output)
    );
    let out = stdout(&output);
    let got = if out.trim().is_empty() {
        "allow".to_owned()
    } else {
        let answer: Value =
            serde_json::from_str(&out).unwrap_or_else(|_| panic!("not JSON: {out}"));
        let decision = answer["hookSpecificOutput"]["permissionDecision"]
            .as_str()
            .unwrap_or("?")
            .to_owned();
        if decision == "deny" {
            let reason = answer["hookSpecificOutput"]["permissionDecisionReason"]
                .as_str()
                .unwrap_or("");
            assert!(
                reason.contains("ask the user"),
                "a deny sends the agent to the user: {reason}"
            );
        }
        decision
    };
    let label = format!(
        "[{}] {}: {}",
        group.name,
        case.why,
        case.bash
            .clone()
            .unwrap_or_else(|| format!("{tool} {}", event["tool_input"]))
    );
    Outcome {
        class: group.class.clone(),
        expected: group.expect.clone(),
        got,
        rule: None,
        expected_rule: case.rule.clone(),
        label,
    }
}

#[test]
fn the_labelled_corpus_gets_the_decisions_it_names() {
    let corpus: Corpus = toml::from_str(CORPUS).expect("corpus.toml parses");
    let receiver = Receiver::start();
    let home = tempfile::tempdir().unwrap();
    let cases: Vec<(&Group, &Case)> = corpus
        .group
        .iter()
        .flat_map(|g| g.cases.iter().map(move |c| (g, c)))
        .collect();
    assert!(
        cases.len() >= 300,
        "at least 300 cases, got {}",
        cases.len()
    );

    // Four hooks at a time: each is a separate process, as under Claude Code.
    let mut outcomes: Vec<Outcome> = Vec::new();
    thread::scope(|scope| {
        let handles: Vec<_> = cases
            .chunks(cases.len().div_ceil(4))
            .map(|chunk| {
                let (home, url) = (home.path(), receiver.url());
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|(g, c)| run_case(home, &url, g, c))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for handle in handles {
            outcomes.extend(handle.join().unwrap());
        }
    });

    // The rule each decision named, from the events the hook delivered.
    let mut rules: BTreeMap<String, String> = BTreeMap::new();
    for event in receiver.events() {
        let input = event["tool_input"].to_string();
        let rule = event["claude_telemetry"]["guard"]["rule"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        rules.insert(format!("{}{}", event["tool_name"], input), rule);
    }
    assert_eq!(
        receiver.events().len(),
        outcomes.len(),
        "every decision was delivered as an event"
    );
    for (outcome, (_, case)) in outcomes.iter_mut().zip(&cases) {
        let tool = case.tool.clone().unwrap_or_else(|| "Bash".to_owned());
        let input = match &case.bash {
            Some(command) => json!({ "command": command }),
            None => serde_json::to_value(
                case.input
                    .clone()
                    .unwrap_or(toml::Value::Table(Default::default())),
            )
            .unwrap(),
        };
        outcome.rule = rules.get(&format!("\"{tool}\"{input}")).cloned();
    }

    let mut wrong = Vec::new();
    for outcome in &outcomes {
        if outcome.got != outcome.expected {
            wrong.push(format!(
                "expected {} got {}: {}",
                outcome.expected, outcome.got, outcome.label
            ));
        } else if let Some(expected_rule) = &outcome.expected_rule
            && outcome.rule.as_deref() != Some(expected_rule.as_str())
        {
            wrong.push(format!(
                "expected rule {expected_rule} got {:?}: {}",
                outcome.rule, outcome.label
            ));
        }
    }

    let count = |class: &str| outcomes.iter().filter(|o| o.class == class).count();
    let blocked = outcomes
        .iter()
        .filter(|o| o.class == "must_block" && o.got == "deny")
        .count();
    let false_positives = |class: &str| {
        outcomes
            .iter()
            .filter(|o| o.class == class && o.got != "allow")
            .count()
    };
    let benign = count("everyday") + count("lookalike");
    let benign_fp = false_positives("everyday") + false_positives("lookalike");
    let asked = outcomes
        .iter()
        .filter(|o| o.class == "uncertain" && o.got == "ask")
        .count();
    println!(
        "guard corpus through the real hook binary: {} cases",
        outcomes.len()
    );
    println!(
        "  must_block: {blocked}/{} denied, recall {:.1}%",
        count("must_block"),
        100.0 * blocked as f64 / count("must_block") as f64
    );
    println!(
        "  everyday:   {} false positives of {}",
        false_positives("everyday"),
        count("everyday")
    );
    println!(
        "  lookalike:  {} false positives of {}",
        false_positives("lookalike"),
        count("lookalike")
    );
    println!(
        "  overall false-positive rate: {benign_fp}/{benign} = {:.1}%",
        100.0 * benign_fp as f64 / benign as f64
    );
    println!("  uncertain:  {asked}/{} asked", count("uncertain"));
    assert!(
        wrong.is_empty(),
        "{} cases decided wrongly:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert_eq!(
        blocked,
        count("must_block"),
        "recall on must-block cases is 100%"
    );
    assert_eq!(
        false_positives("everyday"),
        0,
        "no false positives on everyday commands"
    );
    assert!(
        benign_fp as f64 / benign as f64 <= 0.02,
        "overall false-positive rate at most 2%"
    );
}
