//! The Claude Code settings that make content flow in its telemetry, and where they are set.
//!
//! By default Claude Code's OTLP events carry metadata only. A handful of variables make
//! them carry what people typed, what the model answered, the commands and files tools
//! worked on, or whole conversations. Each one found on is named with the file (or the
//! environment) that sets it and how to turn it off, and the privacy level the hook keeps
//! events at (`CLAUDE_TELEMETRY_PRIVACY`) is named with what it keeps: prompt logging with
//! the `prompts` level is what `install --log-prompts` sets, not a leak. This module reads
//! what `doctor` gathered; it judges nothing else.

use hook_protocol::privacy::{self, LOG_USER_PROMPTS_ENV, PRIVACY_ENV, is_on};

use super::{Level, Merged, Report, process_env};

/// The variables, and what each sends once on.
const CONTENT_FLAGS: &[(&str, &str)] = &[
    (
        "OTEL_LOG_USER_PROMPTS",
        "prompt text flows: Claude Code puts the text of every prompt in its user_prompt events, and the model's answers in assistant_response events unless OTEL_LOG_ASSISTANT_RESPONSES=0",
    ),
    (
        "OTEL_LOG_ASSISTANT_RESPONSES",
        "response text flows: Claude Code puts the model's answers in its assistant_response events",
    ),
    (
        "OTEL_LOG_TOOL_DETAILS",
        "tool details flow: Claude Code puts Bash commands, file paths, tool input and whole error messages in its tool_result and tool_decision events",
    ),
    (
        "OTEL_LOG_TOOL_CONTENT",
        "tool content flows: Claude Code puts what tools read and wrote in its trace span events (once tracing is on)",
    ),
    (
        "OTEL_LOG_RAW_API_BODIES",
        "whole conversations flow: Claude Code sends every API request and response as api_request_body and api_response_body events",
    ),
];

/// A variable as Claude Code (and the hook) sees it, and the settings file that sets it
/// (`None`: the environment). Claude Code takes the settings' env over its own.
fn lookup<'a>(merged: &'a Merged, name: &str) -> Option<(String, Option<&'a std::path::PathBuf>)> {
    match merged.env.get(name) {
        Some(value) => Some((value.clone(), merged.env_origin.get(name))),
        None => process_env(name).map(|value| (value, None)),
    }
}

fn where_set(origin: Option<&std::path::PathBuf>) -> String {
    origin.map_or_else(
        || "in the environment".to_owned(),
        |file| format!("in {}", file.display()),
    )
}

/// The hook's privacy level, named with what it keeps; `None` when it is not one.
fn check_level(merged: &Merged, report: &mut Report) -> Option<privacy::Level> {
    let set = lookup(merged, PRIVACY_ENV).filter(|(value, _)| !value.trim().is_empty());
    let level = match &set {
        None => privacy::Level::Metadata,
        Some((value, origin)) => match privacy::Level::parse(value) {
            Ok(level) => level,
            Err(err) => {
                report.add(
                    Level::Fail,
                    format!(
                        "{PRIVACY_ENV}={value} {}: {err}, so the hook records no event. Fix: set it to metadata, prompts or full, or delete it",
                        where_set(*origin)
                    ),
                );
                return None;
            }
        },
    };
    let said = set
        .as_ref()
        .map(|(_, origin)| format!(" ({PRIVACY_ENV} {})", where_set(*origin)))
        .unwrap_or_default();
    match level {
        privacy::Level::Metadata => report.add(
            Level::Fine,
            format!("privacy level metadata{said}: hook events keep ids, names, paths, sizes, durations and decisions; any other text is replaced by its size"),
        ),
        privacy::Level::Prompts => report.add(
            Level::Fine,
            format!("privacy level prompts{said}: hook events keep the text of prompts, redacted, and no other content"),
        ),
        privacy::Level::Full => report.add(
            Level::Warn,
            format!("privacy level full{said}: prompts, commands, file contents and tool output reach the collector (redacted). Fix: delete {PRIVACY_ENV} unless content is wanted"),
        ),
    }
    Some(level)
}

/// The privacy level, then one line per content switch that is on; one line saying none
/// is, otherwise.
pub(super) fn check_content(merged: &Merged, report: &mut Report) {
    let level = check_level(merged, report);
    let mut any = false;
    for (name, effect) in CONTENT_FLAGS {
        let Some((value, origin)) = lookup(merged, name) else {
            continue;
        };
        if !is_on(&value) {
            continue;
        }
        any = true;
        if *name == LOG_USER_PROMPTS_ENV
            && level.is_some_and(|level| level >= privacy::Level::Prompts)
        {
            report.add(
                Level::Fine,
                format!(
                    "{name}={value} {}: prompt logging is on (claude-telemetry install --log-prompts): Claude Code sends the text of prompts, which the privacy level keeps, redacted",
                    where_set(origin)
                ),
            );
            continue;
        }
        let effect = if *name == LOG_USER_PROMPTS_ENV {
            format!(
                "{effect}; the privacy level (metadata) keeps only its size, so it flows for nothing (to keep prompts: claude-telemetry install --log-prompts)"
            )
        } else {
            (*effect).to_owned()
        };
        match origin {
            Some(file) => report.add(
                Level::Warn,
                format!(
                    "{name}={value} in {}: {effect}. Fix: delete \"{name}\" from that file's \"env\"",
                    file.display()
                ),
            ),
            None => report.add(
                Level::Warn,
                format!(
                    "{name}={value} in the environment: {effect}. Fix: unset {name} (and remove it from the shell profile that sets it)"
                ),
            ),
        }
    }
    if !any {
        report.add(
            Level::Fine,
            "no setting makes Claude Code send prompts, answers, commands or file content in its telemetry",
        );
    }
}
