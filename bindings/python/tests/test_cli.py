"""Interop with the eventcast command line, both ways."""

from __future__ import annotations

import base64
import json
import queue
import re
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import eventcast


def start_listen(cli: Path, port: int, *args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [str(cli), "listen", "--port", str(port), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith("listening"):
            return proc
    raise AssertionError(f"listen did not start: {proc.wait()}")


def test_python_to_cli(make_node, cli: Path, port: int) -> None:
    listen = start_listen(cli, port, "greet", "--count", "2", "--timeout", "30")
    node = make_node()
    when = datetime(2013, 10, 28, 22, 40, tzinfo=timezone.utc)
    node.emit("greet", "world", 42, 2**40, 1.5, True, None, {"a": [1, "b"]})
    node.emit("greet", when, b"\x00\xffbin", re.compile("^a.c$", re.I | re.M))
    out, err = listen.communicate(timeout=30)
    assert listen.returncode == 0, err
    first, second = (json.loads(line) for line in out.splitlines())
    assert first["event"] == "greet"
    assert first["sender"] == node.id
    assert first["args"] == ["world", 42, 2**40, 1.5, True, None, {"a": [1, "b"]}]
    assert second["args"][0] == {"$date": "2013-10-28T22:40:00Z"}
    binary = second["args"][1]["$binary"]
    assert base64.b64decode(binary["base64"]) == b"\x00\xffbin"
    assert binary["subType"] == "00"
    assert second["args"][2] == {"$regularExpression": {"pattern": "^a.c$", "options": "im"}}


def test_cli_to_python(make_node, cli: Path, port: int) -> None:
    node = make_node()
    sub = node.subscribe("greet", "sensor.*")
    subprocess.run(
        [
            str(cli),
            "emit",
            "--port",
            str(port),
            "greet",
            "world",
            "42",
            '{"$date": "2013-10-28T22:40:00Z"}',
            '{"a": [1, 2.5, null]}',
            '{"$oid": "5f1d7e6b2f8c3a0012345678"}',
        ],
        check=True,
        timeout=30,
        capture_output=True,
    )
    event = sub.get(timeout=15)
    assert event.name == "greet"
    assert event.source is not None
    assert event.args[:4] == [
        "world",
        42,
        datetime(2013, 10, 28, 22, 40, tzinfo=timezone.utc),
        {"a": [1, 2.5, None]},
    ]
    # No Python counterpart: the Extended JSON form, as `listen` prints it.
    assert event.args[4] == {"$oid": "5f1d7e6b2f8c3a0012345678"}


def test_cli_stdin_to_python_in_order(make_node, cli: Path, port: int) -> None:
    node = make_node()
    got: queue.Queue[tuple[str, int]] = queue.Queue()
    node.on("sensor.*", lambda ev: got.put((ev.name, ev.args[0])), raw=True)
    lines = "".join(
        json.dumps({"event": f"sensor.{i % 3}", "args": [i]}) + "\n" for i in range(500)
    )
    subprocess.run(
        [str(cli), "emit", "--port", str(port), "--stdin"],
        input=lines,
        text=True,
        check=True,
        timeout=60,
        capture_output=True,
    )
    received = [got.get(timeout=15) for _ in range(500)]
    assert received == [(f"sensor.{i % 3}", i) for i in range(500)]


def test_encrypted_both_ways_with_the_cli(cli: Path, port: int) -> None:
    with eventcast.Eventcast(port=port, ttl=0, key="correct horse") as node:
        listen = start_listen(
            cli, port, "secret", "--count", "1", "--timeout", "30", "--key", "correct horse"
        )
        node.emit("secret", "from python")
        out, err = listen.communicate(timeout=30)
        assert listen.returncode == 0, err
        assert json.loads(out)["args"] == ["from python"]

        sub = node.subscribe("secret")
        subprocess.run(
            [str(cli), "emit", "--port", str(port), "--key", "correct horse", "secret", "from cli"],
            check=True,
            timeout=30,
            capture_output=True,
        )
        assert sub.get(timeout=15).args == ["from cli"]
