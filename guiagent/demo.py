"""The demo: a real form app on a (virtual) display, driven through the real screen and input
by the embedded default (rule planner + text grounder, no model)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devices.x11.xvfb import VirtualDisplay
from guiagent.events import RunResult, Subscriber
from guiagent.runner import RunOptions, run_task
from guiagent.schema import Step, assets
from guiagent.schema.errors import DeviceError

DEMO_TASK = "Type 'Ada Lovelace' into Name, tick Subscribe, then click Submit"
EXPECTED = {"name": "Ada Lovelace", "subscribe": True}
FORM_TITLE = "guiagent demo form"


@dataclass
class DemoReport:
    result: RunResult
    submitted: dict[str, Any] | None
    steps: list[Step] = field(default_factory=list)

    @property
    def received(self) -> bool:
        s = self.submitted or {}
        return all(s.get(k) == v for k, v in EXPECTED.items())


@contextmanager
def demo_form(out_file: Path, geometry: str = "80,60,560,420") -> Iterator[subprocess.Popen[bytes]]:
    """Start the demo form app and wait until its window is mapped."""
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "QT_ACCESSIBILITY": "1"}
    with assets.demo_form_path() as form:
        proc = subprocess.Popen([sys.executable, str(form), "--out", str(out_file), "--geometry", geometry],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_for_window(FORM_TITLE, proc)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()


def wait_for_window(title: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise DeviceError(f"the demo app exited early ({proc.returncode}): {err[-800:]}")
        found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", title], capture_output=True)
        if found.returncode == 0 and found.stdout.strip():
            time.sleep(0.3)  # first paint after map; the loop's settle handles everything later
            return
        time.sleep(0.05)
    raise DeviceError(f"no window titled {title!r} appeared within {timeout:g} s")


def run_demo(task: str = DEMO_TASK, out: Path | None = None, subscribers: list[Subscriber] | None = None,
             max_steps: int = 12) -> DemoReport:
    """Run the demo task on the form app; starts a virtual display when there is none."""
    display = VirtualDisplay.ensure(1280, 800)
    try:
        with tempfile.TemporaryDirectory(prefix="guiagent-demo-") as tmp:
            submitted_file = Path(tmp) / "submitted.json"
            with demo_form(submitted_file):
                options = RunOptions(device="desktop", planner="rule", grounder="text", max_steps=max_steps,
                                     max_seconds=120, out=out)
                result = run_task(task, options, subscribers=subscribers or [])
                submitted = _read_submission(submitted_file)
            return DemoReport(result, submitted)
    finally:
        if display is not None:
            display.stop()


def _read_submission(path: Path, timeout: float = 3.0) -> dict[str, Any] | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size:
            try:
                return json.loads(path.read_text())
            except json.JSONDecodeError:
                pass  # being written
        time.sleep(0.05)
    return None
