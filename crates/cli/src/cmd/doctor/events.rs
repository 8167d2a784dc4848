//! The hook events the installed Claude Code fires that no settings file hooks.
//!
//! A settings file written by an older `install` misses the events Claude Code gained
//! since; those events are then neither recorded nor (for the ones the guard judges)
//! guarded. Which release fires which event is `hook_protocol`'s knowledge.

use std::collections::BTreeSet;

use hook_protocol::{KnownEvent, NEWEST_TESTED, OLDEST_SUPPORTED, Release};

use super::{Level, Report};

/// Events a missing hook leaves unguarded, not only unrecorded.
const GUARDED: &[KnownEvent] = &[KnownEvent::PreToolUse, KnownEvent::PreSkillShellCommand];

/// Compares what `release` fires with the events the settings run our hook on.
///
/// Says nothing when no hook is installed at all (another line says that) or when the
/// release is unknown (`claude` not on PATH).
pub(super) fn check_events(
    release: Option<Release>,
    hooked: &BTreeSet<String>,
    report: &mut Report,
) {
    let Some(release) = release else {
        return;
    };
    if hooked.is_empty() {
        return;
    }
    if release < OLDEST_SUPPORTED {
        report.add(
            Level::Warn,
            format!("Claude Code {release} is older than {OLDEST_SUPPORTED}, the oldest release claude-telemetry supports: hook events and telemetry are missing. Fix: claude update"),
        );
        return;
    }
    let missing: Vec<KnownEvent> = release
        .fired_events()
        .into_iter()
        .filter(|event| event.is_observable() && !hooked.contains(event.name()))
        .collect();
    if missing.is_empty() {
        report.add(
            Level::Fine,
            format!("the claude-telemetry hook is on every event Claude Code {release} fires"),
        );
    } else {
        let names: Vec<&str> = missing.iter().map(|event| event.name()).collect();
        let unguarded: Vec<&str> = missing
            .iter()
            .filter(|event| GUARDED.contains(event))
            .map(|event| event.name())
            .collect();
        let guard_note = if unguarded.is_empty() {
            String::new()
        } else {
            format!(", and the guard never sees {}", unguarded.join(", "))
        };
        report.add(
            Level::Warn,
            format!(
                "Claude Code {release} fires {} hook event(s) no settings file runs the claude-telemetry hook on: {}. They are not recorded{guard_note}. Fix: claude-telemetry install",
                names.len(),
                names.join(", ")
            ),
        );
    }
    if release > NEWEST_TESTED {
        report.add(
            Level::Warn,
            format!("Claude Code {release} is newer than {NEWEST_TESTED}, the newest release this claude-telemetry knows: it may fire hook events this version does not register. Fix: update claude-telemetry, then claude-telemetry install"),
        );
    }
}
