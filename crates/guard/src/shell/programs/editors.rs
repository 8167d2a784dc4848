//! Editors and text processors whose own command languages can run commands, read and
//! write files: vim (`-c`, `+cmd`, `--cmd`, `-S`, ex commands on stdin), emacs
//! (`--eval`, `-l`), ed/ex, sed (`e`, `s///e`, `w`, `r`, `-i`), awk (`system()`, pipes,
//! `getline <`, `print >`), m4 (`syscmd`), dc (`!`), database shells (sqlite3 `.shell`,
//! psql `\!`, mysql `system`), gnuplot (`system`, `!`), `man -P`.

use super::code::Language;
use super::{Access, OptSpec, operands, parse_opts, value_of, values_of};
use crate::decision::Verdict;
use crate::rules::Rule;
use crate::shell::word::Arg;
use crate::shell::{ByteSpan, Scope, Stdin, Walker};

impl Walker<'_> {
    /// An editor or text processor; `None` when `name` is not one.
    pub(super) fn judge_editor(
        &mut self,
        name: &str,
        rest: &[Arg],
        scope: &mut Scope,
        stdin: &Stdin,
    ) -> Option<Stdin> {
        Some(match name {
            "vi" | "vim" | "nvim" | "gvim" | "view" | "vimdiff" | "nvi" | "vim.basic"
            | "vim.tiny" | "ex" | "rvim" => self.judge_vim(name, rest, scope, stdin),
            "emacs" | "emacsclient" | "emacs-nox" => self.judge_emacs(rest, scope),
            "ed" | "red" => {
                self.check_file_operands(rest, scope, Access::Read);
                if let Stdin::Text(text, span) = stdin {
                    let (text, span) = (text.clone(), *span);
                    self.judge_ex_commands(&text, span, scope);
                } else if let Stdin::Output { .. } = stdin {
                    self.unknown_commands(name);
                }
                Stdin::Output { safe: false }
            }
            "sed" | "gsed" => self.judge_sed(rest, scope),
            "awk" | "gawk" | "mawk" | "nawk" | "busybox-awk" => {
                self.judge_awk(name, rest, scope, stdin)
            }
            "perl"
                if !rest
                    .iter()
                    .any(|a| a.known && a.text.starts_with('-') && a.text.contains(['e', 'E'])) =>
            {
                // perl with a script file, not code: like an interpreter running a file.
                return None;
            }
            "m4" => {
                let files = operands(
                    &parse_opts(
                        rest,
                        &OptSpec {
                            short: "DUIdlF",
                            ..OptSpec::default()
                        },
                        false,
                    )
                    .0,
                );
                // m4's input is its program (`syscmd`, `esyscmd` run commands): files
                // written earlier in the command are judged by their text; input that
                // is not known until it runs is asked about.
                for file in &files {
                    self.check_secret(file, scope, Access::Read);
                    if let Some(text) = self.written_text_of(file, scope) {
                        self.judge_m4(&text, file.span, scope);
                    }
                }
                let reads_stdin =
                    files.is_empty() || files.iter().any(|f| f.known && f.text == "-");
                match stdin {
                    Stdin::Text(text, span) if reads_stdin => {
                        let (text, span) = (text.clone(), *span);
                        self.judge_m4(&text, span, scope);
                    }
                    Stdin::Output { .. } | Stdin::File(..) if reads_stdin => {
                        self.program_from_input(name);
                    }
                    _ => {}
                }
                Stdin::Output { safe: false }
            }
            "dc" => {
                let (items, _) = parse_opts(
                    rest,
                    &OptSpec {
                        short: "ef",
                        long: &["expression", "file"],
                        flags: &[],
                    },
                    false,
                );
                for expression in values_of(&items, &["-e", "--expression"]) {
                    self.judge_bang_lines(&expression.text, expression.span, scope, "dc");
                }
                for file in values_of(&items, &["-f", "--file"])
                    .iter()
                    .chain(operands(&items))
                {
                    self.check_secret(file, scope, Access::Read);
                }
                if let Stdin::Text(text, span) = stdin {
                    let (text, span) = (text.clone(), *span);
                    self.judge_bang_lines(&text, span, scope, "dc");
                }
                Stdin::Output { safe: false }
            }
            "sqlite3" | "psql" | "mysql" | "mariadb" | "duckdb" => {
                self.judge_database_shell(name, rest, scope, stdin)
            }
            "gnuplot" => {
                let mut iter = rest.iter();
                while let Some(arg) = iter.next() {
                    if matches!(arg.text.as_str(), "-e" | "--eval")
                        && let Some(code) = iter.next()
                    {
                        self.judge_gnuplot(&code.text, code.span, scope);
                    } else if !super::is_option(arg) {
                        self.check_secret(arg, scope, Access::Read);
                    }
                }
                if let Stdin::Text(text, span) = stdin {
                    let (text, span) = (text.clone(), *span);
                    self.judge_gnuplot(&text, span, scope);
                }
                Stdin::Output { safe: false }
            }
            "man" => {
                let (items, _) = parse_opts(
                    rest,
                    &OptSpec {
                        short: "PCMSsLmpRe",
                        long: &[
                            "pager",
                            "config-file",
                            "manpath",
                            "sections",
                            "locale",
                            "systems",
                            "preprocessor",
                            "recode",
                            "extension",
                        ],
                        flags: &[],
                    },
                    false,
                );
                if let Some(pager) = value_of(&items, &["-P", "--pager"]) {
                    self.run_words_as_script(&[pager], scope, "man -P");
                }
                Stdin::Output { safe: false }
            }
            "less" | "more" | "most" => {
                // `+cmd` / `++cmd` are commands run at start (less(1)): `!cmd` runs a
                // shell command, `|m cmd` pipes to one.
                for arg in rest.iter().filter(|a| a.known && a.text.starts_with('+')) {
                    let command = arg.text.trim_start_matches('+');
                    let shell = command.split_once('!').map(|(_, shell)| shell).or_else(|| {
                        command
                            .strip_prefix('|')
                            .map(|c| c.get(1..).unwrap_or_default())
                    });
                    if let Some(shell) = shell.filter(|s| !s.trim().is_empty()) {
                        self.walk_nested_script(shell, scope, arg.span, "a pager's shell command");
                    }
                }
                let files: Vec<Arg> = rest
                    .iter()
                    .filter(|a| !(a.known && a.text.starts_with('+')))
                    .cloned()
                    .collect();
                self.check_file_operands(&files, scope, Access::Read);
                Stdin::Output { safe: false }
            }
            _ => return None,
        })
    }

    fn unknown_commands(&mut self, program: &str) {
        self.find(
            Verdict::Ask,
            Rule::ShellUnresolvedScript,
            format!("`{program}` reads commands that another program prints, which are not known until the command runs."),
            None,
        );
    }

    /// vim: files are read (and written); `-c`, `+cmd`, `--cmd` are ex commands; `-S` a
    /// script; `-s` a file of keys; with `-e`/`-E`/`-es` (or as `ex`) stdin is ex commands.
    fn judge_vim(&mut self, name: &str, rest: &[Arg], scope: &mut Scope, stdin: &Stdin) -> Stdin {
        const VIM: OptSpec = OptSpec {
            short: "cSsuUiTtwWrqV",
            long: &[
                "cmd",
                "servername",
                "remote",
                "remote-silent",
                "remote-send",
                "remote-expr",
                "startuptime",
                "listen",
                "server",
            ],
            flags: &[
                "noplugin",
                "clean",
                "headless",
                "not-a-term",
                "nofork",
                "embed",
            ],
        };
        let mut commands: Vec<Arg> = Vec::new();
        let mut files: Vec<&Arg> = Vec::new();
        for arg in rest {
            if arg.known && arg.text.starts_with('+') && arg.text.len() > 1 {
                commands.push(Arg::literal(&arg.text[1..], arg.span));
            }
        }
        let plain: Vec<Arg> = rest
            .iter()
            .filter(|a| !(a.known && a.text.starts_with('+')))
            .cloned()
            .collect();
        // In Ex mode (`ex`, `-e`, `-E`, so `-es`) `-s` is silent mode, not `-s scriptin`
        // (vim(1)); reading it as taking a value would swallow the next `-c`.
        const VIM_EX: OptSpec = OptSpec {
            short: "cSuUiTtwWrqV",
            ..VIM
        };
        let ex_invoked = matches!(name, "ex" | "exim");
        let ex_option = plain.iter().any(|a| {
            a.known
                && a.text.starts_with('-')
                && !a.text.starts_with("--")
                && a.text[1..]
                    .chars()
                    .take_while(|c| *c != 's')
                    .any(|c| matches!(c, 'e' | 'E'))
        });
        let spec = if ex_invoked || ex_option {
            &VIM_EX
        } else {
            &VIM
        };
        let (items, _) = parse_opts(&plain, spec, false);
        commands.extend(values_of(&items, &["-c", "--cmd"]));
        for script in values_of(&items, &["-S", "-u", "-U"]) {
            self.judge_vim_script(&script, scope);
        }
        for keys in values_of(&items, &["-s", "-W", "-w"]) {
            self.check_secret(&keys, scope, Access::Read);
        }
        if let Some(expr) = value_of(&items, &["--remote-expr", "--remote-send"]) {
            commands.push(expr);
        }
        for file in operands(&items) {
            files.push(file);
        }
        // Commands that write the buffer back (`wq`, `x`, `%d|x`) rewrite the files given.
        let ex_stdin = match stdin {
            Stdin::Text(text, _) => Some(text.as_str()),
            _ => None,
        };
        let rewrites = commands.iter().any(|c| !c.known || writes_buffer(&c.text))
            || ex_stdin.is_some_and(writes_buffer);
        for file in files {
            self.check_secret(file, scope, Access::Read);
            if rewrites {
                self.judge_overwrite(file, scope, &format!(" (rewritten by {name})"));
            }
        }
        for command in &commands {
            if command.known {
                let (text, span) = (command.text.clone(), command.span);
                self.judge_ex_commands(&text, span, scope);
            } else {
                self.unknown_commands(name);
            }
        }
        let ex_mode = name == "ex" || items.iter().any(|i| i.is(&["-e", "-E", "-s"]));
        if ex_mode {
            match stdin {
                Stdin::Text(text, span) => {
                    let (text, span) = (text.clone(), *span);
                    self.judge_ex_commands(&text, span, scope);
                }
                Stdin::Output { .. } => self.unknown_commands(name),
                _ => {}
            }
        }
        Stdin::Output { safe: false }
    }

    fn judge_vim_script(&mut self, script: &Arg, scope: &mut Scope) {
        self.check_secret(script, scope, Access::Read);
        if let Some(path) = script
            .known
            .then(|| self.host_path(&script.text, scope))
            .flatten()
        {
            match scope.written.get(&path).cloned() {
                Some(Some(text)) => self.judge_ex_commands(&text, script.span, scope),
                Some(None) => self.unknown_commands("vim -S"),
                None => {}
            }
        } else if script.runtime || script.process_substitution {
            self.unknown_commands("vim -S");
        }
    }

    /// Ex commands (vim, ex, ed): `!cmd`, `r !cmd`, `w !cmd`, `terminal cmd`,
    /// `call system(…)`, `py3 …`/`lua …`/`ruby …`/`perl …`, `e FILE`, `w FILE`.
    fn judge_ex_commands(&mut self, text: &str, span: Option<ByteSpan>, scope: &mut Scope) {
        for line in text.split(['\n', '|']) {
            let mut command = line.trim().trim_start_matches(':').trim();
            for prefix in [
                "silent!",
                "silent",
                "exe",
                "execute",
                "sil!",
                "sil",
                "keepalt",
                "noautocmd",
            ] {
                if let Some(rest) = command.strip_prefix(prefix) {
                    command = rest.trim();
                }
            }
            // A range before the command (`%!`, `1,$w`).
            let command =
                command.trim_start_matches(|c: char| c.is_ascii_digit() || ",.$%'<>".contains(c));
            let (word, argument) = match command.find(|c: char| c.is_whitespace() || c == '!') {
                Some(at) => (&command[..at], command[at..].trim_start()),
                None => (command, ""),
            };
            if let Some(shell) = command.strip_prefix('!') {
                self.walk_nested_script(shell, scope, span, "an editor's shell command");
                continue;
            }
            match word {
                "r" | "read" | "w" | "write" | "wq" | "x" | "sav" | "saveas" | "e" | "edit"
                | "sp" | "split" | "vs" | "vsplit" | "tabe" | "tabedit" | "so" | "source"
                | "wall" | "up" | "update" => {
                    if let Some(shell) = argument.strip_prefix('!') {
                        self.walk_nested_script(shell, scope, span, "an editor's shell command");
                    } else if !argument.is_empty() {
                        let access = if matches!(
                            word,
                            "w" | "write" | "wq" | "x" | "sav" | "saveas" | "up" | "update"
                        ) {
                            Access::Write
                        } else {
                            Access::Read
                        };
                        let file = Arg::literal(
                            argument
                                .trim_start_matches("++")
                                .split_whitespace()
                                .last()
                                .unwrap_or(argument),
                            span,
                        );
                        self.check_secret(&file, scope, access);
                    }
                }
                "ter" | "term" | "terminal" => {
                    self.walk_nested_script(argument, scope, span, "an editor's terminal");
                }
                "py" | "py3" | "python" | "python3" | "pyx" | "pythonx" | "pyf" | "py3f" => {
                    self.judge_code("python3", argument, span, scope, &[])
                }
                "lua" | "luado" => self.judge_code("lua", argument, span, scope, &[]),
                "ruby" | "rubydo" => self.judge_code("ruby", argument, span, scope, &[]),
                "perl" | "perldo" => self.judge_code("perl", argument, span, scope, &[]),
                "call" | "let" | "echo" | "eval" => {
                    // Vim script: system(), systemlist() and job_start() run commands.
                    self.judge_code_in(Language::Python, argument, span, scope, &[]);
                    // delete(path, 'rf') deletes a tree.
                    if let Some(after) = argument.split("delete(").nth(1)
                        && (after.contains("'rf'") || after.contains("\"rf\""))
                    {
                        let arg = match after.split(['\'', '"']).nth(1) {
                            // `delete(expand("~"), "rf")`: expand() gives the home path.
                            Some(target) if after.trim_start().starts_with("expand(") => {
                                let home = self.ctx.home.display().to_string();
                                let target = target
                                    .strip_prefix('~')
                                    .or_else(|| target.strip_prefix("$HOME"))
                                    .map_or(target.to_owned(), |rest| format!("{home}{rest}"));
                                Arg::literal(target, span)
                            }
                            Some(target) => Arg::literal(target, span),
                            None => Arg::produced(span, false),
                        };
                        self.judge_removal(
                            &arg,
                            super::deleters::Removal::Recursive,
                            scope,
                            " (vim delete())",
                        );
                    }
                }
                _ => {}
            }
        }
    }

    /// emacs: `--eval`/`-eval` is Lisp, `-l`/`--load`/`--script` load files, files are
    /// read.
    fn judge_emacs(&mut self, rest: &[Arg], scope: &mut Scope) -> Stdin {
        let mut iter = rest.iter();
        while let Some(arg) = iter.next() {
            let text = arg.text.as_str();
            let (flag, inline) = match text.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => (flag, Some(value)),
                _ => (text, None),
            };
            let value = |iter: &mut std::slice::Iter<'_, Arg>| match inline {
                Some(value) => Some(Arg::literal(value, arg.span)),
                None => iter.next().cloned(),
            };
            match flag {
                "--eval" | "-eval" | "--execute" | "-execute" | "-e" => {
                    if let Some(code) = value(&mut iter) {
                        if code.known {
                            self.judge_code("racket", &code.text, code.span, scope, &[]);
                        } else {
                            self.unknown_commands("emacs --eval");
                        }
                    }
                }
                "-l" | "--load" | "-load" | "--script" | "-script" | "-x" => {
                    if let Some(file) = value(&mut iter) {
                        self.check_secret(&file, scope, Access::Read);
                    }
                }
                "-f" | "--funcall" | "-funcall" | "-L" | "--directory" | "--chdir" | "-t"
                | "--terminal" | "-d" | "--display" | "-s" | "--socket-name" | "-a"
                | "--alternate-editor" => {
                    value(&mut iter);
                }
                _ if !super::is_option(arg) && !text.starts_with('+') => {
                    self.check_secret(arg, scope, Access::Read)
                }
                _ => {}
            }
        }
        Stdin::Output { safe: false }
    }

    /// sed: the script's `e` command and `s///e` flag run commands, `w`/`W` write files,
    /// `r`/`R` read them; `-i` writes the files given.
    fn judge_sed(&mut self, rest: &[Arg], scope: &mut Scope) -> Stdin {
        const SED: OptSpec = OptSpec {
            short: "efl",
            long: &["expression", "file", "line-length"],
            flags: &[
                "quiet",
                "silent",
                "in-place",
                "regexp-extended",
                "separate",
                "null-data",
                "unbuffered",
                "sandbox",
                "posix",
                "debug",
                "follow-symlinks",
            ],
        };
        let (items, _) = parse_opts(rest, &SED, false);
        let in_place = items.iter().any(|i| matches!(i, super::Opt::Flag { name, .. } if name == "-i" || name.starts_with("--in-place")))
            || rest.iter().any(|a| a.known && a.text.starts_with("-i") && !a.text.starts_with("--"));
        let sandbox = items.iter().any(|i| i.is(&["--sandbox"]));
        let mut scripts = values_of(&items, &["-e", "--expression"]);
        for file in values_of(&items, &["-f", "--file"]) {
            self.check_secret(&file, scope, Access::Read);
        }
        let mut files = operands(&items);
        if scripts.is_empty()
            && values_of(&items, &["-f", "--file"]).is_empty()
            && !files.is_empty()
        {
            scripts.push(files.remove(0).clone());
        }
        let access = if in_place {
            Access::Write
        } else {
            Access::Read
        };
        for file in files {
            self.check_secret(file, scope, access);
            if in_place {
                self.judge_overwrite(file, scope, " (rewritten in place by sed -i)");
            }
        }
        if sandbox {
            return Stdin::Output { safe: false };
        }
        for script in scripts {
            if script.known {
                self.judge_sed_script(&script.text, script.span, scope);
            }
        }
        Stdin::Output { safe: false }
    }

    fn judge_sed_script(&mut self, script: &str, span: Option<ByteSpan>, scope: &mut Scope) {
        for command in script.split(['\n', ';']) {
            // Strip an address (`1,5`, `/re/`, `$`) and `!`.
            let mut command = command.trim();
            while let Some(first) = command.chars().next() {
                if first.is_ascii_digit() || ",$!~ ".contains(first) {
                    command = &command[first.len_utf8()..];
                } else if first == '/' || first == '\\' {
                    let body = &command[1..];
                    match body.find('/') {
                        Some(end) => command = &body[end + 1..],
                        None => break,
                    }
                } else {
                    break;
                }
            }
            let mut chars = command.chars();
            match chars.next() {
                Some('e') => {
                    let rest = chars.as_str().trim();
                    if rest.is_empty() {
                        self.find(Verdict::Ask, Rule::ShellUnresolvedScript, "sed's `e` command runs the text it is processing, which is not known until the command runs.".to_owned(), span);
                    } else {
                        self.walk_nested_script(rest, scope, span, "sed's e command");
                    }
                }
                Some('w' | 'W') => {
                    let file = Arg::literal(chars.as_str().trim(), span);
                    self.judge_write_target(&file, true, scope);
                }
                Some('r' | 'R') => {
                    let file = Arg::literal(chars.as_str().trim(), span);
                    self.check_secret(&file, scope, Access::Read);
                }
                Some('s') => {
                    let body = chars.as_str();
                    let Some(delimiter) = body.chars().next() else {
                        continue;
                    };
                    let parts: Vec<&str> =
                        body[delimiter.len_utf8()..].splitn(3, delimiter).collect();
                    if let [_, replacement, flags] = parts.as_slice() {
                        if flags.contains('e') {
                            self.walk_nested_script(replacement, scope, span, "sed's s///e");
                        }
                        if let Some(at) = flags.find('w') {
                            let file = Arg::literal(flags[at + 1..].trim(), span);
                            self.judge_write_target(&file, true, scope);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// awk: the program, then files read; `-f` program files, `-v` assignments.
    /// A program whose own program text comes from input not known until it runs.
    fn program_from_input(&mut self, name: &str) {
        self.find(
            Verdict::Ask,
            Rule::ShellUnresolvedScript,
            format!(
                "`{name}` reads its program from input that is not known until the command runs."
            ),
            None,
        );
    }

    /// The text of a file written earlier in this command, when it is known.
    fn written_text_of(&self, file: &Arg, scope: &Scope) -> Option<String> {
        let path = file
            .known
            .then(|| self.host_path(&file.text, scope))
            .flatten()?;
        scope.written.get(&path).cloned().flatten()
    }

    fn judge_awk(&mut self, name: &str, rest: &[Arg], scope: &mut Scope, stdin: &Stdin) -> Stdin {
        const AWK: OptSpec = OptSpec {
            short: "fvFeiElWo",
            long: &[
                "file",
                "assign",
                "field-separator",
                "source",
                "include",
                "exec",
                "load",
                "dump-variables",
                "debug",
                "profile",
                "pretty-print",
            ],
            flags: &[
                "sandbox",
                "posix",
                "traditional",
                "lint",
                "characters-as-bytes",
                "re-interval",
                "optimize",
            ],
        };
        let (items, _) = parse_opts(rest, &AWK, false);
        let mut programs = values_of(&items, &["-e", "--source"]);
        let program_files = values_of(&items, &["-f", "--file", "-E", "--exec", "-i", "--include"]);
        for file in &program_files {
            self.check_secret(file, scope, Access::Read);
            // `-f -`, `-f /dev/stdin`: the program is the input.
            if file.known && matches!(file.text.as_str(), "-" | "/dev/stdin" | "/dev/fd/0") {
                match stdin {
                    Stdin::Text(text, span) => programs.push(Arg::literal(text.clone(), *span)),
                    Stdin::Output { .. } | Stdin::File(..) => self.program_from_input(name),
                    Stdin::None => {}
                }
            } else if let Some(text) = self.written_text_of(file, scope) {
                programs.push(Arg::literal(text, file.span));
            }
        }
        let mut files = operands(&items);
        if programs.is_empty() && program_files.is_empty() && !files.is_empty() {
            programs.push(files.remove(0).clone());
        }
        for file in files {
            // `var=value` operands are assignments, not files.
            if !(file.known && file.text.contains('=') && !file.text.contains('/')) {
                self.check_secret(file, scope, Access::Read);
            }
        }
        if items.iter().any(|i| i.is(&["--sandbox", "-S"])) {
            return Stdin::Output { safe: false };
        }
        for program in programs {
            if program.known {
                self.judge_code_in(Language::Awk, &program.text, program.span, scope, &[]);
            } else {
                self.find(
                    Verdict::Ask,
                    Rule::ShellUnresolvedScript,
                    format!(
                        "`{name}` is given a program that is not known until the command runs."
                    ),
                    program.span,
                );
            }
        }
        Stdin::Output { safe: false }
    }

    fn judge_m4(&mut self, text: &str, span: Option<ByteSpan>, scope: &mut Scope) {
        for call in ["syscmd(", "esyscmd("] {
            let mut rest = text;
            while let Some(at) = rest.find(call) {
                let after = &rest[at + call.len()..];
                let end = after.find(')').unwrap_or(after.len());
                let command = after[..end].trim_matches(|c| c == '`' || c == '\'');
                self.walk_nested_script(command, scope, span, "m4's syscmd");
                rest = &after[end..];
            }
        }
        // `include(F)`, `sinclude(F)` and GNU's `undivert(F)` read F into the output
        // (m4(1), GNU m4 manual "File Inclusion"); `m4_` prefixed under `-P`.
        for call in ["include(", "undivert("] {
            let mut rest = text;
            while let Some(at) = rest.find(call) {
                let after = &rest[at + call.len()..];
                let end = after.find(')').unwrap_or(after.len());
                for file in after[..end].split(',') {
                    let file = file
                        .trim()
                        .trim_matches(|c| c == '`' || c == '\'' || c == '"');
                    if !file.is_empty() && !file.chars().all(|c| c.is_ascii_digit()) {
                        self.check_secret(&Arg::literal(file, span), scope, Access::Read);
                    }
                }
                rest = &after[end..];
            }
        }
    }

    /// Lines starting with `!` run the rest in a shell (dc, gnuplot, database shells).
    fn judge_bang_lines(
        &mut self,
        text: &str,
        span: Option<ByteSpan>,
        scope: &mut Scope,
        program: &str,
    ) {
        for line in text.lines() {
            if let Some(at) = line.find('!')
                && (program == "dc" || at == 0)
            {
                let command = line[at + 1..].trim();
                if !command.is_empty() && !command.starts_with('=') {
                    self.walk_nested_script(
                        command,
                        scope,
                        span,
                        &format!("a {program} shell escape"),
                    );
                }
            }
        }
    }

    fn judge_gnuplot(&mut self, text: &str, span: Option<ByteSpan>, scope: &mut Scope) {
        self.judge_bang_lines(text, span, scope, "gnuplot");
        self.judge_code_in(Language::Awk, text, span, scope, &[]);
    }

    /// sqlite3 `.shell`/`.system`, psql `\!` and `COPY … PROGRAM`, mysql `system`/`\!`;
    /// their read commands (`.read`, `.import`, `\i`, `source`, `readfile()`).
    fn judge_database_shell(
        &mut self,
        name: &str,
        rest: &[Arg],
        scope: &mut Scope,
        stdin: &Stdin,
    ) -> Stdin {
        let mut texts: Vec<(String, Option<ByteSpan>)> = Vec::new();
        let mut iter = rest.iter().enumerate();
        let mut database_seen = false;
        while let Some((_, arg)) = iter.next() {
            let text = arg.text.as_str();
            match text {
                "-c" | "--command" | "-cmd" | "-e" | "--execute" => {
                    if let Some((_, value)) = iter.next() {
                        texts.push((value.text.clone(), value.span));
                    }
                }
                "-f" | "--file" | "-init" => {
                    if let Some((_, file)) = iter.next() {
                        self.check_secret(file, scope, Access::Read);
                    }
                }
                "-h" | "--host" | "-p" | "--port" | "-U" | "--username" | "-d" | "--dbname"
                | "-u" | "--user" | "-D" | "--database" | "-separator" | "-nullvalue"
                | "-newline" => {
                    iter.next();
                }
                _ if text.starts_with("--execute=") || text.starts_with("--command=") => {
                    texts.push((
                        text.split_once('=')
                            .map(|(_, v)| v)
                            .unwrap_or_default()
                            .to_owned(),
                        arg.span,
                    ));
                }
                _ if !super::is_option(arg) && (name == "sqlite3" || name == "duckdb") => {
                    if database_seen {
                        texts.push((arg.text.clone(), arg.span));
                    } else {
                        self.check_secret(arg, scope, Access::Read);
                        database_seen = true;
                    }
                }
                _ => {}
            }
        }
        if let Stdin::Text(text, span) = stdin {
            texts.push((text.clone(), *span));
        }
        for (text, span) in texts {
            for line in text.lines() {
                let line = line.trim();
                let lower = line.to_ascii_lowercase();
                let shell = [".shell ", ".system ", "\\! ", "\\!", "system ", "\\system "]
                    .iter()
                    .find_map(|prefix| lower.starts_with(prefix).then(|| &line[prefix.len()..]));
                if let Some(command) = shell {
                    self.walk_nested_script(
                        command.trim(),
                        scope,
                        span,
                        &format!("a {name} shell command"),
                    );
                    continue;
                }
                if let Some(at) = lower.find("program '").or_else(|| lower.find("program \"")) {
                    let after = &line[at + 9..];
                    let command = after.split(['\'', '"']).next().unwrap_or_default();
                    self.walk_nested_script(
                        command,
                        scope,
                        span,
                        &format!("a {name} COPY … PROGRAM"),
                    );
                }
                for prefix in [
                    ".read ", ".import ", "\\i ", "\\ir ", "source ", "\\. ", ".open ",
                ] {
                    if let Some(rest) = lower.strip_prefix(prefix) {
                        let file = rest.split_whitespace().next().unwrap_or_default();
                        let original = &line[prefix.len()..prefix.len() + file.len()];
                        self.check_secret(
                            &Arg::literal(original.trim_matches(['\'', '"']), span),
                            scope,
                            Access::Read,
                        );
                    }
                }
                for call in ["readfile(", "load_file(", "pg_read_file(", "read_text("] {
                    if let Some(at) = lower.find(call) {
                        let after = &line[at + call.len()..];
                        if let Some(file) = after.split(['\'', '"']).nth(1) {
                            self.check_secret(&Arg::literal(file, span), scope, Access::Read);
                        }
                    }
                }
            }
        }
        Stdin::Output { safe: false }
    }
}

/// Whether ex commands write the buffer back to its file (`w`, `wq`, `x`, `up`, after a
/// range or a `|`), which rewrites the file being edited.
fn writes_buffer(text: &str) -> bool {
    text.split(['\n', '|']).any(|line| {
        let command = line.trim().trim_start_matches(':').trim();
        let command =
            command.trim_start_matches(|c: char| c.is_ascii_digit() || ",.$%'<>".contains(c));
        let word = command
            .split(|c: char| c.is_whitespace() || c == '!')
            .next()
            .unwrap_or_default();
        let rest = command[word.len()..].trim();
        let bare = rest.is_empty() || rest == "!";
        matches!(
            word,
            "w" | "write"
                | "wq"
                | "x"
                | "xit"
                | "exit"
                | "up"
                | "update"
                | "wa"
                | "wall"
                | "wqa"
                | "wqall"
                | "xa"
                | "xall"
        ) && bare
    })
}
