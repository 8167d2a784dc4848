//! Progress for long start-up work (replaying or pruning a large store), on stderr:
//! silent when the work is quick, a line a second when it is not, and a last line
//! saying how it ended.

use std::io::Write;
use std::time::{Duration, Instant};

/// Counts work done out of a known total and reports it at most once per `every`.
pub struct Progress<W: Write> {
    what: &'static str,
    unit: &'static str,
    total: u64,
    done: u64,
    started: Instant,
    last_report: Instant,
    every: Duration,
    reported: bool,
    out: W,
}

impl Progress<std::io::Stderr> {
    /// Progress on stderr, a line a second.
    pub fn stderr(what: &'static str, unit: &'static str, total: u64) -> Self {
        Progress::new(what, unit, total, Duration::from_secs(1), std::io::stderr())
    }
}

impl<W: Write> Progress<W> {
    /// Progress written to `out`.
    pub fn new(
        what: &'static str,
        unit: &'static str,
        total: u64,
        every: Duration,
        out: W,
    ) -> Self {
        let now = Instant::now();
        Progress {
            what,
            unit,
            total,
            done: 0,
            started: now,
            last_report: now,
            every,
            reported: false,
            out,
        }
    }

    /// One more unit done.
    pub fn tick(&mut self) {
        self.done += 1;
        if self.last_report.elapsed() >= self.every {
            self.last_report = Instant::now();
            self.reported = true;
            let percent = self
                .done
                .saturating_mul(100)
                .checked_div(self.total)
                .unwrap_or(100)
                .min(100);
            // Progress is a courtesy: a closed stderr must not stop the work.
            let _ = writeln!(
                self.out,
                "claude-telemetry: {}: {} of {} {} ({percent}%)",
                self.what, self.done, self.total, self.unit
            );
        }
    }

    /// The closing line, when progress was shown.
    pub fn finish(mut self) {
        if self.reported {
            let _ = writeln!(
                self.out,
                "claude-telemetry: {}: done, {} {} in {:.1} s",
                self.what,
                self.done,
                self.unit,
                self.started.elapsed().as_secs_f64()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_work_says_nothing() {
        let mut out = Vec::new();
        let mut progress = Progress::new(
            "replaying",
            "events",
            3,
            Duration::from_secs(3600),
            &mut out,
        );
        for _ in 0..3 {
            progress.tick();
        }
        progress.finish();
        assert!(out.is_empty());
    }

    #[test]
    fn long_work_reports_counts_out_of_the_total_and_how_it_ended() {
        let mut out = Vec::new();
        let mut progress = Progress::new(
            "replaying the event store",
            "events",
            4,
            Duration::ZERO,
            &mut out,
        );
        for _ in 0..4 {
            progress.tick();
        }
        progress.finish();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "claude-telemetry: replaying the event store: 1 of 4 events (25%)"
        );
        assert_eq!(
            lines[3],
            "claude-telemetry: replaying the event store: 4 of 4 events (100%)"
        );
        assert!(
            lines[4].starts_with("claude-telemetry: replaying the event store: done, 4 events in "),
            "{text}"
        );
    }
}
