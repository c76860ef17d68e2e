"""How fast events from another process reach a Python callback.

Starts a node with one listener that checks order, then pipes N small
events into ``eventcast emit --stdin`` (another process) and prints the
rate at which the callback got them, from the first to the last. Run it
inside a private network namespace, after ``pip install ./bindings/python``
and a release build of the CLI (``cargo build --release -p eventcast-cli``):

    scripts/netns bindings/python/.venv/bin/python bindings/python/bench/callback_rate.py

Options: ``--count N`` (default 100000), ``--cli PATH`` (default
target/release/eventcast, else target/debug/eventcast), ``--port P``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import eventcast

REPO = Path(__file__).resolve().parents[3]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--port", type=int, default=47011)
    parser.add_argument("--cli", type=Path, default=None)
    args = parser.parse_args()
    cli = args.cli
    if cli is None:
        target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
        release = target / "release" / "eventcast"
        cli = release if release.exists() else target / "debug" / "eventcast"

    count = args.count
    done = threading.Event()
    state = {"next": 0, "first": 0.0, "last": 0.0, "out_of_order": 0}

    with eventcast.Eventcast(port=args.port, ttl=0) as node:

        @node.on("bench")
        def on_event(i: int, _payload: str) -> None:
            if state["next"] == 0:
                state["first"] = time.perf_counter()
            if i != state["next"]:
                state["out_of_order"] += 1
            state["next"] = i + 1
            if i == count - 1:
                state["last"] = time.perf_counter()
                done.set()

        lines = "".join(
            json.dumps({"event": "bench", "args": [i, "sixteen bytes..."]}) + "\n"
            for i in range(count)
        )
        emitter = subprocess.Popen(
            # A loaded machine may NACK late: the sender stays to repair for 2 s
            # of quiet, not the default 300 ms.
            [str(cli), "emit", "--port", str(args.port), "--stdin", "--quiet", "2000"],
            stdin=subprocess.PIPE,
            text=True,
        )
        assert emitter.stdin is not None
        emitter.stdin.write(lines)
        emitter.stdin.close()
        finished = done.wait(120)
        emitter.wait(60)
        stats = node.stats()

    received = state["next"]
    if not finished:
        protocol = stats["protocol"]
        print(
            f"only {received} of {count} events reached the callback within 120 s "
            f"(node: {protocol['messages_received']} received, {protocol['messages_lost']} "
            f"lost, {stats['kernel_drops']} kernel drops; listener queue drops: "
            f"{stats['listener_dropped']}; emitter exit status {emitter.returncode})",
            file=sys.stderr,
        )
        return 1
    elapsed = state["last"] - state["first"]
    rate = (count - 1) / elapsed if elapsed > 0 else float("inf")
    print(
        f"{count} events from another process (eventcast emit --stdin) into a Python "
        f"callback: {rate:,.0f} events/s ({elapsed:.3f} s first to last), "
        f"out of order: {state['out_of_order']}, lost: {stats['protocol']['messages_lost']}, "
        f"listener queue drops: {stats['listener_dropped']}; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    return 0 if state["out_of_order"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
