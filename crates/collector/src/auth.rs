//! Who may do what: the bearer token, and the page's sign-in cookie.
//!
//! A browser cannot add an `Authorization` header to a link it follows, so a collector
//! with a token lets the page sign in: the token, posted once, buys a cookie holding a
//! random key drawn at start (never the token). The cookie opens only what the page reads
//! — `GET` of the page and its JSON — never `/metrics` or an endpoint that writes. A
//! restart draws a new key: browsers sign in again. Holds no state but the key.

use std::io::Read;

use axum::http::{HeaderMap, HeaderValue, Method, header};
use subtle::ConstantTimeEq;

/// The page cookie's name.
pub const COOKIE: &str = "claude_telemetry_page";

/// How long a browser stays signed in (unless the collector restarts first).
pub const COOKIE_MAX_AGE_SECS: u64 = 7 * 24 * 3600;

/// The value signed-in browsers hold: 32 random bytes, hex.
pub struct PageKey(String);

impl PageKey {
    /// Draws a new key from the kernel's random source.
    pub fn draw() -> std::io::Result<PageKey> {
        let mut bytes = [0u8; 32];
        std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
        Ok(PageKey(bytes.iter().map(|b| format!("{b:02x}")).collect()))
    }

    /// The `Set-Cookie` value that signs a browser in.
    pub fn set_cookie(&self) -> String {
        format!(
            "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={COOKIE_MAX_AGE_SECS}",
            self.0
        )
    }
}

/// Paths open to anyone: the probes and the sign-in.
pub fn is_open(path: &str) -> bool {
    is_probe(path) || path == "/login"
}

/// The probes, which answer anyone by any name.
pub fn is_probe(path: &str) -> bool {
    matches!(path, "/-/healthy" | "/-/ready")
}

/// The bearer token the request presents, if it presents one: `Authorization: Bearer
/// <token>`, the scheme in any case (RFC 9110 §11.1).
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    bearer_in(headers.get(header::AUTHORIZATION)?)
}

/// The bearer token in an `Authorization` value.
pub fn bearer_in(authorization: &HeaderValue) -> Option<&str> {
    let value = authorization.to_str().ok()?;
    let (scheme, credentials) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credentials.trim_matches(' '))
}

/// Whether `presented` is the token (compared in constant time).
pub fn is_token(presented: &str, token: &str) -> bool {
    bool::from(presented.as_bytes().ct_eq(token.as_bytes()))
}

/// Whether a request is one the page cookie may open: reading the page or its JSON.
pub fn cookie_may_open(method: &Method, path: &str) -> bool {
    method == Method::GET
        && (is_page(path) || path.starts_with("/api/v1/") && path != "/api/v1/metrics")
}

/// The HTML pages, where a refused browser gets the sign-in form.
pub fn is_page(path: &str) -> bool {
    path == "/" || path.starts_with("/sessions/")
}

/// Whether the request carries the page cookie with the current key.
pub fn has_cookie(headers: &HeaderMap, key: &PageKey) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
        .any(|value| bool::from(value.as_bytes().ct_eq(key.0.as_bytes())))
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
    fn the_bearer_scheme_is_read_in_any_case() {
        let presented = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
            bearer(&headers).map(str::to_owned)
        };
        for value in ["Bearer t0k", "bearer t0k", "BEARER t0k", "Bearer   t0k"] {
            assert_eq!(presented(value).as_deref(), Some("t0k"), "{value}");
        }
        assert_eq!(presented("Basic dTpw"), None);
        assert_eq!(presented("Bearert0k"), None);
        assert!(bearer(&HeaderMap::new()).is_none());
    }

    #[test]
    fn keys_are_drawn_fresh() {
        let (a, b) = (PageKey::draw().unwrap(), PageKey::draw().unwrap());
        assert_eq!(a.0.len(), 64);
        assert_ne!(a.0, b.0);
    }
}
