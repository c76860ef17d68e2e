"""Listeners: the package's thread, order, once/off, patterns, raw events,
and exceptions."""

from __future__ import annotations

import inspect
import logging
import queue
import subprocess
import sys
import threading
import time

import eventcast
import pytest
from conftest import wait_until


def test_decorator_on_once_and_off(make_node) -> None:
    node = make_node()
    seen: list[tuple[str, object]] = []

    @node.on("greet")
    def greet(who: object) -> None:
        seen.append(("on", who))

    @node.once("greet")
    def first(who: object) -> None:
        seen.append(("once", who))

    node.emit("greet", "a")
    node.emit("greet", "b")
    wait_until(lambda: len(seen) == 3)
    assert seen == [("on", "a"), ("once", "a"), ("on", "b")]
    assert node.off("greet", greet)
    assert not node.off("greet", greet)
    assert not node.off("greet", first)  # fired, so gone
    node.emit("greet", "c")
    node.emit("marker")
    done = threading.Event()
    node.on("marker", done.set)
    node.emit("marker")
    assert done.wait(10)
    assert seen == [("on", "a"), ("once", "a"), ("on", "b")]


def test_patterns_and_raw_events(make_node) -> None:
    a, b = make_node(), make_node()
    got: queue.Queue[object] = queue.Queue()
    b.on("sensor.*", got.put, raw=True)
    a.emit("sensor.kitchen", 21.5)
    a.emit("sensor.kitchen.extra", 0)  # `*` is one segment: not matched
    a.emit("sensor.hall", 19)
    first, second = got.get(timeout=10), got.get(timeout=10)
    assert (first.name, first.args) == ("sensor.kitchen", [21.5])
    assert (second.name, second.args) == ("sensor.hall", [19])
    assert first.sender == a.id
    assert first.source is not None and first.source.endswith(f":{a.port}")
    assert not first.is_local
    assert first.seq is not None and second.seq == first.seq + 2
    assert b.listener_count("sensor.kitchen") == 1


def test_local_events_are_marked_local(make_node) -> None:
    node = make_node()
    got: queue.Queue[object] = queue.Queue()
    node.on("me", got.put, raw=True)
    node.emit("me")
    event = got.get(timeout=10)
    assert event.is_local and event.source is None and event.sender == node.id


def test_listeners_run_in_order_on_one_package_thread(make_node) -> None:
    a, b = make_node(), make_node()
    threads: set[str] = set()
    got: list[int] = []
    done = threading.Event()

    def listener(i: int) -> None:
        threads.add(threading.current_thread().name)
        got.append(i)
        if i == 9999:
            done.set()

    b.on("n", listener)
    for i in range(10000):
        a.emit("n", i)
    assert done.wait(60)
    assert got == list(range(10000))
    assert len(threads) == 1
    (name,) = threads
    assert name.startswith("eventcast-listeners-")
    assert name != threading.main_thread().name


def test_an_exception_in_a_listener_is_logged_counted_and_survived(
    make_node, caplog: pytest.LogCaptureFixture
) -> None:
    a, b = make_node(), make_node()
    got: queue.Queue[int] = queue.Queue()

    def fragile(n: int) -> None:
        if n == 1:
            raise RuntimeError("listener broke on purpose")
        got.put(n)

    b.on("n", fragile)
    with caplog.at_level(logging.ERROR, logger="eventcast"):
        for n in range(3):
            a.emit("n", n)
        assert [got.get(timeout=10), got.get(timeout=10)] == [0, 2]
    assert b.stats()["listener_errors"] == 1
    (record,) = [r for r in caplog.records if r.name == "eventcast"]
    assert record.exc_info is not None
    assert "listener broke on purpose" in caplog.text
    assert "Traceback" in caplog.text
    assert b.running


def test_a_listener_may_emit_and_stop_its_node(make_node) -> None:
    node = make_node()
    got: queue.Queue[str] = queue.Queue()
    node.on("ping", lambda: node.emit("pong"))
    node.on("pong", lambda: got.put("pong"))
    node.on("halt", node.stop)
    node.emit("ping")
    assert got.get(timeout=10) == "pong"
    node.emit("halt")
    wait_until(lambda: not node.running)


def test_remove_all_listeners_and_event_names(make_node) -> None:
    node = make_node()
    node.on("a", print)
    node.on("b.*", print)
    assert node.event_names() == ["a", "b.*"]
    node.remove_all_listeners("a")
    assert node.event_names() == ["b.*"]
    node.remove_all_listeners()
    assert node.event_names() == []
    assert node.listener_count("b.x") == 0


def test_stop_returns_while_a_listener_emits(make_node) -> None:
    node = make_node()
    in_listener = threading.Event()

    def slow_echo() -> None:
        in_listener.set()
        time.sleep(0.3)
        node.emit("pong")  # while the node stops

    node.on("ping", slow_echo)
    node.on("pong", lambda: None)
    node.emit("ping")
    assert in_listener.wait(10)
    stopper = threading.Thread(target=node.stop)
    stopper.start()
    stopper.join(timeout=20)
    assert not stopper.is_alive(), "stop() did not return"
    wait_until(
        lambda: not any(t.name.startswith("eventcast-listeners-") for t in threading.enumerate())
    )


def test_a_full_listener_queue_drops_and_counts(make_node) -> None:
    node = make_node(listener_queue_size=10)
    release = threading.Event()
    in_listener = threading.Event()
    got: list[int] = []

    def slow(n: int) -> None:
        in_listener.set()
        release.wait(10)
        got.append(n)

    node.on("n", slow)
    # The first event holds the listener thread; only then the rest come,
    # so what gets in is exactly the queue's 10 (a burst racing the
    # thread's first batch could see it take more than that).
    node.emit("n", 0)
    assert in_listener.wait(10)
    for n in range(1, 100):
        node.emit("n", n)
    wait_until(lambda: node.stats()["listener_dropped"] == 99 - 10)
    release.set()
    wait_until(lambda: len(got) == 11)
    assert got == list(range(11))
    assert node.stats()["listener_dropped"] == 99 - 10


def rss() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


# Run in a process of its own, with `rss` as above.
RSS_OF_TEN_NODES = f"""
import eventcast

{inspect.getsource(rss)}
eventcast.Eventcast()  # the runtime and the module's first allocations
before = rss()
nodes = [eventcast.Eventcast() for _ in range(10)]
huge = [eventcast.Eventcast(listener_queue_size=n) for n in (10**9, 2**62, 2**64 - 1)]
print(rss() - before)
"""


def test_the_listener_queue_takes_memory_only_as_it_fills() -> None:
    # It reserved every slot up front: 8 MiB per node by default, an abort
    # (or a Rust panic) for a huge size. Run apart: an abort ends the process.
    done = subprocess.run(
        [sys.executable, "-c", RSS_OF_TEN_NODES], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    grown = int(done.stdout)
    assert grown < 16 * 2**20, f"13 idle nodes took {grown / 2**20:.1f} MiB"


def test_a_once_listener_that_fired_is_forgotten(port: int) -> None:
    # A stopped node: its own emits fire its listeners, nothing is sent.
    node = eventcast.Eventcast(port=port)
    fired = threading.Semaphore(0)
    count = 4000
    # Distinct long names: each once() kept its name for ever on the native
    # side (64 MiB here), until off().
    names = [f"{i:06d}" + "x" * 16_000 for i in range(count)]
    node.once(names[0], fired.release)
    node.emit(names[0])
    assert fired.acquire(timeout=10)
    before = rss()
    for name in names[1:]:
        node.once(name, fired.release)
        node.emit(name)
        # One at a time: a backlog of queued 16 KB names, freed out of
        # order, can leave the allocator's arenas tens of MiB larger.
        assert fired.acquire(timeout=10)
    grown = rss() - before
    assert node.event_names() == []
    assert grown < 24 * 2**20, f"{count} fired once listeners kept {grown / 2**20:.1f} MiB"
    node.stop()


def test_a_once_listener_whose_event_was_dropped_is_forgotten(make_node) -> None:
    node = make_node(listener_queue_size=1)
    release = threading.Event()
    in_listener = threading.Event()

    def hold() -> None:
        in_listener.set()
        release.wait(10)

    node.on("hold", hold)
    node.emit("hold")
    assert in_listener.wait(10)
    node.emit("hold")  # takes the queue's one place
    once_fired: list[object] = []
    node.once("o", once_fired.append)
    node.emit("o", 1)  # fires the once listener, but the queue is full
    assert node.stats()["listener_dropped"] == 1
    assert node.listener_count("o") == 0
    assert node.event_names() == ["hold"]
    assert not node.off("o", once_fired.append)
    release.set()
