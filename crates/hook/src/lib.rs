//! The `claude-telemetry hook` command, as a library.
//!
//! Owns the path from one hook event on stdin to its acknowledged delivery: enrichment
//! (id, time, host, user, project, latency), a bounded copy for storage, blocking HTTP
//! delivery to the collector with a tight time budget, and a spool on local disk for
//! everything the collector did not acknowledge, drained by later invocations.
//!
//! Claude Code runs this once per event, so it must stay small and synchronous: no async
//! runtime, no configuration file parsing, no work an event does not need. It never
//! decides policy itself; a decision function is passed in.

mod config;
mod deliver;
mod enrich;
mod run;
mod spool;

pub use config::{ConfigError, DEFAULT_URL, Env, HookConfig, collector_url, state_dir};
pub use deliver::{Collector, DeliveryError};
pub use enrich::enrich;
pub use run::{HookOutcome, run};
pub use spool::{DrainReport, Spool, SpoolError};
