//! A controllable wall clock shared by VMs.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The time the guest reads through `proxy_get_current_time_nanoseconds` and
/// WASI `clock_time_get` (both the realtime and the monotonic clock).
///
/// Cloning yields a handle to the same clock, so one `advance` moves the time
/// of every VM that holds a clone.
///
/// * [`Clock::new`] (the default) is a manual clock frozen at
///   2025-01-01T00:00:00Z until the test sets or advances it: fully
///   deterministic.
/// * [`Clock::system`] follows the real time; `set` and `advance` then shift it
///   by an offset.
///
/// ```
/// use std::time::Duration;
/// use acepack_host_tests::Clock;
/// let clock = Clock::new();
/// let t0 = clock.now_nanos();
/// clock.advance(Duration::from_millis(1500));
/// assert_eq!(clock.now_nanos() - t0, 1_500_000_000);
/// ```
#[derive(Clone, Debug)]
pub struct Clock {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    system: AtomicBool,
    /// Manual: nanoseconds since the epoch. System: offset, as a wrapping
    /// two's-complement i64 stored in a u64.
    nanos: AtomicU64,
    /// `proxy_get_current_time_nanoseconds` fails with `INTERNAL_FAILURE`.
    failing: AtomicBool,
}

/// 2025-01-01T00:00:00Z.
const DEFAULT_START_SECS: u64 = 1_735_689_600;

impl Default for Clock {
    fn default() -> Self {
        Clock::at(Duration::from_secs(DEFAULT_START_SECS))
    }
}

impl Clock {
    /// A manual clock at 2025-01-01T00:00:00Z.
    pub fn new() -> Clock {
        Clock::default()
    }

    /// A manual clock at `since_epoch` after the Unix epoch.
    pub fn at(since_epoch: Duration) -> Clock {
        Clock {
            inner: Arc::new(Inner {
                system: AtomicBool::new(false),
                nanos: AtomicU64::new(duration_nanos(since_epoch)),
                failing: AtomicBool::new(false),
            }),
        }
    }

    /// A clock that follows the system's real time.
    pub fn system() -> Clock {
        Clock {
            inner: Arc::new(Inner {
                system: AtomicBool::new(true),
                nanos: AtomicU64::new(0),
                failing: AtomicBool::new(false),
            }),
        }
    }

    /// Nanoseconds since the Unix epoch, as the guest sees them.
    pub fn now_nanos(&self) -> u64 {
        let stored = self.inner.nanos.load(Ordering::SeqCst);
        if self.inner.system.load(Ordering::SeqCst) {
            system_nanos().wrapping_add(stored)
        } else {
            stored
        }
    }

    /// The current time as a [`SystemTime`].
    pub fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.now_nanos())
    }

    /// Sets the time to `since_epoch` after the Unix epoch.
    pub fn set(&self, since_epoch: Duration) {
        let target = duration_nanos(since_epoch);
        let stored = if self.inner.system.load(Ordering::SeqCst) {
            target.wrapping_sub(system_nanos())
        } else {
            target
        };
        self.inner.nanos.store(stored, Ordering::SeqCst);
    }

    /// Makes `proxy_get_current_time_nanoseconds` fail (`INTERNAL_FAILURE`)
    /// while `failing` is set, as a host whose clock is unavailable would.
    pub fn set_failing(&self, failing: bool) {
        self.inner.failing.store(failing, Ordering::SeqCst);
    }

    /// Whether the proxy-wasm clock call currently fails.
    pub fn failing(&self) -> bool {
        self.inner.failing.load(Ordering::SeqCst)
    }

    /// Moves the time forward by `by`.
    pub fn advance(&self, by: Duration) {
        self.inner.nanos.fetch_add(duration_nanos(by), Ordering::SeqCst);
    }
}

fn duration_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn system_nanos() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, duration_nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_is_frozen_until_moved() {
        let clock = Clock::new();
        let a = clock.now_nanos();
        assert_eq!(a, DEFAULT_START_SECS * 1_000_000_000);
        assert_eq!(clock.now_nanos(), a);
        let other = clock.clone();
        other.advance(Duration::from_secs(2));
        assert_eq!(clock.now_nanos(), a + 2_000_000_000);
        clock.set(Duration::from_secs(10));
        assert_eq!(other.now(), UNIX_EPOCH + Duration::from_secs(10));
    }

    #[test]
    fn system_clock_can_be_shifted() {
        let clock = Clock::system();
        let real = system_nanos();
        assert!(clock.now_nanos() >= real);
        clock.advance(Duration::from_secs(3600));
        assert!(clock.now_nanos() >= real + 3_600_000_000_000);
        clock.set(Duration::from_secs(5));
        let t = clock.now_nanos();
        assert!((5_000_000_000..6_000_000_000).contains(&t), "{t}");
    }
}
