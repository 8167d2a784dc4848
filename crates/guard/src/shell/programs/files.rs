//! Programs that read and write files, or only look at their names (coreutils and
//! friends): metadata programs read nothing; copies read their sources and write their
//! destination; `tee`, `sponge`, `dd` write; `ln -s` and `mount --bind` make a name
//! reach another place; `echo`, `printf`, `cat`, `base64 -d`, `xxd -r`, `rev` pass
//! known text on to the next command of a pipe. Disk tools (the `disk` pack) are here
//! too: they write whole devices.

use std::path::Path;

use base64::Engine as _;

use super::{Access, OptSpec, operands, parse_opts, program_name, value_of, values_of};
use crate::config::Pack;
use crate::decision::Verdict;
use crate::paths::resolve;
use crate::rules::Rule;
use crate::secrets::pattern_may_match_secret;
use crate::shell::word::{Arg, decode_ansi_c};
use crate::shell::{Scope, Stdin, Walker};

/// Programs that only look at a file's name or metadata, never its contents, or touch
/// no file at all.
pub(super) const METADATA: &[&str] = &[
    "ls",
    "stat",
    "file",
    "test",
    "[",
    "touch",
    "du",
    "df",
    "realpath",
    "readlink",
    "dirname",
    "basename",
    "echo",
    "printf",
    "which",
    "type",
    "whereis",
    "locate",
    "mkdir",
    "chmod",
    "chown",
    "chgrp",
    "exa",
    "eza",
    "lsd",
    "tree",
    "lsattr",
    "true",
    "false",
    ":",
    "hash",
    "pwd",
    "date",
    "sleep",
    "whoami",
    "id",
    "uname",
    "hostname",
    "ps",
    "kill",
    "pkill",
    "pgrep",
    "jobs",
    "wait",
    "umask",
    "ulimit",
    "shopt",
    "clear",
    "tput",
    "stty",
    "nproc",
    "uptime",
    "free",
    "lsblk",
    "getconf",
    "seq",
    "yes",
    "expr",
    "let",
    "bg",
    "fg",
    "disown",
    "times",
    "compgen",
    "complete",
    "help",
    "dirs",
    "shift",
    "return",
    "exit",
    "break",
    "continue",
    "getopts",
    "caller",
    "enable",
    "logout",
    "bind",
    "mkfifo",
    "sync",
    "mktemp",
    "tty",
    "printenv",
    "groups",
    "users",
    "who",
    "w",
    "last",
    "arch",
    "lscpu",
    "top",
    "htop",
    "ping",
    "sha256sum",
    "sha1sum",
    "md5sum",
    "sha512sum",
    "b2sum",
    "cksum",
    "wc",
];

impl Walker<'_> {
    /// The file programs; `None` for a program nobody catalogued.
    pub(super) fn judge_file_program(
        &mut self,
        name: &str,
        rest: &[Arg],
        scope: &mut Scope,
        stdin: &Stdin,
    ) -> Option<Stdin> {
        Some(match name {
            "echo" => echo_text(rest),
            // `printf -v NAME FORMAT …` assigns what it would print to NAME.
            "printf" if rest.first().is_some_and(|a| a.known && a.text == "-v") => {
                if let Some(var) = rest.get(1).filter(|a| a.known) {
                    let value = match printf_text(rest.get(2..).unwrap_or_default()) {
                        Stdin::Text(text, _) => crate::shell::Value::Known(text),
                        _ => crate::shell::Value::Unknown {
                            runtime: true,
                            safe: false,
                        },
                    };
                    scope.vars.insert(var.text.clone(), value);
                }
                Stdin::None
            }
            "printf" => printf_text(rest),
            "which" | "command" => match rest.iter().rev().find(|a| !super::is_option(a)) {
                Some(program) if program.known => Stdin::Text(
                    format!("/usr/bin/{}", program_name(&program.text)),
                    program.span,
                ),
                _ => Stdin::Output { safe: true },
            },
            "pwd" => match &scope.cwd {
                Some(cwd) => Stdin::Text(cwd.to_string_lossy().into_owned(), None),
                None => Stdin::Output { safe: false },
            },
            "basename" | "dirname" | "realpath" => {
                let operand = rest.iter().find(|a| !super::is_option(a));
                match operand {
                    Some(arg) if arg.known => {
                        let path = Path::new(&arg.text);
                        let text = match name {
                            "basename" => {
                                path.file_name().map(|n| n.to_string_lossy().into_owned())
                            }
                            "dirname" => path.parent().map(|p| p.to_string_lossy().into_owned()),
                            _ => scope
                                .cwd
                                .as_ref()
                                .map(|cwd| resolve(cwd, path).to_string_lossy().into_owned()),
                        };
                        text.map_or(Stdin::Output { safe: false }, |t| Stdin::Text(t, arg.span))
                    }
                    _ => Stdin::Output { safe: false },
                }
            }
            "ls" | "exa" | "eza" | "lsd" => {
                let (items, _) = parse_opts(rest, &OptSpec::default(), false);
                let hidden = items
                    .iter()
                    .any(|i| i.is(&["-a", "-A", "--all", "--almost-all"]));
                let files = operands(&items);
                let safe = !hidden
                    && !files.is_empty()
                    && files.iter().all(|f| {
                        f.known && f.glob && !pattern_may_match_secret(&f.text, self.config)
                    });
                Stdin::Output { safe }
            }
            "cat" | "tac" | "zcat" | "bzcat" | "xzcat" | "zstdcat" => {
                self.check_file_operands(rest, scope, Access::Read);
                let files: Vec<&Arg> = rest.iter().filter(|a| !super::is_option(a)).collect();
                match files.as_slice() {
                    [] if name == "cat" => stdin.clone(),
                    [one] if name == "cat" && !(one.known && one.text == "-") => {
                        Stdin::File((*one).clone(), true)
                    }
                    _ => Stdin::Output { safe: false },
                }
            }
            "tee" => {
                let append = rest
                    .iter()
                    .any(|a| a.known && (a.text == "-a" || a.text == "--append"));
                for file in rest.iter().filter(|a| !super::is_option(a)) {
                    self.judge_write_target(file, !append, scope);
                    self.record_written_file(file, stdin, scope);
                }
                stdin.clone()
            }
            "sponge" => {
                let append = rest.iter().any(|a| a.known && a.text == "-a");
                for file in rest.iter().filter(|a| !super::is_option(a)) {
                    self.judge_write_target(file, !append, scope);
                    self.record_written_file(file, stdin, scope);
                }
                Stdin::None
            }
            "base64" | "base32" | "basenc" => {
                let decode = rest
                    .iter()
                    .any(|a| a.known && matches!(a.text.as_str(), "-d" | "--decode" | "-D"));
                self.check_file_operands(rest, scope, Access::Read);
                match (decode, stdin, name) {
                    (true, Stdin::Text(text, span), "base64") => {
                        decode_base64(text).map_or(Stdin::Output { safe: false }, |decoded| {
                            self.decoded.push(decoded.clone());
                            Stdin::Text(decoded, *span)
                        })
                    }
                    _ => Stdin::Output { safe: false },
                }
            }
            "xxd" => {
                let reverse = rest
                    .iter()
                    .any(|a| a.known && a.text.starts_with('-') && a.text.contains('r'));
                self.check_file_operands(rest, scope, Access::Read);
                match (reverse, stdin) {
                    (true, Stdin::Text(text, span)) => {
                        decode_hex(text).map_or(Stdin::Output { safe: false }, |decoded| {
                            self.decoded.push(decoded.clone());
                            Stdin::Text(decoded, *span)
                        })
                    }
                    _ => Stdin::Output { safe: false },
                }
            }
            "rev" => {
                self.check_file_operands(rest, scope, Access::Read);
                match stdin {
                    Stdin::Text(text, span) if rest.is_empty() => {
                        let reversed = text
                            .lines()
                            .map(|l| l.chars().rev().collect::<String>())
                            .collect::<Vec<_>>()
                            .join("\n");
                        self.decoded.push(reversed.clone());
                        Stdin::Text(reversed, *span)
                    }
                    _ => Stdin::Output { safe: false },
                }
            }
            "cp" | "install" | "scp" | "sftp" | "ditto" => {
                self.judge_copy(name, rest, scope);
                Stdin::None
            }
            "ln" => {
                self.judge_link(rest, scope);
                Stdin::None
            }
            "mount" | "bindfs" => {
                let bind = name == "bindfs"
                    || rest.iter().any(|a| {
                        a.known
                            && (a.text == "--bind"
                                || a.text == "--rbind"
                                || a.text.contains("bind"))
                    });
                let files: Vec<&Arg> = rest
                    .iter()
                    .filter(|a| !super::is_option(a) && !a.text.contains("bind"))
                    .collect();
                if bind
                    && let [source, target] = files.as_slice()
                    && source.known
                    && target.known
                    && let Some(cwd) = &scope.cwd
                {
                    let link = resolve(cwd, Path::new(&target.text));
                    let reached = resolve(cwd, Path::new(&self.follow_links(&source.text, scope)));
                    scope.links.push((link, reached));
                }
                Stdin::None
            }
            "dd" => {
                self.judge_dd(rest, scope);
                Stdin::Output { safe: false }
            }
            "curl" | "wget" | "wget2" | "aria2c" | "http" | "https" | "xh" => {
                self.judge_download(name, rest, scope);
                Stdin::Output { safe: false }
            }
            "mkfs" | "mke2fs" | "mkswap" | "wipefs" | "fdisk" | "sfdisk" | "gdisk" | "sgdisk"
            | "parted" | "cfdisk" | "blkdiscard" => {
                self.judge_disk_tool(name, rest);
                Stdin::None
            }
            _ if name.starts_with("mkfs.") => {
                self.judge_disk_tool(name, rest);
                Stdin::None
            }
            "sort" | "uniq" => self.judge_sort(name, rest, scope, stdin),
            // yq(1): `load("f")`, `load_str("f")` and friends in the expression read f;
            // `-i`/`--inplace` rewrites the files given.
            "yq" => {
                self.check_file_operands(rest, scope, Access::Read);
                for arg in rest.iter().filter(|a| a.known) {
                    let mut text = arg.text.as_str();
                    while let Some(at) = text.find("load") {
                        let after = &text[at..];
                        let Some(open) = after.find('(') else { break };
                        let inside = after[open + 1..].trim_start();
                        if let Some(quoted) = inside.strip_prefix(['"', '\'']) {
                            let file = quoted.split(['"', '\'']).next().unwrap_or_default();
                            self.check_secret(&Arg::literal(file, arg.span), scope, Access::Read);
                        }
                        text = &after[open + 1..];
                    }
                }
                let in_place = rest.iter().any(|a| {
                    a.known
                        && (a.text == "--inplace"
                            || a.text.starts_with('-')
                                && !a.text.starts_with("--")
                                && a.text.contains('i'))
                });
                if in_place {
                    for file in rest.iter().filter(|a| {
                        let subcommand =
                            a.known && matches!(a.text.as_str(), "eval" | "e" | "eval-all" | "ea");
                        !(super::is_option(a) || subcommand)
                    }) {
                        self.judge_overwrite(file, scope, " (rewritten in place by yq -i)");
                    }
                }
                Stdin::Output { safe: false }
            }
            // `split --filter=COMMAND` runs COMMAND in a shell for each piece (split(1));
            // the input file is read.
            "split" => {
                const SPLIT: OptSpec = OptSpec {
                    short: "abCln",
                    long: &[
                        "suffix-length",
                        "additional-suffix",
                        "bytes",
                        "line-bytes",
                        "lines",
                        "number",
                        "separator",
                        "filter",
                        "numeric-suffixes",
                        "hex-suffixes",
                    ],
                    flags: &["elide-empty-files", "unbuffered", "verbose"],
                };
                let (items, _) = parse_opts(rest, &SPLIT, false);
                for filter in values_of(&items, &["--filter"]) {
                    self.run_words_as_script(&[filter], scope, "split --filter");
                }
                if let Some(input) = operands(&items).first() {
                    self.check_secret(input, scope, Access::Read);
                }
                Stdin::None
            }
            // Filters: what they print comes from what they read.
            "head" | "tail" | "cut" | "tr" | "fold" | "column" | "nl" | "fmt" => {
                self.check_file_operands(rest, scope, Access::Read);
                if rest
                    .iter()
                    .any(|a| !(super::is_option(a) || a.known && a.text == "-"))
                {
                    Stdin::Output { safe: false }
                } else {
                    passthrough(stdin, self.config)
                }
            }
            "mktemp" => self.mktemp_path(rest, scope),
            _ if METADATA.contains(&name) => {
                if matches!(name, "wc" | "du") {
                    self.judge_files0_from(rest, scope);
                }
                Stdin::Output { safe: true }
            }
            _ => return None,
        })
    }

    /// `mktemp [-d] [-p DIR | --tmpdir[=DIR] | -t] [TEMPLATE]` prints the name of a file
    /// or directory it has just created (mktemp(1)): in DIR, else in `$TMPDIR` (or
    /// /tmp) when no TEMPLATE or `-t`/`--tmpdir` is given, else TEMPLATE relative to
    /// the working directory. A representative name there (the X's left as they are)
    /// places a later `rm -rf "$tmp"` where the fresh entry really is.
    fn mktemp_path(&mut self, rest: &[Arg], scope: &Scope) -> Stdin {
        const MKTEMP: OptSpec = OptSpec {
            short: "p",
            long: &["suffix"],
            flags: &["directory", "dry-run", "quiet", "tmpdir"],
        };
        let (items, _) = parse_opts(rest, &MKTEMP, false);
        let template = operands(&items).first().map(|a| (*a).clone());
        if template.as_ref().is_some_and(|t| !t.known) {
            return Stdin::Output { safe: true };
        }
        let suffix = value_of(&items, &["--suffix"]);
        let suffix_text = suffix
            .as_ref()
            .filter(|s| s.known)
            .map(|s| s.text.clone())
            .unwrap_or_default();
        let temp_dir = || match scope.vars.get("TMPDIR") {
            Some(crate::shell::Value::Known(dir)) if !dir.is_empty() => Some(dir.clone()),
            Some(_) => None,
            None => Some(
                self.ctx
                    .temp_dirs
                    .first()
                    .map_or_else(|| "/tmp".to_owned(), |d| d.display().to_string()),
            ),
        };
        let dir = match value_of(&items, &["-p", "--tmpdir"]) {
            Some(dir) if dir.known && !dir.text.is_empty() => Some(Some(dir.text)),
            Some(dir) if dir.known => Some(temp_dir()),
            Some(_) => Some(None),
            None if template.is_none() || items.iter().any(|i| i.is(&["-t", "--tmpdir"])) => {
                Some(temp_dir())
            }
            None => None,
        };
        let name = template.map_or_else(|| "tmp.XXXXXXXXXX".to_owned(), |t| t.text)
            + &suffix
                .filter(|s| s.known)
                .map(|s| s.text)
                .unwrap_or_default();
        let path = match dir {
            Some(Some(dir)) => format!("{}/{name}", dir.trim_end_matches('/')),
            Some(None) => return Stdin::Output { safe: true },
            None => name,
        };
        // mktemp(1) makes a fresh entry only from a template ending in at least three
        // X's (it fails otherwise): that one is the command's own, wherever it lies.
        let template_part = path.rsplit('/').next().unwrap_or(&path);
        let template_part = template_part
            .strip_suffix(suffix_text.as_str())
            .unwrap_or(template_part);
        if template_part.ends_with("XXX")
            && !items.iter().any(|i| i.is(&["-u", "--dry-run"]))
            && let Some(created) = self.host_path(&path, scope)
        {
            self.note(|| format!("mktemp makes the fresh entry {}", created.display()));
            self.created.push(created);
        }
        Stdin::Text(path, rest.first().and_then(|a| a.span))
    }

    /// `--files0-from=F` (du, wc, sort; GNU abbreviations such as `--files0` too) reads
    /// F for the names to work on, and a line that names no file is printed back in the
    /// error ("wc: 'SECRET=…': No such file or directory"): F is read and shown. `-`
    /// is standard input.
    pub(super) fn judge_files0_from(&mut self, rest: &[Arg], scope: &mut Scope) {
        let mut iter = rest.iter();
        while let Some(arg) = iter.next() {
            if arg.known && arg.text == "--" {
                break;
            }
            // `--files0-from=$(…)`: the option is known, the file is not.
            let text = if arg.known {
                &arg.text
            } else {
                &arg.known_prefix
            };
            let Some(long) = text.strip_prefix("--") else {
                continue;
            };
            let (option, inline) = match long.split_once('=') {
                Some((option, value)) if arg.known => (option, Some(Arg::literal(value, arg.span))),
                Some((option, _)) => (option, Some(arg.clone())),
                None if arg.known => (long, None),
                None => continue,
            };
            if option.len() < 2 || !"files0-from".starts_with(option) {
                continue;
            }
            let Some(file) = inline.or_else(|| iter.next().cloned()) else {
                continue;
            };
            if file.known && file.text == "-" {
                continue;
            }
            self.check_secret(&file, scope, Access::Read);
        }
    }

    /// A file written with what flows into it: its text when known, for a later command
    /// that runs it.
    fn record_written_file(&mut self, file: &Arg, content: &Stdin, scope: &mut Scope) {
        let Some(path) = file
            .known
            .then(|| self.host_path(&file.text, scope))
            .flatten()
        else {
            return;
        };
        let text = match content {
            Stdin::Text(text, _) => Some(text.clone()),
            _ => None,
        };
        scope.written.insert(path, text);
    }

    /// curl, wget and friends: files they upload are read (`-T .env`, `-d @.env`,
    /// `-F f=@.env`); files they download are written with content not known until
    /// they run (a later command that runs one is asked about).
    fn judge_download(&mut self, name: &str, rest: &[Arg], scope: &mut Scope) {
        const CURL: OptSpec = OptSpec {
            short: "oTdFHuXAeEbcCrwmKDYyzQxtUP",
            long: &[
                "output",
                "upload-file",
                "data",
                "data-binary",
                "data-raw",
                "data-ascii",
                "data-urlencode",
                "form",
                "form-string",
                "header",
                "user",
                "request",
                "user-agent",
                "referer",
                "cert",
                "cookie",
                "cookie-jar",
                "continue-at",
                "write-out",
                "max-time",
                "config",
                "dump-header",
                "speed-limit",
                "speed-time",
                "time-cond",
                "quote",
                "proxy",
                "telnet-option",
                "output-dir",
                "json",
                "output-document",
                "post-file",
                "body-file",
                "input-file",
                "directory-prefix",
                "netrc-file",
                "key",
                "cacert",
                "retry",
                "connect-timeout",
                "url",
            ],
            flags: &[
                "remote-name",
                "remote-name-all",
                "silent",
                "location",
                "fail",
                "show-error",
                "insecure",
                "verbose",
                "include",
                "head",
                "compressed",
            ],
        };
        const WGET: OptSpec = OptSpec {
            short: "OoaeiBtTwQPUlARDIX",
            long: CURL.long,
            flags: CURL.flags,
        };
        // HTTPie and xh request items: `@file` is the body, `field=@file`,
        // `field:=@file` and `field@file` read a file into a field or an upload.
        if matches!(name, "http" | "https" | "xh" | "xhs") {
            for item in rest.iter().filter(|a| a.known && !super::is_option(a)) {
                let text = item.text.as_str();
                let file = text.strip_prefix('@').or_else(|| {
                    text.split_once(":=@")
                        .or_else(|| text.split_once("=@"))
                        .or_else(|| text.split_once('@'))
                        .filter(|(key, _)| !key.is_empty() && !key.contains(['/', ':']))
                        .map(|(_, file)| file)
                });
                if let Some(file) = file {
                    let file = file.split(';').next().unwrap_or(file);
                    self.check_secret(&Arg::literal(file, item.span), scope, Access::Read);
                }
            }
        }
        let spec = if name.starts_with("wget") {
            &WGET
        } else {
            &CURL
        };
        let (items, _) = parse_opts(rest, spec, false);
        let mut downloads: Vec<Arg> = Vec::new();
        for item in &items {
            let super::Opt::Flag {
                name: flag,
                value: Some(value),
                ..
            } = item
            else {
                continue;
            };
            match flag.as_str() {
                "-T" | "--upload-file" | "--post-file" | "--body-file" | "-i" | "--input-file"
                | "-K" | "--config" | "--netrc-file" => {
                    self.check_secret(value, scope, Access::Read);
                }
                "-d" | "--data" | "--data-binary" | "--data-ascii" | "--data-urlencode" | "-F"
                | "--form" | "--json" => {
                    // `@file` (and `name@file`, `name=@file`, `name=<file`) reads a file.
                    let text = value.text.as_str();
                    let file = text
                        .split_once("=@")
                        .or_else(|| text.split_once("=<"))
                        .map(|(_, f)| f)
                        .or_else(|| text.split_once('@').map(|(_, f)| f));
                    if let Some(file) = file {
                        let file = file.split(';').next().unwrap_or(file);
                        self.check_secret(&Arg::literal(file, value.span), scope, Access::Read);
                    }
                }
                "-o" | "--output" | "--output-document"
                    if (name != "wget" || flag != "-o") && value.text != "-" =>
                {
                    downloads.push(value.clone());
                }
                "-O" if name == "wget" && value.text != "-" => {
                    downloads.push(value.clone());
                }
                _ => {}
            }
        }
        // `curl -O URL`, `wget URL`: saved under the URL's last part.
        // A local server's file by URL is the file (`curl localhost:8000/.env`).
        for url in operands(&items).iter().filter(|a| a.known) {
            let local = ["localhost", "127.0.0.1", "0.0.0.0", "[::1]"]
                .iter()
                .any(|host| {
                    url.text
                        .split("://")
                        .last()
                        .is_some_and(|rest| rest.starts_with(host))
                });
            if local {
                let path = url.text.split(['?', '#']).next().unwrap_or_default();
                let file = Arg::literal(path.rsplit('/').next().unwrap_or_default(), url.span);
                self.check_secret(&file, scope, Access::Read);
            }
        }
        let names_from_url = (name == "curl"
            && items
                .iter()
                .any(|i| i.is(&["-O", "--remote-name", "--remote-name-all"])))
            || (name == "wget" && !items.iter().any(|i| i.is(&["-O", "--output-document"])));
        if names_from_url {
            // curl takes a URL without a scheme too (`curl -O host/run.sh`).
            for url in operands(&items)
                .iter()
                .filter(|a| a.known && (a.text.contains("://") || name == "curl"))
            {
                let file = url
                    .text
                    .trim_end_matches('/')
                    .rsplit('/')
                    .next()
                    .unwrap_or("index.html");
                downloads.push(Arg::literal(file, url.span));
            }
        }
        for file in downloads {
            self.check_secret(&file, scope, Access::Write);
            if let Some(path) = file
                .known
                .then(|| self.host_path(&file.text, scope))
                .flatten()
            {
                scope.written.insert(path, None);
            }
        }
    }

    fn judge_copy(&mut self, name: &str, rest: &[Arg], scope: &mut Scope) {
        const CP: OptSpec = OptSpec {
            short: "tSmogiPFlJ",
            long: &[
                "target-directory",
                "suffix",
                "mode",
                "owner",
                "group",
                "backup",
                "sparse",
                "reflink",
                "preserve",
                "no-preserve",
                "context",
                "strip-program",
                "update",
            ],
            flags: &[
                "recursive",
                "force",
                "archive",
                "no-target-directory",
                "dereference",
                "verbose",
                "interactive",
                "link",
                "symbolic-link",
                "parents",
                "remove-destination",
                "attributes-only",
                "one-file-system",
                "strip",
                "directory",
            ],
        };
        let (items, _) = parse_opts(rest, &CP, false);
        let files = operands(&items);
        let (sources, destination): (Vec<&Arg>, Option<Arg>) =
            match value_of(&items, &["-t", "--target-directory"]) {
                Some(dir) => (files.clone(), Some(dir)),
                None => match files.split_last() {
                    Some((last, sources)) => (sources.to_vec(), Some((*last).clone())),
                    None => (Vec::new(), None),
                },
            };
        for source in &sources {
            self.check_secret(source, scope, Access::Read);
        }
        if let Some(destination) = destination {
            self.check_secret(&destination, scope, Access::Write);
            // `cp /dev/null FILE` empties FILE.
            if matches!(name, "cp" | "install")
                && sources.iter().any(|s| s.known && s.text == "/dev/null")
            {
                self.judge_file_loss(&destination, scope, " (overwritten with nothing)");
            } else if matches!(name, "cp" | "install" | "ditto")
                && items
                    .iter()
                    .any(|i| i.is(&["-r", "-R", "-a", "--recursive", "--archive"]))
                && sources
                    .iter()
                    .any(|s| s.glob || !s.known || s.text.ends_with('/') || s.text.ends_with("/."))
                && !items.iter().any(|i| i.is(&["-n", "--no-clobber"]))
            {
                // A tree's contents copied over a directory: which entries are
                // replaced is what the source holds, not known from the command.
                self.judge_overwrite(&destination, scope, &format!(" (copied over by {name} -r)"));
            } else if matches!(name, "cp" | "install" | "ditto")
                && !self.names_a_directory(
                    &destination,
                    sources.len(),
                    value_of(&items, &["-t", "--target-directory"]).is_some(),
                    scope,
                )
                && !items.iter().any(|i| i.is(&["-n", "--no-clobber"]))
                && value_of(&items, &["--update"]).is_none_or(|v| v.text != "none")
            {
                self.judge_overwrite(&destination, scope, &format!(" (replaced by {name})"));
            }
            if let (Some(source), 1) = (sources.first(), sources.len())
                && let Some(path) = destination
                    .known
                    .then(|| self.host_path(&destination.text, scope))
                    .flatten()
            {
                let source_path = source
                    .known
                    .then(|| self.host_path(&source.text, scope))
                    .flatten();
                let text = source_path
                    .as_ref()
                    .and_then(|p| scope.written.get(p).cloned())
                    .flatten();
                scope.written.insert(path.clone(), text);
                // A tree copied in this command: looking at the copy is looking at the
                // original (`cp -r . /tmp/c && grep -r KEY /tmp/c`).
                if let Some(source_path) = source_path {
                    scope.links.push((path, source_path));
                }
            }
        }
    }

    /// `ln -s TARGET LINK`: later names under LINK reach TARGET.
    fn judge_link(&mut self, rest: &[Arg], scope: &mut Scope) {
        const LN: OptSpec = OptSpec {
            short: "tS",
            long: &["target-directory", "suffix", "backup"],
            flags: &[
                "symbolic",
                "force",
                "no-dereference",
                "relative",
                "logical",
                "physical",
                "verbose",
                "interactive",
                "no-target-directory",
            ],
        };
        let (items, _) = parse_opts(rest, &LN, false);
        let files = operands(&items);
        for source in files.iter().take(files.len().saturating_sub(1).max(1)) {
            self.check_secret(source, scope, Access::Read);
        }
        // `-f` removes an existing destination first (ln(1)).
        if items.iter().any(|i| i.is(&["-f", "--force"])) {
            match (
                value_of(&items, &["-t", "--target-directory"]),
                files.as_slice(),
            ) {
                (None, [.., link])
                    if files.len() > 1
                        && !self.names_a_directory(link, files.len() - 1, false, scope) =>
                {
                    self.judge_overwrite(link, scope, " (replaced by ln -f)")
                }
                _ => {}
            }
        }
        let (target, link) = match files.as_slice() {
            [target] => (*target, None),
            [target, link] => (*target, Some(*link)),
            _ => return,
        };
        let Some(cwd) = scope.cwd.clone() else { return };
        if !target.known {
            return;
        }
        let link_path = match link {
            Some(link) if link.known => resolve(&cwd, Path::new(&link.text)),
            Some(_) => return,
            None => cwd.join(Path::new(&target.text).file_name().unwrap_or_default()),
        };
        let target_text = self.follow_links(&target.text, scope);
        // A relative symlink target is relative to the link's directory.
        let base = link_path.parent().map(Path::to_path_buf).unwrap_or(cwd);
        let reached = resolve(&base, Path::new(&target_text));
        if let Some(link) = link
            && link.known
            && crate::secrets::secret_file(&link.text, self.config).is_some()
        {
            self.check_secret(link, scope, Access::Write);
        }
        self.note(|| format!("link {} -> {}", link_path.display(), reached.display()));
        scope.links.push((link_path, reached));
    }

    /// `sort -o FILE` and `uniq INPUT OUTPUT` replace their output file; sort runs
    /// `--compress-program` (sort(1)).
    fn judge_sort(&mut self, name: &str, rest: &[Arg], scope: &mut Scope, stdin: &Stdin) -> Stdin {
        const SORT: OptSpec = OptSpec {
            short: "otSkfsw",
            long: &[
                "output",
                "temporary-directory",
                "buffer-size",
                "key",
                "field-separator",
                "compress-program",
                "files0-from",
                "batch-size",
                "parallel",
                "random-source",
                "sort",
                "skip-fields",
                "skip-chars",
                "check-chars",
                "group",
                "all-repeated",
            ],
            flags: &["reverse", "numeric-sort", "unique", "count", "check"],
        };
        let (items, _) = parse_opts(rest, &SORT, false);
        let files = operands(&items);
        for file in &files {
            self.check_secret(file, scope, Access::Read);
        }
        let output = if name == "sort" {
            value_of(&items, &["-o", "--output"])
        } else {
            files.get(1).map(|a| (*a).clone())
        };
        if let Some(output) = output {
            if name == "uniq" {
                self.check_secret(&output, scope, Access::Write);
            }
            self.judge_write_target(&output, true, scope);
        }
        if name == "sort" {
            if let Some(program) = value_of(&items, &["--compress-program"]) {
                self.run_words_as_script(&[program], scope, "sort --compress-program");
            }
            self.judge_files0_from(rest, scope);
        }
        if files.iter().any(|f| !(f.known && f.text == "-")) {
            Stdin::Output { safe: false }
        } else {
            passthrough(stdin, self.config)
        }
    }

    fn judge_dd(&mut self, rest: &[Arg], scope: &mut Scope) {
        // `conv=notrunc` overwrites in place: what it writes over is lost all the same.
        for arg in rest {
            if let Some(input) = arg.text.strip_prefix("if=") {
                self.check_secret(&Arg::literal(input, arg.span), scope, Access::Read);
            }
            if let Some(output) = arg.text.strip_prefix("of=") {
                let output = Arg {
                    text: output.to_owned(),
                    known_prefix: output.to_owned(),
                    known_suffix: output.to_owned(),
                    ..arg.clone()
                };
                self.judge_write_target(&output, true, scope);
            }
        }
    }

    fn judge_disk_tool(&mut self, name: &str, rest: &[Arg]) {
        // Formatting or wiping a device destroys its files, pack or not.
        let formats = name.starts_with("mk") || matches!(name, "wipefs" | "blkdiscard");
        if formats && !self.config.has(Pack::Disk) {
            for device in rest
                .iter()
                .filter(|a| a.known && a.text.starts_with("/dev/"))
            {
                self.check_device_write(device);
            }
            return;
        }
        if self.config.has(Pack::Disk) {
            let span = rest
                .iter()
                .find(|a| a.text.starts_with("/dev/"))
                .and_then(|a| a.span)
                .or(rest.first().and_then(|a| a.span));
            let rule = if name.starts_with("mk") {
                Rule::DiskMkfs
            } else {
                Rule::DiskPartition
            };
            self.find(
                Verdict::Deny,
                rule,
                format!("`{name}` rewrites disks or file systems."),
                span,
            );
        }
    }
}

/// What a filter reading stdin prints, as far as names go: no secret name unless its
/// input had one.
pub(super) fn passthrough(stdin: &Stdin, config: &crate::config::GuardConfig) -> Stdin {
    match stdin {
        Stdin::Text(text, _) => Stdin::Output {
            safe: !text
                .split_whitespace()
                .any(|word| crate::secrets::secret_file(word, config).is_some()),
        },
        Stdin::Output { safe } => Stdin::Output { safe: *safe },
        Stdin::File(..) | Stdin::None => Stdin::Output { safe: false },
    }
}

/// What `echo` prints.
fn echo_text(rest: &[Arg]) -> Stdin {
    let mut escapes = false;
    let words: Vec<&Arg> = rest
        .iter()
        .skip_while(|a| {
            let flag = a.known
                && a.text.len() > 1
                && a.text.starts_with('-')
                && a.text[1..].chars().all(|c| "neE".contains(c));
            if flag && a.text.contains('e') {
                escapes = true;
            }
            flag
        })
        .collect();
    if words.iter().any(|w| !w.known) {
        return Stdin::Output {
            safe: words.iter().all(|w| w.known || w.safe),
        };
    }
    let text = words
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let text = if escapes { decode_ansi_c(&text) } else { text };
    Stdin::Text(text, words.first().and_then(|w| w.span))
}

/// What `printf FORMAT ARGS…` prints, for the common formats.
fn printf_text(rest: &[Arg]) -> Stdin {
    let args: Vec<&Arg> = rest
        .iter()
        .skip_while(|a| a.known && a.text == "--")
        .collect();
    let Some(format) = args.first().filter(|f| f.known) else {
        return Stdin::Output { safe: false };
    };
    if args.iter().any(|a| !a.known) {
        return Stdin::Output { safe: false };
    }
    let mut values = args[1..].iter().map(|a| a.text.as_str());
    let mut out = String::new();
    let mut chars = format.text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('s') => out.push_str(values.next().unwrap_or_default()),
            Some('b') => out.push_str(&decode_ansi_c(values.next().unwrap_or_default())),
            Some('d' | 'i' | 'c' | 'x' | 'o' | 'u') => {
                out.push_str(values.next().unwrap_or_default())
            }
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    Stdin::Text(decode_ansi_c(&out), format.span)
}

fn decode_base64(text: &str) -> Option<String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .or_else(|_| {
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(compact.trim_end_matches('=').as_bytes())
        })
        .ok()?;
    String::from_utf8(bytes).ok()
}

fn decode_hex(text: &str) -> Option<String> {
    let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
    let bytes: Option<Vec<u8>> = digits
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
        })
        .collect();
    String::from_utf8(bytes?).ok()
}
