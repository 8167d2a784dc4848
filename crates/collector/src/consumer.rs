//! The pipeline's one edge from receivers to what keeps their events: a consumer takes a
//! batch of events and answers once it has them (for the store: once they are durable).
//!
//! Receivers depend on this trait, not on the store, so the step after them is one
//! method, as the OpenTelemetry Collector's `consumer.Logs` is.

use std::future::Future;
use std::time::Duration;

use crate::event::{Event, SpanRecord, TimedLog};
use crate::exposition::Encoded;

/// Why a consumer did not take a batch: nothing of it was taken, the sender may retry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConsumeError(pub String);

/// Takes events.
pub trait Consumer {
    /// Takes `events`; answers, per event, whether it was new (`false`: a duplicate of
    /// one taken before, which changes nothing).
    fn consume(
        &self,
        events: Vec<Event>,
    ) -> impl Future<Output = Result<Vec<bool>, ConsumeError>> + Send;
}

/// Where spans and log events go on to once the store has them (the forwarding exporter):
/// queued, never waited for. The state holds it by this trait, so the exporters that read
/// the state are not also beneath it.
pub trait Onward: Send + Sync {
    /// Queues spans the store just took, in order; what does not fit is dropped.
    fn spans(&self, spans: Vec<SpanRecord>);
    /// Queues log events the store just took (when log forwarding is on).
    fn logs(&self, logs: Vec<TimedLog>);
    /// Whether log events are wanted (so receivers skip the copy when they are not).
    fn wants_logs(&self) -> bool;
    /// Its own metrics, for `/metrics`.
    fn encoded(&self) -> Vec<Encoded>;
    /// Sends what is queued for at most `grace`, then stops; what is left is counted as
    /// dropped.
    fn shutdown(&self, grace: Duration);
}
