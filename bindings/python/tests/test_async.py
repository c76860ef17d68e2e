"""`async for` over a subscription, on asyncio."""

from __future__ import annotations

import asyncio
import threading

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
