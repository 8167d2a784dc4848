//! Locks over state that stays usable when a holder panicked (counters and caches).

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex`, even if a previous holder panicked: the data is counters, still usable.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
