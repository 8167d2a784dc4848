//! Programs that delete, and the rule every delete goes through.
//!
//! Deleting is more than `rm`: `unlink`, `shred -u`, `srm`, `wipe`, trash commands,
//! `rimraf` and `del` (often through `npx`), truncation (`truncate -s 0`, `> file`,
//! `cp /dev/null`), archivers that remove what they add (`tar --remove-files`, `zip -m`,
//! `7z -sdel`), `rsync --delete` and `--remove-source-files`, `rclone purge|delete|sync`,
//! moving a whole zone away (`mv ~ …`), compressors that replace what they compress
//! (`gzip -r`), `fallocate --punch-hole`, `cmake -E rm`, and everything that replaces a
//! file's content (copied, moved, linked or extracted over). Each target is resolved and placed in its
//! nearest zone ([`crate::paths`]); the zone decides.

use std::path::Path;

use super::{Access, OptSpec, operands, parse_opts, split_glob_base, value_of, values_of};
use crate::decision::Verdict;
use crate::paths::{Relation, Zone, classify};
use crate::rules::Rule;
use crate::shell::word::Arg;
use crate::shell::{Scope, Stdin, Walker};

/// How much of a target goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Removal {
    /// The file itself (or its content).
    File,
    /// It and everything under it.
    Recursive,
    /// Files under it chosen by a filter (`find -name`, a glob such as `*.log`).
    Selected,
}

impl Removal {
    fn what(self) -> &'static str {
        match self {
            Removal::File => "delete",
            Removal::Recursive => "recursive delete",
            Removal::Selected => "delete",
        }
    }
}

/// Programs that are `rm -r` by nature (they take directories whole).
pub(super) const RECURSIVE_DELETERS: &[&str] = &[
    "rimraf",
    "del",
    "del-cli",
    "trash",
    "trash-put",
    "trash-cli",
    "rmtrash",
    "gvfs-trash",
    "premove",
    "rm-r",
    "rmrf",
    "delete-cli",
];

/// Compressors that replace each file they are given by its compressed (or
/// decompressed) form, unless told to keep it: gzip(1), bzip2(1), xz(1), lzip, lzop,
/// compress; zstd, lz4 and brotli keep their input unless given `--rm`.
pub(super) const COMPRESSORS: &[&str] = &[
    "gzip",
    "gunzip",
    "pigz",
    "unpigz",
    "bzip2",
    "bunzip2",
    "pbzip2",
    "xz",
    "unxz",
    "lzma",
    "unlzma",
    "lzip",
    "plzip",
    "lzop",
    "compress",
    "uncompress",
    "zstd",
    "unzstd",
    "zstdmt",
    "lz4",
    "unlz4",
    "brotli",
];

impl Walker<'_> {
    /// A deleting program; `None` when `name` is not one.
    pub(super) fn judge_deleter(
        &mut self,
        name: &str,
        rest: &[Arg],
        scope: &mut Scope,
        stdin: &Stdin,
    ) -> Option<Stdin> {
        match name {
            "rm" | "unlink" | "srm" | "wipe" => self.judge_rm(name, rest, scope),
            "shred" => self.judge_shred(rest, scope),
            // rmdir(1) removes empty directories (`-p`: and their parents): a directory
            // of home outside the project is still home's.
            "rmdir" => {
                self.check_file_operands(rest, scope, Access::Write);
                for dir in operands(&parse_opts(rest, &OptSpec::default(), false).0) {
                    self.judge_removal(dir, Removal::File, scope, " (rmdir)");
                }
            }
            "truncate" => self.judge_truncate(rest, scope),
            "tar" | "bsdtar" | "gtar" => self.judge_tar(rest, scope),
            "zip" => self.judge_zip(rest, scope),
            "7z" | "7za" | "7zz" => self.judge_7z(rest, scope),
            "rsync" => self.judge_rsync(rest, scope),
            "rclone" => self.judge_rclone(rest, scope),
            "mv" => self.judge_mv(rest, scope),
            _ if COMPRESSORS.contains(&name) => {
                self.judge_compressor(name, rest, scope);
                // `gzip -dc x.gz | sh`: what it prints is not known.
                return Some(Stdin::Output { safe: false });
            }
            "fallocate" => self.judge_fallocate(rest, scope),
            "cmake" if rest.first().is_some_and(|a| a.known && a.text == "-E") => {
                return Some(self.judge_cmake_tool(&rest[1..], scope, stdin));
            }
            // `cmake -P SCRIPT` runs a CMake script (`file(REMOVE_RECURSE …)`,
            // `execute_process(…)`): one from input or written in this command is not
            // read by the guard.
            "cmake" => {
                let script = rest
                    .iter()
                    .position(|a| a.known && a.text == "-P")
                    .and_then(|at| rest.get(at + 1))?;
                let from_input = script.known
                    && matches!(script.text.as_str(), "-" | "/dev/stdin" | "/dev/fd/0")
                    && !matches!(stdin, Stdin::None);
                let written = script
                    .known
                    .then(|| self.host_path(&script.text, scope))
                    .flatten()
                    .is_some_and(|path| scope.written.contains_key(&path));
                if from_input || written || !script.known {
                    self.find(
                        Verdict::Ask,
                        Rule::ShellUnresolvedScript,
                        "`cmake -P` runs a script given in the command, in a language the guard \
                         does not read."
                            .to_owned(),
                        script.span,
                    );
                }
                return None;
            }
            "unzip" | "cpio" => {
                if name == "unzip" {
                    self.judge_unzip(rest, scope);
                } else {
                    self.judge_cpio(rest, scope, stdin);
                }
                return Some(Stdin::Output { safe: false });
            }
            "gio" | "kioclient" | "kioclient5" => {
                let sub = rest.first().map(|a| a.text.as_str());
                if matches!(sub, Some("trash" | "remove" | "rm" | "move")) {
                    for target in operands(&parse_opts(&rest[1..], &OptSpec::default(), false).0) {
                        self.judge_removal(
                            target,
                            Removal::Recursive,
                            scope,
                            &format!(" ({name} {})", sub.unwrap_or_default()),
                        );
                    }
                }
            }
            "trash-empty" => {
                let trash = Arg::literal(
                    format!("{}/.local/share/Trash", self.ctx.home.display()),
                    None,
                );
                self.judge_removal(&trash, Removal::Recursive, scope, " (trash-empty)");
            }
            "shx" if rest.first().is_some_and(|a| a.text == "rm") => {
                self.judge_rm("rm", &rest[1..], scope)
            }
            _ if RECURSIVE_DELETERS.contains(&name) => {
                const SPEC: OptSpec = OptSpec {
                    short: "",
                    long: &["filter"],
                    flags: &[
                        "glob",
                        "preserve-root",
                        "no-preserve-root",
                        "verbose",
                        "dry-run",
                    ],
                };
                let (items, _) = parse_opts(rest, &SPEC, false);
                // `rimraf --glob 'pattern'` (and del, always) expand patterns themselves.
                let expands = name != "rimraf" || items.iter().any(|i| i.is(&["--glob"]));
                for target in operands(&items) {
                    let mut target = target.clone();
                    target.glob |=
                        expands && target.known && crate::secrets::has_glob(&target.text);
                    self.check_secret(&target, scope, Access::Write);
                    self.judge_removal(&target, Removal::Recursive, scope, &format!(" ({name})"));
                }
            }
            _ => return None,
        }
        Some(Stdin::None)
    }

    /// `rm`, `unlink`, `srm`, `wipe`: recursive flags (GNU abbreviations too), then each
    /// target resolved and placed.
    fn judge_rm(&mut self, name: &str, rest: &[Arg], scope: &mut Scope) {
        const RM: OptSpec = OptSpec {
            short: "",
            long: &["interactive", "preserve-root"],
            flags: &[
                "recursive",
                "force",
                "dir",
                "verbose",
                "one-file-system",
                "no-preserve-root",
                "help",
                "version",
            ],
        };
        let (items, _) = if name == "unlink" {
            (rest.iter().map(super::Opt::Operand).collect(), 0)
        } else {
            parse_opts(rest, &RM, false)
        };
        let recursive = items.iter().any(|i| i.is(&["-r", "-R", "--recursive"]));
        let removal = if recursive {
            Removal::Recursive
        } else {
            Removal::File
        };
        for target in operands(&items) {
            self.judge_removal(target, removal, scope, "");
            self.check_secret(target, scope, Access::Write);
        }
    }

    fn judge_shred(&mut self, rest: &[Arg], scope: &mut Scope) {
        const SHRED: OptSpec = OptSpec {
            short: "ns",
            long: &["iterations", "size", "random-source"],
            flags: &["force", "remove", "verbose", "exact", "zero"],
        };
        let (items, _) = parse_opts(rest, &SHRED, false);
        for target in operands(&items) {
            self.check_device_write(target);
            self.check_secret(target, scope, Access::Write);
            // Overwritten whether or not it is removed afterwards: its content is lost.
            self.judge_removal(target, Removal::File, scope, " (shred)");
        }
    }

    /// `truncate -s 0 FILE`: a size that does not grow the file destroys its content.
    fn judge_truncate(&mut self, rest: &[Arg], scope: &mut Scope) {
        const TRUNCATE: OptSpec = OptSpec {
            short: "sro",
            long: &["size", "reference"],
            flags: &["no-create", "io-blocks"],
        };
        let (items, _) = parse_opts(rest, &TRUNCATE, false);
        let grows = value_of(&items, &["-s", "--size"])
            .is_some_and(|s| s.text.starts_with('+') || s.text.starts_with('>'));
        for target in operands(&items) {
            self.check_secret(target, scope, Access::Write);
            if !grows {
                self.judge_removal(target, Removal::File, scope, " (truncate)");
            }
        }
    }

    /// `tar --remove-files -cf out.tar DIR…`: the files added are deleted.
    fn judge_tar(&mut self, rest: &[Arg], scope: &mut Scope) {
        const TAR: OptSpec = OptSpec {
            short: "fCTXbHLNgKVIF",
            long: &[
                "file",
                "directory",
                "files-from",
                "exclude-from",
                "exclude",
                "blocking-factor",
                "format",
                "newer",
                "listed-incremental",
                "transform",
                "xform",
                "use-compress-program",
                "owner",
                "group",
                "mode",
                "mtime",
                "label",
                "strip-components",
                "suffix",
                "to-command",
                "checkpoint-action",
                "info-script",
                "new-volume-script",
                "rsh-command",
                "index-file",
                "sort",
                "warning",
                "after-date",
                "starting-file",
                "tape-length",
                "volno-file",
            ],
            flags: &[
                "remove-files",
                "create",
                "extract",
                "get",
                "list",
                "append",
                "update",
                "delete",
                "verbose",
                "gzip",
                "bzip2",
                "xz",
                "zstd",
                "to-stdout",
                "overwrite",
                "keep-old-files",
                "skip-old-files",
                "keep-newer-files",
                "recursive-unlink",
                "unlink-first",
                "absolute-names",
                "dereference",
            ],
        };
        // `tar czf x.tgz dir`: the first word may be a cluster of options without a dash.
        let mut args: Vec<Arg> = rest.to_vec();
        if let Some(first) = args.first_mut()
            && first.known
            && !first.text.starts_with('-')
            && first.text.chars().all(|c| c.is_ascii_alphabetic())
        {
            first.text = format!("-{}", first.text);
        }
        let (items, _) = parse_opts(&args, &TAR, false);
        let removes = items.iter().any(|i| i.is(&["--remove-files"]));
        // Options whose value is a command tar runs (tar(1)): every one given.
        for command in values_of(
            &items,
            &[
                "--to-command",
                "--use-compress-program",
                "--info-script",
                "--new-volume-script",
                "--rsh-command",
                "-I",
                "-F",
            ],
        ) {
            self.run_words_as_script(&[command], scope, "a command run by tar");
        }
        for action in values_of(&items, &["--checkpoint-action"]) {
            if let Some(command) = action.text.strip_prefix("exec=") {
                self.run_words_as_script(
                    &[Arg::literal(command, action.span)],
                    scope,
                    "tar --checkpoint-action",
                );
            } else if !action.known {
                self.run_words_as_script(&[action], scope, "tar --checkpoint-action");
            }
        }
        let extracting = items.iter().any(|i| i.is(&["-x", "--extract", "--get"]));
        let mut inner = scope.clone();
        if let Some(dir) = value_of(&items, &["-C", "--directory"]) {
            inner.cwd = match (dir.known, &scope.cwd) {
                (true, Some(cwd)) => Some(crate::paths::resolve(cwd, Path::new(&dir.text))),
                _ => None,
            };
        }
        // Extracting replaces what the archive holds in the directory it extracts to
        // (GNU tar overwrites by default).
        let keeps = items.iter().any(|i| {
            i.is(&[
                "-k",
                "--keep-old-files",
                "--skip-old-files",
                "--keep-newer-files",
            ])
        });
        if extracting && !keeps {
            let dir =
                value_of(&items, &["-C", "--directory"]).unwrap_or_else(|| Arg::literal(".", None));
            self.judge_overwrite(&dir, scope, " (extracted over by tar)");
        }
        for operand in operands(&items) {
            if extracting {
                continue;
            }
            self.check_secret(operand, &inner, Access::Read);
            if removes {
                self.judge_removal(operand, Removal::Recursive, &inner, " (tar --remove-files)");
            }
        }
        if let Some(archive) = value_of(&items, &["-f", "--file"]) {
            self.check_secret(&archive, scope, Access::Read);
        }
    }

    /// `zip -m` moves files into the archive: they are deleted (recursively with `-r`).
    fn judge_zip(&mut self, rest: &[Arg], scope: &mut Scope) {
        const ZIP: OptSpec = OptSpec {
            short: "bnPtxiZ",
            long: &[
                "temp-path",
                "suffixes",
                "password",
                "from-date",
                "exclude",
                "include",
                "compression-method",
                "unzip-command",
                "tt",
            ],
            flags: &["move", "recurse-paths", "quiet", "encrypt"],
        };
        // `-TT cmd` (zip(1): "Use command cmd instead of 'unzip -tqq' to test an archive
        // when the -T option is used") is two letters after one dash: not a cluster.
        let mut args: Vec<Arg> = Vec::with_capacity(rest.len());
        let mut test_commands: Vec<Arg> = Vec::new();
        let mut iter = rest.iter();
        while let Some(arg) = iter.next() {
            match arg.text.as_str() {
                "-TT" if arg.known => test_commands.extend(iter.next().cloned()),
                text if arg.known && text.starts_with("-TT") => {
                    test_commands.push(Arg::literal(&text[3..], arg.span))
                }
                _ => args.push(arg.clone()),
            }
        }
        let (items, _) = parse_opts(&args, &ZIP, false);
        test_commands.extend(values_of(&items, &["--unzip-command", "--tt"]));
        for command in test_commands {
            self.run_words_as_script(&[command], scope, "zip -TT");
        }
        let moves = items.iter().any(|i| i.is(&["-m", "--move"]));
        let recursive = items.iter().any(|i| i.is(&["-r", "-R", "--recurse-paths"]));
        let files = operands(&items);
        for file in files.iter().skip(1) {
            self.check_secret(file, scope, Access::Read);
            if moves {
                let removal = if recursive {
                    Removal::Recursive
                } else {
                    Removal::File
                };
                self.judge_removal(file, removal, scope, " (zip -m)");
            }
        }
    }

    /// `gzip FILE…` replaces each file by its compressed form (recursively with `-r`):
    /// the original is gone. `-k`, `-c`, `-t`, `-l` keep it.
    fn judge_compressor(&mut self, name: &str, rest: &[Arg], scope: &mut Scope) {
        const SPEC: OptSpec = OptSpec {
            short: "SbBTLMmoe",
            long: &[
                "suffix",
                "threads",
                "format",
                "memlimit",
                "block-size",
                "level",
            ],
            flags: &[
                "keep",
                "stdout",
                "to-stdout",
                "test",
                "list",
                "recursive",
                "force",
                "decompress",
                "uncompress",
                "rm",
                "quiet",
                "verbose",
            ],
        };
        let (items, _) = parse_opts(rest, &SPEC, false);
        let keeps_by_default = matches!(
            name,
            "zstd" | "unzstd" | "zstdmt" | "lz4" | "unlz4" | "brotli"
        );
        let removes = items.iter().any(|i| i.is(&["--rm", "-j"]))
            || !keeps_by_default
                && !items.iter().any(|i| {
                    i.is(&[
                        "-k",
                        "--keep",
                        "-c",
                        "--stdout",
                        "--to-stdout",
                        "-t",
                        "--test",
                        "-l",
                        "--list",
                    ])
                });
        let recursive = items.iter().any(|i| i.is(&["-r", "--recursive"]));
        for file in operands(&items) {
            self.check_secret(file, scope, Access::Read);
            if removes && !(file.known && file.text == "-") {
                let removal = if recursive {
                    Removal::Recursive
                } else {
                    Removal::File
                };
                self.judge_removal(file, removal, scope, &format!(" ({name} replaces it)"));
            }
        }
    }

    /// `cmake -E COMMAND` (cmake(1), command-line tool mode): `rm [-rRf]`, `remove`,
    /// `remove_directory` delete; `env`, `chdir DIR`, `time` run their argv; `cat`
    /// reads; `copy*`, `rename`, `create_*link` replace their destination.
    fn judge_cmake_tool(&mut self, rest: &[Arg], scope: &mut Scope, stdin: &Stdin) -> Stdin {
        let Some(command) = rest.first().filter(|a| a.known).map(|a| a.text.clone()) else {
            return Stdin::Output { safe: false };
        };
        let args = &rest[1..];
        let via = format!(" (cmake -E {command})");
        let files: Vec<&Arg> = args.iter().filter(|a| !super::is_option(a)).collect();
        match command.as_str() {
            "rm" | "remove" | "remove_directory" => {
                let recursive = command == "remove_directory"
                    || args
                        .iter()
                        .any(|a| super::is_option(a) && a.text.contains(['r', 'R']));
                let removal = if recursive {
                    Removal::Recursive
                } else {
                    Removal::File
                };
                for file in files {
                    self.check_secret(file, scope, Access::Write);
                    self.judge_removal(file, removal, scope, &via);
                }
            }
            "env" => {
                let start = args
                    .iter()
                    .position(|a| {
                        !(a.known
                            && (a.text.starts_with("--unset=")
                                || a.text.starts_with("--modify")
                                || a.text == "--"
                                || a.text.contains('=') && !a.text.starts_with('-')))
                    })
                    .unwrap_or(args.len());
                return self.judge_inner("cmake -E env", &args[start..], scope, stdin);
            }
            "time" => return self.judge_inner("cmake -E time", args, scope, stdin),
            "chdir" => {
                let mut inner = scope.clone();
                if let Some(dir) = args.first() {
                    inner.cwd = match (dir.known, &scope.cwd) {
                        (true, Some(cwd)) => Some(crate::paths::resolve(cwd, Path::new(&dir.text))),
                        _ => None,
                    };
                }
                return self.judge_inner(
                    "cmake -E chdir",
                    args.get(1..).unwrap_or_default(),
                    &mut inner,
                    stdin,
                );
            }
            "cat" => {
                for file in files {
                    self.check_secret(file, scope, Access::Read);
                }
            }
            "copy"
            | "copy_if_different"
            | "copy_directory"
            | "copy_directory_if_different"
            | "rename"
            | "create_symlink"
            | "create_hardlink" => {
                if let Some((destination, sources)) = files.split_last() {
                    for source in sources {
                        self.check_secret(source, scope, Access::Read);
                        if command == "rename" {
                            self.judge_overwrite(source, scope, &via);
                        }
                    }
                    self.check_secret(destination, scope, Access::Write);
                    self.judge_overwrite(destination, scope, &via);
                }
            }
            _ => self.check_file_operands(args, scope, Access::Mention),
        }
        Stdin::Output { safe: false }
    }

    /// `fallocate -p|-c|-z` (punch a hole, collapse or zero a range) destroys the data
    /// in the range (fallocate(1)); plain allocation does not.
    fn judge_fallocate(&mut self, rest: &[Arg], scope: &mut Scope) {
        const SPEC: OptSpec = OptSpec {
            short: "ol",
            long: &["offset", "length"],
            flags: &[
                "punch-hole",
                "collapse-range",
                "zero-range",
                "insert-range",
                "dig-holes",
                "keep-size",
                "posix",
                "verbose",
            ],
        };
        let (items, _) = parse_opts(rest, &SPEC, false);
        let destroys = items.iter().any(|i| {
            i.is(&[
                "-p",
                "--punch-hole",
                "-c",
                "--collapse-range",
                "-z",
                "--zero-range",
            ])
        });
        for file in operands(&items) {
            self.check_secret(file, scope, Access::Write);
            if destroys {
                self.judge_file_loss(file, scope, " (fallocate)");
            }
        }
    }

    /// `unzip [-o] ARCHIVE [-d DIR]`: `-o` overwrites what is in DIR (the working
    /// directory by default) without asking.
    fn judge_unzip(&mut self, rest: &[Arg], scope: &mut Scope) {
        const SPEC: OptSpec = OptSpec {
            short: "dxP",
            long: &[],
            flags: &[],
        };
        let (items, _) = parse_opts(rest, &SPEC, false);
        let files = operands(&items);
        if let Some(archive) = files.first() {
            self.check_secret(archive, scope, Access::Read);
        }
        let to_stdout = items
            .iter()
            .any(|i| i.is(&["-p", "-c", "-l", "-t", "-v", "-Z"]));
        let overwrites = items.iter().any(|i| i.is(&["-o"]));
        if overwrites && !to_stdout {
            let dir = value_of(&items, &["-d"]).unwrap_or_else(|| Arg::literal(".", None));
            self.judge_overwrite(&dir, scope, " (extracted over by unzip -o)");
        }
    }

    /// `cpio -i [-u] [-D DIR]` extracts into DIR (the working directory), replacing older
    /// files (all of them with `-u`).
    fn judge_cpio(&mut self, rest: &[Arg], scope: &mut Scope, stdin: &Stdin) {
        const SPEC: OptSpec = OptSpec {
            short: "DEFHIMORs",
            long: &[
                "directory",
                "pattern-file",
                "file",
                "format",
                "message",
                "owner",
                "rsh-command",
                "to-command",
            ],
            flags: &[
                "extract",
                "create",
                "pass-through",
                "unconditional",
                "make-directories",
            ],
        };
        let (items, _) = parse_opts(rest, &SPEC, false);
        for command in values_of(&items, &["--rsh-command", "--to-command"]) {
            self.run_words_as_script(&[command], scope, "a command run by cpio");
        }
        for file in values_of(
            &items,
            &["-F", "-I", "-O", "--file", "-E", "--pattern-file"],
        ) {
            self.check_secret(&file, scope, Access::Read);
        }
        let extracts = items.iter().any(|i| i.is(&["-i", "--extract"]));
        let pass = items.iter().any(|i| i.is(&["-p", "--pass-through"]));
        // `-o` and `-p` read the names of the files to copy from stdin, one a line.
        if pass || items.iter().any(|i| i.is(&["-o", "--create"])) {
            match stdin {
                Stdin::Text(text, span) => {
                    for name in text.lines().filter(|l| !l.trim().is_empty()) {
                        self.check_secret(&Arg::literal(name.trim(), *span), scope, Access::Read);
                    }
                }
                Stdin::Output { safe } => {
                    self.check_secret(&Arg::produced(None, *safe), scope, Access::Read);
                }
                Stdin::File(..) => {
                    self.check_secret(&Arg::produced(None, false), scope, Access::Read)
                }
                Stdin::None => {}
            }
        }
        if extracts || pass {
            let dir = value_of(&items, &["-D", "--directory"])
                .or_else(|| {
                    pass.then(|| operands(&items).first().map(|a| (*a).clone()))
                        .flatten()
                })
                .unwrap_or_else(|| Arg::literal(".", None));
            self.judge_overwrite(&dir, scope, " (extracted over by cpio)");
        }
    }

    /// `7z a -sdel archive files…`: the files added are deleted; `7z x -aoa -oDIR` (or
    /// `-y`) overwrites what is in DIR.
    fn judge_7z(&mut self, rest: &[Arg], scope: &mut Scope) {
        let command = rest
            .iter()
            .find(|a| !super::is_option(a))
            .map(|a| a.text.as_str());
        if matches!(command, Some("x" | "e"))
            && rest
                .iter()
                .any(|a| a.known && (a.text == "-aoa" || a.text == "-y"))
        {
            let dir = rest
                .iter()
                .find_map(|a| {
                    a.text
                        .strip_prefix("-o")
                        .filter(|d| a.known && !d.is_empty())
                        .map(|d| Arg::literal(d, a.span))
                })
                .unwrap_or_else(|| Arg::literal(".", None));
            self.judge_overwrite(&dir, scope, " (extracted over by 7z)");
        }
        let deletes = rest.iter().any(|a| a.known && a.text == "-sdel");
        let files: Vec<&Arg> = rest
            .iter()
            .filter(|a| !super::is_option(a))
            .skip(2)
            .collect();
        for file in files {
            self.check_secret(file, scope, Access::Read);
            if deletes {
                self.judge_removal(file, Removal::Recursive, scope, " (7z -sdel)");
            }
        }
    }

    /// `rsync --delete SRC DEST`: files in DEST not in SRC go; `--remove-source-files`:
    /// the sources go.
    fn judge_rsync(&mut self, rest: &[Arg], scope: &mut Scope) {
        const RSYNC: OptSpec = OptSpec {
            short: "eBfT",
            long: &[
                "rsh",
                "rsync-path",
                "exclude",
                "include",
                "exclude-from",
                "include-from",
                "files-from",
                "filter",
                "backup-dir",
                "suffix",
                "chmod",
                "chown",
                "usermap",
                "groupmap",
                "compare-dest",
                "copy-dest",
                "link-dest",
                "temp-dir",
                "log-file",
                "log-file-format",
                "out-format",
                "password-file",
                "max-size",
                "min-size",
                "max-delete",
                "timeout",
                "contimeout",
                "port",
                "bwlimit",
                "partial-dir",
                "skip-compress",
                "info",
                "debug",
                "compress-choice",
                "checksum-choice",
                "iconv",
                "only-write-batch",
                "write-batch",
                "read-batch",
                "modify-window",
                "block-size",
                "stop-after",
                "stop-at",
                "sockopts",
                "outbuf",
                "remote-option",
                "address",
            ],
            flags: &[
                "delete",
                "delete-before",
                "delete-during",
                "delete-delay",
                "delete-after",
                "delete-excluded",
                "delete-missing-args",
                "del",
                "remove-source-files",
                "recursive",
                "archive",
                "dry-run",
                "verbose",
                "force",
            ],
        };
        let (items, _) = parse_opts(rest, &RSYNC, false);
        if let Some(shell) = value_of(&items, &["-e", "--rsh"]) {
            self.run_words_as_script(&[shell], scope, "rsync -e");
        }
        let dry = items.iter().any(|i| i.is(&["-n", "--dry-run"]));
        let files = operands(&items);
        let Some((destination, sources)) = files.split_last() else {
            return;
        };
        for source in sources {
            self.check_secret(source, scope, Access::Read);
        }
        self.check_secret(destination, scope, Access::Write);
        if dry {
            return;
        }
        let deletes = items
            .iter()
            .any(|i| matches!(i, super::Opt::Flag { name, .. } if name.starts_with("--del")));
        let remote = |arg: &Arg| {
            arg.known
                && arg
                    .text
                    .split('/')
                    .next()
                    .is_some_and(|head| head.contains(':'))
        };
        if deletes && !remote(destination) {
            // Files there that the source lacks are deleted: the destination as a whole.
            self.judge_removal(destination, Removal::Recursive, scope, " (rsync --delete)");
        }
        if items.iter().any(|i| i.is(&["--remove-source-files"])) {
            for source in sources.iter().filter(|s| !remote(s)) {
                self.judge_removal(
                    source,
                    Removal::Recursive,
                    scope,
                    " (rsync --remove-source-files)",
                );
            }
        }
    }

    /// `rclone purge|delete|rmdirs|deletefile PATH`, `rclone sync SRC DEST`,
    /// `rclone move SRC DEST` on local paths (`remote:path` is not this machine).
    fn judge_rclone(&mut self, rest: &[Arg], scope: &mut Scope) {
        let words: Vec<&Arg> = rest.iter().filter(|a| !super::is_option(a)).collect();
        let Some(sub) = words.first() else { return };
        let local = |arg: &&&Arg| {
            arg.known
                && !arg
                    .text
                    .split('/')
                    .next()
                    .is_some_and(|head| head.contains(':'))
        };
        let via = format!(" (rclone {})", sub.text);
        match sub.text.as_str() {
            "purge" | "delete" | "rmdirs" | "deletefile" => {
                for target in words[1..].iter().filter(local) {
                    self.judge_removal(target, Removal::Recursive, scope, &via);
                }
            }
            "sync" | "bisync" => {
                if let Some(destination) = words.get(2).filter(local) {
                    self.judge_removal(destination, Removal::Recursive, scope, &via);
                }
            }
            "move" | "moveto" => {
                if let Some(source) = words.get(1).filter(local) {
                    self.judge_removal(source, Removal::Recursive, scope, &via);
                }
            }
            _ => {}
        }
    }

    /// `mv SOURCE… DEST`: moving a whole zone (home, the project, a system directory) is
    /// deleting it from where it belongs.
    pub(super) fn judge_mv(&mut self, rest: &[Arg], scope: &mut Scope) {
        const MV: OptSpec = OptSpec {
            short: "tS",
            long: &["target-directory", "suffix", "backup", "update"],
            flags: &[
                "force",
                "interactive",
                "no-clobber",
                "strip-trailing-slashes",
                "no-target-directory",
                "verbose",
                "exchange",
            ],
        };
        let (items, _) = parse_opts(rest, &MV, false);
        let files = operands(&items);
        let target_dir = value_of(&items, &["-t", "--target-directory"]);
        let target_dir_given = target_dir.is_some();
        let (sources, destination): (Vec<&Arg>, Option<Arg>) = match target_dir {
            Some(dir) => (files.clone(), Some(dir)),
            None => match files.split_last() {
                Some((destination, sources)) => (sources.to_vec(), Some((*destination).clone())),
                None => (Vec::new(), None),
            },
        };
        // `-n`, `--update=none`: nothing that exists is replaced.
        let keeps = items.iter().any(|i| i.is(&["-n", "--no-clobber"]))
            || value_of(&items, &["--update"]).is_some_and(|v| v.text == "none");
        // Moved into the project, a file from home is kept where the agent works.
        let into_project = destination
            .as_ref()
            .is_some_and(|d| self.inside_project(d, scope));
        for source in &sources {
            self.check_secret(source, scope, Access::Read);
            self.judge_move_source(source, scope);
            if !into_project {
                self.judge_overwrite(source, scope, " (moved away by mv)");
            }
        }
        if let Some(destination) = destination {
            self.check_secret(&destination, scope, Access::Write);
            if !keeps
                && !self.names_a_directory(&destination, sources.len(), target_dir_given, scope)
            {
                self.judge_overwrite(&destination, scope, " (replaced by mv)");
            }
            // What is moved is then found under its new name.
            if let ([source], Some(to)) = (
                sources.as_slice(),
                destination
                    .known
                    .then(|| self.host_path(&destination.text, scope))
                    .flatten(),
            ) && let Some(from) = source
                .known
                .then(|| self.host_path(&source.text, scope))
                .flatten()
            {
                scope.links.push((to, from));
            }
        }
    }

    fn judge_move_source(&mut self, source: &Arg, scope: &Scope) {
        if !source.known {
            if source.runtime && !source.safe {
                self.judge_removal(source, Removal::Recursive, scope, " (mv)");
            }
            return;
        }
        let (base, glob) = split_glob_base(&source.text);
        let text = if glob.is_empty() {
            source.text.clone()
        } else {
            base
        };
        let Some(path) = self.host_path(&text, scope) else {
            return;
        };
        let placed = classify(&path, self.ctx, self.config);
        let breaks = matches!(
            (placed.zone, placed.relation),
            (Zone::Root | Zone::System | Zone::Protected, _)
                | (Zone::Home | Zone::Project, Relation::Is | Relation::Holds)
                | (Zone::Temp, Relation::Is)
        ) || (!glob.is_empty() && !placed.allows_selected_delete());
        if breaks {
            self.find(
                Verdict::Deny,
                placed.rule(),
                format!(
                    "this move (mv) would take {} away from where it belongs: {}.",
                    path.display(),
                    placed.describe(self.ctx)
                ),
                source.span,
            );
        }
    }

    /// A file whose content a write destroys (`> file`, `cp /dev/null file`).
    pub(crate) fn judge_file_loss(&mut self, target: &Arg, scope: &Scope, via: &str) {
        self.judge_removal(target, Removal::File, scope, via);
    }

    /// A file (or the files of a directory) whose content a program replaces: copied,
    /// moved, linked or extracted over, sorted into, rewritten in place. What was there
    /// is lost as by a delete: denied in home outside the project and in protected
    /// paths. Installing into a system directory is what package managers and `sudo
    /// install` do all day: left to the system's own permissions.
    pub(crate) fn judge_overwrite(&mut self, target: &Arg, scope: &Scope, via: &str) {
        if target.known
            && let Some(path) = self.host_path(&split_glob_base(&target.text).0, scope)
            && matches!(
                classify(&path, self.ctx, self.config).zone,
                Zone::System | Zone::Root
            )
        {
            return;
        }
        self.judge_file_loss(target, scope, via);
    }

    /// Whether a destination names a directory the files go into (a trailing `/`, `-t`,
    /// several sources, or the root of home, the project or a temp dir): only an entry
    /// of the same name there could be replaced, and whether one exists is not known.
    pub(crate) fn names_a_directory(
        &self,
        destination: &Arg,
        sources: usize,
        target_dir: bool,
        scope: &Scope,
    ) -> bool {
        target_dir
            || sources > 1
            || destination.known
                && (destination.text.ends_with('/')
                    || destination.text.ends_with("/.")
                    || self
                        .host_path(&destination.text, scope)
                        .is_some_and(|path| {
                            classify(&path, self.ctx, self.config).relation == Relation::Is
                        }))
    }

    /// Whether a name resolves inside the project (not its root).
    pub(crate) fn inside_project(&self, arg: &Arg, scope: &Scope) -> bool {
        arg.known
            && self.host_path(&arg.text, scope).is_some_and(|path| {
                let placed = classify(&path, self.ctx, self.config);
                matches!(
                    (placed.zone, placed.relation),
                    (Zone::Project, Relation::Is | Relation::Inside)
                )
            })
    }

    /// Whether `glob` (relative to `base`) may match home, the project, a protected path,
    /// or a directory on the way to one of them: each of its components against the
    /// names leading there, as the shell matches them (`*` skips a leading dot).
    fn glob_may_reach_held_place(&self, base: &Path, glob: &str) -> bool {
        let pattern: Vec<&str> = glob.split('/').filter(|c| !c.is_empty()).collect();
        let held = [&self.ctx.home, &self.ctx.project_dir]
            .into_iter()
            .chain(self.config.protected_paths.iter());
        held.filter_map(|place| place.strip_prefix(base).ok())
            .filter(|rel| !rel.as_os_str().is_empty())
            .any(|rel| {
                let names: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                pattern.iter().zip(&names).all(|(pattern, name)| {
                    (!name.starts_with('.') || pattern.starts_with('.'))
                        && crate::look::fnmatch(pattern, name, true, true)
                })
            })
    }

    /// One delete target: where it resolves to, and whether that is allowed.
    pub(crate) fn judge_removal(
        &mut self,
        target: &Arg,
        removal: Removal,
        scope: &Scope,
        via: &str,
    ) {
        let what = removal.what();
        if !target.known {
            if removal == Removal::File && !target.glob {
                return; // one file whose name is not known: an ordinary delete
            }
            if scope.container.is_some() {
                return; // inside a container, an unknown name is most likely its own
            }
            // A literal directory inside the project before the unknown part: ask.
            let prefix = target.known_prefix.as_str();
            // `/tmp/work.$X` is a child of /tmp; `build/$X` is inside build.
            let inside = !prefix.is_empty()
                && prefix.contains('/')
                && prefix.rsplit_once('/').is_some_and(|(dir, name)| {
                    let dir = if dir.is_empty() { "/" } else { dir };
                    self.host_path(dir, scope).is_some_and(|base| {
                        let placed = classify(&base, self.ctx, self.config);
                        if name.is_empty() || name == "." || name == ".." {
                            placed.allows_recursive_delete()
                        } else {
                            placed.allows_selected_delete()
                        }
                    })
                });
            let (verdict, reason) = if inside {
                (
                    Verdict::Ask,
                    format!(
                        "the {what}{via} target `{prefix}…` is only partly known until the command runs."
                    ),
                )
            } else {
                (
                    Verdict::Deny,
                    format!(
                        "the {what}{via} target is not known until the command runs (a variable, \
                         command output or piped input), so it could be anything, including your \
                         home directory or /."
                    ),
                )
            };
            self.find(verdict, Rule::RmUnresolvedTarget, reason, target.span);
            return;
        }
        let (base, glob) = if target.glob {
            split_glob_base(&target.text)
        } else {
            (target.text.clone(), String::new())
        };
        if scope.cwd.is_none() && !Path::new(&self.follow_links(&base, scope)).is_absolute() {
            if removal != Removal::File || target.glob {
                self.find(
                    Verdict::Deny,
                    Rule::RmUnresolvedTarget,
                    format!(
                        "the {what}{via} of `{}` happens after `cd` to a directory that is not known until the command runs.",
                        target.text
                    ),
                    target.span,
                );
            }
            return;
        }
        // Inside a container, only what is mounted from the host matters.
        let Some(path) = self.host_path(&base, scope) else {
            return;
        };
        // A fresh entry this command made (mktemp), or something in it: nothing that
        // was there before goes. Its parent or a glob beside it is judged as usual.
        if self.created.iter().any(|created| path.starts_with(created)) {
            self.note(|| format!("{} was made by this command (mktemp)", path.display()));
            return;
        }
        // `rm -rf link/` through a symlink made in this command reaches its target.
        let mut placed = classify(&path, self.ctx, self.config);
        // `rm -rf /tmp/foo-*` with home or the project under /tmp: the directory holds
        // them, but the glob can only take them if it matches the names leading to them.
        if !glob.is_empty()
            && placed.relation == Relation::Holds
            && !self.glob_may_reach_held_place(&path, &glob)
        {
            placed = classify(&path.join(&glob), self.ctx, self.config);
        }
        // A bracket expression is one character of many: `.[^.]*` and `.??*` take
        // every dot entry as `.*` does.
        let glob_all = !glob.is_empty()
            && glob.split('/').filter(|c| !c.is_empty()).all(|c| {
                brackets_as_any(c)
                    .chars()
                    .all(|ch| matches!(ch, '*' | '?' | '.'))
            });
        let removal = match (glob.is_empty(), glob_all, removal) {
            (true, _, removal) => removal,
            (false, true, _) => Removal::Recursive,
            (false, false, _) => Removal::Selected,
        };
        self.note(|| {
            format!(
                "{what} target `{}` -> {} ({:?} {:?}, {removal:?})",
                target.text,
                path.display(),
                placed.zone,
                placed.relation
            )
        });
        let shown = if glob.is_empty() {
            path.display().to_string()
        } else {
            format!("everything matching `{glob}` in {}", path.display())
        };
        let denied = match removal {
            Removal::File => !placed.allows_file_delete(),
            Removal::Recursive => !placed.allows_recursive_delete(),
            Removal::Selected => !placed.allows_selected_delete(),
        };
        if denied {
            let shown = if removal == Removal::Selected && glob.is_empty() {
                format!("files under {}", path.display())
            } else {
                shown
            };
            self.find(
                Verdict::Deny,
                placed.rule(),
                format!(
                    "this {what}{via} would remove {shown}: {}.",
                    placed.describe(self.ctx)
                ),
                target.span,
            );
        } else if self.config.strict && removal != Removal::File {
            self.find(
                Verdict::Ask,
                Rule::RmStrict,
                format!("strict mode asks before every recursive delete ({shown})."),
                target.span,
            );
        }
    }
}

/// A glob component with each bracket expression (`[^.]`, `[a-z]`) as `?`.
fn brackets_as_any(component: &str) -> String {
    let mut out = String::new();
    let mut chars = component.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '[' {
            let mut closed = false;
            let mut first = true;
            for inner in chars.by_ref() {
                if inner == ']' && !first {
                    closed = true;
                    break;
                }
                first = inner == '^' || inner == '!' && first;
            }
            out.push(if closed { '?' } else { '[' });
        } else {
            out.push(c);
        }
    }
    out
}
