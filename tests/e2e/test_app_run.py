"""The main window driving the real virtual phone (through the real adb server), on Qt's
offscreen platform: a run from the Run button with its plan, timeline and episode; Step and
the application-wide Stop shortcut; the approval dialog on a password field; recording by
clicking the mirrored screen, then replaying that recording on the device; errors shown in the
window."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")
pytest.importorskip("adbutils")

TASK = "Open Settings and turn on Wi-Fi"
RUN_TIMEOUT_MS = int(os.environ.get("APP_TEST_TIMEOUT_MS", "150000"))


@pytest.fixture(scope="session")
def qapp() -> Iterator[Any]:
    old = os.environ.get("QT_QPA_PLATFORM")
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    try:
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance() or QApplication(["guiagent-tests"])
    finally:
        if old is None:
            os.environ.pop("QT_QPA_PLATFORM", None)
        else:
            os.environ["QT_QPA_PLATFORM"] = old
    yield app


def make_window(qtbot: Any, tmp_path: Path, **overrides: Any) -> Any:
    from app.launcher import LaunchOptions, build_window

    values: dict[str, Any] = {"settings_file": tmp_path / "app.ini", "runs_dir": tmp_path / "runs", "planner": "rule",
                              "ocr": False, "size": (1280, 800), **overrides}
    opts = LaunchOptions(**values)
    window = build_window(opts)
    window.show()
    qtbot.waitExposed(window)
    return window


@pytest.fixture
def open_window(qtbot: Any, tmp_path: Path) -> Iterator[Any]:
    windows: list[Any] = []

    def factory(device: str = "sim", **overrides: Any) -> Any:
        w = make_window(qtbot, tmp_path, device=device, **overrides)
        windows.append(w)
        if device.startswith("sim"):
            with qtbot.waitSignal(w.session.opened, timeout=60_000):
                w.connect_device(device)
        return w

    yield factory
    for w in windows:
        w.close()  # stops a run, closes the device (and with it the virtual phone)
        assert not w.session.connected


def wait_run(qtbot: Any, window: Any) -> Any:
    with qtbot.waitSignal(window.run_ended, timeout=RUN_TIMEOUT_MS) as blocker:
        pass
    return blocker.args[0]


def test_run_button_runs_the_task_and_fills_plan_and_timeline(qtbot: Any, open_window: Any) -> None:
    from PySide6.QtCore import Qt

    from guiagent.recorder.episode import read_episode

    w = open_window("sim")
    phone = w.session.device.sim_phone
    assert phone.state["wifi"] is False
    w.top.set_task(TASK)
    qtbot.waitUntil(lambda: w.live.canvas.image is not None, timeout=30_000)  # the mirrored screen
    with qtbot.waitSignal(w.run_ended, timeout=RUN_TIMEOUT_MS) as blocker:
        qtbot.mouseClick(w.top.run_button, Qt.MouseButton.LeftButton)
    result = blocker.args[0]
    assert result is not None and result.ok, w.errors
    assert phone.state["wifi"] is True and phone.state.package == "com.android.settings"
    assert w.plan.state.to_dict() == {"done": ["open Settings", "turn on Wi-Fi"], "current": None, "todo": []}
    rows = w.timeline.rows()
    assert [r["type"] for r in rows] == ["open_app", "click", "done"]
    assert all(r["status"] == "ok" for r in rows)
    assert w.state == "success" and w.top.pill.text() == "SUCCESS"
    assert w.top.run_button.isEnabled() and not w.top.stop_button.isEnabled()
    # the episode folder is a real one: it replays in the Replay tab later
    traj = read_episode(Path(w.run_folder))
    assert traj.meta.status == "success" and len(traj.steps) == 3 and traj.meta.task == TASK
    assert w.settings.recent_tasks[0] == TASK
    # clicking a step shows its frame with its action
    w.timeline.select(1)
    assert w.live.canvas.action is not None and w.live.canvas.action.type == "click"
    assert not w.following_live and w.live.badge.text().startswith("step 2")
    w.follow_live()
    assert w.following_live


def test_step_then_application_wide_stop(qtbot: Any, open_window: Any) -> None:
    from PySide6.QtCore import Qt

    w = open_window("sim")
    w.top.set_task(TASK)
    qtbot.mouseClick(w.top.step_button, Qt.MouseButton.LeftButton)  # start in step mode: one action
    qtbot.waitUntil(lambda: len(w.timeline.entries) == 1, timeout=RUN_TIMEOUT_MS)
    qtbot.waitUntil(lambda: w.worker is not None and w.worker.run_obj is not None
                    and not w.worker.run_obj.agent.resume_event.is_set(), timeout=30_000)
    assert w.state == "paused" and w.top.run_button.text().endswith("Resume")
    qtbot.wait(300)  # time passing is the point: a paused agent takes no step by itself meanwhile
    assert len(w.timeline.entries) == 1
    qtbot.mouseClick(w.top.step_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(w.timeline.entries) == 2, timeout=RUN_TIMEOUT_MS)
    with qtbot.waitActive(w):  # application-wide shortcuts need one of the app's windows active
        w.activateWindow()
    with qtbot.waitSignal(w.run_ended, timeout=RUN_TIMEOUT_MS) as blocker:
        qtbot.keyClick(w, Qt.Key.Key_X, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    result = blocker.args[0]
    assert result.status == "stopped" and result.steps == 2
    assert "Ctrl+Shift+X" in result.reason
    assert w.state == "stopped" and len(w.timeline.entries) == 2
    assert w.session.device.sim_phone.state["wifi"] is True  # the two stepped actions did run


@pytest.mark.parametrize(("answer", "typed", "status"), [("approve", "hunter2", "success"), ("stop", "", "stopped")])
def test_approval_dialog_for_a_password_field(qtbot: Any, open_window: Any, answer: str, typed: str,
                                              status: str) -> None:
    from PySide6.QtCore import Qt

    w = open_window("sim:form")
    w.top.set_task("Open Sign up, then type 'hunter2' into Password")
    w.on_run()
    qtbot.waitUntil(lambda: w._dialog is not None and w._dialog.isVisible(), timeout=RUN_TIMEOUT_MS)
    dialog = w._dialog
    assert "password" in dialog.request.guard.reason
    assert dialog.request.action.type == "type"
    button = dialog.approve_button if answer == "approve" else dialog.stop_button
    with qtbot.waitSignal(w.run_ended, timeout=RUN_TIMEOUT_MS) as blocker:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    result = blocker.args[0]
    assert result.status == status, result.reason
    assert w.session.device.sim_phone.state["password"] == typed
    guarded = [e.step.guard for e in w.timeline.entries if e.step.guard is not None and e.step.guard.verdict == "ask"]
    assert [g.resolution for g in guarded] == ["approved" if answer == "approve" else "declined"]


def test_record_on_the_mirrored_screen_then_replay_on_the_device(qtbot: Any, open_window: Any) -> None:
    from PySide6.QtCore import QPoint, Qt

    from guiagent.recorder.episode import read_episode
    from guiagent.schema import Home, Point

    w = open_window("sim")
    device = w.session.device
    phone = device.sim_phone
    icon = next(e for e in device.ui_tree() if e.name == "Settings")
    w.top.set_task("open the settings")
    qtbot.mouseClick(w.record_panel.record_button, Qt.MouseButton.LeftButton)
    assert w.state == "recording" and w.live.canvas.recording
    qtbot.waitUntil(lambda: w.live.canvas.image is not None, timeout=30_000)
    frame = w.live.canvas.frame()
    cx, cy = icon.center
    spot = frame.point(Point.from_pixels(cx, cy, device.info.screen_size))
    qtbot.mouseClick(w.live.canvas, Qt.MouseButton.LeftButton, pos=QPoint(round(spot.x()), round(spot.y())))
    qtbot.waitUntil(lambda: len(w.timeline.entries) == 1, timeout=60_000)
    assert phone.state.package == "com.android.settings"  # the tap ran on the device
    assert w.timeline.rows()[0]["action"] == "click 'Settings'"  # named by the element under the finger
    qtbot.mouseClick(w.record_panel.record_button, Qt.MouseButton.LeftButton)  # stop
    assert w.state == "idle" and not w.live.canvas.recording
    folder = Path(w.run_folder)
    traj = read_episode(folder)
    assert traj.meta.source == "human" and traj.meta.status == "success" and traj.meta.task == "open the settings"
    (step,) = traj.steps
    assert step.source == "human" and step.action.type == "click"
    assert step.target_element is not None and step.target_element.name == "Settings"
    assert step.frame and (folder / step.frame).is_file()

    device.execute(Home())
    qtbot.waitUntil(lambda: phone.state.package != "com.android.settings", timeout=30_000)
    assert w.open_episode(folder)
    assert w.tabs.currentWidget() is w.replay_panel and len(w.timeline.entries) == 1
    assert w.live.canvas.action is not None and w.live.canvas.action.type == "click"  # step 1 is shown
    with qtbot.waitSignal(w.replay_panel.replay_button.clicked):
        qtbot.mouseClick(w.replay_panel.replay_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.device_replay is None and w.state in ("success", "stopped", "error"), timeout=60_000)
    assert w.state == "success", (w.replay_panel.replay_status.text(), w.errors)
    assert phone.state.package == "com.android.settings"  # replayed: Settings is open again


def test_errors_show_in_the_window(qtbot: Any, open_window: Any) -> None:
    w = open_window("nosuchdevice")
    w.top.set_task(TASK)
    w.on_run()  # connects first: the registry refuses the spec
    qtbot.waitUntil(lambda: w.banner.isVisible(), timeout=30_000)
    assert "nosuchdevice" in w.banner.title.text() and w.banner.hint.text().startswith("What to do")
    assert w.state == "error" and w.worker is None

    w2 = open_window("sim", planner="dpot")  # a model planner without a model
    w2.top.set_task(TASK)
    with qtbot.waitSignal(w2.run_ended, timeout=30_000) as blocker:
        w2.on_run()
    assert blocker.args[0] is None
    assert "needs a model" in w2.banner.title.text() and "Endpoint" in w2.banner.title.text()
