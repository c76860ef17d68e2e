"""`Eventcast`: a node of the group, with Node's EventEmitter API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, TypeVar, overload

from . import _checks, _core
from ._listeners import Listeners
from ._subscription import Subscription

if TYPE_CHECKING:
    from types import TracebackType

F = TypeVar("F", bound=Callable[..., Any])


class Eventcast:
    """A node of the group: named events with arguments over UDP multicast.

    Every option of the Rust library's ``Config`` is a keyword argument,
    in snake_case. The common ones are named below; the others (the
    receive limits, loss recovery, rates, ``decrypt_keys``,
    ``expected_event_sizes``, ``log``, ``repl_enabled``, ``wire_protocol``,
    ...) are listed in the README's Python section. A bad value raises
    `ValueError` or `TypeError` naming the option.

    Args:
        port: UDP port shared by the nodes that hear each other (default:
            random in 49152-65535, drawn at each start).
        group: the multicast group (IPv4 or IPv6).
        interface: the interface to join and send on, by address or name.
        bind: the address to bind.
        ttl: multicast TTL (0: this host only, 1: this segment).
        loopback: whether other sockets on this host hear this node.
        key: the group key: a passphrase (``str``; ``"raw:"`` and 32 hex
            digits is a raw key, as on the command line) or 16 raw
            ``bytes``. With it, every datagram is encrypted.
        max_payload_size: bytes of event per datagram.
        message_ttl: seconds a partial event may wait for its segments.
        listener_queue_size: events queued for the listener thread before
            new ones are dropped (counted in ``stats()["listener_dropped"]``).

    Use it as a context manager to start it and stop it::

        with Eventcast(port=41234) as node:
            node.emit("greet", "world")
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        group: str = "224.0.0.1",
        interface: str | None = None,
        bind: str = "0.0.0.0",
        ttl: int = 1,
        loopback: bool = True,
        key: str | bytes | None = None,
        max_payload_size: int = 1024,
        message_ttl: float = 3.0,
        listener_queue_size: int = _core.LISTENER_QUEUE_SIZE,
        **options: Any,
    ) -> None:
        self._core = _core.Node(
            port=port,
            group=group,
            interface=interface,
            bind=bind,
            ttl=ttl,
            loopback=loopback,
            key=key,
            max_payload_size=max_payload_size,
            message_ttl=message_ttl,
            listener_queue_size=listener_queue_size,
            **options,
        )
        self._listeners = Listeners(self._core)

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> None:
        """Binds, joins the group and starts receiving. Does nothing if
        running. Each start draws a new sender id (and a new random port
        when none was given)."""
        self._core.start()
        self._listeners.ensure_running(restart=True)

    def stop(self) -> None:
        """Sends what is queued, leaves the group and closes the socket;
        then lets the listener thread call what was received and end. Does
        nothing if stopped."""
        self._core.stop()
        self._listeners.shutdown()

    def __enter__(self) -> Eventcast:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """Whether the node is started."""
        return self._core.running

    @property
    def id(self) -> str:
        """This node's sender id (16 hex digits): the current run's, or
        the next run's while stopped."""
        return self._core.id

    @property
    def port(self) -> int | None:
        """The UDP port: the one bound while running, else the configured
        one (``None`` if it is drawn at start)."""
        return self._core.port

    def stats(self) -> dict[str, Any]:
        """Every counter, as nested dicts: the library's ``NodeStats``
        (``protocol`` with its ``dropped`` reasons, ``running``,
        ``kernel_drops``, ``subscription_lagged``, ...), plus this
        package's ``listener_errors`` (listeners that raised) and
        ``listener_dropped`` (events the listener queue had no room for)."""
        stats: dict[str, Any] = self._core.stats()
        stats["listener_errors"] = self._listeners.errors
        return stats

    def peers(self) -> list[dict[str, Any]]:
        """The other nodes heard: ``id``, ``address``, ``since_heard``
        (seconds), ``lead``, ``delivered``, ``lost`` each."""
        peers: list[dict[str, Any]] = self._core.peers()
        return peers

    # -- listeners ---------------------------------------------------------

    @overload
    def on(self, name: str, fn: None = None, *, raw: bool = False) -> Callable[[F], F]: ...
    @overload
    def on(self, name: str, fn: F, *, raw: bool = False) -> F: ...
    def on(self, name: str, fn: F | None = None, *, raw: bool = False) -> F | Callable[[F], F]:
        """Calls ``fn(*args)`` for every event named ``name`` (or matching
        the pattern: ``"sensor.*"`` is one more segment, ``"sensor.**"``
        any number). With ``raw=True``, ``fn(event)`` gets the whole
        `Event` (name, args, sender, source) instead.

        Listeners run on one thread of this package, one event at a time,
        in order; an exception is logged (logger ``eventcast``) with its
        traceback and counted in ``stats()["listener_errors"]``. Usable as
        a decorator: ``@node.on("greet")``. A bad pattern raises
        `ValueError`."""
        return self._add(name, fn, once=False, raw=raw)

    @overload
    def once(self, name: str, fn: None = None, *, raw: bool = False) -> Callable[[F], F]: ...
    @overload
    def once(self, name: str, fn: F, *, raw: bool = False) -> F: ...
    def once(self, name: str, fn: F | None = None, *, raw: bool = False) -> F | Callable[[F], F]:
        """Like `on`, for the first matching event only."""
        return self._add(name, fn, once=True, raw=raw)

    def _add(self, name: str, fn: F | None, *, once: bool, raw: bool) -> F | Callable[[F], F]:
        _checks.name(name)
        if fn is None:

            def decorator(fn: F) -> F:
                self._listeners.add(name, fn, once=once, raw=raw)
                return fn

            return decorator
        self._listeners.add(name, fn, once=once, raw=raw)
        return fn

    def off(self, name: str, fn: Callable[..., Any]) -> bool:
        """Removes the listener added last under ``name`` (the name or
        pattern as given) with this function; whether there was one."""
        return self._listeners.remove(name, fn)

    def remove_all_listeners(self, name: str | None = None) -> None:
        """Removes the listeners added under ``name``, or every one."""
        self._listeners.remove_all(name)

    def listener_count(self, name: str) -> int:
        """How many listeners an event of this name fires (patterns that
        match it included)."""
        _checks.name(name)
        return self._core.listener_count(name)

    def event_names(self) -> list[str]:
        """The names and patterns that have listeners, sorted."""
        return self._listeners.names()

    # -- emitting ----------------------------------------------------------

    def emit(self, name: str, *args: Any, timeout: float | None = None) -> None:
        """Sends an event to the group and fires this node's own listeners.

        Arguments are converted to BSON (see the package docs): an
        unsupported type raises `TypeError`, an int beyond 64 bits
        `OverflowError`, and nothing is sent. When the send queue is full,
        waits for room: up to ``timeout`` seconds (then `TimeoutError`),
        or forever. While stopped, only local listeners fire."""
        _checks.name(name)
        _checks.timeout(timeout)
        self._core.emit(name, args, True, timeout)
        self._listeners.ensure_running()

    def emit_nowait(self, name: str, *args: Any) -> None:
        """Like `emit`, but raises `QueueFull` when the send queue is full."""
        _checks.name(name)
        self._core.emit(name, args, False)
        self._listeners.ensure_running()

    def subscribe(self, *names: str, timeout: float | None = None) -> Subscription:
        """A `Subscription` to the events of these names or patterns (every
        event if none): iterate it, or ``async for`` it. With ``timeout``,
        a ``for`` loop ends once no event came for that many seconds."""
        for name in names:
            _checks.name(name, "names")
        _checks.timeout(timeout)
        return Subscription(self, self._core.subscribe(list(names)), timeout)

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<eventcast.Eventcast {self.id} port={self.port} {state}>"
