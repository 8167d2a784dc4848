//! One-liners of other languages (`python -c`, `node -e`, `ruby -e`, `perl -e`): what
//! they delete, read and run.
//!
//! A small lexer turns the code into names and string literals; call sites of known
//! delete, read and process functions are recognised by name, and their first argument
//! is taken when it is a literal. This is not a full parser for four languages: it is a
//! scan that errs towards finding too much (a non-literal target of a recursive delete
//! counts as unknown, which the rm rules deny).

use super::word::Arg;

/// A language with one-liners.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Python,
    Node,
    Ruby,
    Perl,
    Php,
}

/// What a one-liner does that the guard cares about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Deletes a path (`None`: not a literal).
    Delete {
        target: Option<String>,
        recursive: bool,
    },
    /// Names a file it may read.
    Read(String),
    /// Runs a shell command line.
    Shell(String),
    /// Runs a program with these arguments.
    Argv(Vec<String>),
    /// Runs something not known until it runs.
    Unknown(&'static str),
}

/// The language of an interpreter program name (`python3.12`, `nodejs`, …).
pub fn language(program: &str) -> Option<Language> {
    let base = program.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    match base {
        "python" | "pypy" => Some(Language::Python),
        "node" | "nodejs" | "bun" | "deno" => Some(Language::Node),
        "ruby" => Some(Language::Ruby),
        "perl" => Some(Language::Perl),
        "php" => Some(Language::Php),
        _ => None,
    }
}

/// Whether `perl` is given code with `-e`/`-E` (else it filters files like `sed`).
pub fn has_code_flag(program: &str, rest: &[Arg]) -> bool {
    language(program).is_some_and(|language| code_argument(language, rest).is_some())
}

/// The code argument of a one-liner, if the command has one.
pub fn code_argument(language: Language, rest: &[Arg]) -> Option<&Arg> {
    let flags: &[&str] = match language {
        Language::Python => &["-c"],
        Language::Node => &["-e", "--eval", "-p", "--print"],
        Language::Ruby | Language::Perl => &["-e", "-E"],
        Language::Php => &["-r"],
    };
    let mut iter = rest.iter();
    while let Some(arg) = iter.next() {
        if !arg.known || !arg.text.starts_with('-') {
            return None; // a script file: its code is not in the command
        }
        if flags.contains(&arg.text.as_str()) {
            return iter.next();
        }
        // Combined short flags ending in the code flag: `python -Bc`, `perl -ne`.
        let last = arg.text.chars().last();
        if !arg.text.starts_with("--")
            && flags
                .iter()
                .any(|flag| flag.len() == 2 && last == flag.chars().nth(1))
        {
            return iter.next();
        }
    }
    None
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Name(String),
    Str(Option<String>),
    Punct(char),
}

/// Splits code into names (with `.`/`::` joined), string literals and punctuation.
fn lex(code: &str) -> Vec<Token> {
    let chars: Vec<char> = code.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '#' && i + 1 < chars.len() && chars[i + 1] == '{' {
            tokens.push(Token::Punct('#'));
            i += 1;
        } else if c == '\'' || c == '"' || c == '`' {
            let triple = i + 2 < chars.len() && chars[i + 1] == c && chars[i + 2] == c && c != '`';
            let quote_len = if triple { 3 } else { 1 };
            let mut j = i + quote_len;
            let mut text = String::new();
            let mut dynamic = false;
            while j < chars.len() {
                if chars[j] == '\\' && j + 1 < chars.len() {
                    text.push(match chars[j + 1] {
                        'n' => '\n',
                        't' => '\t',
                        other => other,
                    });
                    j += 2;
                    continue;
                }
                if chars[j] == c
                    && (!triple || (j + 2 < chars.len() && chars[j + 1] == c && chars[j + 2] == c))
                {
                    break;
                }
                if (c == '`' && chars[j] == '$' && chars.get(j + 1) == Some(&'{'))
                    || (c == '"' && chars[j] == '#' && chars.get(j + 1) == Some(&'{'))
                    || (c == '"'
                        && chars[j] == '$'
                        && chars
                            .get(j + 1)
                            .is_some_and(|n| n.is_alphabetic() || *n == '{'))
                {
                    dynamic = true;
                }
                text.push(chars[j]);
                j += 1;
            }
            // An f-string (`f"…{x}"`) is not a literal.
            let f_string =
                matches!(tokens.last(), Some(Token::Name(n)) if n == "f" || n == "rf" || n == "fr");
            if f_string {
                tokens.pop();
                dynamic |= text.contains('{');
            } else if matches!(tokens.last(), Some(Token::Name(n)) if matches!(n.as_str(), "r" | "b" | "u" | "rb" | "br"))
            {
                tokens.pop();
            }
            if c == '`' && !dynamic {
                // Backticks run a shell command in Ruby and Perl; in JS they are strings.
                tokens.push(Token::Name("`".to_owned()));
            }
            tokens.push(Token::Str((!dynamic).then_some(text)));
            i = j + quote_len;
        } else if c.is_alphanumeric() || c == '_' || c == '$' || c == '@' {
            let mut name = String::new();
            while i < chars.len() {
                let ch = chars[i];
                if ch.is_alphanumeric() || ch == '_' || ch == '$' || ch == '@' {
                    name.push(ch);
                    i += 1;
                } else if (ch == '.' || ch == ':') && i + 1 < chars.len() {
                    let step = if ch == ':' && chars[i + 1] == ':' {
                        2
                    } else {
                        1
                    };
                    if ch == ':' && step == 1 {
                        break;
                    }
                    if chars
                        .get(i + step)
                        .is_some_and(|n| n.is_alphabetic() || *n == '_')
                    {
                        name.push('.');
                        i += step;
                    } else {
                        break;
                    }
                } else {
                    break;
                }
            }
            tokens.push(Token::Name(name));
        } else {
            tokens.push(Token::Punct(c));
            i += 1;
        }
    }
    tokens
}

/// Functions that delete, by the last part(s) of their name: (name, recursive).
const DELETERS: &[(&str, bool)] = &[
    ("shutil.rmtree", true),
    ("rmtree", true),
    ("remove_tree", true),
    ("os.remove", false),
    ("os.unlink", false),
    ("os.rmdir", false),
    ("os.removedirs", true),
    ("fs.rmSync", true),
    ("fs.rm", true),
    ("fs.promises.rm", true),
    ("fs.rmdirSync", true),
    ("fs.rmdir", true),
    ("fs.unlinkSync", false),
    ("fs.unlink", false),
    ("rmSync", true),
    ("rmdirSync", true),
    ("unlinkSync", false),
    ("FileUtils.rm_rf", true),
    ("FileUtils.rm_r", true),
    ("FileUtils.remove_dir", true),
    ("FileUtils.remove_entry", true),
    ("FileUtils.rm", false),
    ("FileUtils.rm_f", false),
    ("File.delete", false),
    ("File.unlink", false),
    ("unlink", false),
    ("rmdir", false),
];

/// Functions that run a shell command line given as a string.
const SHELL_RUNNERS: &[&str] = &[
    "os.system",
    "os.popen",
    "subprocess.run",
    "subprocess.call",
    "subprocess.check_call",
    "subprocess.check_output",
    "subprocess.Popen",
    "subprocess.getoutput",
    "subprocess.getstatusoutput",
    "execSync",
    "exec",
    "child_process.exec",
    "child_process.execSync",
    "system",
    "Open3.capture2",
    "Open3.capture3",
    "Open3.popen3",
    "shell_exec",
    "passthru",
    "`",
    "qx",
    "spawnSync",
    "spawn",
    "execFileSync",
    "execFile",
    "Bun.spawn",
    "Bun.spawnSync",
    "Deno.Command",
];

/// Functions that load `.env` without naming it.
const DOTENV_LOADERS: &[&str] = &[
    "load_dotenv",
    "dotenv_values",
    "dotenv.config",
    "Dotenv.load",
    "Dotenv.overload",
    "dotenv.load",
];

fn name_matches(name: &str, known: &str) -> bool {
    name == known
        || name.ends_with(&format!(".{known}"))
        || known.ends_with(&format!(".{name}")) && !name.contains('.')
}

/// Everything the guard cares about in a one-liner.
pub fn effects(language: Language, code: &str) -> Vec<Effect> {
    let tokens = lex(code);
    let mut effects = Vec::new();
    for (index, token) in tokens.iter().enumerate() {
        match token {
            Token::Str(Some(text)) => effects.push(Effect::Read(text.clone())),
            Token::Name(name) => {
                if name == "`"
                    && !matches!(language, Language::Ruby | Language::Perl | Language::Php)
                {
                    continue; // a JavaScript template string, not a command
                }
                if language == Language::Python && matches!(name.as_str(), "exec" | "eval") {
                    match first_argument(&tokens, index + 1) {
                        Some(inner) => effects.extend(self::effects(Language::Python, &inner)),
                        None => effects.push(Effect::Unknown("Python code")),
                    }
                    continue;
                }
                if let Some(effect) = path_method_delete(&tokens, index) {
                    effects.push(effect);
                    continue;
                }
                if DOTENV_LOADERS.iter().any(|known| name_matches(name, known))
                    || (name == "require"
                        && matches!(tokens.get(index + 2), Some(Token::Str(Some(m))) if m == "dotenv" || m == "dotenv/config"))
                {
                    effects.push(Effect::Read(".env".to_owned()));
                }
                if let Some((_, recursive)) =
                    DELETERS.iter().find(|(known, _)| name_matches(name, known))
                {
                    // Node's fs.rm without `recursive` still deletes files; treat as recursive
                    // only when the code says so.
                    let recursive =
                        *recursive && (language != Language::Node || code.contains("recursive"));
                    effects.push(Effect::Delete {
                        target: first_argument(&tokens, index + 1),
                        recursive,
                    });
                } else if SHELL_RUNNERS.iter().any(|known| name_matches(name, known)) {
                    effects.push(runner_effect(&tokens, index + 1, language));
                }
            }
            _ => {}
        }
    }
    effects
}

/// The first argument after a call name: a literal string, or `Path("…")`.
fn first_argument(tokens: &[Token], mut at: usize) -> Option<String> {
    if matches!(tokens.get(at), Some(Token::Punct('('))) {
        at += 1;
    }
    match tokens.get(at) {
        Some(Token::Str(Some(text))) => Some(text.clone()),
        Some(Token::Name(name)) if name.ends_with("Path") || name == "Pathname.new" => {
            first_argument(tokens, at + 1)
        }
        _ => None,
    }
}

/// `Path("x").unlink()`, `pathlib.Path('x').rmdir()`: the target is the receiver.
fn path_method_delete(tokens: &[Token], index: usize) -> Option<Effect> {
    let Token::Name(name) = &tokens[index] else {
        return None;
    };
    if !matches!(name.as_str(), "unlink" | "rmdir") || index < 5 {
        return None;
    }
    match &tokens[index - 5..index] {
        [
            Token::Name(ctor),
            Token::Punct('('),
            Token::Str(target),
            Token::Punct(')'),
            Token::Punct('.'),
        ] if ctor.ends_with("Path") => Some(Effect::Delete {
            target: target.clone(),
            recursive: false,
        }),
        [.., Token::Punct('.')] => Some(Effect::Delete {
            target: None,
            recursive: false,
        }),
        _ => None,
    }
}

fn runner_effect(tokens: &[Token], mut at: usize, language: Language) -> Effect {
    if matches!(tokens.get(at), Some(Token::Punct('('))) {
        at += 1;
    }
    match tokens.get(at) {
        Some(Token::Str(Some(text))) => {
            // `spawn('rm', ['-rf', '/'])`, `system("rm", "-rf", "/")`: a program and its arguments.
            let mut words = vec![text.clone()];
            let mut j = at + 1;
            let mut list = false;
            while let Some(token) = tokens.get(j) {
                match token {
                    Token::Str(Some(word)) => {
                        words.push(word.clone());
                        list = true;
                    }
                    Token::Str(None) => return Effect::Unknown("a command"),
                    Token::Punct(',' | '[' | ' ') => {}
                    Token::Punct(']') if list => break,
                    _ => break,
                }
                j += 1;
            }
            if list && words.len() > 1 && !text.contains(' ') {
                Effect::Argv(words)
            } else {
                Effect::Shell(text.clone())
            }
        }
        Some(Token::Punct('[')) => {
            // `subprocess.run(["rm", "-rf", "/"])`
            let mut words = Vec::new();
            for token in &tokens[at + 1..] {
                match token {
                    Token::Str(Some(word)) => words.push(word.clone()),
                    Token::Str(None) | Token::Name(_) => return Effect::Unknown("a command"),
                    Token::Punct(']') => break,
                    _ => {}
                }
            }
            if words.is_empty() {
                Effect::Unknown("a command")
            } else {
                Effect::Argv(words)
            }
        }
        _ => {
            let _ = language;
            Effect::Unknown("a command")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deletes(language: Language, code: &str) -> Vec<(Option<String>, bool)> {
        effects(language, code)
            .into_iter()
            .filter_map(|e| match e {
                Effect::Delete { target, recursive } => Some((target, recursive)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn python() {
        assert_eq!(
            deletes(Language::Python, "import shutil; shutil.rmtree('/home/u')"),
            [(Some("/home/u".into()), true)]
        );
        assert_eq!(
            deletes(
                Language::Python,
                "import shutil,os; shutil.rmtree(os.path.expanduser('~'))"
            ),
            [(None, true)]
        );
        assert_eq!(
            deletes(
                Language::Python,
                "from pathlib import Path; Path('a.txt').unlink()"
            ),
            [(Some("a.txt".into()), false)]
        );
        assert!(
            effects(Language::Python, "import os; os.system('rm -rf ~')")
                .contains(&Effect::Shell("rm -rf ~".into()))
        );
        assert!(
            effects(
                Language::Python,
                "exec(\"import shutil; shutil.rmtree('/')\")"
            )
            .contains(&Effect::Delete {
                target: Some("/".into()),
                recursive: true
            })
        );
        assert!(
            effects(
                Language::Python,
                "import subprocess; subprocess.run(['rm','-rf','/'])"
            )
            .contains(&Effect::Argv(vec!["rm".into(), "-rf".into(), "/".into()]))
        );
        assert!(
            effects(Language::Python, "print(open('.env').read())")
                .contains(&Effect::Read(".env".into()))
        );
        assert!(
            effects(
                Language::Python,
                "from dotenv import load_dotenv; load_dotenv()"
            )
            .contains(&Effect::Read(".env".into()))
        );
        assert!(
            effects(Language::Python, "import os; os.system(f'rm -rf {d}')")
                .contains(&Effect::Unknown("a command"))
        );
    }

    #[test]
    fn node_ruby_perl() {
        assert_eq!(
            deletes(
                Language::Node,
                "require('fs').rmSync('/etc', {recursive: true})"
            ),
            [(Some("/etc".into()), true)]
        );
        assert!(
            effects(
                Language::Node,
                "require('child_process').execSync('rm -rf ~')"
            )
            .contains(&Effect::Shell("rm -rf ~".into()))
        );
        assert_eq!(
            deletes(
                Language::Ruby,
                "require 'fileutils'; FileUtils.rm_rf('/var')"
            ),
            [(Some("/var".into()), true)]
        );
        assert!(effects(Language::Ruby, "`rm -rf ~`").contains(&Effect::Shell("rm -rf ~".into())));
        assert_eq!(
            deletes(Language::Perl, "use File::Path; rmtree('/usr')"),
            [(Some("/usr".into()), true)]
        );
        assert!(
            effects(Language::Perl, "system('rm', '-rf', '/')").contains(&Effect::Argv(vec![
                "rm".into(),
                "-rf".into(),
                "/".into()
            ]))
        );
    }

    #[test]
    fn interpreter_names() {
        assert_eq!(language("python3.12"), Some(Language::Python));
        assert_eq!(language("node"), Some(Language::Node));
        assert_eq!(language("pythonista"), None);
    }
}
