"""Recording on the virtual phone through the real adb server: its `getevent -lt` stream
(touches reported like a finger's) becomes taps, long presses and swipes on the right
elements; text goes through the recorder's prompt path; a password never reaches disk."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from waiting import wait_until

from guiagent.recorder import EpisodeWriter, Redactor, read_episode
from guiagent.recorder.redact import MASK
from guiagent.schema import Click, EpisodeMeta, LongPress, Swipe, TypeText


@pytest.fixture
def phone() -> Iterator[Any]:
    try:
        from devices.simphone.launch import open_sim_phone
    except ImportError as exc:
        pytest.skip(f"the virtual phone is not available: {exc}")
    device = open_sim_phone("form")
    try:
        yield device
    finally:
        device.close()


def is_(e: Any, key: str) -> bool:
    """The element named `key`, or with resource id ".../key"."""
    return e.name == key or str(e.extras.get("resource_id", "")).endswith("/" + key)


def element(device: Any, name: str, timeout: float = 30.0) -> Any:
    return wait_until(lambda: next((e for e in device.ui_tree() if is_(e, name)), None), timeout=timeout,
                      what=f"an element {name!r} on the phone's screen")


def test_record_virtual_phone(phone: Any, tmp_path: Path) -> None:
    from guiagent.recorder.android import AndroidRecorder

    sim = phone.sim_phone
    secret = "s3cret-Pass"
    folder = tmp_path / "ep"
    writer = EpisodeWriter(folder, EpisodeMeta(id="sim", task="sign up", source="human", platform="android"),
                           redactor=Redactor())
    rec = AndroidRecorder(writer, phone, screenshot_interval=0.2, a11y_interval=0.3)
    rec.start()
    driven: list[tuple[str, str | None]] = []
    try:
        def tap(name: str) -> None:
            e = element(phone, name)
            sim.tap(*e.center)
            driven.append(("click", name))
            wait_steps(rec, len(driven))

        tap("Sign up")
        element(phone, "Create account")
        tap("name")  # the Name field (resource id .../name)
        rec.perform(TypeText(text="Ada"))
        driven.append(("type", None))
        tap("password")
        rec.perform(TypeText(text=secret))
        driven.append(("type", None))
        sim.swipe(360, 1120, 360, 980, 0.3)
        driven.append(("swipe", None))
        wait_steps(rec, len(driven))
        phone.shell("input swipe 600 1050 600 1050 800")  # a finger held still for 0.8 s
        driven.append(("long_press", None))
        wait_steps(rec, len(driven))
        tap("subscribe")
        tap("submit")
        assert rec.wait_idle(0.5)
    finally:
        stats = rec.stop()
        writer.close("success")
    assert rec.error is None
    state = sim.state
    assert (state["name"], state["password"], state["subscribe"], state["submitted"]) == ("Ada", secret, True, True)
    traj = read_episode(folder)
    assert [s.action.type for s in traj.steps] == [t for t, _ in driven]
    clicks = [(s, name) for s, (t, name) in zip(traj.steps, driven, strict=True) if t == "click"]
    for step, name in clicks:
        assert isinstance(step.action, Click) and step.target_element is not None
        assert is_(step.target_element, name), step.target_element
        px = step.action.target.point.to_pixels(phone.info.screen_size)
        cx, cy = step.target_element.center
        assert abs(px[0] - cx) <= 2 and abs(px[1] - cy) <= 2
    typed = [s for s in traj.steps if isinstance(s.action, TypeText)]
    assert [s.action.text for s in typed] == ["Ada", MASK]
    assert typed[1].target_element is not None and typed[1].target_element.password
    swipe = next(s.action for s in traj.steps if isinstance(s.action, Swipe))
    assert swipe.start.point is not None and swipe.end.point is not None
    assert swipe.start.point.y == pytest.approx(1120 / 1280, abs=0.01)
    assert swipe.end.point.y == pytest.approx(980 / 1280, abs=0.01)
    press = next(s.action for s in traj.steps if isinstance(s.action, LongPress))
    assert press.duration >= 0.5
    assert all(s.frame for s in traj.steps) and stats.steps_without_frame == 0
    Image.open(folder / traj.steps[0].frame).load()
    for path in folder.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def wait_steps(rec: Any, n: int, timeout: float = 30.0) -> None:
    def recorded() -> bool:
        assert rec.error is None, rec.error
        return rec.stats.steps >= n

    wait_until(recorded, timeout=timeout, what=f"{n} recorded steps")


def test_record_cli_on_virtual_phone(tmp_path: Path) -> None:
    """`guiagent record --device sim:form`: touches from adb, text from stdin, SIGTERM ends it."""
    import json
    import os
    import signal
    import subprocess
    import sys

    import adbutils

    pytest.importorskip("devices.simphone.launch")
    folder = tmp_path / "cli"
    proc = subprocess.Popen(
        [sys.executable, "-m", "guiagent", "record", "--device", "sim:form", "--task", "sign up",
         "--out", str(folder), "--redact"],
        cwd=Path(__file__).resolve().parents[2], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env={**os.environ, "ADB_LIBUSB": "0"},
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        line = proc.stdout.readline()
        assert line.startswith("recording"), line + (proc.stderr.read() if proc.stderr else "")
        serial = json.loads((folder / "meta.json").read_text())["device"]
        dev = adbutils.AdbClient().device(serial)

        def steps() -> int:
            p = folder / "steps.jsonl"
            return p.read_bytes().count(b"\n") if p.exists() else 0

        def until(pred: Any, what: str) -> None:
            def holds() -> bool:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                return bool(pred())

            wait_until(holds, what=what)

        dev.shell("input tap 90 184")  # the "Sign up" launcher icon
        until(lambda: "Create account" in dev.shell("uiautomator dump /dev/tty"), "the Sign up screen")
        dev.shell("input tap 360 286")  # the Name field
        until(lambda: steps() >= 2, "the tap on Name recorded")
        proc.stdin.write("Grace\n")
        proc.stdin.flush()
        until(lambda: steps() >= 3, "the typed text recorded")
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(60) == 0, proc.stderr.read() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()
    traj = read_episode(folder)
    assert traj.meta.status == "success" and traj.meta.reason == "ended by SIGTERM"
    assert traj.meta.platform == "android" and traj.meta.source == "human"
    assert [s.action.type for s in traj.steps] == ["click", "click", "type"]
    assert traj.steps[2].action == TypeText(text="Grace")
    assert traj.steps[1].target_element is not None and traj.steps[1].target_element.editable
    assert (folder / "report.html").is_file()
