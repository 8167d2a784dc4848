//! Time of one guard decision (parse + walk + rules) on every case of the corpus.
//!
//! Beside it, in the same run: parsing the same tool input as JSON, which every hook
//! pays anyway, as a yardstick. Budget: median decision under 100 µs.
//!
//! Run: `cargo bench -p guard --bench guard_decision` (ROUNDS=n, default 200 per case).

// A benchmark binary: a failed setup should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use guard::{Context, GuardConfig, decide};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
struct Corpus {
    group: Vec<Group>,
}

#[derive(Deserialize)]
struct Group {
    class: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    bash: Option<String>,
    tool: Option<String>,
    input: Option<toml::Value>,
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(200);
    let corpus: Corpus =
        toml::from_str(include_str!("../corpus/corpus.toml")).expect("corpus parses");
    let ctx = Context::new("/home/dev/project", "/home/dev");
    let config = GuardConfig::default();
    let mut cases: Vec<(String, String, Value, String)> = Vec::new();
    for group in &corpus.group {
        for case in &group.cases {
            let (tool, input) = match (&case.bash, &case.tool) {
                (Some(command), _) => ("Bash".to_owned(), json!({ "command": command })),
                (None, Some(tool)) => (
                    tool.clone(),
                    serde_json::to_value(case.input.clone().unwrap()).unwrap(),
                ),
                _ => continue,
            };
            let text = input.to_string();
            cases.push((group.class.clone(), tool, input, text));
        }
    }
    // Every round goes through all cases in turn, so brush's small word-parse cache
    // cycles and each decision is as cold as in a hook process that decides once.
    let mut decisions = vec![Vec::with_capacity(rounds); cases.len()];
    let mut parses = vec![Vec::with_capacity(rounds); cases.len()];
    for _ in 0..rounds {
        for (index, (_, tool, input, text)) in cases.iter().enumerate() {
            let started = Instant::now();
            black_box(decide(tool, black_box(input), &ctx, &config));
            decisions[index].push(started.elapsed());
            let started = Instant::now();
            black_box(serde_json::from_str::<Value>(black_box(text)).unwrap());
            parses[index].push(started.elapsed());
        }
    }
    let per_case: Vec<Duration> = decisions.iter_mut().map(|d| median(d)).collect();
    let json_parse: Vec<Duration> = parses.iter_mut().map(|d| median(d)).collect();
    let by_class: Vec<(String, Duration)> = cases
        .iter()
        .map(|c| c.0.clone())
        .zip(per_case.iter().copied())
        .collect();
    let n = per_case.len();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let mut sorted = per_case.clone();
    sorted.sort();
    let pct = |q: f64| us(sorted[((n - 1) as f64 * q).round() as usize]);
    println!("guard decision time over {n} corpus cases, median of {rounds} rounds each (µs)");
    println!("| what | median | p90 | p99 | max |");
    println!("|---|---|---|---|---|");
    println!(
        "| guard decision (parse + walk + rules) | {:.1} | {:.1} | {:.1} | {:.1} |",
        pct(0.5),
        pct(0.9),
        pct(0.99),
        pct(1.0)
    );
    let mut parse_sorted = json_parse.clone();
    parse_sorted.sort();
    let ppct = |q: f64| us(parse_sorted[((n - 1) as f64 * q).round() as usize]);
    println!(
        "| serde_json parse of the same input (yardstick) | {:.1} | {:.1} | {:.1} | {:.1} |",
        ppct(0.5),
        ppct(0.9),
        ppct(0.99),
        ppct(1.0)
    );
    for class in ["must_block", "everyday", "lookalike", "uncertain"] {
        let mut times: Vec<Duration> = by_class
            .iter()
            .filter(|(c, _)| c == class)
            .map(|(_, d)| *d)
            .collect();
        if !times.is_empty() {
            println!(
                "| guard decision, {class} cases | {:.1} | | | |",
                us(median(&mut times))
            );
        }
    }
}
