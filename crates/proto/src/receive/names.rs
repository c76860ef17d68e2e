//! Leaf: the event names a receiver delivered last, shared.
//!
//! A burst of small events carries a few names over and over. Each
//! delivered message names its event with an `Arc<str>`; a name among the
//! last [`SLOTS`] different ones delivered is shared with the messages
//! before it rather than allocated again (an allocation and a free per
//! event, 5-7% of a receiver's time for a burst of 64-byte events).
//!
//! The cache is bounded: [`SLOTS`] names of at most [`LONGEST`] bytes.
//! Longer names, and names that change with every event (a hostile or
//! odd sender), cost what they cost before: one allocation each.

use std::sync::Arc;

/// How many different names are kept.
const SLOTS: usize = 8;

/// The longest name kept, in bytes; a longer one is allocated for each
/// message.
const LONGEST: usize = 64;

/// The names delivered last (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct Names {
    recent: [Option<Arc<str>>; SLOTS],
    /// The slot of the name found or kept last: tried first.
    last: usize,
    /// The slot the next new name takes (the oldest kept).
    next: usize,
}

impl Names {
    /// `name`, shared with earlier messages of that name if it is kept.
    pub(crate) fn share(&mut self, name: &str) -> Arc<str> {
        if let Some(kept) = self.find(name) {
            return kept;
        }
        let shared = Arc::<str>::from(name);
        if name.len() <= LONGEST {
            self.recent[self.next] = Some(shared.clone());
            self.last = self.next;
            self.next = (self.next + 1) % SLOTS;
        }
        shared
    }

    /// The kept copy of `name`, if there is one.
    fn find(&mut self, name: &str) -> Option<Arc<str>> {
        if self.recent[self.last].as_deref() == Some(name) {
            return self.recent[self.last].clone();
        }
        if name.len() > LONGEST {
            return None;
        }
        let slot = self
            .recent
            .iter()
            .position(|kept| kept.as_deref() == Some(name))?;
        self.last = slot;
        self.recent[slot].clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_names_are_shared_and_the_cache_stays_bounded() {
        let mut names = Names::default();
        let a = names.share("a");
        assert!(Arc::ptr_eq(&a, &names.share("a")));
        // Eight others push "a" out; each of them is kept meanwhile.
        let others: Vec<_> = (0..SLOTS).map(|i| names.share(&format!("n{i}"))).collect();
        for (i, other) in others.iter().enumerate() {
            assert!(Arc::ptr_eq(other, &names.share(&format!("n{i}"))));
        }
        let again = names.share("a");
        assert_eq!(&*again, "a");
        assert!(!Arc::ptr_eq(&a, &again), "pushed out, made again");
        // Long names are never kept: at most SLOTS short ones are.
        let long = "x".repeat(LONGEST + 1);
        assert!(!Arc::ptr_eq(&names.share(&long), &names.share(&long)));
        assert!(names.recent.iter().flatten().all(|n| n.len() <= LONGEST));
        let at_limit = "y".repeat(LONGEST);
        assert!(Arc::ptr_eq(
            &names.share(&at_limit),
            &names.share(&at_limit)
        ));
    }
}
