"""End to end under a real X server (Xvfb, Qt's xcb platform): `guiagent app --device sim
--task "Open Settings and turn on Wi-Fi" --autorun --quit-when-done` runs in a subprocess (one
process cannot switch Qt platforms), shows a real window, drives the virtual phone through
the real adb server, and exits 0. Its summary shows the plan, the timeline and the final
status; its window screenshot is kept as tests/artifacts/app_main_window.png."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

pytest.importorskip("PySide6")
pytest.importorskip("adbutils")

ROOT = Path(__file__).resolve().parents[1]
TASK = "Open Settings and turn on Wi-Fi"


def _visible_window_pid(title: str) -> int | None:
    found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", title], capture_output=True, text=True)
    for wid in found.stdout.split():
        pid = subprocess.run(["xdotool", "getwindowpid", wid], capture_output=True, text=True).stdout.strip()
        if pid.isdigit():
            return int(pid)
    return None


@pytest.mark.skipif(shutil.which("xdotool") is None, reason="xdotool not installed")
def test_app_autorun_on_the_virtual_phone_under_xvfb(xdisplay: Any, tmp_path: Path, artifacts_dir: Path) -> None:
    summary_file, shot = tmp_path / "summary.json", tmp_path / "window.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "DISPLAY": xdisplay.name}
    cmd = [sys.executable, "-m", "guiagent", "app", "--device", "sim", "--task", TASK, "--autorun",
           "--quit-when-done", "--summary", str(summary_file), "--screenshot", str(shot),
           "--settings", str(tmp_path / "app.ini"), "--runs-dir", str(tmp_path / "runs")]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    window_pid = None
    try:
        deadline = time.monotonic() + 120
        while window_pid is None and proc.poll() is None and time.monotonic() < deadline:
            window_pid = _visible_window_pid("guiagent")
            time.sleep(0.2)
        output, _ = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, output[-3000:]
    assert window_pid == proc.pid  # a real, visible X window of the app itself

    summary = json.loads(summary_file.read_text())
    assert summary["ok"] is True and summary["status"] == "success", summary
    assert summary["window"]["platform"] == "xcb" and summary["window"]["visible"] is True
    assert summary["plan"] == {"done": ["open Settings", "turn on Wi-Fi"], "current": None, "todo": [],
                               "keeps_plan": True}
    timeline = summary["timeline"]
    assert [r["type"] for r in timeline] == ["open_app", "click", "done"]
    assert [r["action"] for r in timeline[:2]] == ["open app 'Settings'", "click 'Wi-Fi'"]
    assert all(r["status"] == "ok" and r["timings_ms"].get("total", 0) > 0 for r in timeline)
    assert summary["errors"] == []
    assert summary["folder"] and (Path(summary["folder"]) / "steps.jsonl").is_file()

    img = Image.open(shot).convert("RGB")
    w, h = img.size
    assert w >= 1000 and h >= 700, img.size
    from app.style import DARK

    # the themed top bar, and the phone's screen (not the empty canvas) in the live view
    assert img.getpixel((w // 2, 4)) == Image.new("RGB", (1, 1), DARK.surface).getpixel((0, 0))
    live = img.crop((w // 3, h // 4, 2 * w // 3, 3 * h // 4))
    assert max(live.getcolors(1 << 20) or [], default=(0, 0))[0] < live.width * live.height  # not one flat colour
    assert any(sum(px) > 700 for px in live.getdata())  # the phone's white settings screen is shown
    img.save(artifacts_dir / "app_main_window.png")


@pytest.mark.skipif(shutil.which("xdotool") is None, reason="xdotool not installed")
def test_app_on_the_desktop_keeps_out_of_the_agents_way(xdisplay: Any, tmp_path: Path) -> None:
    """On the desktop device the app hides its window behind a small always-on-top Stop bar
    while the agent fills the real demo form app, then comes back."""
    from guiagent.demo import DEMO_TASK, EXPECTED, demo_form

    submitted, summary_file = tmp_path / "submitted.json", tmp_path / "summary.json"
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "DISPLAY": xdisplay.name}
    cmd = [sys.executable, "-m", "guiagent", "app", "--device", "desktop", "--task", DEMO_TASK, "--autorun",
           "--quit-when-done", "--summary", str(summary_file), "--settings", str(tmp_path / "app.ini"),
           "--runs-dir", str(tmp_path / "runs"), "--max-steps", "12"]
    with demo_form(submitted):
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        seen_bar = seen_main_during_bar = False
        try:
            deadline = time.monotonic() + 180
            while proc.poll() is None and time.monotonic() < deadline:
                bar = _visible_window_pid("guiagent — running") == proc.pid
                if bar:
                    seen_bar = True
                    seen_main_during_bar |= _visible_window_pid("watch, steer and replay") == proc.pid
                time.sleep(0.2)
            output, _ = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        deadline = time.monotonic() + 5
        while not (submitted.exists() and submitted.stat().st_size) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert proc.returncode == 0, output[-3000:]
    got = json.loads(submitted.read_text())
    assert {k: got.get(k) for k in EXPECTED} == EXPECTED  # the real form app received the input
    assert seen_bar and not seen_main_during_bar
    summary = json.loads(summary_file.read_text())
    assert summary["status"] == "success" and summary["window"]["visible"] is True  # back after the run
    assert [r["type"] for r in summary["timeline"]][-1] == "done"
