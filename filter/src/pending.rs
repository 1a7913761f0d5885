//! Streams waiting for their response headers, by context id: what the proxy-wasm glue keeps
//! between a request's decision and its response (here so that it is tested natively).
//!
//! Nearly always a handful per VM, so a small direct-mapped table (slot = context id modulo its
//! size) holds them: an insert and a remove are one slot each, a few instructions of code that
//! stays small. When two streams want one slot, the newer one takes it and the older one moves to
//! an overflow map, so any number of streams in flight is still exact, up to a bound.
//!
//! The filter does not export `proxy_on_delete`: every callback a module exports is one more entry
//! into the VM for every stream (docs/enforcement.md, the filter in Envoy). So a stream that ends
//! without response headers (a client reset) leaves its entry behind, and the table bounds itself
//! instead of being told: the overflow holds at most [`OVERFLOW`] streams and, when full, drops
//! the oldest (Envoy numbers the contexts of a VM in increasing order). A left-behind entry is
//! therefore pushed out by newer streams; a live stream loses its entry (its response then carries
//! no rate-limit headers, its decision stands) only when more than [`SLOTS`] + [`OVERFLOW`]
//! streams of one VM await their response headers at once.

use std::collections::BTreeMap;

/// Slots of the direct-mapped table (a power of two).
pub(crate) const SLOTS: usize = 64;

/// Streams the overflow map holds at most.
pub(crate) const OVERFLOW: usize = 4096;

/// See the module docs.
pub(crate) struct Pending<T> {
    slots: [Option<(u32, T)>; SLOTS],
    /// Ordered by context id, so the oldest is the first.
    overflow: BTreeMap<u32, T>,
}

impl<T: Copy> Default for Pending<T> {
    fn default() -> Self {
        Pending {
            slots: [None; SLOTS],
            overflow: BTreeMap::new(),
        }
    }
}

fn slot(context_id: u32) -> usize {
    context_id as usize % SLOTS
}

impl<T: Copy> Pending<T> {
    /// Keeps `value` until the response of `context_id` (replacing an earlier one of that id).
    pub(crate) fn insert(&mut self, context_id: u32, value: T) {
        if !self.overflow.is_empty() {
            self.overflow.remove(&context_id);
        }
        let Some(s) = self.slots.get_mut(slot(context_id)) else {
            return;
        };
        match s {
            None => *s = Some((context_id, value)),
            Some((id, kept)) if *id == context_id => *kept = value,
            Some((id, _)) => {
                // The newer stream takes the slot: an entry left behind by a reset stream is
                // always the older one, and it ages out of the overflow.
                let older = if *id < context_id {
                    s.replace((context_id, value))
                } else {
                    Some((context_id, value))
                };
                if let Some((id, v)) = older {
                    self.spill(id, v);
                }
            }
        }
    }

    /// Puts a stream in the overflow, dropping the oldest one there (maybe itself) when full.
    #[cold]
    fn spill(&mut self, context_id: u32, value: T) {
        if self.overflow.len() >= OVERFLOW {
            match self.overflow.first_key_value() {
                Some((&oldest, _)) if oldest < context_id => {
                    self.overflow.pop_first();
                }
                _ => return,
            }
        }
        self.overflow.insert(context_id, value);
    }

    /// Takes the value of `context_id`, if any.
    pub(crate) fn remove(&mut self, context_id: u32) -> Option<T> {
        if let Some(s) = self.slots.get_mut(slot(context_id)) {
            if matches!(s, Some((id, _)) if *id == context_id) {
                return s.take().map(|(_, v)| v);
            }
        }
        if self.overflow.is_empty() {
            return None;
        }
        self.overflow.remove(&context_id)
    }

    /// Streams kept.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots.iter().flatten().count() + self.overflow.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_streams_in_flight_each_get_their_own_state_back() {
        let mut p = Pending::default();
        // Ids that share slots (multiples of SLOTS apart) and ids that do not, in no order.
        let ids: Vec<u32> = (0..(3 * SLOTS as u32))
            .map(|i| i * 7 + (i % 3) * SLOTS as u32)
            .collect();
        for &id in &ids {
            p.insert(id, id * 10);
        }
        assert_eq!(p.len(), ids.len());
        for &id in ids.iter().rev() {
            assert_eq!(p.remove(id), Some(id * 10), "id {id}");
            assert_eq!(p.remove(id), None, "id {id} taken twice");
        }
        assert_eq!(p.len(), 0);
    }

    #[test]
    fn a_second_insert_for_one_stream_replaces_the_first() {
        let mut p = Pending::default();
        p.insert(5, 1);
        p.insert(5 + SLOTS as u32, 2);
        p.insert(5, 3);
        p.insert(5 + SLOTS as u32, 4);
        assert_eq!(p.remove(5), Some(3));
        assert_eq!(p.remove(5 + SLOTS as u32), Some(4));
        assert_eq!(p.len(), 0);
    }

    /// Streams reset before their response never come back for their entries: the table stays
    /// bounded however many there are, and the streams still in flight keep theirs.
    #[test]
    fn entries_of_reset_streams_age_out_and_live_streams_keep_theirs() {
        let mut p = Pending::default();
        // A long-lived stream, then a hundred thousand that are reset (never removed), with a few live
        // ones among the latest.
        p.insert(1, 1);
        let total = 100_000u32;
        for id in 2..total {
            p.insert(id, id);
            assert!(p.len() <= SLOTS + OVERFLOW, "{} kept after {id}", p.len());
        }
        // The most recent SLOTS + OVERFLOW streams are all still there.
        for id in (total - (SLOTS + OVERFLOW) as u32)..total {
            assert_eq!(p.remove(id), Some(id), "id {id}");
        }
        // What a reset left behind is gone, and so is the oldest stream (more than the bound
        // were in flight after it).
        assert_eq!(p.remove(1), None);
        assert_eq!(p.len(), 0);
    }

    /// A stream inserted when the overflow is full of newer ones is itself the one dropped.
    #[test]
    fn an_older_stream_than_all_kept_is_the_one_dropped() {
        let mut p = Pending::default();
        let base = 1_000_000u32;
        for id in base..base + (SLOTS + OVERFLOW) as u32 {
            p.insert(id, id);
        }
        assert_eq!(p.len(), SLOTS + OVERFLOW);
        // Older than everything kept and colliding with a kept slot.
        p.insert(base - SLOTS as u32, 7);
        assert_eq!(p.len(), SLOTS + OVERFLOW);
        assert_eq!(p.remove(base - SLOTS as u32), None);
        assert_eq!(p.remove(base), Some(base));
    }
}
