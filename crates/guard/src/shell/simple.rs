//! The common case without the full parser: a list of simple commands made of plain and
//! quoted words, joined by `&&`, `||`, `;` and `|`.
//!
//! Only text whose meaning in bash is fixed and evident is taken: unquoted plain
//! characters (a leading `~` expands, `*?[` are wildcards), single-quoted text, and
//! double-quoted text without `$`, backquotes, backslashes or `!`. Anything else —
//! expansions, redirections, grouping, reserved words, assignments, comments, newlines,
//! background jobs — returns `None`, and brush-parser reads the script. This saves the
//! parser's cost (most of a decision's time in a fresh process) on most commands, and
//! changes no decision: the words are the ones the parser would produce.

use std::path::Path;

use super::ByteSpan;
use super::word::Arg;

/// A script as pipelines, each a list of commands, each a list of words.
pub(super) type Pipelines = Vec<Vec<Vec<Arg>>>;

/// Words the shell reserves at the start of a command.
const RESERVED: &[&str] = &[
    "if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac",
    "in", "function", "select", "time", "coproc", "{", "}", "!", "[[", "]]",
];

/// Unquoted characters with no meaning to the shell but, for `~` at a word's start,
/// tilde expansion, and for `*?[]`, pathname expansion.
pub(super) fn plain_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_./:=,@%+-~*?[]".contains(c)
}

/// Reads `script` as simple pipelines, or `None` when it needs the full parser.
pub(super) fn simple_pipelines(script: &str, home: &Path) -> Option<Pipelines> {
    let bytes = script.as_bytes();
    let mut pipelines: Pipelines = Vec::new();
    let mut commands: Vec<Vec<Arg>> = Vec::new();
    let mut words: Vec<Arg> = Vec::new();
    let mut word: Option<WordBuilder> = None;
    let mut at = 0;
    while at < bytes.len() {
        let c = bytes[at] as char;
        match c {
            ' ' | '\t' => {
                finish(&mut word, &mut words, home)?;
                at += 1;
            }
            '&' | '|' | ';' => {
                finish(&mut word, &mut words, home)?;
                let two = script.get(at..at + 2);
                let pipe = c == '|' && two != Some("||");
                if c == '&' && two != Some("&&") {
                    return None; // a background job
                }
                if words.is_empty() {
                    return None; // an operator with no command before it
                }
                commands.push(std::mem::take(&mut words));
                if !pipe {
                    pipelines.push(std::mem::take(&mut commands));
                }
                at += if two == Some("&&") || two == Some("||") {
                    2
                } else {
                    1
                };
            }
            '\'' => {
                let end = script[at + 1..].find('\'')? + at + 1;
                word.get_or_insert_with(|| WordBuilder::new(at))
                    .quoted(&script[at + 1..end], end + 1);
                at = end + 1;
            }
            '"' => {
                let end = script[at + 1..].find('"')? + at + 1;
                let inner = &script[at + 1..end];
                if inner.contains(['$', '`', '\\', '!']) {
                    return None;
                }
                word.get_or_insert_with(|| WordBuilder::new(at))
                    .quoted(inner, end + 1);
                at = end + 1;
            }
            _ if plain_char(c) => {
                word.get_or_insert_with(|| WordBuilder::new(at))
                    .plain(c, at + 1);
                at += 1;
            }
            _ => return None,
        }
    }
    finish(&mut word, &mut words, home)?;
    if !words.is_empty() {
        commands.push(words);
    } else if !commands.is_empty() {
        return None; // a trailing `|`
    }
    if !commands.is_empty() {
        pipelines.push(commands);
    }
    let starts_ok = pipelines.iter().flatten().all(|command| {
        command.first().is_some_and(|first| {
            !first.text.contains('=') && !RESERVED.contains(&first.text.as_str())
        })
    });
    (starts_ok && !pipelines.is_empty()).then_some(pipelines)
}

/// One word being read.
struct WordBuilder {
    text: String,
    start: usize,
    end: usize,
    /// Unquoted wildcard characters seen.
    glob: bool,
    /// Starts with an unquoted `~`.
    tilde: bool,
    /// An unquoted `~` somewhere else (`a=~/x` expands too): the full parser decides.
    other_tilde: bool,
}

impl WordBuilder {
    fn new(start: usize) -> WordBuilder {
        WordBuilder {
            text: String::new(),
            start,
            end: start,
            glob: false,
            tilde: false,
            other_tilde: false,
        }
    }

    fn plain(&mut self, c: char, end: usize) {
        if c == '~' {
            if self.text.is_empty() && self.end == self.start {
                self.tilde = true;
            } else {
                self.other_tilde = true;
            }
        }
        self.glob |= matches!(c, '*' | '?' | '[');
        self.text.push(c);
        self.end = end;
    }

    fn quoted(&mut self, text: &str, end: usize) {
        // `~'/x'`: a quoted character in the tilde prefix stops its expansion.
        if self.tilde && !self.text.contains('/') {
            self.other_tilde = true;
        }
        self.text.push_str(text);
        self.end = end;
    }
}

/// Ends the word being read, if any; `None` when it needs the full parser.
fn finish(word: &mut Option<WordBuilder>, words: &mut Vec<Arg>, home: &Path) -> Option<()> {
    let Some(built) = word.take() else {
        return Some(());
    };
    if built.other_tilde {
        return None;
    }
    let span: Option<ByteSpan> = Some((built.start, built.end));
    let text = if built.tilde {
        let rest = &built.text[1..];
        if !(rest.is_empty() || rest.starts_with('/')) {
            return None; // `~user`: the full parser knows the forms
        }
        format!("{}{rest}", home.display())
    } else {
        built.text
    };
    words.push(Arg {
        glob: built.glob,
        ..Arg::literal(text, span)
    });
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(script: &str) -> Option<Vec<Vec<Vec<String>>>> {
        simple_pipelines(script, Path::new("/home/dev")).map(|pipelines| {
            pipelines
                .into_iter()
                .map(|p| {
                    p.into_iter()
                        .map(|c| c.into_iter().map(|a| a.text).collect())
                        .collect()
                })
                .collect()
        })
    }

    #[test]
    fn plain_and_quoted_words_joined_by_operators() {
        assert_eq!(
            read("cargo test --workspace"),
            Some(vec![vec![vec![
                "cargo".into(),
                "test".into(),
                "--workspace".into()
            ]]])
        );
        assert_eq!(
            read("rm -rf ~/x && grep -rn 'a b' . | head"),
            Some(vec![
                vec![vec!["rm".into(), "-rf".into(), "/home/dev/x".into()]],
                vec![
                    vec!["grep".into(), "-rn".into(), "a b".into(), ".".into()],
                    vec!["head".into()]
                ],
            ])
        );
        assert_eq!(
            read("echo \"~\""),
            Some(vec![vec![vec!["echo".into(), "~".into()]]])
        );
        assert_eq!(
            read("bash -c 'rm -rf /'"),
            Some(vec![vec![vec![
                "bash".into(),
                "-c".into(),
                "rm -rf /".into()
            ]]])
        );
    }

    #[test]
    fn everything_else_goes_to_the_parser() {
        for script in [
            "echo $HOME",
            "rm -rf \"$X\"",
            "a=1 b",
            "if true; then x; fi",
            "x > y",
            "x &",
            "x\ny",
            "echo `id`",
            "f() { x; }",
            "echo {a,b}",
            "echo ~root",
            "echo a=~/x",
            "x # comment",
            "echo \"a\\\"b\"",
            "| x",
            "x |",
            "x ;; y",
            "time x",
            "echo 'open",
        ] {
            assert!(read(script).is_none(), "{script}");
        }
    }

    #[test]
    fn wildcards_are_live_only_unquoted() {
        let pipelines = simple_pipelines("rm -rf * '*'", Path::new("/h")).unwrap();
        let words = &pipelines[0][0];
        assert!(words[2].glob);
        assert!(!words[3].glob);
    }
}
