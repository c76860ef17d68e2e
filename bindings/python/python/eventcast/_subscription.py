"""`Subscription`: events as a blocking iterator or an async iterator."""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import TYPE_CHECKING

from . import _checks, _core
from ._event import Event, from_tuple

if TYPE_CHECKING:
    from ._node import Eventcast


class Subscription:
    """The events of some names or patterns, from `Eventcast.subscribe`.

    Iterate it (``for ev in sub``) to block for each event: with a
    ``timeout``, the iteration ends once no event came for that long.
    Ctrl-C interrupts the wait within 100 ms. Iterate it with ``async for``
    under asyncio (the ``timeout`` ends it the same way): the event loop
    waits on a file descriptor, no thread is used per await. Several
    threads, or several tasks, may iterate one subscription: each event
    goes to one of them. `get` waits for one event and raises
    `TimeoutError`.

    It holds up to ``subscription_bytes`` of events (default 64 MiB); while
    it is full, new ones are dropped and counted in
    ``stats()["subscription_lagged"]``. `close` (or leaving a ``with``
    block) ends it.
    """

    def __init__(self, node: Eventcast, core: _core.Subscription, timeout: float | None):
        self._node = node  # keeps the node alive while the subscription is
        self._core = core
        self._timeout = timeout
        # The futures of the tasks waiting in `__anext__`, by event loop:
        # one reader of the file descriptor per loop wakes them all (a
        # second add_reader would replace the first task's).
        self._waiters: dict[asyncio.AbstractEventLoop, set[asyncio.Future[None]]] = {}

    def get(self, timeout: float | None = None) -> Event:
        """The next event; `TimeoutError` if none came within ``timeout``
        seconds (``None``: wait forever), `EOFError` once closed."""
        _checks.timeout(timeout)
        item = self._core.recv(timeout)
        if item is None:
            if self._core.closed:
                raise EOFError("the subscription is closed")
            raise TimeoutError(f"no event within {timeout} s")
        return from_tuple(item)

    def __iter__(self) -> Subscription:
        return self

    def __next__(self) -> Event:
        item = self._core.recv(self._timeout)
        if item is None:
            raise StopIteration
        return from_tuple(item)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        loop = asyncio.get_running_loop()
        deadline = None if self._timeout is None else loop.time() + self._timeout
        while True:
            item = self._core.take()
            if item is not None:
                return from_tuple(item)
            if self._core.closed or (deadline is not None and loop.time() >= deadline):
                raise StopAsyncIteration
            ready: asyncio.Future[None] = loop.create_future()
            self._add_waiter(loop, ready)
            timer = None if deadline is None else loop.call_at(deadline, _wake, ready)
            try:
                self._core.arm()
                await ready
            finally:
                if timer is not None:
                    timer.cancel()
                self._remove_waiter(loop, ready)

    def _add_waiter(self, loop: asyncio.AbstractEventLoop, ready: asyncio.Future[None]) -> None:
        waiters = self._waiters.get(loop)
        if waiters is None:
            waiters = self._waiters[loop] = set()
            loop.add_reader(self._core.fileno(), self._on_readable, waiters)
        waiters.add(ready)

    def _remove_waiter(self, loop: asyncio.AbstractEventLoop, ready: asyncio.Future[None]) -> None:
        waiters = self._waiters.get(loop)
        if waiters is None:
            return
        waiters.discard(ready)
        if not waiters:
            del self._waiters[loop]
            loop.remove_reader(self._core.fileno())

    def _on_readable(self, waiters: set[asyncio.Future[None]]) -> None:
        """An armed task is done (an event came, or the stream ended):
        every waiting task looks, one takes the event, the others wait
        again."""
        with contextlib.suppress(BlockingIOError):
            os.read(self._core.fileno(), 8)
        _wake_all(waiters)
        # Loops of other threads waiting on it too: this read cleared the
        # descriptor for them.
        for loop, others in list(self._waiters.items()):
            if others is not waiters:
                with contextlib.suppress(RuntimeError):  # a closed loop
                    loop.call_soon_threadsafe(_wake_all, others)

    def close(self) -> None:
        """Ends the subscription: iteration stops, nothing more is queued."""
        self._core.close()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<eventcast.Subscription closed={self._core.closed}>"


def _wake(ready: asyncio.Future[None]) -> None:
    if not ready.done():
        ready.set_result(None)


def _wake_all(waiters: set[asyncio.Future[None]]) -> None:
    for ready in list(waiters):
        _wake(ready)
