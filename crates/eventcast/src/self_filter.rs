//! A socket filter that drops this node's own datagrams in the kernel.
//!
//! A node is a member of the group it sends to, and multicast loopback is
//! on (other nodes on the host need it), so the kernel hands the node a
//! copy of every datagram it sends. The endpoint recognises them by its
//! sender id and ignores them (`own_datagrams`), but reading them cost
//! the sender of large events a seventh of its time: a copy of every
//! byte it sent. On Linux a classic BPF program compares the sender id of
//! each native datagram (at offset 5, or 9 in a sealed frame) with the
//! node's and drops the match before it is queued. Anything else passes:
//! short or foreign datagrams, legacy ones, other nodes'.
//!
//! `drop_all` is the filter of the native node's socket for sending,
//! which reads nothing.

use eventcast_proto::SenderId;
use std::net::UdpSocket;

/// The UDP header, which the filter sees before the payload.
#[cfg(any(target_os = "linux", target_os = "android"))]
const UDP_HEADER: u32 = 8;

/// Attaches the filter for `id` to `socket`; whether it did. Where the OS
/// has no such filter, or refuses it, the node reads its own datagrams as
/// before.
pub(crate) fn attach(socket: &UdpSocket, id: SenderId) -> bool {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let program = program(id);
        match socket2::SockRef::from(socket).attach_filter(&program) {
            Ok(()) => {
                tracing::debug!(target: "eventcast", %id, "own datagrams dropped by a socket filter");
                true
            }
            Err(e) => {
                tracing::debug!(target: "eventcast", error = %e, "no socket filter for own datagrams");
                false
            }
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = (socket, id);
        false
    }
}

/// Attaches to `socket` a filter that drops every datagram: for a socket
/// the node only sends on, which must queue nothing it would never read.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn drop_all(socket: &socket2::Socket) -> std::io::Result<()> {
    use libc::{BPF_K, BPF_RET};
    socket.attach_filter(&[socket2::SockFilter::new((BPF_RET | BPF_K) as u16, 0, 0, 0)])
}

/// The program: drop a datagram that starts with the native prefix
/// (`EC A5 01`) and carries `id` where its frame type puts the sender id.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn program(id: SenderId) -> Vec<socket2::SockFilter> {
    use eventcast_proto::wire::{FrameType, MAGIC, VERSION};
    use libc::{
        BPF_ABS, BPF_B, BPF_H, BPF_JEQ, BPF_JGE, BPF_JMP, BPF_K, BPF_LD, BPF_LEN, BPF_RET, BPF_W,
    };
    use socket2::SockFilter;

    const DROP: usize = 16;
    const ACCEPT: usize = 17;
    const SEALED: usize = 12;
    // Offsets in the payload.
    const PLAIN_ID: u32 = 5;
    const SEALED_ID: u32 = 9;
    // The shortest datagram that has a sender id wherever it is.
    const SHORTEST: u32 = UDP_HEADER + SEALED_ID + 8;

    let id = id.get();
    let (hi, lo) = ((id >> 32) as u32, id as u32);
    let ld = |size: u32, offset: u32| {
        SockFilter::new((BPF_LD | size | BPF_ABS) as u16, 0, 0, UDP_HEADER + offset)
    };
    // A comparison at instruction `at`, going on to the next one if true
    // unless `yes` says where, to `no` if false.
    let jeq = |at: usize, k: u32, yes: Option<usize>, no: usize| {
        let off = |to: usize| (to - at - 1) as u8;
        SockFilter::new(
            (BPF_JMP | BPF_JEQ | BPF_K) as u16,
            yes.map_or(0, off),
            off(no),
            k,
        )
    };
    let ret = |k: u32| SockFilter::new((BPF_RET | BPF_K) as u16, 0, 0, k);
    vec![
        /* 0 */ SockFilter::new((BPF_LD | BPF_W | BPF_LEN) as u16, 0, 0, 0),
        /* 1 */
        SockFilter::new(
            (BPF_JMP | BPF_JGE | BPF_K) as u16,
            0,
            (ACCEPT - 2) as u8,
            SHORTEST,
        ),
        /* 2 */ ld(BPF_H, 0),
        /* 3 */ jeq(3, u32::from(u16::from_be_bytes(MAGIC)), None, ACCEPT),
        /* 4 */ ld(BPF_B, 2),
        /* 5 */ jeq(5, u32::from(VERSION), None, ACCEPT),
        /* 6 */ ld(BPF_B, 3),
        /* 7 */ jeq(7, u32::from(FrameType::Sealed.to_byte()), Some(SEALED), 8),
        /* 8 */ ld(BPF_W, PLAIN_ID),
        /* 9 */ jeq(9, hi, None, ACCEPT),
        /* 10 */ ld(BPF_W, PLAIN_ID + 4),
        /* 11 */ jeq(11, lo, Some(DROP), ACCEPT),
        /* 12 */ ld(BPF_W, SEALED_ID),
        /* 13 */ jeq(13, hi, None, ACCEPT),
        /* 14 */ ld(BPF_W, SEALED_ID + 4),
        /* 15 */ jeq(15, lo, Some(DROP), ACCEPT),
        /* 16 */ ret(0),
        /* 17 */ ret(u32::MAX),
    ]
}
