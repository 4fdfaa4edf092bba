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
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from waiting import wait_until
from xwatch import MapLog

pytest.importorskip("PySide6")
pytest.importorskip("adbutils")

ROOT = Path(__file__).resolve().parents[2]
TASK = "Open Settings and turn on Wi-Fi"


# X titles carry Qt's " — guiagent" (the application display name) at the end
MAIN, BAR = "guiagent — watch, steer and replay the agent", "guiagent — running"


def which(title: str) -> str | None:
    return next((name for name in (MAIN, BAR) if title.startswith(name)), None)


def run_app(cmd: list[str], env: dict[str, str], xlog: MapLog, log: Path) -> tuple[int, str]:
    """Run the app to its exit, taking in window events meanwhile; its exit code and output
    (kept in a file: a pipe nobody reads while the app runs could fill up and block it)."""
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
        xlog.pid = proc.pid

        def exited() -> bool:
            xlog.drain()
            return proc.poll() is not None

        try:
            wait_until(exited, timeout=300, what="the app to finish its run and exit")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    xlog.drain()
    return proc.returncode, log.read_text()


def test_app_autorun_on_the_virtual_phone_under_xvfb(xdisplay: Any, tmp_path: Path, artifacts_dir: Path) -> None:
    summary_file, shot = tmp_path / "summary.json", tmp_path / "window.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "DISPLAY": xdisplay.name}
    cmd = [sys.executable, "-m", "guiagent", "app", "--device", "sim", "--task", TASK, "--autorun",
           "--quit-when-done", "--summary", str(summary_file), "--screenshot", str(shot),
           "--settings", str(tmp_path / "app.ini"), "--runs-dir", str(tmp_path / "runs")]
    with MapLog(xdisplay.name) as xlog:
        code, output = run_app(cmd, env, xlog, tmp_path / "app.log")
        history = [(mapped, which(title)) for mapped, title in xlog.history()]
    assert code == 0, output[-3000:]
    assert (True, MAIN) in history, history  # a real X window of the app itself was mapped

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


@pytest.mark.skipif(shutil.which("xdotool") is None, reason="xdotool not installed")  # demo_form uses it
def test_app_on_the_desktop_keeps_out_of_the_agents_way(xdisplay: Any, tmp_path: Path) -> None:
    """On the desktop device the app hides its window behind a small always-on-top Stop bar
    while the agent fills the real demo form app, then comes back."""
    from guiagent.demo import DEMO_TASK, EXPECTED, demo_form

    submitted, summary_file = tmp_path / "submitted.json", tmp_path / "summary.json"
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "DISPLAY": xdisplay.name}
    cmd = [sys.executable, "-m", "guiagent", "app", "--device", "desktop", "--task", DEMO_TASK, "--autorun",
           "--quit-when-done", "--summary", str(summary_file), "--settings", str(tmp_path / "app.ini"),
           "--runs-dir", str(tmp_path / "runs"), "--max-steps", "12"]
    with demo_form(submitted), MapLog(xdisplay.name) as xlog:
        code, output = run_app(cmd, env, xlog, tmp_path / "app.log")
        history = [(mapped, name) for mapped, title in xlog.history() if (name := which(title))]
        assert code == 0, output[-3000:]
        # Submit was clicked during the run; the file lands once the form has handled the click
        wait_until(submitted.exists, timeout=30, what="the form to write what it received")
    got = json.loads(submitted.read_text())
    assert {k: got.get(k) for k in EXPECTED} == EXPECTED  # the real form app received the input
    # every map and unmap of the app's two windows, in the X server's order: the main window
    # leaves before the Stop bar comes, and comes back after the bar has gone
    on_screen: set[str] = set()
    bar_shown = False
    for mapped, title in history:
        (on_screen.add if mapped else on_screen.discard)(title)
        assert on_screen != {MAIN, BAR}, f"main window and Stop bar on screen together: {history}"
        bar_shown |= title == BAR
    assert bar_shown, history
    assert (True, MAIN) in history[[t for _, t in history].index(BAR):], history  # back after
    summary = json.loads(summary_file.read_text())
    assert summary["status"] == "success" and summary["window"]["visible"] is True  # back after the run
    assert [r["type"] for r in summary["timeline"]][-1] == "done"
