//! Adding what is known about an event's origin to it: the one enrichment path, shared
//! by the hook and the collector (for Claude Code's `http` hooks).

use std::time::{Instant, SystemTime};

use hook_protocol::privacy::Level;
use hook_protocol::{Bounds, Enrichment, GuardRecord, HookEvent, new_event_id};

use crate::config::HookConfig;

/// Who and where an event comes from (what its enrichment says besides the event itself),
/// and what of it the one handling it keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The machine the event happened on.
    pub host: String,
    /// Who is working.
    pub user_name: String,
    /// Their email, when known.
    pub user_email: Option<String>,
    /// The project directory, when known (else the event's `cwd`).
    pub project_dir: Option<String>,
    /// Whether the project's name may be read from its repository (`.git` under the
    /// project directory): on the machine the event happened on, not elsewhere.
    pub name_from_repository: bool,
    /// What handled the event: the hook's version, or `collector/<version>`.
    pub handled_by: String,
    /// Whether invalid UTF-8 in the input was replaced.
    pub lossy_utf8: bool,
    /// Events waiting in the hook's spool.
    pub spool_pending: usize,
    /// The privacy level: what of the event is kept before it leaves (is delivered,
    /// spooled or stored).
    pub privacy: Level,
}

impl Origin {
    /// The hook's own origin: this machine, the configured user and project.
    pub fn of_hook(config: &HookConfig, lossy_utf8: bool, spool_pending: usize) -> Origin {
        Origin {
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            user_name: config.user_name.clone(),
            user_email: config.user_email.clone(),
            project_dir: config.project_dir.clone(),
            name_from_repository: true,
            handled_by: env!("CARGO_PKG_VERSION").to_owned(),
            lossy_utf8,
            spool_pending,
            privacy: config.privacy,
        }
    }
}

/// Keeps what the privacy level keeps, redacts credentials in that, bounds the event for
/// storage and attaches the enrichment (with the guard's decision, if any); returns the
/// enrichment. The guard has judged the whole event before.
///
/// `started` is when handling began, so the recorded latency covers reading, parsing and
/// (for PreToolUse) the guard.
pub fn enrich(
    event: &mut HookEvent,
    origin: Origin,
    guard: Option<GuardRecord>,
    started: Instant,
) -> Result<Enrichment, serde_json::Error> {
    event.keep(
        origin.privacy,
        guard.as_ref().map(|guard| guard.decision.as_str()),
    );
    let (redacted, truncated) = event.redact_and_bound(Bounds::default());
    let project = origin
        .project_dir
        .or_else(|| event.cwd().map(str::to_owned));
    let project_name = project.as_deref().and_then(|dir| {
        if origin.name_from_repository {
            crate::project::name_of(dir)
        } else {
            crate::project::folder_name(std::path::Path::new(dir))
        }
    });
    let enrichment = Enrichment {
        event_id: new_event_id(),
        received_at: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        host: origin.host,
        user_name: origin.user_name,
        user_email: origin.user_email,
        project,
        project_name,
        hook_latency_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        hook_version: origin.handled_by,
        truncated,
        lossy_utf8: origin.lossy_utf8,
        redacted,
        spool_pending: origin.spool_pending,
        guard: guard.map(GuardRecord::redacted),
    };
    event.set_enrichment(&enrichment)?;
    Ok(enrichment)
}
