//! OpenTelemetry (OTLP) data from Claude Code: decoding the JSON encoding, and
//! translating metrics and log records into Prometheus points and stored events.

pub mod json;
pub mod translate;
