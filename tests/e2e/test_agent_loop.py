"""The loop on a real X display with real input: every stop condition, retries with the error
fed back, the guard with a real sensitive button, recording. The planner is scripted (a real
Planner implementation) so each branch is reached deterministically."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from scripted import ScriptedPlanner
from waiting import wait_until

from guiagent.agent import Agent, AgentConfig
from guiagent.events import AgentEvent, StepFinished
from guiagent.recorder.episode import EpisodeWriter, read_episode
from guiagent.runner import build_screen_parser
from guiagent.safety import approve_all, refuse_all
from guiagent.schema import Click, Done, EpisodeMeta, Target, Wait
from guiagent.schema.errors import PlanParseError

pytestmark = pytest.mark.usefixtures("xdisplay")
HERE = Path(__file__).resolve().parents[1]  # tests/, where the helper apps live


@pytest.fixture(scope="module")
def desktop(xdisplay):
    from devices.x11.device import open_desktop

    dev = open_desktop("")
    yield dev
    dev.close()


@pytest.fixture(scope="module")
def grounder():
    from grounding.text_matcher import TextGrounder

    return TextGrounder(semantic=False)


def _events(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture
def target_window(tmp_path: Path) -> Iterator[Path]:
    """A real Qt window with a Delete and a Keep button; clicks are logged to a file."""
    out = tmp_path / "events.jsonl"
    proc = subprocess.Popen([sys.executable, str(HERE / "qt_target.py"), "--out", str(out),
                             "--buttons", "Delete,Keep", "--geometry", "200,150,420,160"],
                            env={**__import__("os").environ, "QT_QPA_PLATFORM": "xcb"})

    def painted() -> bool:
        assert proc.poll() is None, "the target window exited"
        return any(e.get("ready") for e in _events(out))

    wait_until(painted, what="the target window's first frame on screen")
    yield out
    proc.terminate()
    proc.wait(5)


def clicks_after_a_barrier(desktop, target_window: Path) -> list[str]:
    """Every button click the target window logged, up to a click on Keep sent now.

    Input reaches the window in order, so once this Keep click is logged, any click sent before
    it (one that should not have happened) is logged too: no waiting for an absence."""

    def clicks() -> list[str]:
        return [e["clicked"] for e in _events(target_window) if "clicked" in e]

    keeps = clicks().count("Keep")
    x, y, w, h = next(e["buttons"]["Keep"] for e in _events(target_window) if e.get("ready"))
    width, height = desktop.info.screen_size
    desktop.execute(Click(target=Target.at((x + w / 2) / width, (y + h / 2) / height)))
    wait_until(lambda: clicks().count("Keep") > keeps, what="the barrier click on Keep to be logged")
    return clicks()


def make_agent(desktop, grounder, script, **kw) -> tuple[Agent, ScriptedPlanner]:
    planner = ScriptedPlanner(script, repeat_last=kw.pop("repeat_last", False))
    config = kw.pop("config", AgentConfig(max_steps=8, max_seconds=60, settle_timeout=1.5))
    return Agent(desktop, planner, grounder, config=config, **kw), planner


def test_malformed_output_is_fed_back_and_retried(desktop, grounder) -> None:
    agent, planner = make_agent(desktop, grounder, [PlanParseError("no JSON object found", raw="click it"), Done()])
    result = agent.run("anything")
    assert result.status == "success" and result.steps == 1
    assert planner.feedbacks[0] is None
    assert "no JSON object found" in (planner.feedbacks[1] or "")


def test_output_that_never_parses_fails_cleanly(desktop, grounder) -> None:
    agent, _ = make_agent(desktop, grounder, [PlanParseError("garbage", raw="???")], repeat_last=True)
    result = agent.run("anything")
    assert result.status == "failed"
    assert "steps failed in a row" in result.reason and "garbage" in result.reason
    assert all(s.outcome.status == "failed" for s in agent.history)


def test_stuck_screen_stops_the_run(desktop, grounder) -> None:
    # Clicking the bare root window changes nothing on screen.
    agent, _ = make_agent(desktop, grounder, [Click(target=Target.at(0.98, 0.98))], repeat_last=True)
    result = agent.run("click nowhere")
    assert result.status == "failed" and result.reason.startswith("stuck")
    assert result.steps == agent.config.stuck_after


def test_step_and_time_budgets(desktop, grounder) -> None:
    agent, _ = make_agent(desktop, grounder, [Wait(seconds=0.0)], repeat_last=True,
                          config=AgentConfig(max_steps=3, max_seconds=60))
    result = agent.run("wait forever")
    assert result.status == "failed" and "step budget of 3" in result.reason and result.steps == 3
    agent, _ = make_agent(desktop, grounder, [Wait(seconds=0.2)], repeat_last=True,
                          config=AgentConfig(max_steps=100, max_seconds=0.5))
    result = agent.run("wait forever")
    assert result.status == "failed" and "time budget" in result.reason


def test_user_stop_takes_effect_before_the_next_action(desktop, grounder) -> None:
    agent, planner = make_agent(desktop, grounder, [Wait(seconds=0.0)], repeat_last=True)

    def stop_after_first(ev: AgentEvent) -> None:
        if isinstance(ev, StepFinished):
            agent.request_stop("user pressed Stop")

    agent.subscribe(stop_after_first)
    result = agent.run("wait")
    assert result.status == "stopped" and result.reason == "user pressed Stop" and result.steps == 1


def test_ungroundable_target_is_fed_back(desktop, grounder) -> None:
    agent, planner = make_agent(desktop, grounder, [Click(target=Target.described("Frobnicate quux")), Done()])
    result = agent.run("click something that is not there")
    assert result.status == "success"
    assert "could not find the target" in (planner.feedbacks[1] or "")


def test_sensitive_click_is_refused_unattended_and_runs_when_approved(desktop, grounder, target_window) -> None:
    parser = build_screen_parser(ocr=True)
    agent, _ = make_agent(desktop, grounder, [Click(target=Target.described("Delete button")), Done()],
                          parser=parser, approver=refuse_all)
    result = agent.run("press delete")
    assert result.status == "failed" and "refused" in result.reason
    step = agent.history[-1]
    assert step.guard and step.guard.verdict == "ask" and step.guard.resolution == "refused"
    assert clicks_after_a_barrier(desktop, target_window) == ["Keep"], "a refused action must not run"

    agent, _ = make_agent(desktop, grounder, [Click(target=Target.described("Delete button")), Done()],
                          parser=parser, approver=approve_all)
    result = agent.run("press delete")
    assert result.status == "success"
    assert agent.history[0].guard.resolution == "approved"
    assert clicks_after_a_barrier(desktop, target_window) == ["Keep", "Delete", "Keep"]


def test_dry_run_acts_on_nothing_and_steps_are_recorded(desktop, grounder, target_window, tmp_path) -> None:
    writer = EpisodeWriter(tmp_path / "ep", EpisodeMeta(id="t", task="press keep"))
    agent, _ = make_agent(desktop, grounder, [Click(target=Target.described("Keep")), Done()],
                          parser=build_screen_parser(ocr=True), sink=writer,
                          config=AgentConfig(max_steps=5, dry_run=True))
    result = agent.run("press keep")
    writer.close(result.status, reason=result.reason)
    assert result.status == "success"
    assert agent.history[0].outcome.status == "skipped"
    assert agent.history[0].action is not None and agent.history[0].action.target.point is not None
    assert clicks_after_a_barrier(desktop, target_window) == ["Keep"]  # the dry run clicked nothing
    traj = read_episode(tmp_path / "ep")
    assert traj.meta.status == "success" and len(traj.steps) == 2
    assert traj.steps[0].frame and (tmp_path / "ep" / traj.steps[0].frame).exists()
