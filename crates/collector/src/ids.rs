//! Ids derived from content, for what has no id of its own (an OTLP log record, a
//! metrics export): the same content gets the same id, so the store drops a re-export.

/// A stable 128-bit id from parts, as hex. SipHash with fixed keys: the same record
/// gets the same id in every run of the same build.
pub fn stable_id(parts: &[&str]) -> String {
    use std::hash::{Hash, Hasher};
    let mut first = std::hash::DefaultHasher::new();
    let mut second = std::hash::DefaultHasher::new();
    "second".hash(&mut second);
    for part in parts {
        part.hash(&mut first);
        part.hash(&mut second);
    }
    format!("otlp-{:016x}{:016x}", first.finish(), second.finish())
}
