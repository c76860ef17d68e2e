//! Tests of `mmsg.rs`.

use super::*;

fn at(port: u16) -> SocketAddr {
    SocketAddr::from(([239, 1, 2, 3], port))
}

#[test]
fn pages_are_zero_and_writable() {
    let mut pages = Pages::new(3 * 65_536).unwrap();
    assert_eq!(pages.bytes().len(), 3 * 65_536);
    assert!(pages.bytes().iter().all(|&b| b == 0));
    pages.bytes_mut()[65_536] = 7;
    assert_eq!(pages.bytes()[65_536], 7);
}

#[test]
fn a_run_is_equal_datagrams_and_a_shorter_last() {
    let g = at(1);
    assert_eq!(gso_run([(1057, g); 5]), 5);
    assert_eq!(gso_run([(1057, g), (1057, g), (500, g), (1057, g)]), 3);
    // A longer one cannot follow.
    assert_eq!(gso_run([(500, g), (1057, g)]), 1);
    // Another destination ends the run.
    assert_eq!(gso_run([(1057, g), (1057, at(2)), (1057, g)]), 1);
    assert_eq!(gso_run([]), 0);
    assert_eq!(gso_run([(0, g), (0, g)]), 1);
}

#[test]
fn a_run_keeps_within_the_kernels_bounds() {
    let g = at(1);
    // 64 segments at most.
    assert_eq!(gso_run(vec![(100, g); 200]), GSO_MAX_SEGMENTS);
    // 65,000 bytes at most: 7 of 8,225 (61 of 1,057).
    assert_eq!(gso_run(vec![(8_225, g); 20]), 7);
    assert_eq!(gso_run(vec![(1_057, g); 64]), 61);
    assert_eq!(gso_run(vec![(65_033, g); 3]), 1);
}

/// What a socket on loopback reads after one `send` of four equal
/// datagrams and a shorter last one (a GSO message), each message with
/// its length and [`Controls::segment`]; with `gro`, `UDP_GRO` set on it.
fn read_back(gro: bool) -> Vec<(usize, usize)> {
    let options: &[_] = if gro {
        &[(libc::SOL_UDP, libc::UDP_GRO)]
    } else {
        &[]
    };
    read_back_with(options)
        .into_iter()
        .map(|(len, c)| (len, c.segment))
        .collect()
}

/// What a socket on loopback with each of `options` (level, name) set
/// to 1 reads after one `send` of a GSO message as in [`read_back`],
/// each message with its length and [`Controls`].
fn read_back_with(options: &[(libc::c_int, libc::c_int)]) -> Vec<(usize, Controls)> {
    use std::os::fd::AsRawFd;
    let receiver = std::net::UdpSocket::bind(("127.0.0.1", 0)).unwrap();
    for &(level, name) in options {
        set_option(receiver.as_raw_fd(), level, name, 1)
            .unwrap_or_else(|e| panic!("option {name}: {e}"));
    }
    receiver
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let to = receiver.local_addr().unwrap();
    let sender = std::net::UdpSocket::bind(("127.0.0.1", 0)).unwrap();
    let mut datagrams: Vec<(Datagram, SocketAddr)> = (0..4u8)
        .map(|k| (Datagram::from(vec![k; 1000]), to))
        .collect();
    datagrams.push((Datagram::from(vec![4; 300]), to));
    assert_eq!(send(sender.as_raw_fd(), &datagrams, true).unwrap(), 5);
    let mut buf = vec![0; 8 * 65_536];
    let mut got = Vec::new();
    while got.iter().map(|(len, _)| len).sum::<usize>() < 4300 {
        recv_many(receiver.as_raw_fd(), &mut buf, 65_536, 8, |_, len, _, c| {
            got.push((len, c));
        })
        .unwrap();
    }
    got
}

/// A GSO message to a socket with `UDP_GRO` is read as one message of
/// all five datagrams with their size (the last shorter); without, as
/// five.
#[test]
fn a_gso_message_is_read_whole_with_udp_gro() {
    netns_test::run(|| {
        assert_eq!(read_back(true), [(4300, 1000)]);
        assert_eq!(
            read_back(false),
            [(1000, 0), (1000, 0), (1000, 0), (1000, 0), (300, 0)]
        );
    });
}

/// The control messages a node's socket asks for (`SO_RXQ_OVFL`,
/// `UDP_GRO`) fit a message's buffer with room to spare, and so does
/// what a send writes (`UDP_SEGMENT`).
#[test]
fn the_control_buffer_holds_what_the_node_asks_for() {
    // SAFETY: CMSG_SPACE only computes a length.
    let space = |len: usize| unsafe { libc::CMSG_SPACE(len as u32) } as usize;
    let received = space(size_of::<u32>()) + space(size_of::<libc::c_int>());
    assert!(received <= size_of::<Control>(), "{received} bytes");
    assert!(space(size_of::<u16>()) <= size_of::<Control>());
}

/// Control messages the kernel cut short are not read, even a whole
/// `UDP_GRO` one among them: the message is marked truncated instead.
#[test]
fn truncated_control_messages_are_marked_and_not_read() {
    let mut control = Control::default();
    // SAFETY: an all-zero msghdr is a valid value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = size_of::<Control>() as _;
    // SAFETY: the first header of a buffer of 64 bytes, and an int
    // written in its data, within them.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_UDP;
        (*cmsg).cmsg_type = libc::UDP_GRO;
        (*cmsg).cmsg_len = libc::CMSG_LEN(size_of::<libc::c_int>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::c_int>(), 1000);
        msg.msg_controllen = libc::CMSG_SPACE(size_of::<libc::c_int>() as u32) as _;
    }
    let whole = read_controls(&msg);
    assert_eq!((whole.segment, whole.truncated), (1000, false));
    msg.msg_flags = libc::MSG_CTRUNC;
    assert_eq!(
        read_controls(&msg),
        Controls {
            drops: None,
            segment: 0,
            truncated: true,
        }
    );
}

/// A socket that asks for more control messages than a message's
/// buffer holds reads a GSO message (with `UDP_GRO`) marked truncated:
/// what the kernel does when they do not fit is seen.
#[test]
fn a_message_whose_control_messages_do_not_fit_is_marked_truncated() {
    netns_test::run(|| {
        let options = [
            (libc::SOL_UDP, libc::UDP_GRO),
            (libc::IPPROTO_IP, libc::IP_PKTINFO),
            (libc::IPPROTO_IP, libc::IP_RECVTTL),
            (libc::IPPROTO_IP, libc::IP_RECVTOS),
            (libc::IPPROTO_IP, libc::IP_RECVORIGDSTADDR),
        ];
        let got = read_back_with(&options);
        assert!(!got.is_empty());
        for (len, controls) in got {
            assert!(controls.truncated, "{len} bytes: {controls:?}");
        }
    });
}
