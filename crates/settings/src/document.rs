//! The settings document's shape as an edit needs it: the object or array under a key,
//! made when absent, and the error when the file holds something else there. Records
//! which containers were there before, so uninstall removes only what install made.
//! Knows nothing of what is added to them.

use serde_json::{Map, Value};

/// Why a document cannot be edited.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// The document root is not an object.
    #[error("the settings file must hold a JSON object")]
    NotAnObject,
    /// A key that must hold an object or array holds something else.
    #[error("`{0}` has the wrong type; fix it by hand first (Claude Code ignores it as it is)")]
    WrongType(String),
}

/// The object under `key` (`path` names it in errors), made when absent; a key
/// that was there already is recorded in `kept`.
pub(crate) fn object_at<'a>(
    parent: &'a mut Map<String, Value>,
    key: &str,
    path: &str,
    kept: &mut Vec<String>,
) -> Result<&'a mut Map<String, Value>, EditError> {
    if parent.contains_key(key) && !kept.iter().any(|k| k == path) {
        kept.push(path.to_owned());
    }
    parent
        .entry(key)
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or_else(|| EditError::WrongType(path.to_owned()))
}

/// The array under `key`, made when absent; a key that was there already is
/// recorded in `kept`.
pub(crate) fn array_at<'a>(
    parent: &'a mut Map<String, Value>,
    key: &str,
    path: &str,
    kept: &mut Vec<String>,
) -> Result<&'a mut Vec<Value>, EditError> {
    if parent.contains_key(key) {
        kept.push(path.to_owned());
    }
    parent
        .entry(key)
        .or_insert_with(|| Value::Array(Vec::new()))
        .as_array_mut()
        .ok_or_else(|| EditError::WrongType(path.to_owned()))
}
