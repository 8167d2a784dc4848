//! Tcl's syntax (tclsh, wish, expect, jimsh), as Tcl's own rules (Tcl(n)) split a script:
//! commands end at a newline or `;`, words at white space; `{…}` groups a word literally,
//! `"…"` groups it with substitutions, `[…]` is a nested script whose result is the
//! word. What the commands do (`exec`, `spawn`, `system`, `file delete`, `open`) is
//! reported as code [`Effect`]s; this module does not judge them.

use super::code::Effect;

/// One word of a command: its text, `None` when a substitution (`$v`, `[cmd]`) makes it
/// at run time.
type Word = Option<String>;

/// Everything the guard cares about in a Tcl script.
pub(super) fn effects(code: &str) -> Vec<Effect> {
    let mut effects = Vec::new();
    script_effects(code, &mut effects, 0);
    effects
}

/// Scripts nest (`[…]`, `eval {…}`, `if {…} {…}`) no deeper than this; deeper code is
/// not known.
const MAX_DEPTH: usize = 16;

fn script_effects(code: &str, effects: &mut Vec<Effect>, depth: usize) {
    if depth > MAX_DEPTH {
        effects.push(Effect::Unknown("Tcl code"));
        return;
    }
    let mut nested = Vec::new();
    for command in commands(code, &mut nested) {
        command_effects(&command, effects, depth);
    }
    for script in nested {
        script_effects(&script, effects, depth + 1);
    }
}

/// The effects of one command, given its words.
fn command_effects(words: &[Word], effects: &mut Vec<Effect>, depth: usize) {
    let first = match words.first() {
        Some(Some(first)) => first,
        // `[$cmd …]`, `$prog args`: the command itself is made at run time.
        Some(None) => {
            effects.push(Effect::Unknown("a command"));
            return;
        }
        None => return,
    };
    let rest = &words[1..];
    let known = Clone::clone;
    match first.trim_start_matches("::") {
        "exec" | "spawn" | "open" if first != "open" || starts_pipe(rest) => {
            let mut argv: Vec<Word> = rest
                .iter()
                .skip_while(|w| {
                    w.as_deref()
                        .is_some_and(|w| w.starts_with('-') && w.len() > 1 && first != "open")
                })
                .cloned()
                .collect();
            if first == "open" {
                // `open "|cmd args" r` / `open |[list cmd args]`: the pipe's command.
                argv.truncate(1);
                argv = match argv.first().cloned().flatten() {
                    Some(text) => split_list(text.trim_start_matches('|')),
                    None => vec![None],
                };
            }
            if argv.first().is_some_and(|w| w.as_deref() == Some("--")) {
                argv.remove(0);
            }
            if argv.last().is_some_and(|w| w.as_deref() == Some("&")) {
                argv.pop();
            }
            match argv.iter().map(known).collect::<Option<Vec<String>>>() {
                Some(argv) if !argv.is_empty() => effects.push(Effect::Argv(argv)),
                Some(_) => {}
                None => effects.push(Effect::Unknown("a command")),
            }
        }
        // expect's `send "line\r"` types a line into the spawned program: to a shell
        // (`spawn bash`), a command line it runs (expect(1)); judged as one.
        "send" => {
            let mut line = rest.iter().skip_while(|w| {
                w.as_deref()
                    .is_some_and(|w| w.starts_with('-') && w.len() > 1)
            });
            if let Some(Some(text)) = line.next() {
                let text = text.trim_end_matches(['\r', '\n']);
                if !text.is_empty() {
                    effects.push(Effect::Shell(text.to_owned()));
                }
            }
        }
        "system" => match rest.iter().map(known).collect::<Option<Vec<String>>>() {
            Some(words) => effects.push(Effect::Shell(words.join(" "))),
            None => effects.push(Effect::Unknown("a command")),
        },
        "file" if rest.first().is_some_and(|w| w.as_deref() == Some("delete")) => {
            let recursive = rest.iter().any(|w| w.as_deref() == Some("-force"));
            for target in rest[1..]
                .iter()
                .filter(|w| !w.as_deref().is_some_and(|w| w.starts_with('-')))
            {
                effects.push(Effect::Delete {
                    target: target.clone(),
                    recursive,
                });
            }
        }
        "open" | "source" => match rest.first() {
            Some(Some(file)) => effects.push(Effect::Read(file.clone())),
            Some(None) => effects.push(Effect::UnknownRead(first.clone())),
            None => {}
        },
        // Code given as a word runs: judged as a script when it is known.
        "eval" | "uplevel" | "interp" | "after" | "catch" | "try" | "if" | "while" | "for"
        | "foreach" | "proc" | "expect" | "expect_after" | "expect_before" | "interact"
        | "namespace" | "switch" => {
            for word in rest.iter().flatten() {
                if word.contains(char::is_whitespace) || word.contains(';') {
                    script_effects(word, effects, depth + 1);
                }
            }
            if matches!(first.as_str(), "eval" | "uplevel") && rest.iter().any(Option::is_none) {
                effects.push(Effect::Unknown("Tcl code"));
            }
        }
        _ => {}
    }
    for word in words.iter().flatten() {
        effects.push(Effect::Read(word.clone()));
    }
}

/// Whether `open`'s first argument is a pipe (`|cmd`).
fn starts_pipe(rest: &[Word]) -> bool {
    matches!(rest.first(), Some(Some(w)) if w.starts_with('|'))
        || matches!(rest.first(), Some(None))
}

/// A Tcl list's elements (`rm -rf {a b}`).
fn split_list(text: &str) -> Vec<Word> {
    let mut nested = Vec::new();
    commands(text, &mut nested).into_iter().flatten().collect()
}

/// Splits a script into commands of words; the scripts of `[…]` substitutions are
/// added to `nested`.
fn commands(code: &str, nested: &mut Vec<String>) -> Vec<Vec<Word>> {
    let chars: Vec<char> = code.chars().collect();
    let mut commands = Vec::new();
    let mut words: Vec<Word> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' || c == ';' {
            if !words.is_empty() {
                commands.push(std::mem::take(&mut words));
            }
            i += 1;
            continue;
        }
        if c.is_whitespace() || (c == '\\' && chars.get(i + 1) == Some(&'\n')) {
            i += 1 + usize::from(c == '\\');
            continue;
        }
        if c == '#' && words.is_empty() {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        // `{*}` expands a list in place: the word that follows.
        if chars[i..].starts_with(&['{', '*', '}']) {
            i += 3;
            continue;
        }
        let (word, next) = match c {
            '{' => braced(&chars, i),
            '"' => substituted(&chars, i + 1, Some('"'), nested),
            _ => substituted(&chars, i, None, nested),
        };
        words.push(word);
        i = next;
    }
    if !words.is_empty() {
        commands.push(words);
    }
    commands
}

/// `{…}` from `start`: literal text up to the matching brace.
fn braced(chars: &[char], start: usize) -> (Word, usize) {
    let mut depth = 0usize;
    let mut i = start;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return (Some(chars[start + 1..i].iter().collect()), i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    (Some(chars[start + 1..].iter().collect()), chars.len())
}

/// A word with substitutions from `start`, ending at `close` (`"`) or, for a bare word,
/// at white space or a command's end.
fn substituted(
    chars: &[char],
    start: usize,
    close: Option<char>,
    nested: &mut Vec<String>,
) -> (Word, usize) {
    let mut text = String::new();
    let mut known = true;
    let mut i = start;
    while i < chars.len() {
        let c = chars[i];
        match close {
            Some(end) if c == end => return (known.then_some(text), i + 1),
            None if c.is_whitespace() || c == ';' => break,
            _ => {}
        }
        match c {
            '\\' => {
                if let Some(next) = chars.get(i + 1) {
                    text.push(match next {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        other => *other,
                    });
                }
                i += 2;
            }
            '[' => {
                let mut depth = 0usize;
                let open = i;
                while i < chars.len() {
                    match chars[i] {
                        '\\' => i += 1,
                        '[' => depth += 1,
                        ']' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
                let end = i.min(chars.len());
                nested.push(chars[open + 1..end].iter().collect());
                known = false;
                i = end + 1;
            }
            '$' if chars
                .get(i + 1)
                .is_some_and(|n| n.is_alphanumeric() || *n == '_' || *n == '{' || *n == ':') =>
            {
                known = false;
                text.push(c);
                i += 1;
            }
            _ => {
                text.push(c);
                i += 1;
            }
        }
    }
    (known.then_some(text), i.min(chars.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Effect {
        Effect::Argv(words.iter().map(|w| (*w).to_owned()).collect())
    }

    #[test]
    fn words_group_as_tcl_groups_them() {
        assert!(
            effects(r#"spawn sh -c "rm -rf /home/dev"; expect eof"#).contains(&argv(&[
                "sh",
                "-c",
                "rm -rf /home/dev"
            ]))
        );
        assert!(effects("exec sh -c {rm -rf ~}").contains(&argv(&["sh", "-c", "rm -rf ~"])));
        assert!(
            effects("set x [exec rm -rf ~]").contains(&argv(&["rm", "-rf", "~"])),
            "a nested script runs"
        );
        assert!(
            effects("if {1} {file delete -force ~}").contains(&Effect::Delete {
                target: Some("~".into()),
                recursive: true
            })
        );
        assert!(effects("open |[list cat .env]").contains(&Effect::Unknown("a command")));
        assert!(effects(r#"open "|cat .env" r"#).contains(&argv(&["cat", ".env"])));
        assert!(effects("set f [open .env]").contains(&Effect::Read(".env".into())));
        assert!(effects("exec $prog -rf ~").contains(&Effect::Unknown("a command")));
        assert!(
            effects("spawn bash\nsend -- \"rm -rf ~\\r\"")
                .contains(&Effect::Shell("rm -rf ~".into())),
            "a line typed into the spawned shell"
        );
        assert!(
            effects("# exec rm -rf ~\nputs hi")
                .iter()
                .all(|e| !matches!(e, Effect::Argv(_)))
        );
    }
}
