//! Files and directories only their owner may read. What the hook and the collector keep
//! is private: the spool holds prompts and tool output before the collector filters
//! them, the store holds everything it kept. Directories are made 0700 and files 0600,
//! and ones that already exist with wider modes are narrowed (an earlier version, or a
//! umask of 022, made them readable by everyone).
//!
//! Unix only, as the project is. Knows nothing of what the files hold.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Mode of a private directory.
pub const DIR_MODE: u32 = 0o700;
/// Mode of a private file.
pub const FILE_MODE: u32 = 0o600;

/// Creates `path` (and missing parents) readable only by its owner, or narrows it if it
/// exists. Existing parents are left as they are: they are not ours.
pub fn dir(path: &Path) -> io::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(path)?;
    narrow(path, DIR_MODE)
}

/// Narrows `path`, a file or directory, to `mode` when others or its group may use it;
/// nothing when it does not exist. A directory shared on purpose (the sticky bit, as
/// `/tmp`: someone pointed a setting at it) is not ours to close, and is left alone.
pub fn narrow(path: &Path, mode: u32) -> io::Result<()> {
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(err),
    };
    let shared = meta.is_dir() && meta.permissions().mode() & 0o1000 != 0;
    if !shared && meta.permissions().mode() & 0o077 != 0 {
        fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

/// Options that create a file readable only by its owner.
pub fn file_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.mode(FILE_MODE);
    options
}

/// Creates (or truncates) `path`, readable only by its owner.
pub fn create(path: &Path) -> io::Result<File> {
    let file = file_options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    narrow(path, FILE_MODE)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn made_private_and_narrowed_when_wider() {
        let root = tempfile::tempdir().unwrap();
        let nested = root.path().join("a/b");
        dir(&nested).unwrap();
        assert_eq!(mode(&nested), DIR_MODE);
        assert_eq!(
            mode(&root.path().join("a")),
            DIR_MODE,
            "created parents too"
        );
        fs::set_permissions(&nested, fs::Permissions::from_mode(0o755)).unwrap();
        dir(&nested).unwrap();
        assert_eq!(mode(&nested), DIR_MODE);

        let file = nested.join("f");
        fs::write(&file, "x").unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        create(&file).unwrap();
        assert_eq!(mode(&file), FILE_MODE);
        narrow(&nested.join("absent"), FILE_MODE).unwrap();

        let shared = root.path().join("shared");
        fs::create_dir(&shared).unwrap();
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();
        dir(&shared).unwrap();
        assert_eq!(
            mode(&shared),
            0o777,
            "a shared directory (as /tmp) is left open"
        );
    }
}
