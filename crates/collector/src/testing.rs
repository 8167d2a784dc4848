//! Helpers for the in-crate tests of each router: a collector's state on a real store in
//! a temporary directory, and requests answered in process (`oneshot`).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode};
use tower::ServiceExt;

use crate::config::CollectorConfig;
use crate::state::AppState;

/// A collector's state with its store in `dir`, as the server opens it.
pub fn state(dir: &Path) -> AppState {
    state_with(dir, CollectorConfig::default())
}

/// The same, with `config`.
pub fn state_with(dir: &Path, config: CollectorConfig) -> AppState {
    let (state, _writer, _) =
        crate::server::open(config, guard::GuardConfig::default(), dir.to_owned())
            .expect("the collector opens");
    state
}

/// Answers `request` with `router`, as from a client on loopback.
pub async fn call(router: Router, request: Request<Body>) -> (StatusCode, String) {
    let (status, _, body) = respond(router, request).await;
    (status, body)
}

/// The same, with the answer's headers.
pub async fn respond(router: Router, request: Request<Body>) -> (StatusCode, HeaderMap, String) {
    let router = router.layer(MockConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
    let response = router.oneshot(request).await.expect("infallible");
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("a body");
    (
        status,
        headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

/// A request with a body of `content_type`.
pub fn post(method: &str, path: &str, content_type: &str, body: impl Into<Body>) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", content_type)
        .body(body.into())
        .expect("a request")
}

/// A body that arrives in `chunks`, as a chunked request's does (send it with
/// `Transfer-Encoding: chunked`).
pub fn chunked(chunks: Vec<Vec<u8>>) -> Body {
    struct Chunks(VecDeque<Vec<u8>>);
    impl http_body::Body for Chunks {
        type Data = Bytes;
        type Error = axum::Error;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
            Poll::Ready(
                self.0
                    .pop_front()
                    .map(|chunk| Ok(http_body::Frame::data(Bytes::from(chunk)))),
            )
        }
    }
    Body::new(Chunks(chunks.into()))
}

/// A GET.
pub fn get(path: &str) -> Request<Body> {
    Request::builder()
        .uri(path)
        .body(Body::empty())
        .expect("a request")
}

/// The value of one sample line of `/metrics` text, if present.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.parse().ok())
}
