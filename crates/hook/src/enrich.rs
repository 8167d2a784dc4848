//! Adding what the hook knows to an event.

use std::hash::{BuildHasher, Hasher, RandomState};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use hook_protocol::{Bounds, Enrichment, GuardRecord, HookEvent};

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
        guard,
    };
    event.set_enrichment(&enrichment)?;
    Ok(event_id)
}

/// A UUIDv7: 48 bits of Unix milliseconds, then 74 random bits.
///
/// The random bits come from std's `RandomState`, whose keys the OS provides once per
/// process; the `getrandom` crate would instead open and poll `/dev/random` in a static
/// binary, several system calls on every tool call for the same guarantee.
fn new_event_id() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let keys = RandomState::new();
    let mut random = [0u8; 10];
    for (index, chunk) in random.chunks_mut(8).enumerate() {
        let mut hasher = keys.build_hasher();
        hasher.write_u128(now.as_nanos());
        hasher.write_u32(std::process::id());
        hasher.write_usize(index);
        let bytes = hasher.finish().to_le_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
    let millis = u64::try_from(now.as_millis()).unwrap_or(u64::MAX);
    uuid::Builder::from_unix_timestamp_millis(millis, &random)
        .into_uuid()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_unique_time_ordered_uuid_v7() {
        let ids: Vec<String> = (0..1000).map(|_| new_event_id()).collect();
        let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
        for id in &ids {
            let parsed = uuid::Uuid::parse_str(id).unwrap();
            assert_eq!(parsed.get_version_num(), 7);
            assert_eq!(parsed.get_variant(), uuid::Variant::RFC4122);
        }
        // The first 48 bits are the time: ids never go backwards across calls.
        let stamps: Vec<&str> = ids.iter().map(|id| &id[..13]).collect();
        assert!(stamps.windows(2).all(|pair| pair[0] <= pair[1]));
    }
}
