"""Shared fixtures. The suite runs only inside a private network namespace
(``scripts/netns``, as ``scripts/test.d/python`` runs it): it joins
multicast groups and sends datagrams, which must never reach a network."""

from __future__ import annotations

import contextlib
import itertools
import os
import queue
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import eventcast
import pytest

REPO = Path(__file__).resolve().parents[3]
PEER = Path(__file__).resolve().parent / "peer.py"


def in_private_netns() -> bool:
    """As crates/netns-test's `in_private_netns`: the namespace scripts/netns
    made for us (EVENTCAST_NETNS_INODE), and not the host's (pid 1's)."""
    try:
        own = os.stat("/proc/self/ns/net").st_ino
    except OSError:
        return False
    if os.environ.get("EVENTCAST_NETNS_INODE", "").strip() != str(own):
        return False
    host = []
    for path in ("/proc/1/ns/net", "/proc/2/ns/net"):
        with contextlib.suppress(OSError):
            host.append(os.stat(path).st_ino)
    return own not in host


def pytest_sessionstart(session: pytest.Session) -> None:
    if not in_private_netns():
        pytest.exit(
            "refusing to run outside a private network namespace: these tests send "
            "multicast datagrams. Run scripts/test.d/python, or "
            "scripts/netns bindings/python/.venv/bin/python -m pytest bindings/python/tests",
            returncode=3,
        )


_ports = itertools.count(random.randint(20000, 40000))


@pytest.fixture
def port() -> int:
    """A port of this test's own (the namespace is private: no one else)."""
    return next(_ports)


@pytest.fixture
def make_node(port: int) -> Iterator[Callable[..., eventcast.Eventcast]]:
    """Makes started nodes on this test's port (TTL 0), stopped at the end."""
    nodes: list[eventcast.Eventcast] = []

    def make(**options: Any) -> eventcast.Eventcast:
        options.setdefault("port", port)
        options.setdefault("ttl", 0)
        node = eventcast.Eventcast(**options)
        node.start()
        nodes.append(node)
        return node

    yield make
    for node in nodes:
        node.stop()


def cli_path() -> Path:
    """The eventcast binary: EVENTCAST_CLI, else the workspace's debug build."""
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    path = Path(os.environ.get("EVENTCAST_CLI", target / "debug" / "eventcast"))
    if not path.exists():
        pytest.fail(f"{path} not found: cargo build -p eventcast-cli first")
    return path


@pytest.fixture
def cli() -> Path:
    return cli_path()


def wait_until(predicate: Callable[[], object], timeout: float = 10.0) -> None:
    """Waits until ``predicate()`` is true; fails the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(0.01)


class Peer:
    """A child Python process running tests/peer.py; its stdout lines are
    read by a thread into a queue."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(PEER), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        line = self.readline(timeout=30)
        if line != "ready":
            self.proc.kill()
            raise AssertionError(f"peer did not start: {line!r}: {self.close()[1]}")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put("<eof>")

    def readline(self, timeout: float = 30) -> str:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"peer said nothing within {timeout} s") from None

    def close(self) -> tuple[int, str]:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        assert self.proc.stderr is not None
        return self.proc.returncode, self.proc.stderr.read()


@pytest.fixture
def peer() -> Iterator[Callable[..., Peer]]:
    peers: list[Peer] = []

    def start(*args: str) -> Peer:
        p = Peer(*args)
        peers.append(p)
        return p

    yield start
    for p in peers:
        p.close()
