//! Adding what the hook knows to an event.

use std::time::{Instant, SystemTime};

use hook_protocol::{Bounds, Enrichment, GuardRecord, HookEvent, new_event_id};

use crate::config::HookConfig;

/// Redacts credentials, bounds the event for storage and attaches the enrichment (with
/// the guard's decision, if any); returns the event id.
///
/// `started` is when the hook process began, so the recorded latency covers reading,
/// parsing and (for PreToolUse) the guard.
pub fn enrich(
    event: &mut HookEvent,
    config: &HookConfig,
    lossy_utf8: bool,
    guard: Option<GuardRecord>,
    spool_pending: usize,
    started: Instant,
) -> Result<String, serde_json::Error> {
    let redacted = event.redact();
    let truncated = event.bound(Bounds::default());
    let project = config
        .project_dir
        .clone()
        .or_else(|| event.cwd().map(str::to_owned));
    let event_id = new_event_id();
    let enrichment = Enrichment {
        event_id: event_id.clone(),
        received_at: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        host: gethostname::gethostname().to_string_lossy().into_owned(),
        user_name: config.user_name.clone(),
        user_email: config.user_email.clone(),
        project,
        hook_latency_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        hook_version: env!("CARGO_PKG_VERSION").to_owned(),
        truncated,
        lossy_utf8,
        redacted,
        spool_pending,
        guard,
    };
    event.set_enrichment(&enrichment)?;
    Ok(event_id)
}
