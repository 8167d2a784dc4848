//! Processors: what happens to an event between its receiver and the store, in the
//! OpenTelemetry Collector's sense — enrichment and judging of raw hook events
//! ([`enrich`]), OTLP translation ([`otlp`]), the privacy mode ([`privacy`], the one
//! place that decides what is kept), and the stored event's shape ([`events`]).
//!
//! Pure transformations: no HTTP, no store, no shared state.

pub mod enrich;
pub mod events;
pub mod otlp;
pub mod privacy;
