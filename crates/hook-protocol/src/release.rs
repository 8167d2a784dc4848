//! Claude Code releases, and which hook events each one fires.
//!
//! Claude Code gains hook events often. A settings file written for an older release
//! misses the newer events, and an older release ignores events it does not know. This
//! module records, for every [`KnownEvent`], the first release seen to fire it, so
//! `doctor` can tell a person which events their installed Claude Code fires that their
//! settings do not hook. It knows releases only by number; it runs nothing.

use std::fmt;

use crate::event::{KNOWN_EVENTS, KnownEvent};

/// A Claude Code release number, `MAJOR.MINOR.PATCH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Release {
    /// Major.
    pub major: u32,
    /// Minor.
    pub minor: u32,
    /// Patch.
    pub patch: u32,
}

/// The oldest release this project supports (its real-CLI tests run on it).
pub const OLDEST_SUPPORTED: Release = Release::new(2, 1, 197);

/// The newest release this project was tested against.
pub const NEWEST_TESTED: Release = Release::new(2, 1, 332);

/// Why a text is not a release number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a Claude Code release number (MAJOR.MINOR.PATCH)")]
pub struct ReleaseError(String);

impl Release {
    /// `major.minor.patch`.
    pub const fn new(major: u32, minor: u32, patch: u32) -> Release {
        Release {
            major,
            minor,
            patch,
        }
    }

    /// Reads a release number as `claude --version` prints it (`2.1.332 (Claude Code)`)
    /// or bare (`2.1.332`); a pre-release or build suffix (`2.1.332-beta.1`) is ignored.
    pub fn parse(text: &str) -> Result<Release, ReleaseError> {
        let invalid = || ReleaseError(text.chars().take(80).collect());
        let word = text.split_whitespace().next().ok_or_else(invalid)?;
        let core = word
            .trim_start_matches('v')
            .split(['-', '+'])
            .next()
            .unwrap_or("");
        let mut parts = core.split('.').map(|part| {
            (!part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
                .then(|| part.parse::<u32>().ok())
                .flatten()
        });
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(Some(major)), Some(Some(minor)), Some(Some(patch)), None) => {
                Ok(Release::new(major, minor, patch))
            }
            _ => Err(invalid()),
        }
    }

    /// The hook events this release fires, as far as this project knows: every known
    /// event first seen in this release or an earlier one. For a release newer than
    /// [`NEWEST_TESTED`] that is a lower bound.
    pub fn fired_events(self) -> Vec<KnownEvent> {
        KNOWN_EVENTS
            .iter()
            .copied()
            .filter(|event| event.first_release() <= self)
            .collect()
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl KnownEvent {
    /// The first release known to fire this event.
    ///
    /// Only the releases the project tests are known exactly: an event 2.1.197 fires says
    /// 2.1.197 (it may be older), and the events 2.1.197 does not know but 2.1.332 fires
    /// say 2.1.332 (they may have come a little earlier).
    pub fn first_release(self) -> Release {
        match self {
            KnownEvent::DirectoryAdded
            | KnownEvent::PreSkillShellCommand
            | KnownEvent::PreModelSwitch
            | KnownEvent::PostModelSwitch => NEWEST_TESTED,
            _ => OLDEST_SUPPORTED,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_claude_version_prints() {
        assert_eq!(
            Release::parse("2.1.332 (Claude Code)"),
            Ok(Release::new(2, 1, 332))
        );
        assert_eq!(Release::parse("2.1.197\n"), Ok(Release::new(2, 1, 197)));
        assert_eq!(
            Release::parse("v2.2.0-beta.3 (Claude Code)"),
            Ok(Release::new(2, 2, 0))
        );
        for bad in [
            "",
            "Claude Code",
            "2.1",
            "2.1.x",
            "2.1.3.4",
            "2..1",
            "99999999999.0.0",
        ] {
            assert!(Release::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn releases_order_by_number_not_text() {
        assert!(Release::new(2, 1, 332) > Release::new(2, 1, 197));
        assert!(Release::new(2, 10, 0) > Release::new(2, 9, 999));
        assert_eq!(NEWEST_TESTED.to_string(), "2.1.332");
    }

    #[test]
    fn each_tested_release_fires_what_it_was_seen_to_fire() {
        // Read from each release's own list of hook events (and seen firing in the
        // real-CLI tests): 2.1.197 knows 30, 2.1.332 adds four.
        let oldest: Vec<&str> = OLDEST_SUPPORTED
            .fired_events()
            .iter()
            .map(|e| e.name())
            .collect();
        assert_eq!(oldest.len(), 30, "{oldest:?}");
        let newest: Vec<KnownEvent> = NEWEST_TESTED.fired_events();
        assert_eq!(newest.len(), KNOWN_EVENTS.len());
        let mut added: Vec<&str> = newest
            .iter()
            .map(|e| e.name())
            .filter(|name| !oldest.contains(name))
            .collect();
        added.sort_unstable();
        assert_eq!(
            added,
            [
                "DirectoryAdded",
                "PostModelSwitch",
                "PreModelSwitch",
                "PreSkillShellCommand"
            ]
        );
        // Releases before the oldest supported are not described at all.
        assert!(Release::new(2, 0, 0).fired_events().is_empty());
    }
}
