"""Encrypted groups: the right key hears, a wrong or missing one does not."""

from __future__ import annotations

import os
import queue
import time

from conftest import wait_until


def test_nodes_with_the_same_key_exchange_events(make_node) -> None:
    a = make_node(key="correct horse battery staple")
    b = make_node(key="correct horse battery staple")
    got: queue.Queue[tuple[object, ...]] = queue.Queue()
    b.on("secret", lambda *args: got.put(args))
    a.emit("secret", "hush", {"n": 1}, os.urandom(5000))
    text, doc, blob = got.get(timeout=10)
    assert (text, doc, len(blob)) == ("hush", {"n": 1}, 5000)
    # Counters are published by the node's task on its next turn.
    wait_until(lambda: a.stats()["protocol"]["datagrams_sealed"] > 0)
    wait_until(lambda: b.stats()["protocol"]["datagrams_opened"] > 0)


def test_a_raw_key_in_bytes_and_its_text_form_agree(make_node) -> None:
    raw = bytes(range(16))
    a = make_node(key=raw)
    b = make_node(key="raw:" + raw.hex())
    got: queue.Queue[str] = queue.Queue()
    b.on("k", got.put)
    a.emit("k", "same key")
    assert got.get(timeout=10) == "same key"


def test_a_wrong_key_or_none_hears_nothing_and_counts_it(make_node) -> None:
    sender = make_node(key="right")
    wrong = make_node(key="wrong")
    plain = make_node()
    heard: list[object] = []
    wrong.on("secret", heard.append)
    plain.on("secret", heard.append)
    sender.emit("secret", "not for you")
    wait_until(
        lambda: (
            wrong.stats()["protocol"]["dropped"]["no_key"]
            + wrong.stats()["protocol"]["dropped"]["bad_tag"]
            > 0
        )
    )
    wait_until(lambda: sum(plain.stats()["protocol"]["dropped"].values()) > 0)
    time.sleep(0.2)
    assert heard == []
