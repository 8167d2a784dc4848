//! Receivers: what arrives over HTTP, parsed, validated and handed to the store.

pub mod hooks;
pub mod otlp;
pub mod pushgateway;
