"""Ctrl-C reaches a program blocked in a subscription's iterator."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator

import eventcast
import pytest

# How long KeyboardInterrupt may take to arrive after SIGINT. The documents
# promise about 100 ms; this bound is generous on purpose (a loaded machine
# is slow), so the test checks the behaviour, not the speed.
INTERRUPT_BOUND = 5.0


@pytest.fixture
def default_sigint() -> Iterator[None]:
    """Python's own SIGINT handler (KeyboardInterrupt), whatever the test
    runner installed; the previous one is put back afterwards."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def wait_for_ever(sub: eventcast.Subscription, how: str) -> None:
    """Blocks in `sub` as a program would. Both ways end by themselves
    after 30 s, so a SIGINT that is not honoured fails the test instead of
    hanging it."""
    if how == "get":
        sub.get(timeout=30.0)
    else:
        for _ in sub:
            pass


@pytest.mark.parametrize("how", ["get", "iterator"])
def test_sigint_raises_keyboard_interrupt_in_a_blocking_wait(
    make_node: Callable[..., eventcast.Eventcast], default_sigint: None, how: str
) -> None:
    sub = make_node().subscribe("never.sent", timeout=30.0)
    sent: list[float] = []

    def interrupt() -> None:
        sent.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(0.3, interrupt)  # well inside the wait
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            wait_for_ever(sub, how)
        raised = time.monotonic()
    finally:
        timer.cancel()
        timer.join()
    assert sent, "KeyboardInterrupt came before SIGINT was sent"
    assert raised - sent[0] < INTERRUPT_BOUND, f"{raised - sent[0]:.1f} s after SIGINT"


def test_sigint_interrupts_a_blocking_iterator(peer, port: int) -> None:
    child = peer("block", str(port))
    time.sleep(0.3)  # well inside the iterator's wait
    sent = time.monotonic()
    child.proc.send_signal(signal.SIGINT)
    line = child.readline(timeout=10)
    assert line.startswith("interrupted at "), line
    latency = float(line.split()[-1]) - sent
    print(f"KeyboardInterrupt raised {latency * 1000:.1f} ms after SIGINT")
    code, err = child.close()
    assert code == 0, err


def test_get_times_out(make_node) -> None:
    sub = make_node().subscribe("never")
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        sub.get(timeout=0.2)
    assert time.monotonic() - start >= 0.2


def test_a_for_loop_with_a_timeout_ends_when_quiet(make_node) -> None:
    a, b = make_node(), make_node()
    sub = b.subscribe("tick", timeout=1.0)
    a.emit("tick", 1)
    a.emit("tick", 2)
    assert [event.args[0] for event in sub] == [1, 2]
