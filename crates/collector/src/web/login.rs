//! Signing in to the page when the collector has a token.
//!
//! A browser cannot add an `Authorization` header to a link it follows, so a collector
//! with a token offers a form instead: the token, posted once to `POST /login`, buys a
//! cookie. The cookie holds a random value drawn when the collector starts, never the
//! token, and is `HttpOnly` and `SameSite=Strict`. It opens only what the page reads —
//! `GET` of the page and its JSON — never `/metrics` or an endpoint that writes, which
//! keep requiring the bearer token. A restart draws a new value: browsers sign in again.

use std::io::Read;
use std::sync::Arc;

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::page;
use crate::server::{App, lock};

/// The cookie's name.
const COOKIE: &str = "claude_telemetry_page";

/// How long a browser stays signed in (unless the collector restarts first).
const COOKIE_MAX_AGE_SECS: u64 = 7 * 24 * 3600;

/// The value signed-in browsers hold: 32 random bytes, hex.
pub(crate) struct PageKey(String);

impl PageKey {
    /// Draws a new key from the kernel's random source.
    pub(crate) fn draw() -> std::io::Result<PageKey> {
        let mut bytes = [0u8; 32];
        std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
        Ok(PageKey(bytes.iter().map(|b| format!("{b:02x}")).collect()))
    }
}

/// Whether a request is one the page cookie may open: reading the page or its JSON.
pub(crate) fn cookie_may_open(method: &Method, path: &str) -> bool {
    method == Method::GET
        && (is_page(path) || path.starts_with("/api/v1/") && path != "/api/v1/metrics")
}

/// The HTML pages, where a refused browser gets the sign-in form.
pub(crate) fn is_page(path: &str) -> bool {
    path == "/" || path.starts_with("/sessions/")
}

/// Whether the request carries the page cookie with the current key.
pub(crate) fn has_cookie(headers: &HeaderMap, key: &PageKey) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
        .any(|value| bool::from(value.as_bytes().ct_eq(key.0.as_bytes())))
}

/// The sign-in form, with status 401: what a browser without the cookie gets for a page.
pub(crate) fn form(next: &str, message: Option<&str>) -> Response {
    let mut response = super::html(page::sign_in(safe_next(next), message));
    *response.status_mut() = StatusCode::UNAUTHORIZED;
    response
}

#[derive(Debug, Deserialize)]
pub(crate) struct SignIn {
    token: String,
    #[serde(default)]
    next: String,
}

/// `POST /login`: the right token sets the cookie and goes back to the page asked for.
pub(crate) async fn sign_in(
    State(app): State<Arc<App>>,
    Form(form_data): Form<SignIn>,
) -> Response {
    let (Some(token), Some(key)) = (&app.config.token, &app.page_key) else {
        // No token, nothing to sign in to.
        return redirect("/", None);
    };
    if !bool::from(form_data.token.as_bytes().ct_eq(token.as_bytes())) {
        lock(&app.self_metrics).reject("unauthorized");
        return form(&form_data.next, Some("That is not this collector's token."));
    }
    let cookie = format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={COOKIE_MAX_AGE_SECS}",
        key.0
    );
    redirect(safe_next(&form_data.next), Some(cookie))
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
    fn only_reading_the_page_and_its_json_is_opened() {
        assert!(cookie_may_open(&Method::GET, "/"));
        assert!(cookie_may_open(&Method::GET, "/sessions/abc"));
        assert!(cookie_may_open(&Method::GET, "/api/v1/overview"));
        assert!(!cookie_may_open(&Method::GET, "/metrics"));
        assert!(!cookie_may_open(&Method::GET, "/api/v1/metrics"));
        assert!(!cookie_may_open(&Method::POST, "/v1/hooks"));
        assert!(!cookie_may_open(&Method::POST, "/"));
        assert!(!cookie_may_open(&Method::PUT, "/metrics/job/x"));
    }

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

    #[test]
    fn the_cookie_must_carry_the_current_key() {
        let key = PageKey("ab".repeat(32));
        let with = |cookie: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::COOKIE, HeaderValue::from_str(cookie).unwrap());
            has_cookie(&headers, &key)
        };
        assert!(with(&format!("other=1; {COOKIE}={}", "ab".repeat(32))));
        assert!(!with(&format!("{COOKIE}={}", "cd".repeat(32))));
        assert!(!with(&format!("{COOKIE}x={}", "ab".repeat(32))));
        assert!(!with(&format!("{COOKIE}=")));
        assert!(!with("nothing=here"));
    }

    #[test]
    fn keys_are_drawn_fresh() {
        let (a, b) = (PageKey::draw().unwrap(), PageKey::draw().unwrap());
        assert_eq!(a.0.len(), 64);
        assert_ne!(a.0, b.0);
    }
}
