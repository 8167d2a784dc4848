//! What a browser may do here. Any web page the user visits can send requests to the
//! collector, so a browser is a hostile client:
//!
//! - a request must be addressed to this collector: its `Host` is a loopback name, an IP
//!   address or a configured name, never a name an attacker's DNS points here (DNS
//!   rebinding), on everything but the probes;
//! - a request that changes state must come from this collector's own pages: one a
//!   browser marks as sent from another site (`Sec-Fetch-Site`, else an `Origin` other
//!   than the `Host`) is refused. Clients that are not browsers send neither header;
//! - every answer carries headers that keep pages from being framed, sniffed, or leaking
//!   their address, and a Content-Security-Policy that runs only the page's own script.
//!
//! Holds no state; the server's one middleware asks these of every request.

use std::net::{Ipv4Addr, Ipv6Addr};

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};

use crate::auth::is_probe;
use crate::error::{ApiError, Reason};

/// Refuses a request whose `Host` (or absolute URI) names a host this collector is not
/// known by (`allowed` names aside); the probes answer whatever the name.
pub fn require_known_host(allowed: &[String], request: &Request) -> Result<(), ApiError> {
    if is_probe(request.uri().path()) {
        return Ok(());
    }
    let named = request
        .headers()
        .get_all(header::HOST)
        .iter()
        .map(|value| value.to_str().unwrap_or("\u{fffd}").to_owned())
        .chain(request.uri().authority().map(|a| a.as_str().to_owned()));
    for authority in named {
        if !is_known_host(&authority, allowed) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                Reason::Host,
                format!(
                    "this collector is not known as {authority:?}: address it by a loopback name or \
                     an IP address, or add the name to allowed_hosts (CLAUDE_TELEMETRY_ALLOWED_HOSTS)"
                ),
            ));
        }
    }
    Ok(())
}

/// Whether `authority` (`host[:port]`) names this collector: `localhost` and names under
/// `.localhost`, an IP address (a rebinding page cannot make a browser send one: it
/// sends the name it looked up), or one of `allowed`.
pub fn is_known_host(authority: &str, allowed: &[String]) -> bool {
    let Some(host) = host_of(authority) else {
        return false;
    };
    if host.starts_with('[') {
        return host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .is_some_and(|inner| inner.parse::<Ipv6Addr>().is_ok());
    }
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host.parse::<Ipv4Addr>().is_ok()
        || host == "localhost"
        || host.ends_with(".localhost")
        || allowed
            .iter()
            .any(|name| name.trim_end_matches('.').eq_ignore_ascii_case(&host))
}

/// The host of `host[:port]`, `None` when the port is not a number.
fn host_of(authority: &str) -> Option<&str> {
    let (host, port) = match authority.rfind(':') {
        // `[::1]` alone: the colon is inside the brackets.
        Some(colon) if !authority[colon..].contains(']') => {
            (&authority[..colon], Some(&authority[colon + 1..]))
        }
        _ => (authority, None),
    };
    if port.is_some_and(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    (!host.is_empty()).then_some(host)
}

/// Refuses a request that changes state when a browser says it was sent by another site.
///
/// `Sec-Fetch-Site` is set by the browser and cannot be forged by a page: only
/// `same-origin` (this collector's own page) and `none` (typed by the user) pass. Older
/// browsers send only `Origin`, which must then name the `Host` the request went to.
/// Neither header: not a browser (curl, the hook, Claude Code, an OTLP exporter).
pub fn refuse_cross_site_writes(request: &Request) -> Result<(), ApiError> {
    if !changes_state(request.method()) || is_same_site_or_not_a_browser(request.headers()) {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        Reason::CrossOrigin,
        "cross-origin requests that change state are refused: this request came from another web site",
    ))
}

fn changes_state(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

fn is_same_site_or_not_a_browser(headers: &HeaderMap) -> bool {
    let text = |name| headers.get(name).map(|v| v.to_str().unwrap_or(""));
    if let Some(site) = text("sec-fetch-site") {
        return site.eq_ignore_ascii_case("same-origin") || site.eq_ignore_ascii_case("none");
    }
    let Some(origin) = text(header::ORIGIN.as_str()) else {
        return true;
    };
    // `Origin` is `scheme://host[:port]` (or `null` from a sandboxed or opaque page).
    let origin_authority = origin.split_once("://").map(|(_, authority)| authority);
    let host = text(header::HOST.as_str());
    matches!((origin_authority, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

/// Adds the security headers every answer carries; `content_security_policy` is the
/// page's (the server composes it: only the page knows its script and styles).
pub fn add_security_headers(headers: &mut HeaderMap, content_security_policy: &HeaderValue) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        content_security_policy.clone(),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_addresses_and_configured_names_are_known() {
        let allowed = vec!["pushgateway".to_owned(), "Telemetry.Example.com".to_owned()];
        for known in [
            "localhost",
            "localhost:9091",
            "LOCALHOST.:9091",
            "app.localhost:9091",
            "127.0.0.1:9091",
            "10.1.2.3",
            "[::1]:9091",
            "[::1]",
            "pushgateway:9091",
            "telemetry.example.com",
        ] {
            assert!(is_known_host(known, &allowed), "{known}");
        }
        for foreign in [
            "attacker.example",
            "attacker.example:9091",
            "localhost.attacker.example",
            "127.0.0.1.nip.io:9091",
            "pushgateway.attacker.example",
            "localhost:x",
            "localhost:",
            "[::1",
            "[nope]:9091",
            "",
            ":9091",
        ] {
            assert!(!is_known_host(foreign, &allowed), "{foreign}");
        }
    }

    #[test]
    fn writes_from_other_sites_are_told_apart() {
        let with = |pairs: &[(&str, &str)]| {
            let mut headers = HeaderMap::new();
            for (name, value) in pairs {
                headers.insert(
                    axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                    HeaderValue::from_str(value).unwrap(),
                );
            }
            is_same_site_or_not_a_browser(&headers)
        };
        assert!(with(&[]), "not a browser");
        assert!(with(&[("sec-fetch-site", "same-origin")]));
        assert!(with(&[("sec-fetch-site", "none")]));
        assert!(!with(&[("sec-fetch-site", "cross-site")]));
        assert!(
            !with(&[("sec-fetch-site", "same-site")]),
            "another port of localhost is another origin"
        );
        assert!(with(&[
            ("origin", "http://127.0.0.1:9091"),
            ("host", "127.0.0.1:9091")
        ]));
        assert!(!with(&[
            ("origin", "http://127.0.0.1:8000"),
            ("host", "127.0.0.1:9091")
        ]));
        assert!(!with(&[("origin", "null"), ("host", "127.0.0.1:9091")]));
        assert!(!with(&[("origin", "http://evil.example")]));
        assert!(
            !with(&[
                ("sec-fetch-site", "cross-site"),
                ("origin", "http://127.0.0.1:9091"),
                ("host", "127.0.0.1:9091")
            ]),
            "the browser's word wins"
        );
    }
}
