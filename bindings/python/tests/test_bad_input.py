"""Bad input is refused with a clear error, and a refused emit sends nothing."""

from __future__ import annotations

import math
import queue
from decimal import Decimal
from typing import Any, Callable

import eventcast
import pytest
from conftest import wait_until


class Thing:
    pass


@pytest.mark.parametrize(
    ("value", "error", "words"),
    [
        ({1, 2}, TypeError, ["args[0]", "set"]),
        (frozenset(), TypeError, ["frozenset"]),
        (Thing(), TypeError, ["Thing"]),
        (Decimal("1.5"), TypeError, ["Decimal"]),
        (1 + 2j, TypeError, ["complex"]),
        ({"ok": [1, {"deep": {3}}]}, TypeError, ['args[0]["ok"][1]["deep"]', "set"]),
        ({1: "int key"}, TypeError, ["dict keys must be str", "int"]),
        (2**63, OverflowError, ["args[0]", "64 bits"]),
        (-(2**63) - 1, OverflowError, ["64 bits"]),
        ([0, 2**100], OverflowError, ["args[0][1]"]),
    ],
)
def test_unsupported_values_raise_at_emit_and_nothing_is_sent(
    make_node, value: Any, error: type[Exception], words: list[str]
) -> None:
    a, b = make_node(), make_node()
    heard_here: list[str] = []
    heard_there: queue.Queue[str] = queue.Queue()
    a.on("**", lambda *args: heard_here.append("event"), raw=False)
    b.on("**", lambda *args: heard_there.put(args[0] if args else "?"))
    with pytest.raises(error) as caught:
        a.emit("bad", "first", value)
    message = str(caught.value)
    for word in words:
        # The path counts from the emit's arguments: the bad one is the second.
        assert word.replace("args[0]", "args[1]") in message, message
    a.emit("marker", "second")
    assert heard_there.get(timeout=10) == "second"
    wait_until(lambda: len(heard_here) == 1)
    assert heard_there.empty()
    wait_until(lambda: a.stats()["protocol"]["messages_sent"] == 1)


def test_a_list_that_holds_itself_is_refused(make_node) -> None:
    node = make_node()
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(TypeError, match="nested more than"):
        node.emit("loop", loop)


def test_bytes_regex_patterns_are_refused(make_node) -> None:
    import re

    with pytest.raises(TypeError, match="bytes patterns"):
        make_node().emit("re", re.compile(b"x"))


def test_a_nul_in_a_dict_key_is_a_value_error(make_node) -> None:
    where = r'^args\[1\]\["x"\]\["a\\0b"\]: a dict key cannot hold a NUL'
    with pytest.raises(ValueError, match=where):
        make_node().emit("nul", 1, {"x": {"a\x00b": 1}})


@pytest.mark.parametrize(
    ("options", "error", "word"),
    [
        ({"port": "41234"}, TypeError, "port"),
        ({"port": 70000}, ValueError, "port"),
        ({"port": -1}, ValueError, "port"),
        ({"group": "10.0.0.1"}, ValueError, "group"),
        ({"group": "not an address"}, ValueError, "group"),
        ({"bind": "::", "group": "224.0.0.1"}, ValueError, "bind"),
        ({"ttl": 300}, ValueError, "ttl: must be 0..=255"),
        ({"ttl": -1}, ValueError, "ttl: must be 0..=255"),
        ({"ttl": 1.5}, TypeError, "ttl"),
        ({"loopback": 1}, TypeError, "loopback"),
        ({"message_ttl": -1}, ValueError, "message_ttl"),
        ({"message_ttl": "3"}, TypeError, "message_ttl"),
        ({"busy_poll": 0.002}, ValueError, "busy_poll"),
        ({"repair_timeout": 1e9}, ValueError, "repair_timeout"),
        ({"max_payload_size": 3}, ValueError, "max_payload_size"),
        ({"key": b"short"}, ValueError, "key"),
        ({"key": 42}, TypeError, "key"),
        ({"key": ""}, ValueError, "key"),
        ({"wire_protocol": "v9"}, ValueError, "wire_protocol"),
        ({"listener_queue_size": 0}, ValueError, "listener_queue_size"),
        # A str or bytes is one key, not a list of them: it was split into
        # one-character keys (or bytes into ints).
        ({"key": "k", "decrypt_keys": "xy"}, TypeError, "decrypt_keys: expected a list"),
        (
            {"key": "k", "decrypt_keys": b"0123456789abcdef"},
            TypeError,
            "decrypt_keys: expected a list",
        ),
        ({"key": "k", "decrypt_keys": bytearray(16)}, TypeError, "decrypt_keys: expected a list"),
        # The same for sizes (bytes would be a list of small ints).
        ({"expected_event_sizes": "1M"}, TypeError, "expected_event_sizes: expected a list"),
        ({"expected_event_sizes": b"\x00\x10"}, TypeError, "expected_event_sizes: expected a list"),
        ({"expected_event_sizes": 1 << 20}, TypeError, "expected_event_sizes: expected a list"),
        (
            {"expected_event_sizes": [1.5e6]},
            TypeError,
            r"expected_event_sizes\[0\]: expected an int",
        ),
        (
            {"expected_event_sizes": [1 << 20, "1M"]},
            TypeError,
            r"expected_event_sizes\[1\]: expected an int",
        ),
        (
            {"expected_event_sizes": [True]},
            TypeError,
            r"expected_event_sizes\[0\]: expected an int",
        ),
        (
            {"expected_event_sizes": [-1]},
            ValueError,
            r"^expected_event_sizes\[0\]: must be from 262144 to 67108864 bytes, got -1$",
        ),
        (
            {"expected_event_sizes": [1 << 20, (64 << 20) + 1]},
            ValueError,
            r"^expected_event_sizes\[1\]: must be from 262144 to 67108864 bytes, got 67108865$",
        ),
        (
            {"expected_event_sizes": [1 << 200]},
            ValueError,
            r"^expected_event_sizes\[0\]: must be from 262144 to 67108864 bytes, got 1606",
        ),
        # The library's limits.
        (
            {"expected_event_sizes": [2 << 20], "max_message_size": 1 << 20},
            ValueError,
            r"^expected_event_sizes has 2097152 bytes, more than max_message_size \(1048576\)",
        ),
        (
            {"expected_event_sizes": [1 << 20] * 3},
            ValueError,
            "^expected_event_sizes takes at most 2 sizes, got 3$",
        ),
        ({"no_such_option": 1}, TypeError, "no_such_option"),
    ],
)
def test_bad_options_name_the_option(
    options: dict[str, Any], error: type[Exception], word: str
) -> None:
    with pytest.raises(error, match=word):
        eventcast.Eventcast(**options)


def test_bad_patterns_are_refused_and_add_nothing(make_node) -> None:
    node = make_node()
    for pattern in ["sensor*", "a.**b", "***", "a..*", "**.**", "*."]:
        with pytest.raises(ValueError, match="pattern"):
            node.on(pattern, print)
        with pytest.raises(ValueError):
            node.subscribe(pattern)
    assert node.event_names() == []


def test_a_listener_must_be_callable(make_node) -> None:
    with pytest.raises(TypeError, match="callable"):
        make_node().on("x", "not a function")  # type: ignore[call-overload]


def test_a_timeout_longer_than_the_clock_counts_waits_for_ever(make_node) -> None:
    # 1e19 s fits a Duration but not a deadline: it used to panic.
    a = make_node()
    b = make_node()
    sub = b.subscribe("far")
    a.emit("far", 1)
    assert sub.get(timeout=1e19).args == [1]
    # Too long for a duration, or infinite: for ever too.
    for seconds in (1e20, math.inf):
        a.emit("far", 2)
        assert sub.get(timeout=seconds).args == [2]
    endless = b.subscribe("far", timeout=math.inf)
    a.emit("far", 3, timeout=math.inf)
    assert next(iter(endless)).args == [3]


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda node: node.emit(5, 1), TypeError, ["name", "str", "int"]),
        (lambda node: node.emit_nowait(None), TypeError, ["name", "NoneType"]),
        (lambda node: node.on(None, print), TypeError, ["name", "NoneType"]),
        (lambda node: node.once(b"x", print), TypeError, ["name", "bytes"]),
        (lambda node: node.subscribe("a", 5), TypeError, ["names", "int"]),
        (lambda node: node.listener_count(b"x"), TypeError, ["name", "bytes"]),
        (lambda node: node.emit("x", 1, timeout="1"), TypeError, ["timeout", "str"]),
        (lambda node: node.emit("x", 1, timeout=True), TypeError, ["timeout", "bool"]),
        (lambda node: node.emit("x", 1, timeout=float("nan")), ValueError, ["timeout", "nan"]),
        (lambda node: node.emit("x", 1, timeout=-1), ValueError, ["timeout", "-1"]),
        (lambda node: node.subscribe("a").get("1"), TypeError, ["timeout", "str"]),
        (lambda node: node.subscribe("a").get(-0.5), ValueError, ["timeout", "-0.5"]),
        (lambda node: node.subscribe("a").get(float("nan")), ValueError, ["timeout", "nan"]),
        (lambda node: node.subscribe("a", timeout=-1), ValueError, ["timeout", "-1"]),
        (lambda node: node.subscribe("a", timeout="5"), TypeError, ["timeout", "str"]),
    ],
)
def test_bad_arguments_name_the_argument(
    make_node,
    call: Callable[[eventcast.Eventcast], object],
    error: type[Exception],
    words: list[str],
) -> None:
    node = make_node()
    with pytest.raises(error) as caught:
        call(node)
    message = str(caught.value)
    for word in words:
        assert word in message, message
    assert node.event_names() == []


def test_a_zero_timeout_is_still_fine(make_node) -> None:
    node = make_node()
    sub = node.subscribe("z", timeout=0)
    assert list(sub) == []
    with pytest.raises(TimeoutError):
        sub.get(0)
    node.emit("z", 1, timeout=0.0)
    assert sub.get(timeout=10).args == [1]
