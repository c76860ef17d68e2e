//! Tests of `spare.rs`.

use super::*;

/// What [`SpareBody::schedule`] does once the node is idle.
fn refill_now(spare: &SpareBody) {
    spare.due.store(false, Ordering::Release);
    let taken = lock(&spare.inner).taken;
    spare.refill(taken);
}

#[test]
fn the_next_body_of_the_same_size_takes_the_spare() {
    let spare = SpareBody::default();
    let first = spare.take(1 << 20);
    assert!(first.capacity() >= 1 << 20 && first.is_empty());
    assert_eq!(spare.room(), None, "none made before the emit is done");
    refill_now(&spare);
    let room = spare.room().expect("a spare once idle");
    assert!(room >= 1 << 20);
    let second = spare.take((1 << 20) - 100);
    assert_eq!(second.capacity(), room, "the spare, reused");
    assert_eq!(spare.room(), None);
    refill_now(&spare);
    refill_now(&spare);
    assert!(spare.room().is_some());
}

#[test]
fn a_receiver_takes_only_a_ready_spare_and_owes_one_either_way() {
    let spare = SpareBody::default();
    assert_eq!(spare.take_ready(1 << 20), None, "none made yet");
    refill_now(&spare);
    let room = spare.room().expect("owed, then made");
    let buf = spare.take_ready((1 << 20) - 1000).expect("it fits");
    assert_eq!((buf.capacity(), buf.len()), (room, 0));
    assert_eq!(spare.lent(), 1);
    refill_now(&spare);
    // Too large for it: the caller allocates, and a spare of the new
    // size is owed (the old one replaced when it is made).
    assert_eq!(spare.take_ready(2 << 20), None);
    assert!(spare.room().is_some(), "kept until then");
    refill_now(&spare);
    assert!(spare.take_ready(2 << 20).is_some());
    // Outside 256 KiB to 4.5 MiB: nothing taken, nothing owed.
    refill_now(&spare);
    assert_eq!(spare.take_ready(1000), None);
    assert_eq!(spare.take_ready(MAX + 1), None);
    assert!(!spare.due.load(Ordering::Acquire));
    assert_eq!(spare.lent(), 2);
}

#[test]
fn a_released_spare_is_gone_and_a_pending_refill_makes_none() {
    let spare = SpareBody::default();
    let _ = spare.take(1 << 20);
    refill_now(&spare);
    assert!(spare.room().is_some());
    let _ = spare.take(1 << 20);
    let taken = lock(&spare.inner).taken;
    spare.release();
    assert_eq!(spare.room(), None);
    spare.refill(taken);
    assert_eq!(spare.room(), None, "the refill owed before is dropped");
    refill_now(&spare);
    assert_eq!(spare.room(), None, "nothing owed");
}

#[test]
fn a_refill_overtaken_by_another_body_makes_nothing() {
    let spare = SpareBody::default();
    let _ = spare.take(1 << 20);
    let taken = lock(&spare.inner).taken;
    let _ = spare.take(1 << 20);
    spare.refill(taken);
    assert_eq!(spare.room(), None);
}

#[test]
fn small_and_huge_bodies_get_no_spare() {
    let spare = SpareBody::default();
    let small = spare.take(1000);
    assert!(small.capacity() >= 1000);
    let _huge = spare.take(MAX + 1);
    assert!(!spare.due.load(Ordering::Acquire));
    refill_now(&spare);
    assert_eq!(spare.room(), None);
}

#[test]
fn two_sizes_keep_a_spare_each_and_a_third_replaces_the_oldest() {
    let spare = SpareBody::default();
    let (a, b, c) = (1 << 20, 400 * 1024, 3 << 20);
    let _ = spare.take(a);
    refill_now(&spare);
    let fresh = spare.take(b);
    assert!(fresh.capacity() >= b);
    assert_eq!(spare.rooms(), [a], "too roomy for b: kept");
    refill_now(&spare);
    assert_eq!(spare.rooms(), [a, b]);
    // Two streams taking turns each find theirs, the tighter first.
    for size in [a, b, a - 10, b] {
        let buf = spare.take(size);
        assert!(buf.capacity() >= size && buf.capacity() - size <= size / 4);
        assert_eq!(spare.rooms().len(), 1, "{size}: a spare taken");
        refill_now(&spare);
        assert_eq!(spare.rooms().len(), 2);
    }
    assert_eq!(spare.lent(), 4);
    assert_eq!(spare.rooms(), [a - 10, b]);
    // A third size replaces the spare made or used longest ago.
    let _ = spare.take(c);
    refill_now(&spare);
    assert_eq!(spare.rooms(), [b, c]);
    assert_eq!(spare.take_ready(a - 10), None, "a - 10's replaced");
    // Two streams of sizes within a quarter of each other keep one
    // each: a spare is made for the one taken although the other's
    // would fit it.
    refill_now(&spare);
    for size in [a, a + a / 8] {
        let _ = spare.take(size);
        refill_now(&spare);
    }
    assert_eq!(spare.rooms(), [a, a + a / 8]);
    for (size, rooms) in [(a, [a + a / 8, a]), (a + a / 8, [a, a + a / 8])] {
        let buf = spare.take(size);
        assert_eq!(buf.capacity(), size, "its own spare, the tightest");
        refill_now(&spare);
        assert_eq!(spare.rooms(), rooms);
    }
    // With both slots full, a spare that fits is kept (as used last)
    // and none made: a body written in parts owes one.
    spare.owe(a - 1000);
    refill_now(&spare);
    assert_eq!(spare.rooms(), [a + a / 8, a]);
    assert!(fits(100, 100) && fits(125, 100) && !fits(126, 100) && !fits(99, 100));
}

/// What a node told `sizes` does when it starts.
fn prepare_now(spare: &SpareBody, sizes: &[usize]) {
    let generation = spare.serve_sizes(sizes);
    spare.prepare(sizes, generation);
}

#[test]
fn prepared_spares_take_bodies_of_about_their_size() {
    let spare = SpareBody::default();
    let (a, b) = (1 << 20, 400 * 1024);
    prepare_now(&spare, &[a, b]);
    assert_eq!(spare.rooms(), [room_for(a), room_for(b)]);
    // Made again: the ones there suit, none made.
    prepare_now(&spare, &[b, a]);
    assert_eq!(spare.rooms(), [room_for(a), room_for(b)]);
    // The event's size and a little more (its name and headers) fit,
    // as does a little over 0.9 of it; less does not.
    assert!(spare.ready_for(a + 100) && spare.ready_for(a * 91 / 100));
    assert!(!spare.ready_for(a * 89 / 100) && !spare.ready_for(room_for(a) + 1));
    let buf = spare.take_ready(a + 100).expect("prepared for it");
    assert_eq!(buf.capacity(), room_for(a));
    assert_eq!(spare.rooms(), [room_for(b)]);
    assert_eq!(spare.take_ready(b * 8 / 10), None, "0.8 of b: too small");
    // A size above 4.5 MiB is served when expected, and a spare owed
    // after it (the refill makes it), where not expected it is not.
    let large = 8 << 20;
    refill_now(&spare);
    assert_eq!(spare.take_ready(large + 100), None);
    assert!(!spare.owes(), "not expected: none owed");
    prepare_now(&spare, &[large]);
    assert!(spare.take_ready(large + 100).is_some());
    // The one made after it has the room made at start: a frame a
    // little larger than the last still finds it.
    refill_now(&spare);
    let next = spare.take_ready(large + 200).map(|b| b.capacity());
    assert_eq!(next, Some(room_for(large)));
    // Stopped, the node serves it no more.
    spare.release();
    refill_now(&spare);
    assert_eq!(spare.take_ready(large + 100), None);
    assert!(!spare.owes());
    // A third size replaces the oldest.
    spare.release();
    prepare_now(&spare, &[a, b, 2 * a]);
    assert_eq!(spare.rooms(), [room_for(b), room_for(2 * a)]);
    // Sizes close together each get a spare, in either order.
    for sizes in [[a, a * 85 / 100], [a * 85 / 100, a], [a, a * 95 / 100]] {
        spare.release();
        prepare_now(&spare, &sizes);
        assert_eq!(spare.rooms(), sizes.map(room_for), "{sizes:?}");
    }
    // An expected size of 256 KiB takes bodies of a little less too.
    spare.release();
    prepare_now(&spare, &[MIN]);
    assert!(spare.take_ready(MIN * 95 / 100).is_some());
}

#[test]
fn an_expected_sizes_spare_is_not_replaced_by_another_sizes() {
    let spare = SpareBody::default();
    let (large, small) = (8 << 20, 300 << 10);
    prepare_now(&spare, &[large, small]);
    // A message of another size owes a spare; none is made over the
    // expected sizes' ones.
    assert_eq!(spare.take_ready(1 << 20), None);
    refill_now(&spare);
    assert_eq!(spare.rooms(), [room_for(large), room_for(small)]);
    // With one expected size, another's spare takes the free slot and
    // then replaces only a spare that is not an expected size's.
    spare.release();
    prepare_now(&spare, &[large]);
    for size in [1 << 20, 2 << 20] {
        assert_eq!(spare.take_ready(size), None);
        refill_now(&spare);
    }
    assert_eq!(spare.rooms(), [room_for(large), 2 << 20]);
    assert!(spare.ready_for(large));
}

#[test]
fn a_spare_prepared_after_a_release_is_not_kept() {
    let spare = SpareBody::default();
    // A start given up: released after the sizes were served, before
    // the blocking pool made the spare.
    let generation = spare.serve_sizes(&[1 << 20]);
    spare.release();
    spare.prepare(&[1 << 20], generation);
    assert!(spare.rooms().is_empty());
    prepare_now(&spare, &[1 << 20]);
    assert_eq!(spare.rooms(), [room_for(1 << 20)]);
}

#[tokio::test]
async fn a_node_idle_after_a_large_body_gets_its_spare() {
    let spare = Arc::new(SpareBody::default());
    let _ = spare.take(1 << 20);
    spare.schedule();
    for _ in 0..200 {
        if spare.room().is_some() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("no spare made");
}
