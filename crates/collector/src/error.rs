//! The one error type of every HTTP handler and middleware: a status, a reason a client
//! can act on, a message, and the shape its answer takes.
//!
//! Every refusal becomes one of these; its answer carries the reason, which the server's
//! middleware counts in `claude_telemetry_requests_rejected_total{reason}` — the one
//! place rejections are counted. Internals (file paths aside, which an operator needs)
//! stay out of answers.

use axum::Json;
use axum::extract::rejection::{BytesRejection, FormRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;

/// Why a request was refused: the `reason` label of
/// `claude_telemetry_requests_rejected_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The body is not what the endpoint reads (JSON, an event, OTLP, the text format).
    Malformed,
    /// The body is not UTF-8.
    Encoding,
    /// An unsupported `Content-Type`.
    ContentType,
    /// An unsupported `Content-Encoding`.
    ContentEncoding,
    /// A gzip body that does not inflate.
    Gzip,
    /// The body (or what it inflates to) is over the limit.
    TooLarge,
    /// The body could not be read to its end (the client went away mid-body).
    IncompleteBody,
    /// More events in one batch than allowed.
    BatchTooLarge,
    /// No events in the body.
    Empty,
    /// No valid token (or page cookie).
    Unauthorized,
    /// A Pushgateway path with a bad grouping key.
    GroupingKey,
    /// A push the Pushgateway's rules refuse.
    Inconsistent,
    /// The store cannot take it now (retry later).
    Store,
    /// The store cannot be read now.
    StoreRead,
    /// A query parameter that is not understood.
    BadParameter,
    /// No such endpoint.
    NotFound,
    /// No such method on the endpoint.
    MethodNotAllowed,
    /// The request took longer than allowed.
    Timeout,
    /// Addressed to a host name this collector is not known by (DNS rebinding).
    Host,
    /// A browser sent it from another web site.
    CrossOrigin,
    /// Too many large bodies at once (retry later).
    Busy,
    /// Too many wrong tokens from this client lately (retry later).
    Throttled,
    /// A push over a series limit.
    SeriesLimit,
    /// A push that would create a group over the group limit.
    GroupLimit,
}

impl Reason {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Malformed => "malformed",
            Reason::Encoding => "encoding",
            Reason::ContentType => "content_type",
            Reason::ContentEncoding => "content_encoding",
            Reason::Gzip => "gzip",
            Reason::TooLarge => "too_large",
            Reason::IncompleteBody => "incomplete_body",
            Reason::BatchTooLarge => "batch_too_large",
            Reason::Empty => "empty",
            Reason::Unauthorized => "unauthorized",
            Reason::GroupingKey => "grouping_key",
            Reason::Inconsistent => "inconsistent",
            Reason::Store => "store",
            Reason::StoreRead => "store_read",
            Reason::BadParameter => "bad_parameter",
            Reason::NotFound => "not_found",
            Reason::MethodNotAllowed => "method_not_allowed",
            Reason::Timeout => "timeout",
            Reason::Host => "host",
            Reason::CrossOrigin => "cross_origin",
            Reason::Busy => "busy",
            Reason::Throttled => "throttled",
            Reason::SeriesLimit => "series_limit",
            Reason::GroupLimit => "group_limit",
        }
    }
}

/// How an error is written for its client.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    /// The message as a line of text.
    Text,
    /// `{"error": message}` (the hook endpoint's clients read JSON).
    Json,
    /// A `google.rpc.Status` in JSON, as OTLP/HTTP carries errors.
    RpcStatus,
    /// The message as text, with `WWW-Authenticate: Bearer`.
    Bearer,
    /// A page for a browser.
    Html(String),
}

/// A refused request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    reason: Reason,
    message: String,
    shape: Shape,
    /// Seconds the client should wait before retrying (`Retry-After`).
    retry_after: Option<u64>,
}

/// What a refused request's answer carries for the middleware that counts it.
#[derive(Debug, Clone, Copy)]
pub struct Rejected(pub Reason);

impl ApiError {
    /// A refusal answered as a line of text.
    pub fn new(status: StatusCode, reason: Reason, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            reason,
            message: message.into(),
            shape: Shape::Text,
            retry_after: None,
        }
    }

    /// Tells the client to retry after `seconds`.
    pub fn retry_after(self, seconds: u64) -> ApiError {
        ApiError {
            retry_after: Some(seconds),
            ..self
        }
    }

    /// 400: what will never be accepted.
    pub fn bad_request(reason: Reason, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, reason, message)
    }

    /// 503: the store cannot take it now; the sender should retry.
    pub fn store(message: impl std::fmt::Display) -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            Reason::Store,
            format!("not stored, retry later: {message}"),
        )
    }

    /// 401 with `WWW-Authenticate: Bearer`.
    pub fn unauthorized() -> ApiError {
        ApiError {
            shape: Shape::Bearer,
            ..ApiError::new(
                StatusCode::UNAUTHORIZED,
                Reason::Unauthorized,
                "a valid bearer token is required",
            )
        }
    }

    /// A refusal answered with a page (a browser's sign-in form).
    pub fn page(status: StatusCode, reason: Reason, html: String) -> ApiError {
        ApiError {
            shape: Shape::Html(html),
            ..ApiError::new(status, reason, "")
        }
    }

    /// Answered as `{"error": message}`.
    pub fn json(self) -> ApiError {
        ApiError {
            shape: Shape::Json,
            ..self
        }
    }

    /// Answered as a `google.rpc.Status` in JSON.
    pub fn rpc_status(self) -> ApiError {
        ApiError {
            shape: Shape::RpcStatus,
            ..self
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let ApiError {
            status,
            reason,
            message,
            shape,
            retry_after,
        } = self;
        let mut response = match shape {
            Shape::Text => format!("{message}\n").into_response(),
            Shape::Json => Json(json!({ "error": message })).into_response(),
            // Code 3 is INVALID_ARGUMENT; its message is what exporters log.
            Shape::RpcStatus => Json(json!({"code": 3, "message": message})).into_response(),
            Shape::Bearer => {
                let mut response = format!("{message}\n").into_response();
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                response
            }
            Shape::Html(page) => {
                let mut response = Html(page).into_response();
                response
                    .headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                response
            }
        };
        *response.status_mut() = status;
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response.extensions_mut().insert(Rejected(reason));
        response
    }
}

impl From<BytesRejection> for ApiError {
    fn from(rejection: BytesRejection) -> ApiError {
        let status = rejection.status();
        let reason = if status == StatusCode::PAYLOAD_TOO_LARGE {
            Reason::TooLarge
        } else {
            Reason::IncompleteBody
        };
        ApiError::new(status, reason, rejection.body_text())
    }
}

impl From<FormRejection> for ApiError {
    fn from(rejection: FormRejection) -> ApiError {
        let status = rejection.status();
        let reason = if status == StatusCode::PAYLOAD_TOO_LARGE {
            Reason::TooLarge
        } else if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
            Reason::ContentType
        } else {
            Reason::Malformed
        };
        ApiError::new(status, reason, rejection.body_text())
    }
}

/// 429 for a sign-in attempt that could not have its turn.
impl From<crate::attempts::ComeBackLater> for ApiError {
    fn from(crate::attempts::ComeBackLater(wait): crate::attempts::ComeBackLater) -> ApiError {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            Reason::Throttled,
            "too many wrong tokens from this address: wait before trying again",
        )
        .retry_after(wait.as_secs().max(1))
    }
}
