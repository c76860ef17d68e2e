"""A logger that writes every ``sensor.*`` reading it hears to a CSV file:
time, sensor, sender, and the reading's fields.

    python examples/python/logger.py --port 41234 readings.csv

Stops on Ctrl-C, or after ``--count`` readings.
"""

from __future__ import annotations

import argparse
import csv
import sys

import eventcast

FIELDS = ["at", "sensor", "sender", "celsius", "humidity"]


def main() -> None:
    parser = argparse.ArgumentParser(description="Logs sensor readings to CSV.")
    parser.add_argument("csv", help="the file to append to ('-': standard output)")
    parser.add_argument("--port", type=int, default=41234)
    parser.add_argument("--count", type=int, default=0, help="readings to log (0: until Ctrl-C)")
    parser.add_argument("--key", default=None, help="group key (passphrase)")
    args = parser.parse_args()

    out = sys.stdout if args.csv == "-" else open(args.csv, "a", newline="")  # noqa: SIM115
    writer = csv.DictWriter(out, fieldnames=FIELDS, extrasaction="ignore")
    if out is sys.stdout or out.tell() == 0:
        writer.writeheader()
    logged = 0
    with eventcast.Eventcast(port=args.port, key=args.key) as node:
        print(f"logging sensor.* on port {node.port} to {args.csv}", file=sys.stderr, flush=True)
        try:
            for event in node.subscribe("sensor.*"):
                reading = event.args[0] if event.args and isinstance(event.args[0], dict) else {}
                at = reading.get("at")
                writer.writerow(
                    {
                        **reading,
                        "at": at.isoformat() if hasattr(at, "isoformat") else at,
                        "sensor": event.name.split(".", 1)[1],
                        "sender": event.sender,
                    }
                )
                out.flush()
                logged += 1
                if args.count and logged >= args.count:
                    break
        except KeyboardInterrupt:
            pass
    print(f"logged {logged} readings", file=sys.stderr)
    if out is not sys.stdout:
        out.close()


if __name__ == "__main__":
    main()
