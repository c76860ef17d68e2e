"""Events of 1 KB to 1000 KB cross whole, segmented and reassembled."""

from __future__ import annotations

import hashlib
import os
import queue
import time

import pytest


@pytest.mark.parametrize("kb", [1, 10, 100, 500, 1000])
def test_large_events_cross_intact(make_node, kb: int) -> None:
    a, b = make_node(), make_node()
    got: queue.Queue[tuple[object, ...]] = queue.Queue()
    b.on("big", lambda *args: got.put(args))
    blob = os.urandom(kb * 1000)
    text = "x" * (kb * 1000)
    a.emit("big", blob, text, {"sha": hashlib.sha256(blob).hexdigest()})
    received_blob, received_text, meta = got.get(timeout=30)
    assert received_blob == blob
    assert received_text == text
    assert meta == {"sha": hashlib.sha256(blob).hexdigest()}


def test_a_lone_large_bytes_argument_is_sent_without_a_copy(make_node) -> None:
    a, b = make_node(), make_node()
    got: queue.Queue[tuple[object, ...]] = queue.Queue()
    b.on("frame", lambda *args: got.put(args))
    frame = os.urandom(300_000)
    a.emit("frame", frame)
    assert got.get(timeout=30) == (frame,)
    # Beside another argument: copied, as any argument is.
    a.emit("frame", frame, 1)
    assert got.get(timeout=30) == (frame, 1)
    assert a.stats()["protocol"]["messages_sent_shared"] == 1


def test_later_large_frames_are_put_together_in_buffers_made_ready(make_node) -> None:
    a, b = make_node(), make_node()
    got: queue.Queue[tuple[object, ...]] = queue.Queue()
    b.on("hello", lambda *args: got.put(args))
    b.on("frame", lambda *args: got.put(args))
    # A sender's first message reserves nothing: this one makes it known.
    a.emit("hello", 1)
    assert got.get(timeout=30) == (1,)
    frame = os.urandom(400_000)
    for _ in range(3):
        a.emit("frame", frame)
        assert got.get(timeout=30) == (frame,)
        # Idle past the 5 ms after a delivery when the node makes the next.
        time.sleep(0.5)
    # None was ready for the first frame; the two after it found one.
    assert b.stats()["messages_received_in_spare"] == 2


def test_a_mebibyte_of_bytes_crosses_between_processes(make_node, peer, port: int) -> None:
    echo = peer("echo", str(port))
    node = make_node()
    got: queue.Queue[bytes] = queue.Queue()
    node.on("pong", got.put)
    blob = os.urandom(1024 * 1024)
    node.emit("ping", blob)
    assert got.get(timeout=30) == blob
    assert echo.close()[0] == 0
