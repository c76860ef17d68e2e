"""The `Event` a raw listener or a subscription gets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Event:
    """One event, as received (or emitted by this node).

    Attributes:
        name: the event name.
        args: the arguments, converted from BSON (see the package docs).
        sender: the emitting node's id, 16 hex digits.
        source: ``"IP:PORT"`` it came from; ``None`` for this node's own emits.
        seq: its number in the sender's stream (received events only).
    """

    name: str
    args: list[Any]
    sender: str
    source: str | None = None
    seq: int | None = None

    @property
    def is_local(self) -> bool:
        """Whether this node emitted it."""
        return self.source is None


def from_tuple(item: tuple[int, str, list[Any], str, str | None, int | None]) -> Event:
    """Builds an `Event` from the native layer's tuple (its token dropped)."""
    _token, name, args, sender, source, seq = item
    return Event(name, args, sender, source, seq)
