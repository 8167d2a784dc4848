//! Removing credentials from what is delivered and stored.
//!
//! A tool input can carry a token (`export GITHUB_TOKEN=ghp_…`, `curl -H "Authorization:
//! Bearer …"`), and the event store must not. Every string kept of an event, at every
//! privacy level, is scanned for the shapes credentials take: well-known token prefixes,
//! bare JWTs, private key blocks (raw, or `\n`-escaped inside JSON text), bearer and basic
//! headers, passwords in URLs, values assigned to names that say they are secret (`API_KEY=`,
//! `X-Api-Key:`, `"password": "…"`, `AccountKey=`, `--token …`), the password flags of
//! programs that take one on the command line (`curl -u user:pass`, `mysql -pPASS`,
//! `sshpass -p`, `docker login -p`), and what is piped into a command that reads a secret
//! on stdin (`--with-token`, `--password-stdin`). Object keys are scanned like values.
//! Hand-written scanning rather than regular expressions: the hook must not compile
//! patterns on every tool call.

use std::ops::Range;

use serde_json::{Map, Value};

use crate::enrichment::ENRICHMENT_KEY;
use crate::event::HookEvent;

/// What replaces a credential.
pub const REDACTED: &str = "[REDACTED]";

/// Prefixes of tokens issued by well-known services.
const TOKEN_PREFIXES: &[&str] = &[
    "sk-ant-",
    "sk-proj-",
    "sk-",
    "sk_live_",
    "sk_test_",
    "rk_live_",
    "rk_test_",
    "whsec_",
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

/// Words in a name that mark its value as a secret (compared in lower case, `-` read as
/// `_`).
const SECRET_NAMES: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "api_key",
    "apikey",
    "access_key",
    "private_key",
    "accountkey",
    "sharedaccesskey",
    "credential",
];

/// Programs that take a secret in a short flag: the flag, whether its value may be
/// attached (`-pSECRET`), whether it may follow as the next word, and whether only the
/// part after `user:` is secret.
struct SecretFlag {
    programs: &'static [&'static str],
    /// A subcommand that must follow the program (`docker login`), if any.
    subcommand: Option<&'static str>,
    flags: &'static [&'static str],
    attached: bool,
    separate: bool,
    after_colon: bool,
}

const SECRET_FLAGS: &[SecretFlag] = &[
    SecretFlag {
        programs: &["curl"],
        subcommand: None,
        flags: &["-u", "--user", "--proxy-user", "-U"],
        attached: true,
        separate: true,
        after_colon: true,
    },
    SecretFlag {
        programs: &[
            "mysql",
            "mysqldump",
            "mysqladmin",
            "mysqlimport",
            "mysqlshow",
            "mysqlcheck",
            "mysqlpump",
            "mariadb",
            "mariadb-dump",
            "mariadb-admin",
        ],
        subcommand: None,
        flags: &["-p"],
        // `mysql -p db` prompts for the password and opens `db`.
        attached: true,
        separate: false,
        after_colon: false,
    },
    SecretFlag {
        programs: &["sshpass"],
        subcommand: None,
        flags: &["-p"],
        attached: true,
        separate: true,
        after_colon: false,
    },
    SecretFlag {
        programs: &[
            "docker", "podman", "nerdctl", "buildah", "skopeo", "helm", "oras",
        ],
        subcommand: Some("login"),
        flags: &["-p"],
        attached: true,
        separate: true,
        after_colon: false,
    },
];

/// Flags with which a command reads a secret on its standard input: what is echoed or
/// given as a here-string to it on the same line is the secret.
const STDIN_SECRET_FLAGS: &[&str] = &["--with-token", "--password-stdin"];

impl HookEvent {
    /// Redacts credentials in every string and key of the event and in the guard's record
    /// of it (its reason and the text it points at); the rest of the enrichment is ours and
    /// left alone. Returns how many were replaced.
    pub fn redact(&mut self) -> usize {
        let mut count = 0;
        for (key, value) in self.fields_mut().iter_mut() {
            if key == ENRICHMENT_KEY {
                if let Some(guard) = value.get_mut("guard") {
                    count += redact_value(guard);
                }
            } else {
                count += redact_value(value);
            }
        }
        count
    }
}

/// Redacts credentials in every string of a JSON value, object keys included; returns how
/// many were replaced.
pub fn redact_value(value: &mut Value) -> usize {
    match value {
        // Most strings hold nothing: only those that do are copied.
        Value::String(text) if secrets(text).is_empty() => 0,
        Value::String(text) => {
            let (redacted, count) = redact_text(text);
            *text = redacted;
            count
        }
        Value::Array(items) => items.iter_mut().map(redact_value).sum(),
        Value::Object(map) => {
            let mut count = redact_keys(map);
            for (key, item) in map.iter_mut() {
                // `{"api_key": "…"}`: the field name says it.
                count += if item.is_string()
                    && is_secret_name(key)
                    && item
                        .as_str()
                        .is_some_and(|s| !s.is_empty() && s != REDACTED)
                {
                    *item = Value::String(REDACTED.to_owned());
                    1
                } else {
                    redact_value(item)
                };
            }
            count
        }
        _ => 0,
    }
}

/// Replaces keys that hold a credential (`{"ghp_…": true}`), keeping the order; a key that
/// would collide gets a number.
fn redact_keys(map: &mut Map<String, Value>) -> usize {
    if !map.keys().any(|key| !secrets(key).is_empty()) {
        return 0;
    }
    let mut count = 0;
    let mut rebuilt = Map::with_capacity(map.len());
    for (key, value) in std::mem::take(map) {
        let (mut redacted, found) = redact_text(&key);
        count += found;
        let mut suffix = 1;
        while rebuilt.contains_key(&redacted) {
            suffix += 1;
            redacted = format!("{}#{suffix}", redact_text(&key).0);
        }
        rebuilt.insert(redacted, value);
    }
    *map = rebuilt;
    count
}

/// Whether a name says its value is a secret; names of a secret's file, path, id or name
/// (`TOKEN_FILE`, `private_key_id`, `SharedAccessKeyName`) do not.
fn is_secret_name(name: &str) -> bool {
    // Compared without allocating: every `=` and `:` of every string asks.
    let name = name.as_bytes();
    let folded = |byte: u8| {
        if byte == b'-' {
            b'_'
        } else {
            byte.to_ascii_lowercase()
        }
    };
    let same =
        |part: &[u8], word: &str| part.iter().zip(word.bytes()).all(|(a, b)| folded(*a) == b);
    let contains = |word: &str| name.windows(word.len()).any(|part| same(part, word));
    let ends_with = |suffix: &str| {
        name.len() >= suffix.len() && same(&name[name.len() - suffix.len()..], suffix)
    };
    SECRET_NAMES.iter().any(|word| contains(word))
        && !["_file", "_path", "_stdin", "_id", "name"]
            .iter()
            .any(|suffix| ends_with(suffix))
}

fn token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'/' | b'+' | b'=')
}

/// Texts shorter than this are not scanned: the shortest credential any scanner finds is
/// in `mysql -pX` or `a://:pw@`.
const SHORTEST_SECRET_TEXT: usize = "a://:pw@".len();

/// Where `needle` first is in `text`. For the short needles here and the short strings
/// most fields are, looking for its first character (std's memchr) beats setting up
/// `str::find`'s searcher for the whole needle.
fn find(text: &str, needle: &str) -> Option<usize> {
    let first = needle.chars().next()?;
    let mut from = 0;
    loop {
        let at = from + text[from..].find(first)?;
        if text[at..].starts_with(needle) {
            return Some(at);
        }
        from = at + first.len_utf8();
    }
}

/// Redacts credentials in one string; returns the text and how many were replaced.
pub fn redact_text(text: &str) -> (String, usize) {
    let spans = secrets(text);
    if spans.is_empty() {
        return (text.to_owned(), 0);
    }
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for span in &spans {
        out.push_str(&text[copied..span.start]);
        out.push_str(REDACTED);
        copied = span.end;
    }
    out.push_str(&text[copied..]);
    (out, spans.len())
}

/// Where the credentials in `text` are, in order, overlapping ones joined (a private key
/// assigned to `"private_key": "` is one secret); what an earlier pass (the hook's, then
/// the collector's) replaced is not found again.
fn secrets(text: &str) -> Vec<Range<usize>> {
    let mut found = Vec::new();
    // Names, enums and short ids (most of an event's strings) need no scan.
    if text.len() < SHORTEST_SECRET_TEXT {
        return found;
    }
    private_key_blocks(text, &mut found);
    prefixed_tokens(text, &mut found);
    jwts(text, &mut found);
    bearers(text, &mut found);
    url_passwords(text, &mut found);
    assigned_secrets(text, &mut found);
    secret_options(text, &mut found);
    secret_flags(text, &mut found);
    stdin_secrets(text, &mut found);
    found.retain(|span| !span.is_empty() && !text[span.start..].starts_with(REDACTED));
    found.sort_by_key(|span| (span.start, std::cmp::Reverse(span.end)));
    let mut joined: Vec<Range<usize>> = Vec::with_capacity(found.len());
    for span in found {
        match joined.last_mut() {
            Some(last) if span.start < last.end => last.end = last.end.max(span.end),
            _ => joined.push(span),
        }
    }
    joined
}

/// `-----BEGIN … PRIVATE KEY-----` to the end of its `-----END …-----` line (or of the
/// text, when cut short), raw or with `\n` escaped as in a service-account JSON file: the
/// body and the end line are the secret.
fn private_key_blocks(text: &str, found: &mut Vec<Range<usize>>) {
    let mut from = 0;
    while let Some(at) = find(&text[from..], "-----BEGIN ") {
        let label_start = from + at + "-----BEGIN ".len();
        from = label_start;
        let Some(label_len) = text[label_start..].find("-----") else {
            return;
        };
        let label_end = label_start + label_len;
        if !text[label_start..label_end].contains("PRIVATE KEY") {
            continue;
        }
        let header_end = label_end + "-----".len();
        let end = text[header_end..]
            .find("-----END ")
            .map(|e| header_end + e + "-----END ".len())
            .and_then(|after| {
                text[after..]
                    .find("-----")
                    .map(|x| after + x + "-----".len())
            })
            .unwrap_or(text.len());
        found.push(header_end..end);
        from = end;
    }
}

/// Whether a token may start at `at`: after a character that is not part of one, or
/// after `=` or `/` (`TOKEN=ghp_…`, `…/token/ghp_…`). Non-ASCII bytes are never part of one.
fn is_boundary_before(bytes: &[u8], at: usize) -> bool {
    at == 0 || {
        let before = bytes[at - 1];
        !token_byte(before) || before == b'=' || before == b'/'
    }
}

/// How long the run of token characters that starts at `at` is.
fn token_len(text: &str, at: usize) -> usize {
    text.as_bytes()[at..]
        .iter()
        .take_while(|byte| token_byte(**byte))
        .count()
}

/// Which bytes a token prefix starts with, to pass over every other position at once.
const PREFIX_STARTS: [bool; 256] = {
    let mut starts = [false; 256];
    let mut index = 0;
    while index < TOKEN_PREFIXES.len() {
        starts[TOKEN_PREFIXES[index].as_bytes()[0] as usize] = true;
        index += 1;
    }
    starts
};

/// Tokens that start with a known prefix and run 16 characters past it, in one pass.
fn prefixed_tokens(text: &str, found: &mut Vec<Range<usize>>) {
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        if PREFIX_STARTS[usize::from(bytes[at])] && is_boundary_before(bytes, at) {
            let len = token_len(text, at);
            let long_enough = TOKEN_PREFIXES.iter().any(|prefix| {
                bytes[at..].starts_with(prefix.as_bytes()) && len >= prefix.len() + 16
            });
            if long_enough {
                found.push(at..at + len);
                at += len;
                continue;
            }
        }
        at += 1;
    }
}

/// JSON Web Tokens: three base64url parts, the first two JSON objects (`eyJ` is `{"`).
fn jwts(text: &str, found: &mut Vec<Range<usize>>) {
    let mut from = 0;
    while let Some(at) = find(&text[from..], "eyJ") {
        let start = from + at;
        from = start + 3;
        if !is_boundary_before(text.as_bytes(), start) {
            continue;
        }
        let token = text[start..]
            .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            .next()
            .unwrap_or("")
            // A sentence's full stop is not part of it.
            .trim_end_matches('.');
        let mut parts = token.split('.');
        if let (Some(header), Some(payload), Some(_signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
            && header.len() >= 10
            && payload.len() >= 10
            && payload.starts_with("eyJ")
        {
            found.push(start..start + token.len());
            from = start + token.len();
        }
    }
}

/// `Bearer …` and `Basic …`, as in an `Authorization` header.
fn bearers(text: &str, found: &mut Vec<Range<usize>>) {
    let bytes = text.as_bytes();
    for (at, byte) in bytes.iter().enumerate() {
        if !byte.eq_ignore_ascii_case(&b'b') {
            continue;
        }
        for word in [&b"bearer "[..], b"basic "] {
            if bytes[at..].len() >= word.len()
                && bytes[at..at + word.len()].eq_ignore_ascii_case(word)
            {
                let start = at + word.len();
                let len = token_len(text, start);
                if len >= 8 {
                    found.push(start..start + len);
                }
            }
        }
    }
}

/// `scheme://user:password@host`.
fn url_passwords(text: &str, found: &mut Vec<Range<usize>>) {
    let mut from = 0;
    while let Some(at) = find(&text[from..], "://") {
        let authority_start = from + at + 3;
        from = authority_start;
        let authority = &text[authority_start..];
        let end = authority
            .find(['/', ' ', '"', '\'', '\n', '\\'])
            .unwrap_or(authority.len());
        let Some(at) = authority[..end].rfind('@') else {
            continue;
        };
        let Some(colon) = authority[..at].find(':') else {
            continue;
        };
        found.push(authority_start + colon + 1..authority_start + at);
    }
}

/// How long a value that starts at `at` runs: to a blank, a quote or a separator.
fn value_len(text: &str, at: usize) -> usize {
    text[at..]
        .chars()
        .take_while(|c| {
            !c.is_whitespace() && !matches!(c, '"' | '\'' | ';' | '&' | ',' | '}' | '\\')
        })
        .map(char::len_utf8)
        .sum()
}

/// `NAME=value`, `NAME: value`, `"name": "value"` where the name says secret.
fn assigned_secrets(text: &str, found: &mut Vec<Range<usize>>) {
    for (index, byte) in text.bytes().enumerate() {
        if byte != b'=' && byte != b':' {
            continue;
        }
        let name_start = text[..index]
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '"' | '\'')))
            .map_or(0, |(at, c)| at + c.len_utf8());
        let name = text[name_start..index].trim_matches(['"', '\'']);
        if name.is_empty() || !is_secret_name(name) {
            continue;
        }
        let mut value_start = index + 1;
        while text[value_start..].starts_with([' ', '"', '\'', '\\']) {
            value_start += 1;
        }
        let len = value_len(text, value_start);
        if len >= 4 && !text[value_start..].starts_with('$') {
            found.push(value_start..value_start + len);
        }
    }
}

/// The words of a text with where each starts: split on blanks.
fn words(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split_ascii_whitespace()
        .map(move |word| (word.as_ptr() as usize - text.as_ptr() as usize, word))
}

/// Where a word's value lies without the quotes around it (and what closes the JSON text
/// a command may be quoted in).
fn unquoted(at: usize, word: &str) -> Range<usize> {
    let stripped = word.trim_start_matches(['"', '\'']);
    let start = at + word.len() - stripped.len();
    let inner = stripped.trim_end_matches(['"', '\'', ';', ')', '}', ']', ',', '\\']);
    start..start + inner.len()
}

/// Whether a flag's value at `span` can be a secret: a variable, another flag or a shell
/// operator is not.
fn is_value(text: &str, span: &Range<usize>) -> bool {
    !span.is_empty() && !text[span.clone()].starts_with(['-', '$', '<', '>', '|', '&', ';'])
}

/// `--password value`, `--token value`: a long option named secret, its value the next
/// word (`--name=value` is an assignment, found by [`assigned_secrets`]).
fn secret_options(text: &str, found: &mut Vec<Range<usize>>) {
    let mut after_option = false;
    for (at, word) in words(text) {
        if std::mem::take(&mut after_option) {
            let span = unquoted(at, word);
            if is_value(text, &span) {
                found.push(span);
            }
        }
        after_option = word.strip_prefix("--").is_some_and(|name| {
            name.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
                && is_secret_name(name)
        });
    }
}

/// The program a word names: its file name, after whatever quotes or JSON punctuation it
/// follows (`"full_command":"sshpass` names `sshpass`).
fn program_name(word: &str) -> &str {
    let separator = |c: char| matches!(c, '"' | '\'' | '=' | ':' | '(' | '{' | '[' | ',' | '/');
    let word = word.trim_end_matches(separator);
    // Only the end of a long word can name a program: what is past the last separator
    // there, or nothing when the last name is longer than any program's.
    let mut tail = word.len().saturating_sub(LONGEST_PROGRAM + 1);
    while !word.is_char_boundary(tail) {
        tail += 1;
    }
    match word[tail..].rfind(separator) {
        Some(at) => &word[tail + at + 1..],
        None if tail == 0 => word,
        None => "",
    }
}

/// The longest program name in [`SECRET_FLAGS`]: longer words are not looked up.
const LONGEST_PROGRAM: usize = 13;

/// The rule for a program that takes a password flag, if `program` is one.
fn flag_rule(program: &str) -> Option<&'static SecretFlag> {
    if program.len() < 4 || program.len() > LONGEST_PROGRAM {
        return None;
    }
    SECRET_FLAGS
        .iter()
        .find(|rule| rule.programs.contains(&program))
}

/// The password flags of programs that take one on the command line.
fn secret_flags(text: &str, found: &mut Vec<Range<usize>>) {
    for (at, word) in words(text) {
        let Some(rule) = flag_rule(program_name(word)) else {
            continue;
        };
        let segment_end = text[at..]
            .find(['\n', ';', '|', '&', ')', '`'])
            .map_or(text.len(), |e| at + e);
        let mut args = words(&text[at..segment_end])
            .skip(1)
            .map(|(offset, arg)| (at + offset, arg));
        if let Some(subcommand) = rule.subcommand {
            // `docker login …`, not `docker run -p …`.
            if args.next().map(|(_, arg)| arg) != Some(subcommand) {
                continue;
            }
        }
        let mut after_flag = false;
        for (arg_at, arg) in args {
            if std::mem::take(&mut after_flag) {
                found.extend(secret_value(text, unquoted(arg_at, arg), rule.after_colon));
                continue;
            }
            if rule.flags.contains(&arg) {
                after_flag = rule.separate;
                continue;
            }
            let attached = rule
                .flags
                .iter()
                .filter(|flag| rule.attached && !flag.starts_with("--"))
                .find_map(|flag| arg.strip_prefix(flag).map(|value| (flag.len(), value)));
            if let Some((flag_len, value)) = attached {
                found.extend(secret_value(
                    text,
                    unquoted(arg_at + flag_len, value),
                    rule.after_colon,
                ));
            }
        }
    }
}

/// The secret in a flag's value: all of it, or what follows `user:`.
fn secret_value(text: &str, mut span: Range<usize>, after_colon: bool) -> Option<Range<usize>> {
    if after_colon {
        span.start += text[span.clone()].find(':')? + 1;
    }
    is_value(text, &span).then_some(span)
}

/// `echo TOKEN | gh auth login --with-token`, `docker login --password-stdin <<< PASS`:
/// what is echoed or given as a here-string on a line that feeds such a flag.
fn stdin_secrets(text: &str, found: &mut Vec<Range<usize>>) {
    if !STDIN_SECRET_FLAGS
        .iter()
        .any(|flag| find(text, flag).is_some())
    {
        return;
    }
    let mut line_start = 0;
    for line in text.split('\n') {
        if STDIN_SECRET_FLAGS.iter().any(|flag| line.contains(flag))
            && let Some(span) = fed_value(line)
        {
            found.push(line_start + span.start..line_start + span.end);
        }
        line_start += line.len() + 1;
    }
}

/// The argument of the first `echo`/`printf` or `<<<` of a line, up to the pipe.
fn fed_value(line: &str) -> Option<Range<usize>> {
    let here = line.find("<<<").map(|at| at + 3);
    let echoed = words(line)
        .find(|(_, word)| matches!(program_name(word), "echo" | "printf"))
        .map(|(at, word)| at + word.len());
    let mut value_at = [here, echoed].into_iter().flatten().min()?;
    // Options of echo (`-n`, `-e`) are not the secret.
    loop {
        let rest = &line[value_at..];
        let trimmed = rest.trim_start();
        value_at += rest.len() - trimmed.len();
        match trimmed.split_ascii_whitespace().next() {
            Some(option) if option.starts_with('-') && option.len() <= 3 => {
                value_at += option.len();
            }
            _ => break,
        }
    }
    let value_end = line[value_at..]
        .find(['|', ';', '&'])
        .map_or(line.len(), |e| value_at + e);
    let value = line[value_at..value_end].trim_end();
    let span = unquoted(value_at, value);
    is_value(line, &span).then_some(span)
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
            "git push -u origin main",
            "docker run -u 1000:1000 img",
            "mkdir -pv build",
            "mysql -p shop",
            "docker login --password-stdin registry.example.com < token.txt",
            "cat creds.txt | gh auth login --with-token",
            "-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----",
            "eyJust a word",
            "--password-file /run/secret",
        ] {
            assert_eq!(r(text), text, "{text}");
        }
    }

    #[test]
    fn the_shortest_secrets_are_still_found() {
        assert_eq!(r("mysql -pX"), "mysql -p[REDACTED]");
        assert_eq!(r("a://:pw@"), "a://:[REDACTED]@");
        assert_eq!(r("mysql -p"), "mysql -p");
    }

    #[test]
    fn every_program_with_a_password_flag_is_looked_up() {
        for program in SECRET_FLAGS.iter().flat_map(|rule| rule.programs) {
            assert!(program.len() <= LONGEST_PROGRAM, "{program}");
        }
    }

    #[test]
    fn redacting_twice_changes_nothing_more() {
        for text in [
            "TOKEN=[REDACTED] PASSWORD=hunter22 x",
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY-----\n",
            "psql postgres://app:hunter22@db/x && curl -u a:b https://x",
        ] {
            let (once, found) = redact_text(text);
            assert!(found > 0, "{text}");
            assert!(
                !once.contains("hunter22") && !once.contains("MIIE"),
                "{once}"
            );
            assert_eq!(redact_text(&once), (once.clone(), 0), "{text}");
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

    #[test]
    fn the_guards_record_is_redacted_like_the_input() {
        let mut event = HookEvent::from_value(serde_json::json!({
            "claude_telemetry": {"event_id": "e", "guard": {"reason": "ran curl -u me:hunter22 x",
                "span": {"text": "curl -u me:hunter22 x"}}}
        }))
        .unwrap();
        assert_eq!(event.redact(), 2);
        let guard = &event.fields()["claude_telemetry"]["guard"];
        assert_eq!(guard["reason"], "ran curl -u me:[REDACTED] x");
        assert_eq!(guard["span"]["text"], "curl -u me:[REDACTED] x");
    }

    // One test per shape that slipped through before.

    #[test]
    fn private_keys_escaped_inside_json_text() {
        let file = r#"{"type": "service_account", "project_id": "p", "private_key_id": "abc", "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n", "client_email": "x@p.iam.gserviceaccount.com"}"#;
        let out = r(file);
        assert!(!out.contains("MIIEvQ") && !out.contains("BKcwgg"), "{out}");
        assert!(
            out.contains(r#""client_email": "x@p.iam.gserviceaccount.com""#),
            "{out}"
        );
        // Cut short by the bounds: to the end of the text.
        let cut = "key: -----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXktdjEAAAA";
        assert!(!r(cut).contains("b3BlbnNz"), "{}", r(cut));
        let pgp =
            "-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOYBF\n-----END PGP PRIVATE KEY BLOCK-----";
        assert!(!r(pgp).contains("lQOYBF"));
    }

    #[test]
    fn stripe_live_keys() {
        assert_eq!(
            r("STRIPE=sk_live_51HxYzAbCdEfGhIjKlMnOpQr stripe charges"),
            "STRIPE=[REDACTED] stripe charges"
        );
        assert_eq!(
            r("stripe login --api-key rk_live_51HxYzAbCdEfGhIjKlMnOpQr"),
            "stripe login --api-key [REDACTED]"
        );
    }

    #[test]
    fn x_api_key_headers() {
        assert_eq!(
            r("curl -H 'X-Api-Key: 0123456789abcdef' https://api.example.com"),
            "curl -H 'X-Api-Key: [REDACTED]' https://api.example.com"
        );
        assert_eq!(
            r("curl -H \"x-api-key:abcd1234efgh\" x"),
            "curl -H \"x-api-key:[REDACTED]\" x"
        );
    }

    #[test]
    fn curl_user_and_password() {
        assert_eq!(
            r("curl -u admin:hunter22 https://x"),
            "curl -u admin:[REDACTED] https://x"
        );
        assert_eq!(
            r("curl --user 'admin:p@ss w' https://x"),
            "curl --user 'admin:[REDACTED] w' https://x"
        );
        assert_eq!(r("curl -uadmin:hunter22 x"), "curl -uadmin:[REDACTED] x");
        assert_eq!(r("curl -u admin https://x"), "curl -u admin https://x");
    }

    #[test]
    fn mysql_attached_password() {
        assert_eq!(
            r("mysql -u root -pS3cret! shop < dump.sql"),
            "mysql -u root -p[REDACTED] shop < dump.sql"
        );
        assert_eq!(
            r("cd /x && /usr/bin/mysqldump -h db -p'S3cret' shop"),
            "cd /x && /usr/bin/mysqldump -h db -p'[REDACTED]' shop"
        );
    }

    #[test]
    fn sshpass_password() {
        assert_eq!(
            r("sshpass -p hunter22 ssh me@host uptime"),
            "sshpass -p [REDACTED] ssh me@host uptime"
        );
        assert_eq!(
            r("sshpass -phunter22 scp a me@host:"),
            "sshpass -p[REDACTED] scp a me@host:"
        );
    }

    #[test]
    fn docker_login_password() {
        assert_eq!(
            r("docker login -u me -p hunter22 registry.example.com"),
            "docker login -u me -p [REDACTED] registry.example.com"
        );
        assert_eq!(
            r("docker login --password hunter22 -u me r.io"),
            "docker login --password [REDACTED] -u me r.io"
        );
        // `-p` of another docker command is a port.
        assert_eq!(
            r("docker run -p 8080:80 nginx"),
            "docker run -p 8080:80 nginx"
        );
    }

    #[test]
    fn tokens_fed_to_with_token() {
        assert_eq!(
            r("echo abc123secretvalue | gh auth login --with-token"),
            "echo [REDACTED] | gh auth login --with-token"
        );
        assert_eq!(
            r("gh auth login --with-token <<< 'abc123secretvalue'"),
            "gh auth login --with-token <<< '[REDACTED]'"
        );
        assert_eq!(
            r("printf '%s' hunter22 | docker login --password-stdin -u me r.io"),
            "printf '[REDACTED] | docker login --password-stdin -u me r.io"
        );
    }

    #[test]
    fn commands_quoted_inside_json_text() {
        // Claude Code's tool_parameters: the command as a JSON string inside a string.
        let parameters = r#"{"bash_command":"sshpass","full_command":"sshpass -p hunter22 ssh me@h","timeout":5}"#;
        assert_eq!(
            r(parameters),
            r#"{"bash_command":"sshpass","full_command":"sshpass -p [REDACTED] ssh me@h","timeout":5}"#
        );
        let parameters = r#"{"full_command":"mysql -u root -phunter22"}"#;
        assert_eq!(
            r(parameters),
            r#"{"full_command":"mysql -u root -p[REDACTED]"}"#
        );
    }

    #[test]
    fn bare_jwts() {
        let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        assert_eq!(
            r(&format!("the session is {token}.")),
            "the session is [REDACTED]."
        );
        assert_eq!(r(&format!("cookie={token}")), "cookie=[REDACTED]");
    }

    #[test]
    fn azure_account_keys() {
        assert_eq!(
            r(
                "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=bXlrZXk9PWFiY2RlZmdoaWprbG1ub3A=;EndpointSuffix=core.windows.net"
            ),
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=[REDACTED];EndpointSuffix=core.windows.net"
        );
        assert_eq!(
            r(
                "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=abcDEF123456="
            ),
            "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=[REDACTED]"
        );
    }

    #[test]
    fn secrets_used_as_json_keys() {
        let mut value = serde_json::json!({
            "tokens": {"ghp_abcdefghijklmnopqrstuvwxyz0123": {"scope": "repo"},
                       "ghp_zyxwvutsrqponmlkjihgfedcba3210": true, "name": "kept"}
        });
        assert_eq!(redact_value(&mut value), 2);
        let text = value.to_string();
        assert!(
            !text.contains("ghp_abc") && !text.contains("ghp_zyx"),
            "{text}"
        );
        assert_eq!(value["tokens"]["[REDACTED]"]["scope"], "repo");
        assert_eq!(value["tokens"]["[REDACTED]#2"], true);
        assert_eq!(value["tokens"]["name"], "kept");
    }

    use proptest::strategy::Strategy;

    proptest::proptest! {
        /// Any text, stitched from the pieces the scanners look for and arbitrary
        /// characters: no panic, and a second pass (the collector's after the hook's)
        /// undoes nothing of the first. Texts made to look like secrets only once their
        /// neighbour is replaced may lose more on the second pass; that is fine.
        #[test]
        fn any_text_is_scanned_safely(pieces in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::sample::select(vec![
                    "-----BEGIN ", "PRIVATE KEY-----", "-----END ", "\\n", "eyJ", "eyJhbGciOiJIUzI1NiJ9.",
                    "sk_live_", "ghp_", "://", "@", ":", "=", "TOKEN", "password", "--token", " ",
                    "curl", "-u", "mysql", "-p", "sshpass", "docker", "login", "|", "echo",
                    "--with-token", "<<<", "'", "\"", "Bearer ", "X-Api-Key", "AccountKey", "[REDACTED]",
                ]).prop_map(str::to_owned),
                "\\PC{0,12}",
            ],
            0..24,
        )) {
            let text: String = pieces.concat();
            let (once, _) = redact_text(&text);
            let (twice, _) = redact_text(&once);
            proptest::prop_assert!(
                twice.matches(REDACTED).count() >= once.matches(REDACTED).count(),
                "{:?} -> {:?} -> {:?}", text, once, twice
            );
        }
    }
}
