//! Turning a shell word into what the shell would pass to a program: quotes removed,
//! known variables, arrays and positional parameters substituted, command substitutions
//! walked (they run) and their output used when it is known, unquoted expansions split
//! into several arguments, braces expanded.

use brush_parser::ast;
use brush_parser::word::{
    Parameter, ParameterExpr, SpecialParameter, TildeExpr, WordPiece, WordPieceWithSource,
};

use super::{ByteSpan, Scope, Stdin, Value, Walker};
use crate::secrets::has_glob;

/// One argument as the program would receive it, as far as it can be known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg {
    /// The text, with unknown parts left out.
    pub text: String,
    /// Every part is known.
    pub known: bool,
    /// The known text before the first unknown part.
    pub known_prefix: String,
    /// The known text after the last unknown part.
    pub known_suffix: String,
    /// Unquoted glob characters (`*`, `?`, `[`) are present.
    pub glob: bool,
    /// An unknown part is produced while the command runs (command output, a loop over
    /// it, piped input), not taken from the environment.
    pub runtime: bool,
    /// What produced the unknown part is known to name no secret file.
    pub safe: bool,
    /// A process substitution (`<(…)`): a pipe carrying a command's output.
    pub process_substitution: bool,
    /// Byte range in the command being analysed (the outermost one), if known.
    pub span: Option<ByteSpan>,
}

impl Arg {
    /// A fully known argument (from `xargs` input lists, interpreter literals, …).
    pub fn literal(text: impl Into<String>, span: Option<ByteSpan>) -> Arg {
        let text = text.into();
        Arg {
            known_prefix: text.clone(),
            known_suffix: text.clone(),
            text,
            known: true,
            glob: false,
            runtime: false,
            safe: false,
            process_substitution: false,
            span,
        }
    }

    /// An argument nothing is known about.
    pub fn unknown(span: Option<ByteSpan>) -> Arg {
        Arg {
            text: String::new(),
            known: false,
            known_prefix: String::new(),
            known_suffix: String::new(),
            glob: false,
            runtime: false,
            safe: false,
            process_substitution: false,
            span,
        }
    }

    /// An argument produced while the command runs (`{}` of find, xargs input, …);
    /// `safe` when its producer names no secret file.
    pub fn produced(span: Option<ByteSpan>, safe: bool) -> Arg {
        Arg {
            runtime: true,
            safe,
            ..Arg::unknown(span)
        }
    }

    /// The argument as a shell value.
    pub(crate) fn value(&self) -> Value {
        if self.known {
            Value::Known(self.text.clone())
        } else {
            Value::Unknown {
                runtime: self.runtime,
                safe: self.safe,
            }
        }
    }

    fn empty(span: Option<ByteSpan>) -> Arg {
        Arg {
            known: true,
            ..Arg::unknown(span)
        }
    }

    fn push_known(&mut self, text: &str) {
        self.text.push_str(text);
        if self.known {
            self.known_prefix.push_str(text);
        }
        self.known_suffix.push_str(text);
    }

    fn push_unknown(&mut self, runtime: bool, safe: bool) {
        self.safe = if self.known { safe } else { self.safe && safe };
        self.known = false;
        self.runtime |= runtime;
        self.known_suffix.clear();
    }

    fn push_value(&mut self, value: &Value) {
        match value {
            Value::Known(text) => self.push_known(text),
            Value::Unknown { runtime, safe } => self.push_unknown(*runtime, *safe),
        }
    }
}

/// The fields a word is evaluated into: unquoted expansions may split one word into many.
struct Fields {
    done: Vec<Arg>,
    current: Arg,
    /// The current field has content (an empty unquoted expansion makes no field).
    started: bool,
}

impl Fields {
    fn split(&mut self, span: Option<ByteSpan>) {
        let finished = std::mem::replace(&mut self.current, Arg::empty(span));
        if self.started {
            self.done.push(finished);
        }
        self.started = false;
    }
}

impl Walker<'_> {
    /// Evaluates a word into the arguments the program would receive.
    pub(super) fn eval_word(&mut self, word: &ast::Word, scope: &mut Scope) -> Vec<Arg> {
        self.eval_word_split(word, scope, true)
    }

    /// Evaluates an assignment's value: no word splitting, no braces.
    pub(super) fn eval_value(&mut self, word: &ast::Word, scope: &mut Scope) -> Vec<Arg> {
        self.eval_word_split(word, scope, false)
    }

    fn eval_word_split(&mut self, word: &ast::Word, scope: &mut Scope, split: bool) -> Vec<Arg> {
        let span = self.span_of(scope, word.loc.as_ref());
        let mut fields = Fields {
            done: Vec::new(),
            current: Arg::empty(span),
            started: false,
        };
        if let Some(arg) = plain_word(&word.value, &self.ctx.home, span) {
            return vec![arg];
        }
        match brush_parser::word::parse(&word.value, &self.parser_options) {
            Ok(pieces) => {
                // `"$@"` and `"${a[@]}"` alone: one argument per element.
                if let Some(all) = self.all_elements(&pieces, scope, span) {
                    return all;
                }
                // Without splitting, expansions behave as if quoted.
                self.eval_pieces(&pieces, !split, scope, &mut fields, span);
            }
            Err(_) => {
                // Not a word brush can take apart: judge the raw text, but never as known.
                fields.current.text = word.value.clone();
                fields.current.known = false;
                fields.current.glob = has_glob(&word.value);
                fields.started = true;
            }
        }
        // A quoted empty word (`""`) is still an argument.
        if !fields.started && word.value.contains(['"', '\'']) {
            fields.started = true;
        }
        fields.split(span);
        let args = fields.done;
        let unquoted_braces =
            split && word.value.contains('{') && !word.value.contains(['\'', '"', '\\']);
        if !unquoted_braces {
            return args;
        }
        // Bash expands braces before tildes: `{build,~}` is `build` and the home dir.
        let home = self.ctx.home.to_string_lossy().into_owned();
        args.into_iter()
            .flat_map(|arg| {
                if !arg.known {
                    return vec![arg];
                }
                crate::secrets::expand_braces(&arg.text)
                    .into_iter()
                    .map(|text| {
                        let text = match text.strip_prefix('~') {
                            Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                                format!("{home}{rest}")
                            }
                            _ => text,
                        };
                        Arg {
                            glob: has_glob(&text),
                            ..Arg::literal(text, arg.span)
                        }
                    })
                    .collect()
            })
            .collect()
    }

    /// `"$@"`, `"${a[@]}"`, `$@` as the whole word: the elements as separate arguments.
    fn all_elements(
        &self,
        pieces: &[WordPieceWithSource],
        scope: &Scope,
        span: Option<ByteSpan>,
    ) -> Option<Vec<Arg>> {
        let piece = match pieces {
            [only] => &only.piece,
            _ => return None,
        };
        let expr = match piece {
            WordPiece::ParameterExpansion(expr) => expr,
            WordPiece::DoubleQuotedSequence(inner) => match inner.as_slice() {
                [only] => match &only.piece {
                    WordPiece::ParameterExpansion(expr) => expr,
                    _ => return None,
                },
                _ => return None,
            },
            _ => return None,
        };
        let ParameterExpr::Parameter {
            parameter,
            indirect: false,
        } = expr
        else {
            return None;
        };
        let values: Vec<Value> = match parameter {
            Parameter::Special(SpecialParameter::AllPositionalParameters {
                concatenate: false,
            }) => scope.positional.as_ref()?.iter().map(Arg::value).collect(),
            Parameter::NamedWithAllIndices {
                name,
                concatenate: false,
            } => scope.arrays.get(name)?.clone(),
            _ => return None,
        };
        Some(
            values
                .iter()
                .map(|value| {
                    let mut arg = Arg::empty(span);
                    arg.push_value(value);
                    arg.glob = matches!(piece, WordPiece::ParameterExpansion(_))
                        && arg.known
                        && has_glob(&arg.text);
                    arg
                })
                .collect(),
        )
    }

    fn eval_pieces(
        &mut self,
        pieces: &[WordPieceWithSource],
        quoted: bool,
        scope: &mut Scope,
        fields: &mut Fields,
        span: Option<ByteSpan>,
    ) {
        for piece in pieces {
            match &piece.piece {
                WordPiece::Text(text) => {
                    if !quoted && has_glob(text) {
                        fields.current.glob = true;
                    }
                    fields.current.push_known(text);
                    fields.started = true;
                }
                WordPiece::SingleQuotedText(text) => {
                    fields.current.push_known(text);
                    fields.started = true;
                }
                WordPiece::AnsiCQuotedText(text) => {
                    fields.current.push_known(&decode_ansi_c(text));
                    fields.started = true;
                }
                WordPiece::DoubleQuotedSequence(inner)
                | WordPiece::GettextDoubleQuotedSequence(inner) => {
                    fields.started = true;
                    self.eval_pieces(inner, true, scope, fields, span);
                }
                WordPiece::EscapeSequence(text) => {
                    let escaped = text.strip_prefix('\\').unwrap_or(text);
                    if escaped != "\n" {
                        fields.current.push_known(escaped);
                        fields.started = true;
                    }
                }
                WordPiece::TildeExpansion(tilde) => {
                    fields.started = true;
                    match tilde {
                        TildeExpr::Home => {
                            fields.current.push_known(&self.ctx.home.to_string_lossy())
                        }
                        TildeExpr::UserHome(user) if user == "root" => {
                            fields.current.push_known("/root")
                        }
                        TildeExpr::UserHome(user) => {
                            fields.current.push_known(&format!("/home/{user}"))
                        }
                        TildeExpr::WorkingDir => match &scope.cwd {
                            Some(cwd) => fields.current.push_known(&cwd.to_string_lossy()),
                            None => fields.current.push_unknown(false, false),
                        },
                        _ => fields.current.push_unknown(false, false),
                    }
                }
                WordPiece::ParameterExpansion(expr) => {
                    let value = match self.parameter_value(expr, scope) {
                        Some(value) => value,
                        // `${X:-default}` with X not set in the command: what a clean
                        // environment gives.
                        None => self.default_value(expr, scope).unwrap_or(Value::Unknown {
                            runtime: false,
                            safe: false,
                        }),
                    };
                    self.push_expansion(&value, quoted, scope, fields, span);
                }
                WordPiece::CommandSubstitution(script)
                | WordPiece::BackquotedCommandSubstitution(script) => {
                    let out = self.walk_nested_script(script, scope, span, "command substitution");
                    let value = match out {
                        Stdin::Text(text, _) => {
                            Value::Known(text.trim_end_matches('\n').to_owned())
                        }
                        Stdin::None => Value::Known(String::new()),
                        Stdin::Output { safe } => Value::Unknown {
                            runtime: true,
                            safe,
                        },
                        Stdin::File(..) => Value::Unknown {
                            runtime: true,
                            safe: false,
                        },
                    };
                    self.push_expansion(&value, quoted, scope, fields, span);
                }
                WordPiece::ArithmeticExpression(_) => {
                    // A number: a representative one places a path the same way.
                    fields.current.push_known("0");
                    fields.started = true;
                }
            }
        }
    }

    /// Appends an expansion's value; unquoted, a known value is split on IFS and its
    /// glob characters are live.
    fn push_expansion(
        &mut self,
        value: &Value,
        quoted: bool,
        scope: &Scope,
        fields: &mut Fields,
        span: Option<ByteSpan>,
    ) {
        let text = match value {
            Value::Known(text) if !quoted => text,
            _ => {
                fields.current.push_value(value);
                fields.started |= quoted || !matches!(value, Value::Known(t) if t.is_empty());
                return;
            }
        };
        let ifs = match scope.vars.get("IFS") {
            Some(Value::Known(ifs)) => ifs.clone(),
            _ => " \t\n".to_owned(),
        };
        let mut first = true;
        for part in text.split(|c: char| ifs.contains(c)) {
            if !first {
                fields.split(span);
            }
            first = false;
            if !part.is_empty() {
                if has_glob(part) {
                    fields.current.glob = true;
                }
                fields.current.push_known(part);
                fields.started = true;
            }
        }
    }

    /// The value of a parameter expansion when it can be worked out: variables set
    /// earlier in the command, positional parameters of a function or script, array
    /// elements, and the context's HOME, TMPDIR, PWD and project dir. `None` for forms
    /// the guard does not evaluate.
    pub(super) fn parameter_value(&self, expr: &ParameterExpr, scope: &Scope) -> Option<Value> {
        // `${!v}`: the variable named by v's value (bash(1), indirect expansion). With
        // v known it is that variable's value; otherwise the name, and so the value,
        // is made while the command runs.
        if let ParameterExpr::Parameter {
            parameter: Parameter::Named(name),
            indirect: true,
        } = expr
        {
            let unknown = Value::Unknown {
                runtime: true,
                safe: false,
            };
            return Some(match self.named_value(name, scope) {
                Some(Value::Known(target)) if !target.is_empty() => self
                    .named_value(&target, scope)
                    .filter(|value| !matches!(value, Value::Known(text) if text.is_empty()))
                    .unwrap_or(unknown),
                _ => unknown,
            });
        }
        let (parameter, default) = match expr {
            ParameterExpr::Parameter {
                parameter,
                indirect: false,
            } => (parameter, None),
            ParameterExpr::UseDefaultValues {
                parameter,
                indirect: false,
                default_value,
                ..
            }
            | ParameterExpr::AssignDefaultValues {
                parameter,
                indirect: false,
                default_value,
                ..
            } => (parameter, default_value.as_ref()),
            _ => return None,
        };
        let value = match parameter {
            Parameter::Named(name) => self.named_value(name, scope),
            Parameter::Positional(0) | Parameter::Special(SpecialParameter::ShellName) => Some(
                scope
                    .arg0
                    .as_ref()
                    .map_or(Value::Known("bash".to_owned()), Arg::value),
            ),
            // Numbers: a representative one places a path the same way.
            Parameter::Special(
                SpecialParameter::ProcessId
                | SpecialParameter::LastBackgroundProcessId
                | SpecialParameter::LastExitStatus
                | SpecialParameter::PositionalParameterCount,
            ) => Some(Value::Known("0".to_owned())),
            Parameter::Positional(n) => scope.positional.as_ref().map(|args| {
                args.get(*n as usize - 1)
                    .map_or(Value::Known(String::new()), Arg::value)
            }),
            Parameter::NamedWithIndex { name, index } => index
                .parse::<usize>()
                .ok()
                .and_then(|i| scope.arrays.get(name)?.get(i).cloned()),
            Parameter::Special(SpecialParameter::AllPositionalParameters { .. })
            | Parameter::NamedWithAllIndices { .. } => {
                let values: Option<Vec<Value>> = match parameter {
                    Parameter::NamedWithAllIndices { name, .. } => scope.arrays.get(name).cloned(),
                    _ => scope
                        .positional
                        .as_ref()
                        .map(|args| args.iter().map(Arg::value).collect()),
                };
                values.map(|values| join_values(&values))
            }
            _ => None,
        };
        match (value, default) {
            // `${X:-default}` with X not known: the default is what a clean environment
            // gives, but the environment may say otherwise.
            (None, Some(_)) => None,
            (value, _) => value,
        }
    }
    /// The default of `${X:-default}` / `${X:=default}`, evaluated as a word.
    fn default_value(&mut self, expr: &ParameterExpr, scope: &mut Scope) -> Option<Value> {
        let (ParameterExpr::UseDefaultValues {
            default_value: Some(default),
            ..
        }
        | ParameterExpr::AssignDefaultValues {
            default_value: Some(default),
            ..
        }) = expr
        else {
            return None;
        };
        let word = ast::Word {
            value: default.clone(),
            loc: None,
        };
        let args = self.eval_value(&word, scope);
        match args.as_slice() {
            [] => Some(Value::Known(String::new())),
            [arg] => Some(arg.value()),
            _ => None,
        }
    }

    fn named_value(&self, name: &str, scope: &Scope) -> Option<Value> {
        if let Some(value) = scope.vars.get(name) {
            return Some(value.clone());
        }
        let known =
            |path: &std::path::Path| Some(Value::Known(path.to_string_lossy().into_owned()));
        match name {
            "RANDOM" | "SECONDS" | "LINENO" | "EPOCHSECONDS" | "UID" | "EUID" | "PPID" => {
                Some(Value::Known("0".to_owned()))
            }
            "HOME" => known(&self.ctx.home),
            "PWD" => scope.cwd.as_deref().and_then(known),
            "CLAUDE_PROJECT_DIR" => known(&self.ctx.project_dir),
            "TMPDIR" | "TMP" | "TEMP" => self.ctx.temp_dirs.first().and_then(|t| known(t)),
            _ => None,
        }
    }
}

/// A word with no quoting, expansion or operator: the argument it is, without the word
/// parser. `~` and `~/…` expand to home; `~` elsewhere (`a=~/x` expands too) and every
/// other form go to the full parser.
fn plain_word(text: &str, home: &std::path::Path, span: Option<ByteSpan>) -> Option<Arg> {
    if text.is_empty() || !text.chars().all(super::simple::plain_char) {
        return None;
    }
    let text = match text.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
            format!("{}{rest}", home.display())
        }
        Some(_) => return None,
        None => text.to_owned(),
    };
    if text.contains('~') {
        return None;
    }
    Some(Arg {
        glob: has_glob(&text),
        ..Arg::literal(text, span)
    })
}

/// `$*` / `${a[*]}`: the elements joined by spaces.
fn join_values(values: &[Value]) -> Value {
    let mut texts = Vec::new();
    for value in values {
        match value {
            Value::Known(text) => texts.push(text.as_str()),
            unknown => return unknown.clone(),
        }
    }
    Value::Known(texts.join(" "))
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
