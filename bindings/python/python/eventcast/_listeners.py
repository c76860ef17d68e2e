"""Listeners: the registry and the one thread that calls them.

The native node only queues ``(token, event)`` for each listener an event
fires (on its own task, without Python). One thread per node, owned by
this package, takes them out in batches, waiting without the GIL, and
calls the Python functions one event at a time, in order. An exception in
a listener is logged with its traceback and counted; it never stops the
thread or the node.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import threading
import weakref
from typing import Any, Callable

from . import _core
from ._event import from_tuple

log = logging.getLogger("eventcast")

#: How long the thread waits for events before it looks at whether it
#: should end (seconds), and the most events it takes at once.
POLL_SECONDS = 0.1
BATCH = 256


class _Listener:
    __slots__ = ("fn", "name", "once", "raw", "token")

    def __init__(
        self, token: int, name: str, fn: Callable[..., Any], once: bool, raw: bool
    ) -> None:
        self.token = token
        self.name = name
        self.fn = fn
        self.once = once
        self.raw = raw


class Listeners:
    """The listeners of one node, and the thread that calls them."""

    def __init__(self, core: _core.Node) -> None:
        self._core = core
        self._lock = threading.Lock()
        self._tokens = itertools.count(1)
        self._by_token: dict[int, _Listener] = {}
        self._by_name: dict[str, list[_Listener]] = {}
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._restart = False
        self.errors = 0
        _live.add(self)

    def add(self, name: str, fn: Callable[..., Any], *, once: bool, raw: bool) -> None:
        if not callable(fn):
            raise TypeError(f"listener for {name!r} must be callable, not {type(fn).__name__}")
        with self._lock:
            entry = _Listener(next(self._tokens), name, fn, once, raw)
            # The native side checks the pattern first: a bad one adds nothing.
            self._core.on(name, entry.token, once)
            self._by_token[entry.token] = entry
            self._by_name.setdefault(name, []).append(entry)
        self.ensure_running(restart=True)

    def remove(self, name: str, fn: Callable[..., Any]) -> bool:
        """Removes the listener added last under ``name`` with this function."""
        with self._lock:
            self._prune()
            entries = self._by_name.get(name, [])
            for entry in reversed(entries):
                if entry.fn == fn:
                    self._forget(entry)
                    self._core.off(entry.token)
                    return True
        return False

    def remove_all(self, name: str | None) -> None:
        with self._lock:
            self._prune()
            names = list(self._by_name) if name is None else [name]
            for n in names:
                for entry in list(self._by_name.get(n, [])):
                    self._forget(entry)
                    self._core.off(entry.token)

    def _forget(self, entry: _Listener) -> None:
        """Drops an entry from the tables (the lock held)."""
        self._by_token.pop(entry.token, None)
        entries = self._by_name.get(entry.name)
        if entries is not None:
            entries[:] = [e for e in entries if e is not entry]
            if not entries:
                del self._by_name[entry.name]

    def _prune(self) -> None:
        """Forgets the `once` listeners that fired while the listener
        queue was full, so that their event never came (the lock held)."""
        for token in self._core.take_expired():
            entry = self._by_token.get(token)
            if entry is not None:
                self._forget(entry)

    def names(self) -> list[str]:
        with self._lock:
            self._prune()
            return sorted(self._by_name)

    def ensure_running(self, *, restart: bool = False) -> None:
        """Starts the thread unless it runs or there is no listener.

        A thread that is ending (`shutdown`) calls what is queued and ends
        anyway, unless ``restart`` (a start, a new listener) asks it to go
        on. An emit does not: a listener that emits while its node stops
        must not keep the thread alive."""
        with self._lock:
            if self._thread is None:
                if self._by_token:
                    self._stopping = False
                    self._restart = False
                    thread = threading.Thread(
                        target=_run,
                        args=(weakref.ref(self),),
                        name=f"eventcast-listeners-{self._core.id}",
                        daemon=True,
                    )
                    self._thread = thread
                    thread.start()
            elif restart and self._stopping:
                self._restart = True

    def shutdown(self, timeout: float | None = None) -> None:
        """Lets the thread call what is queued, then end; waits for it
        (unless called from a listener, on the thread itself)."""
        with self._lock:
            thread = self._thread
            self._stopping = True
            self._restart = False
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _dispatch(self, batch: list[Any]) -> None:
        for item in batch:
            entry = self._by_token.get(item[0])
            if entry is None:
                continue  # removed after the event was queued
            if entry.once:
                with self._lock:
                    self._forget(entry)
            try:
                if entry.raw:
                    entry.fn(from_tuple(item))
                else:
                    entry.fn(*item[2])
            except BaseException:
                self.errors += 1
                log.exception("listener %r for %r raised (event %r)", entry.fn, entry.name, item[1])


_live: weakref.WeakSet[Listeners] = weakref.WeakSet()


@atexit.register
def _shutdown_all() -> None:
    """At exit, ends the listener threads of nodes that were not stopped,
    before the interpreter finalizes (a thread waiting in native code
    must not be there then)."""
    for listeners in list(_live):
        listeners.shutdown(timeout=1.0)


def _run(ref: weakref.ref[Listeners]) -> None:
    """The listener thread. Holds its owner only weakly, so that a node
    nobody holds any more is collected (and stops) and the thread ends."""
    while True:
        me = ref()
        if me is None:
            return
        batch = me._core.next_batch(0.0 if me._stopping else POLL_SECONDS, BATCH)
        if batch:
            me._dispatch(batch)
            continue
        with me._lock:
            me._prune()
            if me._stopping and me._restart:
                me._stopping = me._restart = False
            elif me._stopping:
                me._thread = None
                return
        del me
