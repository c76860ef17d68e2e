"""Values of every supported type, and what each comes back as."""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from typing import Any

TOKYO = timezone(timedelta(hours=9))

# (sent, expected back)
CASES: list[tuple[Any, Any]] = [
    (
        {"b": 1, "a": [1, 2], "c": {"z": None, "y": "x"}},
        {"b": 1, "a": [1, 2], "c": {"z": None, "y": "x"}},
    ),
    ([1, "two", 3.0, [4]], [1, "two", 3.0, [4]]),
    ((1, (2, 3)), [1, [2, 3]]),
    ("héllo wörld ✓ 🎉", "héllo wörld ✓ 🎉"),
    ("", ""),
    (0, 0),
    (-1, -1),
    (2**31 - 1, 2**31 - 1),
    (2**31, 2**31),
    (-(2**31) - 1, -(2**31) - 1),
    (2**63 - 1, 2**63 - 1),
    (-(2**63), -(2**63)),
    (1.5, 1.5),
    (-0.0, -0.0),
    (1e308, 1e308),
    (math.inf, math.inf),
    (True, True),
    (False, False),
    (None, None),
    (
        datetime(2013, 10, 28, 22, 40, 0, 123000, tzinfo=timezone.utc),
        datetime(2013, 10, 28, 22, 40, 0, 123000, tzinfo=timezone.utc),
    ),
    # aware, another zone: the same instant, in UTC
    (
        datetime(2013, 10, 29, 7, 40, tzinfo=TOKYO),
        datetime(2013, 10, 28, 22, 40, tzinfo=timezone.utc),
    ),
    # naive: taken as UTC; microseconds beyond milliseconds are cut
    (
        datetime(1969, 7, 20, 20, 17, 40, 999999),
        datetime(1969, 7, 20, 20, 17, 40, 999000, tzinfo=timezone.utc),
    ),
    (re.compile(r"^sensor\.\d+$"), re.compile(r"^sensor\.\d+$")),
    (re.compile("a.b", re.I | re.M | re.S | re.X), re.compile("a.b", re.I | re.M | re.S | re.X)),
    (b"\x00\x01binary\xff", b"\x00\x01binary\xff"),
    (bytearray(b"mutable"), b"mutable"),
    (memoryview(b"a view"), b"a view"),
    (b"", b""),
]

SENT = [sent for sent, _ in CASES]
EXPECTED = [expected for _, expected in CASES]


def same(got: Any, expected: Any) -> bool:
    """Equality that also checks types (True is not 1, a float stays float)
    and compares regexes by pattern and flags."""
    if type(got) is not type(expected):
        return False
    if isinstance(expected, dict):
        return list(got) == list(expected) and all(same(got[k], expected[k]) for k in expected)
    if isinstance(expected, list):
        return len(got) == len(expected) and all(map(same, got, expected))
    if isinstance(expected, re.Pattern):
        return bool(got.pattern == expected.pattern and got.flags == expected.flags)
    if isinstance(expected, float) and expected == 0:
        return math.copysign(1, got) == math.copysign(1, expected)
    if isinstance(expected, datetime):
        return bool(got == expected and got.utcoffset() == timedelta(0))
    return bool(got == expected)


def check_all(got: list[Any]) -> None:
    assert len(got) == len(EXPECTED)
    for i, (g, e) in enumerate(zip(got, EXPECTED)):
        assert same(g, e), f"case {i}: sent {SENT[i]!r}, expected {e!r}, got {g!r}"
