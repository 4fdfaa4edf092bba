"""`guiagent run` and the demo, end to end on a real X display with real input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from waiting import wait_until

from guiagent.demo import DEMO_TASK, demo_form, run_demo

pytestmark = pytest.mark.usefixtures("xdisplay")


def test_demo_task_reaches_the_app(tmp_path: Path) -> None:
    report = run_demo(DEMO_TASK, out=tmp_path / "ep")
    assert report.result.status == "success", report.result.reason
    assert report.submitted == {"name": "Ada Lovelace", "subscribe": True, "plan": "Free"}
    meta = json.loads((tmp_path / "ep" / "meta.json").read_text())
    assert meta["task"] == DEMO_TASK and meta["status"] == "success" and meta["steps"] == 4
    lines = (tmp_path / "ep" / "steps.jsonl").read_text().splitlines()
    steps = [json.loads(line) for line in lines]
    assert [s["action"]["type"] for s in steps] == ["type", "click", "click", "done"]
    for s in steps[:3]:
        assert {"capture", "parse", "decide", "ground", "act", "settle", "total"} <= set(s["timings_ms"])
        assert (tmp_path / "ep" / s["frame"]).exists()
    html = (tmp_path / "ep" / "report.html").read_text()
    assert "Ada Lovelace" in html and html.count("<image href=\"frames/") >= 3


def test_cli_run_writes_the_episode_and_exit_codes(tmp_path: Path) -> None:
    env = {**os.environ}
    with demo_form(tmp_path / "submitted.json"):
        p = subprocess.run([sys.executable, "-m", "guiagent", "run", "type 'Grace' into Name and click Submit",
                            "--out", str(tmp_path / "run"), "--no-input"],
                           capture_output=True, text=True, timeout=180, env=env)
        assert p.returncode == 0, p.stdout + p.stderr
        assert "step  1" in p.stdout and "success" in p.stdout
        assert json.loads((tmp_path / "submitted.json").read_text())["name"] == "Grace"
    meta = json.loads((tmp_path / "run" / "meta.json").read_text())
    assert meta["status"] == "success" and meta["steps"] >= 3
    # an instruction the rule planner cannot read: a plain refusal, exit status 1, no guessing
    p = subprocess.run([sys.executable, "-m", "guiagent", "run", "make it look nicer", "--no-input",
                        "--max-steps", "3"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 1 and "make it look nicer" in p.stdout and "failed" in p.stdout


def test_sigterm_stops_the_loop_before_its_next_action(tmp_path: Path) -> None:
    task = ", then ".join(["wait 1 second"] * 30)
    proc = subprocess.Popen([sys.executable, "-m", "guiagent", "run", task, "--no-input", "--no-ocr",
                             "--out", str(tmp_path / "ep")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    steps = tmp_path / "ep" / "steps.jsonl"

    def a_step_recorded() -> bool:
        assert proc.poll() is None, "the run ended before recording a step"
        return steps.exists() and bool(steps.read_text())

    wait_until(a_step_recorded, timeout=90, what="the first recorded step")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, out + err
    assert "stopped" in out and "SIGTERM" in out
    meta = json.loads((tmp_path / "ep" / "meta.json").read_text())
    assert meta["status"] == "stopped" and meta["steps"] < 30
