//! Tests of `recv.rs`.

use super::*;

#[test]
fn large_datagrams_make_reads_small_at_once() {
    for full in [false, true] {
        // A whole batch, or all but one of it.
        let got = RECV_BATCH - usize::from(!full && RECV_BATCH > 1);
        let next = |largest| next_cap(RECV_BATCH, got, largest, full);
        assert_eq!(next(Some(65_033)), 2.min(RECV_BATCH));
        assert_eq!(next(Some(32_801)), 3.min(RECV_BATCH));
        assert_eq!(next(Some(8_225)), RECV_BATCH);
        // Larger than the bound: one at a time.
        assert_eq!(next(Some(READ_BYTES + 1)), 1);
        assert_eq!(next(Some(1_057)), RECV_BATCH);
        assert_eq!(next(Some(0)), RECV_BATCH);
        // A read that took nothing changes nothing.
        assert_eq!(next_cap(1, 0, None, full), 1);
    }
}

// Elsewhere a read takes one datagram whatever its size.
#[cfg(target_os = "linux")]
#[test]
fn a_read_that_empties_the_queue_makes_the_next_one_smaller() {
    // One datagram of a whole batch asked for: a quiet socket.
    assert_eq!(next_cap(RECV_BATCH, 1, Some(100), false), FEW);
    assert_eq!(next_cap(FEW, 1, Some(100), false), FEW);
    // Half a batch: room for twice as many next time, no more than before.
    assert_eq!(next_cap(RECV_BATCH, 12, Some(100), false), 24);
    assert_eq!(next_cap(RECV_BATCH, 20, Some(100), false), RECV_BATCH);
    // A burst after a quiet spell: full reads double it back.
    assert_eq!(next_cap(FEW, FEW, Some(100), true), 2 * FEW);
    // Large datagrams: never more than fit.
    assert_eq!(next_cap(2, 1, Some(65_033), false), 2);
}

// Elsewhere a read takes one datagram whatever its size.
#[cfg(target_os = "linux")]
#[test]
fn only_full_reads_of_small_datagrams_widen_reads_step_by_step() {
    let mut cap = next_cap(RECV_BATCH, RECV_BATCH, Some(65_033), true);
    // A heartbeat between two large events: the next read stays small.
    assert_eq!(next_cap(cap, 1, Some(33), false), cap);
    let mut steps = 0;
    while cap < RECV_BATCH {
        let wider = next_cap(cap, cap, Some(40), true);
        assert!(wider <= 2 * cap && wider > cap);
        cap = wider;
        steps += 1;
    }
    assert!(steps > 1, "back to the whole batch in {steps} step");
    assert_eq!(next_cap(cap, cap, Some(40), true), RECV_BATCH);
}

#[test]
fn the_first_read_fits_the_nodes_own_datagrams() {
    assert_eq!(RecvBatch::new(65_256, false).cap, fitting(65_256));
    assert_eq!(RecvBatch::new(1_280, false).cap, RECV_BATCH);
}

/// Makes `batch` hold what a read of `messages` (length, segment size)
/// took, the `k`th in slot `k`.
fn put(batch: &mut RecvBatch, messages: &[(usize, usize)]) {
    batch.got.clear();
    for (slot, &(len, segment)) in messages.iter().enumerate() {
        batch.got.push(Received {
            slot,
            len,
            from: SocketAddr::from(([10, 0, 0, 1], 1)),
            segment,
            drops: None,
        });
    }
}

/// A message of several datagrams (UDP GRO) is handed on as its
/// datagrams, the last one shorter; one datagram, and an empty one,
/// as they are.
#[test]
fn a_coalesced_message_is_its_datagrams() {
    let mut batch = RecvBatch::new(1, false);
    let bytes = batch.buf.bytes_mut();
    for (i, b) in bytes[..2500].iter_mut().enumerate() {
        *b = (i / 1000) as u8 + 1;
    }
    bytes[RECV_BUFFER..RECV_BUFFER + 10].fill(9);
    put(&mut batch, &[(2500, 1000), (10, 0), (0, 0), (0, 1000)]);
    let got: Vec<(usize, Vec<u8>)> = batch
        .datagrams()
        .map(|(r, d)| (r.slot, d.to_vec()))
        .collect();
    assert_eq!(
        got,
        [
            (0, vec![1; 1000]),
            (0, vec![2; 1000]),
            (0, vec![3; 500]),
            (1, vec![9; 10]),
            (2, vec![]),
            (3, vec![]),
        ]
    );
    assert_eq!(pieces(2500, 1000), 3);
    assert_eq!(pieces(2000, 1000), 2);
    assert_eq!(pieces(0, 1000), 1);
    assert_eq!(pieces(7, 0), 1);
}

/// On a socket that hands over whole GSO messages, reads take two
/// messages (as of 64 KiB) until reads of single datagrams come back
/// full, then widen up to [`COALESCING_MOST`]; a message of several
/// datagrams, or a read that emptied the queue, narrows them again.
/// Each datagram is counted, each such message once. A socket that
/// does not coalesce keeps the old rule.
#[test]
fn a_coalescing_socket_widens_reads_only_for_single_datagrams() {
    let read = |batch: &mut RecvBatch, messages: &[(usize, usize)]| {
        batch.asked = batch.next_max(RECV_BATCH);
        put(batch, messages);
        batch.took(messages.len());
        batch.cap
    };
    let mut batch = RecvBatch::new(1_280, true);
    assert_eq!(batch.cap, 2);
    assert_eq!(read(&mut batch, &[(61 * 1_057, 1_057), (1_057, 0)]), 2);
    let counts = batch.take_counts();
    assert_eq!(
        (counts.calls, counts.datagrams, counts.coalesced),
        (1, 62, 1)
    );
    // Full reads of single datagrams (one whose segment size says one
    // datagram among them) widen, a read that emptied the queue not.
    assert_eq!(read(&mut batch, &[(1_057, 1_057), (1_057, 0)]), 4);
    assert_eq!(batch.take_counts().coalesced, 0);
    assert_eq!(read(&mut batch, &[(90, 0); 4]), 8);
    assert_eq!(read(&mut batch, &[(90, 0); 8]), COALESCING_MOST);
    assert_eq!(COALESCING_MOST, 8);
    assert_eq!(read(&mut batch, &[(90, 0)]), 2);
    assert_eq!(read(&mut batch, &[(90, 0); 2]), 4);
    assert_eq!(
        read(&mut batch, &[(90, 0), (3 * 90, 90), (90, 0), (90, 0)]),
        2
    );

    let mut batch = RecvBatch::new(1_280, false);
    assert_eq!(batch.cap, RECV_BATCH);
    assert_eq!(read(&mut batch, &[(90, 0); 3]), 6);
}

/// A read that asked for fewer messages than it could (a busy-poll's,
/// of one) and took them all leaves the next reads as they were, on
/// either kind of socket; counted as any read.
#[test]
fn a_read_that_asked_for_fewer_than_it_could_leaves_the_next_as_they_were() {
    for (coalescing, datagram) in [(false, (90, 0)), (true, (90, 0)), (true, (3 * 90, 90))] {
        let mut batch = RecvBatch::new(1_280, coalescing);
        let cap = batch.cap;
        assert!(cap > 1);
        for _ in 0..3 {
            batch.asked = batch.next_max(1);
            put(&mut batch, &[datagram]);
            batch.took(1);
            assert_eq!(batch.cap, cap, "coalescing: {coalescing}");
        }
        assert_eq!(batch.take_counts().calls, 3);
    }
}

/// A message whose control messages the kernel cut short is not
/// handed on (it could be several datagrams taken for one), and is
/// counted; the others are kept in their slots.
#[cfg(target_os = "linux")]
#[test]
fn a_message_with_truncated_controls_is_dropped_and_counted() {
    let mut batch = RecvBatch::new(1, true);
    let bytes = batch.buf.bytes_mut();
    bytes[..2000].fill(1);
    bytes[RECV_BUFFER..RECV_BUFFER + 10].fill(2);
    let from = SocketAddr::from(([10, 0, 0, 1], 1));
    let cut = crate::mmsg::Controls {
        truncated: true,
        ..Default::default()
    };
    let whole = crate::mmsg::Controls {
        segment: 1000,
        ..Default::default()
    };
    let RecvBatch { got, counts, .. } = &mut batch;
    keep(got, counts, 0, 2000, from, cut);
    keep(got, counts, 1, 10, from, Default::default());
    keep(got, counts, 2, 2000, from, whole);
    batch.took(3);
    let got: Vec<(usize, usize)> = batch.datagrams().map(|(r, d)| (r.slot, d.len())).collect();
    assert_eq!(got, [(1, 10), (2, 1000), (2, 1000)]);
    let counts = batch.take_counts();
    assert_eq!(
        (
            counts.calls,
            counts.datagrams,
            counts.coalesced,
            counts.truncated
        ),
        (1, 3, 1, 1)
    );
}

#[test]
fn counts_wrap() {
    let mut c = DropCounter::default();
    assert_eq!(c.update(5, 0), 5);
    assert_eq!(c.update(5, 0), 0);
    assert_eq!(c.update(9, 0), 4);
    let mut c = DropCounter {
        last: u32::MAX - 1,
        ..DropCounter::default()
    };
    assert_eq!(c.update(3, 0), 5);
}

#[test]
fn own_copies_are_not_drops() {
    let mut c = DropCounter::default();
    // 10 own datagrams filtered, none dropped for a full buffer.
    assert_eq!(c.update(10, 10), 0);
    // 3 more sent, not filtered yet: nothing is counted early.
    assert_eq!(c.update(10, 13), 0);
    // They were filtered, and 2 datagrams dropped for a full buffer.
    assert_eq!(c.update(15, 13), 2);
    // A drop seen while own copies were announced but not yet
    // filtered shows once they are.
    assert_eq!(c.update(16, 20), 0);
    assert_eq!(c.update(23, 20), 1);
    assert_eq!(c.update(23, 20), 0);
}
