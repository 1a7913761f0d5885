//! Envoy's shared key-value store and shared queues (proxy-wasm cpp-host
//! `SharedData`), with a hook to reproduce the first-insert race.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::abi::Status;

/// The process-wide shared data of a proxy: one key-value store per `vm_id`
/// (every VM with that `vm_id` sees the same keys, from any thread), a single
/// compare-and-swap counter for all of them, and the shared queues.
///
/// Cloning is cheap and yields a handle to the same store: give clones to
/// every [`VmOptions`](crate::VmOptions) that should share it, like the worker
/// threads of one Envoy process.
///
/// Semantics, exactly as Envoy's proxy-wasm host implements them:
///
/// * `get` of a missing key is `NotFound`.
/// * Every successful `set` gives the entry a fresh CAS value from the global
///   counter, which starts at 1 and skips 0 when it wraps.
/// * `set` with `cas == 0` is unconditional.
/// * `set` with `cas != 0` is compared **only when the key exists**: a set with
///   a nonzero CAS on a missing key simply inserts. So two VMs that both saw
///   "not found" and both insert with CAS 0 both succeed (the second overwrites
///   the first); if the inserting set carries a nonzero CAS, the second creator
///   fails with `CasMismatch` because the key now exists with another CAS.
/// * Keys are never deleted (a "removed" key keeps an empty value).
///
/// Because tests usually drive VMs one call at a time, the race above does not
/// happen by itself. [`SharedData::stale_reads`] and
/// [`SharedData::stale_reads_of`] reproduce it deterministically: they make the
/// next guest `get`s of an *existing* key report `NotFound`, exactly what a
/// worker that read just before another worker's first insert would see
/// (a VM's reads of keys it wrote itself are never stale).
///
/// ```
/// use acepack_host_tests::{SharedData, Status};
/// let shared = SharedData::new();
/// shared.set("vm", b"k", b"v1", 0).unwrap();
/// let (_, cas) = shared.get("vm", b"k").unwrap();
/// assert_eq!(cas, 1);
/// assert_eq!(shared.set("vm", b"k", b"v2", cas + 7), Err(Status::CasMismatch));
/// // A nonzero CAS on a missing key inserts:
/// shared.set("vm", b"other", b"x", 12345).unwrap();
/// assert_eq!(shared.len("vm"), 2);
/// ```
#[derive(Clone, Default)]
pub struct SharedData {
    inner: Arc<Mutex<Inner>>,
}

impl std::fmt::Debug for SharedData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.lock();
        f.debug_struct("SharedData")
            .field("vm_ids", &inner.data.len())
            .field("next_cas", &inner.next_cas)
            .finish()
    }
}

/// One stored value: the bytes, its CAS, and which VM wrote it last (0 for a
/// test writing through [`SharedData::set`]).
#[derive(Clone)]
struct Entry {
    value: Vec<u8>,
    cas: u32,
    writer: u64,
}

/// One `vm_id`'s keys.
type Entries = HashMap<Vec<u8>, Entry>;

struct Inner {
    data: HashMap<String, Entries>,
    next_cas: u32,
    stale_any: usize,
    stale_keys: HashMap<Vec<u8>, usize>,
    queue_tokens: HashMap<(String, String), u32>,
    queues: HashMap<u32, VecDeque<Vec<u8>>>,
    next_queue_token: u32,
}

impl Default for Inner {
    fn default() -> Self {
        Inner {
            data: HashMap::new(),
            next_cas: 1,
            stale_any: 0,
            stale_keys: HashMap::new(),
            queue_tokens: HashMap::new(),
            queues: HashMap::new(),
            next_queue_token: 1,
        }
    }
}

impl Inner {
    fn next_cas(&mut self) -> u32 {
        let cas = self.next_cas;
        self.next_cas = self.next_cas.wrapping_add(1);
        if self.next_cas == 0 {
            self.next_cas = 1;
        }
        cas
    }
}

impl SharedData {
    /// An empty store whose CAS counter starts at 1.
    pub fn new() -> SharedData {
        SharedData::default()
    }

    /// An empty store whose CAS counter starts at `cas` (0 is taken as 1).
    /// Lets a test reach the counter's wrap-around quickly.
    pub fn with_next_cas(cas: u32) -> SharedData {
        let shared = SharedData::default();
        shared.lock().next_cas = cas.max(1);
        shared
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panicking test thread must not make every other VM fail.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads a key as a test would inspect it: `(value, cas)`, or `None` when
    /// missing. Unlike a guest `get`, this never consumes a stale read.
    pub fn get(&self, vm_id: &str, key: &[u8]) -> Option<(Vec<u8>, u32)> {
        let inner = self.lock();
        let entry = inner.data.get(vm_id)?.get(key)?;
        Some((entry.value.clone(), entry.cas))
    }

    /// `proxy_set_shared_data` semantics (see the type's documentation):
    /// `Err(Status::CasMismatch)` only when the key exists, `cas != 0` and the
    /// CAS differs.
    pub fn set(&self, vm_id: &str, key: &[u8], value: &[u8], cas: u32) -> Result<(), Status> {
        self.guest_set(0, vm_id, key, value, cas)
    }

    /// The guest's `proxy_set_shared_data` by VM `writer`.
    pub(crate) fn guest_set(&self, writer: u64, vm_id: &str, key: &[u8], value: &[u8], cas: u32) -> Result<(), Status> {
        let mut inner = self.lock();
        let exists_with = inner.data.get(vm_id).and_then(|m| m.get(key)).map(|e| e.cas);
        if let Some(current) = exists_with {
            if cas != 0 && cas != current {
                return Err(Status::CasMismatch);
            }
        }
        let entry = Entry {
            value: value.to_vec(),
            cas: inner.next_cas(),
            writer,
        };
        let map = inner.data.entry(vm_id.to_owned()).or_default();
        match map.get_mut(key) {
            Some(slot) => *slot = entry,
            None => {
                map.insert(key.to_vec(), entry);
            }
        }
        Ok(())
    }

    /// The guest's `proxy_get_shared_data` by VM `reader`: like
    /// [`SharedData::get`], but consumes a pending stale read when the key
    /// exists and another VM (or the test) wrote it last.
    pub(crate) fn guest_get(&self, reader: u64, vm_id: &str, key: &[u8]) -> Result<(Vec<u8>, u32), Status> {
        let mut inner = self.lock();
        let Some(found) = inner.data.get(vm_id).and_then(|m| m.get(key)).cloned() else {
            return Err(Status::NotFound);
        };
        if found.writer == reader && reader != 0 {
            // A VM always sees its own writes: nothing to be stale about.
            return Ok((found.value, found.cas));
        }
        if let Some(n) = inner.stale_keys.get_mut(key) {
            if *n > 0 {
                *n -= 1;
                return Err(Status::NotFound);
            }
        }
        if inner.stale_any > 0 {
            inner.stale_any -= 1;
            return Err(Status::NotFound);
        }
        Ok((found.value, found.cas))
    }

    /// Makes the next `count` guest `get`s that would find a key written by
    /// *another* VM (any key, any `vm_id`) report `NotFound` instead, as if
    /// they had read just before that VM inserted it. Gets of missing keys, and
    /// of keys the reading VM wrote itself, do not use up the count (a VM
    /// always sees its own writes). Adds to any count already pending.
    ///
    /// Typical use, forcing "two VMs both saw the key missing, then both set":
    /// run one request on VM A (it creates the key), call `stale_reads(1)`,
    /// then run the same request on VM B: B's first `get` reports `NotFound`
    /// and B inserts over (CAS 0) or fails with `CasMismatch` (nonzero CAS).
    pub fn stale_reads(&self, count: usize) {
        let mut inner = self.lock();
        inner.stale_any = inner.stale_any.saturating_add(count);
    }

    /// Like [`SharedData::stale_reads`], restricted to one key (in any
    /// `vm_id`). Keyed stale reads are consumed before the unkeyed ones.
    pub fn stale_reads_of(&self, key: &[u8], count: usize) {
        let mut inner = self.lock();
        let n = inner.stale_keys.entry(key.to_vec()).or_insert(0);
        *n = n.saturating_add(count);
    }

    /// Stale reads not yet consumed (keyed and unkeyed together).
    pub fn pending_stale_reads(&self) -> usize {
        let inner = self.lock();
        inner.stale_any + inner.stale_keys.values().sum::<usize>()
    }

    /// Number of keys stored for `vm_id`.
    pub fn len(&self, vm_id: &str) -> usize {
        self.lock().data.get(vm_id).map_or(0, HashMap::len)
    }

    /// Whether `vm_id` has no key at all.
    pub fn is_empty(&self, vm_id: &str) -> bool {
        self.len(vm_id) == 0
    }

    /// Total bytes of keys plus values stored for `vm_id` (the payload; the
    /// proxy's own per-entry overhead is not counted).
    pub fn bytes(&self, vm_id: &str) -> usize {
        self.lock()
            .data
            .get(vm_id)
            .map_or(0, |m| m.iter().map(|(k, e)| k.len() + e.value.len()).sum())
    }

    /// Every key of `vm_id`, sorted.
    pub fn keys(&self, vm_id: &str) -> Vec<Vec<u8>> {
        let mut keys: Vec<Vec<u8>> = self
            .lock()
            .data
            .get(vm_id)
            .map_or_else(Vec::new, |m| m.keys().cloned().collect());
        keys.sort();
        keys
    }

    /// Every `(key, value)` of `vm_id`, sorted by key.
    pub fn entries(&self, vm_id: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut entries: Vec<(Vec<u8>, Vec<u8>)> = self.lock().data.get(vm_id).map_or_else(Vec::new, |m| {
            m.iter().map(|(k, e)| (k.clone(), e.value.clone())).collect()
        });
        entries.sort();
        entries
    }

    /// The CAS value the next successful `set` will receive.
    pub fn next_cas(&self) -> u32 {
        self.lock().next_cas
    }

    /// `proxy_register_shared_queue`: the token of `(vm_id, name)`, creating
    /// the queue if needed. Tokens start at 1.
    pub(crate) fn register_queue(&self, vm_id: &str, name: &str) -> u32 {
        let mut inner = self.lock();
        let key = (vm_id.to_owned(), name.to_owned());
        if let Some(token) = inner.queue_tokens.get(&key) {
            return *token;
        }
        let token = inner.next_queue_token;
        inner.next_queue_token = inner.next_queue_token.wrapping_add(1).max(1);
        inner.queue_tokens.insert(key, token);
        inner.queues.insert(token, VecDeque::new());
        token
    }

    /// `proxy_resolve_shared_queue`: the token of an existing queue.
    pub(crate) fn resolve_queue(&self, vm_id: &str, name: &str) -> Option<u32> {
        self.lock()
            .queue_tokens
            .get(&(vm_id.to_owned(), name.to_owned()))
            .copied()
    }

    /// `proxy_enqueue_shared_queue`. (`proxy_on_queue_ready` is not delivered:
    /// tests own the VMs and can dequeue themselves.)
    pub(crate) fn enqueue(&self, token: u32, value: &[u8]) -> Result<(), Status> {
        let mut inner = self.lock();
        let queue = inner.queues.get_mut(&token).ok_or(Status::NotFound)?;
        queue.push_back(value.to_vec());
        Ok(())
    }

    /// `proxy_dequeue_shared_queue`: `NotFound` for an unknown token, `Empty`
    /// for an empty queue.
    pub(crate) fn dequeue(&self, token: u32) -> Result<Vec<u8>, Status> {
        let mut inner = self.lock();
        let queue = inner.queues.get_mut(&token).ok_or(Status::NotFound)?;
        queue.pop_front().ok_or(Status::Empty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cas_counter_starts_at_one_and_skips_zero() {
        let shared = SharedData::new();
        assert_eq!(shared.next_cas(), 1);
        shared.set("vm", b"a", b"1", 0).unwrap();
        assert_eq!(shared.get("vm", b"a").unwrap().1, 1);
        shared.set("vm", b"a", b"2", 1).unwrap();
        assert_eq!(shared.get("vm", b"a").unwrap().1, 2);

        let shared = SharedData::with_next_cas(u32::MAX);
        shared.set("vm", b"a", b"1", 0).unwrap();
        assert_eq!(shared.get("vm", b"a").unwrap().1, u32::MAX);
        shared.set("vm", b"a", b"2", u32::MAX).unwrap();
        assert_eq!(shared.get("vm", b"a").unwrap().1, 1, "0 is skipped");
        assert_eq!(SharedData::with_next_cas(0).next_cas(), 1);
    }

    #[test]
    fn cas_is_compared_only_when_the_key_exists() {
        let shared = SharedData::new();
        // nonzero CAS on a missing key: inserted
        shared.set("vm", b"k", b"first", 999).unwrap();
        let (v, cas) = shared.get("vm", b"k").unwrap();
        assert_eq!(v, b"first");
        // wrong CAS on an existing key: mismatch, value untouched
        assert_eq!(shared.set("vm", b"k", b"x", cas + 1), Err(Status::CasMismatch));
        assert_eq!(shared.get("vm", b"k").unwrap(), (b"first".to_vec(), cas));
        // right CAS: updated with a fresh CAS
        shared.set("vm", b"k", b"second", cas).unwrap();
        let (v, cas2) = shared.get("vm", b"k").unwrap();
        assert_eq!(v, b"second");
        assert_ne!(cas2, cas);
        // stale CAS now fails
        assert_eq!(shared.set("vm", b"k", b"x", cas), Err(Status::CasMismatch));
        // CAS 0 always wins
        shared.set("vm", b"k", b"third", 0).unwrap();
        assert_eq!(shared.get("vm", b"k").unwrap().0, b"third");
    }

    #[test]
    fn the_cas_counter_is_global_across_vm_ids() {
        let shared = SharedData::new();
        shared.set("a", b"k", b"1", 0).unwrap();
        shared.set("b", b"k", b"1", 0).unwrap();
        assert_eq!(shared.get("a", b"k").unwrap().1, 1);
        assert_eq!(shared.get("b", b"k").unwrap().1, 2);
    }

    #[test]
    fn vm_ids_are_isolated() {
        let shared = SharedData::new();
        shared.set("a", b"k", b"va", 0).unwrap();
        assert_eq!(shared.guest_get(1, "b", b"k"), Err(Status::NotFound));
        assert_eq!(shared.guest_get(1, "a", b"k").unwrap().0, b"va");
        assert_eq!(shared.len("a"), 1);
        assert_eq!(shared.len("b"), 0);
        assert!(shared.is_empty("b"));
        assert_eq!(shared.bytes("a"), 3);
        assert_eq!(shared.keys("a"), vec![b"k".to_vec()]);
        assert_eq!(shared.entries("a"), vec![(b"k".to_vec(), b"va".to_vec())]);
    }

    #[test]
    fn get_of_missing_key_is_not_found() {
        let shared = SharedData::new();
        assert_eq!(shared.guest_get(1, "vm", b"nope"), Err(Status::NotFound));
        assert_eq!(shared.get("vm", b"nope"), None);
    }

    #[test]
    fn stale_reads_reproduce_the_first_insert_race() {
        const A: u64 = 1;
        const B: u64 = 2;
        let shared = SharedData::new();
        // With CAS 0 inserts, both "creators" succeed: the second overwrites.
        assert_eq!(shared.guest_get(A, "vm", b"k"), Err(Status::NotFound));
        shared.guest_set(A, "vm", b"k", b"A", 0).unwrap();
        shared.stale_reads(1);
        assert!(shared.guest_get(A, "vm", b"k").is_ok(), "own writes are never stale");
        assert_eq!(shared.pending_stale_reads(), 1);
        assert_eq!(shared.guest_get(B, "vm", b"k"), Err(Status::NotFound)); // B, stale
        shared.guest_set(B, "vm", b"k", b"B", 0).unwrap();
        assert_eq!(shared.get("vm", b"k").unwrap().0, b"B");
        assert_eq!(shared.pending_stale_reads(), 0);
        assert!(shared.guest_get(A, "vm", b"k").is_ok());

        // With a nonzero CAS on insert, the second creator fails.
        shared.stale_reads_of(b"j", 1);
        assert_eq!(shared.guest_get(B, "vm", b"j"), Err(Status::NotFound));
        assert_eq!(shared.pending_stale_reads(), 1, "missing keys do not consume");
        shared.guest_set(A, "vm", b"j", b"A", 1 << 31).unwrap();
        assert_eq!(shared.guest_get(B, "vm", b"j"), Err(Status::NotFound)); // stale
        assert_eq!(shared.guest_set(B, "vm", b"j", b"B", 1 << 31), Err(Status::CasMismatch));
        assert_eq!(shared.get("vm", b"j").unwrap().0, b"A");
        assert_eq!(shared.guest_get(B, "vm", b"j").unwrap().0, b"A");
    }

    #[test]
    fn concurrent_cas_increments_are_exact() {
        let shared = SharedData::new();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let shared = shared.clone();
                std::thread::spawn(move || {
                    for _ in 0..500 {
                        loop {
                            let (value, cas) = match shared.guest_get(1, "vm", b"n") {
                                Ok((v, c)) => (u64::from_le_bytes(v.try_into().unwrap()), c),
                                Err(_) => (0, 0),
                            };
                            // insert with a nonzero CAS so that racing creators fail
                            let cas = if cas == 0 { u32::MAX } else { cas };
                            if shared.set("vm", b"n", &(value + 1).to_le_bytes(), cas).is_ok() {
                                break;
                            }
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let (v, _) = shared.get("vm", b"n").unwrap();
        assert_eq!(u64::from_le_bytes(v.try_into().unwrap()), 2000);
    }

    #[test]
    fn queues() {
        let shared = SharedData::new();
        let t = shared.register_queue("vm", "q");
        assert_eq!(t, 1);
        assert_eq!(shared.register_queue("vm", "q"), t);
        assert_eq!(shared.resolve_queue("vm", "q"), Some(t));
        assert_eq!(shared.resolve_queue("other", "q"), None);
        assert_eq!(shared.dequeue(t), Err(Status::Empty));
        shared.enqueue(t, b"x").unwrap();
        assert_eq!(shared.dequeue(t).unwrap(), b"x");
        assert_eq!(shared.dequeue(99), Err(Status::NotFound));
        assert_eq!(shared.enqueue(99, b"x"), Err(Status::NotFound));
    }
}
