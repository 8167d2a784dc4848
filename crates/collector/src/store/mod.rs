//! The event store: SQLite (bundled), WAL, one writer thread with group commit; the
//! consumer every receiver hands its events to.
//!
//! An event is acknowledged only after the transaction holding it has committed with
//! `synchronous = FULL`, so an acknowledged event survives a crash of the process or the
//! machine. Requests queue their events for the writer ([`writer`]), which commits
//! everything queued in one transaction: one fsync serves many requests. Duplicate event
//! ids are ignored by the database (`INSERT OR IGNORE` on a unique id), which makes
//! re-delivery safe. After each commit the writer hands the newly inserted events to the
//! aggregator before acknowledging, so a scrape that follows an acknowledgement sees the
//! event counted.
//!
//! On start, [`restore`] rebuilds the aggregator from the baseline and the stored events;
//! [`prune`] folds events past the retention into the baseline ([`mod@restore`]). Pushed
//! groups are kept beside the events ([`groups`]); the database itself is [`db`]'s. One
//! collector at a time writes a data directory ([`lock`]).

mod db;
mod groups;
mod lock;
mod restore;
mod rollup;
mod writer;

pub use db::{StoreError, database_path, high_water_mark, reader, size_bytes};
pub use groups::GroupTable;
pub use restore::{prune, restore};
pub use rollup::{ROLLUP_VERSION, ROW_COLUMNS, row_from};
pub use writer::{Store, Writer, open};
