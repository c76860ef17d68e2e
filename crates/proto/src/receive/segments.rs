//! The segments held of one partial message, put together in place.
//!
//! Segments that arrive in order (the common case) are appended to the
//! body as they come, so a complete message needs no second copy; a
//! segment that arrives ahead of a missing one waits in a map until the
//! hole is filled. The body's buffer is reserved for the whole message
//! only when the caller allows it (a sender believed real with no other
//! partial message, budgets that could hold all of it); otherwise it grows
//! as segments are appended.

use std::collections::BTreeMap;

use crate::config::{BufferSource, ReserveHook};

/// How often, in bytes appended, a reserved buffer's hook is shown the
/// room ahead (see [`Segments::insert`]).
const HOOK_STEP: usize = 1 << 20;

/// What the configuration lends the reassembly of a message's body: a
/// hook shown the room reserved, and where a reserved buffer may come from.
#[derive(Clone, Copy, Default)]
pub(crate) struct Hooks<'a> {
    /// [`Config::reserve_hook`](crate::Config::reserve_hook).
    pub(crate) reserve: Option<ReserveHook>,
    /// [`Config::buffer_source`](crate::Config::buffer_source).
    pub(crate) source: Option<&'a BufferSource>,
}

/// The segments held of one message.
#[derive(Debug, Default)]
pub(crate) struct Segments {
    /// Segments `0 .. in_order`, concatenated.
    body: Vec<u8>,
    in_order: u32,
    /// Segments past a missing one.
    ahead: BTreeMap<u32, Vec<u8>>,
    /// The runs of consecutive indexes in `ahead`, first → last (each as
    /// long as it goes: the index after `last` is not held). What is
    /// missing is found a run at a time ([`Segments::missing`]), so that
    /// looking costs what is missing, not what is held: an overheard NACK
    /// makes this node look at each partial message it names.
    runs: BTreeMap<u32, u32>,
    /// The body's buffer was reserved for the whole message, and the hook
    /// shown its room.
    reserved: bool,
}

impl Segments {
    /// How many segments are held.
    pub(crate) fn len(&self) -> usize {
        self.in_order as usize + self.ahead.len()
    }

    /// Whether none is.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether segment `index` is held.
    pub(crate) fn contains(&self, index: u32) -> bool {
        index < self.in_order || self.ahead.contains_key(&index)
    }

    /// The indexes held, in order.
    #[cfg(test)]
    pub(crate) fn indexes(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.in_order).chain(self.ahead.keys().copied())
    }

    /// The indexes below `through` not held, in order, at most `limit`.
    /// Walks from the first missing index a run of held segments at a
    /// time (never over the segments `0 .. in_order`, nor one by one over
    /// a run ahead): every run it steps over ends at a missing index it
    /// returns, so the cost is that of what it returns.
    pub(crate) fn missing(&self, through: u32, limit: usize) -> Vec<u32> {
        let mut out = Vec::new();
        let mut next = self.in_order;
        for (&first, &last) in &self.runs {
            if out.len() >= limit {
                return out;
            }
            #[cfg(test)]
            tests::RUNS_WALKED.with(|w| w.set(w.get() + 1));
            // `next .. first` is missing (runs are as long as they go).
            while next < first.min(through) {
                if out.len() >= limit {
                    return out;
                }
                out.push(next);
                next += 1;
            }
            if first >= through {
                return out;
            }
            // `last` is below `u32::MAX`: an index is below the segment
            // count, a u32. Saturating all the same: nothing past it is
            // below `through`.
            next = last.saturating_add(1);
        }
        while next < through && out.len() < limit {
            out.push(next);
            next += 1;
        }
        out
    }

    /// Payload bytes held.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.body.len() + self.ahead.values().map(Vec::len).sum::<usize>()
    }

    /// Holds segment `index` (not held yet). `reserve`: the length of the
    /// whole body, if the buffer may be reserved for it now. Before a
    /// buffer is allocated for it, `hooks.source` is asked for one with
    /// that room. `hooks.reserve` is called on the buffer's room when the
    /// reservation grows it or the source's buffer is taken, then again
    /// each time the body grows past a multiple of [`HOOK_STEP`], on the
    /// room from the next multiple on.
    pub(crate) fn insert(
        &mut self,
        index: u32,
        payload: &[u8],
        reserve: Option<usize>,
        hooks: Hooks<'_>,
    ) {
        debug_assert!(!self.contains(index));
        if index != self.in_order {
            self.hold_ahead(index, payload);
            return;
        }
        let hook = hooks.reserve;
        if let Some(len) = reserve {
            let lent = self.body.capacity() == 0 && self.adopt(len, hooks.source);
            let had = self.body.capacity();
            self.body.reserve_exact(len.saturating_sub(self.body.len()));
            // A lent buffer's room is shown too: its pages may be as fresh
            // as a reserved one's.
            if let Some(hook) = hook.filter(|_| lent || self.body.capacity() != had) {
                (hook.0)(self.body.spare_capacity_mut());
                self.reserved = true;
            }
        }
        let before = self.body.len();
        self.body.extend_from_slice(payload);
        self.in_order += 1;
        // The run that starts right after it (if any) is in order now.
        self.runs.remove(&self.in_order);
        while let Some(next) = self.ahead.remove(&self.in_order) {
            self.body.extend_from_slice(&next);
            self.in_order += 1;
        }
        if let Some(hook) = hook.filter(|_| self.reserved) {
            self.ahead_of_writes(before, hook);
        }
    }

    /// Holds segment `index`, past a missing one, and joins it to the
    /// runs it touches.
    fn hold_ahead(&mut self, index: u32, payload: &[u8]) {
        self.ahead.insert(index, payload.to_vec());
        let mut first = index;
        let mut last = index;
        if let Some((&f, &l)) = self.runs.range(..index).next_back() {
            if l.checked_add(1) == Some(index) {
                first = f;
            }
        }
        if let Some(after) = index.checked_add(1) {
            if let Some(l) = self.runs.remove(&after) {
                last = l;
            }
        }
        self.runs.insert(first, last);
    }

    /// Takes the buffer `source` gives for a body of `len` bytes, if it
    /// has the room (this body holds nothing yet); whether it did.
    fn adopt(&mut self, len: usize, source: Option<&BufferSource>) -> bool {
        match source.and_then(|s| (s.0)(len)) {
            Some(mut buf) if buf.capacity() >= len => {
                buf.clear();
                self.body = buf;
                true
            }
            _ => false,
        }
    }

    /// Shows `hook` the room from the next multiple of [`HOOK_STEP`] on,
    /// if the body (of `before` bytes before this segment) has just grown
    /// past one: a hook that faults pages in then does it ahead of the
    /// copies, a step at a time, rather than all at once when the buffer
    /// is reserved.
    fn ahead_of_writes(&mut self, before: usize, hook: ReserveHook) {
        let len = self.body.len();
        if before / HOOK_STEP == len / HOOK_STEP {
            return;
        }
        let skip = (len / HOOK_STEP + 1) * HOOK_STEP - len;
        if let Some(room) = self.body.spare_capacity_mut().get_mut(skip..) {
            if !room.is_empty() {
                (hook.0)(room);
            }
        }
    }

    /// The body, once every segment is held (`None` before: a caller's
    /// bookkeeping error, not the network's).
    pub(crate) fn into_body(self) -> Option<Vec<u8>> {
        self.ahead.is_empty().then_some(self.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::cell::Cell;

    thread_local! {
        /// Runs [`Segments::missing`] has stepped over on this thread: the
        /// work it does besides what it returns.
        pub(super) static RUNS_WALKED: Cell<usize> = const { Cell::new(0) };
    }

    /// `s.missing(through, limit)`, and the runs it stepped over.
    fn missing_counted(s: &Segments, through: u32, limit: usize) -> (Vec<u32>, usize) {
        RUNS_WALKED.with(|w| w.set(0));
        let out = s.missing(through, limit);
        (out, RUNS_WALKED.with(Cell::get))
    }

    /// What `missing` must return: the indexes below `through` not in
    /// `held`, the first `limit` of them.
    fn missing_model(
        held: &std::collections::BTreeSet<u32>,
        through: u32,
        limit: usize,
    ) -> Vec<u32> {
        (0..through)
            .filter(|i| !held.contains(i))
            .take(limit)
            .collect()
    }

    /// The runs of consecutive indexes in `ahead`, first → last.
    fn runs_model(s: &Segments) -> BTreeMap<u32, u32> {
        let mut runs = BTreeMap::new();
        let mut current: Option<(u32, u32)> = None;
        for &i in s.ahead.keys() {
            current = match current {
                Some((first, last)) if last + 1 == i => Some((first, last + 1)),
                Some((first, last)) => {
                    runs.insert(first, last);
                    Some((i, i))
                }
                None => Some((i, i)),
            };
        }
        runs.extend(current);
        runs
    }

    proptest! {
        /// In any order, the runs are those of what is ahead, and
        /// `missing` returns what is missing, walking no more runs than
        /// one past what it returns.
        #[test]
        fn missing_is_what_is_not_held_and_walks_a_run_per_hole(
            order in Just((0u32..96).collect::<Vec<_>>()).prop_shuffle(),
            take in 0usize..96,
            through in 0u32..100,
            limit in 0usize..40,
        ) {
            let mut s = Segments::default();
            let mut held = std::collections::BTreeSet::new();
            for &i in &order[..take] {
                s.insert(i, &[i as u8], None, Hooks::default());
                held.insert(i);
                prop_assert_eq!(&s.runs, &runs_model(&s));
                prop_assert!(s.ahead.keys().all(|&k| k > s.in_order));
            }
            let (missing, walked) = missing_counted(&s, through, limit);
            prop_assert_eq!(&missing, &missing_model(&held, through, limit));
            prop_assert!(walked <= missing.len() + 1, "{} runs for {:?}", walked, missing);
        }
    }

    #[test]
    fn missing_skips_what_is_held_in_order_and_ahead() {
        // 0 .. 100,000 in order; 100,001 .. 200,000 ahead (one run);
        // 200,000 .. 200,010 missing; 200,010 ahead.
        let mut s = Segments::default();
        for i in (0..100_000).chain(100_001..200_000).chain([200_010]) {
            s.insert(i, &[1], None, Hooks::default());
        }
        assert_eq!(s.in_order, 100_000);
        assert_eq!(s.runs.len(), 2);
        let mut expected = vec![100_000];
        expected.extend(200_000..200_010);
        expected.extend(200_011..200_020);
        let (missing, walked) = missing_counted(&s, 200_020, 2048);
        assert_eq!(missing, expected);
        assert_eq!(walked, 2, "one step per run, not per segment");
        // A limit stops it at once, whatever is held past it.
        assert_eq!(missing_counted(&s, 200_020, 1), (vec![100_000], 1));
        assert_eq!(missing_counted(&s, 200_020, 0), (vec![], 0));
        // Below the first hole, nothing is missing, and nothing is walked.
        assert_eq!(missing_counted(&s, 100_000, 2048), (vec![], 1));
        // Filling the hole takes the run in order.
        s.insert(100_000, &[1], None, Hooks::default());
        assert_eq!(s.in_order, 200_000);
        assert_eq!(s.runs.len(), 1);
        assert_eq!(
            missing_counted(&s, 200_003, 2048),
            (vec![200_000, 200_001, 200_002], 1)
        );
    }

    #[test]
    fn any_order_gives_the_body_in_order() {
        let parts: [&[u8]; 4] = [b"ab", b"cd", b"ef", b"g"];
        for order in [[0, 1, 2, 3], [3, 2, 1, 0], [1, 0, 3, 2], [2, 0, 3, 1]] {
            let mut s = Segments::default();
            for (n, &i) in order.iter().enumerate() {
                assert!(!s.contains(i));
                s.insert(i, parts[i as usize], Some(7), Hooks::default());
                assert!(s.contains(i));
                assert_eq!(s.len(), n + 1);
                let mut held: Vec<u32> = order[..=n].to_vec();
                held.sort_unstable();
                assert_eq!(s.indexes().collect::<Vec<_>>(), held);
            }
            assert_eq!(s.bytes(), 7);
            assert_eq!(s.into_body().as_deref(), Some(&b"abcdefg"[..]));
        }
    }

    #[test]
    fn a_hole_keeps_the_body() {
        let mut s = Segments::default();
        s.insert(0, b"ab", None, Hooks::default());
        s.insert(2, b"ef", None, Hooks::default());
        assert_eq!(s.bytes(), 4);
        assert!(s.into_body().is_none());
    }

    #[test]
    fn the_hook_sees_the_room_ahead_of_the_copies() {
        use std::cell::RefCell;
        thread_local! {
            static SEEN: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
        }
        fn hook(room: &mut [std::mem::MaybeUninit<u8>]) {
            SEEN.with(|s| s.borrow_mut().push(room.len()));
        }
        let seen = || SEEN.with(|s| std::mem::take(&mut *s.borrow_mut()));
        let hook = Hooks {
            reserve: Some(ReserveHook(hook)),
            source: None,
        };
        const LEN: usize = 5 * HOOK_STEP;
        let part = vec![7u8; HOOK_STEP / 4];
        let mut s = Segments::default();
        for i in 0..20 {
            // Only the first segment may reserve (the caller's rule: the
            // message then has a partial of its own).
            s.insert(i, &part, (i == 0).then_some(LEN), hook);
        }
        // The whole room at first, then from 2, 3 and 4 MiB on as the
        // body passes 1, 2 and 3 MiB (from 5 MiB on there is no room).
        let room = |from: usize| LEN - from;
        assert_eq!(
            seen(),
            [
                LEN,
                room(2 * HOOK_STEP),
                room(3 * HOOK_STEP),
                room(4 * HOOK_STEP)
            ]
        );
        assert_eq!(s.into_body().map(|b| b.len()), Some(LEN));
        // A buffer never reserved grows as it must: the hook sees none of it.
        let mut grown = Segments::default();
        for i in 0..8 {
            grown.insert(i, &part, None, hook);
        }
        assert_eq!(seen(), Vec::<usize>::new());
    }

    #[test]
    fn the_hook_sees_each_reservation_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static CALLS: AtomicUsize = AtomicUsize::new(0);
        fn hook(room: &mut [std::mem::MaybeUninit<u8>]) {
            CALLS.fetch_add(1, Ordering::SeqCst);
            assert!(room.len() >= 6);
            // What it writes in the room is overwritten by the segments.
            room.fill(std::mem::MaybeUninit::new(b'!'));
        }
        let hook = Hooks {
            reserve: Some(ReserveHook(hook)),
            source: None,
        };
        let mut s = Segments::default();
        s.insert(1, b"cd", Some(6), hook);
        assert_eq!(
            CALLS.load(Ordering::SeqCst),
            0,
            "an early segment reserves nothing"
        );
        s.insert(0, b"ab", Some(6), hook);
        s.insert(2, b"ef", Some(6), hook);
        assert_eq!(CALLS.load(Ordering::SeqCst), 1);
        assert_eq!(s.into_body().as_deref(), Some(&b"abcdef"[..]));
        let mut unreserved = Segments::default();
        unreserved.insert(0, b"ab", None, hook);
        assert_eq!(CALLS.load(Ordering::SeqCst), 1);
    }

    /// A source that hands out `buf` once, and records the lengths asked.
    fn lending(buf: Vec<u8>) -> (BufferSource, std::sync::Arc<std::sync::Mutex<Vec<usize>>>) {
        use std::sync::{Arc, Mutex};
        let asked = Arc::new(Mutex::new(Vec::new()));
        let slot = Mutex::new(Some(buf));
        let seen = Arc::clone(&asked);
        let source = BufferSource(Arc::new(move |len| {
            seen.lock().expect("lock").push(len);
            slot.lock().expect("lock").take()
        }));
        (source, asked)
    }

    /// Hooks that ask `source` and show no room to anyone.
    fn asking(source: &BufferSource) -> Hooks<'_> {
        Hooks {
            reserve: None,
            source: Some(source),
        }
    }

    #[test]
    fn a_reserved_body_is_put_together_in_the_buffer_the_source_gives() {
        let mut given = Vec::with_capacity(64);
        given.extend_from_slice(b"left over");
        let at = given.as_ptr();
        let (source, asked) = lending(given);
        let hooks = asking(&source);
        let mut s = Segments::default();
        // An early segment asks for nothing: the body is not begun.
        s.insert(1, b"cd", Some(6), hooks);
        s.insert(0, b"ab", Some(6), hooks);
        s.insert(2, b"ef", Some(6), hooks);
        assert_eq!(
            *asked.lock().expect("lock"),
            [6],
            "asked once, for the whole body"
        );
        let body = s.into_body().expect("whole");
        assert_eq!(body, b"abcdef", "what the buffer held is gone");
        assert_eq!(body.as_ptr(), at, "the given buffer, not a copy");
    }

    #[test]
    fn a_short_buffer_still_gives_the_whole_body_and_an_unreserved_one_asks_nothing() {
        let (source, asked) = lending(Vec::with_capacity(4));
        let hooks = asking(&source);
        let mut s = Segments::default();
        s.insert(0, b"abc", Some(6), hooks);
        s.insert(1, b"def", Some(6), hooks);
        assert_eq!(*asked.lock().expect("lock"), [6]);
        assert_eq!(s.into_body().as_deref(), Some(&b"abcdef"[..]));
        // Without a reservation (a stranger, a budget near full) the
        // source is not asked at all.
        let (source, asked) = lending(Vec::with_capacity(64));
        let mut grown = Segments::default();
        grown.insert(0, b"ab", None, asking(&source));
        assert!(asked.lock().expect("lock").is_empty());
    }
}
