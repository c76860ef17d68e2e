//! The datagram decoder: parse → write → parse is the identity, and no
//! input panics.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    eventcast_proto::__fuzz::packet(data);
});
