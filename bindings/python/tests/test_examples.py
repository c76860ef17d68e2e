"""The examples in examples/python work: the sensor's readings end up in
the logger's CSV file."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

from conftest import REPO

EXAMPLES = REPO / "examples" / "python"


def test_the_logger_writes_what_the_sensor_publishes(tmp_path: Path, port: int) -> None:
    out = tmp_path / "readings.csv"
    logger = subprocess.Popen(
        [
            sys.executable,
            str(EXAMPLES / "logger.py"),
            "--port",
            str(port),
            "--count",
            "3",
            str(out),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert logger.stderr is not None
    assert logger.stderr.readline().startswith("logging sensor.*")
    subprocess.run(
        [
            sys.executable,
            str(EXAMPLES / "sensor.py"),
            "--port",
            str(port),
            "--name",
            "hall",
            "--count",
            "3",
            "--interval",
            "0.1",
        ],
        check=True,
        timeout=60,
        capture_output=True,
    )
    assert logger.wait(timeout=30) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 3
    assert {row["sensor"] for row in rows} == {"hall"}
    assert all(15 < float(row["celsius"]) < 25 for row in rows)
    assert all(row["at"].endswith("+00:00") for row in rows)
