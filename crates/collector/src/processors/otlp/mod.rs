//! OpenTelemetry (OTLP) data from Claude Code: decoding the JSON encoding into the
//! protobuf types, and translating metrics into Prometheus points and log records into
//! Claude Code's events.

pub mod json;
pub mod translate;
