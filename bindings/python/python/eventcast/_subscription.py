"""`Subscription`: events as a blocking iterator or an async iterator."""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import TYPE_CHECKING

from . import _core
from ._event import Event, from_tuple

if TYPE_CHECKING:
    from ._node import Eventcast


class Subscription:
    """The events of some names or patterns, from `Eventcast.subscribe`.

    Iterate it (``for ev in sub``) to block for each event: with a
    ``timeout``, the iteration ends once no event came for that long.
    Ctrl-C interrupts the wait within 100 ms. Iterate it with ``async for``
    under asyncio: the event loop waits on a file descriptor, no thread
    is used per await. `get` waits for one event and raises `TimeoutError`.

    It holds up to ``subscription_bytes`` of events (default 64 MiB); while
    it is full, new ones are dropped and counted in
    ``stats()["subscription_lagged"]``. `close` (or leaving a ``with``
    block) ends it.
    """

    def __init__(self, node: Eventcast, core: _core.Subscription, timeout: float | None):
        self._node = node  # keeps the node alive while the subscription is
        self._core = core
        self._timeout = timeout

    def get(self, timeout: float | None = None) -> Event:
        """The next event; `TimeoutError` if none came within ``timeout``
        seconds (``None``: wait forever), `EOFError` once closed."""
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
        fd = self._core.fileno()
        while True:
            item = self._core.take()
            if item is not None:
                return from_tuple(item)
            if self._core.closed:
                raise StopAsyncIteration
            ready: asyncio.Future[None] = loop.create_future()

            def on_readable(ready: asyncio.Future[None] = ready) -> None:
                with contextlib.suppress(BlockingIOError):
                    os.read(fd, 8)
                if not ready.done():
                    ready.set_result(None)

            loop.add_reader(fd, on_readable)
            try:
                self._core.arm()
                await ready
            finally:
                loop.remove_reader(fd)

    def close(self) -> None:
        """Ends the subscription: iteration stops, nothing more is queued."""
        self._core.close()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<eventcast.Subscription closed={self._core.closed}>"
