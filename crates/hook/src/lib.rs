//! The `claude-telemetry hook` command, as a library.
//!
//! Owns the path from one hook event on stdin to its acknowledged delivery: enrichment
//! (id, time, host, user, project, latency), a bounded copy for storage, blocking HTTP
//! delivery to the collector with a tight time budget, and a spool on local disk for
//! everything the collector did not acknowledge, drained by later invocations. When a turn
//! ends it also reports the tool calls Claude Code denied without a hook seeing them,
//! read from the session's transcript.
//!
//! Claude Code runs this once per event, so it must stay small and synchronous: no async
//! runtime, no work an event does not need (the guard's configuration is read only for
//! the events it judges). Policy is the `guard` crate's; this crate asks it, looks at the
//! disk for it when its decision depends on the files present, and carries the answer.

mod config;
mod decide;
mod deliver;
mod denials;
mod enrich;
mod guard_config;
mod look;
pub mod private;
mod project;
mod run;
mod spool;

pub use config::{
    ConfigError, DEFAULT_URL, Env, HookConfig, collector_token, collector_url, state_dir,
};
pub use decide::{Judged, Place, context, context_for, decide, is_judged, judge, judge_with};
pub use deliver::{Collector, DeliveryError};
pub use denials::auto_mode_record;
pub use enrich::{Origin, enrich};
pub use guard_config::{GuardConfigError, config_path, load_guard_config};
pub use look::{Disk, FS_ROOT_VARIABLE, Looker, NothingKnown};
pub use project::folder_name;
pub use run::{HookOutcome, run};
pub use spool::{DrainReport, Spool, SpoolError};
