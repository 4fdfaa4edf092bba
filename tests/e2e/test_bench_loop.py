"""A tiny run of `guiagent bench loop`: the table of stages, the fixed-sleep baseline and the
cold time to first action are all printed (the figures themselves are the benchmark's job)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from grounding import ocr


@pytest.mark.skipif(shutil.which("Xvfb") is None or not ocr.available(), reason="needs Xvfb and OCR")
def test_bench_loop_prints_steps_baseline_and_cold_start() -> None:
    env = {**os.environ, "COLUMNS": "200"}
    out = subprocess.run([sys.executable, "-m", "guiagent", "bench", "loop", "--steps", "2", "--baseline-steps", "1",
                          "--sleep", "0.05", "--cold-runs", "1", "--size", "800x600"],
                         capture_output=True, text=True, env=env, timeout=240)
    assert out.returncode == 0, out.stdout + out.stderr
    text = out.stdout
    for stage in ("capture", "a11y", "parse", "act", "settle", "total"):
        assert re.search(rf"{stage}\s.*\d+\.\d", text), stage
    row = re.search(r"800x600\s*│\s*(\d+) ms\s*│\s*(\d+) ms\s*│\s*([\d.]+) \(", text)
    assert row is not None, text
    assert int(row.group(1)) > 0 and int(row.group(2)) >= 50  # the baseline sleeps 50 ms per step
    assert re.search(r"(\d+\.\d\d) s \(median of 1", text), text  # a cold start reached its first click


def test_bench_loop_rejects_a_bad_size() -> None:
    out = subprocess.run([sys.executable, "-m", "guiagent", "bench", "loop", "--size", "big"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert "WIDTHxHEIGHT" in out.stdout + out.stderr
