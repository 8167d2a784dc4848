//! The pipeline's one edge from receivers to what keeps their events: a consumer takes a
//! batch of events and answers once it has them (for the store: once they are durable).
//!
//! Receivers depend on this trait, not on the store, so the step after them is one
//! method, as the OpenTelemetry Collector's `consumer.Logs` is.

use std::future::Future;

use crate::event::Event;

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
