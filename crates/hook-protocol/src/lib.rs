//! Claude Code's hook protocol, as data.
//!
//! Owns the shape of what Claude Code sends a hook (an event on stdin or in a POST body),
//! what this project adds to it before delivery (the enrichment), and what a hook may answer.
//! Parsing is deliberately loose: Claude Code adds events and fields often, so every
//! unknown key is kept and passed through, and every field is optional.
//!
//! It also owns what of an event may be kept: the privacy levels and their allowlist
//! ([`privacy`]), and the redaction of credentials, for the hook and the collector alike.
//!
//! This crate does no I/O and knows nothing about delivery, guarding or storage.

mod answer;
mod bound;
mod enrichment;
mod event;
pub mod privacy;
mod redact;
mod release;

pub use answer::{HookAnswer, PermissionDecision};
pub use bound::Bounds;
pub use enrichment::{
    ENRICHMENT_KEY, Enrichment, GuardRecord, GuardSpan, Truncation, new_event_id,
};
pub use event::{EventError, HookEvent, KNOWN_EVENTS, KnownEvent};
pub use redact::{REDACTED, redact_text, redact_value};
pub use release::{NEWEST_TESTED, OLDEST_SUPPORTED, Release, ReleaseError};
