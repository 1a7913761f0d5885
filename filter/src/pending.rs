//! Charged streams waiting for their response headers, by context id (the proxy-wasm glue's
//! per-VM table; here so that it is tested natively).
//!
//! Nearly always a handful per VM, so a small direct-mapped table (slot = context id modulo its
//! size) holds them: an insert and a remove are one slot each, a few instructions of code that
//! stays small. A stream whose slot is taken by another live stream goes to an overflow map, so
//! any number of streams in flight is still exact; only then does the request path hash.

use hashbrown::HashMap;

use crate::headers::RateLimitState;

/// Slots of the direct-mapped table (a power of two).
const SLOTS: usize = 64;

/// See the module docs.
pub(crate) struct Pending {
    slots: [Option<(u32, RateLimitState)>; SLOTS],
    overflow: HashMap<u32, RateLimitState>,
}

impl Default for Pending {
    fn default() -> Self {
        Pending {
            slots: [None; SLOTS],
            overflow: HashMap::new(),
        }
    }
}

fn slot(context_id: u32) -> usize {
    context_id as usize % SLOTS
}

impl Pending {
    /// Keeps `state` until the response of `context_id` (replacing an earlier one of that id).
    pub(crate) fn insert(&mut self, context_id: u32, state: RateLimitState) {
        if !self.overflow.is_empty() {
            self.overflow.remove(&context_id);
        }
        match self.slots.get_mut(slot(context_id)) {
            Some(s @ None) => *s = Some((context_id, state)),
            Some(Some((id, kept))) if *id == context_id => *kept = state,
            _ => {
                self.overflow.insert(context_id, state);
            }
        }
    }

    /// Takes the state of `context_id`, if any.
    pub(crate) fn remove(&mut self, context_id: u32) -> Option<RateLimitState> {
        if let Some(s) = self.slots.get_mut(slot(context_id)) {
            if matches!(s, Some((id, _)) if *id == context_id) {
                return s.take().map(|(_, state)| state);
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
    use crate::bundle::Limit;
    use crate::limiter::WindowState;

    fn state(n: u32) -> RateLimitState {
        RateLimitState {
            package: n,
            scope: n,
            binding: WindowState {
                limit: Limit {
                    count: 10,
                    window_seconds: 60,
                },
                level: u64::from(n),
            },
        }
    }

    #[test]
    fn many_streams_in_flight_each_get_their_own_state_back() {
        let mut p = Pending::default();
        // Ids that share slots (multiples of SLOTS apart) and ids that do not.
        let ids: Vec<u32> = (0..(3 * SLOTS as u32))
            .map(|i| i * 7 + (i % 3) * SLOTS as u32)
            .collect();
        for &id in &ids {
            p.insert(id, state(id));
        }
        assert_eq!(p.len(), ids.len());
        for &id in ids.iter().rev() {
            assert_eq!(p.remove(id), Some(state(id)), "id {id}");
            assert_eq!(p.remove(id), None, "id {id} taken twice");
        }
        assert_eq!(p.len(), 0);
    }

    #[test]
    fn a_second_insert_for_one_stream_replaces_the_first() {
        let mut p = Pending::default();
        p.insert(5, state(1));
        p.insert(5 + SLOTS as u32, state(2));
        p.insert(5, state(3));
        p.insert(5 + SLOTS as u32, state(4));
        assert_eq!(p.remove(5), Some(state(3)));
        assert_eq!(p.remove(5 + SLOTS as u32), Some(state(4)));
        assert_eq!(p.len(), 0);
    }
}
