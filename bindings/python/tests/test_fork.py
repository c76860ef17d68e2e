"""Nodes and os.fork: multiprocessing's "fork" start method (the default on
Linux before Python 3.14) makes a child that inherits the parent's
runtime, whose threads it does not have."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Callable

import eventcast
import pytest

# Python 3.12 and later warn about fork in a process with threads.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _child_with_its_own_node(port: int, conn: Connection) -> None:
    with eventcast.Eventcast(port=port, ttl=0) as node:
        sub = node.subscribe("to-child")
        conn.send("ready")
        event = sub.get(timeout=20)
        node.emit("from-child", os.getpid(), event.args[0])


@pytest.fixture
def fork() -> Iterator[Callable[..., multiprocessing.Process]]:
    """Starts ``target(*args)`` in a forked child; kills it at the end if it
    still runs (a hung child must not outlive the test)."""
    children: list[multiprocessing.Process] = []

    def start(target: Callable[..., None], *args: object) -> multiprocessing.Process:
        child = multiprocessing.get_context("fork").Process(target=target, args=args, daemon=True)
        child.start()
        children.append(child)
        return child

    yield start
    for child in children:
        if child.is_alive():
            child.kill()
        child.join()


def _end(child: multiprocessing.Process) -> int | None:
    child.join(30)
    return child.exitcode


def test_a_forked_child_can_make_and_use_a_node(make_node, fork, port: int) -> None:
    # The parent's node made the runtime before the fork.
    parent = make_node()
    from_child = parent.subscribe("from-child")
    ours, theirs = multiprocessing.Pipe()
    child = fork(_child_with_its_own_node, port, theirs)
    assert ours.poll(30), "the child's node did not start"
    assert ours.recv() == "ready"
    parent.emit("to-child", "hello")
    event = from_child.get(timeout=30)
    assert event.args == [child.pid, "hello"]
    assert _end(child) == 0
    # The parent's node is unharmed.
    parent.emit("from-child", "parent")
    assert from_child.get(timeout=10).args == ["parent"]


def _child_uses_the_parents_node(node: eventcast.Eventcast, conn: Connection) -> None:
    outcomes = []
    for call in (
        lambda: node.emit("x", 1),
        lambda: node.start(),
        lambda: node.on("x", print),
        lambda: node.subscribe("x"),
    ):
        try:
            call()
            outcomes.append("no error")
        except RuntimeError as e:
            outcomes.append(str(e))
    conn.send(outcomes)


def test_a_node_made_before_a_fork_refuses_to_work_in_the_child(make_node, fork) -> None:
    parent = make_node()
    ours, theirs = multiprocessing.Pipe()
    child = fork(_child_uses_the_parents_node, parent, theirs)
    assert ours.poll(30), "the child hung"
    outcomes = ours.recv()
    assert _end(child) == 0
    assert len(outcomes) == 4
    for outcome in outcomes:
        assert "fork" in outcome, outcomes
    # Still fine in the parent.
    sub = parent.subscribe("x")
    parent.emit("x", 2)
    assert sub.get(timeout=10).args == [2]
