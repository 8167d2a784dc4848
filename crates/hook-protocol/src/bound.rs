//! Keeping a stored copy of an event bounded.
//!
//! Tool inputs and responses can hold whole files (tens of megabytes). The event that is
//! delivered and stored keeps every field, but long strings are cut and, if the event is
//! still too large, the largest top-level fields are replaced by a note of their size.
//! Every cut is recorded so nobody mistakes a truncated copy for the original.

use serde_json::{Map, Value};

use crate::enrichment::Truncation;
use crate::event::HookEvent;
use crate::privacy::{is_size_note, size_note};

/// Size limits for the delivered copy of an event.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Longest string kept whole, in bytes.
    pub max_string_bytes: usize,
    /// Largest serialised event, in bytes, after strings are cut.
    pub max_event_bytes: usize,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            max_string_bytes: 16 * 1024,
            max_event_bytes: 256 * 1024,
        }
    }
}

/// How far past what a string keeps it is scanned for credentials: far enough that one
/// starting before the cut is recognised whole (a 4096-bit private key is 3.3 KB).
const REDACTION_MARGIN: usize = 4 * 1024;

impl HookEvent {
    /// Redacts credentials and cuts the event down to `bounds`; returns how many
    /// credentials were replaced and what was cut. Strings are first cut to a little more
    /// than they keep, so redacting costs the same for a 50 MB file as for a 20 KB one,
    /// and a credential across the cut is still seen whole.
    pub fn redact_and_bound(&mut self, bounds: Bounds) -> (usize, Vec<Truncation>) {
        let mut cuts = self.bound(Bounds {
            max_string_bytes: bounds.max_string_bytes.saturating_add(REDACTION_MARGIN),
            max_event_bytes: usize::MAX,
        });
        let redacted = self.redact();
        for cut in self.bound(bounds) {
            // The first cut knew the original size.
            if !cuts.iter().any(|earlier| earlier.path == cut.path) {
                cuts.push(cut);
            }
        }
        (redacted, cuts)
    }

    /// Cuts the event down to `bounds`, returning what was cut (empty when nothing was).
    pub fn bound(&mut self, bounds: Bounds) -> Vec<Truncation> {
        let mut cuts = Vec::new();
        let mut path = String::new();
        for (key, value) in self.fields_mut().iter_mut() {
            with_segment(&mut path, key, |path| {
                cut_strings(value, bounds.max_string_bytes, path, &mut cuts)
            });
        }
        elide_largest_fields(self.fields_mut(), bounds.max_event_bytes, &mut cuts);
        cuts
    }
}

fn with_segment(path: &mut String, segment: &str, f: impl FnOnce(&mut String)) {
    let len = path.len();
    path.push('/');
    // RFC 6901 escaping: `~` first, then `/`.
    path.push_str(&segment.replace('~', "~0").replace('/', "~1"));
    f(path);
    path.truncate(len);
}

fn cut_strings(value: &mut Value, max: usize, path: &mut String, cuts: &mut Vec<Truncation>) {
    match value {
        Value::String(text) if text.len() > max => {
            cuts.push(Truncation {
                path: path.clone(),
                original_bytes: text.len(),
            });
            let mut end = max;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
        }
        Value::Array(items) => {
            for (index, item) in items.iter_mut().enumerate() {
                with_segment(path, &index.to_string(), |path| {
                    cut_strings(item, max, path, cuts)
                });
            }
        }
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                with_segment(path, key, |path| cut_strings(item, max, path, cuts));
            }
        }
        _ => {}
    }
}

/// Replaces the largest top-level fields by a size note until the event fits.
///
/// Identity fields (`hook_event_name`, `session_id`, ids) are small and never the largest,
/// so they survive; what goes first is bulk such as `tool_response` with many entries.
fn elide_largest_fields(fields: &mut Map<String, Value>, max: usize, cuts: &mut Vec<Truncation>) {
    let size_of = |value: &Value| serde_json::to_string(value).map_or(0, |text| text.len());
    let mut total: usize = fields.iter().map(|(k, v)| k.len() + 4 + size_of(v)).sum();
    while total > max {
        let Some((key, size)) = fields
            .iter()
            .filter(|(_, v)| !is_size_note(v))
            .map(|(k, v)| (k.clone(), size_of(v)))
            .max_by_key(|(_, size)| *size)
        else {
            break;
        };
        let note = size_note(size);
        let note_size = size_of(&note);
        if note_size >= size {
            break;
        }
        fields.insert(key.clone(), note);
        total = total - size + note_size;
        cuts.push(Truncation {
            path: format!("/{}", key.replace('~', "~0").replace('/', "~1")),
            original_bytes: size,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(value: Value) -> HookEvent {
        HookEvent::from_value(value).unwrap()
    }

    #[test]
    fn small_events_are_untouched() {
        let mut e = event(json!({"hook_event_name": "Stop", "a": [1, "two"]}));
        let before = e.clone();
        assert!(e.bound(Bounds::default()).is_empty());
        assert_eq!(e, before);
    }

    #[test]
    fn long_strings_are_cut_on_char_boundaries_and_recorded() {
        let long = "é".repeat(20); // 40 bytes
        let mut e = event(
            json!({"tool_response": {"file": {"content": long}}, "a/b": ["x".repeat(11)], "c~d": ["y".repeat(12)]}),
        );
        let cuts = e.bound(Bounds {
            max_string_bytes: 11,
            max_event_bytes: 1 << 20,
        });
        // The 40-byte string is cut; the 11-byte one is exactly at the limit and kept.
        assert_eq!(
            cuts,
            vec![
                Truncation {
                    path: "/tool_response/file/content".into(),
                    original_bytes: 40
                },
                Truncation {
                    path: "/c~0d/0".into(),
                    original_bytes: 12
                },
            ]
        );
        assert_eq!(e.fields()["a/b"][0], "x".repeat(11));
        assert_eq!(
            e.fields()["tool_response"]["file"]["content"],
            "é".repeat(5)
        );
    }

    #[test]
    fn a_credential_across_the_cut_is_redacted_and_the_original_size_recorded() {
        let text = format!(
            "{}TOKEN=hunter22hunter22 {}",
            "x".repeat(10),
            "y".repeat(1_000_000)
        );
        let mut e = event(json!({"tool_response": {"stdout": text}}));
        let (redacted, cuts) = e.redact_and_bound(Bounds {
            max_string_bytes: 20,
            max_event_bytes: 1 << 20,
        });
        assert_eq!(redacted, 1);
        assert_eq!(
            cuts,
            vec![Truncation {
                path: "/tool_response/stdout".into(),
                original_bytes: text.len()
            }]
        );
        let kept = e.fields()["tool_response"]["stdout"].as_str().unwrap();
        assert_eq!(kept, "xxxxxxxxxxTOKEN=[RED");
        assert!(!kept.contains("hunter"));
    }

    #[test]
    fn large_events_lose_their_largest_fields_first() {
        let many: Vec<Value> = (0..1000).map(|i| json!(format!("line {i}"))).collect();
        let mut e = event(
            json!({"hook_event_name": "PostToolUse", "session_id": "s", "tool_response": many}),
        );
        let cuts = e.bound(Bounds {
            max_string_bytes: 64,
            max_event_bytes: 1024,
        });
        assert_eq!(cuts.len(), 1);
        assert_eq!(cuts[0].path, "/tool_response");
        assert!(
            e.fields()["tool_response"]["elided_bytes"]
                .as_u64()
                .unwrap()
                > 1024
        );
        assert_eq!(e.session_id(), Some("s"));
        assert!(e.to_json().unwrap().len() <= 1024);
    }
}
