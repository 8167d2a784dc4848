//! Turning a shell word into what the shell would pass to a program.

use brush_parser::ast;
use brush_parser::word::{Parameter, ParameterExpr, TildeExpr, WordPiece, WordPieceWithSource};

use super::{Scope, Walker};

/// One argument as the program would receive it, as far as it can be known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg {
    /// The text, with unknown parts left out.
    pub text: String,
    /// Every part is known.
    pub known: bool,
    /// The known text before the first unknown part.
    pub known_prefix: String,
    /// Unquoted glob characters (`*`, `?`, `[`) are present.
    pub glob: bool,
    /// Byte range in the command being analysed (the outermost one), if known.
    pub span: Option<(usize, usize)>,
}

impl Arg {
    /// A fully known argument (from `xargs` input lists, interpreter literals, …).
    pub fn literal(text: impl Into<String>, span: Option<(usize, usize)>) -> Arg {
        let text = text.into();
        Arg {
            known_prefix: text.clone(),
            text,
            known: true,
            glob: false,
            span,
        }
    }

    /// An argument nothing is known about (xargs input, `{}` of find, …).
    pub fn unknown(span: Option<(usize, usize)>) -> Arg {
        Arg {
            text: String::new(),
            known: false,
            known_prefix: String::new(),
            glob: false,
            span,
        }
    }

    fn push_known(&mut self, text: &str) {
        self.text.push_str(text);
        if self.known {
            self.known_prefix.push_str(text);
        }
    }

    fn push_unknown(&mut self) {
        self.known = false;
    }
}

impl Walker<'_> {
    /// Evaluates a word: quotes removed, known variables substituted, command
    /// substitutions analysed as the commands they are; unquoted `{a,b}` expands to
    /// several arguments.
    pub(super) fn eval_word(&mut self, word: &ast::Word, scope: &mut Scope) -> Vec<Arg> {
        let span = self.span_of(scope, word.loc.as_ref());
        let mut arg = Arg {
            text: String::new(),
            known: true,
            known_prefix: String::new(),
            glob: false,
            span,
        };
        match brush_parser::word::parse(&word.value, &self.parser_options) {
            Ok(pieces) => self.eval_pieces(&pieces, false, scope, &mut arg),
            Err(_) => {
                // Not a word brush can take apart: judge the raw text, but never as known.
                arg.text = word.value.clone();
                arg.known = false;
                arg.glob = super::super::secrets::has_glob(&word.value);
            }
        }
        let unquoted_braces =
            arg.known && word.value.contains('{') && !word.value.contains(['\'', '"', '\\']);
        if unquoted_braces {
            // Bash expands braces before tildes: `{build,~}` is `build` and the home dir.
            let home = self.ctx.home.to_string_lossy();
            return crate::secrets::expand_braces(&arg.text)
                .into_iter()
                .map(|text| {
                    let text = match text.strip_prefix('~') {
                        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                            format!("{home}{rest}")
                        }
                        _ => text,
                    };
                    Arg {
                        glob: crate::secrets::has_glob(&text),
                        known_prefix: text.clone(),
                        text,
                        ..arg.clone()
                    }
                })
                .collect();
        }
        vec![arg]
    }

    fn eval_pieces(
        &mut self,
        pieces: &[WordPieceWithSource],
        quoted: bool,
        scope: &mut Scope,
        arg: &mut Arg,
    ) {
        for piece in pieces {
            match &piece.piece {
                WordPiece::Text(text) => {
                    if !quoted && crate::secrets::has_glob(text) {
                        arg.glob = true;
                    }
                    arg.push_known(text);
                }
                WordPiece::SingleQuotedText(text) => arg.push_known(text),
                WordPiece::AnsiCQuotedText(text) => arg.push_known(&decode_ansi_c(text)),
                WordPiece::DoubleQuotedSequence(inner)
                | WordPiece::GettextDoubleQuotedSequence(inner) => {
                    self.eval_pieces(inner, true, scope, arg);
                }
                WordPiece::EscapeSequence(text) => {
                    let escaped = text.strip_prefix('\\').unwrap_or(text);
                    if escaped != "\n" {
                        arg.push_known(escaped);
                    }
                }
                WordPiece::TildeExpansion(tilde) => match tilde {
                    TildeExpr::Home => arg.push_known(&self.ctx.home.to_string_lossy()),
                    TildeExpr::UserHome(user) if user == "root" => arg.push_known("/root"),
                    TildeExpr::UserHome(user) => arg.push_known(&format!("/home/{user}")),
                    TildeExpr::WorkingDir => match &scope.cwd {
                        Some(cwd) => arg.push_known(&cwd.to_string_lossy()),
                        None => arg.push_unknown(),
                    },
                    _ => arg.push_unknown(),
                },
                WordPiece::ParameterExpansion(expr) => match self.parameter_value(expr, scope) {
                    Some(value) => arg.push_known(&value),
                    None => arg.push_unknown(),
                },
                WordPiece::CommandSubstitution(script)
                | WordPiece::BackquotedCommandSubstitution(script) => {
                    let nested_origin = arg.span;
                    self.walk_nested_script(script, scope, nested_origin, "command substitution");
                    arg.push_unknown();
                }
                WordPiece::ArithmeticExpression(_) => arg.push_unknown(),
            }
        }
    }

    /// The value of `$NAME`/`${NAME}` when it is known: variables set earlier in the
    /// command, and the context's HOME, TMPDIR, PWD and project dir.
    fn parameter_value(&self, expr: &ParameterExpr, scope: &Scope) -> Option<String> {
        let ParameterExpr::Parameter {
            parameter: Parameter::Named(name),
            indirect: false,
        } = expr
        else {
            return None;
        };
        if let Some(value) = scope.vars.get(name) {
            return value.clone();
        }
        match name.as_str() {
            "HOME" => Some(self.ctx.home.to_string_lossy().into_owned()),
            "PWD" => scope
                .cwd
                .as_ref()
                .map(|cwd| cwd.to_string_lossy().into_owned()),
            "CLAUDE_PROJECT_DIR" => Some(self.ctx.project_dir.to_string_lossy().into_owned()),
            "TMPDIR" | "TMP" | "TEMP" => self
                .ctx
                .temp_dirs
                .first()
                .map(|t| t.to_string_lossy().into_owned()),
            _ => None,
        }
    }
}

/// Decodes the body of `$'…'`: `\n`, `\t`, `\\`, `\'`, `\"`, `\xHH`, `\NNN`, `\uHHHH`, ….
pub fn decode_ansi_c(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(next) = chars.next() else {
            out.push('\\');
            break;
        };
        let mut number = |radix: u32, max: usize, first: Option<char>| {
            let mut digits: String = first.into_iter().collect();
            while digits.len() < max {
                match chars.peek() {
                    Some(d) if d.is_digit(radix) => {
                        digits.push(*d);
                        chars.next();
                    }
                    _ => break,
                }
            }
            u32::from_str_radix(&digits, radix)
                .ok()
                .and_then(char::from_u32)
        };
        let decoded = match next {
            'n' => Some('\n'),
            't' => Some('\t'),
            'r' => Some('\r'),
            'a' => Some('\x07'),
            'b' => Some('\x08'),
            'e' | 'E' => Some('\x1b'),
            'f' => Some('\x0c'),
            'v' => Some('\x0b'),
            '\\' | '\'' | '"' | '?' => Some(next),
            'x' => number(16, 2, None),
            'u' => number(16, 4, None),
            'U' => number(16, 8, None),
            '0'..='7' => number(8, 3, Some(next)),
            other => {
                out.push('\\');
                Some(other)
            }
        };
        if let Some(decoded) = decoded {
            out.push(decoded);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ansi_c_escapes() {
        assert_eq!(decode_ansi_c(r"\x72\x6d"), "rm");
        assert_eq!(decode_ansi_c(r"\162m"), "rm");
        assert_eq!(decode_ansi_c(r"a\tb\\c\'"), "a\tb\\c'");
        assert_eq!(decode_ansi_c(r"\u0072m"), "rm");
    }
}
