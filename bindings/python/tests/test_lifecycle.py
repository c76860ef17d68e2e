"""start/stop, the context manager, stats and peers; no thread or file
descriptor outlives its node."""

from __future__ import annotations

import asyncio
import gc
import os
import queue
import threading

import eventcast
from conftest import wait_until


def os_threads() -> int:
    return len(os.listdir("/proc/self/task"))


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_start_and_stop_are_idempotent(port: int) -> None:
    node = eventcast.Eventcast(port=port, ttl=0)
    assert not node.running
    node.start()
    node.start()
    assert node.running and node.port == port
    node.stop()
    node.stop()
    assert not node.running


def test_the_context_manager_starts_and_stops(port: int) -> None:
    with eventcast.Eventcast(port=port, ttl=0) as node:
        assert node.running
        assert len(node.id) == 16
    assert not node.running


def test_a_random_port_is_drawn_at_start() -> None:
    with eventcast.Eventcast(ttl=0) as node:
        assert node.port is not None and 49152 <= node.port <= 65535


def test_emit_while_stopped_fires_local_listeners(port: int) -> None:
    node = eventcast.Eventcast(port=port)
    got: queue.Queue[str] = queue.Queue()
    node.on("local", got.put)
    node.emit("local", "only here")
    assert got.get(timeout=10) == "only here"
    assert node.stats()["emitted_while_stopped"] == 1
    node.stop()


def cycle(port: int) -> None:
    """One node's whole life: listeners, a subscription read both ways, events."""
    with eventcast.Eventcast(port=port, ttl=0) as node:
        got: queue.Queue[int] = queue.Queue()
        node.on("c", got.put)
        sub = node.subscribe("c")
        node.emit("c", 1)
        assert got.get(timeout=10) == 1
        assert sub.get(timeout=10).args == [1]

        async def one() -> None:
            node.emit("c", 2)
            await asyncio.wait_for(sub.__anext__(), 10)

        asyncio.run(one())
        sub.close()
    node.start()  # and a restart of the same node
    node.stop()


def test_start_stop_cycles_leak_no_threads_or_fds(port: int) -> None:
    cycle(port)  # the first makes the package's runtime and caches
    gc.collect()
    threads, fds, py_threads = os_threads(), open_fds(), threading.active_count()
    for _ in range(20):
        cycle(port)
    gc.collect()
    wait_until(lambda: threading.active_count() <= py_threads, timeout=30)
    # (tokio's blocking threads, if any were used, idle out after 10 s)
    wait_until(lambda: os_threads() <= threads, timeout=30)
    assert open_fds() <= fds


def test_a_node_nobody_holds_is_collected_with_its_thread(port: int) -> None:
    node = eventcast.Eventcast(port=port, ttl=0)
    node.on("x", print)
    node.start()
    listener_threads = [
        t for t in threading.enumerate() if t.name.startswith("eventcast-listeners-")
    ]
    assert listener_threads
    del node
    gc.collect()
    for thread in listener_threads:
        thread.join(timeout=10)
        assert not thread.is_alive()


def test_stats_and_peers(make_node) -> None:
    a, b = make_node(), make_node()
    got: queue.Queue[int] = queue.Queue()
    b.on("s", got.put)
    a.emit("s", 1)
    assert got.get(timeout=10) == 1
    # Counters are published by the node's task on its next turn.
    wait_until(lambda: b.stats()["protocol"]["messages_received"] == 1)
    wait_until(lambda: a.stats()["protocol"]["messages_sent"] == 1)
    stats = b.stats()
    assert stats["running"] is True
    assert stats["protocol"]["dropped"]["malformed"] == 0
    assert stats["listener_errors"] == 0 and stats["listener_dropped"] == 0
    wait_until(lambda: any(p["id"] == a.id for p in b.peers()))
    (peer,) = [p for p in b.peers() if p["id"] == a.id]
    assert peer["delivered"] == 1 and peer["lost"] == 0
    assert peer["address"].endswith(f":{a.port}")


def test_emit_waits_for_room_or_raises_queue_full(make_node) -> None:
    # A tiny send queue and a slow rate: the second event finds it full.
    node = make_node(
        max_send_queue_bytes=2000,
        initial_rate=262144,
        min_rate=262144,
        adaptive_rate=False,
        burst=1024,
    )
    node.emit_nowait("fill", b"x" * 1500)
    raised = 0
    try:
        for _ in range(50):
            node.emit_nowait("fill", b"x" * 1500)
    except eventcast.QueueFull:
        raised += 1
    assert raised == 1
    node.emit("fill", b"x" * 1500, timeout=10)  # waits until there is room
