//! Unit tests of `limiter`.

use super::*;

// The previous, plainer implementation of `step` (SmallVec throughout), kept as the oracle
// for the faster one.
const INLINE_WINDOWS: usize = 4;

/// Decoded levels; `None` if the stored bytes do not fit these limits (then the bucket starts full).
fn decode(bytes: &[u8], limits: &[Limit]) -> Option<(u64, smallvec::SmallVec<[u64; INLINE_WINDOWS]>)> {
    // Versioned (1) or version 0, which had no version byte.
    let bytes = match bytes.split_first() {
        Some((1, rest)) if rest.len() == 8 + 8 * limits.len() => rest,
        _ => bytes,
    };
    if bytes.len() != 8 + 8 * limits.len() {
        return None;
    }
    let (last, rest) = bytes.split_first_chunk::<8>()?;
    // A changed limit (after a reload) keeps the level but never above the new capacity.
    let levels = rest
        .chunks_exact(8)
        .zip(limits)
        .map(|(c, l)| {
            c.first_chunk::<8>()
                .map_or(0, |w| u64::from_le_bytes(*w))
                .min(capacity(l))
        })
        .collect();
    Some((u64::from_le_bytes(*last), levels))
}

/// A window as the reference computes it: the header values eagerly, each its own way.
#[derive(Debug, PartialEq, Eq)]
struct RefWindow {
    level: u64,
    remaining: u64,
    reset_seconds: u64,
}

/// What the reference step says: admitted, retry-after, the windows.
type RefOutcome = (bool, u64, Vec<RefWindow>);

/// `step`'s outcome in the reference's terms (the header values through the accessors).
fn as_reference(o: &Outcome) -> RefOutcome {
    let windows = o
        .windows
        .iter()
        .map(|w| RefWindow {
            level: w.level,
            remaining: w.remaining(),
            reset_seconds: w.reset_seconds(),
        })
        .collect();
    (o.admitted, o.retry_after, windows)
}

/// Pure token-bucket step: refill to `now_us`, then try to take one token from every window.
/// Returns the outcome and, if admitted, the new stored value.
fn reference_step(stored: Option<&[u8]>, limits: &[Limit], now_us: u64) -> (RefOutcome, Option<Value>) {
    let (last, mut levels) = match stored.and_then(|b| decode(b, limits)) {
        Some(s) => s,
        None => (now_us, limits.iter().map(capacity).collect()),
    };
    // A clock that goes backwards refills nothing and never moves `last` back.
    let elapsed = now_us.saturating_sub(last);
    let mut admitted = true;
    for (lv, l) in levels.iter_mut().zip(limits) {
        let refill = elapsed.min(window_us(l)).saturating_mul(l.count);
        *lv = lv.saturating_add(refill).min(capacity(l));
        admitted &= *lv >= window_us(l);
    }
    let mut retry_after = 0;
    let mut windows = Vec::with_capacity(limits.len());
    for (lv, l) in levels.iter_mut().zip(limits) {
        let w = window_us(l);
        if admitted {
            *lv -= w;
        } else {
            // Microseconds until the window holds a whole token, in whole seconds, at least 1.
            let wait = w.saturating_sub(*lv).div_ceil(l.count.saturating_mul(1_000_000).max(1));
            retry_after = retry_after.max(wait.max(1));
        }
        windows.push(RefWindow {
            level: *lv,
            remaining: *lv / w.max(1),
            // ⌈⌈missing / count⌉ / 10⁶⌉ = ⌈missing / (count × 10⁶)⌉: one division.
            reset_seconds: (capacity(l) - *lv).div_ceil(l.count.saturating_mul(1_000_000).max(1)),
        });
    }
    let value = admitted.then(|| {
        let mut v = smallvec::SmallVec::new();
        v.push(VALUE_VERSION);
        v.extend_from_slice(&last.max(now_us).to_le_bytes());
        for lv in &levels {
            v.extend_from_slice(&lv.to_le_bytes());
        }
        v
    });
    ((admitted, retry_after, windows), value)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 4000, ..Default::default() })]
    #[test]
    fn step_matches_the_reference(
        windows in proptest::collection::vec((1u64..2_000, 0usize..4), 0..6),
        stored in proptest::option::of(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..72)),
        fresh in proptest::prelude::any::<bool>(),
        versioned in proptest::prelude::any::<bool>(),
        last in 0u64..10_000_000_000,
        now in 0u64..10_000_000_000,
    ) {
        const UNITS: [u32; 4] = [1, 60, 3600, 86_400];
        let limits: Vec<Limit> = windows.iter().map(|(c, u)| l(*c, UNITS[*u])).collect();
        // Either arbitrary bytes or a well-formed value for these limits.
        let bytes = if fresh {
            let mut v = if versioned { vec![VALUE_VERSION] } else { Vec::new() };
            v.extend_from_slice(&last.to_le_bytes());
            for (i, lim) in limits.iter().enumerate() {
                let level = stored.as_ref().and_then(|s| s.get(i)).map_or(0, |b| u64::from(*b) * 7_919_113);
                v.extend_from_slice(&level.min(capacity(lim) + 5).to_le_bytes());
            }
            Some(v)
        } else {
            stored
        };
        let got = step(bytes.as_deref(), &limits, now);
        let want = reference_step(bytes.as_deref(), &limits, now);
        proptest::prop_assert_eq!(&as_reference(&got.0), &want.0);
        proptest::prop_assert_eq!(got.1.as_deref(), want.1.as_deref());
    }
}

const SEC: u64 = 1_000_000;

fn l(count: u64, window_seconds: u32) -> Limit {
    Limit { count, window_seconds }
}

fn run(store: &mut MemoryStore, limits: &[Limit], now: u64) -> Outcome {
    take(store, b"k", limits, now).unwrap()
}

#[test]
fn capacity_then_refill() {
    let mut s = MemoryStore::new();
    let lim = [l(3, 60)];
    let t0 = 1_000 * SEC;
    for left in [2, 1, 0] {
        let o = run(&mut s, &lim, t0);
        assert!(o.admitted);
        assert_eq!(o.windows[0].remaining(), left);
    }
    let o = run(&mut s, &lim, t0);
    assert!(!o.admitted);
    assert_eq!(o.retry_after, 20, "one token every 20 s");
    assert!(!run(&mut s, &lim, t0 + 19 * SEC).admitted);
    assert!(run(&mut s, &lim, t0 + 20 * SEC).admitted);
    // Reset: two tokens missing at 1 per 20 s.
    let o = run(&mut s, &lim, t0 + 20 * SEC + 1);
    assert!(!o.admitted);
    assert_eq!(o.windows[0].reset_seconds(), 60);
}

#[test]
fn several_windows_take_atomically() {
    let mut s = MemoryStore::new();
    let lim = [l(5, 1), l(7, 60)];
    let t0 = 50 * SEC;
    let admitted = (0..10).filter(|_| run(&mut s, &lim, t0).admitted).count();
    assert_eq!(admitted, 5);
    // A second later the per-second window is full again but the minute window has 2 left.
    let admitted = (0..10).filter(|_| run(&mut s, &lim, t0 + SEC).admitted).count();
    assert_eq!(admitted, 2);
    let o = run(&mut s, &lim, t0 + SEC);
    // Minute window: empty, 1 s of refill at 7/min banked; a token takes 60/7 s ≈ 8.57 s.
    assert_eq!(o.retry_after, 8, "ceil(8.57 - 1)");
    assert_eq!(o.binding().unwrap().limit, l(7, 60));
}

#[test]
fn clock_going_backwards_refills_nothing() {
    let mut s = MemoryStore::new();
    let lim = [l(1, 1)];
    assert!(run(&mut s, &lim, 100 * SEC).admitted);
    assert!(!run(&mut s, &lim, 50 * SEC).admitted);
    assert!(!run(&mut s, &lim, 100 * SEC + SEC / 2).admitted);
    assert!(run(&mut s, &lim, 101 * SEC).admitted);
}

#[test]
fn long_idle_caps_at_capacity() {
    let mut s = MemoryStore::new();
    let lim = [l(2, 86_400)];
    assert!(run(&mut s, &lim, SEC).admitted);
    let later = SEC + 365 * 86_400 * SEC;
    assert_eq!((0..5).filter(|_| run(&mut s, &lim, later).admitted).count(), 2);
}

#[test]
fn no_drift_over_a_simulated_week() {
    // 7 per minute, drained at every probe (one probe every 997 ms, a spacing that divides
    // nothing): after a week the total admitted is exactly the initial 7 plus 7 per elapsed
    // minute, rounded down — no token gained or lost to rounding.
    let lim = [l(7, 60)];
    let start = 10 * SEC;
    let mut state: Option<Value> = None;
    let mut admitted = 0u64;
    let mut t = start;
    let mut last = start;
    while t <= start + 604_800 * SEC {
        loop {
            let (o, v) = step(state.as_deref(), &lim, t);
            if !o.admitted {
                break;
            }
            admitted += 1;
            state = v;
        }
        last = t;
        t += 997_000;
    }
    assert_eq!(admitted, 7 + (last - start) * 7 / (60 * SEC));
}

#[test]
fn windows_from_a_second_to_a_day() {
    for (count, w) in [
        (1u64, 1u32),
        (10, 60),
        (1000, 3600),
        (100_000, 86_400),
        (MAX_LIMIT_FOR_DAY, 86_400),
    ] {
        let mut s = MemoryStore::new();
        let lim = [l(count, w)];
        let o = run(&mut s, &lim, SEC);
        assert!(o.admitted);
        assert_eq!(o.windows[0].remaining(), count - 1);
    }
}
const MAX_LIMIT_FOR_DAY: u64 = crate::bundle::MAX_LIMIT_UNITS / 86_400;

#[test]
fn reads_values_written_before_the_version_byte() {
    // What a version-0 build stored for 3/minute after two requests at t0: `last` then the
    // level, no version byte.
    let lim = [l(3, 60)];
    let t0 = 1_000 * SEC;
    let mut legacy = t0.to_le_bytes().to_vec();
    legacy.extend_from_slice(&(60 * SEC).to_le_bytes());
    let (o, v) = step(Some(&legacy), &lim, t0);
    assert!(o.admitted);
    assert_eq!(o.windows[0].remaining(), 0, "the old level was kept");
    let v = v.unwrap();
    assert_eq!(v.len(), 1 + 8 + 8);
    assert_eq!(v[0], VALUE_VERSION, "rewritten in the current encoding");
    assert!(!step(Some(&v), &lim, t0).0.admitted);
}

#[test]
fn unknown_versions_and_other_window_counts_start_full() {
    let lim = [l(3, 60)];
    let t0 = 1_000 * SEC;
    let mut empty = vec![VALUE_VERSION];
    empty.extend_from_slice(&t0.to_le_bytes());
    empty.extend_from_slice(&0u64.to_le_bytes());
    assert!(!step(Some(&empty), &lim, t0).0.admitted, "a known empty bucket");
    let mut future = empty.clone();
    future[0] = 2;
    assert_eq!(
        step(Some(&future), &lim, t0).0.windows[0].remaining(),
        2,
        "started full"
    );
    let two_windows = [l(3, 60), l(10, 3600)];
    assert_eq!(step(Some(&empty), &two_windows, t0).0.windows[0].remaining(), 2);
}

#[test]
fn first_insert_race_admits_once() {
    // Two writers both saw the key missing; the second insert must fail and retry.
    let mut s = MemoryStore::new();
    let lim = [l(1, 60)];
    let now = SEC;
    let (_, v1) = step(None, &lim, now);
    let (_, v2) = step(None, &lim, now);
    let cas1 = insert_cas(&mut s).unwrap();
    let cas2 = insert_cas(&mut s).unwrap();
    assert_eq!(s.set(b"k", &v1.unwrap(), cas1).unwrap(), SetResult::Ok);
    assert_eq!(s.set(b"k", &v2.unwrap(), cas2).unwrap(), SetResult::CasMismatch);
    assert!(!run(&mut s, &lim, now).admitted);
}

#[test]
fn store_failures_surface() {
    struct Broken;
    impl Store for Broken {
        fn get(&mut self, _: &[u8]) -> Result<Option<Stored>, StoreError> {
            Err(StoreError)
        }
        fn set(&mut self, _: &[u8], _: &[u8], _: u32) -> Result<SetResult, StoreError> {
            Err(StoreError)
        }
    }
    assert_eq!(take(&mut Broken, b"k", &[l(1, 1)], 0), Err(LimitError::Store));
    struct AlwaysMismatch(MemoryStore);
    impl Store for AlwaysMismatch {
        fn get(&mut self, k: &[u8]) -> Result<Option<Stored>, StoreError> {
            self.0.get(k)
        }
        fn set(&mut self, k: &[u8], v: &[u8], cas: u32) -> Result<SetResult, StoreError> {
            if k == SEQUENCE_KEY {
                return self.0.set(k, v, cas);
            }
            Ok(SetResult::CasMismatch)
        }
    }
    assert_eq!(
        take(&mut AlwaysMismatch(MemoryStore::new()), b"k", &[l(1, 1)], 0),
        Err(LimitError::Contention)
    );
}
