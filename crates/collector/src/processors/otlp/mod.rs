//! OpenTelemetry (OTLP) data from Claude Code: decoding the JSON encoding into the
//! protobuf types, and translating metrics into Prometheus points, log records into
//! Claude Code's events and spans into stored span records.

pub mod json;
pub mod spans;
pub mod translate;
