"""A sensor that publishes readings: ``sensor.<name>`` events with a
reading dict, every ``--interval`` seconds.

    scripts/netns sh -c 'python examples/python/logger.py --port 41234 readings.csv &
                         python examples/python/sensor.py --port 41234 --count 5'

(``pip install ./bindings/python`` first; ``scripts/netns`` keeps the
traffic in a private network namespace. On a real network, drop it.)
"""

from __future__ import annotations

import argparse
import math
import random
import time
from datetime import datetime, timezone

import eventcast


def main() -> None:
    parser = argparse.ArgumentParser(description="Publishes sensor readings.")
    parser.add_argument("--port", type=int, default=41234)
    parser.add_argument("--name", default="kitchen", help="the sensor's name")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between readings")
    parser.add_argument("--count", type=int, default=0, help="readings to send (0: forever)")
    parser.add_argument("--key", default=None, help="group key (passphrase)")
    args = parser.parse_args()

    with eventcast.Eventcast(port=args.port, key=args.key) as node:
        print(f"sensor {args.name} ({node.id}) publishing sensor.{args.name} on port {node.port}")
        sent = 0
        try:
            while args.count == 0 or sent < args.count:
                celsius = 20 + 3 * math.sin(time.time() / 60) + random.uniform(-0.2, 0.2)
                reading = {
                    "at": datetime.now(timezone.utc),
                    "celsius": round(celsius, 2),
                    "humidity": random.randint(35, 55),
                }
                node.emit(f"sensor.{args.name}", reading)
                sent += 1
                time.sleep(args.interval)
        except KeyboardInterrupt:
            pass
        print(f"sent {sent} readings")


if __name__ == "__main__":
    main()
