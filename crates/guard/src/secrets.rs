//! Which file names are secrets, and which glob patterns aim at them.

use crate::config::{GuardConfig, Pack};

/// A secret file's family: decides the rule ids and category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secret {
    /// `.env`, `.env.local`, `prod.env`, `.envrc`, configured patterns.
    Env,
    /// Keys and credentials of the opt-in `secrets` pack.
    Other,
}

/// `.env` templates that hold no secrets by convention.
const TEMPLATE_SUFFIXES: &[&str] = &[
    "example", "sample", "template", "dist", "defaults", "schema",
];

/// Secret files of the `secrets` pack, by final component (glob).
const PACK_NAMES: &[&str] = &[
    "id_rsa",
    "id_dsa",
    "id_ecdsa",
    "id_ed25519",
    "id_ecdsa_sk",
    "id_ed25519_sk",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    ".netrc",
    ".pgpass",
    "application_default_credentials.json",
    "credentials.db",
];

/// Secret files of the `secrets` pack that need their directory to be recognised.
const PACK_PATHS: &[&str] = &[
    ".aws/credentials",
    ".kube/config",
    ".docker/config.json",
    ".git-credentials",
];

/// The names and path endings the configuration treats as secret beyond the built-in
/// `.env` family, as globs over a path's final components: the configured
/// `secret_patterns` and, with the `secrets` pack, its keys and credentials. Matching
/// ignores case, as [`secret_file`] does. What the OS sandbox must also deny reading.
pub fn configured_secret_names(config: &GuardConfig) -> Vec<String> {
    let mut names: Vec<String> = config.secret_patterns.clone();
    if config.has(Pack::Secrets) {
        names.extend(
            PACK_NAMES
                .iter()
                .chain(PACK_PATHS)
                .map(|name| (*name).to_owned()),
        );
    }
    names
}

/// Whether `path` (as written: relative or absolute, any case) names a secret file.
///
/// A trailing `/` means a directory (a virtualenv called `.env/`), which is not one.
pub fn secret_file(path: &str, config: &GuardConfig) -> Option<Secret> {
    if path.ends_with('/') || path.is_empty() {
        return None;
    }
    let name = path.rsplit('/').next().unwrap_or(path);
    if is_env_name(name) || config.secret_patterns.iter().any(|p| glob_match(p, name)) {
        return Some(Secret::Env);
    }
    if config.has(Pack::Secrets) {
        let lower = name.to_ascii_lowercase();
        if PACK_NAMES.iter().any(|p| glob_match(p, &lower)) {
            return Some(Secret::Other);
        }
        if PACK_PATHS.iter().any(|p| path.ends_with(p)) {
            return Some(Secret::Other);
        }
    }
    None
}

/// `.env`, `.envrc`, `.env.<anything but a template>`, `<name>.env`, ignoring case. A
/// template is `.env.example` and its kin, also for a variant (`.env.local.example`):
/// the name ends in a template suffix (`.env.example.bak` does not).
fn is_env_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if lower == ".env" || lower == ".envrc" {
        return true;
    }
    if let Some(suffix) = lower.strip_prefix(".env.") {
        let last = suffix.rsplit('.').next().unwrap_or(suffix);
        return !suffix.is_empty() && !TEMPLATE_SUFFIXES.contains(&last);
    }
    lower.len() > 4 && lower.ends_with(".env")
}

/// Names a broad pattern matches too. A pattern that matches a secret name but none of
/// these aims at secrets (`.env*`, `*.env`); one that matches these is a general search
/// (`*`, `.*`, `*.*`) that merely includes them.
const ORDINARY_NAMES: &[&str] = &[
    "main.rs",
    "index.ts",
    "README.md",
    ".gitignore",
    ".eslintrc.json",
    ".venv",
    "environment.ts",
    "config.yaml",
    ".github",
    "package.json",
];

/// Sample secret names a pattern is tried against.
const SECRET_SAMPLES: &[&str] = &[
    ".env",
    ".env.local",
    ".env.production",
    "prod.env",
    ".envrc",
];
const PACK_SAMPLES: &[&str] = &[
    "id_rsa",
    "id_ed25519",
    "server.pem",
    "tls.key",
    "credentials",
];

/// Whether a glob pattern (Grep `glob`, Glob `pattern`, `--include=`) aims at secret
/// files. Braces are expanded; only the final component matters.
pub fn pattern_targets_secret(pattern: &str, config: &GuardConfig) -> Option<Secret> {
    for alternative in expand_braces(pattern) {
        let name = alternative
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or("");
        if !has_glob(name) {
            if let Some(secret) = secret_file(&alternative, config) {
                return Some(secret);
            }
            continue;
        }
        if ORDINARY_NAMES
            .iter()
            .any(|ordinary| glob_match(name, ordinary))
        {
            continue;
        }
        if SECRET_SAMPLES.iter().any(|sample| glob_match(name, sample))
            || config.secret_patterns.iter().any(|p| p == name)
        {
            return Some(Secret::Env);
        }
        if config.has(Pack::Secrets) && PACK_SAMPLES.iter().any(|sample| glob_match(name, sample)) {
            return Some(Secret::Other);
        }
    }
    None
}

/// Whether a glob pattern could match some secret file's name at all (`*`, `.e*`,
/// `prod.*`), aimed at secrets or not: such a glob over files on disk needs a look at
/// what is there. Only the final component is tried.
pub fn pattern_may_match_secret(pattern: &str, config: &GuardConfig) -> bool {
    expand_braces(pattern).iter().any(|alternative| {
        let name = alternative
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or("");
        if !has_glob(name) {
            return secret_file(alternative, config).is_some();
        }
        let configured = config
            .secret_patterns
            .iter()
            .map(|p| p.replace(['*', '?'], "x"));
        let pack = config
            .has(Pack::Secrets)
            .then_some(PACK_SAMPLES.iter().map(|s| (*s).to_owned()))
            .into_iter()
            .flatten();
        SECRET_SAMPLES
            .iter()
            .map(|s| (*s).to_owned())
            .chain(["x.env".to_owned(), ".ENV".to_owned()])
            .chain(configured)
            .chain(pack)
            .any(|sample| glob_match(name, &sample))
    })
}

/// Whether a plain (glob-free) path names a secret file; the same as [`secret_file`],
/// as a yes or no.
pub fn may_name_secret_plain(path: &str, config: &GuardConfig) -> bool {
    secret_file(path, config).is_some()
}

/// Globs that exclude these secret file names from a search, as few as cover them all:
/// `.env*` and `*.env` for `.env` files (in the case they are written), configured
/// patterns as configured, the `secrets` pack by its own names.
pub fn exclusion_globs<'a>(
    names: impl IntoIterator<Item = &'a str>,
    config: &GuardConfig,
) -> Vec<String> {
    let mut globs: Vec<String> = Vec::new();
    for name in names {
        let glob = if is_env_name(name) {
            let lower = name.to_ascii_lowercase();
            if lower.starts_with(".env") {
                format!("{}*", name.get(..4).unwrap_or(".env"))
            } else {
                format!("*{}", name.get(name.len() - 4..).unwrap_or(".env"))
            }
        } else if let Some(pattern) = config.secret_patterns.iter().find(|p| glob_match(p, name)) {
            pattern.clone()
        } else if let Some(pattern) = PACK_NAMES
            .iter()
            .find(|p| glob_match(p, &name.to_ascii_lowercase()))
        {
            (*pattern).to_owned()
        } else {
            name.to_owned()
        };
        if !globs.contains(&glob) {
            globs.push(glob);
        }
    }
    globs
}

/// Whether text has shell/glob wildcard characters.
pub fn has_glob(text: &str) -> bool {
    text.contains(['*', '?', '['])
}

/// Glob match of one path component, case-insensitive (secrets come in any case). A
/// pattern that is not a valid glob matches only itself.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let options = glob::MatchOptions {
        case_sensitive: false,
        require_literal_separator: true,
        require_literal_leading_dot: false,
    };
    match glob::Pattern::new(pattern) {
        Ok(compiled) => compiled.matches_with(name, options),
        Err(_) => pattern.eq_ignore_ascii_case(name),
    }
}

/// Expands `{a,b}` alternatives (nested too), as shells and glob tools do. Unbalanced
/// braces are left as they are. The result is capped so hostile input stays cheap.
pub fn expand_braces(pattern: &str) -> Vec<String> {
    const MAX: usize = 256;
    // Each group is a level of recursion below: hostile input gets no expansion.
    if pattern.matches('{').count() > 64 {
        return vec![pattern.to_owned()];
    }
    let mut out = Vec::new();
    expand_into(pattern, &mut out, MAX);
    out
}

fn expand_into(pattern: &str, out: &mut Vec<String>, max: usize) {
    if out.len() >= max {
        return;
    }
    let bytes = pattern.as_bytes();
    let Some(open) = pattern.find('{') else {
        out.push(pattern.to_owned());
        return;
    };
    let mut depth = 0;
    let mut commas = Vec::new();
    let mut close = None;
    for (index, byte) in bytes.iter().enumerate().skip(open) {
        match byte {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(index);
                    break;
                }
            }
            b',' if depth == 1 => commas.push(index),
            _ => {}
        }
    }
    let Some(close) = close else {
        out.push(pattern.to_owned());
        return;
    };
    if commas.is_empty() {
        // `{x}` is literal in shells; keep it and expand what follows.
        let head = &pattern[..=close];
        let mut tails = Vec::new();
        expand_into(&pattern[close + 1..], &mut tails, max);
        out.extend(tails.into_iter().map(|tail| format!("{head}{tail}")));
        return;
    }
    let (prefix, suffix) = (&pattern[..open], &pattern[close + 1..]);
    let mut start = open + 1;
    for end in commas.into_iter().chain(std::iter::once(close)) {
        expand_into(
            &format!("{prefix}{}{suffix}", &pattern[start..end]),
            out,
            max,
        );
        start = end + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(path: &str) -> bool {
        secret_file(path, &GuardConfig::default()).is_some()
    }

    #[test]
    fn env_files_and_their_look_alikes() {
        for yes in [
            ".env",
            ".ENV",
            "a/b/.env.local",
            ".env.production",
            "prod.env",
            ".envrc",
            "/x/.Env.Staging",
        ] {
            assert!(secret(yes), "{yes}");
        }
        for no in [
            ".env.example",
            ".env.sample",
            ".env.template",
            ".env.dist",
            ".venv",
            "environment.ts",
            "src/env.rs",
            "dotenv",
            ".env/",
            "env",
            ".env.",
            "process.env.FOO",
            ".environment",
        ] {
            assert!(!secret(no), "{no}");
        }
    }

    #[test]
    fn patterns_aimed_at_secrets() {
        let config = GuardConfig::default();
        for yes in [
            ".env*",
            "*.env",
            "**/.env",
            "*.{env,ts}",
            ".env.*",
            "**/.env.local",
            "{.env,x}",
        ] {
            assert!(pattern_targets_secret(yes, &config).is_some(), "{yes}");
        }
        for no in [
            "*",
            ".*",
            "**/*.ts",
            "*.{rs,toml}",
            "src/**",
            "*.*",
            ".env.example",
            "**/*",
        ] {
            assert!(pattern_targets_secret(no, &config).is_none(), "{no}");
        }
    }

    #[test]
    fn the_secrets_pack() {
        let config = GuardConfig {
            packs: vec![Pack::Secrets],
            ..GuardConfig::default()
        };
        assert!(secret_file("/root/.ssh/id_rsa", &config).is_some());
        assert!(secret_file("/root/.ssh/id_rsa.pub", &config).is_none());
        assert!(secret_file("~/.aws/credentials", &config).is_some());
        assert!(secret_file("certs/server.pem", &config).is_some());
        assert!(
            secret_file("~/.ssh/id_rsa", &GuardConfig::default()).is_none(),
            "off by default"
        );
    }

    #[test]
    fn braces() {
        assert_eq!(expand_braces("a{b,c}d"), ["abd", "acd"]);
        assert_eq!(expand_braces("{a,{b,c}}"), ["a", "b", "c"]);
        assert_eq!(expand_braces("x{y"), ["x{y"]);
        assert_eq!(expand_braces("{x}"), ["{x}"]);
        assert!(expand_braces(&"{a,b}".repeat(20)).len() <= 256);
    }
}
