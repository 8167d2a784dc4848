//! Ids derived from content, for what has no id of its own (an OTLP log record, a
//! metrics export): the same content gets the same id, so the store drops a re-export.
//! Also the fixed 64-bit hash that keys pending tool calls.
//!
//! The hash is fixed and documented here because stored ids must not change between
//! builds: SipHash-1-3 with both keys zero, fed each part's UTF-8 bytes followed by one
//! `0xFF` byte. An id is two such hashes, the second fed `second` first, written as
//! `otlp-` and 32 lowercase hex digits. This is, byte for byte, what std's
//! `DefaultHasher` computed over `str` parts when the first stores were written (Rust
//! 1.95 and before); std does not promise to keep that algorithm, so it is spelt out
//! with the `siphasher` crate instead.

use std::hash::Hasher;

use siphasher::sip::SipHasher13;

/// The fixed hash of `parts`, each ended by `0xFF` (see the module's documentation).
fn hash(prefix: Option<&str>, parts: &[&str]) -> u64 {
    let mut hasher = SipHasher13::new_with_keys(0, 0);
    for part in prefix.iter().chain(parts) {
        hasher.write(part.as_bytes());
        hasher.write(&[0xFF]);
    }
    hasher.finish()
}

/// A stable 128-bit id from parts: `otlp-` and 32 hex digits.
pub fn stable_id(parts: &[&str]) -> String {
    format!(
        "otlp-{:016x}{:016x}",
        hash(None, parts),
        hash(Some("second"), parts)
    )
}

/// A 64-bit key for `text`.
pub fn key(text: &str) -> u64 {
    hash(None, &[text])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_fixed() {
        // Computed by the collector of 0.1.0 (std's DefaultHasher); they must never change.
        assert_eq!(
            stable_id(&["metrics", "[]"]),
            "otlp-f3175a85c44ab629ec53d1e141cc810a"
        );
        assert_eq!(stable_id(&[]), "otlp-d1fba762150c532c840e56b8f6a2e59f");
        assert_ne!(stable_id(&["ab", "c"]), stable_id(&["a", "bc"]));
    }

    #[test]
    fn the_same_as_std_computes_today() {
        use std::hash::{DefaultHasher, Hash};
        for parts in [
            &["a", "b"][..],
            &["claude_code.api_request", "1795132802000000000", "s"],
        ] {
            let mut std_hasher = DefaultHasher::new();
            for part in parts {
                part.hash(&mut std_hasher);
            }
            assert_eq!(hash(None, parts), std_hasher.finish());
        }
    }
}
