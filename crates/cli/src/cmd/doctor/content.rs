//! The Claude Code settings that make content flow in its telemetry, and where they are set.
//!
//! By default Claude Code's OTLP events carry metadata only. A handful of variables make
//! them carry what people typed, what the model answered, the commands and files tools
//! worked on, or whole conversations. Each one found on is named with the file (or the
//! environment) that sets it and how to turn it off. This module reads what `doctor`
//! gathered; it judges nothing else.

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

/// Whether a variable's value turns its switch on (Claude Code reads `1`, `true` or, for
/// raw bodies, `file:DIR`; an empty value, `0` or `false` is off).
fn is_on(value: &str) -> bool {
    let value = value.trim().to_ascii_lowercase();
    !matches!(value.as_str(), "" | "0" | "false" | "no" | "off")
}

/// One line per content switch that is on; one line saying none is, otherwise.
pub(super) fn check_content(merged: &Merged, report: &mut Report) {
    let mut any = false;
    for (name, effect) in CONTENT_FLAGS {
        // Claude Code takes the settings' env over its own environment.
        let (value, origin) = match merged.env.get(*name) {
            Some(value) => (value.clone(), merged.env_origin.get(*name)),
            None => match process_env(name) {
                Some(value) => (value, None),
                None => continue,
            },
        };
        if !is_on(&value) {
            continue;
        }
        any = true;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_spellings_are_off_and_the_rest_is_on() {
        for off in ["", " ", "0", "false", "FALSE", "no", "off"] {
            assert!(!is_on(off), "{off:?}");
        }
        for on in ["1", "true", "yes", "file:/tmp/bodies"] {
            assert!(is_on(on), "{on:?}");
        }
    }
}
