"""Every supported type crosses both ways: between two nodes of one
process, and between two processes."""

from __future__ import annotations

import math
import queue
from datetime import timezone

import eventcast
import pytest
from conftest import wait_until
from values import CASES, EXPECTED, SENT, check_all, same


def test_every_type_between_two_nodes_of_one_process(make_node) -> None:
    a, b = make_node(), make_node()
    got: queue.Queue[list[object]] = queue.Queue()
    b.on("values", lambda *args: got.put(list(args)))
    a.emit("values", *SENT)
    check_all(got.get(timeout=10))


@pytest.mark.parametrize("index", range(len(CASES)))
def test_each_type_alone_as_the_only_argument(make_node, index: int) -> None:
    a, b = make_node(), make_node()
    got: queue.Queue[list[object]] = queue.Queue()
    b.on("one", lambda *args: got.put(list(args)))
    a.emit("one", SENT[index])
    (value,) = got.get(timeout=10)
    assert same(value, EXPECTED[index]), f"sent {SENT[index]!r}, got {value!r}"


def test_every_type_between_two_processes_both_ways(make_node, peer, port: int) -> None:
    echo = peer("echo", str(port))  # re-emits "ping" as "pong"
    node = make_node()
    got: queue.Queue[list[object]] = queue.Queue()
    node.on("pong", lambda *args: got.put(list(args)))
    node.emit("ping", *SENT)  # sent here, received there, sent back
    check_all(got.get(timeout=15))
    code, err = echo.close()
    assert code == 0, err


def test_a_nan_crosses(make_node) -> None:
    a, b = make_node(), make_node()
    got: queue.Queue[float] = queue.Queue()
    b.on("nan", got.put)
    a.emit("nan", math.nan)
    assert math.isnan(got.get(timeout=10))


def test_local_listeners_get_the_converted_values_too(make_node) -> None:
    node = make_node()
    got: queue.Queue[list[object]] = queue.Queue()
    node.on("values", lambda *args: got.put(list(args)))
    node.emit("values", *SENT)
    check_all(got.get(timeout=10))


def test_dates_come_back_as_aware_utc_datetimes(make_node) -> None:
    from datetime import datetime

    node = make_node()
    got: list[datetime] = []
    node.on("d", got.append)
    node.emit("d", datetime(2000, 1, 1))
    wait_until(lambda: got)
    assert got[0].tzinfo is timezone.utc


def test_no_arguments_and_many(make_node) -> None:
    a, b = make_node(), make_node()
    got: list[tuple[object, ...]] = []
    b.on("n", lambda *args: got.append(args))
    a.emit("n")
    a.emit("n", *range(100))
    wait_until(lambda: len(got) == 2)
    assert got == [(), tuple(range(100))]


def test_module_exports() -> None:
    assert {"Eventcast", "Event", "QueueFull", "Subscription"} <= set(eventcast.__all__)
