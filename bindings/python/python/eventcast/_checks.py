"""Checks of arguments whose native errors would not name them."""

from __future__ import annotations

import numbers


def name(value: object, argument: str = "name") -> None:
    """An event name or pattern must be a `str`."""
    if not isinstance(value, str):
        raise TypeError(f"{argument}: expected a str, got {type(value).__name__}")


def timeout(value: object) -> None:
    """A timeout is ``None`` (for ever) or seconds, at least 0 (a negative
    or NaN one is a `ValueError`, as for `queue.Queue.get`)."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"timeout: expected seconds (an int or float) or None, got {type(value).__name__}"
        )
    if value != value or value < 0:  # NaN is not equal to itself
        raise ValueError(f"timeout: must be a non-negative number of seconds, got {value}")
