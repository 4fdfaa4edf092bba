"""One contract, every Planner: on the same real (rendered) screen, a decision carries one
valid typed action; a reply that does not parse raises PlanParseError (a PlannerError) with the
raw text, never anything else. Model planners run through the real chat client against the local
OpenAI-compatible server; Auto-UI also runs on a tiny local T5 checkpoint."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from openai_server import OpenAIServer
from test_conformance_grounders import screen

from guiagent.planning.base import Planner
from guiagent.schema import ACTION_ADAPTER, Decision
from guiagent.schema.errors import PlannerError, PlanParseError

TASK = "Type 'Ada' into Name, then click Submit"
BAD_TASK = "make it pretty"


def _dpot_script() -> list[str]:
    plan = json.dumps({"thought": "t", "next_step": "click Submit", "remaining_plan": []})
    act = json.dumps({"thought": "t", "action": {"type": "click", "target": "#3"}})
    return [plan, act, "I think you should click", "{not json"]


SCRIPTS = {
    "dpot": _dpot_script(),
    "react": ['Thought: go\nAction: {"type": "click", "target": "#3"}', "Thought: hmm\nAction: click it"],
    "autoui": ['Action Plan: [DUAL_POINT] ; Action Decision: "action_type": "DUAL_POINT", "touch_point": '
               '"[0.44, 0.26]", "lift_point": "[0.44, 0.26]", "typed_text": ""', "no idea"],
}
# The cascades hand a task the rule planner cannot read to their model planner, whose script they replay.
CASCADES = {"rule+dpot": "dpot", "rule+react": "react"}
SCRIPTS.update({name: SCRIPTS[model] for name, model in CASCADES.items()})


@contextmanager
def _model_planner(name: str) -> Iterator[tuple[Planner, str]]:
    from guiagent.registry import build_planner

    with OpenAIServer(SCRIPTS[name]) as srv:
        planner = build_planner(name, base_url=srv.url, model="test", api_key="k", max_retries=0)
        yield planner, BAD_TASK if name in CASCADES else TASK


@contextmanager
def _rule() -> Iterator[tuple[Planner, str]]:
    from guiagent.registry import build_planner

    yield build_planner("rule"), TASK


NAMES = ["rule", "dpot", "react", "autoui", *CASCADES]


def test_every_registered_planner_runs_the_contract() -> None:
    from guiagent.registry import PLANNERS

    assert set(NAMES) == set(PLANNERS)


@pytest.fixture(params=NAMES)
def planner(request) -> Iterator[tuple[str, Planner, str]]:
    cm = _rule() if request.param == "rule" else _model_planner(request.param)
    with cm as (p, task):
        yield request.param, p, task


def test_planner_contract(planner: tuple[str, Planner, str]) -> None:
    name, p, task = planner
    obs = screen()
    assert p.name and isinstance(p.keeps_plan, bool)
    p.reset(task)
    decision = p.next(task, obs, [])
    assert isinstance(decision, Decision)
    ACTION_ADAPTER.validate_python(decision.action.model_dump())  # a member of the typed union
    assert decision.usage.calls >= (0 if name == "rule" else 1)
    if name in CASCADES:  # the hand-off is on the decision
        assert decision.planner == CASCADES[name] and decision.handoff and "make it pretty" in decision.handoff
    if name == "rule":  # no model: its "malformed input" is a task it cannot read
        with pytest.raises(PlannerError, match="make it pretty"):
            p.reset(BAD_TASK)
            p.next(BAD_TASK, obs, [])
    else:
        with pytest.raises(PlanParseError) as exc:
            p.next(task, obs, [])
        assert exc.value.raw


def test_autoui_on_a_tiny_local_checkpoint(tmp_path) -> None:
    """The local Auto-UI path end to end: random weights, so any typed action or a clear
    PlanParseError is within the contract; a crash or any other error is not."""
    from tiny_models import build_tiny_t5

    from guiagent.models.autoui_model import AutoUIModel
    from guiagent.registry import build_planner

    t5 = build_tiny_t5(tmp_path / "t5")
    ckpt = AutoUIModel.from_t5(t5).save_pretrained(tmp_path / "autoui")
    planner = build_planner("autoui", model_path=str(ckpt))
    try:
        d = planner.next(TASK, screen(), [])
        ACTION_ADAPTER.validate_python(d.action.model_dump())
    except PlanParseError as exc:
        assert exc.raw is not None
