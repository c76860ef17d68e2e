//! Property tests of the decoders: any bytes are parsed without panic, and
//! whatever parses writes back to the same bytes (the fuzz target's check);
//! any sealed header written parses back to itself.
#![allow(clippy::unwrap_used)]

use eventcast_proto::crypto::KeyId;
use eventcast_proto::wire::{PacketNumber, SealedFrame, SealedHeader, MIN_SEALED_LEN, TAG_LEN};
use eventcast_proto::SenderId;
use proptest::prelude::*;

fn arb_header() -> impl Strategy<Value = SealedHeader> {
    (
        any::<[u8; 4]>(),
        any::<u64>(),
        any::<u64>(),
        any::<[u8; 12]>(),
    )
        .prop_map(|(id, sender, packet, nonce)| SealedHeader {
            key_id: KeyId::from_bytes(id),
            sender: SenderId::new(sender),
            packet: PacketNumber::new(packet),
            nonce,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn any_bytes(data in prop::collection::vec(any::<u8>(), 0..200)) {
        eventcast_proto::__fuzz::packet(&data);
    }

    #[test]
    fn any_bytes_after_a_sealed_prefix(rest in prop::collection::vec(any::<u8>(), 0..200)) {
        let mut data = vec![0xEC, 0xA5, 0x01, 0x80, 0x00];
        data.extend(rest);
        eventcast_proto::__fuzz::packet(&data);
        prop_assert_eq!(SealedFrame::parse(&data).is_ok(), data.len() >= MIN_SEALED_LEN);
    }

    #[test]
    fn sealed_frames_round_trip(
        header in arb_header(),
        body in prop::collection::vec(any::<u8>(), 2..300),
        tag in any::<[u8; TAG_LEN]>(),
    ) {
        let mut data = Vec::new();
        header.write(&mut data);
        data.extend(&body);
        data.extend(tag);
        let frame = SealedFrame::parse(&data).unwrap();
        prop_assert_eq!(*frame.header(), header);
        prop_assert_eq!(frame.ciphertext(), &body[..]);
        prop_assert_eq!(frame.tag(), &tag);
        let mut again = Vec::new();
        frame.write(&mut again);
        prop_assert_eq!(again, data);
    }
}
