"""`async for` over a subscription, on asyncio."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest


def test_async_for_receives_in_order(make_node) -> None:
    a, b = make_node(), make_node()

    async def main() -> list[int]:
        got: list[int] = []
        sub = b.subscribe("count")
        threads = threading.active_count()
        a.emit("count", 0)
        async for event in sub:
            got.append(event.args[0])
            # Each await is the event loop's: no thread is started for it.
            assert threading.active_count() <= threads
            if len(got) == 200:
                break
            if len(got) == 1:
                for i in range(1, 200):
                    a.emit("count", i)
        return got

    assert asyncio.run(asyncio.wait_for(main(), 30)) == list(range(200))


def test_other_tasks_run_while_waiting(make_node) -> None:
    a, b = make_node(), make_node()

    async def main() -> tuple[object, int]:
        sub = b.subscribe("late")
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        async def later() -> None:
            await asyncio.sleep(0.3)
            a.emit("late", "finally")

        tick = asyncio.ensure_future(ticker())
        emit = asyncio.ensure_future(later())
        event = await asyncio.wait_for(sub.__anext__(), 10)
        tick.cancel()
        await emit
        return event.args[0], ticks

    arg, ticks = asyncio.run(main())
    assert arg == "finally"
    assert ticks >= 5  # the loop was never blocked while we waited


def test_a_cancelled_wait_loses_no_event(make_node) -> None:
    a, b = make_node(), make_node()

    async def main() -> list[str]:
        sub = b.subscribe("x")
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(sub.__anext__(), 0.2)
        a.emit("x", "one")
        a.emit("x", "two")
        first = await asyncio.wait_for(sub.__anext__(), 10)
        second = await asyncio.wait_for(sub.__anext__(), 10)
        return [first.args[0], second.args[0]]

    assert asyncio.run(main()) == ["one", "two"]


def test_closing_ends_async_iteration(make_node) -> None:
    node = make_node()

    async def main() -> list[object]:
        sub = node.subscribe("y")
        asyncio.get_running_loop().call_later(0.2, sub.close)
        return [event async for event in sub]

    assert asyncio.run(asyncio.wait_for(main(), 10)) == []


def test_async_for_ends_after_the_timeout(make_node) -> None:
    a, b = make_node(), make_node()

    async def main() -> tuple[list[object], float]:
        loop = asyncio.get_running_loop()
        sub = b.subscribe("tick", timeout=0.5)
        # Events on time keep it going; the wait after the last one ends it.
        for delay in (0.1, 0.3, 0.5):
            loop.call_later(delay, a.emit, "tick", delay)
        got: list[object] = []
        async for event in sub:
            got.append(event.args[0])
            last = loop.time()
        return got, loop.time() - last

    got, waited = asyncio.run(asyncio.wait_for(main(), 10))
    assert got == [0.1, 0.3, 0.5]
    assert 0.45 <= waited < 5


def test_two_tasks_share_one_subscription(make_node) -> None:
    a, b = make_node(), make_node()

    async def main() -> dict[str, list[int]]:
        sub = b.subscribe("n")
        got: dict[str, list[int]] = {"A": [], "B": []}

        async def read(name: str) -> None:
            async for event in sub:
                got[name].append(event.args[0])
                await asyncio.sleep(0.01)  # let the other task take some

        tasks = [asyncio.ensure_future(read(name)) for name in got]
        await asyncio.sleep(0.1)  # both wait
        for n in range(20):
            a.emit("n", n)
        while sum(map(len, got.values())) < 20:
            await asyncio.sleep(0.01)
        sub.close()
        _, pending = await asyncio.wait(tasks, timeout=5)
        assert not pending, "a task did not end after close()"
        return got

    got = asyncio.run(asyncio.wait_for(main(), 30))
    assert sorted(got["A"] + got["B"]) == list(range(20))
    assert got["A"] and got["B"]


def test_a_task_waiting_with_another_ends_on_close(make_node) -> None:
    node = make_node()

    async def main() -> None:
        sub = node.subscribe("never")

        async def read() -> list[object]:
            return [event async for event in sub]

        tasks = [asyncio.ensure_future(read()) for _ in range(3)]
        await asyncio.sleep(0.1)
        sub.close()
        _, pending = await asyncio.wait(tasks, timeout=5)
        assert not pending, f"{len(pending)} of 3 tasks did not end after close()"

    asyncio.run(asyncio.wait_for(main(), 30))


def test_event_loops_of_two_threads_share_one_subscription(make_node) -> None:
    a, b = make_node(), make_node()
    sub = b.subscribe("n")
    got: dict[int, list[int]] = {0: [], 1: []}

    async def read(me: int) -> None:
        async for event in sub:
            got[me].append(event.args[0])

    threads = [
        threading.Thread(target=asyncio.run, args=(asyncio.wait_for(read(me), 30),)) for me in got
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    for n in range(20):
        a.emit("n", n)
    deadline = time.monotonic() + 10
    while sum(map(len, got.values())) < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    sub.close()
    for thread in threads:
        thread.join(10)
    assert not any(thread.is_alive() for thread in threads), "a loop did not end after close()"
    assert sorted(got[0] + got[1]) == list(range(20))
