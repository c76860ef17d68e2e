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
    pub(crate) fn indexes(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.in_order).chain(self.ahead.keys().copied())
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
            self.ahead.insert(index, payload.to_vec());
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
        while let Some(next) = self.ahead.remove(&self.in_order) {
            self.body.extend_from_slice(&next);
            self.in_order += 1;
        }
        if let Some(hook) = hook.filter(|_| self.reserved) {
            self.ahead_of_writes(before, hook);
        }
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
