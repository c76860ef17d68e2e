//! An ordered receiver with no room to hold a complete message for order
//! gives up what the message waits for and delivers it (PROTOCOL.md
//! §9.5): but never a message from before its share of the stream, and
//! never as lost what the sender never vouched for.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use eventcast_proto::wire::Flags;
use eventcast_proto::{Endpoint, EndpointEvent};

const ME: u64 = 0xFEED;
const S: u64 = 0x5;

/// A receiver whose budget per sender is the least `validate` allows
/// (1,088 bytes: one message of 1,024 bytes and its bookkeeping), or the
/// default's.
fn rx(tight: bool) -> Endpoint {
    let mut c = config(1024);
    c.max_message_size = 1024;
    if tight {
        c.max_partial_bytes_per_sender = 1088;
    }
    let mut rx = endpoint(c, ME);
    rx.handle_join(at(0));
    rx
}

/// Whole event `seq` of S, of `len` bytes, sent live or (`flags`) as a
/// repair.
fn event(seq: u64, len: usize, flags: Flags) -> Vec<u8> {
    whole_event(S, seq, len, flags)
}

/// The losses of S reported in `events`: (first, count).
fn losses(events: &[EndpointEvent]) -> Vec<(u64, u64)> {
    losses_of(events, S)
}

/// Ten minutes in, this node first hears S (an hour old) at message 10,
/// sent live, and holds it while its join is pending; then message 7,
/// repaired for another node, for which there is no room. The join was
/// settled then, as a late join from 10, but 7 (history this node is not
/// owed, below that start) was delivered all the same, where with room it
/// is dropped (`before_start`): the application saw 7 then 10, and 8 and
/// 9, never delivered nor reported lost, were a silent hole between them.
#[test]
fn no_room_delivers_nothing_below_a_late_joiners_start() {
    for tight in [false, true] {
        let mut rx = rx(tight);
        let now = 600_000;
        rx.handle_datagram(at(now), addr(1), &event(10, 900, Flags::empty()));
        rx.handle_datagram(at(now + 1), addr(1), &event(7, 60, Flags::RETRANSMISSION));
        // S's own heartbeat settles the join, if it is still pending.
        rx.handle_datagram(at(now + 2), addr(1), &heartbeat_frame(S, 11, 0, 3_600_000));
        let told = events(&mut rx);
        assert_eq!(messages_of(&told, S), [10], "tight: {tight}");
        assert_eq!(losses(&told), [], "tight: {tight}");
        let s = rx.stats();
        assert_eq!(
            (s.late_joins, s.dropped.before_start),
            (1, 1),
            "tight: {tight}, {s:?}"
        );
        assert_accounting(&s);
    }
}

/// S, established at its address, sends 0 .. 12 (10 lost here, 11 a big
/// one, held for order); an impersonator's event 200 comes from elsewhere
/// (plausible: within 2^16 of S's lead), with no room left to hold it.
/// Everything it waited for was given up and reported lost (`Overrun`):
/// 10, which S sent, and 12 .. 200, which S had never said it sent (its
/// data vouched for nothing past 11), so that S's own 12 .. 199, when they
/// came, were dropped as duplicates. Only what S vouched for is given up
/// now; the rest stays missing, and S's messages fill it, in order.
#[test]
fn no_room_reports_nothing_lost_past_what_the_sender_vouched_for() {
    let mut rx = rx(true);
    for k in 0..10 {
        rx.handle_datagram(at(1000 + k), addr(1), &event(k, 60, Flags::empty()));
    }
    rx.handle_datagram(at(1011), addr(1), &event(11, 850, Flags::empty()));
    rx.handle_datagram(at(1012), addr(7), &event(200, 60, Flags::empty()));
    let mut told = events(&mut rx);
    assert_eq!(losses(&told), [(10, 1)], "lost past what S vouched for");
    for k in 12..200 {
        rx.handle_datagram(at(1013 + k), addr(1), &event(k, 60, Flags::empty()));
    }
    told.extend(events(&mut rx));
    let mut got = messages_of(&told, S);
    got.sort_unstable();
    let want: Vec<u64> = (0..=200).filter(|&k| k != 10).collect();
    assert_eq!(got, want, "{:?}", rx.stats());
    assert_eq!(losses(&told), [(10, 1)]);
    let s = rx.stats();
    assert_eq!((s.messages_lost, s.dropped.duplicate), (1, 0), "{s:?}");
    assert_accounting(&s);
}
