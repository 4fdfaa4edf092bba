"""Structured outputs against the REAL llama.cpp server (SmolLM2-135M-Instruct, text only): `auto`
probes, is refused json_schema and settles on llama.cpp's json_object dialect; the constrained
replies of both planners are JSON that parses into a valid action on the screen as sent."""

from __future__ import annotations

import json
import logging

import pytest

from grounding.models.openai_client import OpenAIChat
from guiagent.eval.llama_server import LlamaServer
from guiagent.eval.models_bench import SCREENS, observation
from guiagent.planning.dpot import DPoTPlanner
from guiagent.planning.react import ReActPlanner
from guiagent.registry import build_planner
from guiagent.schema import action_targets

FORM = SCREENS[0]  # the demo form's elements
TASK = FORM.tasks[0]


def test_auto_settles_on_json_object_and_react_answers_a_valid_action(
        llama_server: LlamaServer, caplog: pytest.LogCaptureFixture) -> None:
    planner = build_planner("react", **llama_server.chat_options(), structured="auto", images=False,
                            platform="linux", max_tokens=200, max_retries=0)
    assert isinstance(planner, ReActPlanner) and isinstance(planner.model, OpenAIChat)
    obs = observation(FORM)
    with caplog.at_level(logging.WARNING):
        decision = planner.next(TASK, obs, [])
    reply = planner.dialogue[-1].text
    planner.close()
    (reason,) = planner.model.probe.fallbacks
    assert reason.startswith("json_schema refused (HTTP ") and "response_format" in reason
    assert reason.endswith("falling back to json_object") and reason in caplog.text
    assert planner.model.probe.dialect == "json_object"
    assert isinstance(json.loads(reply), dict)  # the whole reply is one JSON object, as sent
    for target in action_targets(decision.action):  # an element of this screen, or a point
        assert target.point is not None or obs.element(target.element or "") is not None


def test_dpot_plan_and_action_calls_are_constrained(llama_server: LlamaServer) -> None:
    planner = build_planner("dpot", **llama_server.chat_options(), structured="json_object", images=False,
                            platform="linux", max_tokens=200, max_retries=0)
    assert isinstance(planner, DPoTPlanner)
    obs = observation(FORM)
    decision = planner.next(TASK, obs, [])
    planner.close()
    plan, act = decision.raw.split("\n---\n")
    assert json.loads(plan)["next_step"] and decision.subgoal
    assert isinstance(json.loads(act)["action"], dict)
    for target in action_targets(decision.action):
        assert target.point is not None or obs.element(target.element or "") is not None
