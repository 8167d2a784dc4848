//! One budget for the request bodies the collector holds at once, across every
//! connection. Each body is bounded on its own (`max_body_bytes`); without a shared
//! budget, many large bodies at once would still take all memory (60 batches of 7 MiB
//! reached 1.3 GB).
//!
//! A body is charged what it actually holds, not the most it may become: before any of
//! it is read it reserves what it announces (`Content-Length`), or a small first share
//! when it does not say (chunked, as Claude Code sends its exports); then, chunk by chunk
//! as its bytes arrive ([`Share::attach`]) and as gzip inflates them ([`Share::hold`]),
//! whatever it holds beyond its reservation. When the budget cannot grow, the body is
//! refused: what it held is given back at once and the request is answered 503 with
//! `Retry-After` (senders retry; the hook spools). So memory held by bodies stays within
//! the budget whatever the mix of requests, and small bodies are never turned away for
//! what they might have become.
//!
//! Owns the accounting only: it reads no body itself and decides nothing about what one
//! means.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{StatusCode, header};
use http_body::Frame;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{ApiError, Reason};
use crate::sync::lock;

/// Bodies are counted in KiB: a semaphore counts in `u32`.
const UNIT: usize = 1024;
/// What a body that does not announce its length reserves before any of it is read.
/// Claude Code's exports hold a few KiB; larger bodies grow from here.
const FIRST_SHARE: usize = 16 * UNIT;
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

    /// Opens `request`'s share of the budget (bodies at most `max_body`), reserving its
    /// first part: what the body announces, a small first share when it does not say,
    /// nothing for a request without a body. Refused when even that does not fit now.
    pub fn open(&self, request: &Request, max_body: usize) -> Result<Share, OverBudget> {
        let share = Share(Arc::new(ShareState {
            units: self.units.clone(),
            total: self.total,
            held: Mutex::new(Held::default()),
        }));
        share.reserve(first_share(request, max_body))?;
        Ok(share)
    }
}

/// What a request's body reserves before any of it is read.
fn first_share(request: &Request, max_body: usize) -> usize {
    let headers = request.headers();
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok());
    if headers.contains_key(header::TRANSFER_ENCODING) {
        // Chunked: the length is not known until the last chunk.
        return FIRST_SHARE.min(max_body);
    }
    // No length and not chunked: HTTP/1.1 says there is no body.
    announced.map_or(0, |length| length.min(max_body))
}

/// The budget had no room for a body: it is answered 503 with `Retry-After`.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("too many bodies at once (over {total} bytes in flight): retry in a moment")]
pub struct OverBudget {
    total: usize,
}

impl From<OverBudget> for ApiError {
    fn from(over: OverBudget) -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            Reason::Busy,
            over.to_string(),
        )
        .retry_after(RETRY_AFTER_SECS)
    }
}

/// One request body's part of the budget, a cheap handle shared by what reads and
/// inflates the body; given back when the last handle is dropped (once answered), or at
/// once when refused.
#[derive(Debug, Clone)]
pub struct Share(Arc<ShareState>);

#[derive(Debug)]
struct ShareState {
    units: Arc<Semaphore>,
    total: usize,
    held: Mutex<Held>,
}

#[derive(Debug, Default)]
struct Held {
    /// What is reserved, in units.
    permit: Option<OwnedSemaphorePermit>,
    /// The bytes held: the body as it arrived, and what was inflated from it.
    bytes: usize,
    /// Refused once: holds nothing and takes nothing more.
    refused: bool,
}

impl Share {
    /// Counts `bytes` more held by this body, growing its reservation when they go beyond
    /// it. When the budget cannot grow, everything the share held is given back and it
    /// is refused from then on.
    pub fn hold(&self, bytes: usize) -> Result<(), OverBudget> {
        let bytes = {
            let mut held = lock(&self.0.held);
            held.bytes = held.bytes.saturating_add(bytes);
            held.bytes
        };
        self.reserve(bytes)
    }

    /// Why this share was refused, if it was.
    pub fn refused(&self) -> Option<OverBudget> {
        lock(&self.0.held).refused.then(|| self.over())
    }

    /// `request` with its body charged to this share as it arrives, and the share in its
    /// extensions for the receiver that inflates the body.
    pub fn attach(&self, request: Request) -> Request {
        let (mut parts, body) = request.into_parts();
        parts.extensions.insert(self.clone());
        let metered = Metered {
            inner: body,
            share: self.clone(),
        };
        Request::from_parts(parts, Body::new(metered))
    }

    /// Makes the reservation at least `bytes`.
    fn reserve(&self, bytes: usize) -> Result<(), OverBudget> {
        let mut held = lock(&self.0.held);
        if held.refused {
            return Err(self.over());
        }
        let have = held
            .permit
            .as_ref()
            .map_or(0, OwnedSemaphorePermit::num_permits);
        let wanted = bytes.div_ceil(UNIT);
        if wanted <= have {
            return Ok(());
        }
        let more = u32::try_from(wanted - have)
            .ok()
            .and_then(|units| self.0.units.clone().try_acquire_many_owned(units).ok());
        match (more, held.permit.as_mut()) {
            (Some(more), Some(permit)) => permit.merge(more),
            (Some(more), None) => held.permit = Some(more),
            (None, _) => {
                *held = Held {
                    permit: None,
                    bytes: 0,
                    refused: true,
                };
                return Err(self.over());
            }
        }
        Ok(())
    }

    fn over(&self) -> OverBudget {
        OverBudget {
            total: self.0.total,
        }
    }
}

/// A request body that charges each chunk to its share as it arrives, and ends with an
/// error at the first one the budget cannot hold (the chunk is dropped with it).
struct Metered {
    inner: Body,
    share: Share,
}

impl http_body::Body for Metered {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let frame = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        if let Some(Ok(chunk)) = &frame
            && let Some(data) = chunk.data_ref()
            && let Err(over) = self.share.hold(data.len())
        {
            return Poll::Ready(Some(Err(axum::Error::new(over))));
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::chunked;
    use axum::body::to_bytes;

    fn request(headers: &[(&str, &str)], body: Body) -> Request {
        let mut builder = Request::builder().method("POST").uri("/v1/hooks");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(body).unwrap()
    }

    #[test]
    fn a_body_first_reserves_what_it_announces_or_a_small_share() {
        let first = |headers: &[(&str, &str)]| first_share(&request(headers, Body::empty()), 8192);
        assert_eq!(first(&[("content-length", "5000")]), 5000);
        assert_eq!(first(&[("content-length", "50000")]), 8192);
        assert_eq!(first(&[]), 0);
        assert_eq!(first(&[("transfer-encoding", "chunked")]), 8192);
        let large = |headers: &[(&str, &str)]| {
            first_share(&request(headers, Body::empty()), 8 * 1024 * 1024)
        };
        assert_eq!(large(&[("transfer-encoding", "chunked")]), FIRST_SHARE);
        assert_eq!(
            large(&[("content-length", "100"), ("content-encoding", "gzip")]),
            100,
            "a gzip body grows as it inflates, not before"
        );
    }

    #[test]
    fn a_share_grows_with_what_it_holds_and_is_given_back() {
        let budget = BodyBudget::new(10 * UNIT);
        let empty = |headers| request(headers, Body::empty());
        let first = budget
            .open(&empty(&[("content-length", "6144")]), usize::MAX)
            .unwrap();
        first.hold(6 * UNIT).unwrap();
        assert!(
            budget
                .open(&empty(&[("content-length", "6144")]), usize::MAX)
                .is_err(),
            "does not fit beside it"
        );
        let second = budget.open(&empty(&[]), usize::MAX).unwrap();
        let elsewhere = second.clone();
        second.hold(3 * UNIT).unwrap();
        second.hold(UNIT).unwrap();
        assert!(second.refused().is_none());
        assert!(second.hold(1).is_err(), "the budget is full");
        assert!(second.refused().is_some());
        assert!(second.hold(0).is_err(), "refused once, refused for good");
        let third = budget.open(&empty(&[]), usize::MAX).unwrap();
        third
            .hold(4 * UNIT)
            .expect("what the refused share held was given back at once, though a handle lives");
        assert!(elsewhere.refused().is_some());
        drop((first, third));
        assert!(
            budget
                .open(&empty(&[("content-length", "10240")]), usize::MAX)
                .is_ok(),
            "all given back once dropped"
        );
        drop((second, elsewhere));
    }

    #[tokio::test]
    async fn a_body_is_charged_as_it_arrives_and_cut_off_where_it_does_not_fit() {
        let budget = BodyBudget::new(40 * UNIT);
        let held = budget
            .open(
                &request(&[("content-length", "20480")], Body::empty()),
                usize::MAX,
            )
            .unwrap();
        held.hold(20 * UNIT).unwrap();
        let chunks = |n: usize| chunked(vec![vec![b'x'; 4 * UNIT]; n]);
        // 16 KiB first, then grown chunk by chunk.
        let fits = request(&[("transfer-encoding", "chunked")], chunks(5));
        let share = budget.open(&fits, usize::MAX).unwrap();
        let body = share.attach(fits).into_body();
        assert_eq!(to_bytes(body, usize::MAX).await.unwrap().len(), 20 * UNIT);
        assert!(share.refused().is_none());
        drop(share);
        let too_much = request(&[("transfer-encoding", "chunked")], chunks(6));
        let share = budget.open(&too_much, usize::MAX).unwrap();
        let request = share.attach(too_much);
        assert!(
            request.extensions().get::<Share>().is_some(),
            "left for the receiver that inflates"
        );
        let error = to_bytes(request.into_body(), usize::MAX).await.unwrap_err();
        assert!(error.to_string().contains("retry"), "{error}");
        assert!(share.refused().is_some());
        let whole = request_of(20 * UNIT);
        assert!(
            budget.open(&whole, usize::MAX).is_ok(),
            "the refused body's share was given back though its handle lives"
        );
        drop(held);
    }

    fn request_of(bytes: usize) -> Request {
        request(&[("content-length", &bytes.to_string())], Body::empty())
    }
}
