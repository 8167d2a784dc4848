//! The guard's labelled corpora, every case through the real `claude-telemetry hook`
//! binary as Claude Code runs it, with the figures printed: the tuned part (this
//! repository's corpora) and, when present, a held-out part written by someone who never
//! saw the guard's code (`crates/guard/corpus/heldout.toml` or `GUARD_HELDOUT_CORPUS`),
//! each reported on its own.

use std::collections::BTreeMap;
use std::thread;

use serde_json::Value;
use testkit::Receiver;

use crate::support::corpus::{Class, Labelled, TUNED, heldout_path, load};
use crate::support::{Run, stderr, stdout};

/// What the hook decided for one case.
struct Outcome {
    case: Labelled,
    got: String,
    rule: String,
    reason: String,
}

fn run_case(dir: &std::path::Path, url: &str, index: usize, case: &Labelled) -> Outcome {
    let root = dir.join(format!("root-{index}"));
    case.materialise(&root).unwrap();
    let id = format!("toolu_corpus_{index}");
    let mut run = Run::new(&["hook"], dir)
        .env("CLAUDE_TELEMETRY_URL", url)
        .env("CLAUDE_TELEMETRY_STATE_DIR", dir.join("state"))
        .env("XDG_CONFIG_HOME", dir.join("config"));
    for (key, value) in case.env(&root) {
        run = run.env(key, value);
    }
    let output = run.stdin(case.event(&id).to_string());
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}: {}",
        case.label,
        stderr(&output)
    );
    let out = stdout(&output);
    let (got, reason) = if out.trim().is_empty() {
        ("allow".to_owned(), String::new())
    } else {
        let answer: Value =
            serde_json::from_str(&out).unwrap_or_else(|_| panic!("not JSON: {out}"));
        let specific = &answer["hookSpecificOutput"];
        assert_eq!(
            specific["hookEventName"],
            case.event_name.as_str(),
            "{}",
            case.label
        );
        let reason = specific["permissionDecisionReason"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        (
            specific["permissionDecision"]
                .as_str()
                .unwrap_or("?")
                .to_owned(),
            reason,
        )
    };
    if got == "deny" {
        assert!(
            reason.contains("ask the user"),
            "a deny sends the agent to the user: {reason}"
        );
    }
    Outcome {
        case: case.clone(),
        got,
        rule: String::new(),
        reason,
    }
}

/// Runs every case, four hook processes at a time (each a separate process, as under
/// Claude Code), and reads the rule each named from the events delivered.
fn run_all(cases: &[Labelled]) -> Vec<Outcome> {
    let receiver = Receiver::start();
    let dir = tempfile::tempdir().unwrap();
    let indexed: Vec<(usize, &Labelled)> = cases.iter().enumerate().collect();
    let mut outcomes: Vec<(usize, Outcome)> = Vec::new();
    thread::scope(|scope| {
        let handles: Vec<_> = indexed
            .chunks(indexed.len().div_ceil(4).max(1))
            .map(|chunk| {
                let (dir, url) = (dir.path(), receiver.url());
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|(index, case)| (*index, run_case(dir, &url, *index, case)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for handle in handles {
            outcomes.extend(handle.join().unwrap());
        }
    });
    let events = receiver.events();
    assert_eq!(
        events.len(),
        cases.len(),
        "every decision was delivered as an event"
    );
    let rules: BTreeMap<String, String> = events
        .iter()
        .map(|event| {
            (
                event["tool_use_id"].as_str().unwrap_or_default().to_owned(),
                event["claude_telemetry"]["guard"]["rule"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    outcomes.sort_by_key(|(index, _)| *index);
    outcomes
        .into_iter()
        .map(|(index, mut outcome)| {
            outcome.rule = rules
                .get(&format!("toolu_corpus_{index}"))
                .cloned()
                .unwrap_or_default();
            outcome
        })
        .collect()
}

/// The figures of one part, printed; returns what falls short of the bar.
fn report(part: &str, outcomes: &[Outcome], exact: bool) -> Vec<String> {
    let count = |class: Class| outcomes.iter().filter(|o| o.case.class == class).count();
    let flagged = |class: Class| {
        outcomes
            .iter()
            .filter(|o| o.case.class == class && o.got != "allow")
            .count()
    };
    let must_block = count(Class::MustBlock);
    let caught = flagged(Class::MustBlock);
    let denied = outcomes
        .iter()
        .filter(|o| o.case.class == Class::MustBlock && o.got == "deny")
        .count();
    let allowed_classes = count(Class::Allow) + count(Class::Everyday);
    let false_positives = flagged(Class::Allow) + flagged(Class::Everyday);
    let percent = |a: usize, b: usize| {
        if b == 0 {
            100.0
        } else {
            100.0 * a as f64 / b as f64
        }
    };
    println!(
        "guard corpus, {part}: {} cases through the real hook binary",
        outcomes.len()
    );
    println!(
        "  must_block: {caught}/{must_block} denied or asked ({denied} denied), recall {:.1}%",
        percent(caught, must_block)
    );
    println!(
        "  allow:      {}/{} false positives",
        flagged(Class::Allow),
        count(Class::Allow)
    );
    println!(
        "  everyday:   {}/{} false positives",
        flagged(Class::Everyday),
        count(Class::Everyday)
    );
    println!(
        "  false-positive rate: {false_positives}/{allowed_classes} = {:.1}%",
        percent(false_positives, allowed_classes)
    );
    let contested: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.case.class == Class::Contested)
        .collect();
    if !contested.is_empty() {
        println!("  contested (not counted):");
        for outcome in contested {
            println!(
                "    {} {}: {}",
                outcome.got, outcome.rule, outcome.case.label
            );
        }
    }
    let mut wrong = Vec::new();
    for outcome in outcomes {
        let case = &outcome.case;
        let missed = match case.class {
            Class::MustBlock => outcome.got == "allow",
            Class::Allow | Class::Everyday => outcome.got != "allow",
            Class::Contested => false,
        };
        if missed {
            println!(
                "  WRONG {} {}: {}\n        {}",
                outcome.got, outcome.rule, case.label, outcome.reason
            );
            wrong.push(format!(
                "{part}: got {} ({}): {}",
                outcome.got, outcome.rule, case.label
            ));
            continue;
        }
        if exact && case.class != Class::Contested {
            if let Some(expect) = &case.expect
                && *expect != outcome.got
            {
                wrong.push(format!(
                    "{part}: expected {expect}, got {} ({}): {}",
                    outcome.got, outcome.rule, case.label
                ));
            }
            if let Some(rule) = &case.rule
                && *rule != outcome.rule
            {
                wrong.push(format!(
                    "{part}: expected rule {rule}, got {}: {}",
                    outcome.rule, case.label
                ));
            }
        }
    }
    let mut short = Vec::new();
    if percent(caught, must_block) < 99.0 {
        short.push(format!(
            "{part}: recall {:.1}% is under 99%",
            percent(caught, must_block)
        ));
    }
    if percent(false_positives, allowed_classes) > 1.0 {
        short.push(format!(
            "{part}: false positives {:.1}% are over 1%",
            percent(false_positives, allowed_classes)
        ));
    }
    if flagged(Class::Everyday) > 0 {
        short.push(format!(
            "{part}: {} everyday commands were not allowed",
            flagged(Class::Everyday)
        ));
    }
    if exact {
        short.extend(wrong);
    }
    short
}

#[test]
fn the_labelled_corpora_get_the_decisions_they_name() {
    let mut tuned = Vec::new();
    for (name, text) in TUNED {
        tuned.extend(load(name, text).unwrap());
    }
    let new_cases = load("tuned.toml", TUNED[1].1).unwrap();
    let new_count = |class: Class| new_cases.iter().filter(|c| c.class == class).count();
    assert!(
        new_count(Class::MustBlock) >= 220
            && new_count(Class::Allow) + new_count(Class::Everyday) >= 140,
        "the v2 corpus keeps at least 220 must-block and 140 allowed cases"
    );
    let mut short = report("tuned part", &run_all(&tuned), true);

    let heldout = heldout_path();
    match std::fs::read_to_string(&heldout) {
        Ok(text) => {
            let cases = load(&heldout.display().to_string(), &text).unwrap();
            short.extend(report("held-out part", &run_all(&cases), false));
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            println!("guard corpus, held-out part: none at {}", heldout.display());
        }
        Err(err) => panic!("{}: {err}", heldout.display()),
    }
    assert!(
        short.is_empty(),
        "{} shortfalls:\n{}",
        short.len(),
        short.join("\n")
    );
}

#[test]
fn a_corpus_file_that_is_not_in_the_format_is_a_clear_error() {
    let bad_class = "[[group]]\nname = \"x\"\nclass = \"maybe\"\ncases = [{ bash = 'ls' }]\n";
    let err = load("bad.toml", bad_class).unwrap_err();
    assert!(err.contains("bad.toml") && err.contains("maybe"), "{err}");
    let relative =
        "[[group]]\nname = \"x\"\nclass = \"allow\"\nhome = \"dev\"\ncases = [{ bash = 'ls' }]\n";
    assert!(load("r.toml", relative).unwrap_err().contains("absolute"));
    let empty = "[[group]]\nname = \"x\"\nclass = \"allow\"\ncases = [{ why = 'nothing' }]\n";
    assert!(
        load("e.toml", empty)
            .unwrap_err()
            .contains("neither bash nor tool")
    );
}
