//! How far into each transcript the hook has looked, so each part is read once.
//!
//! One small file per transcript under `STATE_DIR/transcripts/`, named by a hash of the
//! transcript's path and holding a byte offset. Losing one is harmless: the next look
//! starts over, and the collector drops the denials it already has (their event ids are
//! derived from the calls). Files not touched for a week are removed when a session ends.

use std::fs;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Most transcript bytes one look reads; the rest waits for the next event.
const MAX_READ: u64 = 32 * 1024 * 1024;

/// Cursors older than this are forgotten (a session resumed later is read again).
const KEEP: Duration = Duration::from_secs(7 * 24 * 3600);

/// A stable 64-bit FNV-1a hash: the file name of a transcript's cursor must not change
/// with the compiler, as std's hashers may.
pub(crate) fn fnv1a(bytes: &[u8], seed: u64) -> u64 {
    bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325 ^ seed, |hash, byte| {
            (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
        })
}

/// The cursor of one transcript.
pub(crate) struct Cursor {
    file: PathBuf,
}

impl Cursor {
    /// The cursor for `transcript`, kept under `state_dir`.
    pub(crate) fn for_transcript(state_dir: &Path, transcript: &Path) -> Cursor {
        let hash = fnv1a(transcript.as_os_str().as_encoded_bytes(), 0);
        Cursor {
            file: state_dir.join("transcripts").join(format!("{hash:016x}")),
        }
    }

    /// The offset looked at last time (0 when never, or unreadable).
    fn offset(&self) -> u64 {
        fs::read_to_string(&self.file)
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(0)
    }

    /// The complete lines of `transcript` written since the last look, where they start,
    /// and the offset just past them. A transcript shorter than the offset was rewritten: it is read from
    /// the start. Only regular files are read (never a FIFO or a device).
    pub(crate) fn unread(&self, transcript: &Path) -> io::Result<(Vec<u8>, u64, u64)> {
        // Checked before opening: opening a FIFO for reading would wait for a writer.
        let meta = fs::metadata(transcript)?;
        if !meta.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        let mut file = fs::File::open(transcript)?;
        let mut start = self.offset();
        if start > meta.len() {
            start = 0;
        }
        file.seek(SeekFrom::Start(start))?;
        let mut bytes = Vec::new();
        file.take(MAX_READ).read_to_end(&mut bytes)?;
        // A line still being written waits for the next look.
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        bytes.truncate(complete);
        Ok((bytes, start, start + complete as u64))
    }

    /// Records that everything before `offset` has been looked at.
    pub(crate) fn advance(&self, offset: u64) -> io::Result<()> {
        let dir = self.file.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir)?;
        let temp = self
            .file
            .with_extension(format!("tmp{}", std::process::id()));
        let written = fs::File::create(&temp)
            .and_then(|mut f| f.write_all(format!("{offset}\n").as_bytes()))
            .and_then(|()| fs::rename(&temp, &self.file));
        if written.is_err() {
            let _ = fs::remove_file(&temp);
        }
        written
    }
}

/// The complete lines of `transcript` in the [`MAX_READ`] bytes before `end` (an offset
/// at a line's start): where the calls of the newly read results were written.
pub(crate) fn read_before(transcript: &Path, end: u64) -> io::Result<Vec<u8>> {
    let start = end.saturating_sub(MAX_READ);
    let mut file = fs::File::open(transcript)?;
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.take(end - start).read_to_end(&mut bytes)?;
    if start > 0 {
        // The first line is cut; the next one starts whole.
        let first = bytes
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |i| i + 1);
        bytes.drain(..first);
    }
    Ok(bytes)
}

/// Removes the cursors of transcripts no one has looked at for [`KEEP`].
pub(crate) fn forget_old(state_dir: &Path) {
    let Ok(entries) = fs::read_dir(state_dir.join("transcripts")) else {
        return;
    };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|modified| now.duration_since(modified).is_ok_and(|age| age > KEEP));
        if old {
            let _ = fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_complete_line_is_read_once() {
        let dir = tempfile::tempdir().unwrap();
        let transcript = dir.path().join("s.jsonl");
        fs::write(&transcript, "one\ntwo\nthr").unwrap();
        let cursor = Cursor::for_transcript(&dir.path().join("state"), &transcript);
        let (bytes, start, offset) = cursor.unread(&transcript).unwrap();
        assert_eq!((bytes.as_slice(), start), (&b"one\ntwo\n"[..], 0));
        cursor.advance(offset).unwrap();
        fs::write(&transcript, "one\ntwo\nthree\nfour\n").unwrap();
        let (bytes, start, offset) = cursor.unread(&transcript).unwrap();
        assert_eq!((bytes.as_slice(), start), (&b"three\nfour\n"[..], 8));
        assert_eq!(read_before(&transcript, start).unwrap(), b"one\ntwo\n");
        cursor.advance(offset).unwrap();
        assert!(cursor.unread(&transcript).unwrap().0.is_empty());
        // Rewritten shorter: read again from the start.
        fs::write(&transcript, "new\n").unwrap();
        assert_eq!(cursor.unread(&transcript).unwrap().0, b"new\n");
    }

    #[test]
    fn only_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let cursor = Cursor::for_transcript(dir.path(), Path::new("/dev/zero"));
        assert!(cursor.unread(Path::new("/dev/zero")).is_err());
        assert!(cursor.unread(dir.path()).is_err());
        assert!(cursor.unread(&dir.path().join("missing")).is_err());
        let fifo = dir.path().join("fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        assert!(
            cursor.unread(&fifo).is_err(),
            "a FIFO is refused, not waited on"
        );
    }

    #[test]
    fn cursors_of_different_transcripts_differ_and_are_stable() {
        let a = Cursor::for_transcript(Path::new("/s"), Path::new("/t/a.jsonl"));
        let b = Cursor::for_transcript(Path::new("/s"), Path::new("/t/b.jsonl"));
        assert_ne!(a.file, b.file);
        // FNV-1a's published value for "a": the name never depends on the toolchain.
        assert_eq!(fnv1a(b"a", 0), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn old_cursors_are_forgotten_and_fresh_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = Cursor::for_transcript(dir.path(), Path::new("/t/fresh.jsonl"));
        fresh.advance(10).unwrap();
        let stale = Cursor::for_transcript(dir.path(), Path::new("/t/stale.jsonl"));
        stale.advance(10).unwrap();
        let long_ago = SystemTime::now() - KEEP - Duration::from_secs(60);
        fs::File::options()
            .write(true)
            .open(&stale.file)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
        forget_old(dir.path());
        assert!(fresh.file.exists());
        assert!(!stale.file.exists());
    }
}
