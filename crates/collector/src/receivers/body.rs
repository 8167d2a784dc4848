//! A request body's content encoding, for every receiver: gzip is inflated within the
//! size limit, the memory it inflates into charged to the body's share of the budget
//! before it is taken, so a small bomb cannot become a large allocation. Knows nothing
//! of what the body holds.

use std::io::Read;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};

use crate::budget::Share;
use crate::error::{ApiError, Reason};

/// The room first made for what a gzip body inflates to; it doubles from there.
const INFLATE_FIRST: usize = 32 * 1024;

/// The body, decompressed within the size limit, the memory it inflates into charged to
/// its `share` of the budget before it is taken.
pub(super) fn inflate(
    limit: usize,
    headers: &HeaderMap,
    body: Bytes,
    share: &Share,
) -> Result<Bytes, ApiError> {
    let compression = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity")
        .trim()
        .to_ascii_lowercase();
    match compression.as_str() {
        "identity" | "" => Ok(body),
        "gzip" => {
            let mut decoder = flate2::read::GzDecoder::new(&body[..]);
            let mut out = Vec::new();
            loop {
                if out.len() > limit {
                    // A bomb stops here: no more than one byte past the limit inflated.
                    return Err(ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        Reason::TooLarge,
                        format!("decompressed body over {limit} bytes"),
                    ));
                }
                // Doubled as a vector grows, but charged before it is allocated, and
                // never more than one byte past the limit (which tells a body over it).
                let room = (out.capacity() * 2).max(INFLATE_FIRST).min(limit + 1);
                share.hold(room - out.capacity())?;
                out.reserve_exact(room - out.len());
                let spare = (out.capacity() - out.len()) as u64;
                (&mut decoder)
                    .take(spare)
                    .read_to_end(&mut out)
                    .map_err(|err| {
                        ApiError::bad_request(Reason::Gzip, format!("invalid gzip body: {err}"))
                    })?;
                if out.len() < out.capacity() {
                    return Ok(Bytes::from(out));
                }
            }
        }
        other => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Reason::ContentEncoding,
            format!("unsupported content encoding {other:?}: send gzip or none"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::response::IntoResponse;

    #[test]
    fn a_gzip_bomb_is_refused_near_the_limit_without_inflating_it_all() {
        use std::io::Write;
        const KIB: usize = 1024;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(&vec![0; 16 * 1024 * KIB]).unwrap();
        let bomb = encoder.finish().unwrap();
        assert!(bomb.len() < 128 * KIB, "{}", bomb.len());
        let budget = crate::budget::BodyBudget::new(1024 * KIB);
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_ENCODING, "gzip".parse().unwrap());
        headers.insert(header::CONTENT_LENGTH, bomb.len().into());
        let mut sent = axum::http::Request::new(Body::empty());
        *sent.headers_mut() = headers.clone();
        let share = budget.open(&sent, usize::MAX).unwrap();
        let limit = 256 * KIB;
        let refused = inflate(limit, &headers, Bytes::from(bomb), &share).unwrap_err();
        let answer = refused.into_response();
        assert_eq!(answer.status(), StatusCode::PAYLOAD_TOO_LARGE);
        // While the bomb's share lives, all but the limit (and a unit) is still free:
        // no more of it was inflated and held.
        let mut beside = axum::http::Request::new(Body::empty());
        let free = 1024 * KIB - limit - KIB;
        beside
            .headers_mut()
            .insert(header::CONTENT_LENGTH, free.into());
        assert!(budget.open(&beside, usize::MAX).is_ok());
        drop(share);
    }
}
