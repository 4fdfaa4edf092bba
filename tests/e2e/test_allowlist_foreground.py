"""The app allowlist is judged on the foreground app after every action, whatever route left it.

The virtual phone through the real adb server: allowlist ["Notes"]; a scripted planner opens
Notes from the launcher (allowed), goes Home (the launcher is always allowed), then taps the
Settings icon by point, a route `open_app` checks never see. Before the next action the loop
asks: refused unattended, the run goes back and ends failed saying why; skipped, it goes back and
carries on; approved, it carries on inside Settings.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from scripted import ScriptedPlanner
from waiting import wait_until

from devices.android.device import AndroidDevice
from grounding.text_matcher import TextGrounder
from guiagent.agent import Agent, AgentConfig
from guiagent.events import RunResult
from guiagent.safety import Approval, Approver, Guard, SafetyPolicy, approve_all, refuse_all
from guiagent.schema import (
    Action,
    Back,
    Click,
    Done,
    GuardDecision,
    Home,
    Observation,
    OpenApp,
    Point,
    Target,
    Wait,
)

pytest.importorskip("adbutils")


@pytest.fixture(scope="module")
def phone() -> Iterator[AndroidDevice]:
    from devices.simphone.launch import open_sim_phone

    dev = open_sim_phone("default")
    try:
        yield dev
    finally:
        dev.close()


@pytest.fixture
def dev(phone: AndroidDevice) -> AndroidDevice:
    phone.reset()
    return phone


def _icon(dev: AndroidDevice, label: str) -> Target:
    icon = next(e for e in dev.ui_tree() if e.label == label)
    return Target(point=Point.from_pixels(*icon.center, dev.info.screen_size))


def _run(dev: AndroidDevice, approver: Approver, asked: list[GuardDecision] | None = None) -> tuple[Agent, RunResult]:
    notes, settings = _icon(dev, "Notes"), _icon(dev, "Settings")
    script: list[Action] = [Click(target=notes), Home(), Click(target=settings), Done()]

    def answer(action: Action, decision: GuardDecision, observation: Observation) -> Approval:
        if asked is not None:
            asked.append(decision)
        return approver(action, decision, observation)

    agent = Agent(dev, ScriptedPlanner(script), TextGrounder(semantic=False),
                  guard=Guard(SafetyPolicy(app_allowlist=frozenset({"Notes"}))), approver=answer,
                  config=AgentConfig(max_steps=8, settle_timeout=2.0))
    return agent, agent.run("open notes")


def _foreground(dev: AndroidDevice) -> str:
    return dev.foreground() or ""


def test_leaving_the_allowlist_by_a_launcher_tap_is_refused_unattended_and_undone(dev: AndroidDevice) -> None:
    asked: list[GuardDecision] = []
    agent, result = _run(dev, refuse_all, asked)
    assert [d.rule for d in asked] == ["allowlist"]  # Notes and the launcher passed without a question
    assert "com.android.settings" in asked[0].reason
    last = agent.history[-1]
    assert isinstance(last.action, Back) and last.guard is not None and last.guard.rule == "allowlist"
    assert last.guard.resolution == "refused" and last.foreground is not None
    assert last.foreground.startswith("com.android.settings/")  # recorded where it was when it went back
    assert result.status == "failed"
    assert "refused" in result.reason and "not in the allowlist" in result.reason
    assert _foreground(dev).startswith("com.android.launcher3/")  # it went back: Settings is gone


def test_a_skip_goes_back_and_the_run_carries_on(dev: AndroidDevice) -> None:
    agent, result = _run(dev, lambda action, decision, observation: "skip")
    assert result.status == "success"
    kinds = [(type(s.action).__name__, s.guard.rule if s.guard else "") for s in agent.history]
    assert kinds[3] == ("Back", "allowlist") and kinds[-1][0] == "Done"
    assert _foreground(dev).startswith("com.android.launcher3/")


def test_an_approved_app_is_used_without_asking_again(dev: AndroidDevice) -> None:
    asked: list[GuardDecision] = []
    agent, result = _run(dev, approve_all, asked)
    assert result.status == "success" and len(asked) == 1
    approval = agent.history[3]
    assert approval.guard is not None and approval.guard.resolution == "approved" and approval.action is None
    assert _foreground(dev).startswith("com.android.settings/")


# -- a desktop without a window manager: the foreground is the window holding the input focus ----

HERE = Path(__file__).resolve().parents[1]


@pytest.fixture
def two_windows(xdisplay: object, tmp_path: Path) -> Iterator[dict[str, list[int]]]:
    """Two real Qt windows side by side, "Notes window" and "Bank window": their OK buttons' rects."""
    procs, rects = [], {}
    for i, (title, geometry) in enumerate((("Notes window", "100,100,300,200"), ("Bank window", "600,100,300,200"))):
        out = tmp_path / f"events{i}.jsonl"
        procs.append(subprocess.Popen([sys.executable, str(HERE / "qt_target.py"), "--out", str(out), "--title",
                                       title, "--buttons", "OK", "--geometry", geometry],
                                      env={**os.environ, "QT_QPA_PLATFORM": "xcb"}))

        def ready(out: Path = out) -> dict[str, list[int]] | None:
            assert all(p.poll() is None for p in procs), "a window exited"
            lines = [json.loads(x) for x in out.read_text().splitlines()] if out.exists() else []
            return next((e["buttons"] for e in lines if e.get("ready")), None)

        rects[title] = wait_until(ready, what=f"{title}'s first frame")["OK"]
    try:
        yield rects
    finally:
        for p in procs:
            p.terminate()
            p.wait(5)


@pytest.mark.parametrize("approver", [refuse_all, approve_all], ids=["refused", "approved"])
def test_on_a_desktop_focusing_another_window_is_caught(xdisplay: object, two_windows: dict[str, list[int]],
                                                        approver: Approver) -> None:
    from devices.x11.device import open_desktop

    dev = open_desktop("")
    try:
        def ok(title: str) -> Click:
            x, y, w, h = two_windows[title]
            return Click(target=Target(point=Point.from_pixels(x + w / 2, y + h / 2, dev.info.screen_size)))

        # the Waits give the X server's focus change room to land before some observation sees it
        script = [ok("Notes window"), ok("Bank window"), Wait(seconds=0.0), Wait(seconds=0.0), Done()]
        agent = Agent(dev, ScriptedPlanner(script), TextGrounder(semantic=False),
                      guard=Guard(SafetyPolicy(app_allowlist=frozenset({"Notes window"}))),
                      approver=approver, config=AgentConfig(max_steps=8, settle_timeout=1.0))
        result = agent.run("press OK in Notes")
    finally:
        dev.close()
    checks = [s for s in agent.history if s.guard is not None and s.guard.rule == "allowlist"]
    assert len(checks) == 1 and checks[0].foreground == "Bank window" and "Bank window" in checks[0].guard.reason
    if approver is refuse_all:  # a desktop has no Back to another app: the run ends, saying why
        assert result.status == "failed" and "not in the allowlist" in result.reason
        assert "cannot go back" in result.reason and agent.history[-1] is checks[0]
    else:
        assert result.status == "success" and checks[0].guard.resolution == "approved" and checks[0].action is None


def test_an_approved_open_app_is_not_asked_about_twice(dev: AndroidDevice) -> None:
    asked: list[GuardDecision] = []

    def answer(action: Action, decision: GuardDecision, observation: Observation) -> Approval:
        asked.append(decision)
        return "approve"

    agent = Agent(dev, ScriptedPlanner([OpenApp(name="Contacts"), Wait(seconds=0.0), Done()]),
                  TextGrounder(semantic=False), guard=Guard(SafetyPolicy(app_allowlist=frozenset({"Notes"}))),
                  approver=answer, config=AgentConfig(max_steps=6, settle_timeout=2.0))
    assert agent.run("open contacts").status == "success"
    assert len(asked) == 1 and "Contacts" in asked[0].reason  # the open_app, not the landing again
    assert _foreground(dev).startswith("com.example.contacts/")
