"""The app's parts on Qt's offscreen platform: settings that persist, the plan tracker, the
thread-safe approval handoff and its dialog, the live view's gestures, zoom and overlay, the
timeline, and the error explanations."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from guiagent.schema import (
    Click,
    Decision,
    Done,
    Element,
    GuardDecision,
    Hover,
    Observation,
    Outcome,
    Point,
    Role,
    Step,
    Swipe,
    Target,
    TypeText,
)
from guiagent.schema.errors import ConfigError, DeviceDisconnected, InstructionNotUnderstood, ModelError


@pytest.fixture(scope="session")
def qapp() -> Iterator[Any]:
    """pytest-qt's QApplication, made on the offscreen platform (the env var is set only while
    the application is built, so other tests' subprocesses keep their own platform)."""
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
    from app import style

    style.apply_theme(app, "dark")
    yield app


def screen(color: tuple[int, int, int] = (255, 255, 255), size: tuple[int, int] = (400, 800)) -> Image.Image:
    return Image.new("RGB", size, color)


# -- settings ---------------------------------------------------------------------------------


def test_settings_persist_between_instances(qapp: Any, tmp_path: Path) -> None:
    from app.settings import MAX_RECENT, AppSettings

    path = tmp_path / "app.ini"
    s = AppSettings(path)
    assert (s.planner, s.grounder, s.device, s.ocr, s.max_steps) == ("rule", "text", "sim", True, 30)
    s.task = "Open Settings and turn on Wi-Fi"
    s.device, s.planner, s.ocr, s.max_steps = "android:emulator-5554", "dpot", False, 12
    s.set_model_config("dpot", {"base_url": "http://localhost:8000/v1", "model": "ui-tars", "model_path": ""})
    s.set_model_config("autoui", {"model_path": "/models/autoui"})
    for n in range(MAX_RECENT + 3):
        s.add_recent_task(f"task {n}")
    s.add_recent_task("task 3")  # again: moves to the front, no duplicate
    s.sync()

    again = AppSettings(path)
    assert again.task == "Open Settings and turn on Wi-Fi"
    assert (again.device, again.planner, again.ocr, again.max_steps) == ("android:emulator-5554", "dpot", False, 12)
    assert again.model_config("dpot") == {"base_url": "http://localhost:8000/v1", "model": "ui-tars"}
    assert again.model_config("autoui") == {"model_path": "/models/autoui"}
    assert again.model_config("react") == {}
    recent = again.recent_tasks
    assert recent[0] == "task 3" and len(recent) == MAX_RECENT and recent.count("task 3") == 1
    assert "api_key" not in path.read_text()


def test_settings_single_recent_task_and_bad_values(qapp: Any, tmp_path: Path) -> None:
    from app.settings import AppSettings

    path = tmp_path / "app.ini"
    s = AppSettings(path)
    s.add_recent_task("only one")  # INI turns a one-item list into a string; JSON keeps it a list
    s.planner = "no-such-planner"
    s._set("run/max_steps", "many")
    s.sync()
    again = AppSettings(path)
    assert again.recent_tasks == ["only one"]
    assert again.planner == "rule"  # an unknown remembered planner falls back instead of failing
    assert again.max_steps == 30


# -- plan tracker -------------------------------------------------------------------------------


def decision(subgoal: str, plan: tuple[str, ...] = (), action: Any = None) -> Decision:
    return Decision(subgoal=subgoal, plan=plan, action=action or Click(target=Target.at(0.5, 0.5)))


def test_plan_tracker_follows_rule_planner_subgoals() -> None:
    from app.plan_panel import PlanTracker

    t = PlanTracker()
    s = t.update(decision("open Settings", ("turn on Wi-Fi",)))
    assert (s.done, s.current, s.todo) == ([], "open Settings", ["turn on Wi-Fi"])
    s = t.update(decision("open Settings", ("turn on Wi-Fi",)))  # a second action for the same sub-goal
    assert (s.done, s.current) == ([], "open Settings")
    s = t.update(decision("turn on Wi-Fi"))
    assert (s.done, s.current, s.todo) == (["open Settings"], "turn on Wi-Fi", [])
    s = t.update(decision("", action=Done(status="success")))
    assert (s.done, s.current, s.todo) == (["open Settings", "turn on Wi-Fi"], None, [])


def test_plan_tracker_dpot_revisions_and_failure() -> None:
    from app.plan_panel import PlanTracker

    t = PlanTracker()
    t.update(decision("search for the note", ("open it", "delete it")))
    # the planner revises: the current step is still planned later, so it is not done yet
    s = t.update(decision("open the menu", ("search for the note", "open it")))
    assert s.done == [] and s.current == "open the menu" and s.todo == ["search for the note", "open it"]
    s = t.update(decision("search for the note", ("open it",)))
    assert s.done == ["open the menu"] and s.todo == ["open it"]
    s = t.finish(success=False)  # a failed run leaves the current step open
    assert s.current == "search for the note" and s.done == ["open the menu"]


# -- approval -----------------------------------------------------------------------------------


def _request_args() -> tuple[Any, GuardDecision, Observation]:
    action = TypeText(text="hunter2", target=Target(point=Point(x=0.5, y=0.4), element="e7"))
    guard = GuardDecision(verdict="ask", reason="typing into a password field", rule="password")
    field_el = Element(id="e7", role=Role.TEXT_FIELD, name="Password", bbox=(40, 300, 360, 340), password=True)
    obs = Observation(screenshot=screen(), elements=(field_el,), screen_size=(400, 800))
    return action, guard, obs


@pytest.mark.parametrize("answer", ["approve", "skip", "stop"])
def test_approval_bridge_blocks_the_worker_until_the_ui_answers(qtbot: Any, answer: str) -> None:
    from app.approval import ApprovalBridge

    bridge = ApprovalBridge()
    got: list[str] = []
    with qtbot.waitSignal(bridge.requested, timeout=10_000) as blocker:
        worker = threading.Thread(target=lambda: got.append(bridge(*_request_args())))
        worker.start()
    req = blocker.args[0]
    assert req.target_element is not None and req.target_element.name == "Password"
    worker.join(0.2)
    assert worker.is_alive() and got == []  # still waiting for a person
    bridge.answer(req, answer)  # type: ignore[arg-type]
    worker.join(10)
    assert got == [answer]
    assert not req.settle("approve")  # the first answer sticks


def test_approval_bridge_cancel_answers_stop(qtbot: Any) -> None:
    from app.approval import ApprovalBridge

    bridge = ApprovalBridge()
    got: list[str] = []
    with qtbot.waitSignal(bridge.requested, timeout=10_000):
        worker = threading.Thread(target=lambda: got.append(bridge(*_request_args())))
        worker.start()
    bridge.cancel()  # the Stop button while the dialog is up
    worker.join(10)
    assert got == ["stop"]
    assert bridge(*_request_args()) == "stop"  # a cancelled run asks nobody again
    bridge.reset()
    assert bridge.pending is None


def test_approval_dialog_buttons_and_close(qtbot: Any) -> None:
    from PySide6.QtCore import Qt

    from app.approval import ApprovalDialog, ApprovalRequest

    req = ApprovalRequest(*_request_args())
    dialog = ApprovalDialog(req)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.answered) as blocker:
        qtbot.mouseClick(dialog.skip_button, Qt.MouseButton.LeftButton)
    assert blocker.args == ["skip"] and req.answer == "skip"

    req2 = ApprovalRequest(*_request_args())
    dialog2 = ApprovalDialog(req2)
    qtbot.addWidget(dialog2)
    dialog2.show()
    dialog2.reject()  # Esc / closing the window: the safe answer
    assert req2.answer == "stop"
    with pytest.raises(ValueError, match="approval answer"):
        ApprovalRequest(*_request_args()).settle("maybe")  # type: ignore[arg-type]


# -- live view ------------------------------------------------------------------------------------


def test_gesture_classification() -> None:
    from app.live_view import gesture_action

    a, b = Point(x=0.2, y=0.3), Point(x=0.2, y=0.8)
    assert isinstance(gesture_action(a, a, moved_px=2, held_s=0.1), Click)
    long = gesture_action(a, a, moved_px=2, held_s=1.2)
    assert long is not None and long.type == "long_press" and long.duration == pytest.approx(1.2)
    swipe = gesture_action(a, b, moved_px=120, held_s=0.3)
    assert isinstance(swipe, Swipe) and swipe.end.point == b
    assert gesture_action(a, None, moved_px=120, held_s=0.3) is None  # dragged off the image


def test_live_view_maps_mouse_to_normalized_points_in_record_mode(qtbot: Any) -> None:
    from PySide6.QtCore import QPoint, Qt

    from app.live_view import LiveView

    view = LiveView()
    qtbot.addWidget(view)
    view.resize(700, 900)
    view.show()
    qtbot.waitExposed(view)
    view.show_frame(screen(size=(400, 800)))
    canvas = view.canvas
    frame = canvas.frame()
    assert frame is not None
    target = frame.point(Point(x=0.25, y=0.75))
    pos = QPoint(round(target.x()), round(target.y()))
    with qtbot.assertNotEmitted(canvas.gesture):  # not recording: clicks are not actions
        qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=pos)
    view.set_recording(True)
    with qtbot.waitSignal(canvas.gesture) as blocker:
        qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=pos)
    action = blocker.args[0]
    assert isinstance(action, Click)
    assert action.target.point.x == pytest.approx(0.25, abs=0.01)
    assert action.target.point.y == pytest.approx(0.75, abs=0.01)
    outside = QPoint(1, 1)  # the margin around the image is not the screen
    with qtbot.assertNotEmitted(canvas.gesture):
        qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=outside)


def test_live_view_zoom(qtbot: Any) -> None:
    from app.live_view import LiveView

    view = LiveView()
    qtbot.addWidget(view)
    view.resize(600, 600)
    view.show()
    qtbot.waitExposed(view)
    view.show_frame(screen(size=(720, 1280)))
    fit = view.canvas.fit_scale()
    assert fit < 1.0
    view.set_zoom(1.0)
    assert (view.canvas.width(), view.canvas.height()) == (720, 1280)
    assert not view.fit_button.isChecked()
    view.zoom_by(+1)
    assert view.canvas.zoom == pytest.approx(1.25)
    view.zoom_by(-1)
    view.zoom_by(-1)
    assert view.canvas.zoom == pytest.approx(0.75)
    view.set_zoom(None)
    assert view.fit_button.isChecked() and view.canvas.zoom is None


def test_overlay_draws_the_action_where_it_happened(qapp: Any) -> None:
    from app.overlay import render_frame

    base = screen((255, 255, 255), (400, 800))
    plain = render_frame(base, None, max_size=(400, 800))
    drawn = render_frame(base, Click(target=Target.at(0.5, 0.5)), target_box=(150, 380, 250, 420),
                         max_size=(400, 800))
    assert plain.pixelColor(200, 400).name() == "#ffffff"
    assert drawn.pixelColor(200, 400).name() != "#ffffff"  # the click dot
    assert drawn.pixelColor(20, 780).name() == "#ffffff"  # far away: untouched
    swipe = render_frame(base, Swipe(start=Target.at(0.5, 0.8), end=Target.at(0.5, 0.2)), max_size=(400, 800))
    assert swipe.pixelColor(200, 400).name() != "#ffffff"  # the arrow's shaft crosses the middle
    hover = render_frame(base, Hover(target=Target.at(0.5, 0.5)), max_size=(400, 800))
    assert hover.pixelColor(200, 400).name() != "#ffffff" and hover.pixelColor(20, 780).name() == "#ffffff"


# -- timeline -------------------------------------------------------------------------------------


def test_timeline_rows_and_selection(qtbot: Any) -> None:
    from app.timeline import Timeline, timing_text

    tl = Timeline()
    qtbot.addWidget(tl)
    tl.show()
    assert tl.empty.isVisible() and not tl.list.isVisible()
    steps = [
        Step(index=0, decision=Decision(thought="open it", action=Click(target=Target.described("Settings"))),
             action=Click(target=Target.at(0.3, 0.4)), timings_ms={"capture": 12.0, "decide": 3.0, "total": 20.0}),
        Step(index=1, action=Done(), outcome=Outcome(status="failed", error="boom")),
    ]
    for s in steps:
        tl.add_step(s, screen((10 * s.index, 0, 0)))
    assert tl.list.isVisible() and not tl.empty.isVisible()
    rows = tl.rows()
    assert [r["type"] for r in rows] == ["click", "done"]
    assert rows[0]["thought"] == "open it" and rows[1]["status"] == "failed"
    with qtbot.waitSignal(tl.step_selected) as blocker:
        tl.select(1)
    assert blocker.args == [1]
    assert tl.entries[1].image().getpixel((0, 0)) == (10, 0, 0)
    assert timing_text({"capture": 12.0, "decide": 0.1, "total": 20.0}) == "20 ms: capture 12"
    tl.clear()
    assert tl.rows() == [] and tl.empty.isVisible()


def test_plan_panel_shows_rows(qtbot: Any) -> None:
    from app.plan_panel import PlanPanel

    panel = PlanPanel()
    qtbot.addWidget(panel)
    panel.update_decision(decision("open Settings", ("turn on Wi-Fi",)))
    panel.update_decision(decision("turn on Wi-Fi"))
    texts = [panel.rows.itemAt(i).widget().property("planText") for i in range(panel.rows.count())]
    assert texts == ["open Settings", "turn on Wi-Fi"]
    assert panel.count.text() == "1/2 done"
    panel.reset(keeps_plan=False, planner="react")
    assert "react keeps no explicit plan" in panel.rows.itemAt(0).widget().text()


# -- errors ---------------------------------------------------------------------------------------


def test_errors_are_explained_with_what_to_do() -> None:
    from app.jobs import explain

    msg, hint = explain(InstructionNotUnderstood("cannot parse 'do the thing'"))
    assert "do the thing" in msg and "Rephrase" in hint
    assert "Connect" in explain(DeviceDisconnected("phone gone"))[1]
    assert "endpoint" in explain(ModelError("connection refused"))[1].lower()
    assert "left panel" in explain(ConfigError("bad"))[1]
    msg, hint = explain(KeyError("x"))
    assert msg.startswith("KeyError") and "bug" in hint


def test_jobs_deliver_results_and_errors_in_the_ui_thread(qtbot: Any) -> None:
    from app.jobs import Jobs

    jobs = Jobs()
    main = threading.current_thread()
    seen: list[tuple[str, Any, bool]] = []
    jobs.start(lambda: 41 + 1, lambda r: seen.append(("ok", r, threading.current_thread() is main)))
    qtbot.waitUntil(lambda: len(seen) == 1, timeout=10_000)

    def boom() -> None:
        raise DeviceDisconnected("unplugged")

    jobs.start(boom, on_failed=lambda m, h: seen.append(("err", m, threading.current_thread() is main)))
    qtbot.waitUntil(lambda: len(seen) == 2, timeout=10_000)
    assert seen == [("ok", 42, True), ("err", "unplugged", True)]
