"""Ctrl-C reaches a program blocked in a subscription's iterator."""

from __future__ import annotations

import signal
import time

import pytest


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
