//! The receiver's senders by id, with the last one looked up at hand.
//!
//! Every message looks its sender up a dozen times on its way through
//! reassembly, loss recovery and ordering, and a burst comes from one
//! sender: the states sit in a `Vec`, a map gives a sender's index, and
//! the index last found is tried first, without hashing. The look-ups are
//! inlined where they are made, so that one that finds the last sender
//! costs a comparison, not a call.

use super::state::SenderState;
use crate::fastmap::FastMap;
use crate::ids::SenderId;

#[derive(Default)]
pub(crate) struct Senders {
    states: Vec<(SenderId, SenderState)>,
    index: FastMap<SenderId, usize>,
    /// Where the last sender found by `get_mut` is.
    last: usize,
}

impl Senders {
    #[inline]
    fn find(&self, id: &SenderId) -> Option<usize> {
        match self.states.get(self.last) {
            Some((last, _)) if last == id => Some(self.last),
            _ => self.index.get(id).copied(),
        }
    }

    #[inline]
    pub(crate) fn get(&self, id: &SenderId) -> Option<&SenderState> {
        let i = self.find(id)?;
        self.states.get(i).map(|(_, s)| s)
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, id: &SenderId) -> Option<&mut SenderState> {
        let i = self.find(id)?;
        self.last = i;
        self.states.get_mut(i).map(|(_, s)| s)
    }

    #[inline]
    pub(crate) fn contains_key(&self, id: &SenderId) -> bool {
        self.find(id).is_some()
    }

    /// Adds or replaces `id`'s state; returns the one replaced.
    pub(crate) fn insert(&mut self, id: SenderId, state: SenderState) -> Option<SenderState> {
        if let Some(i) = self.find(&id) {
            return self
                .states
                .get_mut(i)
                .map(|(_, s)| std::mem::replace(s, state));
        }
        self.index.insert(id, self.states.len());
        self.states.push((id, state));
        None
    }

    pub(crate) fn remove(&mut self, id: &SenderId) -> Option<SenderState> {
        let i = self.index.remove(id)?;
        if i >= self.states.len() {
            return None;
        }
        let (_, state) = self.states.swap_remove(i);
        if let Some((moved, _)) = self.states.get(i) {
            self.index.insert(*moved, i);
        }
        Some(state)
    }

    pub(crate) fn len(&self) -> usize {
        self.states.len()
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &SenderState> {
        self.states.iter().map(|(_, s)| s)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&SenderId, &SenderState)> {
        self.states.iter().map(|(id, s)| (id, s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receive::state::FirstHeard;
    use std::time::Instant;

    fn state(id: u64) -> SenderState {
        let first = FirstHeard {
            seq: id,
            data: true,
            live: true,
        };
        let from = "127.0.0.1:1".parse().unwrap();
        SenderState::new(SenderId::new(id), Instant::now(), from, first, None)
    }

    #[test]
    fn finds_what_a_map_would_after_any_insert_and_remove() {
        let mut senders = Senders::default();
        for id in 1..=4 {
            assert!(senders.insert(SenderId::new(id), state(id)).is_none());
        }
        assert!(senders.insert(SenderId::new(2), state(20)).is_some());
        let start = |s: &Senders, id: u64| s.get(&SenderId::new(id)).map(|s| s.first_seq);
        assert_eq!(start(&senders, 2), Some(20));
        // The last one found is at hand; removing another moves the last
        // state into its place.
        assert!(senders.get_mut(&SenderId::new(4)).is_some());
        assert!(senders.remove(&SenderId::new(1)).is_some());
        assert!(senders.remove(&SenderId::new(1)).is_none());
        assert_eq!(senders.len(), 3);
        for (id, seq) in [(2, Some(20)), (3, Some(3)), (4, Some(4)), (1, None)] {
            assert_eq!(start(&senders, id), seq);
            assert_eq!(
                senders.get_mut(&SenderId::new(id)).map(|s| s.first_seq),
                seq
            );
            assert_eq!(senders.contains_key(&SenderId::new(id)), seq.is_some());
        }
        let mut ids: Vec<u64> = senders.iter().map(|(id, _)| id.get()).collect();
        ids.sort_unstable();
        assert_eq!(ids, vec![2, 3, 4]);
        assert_eq!(senders.values().count(), 3);
    }
}
