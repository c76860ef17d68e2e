"""Every configuration option is a keyword argument; the legacy protocol
and the REPL can be turned on from Python."""

from __future__ import annotations

import os
import queue
import socket
from typing import Any

import eventcast

# Every option with a valid value that is not the default.
EVERY_OPTION: dict[str, Any] = {
    "port": 41234,
    "group": "224.0.0.2",
    "interface": None,
    "bind": "0.0.0.0",
    "ttl": 0,
    "loopback": True,
    "key": "a passphrase",
    "decrypt_keys": ["an older passphrase", bytes(16)],
    "danger_accept_plaintext": True,
    "danger_skip_handshake": True,
    "send_only": False,
    "max_payload_size": 1200,
    "message_ttl": 2.5,
    "recv_buffer_size": 1 << 20,
    "subscription_bytes": 100_000,
    "busy_poll": 0.00015,
    "expected_event_sizes": [1 << 20, 300 << 10],
    "log": False,
    "repl_enabled": False,
    "repl_port": 20001,
    "repl_host": "127.0.0.1",
    "danger_repl_any_host": False,
    "repl_max_clients": 4,
    "repl_max_line_length": 4096,
    "repl_output_queue": 64,
    "wire_protocol": "native",
    "insecure_legacy_key": None,
    "legacy_max_retransmit_attempts": 2,
    "listener_queue_size": 1000,
    "max_message_size": 1 << 20,
    "max_partial_bytes": 1 << 24,
    "max_partial_bytes_per_sender": 1 << 23,
    "max_partial_messages_per_sender": 16,
    "max_senders": 64,
    "ordered": False,
    "max_retransmit_attempts": 5,
    "nack_backoff_min": 0.002,
    "nack_backoff_max": 0.01,
    "repair_timeout": 0.05,
    "retransmit_window": 2,
    "retransmit_window_bytes": 1 << 24,
    "repair_linger": 0.02,
    "heartbeat_min": 0.005,
    "heartbeat_max": 2.0,
    "rate_limit": 1 << 28,
    "initial_rate": 1 << 23,
    "min_rate": 1 << 18,
    "burst": 1 << 15,
    "adaptive_rate": False,
    "max_send_queue_bytes": 1 << 24,
}


def test_every_option_is_accepted() -> None:
    node = eventcast.Eventcast(**EVERY_OPTION)
    assert node.port == 41234
    assert not node.running


def test_legacy_protocol_nodes_talk(make_node) -> None:
    a = make_node(wire_protocol="legacy-v3")
    b = make_node(wire_protocol="legacy-v3")
    got: queue.Queue[tuple[object, ...]] = queue.Queue()
    b.on("old", lambda *args: got.put(args))
    a.emit("old", "school", {"n": 1})
    assert got.get(timeout=10) == ("school", {"n": 1})


def test_the_repl_serves_the_node(make_node) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        repl_port = probe.getsockname()[1]
    node = make_node(repl_enabled=True, repl_port=repl_port)
    with socket.create_connection(("127.0.0.1", repl_port), timeout=10) as conn:
        conn.sendall(b"id\nquit\n")
        reply = b""
        while chunk := conn.recv(4096):
            reply += chunk
    assert node.id in reply.decode()


def test_busy_poll_reaches_the_node(make_node) -> None:
    """A node given ``busy_poll``, or left at the default, polls its
    socket before it parks, after it answered, and counts it; one given 0
    never polls, and neither does one whose listener does not answer."""
    ping = make_node()
    pong = make_node(busy_poll=0.0002)
    by_default = make_node()
    off = make_node(busy_poll=0)
    idle = make_node()
    pong.on("ping", lambda n: pong.emit("pong", n))
    by_default.on("ping", lambda n: by_default.emit("ack", n))
    off.on("ping", lambda n: off.emit("ack", n))
    idle.on("ping", lambda n: None)
    got: queue.Queue[int] = queue.Queue()
    ping.on("pong", got.put)
    for i in range(20):
        ping.emit("ping", i)
        assert got.get(timeout=10) == i
    assert pong.stats()["busy_polls"] > 0, pong.stats()
    assert by_default.stats()["busy_polls"] > 0, by_default.stats()
    assert off.stats()["busy_polls"] == 0
    assert idle.stats()["busy_polls"] == 0


def test_expected_event_sizes_reach_the_node(make_node) -> None:
    """A node told a size receives its first large message of about that
    size in the buffer it made at start; a node not told, fresh."""
    mib = 1 << 20
    a = make_node()
    told = make_node(expected_event_sizes=(mib,))
    untold = make_node()
    got: list[queue.Queue[tuple[object, ...]]] = []
    for node in (told, untold):
        q: queue.Queue[tuple[object, ...]] = queue.Queue()
        node.on("hello", lambda *args, q=q: q.put(args))
        node.on("frame", lambda *args, q=q: q.put(args))
        got.append(q)
    # A sender's first message to a receiver reserves nothing: this one
    # introduces a to both, so that its large one may take a buffer.
    a.emit("hello", 1)
    for q in got:
        assert q.get(timeout=30) == (1,)
    frame = os.urandom(mib)
    a.emit("frame", frame)
    for q in got:
        assert q.get(timeout=30) == (frame,)
    assert told.stats()["messages_received_in_spare"] == 1
    assert untold.stats()["messages_received_in_spare"] == 0
