//! Tool calls Claude Code denied without any hook seeing the denial, made visible.
//!
//! A `permissions.deny` rule (such as the `.env` rules `install` writes, which also keep
//! `@file` mentions out) stops a file tool before `PreToolUse` fires, and stops other
//! tools after our guard allowed them; a non-interactive session denies what it cannot
//! ask about. Claude Code fires no hook and no OTLP event for these, yet a person sees
//! each one. So when a turn ends (`Stop`, `SubagentStop`, `StopFailure`, `SessionEnd`),
//! the hook reads what the transcript gained since it last looked and delivers one
//! `PermissionDenied` event per such denial, shaped like Claude Code's own and carrying
//! an audit record: the collector counts it as a blocked tool call and `audit` lists it.
//! Auto mode's denials already fire `PermissionDenied`; they only get the audit record.
//!
//! Each event's id is derived from the session and the call, so reading a transcript
//! twice never counts a denial twice. This module never blocks or allows anything.

mod cursor;
mod transcript;

use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use hook_protocol::{GuardRecord, HookEvent, KnownEvent};
use serde_json::{Map, Value, json};

use crate::config::HookConfig;
use crate::enrich::{Origin, enrich};
use crate::spool::send_or_spool;

use cursor::{Cursor, fnv1a, forget_old, read_before};
use transcript::{Denial, DenialKind, calls_in, denials_in};

/// The category of every denial Claude Code itself made.
const CATEGORY: &str = "permission";

/// Most denials reported after one event, so a hostile transcript cannot make a hook run
/// long; the rest waits for the next event (the cursor stops just past the last one).
const MAX_PER_LOOK: usize = 200;

/// The audit record for Claude Code's own `PermissionDenied` events (auto mode), which
/// no guard judged: a denial a person sees belongs in the audit trail too.
pub fn auto_mode_record(event: &HookEvent) -> Option<GuardRecord> {
    if event.known_event() != Some(KnownEvent::PermissionDenied) {
        return None;
    }
    Some(record(
        "claude_code.auto_mode",
        "Claude Code's auto mode denied the call.".to_owned(),
    ))
}

fn record(rule: &str, reason: String) -> GuardRecord {
    GuardRecord {
        decision: "deny".to_owned(),
        rule: rule.to_owned(),
        category: CATEGORY.to_owned(),
        reason,
        latency_us: 0,
        version: env!("CARGO_PKG_VERSION").to_owned(),
        span: None,
    }
}

/// The rule id and the reason recorded for a denial.
fn rule_and_reason(kind: &DenialKind) -> (&'static str, String) {
    match kind {
        DenialKind::DenyRule { source } => (
            "claude_code.deny_rule",
            format!(
                "Claude Code denied the call: a permissions.deny rule{} matches it.",
                source
                    .as_deref()
                    .map(|s| format!(" in {s}"))
                    .unwrap_or_default()
            ),
        ),
        DenialKind::NotApproved => (
            "claude_code.not_approved",
            "Claude Code denied the call: it needed an approval no one gave.".to_owned(),
        ),
        DenialKind::OtherHook => (
            "claude_code.hook",
            "Claude Code denied the call: another PreToolUse hook blocked it.".to_owned(),
        ),
        DenialKind::Other(why) => (
            "claude_code.denied",
            format!("Claude Code denied the call ({why})."),
        ),
    }
}

/// The transcript an event closes: a subagent's own for `SubagentStop`, else the
/// session's.
fn transcript_of(event: &HookEvent) -> Option<&str> {
    let field = match event.known_event()? {
        KnownEvent::SubagentStop => "agent_transcript_path",
        KnownEvent::Stop | KnownEvent::StopFailure | KnownEvent::SessionEnd => "transcript_path",
        _ => return None,
    };
    event.fields().get(field).and_then(Value::as_str)
}

/// Whether `event` ends a turn, so its transcript may hold denials to report.
pub(crate) fn closes_turn(event: &HookEvent) -> bool {
    transcript_of(event).is_some()
}

/// After an event that ends a turn: delivers the denials its transcript gained.
pub(crate) fn report_after(event: &HookEvent, config: &HookConfig, stderr: &mut Vec<String>) {
    let Some(path) = transcript_of(event).map(Path::new) else {
        return;
    };
    if !path.is_absolute() {
        return;
    }
    if event.known_event() == Some(KnownEvent::SessionEnd) {
        forget_old(&config.state_dir);
    }
    let cursor = Cursor::for_transcript(&config.state_dir, path);
    let (bytes, start, mut end) = match cursor.unread(path) {
        Ok(read) => read,
        // A session Claude Code does not keep on disk has no transcript: nothing to read.
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return,
        Err(err) => {
            stderr.push(format!(
                "claude-telemetry hook: reading {} for denials: {err}",
                path.display()
            ));
            return;
        }
    };
    let mut denials = denials_in(&bytes);
    if denials.len() > MAX_PER_LOOK {
        // The rest is read again next time, from just past the last one reported now.
        denials.truncate(MAX_PER_LOOK);
        end = start + denials.last().map_or(0, |d| d.end as u64);
    }
    // Claude Code writes its transcript as it goes: a denied call may have been written
    // before the last look, and its denial after.
    let unmatched: Vec<&str> = denials
        .iter()
        .filter(|d| d.tool_name.is_none())
        .map(|d| d.tool_use_id.as_str())
        .collect();
    if !unmatched.is_empty() && start > 0 {
        let calls = read_before(path, start)
            .map(|earlier| calls_in(&earlier, &unmatched))
            .unwrap_or_default();
        for denial in &mut denials {
            if let Some((name, input)) = calls.get(&denial.tool_use_id) {
                denial.tool_name = Some(name.clone());
                denial.tool_input = Some(input.clone());
            }
        }
    }
    for denial in &denials {
        if !deliver(event, denial, config, stderr) {
            // Not delivered nor spooled: keep the cursor so the next look retries.
            return;
        }
    }
    if let Err(err) = cursor.advance(end) {
        stderr.push(format!(
            "claude-telemetry hook: remembering how far {} was read: {err}",
            path.display()
        ));
    }
}

/// Builds, enriches and sends (or spools) one denial's event; whether it is safe.
fn deliver(
    closing: &HookEvent,
    denial: &Denial,
    config: &HookConfig,
    stderr: &mut Vec<String>,
) -> bool {
    let started = Instant::now();
    let session = closing.session_id().unwrap_or("");
    let (rule, reason) = rule_and_reason(&denial.kind);
    let mut fields = Map::new();
    for key in [
        "session_id",
        "transcript_path",
        "cwd",
        "permission_mode",
        "agent_id",
        "agent_type",
    ] {
        if let Some(value) = closing.fields().get(key) {
            fields.insert(key.to_owned(), value.clone());
        }
    }
    if let Some(prompt) = &denial.prompt_id {
        fields.insert("prompt_id".to_owned(), json!(prompt));
    }
    fields.insert("hook_event_name".to_owned(), json!("PermissionDenied"));
    fields.insert(
        "tool_name".to_owned(),
        json!(denial.tool_name.as_deref().unwrap_or("")),
    );
    fields.insert(
        "tool_input".to_owned(),
        denial.tool_input.clone().unwrap_or_else(|| json!({})),
    );
    fields.insert("tool_use_id".to_owned(), json!(denial.tool_use_id));
    fields.insert("reason".to_owned(), json!(reason));
    let Ok(mut event) = HookEvent::from_value(Value::Object(fields)) else {
        return true;
    };
    let encoded = enrich(
        &mut event,
        Origin::of_hook(config, false, 0),
        Some(record(rule, reason)),
        started,
    )
    .and_then(|_| identify(&mut event, session, denial))
    .and_then(|event_id| Ok((event_id, event.to_json()?)));
    match encoded {
        Ok((event_id, line)) => send_or_spool(&event_id, &line, config, stderr).is_none(),
        Err(err) => {
            stderr.push(format!(
                "claude-telemetry hook: cannot encode a denial: {err}"
            ));
            true
        }
    }
}

/// Gives the event the denial's own time and an id derived from the session and the call
/// (a UUIDv7 of that time), so delivering it again is recognised as the same event.
fn identify(
    event: &mut HookEvent,
    session: &str,
    denial: &Denial,
) -> Result<String, serde_json::Error> {
    let mut enrichment = match event.enrichment() {
        Some(parsed) => parsed?,
        None => return Err(serde::de::Error::custom("the event has no enrichment")),
    };
    let when = denial
        .timestamp
        .as_deref()
        .and_then(|t| humantime::parse_rfc3339_weak(t).ok())
        .unwrap_or_else(SystemTime::now);
    let millis = when
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let key = format!("{session}\n{}", denial.tool_use_id);
    let mut random = [0u8; 10];
    random[..8].copy_from_slice(&fnv1a(key.as_bytes(), 1).to_le_bytes());
    random[8..].copy_from_slice(&fnv1a(key.as_bytes(), 2).to_le_bytes()[..2]);
    enrichment.event_id = uuid::Builder::from_unix_timestamp_millis(millis, &random)
        .into_uuid()
        .to_string();
    enrichment.received_at = humantime::format_rfc3339_millis(when).to_string();
    event.set_enrichment(&enrichment)?;
    Ok(enrichment.event_id)
}
