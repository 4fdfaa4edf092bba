"""`guiagent bench daemon` at a tiny size, as a subprocess: the throughput rows of every engine (a
task counts only when its note is on a phone), the queue's cost per task, claim contention, and
(slow) the single-host fault run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("adbutils")
pytestmark = pytest.mark.timeout(400)


def _bench(tmp_path: Path, *args: str) -> str:
    r = subprocess.run([sys.executable, "-m", "guiagent", "bench", "daemon", "--workdir", str(tmp_path), *args],
                       capture_output=True, text=True, timeout=380, env={**os.environ, "ADB_LIBUSB": "0", "COLUMNS": "240"})
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r.stdout


def _row(out: str, *cells: str) -> list[str]:
    """The cells of the first table row starting with `cells`."""
    for line in out.splitlines():
        parts = [c.strip() for c in line.strip("│ ").split("│")]
        if parts[:len(cells)] == list(cells):
            return parts
    raise AssertionError(f"no row {cells} in:\n{out}")


def test_bench_daemon_postgres_two_hosts_against_sqlite(tmp_path: Path, pg_cluster: Any) -> None:
    out = _bench(tmp_path, "--engine", "postgres", "--db", pg_cluster.url(), "--hosts", "2", "--phones", "2",
                 "--tasks", "2", "--scale", "none", "--fault-tasks", "0", "--queue-tasks", "20")
    assert "ratios show overhead, not scaling" in " ".join(out.split())  # one machine: no scaling claim
    for engine, hosts in (("sqlite", "1"), ("postgres", "1"), ("postgres", "2")):
        row = _row(out, engine, hosts, "2", "2")
        assert row[9] == "2/2", row  # both tasks' notes found on the phones
        assert row[10] == "succeeded 2", row
    assert _row(out, "sqlite", "1", "2", "2")[6] == "1.00"
    assert re.fullmatch(r"\d+\.\d\d", _row(out, "postgres", "2", "2", "2")[6])
    cost = _row(out, "postgres", "20")
    assert re.fullmatch(r"\d+\.\d", cost[4]) and cost[7].startswith(("met", "missed"))
    contention = _row(out, "postgres", "2", "2", "20")
    assert contention[8:11] == ["0", "0", "0"], contention  # none claimed twice, none left, no error
    assert "Claim latency under contention" in out


@pytest.mark.slow
def test_bench_daemon_sqlite_fault_run(tmp_path: Path) -> None:
    out = _bench(tmp_path, "--phones", "2", "--tasks", "2", "--scale", "none", "--fault-tasks", "8",
                 "--queue-tasks", "10")
    fault = out[out.index("Fault run"):]
    assert re.search(r"tasks lost \(not in a terminal state\)\s*│\s*0\s", fault), fault
    assert re.search(r"tasks with overlapping attempts\s*│\s*0\s", fault), fault
    assert re.search(r"ran twice\)", fault) and "0 ran twice" in fault, fault
    assert "interrupted" in fault and "device_lost" in fault  # both faults happened
