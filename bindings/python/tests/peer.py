"""A second process for the tests (run by conftest.Peer).

    peer.py echo PORT [KEY]   re-emits every "ping" as "pong", same arguments,
                              until stdin closes
    peer.py block PORT        blocks in a subscription's iterator; prints
                              "interrupted" on KeyboardInterrupt

Prints "ready" once its node has started.
"""

from __future__ import annotations

import signal
import sys
import time

import eventcast


def echo(port: int, key: str | None) -> None:
    with eventcast.Eventcast(port=port, ttl=0, key=key) as node:

        @node.on("ping")
        def ping(*args: object) -> None:
            node.emit("pong", *args)

        print("ready", flush=True)
        sys.stdin.read()  # until the test closes our stdin


def block(port: int) -> None:
    # A process started from a shell's background job inherits SIGINT
    # ignored, and Python then installs no handler for it: the test's
    # SIGINT would go unnoticed. Ask for KeyboardInterrupt explicitly.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with eventcast.Eventcast(port=port, ttl=0) as node:
        events = node.subscribe("never.sent")
        try:
            print("ready", flush=True)
            for _ in events:
                pass
        except KeyboardInterrupt:
            print(f"interrupted at {time.monotonic():.6f}", flush=True)
            return
    print("iteration ended", flush=True)


if __name__ == "__main__":
    mode, port = sys.argv[1], int(sys.argv[2])
    if mode == "echo":
        echo(port, sys.argv[3] if len(sys.argv) > 3 else None)
    elif mode == "block":
        block(port)
    else:
        sys.exit(f"unknown mode {mode!r}")
