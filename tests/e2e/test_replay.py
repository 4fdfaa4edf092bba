"""Replay: recorded targets are grounded again on the live screen (real Qt form under Xvfb,
real AT-SPI tree, the real text grounder, real X input), and divergence is reported."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from waiting import wait_until

from guiagent.recorder import EpisodeWriter
from guiagent.recorder.a11y_bus import A11yBus
from guiagent.recorder.replay import Replayer, element_description, regrounded
from guiagent.schema import (
    Click,
    Drag,
    Element,
    EpisodeMeta,
    Key,
    Point,
    Role,
    Step,
    Target,
    TypeText,
)

ROOT = Path(__file__).resolve().parents[2]


def test_regrounded_moves_primary_target_and_keeps_drag_vector() -> None:
    drag = Drag(start=Target.at(0.2, 0.2), end=Target.at(0.5, 0.4))
    moved = regrounded(drag, Point(x=0.2, y=0.2), Point(x=0.3, y=0.1), "e7")
    assert isinstance(moved, Drag)
    assert moved.start == Target(point=Point(x=0.3, y=0.1), element="e7")
    assert moved.end.point is not None
    assert (moved.end.point.x, moved.end.point.y) == pytest.approx((0.6, 0.3))
    assert regrounded(Key(keys="tab"), Point(x=0, y=0), Point(x=1, y=1), None) == Key(keys=("tab",))
    el = Element(id="a", role=Role.CHECKBOX, name="Subscribe", bbox=(0, 0, 1, 1))
    assert element_description(el) == "Subscribe checkbox"
    assert element_description(el.model_copy(update={"role": Role.TEXT})) == "Subscribe"


@pytest.fixture(scope="module")
def a11y(xdisplay: Any) -> Iterator[None]:
    if shutil.which("xdotool") is None or not A11yBus.available():
        pytest.skip("needs xdotool and AT-SPI")
    with A11yBus():
        yield


def start_form(out: Path, geometry: str) -> tuple[subprocess.Popen[str], dict[str, list[int]]]:
    proc = subprocess.Popen([sys.executable, "assets/demo_form.py", "--out", str(out), "--geometry", geometry],
                            cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            env={**os.environ, "QT_ACCESSIBILITY": "1"})
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith("{") and '"ready"' in line:
            return proc, json.loads(line)["widgets"]
    raise AssertionError("the demo form did not start")


def stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    proc.wait(10)


def tree_with(dev: Any, names: set[str], timeout: float = 20) -> dict[str, Element]:
    def found() -> dict[str, Element] | None:
        els = {e.name: e for e in dev.ui_tree() if e.role != Role.TEXT}
        return els if names <= set(els) else None

    return wait_until(found, timeout=timeout, what=f"the AT-SPI tree to show {sorted(names)}")


@pytest.fixture
def desktop(a11y: None) -> Iterator[Any]:
    from devices.x11.device import open_desktop

    dev = open_desktop("")
    try:
        yield dev
    finally:
        dev.close()


def make_episode(folder: Path, dev: Any, els: dict[str, Element], extra: list[Step] = ()) -> None:
    """An episode as the recorder writes it: pre-action frame, point, target element."""
    size = dev.info.screen_size
    w = EpisodeWriter(folder, EpisodeMeta(id="r", task="fill the form", source="human", screen_size=size))

    def at(el: Element) -> Target:
        return Target(point=Point.from_pixels(*el.center, size))

    steps = [
        Step(index=0, source="human", action=Click(target=at(els["Name"])), target_element=els["Name"]),
        Step(index=1, source="human", action=TypeText(text="Grace Hopper"), target_element=els["Name"]),
        Step(index=2, source="human", action=Click(target=at(els["Subscribe"])), target_element=els["Subscribe"]),
        Step(index=3, source="human", action=Click(target=at(els["Team"])), target_element=els["Team"]),
        *extra,
        Step(index=9, source="human", action=Click(target=at(els["Submit"])), target_element=els["Submit"]),
    ]
    for s in steps:
        w.add_step(s, dev.screenshot())
    w.close("success")


def test_replay_regrounds_moved_elements(desktop: Any, tmp_path: Path) -> None:
    from grounding.text_matcher import TextGrounder

    proc, _ = start_form(tmp_path / "first.json", "80,80,520,360")
    try:
        els = tree_with(desktop, {"Name", "Subscribe", "Team", "Submit"})
        make_episode(tmp_path / "ep", desktop, els)
    finally:
        stop(proc)
    out = tmp_path / "replayed.json"
    proc, _ = start_form(out, "640,380,520,360")  # the same form, elsewhere on the screen
    try:
        tree_with(desktop, {"Name", "Subscribe", "Team", "Submit"})
        report = Replayer(desktop, TextGrounder(semantic=False)).run(tmp_path / "ep")
        if report.completed:  # Submit was clicked: the form writes its file when it handles it
            wait_until(out.exists, what="the form to write the replayed values")
    finally:
        stop(proc)
    assert report.completed, report.to_dict()
    assert json.loads(out.read_text()) == {"name": "Grace Hopper", "subscribe": True, "plan": "Team"}
    clicks = [s for s in report.steps if s.action.startswith("click")]
    assert all(s.method == "element" and s.found for s in clicks)
    assert all(s.moved is not None and s.moved > 0.2 for s in clicks)  # ~ (560, 300) px away
    assert all(any("moved" in n for n in s.notes) for s in clicks)
    assert all(s.outcome == "ok" for s in report.steps)
    typed = report.steps[1]
    assert typed.method == "none" and typed.found  # the field was checked, the text typed into focus
    assert all(s.screen_diff is not None for s in report.steps)
    json.dumps(report.to_dict())  # serializable


def test_replay_reports_missing_element_and_stops(desktop: Any, tmp_path: Path) -> None:
    from grounding.text_matcher import TextGrounder

    out = tmp_path / "form.json"
    proc, _ = start_form(out, "80,80,520,360")
    try:
        els = tree_with(desktop, {"Name", "Subscribe", "Team", "Submit"})
        gone = Element(id="x", role=Role.BUTTON, name="Delete account", bbox=(900, 700, 1000, 740))
        ghost = Step(index=5, source="human", action=Click(target=Target.at(0.74, 0.9)), target_element=gone)
        make_episode(tmp_path / "ep", desktop, els, extra=[ghost])
        report = Replayer(desktop, TextGrounder(semantic=False), on_missing="stop").run(tmp_path / "ep")
        assert not report.completed and report.stopped_at == 5
        last = report.steps[-1]
        assert last.found is False and last.diverged and last.outcome == "stopped"
        assert "not found" in last.notes[0]
        assert not out.exists()  # Submit after the missing step never ran
        fallback = Replayer(desktop, TextGrounder(semantic=False), on_missing="point").run(tmp_path / "ep")
        ghost_step = next(s for s in fallback.steps if s.index == 5)
        assert ghost_step.method == "point" and "fell back to the recorded point" in ghost_step.notes
        assert fallback.completed and fallback.diverged >= 1
    finally:
        stop(proc)


def test_replay_cli_table_and_json(desktop: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from guiagent.cli import main

    out = tmp_path / "form.json"
    proc, _ = start_form(out, "300,200,520,360")
    try:
        els = tree_with(desktop, {"Name", "Subscribe", "Team", "Submit"})
        make_episode(tmp_path / "ep", desktop, els)
        with pytest.raises(SystemExit) as exc:
            main(["replay", str(tmp_path / "ep"), "--device", "desktop", "--json", str(tmp_path / "r.json")])
    finally:
        stop(proc)
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["completed"] and len(report["steps"]) == 5
    assert [s["method"] for s in report["steps"]] == ["element", "none", "element", "element", "element"]
    assert json.loads(out.read_text())["plan"] == "Team"
    text = capsys.readouterr().out
    assert "completed" in text and "Subscribe" in text
    assert exc.value.code in (0, 1)  # 1 only when a step's screen diverged from its recording
    assert exc.value.code == (1 if report["diverged"] else 0)
