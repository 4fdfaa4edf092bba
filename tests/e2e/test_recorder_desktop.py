"""Recording on a real X server (Xvfb) with real X input (xdotool) into real Qt windows, with
the real AT-SPI tree: the recorded actions, texts, targets and frames must match what was
driven. Plus the CLI: hotkey stop, SIGKILL mid-episode, and password redaction."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from waiting import pause, wait_until

from guiagent.recorder import EpisodeWriter, Redactor, read_episode
from guiagent.recorder.a11y_bus import A11yBus
from guiagent.recorder.desktop import DesktopOptions, DesktopRecorder
from guiagent.recorder.episode import INTERRUPTED
from guiagent.recorder.redact import MASK
from guiagent.recorder.xinput import pynput_key
from guiagent.schema import Click, EpisodeMeta, Key, Scroll, TypeText

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("xdotool") is None, reason="xdotool is not installed")

LOGIN_WINDOW = textwrap.dedent("""
    import json, sys
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QFont
    from PySide6.QtWidgets import QApplication, QFormLayout, QLineEdit, QPushButton, QWidget
    app = QApplication(sys.argv[:1])
    w = QWidget(); w.setWindowTitle("recorder login"); w.setFont(QFont("DejaVu Sans", 16))
    user = QLineEdit(); user.setAccessibleName("User")
    pw = QLineEdit(); pw.setAccessibleName("Password"); pw.setEchoMode(QLineEdit.EchoMode.Password)
    ok = QPushButton("Log in"); ok.setAccessibleName("Log in")
    form = QFormLayout(w); form.addRow("User", user); form.addRow("Password", pw); form.addRow(ok)
    w.setGeometry(700, 300, 420, 200); w.show()
    def ready():
        geo = {}
        for name, wid in (("User", user), ("Password", pw), ("Log in", ok)):
            p = wid.mapToGlobal(wid.rect().topLeft())
            geo[name] = [p.x(), p.y(), wid.width(), wid.height()]
        print(json.dumps({"ready": True, "widgets": geo}), file=sys.stderr, flush=True)
    QTimer.singleShot(300, ready)
    sys.exit(app.exec())
""")


def xdo(*args: str) -> None:
    subprocess.run(["xdotool", *args], check=True, timeout=20)


def center(box: list[int]) -> tuple[int, int]:
    x, y, w, h = box
    return x + w // 2, y + h // 2


def click_at(box: list[int]) -> None:
    x, y = center(box)
    xdo("mousemove", str(x), str(y), "click", "1")


def launch(cmd: list[str], env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, cwd=ROOT,
                            env={**os.environ, "QT_ACCESSIBILITY": "1", **(env or {})})
    assert proc.stderr is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        if line.startswith("{") and '"ready"' in line:
            return proc, json.loads(line)
    proc.kill()
    raise AssertionError(f"{cmd} did not come up")


@pytest.fixture(scope="module")
def a11y(xdisplay: Any) -> Iterator[A11yBus | None]:
    if not A11yBus.available():
        yield None
        return
    with A11yBus() as bus:
        yield bus


@pytest.fixture
def form(a11y: Any, tmp_path: Path) -> Iterator[tuple[dict[str, list[int]], Path]]:
    out = tmp_path / "form.json"
    proc, info = launch([sys.executable, "assets/demo_form.py", "--out", str(out), "--geometry", "100,100,520,360"])
    try:
        yield info["widgets"], out
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def desktop(a11y: Any) -> Iterator[Any]:
    from devices.x11.device import open_desktop

    dev = open_desktop("")
    try:
        yield dev
    finally:
        dev.close()


def wait_tree(dev: Any, name: str) -> None:
    wait_until(lambda: any(e.name == name for e in dev.ui_tree()), 60, f"{name!r} in the a11y tree")


def dark_fraction(img: Image.Image, box: list[int]) -> float:
    x, y, w, h = box
    crop = np.asarray(img.convert("L").crop((x + 4, y + 4, x + w - 4, y + h - 4)))
    return float(np.mean(crop < 128))


def test_pynput_key_mapping() -> None:
    class K:  # duck-typed stand-ins for pynput keys: a Key member has .name, a KeyCode .char / .vk
        def __init__(self, **kw: Any) -> None:
            self.__dict__.update(kw)

    assert pynput_key(K(name="shift_r")) == ("shift", None)
    assert pynput_key(K(name="cmd")) == ("meta", None)
    assert pynput_key(K(name="space")) == ("space", " ")
    assert pynput_key(K(name="media_play_pause")) == ("", None)
    assert pynput_key(K(char="A", vk=65)) == ("a", "A")
    assert pynput_key(K(char=None, vk=65056)) == ("tab", None)  # ISO_Left_Tab from shift+tab


def test_record_demo_form(form: tuple[dict[str, list[int]], Path], desktop: Any, tmp_path: Path) -> None:
    widgets, out = form
    if not desktop.ui_tree():
        pytest.skip("no AT-SPI tree on this machine (install at-spi2-core, python3-pyatspi)")
    wait_tree(desktop, "Subscribe")
    folder = tmp_path / "ep"
    writer = EpisodeWriter(folder, EpisodeMeta(id="demo", task="fill the form", source="human"))
    rec = DesktopRecorder(writer, device=desktop, options=DesktopOptions(fps=15, a11y_interval=0.2))
    rec.start()
    try:
        click_at(widgets["Name"])
        # The Tab is typed like a letter, 40 ms after the last one: the focus moves on to the
        # Subscribe checkbox before the typing is recognized (a fresh a11y walk shows it there).
        xdo("type", "--delay", "40", "Ada Lovelace\t")
        click_at(widgets["Subscribe"])
        click_at(widgets["Pro"])
        xdo("mousemove", "400", "420", "click", "5", "click", "5")  # wheel down twice, over the window
        click_at(widgets["Submit"])
        wait_until(out.exists, 60, "the form's output file")
        assert rec.wait_idle(0.8, timeout=60)
    finally:
        stats = rec.stop()
        writer.close("success")
    assert json.loads(out.read_text()) == {"name": "Ada Lovelace", "subscribe": True, "plan": "Pro"}
    traj = read_episode(folder)
    actions = [s.action for s in traj.steps]
    assert [a.type for a in actions] == ["click", "type", "key", "click", "click", "scroll", "click"], actions
    assert actions[1] == TypeText(text="Ada Lovelace") and actions[2] == Key(keys=("tab",))
    scroll = actions[5]
    assert isinstance(scroll, Scroll) and scroll.direction == "down" and scroll.amount == pytest.approx(0.2)
    size = desktop.info.screen_size
    for step, name in zip([traj.steps[i] for i in (0, 3, 4, 6)], ("Name", "Subscribe", "Pro", "Submit"), strict=True):
        assert isinstance(step.action, Click) and step.source == "human"
        px = step.action.target.point.to_pixels(size)
        assert abs(px[0] - center(widgets[name])[0]) <= 1 and abs(px[1] - center(widgets[name])[1]) <= 1
        assert step.target_element is not None and step.target_element.name == name, step.target_element
    assert traj.steps[1].target_element is not None and traj.steps[1].target_element.name == "Name"
    assert traj.steps[1].target_element.role == "text_field"
    # Frames are from just BEFORE each action: the Name field is empty in the typing step's
    # frame and filled in the frame of the Tab that followed.
    before = Image.open(folder / traj.steps[1].frame)
    after = Image.open(folder / traj.steps[2].frame)
    assert dark_fraction(before, widgets["Name"]) < 0.02 < dark_fraction(after, widgets["Name"])
    assert all(0 <= s.timings_ms["frame_age"] < 2000 for s in traj.steps)
    assert stats.dropped_events == 0 and stats.steps == 7


def test_password_is_redacted_end_to_end(a11y: Any, desktop: Any, tmp_path: Path) -> None:
    proc, info = launch([sys.executable, "-c", LOGIN_WINDOW])
    secret = "hunter2-Secret"
    try:
        if not desktop.ui_tree():
            pytest.skip("no AT-SPI tree on this machine")
        wait_tree(desktop, "Password")
        w = info["widgets"]
        folder = tmp_path / "login"
        writer = EpisodeWriter(folder, EpisodeMeta(id="login", task="log in", source="human"),
                               redactor=Redactor.from_specs(["0,0,50,50"]))
        rec = DesktopRecorder(writer, device=desktop, options=DesktopOptions(fps=15, a11y_interval=0.2))
        rec.start()
        try:
            click_at(w["User"])
            xdo("type", "--delay", "30", "ada")
            # Pacing like a person: text typed and left faster than one a11y walk may be
            # over-masked when the next field is a password field (the safe side).
            pause(0.4)
            click_at(w["Password"])
            xdo("type", "--delay", "30", secret)
            xdo("key", "Return")
            click_at(w["User"])  # then into the password field by keyboard, typing at machine speed
            xdo("key", "Tab", "type", "--delay", "10", secret)
            xdo("key", "Return")
            assert rec.wait_idle(0.8, timeout=60)
        finally:
            rec.stop()
            writer.close("success")
    finally:
        proc.terminate()
        proc.wait(10)
    traj = read_episode(folder)
    typed = [s for s in traj.steps if isinstance(s.action, TypeText)]
    assert [s.action.text for s in typed] == ["ada", MASK, MASK]
    for s in typed[1:]:
        assert s.action.submit and s.target_element is not None and s.target_element.password
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert secret.encode() not in data and b"hunter2" not in data, path
    frame = Image.open(folder / typed[1].frame)
    assert frame.getpixel((10, 10)) == (0, 0, 0)  # the configured region is blanked


def _cli(folder: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "guiagent", "record", "--device", "desktop", "--task", "cli test",
         "--out", str(folder), "--fps", "10", *extra],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _wait_recording(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("recording"):
            return
        if not line and proc.poll() is not None:
            raise AssertionError(f"record exited: {proc.stderr.read() if proc.stderr else ''}")
    raise AssertionError("record did not start")


def test_cli_stops_on_hotkey_and_writes_report(a11y: Any, tmp_path: Path) -> None:
    folder = tmp_path / "cli"
    proc = _cli(folder, "--no-ocr")
    try:
        _wait_recording(proc)
        for x in (300, 500, 700):
            xdo("mousemove", str(x), "650", "click", "1")
        xdo("key", "ctrl+alt+q")
        assert proc.wait(60) == 0, proc.stderr.read() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()
    traj = read_episode(folder)
    assert traj.meta.status == "success" and traj.meta.reason == "ended by the stop hotkey"
    assert [s.action.type for s in traj.steps] == ["click", "click", "click"]  # the hotkey is not a step
    assert (folder / "report.html").is_file()


def test_cli_sigkill_mid_recording_keeps_episode(a11y: Any, tmp_path: Path) -> None:
    folder = tmp_path / "killed"
    proc = _cli(folder, "--no-a11y", "--no-ocr")
    try:
        _wait_recording(proc)
        steps = folder / "steps.jsonl"
        for x in range(200, 500, 60):  # five clicks 60 px apart: never a double click
            xdo("mousemove", str(x), "700", "click", "1")
        wait_until(lambda: steps.exists() and steps.read_bytes().count(b"\n") >= 4, 60, "4 steps on disk")
        assert proc.poll() is None
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    traj = read_episode(folder)
    assert traj.meta.status == "stopped" and traj.meta.reason == INTERRUPTED
    assert len(traj.steps) >= 4 and all(isinstance(s.action, Click) for s in traj.steps)
    for s in traj.steps:
        Image.open(folder / s.frame).load()


def test_ocr_lookup_finds_text_under_pointer() -> None:
    from PIL import ImageDraw, ImageFont

    from guiagent.recorder.desktop import make_ocr_lookup

    lookup = make_ocr_lookup()
    if lookup is None:
        pytest.skip("grounding.parse is not importable")
    img = Image.new("RGB", (800, 400), "white")
    font = ImageFont.truetype("DejaVuSans.ttf", 28)
    ImageDraw.Draw(img).text((300, 180), "Subscribe", fill="black", font=font)
    el = lookup(img, (360, 196))
    assert el is not None and el.name == "Subscribe" and el.source == "ocr"
    assert el.bbox[0] <= 360 <= el.bbox[2] and el.bbox[0] > 250  # back in full-frame pixels
    assert lookup(img, (700, 40)) is None  # nothing near


def test_server_clock_orders_both_listeners_on_one_clock() -> None:
    from guiagent.recorder.xinput import ServerClock

    c = ServerClock()
    assert c.map(1000, arrived=50.010) == pytest.approx(50.010)
    assert c.map(1100, arrived=50.105) == pytest.approx(50.105)  # faster delivery: offset shrinks
    assert c.map(1200, arrived=50.300) == pytest.approx(50.205)  # a late arrival keeps its true time
    assert c.map(None, arrived=7.0) == 7.0  # no server stamp: arrival time
    w = ServerClock()
    before = w.map(ServerClock.WRAP - 10, arrived=100.0)
    after = w.map(5, arrived=100.02)
    assert after == pytest.approx(before + 0.015)  # the 32-bit counter wrapped
