//! Token buckets with one or more windows, kept in a compare-and-swap key-value store (proxy-wasm
//! shared data in Envoy), exact across any number of worker VMs.
//!
//! # Arithmetic
//!
//! A window of `count` requests per `W` microseconds keeps its level in *units*: one token is `W`
//! units, the capacity is `count × W`, and every elapsed microsecond adds `count` units. Everything
//! is integer (`u64`, validated at compile time so `count × W` fits), so there is no drift: a week
//! of refills adds exactly what a week should.
//!
//! # Stored value
//!
//! A version byte ([`VALUE_VERSION`], 1), then `last_us: u64` and one `level: u64` per window,
//! little-endian: 1 + 8 + 8 × windows bytes. Buckets outlive filter builds (shared data belongs
//! to the `vm_id`, not to the code), so a new build reads what an older one wrote:
//!
//! - version 0 (builds before the version byte) had no prefix: 8 + 8 × windows bytes. Its length
//!   is a multiple of 8 and a versioned value's never is, so it is recognized and read as is;
//! - a value of another version, or whose window count does not match the bundle's limits (a
//!   package whose windows changed), starts that bucket full. An older build that meets a newer
//!   build's value (a downgrade) does the same: its length fits neither form the old build knows.
//!
//! # Protocol
//!
//! `get` → compute → `set` with the CAS from the `get`; on a CAS mismatch, start over (bounded).
//! Envoy compares the CAS only when the key already exists, so the *first* insert of a key would
//! race: two VMs that both saw "not found" would both succeed. A first insert therefore passes a
//! nonzero CAS that no live key can hold: the CAS of a scratch key ([`SEQUENCE_KEY`]) read just
//! before. Envoy draws every CAS from one global counter, so a key inserted by a racing VM in the
//! meantime got a later, different value, and our insert fails with a mismatch (then we retry and
//! see the racer's state). Only a full 2³² wrap of the counter within one insert race could defeat
//! this.

use std::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashTable};

use crate::bundle::Limit;
use crate::bytes::same_bytes;

/// A stored bucket as bytes plus the store's CAS token.
pub type Stored = (Value, u32);

/// A stored bucket value (see the module docs), inline for up to [`INLINE_WINDOWS`] windows.
pub type Value = smallvec::SmallVec<[u8; VALUE_INLINE]>;

/// The version byte that starts every bucket value this build writes.
pub const VALUE_VERSION: u8 = 1;

/// The `last_us` + levels part of a stored value for `n` windows, whichever version wrote it;
/// `None` when it does not fit (then the bucket starts full).
fn payload(stored: &[u8], n: usize) -> Option<&[u8]> {
    let legacy = 8 + 8 * n;
    match stored.split_first() {
        Some((&VALUE_VERSION, rest)) if rest.len() == legacy => Some(rest),
        _ if stored.len() == legacy => Some(stored),
        _ => None,
    }
}

/// Errors other than a CAS mismatch: the limiter cannot be trusted, requests are denied (503).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreError;

/// Result of a conditional write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetResult {
    /// Written.
    Ok,
    /// The key exists and its CAS differs.
    CasMismatch,
}

/// A compare-and-swap key-value store with Envoy's shared-data semantics.
pub trait Store {
    /// The value and CAS of `key`, or `None` if it does not exist.
    fn get(&mut self, key: &[u8]) -> Result<Option<Stored>, StoreError>;
    /// Writes `value` if `cas` is 0, the key does not exist, or the key's CAS equals `cas`.
    fn set(&mut self, key: &[u8], value: &[u8], cas: u32) -> Result<SetResult, StoreError>;
}

/// The scratch key whose CAS makes first inserts conditional (see the module docs).
pub const SEQUENCE_KEY: &[u8] = b"acepack:seq";

/// How many get/set rounds one request may spend on one bucket before giving up (503).
pub const MAX_ATTEMPTS: usize = 64;

/// The state of one window after a decision: its limit and its level. The header values
/// ([`WindowState::remaining`], [`WindowState::reset_seconds`]) are divisions, computed when a
/// caller asks — a decision itself never needs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowState {
    /// The window's limit.
    pub limit: Limit,
    /// The level after this request, in units (see the module docs).
    pub level: u64,
}

impl WindowState {
    /// Whole tokens left after this request.
    pub fn remaining(&self) -> u64 {
        self.level / window_us(&self.limit).max(1)
    }

    /// Seconds until the bucket is full again (rounded up).
    pub fn reset_seconds(&self) -> u64 {
        // ⌈⌈missing / count⌉ / 10⁶⌉ = ⌈missing / (count × 10⁶)⌉: one division.
        let per_second = self.limit.count.wrapping_mul(1_000_000).max(1);
        capacity(&self.limit).saturating_sub(self.level).div_ceil(per_second)
    }
}

/// What a bucket said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Whether the request took a token from every window.
    pub admitted: bool,
    /// When not admitted: whole seconds (≥ 1) until one request would be allowed.
    pub retry_after: u64,
    /// Per window, in the limits' order.
    pub windows: smallvec::SmallVec<[WindowState; 2]>,
}

impl Outcome {
    /// The binding window: the one with the fewest tokens left (first on ties).
    pub fn binding(&self) -> Option<&WindowState> {
        self.windows.iter().min_by_key(|w| w.remaining())
    }
}

fn window_us(l: &Limit) -> u64 {
    u64::from(l.window_seconds) * 1_000_000
}

/// `count × W`. Products of a limit's count fit a `u64` for every limit a bundle can hold
/// ([`crate::bundle::limit_is_valid`]), so they are plain multiplications: on wasm32 an overflow
/// check of a 64-bit product is a call to a 128-bit multiply routine, and the filter does six per
/// request. A limit outside that range (only constructed by hand) gives wrong levels, never a panic.
fn capacity(l: &Limit) -> u64 {
    l.count.wrapping_mul(window_us(l))
}

/// Windows a bucket holds without touching the heap: one per unit (second, minute, hour, day),
/// which is all a bundle can give. More are still handled, on the heap.
const INLINE_WINDOWS: usize = 4;

/// The inline capacity of a [`Value`]: a value of up to [`INLINE_WINDOWS`] windows fits.
const VALUE_INLINE: usize = 48;
const _: () = assert!(1 + 8 + 8 * INLINE_WINDOWS <= VALUE_INLINE);

/// Pure token-bucket step: refill to `now_us`, then try to take one token from every window.
/// Returns the outcome and, if admitted, the new stored value. Stored bytes that do not fit these
/// limits (another window set, after a reload) start the bucket full; a level above a window's
/// (new) capacity is capped.
pub fn step(stored: Option<&[u8]>, limits: &[Limit], now_us: u64) -> (Outcome, Option<Value>) {
    let n = limits.len();
    // Levels on the stack (the filter's every request goes through here; no SmallVec bookkeeping).
    let mut inline = [0u64; INLINE_WINDOWS];
    let mut heap: Vec<u64>;
    let levels: &mut [u64] = match inline.get_mut(..n) {
        Some(l) => l,
        None => {
            heap = vec![0; n];
            &mut heap
        }
    };
    let stored = stored.and_then(|b| payload(b, n));
    let last = match stored.and_then(|b| b.first_chunk::<8>()) {
        Some(last) => {
            let rest = stored.and_then(|b| b.get(8..)).unwrap_or_default();
            for ((lv, c), l) in levels.iter_mut().zip(rest.chunks_exact(8)).zip(limits) {
                *lv = c
                    .first_chunk::<8>()
                    .map_or(0, |w| u64::from_le_bytes(*w))
                    .min(capacity(l));
            }
            u64::from_le_bytes(*last)
        }
        None => {
            for (lv, l) in levels.iter_mut().zip(limits) {
                *lv = capacity(l);
            }
            now_us
        }
    };
    // A clock that goes backwards refills nothing and never moves `last` back.
    let elapsed = now_us.saturating_sub(last);
    let mut admitted = true;
    for (lv, l) in levels.iter_mut().zip(limits) {
        let refill = elapsed.min(window_us(l)).wrapping_mul(l.count);
        *lv = lv.saturating_add(refill).min(capacity(l));
        admitted &= *lv >= window_us(l);
    }
    let mut retry_after = 0;
    let mut windows = smallvec::SmallVec::new();
    for (lv, l) in levels.iter_mut().zip(limits) {
        let w = window_us(l);
        if admitted {
            *lv -= w;
        } else {
            // Until the window holds a whole token, at least 1 second. Whole seconds from
            // micro-units, rounded up: ⌈⌈units / count⌉ / 10⁶⌉ = ⌈units / (count × 10⁶)⌉.
            let per_second = l.count.wrapping_mul(1_000_000).max(1);
            retry_after = retry_after.max(w.saturating_sub(*lv).div_ceil(per_second).max(1));
        }
        windows.push(WindowState { limit: *l, level: *lv });
    }
    let value = admitted.then(|| {
        // Written in the SmallVec's own inline buffer, which is moved whole (a fixed-size copy
        // the compiler inlines) rather than copied by length.
        let mut buf = [0u8; VALUE_INLINE];
        let len = 1 + 8 + 8 * n;
        if let Some((version, rest)) = buf.split_first_mut() {
            *version = VALUE_VERSION;
            if let Some((head, tail)) = rest.split_first_chunk_mut::<8>() {
                *head = last.max(now_us).to_le_bytes();
                // Always the four inline slots, zero past the last window: a loop of a fixed
                // count of fixed 8-byte stores (over `levels` alone the compiler makes it a
                // `memcpy` call by length).
                for (i, out) in tail.chunks_exact_mut(8).enumerate() {
                    if let Some(out) = out.first_chunk_mut::<8>() {
                        *out = levels.get(i).copied().unwrap_or(0).to_le_bytes();
                    }
                }
            }
        }
        if len <= VALUE_INLINE {
            Value::from_buf_and_len(buf, len)
        } else {
            // More windows than fit inline.
            let mut v = Value::from_slice(&[VALUE_VERSION]);
            v.extend_from_slice(&last.max(now_us).to_le_bytes());
            for lv in levels.iter() {
                v.extend_from_slice(&lv.to_le_bytes());
            }
            v
        }
    });
    (
        Outcome {
            admitted,
            retry_after,
            windows,
        },
        value,
    )
}

/// Why a bucket could not decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitError {
    /// The store failed (not a CAS mismatch).
    Store,
    /// [`MAX_ATTEMPTS`] rounds all lost to other writers.
    Contention,
}

/// Takes one token from the bucket at `key`, exactly, against concurrent writers.
pub fn take<S: Store + ?Sized>(
    store: &mut S,
    key: &[u8],
    limits: &[Limit],
    now_us: u64,
) -> Result<Outcome, LimitError> {
    for _ in 0..MAX_ATTEMPTS {
        let current = store.get(key).map_err(|_| LimitError::Store)?;
        let (outcome, value) = step(current.as_ref().map(|(v, _)| v.as_slice()), limits, now_us);
        let Some(value) = value else {
            // Denied: nothing to write, the refill is recomputed next time.
            return Ok(outcome);
        };
        let cas = match &current {
            Some((_, cas)) => *cas,
            None => insert_cas(store)?,
        };
        match store.set(key, &value, cas).map_err(|_| LimitError::Store)? {
            SetResult::Ok => return Ok(outcome),
            SetResult::CasMismatch => continue,
        }
    }
    Err(LimitError::Contention)
}

/// A nonzero CAS that no key inserted after this call can carry (see the module docs).
fn insert_cas<S: Store + ?Sized>(store: &mut S) -> Result<u32, LimitError> {
    store.set(SEQUENCE_KEY, b"", 0).map_err(|_| LimitError::Store)?;
    match store.get(SEQUENCE_KEY).map_err(|_| LimitError::Store)? {
        Some((_, cas)) if cas != 0 => Ok(cas),
        _ => Err(LimitError::Store),
    }
}

/// An in-memory [`Store`] with Envoy's semantics (global CAS counter skipping 0, CAS compared only
/// for existing keys), for `explain`, benches and tests.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    table: HashTable<Entry>,
    hasher: DefaultHashBuilder,
    next_cas: u32,
}

#[derive(Debug, Clone)]
struct Entry {
    key: Box<[u8]>,
    /// The value when it fits (a bucket's value is at most 41 bytes for a bundle's limits), kept
    /// as a whole buffer so that a read is a fixed-size copy (a copy by length is a `memcpy`
    /// call, and reading its result right after stalls on store forwarding).
    inline: [u8; VALUE_INLINE],
    len: usize,
    /// The value when it does not fit.
    spilled: Vec<u8>,
    cas: u32,
}

impl Entry {
    fn value(&self) -> Value {
        if self.len <= VALUE_INLINE {
            Value::from_buf_and_len(self.inline, self.len)
        } else {
            Value::from_slice(&self.spilled)
        }
    }

    fn write(&mut self, value: &[u8]) {
        self.len = value.len();
        match self.inline.get_mut(..value.len()) {
            Some(head) => head.copy_from_slice(value),
            None => {
                self.spilled.clear();
                self.spilled.extend_from_slice(value);
            }
        }
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore {
            next_cas: 1,
            ..MemoryStore::default()
        }
    }

    fn next(&mut self) -> u32 {
        let c = self.next_cas.max(1);
        self.next_cas = c.wrapping_add(1).max(1);
        c
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Total bytes of keys and values.
    pub fn bytes(&self) -> usize {
        self.table.iter().map(|e| e.key.len() + e.len).sum()
    }

    /// All keys.
    pub fn keys(&self) -> impl Iterator<Item = &[u8]> {
        self.table.iter().map(|e| &*e.key)
    }
}

impl Store for MemoryStore {
    fn get(&mut self, key: &[u8]) -> Result<Option<Stored>, StoreError> {
        let hash = self.hasher.hash_one(key);
        Ok(self
            .table
            .find(hash, |e| same_bytes(&e.key, key))
            .map(|e| (e.value(), e.cas)))
    }

    fn set(&mut self, key: &[u8], value: &[u8], cas: u32) -> Result<SetResult, StoreError> {
        let next = self.next();
        let hash = self.hasher.hash_one(key);
        match self.table.find_mut(hash, |e| same_bytes(&e.key, key)) {
            Some(entry) => {
                if cas != 0 && cas != entry.cas {
                    return Ok(SetResult::CasMismatch);
                }
                entry.write(value);
                entry.cas = next;
            }
            None => {
                let hasher = &self.hasher;
                let mut entry = Entry {
                    key: Box::from(key),
                    inline: [0; VALUE_INLINE],
                    len: 0,
                    spilled: Vec::new(),
                    cas: next,
                };
                entry.write(value);
                self.table.insert_unique(hash, entry, |e| hasher.hash_one(&*e.key));
            }
        }
        Ok(SetResult::Ok)
    }
}

#[cfg(test)]
mod tests;
