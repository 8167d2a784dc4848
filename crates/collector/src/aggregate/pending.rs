//! Tool calls started (PreToolUse) and not yet finished, for pairing with their
//! PostToolUse when the latter carries no `duration_ms`.
//!
//! Bounded: calls that never finish (interrupted, the hook lost its PostToolUse) must not
//! grow the collector forever. When full, the call received first is forgotten. Every
//! operation is O(log n), including that eviction: it runs on the store writer's path
//! before acknowledgements, so a scan of the whole set per event (as at 100,000 pending
//! calls) would show as latency on every request.
//!
//! Calls are keyed by a 64-bit hash of their id rather than the id itself: at capacity
//! this holds about 5 MB instead of 15. The hash is the fixed one of [`crate::ids`], so a
//! replay pairs exactly as the live run did; two ids sharing a hash (odds about 1 in
//! 10^9 at capacity) would only mis-time one call.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

/// Pending tool calls by `tool_use_id`, with their start time (kept in the store's
/// baseline, so a call started before a pruning still pairs after it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct PendingTools {
    capacity: usize,
    /// id hash → (start time in Unix ms, arrival number).
    by_id: HashMap<u64, (i64, u64)>,
    /// arrival number → id hash, oldest first.
    by_arrival: BTreeMap<u64, u64>,
    next_arrival: u64,
}

impl PendingTools {
    pub(super) fn new(capacity: usize) -> PendingTools {
        PendingTools {
            capacity,
            by_id: HashMap::new(),
            by_arrival: BTreeMap::new(),
            next_arrival: 0,
        }
    }

    /// Records that call `id` started at `ts_ms` (a repeat replaces the earlier start).
    pub(super) fn start(&mut self, id: &str, ts_ms: i64) {
        self.finish(id);
        let key = key(id);
        while self.by_id.len() >= self.capacity.max(1) {
            let Some((_, oldest)) = self.by_arrival.pop_first() else {
                break;
            };
            self.by_id.remove(&oldest);
        }
        let arrival = self.next_arrival;
        self.next_arrival += 1;
        self.by_id.insert(key, (ts_ms, arrival));
        self.by_arrival.insert(arrival, key);
    }

    /// Forgets call `id`; returns when it started, if it was pending.
    pub(super) fn finish(&mut self, id: &str) -> Option<i64> {
        let (started, arrival) = self.by_id.remove(&key(id))?;
        self.by_arrival.remove(&arrival);
        Some(started)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        debug_assert_eq!(self.by_id.len(), self.by_arrival.len());
        self.by_id.len()
    }
}

fn key(id: &str) -> u64 {
    crate::ids::key(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_a_start_with_its_finish_once() {
        let mut pending = PendingTools::new(10);
        pending.start("a", 100);
        pending.start("b", 150);
        assert_eq!(pending.finish("a"), Some(100));
        assert_eq!(pending.finish("a"), None);
        assert_eq!(pending.finish("b"), Some(150));
        assert_eq!(pending.len(), 0);
    }

    #[test]
    fn a_repeated_start_replaces_the_first_and_counts_once() {
        let mut pending = PendingTools::new(2);
        pending.start("a", 100);
        pending.start("a", 300);
        pending.start("b", 400);
        assert_eq!(pending.len(), 2);
        assert_eq!(pending.finish("a"), Some(300));
    }

    #[test]
    fn when_full_the_call_received_first_is_forgotten() {
        let mut pending = PendingTools::new(3);
        for (n, id) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            pending.start(id, n as i64);
        }
        assert_eq!(pending.len(), 3);
        assert_eq!(pending.finish("a"), None);
        assert_eq!(pending.finish("b"), None);
        assert_eq!(pending.finish("c"), Some(2));
        // A finished call frees its place: nothing else is evicted for the next one.
        pending.start("f", 5);
        assert_eq!(pending.finish("d"), Some(3));
        assert_eq!(pending.finish("e"), Some(4));
        assert_eq!(pending.finish("f"), Some(5));
    }
}
