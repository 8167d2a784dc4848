//! Programs that run a string as a shell command line: shells (`-c`, a script file,
//! stdin), `eval`, `source`, `su -c`, `trap`, `watch`, `ssh`, `script -c`, `sg`, and the
//! schedulers that keep a command line to run later (`at`, `batch`, `crontab`).
//!
//! What the string is must be known: text the command itself contains is walked as a
//! script; text produced while the command runs (downloaded, decoded, substituted,
//! piped from a program) is asked about, never silently allowed.

use super::{OptSpec, operands, parse_opts, value_of, values_of};
use crate::decision::Verdict;
use crate::rules::Rule;
use crate::shell::word::Arg;
use crate::shell::{Scope, Stdin, Value, Walker};

/// Shells that take `-c STRING`, a script file, or a script on stdin.
pub(super) const SHELLS: &[&str] = &[
    "sh",
    "bash",
    "zsh",
    "dash",
    "ksh",
    "ksh93",
    "mksh",
    "pdksh",
    "ash",
    "yash",
    "posh",
    "fish",
    "csh",
    "tcsh",
    "rbash",
    "busybox-sh",
    "nu",
    "xonsh",
    "elvish",
    "oksh",
    "loksh",
    "rc",
    "es",
];

impl Walker<'_> {
    /// The shell family; `None` when `name` is not one of it.
    pub(super) fn judge_shell_family(
        &mut self,
        name: &str,
        rest: &[Arg],
        scope: &mut Scope,
        stdin: &Stdin,
    ) -> Option<Stdin> {
        Some(match name {
            _ if SHELLS.contains(&name) => self.judge_shell(name, rest, scope, stdin),
            "eval" => self.judge_eval(rest, scope),
            "pwsh" | "powershell" | "pwsh-preview" => self.judge_powershell(rest, scope, stdin),
            "source" | "." => self.judge_source(rest, scope, stdin),
            "su" => self.judge_su(rest, scope),
            "trap" => self.judge_trap(rest, scope),
            "watch" => self.judge_watch(rest, scope, stdin),
            "ssh" | "autossh" => self.judge_ssh(rest, scope),
            "script" => self.judge_script_program(rest, scope),
            "sg" => self.judge_sg(rest, scope),
            "at" | "batch" => self.judge_at(name, rest, scope, stdin),
            "crontab" => self.judge_crontab(rest, scope, stdin),
            "alias" => {
                // `alias ls='rm -rf ~'`: Claude Code's shell expands aliases.
                for arg in rest {
                    if let Some((alias, text)) = arg.text.split_once('=') {
                        match arg.known {
                            true => scope.aliases.insert(alias.to_owned(), text.to_owned()),
                            false => scope
                                .aliases
                                .insert(alias.to_owned(), "\"$UNKNOWN\"".to_owned()),
                        };
                    }
                }
                Stdin::None
            }
            "unalias" => {
                for arg in rest {
                    scope.aliases.remove(&arg.text);
                }
                Stdin::None
            }
            "cd" | "pushd" | "chdir" => {
                self.change_dir(rest, scope);
                Stdin::None
            }
            "popd" => {
                scope.cwd = None;
                Stdin::None
            }
            "export" | "declare" | "typeset" | "local" | "readonly" => {
                self.assign_builtin(name, rest, scope);
                Stdin::None
            }
            "read" | "mapfile" | "readarray" => {
                // Variables read from input are produced while the command runs.
                let safe = matches!(stdin, Stdin::Output { safe: true });
                for arg in operands(
                    &parse_opts(
                        rest,
                        &OptSpec {
                            short: "adnNptu",
                            ..OptSpec::default()
                        },
                        false,
                    )
                    .0,
                ) {
                    if arg.known {
                        scope.vars.insert(
                            arg.text.clone(),
                            Value::Unknown {
                                runtime: true,
                                safe,
                            },
                        );
                    }
                }
                Stdin::None
            }
            "set" => {
                // `set -- a b c` sets the positional parameters.
                if let Some(at) = rest.iter().position(|a| a.known && a.text == "--") {
                    scope.positional = Some(rest[at + 1..].to_vec());
                }
                Stdin::None
            }
            _ => return None,
        })
    }

    fn change_dir(&mut self, rest: &[Arg], scope: &mut Scope) {
        let target = rest
            .iter()
            .find(|a| !(super::is_option(a) && a.text != "-"));
        // With CDPATH set in the command, `cd dir` may go to any of its directories
        // (bash(1)): where is not known without the disk.
        if scope.vars.contains_key("CDPATH")
            && let Some(arg) = target
            && arg.known
            && !(arg.text.starts_with('/')
                || arg.text.starts_with("./")
                || arg.text.starts_with("../")
                || arg.text == "."
                || arg.text == "..")
        {
            scope.cwd = None;
            self.note(|| "cd through CDPATH: the working directory is no longer known".to_owned());
            return;
        }
        scope.cwd = match target {
            None => Some(self.ctx.home.clone()),
            Some(arg) if arg.known && arg.text != "-" => {
                let followed = self.follow_links(&arg.text, scope);
                scope
                    .cwd
                    .as_ref()
                    .map(|cwd| crate::paths::resolve(cwd, std::path::Path::new(&followed)))
            }
            Some(_) => None,
        };
        self.note(|| match &scope.cwd {
            Some(cwd) => format!("cd: now in {}", cwd.display()),
            None => "cd: the working directory is no longer known".to_owned(),
        });
    }

    fn assign_builtin(&mut self, builtin: &str, rest: &[Arg], scope: &mut Scope) {
        // `declare -n r=HOME`: r is another name for HOME (a nameref); its value is
        // HOME's, known only when HOME's is.
        let nameref = builtin != "export"
            && builtin != "readonly"
            && rest
                .iter()
                .take_while(|a| super::is_option(a))
                .any(|a| a.text.contains('n'));
        for arg in rest.iter().filter(|a| !super::is_option(a)) {
            if let Some((name, value)) = arg.text.split_once('=') {
                let value = if nameref {
                    match (arg.known, value) {
                        (true, "HOME") => Value::Known(self.ctx.home.display().to_string()),
                        (true, target) => {
                            scope.vars.get(target).cloned().unwrap_or(Value::Unknown {
                                runtime: false,
                                safe: false,
                            })
                        }
                        (false, _) => Value::Unknown {
                            runtime: arg.runtime,
                            safe: false,
                        },
                    }
                } else if arg.known {
                    Value::Known(value.to_owned())
                } else {
                    Value::Unknown {
                        runtime: arg.runtime,
                        safe: arg.safe,
                    }
                };
                let single = [(name.to_owned(), value.clone())];
                self.judge_assignments(&single, scope);
                scope.vars.insert(name.to_owned(), value);
            }
        }
    }

    /// `bash -c 'script' [arg0 args…]`, `sh script.sh args`, `… | bash`, `bash < file`.
    fn judge_shell(&mut self, name: &str, rest: &[Arg], scope: &mut Scope, stdin: &Stdin) -> Stdin {
        let mut index = 0;
        let mut command_mode = false;
        let mut read_stdin = false;
        let mut interactive = false;
        let mut login = false;
        while let Some(arg) = rest.get(index) {
            let text = arg.text.as_str();
            if !(super::is_option(arg) || arg.known && text.starts_with('+') && text.len() > 1) {
                break;
            }
            index += 1;
            match text {
                "--" => break,
                "-o" | "+o" | "-O" | "+O" => index += 1,
                "--rcfile" | "--init-file" => {
                    if let Some(file) = rest.get(index) {
                        self.judge_script_file(file, scope, "a shell start-up file");
                    }
                    index += 1;
                }
                "--command" | "-Command" | "--commands" => command_mode = true,
                "--login" => login = true,
                "--interactive" => interactive = true,
                _ if text.starts_with("--") => {}
                _ => {
                    command_mode |= text.contains('c');
                    read_stdin |= text.contains('s');
                    interactive |= text.starts_with('-') && text.contains('i');
                    login |= text.starts_with('-') && text.contains('l');
                }
            }
        }
        // Start-up files the shell reads first (bash(1) INVOCATION, zsh(1) STARTUP
        // FILES): those written earlier in this command run with it.
        let home = self.ctx.home.display().to_string();
        let mut startup: Vec<&str> = Vec::new();
        if interactive {
            startup.extend(match name {
                "zsh" => &[".zshrc"][..],
                "bash" => &[".bashrc"][..],
                _ => &[][..],
            });
        }
        if login {
            startup.extend(match name {
                "zsh" => &[".zprofile", ".zlogin"][..],
                "bash" => &[".bash_profile", ".bash_login", ".profile"][..],
                _ => &[".profile"][..],
            });
        }
        if name == "zsh" {
            startup.push(".zshenv");
        }
        for file in startup {
            let path = std::path::PathBuf::from(format!("{home}/{file}"));
            if scope.written.contains_key(&path) {
                self.judge_script_file(
                    &Arg::literal(path.display().to_string(), None),
                    scope,
                    "a shell start-up file",
                );
            }
        }
        // BASH_ENV and ENV name a file the shell sources before anything else.
        for variable in ["BASH_ENV", "ENV"] {
            if let Some(Value::Known(file)) = scope.vars.get(variable).cloned() {
                self.judge_script_file(
                    &Arg::literal(file, None),
                    scope,
                    "the shell's BASH_ENV file",
                );
            }
        }
        let operand = rest.get(index);
        match operand {
            Some(script) if command_mode => {
                let mut inner = scope.clone();
                // `bash -c 'script' name a b`: $0 is name, $1… the rest.
                inner.positional = Some(rest.get(index + 2..).unwrap_or_default().to_vec());
                inner.arg0 = rest.get(index + 1).cloned();
                if script.known {
                    return self.walk_nested_in(
                        &script.text,
                        &mut inner,
                        script.span,
                        &format!("{name} -c"),
                    );
                }
                self.find(
                    Verdict::Ask,
                    Rule::ShellUnresolvedScript,
                    format!(
                        "`{name} -c` is given a script that is not known until the command runs."
                    ),
                    script.span,
                );
                Stdin::Output { safe: false }
            }
            Some(file) if !read_stdin => {
                self.run_script_file(file, &rest[index + 1..], scope, &format!("{name} script"));
                Stdin::Output { safe: false }
            }
            _ => self.run_stdin_script(name, stdin, scope),
        }
    }

    /// A shell running a script file with arguments: the file is judged (when written in
    /// this command, by its text), and the arguments as files it may read.
    fn run_script_file(&mut self, file: &Arg, args: &[Arg], scope: &mut Scope, what: &str) {
        if file.known && file.text == "/dev/stdin" {
            return;
        }
        self.judge_script_file(file, scope, what);
        for arg in args {
            self.check_secret(arg, scope, super::Access::Read);
        }
    }

    /// A shell reading its script from stdin.
    pub(super) fn run_stdin_script(
        &mut self,
        name: &str,
        stdin: &Stdin,
        scope: &mut Scope,
    ) -> Stdin {
        match stdin {
            Stdin::Text(text, span) => {
                let text = text.clone();
                if self.decoded.contains(&text) {
                    self.find(
                        Verdict::Ask,
                        Rule::ShellUnresolvedScript,
                        format!("`{name}` runs decoded text, which the command does not show as written."),
                        *span,
                    );
                }
                self.walk_nested_script(&text, scope, *span, &format!("text piped into {name}"))
            }
            Stdin::File(file, piped) => {
                let file = file.clone();
                let written = file.known
                    && self
                        .host_path(&file.text, scope)
                        .is_some_and(|path| scope.written.contains_key(&path));
                // `cat /tmp/cmds | sh`: content piped into a shell, not written in this
                // command, is not known before it runs (the policy's "piped"); a file
                // redirected (`sh < f`) is a script file like `sh f`.
                if *piped && !written {
                    let shown = self.quoted(file.span);
                    self.find(
                        Verdict::Ask,
                        Rule::ShellUnresolvedScript,
                        format!(
                            "`{name}` runs the content of a file piped into it{shown}, which the \
                             command does not show, so it is not known until the command runs."
                        ),
                        file.span,
                    );
                }
                self.judge_script_file(&file, scope, &format!("the script fed to {name}"));
                Stdin::Output { safe: false }
            }
            Stdin::Output { .. } => {
                self.find(
                    Verdict::Ask,
                    Rule::ShellUnresolvedScript,
                    format!(
                        "`{name}` runs what another program prints (downloaded, decoded or generated), \
                         which is not known until the command runs."
                    ),
                    None,
                );
                Stdin::Output { safe: false }
            }
            Stdin::None => Stdin::None,
        }
    }

    fn judge_eval(&mut self, rest: &[Arg], scope: &mut Scope) -> Stdin {
        if rest.is_empty() {
            return Stdin::None;
        }
        let span = rest.first().and_then(|a| a.span);
        if rest.iter().all(|a| a.known) {
            let script = rest
                .iter()
                .map(|a| a.text.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            return self.walk_nested_in(&script, scope, span, "eval");
        }
        self.find(
            Verdict::Ask,
            Rule::ShellUnresolvedEval,
            "`eval` runs text that is not known until the command runs.".to_owned(),
            span,
        );
        Stdin::Output { safe: false }
    }

    /// `source FILE` / `. FILE`: a secret file is read into the shell; a file written or
    /// produced in this command runs.
    fn judge_source(&mut self, rest: &[Arg], scope: &mut Scope, stdin: &Stdin) -> Stdin {
        let Some(file) = rest.first() else {
            return Stdin::None;
        };
        if file.known && file.text == "/dev/stdin" {
            return self.run_stdin_script("source", stdin, scope);
        }
        self.judge_script_file(file, scope, "the sourced file");
        Stdin::None
    }

    fn judge_su(&mut self, rest: &[Arg], scope: &mut Scope) -> Stdin {
        const SU: OptSpec = OptSpec {
            short: "cgGsw",
            long: &[
                "command",
                "session-command",
                "group",
                "supp-group",
                "shell",
                "whitelist-environment",
            ],
            flags: &["login", "preserve-environment", "pty"],
        };
        let (items, _) = parse_opts(rest, &SU, false);
        match value_of(&items, &["-c", "--command", "--session-command"]) {
            Some(script) => self.run_words_as_script(&[script], scope, "su -c"),
            None => Stdin::None,
        }
    }

    /// `trap 'commands' SIGNAL…`: the commands run when the signal comes.
    fn judge_trap(&mut self, rest: &[Arg], scope: &mut Scope) -> Stdin {
        let Some(action) = rest.first() else {
            return Stdin::None;
        };
        if action.known && (action.text == "-" || action.text.starts_with('-') || rest.len() < 2) {
            return Stdin::None;
        }
        self.run_words_as_script(std::slice::from_ref(action), scope, "trap")
    }

    /// `watch [options] command…`: the words are joined and run by `sh -c`, unless
    /// `-x` runs them as an argv.
    fn judge_watch(&mut self, rest: &[Arg], scope: &mut Scope, stdin: &Stdin) -> Stdin {
        const WATCH: OptSpec = OptSpec {
            short: "nq",
            long: &["interval", "equexit"],
            flags: &[
                "beep",
                "color",
                "no-color",
                "differences",
                "errexit",
                "chgexit",
                "exec",
                "precise",
                "no-title",
                "no-wrap",
                "no-rerun",
            ],
        };
        let (items, start) = parse_opts(rest, &WATCH, true);
        let inner = rest.get(start..).unwrap_or_default();
        if items.iter().any(|i| i.is(&["-x", "--exec"])) {
            return self.judge_inner("watch -x", inner, scope, stdin);
        }
        if inner.is_empty() {
            return Stdin::None;
        }
        self.run_words_as_script(inner, scope, "watch")
    }

    /// `ssh [options] host [command…]`: the words run in a shell on the other machine,
    /// judged as if here.
    fn judge_ssh(&mut self, rest: &[Arg], scope: &mut Scope) -> Stdin {
        const SSH: OptSpec = OptSpec {
            short: "BbcDEeFIiJLlmOoPpQRSWw",
            long: &[],
            flags: &[],
        };
        let (items, start) = parse_opts(rest, &SSH, true);
        for identity in values_of(&items, &["-i", "-F"]) {
            self.check_secret(&identity, scope, super::Access::Read);
        }
        // ssh_config(5) options whose value is a command run on this machine:
        // `LocalCommand` (with PermitLocalCommand), `ProxyCommand`, `KnownHostsCommand`;
        // `RemoteCommand` runs on the host, judged as the command operand is.
        for option in values_of(&items, &["-o"]) {
            let text = option.text.as_str();
            let (key, value) = match text.split_once(['=', ' ']) {
                Some((key, value)) => (key.trim(), value.trim_start_matches(['=', ' '])),
                None => continue,
            };
            let key = key.to_ascii_lowercase();
            if matches!(
                key.as_str(),
                "localcommand" | "proxycommand" | "knownhostscommand" | "remotecommand"
            ) {
                let command = if option.known {
                    Arg::literal(value, option.span)
                } else {
                    Arg::unknown(option.span)
                };
                self.run_words_as_script(&[command], scope, "an ssh option's command");
            }
        }
        let command = rest.get(start + 1..).unwrap_or_default();
        if command.is_empty() {
            return Stdin::None;
        }
        self.run_words_as_script(command, scope, "ssh");
        // What the remote command prints comes from another machine: not known here.
        Stdin::Output { safe: false }
    }

    /// `pwsh [-NoProfile …] -Command TEXT…` (`-c`; the rest of the line is the command),
    /// `-File FILE` (`-f`), `-EncodedCommand B64` (`-e`, `-ec`: decoded, UTF-16, asked
    /// about), a bare script path; parameters in any case and abbreviated
    /// (about_Pwsh). The command text is read with the shell grammar; the cmdlets that
    /// read, delete, copy and evaluate are judged as their Unix counterparts.
    fn judge_powershell(&mut self, rest: &[Arg], scope: &mut Scope, stdin: &Stdin) -> Stdin {
        let mut index = 0;
        while let Some(arg) = rest.get(index) {
            index += 1;
            if !(arg.known && arg.text.starts_with('-')) {
                // A script file.
                self.run_script_file(arg, &rest[index..], scope, "pwsh script");
                return Stdin::Output { safe: false };
            }
            let flag = arg.text.trim_start_matches('-').to_ascii_lowercase();
            let is =
                |full: &str, shortest: usize| flag.len() >= shortest && full.starts_with(&flag);
            if is("command", 1) {
                let words = rest.get(index..).unwrap_or_default();
                if words.len() == 1 && words[0].known && words[0].text == "-" {
                    return self.run_stdin_script("pwsh", stdin, scope);
                }
                return self.run_words_as_script(words, scope, "pwsh -Command");
            }
            if is("file", 1) {
                if let Some(file) = rest.get(index) {
                    self.run_script_file(file, &rest[index + 1..], scope, "pwsh -File");
                }
                return Stdin::Output { safe: false };
            }
            if is("encodedcommand", 1) || flag == "ec" {
                self.find(
                    Verdict::Ask,
                    Rule::ShellUnresolvedScript,
                    "`pwsh -EncodedCommand` runs encoded text the guard does not read.".to_owned(),
                    arg.span,
                );
                return Stdin::Output { safe: false };
            }
            // Parameters that take a value.
            if [
                "executionpolicy",
                "workingdirectory",
                "configurationname",
                "outputformat",
                "inputformat",
                "settingsfile",
                "windowstyle",
                "custompipename",
            ]
            .iter()
            .any(|full| is(full, 2))
            {
                index += 1;
            }
        }
        Stdin::None
    }

    /// `script [options] -c COMMAND [file]`.
    fn judge_script_program(&mut self, rest: &[Arg], scope: &mut Scope) -> Stdin {
        const SCRIPT: OptSpec = OptSpec {
            short: "cEIOBTmo",
            long: &[
                "command",
                "echo",
                "log-in",
                "log-out",
                "log-io",
                "log-timing",
                "logging-format",
                "output-limit",
            ],
            flags: &["append", "return", "flush", "force", "quiet"],
        };
        let (items, _) = parse_opts(rest, &SCRIPT, false);
        match value_of(&items, &["-c", "--command"]) {
            Some(command) => self.run_words_as_script(&[command], scope, "script -c"),
            None => Stdin::None,
        }
    }

    /// `sg [-] group [-c] command`: the command is a string for `/bin/sh`.
    fn judge_sg(&mut self, rest: &[Arg], scope: &mut Scope) -> Stdin {
        let words: Vec<Arg> = rest
            .iter()
            .skip_while(|a| a.known && a.text == "-")
            .skip(1)
            .skip_while(|a| a.known && a.text == "-c")
            .cloned()
            .collect();
        if words.is_empty() {
            return Stdin::None;
        }
        self.run_words_as_script(&words, scope, "sg")
    }

    /// `at [options] TIME` and `batch`: commands from stdin or `-f FILE`, run later.
    fn judge_at(&mut self, name: &str, rest: &[Arg], scope: &mut Scope, stdin: &Stdin) -> Stdin {
        const AT: OptSpec = OptSpec {
            short: "fqt",
            long: &[],
            flags: &[],
        };
        let (items, _) = parse_opts(rest, &AT, false);
        if items.iter().any(|i| i.is(&["-l", "-d", "-r", "-c"])) {
            return Stdin::None;
        }
        match value_of(&items, &["-f"]) {
            // `at -f /dev/stdin`: the job is what comes in.
            Some(file)
                if file.known && matches!(file.text.as_str(), "/dev/stdin" | "/dev/fd/0" | "-") =>
            {
                self.run_stdin_script(name, stdin, scope)
            }
            Some(file) => {
                self.judge_script_file(&file, scope, &format!("the job file for {name}"));
                Stdin::None
            }
            None => self.run_stdin_script(name, stdin, scope),
        }
    }

    /// `crontab FILE` / `crontab -`: installs jobs that run later.
    fn judge_crontab(&mut self, rest: &[Arg], scope: &mut Scope, stdin: &Stdin) -> Stdin {
        const CRONTAB: OptSpec = OptSpec {
            short: "uT",
            long: &[],
            flags: &[],
        };
        let (items, _) = parse_opts(rest, &CRONTAB, false);
        if items.iter().any(|i| i.is(&["-l", "-r", "-e", "-i", "-T"])) {
            return Stdin::None;
        }
        let table = match operands(&items).first() {
            Some(file) if !(file.known && file.text == "-") => {
                let file = (*file).clone();
                match file
                    .known
                    .then(|| self.host_path(&file.text, scope))
                    .flatten()
                {
                    Some(path) => match scope.written.get(&path).cloned() {
                        Some(Some(text)) => Some((text, file.span)),
                        _ => None,
                    },
                    None => None,
                }
            }
            _ => match stdin {
                Stdin::Text(text, span) => Some((text.clone(), *span)),
                _ => None,
            },
        };
        let Some((table, span)) = table else {
            self.find(
                Verdict::Ask,
                Rule::ShellUnresolvedScript,
                "`crontab` installs jobs whose commands are not known until the command runs."
                    .to_owned(),
                rest.first().and_then(|a| a.span),
            );
            return Stdin::None;
        };
        for line in table.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let first = line.split_whitespace().next().unwrap_or_default();
            if first.contains('=') && !first.starts_with('@') {
                continue;
            }
            let command = if first.starts_with('@') {
                line.split_once(char::is_whitespace).map(|(_, c)| c)
            } else {
                line.splitn(6, char::is_whitespace).nth(5)
            };
            if let Some(command) = command {
                self.walk_nested_script(command, scope, span, "a crontab job");
            }
        }
        Stdin::None
    }
}

/// Environment variables whose value is a command line some program runs (git, pagers,
/// editors, ssh): set on a command, their text is judged as a script.
const COMMAND_VARIABLES: &[&str] = &[
    "GIT_SSH_COMMAND",
    "GIT_SSH",
    "GIT_PAGER",
    "PAGER",
    "MANPAGER",
    "SYSTEMD_PAGER",
    "GIT_EDITOR",
    "EDITOR",
    "VISUAL",
    "SUDO_EDITOR",
    "GIT_SEQUENCE_EDITOR",
    "GIT_EXTERNAL_DIFF",
    "GIT_ASKPASS",
    "SSH_ASKPASS",
    "LESSOPEN",
    "LESSCLOSE",
    "PROMPT_COMMAND",
    "BROWSER",
    "FCEDIT",
    "GIT_PROXY_COMMAND",
    "RSYNC_RSH",
    "CVS_RSH",
];

impl Walker<'_> {
    /// Assignments that plant a command line (`GIT_SSH_COMMAND='rm -rf ~' git fetch`).
    pub(in crate::shell) fn judge_assignments(
        &mut self,
        assignments: &[(String, Value)],
        scope: &Scope,
    ) {
        for (name, value) in assignments {
            if !COMMAND_VARIABLES.contains(&name.as_str()) {
                continue;
            }
            if let Value::Known(text) = value {
                let text = text.trim_start_matches('|').trim_end_matches('|');
                self.walk_nested_script(text, scope, None, &format!("the command line in ${name}"));
            }
        }
    }
}
