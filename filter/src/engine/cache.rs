//! A per-VM memo of registered credentials, so repeat callers skip the SHA-256 of their key.

use std::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashTable};

use crate::bundle::DIGEST_LEN;
use crate::bytes::same_bytes;

/// Most credentials a [`KeyCache`] remembers before it starts over.
pub const KEY_CACHE_CAPACITY: usize = 4096;

/// A per-VM memo of registered credentials: raw secret → (application, digest), so repeat callers
/// skip SHA-256. Only credentials found in the bundle are remembered (unknown keys cannot grow
/// it), and it is bounded: when full it starts over. It holds raw keys in the VM's memory, which
/// already sees every request's key.
///
/// Keys are compared eight bytes at a time: a hash map's own comparison calls `memcmp`, which
/// the wasm libc does byte by byte (about 14 wasm instructions a byte, 400 for a typical key).
#[derive(Default)]
pub struct KeyCache {
    table: HashTable<CachedKey>,
    hasher: DefaultHashBuilder,
}

struct CachedKey {
    secret: Box<[u8]>,
    application: u32,
    digest: [u8; DIGEST_LEN],
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the keys themselves.
        f.debug_struct("KeyCache").field("len", &self.len()).finish()
    }
}

impl KeyCache {
    /// An empty cache (allocates on first insert).
    pub fn new() -> KeyCache {
        KeyCache::default()
    }

    /// Number of remembered credentials.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The application and digest of a remembered secret.
    pub(crate) fn get(&self, secret: &[u8]) -> Option<(u32, [u8; DIGEST_LEN])> {
        self.table
            .find(self.hasher.hash_one(secret), |k| same_bytes(&k.secret, secret))
            .map(|k| (k.application, k.digest))
    }

    /// Remembers a registered secret (starting over when full).
    pub(crate) fn insert(&mut self, secret: &[u8], application: u32, digest: [u8; DIGEST_LEN]) {
        if self.table.len() >= KEY_CACHE_CAPACITY {
            self.table.clear();
        }
        let hasher = &self.hasher;
        let entry = CachedKey {
            secret: Box::from(secret),
            application,
            digest,
        };
        self.table
            .insert_unique(hasher.hash_one(secret), entry, |k| hasher.hash_one(&*k.secret));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_cache_remembers_and_starts_over_when_full() {
        let mut c = KeyCache::new();
        c.insert(b"secret-1", 7, [1; DIGEST_LEN]);
        assert_eq!(c.get(b"secret-1"), Some((7, [1; DIGEST_LEN])));
        assert_eq!(c.get(b"secret-2"), None);
        assert_eq!(c.get(b"secret-"), None);
        for i in 0..KEY_CACHE_CAPACITY {
            c.insert(format!("k{i}").as_bytes(), i as u32, [0; DIGEST_LEN]);
        }
        // Full after the first key: started over once, so the oldest are gone, the newest kept.
        assert!(c.len() <= KEY_CACHE_CAPACITY);
        assert_eq!(c.get(b"secret-1"), None);
        let last = KEY_CACHE_CAPACITY - 1;
        assert_eq!(
            c.get(format!("k{last}").as_bytes()),
            Some((last as u32, [0; DIGEST_LEN]))
        );
        assert!(!format!("{c:?}").contains("k1"), "Debug never shows keys: {c:?}");
    }
}
