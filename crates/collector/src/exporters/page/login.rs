//! Signing in to the page when the collector has a token: `POST /login` checks the
//! token and sets the page cookie ([`crate::auth`] says what it opens); a browser refused
//! a page gets the sign-in [`form`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use serde::Deserialize;

use super::view;
use crate::auth::{is_page, is_token};
use crate::error::{ApiError, Reason};
use crate::state::AppState;

/// The sign-in form, with status 401: what a browser without the cookie gets for a page.
pub fn form(next: &str, message: Option<&str>) -> ApiError {
    ApiError::page(
        StatusCode::UNAUTHORIZED,
        Reason::Unauthorized,
        view::sign_in(safe_next(next), message),
    )
}

#[derive(Debug, Deserialize)]
pub struct SignIn {
    token: String,
    #[serde(default)]
    next: String,
}

/// `POST /login`: the right token sets the cookie and goes back to the page asked for.
/// Wrong ones are answered ever later ([`crate::attempts`]).
pub async fn sign_in(
    State(app): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    form_data: Result<Form<SignIn>, FormRejection>,
) -> Result<Response, ApiError> {
    let Form(form_data) = form_data?;
    let (Some(token), Some(key)) = (&app.config.token, &app.page_key) else {
        // No token, nothing to sign in to.
        return Ok(redirect("/", None));
    };
    // The server always says who the client is; in-process callers are on loopback.
    let client = peer.map_or(
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        |Extension(ConnectInfo(at))| at.ip(),
    );
    let right = app
        .attempts
        .attempt(client, || is_token(&form_data.token, token))
        .await
        .map_err(ApiError::from)?;
    if !right {
        return Err(form(
            &form_data.next,
            Some("That is not this collector's token."),
        ));
    }
    Ok(redirect(safe_next(&form_data.next), Some(key.set_cookie())))
}

fn redirect(to: &str, cookie: Option<String>) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    if let Ok(location) = HeaderValue::from_str(to) {
        headers.insert(header::LOCATION, location);
    }
    if let Some(cookie) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        headers.insert(header::SET_COOKIE, cookie);
    }
    response
}

/// Where to go after signing in: a page of this collector, never another site.
fn safe_next(next: &str) -> &str {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control)
        && is_page(next.split('?').next().unwrap_or(""));
    if local { next } else { "/" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_way_back_stays_on_this_collector() {
        assert_eq!(safe_next("/sessions/abc"), "/sessions/abc");
        assert_eq!(safe_next("/"), "/");
        for hostile in [
            "//evil.example/",
            "https://evil.example/",
            "/\\evil.example",
            "/metrics",
            "",
            "/\r\nSet-Cookie: x=1",
        ] {
            assert_eq!(safe_next(hostile), "/", "{hostile:?}");
        }
    }
}
