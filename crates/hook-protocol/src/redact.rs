//! Removing credentials from what is delivered and stored.
//!
//! A tool input can carry a token (`export GITHUB_TOKEN=ghp_…`, `curl -H "Authorization:
//! Bearer …"`), and the event store must not. Each string of an event is scanned once for
//! the shapes credentials take: well-known token prefixes, private key blocks, bearer
//! headers, passwords in URLs, and values assigned to names that say they are secret.
//! Hand-written scanning rather than regular expressions: the hook must not compile
//! patterns on every tool call.

use serde_json::Value;

use crate::enrichment::ENRICHMENT_KEY;
use crate::event::HookEvent;

/// What replaces a credential.
pub const REDACTED: &str = "[REDACTED]";

/// Prefixes of tokens issued by well-known services.
const TOKEN_PREFIXES: &[&str] = &[
    "sk-ant-",
    "sk-proj-",
    "sk-",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "xoxb-",
    "xoxp-",
    "xoxa-",
    "xoxs-",
    "AKIA",
    "ASIA",
    "AIza",
    "npm_",
    "hf_",
    "pypi-",
    "dop_v1_",
    "shpat_",
    "sq0atp-",
];

/// Words in a name that mark its value as a secret.
const SECRET_NAMES: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "access_key",
    "private_key",
    "credential",
];

impl HookEvent {
    /// Redacts credentials in every string of the event except the enrichment; returns
    /// how many were replaced.
    pub fn redact(&mut self) -> usize {
        let mut count = 0;
        for (key, value) in self.fields_mut().iter_mut() {
            if key != ENRICHMENT_KEY {
                count += redact_value(value);
            }
        }
        count
    }
}

fn redact_value(value: &mut Value) -> usize {
    match value {
        Value::String(text) => {
            let (redacted, count) = redact_text(text);
            if count > 0 {
                *text = redacted;
            }
            count
        }
        Value::Array(items) => items.iter_mut().map(redact_value).sum(),
        Value::Object(map) => map
            .iter_mut()
            .map(|(key, item)| {
                // `{"api_key": "…"}`: the field name says it.
                if item.is_string()
                    && is_secret_name(key)
                    && item
                        .as_str()
                        .is_some_and(|s| !s.is_empty() && s != REDACTED)
                {
                    *item = Value::String(REDACTED.to_owned());
                    1
                } else {
                    redact_value(item)
                }
            })
            .sum(),
        _ => 0,
    }
}

fn is_secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SECRET_NAMES.iter().any(|word| lower.contains(word))
        && !lower.ends_with("_file")
        && !lower.ends_with("_path")
}

fn token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | '+' | '=')
}

/// Redacts credentials in one string.
pub fn redact_text(text: &str) -> (String, usize) {
    let mut out = String::with_capacity(text.len());
    let mut count = 0;
    let mut rest = text;
    while !rest.is_empty() {
        if let Some((skip, keep, len)) = next_secret(rest) {
            out.push_str(&rest[..skip + keep]);
            out.push_str(REDACTED);
            rest = &rest[skip + keep + len..];
            count += 1;
        } else {
            out.push_str(rest);
            break;
        }
    }
    (out, count)
}

/// The next credential in `text`: (bytes before its context, bytes of context kept such
/// as `TOKEN=`, length of the secret itself).
fn next_secret(text: &str) -> Option<(usize, usize, usize)> {
    let mut best: Option<(usize, usize, usize)> = None;
    let mut consider = |found: Option<(usize, usize, usize)>| {
        if let Some(candidate) = found
            && best.is_none_or(|b| candidate.0 < b.0)
        {
            best = Some(candidate);
        }
    };
    consider(private_key_block(text));
    consider(prefixed_token(text));
    consider(bearer(text));
    consider(url_password(text));
    consider(assigned_secret(text));
    best
}

fn private_key_block(text: &str) -> Option<(usize, usize, usize)> {
    let start = text.find("-----BEGIN ")?;
    let header_end = text[start..].find("PRIVATE KEY-----")? + start + "PRIVATE KEY-----".len();
    let end = text[header_end..]
        .find("-----END ")
        .and_then(|e| {
            text[header_end + e..]
                .find("-----\n")
                .or_else(|| text[header_end + e + 9..].find("-----").map(|x| x + 9))
                .map(|x| header_end + e + x + 5)
        })
        .unwrap_or(text.len());
    Some((start, header_end - start, end.saturating_sub(header_end)))
}

fn prefixed_token(text: &str) -> Option<(usize, usize, usize)> {
    let mut best: Option<(usize, usize, usize)> = None;
    for prefix in TOKEN_PREFIXES {
        let mut from = 0;
        while let Some(at) = text[from..].find(prefix) {
            let start = from + at;
            from = start + prefix.len();
            let boundary = text[..start]
                .chars()
                .next_back()
                .is_none_or(|c| !token_char(c) || c == '=' || c == '/');
            let len = text[start..]
                .chars()
                .take_while(|c| token_char(*c))
                .map(char::len_utf8)
                .sum::<usize>();
            if boundary && len >= prefix.len() + 16 {
                if best.is_none_or(|b| start < b.0) {
                    best = Some((start, 0, len));
                }
                break;
            }
        }
    }
    best
}

fn bearer(text: &str) -> Option<(usize, usize, usize)> {
    let lower = text.to_ascii_lowercase();
    let at = lower.find("bearer ").or_else(|| lower.find("basic "))?;
    let keep = lower[at..].find(' ')? + 1;
    let len = text[at + keep..]
        .chars()
        .take_while(|c| token_char(*c))
        .map(char::len_utf8)
        .sum::<usize>();
    (len >= 8).then_some((at, keep, len))
}

fn url_password(text: &str) -> Option<(usize, usize, usize)> {
    let scheme = text.find("://")?;
    let authority = &text[scheme + 3..];
    let end = authority
        .find(['/', ' ', '"', '\'', '\n'])
        .unwrap_or(authority.len());
    let at = authority[..end].rfind('@')?;
    let colon = authority[..at].find(':')?;
    let start = scheme + 3 + colon + 1;
    Some((scheme + 3, colon + 1, at - colon - 1)).filter(|_| start <= text.len() && at > colon + 1)
}

fn assigned_secret(text: &str) -> Option<(usize, usize, usize)> {
    let bytes = text.as_bytes();
    for (index, &byte) in bytes.iter().enumerate() {
        if byte != b'=' && byte != b':' {
            continue;
        }
        let name_start = text[..index]
            .rfind(|c: char| {
                !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '"' || c == '\'')
            })
            .map_or(0, |p| p + 1);
        let name = text[name_start..index].trim_matches(['"', '\'']);
        if name.is_empty() || !is_secret_name(name) {
            continue;
        }
        let mut value_start = index + 1;
        while text[value_start..].starts_with([' ', '"', '\'']) {
            value_start += 1;
        }
        let len = text[value_start..]
            .chars()
            .take_while(|c| !c.is_whitespace() && !matches!(c, '"' | '\'' | ';' | '&' | ',' | '}'))
            .map(char::len_utf8)
            .sum::<usize>();
        if len >= 4
            && !text[value_start..].starts_with('$')
            && &text[value_start..value_start + len] != REDACTED
        {
            return Some((name_start, value_start - name_start, len));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(text: &str) -> String {
        redact_text(text).0
    }

    #[test]
    fn credentials_are_replaced() {
        assert_eq!(
            r("export GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123"),
            "export GITHUB_TOKEN=[REDACTED]"
        );
        assert_eq!(
            r("key sk-ant-api03-abcdefghijklmnopqrstuv done"),
            "key [REDACTED] done"
        );
        assert_eq!(
            r("curl -H 'Authorization: Bearer abcdef123456789' x"),
            "curl -H 'Authorization: Bearer [REDACTED]' x"
        );
        assert_eq!(
            r("psql postgres://app:hunter22@db:5432/x"),
            "psql postgres://app:[REDACTED]@db:5432/x"
        );
        assert_eq!(
            r("DB_PASSWORD=s3cr3tvalue npm start"),
            "DB_PASSWORD=[REDACTED] npm start"
        );
        assert_eq!(r("aws AKIAABCDEFGHIJKLMNOP"), "aws [REDACTED]");
        let key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY-----\n";
        assert!(!r(key).contains("MIIEabc"));
    }

    #[test]
    fn ordinary_text_is_untouched() {
        for text in [
            "cargo test --workspace",
            "git commit -m 'fix token parsing'",
            "ls -la .env",
            "echo $API_TOKEN",
            "see https://example.com/a:b@c",
            "a=b c:d",
            "task-runner",
        ] {
            assert_eq!(r(text), text, "{text}");
        }
    }

    #[test]
    fn json_fields_named_secret() {
        let mut event = HookEvent::from_value(serde_json::json!({
            "tool_input": {"api_key": "abc123", "command": "TOKEN=abcdef1234 run"},
            "claude_telemetry": {"event_id": "token=keep-this-one"}
        }))
        .unwrap();
        assert_eq!(event.redact(), 2);
        assert_eq!(event.fields()["tool_input"]["api_key"], REDACTED);
        assert_eq!(
            event.fields()["tool_input"]["command"],
            "TOKEN=[REDACTED] run"
        );
        assert_eq!(
            event.fields()["claude_telemetry"]["event_id"],
            "token=keep-this-one"
        );
    }
}
