//! One budget for the request bodies the collector holds at once, across every
//! connection. Each body is bounded on its own (`max_body_bytes`); without a shared
//! budget, many large bodies at once would still take all memory (60 batches of 7 MiB
//! reached 1.3 GB). A request reserves its body's size before any of it is read and
//! gives it back once answered; one that does not fit is answered 503 with
//! `Retry-After` at once, without reading it (senders retry; the hook spools).
//!
//! A body reserves what it announces (`Content-Length`), or the most it may become
//! when it does not say (chunked) or is compressed (gzip inflates up to the limit).

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{StatusCode, header};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{ApiError, Reason};

/// Bodies are counted in KiB: a semaphore counts in `u32`.
const UNIT: usize = 1024;
/// What a refused sender is asked to wait before retrying, in seconds.
const RETRY_AFTER_SECS: u64 = 1;

/// The bytes of bodies that may be held at once.
#[derive(Debug)]
pub struct BodyBudget {
    units: Arc<Semaphore>,
    total: usize,
}

impl BodyBudget {
    /// A budget of `bytes`.
    pub fn new(bytes: usize) -> BodyBudget {
        let units = bytes.div_ceil(UNIT).min(Semaphore::MAX_PERMITS);
        BodyBudget {
            units: Arc::new(Semaphore::new(units)),
            total: bytes,
        }
    }

    /// Reserves `bytes`, if they fit now.
    fn reserve(&self, bytes: usize) -> Option<Reserved> {
        let units = u32::try_from(bytes.div_ceil(UNIT)).unwrap_or(u32::MAX);
        self.units
            .clone()
            .try_acquire_many_owned(units)
            .ok()
            .map(|permit| Reserved { _permit: permit })
    }

    /// Reserves what `request`'s body may take (bodies at most `max_body`), held until
    /// the reservation is dropped once answered; `None` for a request without a body.
    /// One that does not fit now is refused: 503 with `Retry-After`.
    pub fn reserve_for(
        &self,
        request: &Request,
        max_body: usize,
    ) -> Result<Option<Reserved>, ApiError> {
        let bytes = cost(request, max_body);
        if bytes == 0 {
            return Ok(None);
        }
        match self.reserve(bytes) {
            Some(reserved) => Ok(Some(reserved)),
            None => Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                Reason::Busy,
                format!(
                    "too many large bodies at once (over {} bytes in flight): retry in a moment",
                    self.total
                ),
            )
            .retry_after(RETRY_AFTER_SECS)),
        }
    }
}

/// A body's share of the budget, given back when dropped.
#[derive(Debug)]
pub struct Reserved {
    _permit: OwnedSemaphorePermit,
}

/// What a request's body may take, at most, from the budget.
fn cost(request: &Request, max_body: usize) -> usize {
    let headers = request.headers();
    let compressed = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| !v.trim().eq_ignore_ascii_case("identity") && !v.trim().is_empty());
    let chunked = headers.contains_key(header::TRANSFER_ENCODING);
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok());
    match announced {
        _ if compressed || chunked => max_body,
        Some(length) => length.min(max_body),
        // No length and not chunked: HTTP/1.1 says there is no body.
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn request(headers: &[(&str, &str)]) -> Request {
        let mut builder = Request::builder().method("POST").uri("/v1/hooks");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Body::empty()).unwrap()
    }

    #[test]
    fn a_body_costs_what_it_announces_or_the_most_it_may_become() {
        assert_eq!(cost(&request(&[("content-length", "5000")]), 8192), 5000);
        assert_eq!(cost(&request(&[]), 8192), 0);
        assert_eq!(
            cost(&request(&[("transfer-encoding", "chunked")]), 8192),
            8192
        );
        assert_eq!(
            cost(
                &request(&[("content-length", "100"), ("content-encoding", "gzip")]),
                8192
            ),
            8192,
            "a gzip body inflates up to the limit"
        );
    }

    #[test]
    fn the_budget_is_shared_and_given_back() {
        let budget = BodyBudget::new(10 * UNIT);
        let first = budget.reserve(6 * UNIT).unwrap();
        assert!(budget.reserve(6 * UNIT).is_none(), "does not fit beside it");
        drop(first);
        assert!(
            budget.reserve(6 * UNIT).is_some(),
            "given back once answered"
        );
    }
}
